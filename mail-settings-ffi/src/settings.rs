//! Validation and settings documents, delegated to the core.
//!
//! Validation returns every result at once (errors and warnings) rather than throwing, because
//! a settings screen shows them all beside their fields; functions that *use* settings throw
//! `MailSettingsError.Validation` with the same results instead.

use crate::credentials::{CredentialProvider, HostCredentials};
use crate::error::Result;
use crate::model::{
    DocumentFormat, IncomingAccountForm, NetworkConnectorForm, SettingsDocument, SmtpAccountForm,
    ValidationResult,
};
use mail_settings_core as mscore;
use mail_settings_core::validate::{self, ValidationContext};
use std::sync::Arc;

fn results(v: mscore::Validation) -> Vec<ValidationResult> {
    v.into_results().into_iter().map(Into::into).collect()
}

/// Runs `check` with a context holding `connectors` and the host's provider, when given.
fn with_context<T>(
    connectors: &[mscore::NetworkConnectorForm],
    credentials: Option<Arc<dyn CredentialProvider>>,
    check: impl FnOnce(&ValidationContext<'_>) -> T,
) -> T {
    let host = credentials.map(HostCredentials);
    let mut ctx = ValidationContext::standalone().with_connectors(connectors);
    if let Some(h) = &host {
        ctx = ctx.with_credentials(h);
    }
    check(&ctx)
}

/// Validates one incoming account: every problem at once. `connectors` are the connectors its
/// `network_connector` may name; `credentials`, when given, is asked whether its credential id
/// exists (never for the secret). Paths are field names (`host`, `port`).
#[uniffi::export(default(connectors = [], credentials = None))]
pub fn validate_incoming_account(
    account: IncomingAccountForm,
    connectors: Vec<NetworkConnectorForm>,
    credentials: Option<Arc<dyn CredentialProvider>>,
) -> Vec<ValidationResult> {
    let connectors: Vec<mscore::NetworkConnectorForm> =
        connectors.into_iter().map(Into::into).collect();
    let form = mscore::IncomingAccountForm::from(account);
    results(with_context(&connectors, credentials, |ctx| {
        validate::validate_incoming(&form, "", ctx)
    }))
}

/// Validates one SMTP account: every problem at once (see [`validate_incoming_account`]).
#[uniffi::export(default(connectors = [], credentials = None))]
pub fn validate_smtp_account(
    account: SmtpAccountForm,
    connectors: Vec<NetworkConnectorForm>,
    credentials: Option<Arc<dyn CredentialProvider>>,
) -> Vec<ValidationResult> {
    let connectors: Vec<mscore::NetworkConnectorForm> =
        connectors.into_iter().map(Into::into).collect();
    let form = mscore::SmtpAccountForm::from(account);
    results(with_context(&connectors, credentials, |ctx| {
        validate::validate_smtp(&form, "", ctx)
    }))
}

/// Validates one network connector: every problem at once.
#[uniffi::export(default(credentials = None))]
pub fn validate_network_connector(
    connector: NetworkConnectorForm,
    credentials: Option<Arc<dyn CredentialProvider>>,
) -> Vec<ValidationResult> {
    let form = mscore::NetworkConnectorForm::from(connector);
    results(with_context(&[], credentials, |ctx| {
        validate::validate_connector(&form, "", ctx)
    }))
}

/// Validates a whole settings document: every record, then the rules across records (unique
/// names, one default SMTP account, connector references). Paths name the record
/// (`incoming_accounts[2].host`).
#[uniffi::export(default(credentials = None))]
pub fn validate_settings_document(
    document: SettingsDocument,
    credentials: Option<Arc<dyn CredentialProvider>>,
) -> Vec<ValidationResult> {
    let doc = mscore::SettingsDocument::from(document);
    let host = credentials.map(HostCredentials);
    let provider = host.as_ref().map(|h| h as &dyn mscore::CredentialProvider);
    results(validate::validate_document(&doc, provider))
}

/// Reads a settings document (JSON or TOML). Unknown fields and wrong types throw
/// `MailSettingsError.Parse` with line and column; values out of range parse and are reported
/// by [`validate_settings_document`].
#[uniffi::export]
pub fn parse_settings_document(text: String, format: DocumentFormat) -> Result<SettingsDocument> {
    mscore::SettingsDocument::parse(&text, format.into())?.try_into()
}

/// Writes a settings document as pretty JSON or as TOML. Never holds a secret: credentials are
/// referenced by id only.
#[uniffi::export]
pub fn settings_document_to_string(document: SettingsDocument, format: DocumentFormat) -> String {
    mscore::SettingsDocument::from(document).to_string(format.into())
}

/// The default port for a protocol and security (SPEC.md's table): IMAP 143/993, POP3
/// 110/995, SMTP 587/465 (`protocol` empty means SMTP).
#[uniffi::export]
pub fn default_port(
    protocol: Option<crate::model::Protocol>,
    security: crate::model::Security,
) -> u16 {
    use mscore::model::Service;
    let service = match protocol {
        Some(p) => Service::from(mscore::Protocol::from(p)),
        None => Service::Smtp,
    };
    let security = match security {
        crate::model::Security::Clear => mscore::Security::Clear,
        crate::model::Security::ImplicitTls => mscore::Security::ImplicitTls,
        crate::model::Security::StartTls => mscore::Security::StartTls,
    };
    mscore::model::default_port(service, security)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Credential;
    use crate::error::MailSettingsError;
    use crate::model::{Protocol, SecureConnectionType, Security, Severity, ValidationCode};

    fn account() -> IncomingAccountForm {
        IncomingAccountForm {
            authentication: None,
            oauth2_client: None,
            id: None,
            name: "Helpdesk".into(),
            protocol: Some(Protocol::Imap),
            host: "imap.example.com".into(),
            port: None,
            credential: Some("helpdesk".into()),
            keep_copy_on_server: true,
            automatic_check: true,
            check_interval_secs: 300,
            enabled: true,
            use_network_connector: false,
            network_connector: None,
            skip_certificate: false,
            use_secure_connection: true,
            secure_connection_type: SecureConnectionType::Ssl,
            ca_file: None,
            max_message_size: 52_428_800,
            folders: vec!["INBOX".into()],
            archive_folder: None,
            use_push: true,
        }
    }

    struct OnlyHelpdesk;
    impl CredentialProvider for OnlyHelpdesk {
        fn credential(&self, _id: String) -> Result<Arc<Credential>, MailSettingsError> {
            Err(MailSettingsError::Credential {
                detail: "validation must never ask for a secret".into(),
            })
        }
        fn contains(&self, id: String) -> bool {
            id == "helpdesk"
        }
    }

    #[test]
    fn a_valid_account_has_no_results() {
        assert!(
            validate_incoming_account(account(), vec![], Some(Arc::new(OnlyHelpdesk))).is_empty()
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut a = account();
        a.name = "  ".into();
        a.host = "imap://example.com".into();
        a.port = Some(70_000);
        a.credential = Some("nobody".into());
        a.skip_certificate = true;
        a.use_network_connector = true;
        a.network_connector = Some(9);
        let r = validate_incoming_account(a, vec![], Some(Arc::new(OnlyHelpdesk)));
        let has = |path: &str, code| r.iter().any(|x| x.path == path && x.code == code);
        assert!(has("name", ValidationCode::Required), "{r:?}");
        assert!(has("host", ValidationCode::InvalidHost), "{r:?}");
        assert!(has("port", ValidationCode::InvalidPort), "{r:?}");
        assert!(
            has("credential", ValidationCode::UnknownCredential),
            "{r:?}"
        );
        assert!(
            has("network_connector", ValidationCode::UnknownNetworkConnector),
            "{r:?}"
        );
        let warning = r
            .iter()
            .find(|x| x.code == ValidationCode::CertificateCheckDisabled)
            .expect("warning");
        assert_eq!(warning.severity, Severity::Warning);
        assert_eq!(warning.code_name, "certificate_check_disabled");
        assert!(!warning.message_pt_br.is_empty() && warning.message != warning.message_pt_br);
    }

    #[test]
    fn documents_round_trip_and_parse_errors_have_positions() {
        let doc = SettingsDocument {
            oauth2_clients: vec![],
            version: 1,
            network_connectors: vec![],
            incoming_accounts: vec![account()],
            smtp_accounts: vec![],
            report_schedules: vec![],
            journal_retention_days: None,
        };
        let json = settings_document_to_string(doc.clone(), DocumentFormat::Json);
        assert_eq!(
            parse_settings_document(json, DocumentFormat::Json).unwrap(),
            doc
        );
        let toml = settings_document_to_string(doc.clone(), DocumentFormat::Toml);
        assert_eq!(
            parse_settings_document(toml, DocumentFormat::Toml).unwrap(),
            doc
        );
        match parse_settings_document(
            "{\"version\": 1,\n \"colour\": 3}".into(),
            DocumentFormat::Json,
        ) {
            Err(MailSettingsError::Parse {
                line,
                column,
                detail,
            }) => {
                assert_eq!(line, 2);
                assert!(column > 0);
                assert!(detail.contains("colour"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn document_validation_names_records() {
        let mut second = account();
        second.name = "helpdesk ".into();
        let doc = SettingsDocument {
            oauth2_clients: vec![],
            version: 1,
            network_connectors: vec![],
            incoming_accounts: vec![account(), second],
            smtp_accounts: vec![],
            report_schedules: vec![],
            journal_retention_days: None,
        };
        let r = validate_settings_document(doc, None);
        assert!(
            r.iter().any(|x| x.path == "incoming_accounts[1].name"
                && x.code == ValidationCode::DuplicateName),
            "{r:?}"
        );
    }

    #[test]
    fn default_ports_follow_the_spec_table() {
        assert_eq!(
            default_port(Some(Protocol::Imap), Security::ImplicitTls),
            993
        );
        assert_eq!(default_port(Some(Protocol::Imap), Security::StartTls), 143);
        assert_eq!(default_port(Some(Protocol::Pop3), Security::Clear), 110);
        assert_eq!(
            default_port(Some(Protocol::Pop3), Security::ImplicitTls),
            995
        );
        assert_eq!(default_port(None, Security::ImplicitTls), 465);
        assert_eq!(default_port(None, Security::StartTls), 587);
    }
}
