//! WAL checkpoints kept out of bulk writes.
//!
//! In WAL mode a commit appends its pages to the `-wal` file, and SQLite's automatic
//! checkpoint copies the WAL back into the main file *inside* the commit that crosses its mark
//! (1,000 pages: 64 MB with the store's 64 KiB pages), with an fsync of the main file. A
//! collector commit that takes a few milliseconds then took ~50 ms, and the network half of the
//! run stalled behind it (measured by the collection benchmark).
//!
//! So while bulk writers are at work ([`Store::bulk`], used by collector runs) the store's
//! connection does not checkpoint by itself; a thread of the store's own, on a second
//! connection to the same file, runs a **passive** checkpoint each time another
//! [`CHECKPOINT_BYTES`] have been committed. A passive checkpoint never blocks writers or
//! readers: copying overlaps the next commits, and once the WAL has been copied whole the next
//! commit starts it again from the beginning, so it stays small. When the last bulk writer is
//! done the thread stops (a checkpoint it is in the middle of is interrupted, which is safe)
//! and the automatic checkpoint is on again, so what the WAL still holds is copied by a later
//! commit or when the store is closed. Durability does not depend on any of this: a commit is
//! durable once it is in the WAL (`synchronous=FULL`).

use super::Store;
use rusqlite::{Connection, InterruptHandle, OpenFlags};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

/// Bytes committed by bulk writers between two passive checkpoints.
pub(crate) const CHECKPOINT_BYTES: u64 = 16 << 20;

/// SQLite's default `wal_autocheckpoint`, restored after bulk writes.
const AUTOCHECKPOINT_PAGES: i64 = 1000;

#[derive(Default)]
struct State {
    /// Bulk writers at work.
    users: usize,
    /// Bytes committed since the last checkpoint started.
    pending: u64,
    stop: bool,
    thread: Option<JoinHandle<()>>,
    interrupt: Option<InterruptHandle>,
}

/// The store's checkpointing state (one per [`Store`]).
#[derive(Default)]
pub(crate) struct Checkpoints {
    state: Mutex<State>,
    wake: Condvar,
}

impl Checkpoints {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A bulk writer at work; see the module documentation. Dropping it ends its part.
pub(crate) struct Bulk<'a> {
    store: &'a Store,
}

impl Bulk<'_> {
    /// Tells the checkpointing thread that `bytes` more were committed.
    pub(crate) fn committed(&self, bytes: u64) {
        let shared = &self.store.checkpoints;
        let mut s = shared.lock();
        s.pending = s.pending.saturating_add(bytes);
        if s.pending >= CHECKPOINT_BYTES {
            drop(s);
            shared.wake.notify_all();
        }
    }
}

impl Drop for Bulk<'_> {
    fn drop(&mut self) {
        let shared = &self.store.checkpoints;
        let mut s = shared.lock();
        s.users = s.users.saturating_sub(1);
        if s.users > 0 {
            return;
        }
        s.stop = true;
        let thread = s.thread.take();
        if let Some(i) = s.interrupt.take() {
            i.interrupt();
        }
        drop(s);
        shared.wake.notify_all();
        if let Some(t) = thread {
            let _ = t.join();
        }
        if let Some(conn) = self.store.sqlite_lock() {
            if let Err(e) = conn.pragma_update(None, "wal_autocheckpoint", AUTOCHECKPOINT_PAGES) {
                tracing::warn!(error = %e, "could not turn the automatic WAL checkpoint on again");
            }
        }
    }
}

impl Store {
    /// Starts a bulk writer's part: see [the module documentation](self). In memory, or when
    /// the second connection cannot be opened, nothing changes (SQLite checkpoints by itself).
    pub(crate) fn bulk(&self) -> Bulk<'_> {
        let shared = &self.checkpoints;
        let mut s = shared.lock();
        s.users += 1;
        if s.users == 1 {
            if let Some(path) = &self.path {
                s.stop = false;
                s.pending = 0;
                match self.start_checkpoints(path, shared) {
                    Ok((thread, interrupt)) => {
                        s.thread = Some(thread);
                        s.interrupt = Some(interrupt);
                    }
                    Err(e) => tracing::debug!(
                        error = %e,
                        "no checkpointing thread; SQLite checkpoints by itself"
                    ),
                }
            }
        }
        drop(s);
        Bulk { store: self }
    }

    /// Opens the second connection, turns the automatic checkpoint off and starts the thread.
    fn start_checkpoints(
        &self,
        path: &std::path::Path,
        shared: &Arc<Checkpoints>,
    ) -> Result<(JoinHandle<()>, InterruptHandle), rusqlite::Error> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let interrupt = conn.get_interrupt_handle();
        if let Some(c) = self.sqlite_lock() {
            c.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        let shared = Arc::clone(shared);
        std::thread::Builder::new()
            .name("mail-settings-checkpoint".to_owned())
            .spawn(move || run(&conn, &shared))
            .map(|thread| (thread, interrupt))
            .map_err(|e| {
                if let Some(c) = self.sqlite_lock() {
                    let _ = c.pragma_update(None, "wal_autocheckpoint", AUTOCHECKPOINT_PAGES);
                }
                rusqlite::Error::ToSqlConversionFailure(Box::new(e))
            })
    }
}

/// The thread: a passive checkpoint each time enough was committed, until told to stop.
fn run(conn: &Connection, shared: &Checkpoints) {
    loop {
        {
            let mut s = shared.lock();
            while !s.stop && s.pending < CHECKPOINT_BYTES {
                s = shared.wake.wait(s).unwrap_or_else(PoisonError::into_inner);
            }
            if s.stop {
                return;
            }
            s.pending = 0;
        }
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        match done {
            Ok((frames, copied)) => {
                tracing::trace!(frames, copied, "passive WAL checkpoint");
            }
            Err(e) => tracing::debug!(error = %e, "passive WAL checkpoint stopped"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::{Duration, Instant};

    fn autocheckpoint(store: &Store) -> i64 {
        store
            .lock()
            .unwrap()
            .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
            .unwrap()
    }

    /// Commits `mb` MiB of blobs, telling `bulk` after each commit.
    fn fill(store: &Store, bulk: &Bulk<'_>, mb: usize) {
        store
            .write(|c| {
                c.execute_batch("CREATE TABLE IF NOT EXISTS blobs (b BLOB)")?;
                Ok(())
            })
            .unwrap();
        let blob = vec![7u8; 1 << 20];
        for _ in 0..mb {
            store
                .write(|c| {
                    c.execute("INSERT INTO blobs (b) VALUES (?1)", [&blob])?;
                    Ok(())
                })
                .unwrap();
            bulk.committed(blob.len() as u64);
        }
    }

    #[test]
    fn bulk_writes_are_checkpointed_beside_the_commits_and_the_automatic_checkpoint_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = Store::open(&path).unwrap();
        assert_eq!(autocheckpoint(&store), AUTOCHECKPOINT_PAGES);
        let main_before = std::fs::metadata(&path).unwrap().len();
        {
            let outer = store.bulk();
            let inner = store.bulk();
            assert_eq!(autocheckpoint(&store), 0, "off while bulk writers work");
            fill(&store, &inner, 40);
            drop(inner);
            assert_eq!(
                autocheckpoint(&store),
                0,
                "still off: one bulk writer is left"
            );
            // The main file only grows by checkpoints (WAL mode): the thread copied pages.
            let deadline = Instant::now() + Duration::from_secs(20);
            while std::fs::metadata(&path).unwrap().len() < main_before + (16 << 20) {
                assert!(
                    Instant::now() < deadline,
                    "no checkpoint ran beside the commits"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            drop(outer);
        }
        assert_eq!(autocheckpoint(&store), AUTOCHECKPOINT_PAGES);
        // Everything committed is there, and a new bulk writer starts a new thread.
        let n: i64 = store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(n, 40);
        let again = store.bulk();
        assert!(store.checkpoints.lock().thread.is_some());
        drop(again);
        assert!(store.checkpoints.lock().thread.is_none());
    }

    #[test]
    fn in_memory_stores_have_no_checkpointing_thread() {
        let store = Store::open_in_memory().unwrap();
        let bulk = store.bulk();
        assert!(store.checkpoints.lock().thread.is_none());
        fill(&store, &bulk, 2);
        drop(bulk);
    }
}
