//! One run for one account: list, fetch what is new, commit, and only then change the server.
//!
//! The order of a run, and why it is safe to cut it anywhere:
//!
//! 1. **List** (IMAP: `EXAMINE`/`SELECT INBOX`, UIDVALIDITY, `UID FETCH 1:* RFC822.SIZE`;
//!    POP3: `LIST`, `UIDL`). A changed UIDVALIDITY drops the old ledger: the run is a resync.
//! 2. **Classify** each listed message by the ledger: already stored (then, without keep copy,
//!    it is removed from the server now — it was committed by an earlier run that was cut
//!    before it could remove it), too large (recorded as skipped, left on the server), refused
//!    too often (skipped), or to fetch. Messages that were being fetched when an earlier
//!    connection broke go last, one at a time, so one bad message never blocks the others.
//! 3. **Fetch** in batches bounded by size and count. Each message, as it arrives, is handed to
//!    the run's storing thread ([`super::writer`]), which hashes and summarises it and
//!    **commits** in groups (one durable transaction per group: messages, raw bytes, ledger
//!    keys), so that storing overlaps receiving. The hand-over is bounded in bytes.
//! 4. **Change the server** only for committed messages (without keep copy, the run first waits
//!    until everything handed over is committed): IMAP
//!    `UID STORE +FLAGS.SILENT (\Deleted)` + `UID EXPUNGE`, POP3 `DELE` and, at the end,
//!    `QUIT`. Keep copy never changes the server (IMAP `EXAMINE`, bodies by `BODY.PEEK[]`).
//!
//! A crash or cut before a commit loses nothing (the server still has the message, the ledger
//! does not, so the next run fetches it); after a commit and before the server change, the
//! next run finds the key in the ledger and only removes the message. A message arriving again
//! under a new key (a UIDVALIDITY change, a POP3 server without UIDL, a second delivery) is
//! recognised by its content hash and Message-ID and counted as a duplicate, not stored.

use super::progress::{CancelToken, Progress, ProgressListener};
use super::source::{ListedMessage, MailSource, MessageSink, SourceId};
use super::state::{self, Outcome, ProblemKind};
use super::writer::{self, Item, Writer, WriterJob};
use super::{CollectError, MessageOutcome, MessageProblem, RunReport};
use crate::error::ErrorCategory;
use crate::model::RecordId;
use crate::store::{Store, StoreError};
use crate::typed::IncomingAccount;
use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::sync::Arc;

/// How a run batches and commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EngineConfig {
    /// Largest sum of announced sizes in one fetch request.
    pub(crate) batch_bytes: u64,
    /// Most messages in one fetch request.
    pub(crate) batch_messages: usize,
    /// Commit staged messages once they hold this many bytes.
    pub(crate) commit_bytes: u64,
    /// … or this many messages.
    pub(crate) commit_messages: usize,
    /// Refusals of one message by the server before it is skipped for good.
    pub(crate) max_failed_attempts: u32,
}

/// Who hears about a run, and how to stop it.
#[derive(Clone, Default)]
pub(crate) struct Control {
    pub(crate) cancel: CancelToken,
    pub(crate) listeners: Vec<Arc<dyn ProgressListener>>,
    /// The lease the run holds, when collectors share the store: checked in every commit
    /// and before every change on the server.
    pub(crate) fence: Option<Arc<super::lease::Fence>>,
    /// The journal's run row, when the run is journaled.
    pub(crate) journal_run: Option<i64>,
}

struct Run<'a> {
    store: &'a Store,
    account_id: RecordId,
    account_name: String,
    scope: String,
    label: String,
    control: &'a Control,
    writer: &'a Writer,
    report: RunReport,
    /// The account's `max_message_size`.
    limit: u64,
    total: u64,
    total_bytes: u64,
    done: u64,
}

impl Run<'_> {
    /// Counts what the writer committed.
    fn count(&mut self, outcomes: &[(SourceId, Outcome)]) {
        for (_, outcome) in outcomes {
            match outcome {
                Outcome::Stored(_) => self.report.fetched += 1,
                Outcome::Duplicate(_) => self.report.duplicates += 1,
                Outcome::AlreadyStored => self.report.already_stored += 1,
            }
        }
    }

    /// Records that `id` was found larger than the limit while it was read.
    fn too_large(&mut self, id: &SourceId, seen: u64, reason: &str) -> Result<(), StoreError> {
        state::record_problem(
            self.store,
            self.account_id,
            &self.scope,
            &problem_key(id),
            ProblemKind::TooLarge,
            Some(seen),
            reason,
        )?;
        tracing::warn!(account = self.account_id, message = %id, reason, "message larger than the limit while read: skipped");
        self.report.skipped_too_large += 1;
        self.report.problems.push(MessageProblem::new(
            id.to_string(),
            MessageOutcome::SkippedTooLarge,
            None,
            Some(seen),
            reason,
        ));
        Ok(())
    }

    fn emit(&self) {
        let p = Progress {
            account_id: self.account_id,
            account_name: self.account_name.clone(),
            done: self.done,
            total: self.total,
            bytes: self.report.bytes,
            total_bytes: self.total_bytes,
        };
        for l in &self.control.listeners {
            l.on_progress(&p);
        }
    }
}

/// The sink of one fetch request.
struct Batch<'r, 'a> {
    run: &'r mut Run<'a>,
    /// Committed in this batch (safe to remove from the server).
    committed: Vec<SourceId>,
    delivered: HashSet<SourceId>,
    refused: Vec<(SourceId, String)>,
    /// Found larger than the limit while read (bytes seen, reason).
    too_large: Vec<(SourceId, u64, String)>,
    in_flight: Option<SourceId>,
    error: Option<StoreError>,
    cancelled: bool,
}

impl<'r, 'a> Batch<'r, 'a> {
    fn new(run: &'r mut Run<'a>) -> Self {
        Self {
            run,
            committed: Vec::new(),
            delivered: HashSet::new(),
            refused: Vec::new(),
            too_large: Vec::new(),
            in_flight: None,
            error: None,
            cancelled: false,
        }
    }

    /// Waits until everything handed to the writer is committed (durably).
    fn flush(&mut self) -> Result<(), StoreError> {
        let outcomes = self.run.writer.barrier()?;
        self.run.count(&outcomes);
        self.committed
            .extend(outcomes.into_iter().map(|(id, _)| id));
        Ok(())
    }

    /// Hands a message that arrived whole to the writer.
    fn accept(&mut self, id: &SourceId, raw: Vec<u8>) -> ControlFlow<()> {
        self.delivered.insert(id.clone());
        self.run.report.bytes += raw.len() as u64;
        self.run.done += 1;
        if raw.len() as u64 > self.run.limit {
            // The server announced less: it stays on the server, and the run says why.
            let reason = format!(
                "{} bytes arrived, more than the account's limit of {} bytes (the server announced less): left on the server",
                raw.len(),
                self.run.limit
            );
            self.too_large.push((id.clone(), raw.len() as u64, reason));
            return ControlFlow::Continue(());
        }
        let item = if self.run.writer.full(raw.len() as u64) {
            Item::Staged(Box::new(writer::stage(&self.run.label, id, raw)))
        } else {
            Item::Raw(raw)
        };
        if !self.run.writer.push(id.clone(), item) {
            return ControlFlow::Break(());
        }
        self.run.emit();
        if self.run.control.cancel.is_cancelled() {
            self.cancelled = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

impl MessageSink for Batch<'_, '_> {
    fn message(
        &mut self,
        id: &SourceId,
        size: u64,
        body: &mut dyn Read,
    ) -> io::Result<ControlFlow<()>> {
        if self.error.is_some() || self.cancelled {
            return Ok(ControlFlow::Break(()));
        }
        self.in_flight = Some(id.clone());
        let mut raw = Vec::with_capacity(usize::try_from(size.min(64 << 20)).unwrap_or(0));
        body.read_to_end(&mut raw)?;
        self.in_flight = None;
        Ok(self.accept(id, raw))
    }

    fn message_bytes(&mut self, id: &SourceId, raw: Vec<u8>) -> ControlFlow<()> {
        if self.error.is_some() || self.cancelled {
            return ControlFlow::Break(());
        }
        self.accept(id, raw)
    }

    fn refused(&mut self, id: &SourceId, reason: &str) {
        self.delivered.insert(id.clone());
        self.refused.push((id.clone(), reason.to_owned()));
    }

    fn too_large(&mut self, id: &SourceId, reason: &str) {
        self.delivered.insert(id.clone());
        self.run.done += 1;
        self.too_large.push((
            id.clone(),
            self.run.limit.saturating_add(1),
            reason.to_owned(),
        ));
    }
}

/// Stops the writer however the run ends (the scope waits for its thread).
struct StopWriter<'a>(&'a Writer);

impl Drop for StopWriter<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// The fetch loop of a run.
struct Fetching {
    keep: bool,
    processed: u64,
    refusals_in_a_row: u32,
}

impl Fetching {
    /// Fetches `queue` (batches; `true`: already split, do not split again), committing and
    /// then (without keep copy) removing from the server. Returns what stopped the run.
    fn fetch_all(
        &mut self,
        run: &mut Run<'_>,
        source: &mut dyn MailSource,
        queue: Vec<(Vec<ListedMessage>, bool)>,
    ) -> Option<CollectError> {
        self.fetch_queue(run, source, queue).err()
    }

    fn fetch_queue(
        &mut self,
        run: &mut Run<'_>,
        source: &mut dyn MailSource,
        queue: Vec<(Vec<ListedMessage>, bool)>,
    ) -> Result<(), CollectError> {
        let store = run.store;
        let account_id = run.account_id;
        let mut queue: std::collections::VecDeque<(Vec<ListedMessage>, bool)> = queue.into();
        while let Some((batch, split)) = queue.pop_front() {
            if run.control.cancel.is_cancelled() {
                run.report.cancelled = true;
                return Ok(());
            }
            let mut sink = Batch::new(run);
            let fetched = source.fetch(&batch, &mut sink);
            // Without keep copy, what arrived whole is committed now (even when the connection
            // broke after it), before anything is removed from the server. With keep copy the
            // writer commits at its own pace and the run waits for it at the end.
            let flushed = if self.keep || sink.run.writer.failed() {
                Ok(())
            } else {
                sink.flush()
            };
            let Batch {
                committed,
                delivered,
                refused,
                too_large,
                in_flight,
                error,
                cancelled,
                ..
            } = sink;
            self.processed += delivered.len() as u64;
            if let Some(e) = error.or(flushed.err()) {
                return Err(CollectError::Store(e));
            }
            if run.writer.failed() {
                // The reason comes out of the final barrier.
                return Ok(());
            }
            for (id, seen, reason) in &too_large {
                run.too_large(id, *seen, reason)?;
            }
            for (id, reason) in &refused {
                let size = batch.iter().find(|m| &m.id == id).map(|m| m.size);
                let reason = format!("the server refused to deliver it: {reason}");
                let attempts = state::record_problem(
                    store,
                    account_id,
                    &run.scope,
                    &problem_key(id),
                    ProblemKind::Failed,
                    size,
                    &reason,
                )?;
                run.report.refused += 1;
                let mut p = MessageProblem::new(
                    id.to_string(),
                    MessageOutcome::Refused,
                    Some(ErrorCategory::Protocol),
                    size,
                    reason,
                );
                p.attempts = attempts;
                run.report.problems.push(p);
                tracing::warn!(account = account_id, message = %id, attempts, "message refused by the server");
            }
            let usable = match &fetched {
                Ok(()) => true,
                Err(e) => e.category() == ErrorCategory::Protocol,
            };
            // Only what the source vouches for (net-imap: a suspect IMAP body is stored but
            // never removed, nor counted removed).
            let committed: Vec<SourceId> = committed
                .into_iter()
                .filter(|id| source.removable(id))
                .collect();
            if usable && !self.keep && !committed.is_empty() {
                if let Some(f) = &run.control.fence {
                    f.check_before_server_change(run.store)?;
                }
                source
                    .delete(&committed)
                    .map_err(CollectError::Connection)?;
                run.report.deleted_on_server += committed.len() as u64;
            }
            if cancelled {
                run.report.cancelled = true;
                return Ok(());
            }
            match fetched {
                Ok(()) => self.refusals_in_a_row = 0,
                Err(e) if e.category() == ErrorCategory::Protocol && !split && batch.len() > 1 => {
                    // The server refused the request as a whole: ask for its messages one by
                    // one, so that the one it refuses does not hold back the others.
                    tracing::debug!(account = account_id, error = %e, "batch refused; fetching its messages one by one");
                    let rest: Vec<ListedMessage> = batch
                        .into_iter()
                        .filter(|m| !delivered.contains(&m.id))
                        .collect();
                    for m in rest.into_iter().rev() {
                        queue.push_front((vec![m], true));
                    }
                }
                Err(e) if e.category() == ErrorCategory::Protocol && batch.len() == 1 => {
                    let m = &batch[0];
                    if !delivered.contains(&m.id) {
                        let reason = format!("the server refused to deliver it: {}", e.message());
                        let attempts = state::record_problem(
                            store,
                            account_id,
                            &run.scope,
                            &problem_key(&m.id),
                            ProblemKind::Failed,
                            Some(m.size),
                            &reason,
                        )?;
                        self.processed += 1;
                        run.report.refused += 1;
                        let mut p = MessageProblem::new(
                            m.id.to_string(),
                            MessageOutcome::Refused,
                            Some(e.category()),
                            Some(m.size),
                            reason,
                        );
                        p.attempts = attempts;
                        run.report.problems.push(p);
                        tracing::warn!(account = account_id, message = %m.id, attempts, error = %e, "message refused by the server");
                    }
                    self.refusals_in_a_row += 1;
                    if self.refusals_in_a_row >= 3 {
                        return Err(CollectError::Connection(e));
                    }
                }
                Err(e) => {
                    // The connection broke: note which message(s) were on the wire, so that
                    // the next run fetches them last and alone.
                    let blamed: Vec<&ListedMessage> = match &in_flight {
                        Some(id) => batch.iter().filter(|m| &m.id == id).collect(),
                        None => batch
                            .iter()
                            .filter(|m| !delivered.contains(&m.id))
                            .collect(),
                    };
                    for m in blamed {
                        let reason =
                            format!("the connection broke while fetching it: {}", e.message());
                        run.report.problems.push(MessageProblem::new(
                            m.id.to_string(),
                            MessageOutcome::Failed,
                            Some(e.category()),
                            Some(m.size),
                            reason.clone(),
                        ));
                        if m.id.ledger_key().is_none() {
                            continue;
                        }
                        state::record_problem(
                            store,
                            account_id,
                            &run.scope,
                            &problem_key(&m.id),
                            ProblemKind::Interrupted,
                            Some(m.size),
                            &reason,
                        )?;
                    }
                    return Err(CollectError::Connection(e));
                }
            }
        }
        Ok(())
    }
}

/// The folder the journal names: the IMAP mailbox, or `POP3`.
pub(crate) fn journal_folder(mailbox: Option<&str>) -> String {
    mailbox.unwrap_or("POP3").to_owned()
}

fn problem_key(id: &SourceId) -> String {
    match id {
        SourceId::Number(n) => format!("#{n}"),
        other => other.ledger_key().unwrap_or_default(),
    }
}

/// Runs one collection of `account` from `source`. The caller has made sure no other run of
/// the account is in progress in this process.
pub(crate) fn run(
    store: &Store,
    account_id: RecordId,
    account: &IncomingAccount,
    source: &mut dyn MailSource,
    cfg: &EngineConfig,
    control: &Control,
) -> Result<RunReport, CollectError> {
    let keep = account.keep_copy_on_server();
    let label_base = source.describe();
    tracing::debug!(account = account_id, source = %label_base, keep, "collecting");
    let listing = source.open(keep).map_err(CollectError::Connection)?;
    let unusable = source.unusable();
    let mut report = RunReport::new(account_id, account.name());
    report.notes = source.notes();
    report.needs_expunging = source.needs_expunging();
    report.journal_folder = journal_folder(listing.mailbox.as_deref());
    report.listed = (listing.messages.len() + unusable.len()) as u64;
    let (scope, label) = match (&listing.mailbox, listing.uid_validity) {
        (Some(mailbox), Some(v)) => {
            if state::set_uid_validity(store, account_id, mailbox, v)?.is_some() {
                report.resynced = true;
            }
            (
                state::imap_scope(mailbox, v),
                format!("IMAP {mailbox} UIDVALIDITY {v}"),
            )
        }
        (Some(mailbox), None) => (state::imap_scope(mailbox, 0), format!("IMAP {mailbox}")),
        (None, _) => (state::POP3_SCOPE.to_owned(), "POP3".to_owned()),
    };
    // A ledger entry proves the storage of the message it was made from only: ids listed more
    // than once (a server bug) say nothing about which message was stored, so those messages
    // are neither fetched nor removed under them.
    let mut seen_keys: HashMap<String, usize> = HashMap::new();
    for m in &listing.messages {
        if let Some(k) = m.id.ledger_key() {
            *seen_keys.entry(k).or_default() += 1;
        }
    }
    let stable_keys = listing.messages.iter().all(|m| m.id.ledger_key().is_some())
        && unusable.iter().all(|u| u.id.is_some());
    if stable_keys {
        let listed: HashSet<String> = listing
            .messages
            .iter()
            .map(|m| &m.id)
            .chain(unusable.iter().filter_map(|u| u.id.as_ref()))
            .filter_map(SourceId::ledger_key)
            .collect();
        let forgotten = state::prune(store, account_id, &scope, &listed)?;
        if forgotten > 0 {
            tracing::debug!(
                account = account_id,
                forgotten,
                "ledger entries no longer on the server forgotten"
            );
        }
    }
    let ledger = state::ledger_keys(store, account_id, &scope)?;
    let mut problems = state::problems(store, account_id, &scope)?;
    if !stable_keys {
        // Message numbers change between sessions: records kept under them described an
        // earlier session only.
        state::clear_numbered_problems(store, account_id, &scope)?;
        problems.retain(|k, _| !k.starts_with('#'));
    }
    let limit = account.max_message_size();

    for u in &unusable {
        if let Some(id) = &u.id {
            state::record_listing_refusal(store, account_id, &scope, &problem_key(id), &u.reason)?;
        }
        tracing::warn!(account = account_id, reason = %u.reason, "listed message left on the server");
        report.problems.push(MessageProblem::new(
            u.id.as_ref()
                .map_or_else(|| "(unknown)".to_owned(), ToString::to_string),
            MessageOutcome::Refused,
            Some(ErrorCategory::Protocol),
            None,
            u.reason.clone(),
        ));
    }

    let mut already = Vec::new();
    let mut to_fetch: Vec<(u32, usize, ListedMessage)> = Vec::new();
    for (i, m) in listing.messages.iter().enumerate() {
        if let Some(key) = m.id.ledger_key() {
            let times = seen_keys.get(&key).copied().unwrap_or(1);
            if times > 1 {
                let reason = format!(
                    "the server lists {times} messages under this same id: none of them is fetched or removed under it; left on the server"
                );
                report.problems.push(MessageProblem::new(
                    m.id.to_string(),
                    MessageOutcome::Refused,
                    Some(ErrorCategory::Protocol),
                    Some(m.size),
                    reason,
                ));
                continue;
            }
            match ledger.get(&key) {
                // Removing it from the server on the strength of the ledger needs the entry
                // to be this message's: one of another size (a server that reused the id)
                // is fetched, and the commit stores it unless the inbox has these very bytes.
                Some(Some(size)) if !keep && *size != m.size => {
                    tracing::info!(account = account_id, message = %m.id, listed = m.size, stored = size, "the ledger's message for this id has another size: fetched again");
                }
                Some(_) => {
                    already.push(m.id.clone());
                    continue;
                }
                None => {}
            }
        }
        let pkey = problem_key(&m.id);
        let problem = problems.get(&pkey);
        // Found larger than the limit while read in an earlier run (the server announced
        // less): skipped until the limit is above what was seen, or the record is cleared.
        let found_too_large = problem.filter(|p| {
            p.kind == ProblemKind::TooLarge && m.size <= limit && p.size.is_none_or(|s| s > limit)
        });
        if m.size > limit || found_too_large.is_some() {
            let reason = match found_too_large {
                Some(p) => p.reason.clone(),
                None => format!(
                    "{} bytes is larger than the account's limit of {} bytes: left on the server",
                    m.size, limit
                ),
            };
            if found_too_large.is_none() && problem.is_none_or(|p| p.kind != ProblemKind::TooLarge)
            {
                state::record_problem(
                    store,
                    account_id,
                    &scope,
                    &pkey,
                    ProblemKind::TooLarge,
                    Some(m.size),
                    &reason,
                )?;
                tracing::info!(account = account_id, message = %m.id, size = m.size, limit, "message too large: skipped");
            }
            report.skipped_too_large += 1;
            let mut p = MessageProblem::new(
                m.id.to_string(),
                MessageOutcome::SkippedTooLarge,
                None,
                Some(found_too_large.and_then(|p| p.size).unwrap_or(m.size)),
                reason,
            );
            p.attempts = problem.map_or(1, |p| p.attempts);
            report.problems.push(p);
            continue;
        }
        let interrupted = match problem {
            Some(p) if p.kind == ProblemKind::Failed && p.attempts >= cfg.max_failed_attempts => {
                let mut r = MessageProblem::new(
                    m.id.to_string(),
                    MessageOutcome::Refused,
                    Some(ErrorCategory::Protocol),
                    Some(m.size),
                    format!(
                        "{} (refused {} times: no longer asked for; `retry_skipped` asks again)",
                        p.reason, p.attempts
                    ),
                );
                r.attempts = p.attempts;
                report.problems.push(r);
                continue;
            }
            Some(p) if p.kind == ProblemKind::Interrupted => p.attempts,
            _ => 0,
        };
        to_fetch.push((interrupted, i, m.clone()));
    }
    report.already_stored = already.len() as u64;
    // Previously interrupted messages last, least interrupted first.
    to_fetch.sort_by_key(|(interrupted, i, _)| (*interrupted, *i));

    // Two commit groups' worth: the network half keeps receiving while a group is committed
    // (its fsync), without holding more than that in memory.
    let writer = Writer::new(cfg.commit_bytes.saturating_mul(2));
    // WAL checkpoints run beside the commits, not inside them (see `store::checkpoint`).
    let bulk = store.bulk();
    let job = WriterJob {
        bulk: &bulk,
        store,
        account_id,
        scope: scope.clone(),
        label: label.clone(),
        commit_bytes: cfg.commit_bytes,
        commit_messages: cfg.commit_messages,
        fence: control.fence.as_deref(),
        journal: control
            .journal_run
            .map(|run_id| crate::journal::RunContext {
                run_id,
                account_id,
                folder: journal_folder(listing.mailbox.as_deref()),
            }),
    };
    std::thread::scope(|threads| {
        let _stop = StopWriter(&writer);
        let w = &writer;
        threads.spawn(move || {
            // A panic in the storing thread (a bug) must fail this run, not the caller: the
            // writer then reports an error to the run, and the scope does not re-raise it.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.work(job)));
        });
        let mut run = Run {
            store,
            account_id,
            account_name: account.name().to_owned(),
            scope,
            label,
            control,
            writer: &writer,
            report,
            limit,
            total: to_fetch.len() as u64,
            total_bytes: to_fetch.iter().map(|(_, _, m)| m.size).sum(),
            done: 0,
        };
        run.emit();

        if !keep && !already.is_empty() {
            if let Some(f) = &control.fence {
                f.check_before_server_change(store)?;
            }
            source.delete(&already).map_err(CollectError::Connection)?;
            run.report.deleted_on_server += already.len() as u64;
        }

        // Batches bounded by size and count. Messages that were on the wire when an earlier
        // connection broke come after all the others, one a request.
        let (risky, plain): (Vec<_>, Vec<_>) = to_fetch.into_iter().partition(|(n, _, _)| *n > 0);
        let mut batches: Vec<Vec<ListedMessage>> = Vec::new();
        let mut current: Vec<ListedMessage> = Vec::new();
        let mut current_bytes = 0u64;
        for (_, _, m) in plain {
            if !current.is_empty()
                && (current.len() >= cfg.batch_messages || current_bytes + m.size > cfg.batch_bytes)
            {
                batches.push(std::mem::take(&mut current));
                current_bytes = 0;
            }
            current_bytes += m.size;
            current.push(m);
        }
        if !current.is_empty() {
            batches.push(current);
        }

        let mut progress = Fetching {
            keep,
            processed: 0,
            refusals_in_a_row: 0,
        };
        let mut failure = progress.fetch_all(
            &mut run,
            source,
            batches.into_iter().map(|b| (b, false)).collect(),
        );
        if failure.is_none() && !run.report.cancelled && !risky.is_empty() {
            // Without keep copy, end the session first, so that what was fetched so far leaves the
            // server (POP3 applies DELE only at QUIT) even if the risky message breaks the
            // connection again; then list again and try them.
            let mut risky: Vec<ListedMessage> = risky.into_iter().map(|(_, _, m)| m).collect();
            let reopened = if keep {
                Ok(())
            } else {
                source
                    .close()
                    .and_then(|()| source.open(keep))
                    .map(|listing| {
                        risky.retain(|m| listing.messages.iter().any(|l| l.id == m.id));
                    })
            };
            failure = match reopened {
                Ok(()) => progress.fetch_all(
                    &mut run,
                    source,
                    risky.into_iter().map(|m| (vec![m], true)).collect(),
                ),
                Err(e) => Some(CollectError::Connection(e)),
            };
        }
        // Everything received is committed before the run reports (and ends).
        match writer.barrier() {
            Ok(outcomes) => run.count(&outcomes),
            Err(e) => {
                if failure.is_none() {
                    failure = Some(CollectError::Store(e));
                }
            }
        }
        let processed = progress.processed;
        run.report.pending = run.total.saturating_sub(processed);
        if failure.is_none() {
            if let Err(e) = source.close() {
                // Nothing is lost: without keep copy, POP3 deletions are simply not applied and
                // the next run removes those messages (they are in the ledger).
                failure = Some(CollectError::Connection(e));
            }
        }
        run.report.skipped =
            state::skipped(store, account_id, cfg.max_failed_attempts)?.len() as u64;
        run.emit();
        let report = run.report;
        tracing::info!(
            account = account_id,
            fetched = report.fetched,
            duplicates = report.duplicates,
            skipped = report.skipped,
            pending = report.pending,
            bytes = report.bytes,
            error = failure.as_ref().map(|e| e.to_string()),
            "collection run finished"
        );
        match failure {
            None => Ok(report),
            Some(error) => Err(CollectError::Interrupted {
                report: Box::new(report),
                error: Box::new(error),
            }),
        }
    })
}
