//! # mail-settings-core
//!
//! Keep an application's e-mail account settings and use them: incoming IMAP/POP3 accounts
//! that a mail collector reads, outgoing SMTP accounts that send the application's
//! notifications. The names, defaults and rules are those of the project's `SPEC.md`.
//!
//! ## Layers
//! - [`model`]: forms, the settings as a person typed them (possibly invalid), and the shared
//!   vocabulary (protocols, security words, default ports).
//! - [`validate`]: every problem at once, with path, code, severity and messages in English and
//!   Brazilian Portuguese.
//! - [`typed`]: validated accounts, the only thing drivers take (parse, don't validate).
//! - [`credentials`]: the host's vault behind a trait; secrets in `secrecy` types.
//! - [`document`]: the settings document as JSON or TOML.
//! - [`store`]: SQLite in one file (or in memory), transactional, with optimistic versions.
//! - [`error`]: one rich error per area and the small [`error::ErrorCategory`] vocabulary.
//!
//! ## Secrets
//! Secrets never appear in `Debug`, `Display`, errors, logs (`tracing`), serialized settings,
//! reports or CSV. Accounts hold only a credential id.

pub mod check;
pub mod collector;
pub mod credentials;
pub mod document;
pub mod error;
pub mod imap;
pub mod inbox;
pub mod model;
pub mod net;
pub mod pop3;
pub mod report;
pub mod smtp;
pub mod store;
pub mod typed;
pub mod validate;

pub use credentials::{
    Credential, CredentialError, CredentialProvider, CredentialsFile, InMemoryCredentials, Secret,
};
pub use document::{Format, ParseError, SettingsDocument};
pub use error::{ConnectionError, Error, ErrorCategory, ProxyHop, Result};
pub use model::{
    ConnectorKind, IncomingAccountForm, NetworkConnectorForm, Protocol, RecordId,
    SecureConnectionType, Security, SmtpAccountForm,
};
pub use typed::{
    CredentialId, Endpoint, Host, IncomingAccount, NetworkConnector, Route, SmtpAccount,
};
pub use validate::{Code, Severity, Validation, ValidationContext, ValidationResult};
