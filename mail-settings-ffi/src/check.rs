//! The connection check ("Test connection"): every stage timed and reported, the first
//! failure with a category and advice, delegated to the core's check. Nothing on the server
//! changes: no message is fetched, deleted or sent.
//!
//! A check returns its report whether or not the account works (`ok` says which, and the
//! failed stage says why): a settings screen shows the stages. Only what prevents checking at
//! all (an unknown account, settings that do not validate) throws.

use crate::account::{core_ref, AccountRef};
use crate::blocking::run_blocking;
use crate::credentials::{CredentialProvider, HostCredentials};
use crate::error::Result;
use crate::mailer::{timeouts, NetworkTimeouts};
use crate::model::{ErrorCategory, IncomingAccountForm, ProxyHop, Security, SmtpAccountForm};
use crate::store::Store;
use mail_settings_core as mscore;
use mail_settings_core::app::AccountKind;
use mail_settings_core::check::{self, CheckOptions};
use mail_settings_core::validate::ValidationContext;
use std::fmt;
use std::sync::Arc;

/// The stages of a check, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum CheckStageName {
    /// The account's own settings (a disabled account is never contacted).
    Settings,
    /// Name resolution.
    Resolve,
    /// TCP connection.
    Connect,
    /// Proxy handshake.
    Proxy,
    /// TLS handshake (implicit or STARTTLS).
    Tls,
    /// The server's greeting.
    Greeting,
    /// Capabilities / EHLO.
    Capabilities,
    /// Login mechanisms offered.
    Mechanisms,
    /// Authentication.
    Authentication,
    /// Mailbox size (IMAP, POP3).
    Mailbox,
    /// The server's folders, with the account's folders and archive folder among them (IMAP).
    Folders,
    /// EHLO extensions (SMTP).
    Extensions,
    /// A stage newer than these bindings.
    Unknown,
}

impl From<check::StageName> for CheckStageName {
    fn from(s: check::StageName) -> Self {
        use check::StageName as S;
        match s {
            S::Settings => CheckStageName::Settings,
            S::Resolve => CheckStageName::Resolve,
            S::Connect => CheckStageName::Connect,
            S::Proxy => CheckStageName::Proxy,
            S::Tls => CheckStageName::Tls,
            S::Greeting => CheckStageName::Greeting,
            S::Capabilities => CheckStageName::Capabilities,
            S::Mechanisms => CheckStageName::Mechanisms,
            S::Authentication => CheckStageName::Authentication,
            S::Mailbox => CheckStageName::Mailbox,
            S::Folders => CheckStageName::Folders,
            S::Extensions => CheckStageName::Extensions,
            _ => CheckStageName::Unknown,
        }
    }
}

/// One stage's outcome.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct CheckStage {
    /// Which stage.
    pub name: CheckStageName,
    /// Whether it succeeded.
    pub ok: bool,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
    /// What was found (on success) or what went wrong (on failure).
    pub detail: String,
    /// On failure: the category (dns, connect, proxy, tls, certificate, auth, protocol…).
    pub category: Option<ErrorCategory>,
    /// On failure through a proxy: which hop failed.
    pub hop: Option<ProxyHop>,
    /// On failure caused by an SMTP reply: its code (`535`).
    pub reply_code: Option<u16>,
    /// On failure caused by an SMTP reply that had one: its enhanced status code (`5.7.8`).
    pub enhanced_code: Option<String>,
    /// On failure: what to change.
    pub advice: Option<String>,
}

/// The TLS facts of the connection.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct TlsSummary {
    /// `TLS 1.3`, `TLS 1.2`…
    pub version: Option<String>,
    /// The cipher suite's IANA name, when known.
    pub cipher_suite: Option<String>,
    /// Certificate subject.
    pub subject: Option<String>,
    /// Certificate issuer.
    pub issuer: Option<String>,
    /// Certificate expiry (UTC).
    pub not_after: Option<String>,
    /// Whether chain and host name were verified (false when the check was skipped).
    pub verified: bool,
}

/// Mailbox facts (IMAP, POP3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MailboxSummary {
    /// Messages.
    pub messages: u64,
    /// Total size in bytes.
    pub size: u64,
}

/// A folder the server lists (IMAP).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct FolderInfo {
    /// The name as a user writes it (UTF-8, `/` between levels), or none when it cannot be
    /// written so (outside the personal namespace).
    pub name: Option<String>,
    /// The server's spelling.
    pub wire: String,
    /// Special use (RFC 6154: `\\Archive`, `\\Sent`, `\\Trash`…) and other attributes.
    pub attributes: Vec<String>,
    /// Whether it can be selected.
    pub selectable: bool,
    /// Whether the account collects it.
    pub collected: bool,
    /// Whether it is the account's archive folder.
    pub archive: bool,
}

/// The whole check of one account.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct CheckReport {
    /// The account's name.
    pub account: String,
    /// `IMAP`, `POP3` or `SMTP`.
    pub protocol: String,
    /// `host:port`.
    pub server: String,
    /// How the connection is protected.
    pub security: Security,
    /// `direct`, or the network connector.
    pub route: String,
    /// Whether every stage succeeded.
    pub ok: bool,
    /// The stages run, in order; the last one failed when `ok` is false.
    pub stages: Vec<CheckStage>,
    /// TLS facts, when TLS was used.
    pub tls: Option<TlsSummary>,
    /// What the server offered (capabilities / EHLO keywords).
    pub capabilities: Vec<String>,
    /// Login mechanisms offered.
    pub mechanisms: Vec<String>,
    /// Mailbox facts (IMAP, POP3).
    pub mailbox: Option<MailboxSummary>,
    /// SMTP SIZE limit in bytes (0: SIZE without a limit).
    pub size_limit: Option<u64>,
    /// The server's folders (IMAP), with their special-use attributes.
    pub folders: Vec<FolderInfo>,
    /// The report as text for people (what the CLI prints).
    pub text: String,
}

#[uniffi::export]
impl CheckReport {
    /// The failed stage, if any.
    pub fn failure(&self) -> Option<CheckStage> {
        self.stages.iter().find(|s| !s.ok).cloned()
    }
}

impl TryFrom<check::CheckReport> for CheckReport {
    type Error = crate::error::MailSettingsError;
    fn try_from(r: check::CheckReport) -> Result<Self> {
        let text = r.to_string();
        Ok(CheckReport {
            account: r.account,
            protocol: r.protocol.to_owned(),
            server: r.server,
            security: r.security.try_into()?,
            route: r.route,
            ok: r.ok,
            stages: r
                .stages
                .into_iter()
                .map(|s| CheckStage {
                    name: s.name.into(),
                    ok: s.ok,
                    duration_ms: s.duration_ms,
                    detail: s.detail,
                    category: s.category.map(Into::into),
                    hop: s.hop.map(Into::into),
                    reply_code: s.reply_code,
                    enhanced_code: s.enhanced_code,
                    advice: s.advice,
                })
                .collect(),
            tls: r.tls.map(|t| TlsSummary {
                version: t.version,
                cipher_suite: t.cipher_suite,
                subject: t.subject,
                issuer: t.issuer,
                not_after: t.not_after,
                verified: t.verified,
            }),
            capabilities: r.capabilities,
            mechanisms: r.mechanisms,
            mailbox: r.mailbox.map(|m| MailboxSummary {
                messages: m.messages,
                size: m.size,
            }),
            size_limit: r.size_limit,
            folders: r
                .folders
                .into_iter()
                .map(|f| FolderInfo {
                    name: f.name,
                    wire: f.wire,
                    attributes: f.attributes,
                    selectable: f.selectable,
                    collected: f.collected,
                    archive: f.archive,
                })
                .collect(),
            text,
        })
    }
}

/// Checks the store's accounts (or settings not saved yet) against their servers.
#[derive(uniffi::Object)]
pub struct ConnectionChecker {
    app: mscore::app::MailSettings,
    store: Arc<mscore::store::Store>,
    credentials: Arc<dyn mscore::CredentialProvider>,
    options: CheckOptions,
}

impl fmt::Debug for ConnectionChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionChecker")
            .field("store", &self.store)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

type Work<T> = Box<
    dyn FnOnce(&mscore::store::Store, &dyn mscore::CredentialProvider, &CheckOptions) -> Result<T>
        + Send,
>;

impl ConnectionChecker {
    async fn run<T: Send + 'static>(&self, name: &str, work: Work<T>) -> Result<T> {
        let store = self.store.clone();
        let creds = self.credentials.clone();
        let options = self.options.clone();
        run_blocking(name, move || work(&store, creds.as_ref(), &options)).await
    }

    /// Runs `work` with the application layer on a thread of its own.
    async fn run_app<T: Send + 'static>(
        &self,
        name: &str,
        work: impl FnOnce(&mscore::app::MailSettings) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let app = self.app.clone();
        run_blocking(name, move || work(&app)).await
    }
}

#[uniffi::export]
impl ConnectionChecker {
    /// A checker over `store`'s accounts with the host's credentials. `timeouts` bound every
    /// network step (default: connect 15 s, read and write 60 s).
    #[uniffi::constructor(default(timeouts = None))]
    pub fn new(
        store: Arc<Store>,
        credentials: Arc<dyn CredentialProvider>,
        timeouts: Option<NetworkTimeouts>,
    ) -> Arc<Self> {
        let options = CheckOptions {
            timeouts: self::timeouts(timeouts),
            ..CheckOptions::default()
        };
        let credentials = HostCredentials::wrap(credentials);
        Arc::new(Self {
            app: mscore::app::MailSettings::new(
                store.inner.clone(),
                credentials.clone(),
                mscore::app::AppOptions::with_timeouts(options.timeouts),
            ),
            store: store.inner.clone(),
            credentials,
            options,
        })
    }

    /// Checks stored `account` of either kind (as the command's `check ACCOUNT`): an incoming
    /// or SMTP account by id or by name, or the default SMTP account. Throws `NotFound` for an
    /// unknown account, `Ambiguous` when the id or name is an incoming and an SMTP account
    /// (use `checkIncoming` or `checkSmtp`), `NoDefault` when the default was asked for and
    /// there is none.
    pub async fn check(&self, account: AccountRef) -> Result<CheckReport> {
        self.run_app("check", move |app| {
            app.check(&account.into(), None)?.try_into()
        })
        .await
    }

    /// Checks stored incoming `account` (IMAP or POP3; by id or by name). Throws `NotFound`
    /// for an unknown account; a failing server is a report with `ok == false`.
    pub async fn check_incoming(&self, account: AccountRef) -> Result<CheckReport> {
        self.run_app("check", move |app| {
            app.check(&account.into(), Some(AccountKind::Incoming))?
                .try_into()
        })
        .await
    }

    /// Checks stored SMTP `account` (the default SMTP account when empty). Sends no message.
    /// Throws `NotFound` for an unknown account, `NoDefault` when none was named and none is
    /// the default.
    #[uniffi::method(default(account = None))]
    pub async fn check_smtp(&self, account: Option<AccountRef>) -> Result<CheckReport> {
        self.run_app("check", move |app| {
            app.check(&core_ref(account), Some(AccountKind::Smtp))?
                .try_into()
        })
        .await
    }

    /// Checks incoming settings not saved yet (the "Test" button of an edit screen): they are
    /// validated first, with the store's connectors and the host's credentials, and throw
    /// `Validation` with every result when they do not validate.
    pub async fn check_incoming_settings(
        &self,
        account: IncomingAccountForm,
    ) -> Result<CheckReport> {
        self.run(
            "check",
            Box::new(move |store, creds, options| {
                let connectors: Vec<_> = store
                    .list_connectors()?
                    .into_iter()
                    .map(|c| c.record)
                    .collect();
                let ctx = ValidationContext::standalone()
                    .with_connectors(&connectors)
                    .with_credentials(creds);
                let form = mscore::IncomingAccountForm::from(account);
                let typed = mscore::IncomingAccount::from_form(&form, &ctx)?;
                check::check_incoming(&typed, creds, options).try_into()
            }),
        )
        .await
    }

    /// Checks SMTP settings not saved yet (see [`ConnectionChecker::check_incoming_settings`]).
    pub async fn check_smtp_settings(&self, account: SmtpAccountForm) -> Result<CheckReport> {
        self.run(
            "check",
            Box::new(move |store, creds, options| {
                let connectors: Vec<_> = store
                    .list_connectors()?
                    .into_iter()
                    .map(|c| c.record)
                    .collect();
                let ctx = ValidationContext::standalone()
                    .with_connectors(&connectors)
                    .with_credentials(creds);
                let form = mscore::SmtpAccountForm::from(account);
                let typed = mscore::SmtpAccount::from_form(&form, &ctx)?;
                check::check_smtp(&typed, creds, options).try_into()
            }),
        )
        .await
    }
}
