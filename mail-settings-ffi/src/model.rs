//! The records and enums a host sees: accounts, connectors, documents and validation results,
//! with SPEC.md's field names (Kotlin and Swift get their camelCase), defaults and words.
//!
//! These mirror the core's forms field for field, because a form is what a person typed and
//! may be invalid: a port of 70000 or a missing protocol must reach validation as it was typed,
//! to come back as a result with a code. Conversions are plain moves; every rule stays in the
//! core. Nothing here holds a secret: accounts and connectors name a credential by its id.

use crate::error::{MailSettingsError, Result};
use mail_settings_core as mscore;
use std::path::PathBuf;

/// Incoming mail protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Protocol {
    /// IMAP4rev1.
    Imap,
    /// POP3.
    Pop3,
}

/// The seeds' "secure connection type": `SSL` is implicit TLS, `TLS` is STARTTLS (which never
/// falls back to clear text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum SecureConnectionType {
    /// Implicit TLS: the handshake is the first thing on the connection.
    Ssl,
    /// STARTTLS (IMAP `STARTTLS`, POP3 `STLS`, SMTP `STARTTLS`).
    Tls,
}

/// What `use_secure_connection` and `secure_connection_type` mean together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Security {
    /// Clear text.
    Clear,
    /// Implicit TLS (`SSL`).
    ImplicitTls,
    /// STARTTLS (`TLS`).
    StartTls,
}

/// Kind of network connector (a proxy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ConnectorKind {
    /// SOCKS5, optionally with user and password.
    Socks5,
    /// HTTP `CONNECT` tunnel, optionally with Basic auth.
    HttpConnect,
}

/// `Error` blocks use of an account; `Warning` never does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Severity {
    /// Blocks use.
    Error,
    /// Reported, never blocks.
    Warning,
}

/// SPEC.md's validation codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ValidationCode {
    /// A required field is missing or blank.
    Required,
    /// Text over its limit.
    TooLong,
    /// Not a host name, IPv4 or IPv6 literal.
    InvalidHost,
    /// Outside 1–65535.
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
    /// Two records of one kind share a name.
    DuplicateName,
    /// Two records of one kind share an id (in a document).
    DuplicateId,
    /// More than one default SMTP account.
    MultipleDefaultAccounts,
    /// Certificate checks are turned off (warning).
    CertificateCheckDisabled,
    /// A credential would cross the network without TLS (warning).
    CleartextCredentials,
    // ----- report schedules -----
    /// Not a time `HH:MM` between 00:00 and 23:59.
    InvalidTime,
    /// Not an IANA time zone name.
    InvalidTimeZone,
    /// The named SMTP account does not exist.
    UnknownSmtpAccount,
    /// The named SMTP account is disabled.
    SmtpAccountDisabled,
    /// A name, credential id, address or one-line text field holds a control character (CR,
    /// LF, NUL, ESC, the rest of C0 and C1); a footer may hold CR, LF and TAB.
    InvalidCharacters,
    // ----- folders, archive, push -----
    /// A POP3 account lists folders other than `INBOX`.
    FoldersNotAllowed,
    /// A folder name or list that cannot be used (empty, too long, control characters, an
    /// empty level, a duplicate, no or more than 50 folders).
    InvalidFolder,
    /// A POP3 account names an archive folder.
    ArchiveFolderNotAllowed,
    /// The archive folder is one of the folders collected.
    ArchiveFolderCollected,
    /// An archive folder with keep copy on: never used (warning).
    ArchiveFolderUnused,
    // ----- OAuth2 clients and OAuth2 accounts -----
    /// `OAUTH2` without an OAuth2 client.
    Oauth2ClientRequired,
    /// An OAuth2 client named while the account does not sign in with `OAUTH2`.
    Oauth2ClientNotAllowed,
    /// The named OAuth2 client does not exist.
    UnknownOauth2Client,
    /// The named OAuth2 client is disabled.
    Oauth2ClientDisabled,
    /// `CLIENT_CREDENTIALS` with `GOOGLE`.
    GrantNotSupported,
    /// `CLIENT_CREDENTIALS` without a client secret credential.
    ClientSecretRequired,
    /// `CLIENT_CREDENTIALS` with `MICROSOFT` and no real tenant.
    TenantRequired,
    /// Not an `https` URL (`http` only for loopback).
    InvalidUrl,
    /// A code newer than these bindings: update them. Path, severity and messages are right.
    Unknown,
}

/// The small vocabulary of what went wrong, as reports and check results name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ErrorCategory {
    /// The host name does not resolve.
    Dns,
    /// The TCP connection failed.
    Connect,
    /// The network connector failed.
    Proxy,
    /// TLS failed (handshake, STARTTLS not offered).
    Tls,
    /// The server's certificate was rejected.
    Certificate,
    /// The server rejected the credentials.
    Auth,
    /// The server said something unexpected, or refused a command.
    Protocol,
    /// An operation took longer than its bound.
    Timeout,
    /// The credential provider could not give the credential.
    Credential,
    /// The work was cancelled.
    Cancelled,
    /// Settings are invalid.
    Validation,
    /// Someone else changed the record since it was read.
    Conflict,
    /// The record does not exist.
    NotFound,
    /// The local store failed.
    Storage,
    /// A document or file could not be read.
    Parse,
    /// OAuth2: the refresh token was refused (`invalid_grant`); a person must sign in again.
    NeedsSignIn,
    /// A category newer than these bindings.
    Unknown,
}

/// Which hop of a proxied connection failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ProxyHop {
    /// The proxy itself could not be reached.
    ProxyUnreachable,
    /// The proxy rejected the credentials (or wanted some).
    ProxyAuth,
    /// The proxy refused the request.
    ProxyRefused,
    /// The proxy could not reach the target server.
    TargetUnreachable,
}

/// JSON or TOML, for settings documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum DocumentFormat {
    /// JSON.
    Json,
    /// TOML.
    Toml,
}

/// One validation result: the field, SPEC.md's code, the severity and the message in English
/// and in Brazilian Portuguese.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ValidationResult {
    /// The field: `host` for one record, `incoming_accounts[2].host` in a document.
    pub path: String,
    /// SPEC.md's code.
    pub code: ValidationCode,
    /// The code as SPEC.md writes it (`invalid_port`), for logs and reports.
    pub code_name: String,
    /// `Error` or `Warning`.
    pub severity: Severity,
    /// The message in English.
    pub message: String,
    /// The message in Brazilian Portuguese.
    pub message_pt_br: String,
}

/// An incoming (IMAP/POP3) account as typed: SPEC.md "Incoming account". Fields left out take
/// SPEC.md's defaults.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct IncomingAccountForm {
    /// Given by the store; read-only (`null`/`nil` for a new account).
    #[uniffi(default = None)]
    pub id: Option<i64>,
    /// Account name: required, 1–100 characters, unique among incoming accounts.
    pub name: String,
    /// IMAP or POP3 (required).
    pub protocol: Option<Protocol>,
    /// Address: host name, IPv4 or IPv6 literal.
    pub host: String,
    /// Port; empty takes SPEC.md's default for the protocol and security.
    #[uniffi(default = None)]
    pub port: Option<i64>,
    /// Credential id in the host's vault (required).
    pub credential: Option<String>,
    /// Keep copy in server (default true).
    #[uniffi(default = true)]
    pub keep_copy_on_server: bool,
    /// Automatic check (default true).
    #[uniffi(default = true)]
    pub automatic_check: bool,
    /// Seconds between automatic checks, 30–86 400 (default 300).
    #[uniffi(default = 300)]
    pub check_interval_secs: i64,
    /// Enabled (default true); a disabled account is never contacted.
    #[uniffi(default = true)]
    pub enabled: bool,
    /// Use Network Connector (default false).
    #[uniffi(default = false)]
    pub use_network_connector: bool,
    /// The connector's id, exactly when `use_network_connector`.
    #[uniffi(default = None)]
    pub network_connector: Option<i64>,
    /// Skip certificate verification (default false; true is a warning).
    #[uniffi(default = false)]
    pub skip_certificate: bool,
    /// Use secure connection (default true).
    #[uniffi(default = true)]
    pub use_secure_connection: bool,
    /// `SSL` (implicit TLS, SPEC.md's default) or `TLS` (STARTTLS). No default here: UniFFI
    /// cannot give enum fields one, so a host names it.
    pub secure_connection_type: SecureConnectionType,
    /// A PEM file of extra CA certificates trusted for this account only.
    #[uniffi(default = None)]
    pub ca_file: Option<String>,
    /// Messages larger than this many bytes are skipped and left on the server (default 50 MB).
    #[uniffi(default = 52428800)]
    pub max_message_size: i64,
    /// IMAP folders collected, as the user writes them (`INBOX`, `Support/Tier 2`). Empty (the
    /// default here) means SPEC.md's default, `["INBOX"]`.
    #[uniffi(default = [])]
    pub folders: Vec<String>,
    /// IMAP folder collected messages are moved to instead of deleted (without keep copy).
    #[uniffi(default = None)]
    pub archive_folder: Option<String>,
    /// Wait for new mail with IMAP IDLE on the first folder (default true).
    #[uniffi(default = true)]
    pub use_push: bool,
    /// How the account signs in (`docs/SETTINGS.md`): `null` or `PASSWORD` (the vault entry's
    /// secret as it is), `OAUTH2` (the OAuth2 client obtains and refreshes access tokens).
    #[uniffi(default = None)]
    pub authentication: Option<crate::oauth2::AuthenticationMethod>,
    /// The OAuth2 client's id, exactly when `authentication` is `OAUTH2`.
    #[uniffi(default = None)]
    pub oauth2_client: Option<i64>,
}

/// An outgoing (SMTP) account as typed: SPEC.md "Outgoing account". Fields left out take
/// SPEC.md's defaults.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SmtpAccountForm {
    /// Given by the store; read-only (`null`/`nil` for a new account).
    #[uniffi(default = None)]
    pub id: Option<i64>,
    /// Account name: required, 1–100 characters, unique among SMTP accounts.
    pub name: String,
    /// SMTP host.
    pub host: String,
    /// Sender e-mail (required).
    pub sender_email: String,
    /// Credential id; required exactly when `use_authentication`.
    #[uniffi(default = None)]
    pub credential: Option<String>,
    /// Port; empty takes SPEC.md's default for the security.
    #[uniffi(default = None)]
    pub port: Option<i64>,
    /// Enabled (default true); a disabled account sends nothing.
    #[uniffi(default = true)]
    pub enabled: bool,
    /// Reply-To.
    #[uniffi(default = None)]
    pub reply_to: Option<String>,
    /// Return-Path: the envelope sender (MAIL FROM), where bounces go.
    #[uniffi(default = None)]
    pub return_path: Option<String>,
    /// Confirmation e-mail (`Disposition-Notification-To`); required with a read receipt.
    #[uniffi(default = None)]
    pub confirmation_email: Option<String>,
    /// Default account: at most one; making one default clears the others.
    #[uniffi(default = false)]
    pub default_account: bool,
    /// Ask for a read receipt.
    #[uniffi(default = false)]
    pub send_read_receipt: bool,
    /// The account's sender, Reply-To and Return-Path replace whatever a message brings.
    #[uniffi(default = false)]
    pub force_configuration: bool,
    /// Append `footer` to every message.
    #[uniffi(default = false)]
    pub enable_footer: bool,
    /// Footer text; required when `enable_footer`.
    #[uniffi(default = None)]
    pub footer: Option<String>,
    /// Use secure connection (default true).
    #[uniffi(default = true)]
    pub use_secure_connection: bool,
    /// `SSL` (implicit TLS, SPEC.md's default) or `TLS` (STARTTLS). No default here: UniFFI
    /// cannot give enum fields one, so a host names it.
    pub secure_connection_type: SecureConnectionType,
    /// Use authentication (default true).
    #[uniffi(default = true)]
    pub use_authentication: bool,
    /// Ignore certificate errors (default false; true is a warning).
    #[uniffi(default = false)]
    pub skip_certificate_errors: bool,
    /// Use Network Connector (default false).
    #[uniffi(default = false)]
    pub use_network_connector: bool,
    /// The connector's id, exactly when `use_network_connector`.
    #[uniffi(default = None)]
    pub network_connector: Option<i64>,
    /// A PEM file of extra CA certificates trusted for this account only.
    #[uniffi(default = None)]
    pub ca_file: Option<String>,
    /// How the account signs in (`docs/SETTINGS.md`): `null` or `PASSWORD` (the vault entry's
    /// secret as it is), `OAUTH2` (the OAuth2 client obtains and refreshes access tokens).
    #[uniffi(default = None)]
    pub authentication: Option<crate::oauth2::AuthenticationMethod>,
    /// The OAuth2 client's id, exactly when `authentication` is `OAUTH2`.
    #[uniffi(default = None)]
    pub oauth2_client: Option<i64>,
}

/// A network connector (proxy): SPEC.md "Network connector and credential".
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct NetworkConnectorForm {
    /// Given by the store; read-only.
    #[uniffi(default = None)]
    pub id: Option<i64>,
    /// Name: required, 1–100 characters, unique among connectors.
    pub name: String,
    /// `SOCKS5` or `HTTP_CONNECT` (required).
    pub kind: Option<ConnectorKind>,
    /// The proxy's host.
    pub host: String,
    /// The proxy's port (required).
    pub port: Option<i64>,
    /// Credential id for the proxy's user and password (optional).
    #[uniffi(default = None)]
    pub credential: Option<String>,
    /// Enabled (default true); an account may not use a disabled connector.
    #[uniffi(default = true)]
    pub enabled: bool,
}

/// A whole set of settings: SPEC.md "Settings document". Never holds a secret.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SettingsDocument {
    /// The document version (1).
    #[uniffi(default = 1)]
    pub version: u32,
    /// Network connectors.
    #[uniffi(default = [])]
    pub network_connectors: Vec<NetworkConnectorForm>,
    /// Incoming accounts.
    #[uniffi(default = [])]
    pub incoming_accounts: Vec<IncomingAccountForm>,
    /// SMTP accounts.
    #[uniffi(default = [])]
    pub smtp_accounts: Vec<SmtpAccountForm>,
    /// Report schedules.
    #[uniffi(default = [])]
    pub report_schedules: Vec<crate::schedule::ReportSchedule>,
    /// Days the collection journal keeps an entry (1–3650); empty means 90.
    #[uniffi(default = None)]
    pub journal_retention_days: Option<u32>,
    /// OAuth2 clients.
    #[uniffi(default = [])]
    pub oauth2_clients: Vec<crate::oauth2::OAuth2ClientForm>,
}

// ----- enum conversions -----

/// The core's enums are `#[non_exhaustive]`; a variant these bindings do not know yet is an
/// error here rather than a wrong value.
fn unknown_variant(what: &str, word: impl std::fmt::Display) -> MailSettingsError {
    MailSettingsError::internal(format!(
        "this version of the bindings does not know {what} \"{word}\": update mail-settings-ffi"
    ))
}

impl From<Protocol> for mscore::Protocol {
    fn from(p: Protocol) -> Self {
        match p {
            Protocol::Imap => mscore::Protocol::Imap,
            Protocol::Pop3 => mscore::Protocol::Pop3,
        }
    }
}

impl TryFrom<mscore::Protocol> for Protocol {
    type Error = MailSettingsError;
    fn try_from(p: mscore::Protocol) -> Result<Self> {
        Ok(match p {
            mscore::Protocol::Imap => Protocol::Imap,
            mscore::Protocol::Pop3 => Protocol::Pop3,
            other => return Err(unknown_variant("protocol", other)),
        })
    }
}

impl From<SecureConnectionType> for mscore::SecureConnectionType {
    fn from(t: SecureConnectionType) -> Self {
        match t {
            SecureConnectionType::Ssl => mscore::SecureConnectionType::Ssl,
            SecureConnectionType::Tls => mscore::SecureConnectionType::Tls,
        }
    }
}

impl TryFrom<mscore::SecureConnectionType> for SecureConnectionType {
    type Error = MailSettingsError;
    fn try_from(t: mscore::SecureConnectionType) -> Result<Self> {
        Ok(match t {
            mscore::SecureConnectionType::Ssl => SecureConnectionType::Ssl,
            mscore::SecureConnectionType::Tls => SecureConnectionType::Tls,
            other => return Err(unknown_variant("secure connection type", other)),
        })
    }
}

impl TryFrom<mscore::Security> for Security {
    type Error = MailSettingsError;
    fn try_from(s: mscore::Security) -> Result<Self> {
        Ok(match s {
            mscore::Security::Clear => Security::Clear,
            mscore::Security::ImplicitTls => Security::ImplicitTls,
            mscore::Security::StartTls => Security::StartTls,
            other => return Err(unknown_variant("security", format!("{other:?}"))),
        })
    }
}

impl From<ConnectorKind> for mscore::ConnectorKind {
    fn from(k: ConnectorKind) -> Self {
        match k {
            ConnectorKind::Socks5 => mscore::ConnectorKind::Socks5,
            ConnectorKind::HttpConnect => mscore::ConnectorKind::HttpConnect,
        }
    }
}

impl TryFrom<mscore::ConnectorKind> for ConnectorKind {
    type Error = MailSettingsError;
    fn try_from(k: mscore::ConnectorKind) -> Result<Self> {
        Ok(match k {
            mscore::ConnectorKind::Socks5 => ConnectorKind::Socks5,
            mscore::ConnectorKind::HttpConnect => ConnectorKind::HttpConnect,
            other => return Err(unknown_variant("connector kind", other)),
        })
    }
}

impl From<DocumentFormat> for mscore::Format {
    fn from(f: DocumentFormat) -> Self {
        match f {
            DocumentFormat::Json => mscore::Format::Json,
            DocumentFormat::Toml => mscore::Format::Toml,
        }
    }
}

impl From<mscore::Severity> for Severity {
    fn from(s: mscore::Severity) -> Self {
        match s {
            mscore::Severity::Warning => Severity::Warning,
            // An unknown severity is treated as the one that blocks.
            _ => Severity::Error,
        }
    }
}

impl From<mscore::Code> for ValidationCode {
    fn from(c: mscore::Code) -> Self {
        use mscore::Code as C;
        match c {
            C::Required => ValidationCode::Required,
            C::TooLong => ValidationCode::TooLong,
            C::InvalidHost => ValidationCode::InvalidHost,
            C::InvalidPort => ValidationCode::InvalidPort,
            C::InvalidEmail => ValidationCode::InvalidEmail,
            C::OutOfRange => ValidationCode::OutOfRange,
            C::NetworkConnectorRequired => ValidationCode::NetworkConnectorRequired,
            C::NetworkConnectorNotAllowed => ValidationCode::NetworkConnectorNotAllowed,
            C::UnknownNetworkConnector => ValidationCode::UnknownNetworkConnector,
            C::NetworkConnectorDisabled => ValidationCode::NetworkConnectorDisabled,
            C::CredentialRequired => ValidationCode::CredentialRequired,
            C::CredentialNotAllowed => ValidationCode::CredentialNotAllowed,
            C::UnknownCredential => ValidationCode::UnknownCredential,
            C::ConfirmationEmailRequired => ValidationCode::ConfirmationEmailRequired,
            C::FooterRequired => ValidationCode::FooterRequired,
            C::DuplicateName => ValidationCode::DuplicateName,
            C::DuplicateId => ValidationCode::DuplicateId,
            C::MultipleDefaultAccounts => ValidationCode::MultipleDefaultAccounts,
            C::CertificateCheckDisabled => ValidationCode::CertificateCheckDisabled,
            C::CleartextCredentials => ValidationCode::CleartextCredentials,
            // report schedules
            C::InvalidTime => ValidationCode::InvalidTime,
            C::InvalidTimeZone => ValidationCode::InvalidTimeZone,
            C::UnknownSmtpAccount => ValidationCode::UnknownSmtpAccount,
            C::SmtpAccountDisabled => ValidationCode::SmtpAccountDisabled,
            C::InvalidCharacters => ValidationCode::InvalidCharacters,
            // folders, archive, push
            C::FoldersNotAllowed => ValidationCode::FoldersNotAllowed,
            C::InvalidFolder => ValidationCode::InvalidFolder,
            C::ArchiveFolderNotAllowed => ValidationCode::ArchiveFolderNotAllowed,
            C::ArchiveFolderCollected => ValidationCode::ArchiveFolderCollected,
            C::ArchiveFolderUnused => ValidationCode::ArchiveFolderUnused,
            // OAuth2 clients and OAuth2 accounts
            C::OAuth2ClientRequired => ValidationCode::Oauth2ClientRequired,
            C::OAuth2ClientNotAllowed => ValidationCode::Oauth2ClientNotAllowed,
            C::UnknownOAuth2Client => ValidationCode::UnknownOauth2Client,
            C::OAuth2ClientDisabled => ValidationCode::Oauth2ClientDisabled,
            C::GrantNotSupported => ValidationCode::GrantNotSupported,
            C::ClientSecretRequired => ValidationCode::ClientSecretRequired,
            C::TenantRequired => ValidationCode::TenantRequired,
            C::InvalidUrl => ValidationCode::InvalidUrl,
            _ => ValidationCode::Unknown,
        }
    }
}

impl From<mscore::ErrorCategory> for ErrorCategory {
    fn from(c: mscore::ErrorCategory) -> Self {
        use mscore::ErrorCategory as C;
        match c {
            C::Dns => ErrorCategory::Dns,
            C::Connect => ErrorCategory::Connect,
            C::Proxy => ErrorCategory::Proxy,
            C::Tls => ErrorCategory::Tls,
            C::Certificate => ErrorCategory::Certificate,
            C::Auth => ErrorCategory::Auth,
            C::Protocol => ErrorCategory::Protocol,
            C::Timeout => ErrorCategory::Timeout,
            C::Credential => ErrorCategory::Credential,
            C::Cancelled => ErrorCategory::Cancelled,
            C::Validation => ErrorCategory::Validation,
            C::Conflict => ErrorCategory::Conflict,
            C::NotFound => ErrorCategory::NotFound,
            C::Storage => ErrorCategory::Storage,
            C::Parse => ErrorCategory::Parse,
            C::NeedsSignIn => ErrorCategory::NeedsSignIn,
            _ => ErrorCategory::Unknown,
        }
    }
}

impl From<mscore::ProxyHop> for ProxyHop {
    fn from(h: mscore::ProxyHop) -> Self {
        use mscore::ProxyHop as H;
        match h {
            H::ProxyUnreachable => ProxyHop::ProxyUnreachable,
            H::ProxyAuth => ProxyHop::ProxyAuth,
            H::ProxyRefused => ProxyHop::ProxyRefused,
            // A hop these bindings do not know: the proxy itself is the safest reading.
            _ => ProxyHop::TargetUnreachable,
        }
    }
}

impl From<mscore::ValidationResult> for ValidationResult {
    fn from(r: mscore::ValidationResult) -> Self {
        ValidationResult {
            path: r.path,
            code: r.code.into(),
            code_name: r.code.as_str().to_owned(),
            severity: r.severity.into(),
            message: r.message,
            message_pt_br: r.message_pt_br,
        }
    }
}

// ----- record conversions -----

fn path_string(p: Option<PathBuf>) -> Option<String> {
    p.map(|p| p.to_string_lossy().into_owned())
}

impl From<IncomingAccountForm> for mscore::IncomingAccountForm {
    fn from(a: IncomingAccountForm) -> Self {
        mscore::IncomingAccountForm {
            authentication: crate::oauth2::authentication_to_core(a.authentication),
            oauth2_client: a.oauth2_client,
            id: a.id,
            name: a.name,
            keep_copy_on_server: a.keep_copy_on_server,
            automatic_check: a.automatic_check,
            check_interval_secs: a.check_interval_secs,
            enabled: a.enabled,
            host: a.host,
            port: a.port,
            protocol: a.protocol.map(Into::into),
            use_network_connector: a.use_network_connector,
            network_connector: a.network_connector,
            credential: a.credential,
            skip_certificate: a.skip_certificate,
            use_secure_connection: a.use_secure_connection,
            secure_connection_type: a.secure_connection_type.into(),
            ca_file: a.ca_file.map(PathBuf::from),
            max_message_size: a.max_message_size,
            folders: if a.folders.is_empty() {
                mscore::model::default_folders()
            } else {
                a.folders
            },
            archive_folder: a.archive_folder,
            use_push: a.use_push,
        }
    }
}

impl TryFrom<mscore::IncomingAccountForm> for IncomingAccountForm {
    type Error = MailSettingsError;
    fn try_from(f: mscore::IncomingAccountForm) -> Result<Self> {
        Ok(IncomingAccountForm {
            id: f.id,
            name: f.name,
            protocol: f.protocol.map(TryInto::try_into).transpose()?,
            host: f.host,
            port: f.port,
            credential: f.credential,
            keep_copy_on_server: f.keep_copy_on_server,
            automatic_check: f.automatic_check,
            check_interval_secs: f.check_interval_secs,
            enabled: f.enabled,
            use_network_connector: f.use_network_connector,
            network_connector: f.network_connector,
            skip_certificate: f.skip_certificate,
            use_secure_connection: f.use_secure_connection,
            secure_connection_type: f.secure_connection_type.try_into()?,
            ca_file: path_string(f.ca_file),
            max_message_size: f.max_message_size,
            folders: f.folders,
            archive_folder: f.archive_folder,
            use_push: f.use_push,
            authentication: crate::oauth2::authentication_from_core(f.authentication)?,
            oauth2_client: f.oauth2_client,
        })
    }
}

impl From<SmtpAccountForm> for mscore::SmtpAccountForm {
    fn from(a: SmtpAccountForm) -> Self {
        mscore::SmtpAccountForm {
            authentication: crate::oauth2::authentication_to_core(a.authentication),
            oauth2_client: a.oauth2_client,
            id: a.id,
            name: a.name,
            enabled: a.enabled,
            sender_email: a.sender_email,
            reply_to: a.reply_to,
            return_path: a.return_path,
            confirmation_email: a.confirmation_email,
            default_account: a.default_account,
            send_read_receipt: a.send_read_receipt,
            force_configuration: a.force_configuration,
            enable_footer: a.enable_footer,
            footer: a.footer,
            host: a.host,
            port: a.port,
            use_secure_connection: a.use_secure_connection,
            secure_connection_type: a.secure_connection_type.into(),
            use_authentication: a.use_authentication,
            skip_certificate_errors: a.skip_certificate_errors,
            use_network_connector: a.use_network_connector,
            network_connector: a.network_connector,
            credential: a.credential,
            ca_file: a.ca_file.map(PathBuf::from),
        }
    }
}

impl TryFrom<mscore::SmtpAccountForm> for SmtpAccountForm {
    type Error = MailSettingsError;
    fn try_from(f: mscore::SmtpAccountForm) -> Result<Self> {
        Ok(SmtpAccountForm {
            id: f.id,
            name: f.name,
            host: f.host,
            sender_email: f.sender_email,
            credential: f.credential,
            port: f.port,
            enabled: f.enabled,
            reply_to: f.reply_to,
            return_path: f.return_path,
            confirmation_email: f.confirmation_email,
            default_account: f.default_account,
            send_read_receipt: f.send_read_receipt,
            force_configuration: f.force_configuration,
            enable_footer: f.enable_footer,
            footer: f.footer,
            use_secure_connection: f.use_secure_connection,
            secure_connection_type: f.secure_connection_type.try_into()?,
            use_authentication: f.use_authentication,
            skip_certificate_errors: f.skip_certificate_errors,
            use_network_connector: f.use_network_connector,
            network_connector: f.network_connector,
            ca_file: path_string(f.ca_file),
            authentication: crate::oauth2::authentication_from_core(f.authentication)?,
            oauth2_client: f.oauth2_client,
        })
    }
}

impl From<NetworkConnectorForm> for mscore::NetworkConnectorForm {
    fn from(c: NetworkConnectorForm) -> Self {
        mscore::NetworkConnectorForm {
            id: c.id,
            name: c.name,
            enabled: c.enabled,
            kind: c.kind.map(Into::into),
            host: c.host,
            port: c.port,
            credential: c.credential,
        }
    }
}

impl TryFrom<mscore::NetworkConnectorForm> for NetworkConnectorForm {
    type Error = MailSettingsError;
    fn try_from(f: mscore::NetworkConnectorForm) -> Result<Self> {
        Ok(NetworkConnectorForm {
            id: f.id,
            name: f.name,
            kind: f.kind.map(TryInto::try_into).transpose()?,
            host: f.host,
            port: f.port,
            credential: f.credential,
            enabled: f.enabled,
        })
    }
}

impl From<SettingsDocument> for mscore::SettingsDocument {
    fn from(d: SettingsDocument) -> Self {
        mscore::SettingsDocument {
            version: d.version,
            network_connectors: d.network_connectors.into_iter().map(Into::into).collect(),
            incoming_accounts: d.incoming_accounts.into_iter().map(Into::into).collect(),
            smtp_accounts: d.smtp_accounts.into_iter().map(Into::into).collect(),
            report_schedules: crate::schedule::to_core_all(d.report_schedules),
            journal_retention_days: d.journal_retention_days,
            oauth2_clients: d.oauth2_clients.into_iter().map(Into::into).collect(),
        }
    }
}

/// Converts every item, stopping at the first that does not convert.
pub(crate) fn convert_all<T, U>(items: Vec<T>) -> Result<Vec<U>>
where
    U: TryFrom<T, Error = MailSettingsError>,
{
    items.into_iter().map(U::try_from).collect()
}

impl TryFrom<mscore::SettingsDocument> for SettingsDocument {
    type Error = MailSettingsError;
    fn try_from(d: mscore::SettingsDocument) -> Result<Self> {
        Ok(SettingsDocument {
            version: d.version,
            network_connectors: convert_all(d.network_connectors)?,
            incoming_accounts: convert_all(d.incoming_accounts)?,
            smtp_accounts: convert_all(d.smtp_accounts)?,
            report_schedules: crate::schedule::from_core_all(d.report_schedules)?,
            journal_retention_days: d.journal_retention_days,
            oauth2_clients: convert_all(d.oauth2_clients)?,
        })
    }
}

// ----- record methods (delegating to the core) -----

#[uniffi::export]
impl IncomingAccountForm {
    /// The port a connection would use: the typed one, or SPEC.md's default for the protocol
    /// and security. Empty when the protocol is missing or the port is out of range.
    pub fn effective_port(&self) -> Option<u16> {
        mscore::IncomingAccountForm::from(self.clone()).effective_port()
    }

    /// The security `use_secure_connection` and `secure_connection_type` describe together.
    pub fn security(&self) -> Security {
        security_of(self.use_secure_connection, self.secure_connection_type)
    }
}

#[uniffi::export]
impl SmtpAccountForm {
    /// The port a connection would use: the typed one, or SPEC.md's default for the security.
    /// Empty when the port is out of range.
    pub fn effective_port(&self) -> Option<u16> {
        mscore::SmtpAccountForm::from(self.clone()).effective_port()
    }

    /// The security `use_secure_connection` and `secure_connection_type` describe together.
    pub fn security(&self) -> Security {
        security_of(self.use_secure_connection, self.secure_connection_type)
    }
}

fn security_of(use_secure: bool, kind: SecureConnectionType) -> Security {
    match mscore::Security::from_form(use_secure, kind.into()) {
        mscore::Security::ImplicitTls => Security::ImplicitTls,
        mscore::Security::StartTls => Security::StartTls,
        // Clear, and anything newer: never claim protection that may not be there.
        _ => Security::Clear,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_code_has_a_binding_code_with_the_spec_word() {
        for code in mscore::Code::ALL {
            let ours = ValidationCode::from(code);
            assert_ne!(ours, ValidationCode::Unknown, "{code} has no binding");
        }
    }

    #[test]
    fn record_defaults_match_the_core_form_defaults() {
        // The defaults a host gets by leaving fields out are written twice (in the
        // `#[uniffi(default)]` attributes and in the core); they must agree.
        let core_default = mscore::IncomingAccountForm::default();
        assert_eq!(core_default.check_interval_secs, 300);
        assert_eq!(core_default.max_message_size, 52_428_800);
        assert!(core_default.keep_copy_on_server && core_default.automatic_check);
        assert!(core_default.enabled && core_default.use_secure_connection);
        assert!(!core_default.skip_certificate && !core_default.use_network_connector);
        assert_eq!(
            core_default.secure_connection_type,
            mscore::SecureConnectionType::Ssl
        );
        let smtp = mscore::SmtpAccountForm::default();
        assert!(smtp.enabled && smtp.use_secure_connection && smtp.use_authentication);
        assert!(!smtp.default_account && !smtp.skip_certificate_errors);
        assert!(mscore::NetworkConnectorForm::default().enabled);
        assert_eq!(mscore::document::DOCUMENT_VERSION, 1);
    }

    #[test]
    fn incoming_round_trips_through_the_core_form() {
        let a = IncomingAccountForm {
            authentication: None,
            oauth2_client: None,
            id: Some(7),
            name: "Helpdesk".into(),
            protocol: Some(Protocol::Pop3),
            host: "mail.example.com".into(),
            port: Some(70000),
            credential: Some("helpdesk".into()),
            keep_copy_on_server: false,
            automatic_check: false,
            check_interval_secs: 60,
            enabled: false,
            use_network_connector: true,
            network_connector: Some(3),
            skip_certificate: true,
            use_secure_connection: true,
            secure_connection_type: SecureConnectionType::Tls,
            ca_file: Some("/etc/ca.pem".into()),
            max_message_size: 2048,
            folders: vec!["INBOX".into(), "Support/Tier 2".into()],
            archive_folder: Some("Arquivo".into()),
            use_push: false,
        };
        let form = mscore::IncomingAccountForm::from(a.clone());
        assert_eq!(form.port, Some(70000));
        assert_eq!(IncomingAccountForm::try_from(form).unwrap(), a);
        assert_eq!(a.effective_port(), None, "70000 is not a port");
        assert_eq!(a.security(), Security::StartTls);
    }

    #[test]
    fn effective_port_takes_spec_defaults() {
        let mut a = IncomingAccountForm::try_from(mscore::IncomingAccountForm::default()).unwrap();
        a.protocol = Some(Protocol::Imap);
        assert_eq!(a.effective_port(), Some(993));
        a.secure_connection_type = SecureConnectionType::Tls;
        assert_eq!(a.effective_port(), Some(143));
        a.protocol = Some(Protocol::Pop3);
        a.use_secure_connection = false;
        assert_eq!(a.effective_port(), Some(110));
        let mut s = SmtpAccountForm::try_from(mscore::SmtpAccountForm::default()).unwrap();
        assert_eq!(s.effective_port(), Some(465));
        s.secure_connection_type = SecureConnectionType::Tls;
        assert_eq!(s.effective_port(), Some(587));
    }
}
