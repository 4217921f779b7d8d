//! Typed accounts: what drivers take. They exist only by validating a form, so a driver never
//! sees an invalid combination: the port is resolved, the security is one value, the connector
//! is present (and enabled) exactly when it must be, and the credential exactly when it is needed.

use crate::model::{
    default_port, AuthenticationMethod, ConnectorKind, IncomingAccountForm, NetworkConnectorForm,
    OAuth2ClientForm, OAuth2ProviderKind, Protocol, RecordId, Security, Service, SmtpAccountForm,
    DEFAULT_MICROSOFT_TENANT,
};
use crate::oauth2::{OAuth2Client, OAuth2Provider};
use crate::validate::{
    validate_connector, validate_incoming, validate_oauth2_client, validate_smtp, Validation,
    ValidationContext,
};
pub use crate::values::{CredentialId, EmailAddress, Endpoint, Host, TlsOptions};
use std::path::Path;
use std::time::Duration;

/// A validated network connector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConnector {
    pub(crate) id: Option<RecordId>,
    pub(crate) name: String,
    pub(crate) kind: ConnectorKind,
    pub(crate) endpoint: Endpoint,
    pub(crate) credential: Option<CredentialId>,
}

impl NetworkConnector {
    /// Validates a form. Disabled connectors validate too; accounts refuse them.
    pub fn from_form(form: &NetworkConnectorForm) -> Result<Self, Validation> {
        let v = validate_connector(form, "", &ValidationContext::standalone());
        if v.has_errors() {
            return Err(v);
        }
        Self::build(form).ok_or(v)
    }

    fn build(form: &NetworkConnectorForm) -> Option<Self> {
        let port = u16::try_from(form.port?).ok()?;
        Some(Self {
            id: form.id,
            name: form.name.trim().to_owned(),
            kind: form.kind?,
            endpoint: Endpoint::parse(&form.host, port)?,
            credential: non_blank(form.credential.as_deref()).map(CredentialId::new),
        })
    }

    /// A connector built directly (tests, tools).
    pub fn new(kind: ConnectorKind, endpoint: Endpoint, credential: Option<CredentialId>) -> Self {
        Self {
            id: None,
            name: format!("{kind} {endpoint}"),
            kind,
            endpoint,
            credential,
        }
    }

    /// Store id, if stored.
    pub fn id(&self) -> Option<RecordId> {
        self.id
    }
    /// Name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// SOCKS5 or HTTP CONNECT.
    pub fn kind(&self) -> ConnectorKind {
        self.kind
    }
    /// The proxy.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
    /// The proxy's credential, if any.
    pub fn credential(&self) -> Option<&CredentialId> {
        self.credential.as_ref()
    }
}

/// How a connection reaches its server.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Route {
    /// A direct TCP connection.
    Direct,
    /// Through a proxy.
    Proxy(NetworkConnector),
}

/// Where and how to connect: everything a transport needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// The server.
    pub endpoint: Endpoint,
    /// Clear, implicit TLS or STARTTLS.
    pub security: Security,
    /// Certificate checks.
    pub tls: TlsOptions,
    /// Direct or through a connector.
    pub route: Route,
}

fn non_blank(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

fn route(use_connector: bool, id: Option<RecordId>, ctx: &ValidationContext<'_>) -> Option<Route> {
    if !use_connector {
        return Some(Route::Direct);
    }
    let form = ctx.connector(id?)?;
    if !form.enabled {
        return None;
    }
    NetworkConnector::build(form).map(Route::Proxy)
}

/// A validated incoming (IMAP/POP3) account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingAccount {
    pub(crate) id: Option<RecordId>,
    pub(crate) name: String,
    pub(crate) protocol: Protocol,
    pub(crate) connection: ConnectionSettings,
    pub(crate) credential: CredentialId,
    pub(crate) keep_copy_on_server: bool,
    pub(crate) automatic_check: bool,
    pub(crate) check_interval: Duration,
    pub(crate) enabled: bool,
    pub(crate) max_message_size: u64,
    pub(crate) folders: Vec<String>,
    pub(crate) archive_folder: Option<String>,
    pub(crate) use_push: bool,
    pub(crate) oauth2_client: Option<RecordId>,
}

impl IncomingAccount {
    /// Validates a form into an account. A connector is looked up in `ctx.connectors`; an
    /// account that uses one cannot be built without it.
    pub fn from_form(
        form: &IncomingAccountForm,
        ctx: &ValidationContext<'_>,
    ) -> Result<Self, Validation> {
        let mut v = validate_incoming(form, "", ctx);
        if v.has_errors() {
            return Err(v);
        }
        let built = (|| {
            let protocol = form.protocol?;
            let security = form.security();
            let port = match form.port {
                Some(p) => u16::try_from(p).ok()?,
                None => default_port(protocol.into(), security),
            };
            Some(Self {
                id: form.id,
                name: form.name.trim().to_owned(),
                protocol,
                connection: ConnectionSettings {
                    endpoint: Endpoint::parse(&form.host, port)?,
                    security,
                    tls: TlsOptions {
                        verify: !form.skip_certificate,
                        ca_file: form.ca_file.clone(),
                    },
                    route: route(form.use_network_connector, form.network_connector, ctx)?,
                },
                credential: CredentialId::new(non_blank(form.credential.as_deref())?),
                keep_copy_on_server: form.keep_copy_on_server,
                automatic_check: form.automatic_check,
                check_interval: Duration::from_secs(u64::try_from(form.check_interval_secs).ok()?),
                enabled: form.enabled,
                max_message_size: u64::try_from(form.max_message_size).ok()?,
                folders: if protocol == Protocol::Imap {
                    form.folders.clone()
                } else {
                    crate::model::default_folders()
                },
                archive_folder: form
                    .archive_folder
                    .clone()
                    .filter(|_| protocol == Protocol::Imap),
                use_push: form.use_push && protocol == Protocol::Imap,
                oauth2_client: oauth2_client(form.authentication, form.oauth2_client)?,
            })
        })();
        built.ok_or_else(|| {
            // Only reachable when a connector is named but no list was given to check it.
            let doc_ctx = ValidationContext {
                connectors: Some(&[]),
                ..*ctx
            };
            v.extend(validate_incoming(form, "", &doc_ctx));
            v
        })
    }

    /// Store id, if stored.
    pub fn id(&self) -> Option<RecordId> {
        self.id
    }
    /// Account name (trimmed).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// IMAP or POP3.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }
    /// Where and how to connect.
    pub fn connection(&self) -> &ConnectionSettings {
        &self.connection
    }
    /// The credential to log in with.
    pub fn credential(&self) -> &CredentialId {
        &self.credential
    }
    /// Keep copy in server.
    pub fn keep_copy_on_server(&self) -> bool {
        self.keep_copy_on_server
    }
    /// Automatic check.
    pub fn automatic_check(&self) -> bool {
        self.automatic_check
    }
    /// Time between automatic checks.
    pub fn check_interval(&self) -> Duration {
        self.check_interval
    }
    /// Enabled.
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    /// Largest message the collector fetches, in bytes.
    pub fn max_message_size(&self) -> u64 {
        self.max_message_size
    }
    /// The folders collected, as the user names them (`INBOX`, `Support/Tier 2`); POP3: `INBOX`.
    pub fn folders(&self) -> &[String] {
        &self.folders
    }
    /// The folder collected messages are moved to instead of deleted (IMAP only; it has no
    /// effect with `keep_copy_on_server`).
    pub fn archive_folder(&self) -> Option<&str> {
        self.archive_folder.as_deref()
    }
    /// Whether new mail is awaited with IDLE (IMAP with `automatic_check` only).
    pub fn use_push(&self) -> bool {
        self.use_push
    }
    /// `PASSWORD` or `OAUTH2`.
    pub fn authentication(&self) -> AuthenticationMethod {
        method_of(self.oauth2_client)
    }
    /// The OAuth2 client's id, exactly when the account signs in with `OAUTH2`.
    pub fn oauth2_client(&self) -> Option<RecordId> {
        self.oauth2_client
    }
}

/// A validated SMTP account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpAccount {
    pub(crate) id: Option<RecordId>,
    pub(crate) name: String,
    pub(crate) enabled: bool,
    pub(crate) sender: EmailAddress,
    pub(crate) reply_to: Option<EmailAddress>,
    pub(crate) return_path: Option<EmailAddress>,
    pub(crate) read_receipt_to: Option<EmailAddress>,
    pub(crate) default_account: bool,
    pub(crate) force_configuration: bool,
    pub(crate) footer: Option<String>,
    pub(crate) connection: ConnectionSettings,
    pub(crate) credential: Option<CredentialId>,
    pub(crate) oauth2_client: Option<RecordId>,
}

impl SmtpAccount {
    /// Validates a form into an account.
    pub fn from_form(
        form: &SmtpAccountForm,
        ctx: &ValidationContext<'_>,
    ) -> Result<Self, Validation> {
        let mut v = validate_smtp(form, "", ctx);
        if v.has_errors() {
            return Err(v);
        }
        let optional = |s: Option<&str>| -> Option<Option<EmailAddress>> {
            match non_blank(s) {
                None => Some(None),
                Some(s) => EmailAddress::parse(s).map(Some),
            }
        };
        let built = (|| {
            let security = form.security();
            let port = match form.port {
                Some(p) => u16::try_from(p).ok()?,
                None => default_port(Service::Smtp, security),
            };
            Some(Self {
                id: form.id,
                name: form.name.trim().to_owned(),
                enabled: form.enabled,
                sender: EmailAddress::parse(&form.sender_email)?,
                reply_to: optional(form.reply_to.as_deref())?,
                return_path: optional(form.return_path.as_deref())?,
                read_receipt_to: if form.send_read_receipt {
                    optional(form.confirmation_email.as_deref())?
                } else {
                    None
                },
                default_account: form.default_account,
                force_configuration: form.force_configuration,
                footer: if form.enable_footer {
                    form.footer.clone()
                } else {
                    None
                },
                connection: ConnectionSettings {
                    endpoint: Endpoint::parse(&form.host, port)?,
                    security,
                    tls: TlsOptions {
                        verify: !form.skip_certificate_errors,
                        ca_file: form.ca_file.clone(),
                    },
                    route: route(form.use_network_connector, form.network_connector, ctx)?,
                },
                credential: if form.use_authentication {
                    Some(CredentialId::new(non_blank(form.credential.as_deref())?))
                } else {
                    None
                },
                oauth2_client: if form.use_authentication {
                    oauth2_client(form.authentication, form.oauth2_client)?
                } else {
                    None
                },
            })
        })();
        built.ok_or_else(|| {
            let doc_ctx = ValidationContext {
                connectors: Some(&[]),
                ..*ctx
            };
            v.extend(validate_smtp(form, "", &doc_ctx));
            v
        })
    }

    /// Store id, if stored.
    pub fn id(&self) -> Option<RecordId> {
        self.id
    }
    /// Account name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Enabled.
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    /// Sender (From).
    pub fn sender(&self) -> &EmailAddress {
        &self.sender
    }
    /// Reply-To.
    pub fn reply_to(&self) -> Option<&EmailAddress> {
        self.reply_to.as_ref()
    }
    /// Return-Path: the envelope sender.
    pub fn return_path(&self) -> Option<&EmailAddress> {
        self.return_path.as_ref()
    }
    /// Where read receipts go (`Disposition-Notification-To`), when asked for.
    pub fn read_receipt_to(&self) -> Option<&EmailAddress> {
        self.read_receipt_to.as_ref()
    }
    /// Default account.
    pub fn default_account(&self) -> bool {
        self.default_account
    }
    /// The account's addresses replace the message's.
    pub fn force_configuration(&self) -> bool {
        self.force_configuration
    }
    /// Footer appended to every message, when enabled.
    pub fn footer(&self) -> Option<&str> {
        self.footer.as_deref()
    }
    /// Where and how to connect.
    pub fn connection(&self) -> &ConnectionSettings {
        &self.connection
    }
    /// The credential, exactly when authentication is used.
    pub fn credential(&self) -> Option<&CredentialId> {
        self.credential.as_ref()
    }
    /// The CA file, if any.
    pub fn ca_file(&self) -> Option<&Path> {
        self.connection.tls.ca_file.as_deref()
    }
    /// `PASSWORD` or `OAUTH2` (`PASSWORD` without authentication).
    pub fn authentication(&self) -> AuthenticationMethod {
        method_of(self.oauth2_client)
    }
    /// The OAuth2 client's id, exactly when the account signs in with `OAUTH2`.
    pub fn oauth2_client(&self) -> Option<RecordId> {
        self.oauth2_client
    }
}

/// The client of a validated account: `Some(Some(id))` for `OAUTH2`, `Some(None)` for
/// `PASSWORD`, `None` when the two fields disagree (validation has said so).
fn oauth2_client(
    method: AuthenticationMethod,
    client: Option<RecordId>,
) -> Option<Option<RecordId>> {
    match (method, client) {
        (AuthenticationMethod::OAuth2, Some(id)) => Some(Some(id)),
        (AuthenticationMethod::Password, None) => Some(None),
        _ => None,
    }
}

fn method_of(client: Option<RecordId>) -> AuthenticationMethod {
    if client.is_some() {
        AuthenticationMethod::OAuth2
    } else {
        AuthenticationMethod::Password
    }
}

impl OAuth2Client {
    /// Validates an OAuth2 client form (SPEC.md "OAuth2 clients and OAuth2 accounts") into
    /// the client the token manager takes: the provider preset with its tenant (default
    /// `organizations`), the endpoint URLs given (the preset's otherwise), the scopes. A
    /// disabled client validates too; accounts refuse it.
    pub fn from_form(form: &OAuth2ClientForm) -> Result<Self, Validation> {
        let v = validate_oauth2_client(form, "", &ValidationContext::standalone());
        if v.has_errors() {
            return Err(v);
        }
        let url = |u: &Option<String>| non_blank(u.as_deref()).map(str::to_owned);
        let provider = match form.provider.ok_or_else(|| v.clone())? {
            OAuth2ProviderKind::Microsoft => OAuth2Provider::Microsoft {
                tenant: non_blank(form.tenant.as_deref())
                    .unwrap_or(DEFAULT_MICROSOFT_TENANT)
                    .to_owned(),
            },
            OAuth2ProviderKind::Google => OAuth2Provider::Google,
            OAuth2ProviderKind::Custom => OAuth2Provider::Custom,
        };
        Ok(Self {
            name: form.name.trim().to_owned(),
            provider,
            client_id: form.client_id.trim().to_owned(),
            client_secret_credential: non_blank(form.client_secret_credential.as_deref())
                .map(CredentialId::new),
            grant: form.grant,
            token_url: url(&form.token_url),
            device_authorization_url: url(&form.device_authorization_url),
            authorization_url: url(&form.authorization_url),
            scopes: form.scopes.iter().map(|s| s.trim().to_owned()).collect(),
        })
    }
}
