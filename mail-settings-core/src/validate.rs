//! Validation: every problem at once, with docs/SETTINGS.md's `path`, `code`, `severity` and a message in
//! English and Brazilian Portuguese.
//!
//! Single-record rules live in [`validate_incoming`], [`validate_smtp`],
//! [`validate_connector`] and [`validate_oauth2_client`]; rules across records (unique names,
//! one default SMTP account, ids, references to connectors, OAuth2 clients and credentials) in
//! [`validate_document`]. The store runs the same
//! functions before it writes, so the rules exist in one place.

use crate::credentials::CredentialProvider;
use crate::document::SettingsDocument;
use crate::model::{
    AuthenticationMethod, OAuth2ClientForm, OAuth2Grant, OAuth2ProviderKind, OAUTH2_SCOPES_MAX,
    OAUTH2_TEXT_MAX_CHARS,
};
use crate::model::{
    IncomingAccountForm, NetworkConnectorForm, RecordId, SmtpAccountForm, CHECK_INTERVAL_RANGE,
    CREDENTIAL_ID_MAX_CHARS, EMAIL_MAX_CHARS, FOOTER_MAX_CHARS, HOST_MAX_CHARS,
    MAX_MESSAGE_SIZE_RANGE, NAME_MAX_CHARS,
};
use crate::model::{Protocol, FOLDERS_MAX, FOLDER_MAX_CHARS, INBOX};
pub use crate::values::{has_control_chars, is_addr_spec, parse_host};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// docs/SETTINGS.md's validation codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Code {
    /// A required field is missing or blank.
    Required,
    /// Text over its limit.
    TooLong,
    /// Not a host name, IPv4 or IPv6 literal.
    InvalidHost,
    /// A port outside 1–65535.
    InvalidPort,
    /// Not an RFC 5322 addr-spec.
    InvalidEmail,
    /// A number outside its range.
    OutOfRange,
    /// `use_network_connector` is on and no connector is named.
    NetworkConnectorRequired,
    /// A connector is named while `use_network_connector` is off.
    NetworkConnectorNotAllowed,
    /// The named connector does not exist.
    UnknownNetworkConnector,
    /// The named connector is disabled.
    NetworkConnectorDisabled,
    /// No credential where one is needed.
    CredentialRequired,
    /// An SMTP credential is named while `use_authentication` is off.
    CredentialNotAllowed,
    /// The credential provider does not know the id.
    UnknownCredential,
    /// `send_read_receipt` without `confirmation_email`.
    ConfirmationEmailRequired,
    /// `enable_footer` without `footer` text.
    FooterRequired,
    /// Two records of one kind share a name (case-insensitive, trimmed).
    DuplicateName,
    /// Two records of one kind share an id in one document (ours, not the seeds': an import
    /// could otherwise silently merge them).
    DuplicateId,
    /// More than one SMTP account is `default_account` in one document.
    MultipleDefaultAccounts,
    /// Certificate checks are turned off.
    CertificateCheckDisabled,
    /// A credential would cross the network without TLS.
    CleartextCredentials,
    // ----- report schedules (SPEC.md "Report schedules") -----
    /// Not a time `HH:MM` between 00:00 and 23:59.
    InvalidTime,
    /// Not an IANA time zone name.
    InvalidTimeZone,
    /// The named SMTP account does not exist.
    UnknownSmtpAccount,
    /// The named SMTP account is disabled.
    SmtpAccountDisabled,
    /// A name, credential id, address or one-line text field holds a control character (CR,
    /// LF, NUL, ESC and the rest of C0, DEL, C1); multi-line text (`footer`) may hold CR, LF and
    /// TAB. Hosts keep [`Code::InvalidHost`].
    InvalidCharacters,
    // ----- folders, archive, push (SPEC.md "Incoming account: folders, archive, push") -----
    /// A POP3 account lists folders other than the default `["INBOX"]`.
    FoldersNotAllowed,
    /// A folder name that cannot be used: empty, too long, control characters, an empty level
    /// (`a//b`), a duplicate, or a list of no or more than 50 folders.
    InvalidFolder,
    /// A POP3 account names an archive folder.
    ArchiveFolderNotAllowed,
    /// The archive folder is also one of the folders collected.
    ArchiveFolderCollected,
    /// An archive folder with `keep_copy_on_server` on: nothing is ever moved there (warning).
    ArchiveFolderUnused,
    // ----- OAuth2 clients and OAuth2 accounts (SPEC.md "OAuth2 clients and OAuth2 accounts") -----
    /// `authentication` is `OAUTH2` and no OAuth2 client is named.
    #[serde(rename = "oauth2_client_required")]
    OAuth2ClientRequired,
    /// An OAuth2 client is named while `authentication` is `PASSWORD` (or, for SMTP,
    /// `use_authentication` is off).
    #[serde(rename = "oauth2_client_not_allowed")]
    OAuth2ClientNotAllowed,
    /// The named OAuth2 client does not exist.
    #[serde(rename = "unknown_oauth2_client")]
    UnknownOAuth2Client,
    /// The named OAuth2 client is disabled.
    #[serde(rename = "oauth2_client_disabled")]
    OAuth2ClientDisabled,
    /// `CLIENT_CREDENTIALS` with a provider that does not offer it (`GOOGLE`).
    GrantNotSupported,
    /// `CLIENT_CREDENTIALS` without `client_secret_credential`.
    ClientSecretRequired,
    /// `CLIENT_CREDENTIALS` with `MICROSOFT` and no real tenant (`organizations`, `common`).
    TenantRequired,
    /// Not an `https` URL (`http` only for a loopback host).
    InvalidUrl,
}

impl Code {
    /// The snake_case code of docs/SETTINGS.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Required => "required",
            Code::TooLong => "too_long",
            Code::InvalidHost => "invalid_host",
            Code::InvalidPort => "invalid_port",
            Code::InvalidEmail => "invalid_email",
            Code::OutOfRange => "out_of_range",
            Code::NetworkConnectorRequired => "network_connector_required",
            Code::NetworkConnectorNotAllowed => "network_connector_not_allowed",
            Code::UnknownNetworkConnector => "unknown_network_connector",
            Code::NetworkConnectorDisabled => "network_connector_disabled",
            Code::CredentialRequired => "credential_required",
            Code::CredentialNotAllowed => "credential_not_allowed",
            Code::UnknownCredential => "unknown_credential",
            Code::ConfirmationEmailRequired => "confirmation_email_required",
            Code::FooterRequired => "footer_required",
            Code::DuplicateName => "duplicate_name",
            Code::DuplicateId => "duplicate_id",
            Code::MultipleDefaultAccounts => "multiple_default_accounts",
            Code::CertificateCheckDisabled => "certificate_check_disabled",
            Code::CleartextCredentials => "cleartext_credentials",
            // report schedules
            Code::InvalidTime => "invalid_time",
            Code::InvalidTimeZone => "invalid_time_zone",
            Code::UnknownSmtpAccount => "unknown_smtp_account",
            Code::SmtpAccountDisabled => "smtp_account_disabled",
            Code::InvalidCharacters => "invalid_characters",
            // folders, archive, push
            Code::FoldersNotAllowed => "folders_not_allowed",
            Code::InvalidFolder => "invalid_folder",
            Code::ArchiveFolderNotAllowed => "archive_folder_not_allowed",
            Code::ArchiveFolderCollected => "archive_folder_collected",
            Code::ArchiveFolderUnused => "archive_folder_unused",
            // OAuth2 clients and OAuth2 accounts
            Code::OAuth2ClientRequired => "oauth2_client_required",
            Code::OAuth2ClientNotAllowed => "oauth2_client_not_allowed",
            Code::UnknownOAuth2Client => "unknown_oauth2_client",
            Code::OAuth2ClientDisabled => "oauth2_client_disabled",
            Code::GrantNotSupported => "grant_not_supported",
            Code::ClientSecretRequired => "client_secret_required",
            Code::TenantRequired => "tenant_required",
            Code::InvalidUrl => "invalid_url",
        }
    }

    /// Every code, for tests and documentation.
    pub const ALL: [Code; 38] = [
        Code::Required,
        Code::TooLong,
        Code::InvalidHost,
        Code::InvalidPort,
        Code::InvalidEmail,
        Code::OutOfRange,
        Code::NetworkConnectorRequired,
        Code::NetworkConnectorNotAllowed,
        Code::UnknownNetworkConnector,
        Code::NetworkConnectorDisabled,
        Code::CredentialRequired,
        Code::CredentialNotAllowed,
        Code::UnknownCredential,
        Code::ConfirmationEmailRequired,
        Code::FooterRequired,
        Code::DuplicateName,
        Code::DuplicateId,
        Code::MultipleDefaultAccounts,
        Code::CertificateCheckDisabled,
        Code::CleartextCredentials,
        // report schedules
        Code::InvalidTime,
        Code::InvalidTimeZone,
        Code::UnknownSmtpAccount,
        Code::SmtpAccountDisabled,
        Code::InvalidCharacters,
        // folders, archive, push
        Code::FoldersNotAllowed,
        Code::InvalidFolder,
        Code::ArchiveFolderNotAllowed,
        Code::ArchiveFolderCollected,
        Code::ArchiveFolderUnused,
        // OAuth2 clients and OAuth2 accounts
        Code::OAuth2ClientRequired,
        Code::OAuth2ClientNotAllowed,
        Code::UnknownOAuth2Client,
        Code::OAuth2ClientDisabled,
        Code::GrantNotSupported,
        Code::ClientSecretRequired,
        Code::TenantRequired,
        Code::InvalidUrl,
    ];

    /// The severity docs/SETTINGS.md gives the code.
    pub fn severity(self) -> Severity {
        match self {
            Code::CertificateCheckDisabled
            | Code::CleartextCredentials
            | Code::ArchiveFolderUnused => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `error` blocks use of the account; `warning` never does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Severity {
    /// Blocks use.
    Error,
    /// Reported, never blocks.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One validation result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationResult {
    /// The field: `host` for one record, `incoming_accounts[2].host` in a document.
    pub path: String,
    /// docs/SETTINGS.md's code.
    pub code: Code,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The message in English.
    pub message: String,
    /// The message in Brazilian Portuguese.
    pub message_pt_br: String,
}

impl fmt::Display for ValidationResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {} ({})",
            self.severity, self.path, self.message, self.code
        )
    }
}

/// All the results of one validation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Validation {
    results: Vec<ValidationResult>,
}

impl Validation {
    /// No results.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every result, in the order the fields were checked.
    pub fn results(&self) -> &[ValidationResult] {
        &self.results
    }

    /// Takes the results.
    pub fn into_results(self) -> Vec<ValidationResult> {
        self.results
    }

    /// Results of severity `error`.
    pub fn errors(&self) -> impl Iterator<Item = &ValidationResult> {
        self.results
            .iter()
            .filter(|r| r.severity == Severity::Error)
    }

    /// Results of severity `warning`.
    pub fn warnings(&self) -> impl Iterator<Item = &ValidationResult> {
        self.results
            .iter()
            .filter(|r| r.severity == Severity::Warning)
    }

    /// Whether any result is an error.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// Whether there are no results at all.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }

    /// Number of results.
    pub fn len(&self) -> usize {
        self.results.len()
    }

    /// Whether a result with this code is present at this path.
    pub fn contains(&self, path: &str, code: Code) -> bool {
        self.results
            .iter()
            .any(|r| r.path == path && r.code == code)
    }

    /// Adds every result of `other`.
    pub fn extend(&mut self, other: Validation) {
        self.results.extend(other.results);
    }

    pub(crate) fn push(&mut self, path: String, code: Code, field: Field, detail: Detail<'_>) {
        let (message, message_pt_br) = messages(code, field, detail);
        tracing::debug!(%path, code = code.as_str(), "validation result");
        self.results.push(ValidationResult {
            path,
            code,
            severity: code.severity(),
            message,
            message_pt_br,
        });
    }
}

impl fmt::Display for Validation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.results.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// The fields that validation names, with the seeds' labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Name,
    ConnectorName,
    CheckInterval,
    Host,
    SmtpHost,
    ConnectorHost,
    Port,
    Protocol,
    Kind,
    NetworkConnector,
    Credential,
    SkipCertificate,
    SkipCertificateErrors,
    SenderEmail,
    ReplyTo,
    ReturnPath,
    ConfirmationEmail,
    Footer,
    DefaultAccount,
    UseSecureConnection,
    MaxMessageSize,
    CaFile,
    Id,
    // ----- report schedules -----
    ScheduleName,
    Report,
    Recipients,
    SmtpAccount,
    Frequency,
    TimeOfDay,
    DayOfMonth,
    TimeZone,
    // ----- collection journal -----
    JournalRetentionDays,
    // ----- folders, archive -----
    Folders,
    ArchiveFolder,
    // ----- OAuth2 clients and OAuth2 accounts -----
    OAuth2ClientName,
    Provider,
    Tenant,
    ClientId,
    ClientSecretCredential,
    Grant,
    TokenUrl,
    DeviceAuthorizationUrl,
    AuthorizationUrl,
    Scopes,
    Authentication,
    OAuth2Client,
}

impl Field {
    fn key(self) -> &'static str {
        match self {
            Field::Name | Field::ConnectorName => "name",
            Field::CheckInterval => "check_interval_secs",
            Field::Host | Field::SmtpHost | Field::ConnectorHost => "host",
            Field::Port => "port",
            Field::Protocol => "protocol",
            Field::Kind => "kind",
            Field::NetworkConnector => "network_connector",
            Field::Credential => "credential",
            Field::SkipCertificate => "skip_certificate",
            Field::SkipCertificateErrors => "skip_certificate_errors",
            Field::SenderEmail => "sender_email",
            Field::ReplyTo => "reply_to",
            Field::ReturnPath => "return_path",
            Field::ConfirmationEmail => "confirmation_email",
            Field::Footer => "footer",
            Field::DefaultAccount => "default_account",
            Field::UseSecureConnection => "use_secure_connection",
            Field::MaxMessageSize => "max_message_size",
            Field::CaFile => "ca_file",
            Field::Id => "id",
            // report schedules
            Field::ScheduleName => "name",
            Field::Report => "report",
            Field::Recipients => "recipients",
            Field::SmtpAccount => "smtp_account",
            Field::Frequency => "frequency",
            Field::TimeOfDay => "time_of_day",
            Field::DayOfMonth => "day_of_month",
            Field::TimeZone => "time_zone",
            Field::JournalRetentionDays => "journal_retention_days",
            Field::Folders => "folders",
            Field::ArchiveFolder => "archive_folder",
            // OAuth2 clients and OAuth2 accounts
            Field::OAuth2ClientName => "name",
            Field::Provider => "provider",
            Field::Tenant => "tenant",
            Field::ClientId => "client_id",
            Field::ClientSecretCredential => "client_secret_credential",
            Field::Grant => "grant",
            Field::TokenUrl => "token_url",
            Field::DeviceAuthorizationUrl => "device_authorization_url",
            Field::AuthorizationUrl => "authorization_url",
            Field::Scopes => "scopes",
            Field::Authentication => "authentication",
            Field::OAuth2Client => "oauth2_client",
        }
    }

    fn labels(self) -> (&'static str, &'static str) {
        match self {
            Field::Name => ("Account name", "Nome da conta"),
            Field::ConnectorName => ("Network Connector name", "Nome do Network Connector"),
            Field::CheckInterval => ("Check interval", "Intervalo de verificação"),
            Field::Host => ("Address", "Endereço"),
            Field::SmtpHost => ("SMTP host", "Host SMTP"),
            Field::ConnectorHost => ("Network Connector host", "Host do Network Connector"),
            Field::Port => ("Port", "Porta"),
            Field::Protocol => ("Protocol", "Protocolo"),
            Field::Kind => ("Network Connector kind", "Tipo do Network Connector"),
            Field::NetworkConnector => ("Network Connector", "Network Connector"),
            Field::Credential => (
                "Credential for authentication",
                "Credencial para autenticação",
            ),
            Field::SkipCertificate => ("Skip certificate", "Ignorar certificado"),
            Field::SkipCertificateErrors => {
                ("Ignore certificate error", "Ignorar erro de certificado")
            }
            Field::SenderEmail => ("Sender e-mail", "E-mail do Remetente"),
            Field::ReplyTo => ("Reply-To", "E-mail de resposta"),
            Field::ReturnPath => ("Return-Path", "E-mail de retorno"),
            Field::ConfirmationEmail => ("Confirmation e-mail", "E-mail de confirmação"),
            Field::Footer => ("Footer", "Rodapé"),
            Field::DefaultAccount => ("Default account", "Conta padrão"),
            Field::UseSecureConnection => ("Use secure connection", "Usar conexão segura"),
            Field::MaxMessageSize => ("Maximum message size", "Tamanho máximo da mensagem"),
            Field::CaFile => ("CA file", "Arquivo de CA"),
            Field::Id => ("ID", "ID"),
            // report schedules
            Field::ScheduleName => ("Schedule name", "Nome do agendamento"),
            Field::Report => ("Report", "Relatório"),
            Field::Recipients => ("Recipients", "Destinatários"),
            Field::SmtpAccount => ("SMTP account", "Conta SMTP"),
            Field::Frequency => ("Frequency", "Frequência"),
            Field::TimeOfDay => ("Time of day", "Horário"),
            Field::DayOfMonth => ("Day of the month", "Dia do mês"),
            Field::TimeZone => ("Time zone", "Fuso horário"),
            Field::JournalRetentionDays => (
                "Journal retention (days)",
                "Retenção do diário de coleta (dias)",
            ),
            Field::Folders => ("Folders", "Pastas"),
            Field::ArchiveFolder => ("Archive folder", "Pasta de arquivo"),
            // OAuth2 clients and OAuth2 accounts
            Field::OAuth2ClientName => ("OAuth2 client name", "Nome do cliente OAuth2"),
            Field::Provider => ("Provider", "Provedor"),
            Field::Tenant => ("Tenant", "Locatário (tenant)"),
            Field::ClientId => ("Client ID", "ID do cliente"),
            Field::ClientSecretCredential => (
                "Client secret credential",
                "Credencial do segredo do cliente",
            ),
            Field::Grant => ("Grant", "Concessão (grant)"),
            Field::TokenUrl => ("Token URL", "URL de token"),
            Field::DeviceAuthorizationUrl => (
                "Device authorization URL",
                "URL de autorização de dispositivo",
            ),
            Field::AuthorizationUrl => ("Authorization URL", "URL de autorização"),
            Field::Scopes => ("Scopes", "Escopos"),
            Field::Authentication => ("Authentication method", "Método de autenticação"),
            Field::OAuth2Client => ("OAuth2 client", "Cliente OAuth2"),
        }
    }
}

/// Extra words a message needs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Detail<'a> {
    None,
    Limit(usize),
    Range(i64, i64),
    Id(&'a str),
    Other(&'a str),
}

fn messages(code: Code, field: Field, detail: Detail<'_>) -> (String, String) {
    let (en, pt) = field.labels();
    match code {
        Code::Required => (format!("{en} is required."), format!("{pt} é obrigatório.")),
        Code::TooLong => match detail {
            Detail::Limit(n) => (
                format!("{en} is too long: at most {n} characters."),
                format!("{pt} é longo demais: no máximo {n} caracteres."),
            ),
            _ => (format!("{en} is too long."), format!("{pt} é longo demais.")),
        },
        Code::InvalidHost => (
            format!("{en} must be a host name, an IPv4 or an IPv6 address, without scheme, port, path or spaces."),
            format!("{pt} deve ser um nome de host, um endereço IPv4 ou IPv6, sem esquema, porta, caminho ou espaços."),
        ),
        Code::InvalidPort => (
            format!("{en} must be between 1 and 65535."),
            format!("{pt} deve estar entre 1 e 65535."),
        ),
        Code::InvalidEmail => (
            format!("{en} is not a valid e-mail address (name@domain)."),
            format!("{pt} não é um endereço de e-mail válido (nome@domínio)."),
        ),
        Code::OutOfRange => match detail {
            Detail::Range(lo, hi) => (
                format!("{en} must be between {lo} and {hi}."),
                format!("{pt} deve estar entre {lo} e {hi}."),
            ),
            _ => (format!("{en} is out of range."), format!("{pt} está fora do intervalo.")),
        },
        Code::NetworkConnectorRequired => (
            "Use Network Connector is on: choose a Network Connector.".to_owned(),
            "Usar Network Connector está ativo: selecione um Network Connector.".to_owned(),
        ),
        Code::NetworkConnectorNotAllowed => (
            "A Network Connector is chosen while Use Network Connector is off.".to_owned(),
            "Um Network Connector foi selecionado, mas Usar Network Connector está desativado.".to_owned(),
        ),
        Code::UnknownNetworkConnector => {
            let id = match detail {
                Detail::Id(id) => id,
                _ => "?",
            };
            (
                format!("Network Connector {id} does not exist."),
                format!("O Network Connector {id} não existe."),
            )
        }
        Code::NetworkConnectorDisabled => {
            let id = match detail {
                Detail::Id(id) => id,
                _ => "?",
            };
            (
                format!("Network Connector {id} is disabled."),
                format!("O Network Connector {id} está desativado."),
            )
        }
        Code::CredentialRequired => (
            format!("{en} is required."),
            format!("{pt} é obrigatória."),
        ),
        Code::CredentialNotAllowed => (
            "A credential is chosen while Use authentication is off.".to_owned(),
            "Uma credencial foi selecionada, mas Usar autenticação está desativado.".to_owned(),
        ),
        Code::UnknownCredential => {
            let id = match detail {
                Detail::Id(id) => id,
                _ => "?",
            };
            (
                format!("Credential \"{id}\" is not known to the credential provider."),
                format!("A credencial \"{id}\" não é conhecida pelo provedor de credenciais."),
            )
        }
        Code::ConfirmationEmailRequired => (
            "Send read receipt is on: a Confirmation e-mail is required.".to_owned(),
            "Enviar confirmação de leitura está ativo: o E-mail de confirmação é obrigatório.".to_owned(),
        ),
        Code::FooterRequired => (
            "Enable footer is on: the footer text is required.".to_owned(),
            "Habilitar rodapé está ativo: o texto do rodapé é obrigatório.".to_owned(),
        ),
        Code::DuplicateName => {
            let name = match detail {
                Detail::Other(n) => n,
                _ => "?",
            };
            (
                format!("{en} \"{name}\" is already used by another record of the same kind."),
                format!("{pt} \"{name}\" já é usado por outro registro do mesmo tipo."),
            )
        }
        Code::DuplicateId => {
            let id = match detail {
                Detail::Id(id) => id,
                _ => "?",
            };
            (
                format!("ID {id} is used by more than one record of the same kind."),
                format!("O ID {id} é usado por mais de um registro do mesmo tipo."),
            )
        }
        Code::MultipleDefaultAccounts => (
            "More than one SMTP account is the default account.".to_owned(),
            "Mais de uma conta SMTP está marcada como conta padrão.".to_owned(),
        ),
        Code::CertificateCheckDisabled => (
            format!("{en} is on: the server's certificate and name are not verified, so the connection can be intercepted."),
            format!("{pt} está ativo: o certificado e o nome do servidor não são verificados, e a conexão pode ser interceptada."),
        ),
        Code::CleartextCredentials => (
            "The credential would cross the network in clear text: turn on Use secure connection.".to_owned(),
            "A credencial trafegaria pela rede em texto claro: ative Usar conexão segura.".to_owned(),
        ),
        // ----- report schedules -----
        Code::InvalidTime => (
            format!("{en} must be a time HH:MM between 00:00 and 23:59."),
            format!("{pt} deve ser um horário HH:MM entre 00:00 e 23:59."),
        ),
        Code::InvalidTimeZone => (
            format!("{en} is not an IANA time zone name (for example America/Sao_Paulo or UTC)."),
            format!("{pt} não é um nome de fuso horário IANA (por exemplo America/Sao_Paulo ou UTC)."),
        ),
        Code::UnknownSmtpAccount => {
            let id = match detail {
                Detail::Id(id) => id,
                _ => "?",
            };
            (
                format!("SMTP account {id} does not exist."),
                format!("A conta SMTP {id} não existe."),
            )
        }
        Code::SmtpAccountDisabled => {
            let id = match detail {
                Detail::Id(id) => id,
                _ => "?",
            };
            (
                format!("SMTP account {id} is disabled."),
                format!("A conta SMTP {id} está desativada."),
            )
        }
        Code::InvalidCharacters => match field {
            Field::Footer => (
                format!("{en} holds control characters: only line breaks and tabs are allowed."),
                format!("{pt} contém caracteres de controle: só quebras de linha e tabulações são permitidas."),
            ),
            _ => (
                format!("{en} holds control characters (line breaks, tabs, escape codes): they are not allowed."),
                format!("{pt} contém caracteres de controle (quebras de linha, tabulações, códigos de escape): não são permitidos."),
            ),
        },
        // ----- folders, archive, push -----
        Code::FoldersNotAllowed => (
            "POP3 reads the inbox only: folders other than INBOX need IMAP.".to_owned(),
            "O POP3 lê somente a caixa de entrada: pastas além de INBOX exigem IMAP.".to_owned(),
        ),
        Code::InvalidFolder => {
            let why = match detail {
                Detail::Other(w) => w,
                _ => "",
            };
            let (why_en, why_pt) = folder_reason(why);
            (
                format!("{en}: {why_en}"),
                format!("{pt}: {why_pt}"),
            )
        }
        Code::ArchiveFolderNotAllowed => (
            "POP3 has no folders: an archive folder needs IMAP.".to_owned(),
            "O POP3 não tem pastas: uma pasta de arquivo exige IMAP.".to_owned(),
        ),
        Code::ArchiveFolderCollected => (
            "The archive folder is also one of the folders collected: choose another one.".to_owned(),
            "A pasta de arquivo também é uma das pastas coletadas: escolha outra.".to_owned(),
        ),
        Code::ArchiveFolderUnused => (
            "Keep copy in server is on: messages stay where they are and the archive folder is never used.".to_owned(),
            "Manter cópia no servidor está ativo: as mensagens ficam onde estão e a pasta de arquivo nunca é usada.".to_owned(),
        ),
        // ----- OAuth2 clients and OAuth2 accounts -----
        Code::OAuth2ClientRequired => (
            "The authentication method is OAUTH2: choose an OAuth2 client.".to_owned(),
            "O método de autenticação é OAUTH2: selecione um cliente OAuth2.".to_owned(),
        ),
        Code::OAuth2ClientNotAllowed => (
            "An OAuth2 client is chosen while the account does not sign in with OAUTH2.".to_owned(),
            "Um cliente OAuth2 foi selecionado, mas a conta não se autentica com OAUTH2.".to_owned(),
        ),
        Code::UnknownOAuth2Client => {
            let id = match detail {
                Detail::Id(id) => id,
                _ => "?",
            };
            (
                format!("OAuth2 client {id} does not exist."),
                format!("O cliente OAuth2 {id} não existe."),
            )
        }
        Code::OAuth2ClientDisabled => {
            let id = match detail {
                Detail::Id(id) => id,
                _ => "?",
            };
            (
                format!("OAuth2 client {id} is disabled."),
                format!("O cliente OAuth2 {id} está desativado."),
            )
        }
        Code::GrantNotSupported => (
            "Google does not offer CLIENT_CREDENTIALS (app-only access) for mail: use REFRESH_TOKEN.".to_owned(),
            "O Google não oferece CLIENT_CREDENTIALS (acesso só do aplicativo) para e-mail: use REFRESH_TOKEN.".to_owned(),
        ),
        Code::ClientSecretRequired => (
            "CLIENT_CREDENTIALS needs the client secret: choose its credential.".to_owned(),
            "CLIENT_CREDENTIALS exige o segredo do cliente: selecione a credencial dele.".to_owned(),
        ),
        Code::TenantRequired => (
            "CLIENT_CREDENTIALS with Microsoft needs the real tenant id or domain, not organizations or common.".to_owned(),
            "CLIENT_CREDENTIALS com a Microsoft exige o ID ou domínio real do locatário, não organizations ou common.".to_owned(),
        ),
        Code::InvalidUrl => (
            format!("{en} must be an https URL (http only for a loopback host such as 127.0.0.1)."),
            format!("{pt} deve ser uma URL https (http só para um host de loopback, como 127.0.0.1)."),
        ),
    }
}

/// The reasons an [`Code::InvalidFolder`] message gives, in English and Portuguese.
fn folder_reason(key: &str) -> (String, String) {
    match key {
        "count" => (
            format!("list between 1 and {FOLDERS_MAX} folders."),
            format!("informe entre 1 e {FOLDERS_MAX} pastas."),
        ),
        "empty" => (
            "a folder name is empty.".to_owned(),
            "um nome de pasta está vazio.".to_owned(),
        ),
        "long" => (
            format!("a folder name is longer than {FOLDER_MAX_CHARS} characters."),
            format!("um nome de pasta tem mais de {FOLDER_MAX_CHARS} caracteres."),
        ),
        "control" => (
            "a folder name holds control characters.".to_owned(),
            "um nome de pasta contém caracteres de controle.".to_owned(),
        ),
        "level" => (
            "a folder name has an empty level (a leading, trailing or doubled \"/\").".to_owned(),
            "um nome de pasta tem um nível vazio (\"/\" no início, no fim ou repetida).".to_owned(),
        ),
        "duplicate" => (
            "a folder is listed twice.".to_owned(),
            "uma pasta aparece duas vezes.".to_owned(),
        ),
        _ => (
            "not a usable folder name.".to_owned(),
            "não é um nome de pasta utilizável.".to_owned(),
        ),
    }
}

/// Why `name` is not a usable folder name (a key of [`folder_reason`]), or `None`.
pub(crate) fn folder_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("empty")
    } else if name.chars().count() > FOLDER_MAX_CHARS {
        Some("long")
    } else if name.chars().any(char::is_control) {
        Some("control")
    } else if name.split('/').any(str::is_empty) {
        Some("level")
    } else {
        None
    }
}

/// Whether two folder names are the same folder: case-sensitive, except `INBOX`.
pub(crate) fn same_folder(a: &str, b: &str) -> bool {
    a == b || (a.eq_ignore_ascii_case(INBOX) && b.eq_ignore_ascii_case(INBOX))
}

/// What validation needs beyond the record itself.
#[derive(Clone, Copy, Default)]
pub struct ValidationContext<'a> {
    /// The connectors accounts may name. `None`: connector existence is not checked.
    pub connectors: Option<&'a [NetworkConnectorForm]>,
    /// The vault. `None`: credential existence is not checked.
    pub credentials: Option<&'a dyn CredentialProvider>,
    /// The OAuth2 clients accounts may name. `None`: their existence is not checked.
    pub oauth2_clients: Option<&'a [OAuth2ClientForm]>,
}

impl fmt::Debug for ValidationContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidationContext")
            .field("connectors", &self.connectors.map(<[_]>::len))
            .field("credentials", &self.credentials.is_some())
            .field("oauth2_clients", &self.oauth2_clients.map(<[_]>::len))
            .finish()
    }
}

impl<'a> ValidationContext<'a> {
    /// Checks nothing outside the record.
    pub fn standalone() -> Self {
        Self::default()
    }

    /// Checks connector references against `connectors`.
    pub fn with_connectors(mut self, connectors: &'a [NetworkConnectorForm]) -> Self {
        self.connectors = Some(connectors);
        self
    }

    /// Checks credential references against `provider`.
    pub fn with_credentials(mut self, provider: &'a dyn CredentialProvider) -> Self {
        self.credentials = Some(provider);
        self
    }

    pub(crate) fn connector(&self, id: RecordId) -> Option<&'a NetworkConnectorForm> {
        self.connectors?.iter().find(|c| c.id == Some(id))
    }

    /// Checks OAuth2 client references against `clients`.
    pub fn with_oauth2_clients(mut self, clients: &'a [OAuth2ClientForm]) -> Self {
        self.oauth2_clients = Some(clients);
        self
    }

    pub(crate) fn oauth2_client(&self, id: RecordId) -> Option<&'a OAuth2ClientForm> {
        self.oauth2_clients?.iter().find(|c| c.id == Some(id))
    }
}

struct Checker<'p> {
    prefix: &'p str,
    out: Validation,
}

impl Checker<'_> {
    /// `folders` and `archive_folder` (SPEC.md "Incoming account: folders, archive, push").
    fn folders(&mut self, form: &IncomingAccountForm) {
        let pop3 = form.protocol == Some(Protocol::Pop3);
        let default = form.folders.len() == 1 && same_folder(&form.folders[0], INBOX);
        if pop3 && !default {
            self.push(Code::FoldersNotAllowed, Field::Folders, Detail::None);
        } else if !pop3 {
            let problem = if form.folders.is_empty() || form.folders.len() > FOLDERS_MAX {
                Some("count")
            } else {
                form.folders
                    .iter()
                    .find_map(|f| folder_problem(f))
                    .or_else(|| {
                        let twice = form
                            .folders
                            .iter()
                            .enumerate()
                            .any(|(i, a)| form.folders[..i].iter().any(|b| same_folder(a, b)));
                        twice.then_some("duplicate")
                    })
            };
            if let Some(p) = problem {
                self.push(Code::InvalidFolder, Field::Folders, Detail::Other(p));
            }
        }
        let Some(archive) = form.archive_folder.as_deref() else {
            return;
        };
        if pop3 {
            self.push(
                Code::ArchiveFolderNotAllowed,
                Field::ArchiveFolder,
                Detail::None,
            );
            return;
        }
        if let Some(p) = folder_problem(archive) {
            self.push(Code::InvalidFolder, Field::ArchiveFolder, Detail::Other(p));
        } else if form.folders.iter().any(|f| same_folder(f, archive)) {
            self.push(
                Code::ArchiveFolderCollected,
                Field::ArchiveFolder,
                Detail::None,
            );
        } else if form.keep_copy_on_server {
            self.push(
                Code::ArchiveFolderUnused,
                Field::ArchiveFolder,
                Detail::None,
            );
        }
    }

    fn path(&self, field: Field) -> String {
        if self.prefix.is_empty() {
            field.key().to_owned()
        } else {
            format!("{}.{}", self.prefix, field.key())
        }
    }

    fn push(&mut self, code: Code, field: Field, detail: Detail<'_>) {
        let path = self.path(field);
        self.out.push(path, code, field, detail);
    }

    fn name(&mut self, field: Field, name: &str) {
        let trimmed = name.trim();
        if trimmed.is_empty() {
            self.push(Code::Required, field, Detail::None);
        } else if has_control_chars(name) {
            self.push(Code::InvalidCharacters, field, Detail::None);
        } else if trimmed.chars().count() > NAME_MAX_CHARS {
            self.push(Code::TooLong, field, Detail::Limit(NAME_MAX_CHARS));
        }
    }

    fn host(&mut self, field: Field, host: &str) {
        if host.trim().is_empty() {
            self.push(Code::Required, field, Detail::None);
        } else if host.chars().count() > HOST_MAX_CHARS + 2 {
            self.push(Code::TooLong, field, Detail::Limit(HOST_MAX_CHARS));
        } else if parse_host(host).is_none() {
            self.push(Code::InvalidHost, field, Detail::None);
        }
    }

    fn port(&mut self, port: Option<i64>, required: bool) {
        match port {
            None if required => self.push(Code::Required, Field::Port, Detail::None),
            Some(p) if !(1..=65535).contains(&p) => {
                self.push(Code::InvalidPort, Field::Port, Detail::None)
            }
            _ => {}
        }
    }

    fn email(&mut self, field: Field, value: Option<&str>, required: bool) {
        match value.map(str::trim) {
            None | Some("") => {
                if required {
                    self.push(Code::Required, field, Detail::None);
                }
            }
            Some(_) if value.is_some_and(has_control_chars) => {
                self.push(Code::InvalidCharacters, field, Detail::None)
            }
            Some(v) if v.chars().count() > EMAIL_MAX_CHARS => {
                self.push(Code::TooLong, field, Detail::Limit(EMAIL_MAX_CHARS))
            }
            Some(v) if !is_addr_spec(v) => self.push(Code::InvalidEmail, field, Detail::None),
            Some(_) => {}
        }
    }

    fn credential(
        &mut self,
        id: Option<&str>,
        required: bool,
        ctx: &ValidationContext<'_>,
    ) -> bool {
        match id.map(str::trim) {
            None | Some("") => {
                if required {
                    self.push(Code::CredentialRequired, Field::Credential, Detail::None);
                }
                false
            }
            Some(_) if id.is_some_and(has_control_chars) => {
                self.push(Code::InvalidCharacters, Field::Credential, Detail::None);
                false
            }
            Some(v) if v.chars().count() > CREDENTIAL_ID_MAX_CHARS => {
                self.push(
                    Code::TooLong,
                    Field::Credential,
                    Detail::Limit(CREDENTIAL_ID_MAX_CHARS),
                );
                false
            }
            Some(v) => {
                if let Some(provider) = ctx.credentials {
                    if !provider.contains(v) {
                        self.push(Code::UnknownCredential, Field::Credential, Detail::Id(v));
                    }
                }
                true
            }
        }
    }

    fn connector_ref(
        &mut self,
        use_connector: bool,
        connector: Option<RecordId>,
        ctx: &ValidationContext<'_>,
    ) {
        match (use_connector, connector) {
            (true, None) => self.push(
                Code::NetworkConnectorRequired,
                Field::NetworkConnector,
                Detail::None,
            ),
            (false, Some(_)) => self.push(
                Code::NetworkConnectorNotAllowed,
                Field::NetworkConnector,
                Detail::None,
            ),
            (true, Some(id)) => {
                if ctx.connectors.is_some() {
                    let id_text = id.to_string();
                    match ctx.connector(id) {
                        None => self.push(
                            Code::UnknownNetworkConnector,
                            Field::NetworkConnector,
                            Detail::Id(&id_text),
                        ),
                        Some(c) if !c.enabled => self.push(
                            Code::NetworkConnectorDisabled,
                            Field::NetworkConnector,
                            Detail::Id(&id_text),
                        ),
                        Some(_) => {}
                    }
                }
            }
            (false, None) => {}
        }
    }

    fn ca_file(&mut self, ca_file: Option<&std::path::Path>) {
        if let Some(p) = ca_file {
            if p.as_os_str().is_empty() {
                self.push(Code::Required, Field::CaFile, Detail::None);
            } else if p.to_string_lossy().chars().any(char::is_control) {
                self.push(Code::InvalidCharacters, Field::CaFile, Detail::None);
            }
        }
    }

    /// An account's `authentication` and `oauth2_client` (SPEC.md "OAuth2 clients and OAuth2
    /// accounts"). `signs_in`: false for an SMTP account with `use_authentication` off, which
    /// keeps `PASSWORD` and no client.
    fn authentication(
        &mut self,
        method: AuthenticationMethod,
        client: Option<RecordId>,
        signs_in: bool,
        ctx: &ValidationContext<'_>,
    ) {
        let oauth2 = method == AuthenticationMethod::OAuth2;
        if !signs_in {
            if oauth2 {
                self.push(
                    Code::OAuth2ClientNotAllowed,
                    Field::Authentication,
                    Detail::None,
                );
            } else if client.is_some() {
                self.push(
                    Code::OAuth2ClientNotAllowed,
                    Field::OAuth2Client,
                    Detail::None,
                );
            }
            return;
        }
        match (oauth2, client) {
            (true, None) => self.push(
                Code::OAuth2ClientRequired,
                Field::OAuth2Client,
                Detail::None,
            ),
            (false, Some(_)) => self.push(
                Code::OAuth2ClientNotAllowed,
                Field::OAuth2Client,
                Detail::None,
            ),
            (true, Some(id)) if ctx.oauth2_clients.is_some() => {
                let id_text = id.to_string();
                match ctx.oauth2_client(id) {
                    None => self.push(
                        Code::UnknownOAuth2Client,
                        Field::OAuth2Client,
                        Detail::Id(&id_text),
                    ),
                    Some(c) if !c.enabled => self.push(
                        Code::OAuth2ClientDisabled,
                        Field::OAuth2Client,
                        Detail::Id(&id_text),
                    ),
                    Some(_) => {}
                }
            }
            _ => {}
        }
    }

    /// One-line text of an OAuth2 client (client id, tenant): control characters, length.
    fn oauth2_text(&mut self, field: Field, value: &str, required: bool) -> bool {
        if value.trim().is_empty() {
            if required {
                self.push(Code::Required, field, Detail::None);
            }
            false
        } else if has_control_chars(value) {
            self.push(Code::InvalidCharacters, field, Detail::None);
            false
        } else if value.chars().count() > OAUTH2_TEXT_MAX_CHARS {
            self.push(Code::TooLong, field, Detail::Limit(OAUTH2_TEXT_MAX_CHARS));
            false
        } else {
            true
        }
    }

    /// An endpoint URL: `https`, or `http` to a loopback host only.
    fn url(&mut self, field: Field, value: Option<&str>, required: bool) {
        match value.map(str::trim) {
            None | Some("") => {
                if required {
                    self.push(Code::Required, field, Detail::None);
                }
            }
            Some(v) => {
                if self.oauth2_text(field, v, true) && !is_allowed_url(v) {
                    self.push(Code::InvalidUrl, field, Detail::None);
                }
            }
        }
    }
}

/// Whether `text` is an endpoint URL an OAuth2 client may use: `https` with a host, or `http`
/// to a loopback host (`localhost`, `127.0.0.0/8`, `::1`), without user information or a
/// fragment (RFC 6749 §3.1, §3.2).
pub fn is_allowed_url(text: &str) -> bool {
    let Ok(u) = url::Url::parse(text.trim()) else {
        return false;
    };
    if !u.username().is_empty() || u.password().is_some() || u.fragment().is_some() {
        return false;
    }
    match (u.scheme(), u.host()) {
        ("https", Some(_)) => true,
        ("http", Some(url::Host::Domain(d))) => d.eq_ignore_ascii_case("localhost"),
        ("http", Some(url::Host::Ipv4(ip))) => ip.is_loopback(),
        ("http", Some(url::Host::Ipv6(ip))) => ip.is_loopback(),
        _ => false,
    }
}

/// Validates one OAuth2 client (SPEC.md "OAuth2 clients and OAuth2 accounts"). `prefix` is
/// prepended to every path.
pub fn validate_oauth2_client(
    form: &OAuth2ClientForm,
    prefix: &str,
    ctx: &ValidationContext<'_>,
) -> Validation {
    let mut c = Checker {
        prefix,
        out: Validation::new(),
    };
    c.name(Field::OAuth2ClientName, &form.name);
    if form.provider.is_none() {
        c.push(Code::Required, Field::Provider, Detail::None);
    }
    c.oauth2_text(Field::ClientId, &form.client_id, true);
    let has_secret = match form.client_secret_credential.as_deref().map(str::trim) {
        None | Some("") => false,
        Some(v) => {
            if has_control_chars(v) {
                c.push(
                    Code::InvalidCharacters,
                    Field::ClientSecretCredential,
                    Detail::None,
                );
            } else if v.chars().count() > CREDENTIAL_ID_MAX_CHARS {
                c.push(
                    Code::TooLong,
                    Field::ClientSecretCredential,
                    Detail::Limit(CREDENTIAL_ID_MAX_CHARS),
                );
            } else if let Some(provider) = ctx.credentials {
                if !provider.contains(v) {
                    c.push(
                        Code::UnknownCredential,
                        Field::ClientSecretCredential,
                        Detail::Id(v),
                    );
                }
            }
            true
        }
    };
    let tenant = form.tenant.as_deref().map(str::trim).unwrap_or("");
    if !tenant.is_empty() {
        c.oauth2_text(Field::Tenant, tenant, false);
    }
    let app_only = form.grant == OAuth2Grant::ClientCredentials;
    if app_only {
        if form.provider == Some(OAuth2ProviderKind::Google) {
            c.push(Code::GrantNotSupported, Field::Grant, Detail::None);
        }
        if !has_secret {
            c.push(
                Code::ClientSecretRequired,
                Field::ClientSecretCredential,
                Detail::None,
            );
        }
        let generic = tenant.is_empty()
            || ["organizations", "common", "consumers"]
                .iter()
                .any(|g| tenant.eq_ignore_ascii_case(g));
        if form.provider == Some(OAuth2ProviderKind::Microsoft) && generic {
            c.push(Code::TenantRequired, Field::Tenant, Detail::None);
        }
    }
    let custom = form.provider == Some(OAuth2ProviderKind::Custom);
    c.url(Field::TokenUrl, form.token_url.as_deref(), custom);
    // A CUSTOM client whose users sign in needs a way to sign in: the device flow, the
    // browser, or both.
    let no_sign_in = [&form.device_authorization_url, &form.authorization_url]
        .iter()
        .all(|u| u.as_deref().is_none_or(|s| s.trim().is_empty()));
    c.url(
        Field::DeviceAuthorizationUrl,
        form.device_authorization_url.as_deref(),
        custom && !app_only && no_sign_in,
    );
    c.url(
        Field::AuthorizationUrl,
        form.authorization_url.as_deref(),
        false,
    );
    if form.scopes.len() > OAUTH2_SCOPES_MAX {
        c.push(
            Code::OutOfRange,
            Field::Scopes,
            Detail::Range(0, OAUTH2_SCOPES_MAX as i64),
        );
    } else if form.scopes.iter().any(|s| {
        s.trim().is_empty()
            || s.chars()
                .any(|ch| ch.is_control() || ch == ' ' || ch == '"' || ch == '\\')
            || s.chars().count() > OAUTH2_TEXT_MAX_CHARS
    }) {
        // RFC 6749 §3.3: a scope token is printable ASCII without space, `"` or `\`.
        c.push(Code::InvalidCharacters, Field::Scopes, Detail::None);
    }
    c.out
}

/// Validates one incoming account. `prefix` is prepended to every path (`""` for a lone account).
pub fn validate_incoming(
    form: &IncomingAccountForm,
    prefix: &str,
    ctx: &ValidationContext<'_>,
) -> Validation {
    let mut c = Checker {
        prefix,
        out: Validation::new(),
    };
    c.name(Field::Name, &form.name);
    if !CHECK_INTERVAL_RANGE.contains(&form.check_interval_secs) {
        c.push(
            Code::OutOfRange,
            Field::CheckInterval,
            Detail::Range(*CHECK_INTERVAL_RANGE.start(), *CHECK_INTERVAL_RANGE.end()),
        );
    }
    if !MAX_MESSAGE_SIZE_RANGE.contains(&form.max_message_size) {
        c.push(
            Code::OutOfRange,
            Field::MaxMessageSize,
            Detail::Range(
                *MAX_MESSAGE_SIZE_RANGE.start(),
                *MAX_MESSAGE_SIZE_RANGE.end(),
            ),
        );
    }
    c.host(Field::Host, &form.host);
    c.port(form.port, false);
    if form.protocol.is_none() {
        c.push(Code::Required, Field::Protocol, Detail::None);
    }
    c.connector_ref(form.use_network_connector, form.network_connector, ctx);
    let has_credential = c.credential(form.credential.as_deref(), true, ctx);
    c.ca_file(form.ca_file.as_deref());
    if form.skip_certificate && form.use_secure_connection {
        c.push(
            Code::CertificateCheckDisabled,
            Field::SkipCertificate,
            Detail::None,
        );
    }
    if has_credential && !form.use_secure_connection {
        c.push(
            Code::CleartextCredentials,
            Field::UseSecureConnection,
            Detail::None,
        );
    }
    c.folders(form);
    c.authentication(form.authentication, form.oauth2_client, true, ctx);
    c.out
}

/// Validates one SMTP account. `prefix` is prepended to every path.
pub fn validate_smtp(
    form: &SmtpAccountForm,
    prefix: &str,
    ctx: &ValidationContext<'_>,
) -> Validation {
    let mut c = Checker {
        prefix,
        out: Validation::new(),
    };
    c.name(Field::Name, &form.name);
    c.email(Field::SenderEmail, Some(&form.sender_email), true);
    c.email(Field::ReplyTo, form.reply_to.as_deref(), false);
    c.email(Field::ReturnPath, form.return_path.as_deref(), false);
    let confirmation_blank = form
        .confirmation_email
        .as_deref()
        .is_none_or(|s| s.trim().is_empty());
    if form.send_read_receipt && confirmation_blank {
        c.push(
            Code::ConfirmationEmailRequired,
            Field::ConfirmationEmail,
            Detail::None,
        );
    } else {
        c.email(
            Field::ConfirmationEmail,
            form.confirmation_email.as_deref(),
            false,
        );
    }
    let footer_blank = form.footer.as_deref().is_none_or(|s| s.trim().is_empty());
    if form.enable_footer && footer_blank {
        c.push(Code::FooterRequired, Field::Footer, Detail::None);
    } else if let Some(f) = &form.footer {
        if f.chars()
            .any(|ch| ch.is_control() && !matches!(ch, '\r' | '\n' | '\t'))
        {
            c.push(Code::InvalidCharacters, Field::Footer, Detail::None);
        } else if f.chars().count() > FOOTER_MAX_CHARS {
            c.push(
                Code::TooLong,
                Field::Footer,
                Detail::Limit(FOOTER_MAX_CHARS),
            );
        }
    }
    c.host(Field::SmtpHost, &form.host);
    c.port(form.port, false);
    c.connector_ref(form.use_network_connector, form.network_connector, ctx);
    let named = form
        .credential
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty());
    let has_credential = if form.use_authentication {
        c.credential(form.credential.as_deref(), true, ctx)
    } else {
        if named {
            c.push(Code::CredentialNotAllowed, Field::Credential, Detail::None);
        }
        false
    };
    c.ca_file(form.ca_file.as_deref());
    if form.skip_certificate_errors && form.use_secure_connection {
        c.push(
            Code::CertificateCheckDisabled,
            Field::SkipCertificateErrors,
            Detail::None,
        );
    }
    if has_credential && !form.use_secure_connection {
        c.push(
            Code::CleartextCredentials,
            Field::UseSecureConnection,
            Detail::None,
        );
    }
    c.authentication(
        form.authentication,
        form.oauth2_client,
        form.use_authentication,
        ctx,
    );
    c.out
}

/// Validates one network connector. `prefix` is prepended to every path.
pub fn validate_connector(
    form: &NetworkConnectorForm,
    prefix: &str,
    ctx: &ValidationContext<'_>,
) -> Validation {
    let mut c = Checker {
        prefix,
        out: Validation::new(),
    };
    c.name(Field::ConnectorName, &form.name);
    if form.kind.is_none() {
        c.push(Code::Required, Field::Kind, Detail::None);
    }
    c.host(Field::ConnectorHost, &form.host);
    c.port(form.port, true);
    c.credential(form.credential.as_deref(), false, ctx);
    c.out
}

/// Validates a whole settings document: every record, then the rules across records.
/// Connector references are checked against the document's own connectors.
pub fn validate_document(
    doc: &SettingsDocument,
    credentials: Option<&dyn CredentialProvider>,
) -> Validation {
    let ctx = ValidationContext {
        connectors: Some(&doc.network_connectors),
        credentials,
        oauth2_clients: Some(&doc.oauth2_clients),
    };
    let mut out = Validation::new();
    // ----- OAuth2 clients -----
    for (i, c) in doc.oauth2_clients.iter().enumerate() {
        out.extend(validate_oauth2_client(
            c,
            &format!("oauth2_clients[{i}]"),
            &ctx,
        ));
    }
    let client_names = doc.oauth2_clients.iter().map(|c| (c.id, c.name.as_str()));
    cross_record_rules(
        &mut out,
        "oauth2_clients",
        Field::OAuth2ClientName,
        client_names,
    );
    // ----- end of OAuth2 clients -----
    for (i, c) in doc.network_connectors.iter().enumerate() {
        out.extend(validate_connector(
            c,
            &format!("network_connectors[{i}]"),
            &ctx,
        ));
    }
    for (i, a) in doc.incoming_accounts.iter().enumerate() {
        out.extend(validate_incoming(
            a,
            &format!("incoming_accounts[{i}]"),
            &ctx,
        ));
    }
    for (i, a) in doc.smtp_accounts.iter().enumerate() {
        out.extend(validate_smtp(a, &format!("smtp_accounts[{i}]"), &ctx));
    }
    let connector_names = doc
        .network_connectors
        .iter()
        .map(|c| (c.id, c.name.as_str()));
    cross_record_rules(
        &mut out,
        "network_connectors",
        Field::ConnectorName,
        connector_names,
    );
    let incoming = doc
        .incoming_accounts
        .iter()
        .map(|a| (a.id, a.name.as_str()));
    cross_record_rules(&mut out, "incoming_accounts", Field::Name, incoming);
    let smtp = doc.smtp_accounts.iter().map(|a| (a.id, a.name.as_str()));
    cross_record_rules(&mut out, "smtp_accounts", Field::Name, smtp);
    let defaults: Vec<usize> = doc
        .smtp_accounts
        .iter()
        .enumerate()
        .filter(|(_, a)| a.default_account)
        .map(|(i, _)| i)
        .collect();
    if defaults.len() > 1 {
        for i in defaults {
            out.push(
                format!("smtp_accounts[{i}].default_account"),
                Code::MultipleDefaultAccounts,
                Field::DefaultAccount,
                Detail::None,
            );
        }
    }
    // ----- report schedules -----
    for (i, s) in doc.report_schedules.iter().enumerate() {
        out.extend(crate::schedule::validate_schedule(
            s,
            &format!("report_schedules[{i}]"),
            Some(&doc.smtp_accounts),
        ));
    }
    let schedules = doc.report_schedules.iter().map(|s| (s.id, s.name.as_str()));
    cross_record_rules(&mut out, "report_schedules", Field::ScheduleName, schedules);
    // ----- end of report schedules -----
    // ----- collection journal -----
    if let Some(days) = doc.journal_retention_days {
        let range = crate::model::JOURNAL_RETENTION_DAYS_RANGE;
        if !range.contains(&days) {
            out.push(
                "journal_retention_days".to_owned(),
                Code::OutOfRange,
                Field::JournalRetentionDays,
                Detail::Range(i64::from(*range.start()), i64::from(*range.end())),
            );
        }
    }
    // ----- end of collection journal -----
    out
}

/// Normalised form of a name for uniqueness: trimmed, case-folded.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Duplicate names and duplicate ids among the records of one kind. Every record after the
/// first with the same name (or id) gets a result.
fn cross_record_rules<'a>(
    out: &mut Validation,
    list: &str,
    name_field: Field,
    records: impl Iterator<Item = (Option<RecordId>, &'a str)>,
) {
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut ids: HashSet<RecordId> = HashSet::new();
    for (i, (id, name)) in records.enumerate() {
        let key = name_key(name);
        if !key.is_empty() && names.insert(key, i).is_some() {
            out.push(
                format!("{list}[{i}].name"),
                Code::DuplicateName,
                name_field,
                Detail::Other(name.trim()),
            );
        }
        if let Some(id) = id {
            if !ids.insert(id) {
                let id_text = id.to_string();
                out.push(
                    format!("{list}[{i}].id"),
                    Code::DuplicateId,
                    Field::Id,
                    Detail::Id(&id_text),
                );
            }
        }
    }
}
