//! # mail-settings-core
//!
//! Keep an application's e-mail account settings and use them: incoming IMAP/POP3 accounts
//! that a mail collector reads, outgoing SMTP accounts that send the application's
//! notifications. The names, defaults and rules are those of the settings reference,
//! `docs/SETTINGS.md` in the repository; the layers and which may use which are drawn in its
//! `ARCHITECTURE.md`.
//!
//! Everything is synchronous (std threads and socket timeouts): no async runtime is pulled
//! into a host application. Every network operation is bounded by [`net::Timeouts`].
//!
//! ## What is in it
//! | module | what |
//! |---|---|
//! | [`model`] | forms: the settings as a person typed them (possibly invalid); protocols, security words, default ports |
//! | [`validate`] | every problem at once: path, code, severity, messages in English and Brazilian Portuguese |
//! | [`typed`] | validated accounts, the only thing drivers take (parse, don't validate) |
//! | [`credentials`] | the host's vault behind [`CredentialProvider`]; in-memory and file providers; secrets in `secrecy` types |
//! | [`document`] | the settings document as JSON or TOML, with line and column in errors |
//! | [`store`] | SQLite in one file (or in memory): transactions, optimistic versions, migrations, import/export |
//! | [`schedule`] | report schedules: the record, periods in IANA time zones, sending once per period |
//! | [`report`] | the account reports of seeds 002/003: filters, paging, CSV (EN/PT-BR, formula-safe, an optional UTF-8 byte-order mark for Excel), printable HTML |
//! | [`net`] | TCP directly or through a network connector (SOCKS5, HTTP CONNECT), TLS with native-tls, [`net::MailStream`] |
//! | [`smtp`] | sending through an account (sender, Reply-To, Return-Path, read receipt, footer, forced configuration), pool, test message |
//! | [`imap`] | the `imap` crate behind our own interface: STARTTLS, LOGIN/XOAUTH2, UID-only fetch, store and expunge |
//! | [`pop3`] | our own POP3 client: CAPA, STLS, USER/PASS, AUTH PLAIN/XOAUTH2, pipelined RETR/DELE, strict parser |
//! | [`oauth2`] | OAuth2 sign-in for months: token manager (refresh, client credentials, device code), rotation written back first, needs sign-in, SASL XOAUTH2/OAUTHBEARER |
//! | [`check`] | the staged connection check an operator runs by hand, with advice |
//! | [`collector`] | exactly-once, never-lose collection into the inbox; scheduler, progress, cancel |
//! | [`inbox`] | the collected messages: listing, filters, parsed view, mark read, delete locally |
//! | [`text`] | untrusted text made safe for a terminal: control characters and bidi overrides shown escaped |
//! | [`error`] | one rich error per area and the small [`ErrorCategory`] vocabulary the bindings map |
//!
//! The SQLite store is bundled (`rusqlite/bundled`); TLS is the platform's through `native-tls`
//! (OpenSSL on Linux, Security.framework on Apple systems, SChannel on Windows). One optional
//! Cargo feature, off by default: `vendored-openssl` builds OpenSSL from source and links it
//! statically (`native-tls/vendored`) for portable Linux builds (the Python wheels), Android
//! and other cross builds.
//!
//! ## Security
//! - `SSL` is implicit TLS; `TLS` is STARTTLS and never falls back to clear text.
//! - Certificates and host names are verified unless a person turns it off for one account.
//! - Secrets never appear in `Debug`, `Display`, errors, logs (`tracing`), serialized
//!   settings, reports or CSV. Accounts hold only a credential id.

pub mod check;
pub mod collector;
pub mod credentials;
pub mod document;
pub mod error;
pub mod imap;
pub mod inbox;
pub mod model;
pub mod net;
pub mod oauth2;
pub mod pop3;
pub mod report;
pub mod schedule;
pub mod smtp;
pub mod store;
pub mod text;
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
