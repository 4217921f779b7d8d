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
//! Time comes from the database ([`Sql::now_ms`]): PostgreSQL's clock for every node, so
//! hosts' clocks need not agree; on SQLite (one machine) the machine's clock.
//!
//! Work spreading: [`Leases::acquire_up_to`] walks the due accounts and takes those it can
//! lease until the node holds its worker count, so with N nodes and M due accounts each node
//! takes what the others have not. A failing account is released at the end of its run like
//! any other (its back-off is in the collector's status, not in a held lease).

use crate::model::RecordId;
use crate::store::backend::{Dialect, Sql, SqliteTx, Value};
use crate::store::{PostgresDb, Store, StoreError};
use std::time::Duration;

/// Migration description.
pub(crate) const DESCRIPTION: &str = "collector leases and their fencing record";

/// The migration (portable SQL: runs on SQLite and, translated, on PostgreSQL).
pub(crate) const SQL: &str = r#"
CREATE TABLE collector_leases (
    account_id INTEGER PRIMARY KEY REFERENCES incoming_accounts (id) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    token INTEGER NOT NULL
);
CREATE TABLE collector_lease_log (
    account_id INTEGER NOT NULL REFERENCES incoming_accounts (id) ON DELETE CASCADE,
    token INTEGER NOT NULL,
    owner TEXT NOT NULL,
    acquired_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, token)
);
"#;

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
    /// An SQLite store (several processes on one file).
    Sqlite(&'a Store),
    /// A PostgreSQL store (any number of hosts).
    Postgres(&'a PostgresDb),
}

impl LeaseStore<'_> {
    /// Runs `f` in one write transaction.
    pub(crate) fn transaction<R>(
        &self,
        f: impl FnOnce(&mut dyn Sql) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        match self {
            LeaseStore::Sqlite(s) => s.write(|c| f(&mut SqliteTx(c))),
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
