//! The storing half of a run, on a thread of its own: hashes, summarises and commits the
//! messages the network half hands over, so that storing one message overlaps receiving the
//! next (on two cores, collection then runs at the speed of the slower half, not of both
//! added up).
//!
//! The hand-over queue is bounded in bytes (one message is always let through, however
//! large), so memory stays flat. Nothing here changes the server: the run asks for a
//! [`Writer::barrier`] — everything handed over is committed, durably — before it removes any
//! message from the server.
//!
//! Each commit also writes the collection journal's `stored`/`duplicate` entries of its
//! messages ([`crate::journal`]), in the same transaction: no sync of its own.

use super::source::SourceId;
use super::state::{self, Outcome, Staged};
use crate::inbox;
use crate::model::RecordId;
use crate::store::checkpoint::Bulk;
use crate::store::{Store, StoreError};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// A message handed over: raw, or already hashed and summarised by the network half.
pub(crate) enum Item {
    Raw(Vec<u8>),
    Staged(Box<Staged>),
}

impl Item {
    fn len(&self) -> u64 {
        match self {
            Item::Raw(r) => r.len() as u64,
            Item::Staged(s) => s.raw.len() as u64,
        }
    }
}

#[derive(Default)]
struct State {
    queue: VecDeque<(SourceId, Item)>,
    queued_bytes: u64,
    /// A barrier is asked for: commit everything, then clear it.
    flush: bool,
    stop: bool,
    /// The thread is gone (stopped, or died).
    dead: bool,
    outcomes: Vec<(SourceId, Outcome)>,
    error: Option<StoreError>,
}

/// The network half's handle on the storing thread.
pub(crate) struct Writer {
    shared: Arc<(Mutex<State>, Condvar)>,
    limit: u64,
}

/// What the storing thread needs to know.
pub(crate) struct WriterJob<'a> {
    pub(crate) store: &'a Store,
    /// Told what each commit wrote.
    pub(crate) bulk: &'a Bulk<'a>,
    pub(crate) account_id: RecordId,
    pub(crate) scope: String,
    pub(crate) label: String,
    pub(crate) commit_bytes: u64,
    pub(crate) commit_messages: usize,
    /// The run's lease, checked in every commit's transaction.
    pub(crate) fence: Option<&'a super::lease::Fence>,
    /// The run's journal: each commit writes the entries of its messages in its own
    /// transaction. `None`: no journal (an internal option, for the benchmark).
    pub(crate) journal: Option<crate::journal::RunContext>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Marks the writer dead when its thread ends, however it ends.
struct Death(Arc<(Mutex<State>, Condvar)>);

impl Drop for Death {
    fn drop(&mut self) {
        let (m, cv) = &*self.0;
        let mut s = lock(m);
        s.dead = true;
        if s.error.is_none() && std::thread::panicking() {
            s.error = Some(StoreError::Io(std::io::Error::other(
                "the thread storing messages failed",
            )));
        }
        drop(s);
        cv.notify_all();
    }
}

impl Writer {
    /// A writer whose queue holds at most `limit` bytes.
    pub(crate) fn new(limit: u64) -> Self {
        Self {
            shared: Arc::new((Mutex::new(State::default()), Condvar::new())),
            limit: limit.max(1),
        }
    }

    /// Whether handing over a message of `len` bytes would have to wait (the queue is full).
    /// The network half then hashes and summarises it itself ([`stage`]) rather than wait
    /// idle; otherwise the storing thread does it. The network half is usually the slower
    /// one (it shares the CPU with TLS and, locally, with the server), so it must not take on
    /// work the storing thread has time for: staging whenever the queue merely held a message
    /// (the storing thread was in a commit) put most of the hashing and parsing on it.
    pub(crate) fn full(&self, len: u64) -> bool {
        let s = lock(&self.shared.0);
        !s.queue.is_empty() && s.queued_bytes + len > self.limit
    }

    /// Hands a message over; waits while the queue is full. Returns `false` when storing
    /// has failed (the run must stop; [`Writer::barrier`] says why).
    pub(crate) fn push(&self, id: SourceId, item: Item) -> bool {
        let (m, cv) = &*self.shared;
        let mut s = lock(m);
        let len = item.len();
        while s.error.is_none()
            && !s.dead
            && !s.queue.is_empty()
            && s.queued_bytes + len > self.limit
        {
            s = cv.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        if s.error.is_some() || s.dead {
            return false;
        }
        s.queued_bytes += len;
        s.queue.push_back((id, item));
        drop(s);
        cv.notify_all();
        true
    }

    /// Whether storing has failed.
    pub(crate) fn failed(&self) -> bool {
        lock(&self.shared.0).error.is_some()
    }

    /// Waits until everything handed over is committed; returns what committing did since
    /// the last barrier, or the store's error (then nothing more is stored).
    pub(crate) fn barrier(&self) -> Result<Vec<(SourceId, Outcome)>, StoreError> {
        let (m, cv) = &*self.shared;
        let mut s = lock(m);
        s.flush = true;
        cv.notify_all();
        while s.flush && !s.dead && s.error.is_none() {
            s = cv.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        if let Some(e) = s.error.take() {
            // Keep failing: nothing after a failed commit is stored.
            s.error = Some(StoreError::Io(std::io::Error::other(
                "storing messages failed earlier in this run",
            )));
            return Err(e);
        }
        if s.dead && (s.flush || !s.queue.is_empty()) {
            return Err(StoreError::Io(std::io::Error::other(
                "the thread storing messages has stopped",
            )));
        }
        Ok(std::mem::take(&mut s.outcomes))
    }

    /// Asks the thread to end once the queue is empty.
    pub(crate) fn stop(&self) {
        let (m, cv) = &*self.shared;
        lock(m).stop = true;
        cv.notify_all();
    }

    /// The storing thread's body.
    pub(crate) fn work(&self, job: WriterJob<'_>) {
        let _death = Death(self.shared.clone());
        let (m, cv) = &*self.shared;
        let mut group: Vec<(SourceId, Staged)> = Vec::new();
        let mut group_bytes = 0u64;
        loop {
            let item = {
                let mut s = lock(m);
                loop {
                    if let Some((id, item)) = s.queue.pop_front() {
                        s.queued_bytes -= item.len();
                        cv.notify_all();
                        break Some((id, item));
                    }
                    if s.flush || s.stop {
                        break None;
                    }
                    s = cv.wait(s).unwrap_or_else(PoisonError::into_inner);
                }
            };
            match item {
                Some((id, item)) => {
                    if lock(m).error.is_some() {
                        continue;
                    }
                    group_bytes += item.len();
                    let staged = match item {
                        Item::Raw(raw) => stage(&job.label, &id, raw),
                        Item::Staged(staged) => *staged,
                    };
                    group.push((id, staged));
                    if group_bytes >= job.commit_bytes || group.len() >= job.commit_messages {
                        commit(&job, m, &mut group, group_bytes);
                        group_bytes = 0;
                    }
                }
                None => {
                    if !group.is_empty() {
                        commit(&job, m, &mut group, group_bytes);
                        group_bytes = 0;
                    }
                    let mut s = lock(m);
                    s.flush = false;
                    let stop = s.stop && s.queue.is_empty();
                    drop(s);
                    cv.notify_all();
                    if stop {
                        return;
                    }
                }
            }
        }
    }
}

/// Hashes and summarises a message; `label` says where it came from (`IMAP INBOX
/// UIDVALIDITY 7`).
pub(crate) fn stage(label: &str, id: &SourceId, raw: Vec<u8>) -> Staged {
    let hash = inbox::content_hash(&raw);
    let summary = inbox::summarize(&raw);
    let key = id.ledger_key().unwrap_or_else(|| state::hash_key(&hash));
    let source = match id {
        SourceId::Number(_) => format!("{label} {key}"),
        other => format!("{label} {other}"),
    };
    Staged {
        key,
        source,
        raw,
        hash,
        summary,
    }
}

/// Commits the group (`bytes` of messages) in one durable transaction and records the
/// outcomes (or the error).
fn commit(job: &WriterJob<'_>, m: &Mutex<State>, group: &mut Vec<(SourceId, Staged)>, bytes: u64) {
    let (ids, staged): (Vec<SourceId>, Vec<Staged>) = std::mem::take(group).into_iter().unzip();
    let server_ids: Vec<String> = match &job.journal {
        Some(_) => ids.iter().map(ToString::to_string).collect(),
        None => Vec::new(),
    };
    let journal = job.journal.as_ref().map(|j| (j, server_ids.as_slice()));
    let result = state::commit(
        job.store,
        job.account_id,
        &job.scope,
        &staged,
        job.fence,
        journal,
    );
    if result.is_ok() {
        job.bulk.committed(bytes);
    }
    drop(staged);
    let mut s = lock(m);
    match result {
        Ok(outcomes) => s.outcomes.extend(ids.into_iter().zip(outcomes)),
        Err(e) => {
            tracing::error!(account = job.account_id, error = %e, "storing messages failed");
            if s.error.is_none() {
                s.error = Some(e);
            }
        }
    }
}
