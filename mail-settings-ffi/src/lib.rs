//! # mail-settings-ffi
//!
//! Kotlin (Android, JVM) and Swift (iOS, macOS) bindings of `mail-settings-core`, through
//! UniFFI proc-macros (no UDL). The crate is thin delegation: records and enums mirror the
//! core's forms and vocabulary, objects wrap the core's store, mailer and collector, and every
//! rule stays in the core.
//!
//! - [`account`]: `AccountRef` (an id, a name, or the default SMTP account), resolved by the
//!   core's application layer.
//! - [`model`]: records (accounts, connectors, documents, validation results) and enums
//!   (protocol, security words, validation codes, error categories).
//! - [`error`]: the one exported error, `MailSettingsError` (Kotlin:
//!   `MailSettingsException`), with typed variants, and the one place core errors map to it.
//! - [`credentials`]: the credential provider as a foreign trait the host implements over its
//!   vault; credentials as objects whose text never shows the secret.
//! - [`settings`]: validation and settings documents.
//! - [`store`]: the settings store and its reports.
//! - [`mailer`]: sending through the SMTP accounts (and "Test configuration").
//! - [`schedule`]: report schedules (the record, store CRUD, `ReportScheduler`).
//! - [`journal`]: the collection journal (pages, CSV/HTML exports, runs, retention).
//! - [`check`]: the connection check, stage by stage.
//! - [`oauth2`]: OAuth2 sign-in (device code, browser with PKCE), the host's token store as a
//!   foreign trait, token status; a credential provider that answers with access tokens.
//! - [`collector`]: the mail collector (scheduled and on-demand runs, progress as a foreign
//!   trait, cancellation) and the inbox it fills.
//!
//! Network operations are `async` (Kotlin `suspend`, Swift `async`): they run the blocking
//! core call on a thread of their own (see `blocking.rs`) so that no host thread blocks.
//!
//! Generate the bindings with `bash mail-settings-ffi/generate.sh`.

pub mod account;
mod blocking;
pub mod check;
pub mod collector;
pub mod credentials;
pub mod error;
pub mod inbox_report;
pub mod journal;
pub mod mailer;
pub mod model;
pub mod oauth2;
pub mod schedule;
pub mod settings;
pub mod store;

pub use credentials::{Credential, CredentialProvider};
pub use error::MailSettingsError;

uniffi::setup_scaffolding!("mail_settings");
