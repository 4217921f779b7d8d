//! The mail collector and its inbox, delegated to the core's collector: fetches the incoming
//! accounts' mail into the store exactly once, on a schedule or on demand, and keeps it for
//! "View inbox".
//!
//! Runs started by the host (`check_now`, `collect_once`) are `async`; cancelling the
//! coroutine or task that awaits one cancels the run itself (it stops cleanly at the next
//! message boundary), and so does a [`CancelToken`]. Progress reaches the host through its
//! [`ProgressListener`], called on the run's own thread.

use crate::account::AccountRef;
use crate::blocking::run_blocking;
use crate::credentials::{CredentialProvider, HostCredentials};
use crate::error::Result;
use crate::mailer::{timeouts, NetworkTimeouts};
use crate::model::ErrorCategory;
use crate::store::Store;
use mail_settings_core::collector::{
    self as core_collector, CancelToken as CoreCancelToken, RunControl,
};
use mail_settings_core::inbox;
use std::fmt;
use std::sync::Arc;

/// Where a run is: messages and bytes handled so far, out of what it is to fetch.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct RunProgress {
    /// The account being collected.
    pub account_id: i64,
    /// Its name.
    pub account_name: String,
    /// Messages handled so far in this run.
    pub done: u64,
    /// Messages this run is to fetch.
    pub total: u64,
    /// Bytes received so far.
    pub bytes: u64,
    /// Bytes this run is to fetch (as the server announced them).
    pub total_bytes: u64,
}

/// Hears about runs as they go, implemented by the host (to update a progress bar). Called on
/// the run's thread, never the UI thread: keep it quick, and hand the value to the UI thread
/// yourself.
#[uniffi::export(with_foreign)]
pub trait ProgressListener: Send + Sync {
    /// A run started (`done == 0`), handled one more message, or ended.
    fn on_progress(&self, progress: RunProgress);
}

/// The host's listener seen as the core's.
struct HostListener(Arc<dyn ProgressListener>);

impl core_collector::ProgressListener for HostListener {
    fn on_progress(&self, p: &core_collector::Progress) {
        self.0.on_progress(RunProgress {
            account_id: p.account_id,
            account_name: p.account_name.clone(),
            done: p.done,
            total: p.total,
            bytes: p.bytes,
            total_bytes: p.total_bytes,
        });
    }
}

/// Cancels a run started with it (and every run it is passed to).
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelToken {
    handle: CoreCancelToken,
}

#[uniffi::export]
impl CancelToken {
    /// A token not cancelled.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Asks the runs started with this token to stop at the next message boundary.
    pub fn cancel(&self) {
        self.handle.cancel();
    }

    /// Whether it was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.handle.is_cancelled()
    }
}

/// What one run did.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct RunReport {
    /// The account.
    pub account_id: i64,
    /// Its name.
    pub account_name: String,
    /// Messages the server listed.
    pub listed: u64,
    /// Messages stored in the inbox by this run.
    pub fetched: u64,
    /// Messages fetched that were already in the inbox (same content and Message-ID).
    pub duplicates: u64,
    /// Messages an earlier run stored already.
    pub already_stored: u64,
    /// Messages left on the server for good: too large, or refused too often.
    pub skipped: u64,
    /// Messages the server refused in this run (retried later).
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
    /// Messages listed in this run and left on the server as larger than the limit.
    pub skipped_too_large: u64,
    /// Every message this run listed and did not store, with its outcome and reason.
    pub problems: Vec<MessageProblem>,
    /// What the run noticed about the server and handled, in words.
    pub notes: Vec<String>,
}

/// What became of a message, in the words of the collection journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum MessageOutcome {
    /// Stored in the inbox.
    Stored,
    /// The inbox had the same message already: counted.
    Duplicate,
    /// Larger than the account's limit: left on the server.
    SkippedTooLarge,
    /// The server refused to deliver it or sent something that cannot be that message: left
    /// on the server, tried again later.
    Refused,
    /// Fetching it failed (connection broke or timed out, storing failed): left on the
    /// server, tried again later.
    Failed,
}

impl From<core_collector::MessageOutcome> for MessageOutcome {
    fn from(o: core_collector::MessageOutcome) -> Self {
        use core_collector::MessageOutcome as O;
        match o {
            O::Stored => MessageOutcome::Stored,
            O::Duplicate => MessageOutcome::Duplicate,
            O::SkippedTooLarge => MessageOutcome::SkippedTooLarge,
            O::Refused => MessageOutcome::Refused,
            _ => MessageOutcome::Failed,
        }
    }
}

/// A message a run (or the account) could not store, and why.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MessageProblem {
    /// The message on its server (`UID 7`, `UIDL abc`, `message 3`).
    pub message: String,
    /// What became of it.
    pub outcome: MessageOutcome,
    /// The error category, for `Refused` and `Failed`.
    pub category: Option<ErrorCategory>,
    /// Its size as the server announced it, when it did.
    pub size: Option<u64>,
    /// Why, in words.
    pub reason: String,
    /// Runs that met this problem so far.
    pub attempts: u32,
}

impl From<core_collector::MessageProblem> for MessageProblem {
    fn from(p: core_collector::MessageProblem) -> Self {
        MessageProblem {
            message: p.message,
            outcome: p.outcome.into(),
            category: p.category.map(Into::into),
            size: p.size,
            reason: p.reason,
            attempts: p.attempts,
        }
    }
}

impl From<core_collector::RunReport> for RunReport {
    fn from(r: core_collector::RunReport) -> Self {
        RunReport {
            account_id: r.account_id,
            account_name: r.account_name,
            listed: r.listed,
            fetched: r.fetched,
            duplicates: r.duplicates,
            already_stored: r.already_stored,
            skipped: r.skipped,
            refused: r.refused,
            deleted_on_server: r.deleted_on_server,
            pending: r.pending,
            bytes: r.bytes,
            cancelled: r.cancelled,
            resynced: r.resynced,
            skipped_too_large: r.skipped_too_large,
            problems: r.problems.into_iter().map(Into::into).collect(),
            notes: r.notes,
        }
    }
}

/// Why a run of one account failed, in a result of several runs.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct RunFailure {
    /// What kind of failure (auth, certificate, connect...).
    pub category: ErrorCategory,
    /// What failed, for people (never a secret).
    pub detail: String,
    /// What the run did before it failed, when it got that far (its commits stay committed).
    pub partial: Option<RunReport>,
}

/// The outcome of one account's run in [`Collector::collect_once`].
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct AccountRunResult {
    /// The account.
    pub account_id: i64,
    /// What the run did, when it succeeded.
    pub report: Option<RunReport>,
    /// Why it failed, when it did.
    pub failure: Option<RunFailure>,
}

/// The last error of an account.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct LastError {
    /// Its category.
    pub category: ErrorCategory,
    /// Its message (never a secret).
    pub message: String,
}

/// Where an account stands with the collector.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct AccountStatus {
    /// The account.
    pub account_id: i64,
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
    /// Messages left on the server for good.
    pub skipped: u64,
    /// Messages the last run did not get to.
    pub pending: u64,
    /// Messages the last run stored.
    pub last_run_fetched: u64,
    /// Messages in the account's inbox now.
    pub inbox_messages: u64,
    /// Messages on the server the collector could not store, as recorded, with reasons.
    pub problems: Vec<MessageProblem>,
    /// When the running collector will check it next (Unix seconds).
    pub next_check: Option<i64>,
    /// The server needs expunging: archived messages stay marked `\Deleted` (an archive
    /// folder on a server with neither MOVE nor UIDPLUS); cleared by a run that no longer
    /// needs it.
    pub needs_expunging: bool,
}

impl From<core_collector::AccountStatus> for AccountStatus {
    fn from(s: core_collector::AccountStatus) -> Self {
        AccountStatus {
            account_id: s.account_id,
            account_name: s.account_name,
            running: s.running,
            last_check: s.last_check,
            last_success: s.last_success,
            last_error: s.last_error.map(|e| LastError {
                category: e.category.into(),
                message: e.message,
            }),
            consecutive_failures: s.consecutive_failures,
            runs: s.runs,
            fetched: s.fetched,
            duplicates: s.duplicates,
            skipped: s.skipped,
            pending: s.pending,
            last_run_fetched: s.last_run_fetched,
            inbox_messages: s.inbox_messages,
            problems: s.problems.into_iter().map(Into::into).collect(),
            next_check: s.next_check,
            needs_expunging: s.needs_expunging,
        }
    }
}

/// A message left on the server for good, and why.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SkippedMessage {
    /// The account.
    pub account_id: i64,
    /// UID, UIDL, or `#n`.
    pub key: String,
    /// Larger than the account's limit (otherwise: refused by the server too often).
    pub too_large: bool,
    /// Its size as the server announced it.
    pub size: Option<u64>,
    /// Why it was skipped.
    pub reason: String,
    /// Times it was seen or tried.
    pub attempts: u32,
}

/// How the collector works: network bounds and how many accounts run at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CollectorSettings {
    /// Accounts collected at once by the running collector (default 4).
    #[uniffi(default = 4)]
    pub max_concurrent_accounts: u32,
    /// Network bounds (default: connect 15 s, read and write 60 s).
    #[uniffi(default = None)]
    pub timeouts: Option<NetworkTimeouts>,
}

/// Cancels its run when dropped: a host that stops awaiting a run (a cancelled coroutine or
/// task drops the future) stops the run too, at its next message boundary.
struct CancelOnDrop(Option<CoreCancelToken>);

impl CancelOnDrop {
    /// The run finished: nothing to cancel any more.
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(h) = &self.0 {
            h.cancel();
        }
    }
}

/// The handle for one run: the caller's token, or a fresh one.
fn handle_of(token: &Option<Arc<CancelToken>>) -> CoreCancelToken {
    token.as_ref().map(|t| t.handle.clone()).unwrap_or_default()
}

/// The mail collector over the store's incoming accounts.
#[derive(uniffi::Object)]
pub struct Collector {
    inner: Arc<core_collector::Collector>,
    /// The application layer over the same store and credentials: it resolves accounts.
    app: mail_settings_core::app::MailSettings,
}

impl fmt::Debug for Collector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collector")
            .field("inner", &self.inner)
            .finish()
    }
}

impl Collector {
    /// Runs `work` on a thread with a run control whose cancellation follows `token` and the
    /// future's drop.
    async fn run<T: Send + 'static>(
        &self,
        token: Option<Arc<CancelToken>>,
        listener: Option<Arc<dyn ProgressListener>>,
        work: impl FnOnce(&core_collector::Collector, &RunControl) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let control = RunControl {
            cancel: handle_of(&token),
            progress: listener
                .map(|l| Arc::new(HostListener(l)) as Arc<dyn core_collector::ProgressListener>),
        };
        // A run-specific handle is cancelled when the future goes away unfinished; a caller's
        // token is left alone (it may be shared with other runs).
        let guard = token
            .is_none()
            .then(|| CancelOnDrop(Some(control.cancel.clone())));
        let inner = self.inner.clone();
        let result = run_blocking("collect", move || work(&inner, &control)).await;
        if let Some(g) = guard {
            g.disarm();
        }
        result
    }
}

#[uniffi::export]
impl Collector {
    /// A collector over `store`'s incoming accounts, logging in with the host's credentials.
    #[uniffi::constructor(default(settings = None))]
    pub fn new(
        store: Arc<Store>,
        credentials: Arc<dyn CredentialProvider>,
        settings: Option<CollectorSettings>,
    ) -> Arc<Self> {
        let mut options = mail_settings_core::app::AppOptions::default();
        if let Some(s) = settings {
            options.collector.max_concurrent_accounts = (s.max_concurrent_accounts.max(1)) as usize;
            options.timeouts = timeouts(s.timeouts);
        }
        let app = mail_settings_core::app::MailSettings::new(
            store.inner.clone(),
            HostCredentials::wrap(credentials),
            options,
        );
        Arc::new(Self {
            inner: Arc::new(app.collector()),
            app,
        })
    }

    /// Adds a listener that hears every run's progress (scheduled runs included).
    pub fn add_listener(&self, listener: Arc<dyn ProgressListener>) {
        self.inner.add_listener(Arc::new(HostListener(listener)));
    }

    /// Starts checking accounts on their schedule (every enabled account with automatic
    /// check, every `check_interval_secs`), on threads of its own; returns at once. Fetching
    /// mail works only while the collector is running (or on demand with `check_now`).
    pub fn start(&self) -> Result<()> {
        Ok(self.inner.start()?)
    }

    /// Stops the schedule: cancels the runs it started (they stop at a message boundary) and
    /// waits for them, off the calling thread.
    pub async fn stop(&self) {
        let inner = self.inner.clone();
        let _ = run_blocking("collector-stop", move || {
            inner.stop();
            Ok(())
        })
        .await;
    }

    /// Whether the schedule runs.
    pub fn is_running(&self) -> bool {
        self.inner.is_running()
    }

    /// Collects incoming `account` (by id or by name) now, whether or not the collector runs.
    /// Throws `NotFound` for an unknown account, `Conflict` while a run of that account is in
    /// progress, `Validation` for a disabled account, and the connection's own error (`Auth`,
    /// `Certificate`, `Connect`...) when it fails.
    #[uniffi::method(default(listener = None, cancel = None))]
    pub async fn check_now(
        &self,
        account: AccountRef,
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<RunReport> {
        let app = self.app.clone();
        self.run(cancel, listener, move |c, control| {
            let id = app.account_id(
                mail_settings_core::app::AccountKind::Incoming,
                &account.into(),
            )?;
            Ok(c.check_now_with(id, control)?.into())
        })
        .await
    }

    /// Collects the incoming `accounts` (by id or by name) once (every enabled account with
    /// automatic check when `accounts` is empty), a few at a time; one result per account, in
    /// order. Every account is resolved before anything runs: an unknown one throws
    /// `NotFound` and nothing is collected. One account's failure does not stop the others.
    #[uniffi::method(default(accounts = [], listener = None, cancel = None))]
    pub async fn collect_once(
        &self,
        accounts: Vec<AccountRef>,
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<Vec<AccountRunResult>> {
        let app = self.app.clone();
        self.run(cancel, listener, move |c, control| {
            let accounts: Vec<mail_settings_core::app::AccountRef> =
                accounts.into_iter().map(Into::into).collect();
            let results = app.collect_once(c, &accounts, control)?;
            Ok(results
                .into_iter()
                .map(|(account_id, r)| match r {
                    Ok(report) => AccountRunResult {
                        account_id,
                        report: Some(report.into()),
                        failure: None,
                    },
                    Err(e) => AccountRunResult {
                        account_id,
                        report: None,
                        failure: Some(RunFailure {
                            category: e.category().into(),
                            partial: e.report().cloned().map(Into::into),
                            detail: e.to_string(),
                        }),
                    },
                })
                .collect())
        })
        .await
    }

    /// Cancels the run of `account_id` in progress, if any; returns whether there was one.
    pub fn cancel(&self, account_id: i64) -> bool {
        self.inner.cancel(account_id)
    }

    /// The status of every incoming account.
    pub fn statuses(&self) -> Result<Vec<AccountStatus>> {
        Ok(self.inner.statuses()?.into_iter().map(Into::into).collect())
    }

    /// The status of one account.
    pub fn status(&self, account_id: i64) -> Result<AccountStatus> {
        Ok(self.inner.status(account_id)?.into())
    }

    /// The messages of `account_id` left on the server for good, with their reasons.
    pub fn skipped(&self, account_id: i64) -> Result<Vec<SkippedMessage>> {
        Ok(self
            .inner
            .skipped(account_id)?
            .into_iter()
            .map(|s| SkippedMessage {
                account_id: s.account_id,
                key: s.key,
                too_large: s.too_large,
                size: s.size,
                reason: s.reason,
                attempts: s.attempts,
            })
            .collect())
    }

    /// Forgets why messages of `account_id` were skipped, so that the next run tries them
    /// again. Returns how many.
    pub fn retry_skipped(&self, account_id: i64) -> Result<u64> {
        Ok(self.inner.retry_skipped(account_id)? as u64)
    }
}

// ----- the inbox ("View inbox") -----

/// One message in a listing ("inbox summary").
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MessageSummary {
    /// The message's id in the inbox.
    pub id: i64,
    /// The incoming account that received it.
    pub account_id: i64,
    /// That account's name.
    pub account_name: String,
    /// Decoded subject.
    pub subject: Option<String>,
    /// Decoded `From`.
    pub from: String,
    /// Decoded `To`.
    pub to: String,
    /// Decoded `Cc`.
    pub cc: String,
    /// The `Date` header, as Unix seconds (UTC).
    pub date: Option<i64>,
    /// When the collector stored it, Unix seconds.
    pub stored_at: i64,
    /// `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    /// Size of the raw message in bytes.
    pub size: u64,
    /// Number of attachments.
    pub attachment_count: u32,
    /// Whether it was marked read.
    pub read: bool,
    /// How many more times the same message arrived and was not stored again.
    pub duplicates: u32,
    /// Where it came from, e.g. `IMAP INBOX UIDVALIDITY 7 UID 42`.
    pub source: String,
    /// Why the message could not be parsed (it is stored raw all the same).
    pub parse_error: Option<String>,
}

impl From<inbox::MessageSummary> for MessageSummary {
    fn from(m: inbox::MessageSummary) -> Self {
        MessageSummary {
            id: m.id,
            account_id: m.account_id,
            account_name: m.account_name,
            subject: m.subject,
            from: m.from,
            to: m.to,
            cc: m.cc,
            date: m.date,
            stored_at: m.stored_at,
            message_id: m.message_id,
            size: m.size,
            attachment_count: m.attachment_count,
            read: m.read,
            duplicates: m.duplicates,
            source: m.source,
            parse_error: m.parse_error,
        }
    }
}

/// An attachment of a stored message.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct AttachmentInfo {
    /// The file name the message gives.
    pub name: Option<String>,
    /// The MIME type.
    pub content_type: String,
    /// Decoded size in bytes.
    pub size: u64,
}

/// A message as a person reads it.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MessageView {
    /// The summary.
    pub summary: MessageSummary,
    /// The plain-text body.
    pub text: Option<String>,
    /// The HTML body.
    pub html: Option<String>,
    /// Attachments, in message order.
    pub attachments: Vec<AttachmentInfo>,
}

/// What to list: filters combine with AND; empty means "any".
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct InboxQuery {
    /// Only this account's messages.
    #[uniffi(default = None)]
    pub account_id: Option<i64>,
    /// `From` contains this (case-insensitive).
    #[uniffi(default = None)]
    pub from_contains: Option<String>,
    /// Subject contains this (case-insensitive).
    #[uniffi(default = None)]
    pub subject_contains: Option<String>,
    /// `From` or subject contains this.
    #[uniffi(default = None)]
    pub text_contains: Option<String>,
    /// Dated at or after this (Unix seconds).
    #[uniffi(default = None)]
    pub since: Option<i64>,
    /// Dated before this (Unix seconds).
    #[uniffi(default = None)]
    pub until: Option<i64>,
    /// Only messages not marked read.
    #[uniffi(default = false)]
    pub unread_only: bool,
}

/// One page of a listing, newest first.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct InboxPage {
    /// The messages.
    pub messages: Vec<MessageSummary>,
    /// This page's number, from 1.
    pub page: u32,
    /// Messages a page.
    pub page_size: u32,
    /// Messages matching the query, on all pages.
    pub total: u64,
    /// Number of pages (0 when nothing matches).
    pub pages: u64,
}

/// The messages the collector stored ("View inbox"). Local database work: call it off the UI
/// thread.
#[derive(Debug, uniffi::Object)]
pub struct Inbox {
    pub(crate) inner: inbox::Inbox,
}

#[uniffi::export]
impl Inbox {
    /// The inbox kept in `store`.
    #[uniffi::constructor]
    pub fn new(store: Arc<Store>) -> Arc<Self> {
        Arc::new(Self {
            inner: inbox::Inbox::new(store.inner.clone()),
        })
    }

    /// One page of messages, newest first: `page` from 1, `page_size` (30 by default, at most
    /// 1000).
    #[uniffi::method(default(query = None, page = 1, page_size = 30))]
    pub fn list(&self, query: Option<InboxQuery>, page: u32, page_size: u32) -> Result<InboxPage> {
        let q = query.unwrap_or_default();
        let core_query = inbox::InboxQuery {
            account: q.account_id,
            from_contains: q.from_contains,
            subject_contains: q.subject_contains,
            text_contains: q.text_contains,
            since: q.since,
            until: q.until,
            unread_only: q.unread_only,
            page,
            page_size,
        };
        let p = self.inner.list(&core_query)?;
        Ok(InboxPage {
            messages: p.messages.into_iter().map(Into::into).collect(),
            page: p.page,
            page_size: p.page_size,
            total: p.total,
            pages: p.pages,
        })
    }

    /// Messages of `account_id` (of every account when empty).
    #[uniffi::method(default(account_id = None))]
    pub fn count(&self, account_id: Option<i64>) -> Result<u64> {
        Ok(self.inner.count(account_id)?)
    }

    /// Message `id`'s summary; throws `NotFound`.
    pub fn message(&self, id: i64) -> Result<MessageSummary> {
        Ok(self.inner.message(id)?.into())
    }

    /// Message `id` with its bodies and attachments' names, types and sizes.
    pub fn read_message(&self, id: i64) -> Result<MessageView> {
        let v = self.inner.read_message(id)?;
        Ok(MessageView {
            summary: v.summary.into(),
            text: v.body.text,
            html: v.body.html,
            attachments: v
                .body
                .attachments
                .into_iter()
                .map(|a| AttachmentInfo {
                    name: a.name,
                    content_type: a.content_type,
                    size: a.size,
                })
                .collect(),
        })
    }

    /// Message `id` exactly as it was received.
    pub fn raw(&self, id: i64) -> Result<Vec<u8>> {
        Ok(self.inner.raw(id)?)
    }

    /// Writes message `id` as received into the file at `path` (streamed, for large
    /// messages; synced to disk before it returns). Returns the number of bytes.
    pub fn save_raw(&self, id: i64, path: String) -> Result<u64> {
        Ok(mail_settings_core::app::save_raw(
            &self.inner,
            id,
            std::path::Path::new(&path),
        )?)
    }

    /// Marks message `id` read or unread.
    pub fn mark_read(&self, id: i64, read: bool) -> Result<()> {
        Ok(self.inner.mark_read(id, read)?)
    }

    /// Deletes message `id` from the inbox (not from the server); it is not collected again.
    pub fn delete(&self, id: i64) -> Result<()> {
        Ok(self.inner.delete(id)?)
    }
}
