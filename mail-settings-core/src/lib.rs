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
//! | [`app`] | the application layer the front ends call: `MailSettings` (with `check` and `collector`), [`app::AccountRef`], [`app::AccountError`] |
//! | [`values`] | the leaf value types: host, endpoint, credential id, e-mail address, certificate options |
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
//! | [`journal`] | the collection journal: every run and message outcome, its report (CSV, HTML), retention |
//! | [`text`] | untrusted text made safe for a terminal: control characters and bidi overrides shown escaped |
//! | [`error`] | one rich error per area and the small [`ErrorCategory`] vocabulary the bindings map |
//!
//! The SQLite store is bundled (`rusqlite/bundled`); TLS is the platform's through `native-tls`
//! (OpenSSL on Linux, Security.framework on Apple systems, SChannel on Windows).
//!
//! ## Cargo features
//! Every feature but `vendored-openssl` is on by default. A host that wants less sets
//! `default-features = false` and names what it needs; with no feature at all the crate
//! validates settings ([`model`], [`values`], [`validate`], [`typed`], [`credentials`]) and
//! reads and writes settings documents ([`document`], the schedule records of [`schedule`],
//! the report filters and CSV/HTML writers of [`report`]) and builds neither SQLite nor
//! OpenSSL.
//!
//! - **`store`**: the SQLite store ([`store`], `rusqlite` with SQLite bundled and compiled
//!   from source), reports over it, import and export, the [`inbox`] of collected messages
//!   (`mail-parser`), the state of report schedules. SQLite alone: no OpenSSL.
//! - **`postgres`**: the store's PostgreSQL backend (`store::pg`; a `postgres://` or
//!   `postgresql://` location; the `postgres` and `postgres-native-tls` crates). Implies
//!   `store` and `tls`. Without it a PostgreSQL location fails to open with
//!   `StoreError::Location`, saying this build has no PostgreSQL support.
//! - **`smtp`**: sending through SMTP accounts ([`smtp`]: our client, pools, the test
//!   message); with `store`, the report schedules' runner. Implies `tls`.
//! - **`imap`**: the IMAP driver ([`imap`], the `imap` and `imap-proto` crates). Implies `tls`
//!   and `smtp` (it shares the SMTP module's helpers for server text; no dependency more).
//! - **`pop3`**: the POP3 driver ([`pop3`], our own client). Implies `tls`.
//! - **`check`**: the staged connection check ([`check`]). Implies `smtp`, `imap`, `pop3`.
//! - **`collector`**: collection into the inbox ([`collector`]). Implies `store`, `imap`,
//!   `pop3`.
//! - **`tls`**: the network layer ([`net`]: TCP, SOCKS5 and HTTP CONNECT connectors, TLS with
//!   `native-tls`, i.e. OpenSSL on Linux). Pulled in by every driver.
//! - **`vendored-openssl`** (off by default): builds OpenSSL from source and links it
//!   statically (`native-tls/vendored`), for portable Linux builds (the Python wheels),
//!   Android and other cross builds. Implies `tls`.
//!
//! `lettre` stays a dependency in every build (without its TLS or transport features): its
//! address parser is the one validation uses for e-mail addresses.

//! ## Security
//! - `SSL` is implicit TLS; `TLS` is STARTTLS and never falls back to clear text.
//! - Certificates and host names are verified unless a person turns it off for one account.
//! - Secrets never appear in `Debug`, `Display`, errors, logs (`tracing`), serialized
//!   settings, reports or CSV. Accounts hold only a credential id.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod app;
#[cfg(feature = "check")]
#[cfg_attr(docsrs, doc(cfg(feature = "check")))]
pub mod check;
#[cfg(feature = "collector")]
#[cfg_attr(docsrs, doc(cfg(feature = "collector")))]
pub mod collector;
pub mod credentials;
pub mod document;
pub mod error;
mod files;
#[cfg(feature = "imap")]
#[cfg_attr(docsrs, doc(cfg(feature = "imap")))]
pub mod imap;
#[cfg(feature = "store")]
#[cfg_attr(docsrs, doc(cfg(feature = "store")))]
pub mod inbox;
#[cfg(feature = "collector")]
#[cfg_attr(docsrs, doc(cfg(feature = "collector")))]
pub mod journal;
pub mod model;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod net;
pub mod oauth2;
#[cfg(feature = "pop3")]
#[cfg_attr(docsrs, doc(cfg(feature = "pop3")))]
pub mod pop3;
pub mod report;
pub mod schedule;
#[cfg(feature = "smtp")]
#[cfg_attr(docsrs, doc(cfg(feature = "smtp")))]
pub mod smtp;
#[cfg(feature = "store")]
#[cfg_attr(docsrs, doc(cfg(feature = "store")))]
pub mod store;
pub mod text;
pub mod typed;
pub mod validate;
pub mod values;

pub use credentials::{
    Credential, CredentialError, CredentialProvider, CredentialsFile, InMemoryCredentials, Secret,
};
pub use document::{Format, ParseError, SettingsDocument};
pub use error::{ConnectionError, Error, ErrorCategory, ProxyHop, Result};
pub use model::{
    AuthenticationMethod, ConnectorKind, IncomingAccountForm, NetworkConnectorForm,
    OAuth2ClientForm, OAuth2ProviderKind, Protocol, RecordId, SecureConnectionType, Security,
    SmtpAccountForm,
};
pub use typed::{
    CredentialId, Endpoint, Host, IncomingAccount, NetworkConnector, Route, SmtpAccount,
};
pub use validate::{Code, Severity, Validation, ValidationContext, ValidationResult};
