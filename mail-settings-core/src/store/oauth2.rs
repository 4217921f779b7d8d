//! OAuth2 state shared by the processes that use one store: the refresh lock (one refresh per
//! credential at a time across processes, so a rotated refresh token is never spent twice) and
//! the credentials that need a new sign-in (kept across restarts; see [`crate::oauth2`]).

use super::{Store, StoreError};
use crate::error::{ConnectionError, ErrorCategory};
use crate::oauth2::SharedTokenState;
use std::time::{Duration, SystemTime};

/// The migration that adds the two tables.
pub(crate) const DESCRIPTION: &str = "OAuth2 refresh locks and sign-in states";

/// Its SQL (the portable subset SQLite and PostgreSQL share). `IF NOT EXISTS`: tests that
/// rebuild an older schema by hand drop only the tables they know.
pub(crate) const SQL: &str = r#"
CREATE TABLE IF NOT EXISTS oauth2_refresh_locks (
    lock_key TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS oauth2_sign_in_states (
    credential TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('NEEDS_SIGN_IN')),
    reason TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
"#;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn storage(e: impl Into<StoreError>) -> ConnectionError {
    let e: StoreError = e.into();
    ConnectionError::new(ErrorCategory::Storage, e.to_string())
}

impl SharedTokenState for Store {
    fn try_acquire(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool, ConnectionError> {
        let now = now_ms();
        let until = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let n = self
            .write_sql(|c| {
                c.execute(
                    "INSERT INTO oauth2_refresh_locks (lock_key, holder, expires_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (lock_key) DO UPDATE SET holder = excluded.holder, \
                     expires_at = excluded.expires_at \
                     WHERE oauth2_refresh_locks.expires_at < ?4 OR oauth2_refresh_locks.holder = ?2",
                    &[key.into(), holder.into(), until.into(), now.into()],
                )
            })
            .map_err(storage)?;
        Ok(n == 1)
    }

    fn release(&self, key: &str, holder: &str) -> Result<(), ConnectionError> {
        self.write_sql(|c| {
            c.execute(
                "DELETE FROM oauth2_refresh_locks WHERE lock_key = ?1 AND holder = ?2",
                &[key.into(), holder.into()],
            )
        })
        .map_err(storage)?;
        Ok(())
    }

    fn needs_sign_in(&self, credential: &str) -> Result<Option<(String, String)>, ConnectionError> {
        self.read_sql(|c| {
            let row = c.query_opt(
                "SELECT reason, fingerprint FROM oauth2_sign_in_states WHERE credential = ?1",
                &[credential.into()],
            )?;
            Ok(row.map(|r| {
                let text = |i: usize| r.get(i).and_then(|v| v.as_str()).unwrap_or("").to_owned();
                (text(0), text(1))
            }))
        })
        .map_err(storage)
    }

    fn set_needs_sign_in(
        &self,
        credential: &str,
        state: Option<(&str, &str)>,
    ) -> Result<(), ConnectionError> {
        self.write_sql(|c| match state {
            Some((reason, fingerprint)) => c.execute(
                "INSERT INTO oauth2_sign_in_states (credential, state, reason, fingerprint, updated_at) \
                 VALUES (?1, 'NEEDS_SIGN_IN', ?2, ?3, ?4) ON CONFLICT (credential) DO UPDATE SET \
                 state = excluded.state, reason = excluded.reason, \
                 fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
                &[credential.into(), reason.into(), fingerprint.into(), now_ms().into()],
            ),
            None => c.execute(
                "DELETE FROM oauth2_sign_in_states WHERE credential = ?1",
                &[credential.into()],
            ),
        })
        .map_err(storage)?;
        Ok(())
    }
}
