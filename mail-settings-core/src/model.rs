//! Settings as a person typed them ("forms") and the vocabulary they share.
//!
//! A form is the shape of docs/SETTINGS.md's tables: every field, every default, possibly invalid. It is
//! what a settings document, the store and the bindings carry. Forms never reach a driver: they
//! are validated into the typed accounts of [`crate::typed`] first (parse, don't validate).
//!
//! Numbers a person types (ports, intervals) are kept as `i64` here so that a port of 70000 is a
//! validation result (`invalid_port`) rather than a parse error.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// An id given by the store to an account or a network connector.
pub type RecordId = i64;

/// Incoming mail protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Protocol {
    /// IMAP4rev1 (RFC 3501).
    #[serde(rename = "IMAP")]
    Imap,
    /// POP3 (RFC 1939).
    #[serde(rename = "POP3")]
    Pop3,
}

impl Protocol {
    /// The docs/SETTINGS.md word: `IMAP` or `POP3`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Imap => "IMAP",
            Protocol::Pop3 => "POP3",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The seeds' "secure connection type": `SSL` is implicit TLS, `TLS` is STARTTLS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SecureConnectionType {
    /// Implicit TLS: the handshake is the first thing on the connection.
    #[default]
    #[serde(rename = "SSL")]
    Ssl,
    /// STARTTLS (IMAP `STARTTLS`, POP3 `STLS`, SMTP `STARTTLS`), never falling back to clear text.
    #[serde(rename = "TLS")]
    Tls,
}

impl SecureConnectionType {
    /// The docs/SETTINGS.md word: `SSL` or `TLS`.
    pub fn as_str(self) -> &'static str {
        match self {
            SecureConnectionType::Ssl => "SSL",
            SecureConnectionType::Tls => "TLS",
        }
    }
}

impl fmt::Display for SecureConnectionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a connection is protected, as one value: what `use_secure_connection` and
/// `secure_connection_type` mean together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Security {
    /// Clear text (`use_secure_connection = false`).
    Clear,
    /// Implicit TLS (`SSL`).
    ImplicitTls,
    /// STARTTLS (`TLS`); fails when the server does not offer it.
    StartTls,
}

impl Security {
    /// The security a form's two fields describe.
    pub fn from_form(use_secure_connection: bool, kind: SecureConnectionType) -> Self {
        match (use_secure_connection, kind) {
            (false, _) => Security::Clear,
            (true, SecureConnectionType::Ssl) => Security::ImplicitTls,
            (true, SecureConnectionType::Tls) => Security::StartTls,
        }
    }

    /// Whether credentials cross the network protected.
    pub fn is_encrypted(self) -> bool {
        !matches!(self, Security::Clear)
    }

    /// Words for reports: `SSL`, `TLS` or none.
    pub fn connection_type(self) -> Option<SecureConnectionType> {
        match self {
            Security::Clear => None,
            Security::ImplicitTls => Some(SecureConnectionType::Ssl),
            Security::StartTls => Some(SecureConnectionType::Tls),
        }
    }
}

/// Kind of network connector (a proxy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ConnectorKind {
    /// SOCKS5 (RFC 1928), optionally with user/password (RFC 1929).
    #[serde(rename = "SOCKS5")]
    Socks5,
    /// HTTP `CONNECT` tunnel (RFC 9110 §9.3.6), optionally with Basic auth.
    #[serde(rename = "HTTP_CONNECT")]
    HttpConnect,
}

impl ConnectorKind {
    /// The docs/SETTINGS.md word: `SOCKS5` or `HTTP_CONNECT`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::Socks5 => "SOCKS5",
            ConnectorKind::HttpConnect => "HTTP_CONNECT",
        }
    }
}

impl fmt::Display for ConnectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which service a default port is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Service {
    /// IMAP.
    Imap,
    /// POP3.
    Pop3,
    /// SMTP submission.
    Smtp,
}

impl From<Protocol> for Service {
    fn from(p: Protocol) -> Self {
        match p {
            Protocol::Imap => Service::Imap,
            Protocol::Pop3 => Service::Pop3,
        }
    }
}

/// docs/SETTINGS.md's default ports: clear text or `TLS` (STARTTLS) vs `SSL` (implicit TLS).
pub fn default_port(service: Service, security: Security) -> u16 {
    let implicit = matches!(security, Security::ImplicitTls);
    match (service, implicit) {
        (Service::Imap, false) => 143,
        (Service::Imap, true) => 993,
        (Service::Pop3, false) => 110,
        (Service::Pop3, true) => 995,
        (Service::Smtp, false) => 587,
        (Service::Smtp, true) => 465,
    }
}

/// Default for `check_interval_secs`.
pub const DEFAULT_CHECK_INTERVAL_SECS: i64 = 300;
/// Range of `check_interval_secs`.
pub const CHECK_INTERVAL_RANGE: std::ops::RangeInclusive<i64> = 30..=86_400;
/// Default for `max_message_size` (50 MB).
pub const DEFAULT_MAX_MESSAGE_SIZE: i64 = 50 * 1024 * 1024;
/// Range of `max_message_size`: 1 KiB to 1 GiB.
pub const MAX_MESSAGE_SIZE_RANGE: std::ops::RangeInclusive<i64> = 1024..=1024 * 1024 * 1024;
/// Names, credential ids, e-mail addresses and `ca_file` may hold no control character (CR,
/// LF, TAB, NUL, ESC, the rest of C0, DEL, C1): `invalid_characters`. The multi-line `footer`
/// may hold CR, LF and TAB only.
///
/// Longest account or connector name, in characters after trimming.
pub const NAME_MAX_CHARS: usize = 100;
/// Longest footer, in characters.
pub const FOOTER_MAX_CHARS: usize = 10_000;
/// Longest e-mail address (RFC 5321 §4.5.3.1.3 path limit less the brackets).
pub const EMAIL_MAX_CHARS: usize = 254;
/// Longest credential id.
pub const CREDENTIAL_ID_MAX_CHARS: usize = 200;
/// Longest host (RFC 1035).
pub const HOST_MAX_CHARS: usize = 253;

fn yes() -> bool {
    true
}
fn default_interval() -> i64 {
    DEFAULT_CHECK_INTERVAL_SECS
}
fn default_max_message_size() -> i64 {
    DEFAULT_MAX_MESSAGE_SIZE
}
fn is_false(b: &bool) -> bool {
    !*b
}
fn is_true(b: &bool) -> bool {
    *b
}
/// The default of `folders`: `["INBOX"]`.
pub fn default_folders() -> Vec<String> {
    vec![INBOX.to_owned()]
}
fn is_default_folders(f: &[String]) -> bool {
    f.len() == 1 && f[0] == INBOX
}

/// The IMAP inbox, the default (and, for POP3, the only) folder collected.
pub const INBOX: &str = "INBOX";
/// Most folders one account may collect.
pub const FOLDERS_MAX: usize = 50;
/// Longest folder name, in characters.
pub const FOLDER_MAX_CHARS: usize = 255;

/// An incoming (IMAP/POP3) account as typed: docs/SETTINGS.md "Incoming account".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomingAccountForm {
    /// Given by the store; read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RecordId>,
    /// Account name: required, 1–100 characters after trimming, unique among incoming accounts.
    #[serde(default)]
    pub name: String,
    /// Keep copy in server (default `true`).
    #[serde(default = "yes")]
    pub keep_copy_on_server: bool,
    /// Automatic check (default `true`).
    #[serde(default = "yes")]
    pub automatic_check: bool,
    /// Seconds between automatic checks, 30–86 400 (default 300).
    #[serde(default = "default_interval")]
    pub check_interval_secs: i64,
    /// Enabled (default `true`); a disabled account is never contacted.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Address: host name, IPv4 or IPv6 literal.
    #[serde(default)]
    pub host: String,
    /// Port; `None` takes the default for the protocol and security.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// IMAP or POP3 (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Use Network Connector (default `false`).
    #[serde(default)]
    pub use_network_connector: bool,
    /// The connector's id, exactly when `use_network_connector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_connector: Option<RecordId>,
    /// Credential id in the host's vault (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// Skip certificate verification (default `false`; `true` is a warning).
    #[serde(default)]
    pub skip_certificate: bool,
    /// Use secure connection (default `true`).
    #[serde(default = "yes")]
    pub use_secure_connection: bool,
    /// `SSL` (implicit TLS, default) or `TLS` (STARTTLS).
    #[serde(default)]
    pub secure_connection_type: SecureConnectionType,
    /// Not in the seeds: a PEM file of extra CA certificates trusted for this account only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Not in the seeds: messages larger than this many bytes are skipped and left on the
    /// server (default 50 MB).
    #[serde(default = "default_max_message_size")]
    pub max_message_size: i64,
    /// Not in the seeds (SPEC.md "Incoming account: folders, archive, push"): the IMAP folders
    /// collected (default `["INBOX"]`), as the user sees them: UTF-8, levels separated by `/`,
    /// relative to the server's personal namespace. POP3 has only the default.
    #[serde(
        default = "default_folders",
        skip_serializing_if = "is_default_folders"
    )]
    pub folders: Vec<String>,
    /// Not in the seeds: without `keep_copy_on_server`, a collected message is moved to this
    /// IMAP folder (after it is durably stored) instead of deleted. `None`: deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_folder: Option<String>,
    /// Not in the seeds: with `automatic_check`, wait for new mail with IMAP IDLE on the
    /// first folder (default `true`); ignored for POP3.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub use_push: bool,
    /// Not in the seeds (SPEC.md "OAuth2 clients and OAuth2 accounts"): `PASSWORD` (default)
    /// or `OAUTH2`.
    #[serde(default, skip_serializing_if = "AuthenticationMethod::is_password")]
    pub authentication: AuthenticationMethod,
    /// The OAuth2 client's id: required exactly when `authentication` is `OAUTH2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2_client: Option<RecordId>,
}

impl Default for IncomingAccountForm {
    fn default() -> Self {
        Self {
            id: None,
            name: String::new(),
            keep_copy_on_server: true,
            automatic_check: true,
            check_interval_secs: DEFAULT_CHECK_INTERVAL_SECS,
            enabled: true,
            host: String::new(),
            port: None,
            protocol: None,
            use_network_connector: false,
            network_connector: None,
            credential: None,
            skip_certificate: false,
            use_secure_connection: true,
            secure_connection_type: SecureConnectionType::Ssl,
            ca_file: None,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            folders: default_folders(),
            archive_folder: None,
            use_push: true,
            authentication: AuthenticationMethod::Password,
            oauth2_client: None,
        }
    }
}

impl IncomingAccountForm {
    /// The port a connection would use: the typed one, or docs/SETTINGS.md's default for the protocol
    /// and security. `None` only when the protocol is missing or the port is out of range.
    pub fn effective_port(&self) -> Option<u16> {
        match self.port {
            Some(p) => u16::try_from(p).ok().filter(|p| *p != 0),
            None => self
                .protocol
                .map(|p| default_port(p.into(), self.security())),
        }
    }

    /// The security the two form fields describe.
    pub fn security(&self) -> Security {
        Security::from_form(self.use_secure_connection, self.secure_connection_type)
    }
}

/// An outgoing (SMTP) account as typed: docs/SETTINGS.md "Outgoing account".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpAccountForm {
    /// Given by the store; read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RecordId>,
    /// Account name: required, 1–100 characters, unique among SMTP accounts.
    #[serde(default)]
    pub name: String,
    /// Enabled (default `true`); a disabled account sends nothing.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Sender e-mail (required).
    #[serde(default)]
    pub sender_email: String,
    /// Reply-To.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Return-Path: the SMTP envelope sender (MAIL FROM), where bounces go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_path: Option<String>,
    /// Confirmation e-mail, sent as `Disposition-Notification-To`; required with a read receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation_email: Option<String>,
    /// Default account: at most one; making one default clears the others.
    #[serde(default, skip_serializing_if = "is_false")]
    pub default_account: bool,
    /// Ask for a read receipt.
    #[serde(default, skip_serializing_if = "is_false")]
    pub send_read_receipt: bool,
    /// The account's sender, Reply-To and Return-Path replace whatever a message brings.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force_configuration: bool,
    /// Append `footer` to every message.
    #[serde(default, skip_serializing_if = "is_false")]
    pub enable_footer: bool,
    /// Footer text; required when `enable_footer`; may span lines (CR, LF and TAB, no other
    /// control character).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
    /// SMTP host.
    #[serde(default)]
    pub host: String,
    /// Port; `None` takes the default for the security.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// Use secure connection (default `true`).
    #[serde(default = "yes")]
    pub use_secure_connection: bool,
    /// `SSL` (implicit TLS, default) or `TLS` (STARTTLS).
    #[serde(default)]
    pub secure_connection_type: SecureConnectionType,
    /// Use authentication (default `true`).
    #[serde(default = "yes")]
    pub use_authentication: bool,
    /// Ignore certificate errors (default `false`; `true` is a warning).
    #[serde(default)]
    pub skip_certificate_errors: bool,
    /// Use Network Connector (default `false`).
    #[serde(default)]
    pub use_network_connector: bool,
    /// The connector's id, exactly when `use_network_connector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_connector: Option<RecordId>,
    /// Credential id; required exactly when `use_authentication`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// Not in the seeds: a PEM file of extra CA certificates trusted for this account only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Not in the seeds (SPEC.md "OAuth2 clients and OAuth2 accounts"): `PASSWORD` (default)
    /// or `OAUTH2`; with `use_authentication = false` it stays `PASSWORD`.
    #[serde(default, skip_serializing_if = "AuthenticationMethod::is_password")]
    pub authentication: AuthenticationMethod,
    /// The OAuth2 client's id: required exactly when `authentication` is `OAUTH2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2_client: Option<RecordId>,
}

impl Default for SmtpAccountForm {
    fn default() -> Self {
        Self {
            id: None,
            name: String::new(),
            enabled: true,
            sender_email: String::new(),
            reply_to: None,
            return_path: None,
            confirmation_email: None,
            default_account: false,
            send_read_receipt: false,
            force_configuration: false,
            enable_footer: false,
            footer: None,
            host: String::new(),
            port: None,
            use_secure_connection: true,
            secure_connection_type: SecureConnectionType::Ssl,
            use_authentication: true,
            skip_certificate_errors: false,
            use_network_connector: false,
            network_connector: None,
            credential: None,
            ca_file: None,
            authentication: AuthenticationMethod::Password,
            oauth2_client: None,
        }
    }
}

impl SmtpAccountForm {
    /// The port a connection would use (see [`IncomingAccountForm::effective_port`]).
    pub fn effective_port(&self) -> Option<u16> {
        match self.port {
            Some(p) => u16::try_from(p).ok().filter(|p| *p != 0),
            None => Some(default_port(Service::Smtp, self.security())),
        }
    }

    /// The security the two form fields describe.
    pub fn security(&self) -> Security {
        Security::from_form(self.use_secure_connection, self.secure_connection_type)
    }
}

/// A network connector (proxy) as typed: docs/SETTINGS.md "Network connector and credential".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConnectorForm {
    /// Given by the store; read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RecordId>,
    /// Name: required, 1–100 characters, unique among connectors.
    #[serde(default)]
    pub name: String,
    /// Enabled (default `true`); an account may not use a disabled connector.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `SOCKS5` or `HTTP_CONNECT` (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ConnectorKind>,
    /// The proxy's host.
    #[serde(default)]
    pub host: String,
    /// The proxy's port (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// Credential id for the proxy's user and password (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl Default for NetworkConnectorForm {
    fn default() -> Self {
        Self {
            id: None,
            name: String::new(),
            enabled: true,
            kind: None,
            host: String::new(),
            port: None,
            credential: None,
        }
    }
}

/// Days the collection journal keeps an entry when `journal_retention_days` is not set.
pub const JOURNAL_RETENTION_DAYS_DEFAULT: u32 = 90;

/// The values `journal_retention_days` may take (`out_of_range` otherwise).
pub const JOURNAL_RETENTION_DAYS_RANGE: std::ops::RangeInclusive<u32> = 1..=3650;

// ----- OAuth2 clients and OAuth2 accounts (SPEC.md "OAuth2 clients and OAuth2 accounts") -----

pub use crate::oauth2::OAuth2Grant;

/// How an account signs in to its server: the accounts' `authentication` field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AuthenticationMethod {
    /// The vault entry's secret is used as it is: a password, or an access token the host
    /// keeps fresh (the default, and what every account did before OAuth2 clients).
    #[default]
    #[serde(rename = "PASSWORD")]
    Password,
    /// The account's OAuth2 client obtains and refreshes access tokens; the vault entry holds
    /// the user name and the refresh token.
    #[serde(rename = "OAUTH2")]
    OAuth2,
}

impl AuthenticationMethod {
    /// The docs/SETTINGS.md word: `PASSWORD` or `OAUTH2`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthenticationMethod::Password => "PASSWORD",
            AuthenticationMethod::OAuth2 => "OAUTH2",
        }
    }

    /// The method a docs/SETTINGS.md word names (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PASSWORD" => Some(AuthenticationMethod::Password),
            "OAUTH2" => Some(AuthenticationMethod::OAuth2),
            _ => None,
        }
    }

    /// Whether it is `PASSWORD` (the default, left out of documents).
    pub fn is_password(&self) -> bool {
        matches!(self, AuthenticationMethod::Password)
    }
}

impl fmt::Display for AuthenticationMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who runs an OAuth2 client's authorization server: the `provider` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum OAuth2ProviderKind {
    /// Microsoft identity platform v2.0 (Microsoft 365), with a `tenant`.
    #[serde(rename = "MICROSOFT")]
    Microsoft,
    /// Google (Gmail, Google Workspace).
    #[serde(rename = "GOOGLE")]
    Google,
    /// Any other authorization server: the endpoint URLs are given.
    #[serde(rename = "CUSTOM")]
    Custom,
}

impl OAuth2ProviderKind {
    /// The docs/SETTINGS.md word: `MICROSOFT`, `GOOGLE` or `CUSTOM`.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuth2ProviderKind::Microsoft => "MICROSOFT",
            OAuth2ProviderKind::Google => "GOOGLE",
            OAuth2ProviderKind::Custom => "CUSTOM",
        }
    }
}

impl fmt::Display for OAuth2ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl OAuth2Grant {
    /// The docs/SETTINGS.md word: `REFRESH_TOKEN` or `CLIENT_CREDENTIALS`.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuth2Grant::RefreshToken => "REFRESH_TOKEN",
            OAuth2Grant::ClientCredentials => "CLIENT_CREDENTIALS",
        }
    }
}

impl fmt::Display for OAuth2Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_refresh_token(g: &OAuth2Grant) -> bool {
    *g == OAuth2Grant::RefreshToken
}

/// The tenant a `MICROSOFT` client takes when none is given.
pub const DEFAULT_MICROSOFT_TENANT: &str = "organizations";
/// Longest client id, tenant, scope or endpoint URL, in characters.
pub const OAUTH2_TEXT_MAX_CHARS: usize = 2000;
/// Most scopes one client may ask for.
pub const OAUTH2_SCOPES_MAX: usize = 50;

/// An OAuth2 client (an application registration) as typed: SPEC.md "OAuth2 clients and
/// OAuth2 accounts". It holds no secret: the client secret is the vault entry
/// `client_secret_credential`. Validated into [`crate::oauth2::OAuth2Client`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2ClientForm {
    /// Given by the store; read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RecordId>,
    /// Name: required, 1–100 characters, unique among OAuth2 clients.
    #[serde(default)]
    pub name: String,
    /// Enabled (default `true`); an account may not use a disabled client.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `MICROSOFT`, `GOOGLE` or `CUSTOM` (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<OAuth2ProviderKind>,
    /// `MICROSOFT` only: the tenant id or domain (default `organizations`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The application (client) id (required).
    #[serde(default)]
    pub client_id: String,
    /// The vault entry whose secret is the client secret; none for a public client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_credential: Option<String>,
    /// `REFRESH_TOKEN` (default) or `CLIENT_CREDENTIALS`.
    #[serde(default, skip_serializing_if = "is_refresh_token")]
    pub grant: OAuth2Grant,
    /// The token endpoint; none: the provider's (required for `CUSTOM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// The device authorization endpoint (RFC 8628); none: the provider's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_url: Option<String>,
    /// The authorization endpoint (browser sign-in); none: the provider's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_url: Option<String>,
    /// The scopes asked for; empty: the provider's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

impl Default for OAuth2ClientForm {
    fn default() -> Self {
        Self {
            id: None,
            name: String::new(),
            enabled: true,
            provider: None,
            tenant: None,
            client_id: String::new(),
            client_secret_credential: None,
            grant: OAuth2Grant::RefreshToken,
            token_url: None,
            device_authorization_url: None,
            authorization_url: None,
            scopes: Vec::new(),
        }
    }
}
