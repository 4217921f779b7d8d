//! The mail collector: fetches the mail of the incoming (IMAP/POP3) accounts into the
//! [`inbox`](crate::inbox), exactly once, never losing a message.
//!
//! Help-desk collectors are known for three failures: **lost mail** (deleted on the server
//! before it was safely stored), **duplicated mail** (a crash or a cut connection before the
//! state was saved, or messages addressed by sequence number) and **one bad message blocking a
//! whole mailbox**. This one has none of them, by construction (see [`engine`](self) for the
//! order of a run):
//!
//! - a message is committed to the inbox in a durable (`synchronous=FULL`) SQLite transaction,
//!   together with the ledger entry that says it was stored, **before** anything changes on
//!   the server (no `\Deleted`, no `DELE`, never `\Seen`: bodies are read with `BODY.PEEK[]`);
//! - IMAP messages are addressed by UID under the mailbox's UIDVALIDITY, never by sequence
//!   number; POP3 messages by UIDL, or by content hash when the server has no UIDL;
//! - the same message arriving again (same content, same Message-ID) is recognised, counted
//!   and not stored twice;
//! - a message larger than the account's limit (default 50 MB) is recorded as skipped and left
//!   on the server; one the server refuses is retried a few times, then skipped; one that was
//!   on the wire when a connection broke is fetched last, alone, in later runs; a message that
//!   does not parse is stored raw;
//! - nothing is removed from the server unless this very message's bytes are stored: an id
//!   the listing gives to several messages, or a ledger entry made from a message of another
//!   size, is no proof (see [`pop3_source`] for what a POP3 server that misbehaves gets);
//! - nothing is left behind silently: every message listed and not stored is in the run's
//!   [`RunReport::problems`] (and, while it is on the server, in
//!   [`AccountStatus::problems`]) with its [`MessageOutcome`] — `skipped_too_large`, `refused`
//!   or `failed`, the words of SPEC.md's collection journal — and the reason.
//!
//! ## Running it
//! [`Collector::start`] runs a scheduler thread: every enabled account with `automatic_check`
//! is checked every `check_interval_secs`, at most [`CollectorOptions::max_concurrent_accounts`]
//! at once, never two runs of one account at once; a failing account backs off (doubling its
//! interval up to [`CollectorOptions::max_backoff`]) without delaying the others.
//! [`Collector::check_now`] checks one account at once, whether or not the collector runs.
//! Runs report [`Progress`] to [`ProgressListener`]s and stop cleanly at a message boundary
//! when their [`CancelToken`] is cancelled. Everything is callable from any thread; the
//! per-account [`AccountStatus`] is kept in the store, so other processes (the CLI) see it.
//!
//! **Folders, archive, push.** Each folder of an account's `folders` is collected in turn, with
//! its own ledger (`imap:<folder>:<uidvalidity>`); a folder that fails does not keep the others
//! from being collected. With an `archive_folder` and without keep copy, committed messages
//! are moved there instead of deleted ([`imap_source`]). With `use_push`, the running collector
//! keeps one connection per IMAP account waiting in IDLE on the first folder and checks the
//! account as soon as the server reports new mail (the `push` module); the interval stays the
//! safety net and covers the other folders.
//!
//! Two processes collecting the same account at once (say, the application and the CLI) are
//! safe too: the ledger check and the insert happen in one write transaction, so the second
//! one finds the key and stores nothing.
//!
//! ## Example
//! With an in-memory server standing in for IMAP (a real deployment uses
//! [`Collector::new`] with the host's credential provider):
//!
//! ```
//! use mail_settings_core::collector::{
//!     Collector, CollectorOptions, MailSource, MemoryProtocol, MemoryServer, Progress, RunControl,
//! };
//! use mail_settings_core::inbox::{Inbox, InboxQuery};
//! use mail_settings_core::store::Store;
//! use mail_settings_core::{IncomingAccount, IncomingAccountForm, Protocol};
//! use std::sync::Arc;
//!
//! let store = Arc::new(Store::open_in_memory()?);
//! let account = store
//!     .create_incoming(&IncomingAccountForm {
//!         name: "Help desk".into(),
//!         host: "imap.example.com".into(),
//!         protocol: Some(Protocol::Imap),
//!         credential: Some("helpdesk".into()),
//!         keep_copy_on_server: false,
//!         ..IncomingAccountForm::default()
//!     })?
//!     .id;
//! let server = MemoryServer::new(MemoryProtocol::Imap);
//! server.add(&b"Subject: Printer\r\nMessage-ID: <1@example.com>\r\n\r\nIt jams.\r\n"[..]);
//! let s = server.clone();
//! let collector = Collector::with_sources(
//!     store.clone(),
//!     Arc::new(move |_: &IncomingAccount| Ok(Box::new(s.source()) as Box<dyn MailSource>)),
//!     CollectorOptions::default(),
//! );
//! let control = RunControl {
//!     progress: Some(Arc::new(|p: &Progress| println!("{}/{} ({} bytes)", p.done, p.total, p.bytes))),
//!     ..RunControl::default()
//! };
//! let report = collector.check_now_with(account, &control)?;
//! assert_eq!((report.fetched, report.deleted_on_server), (1, 1));
//! assert!(server.is_empty()); // stored first, then removed from the server
//!
//! let page = Inbox::new(store).list(&InboxQuery::account(account))?;
//! assert_eq!(page.total, 1);
//! assert_eq!(page.messages[0].subject.as_deref(), Some("Printer"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod engine;
pub mod imap_source;
pub mod lease;
pub mod pop3_source;
mod progress;
mod push;
pub mod source;
mod state;
mod writer;

#[allow(deprecated)]
pub use progress::{CancelHandle, CancelToken, Progress, ProgressListener};
pub use source::{
    ListedMessage, Listing, MailSource, MemoryFault, MemoryProtocol, MemoryServer, MemorySource,
    MessageSink, SourceId, UnusableListing,
};

use crate::credentials::CredentialProvider;
use crate::error::{ConnectionError, ErrorCategory};
use crate::model::{Protocol, RecordId};
use crate::net::Timeouts;
use crate::store::{Store, StoreError};
use crate::typed::IncomingAccount;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunReport {
    /// The account.
    pub account_id: RecordId,
    /// Its name.
    pub account_name: String,
    /// Messages the server listed.
    pub listed: u64,
    /// Messages stored in the inbox by this run.
    pub fetched: u64,
    /// Messages fetched that were already in the inbox (same content and Message-ID), counted
    /// and not stored again.
    pub duplicates: u64,
    /// Messages the ledger already had (stored by an earlier run).
    pub already_stored: u64,
    /// Messages left on the server for good: too large, or refused too often (all of the
    /// account's, not only this run's).
    pub skipped: u64,
    /// Messages the server refused to deliver in this run (retried in later runs).
    pub refused: u64,
    /// Messages removed from the server (without keep copy).
    pub deleted_on_server: u64,
    /// Messages this run was to fetch and did not get to (cancelled or cut).
    pub pending: u64,
    /// Bytes received.
    pub bytes: u64,
    /// The run was cancelled (it stopped cleanly at a message boundary).
    pub cancelled: bool,
    /// The IMAP UIDVALIDITY had changed: the run resynchronised.
    pub resynced: bool,
    /// Messages listed in this run and left on the server because they are larger than the
    /// account's limit (announced so, or found so while being read): outcome
    /// `skipped_too_large`.
    pub skipped_too_large: u64,
    /// Messages this run could not take and left on the server, in the order met: every
    /// message listed and not stored, with its outcome word (`skipped_too_large`, `refused`,
    /// `failed`, as SPEC.md's collection journal has them) and the reason. Messages stored or
    /// recognised as duplicates are only counted (`fetched`, `duplicates`).
    pub problems: Vec<MessageProblem>,
    /// What the run noticed about the server as a whole and handled, in words (e.g. a POP3
    /// server listing several messages under one UIDL).
    pub notes: Vec<String>,
    /// The archive folder is configured and the server offers neither MOVE nor UIDPLUS:
    /// collected messages were (or would be) copied there and marked `\Deleted`, never
    /// expunged, so the server needs expunging (one of `notes` says so in words).
    #[serde(default)]
    pub needs_expunging: bool,
    /// The folder the journal names (the IMAP mailbox, or `POP3`).
    #[serde(skip)]
    pub(crate) journal_folder: String,
}

/// What became of a message, in the words of SPEC.md's collection journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MessageOutcome {
    /// Stored in the inbox.
    Stored,
    /// The same message (same content and Message-ID) was in the inbox already: counted.
    Duplicate,
    /// Larger than the account's `max_message_size`: left on the server.
    SkippedTooLarge,
    /// The server refused to deliver it, or sent something that cannot be that message (a
    /// listing line that is not "number size", say): left on the server, tried again by later
    /// runs (a refusal to deliver up to `max_failed_attempts` times).
    Refused,
    /// Fetching it failed (the connection broke or timed out while it was on the wire, or
    /// storing failed): left on the server, tried again (last and alone) by later runs.
    Failed,
}

impl MessageOutcome {
    /// The word: `stored`, `duplicate`, `skipped_too_large`, `refused`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageOutcome::Stored => "stored",
            MessageOutcome::Duplicate => "duplicate",
            MessageOutcome::SkippedTooLarge => "skipped_too_large",
            MessageOutcome::Refused => "refused",
            MessageOutcome::Failed => "failed",
        }
    }
}

impl fmt::Display for MessageOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message a run (or, in [`AccountStatus::problems`], the account) could not store, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageProblem {
    /// The message on its server: `UID 7`, `UIDL abc`, `message 3` (a POP3 message number,
    /// valid for that session only).
    pub message: String,
    /// What became of it.
    pub outcome: MessageOutcome,
    /// The error category, for `failed` and `refused` (`protocol`, `timeout`, `connect`…).
    pub category: Option<ErrorCategory>,
    /// Its size as the server announced it, when it did.
    pub size: Option<u64>,
    /// Why, in words (server text quoted and made safe: control characters escaped).
    pub reason: String,
    /// Runs that met this problem so far (1 in a run report).
    pub attempts: u32,
}

impl MessageProblem {
    pub(crate) fn new(
        message: String,
        outcome: MessageOutcome,
        category: Option<ErrorCategory>,
        size: Option<u64>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            message,
            outcome,
            category,
            size,
            reason: reason.into(),
            attempts: 1,
        }
    }
}

impl RunReport {
    fn new(account_id: RecordId, account_name: &str) -> Self {
        Self {
            account_id,
            account_name: account_name.to_owned(),
            ..Self::default()
        }
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectError {
    /// Talking to the server failed (connect, TLS, login, a cut connection…).
    #[error(transparent)]
    Connection(ConnectionError),
    /// The inbox store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The account could not be used (not found, invalid settings, no credential).
    #[error(transparent)]
    Account(crate::Error),
    /// A run of this account is in progress already.
    #[error("account {account} is being collected already: wait for that run to finish")]
    Busy {
        /// The account.
        account: RecordId,
    },
    /// The account is disabled: it is never contacted.
    #[error("account \"{name}\" is disabled: a disabled account is never contacted")]
    Disabled {
        /// The account.
        account: RecordId,
        /// Its name.
        name: String,
    },
    /// The run failed after doing part of its work (everything it committed stays committed).
    #[error("{error} (this run stored {} message(s) before that; nothing is lost: the next run goes on)", report.fetched)]
    Interrupted {
        /// What the run did before failing.
        report: Box<RunReport>,
        /// What failed.
        error: Box<CollectError>,
    },
}

impl CollectError {
    /// The category, for bindings and operators.
    pub fn category(&self) -> ErrorCategory {
        match self {
            CollectError::Connection(e) => e.category(),
            CollectError::Store(e) => e.category(),
            CollectError::Account(e) => e.category(),
            CollectError::Busy { .. } => ErrorCategory::Conflict,
            CollectError::Disabled { .. } => ErrorCategory::Validation,
            CollectError::Interrupted { error, .. } => error.category(),
        }
    }

    /// What the run did before it failed, when it got that far.
    pub fn report(&self) -> Option<&RunReport> {
        match self {
            CollectError::Interrupted { report, .. } => Some(report),
            _ => None,
        }
    }
}

impl From<ConnectionError> for CollectError {
    fn from(e: ConnectionError) -> Self {
        CollectError::Connection(e)
    }
}

/// The last error of an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    /// Its category.
    pub category: ErrorCategory,
    /// Its message (never a secret).
    pub message: String,
}

/// Where an account stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccountStatus {
    /// The account.
    pub account_id: RecordId,
    /// Its name.
    pub account_name: String,
    /// A run is in progress in this process.
    pub running: bool,
    /// When it was last checked (Unix seconds).
    pub last_check: Option<i64>,
    /// When a check last succeeded (Unix seconds).
    pub last_success: Option<i64>,
    /// The error of the last check, if it failed.
    pub last_error: Option<LastError>,
    /// Checks failed in a row.
    pub consecutive_failures: u32,
    /// Runs so far.
    pub runs: u64,
    /// Messages stored, all runs together.
    pub fetched: u64,
    /// Duplicates recognised, all runs together.
    pub duplicates: u64,
    /// Messages left on the server for good (too large, refused too often).
    pub skipped: u64,
    /// Messages the last run did not get to.
    pub pending: u64,
    /// Messages the last run stored.
    pub last_run_fetched: u64,
    /// Messages in the account's inbox now.
    pub inbox_messages: u64,
    /// Messages on the server the collector could not store, as it recorded them (too large,
    /// refused, failed), with their reasons; empty once they are stored or gone from the
    /// server.
    pub problems: Vec<MessageProblem>,
    /// When the running collector will check it next (Unix seconds).
    pub next_check: Option<i64>,
    /// The last run that reached the server found that it needs expunging: the account has an
    /// archive folder and the server offers neither MOVE nor UIDPLUS, so collected messages
    /// are copied to the archive and left in the folder marked `\Deleted` (the collector
    /// never expunges what it did not mark). Cleared by a later run that no longer needs it.
    #[serde(default)]
    pub needs_expunging: bool,
}

/// A message left on the server, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SkippedMessage {
    /// The account.
    pub account_id: RecordId,
    /// Ledger scope: `imap:<mailbox>:<uidvalidity>` or `pop3`.
    pub scope: String,
    /// UID, UIDL, or `#n` (a POP3 message number on a server without UIDL).
    pub key: String,
    /// Larger than the account's limit (otherwise: refused by the server too often).
    pub too_large: bool,
    /// Its size as the server announced it.
    pub size: Option<u64>,
    /// Why it was skipped.
    pub reason: String,
    /// Times it was seen or tried.
    pub attempts: u32,
    /// First seen (Unix seconds).
    pub first_seen: i64,
    /// Last seen (Unix seconds).
    pub last_seen: i64,
}

/// How the collector works. `Default` is what a deployment wants; tests shrink it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CollectorOptions {
    /// Accounts collected at once by the running collector (default 4).
    pub max_concurrent_accounts: usize,
    /// Network bounds (connect 15 s, read and write 60 s).
    pub timeouts: Timeouts,
    /// Largest sum of announced sizes asked for in one request (default 8 MiB; a larger
    /// message is asked for alone).
    pub batch_bytes: u64,
    /// Most messages asked for in one request (default 100).
    pub batch_messages: usize,
    /// Staged messages are committed once they hold this many bytes (default 4 MiB), and at
    /// the end of every request anyway.
    pub commit_bytes: u64,
    /// … or this many messages (default 1000: small messages are committed in groups of
    /// about `commit_bytes` too, not 100 at a time with an fsync each).
    pub commit_messages: usize,
    /// Refusals of one message by the server before it is skipped for good (default 3).
    pub max_failed_attempts: u32,
    /// Longest wait between checks of a failing account (default 1 h; never shorter than
    /// its own interval).
    pub max_backoff: Duration,
    /// How often the running collector looks for new or changed accounts (default 30 s).
    pub rescan_interval: Duration,
    /// Collectors on several processes sharing the store: each run first takes the
    /// account's lease ([`lease`]), renews it while it goes on, checks it in every commit and
    /// before every change on the server, and releases it at the end. An account another
    /// node holds is refused with [`CollectError::Busy`]. `None` (the default): one collector
    /// per store, no leases.
    pub lease: Option<lease::LeaseOptions>,
    /// Write the collection journal (default on). Internal: turned off only to measure what
    /// the journal costs (the collect benchmark); a deployment keeps it on.
    #[doc(hidden)]
    pub journal: bool,
    /// Push (IMAP IDLE, see the `push` module): how long one IDLE lasts before it is ended and
    /// re-issued (default 10 minutes; RFC 2177 servers may drop a client idle for 29). A dead
    /// connection is noticed within this plus the read timeout.
    pub idle_period: Duration,
    /// Push: the stack reserved for each waiting account's thread (default 256 KiB; at least
    /// 64 KiB). Only the pages it touches become memory.
    pub push_stack_size: usize,
    /// Push: the most accounts this collector waits on in IDLE at once (default 10,000; each
    /// is one connection and one thread). Push accounts over the cap are polled. With
    /// [`CollectorOptions::lease`], each node waits on at most its fair share of the push
    /// accounts (see [`lease`], "Push across nodes"), and never more than this.
    pub max_waiting_accounts: usize,
}

impl Default for CollectorOptions {
    fn default() -> Self {
        Self {
            max_concurrent_accounts: 4,
            timeouts: Timeouts::default(),
            batch_bytes: 8 << 20,
            batch_messages: 100,
            commit_bytes: 4 << 20,
            commit_messages: 1000,
            max_failed_attempts: 3,
            max_backoff: Duration::from_secs(3600),
            rescan_interval: Duration::from_secs(30),
            lease: None,
            journal: true,
            idle_period: Duration::from_secs(600),
            push_stack_size: 256 * 1024,
            max_waiting_accounts: 10_000,
        }
    }
}

impl CollectorOptions {
    fn engine(&self) -> engine::EngineConfig {
        engine::EngineConfig {
            batch_bytes: self.batch_bytes.max(1),
            batch_messages: self.batch_messages.max(1),
            commit_bytes: self.commit_bytes.max(1),
            commit_messages: self.commit_messages.max(1),
            max_failed_attempts: self.max_failed_attempts.max(1),
        }
    }
}

/// Opens a [`MailSource`] for an account: the network one ([`NetworkSources`]) or, in tests,
/// anything else.
pub trait SourceFactory: Send + Sync {
    /// A source (not yet connected) for `account`.
    fn source(&self, account: &IncomingAccount) -> Result<Box<dyn MailSource>, CollectError>;

    /// A source for `account` while this node holds its lease (collectors sharing a store):
    /// [`NetworkSources`] asks for OAuth2 tokens only while the lease holds
    /// ([`lease::HeldLease::credentials`]). The default: [`SourceFactory::source`].
    fn leased_source(
        &self,
        account: &IncomingAccount,
        held: &lease::HeldLease,
    ) -> Result<Box<dyn MailSource>, CollectError> {
        let _ = held;
        self.source(account)
    }
}

impl<F> SourceFactory for F
where
    F: Fn(&IncomingAccount) -> Result<Box<dyn MailSource>, CollectError> + Send + Sync,
{
    fn source(&self, account: &IncomingAccount) -> Result<Box<dyn MailSource>, CollectError> {
        self(account)
    }
}

/// The real servers: IMAP through [`crate::imap`], POP3 through [`crate::pop3`], with the
/// account's route, security and credential.
#[derive(Clone)]
pub struct NetworkSources {
    credentials: Arc<dyn CredentialProvider>,
    timeouts: Timeouts,
}

impl fmt::Debug for NetworkSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkSources")
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl NetworkSources {
    /// Sources that log in with `credentials`, bounded by `timeouts`.
    pub fn new(credentials: Arc<dyn CredentialProvider>, timeouts: Timeouts) -> Self {
        Self {
            credentials,
            timeouts,
        }
    }
}

impl NetworkSources {
    fn with_credentials(
        &self,
        account: &IncomingAccount,
        credentials: Arc<dyn CredentialProvider>,
    ) -> Box<dyn MailSource> {
        match account.protocol() {
            Protocol::Imap => Box::new(imap_source::ImapSource::new(
                account.clone(),
                credentials,
                self.timeouts,
            )),
            Protocol::Pop3 => Box::new(pop3_source::Pop3Source::new(
                account.clone(),
                credentials,
                self.timeouts,
            )),
        }
    }
}

impl SourceFactory for NetworkSources {
    fn source(&self, account: &IncomingAccount) -> Result<Box<dyn MailSource>, CollectError> {
        Ok(self.with_credentials(account, self.credentials.clone()))
    }

    fn leased_source(
        &self,
        account: &IncomingAccount,
        held: &lease::HeldLease,
    ) -> Result<Box<dyn MailSource>, CollectError> {
        Ok(self.with_credentials(account, held.credentials(self.credentials.clone())))
    }
}

/// One account's result in [`Collector::collect_once`].
pub type AccountResult = (RecordId, Result<RunReport, CollectError>);

/// Options of one run started by a caller.
#[derive(Clone, Default)]
pub struct RunControl {
    /// Cancels the run.
    pub cancel: CancelToken,
    /// Hears this run's progress (besides the collector's own listeners).
    pub progress: Option<Arc<dyn ProgressListener>>,
}

impl fmt::Debug for RunControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunControl")
            .field("cancel", &self.cancel)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

struct Flight {
    cancel: CancelToken,
    scheduled: bool,
}

#[derive(Default)]
struct Sched {
    running: bool,
    generation: u64,
    in_flight: HashMap<RecordId, Flight>,
    next_due: HashMap<RecordId, Instant>,
    failures: HashMap<RecordId, u32>,
    active_scheduled: usize,
    thread: Option<JoinHandle<()>>,
    /// Push waiters, by account.
    waiters: HashMap<RecordId, push::Waiter>,
    /// Accounts whose server reported new mail while a run of theirs was in progress.
    pushed: std::collections::HashSet<RecordId>,
    /// Accounts whose server offers no IDLE (polled; asked again when the collector restarts).
    no_idle: std::collections::HashSet<RecordId>,
}

struct Inner {
    store: Arc<Store>,
    sources: Arc<dyn SourceFactory>,
    /// How push waiters connect: only a collector over the network sources has them.
    push_net: Option<push::PushNet>,
    options: CollectorOptions,
    sched: Mutex<Sched>,
    wake: Condvar,
    listeners: Mutex<Vec<Arc<dyn ProgressListener>>>,
}

/// The mail collector. `Send + Sync`: share it in an `Arc` and call it from any thread.
/// Dropping it stops it.
pub struct Collector {
    inner: Arc<Inner>,
}

impl fmt::Debug for Collector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.inner.lock();
        f.debug_struct("Collector")
            .field("running", &s.running)
            .field("in_flight", &s.in_flight.keys().collect::<Vec<_>>())
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// Releases an account's run slot, whatever happens to the run.
struct FlightGuard<'a> {
    inner: &'a Inner,
    account: RecordId,
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        let mut s = self.inner.lock();
        if let Some(f) = s.in_flight.remove(&self.account) {
            if f.scheduled {
                s.active_scheduled = s.active_scheduled.saturating_sub(1);
            }
        }
        drop(s);
        self.inner.wake.notify_all();
    }
}

/// Stops a waiter; joined off the caller's thread (a waiter may take its read timeout to
/// end), its lease released after it ended.
fn end_waiter(w: push::Waiter) {
    w.stop.stop();
    std::thread::spawn(move || {
        let _ = w.thread.join();
        drop(w.renewer);
    });
}

/// Gives a lease back (a failure only means it expires by itself).
fn release(store: &Store, opts: &lease::LeaseOptions, l: &lease::Lease) {
    let leases = lease::Leases::new(lease::LeaseStore::Store(store), &opts.owner, opts.ttl);
    if let Err(e) = leases.release(l) {
        tracing::warn!(error = %e, "could not release a lease (it expires by itself)");
    }
}

fn unix(at: Instant) -> i64 {
    let now = Instant::now();
    let t = if at >= now {
        SystemTime::now() + (at - now)
    } else {
        SystemTime::now() - (now - at)
    };
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Sched> {
        self.sched.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn listeners(&self) -> Vec<Arc<dyn ProgressListener>> {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes the account's run slot, or says it is busy.
    fn claim(
        &self,
        account: RecordId,
        cancel: &CancelToken,
        scheduled: bool,
    ) -> Result<FlightGuard<'_>, CollectError> {
        let mut s = self.lock();
        if s.in_flight.contains_key(&account) {
            return Err(CollectError::Busy { account });
        }
        s.in_flight.insert(
            account,
            Flight {
                cancel: cancel.clone(),
                scheduled,
            },
        );
        if scheduled {
            s.active_scheduled += 1;
        }
        Ok(FlightGuard {
            inner: self,
            account,
        })
    }

    /// One run of `account` (its slot already claimed), with the status recorded.
    fn run_claimed(
        &self,
        account_id: RecordId,
        control: &RunControl,
    ) -> Result<RunReport, CollectError> {
        let account = self
            .store
            .incoming_account(account_id)
            .map_err(|e| match e {
                crate::Error::Store(s) => CollectError::Store(s),
                other => CollectError::Account(other),
            })?;
        if !account.enabled() {
            return Err(CollectError::Disabled {
                account: account_id,
                name: account.name().to_owned(),
            });
        }
        // Shared store: the account's lease first (another node holding it: busy).
        let mut _renewer = None;
        let mut fence = None;
        let waiting_lease = self
            .lock()
            .waiters
            .get(&account_id)
            .and_then(|w| w.lease.clone());
        if let (Some(opts), Some(l)) = (&self.options.lease, waiting_lease) {
            // This node waits on the account in IDLE: the run goes under that lease (renewed
            // by the waiter's renewer, kept after the run).
            fence = Some(Arc::new(lease::Fence {
                owner: opts.owner.clone(),
                lease: l,
                margin: opts.server_change_margin,
            }));
        } else if let Some(opts) = &self.options.lease {
            let leases =
                lease::Leases::new(lease::LeaseStore::Store(&self.store), &opts.owner, opts.ttl);
            let Some(l) = leases.acquire(account_id)? else {
                return Err(CollectError::Busy {
                    account: account_id,
                });
            };
            fence = Some(Arc::new(lease::Fence {
                owner: opts.owner.clone(),
                lease: l.clone(),
                margin: opts.server_change_margin,
            }));
            _renewer = Some(lease::Renewer::start(
                self.store.clone(),
                opts,
                l,
                control.cancel.clone(),
            ));
        }
        // The journal's run row is opened in the same transaction (none of its own).
        let journal_run = state::mark_check(&self.store, account_id, self.options.journal)?;
        let mut listeners = self.listeners();
        listeners.extend(control.progress.clone());
        let ctl = engine::Control {
            cancel: control.cancel.clone(),
            listeners,
            fence,
            journal_run,
        };
        let source = match &ctl.fence {
            Some(f) => self.sources.leased_source(
                &account,
                &lease::HeldLease::new(self.store.clone(), Arc::clone(f)),
            ),
            None => self.sources.source(&account),
        };
        let result = source.and_then(|mut source| {
            run_folders(
                &self.store,
                account_id,
                &account,
                source.as_mut(),
                &self.options.engine(),
                &ctl,
            )
        });
        let report = match &result {
            Ok(r) => Some(r),
            Err(e) => e.report(),
        };
        let journal = journal_run.map(|run_id| state::JournalEnd {
            run: crate::journal::RunContext {
                run_id,
                account_id,
                folder: report
                    .map(|r| r.journal_folder.clone())
                    .filter(|f| !f.is_empty())
                    .unwrap_or_else(|| engine::journal_folder(None)),
            },
            report,
        });
        let recorded = match &result {
            Ok(r) => state::finish_run(&self.store, account_id, Some(&counts(r)), None, journal),
            Err(e) => {
                let message = e.to_string();
                state::finish_run(
                    &self.store,
                    account_id,
                    e.report().map(counts).as_ref(),
                    Some((e.category(), &message)),
                    journal,
                )
            }
        };
        if let Err(e) = recorded {
            tracing::warn!(account = account_id, error = %e, "could not record the collector status");
        }
        result
    }

    /// A push waiter heard of new mail: check the account now (or right after its run).
    fn push_notify(&self, account: RecordId) {
        let mut s = self.lock();
        if s.in_flight.contains_key(&account) {
            s.pushed.insert(account);
        } else {
            s.next_due.insert(account, Instant::now());
        }
        drop(s);
        self.wake.notify_all();
    }

    /// A push waiter found no IDLE: the account is polled.
    fn push_unavailable(&self, account: RecordId) {
        self.lock().no_idle.insert(account);
    }

    /// Starts and stops push waiters to match the accounts (scheduler thread; takes the lock
    /// itself, and leaves it while it talks to the store).
    ///
    /// With leases, a waiter holds its account's lease while it waits, and the node waits on
    /// at most its fair share ([`lease::fair_share`]) of the push accounts: it says it is
    /// present ([`lease::heartbeat`]), counts the present nodes, releases waiters over its
    /// share (never one whose account is being collected) and takes free push accounts while
    /// under it. A node that leaves lets its leases and its presence expire (or gives them
    /// back when stopped); the others take its accounts over at their next ticks.
    fn manage_waiters(
        self: &Arc<Self>,
        generation: u64,
        accounts: &[crate::store::Stored<crate::model::IncomingAccountForm>],
    ) {
        let Some(net) = &self.push_net else {
            return;
        };
        let mut wanted: Vec<RecordId> = accounts
            .iter()
            .filter(|a| {
                a.record.enabled
                    && a.record.automatic_check
                    && a.record.use_push
                    && a.record.protocol == Some(Protocol::Imap)
            })
            .map(|a| a.id)
            .collect();
        wanted.sort_unstable();
        let (held, in_flight) = {
            let mut s = self.lock();
            if !s.running || s.generation != generation {
                return;
            }
            let gone: Vec<RecordId> = s
                .waiters
                .iter()
                .filter(|(id, w)| wanted.binary_search(id).is_err() || w.thread.is_finished())
                .map(|(id, _)| *id)
                .collect();
            for id in gone {
                if let Some(w) = s.waiters.remove(&id) {
                    end_waiter(w);
                }
            }
            wanted.retain(|id| !s.no_idle.contains(id));
            let held: Vec<RecordId> = s.waiters.keys().copied().collect();
            let in_flight: std::collections::HashSet<RecordId> =
                s.in_flight.keys().copied().collect();
            (held, in_flight)
        };
        let cap = self.options.max_waiting_accounts;
        let share = match &self.options.lease {
            None => cap,
            Some(opts) => {
                match lease::heartbeat(lease::LeaseStore::Store(&self.store), &opts.owner, opts.ttl)
                {
                    Ok(nodes) => lease::fair_share(wanted.len(), nodes, cap),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot say this node is present: waiting accounts left as they are");
                        return;
                    }
                }
            }
        };
        if held.len() > share {
            // Over the share (a node joined, or the cap): give back the last ones.
            let mut excess: Vec<RecordId> = held
                .iter()
                .copied()
                .filter(|id| !in_flight.contains(id))
                .collect();
            excess.sort_unstable_by(|a, b| b.cmp(a));
            excess.truncate(held.len() - share);
            let mut s = self.lock();
            for id in excess {
                if let Some(w) = s.waiters.remove(&id) {
                    tracing::debug!(
                        account = id,
                        share,
                        "over this node's share: no longer waiting (polled or waited on elsewhere)"
                    );
                    end_waiter(w);
                }
            }
            return;
        }
        let mut room = share - held.len();
        // From an offset of the node's own, so nodes starting together try different accounts.
        let offset = self.options.lease.as_ref().map_or(0, |o| {
            o.owner.bytes().map(usize::from).sum::<usize>() % wanted.len().max(1)
        });
        let mut taken: Vec<(RecordId, Option<lease::Lease>)> = Vec::new();
        for i in 0..wanted.len() {
            if room == 0 {
                break;
            }
            let id = wanted[(offset + i) % wanted.len()];
            if held.contains(&id) {
                continue;
            }
            let l = match &self.options.lease {
                None => None,
                Some(opts) => {
                    let leases = lease::Leases::new(
                        lease::LeaseStore::Store(&self.store),
                        &opts.owner,
                        opts.ttl,
                    );
                    match leases.acquire(id) {
                        Ok(Some(l)) => Some(l),
                        // Held elsewhere (waited on or being collected there), or by a run here.
                        Ok(None) => continue,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot take a waiting account's lease");
                            break;
                        }
                    }
                }
            };
            taken.push((id, l));
            room -= 1;
        }
        let mut s = self.lock();
        for (id, l) in taken {
            let live = s.running && s.generation == generation;
            if !live || s.waiters.contains_key(&id) {
                if let (Some(l), Some(opts)) = (l, &self.options.lease) {
                    release(&self.store, opts, &l);
                }
                continue;
            }
            let held = match (&l, &self.options.lease) {
                (Some(l), Some(opts)) => Some(lease::HeldLease::new(
                    self.store.clone(),
                    Arc::new(lease::Fence {
                        owner: opts.owner.clone(),
                        lease: l.clone(),
                        margin: Duration::ZERO,
                    }),
                )),
                _ => None,
            };
            match push::spawn(Arc::clone(self), net.clone(), id, &self.options, held) {
                Ok(mut w) => {
                    if let (Some(l), Some(opts)) = (l, &self.options.lease) {
                        let stop = w.stop.clone();
                        w.renewer = Some(lease::Renewer::start_with(
                            self.store.clone(),
                            opts,
                            l.clone(),
                            Box::new(move || stop.stop()),
                        ));
                        w.lease = Some(l);
                    }
                    s.waiters.insert(id, w);
                }
                Err(e) => {
                    tracing::warn!(account = id, error = %e, "cannot start a push thread: the account is polled");
                    if let (Some(l), Some(opts)) = (l, &self.options.lease) {
                        release(&self.store, opts, &l);
                    }
                }
            }
        }
    }

    /// After a run: schedules the account's next check (backing off when it failed).
    fn reschedule(&self, account: RecordId, interval: Duration, ok: bool) {
        let mut s = self.lock();
        let failures = if ok {
            s.failures.remove(&account);
            0
        } else {
            let f = s.failures.entry(account).or_insert(0);
            *f = f.saturating_add(1);
            *f
        };
        let wait = if failures == 0 {
            interval
        } else {
            let factor = 1u32 << failures.min(16);
            interval
                .saturating_mul(factor)
                .min(self.options.max_backoff.max(interval))
        };
        let due = if s.pushed.remove(&account) {
            Instant::now()
        } else {
            Instant::now() + wait
        };
        s.next_due.insert(account, due);
    }

    fn scheduler(self: &Arc<Self>, generation: u64) {
        loop {
            let accounts = match self.store.list_incoming() {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "the collector cannot read the accounts; retrying");
                    Vec::new()
                }
            };
            self.manage_waiters(generation, &accounts);
            let mut s = self.lock();
            if !s.running || s.generation != generation {
                return;
            }
            let now = Instant::now();
            let eligible: Vec<(RecordId, Duration)> = accounts
                .iter()
                .filter(|a| a.record.enabled && a.record.automatic_check)
                .map(|a| {
                    (
                        a.id,
                        Duration::from_secs(
                            u64::try_from(a.record.check_interval_secs)
                                .unwrap_or(300)
                                .max(1),
                        ),
                    )
                })
                .collect();
            s.next_due
                .retain(|id, _| eligible.iter().any(|(e, _)| e == id));
            let mut next_wake = now + self.options.rescan_interval;
            if let (Some(opts), Some(_)) = (&self.options.lease, &self.push_net) {
                // Presence, shares and take-overs of waiting accounts: every third of the ttl.
                next_wake = next_wake.min(now + (opts.ttl / 3).max(Duration::from_millis(50)));
            }
            for (id, interval) in eligible {
                let due = *s.next_due.entry(id).or_insert(now);
                if s.in_flight.contains_key(&id) {
                    continue;
                }
                if due > now {
                    next_wake = next_wake.min(due);
                    continue;
                }
                if s.active_scheduled >= self.options.max_concurrent_accounts.max(1) {
                    break;
                }
                let cancel = CancelToken::new();
                s.in_flight.insert(
                    id,
                    Flight {
                        cancel: cancel.clone(),
                        scheduled: true,
                    },
                );
                s.active_scheduled += 1;
                // Until the run finishes, it is not due again.
                s.next_due.insert(id, now + interval);
                let inner = Arc::clone(self);
                let spawned = std::thread::Builder::new()
                    .name(format!("mail-collector-{id}"))
                    .spawn(move || {
                        let guard = FlightGuard {
                            inner: &inner,
                            account: id,
                        };
                        let control = RunControl {
                            cancel,
                            progress: None,
                        };
                        let result = inner.run_claimed(id, &control);
                        if let Err(e) = &result {
                            tracing::warn!(account = id, error = %e, "scheduled collection failed");
                        }
                        // Held by another node: not a failure (no back-off), checked again next interval.
                        let ok = result.is_ok() || matches!(result, Err(CollectError::Busy { .. }));
                        inner.reschedule(id, interval, ok);
                        drop(guard);
                    });
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "the collector cannot start a thread");
                    if s.in_flight.remove(&id).is_some() {
                        s.active_scheduled = s.active_scheduled.saturating_sub(1);
                    }
                }
            }
            let wait = next_wake.saturating_duration_since(Instant::now());
            let (guard, _) = self
                .wake
                .wait_timeout(s, wait.max(Duration::from_millis(10)))
                .unwrap_or_else(PoisonError::into_inner);
            drop(guard);
        }
    }
}

/// One run of every folder of the account, in the order listed, each with its own ledger
/// (`imap:<folder>:<uidvalidity>`): a folder that fails does not keep the others from being
/// collected; the run then fails with the first error, its report covering every folder.
/// With more than one folder, each problem names its folder (`Support/Tier 2: UID 7`).
fn run_folders(
    store: &Store,
    account_id: RecordId,
    account: &IncomingAccount,
    source: &mut dyn MailSource,
    cfg: &engine::EngineConfig,
    control: &engine::Control,
) -> Result<RunReport, CollectError> {
    let folders = account.folders();
    if folders.len() <= 1 {
        if let Some(f) = folders.first() {
            source.set_folder(f);
        }
        return engine::run(store, account_id, account, source, cfg, control);
    }
    let mut total = RunReport::new(account_id, account.name());
    let mut first_error: Option<CollectError> = None;
    let mut any_report = false;
    for folder in folders {
        if control.cancel.is_cancelled() {
            total.cancelled = true;
            break;
        }
        source.set_folder(folder);
        let (report, error) = match engine::run(store, account_id, account, source, cfg, control) {
            Ok(r) => (Some(r), None),
            Err(CollectError::Interrupted { report, error }) => (Some(*report), Some(*error)),
            Err(e) => (None, Some(e)),
        };
        if let Some(r) = report {
            any_report = true;
            total.absorb(r, folder);
        }
        if let Some(e) = error {
            tracing::warn!(account = account_id, folder = %folder, error = %e, "folder not collected");
            let e = match e {
                CollectError::Connection(c) => CollectError::Connection(
                    c.context(format!("folder \"{}\"", folder.escape_debug())),
                ),
                other => other,
            };
            if matches!(e, CollectError::Store(_)) {
                first_error.get_or_insert(e);
                break;
            }
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        None => Ok(total),
        Some(e) if any_report => Err(CollectError::Interrupted {
            report: Box::new(total),
            error: Box::new(e),
        }),
        Some(e) => Err(e),
    }
}

impl RunReport {
    /// Adds one folder's report to the account's.
    fn absorb(&mut self, r: RunReport, folder: &str) {
        self.listed += r.listed;
        self.fetched += r.fetched;
        self.duplicates += r.duplicates;
        self.already_stored += r.already_stored;
        // `skipped` is the account's total already (all scopes).
        self.skipped = r.skipped;
        self.refused += r.refused;
        self.deleted_on_server += r.deleted_on_server;
        self.pending += r.pending;
        self.bytes += r.bytes;
        self.cancelled |= r.cancelled;
        self.resynced |= r.resynced;
        self.skipped_too_large += r.skipped_too_large;
        self.problems.extend(r.problems.into_iter().map(|mut p| {
            p.message = format!("{folder}: {}", p.message);
            p
        }));
        self.notes.extend(r.notes);
        self.needs_expunging |= r.needs_expunging;
    }
}

fn counts(r: &RunReport) -> state::RunCounts {
    state::RunCounts {
        fetched: r.fetched,
        duplicates: r.duplicates,
        skipped: r.skipped,
        pending: r.pending,
        bytes: r.bytes,
        needs_expunging: r.needs_expunging,
    }
}

impl Collector {
    /// A collector over `store` that logs in with `credentials`, with default options.
    pub fn new(store: Arc<Store>, credentials: Arc<dyn CredentialProvider>) -> Self {
        Self::with_options(store, credentials, CollectorOptions::default())
    }

    /// A collector with options.
    pub fn with_options(
        store: Arc<Store>,
        credentials: Arc<dyn CredentialProvider>,
        options: CollectorOptions,
    ) -> Self {
        let sources = Arc::new(NetworkSources::new(credentials.clone(), options.timeouts));
        let mut c = Self::with_sources(store, sources, options);
        if let Some(inner) = Arc::get_mut(&mut c.inner) {
            inner.push_net = Some(push::PushNet {
                timeouts: inner.options.timeouts,
                credentials,
            });
        }
        c
    }

    /// A collector whose sessions come from `sources` (tests: [`MemoryServer`]).
    pub fn with_sources(
        store: Arc<Store>,
        sources: Arc<dyn SourceFactory>,
        options: CollectorOptions,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                sources,
                push_net: None,
                options,
                sched: Mutex::new(Sched::default()),
                wake: Condvar::new(),
                listeners: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The store it collects into.
    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    /// Adds a listener that hears every run's progress.
    pub fn add_listener(&self, listener: Arc<dyn ProgressListener>) {
        self.inner
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(listener);
    }

    /// Starts checking accounts on their schedule (every enabled account with
    /// `automatic_check`, first at once). Does nothing if it runs already.
    pub fn start(&self) -> Result<(), CollectError> {
        let mut s = self.inner.lock();
        if s.running {
            return Ok(());
        }
        s.running = true;
        s.generation += 1;
        let generation = s.generation;
        let inner = Arc::clone(&self.inner);
        let thread = std::thread::Builder::new()
            .name("mail-collector".to_owned())
            .spawn(move || inner.scheduler(generation))
            .map_err(|e| {
                CollectError::Connection(ConnectionError::new(
                    ErrorCategory::Storage,
                    format!("cannot start the collector thread: {e}"),
                ))
            });
        match thread {
            Ok(t) => {
                s.thread = Some(t);
                tracing::info!("mail collector started");
                Ok(())
            }
            Err(e) => {
                s.running = false;
                Err(e)
            }
        }
    }

    /// Stops the schedule, cancels the runs it started (they stop at a message boundary) and
    /// waits for them. Runs started by [`Collector::check_now`] go on. Does nothing if it is
    /// not running.
    pub fn stop(&self) {
        let thread = {
            let mut s = self.inner.lock();
            if !s.running {
                return;
            }
            s.running = false;
            for f in s.in_flight.values().filter(|f| f.scheduled) {
                f.cancel.cancel();
            }
            s.next_due.clear();
            s.pushed.clear();
            s.no_idle.clear();
            s.thread.take()
        };
        // Push waiters end at once (their sockets' read halves are shut down).
        let waiters: Vec<push::Waiter> = {
            let mut s = self.inner.lock();
            s.waiters.drain().map(|(_, w)| w).collect()
        };
        for w in &waiters {
            w.stop.stop();
        }
        for w in waiters {
            if w.thread.join().is_err() {
                tracing::error!("a push thread panicked");
            }
        }
        self.inner.wake.notify_all();
        if let Some(t) = thread {
            if t.join().is_err() {
                tracing::error!("the collector's scheduler thread panicked");
            }
        }
        if let (Some(opts), Some(_)) = (&self.inner.options.lease, &self.inner.push_net) {
            // The others' fair shares grow now, not when this node's presence expires.
            if let Err(e) = lease::leave(lease::LeaseStore::Store(&self.inner.store), &opts.owner) {
                tracing::warn!(error = %e, "could not say this node left (its presence expires by itself)");
            }
        }
        let mut s = self.inner.lock();
        while s.active_scheduled > 0 {
            s = self
                .inner
                .wake
                .wait(s)
                .unwrap_or_else(PoisonError::into_inner);
        }
        tracing::info!("mail collector stopped");
    }

    /// The accounts this collector waits on in IDLE now (push), in id order. With leases,
    /// this node holds each one's lease.
    pub fn waiting(&self) -> Vec<RecordId> {
        let s = self.inner.lock();
        let mut ids: Vec<RecordId> = s
            .waiters
            .iter()
            .filter(|(_, w)| !w.thread.is_finished())
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Whether it runs.
    pub fn is_running(&self) -> bool {
        self.inner.lock().running
    }

    /// Checks one account now, in the calling thread, whether or not the collector runs.
    /// Refused with [`CollectError::Busy`] while a run of that account is in progress, and
    /// with [`CollectError::Disabled`] for a disabled account.
    pub fn check_now(&self, account: RecordId) -> Result<RunReport, CollectError> {
        self.check_now_with(account, &RunControl::default())
    }

    /// [`Collector::check_now`] with a cancel handle and a progress listener of its own.
    pub fn check_now_with(
        &self,
        account: RecordId,
        control: &RunControl,
    ) -> Result<RunReport, CollectError> {
        let guard = self.inner.claim(account, &control.cancel, false)?;
        let result = self.inner.run_claimed(account, control);
        let running = self.inner.lock().running;
        if running {
            if let Ok(a) = self.inner.store.incoming_account(account) {
                self.inner
                    .reschedule(account, a.check_interval(), result.is_ok());
            }
        }
        drop(guard);
        result
    }

    /// Checks several accounts once (all enabled accounts with `automatic_check` when
    /// `accounts` is empty), at most [`CollectorOptions::max_concurrent_accounts`] at once;
    /// results in the order of the accounts. For `mail-settings collect --once`.
    pub fn collect_once(
        &self,
        accounts: &[RecordId],
        control: &RunControl,
    ) -> Result<Vec<AccountResult>, CollectError> {
        let ids: Vec<RecordId> = if accounts.is_empty() {
            self.inner
                .store
                .list_incoming()?
                .into_iter()
                .filter(|a| a.record.enabled && a.record.automatic_check)
                .map(|a| a.id)
                .collect()
        } else {
            accounts.to_vec()
        };
        let next = Mutex::new(0usize);
        let results: Mutex<Vec<Option<Result<RunReport, CollectError>>>> =
            Mutex::new((0..ids.len()).map(|_| None).collect());
        let workers = self
            .inner
            .options
            .max_concurrent_accounts
            .clamp(1, ids.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let i = {
                        let mut n = next.lock().unwrap_or_else(PoisonError::into_inner);
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(&id) = ids.get(i) else { break };
                    let r = if control.cancel.is_cancelled() {
                        Err(CollectError::Connection(ConnectionError::new(
                            ErrorCategory::Cancelled,
                            "cancelled before it started",
                        )))
                    } else {
                        self.check_now_with(id, control)
                    };
                    if let Some(slot) = results
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get_mut(i)
                    {
                        *slot = Some(r);
                    }
                });
            }
        });
        let results = results.into_inner().unwrap_or_else(PoisonError::into_inner);
        Ok(ids
            .into_iter()
            .zip(results)
            .map(|(id, r)| {
                (
                    id,
                    r.unwrap_or_else(|| {
                        Err(CollectError::Connection(ConnectionError::new(
                            ErrorCategory::Cancelled,
                            "not run",
                        )))
                    }),
                )
            })
            .collect())
    }

    /// Cancels the run of `account` in progress, if any; returns whether there was one.
    pub fn cancel(&self, account: RecordId) -> bool {
        let s = self.inner.lock();
        match s.in_flight.get(&account) {
            Some(f) => {
                f.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// The status of every incoming account.
    pub fn statuses(&self) -> Result<Vec<AccountStatus>, StoreError> {
        let mut all = state::statuses(&self.inner.store, None)?;
        let s = self.inner.lock();
        for st in &mut all {
            st.running = s.in_flight.contains_key(&st.account_id);
            st.next_check = s.next_due.get(&st.account_id).map(|at| unix(*at));
        }
        Ok(all)
    }

    /// The status of one account.
    pub fn status(&self, account: RecordId) -> Result<AccountStatus, StoreError> {
        let mut one = state::statuses(&self.inner.store, Some(account))?
            .pop()
            .ok_or(StoreError::NotFound {
                kind: "incoming account",
                id: account,
            })?;
        let s = self.inner.lock();
        one.running = s.in_flight.contains_key(&account);
        one.next_check = s.next_due.get(&account).map(|at| unix(*at));
        Ok(one)
    }

    /// The messages of `account` left on the server for good, with their reasons.
    pub fn skipped(&self, account: RecordId) -> Result<Vec<SkippedMessage>, StoreError> {
        state::skipped(
            &self.inner.store,
            account,
            self.inner.options.max_failed_attempts.max(1),
        )
    }

    /// Forgets why messages of `account` were skipped, so that the next run tries them again
    /// (after raising the size limit, or once the server is fixed). Returns how many.
    pub fn retry_skipped(&self, account: RecordId) -> Result<usize, StoreError> {
        state::clear_problems(&self.inner.store, account)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Status of the accounts as the store has it, for processes that do not run the collector
/// (e.g. `mail-settings` status commands).
pub fn account_statuses(store: &Store) -> Result<Vec<AccountStatus>, StoreError> {
    state::statuses(store, None)
}
