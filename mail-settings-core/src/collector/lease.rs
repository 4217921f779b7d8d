//! Leases: collectors on several processes or hosts share one store, and each account is
//! collected by one node at a time.
//!
//! A lease is a row of `collector_leases`: the account, the owner (a node's name), the
//! expiry and a **fencing token** that grows by one each time the account changes hands. A
//! node
//! - **acquires** an account's lease when nobody holds it or the holder's lease expired
//!   (the holder died or stalled): one `INSERT … ON CONFLICT DO UPDATE … WHERE expired`
//!   statement, so two nodes racing for it cannot both win;
//! - **renews** it while its run goes on (before half the time to live has passed);
//! - **releases** it when the run ends (the row stays, with its token, so the next holder's
//!   token is larger);
//! - **checks the token** ([`Leases::check`]) in the same transaction that commits a message,
//!   and before it changes the server (delete, move): a node that lost its lease, because it
//!   was paused past the expiry or cut off from the database, can do neither. On SQLite the
//!   check and the commit share one `BEGIN IMMEDIATE` transaction; on PostgreSQL the check
//!   reads the lease row `FOR SHARE`, so a take-over waits until that commit is done.
//!
//! Every acquisition is also written to `collector_lease_log` (account, token, owner, time):
//! the fencing record that shows which node held an account when.
//!
//! Time comes from the database (`Sql::now_ms`): PostgreSQL's clock for every node, so
//! hosts' clocks need not agree; on SQLite (one machine) the machine's clock.
//!
//! Work spreading: [`Leases::acquire_up_to`] walks the due accounts and takes those it can
//! lease until the node holds its worker count, so with N nodes and M due accounts each node
//! takes what the others have not. A failing account is released at the end of its run like
//! any other (its back-off is in the collector's status, not in a held lease).

use crate::model::RecordId;
use crate::store::backend::{Dialect, Sql, SqliteTx, Value};
#[cfg(feature = "postgres")]
use crate::store::PostgresDb;
use crate::store::{Store, StoreError};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// A lease this node holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The account.
    pub account_id: RecordId,
    /// The fencing token: larger than every earlier holder's.
    pub token: i64,
    /// When it expires, in the database's milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}

/// Which store the leases are in.
#[derive(Clone, Copy, Debug)]
pub enum LeaseStore<'a> {
    /// A store, on either backend (SQLite: several processes on one file; PostgreSQL: any
    /// number of hosts).
    Store(&'a Store),
    /// A PostgreSQL database opened on its own.
    #[cfg(feature = "postgres")]
    Postgres(&'a PostgresDb),
}

impl LeaseStore<'_> {
    /// Runs `f` in one write transaction (on PostgreSQL without the settings writers' lock:
    /// lease rows are locked by their own statements).
    pub(crate) fn transaction<R>(
        &self,
        f: impl FnOnce(&mut dyn Sql) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        match self {
            #[cfg(feature = "postgres")]
            LeaseStore::Store(s) => match s.postgres() {
                Some(p) => p.transaction(f),
                None => s.write(|c| f(&mut SqliteTx(c))),
            },
            #[cfg(not(feature = "postgres"))]
            LeaseStore::Store(s) => s.write(|c| f(&mut SqliteTx(c))),
            #[cfg(feature = "postgres")]
            LeaseStore::Postgres(p) => p.transaction(f),
        }
    }
}

/// One node's handle on the leases.
#[derive(Debug)]
pub struct Leases<'a> {
    store: LeaseStore<'a>,
    owner: String,
    ttl: Duration,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl<'a> Leases<'a> {
    /// Leases in `store` for the node named `owner` (unique among the nodes: host name and
    /// process id, say), each lasting `ttl` unless renewed.
    pub fn new(store: LeaseStore<'a>, owner: impl Into<String>, ttl: Duration) -> Self {
        Leases {
            store,
            owner: owner.into(),
            ttl,
        }
    }

    /// The node's name.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Takes the lease on `account_id` if nobody holds it or its holder's lease expired;
    /// `None` when another node holds it.
    pub fn acquire(&self, account_id: RecordId) -> Result<Option<Lease>, StoreError> {
        self.store
            .transaction(|tx| acquire(tx, account_id, &self.owner, ms(self.ttl)))
    }

    /// Takes leases on accounts from `due` (in that order) that no other node holds, until
    /// this node holds `max` of them (counting `already_held`).
    pub fn acquire_up_to(
        &self,
        due: &[RecordId],
        already_held: usize,
        max: usize,
    ) -> Result<Vec<Lease>, StoreError> {
        let mut out = Vec::new();
        for &id in due {
            if already_held + out.len() >= max {
                break;
            }
            if let Some(l) = self.acquire(id)? {
                out.push(l);
            }
        }
        Ok(out)
    }

    /// Extends the lease by the time to live, if it is still this node's; otherwise
    /// [`StoreError::LeaseLost`].
    pub fn renew(&self, lease: &Lease) -> Result<Lease, StoreError> {
        self.store.transaction(|tx| {
            let now = tx.now_ms()?;
            let until = now.saturating_add(ms(self.ttl));
            let n = tx.execute(
                "UPDATE collector_leases SET expires_at = ?1
                 WHERE account_id = ?2 AND token = ?3 AND owner = ?4 AND expires_at > ?5",
                &[
                    until.into(),
                    lease.account_id.into(),
                    lease.token.into(),
                    self.owner.as_str().into(),
                    now.into(),
                ],
            )?;
            if n == 0 {
                return Err(lost(lease));
            }
            Ok(Lease {
                expires_at_ms: until,
                ..lease.clone()
            })
        })
    }

    /// Gives the lease up (if it is still this node's; otherwise nothing happens).
    pub fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.store.transaction(|tx| {
            tx.execute(
                "UPDATE collector_leases SET expires_at = 0
                 WHERE account_id = ?1 AND token = ?2 AND owner = ?3",
                &[
                    lease.account_id.into(),
                    lease.token.into(),
                    self.owner.as_str().into(),
                ],
            )?;
            Ok(())
        })
    }

    /// Fails with [`StoreError::LeaseLost`] unless the lease is still this node's and has at
    /// least `margin` left: the check before a change on the server (the margin covers the
    /// time the change takes).
    pub fn check(&self, lease: &Lease, margin: Duration) -> Result<(), StoreError> {
        self.store
            .transaction(|tx| check(tx, lease, &self.owner, ms(margin)))
    }

    /// Runs `f` in one transaction with the fencing check first: `f`'s writes commit only if
    /// the lease is still this node's.
    #[cfg(test)]
    pub(crate) fn fenced<R>(
        &self,
        lease: &Lease,
        f: impl FnOnce(&mut dyn Sql) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.store.transaction(|tx| {
            check(tx, lease, &self.owner, 0)?;
            f(tx)
        })
    }
}

/// How a collector shares its accounts with other nodes ([`crate::collector::CollectorOptions::lease`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseOptions {
    /// This node's name, unique among the nodes (host name and process id, say).
    pub owner: String,
    /// How long a lease lasts unless renewed (the run renews it every third of this). A node
    /// that stops for longer loses its accounts to the others.
    pub ttl: Duration,
    /// Time a lease must have left before a change on the server (delete): covers the
    /// change itself. Default: a third of `ttl`.
    pub server_change_margin: Duration,
}

impl LeaseOptions {
    /// Leases for node `owner` lasting `ttl`.
    pub fn new(owner: impl Into<String>, ttl: Duration) -> Self {
        LeaseOptions {
            owner: owner.into(),
            ttl,
            server_change_margin: ttl / 3,
        }
    }
}

/// The lease a run holds, as the engine and the writer check it.
#[derive(Debug)]
pub(crate) struct Fence {
    pub(crate) owner: String,
    pub(crate) lease: Lease,
    pub(crate) margin: Duration,
}

impl Fence {
    /// The check inside a commit's transaction (SQLite store).
    pub(crate) fn check_in(&self, c: &rusqlite::Connection) -> Result<(), StoreError> {
        check(&mut SqliteTx(c), &self.lease, &self.owner, 0)
    }

    /// The check before a change on the server.
    pub(crate) fn check_before_server_change(&self, store: &Store) -> Result<(), StoreError> {
        LeaseStore::Store(store)
            .transaction(|tx| check(tx, &self.lease, &self.owner, ms(self.margin)))
    }
}

/// Renews a run's lease on a thread of its own (every third of the time to live) while the
/// run goes on; cancels the run when the lease is lost. Dropping it stops renewing and
/// releases the lease.
pub(crate) struct Renewer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
    store: Arc<Store>,
    owner: String,
    lease: Lease,
}

impl Renewer {
    pub(crate) fn start(
        store: Arc<Store>,
        options: &LeaseOptions,
        lease: Lease,
        cancel: super::CancelToken,
    ) -> Self {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = {
            let (stop, store, lease) = (Arc::clone(&stop), Arc::clone(&store), lease.clone());
            let (owner, ttl) = (options.owner.clone(), options.ttl);
            std::thread::Builder::new()
                .name(format!("lease-{}", lease.account_id))
                .spawn(move || {
                    let leases = Leases::new(LeaseStore::Store(&store), owner, ttl);
                    let mut current = lease;
                    let (m, cv) = &*stop;
                    let mut stopped = m.lock().unwrap_or_else(PoisonError::into_inner);
                    loop {
                        let (guard, _) = cv
                            .wait_timeout_while(stopped, ttl / 3, |s| !*s)
                            .unwrap_or_else(PoisonError::into_inner);
                        stopped = guard;
                        if *stopped {
                            return;
                        }
                        match leases.renew(&current) {
                            Ok(l) => current = l,
                            Err(StoreError::LeaseLost { .. }) => {
                                tracing::warn!(
                                    account = current.account_id,
                                    "lease lost: cancelling the run"
                                );
                                cancel.cancel();
                                return;
                            }
                            // A passing store error: try again at the next tick (the lease
                            // lasts three ticks).
                            Err(e) => {
                                tracing::warn!(error = %e, "could not renew the collector lease")
                            }
                        }
                    }
                })
                .ok()
        };
        Renewer {
            stop,
            thread,
            store,
            owner: options.owner.clone(),
            lease,
        }
    }
}

impl Drop for Renewer {
    fn drop(&mut self) {
        let (m, cv) = &*self.stop;
        *m.lock().unwrap_or_else(PoisonError::into_inner) = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let leases = Leases::new(
            LeaseStore::Store(&self.store),
            self.owner.clone(),
            Duration::ZERO,
        );
        if let Err(e) = leases.release(&self.lease) {
            tracing::warn!(error = %e, "could not release the collector lease (it expires by itself)");
        }
    }
}

fn lost(lease: &Lease) -> StoreError {
    StoreError::LeaseLost {
        account_id: lease.account_id,
        token: lease.token,
    }
}

/// The acquisition, in the caller's transaction.
pub(crate) fn acquire(
    tx: &mut dyn Sql,
    account_id: RecordId,
    owner: &str,
    ttl_ms: i64,
) -> Result<Option<Lease>, StoreError> {
    let now = tx.now_ms()?;
    let until = now.saturating_add(ttl_ms);
    let row = tx.query_opt(
        "INSERT INTO collector_leases (account_id, owner, expires_at, token)
         VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (account_id) DO UPDATE
             SET owner = excluded.owner, expires_at = excluded.expires_at,
                 token = collector_leases.token + 1
             WHERE collector_leases.expires_at <= ?4
         RETURNING token",
        &[account_id.into(), owner.into(), until.into(), now.into()],
    )?;
    let Some(token) = row.and_then(|r| r.first().and_then(Value::as_i64)) else {
        return Ok(None);
    };
    tx.execute(
        "INSERT INTO collector_lease_log (account_id, token, owner, acquired_at)
         VALUES (?1, ?2, ?3, ?4)",
        &[account_id.into(), token.into(), owner.into(), now.into()],
    )?;
    tracing::debug!(account_id, token, owner, "collector lease acquired");
    Ok(Some(Lease {
        account_id,
        token,
        expires_at_ms: until,
    }))
}

/// The fencing check, in the caller's transaction.
pub(crate) fn check(
    tx: &mut dyn Sql,
    lease: &Lease,
    owner: &str,
    margin_ms: i64,
) -> Result<(), StoreError> {
    let now = tx.now_ms()?;
    let lock = match tx.dialect() {
        Dialect::Postgres => " FOR SHARE",
        Dialect::Sqlite => "",
    };
    let row = tx.query_opt(
        &format!(
            "SELECT token, owner, expires_at FROM collector_leases WHERE account_id = ?1{lock}"
        ),
        &[lease.account_id.into()],
    )?;
    let ok = row.is_some_and(|r| {
        r.first().and_then(Value::as_i64) == Some(lease.token)
            && r.get(1).and_then(Value::as_str) == Some(owner)
            && r.get(2)
                .and_then(Value::as_i64)
                .is_some_and(|e| e > now.saturating_add(margin_ms))
    });
    if ok {
        Ok(())
    } else {
        tracing::warn!(
            account_id = lease.account_id,
            token = lease.token,
            "collector lease lost: nothing committed"
        );
        Err(lost(lease))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::{IncomingAccountForm, Protocol};
    use crate::store::pg::test_support;
    use crate::store::records::{self, Record};
    use crate::store::PostgresLocation;
    use crate::validate::name_key;
    use std::path::PathBuf;
    use std::sync::Barrier;

    /// One store, either backend; each `node()` is a connection of its own, as a separate
    /// process would have.
    enum Where {
        Sqlite(#[allow(dead_code)] tempfile::TempDir, PathBuf),
        Postgres(PostgresLocation),
    }

    #[allow(clippy::large_enum_variant)]
    enum Node {
        Sqlite(Store),
        Postgres(PostgresDb),
    }

    impl Node {
        fn leases(&self, owner: &str, ttl_ms: u64) -> Leases<'_> {
            let store = match self {
                Node::Sqlite(s) => LeaseStore::Store(s),
                Node::Postgres(p) => LeaseStore::Postgres(p),
            };
            Leases::new(store, owner, Duration::from_millis(ttl_ms))
        }
    }

    impl Where {
        fn node(&self) -> Node {
            match self {
                Where::Sqlite(_, p) => Node::Sqlite(Store::open(p).unwrap()),
                Where::Postgres(l) => Node::Postgres(PostgresDb::open(l).unwrap()),
            }
        }
    }

    /// SQLite always; PostgreSQL when the test server answers. `accounts` incoming accounts
    /// with ids 1..=accounts.
    fn backends(test: &str, accounts: i64) -> Vec<Where> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let mut out = vec![Where::Sqlite(dir, path)];
        if let Some(loc) = test_support::fresh_location(test) {
            out.push(Where::Postgres(loc));
        }
        for w in &out {
            let node = w.node();
            node.leases("setup", 1)
                .store
                .transaction(|tx| {
                    for id in 1..=accounts {
                        let name = format!("Account {id}");
                        let form = IncomingAccountForm {
                            name: name.clone(),
                            host: "mail.example.test".into(),
                            protocol: Some(Protocol::Imap),
                            credential: Some("c".into()),
                            ..IncomingAccountForm::default()
                        };
                        let mut values: Vec<Value> =
                            vec![id.into(), 1.into(), name_key(&name).into()];
                        values.extend(form.values().into_iter().map(Value::from));
                        tx.execute(&records::insert_sql::<IncomingAccountForm>(), &values)?;
                    }
                    Ok(())
                })
                .unwrap();
        }
        out
    }

    fn log(node: &Node) -> Vec<(i64, i64, String)> {
        node.leases("reader", 1)
            .store
            .transaction(|tx| {
                tx.query(
                    "SELECT account_id, token, owner FROM collector_lease_log ORDER BY account_id, token",
                    &[],
                )
            })
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r[0].as_i64().unwrap(),
                    r[1].as_i64().unwrap(),
                    r[2].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn one_holder_takeover_after_expiry_and_the_old_token_is_fenced_off() {
        for w in backends("takeover", 1) {
            let (na, nb) = (w.node(), w.node());
            let a = na.leases("node-a", 400);
            let b = nb.leases("node-b", 400);
            let la = a.acquire(1).unwrap().expect("free: A takes it");
            assert_eq!(la.token, 1);
            assert!(b.acquire(1).unwrap().is_none(), "held by A");
            let la = a.renew(&la).unwrap();
            a.check(&la, Duration::from_millis(50)).unwrap();
            // A stalls past its expiry; B takes over with a larger token.
            std::thread::sleep(Duration::from_millis(500));
            assert!(
                matches!(
                    a.check(&la, Duration::ZERO),
                    Err(StoreError::LeaseLost { .. })
                ),
                "expired: A may not change the server even before anyone takes over"
            );
            let lb = b.acquire(1).unwrap().expect("expired: B takes over");
            assert_eq!(lb.token, 2);
            // A wakes up: it can neither renew nor commit.
            assert!(matches!(a.renew(&la), Err(StoreError::LeaseLost { .. })));
            let wrote = a.fenced(&la, |tx| {
                tx.execute(
                    "UPDATE incoming_accounts SET version = 99 WHERE id = ?1",
                    &[1.into()],
                )
            });
            assert!(matches!(
                wrote,
                Err(StoreError::LeaseLost {
                    account_id: 1,
                    token: 1
                })
            ));
            // B's fenced write goes through.
            b.fenced(&lb, |tx| {
                tx.execute(
                    "UPDATE incoming_accounts SET version = 7 WHERE id = ?1",
                    &[1.into()],
                )
            })
            .unwrap();
            let v = b
                .store
                .transaction(|tx| {
                    tx.query_opt("SELECT version FROM incoming_accounts WHERE id = 1", &[])
                })
                .unwrap();
            assert_eq!(v, Some(vec![Value::Int(7)]), "A's write never landed");
            // A's release of a lease it lost changes nothing; B's release frees it.
            a.release(&la).unwrap();
            assert!(a.acquire(1).unwrap().is_none());
            b.release(&lb).unwrap();
            let again = a.acquire(1).unwrap().expect("released: free again");
            assert_eq!(again.token, 3, "tokens never repeat");
            assert_eq!(
                log(&na),
                vec![
                    (1, 1, "node-a".into()),
                    (1, 2, "node-b".into()),
                    (1, 3, "node-a".into())
                ]
            );
        }
    }

    #[test]
    fn nodes_racing_for_an_account_one_wins() {
        for w in backends("race", 20) {
            let w = Arc::new(w);
            let nodes = 6;
            let barrier = Arc::new(Barrier::new(nodes));
            let handles: Vec<_> = (0..nodes)
                .map(|i| {
                    let (w, barrier) = (Arc::clone(&w), Arc::clone(&barrier));
                    std::thread::spawn(move || {
                        let node = w.node();
                        let leases = node.leases(&format!("node-{i}"), 60_000);
                        barrier.wait();
                        (1..=20)
                            .filter_map(|id| leases.acquire(id).unwrap().map(|l| l.account_id))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut won: Vec<i64> = handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect();
            won.sort_unstable();
            assert_eq!(
                won,
                (1..=20).collect::<Vec<_>>(),
                "each account exactly once"
            );
            assert_eq!(log(&w.node()).len(), 20);
        }
    }

    #[test]
    fn work_spreads_up_to_each_nodes_worker_count() {
        for w in backends("spread", 10) {
            let (na, nb, nc) = (w.node(), w.node(), w.node());
            let due: Vec<i64> = (1..=10).collect();
            let a = na.leases("a", 60_000).acquire_up_to(&due, 0, 4).unwrap();
            let b = nb.leases("b", 60_000).acquire_up_to(&due, 0, 4).unwrap();
            let c = nc.leases("c", 60_000).acquire_up_to(&due, 1, 4).unwrap();
            let ids = |v: &[Lease]| v.iter().map(|l| l.account_id).collect::<Vec<_>>();
            assert_eq!(ids(&a), vec![1, 2, 3, 4]);
            assert_eq!(ids(&b), vec![5, 6, 7, 8]);
            assert_eq!(
                ids(&c),
                vec![9, 10],
                "c already held one: room for three, two left"
            );
        }
    }

    fn message(i: usize) -> Vec<u8> {
        format!(
            "From: s{i}@example.test\r\nSubject: Ticket {i}\r\nMessage-ID: <m{i}@example.test>\r\n\r\nBody {i}.\r\n"
        )
        .into_bytes()
    }

    fn stored_ids(store: &Arc<Store>, account: RecordId) -> Vec<String> {
        let mut q = crate::inbox::InboxQuery::account(account);
        q.page_size = 1000;
        let mut ids: Vec<String> = crate::inbox::Inbox::new(store.clone())
            .list(&q)
            .unwrap()
            .messages
            .into_iter()
            .map(|m| m.message_id.unwrap_or_default())
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn a_collector_that_loses_its_lease_mid_run_commits_and_deletes_nothing_more() {
        use crate::collector::{
            CollectError, Collector, CollectorOptions, MailSource, MemoryProtocol, MemoryServer,
            Progress, RunControl,
        };
        use crate::IncomingAccount;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let store_a = Arc::new(Store::open(&path).unwrap());
        let account = store_a
            .create_incoming(&IncomingAccountForm {
                name: "Desk".into(),
                host: "mail.example.test".into(),
                protocol: Some(Protocol::Imap),
                credential: Some("c".into()),
                keep_copy_on_server: false,
                ..IncomingAccountForm::default()
            })
            .unwrap()
            .id;
        let server = MemoryServer::new(MemoryProtocol::Imap);
        for i in 0..30 {
            server.add(message(i));
        }
        let node = |store: Arc<Store>, owner: &str| {
            let s = server.clone();
            let o = CollectorOptions {
                batch_messages: 3,
                commit_messages: 2,
                lease: Some(LeaseOptions::new(owner, Duration::from_secs(60))),
                ..CollectorOptions::default()
            };
            Collector::with_sources(
                store,
                Arc::new(
                    move |_: &IncomingAccount| Ok(Box::new(s.source()) as Box<dyn MailSource>),
                ),
                o,
            )
        };
        let a = node(store_a.clone(), "node-a");
        // Another process (its own connection) takes the account over mid-run, as it would
        // after node A stalled past its lease.
        let store_b = Arc::new(Store::open(&path).unwrap());
        let at_steal = Arc::new(std::sync::Mutex::new(None));
        let listener = {
            let (store_b, at_steal, server) = (store_b.clone(), at_steal.clone(), server.clone());
            move |p: &Progress| {
                let mut at = at_steal.lock().unwrap();
                if p.done >= 6 && at.is_none() {
                    store_b
                        .write(|c| {
                            c.execute("UPDATE collector_leases SET expires_at = 0", [])?;
                            Ok(())
                        })
                        .unwrap();
                    let b = Leases::new(
                        LeaseStore::Store(&store_b),
                        "node-b",
                        Duration::from_secs(60),
                    );
                    let l = b.acquire(account).unwrap().expect("expired: B takes over");
                    assert_eq!(l.token, 2);
                    *at = Some((stored_ids(&store_b, account).len(), server.len(), l));
                }
            }
        };
        let control = RunControl {
            progress: Some(Arc::new(listener)),
            ..RunControl::default()
        };
        let err = a.check_now_with(account, &control).unwrap_err();
        assert!(err.to_string().contains("lease"), "{err}");
        let (stored, on_server, b_lease) = at_steal.lock().unwrap().take().expect("stolen");
        assert!((2..30).contains(&stored), "A stored some before: {stored}");
        assert_eq!(
            stored_ids(&store_a, account).len(),
            stored,
            "A committed nothing after losing the lease"
        );
        assert_eq!(
            server.len(),
            on_server,
            "A removed nothing from the server after losing it"
        );
        assert!(stored + server.len() >= 30, "nothing lost");
        // While B holds it, any other node is refused.
        let c = node(Arc::new(Store::open(&path).unwrap()), "node-c");
        assert!(matches!(
            c.check_now(account),
            Err(CollectError::Busy { .. })
        ));
        // B gives its hand-taken lease back; its collector finishes the account.
        Leases::new(
            LeaseStore::Store(&store_b),
            "node-b",
            Duration::from_secs(60),
        )
        .release(&b_lease)
        .unwrap();
        let b = node(store_b.clone(), "node-b");
        b.check_now(account).unwrap();
        let mut want: Vec<String> = (0..30).map(|i| format!("m{i}@example.test")).collect();
        want.sort();
        assert_eq!(
            stored_ids(&store_b, account),
            want,
            "every message exactly once"
        );
        assert!(server.is_empty());
        // The fencing record: A (1), B by hand (2), B's collector (3); C never got it.
        let owners: Vec<String> = log(&Node::Sqlite(Store::open(&path).unwrap()))
            .into_iter()
            .map(|(_, _, o)| o)
            .collect();
        assert_eq!(owners, ["node-a", "node-b", "node-b"]);
    }
}
