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
//!
//! # Push across nodes
//!
//! An account waiting in IDLE (the `push` module) **holds its lease while it waits**: the
//! running collector takes the lease before it starts the account's waiter and renews it every
//! third of the time to live; this node's runs of the account go under that lease (no second
//! acquisition), and another node's runs are refused (`Busy`) while it is held. Losing it
//! (paused past the expiry, cut off from the database) ends the wait.
//!
//! **How many each node waits on**: every running collector with leases says it is present
//! (`collector_nodes`, a row it renews every third of the ttl and deletes when stopped; rows
//! that expired are forgotten) and waits on at most its **fair share**: the push accounts
//! divided by the nodes present, rounded up ([`fair_share`]), and never more than
//! [`crate::collector::CollectorOptions::max_waiting_accounts`]. Every third of the ttl each node
//! gives back waiters over its share (not one in a run), and takes free push accounts while
//! under it. That rule converges: the shares cover every push account, a node only ever
//! releases down to its share and only takes up to it, so a released account is taken by a node
//! under its share. When a node **joins**, the others' shares shrink and they release accounts
//! that the newcomer takes; when one **leaves** (killed: its leases and presence expire within
//! the ttl; stopped: it gives them back at once) the others' shares grow and they take its
//! accounts over; a taken-over account is checked at once, so mail that came while nobody
//! waited is not left for the next poll. Push accounts that no node waits on (every node at its
//! cap) are polled at their interval like any other account. A node whose cap is below its share
//! leaves the difference polled: the shares do not know the others' caps.
//!
//! # OAuth2 refreshes: the lease holder only
//!
//! A run and a waiter ask for an account's OAuth2 access token through [`HeldLease::credentials`]:
//! a credential that mints tokens is handed out (and so refreshed, when it is due) only after a
//! check that the lease is still this node's. The store's refresh lock row
//! ([`crate::oauth2::SharedTokenState`]) still serialises refreshes of one credential across
//! processes. The vault (where the refresh tokens are kept) is the **host's**: the nodes of one
//! host share it; nodes on several hosts each need the sign-in's refresh token in their host's
//! vault.

use crate::credentials::{Credential, CredentialError, CredentialProvider};
use crate::model::RecordId;
use crate::store::backend::{Dialect, Sql, SqliteTx, Value};
#[cfg(feature = "postgres")]
use crate::store::PostgresDb;
use crate::store::{Store, StoreError};
use crate::values::CredentialId;
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

/// One acquisition in the fencing record (`collector_lease_log`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acquisition {
    /// The account.
    pub account_id: RecordId,
    /// The fencing token it was taken with.
    pub token: i64,
    /// The node that took it.
    pub owner: String,
    /// When, in the database's milliseconds since the Unix epoch.
    pub acquired_at_ms: i64,
}

/// The fencing record: every acquisition of every account, by account, then time, then
/// token. Shows which node held an account when (a node holds it from its acquisition until
/// the next one at the latest).
pub fn acquisitions(store: LeaseStore<'_>) -> Result<Vec<Acquisition>, StoreError> {
    let rows = store.transaction(|tx| {
        tx.query(
            "SELECT account_id, token, owner, acquired_at FROM collector_lease_log
             ORDER BY account_id, acquired_at, token",
            &[],
        )
    })?;
    Ok(rows
        .into_iter()
        .map(|r| Acquisition {
            account_id: r.first().and_then(Value::as_i64).unwrap_or_default(),
            token: r.get(1).and_then(Value::as_i64).unwrap_or_default(),
            owner: r
                .get(2)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            acquired_at_ms: r.get(3).and_then(Value::as_i64).unwrap_or_default(),
        })
        .collect())
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
    /// The check inside a commit's transaction (either backend; PostgreSQL reads the lease
    /// row `FOR SHARE`, so no takeover commits before this transaction ends).
    pub(crate) fn check_in(&self, c: &mut dyn Sql) -> Result<(), StoreError> {
        check(c, &self.lease, &self.owner, 0)
    }

    /// The check before a change on the server.
    pub(crate) fn check_before_server_change(&self, store: &Store) -> Result<(), StoreError> {
        LeaseStore::Store(store)
            .transaction(|tx| check(tx, &self.lease, &self.owner, ms(self.margin)))
    }
}

impl Fence {
    /// The lease, still this node's (no margin): the check before an OAuth2 token is handed
    /// out ([`HeldLease`]).
    pub(crate) fn check_held(&self, store: &Store) -> Result<(), StoreError> {
        LeaseStore::Store(store).transaction(|tx| check(tx, &self.lease, &self.owner, 0))
    }
}

/// The lease a run (or a push waiter) holds on its account, as a [`crate::collector::SourceFactory`]
/// is given it: OAuth2 access tokens, and so their refreshes, are obtained only while it is
/// still this node's ([`HeldLease::credentials`]).
///
/// Why: a refresh may rotate the refresh token, and two nodes refreshing one account at once
/// would race to save theirs. The store's refresh lock row already serialises refreshes of
/// one credential; the lease condition makes the node that collects the account (the lease
/// holder) the only one that refreshes for it. The vault the tokens are saved in is the
/// host's, shared by every node of that host (one [`crate::oauth2::TokenManager`] per
/// process, over the host's credential provider).
#[derive(Clone)]
pub struct HeldLease {
    store: Arc<Store>,
    fence: Arc<Fence>,
}

impl std::fmt::Debug for HeldLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldLease")
            .field("account_id", &self.fence.lease.account_id)
            .field("token", &self.fence.lease.token)
            .finish_non_exhaustive()
    }
}

impl HeldLease {
    pub(crate) fn new(store: Arc<Store>, fence: Arc<Fence>) -> Self {
        HeldLease { store, fence }
    }

    /// The lease.
    pub fn lease(&self) -> &Lease {
        &self.fence.lease
    }

    /// Fails with [`StoreError::LeaseLost`] unless the lease is still this node's.
    pub fn check(&self) -> Result<(), StoreError> {
        self.fence.check_held(&self.store)
    }

    /// `inner`, except that a credential that mints OAuth2 tokens
    /// ([`CredentialProvider::mints_tokens`]) is asked for only after [`HeldLease::check`]
    /// passed: a node that lost the lease neither uses nor refreshes the account's token.
    pub fn credentials(&self, inner: Arc<dyn CredentialProvider>) -> Arc<dyn CredentialProvider> {
        Arc::new(LeasedCredentials {
            inner,
            held: self.clone(),
        })
    }
}

/// See [`HeldLease::credentials`].
struct LeasedCredentials {
    inner: Arc<dyn CredentialProvider>,
    held: HeldLease,
}

impl CredentialProvider for LeasedCredentials {
    fn credential(&self, id: &CredentialId) -> Result<Credential, CredentialError> {
        if self.inner.mints_tokens(id) {
            if let Err(e) = self.held.check() {
                tracing::warn!(
                    account = self.held.lease().account_id,
                    "no OAuth2 token without the account's lease"
                );
                return Err(CredentialError::OAuth2 {
                    id: id.as_str().to_owned(),
                    category: e.category(),
                    message: format!(
                        "no OAuth2 token for \"{}\": only the lease holder refreshes ({e})",
                        id.as_str()
                    ),
                });
            }
        }
        self.inner.credential(id)
    }
    fn contains(&self, id: &str) -> bool {
        self.inner.contains(id)
    }
    fn refused(&self, id: &CredentialId, credential: &Credential) -> bool {
        self.inner.refused(id, credential)
    }
    fn mints_tokens(&self, id: &CredentialId) -> bool {
        self.inner.mints_tokens(id)
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
        Self::start_with(store, options, lease, Box::new(move || cancel.cancel()))
    }

    /// Renews `lease` until dropped; calls `on_lost` (once) when it is lost.
    pub(crate) fn start_with(
        store: Arc<Store>,
        options: &LeaseOptions,
        lease: Lease,
        on_lost: Box<dyn Fn() + Send>,
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
                                    "lease lost: cancelling the run (or the wait)"
                                );
                                on_lost();
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

/// Says this node is present (`collector_nodes`) until `ttl` from now, forgets nodes whose
/// presence expired, and returns how many nodes are present (this one included). Nodes that
/// share the accounts waiting in IDLE call it every third of `ttl`.
pub(crate) fn heartbeat(
    store: LeaseStore<'_>,
    owner: &str,
    ttl: Duration,
) -> Result<usize, StoreError> {
    store.transaction(|tx| {
        let now = tx.now_ms()?;
        tx.execute(
            "INSERT INTO collector_nodes (owner, expires_at) VALUES (?1, ?2)
             ON CONFLICT (owner) DO UPDATE SET expires_at = excluded.expires_at",
            &[owner.into(), now.saturating_add(ms(ttl)).into()],
        )?;
        tx.execute(
            "DELETE FROM collector_nodes WHERE expires_at <= ?1",
            &[now.into()],
        )?;
        let n = tx
            .query_opt("SELECT COUNT(*) FROM collector_nodes", &[])?
            .and_then(|r| r.first().and_then(Value::as_i64))
            .unwrap_or(1);
        Ok(usize::try_from(n).unwrap_or(1).max(1))
    })
}

/// This node leaves (`collector_nodes`): the others' fair share grows at their next heartbeat.
pub(crate) fn leave(store: LeaseStore<'_>, owner: &str) -> Result<(), StoreError> {
    store.transaction(|tx| {
        tx.execute(
            "DELETE FROM collector_nodes WHERE owner = ?1",
            &[owner.into()],
        )?;
        Ok(())
    })
}

/// How many accounts one node waits on in IDLE: its fair share of the `waiting` accounts
/// among `nodes` nodes (rounded up, so the shares cover them all), at most `cap`.
pub fn fair_share(waiting: usize, nodes: usize, cap: usize) -> usize {
    waiting.div_ceil(nodes.max(1)).min(cap)
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
    use crate::validate::name_key;
    use std::path::PathBuf;
    use std::sync::Barrier;

    /// One store, either backend; each `node()` is a connection of its own, as a separate
    /// process would have.
    #[allow(clippy::large_enum_variant)]
    enum Where {
        Sqlite(#[allow(dead_code)] tempfile::TempDir, PathBuf),
        Postgres(test_support::TestDb),
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

    /// On an SQLite file, and on PostgreSQL (the group commit's fence there is a lease row read
    /// `FOR SHARE` in the commit's own transaction).
    #[test]
    fn a_collector_that_loses_its_lease_mid_run_commits_and_deletes_nothing_more() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        lose_the_lease_mid_run(&|| Store::open(&path).unwrap(), &|| {
            Node::Sqlite(Store::open(&path).unwrap())
        });
        if let Some(loc) = test_support::fresh_location("losethelease") {
            lose_the_lease_mid_run(&|| Store::open_postgres(&loc).unwrap(), &|| {
                Node::Postgres(PostgresDb::open(&loc).unwrap())
            });
        }
    }

    /// Each call of `open` is a process of its own on one store; `log_node` reads the fencing
    /// record.
    fn lose_the_lease_mid_run(open: &dyn Fn() -> Store, log_node: &dyn Fn() -> Node) {
        use crate::collector::{
            CollectError, Collector, CollectorOptions, MailSource, MemoryProtocol, MemoryServer,
            Progress, RunControl,
        };
        use crate::IncomingAccount;
        let store_a = Arc::new(open());
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
        let store_b = Arc::new(open());
        let at_steal = Arc::new(std::sync::Mutex::new(None));
        let listener = {
            let (store_b, at_steal, server) = (store_b.clone(), at_steal.clone(), server.clone());
            move |p: &Progress| {
                let mut at = at_steal.lock().unwrap();
                if p.done >= 6 && at.is_none() {
                    store_b
                        .write_data(|c| {
                            c.execute("UPDATE collector_leases SET expires_at = 0", &[])?;
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
        let c = node(Arc::new(open()), "node-c");
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
        let owners: Vec<String> = log(&log_node()).into_iter().map(|(_, _, o)| o).collect();
        assert_eq!(owners, ["node-a", "node-b", "node-b"]);
    }

    /// A vault whose credential mints OAuth2 tokens, counting how often it was asked (each
    /// ask may be a refresh at the authorization server).
    struct Minting {
        asked: std::sync::atomic::AtomicUsize,
    }

    impl CredentialProvider for Minting {
        fn credential(&self, id: &CredentialId) -> Result<Credential, CredentialError> {
            self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Credential::oauth2(id.as_str(), "token"))
        }
        fn mints_tokens(&self, id: &CredentialId) -> bool {
            id.as_str() == "oauth"
        }
    }

    #[test]
    fn only_the_lease_holder_gets_or_refreshes_an_oauth2_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let store = Arc::new(Store::open(&path).unwrap());
        let account = store
            .create_incoming(&IncomingAccountForm {
                name: "Desk".into(),
                host: "mail.example.test".into(),
                protocol: Some(Protocol::Imap),
                credential: Some("oauth".into()),
                ..IncomingAccountForm::default()
            })
            .unwrap()
            .id;
        let a = Leases::new(LeaseStore::Store(&store), "node-a", Duration::from_secs(60));
        let lease = a.acquire(account).unwrap().unwrap();
        let held = HeldLease::new(
            store.clone(),
            Arc::new(Fence {
                owner: "node-a".into(),
                lease: lease.clone(),
                margin: Duration::ZERO,
            }),
        );
        let vault = Arc::new(Minting {
            asked: Default::default(),
        });
        let asked = || vault.asked.load(std::sync::atomic::Ordering::SeqCst);
        let creds = held.credentials(vault.clone());
        creds.credential(&CredentialId::new("oauth")).unwrap();
        assert_eq!(asked(), 1, "the holder gets its token");
        // Another node takes the account over (A stalled past its lease).
        let other = Store::open(&path).unwrap();
        other
            .write(|c| {
                c.execute("UPDATE collector_leases SET expires_at = 0", [])?;
                Ok(())
            })
            .unwrap();
        let b = Leases::new(LeaseStore::Store(&other), "node-b", Duration::from_secs(60));
        assert!(b.acquire(account).unwrap().is_some());
        let err = creds.credential(&CredentialId::new("oauth")).unwrap_err();
        assert!(err.to_string().contains("lease holder"), "{err}");
        assert_eq!(err.category(), crate::error::ErrorCategory::Storage);
        assert_eq!(asked(), 1, "A neither used nor refreshed the token");
        // A password (no token minted) is not the lease's business.
        creds.credential(&CredentialId::new("password")).unwrap();
        assert_eq!(asked(), 2);
    }

    #[test]
    fn fair_shares_cover_every_waiting_account_and_keep_to_the_cap() {
        assert_eq!(fair_share(9, 2, 100), 5);
        assert_eq!(fair_share(9, 3, 100), 3);
        assert_eq!(fair_share(10, 3, 100), 4);
        assert_eq!(fair_share(9, 0, 100), 9, "no node counted: this one");
        assert_eq!(fair_share(9, 1, 2), 2, "the cap");
        assert_eq!(fair_share(0, 4, 2), 0);
        for w in 0..50 {
            for n in 1..8 {
                assert!(fair_share(w, n, usize::MAX) * n >= w);
            }
        }
    }

    #[test]
    fn presence_counts_live_nodes_and_forgets_those_that_left_or_expired() {
        for w in backends("presence", 0) {
            let node = w.node();
            let store = match &node {
                Node::Sqlite(s) => LeaseStore::Store(s),
                Node::Postgres(p) => LeaseStore::Postgres(p),
            };
            assert_eq!(heartbeat(store, "a", Duration::from_secs(60)).unwrap(), 1);
            assert_eq!(
                heartbeat(store, "b", Duration::from_millis(300)).unwrap(),
                2
            );
            assert_eq!(heartbeat(store, "c", Duration::from_secs(60)).unwrap(), 3);
            leave(store, "c").unwrap();
            assert_eq!(heartbeat(store, "a", Duration::from_secs(60)).unwrap(), 2);
            std::thread::sleep(Duration::from_millis(400));
            assert_eq!(
                heartbeat(store, "a", Duration::from_secs(60)).unwrap(),
                1,
                "b's presence expired"
            );
        }
    }
}
