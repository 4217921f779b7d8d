//! The collector's durable state: the ledger of stored server keys, UIDVALIDITY per IMAP
//! mailbox, messages left on the server with their reason, and per-account status.
//!
//! Everything that decides "already stored" is written by [`commit`] in the same transaction
//! as the messages themselves; nothing here is ever written before a message and relied on
//! after a crash.

use super::{AccountStatus, MessageOutcome, MessageProblem, SkippedMessage};
use crate::error::ErrorCategory;
use crate::inbox::{self, MessageId, NewMessage, Summary};
use crate::model::RecordId;
use crate::store::backend::{Sql, SqlExt};
use crate::store::{Store, StoreError};
use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in Unix seconds.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Ledger key of a message known only by its content.
pub(crate) fn hash_key(hash: &[u8; 32]) -> String {
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256:");
    for b in hash {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The ledger scope of an IMAP mailbox at a UIDVALIDITY: `imap:<mailbox>:<uidvalidity>`, the
/// mailbox as the user names it (`INBOX`, `Support/Tier 2`), with `%` and `:` written `%25` and
/// `%3A` so that one folder's scopes never start like another's (`INBOX` is unchanged, so the
/// ledgers of versions that collected INBOX only stay valid).
pub(crate) fn imap_scope(mailbox: &str, uid_validity: u32) -> String {
    format!("{}{uid_validity}", imap_scope_prefix(mailbox))
}

/// Every scope of `mailbox` starts with this (see [`imap_scope`]).
pub(crate) fn imap_scope_prefix(mailbox: &str) -> String {
    format!("imap:{}:", mailbox.replace('%', "%25").replace(':', "%3A"))
}

/// The ledger scope of a POP3 maildrop.
pub(crate) const POP3_SCOPE: &str = "pop3";

/// A fetched message ready to commit.
pub(crate) struct Staged {
    /// Ledger key (UID, UIDL, or [`hash_key`]).
    pub(crate) key: String,
    /// Where it came from, for the inbox.
    pub(crate) source: String,
    pub(crate) raw: Vec<u8>,
    pub(crate) hash: [u8; 32],
    pub(crate) summary: Summary,
}

/// What committing one message did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Stored as a new inbox message.
    Stored(MessageId),
    /// The same message (same content and Message-ID) was already in the inbox; counted.
    Duplicate(MessageId),
    /// The ledger already had this key (another run stored it meanwhile).
    AlreadyStored,
}

/// Commits `staged` in one durable transaction (refused whole with
/// [`StoreError::LeaseLost`] when `fence` is given and no longer current): each message, unless its key is already in
/// the ledger or the same message is already stored, is inserted with its raw bytes, and its
/// key is added to the ledger; its problem record (if any) is cleared.
///
/// Every outcome is proof that these very bytes are in the inbox, so the caller may remove
/// the message from the server: a key already in the ledger counts as `AlreadyStored` only
/// when the inbox holds the same content (another run stored this message meanwhile); when
/// it does not (a server that reused an id for another message), the message is stored like
/// a new one and the ledger entry stays the first message's.
pub(crate) fn commit(
    store: &Store,
    account: RecordId,
    scope: &str,
    staged: &[Staged],
    fence: Option<&super::lease::Fence>,
    journal: Option<(&crate::journal::RunContext, &[String])>,
) -> Result<Vec<Outcome>, StoreError> {
    let stored_at = now();
    store.write_data(|c| {
        // A node that lost the account's lease commits nothing (same transaction).
        if let Some(f) = fence {
            f.check_in(c)?;
        }
        let out = commit_in(c, account, scope, staged, stored_at)?;
        // The journal's entries for these messages, in this same transaction: an entry
        // exists if and only if its message was committed.
        if let Some((run, server_ids)) = journal {
            let entries: Vec<crate::journal::Committed<'_>> = staged
                .iter()
                .zip(server_ids)
                .zip(&out)
                .filter_map(|((m, id), o)| {
                    let outcome = match o {
                        Outcome::Stored(_) => super::MessageOutcome::Stored,
                        Outcome::Duplicate(_) => super::MessageOutcome::Duplicate,
                        Outcome::AlreadyStored => return None,
                    };
                    Some(crate::journal::Committed {
                        server_id: id.clone(),
                        outcome,
                        size: m.raw.len() as u64,
                        message_id: m.summary.message_id.as_deref(),
                        subject: m.summary.subject.as_deref(),
                    })
                })
                .collect();
            crate::journal::record_committed(c, run, stored_at, &entries)?;
        }
        Ok(out)
    })
}

fn commit_in(
    c: &mut dyn Sql,
    account: RecordId,
    scope: &str,
    staged: &[Staged],
    stored_at: i64,
) -> Result<Vec<Outcome>, StoreError> {
    {
        let mut out = Vec::with_capacity(staged.len());
        for m in staged {
            let key_taken = ledger_has(c, account, scope, &m.key)?;
            if key_taken
                && inbox::find_same(c, account, &m.hash, m.summary.message_id.as_deref())?.is_some()
            {
                out.push(Outcome::AlreadyStored);
                continue;
            }
            let outcome =
                match inbox::find_same(c, account, &m.hash, m.summary.message_id.as_deref())? {
                    Some(id) => {
                        inbox::count_duplicate(c, id)?;
                        Outcome::Duplicate(id)
                    }
                    None => Outcome::Stored(inbox::insert(
                        c,
                        &NewMessage {
                            account_id: account,
                            raw: &m.raw,
                            hash: &m.hash,
                            summary: &m.summary,
                            source: &m.source,
                            stored_at,
                        },
                    )?),
                };
            let message = match outcome {
                Outcome::Stored(id) | Outcome::Duplicate(id) => Some(id),
                Outcome::AlreadyStored => None,
            };
            if key_taken {
                tracing::warn!(
                    account,
                    key = %m.key,
                    "a message arrived under an id the ledger has for another message: stored as a new one"
                );
                out.push(outcome);
                continue;
            }
            c.execute(
                "INSERT INTO collector_ledger (account_id, scope, key, message, stored_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                &[
                    account.into(),
                    scope.into(),
                    m.key.as_str().into(),
                    message.into(),
                    stored_at.into(),
                ],
            )?;
            c.execute(
                "DELETE FROM collector_problems WHERE account_id = ?1 AND scope = ?2 AND key = ?3",
                &[account.into(), scope.into(), m.key.as_str().into()],
            )?;
            out.push(outcome);
        }
        Ok(out)
    }
}

fn ledger_has(
    c: &mut dyn Sql,
    account: RecordId,
    scope: &str,
    key: &str,
) -> Result<bool, StoreError> {
    Ok(c.query_opt(
        "SELECT 1 FROM collector_ledger WHERE account_id = ?1 AND scope = ?2 AND key = ?3",
        &[account.into(), scope.into(), key.into()],
    )?
    .is_some())
}

/// Every key of the ledger in `scope`, with the size of the inbox message it was made from
/// (`None` when that message is gone from the inbox).
pub(crate) fn ledger_keys(
    store: &Store,
    account: RecordId,
    scope: &str,
) -> Result<HashMap<String, Option<u64>>, StoreError> {
    store.read_sql(|c| {
        c.rows(
            "SELECT l.key, m.size FROM collector_ledger l \
             LEFT JOIN inbox_messages m ON m.id = l.message \
             WHERE l.account_id = ?1 AND l.scope = ?2",
            &[account.into(), scope.into()],
        )?
        .iter()
        .map(|r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?.map(|s| s.max(0) as u64),
            ))
        })
        .collect::<Result<HashMap<_, _>, StoreError>>()
    })
}

/// Forgets ledger entries and problem records in `scope` whose keys the server no longer
/// lists (it deleted them, or someone did): they can never be fetched again. Returns how
/// many ledger entries were forgotten.
pub(crate) fn prune(
    store: &Store,
    account: RecordId,
    scope: &str,
    listed: &HashSet<String>,
) -> Result<usize, StoreError> {
    store.write_data(|c| {
        let mut gone = 0;
        for table in ["collector_ledger", "collector_problems"] {
            let keys: Vec<String> = c
                .rows(
                    &format!("SELECT key FROM {table} WHERE account_id = ?1 AND scope = ?2"),
                    &[account.into(), scope.into()],
                )?
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Result<_, _>>()?;
            let del =
                format!("DELETE FROM {table} WHERE account_id = ?1 AND scope = ?2 AND key = ?3");
            let mut n = 0;
            for k in keys.iter().filter(|k| !listed.contains(*k)) {
                c.execute(&del, &[account.into(), scope.into(), k.into()])?;
                n += 1;
            }
            if table == "collector_ledger" {
                gone = n;
            }
        }
        Ok(gone)
    })
}

/// Records the mailbox's UIDVALIDITY. When it changed, the ledger and problems of every
/// older UIDVALIDITY of that mailbox are dropped (their UIDs mean nothing now) and the
/// previous value is returned: the run is then a resync, in which duplicate detection (same
/// content, same Message-ID) keeps every message stored once.
pub(crate) fn set_uid_validity(
    store: &Store,
    account: RecordId,
    mailbox: &str,
    uid_validity: u32,
) -> Result<Option<u32>, StoreError> {
    store.write_data(|c| {
        let old: Option<i64> = c
            .row(
                "SELECT uid_validity FROM collector_mailboxes WHERE account_id = ?1 AND mailbox = ?2",
                &[account.into(), mailbox.into()],
            )?
            .map(|r| r.get(0))
            .transpose()?;
        let changed = old.is_some_and(|o| o != i64::from(uid_validity));
        if old.is_none() || changed {
            c.execute(
                "INSERT INTO collector_mailboxes (account_id, mailbox, uid_validity, updated_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account_id, mailbox) \
                 DO UPDATE SET uid_validity = excluded.uid_validity, updated_at = excluded.updated_at",
                &[account.into(), mailbox.into(), i64::from(uid_validity).into(), now().into()],
            )?;
        }
        if changed {
            let keep = imap_scope(mailbox, uid_validity);
            let prefix = imap_scope_prefix(mailbox);
            for table in ["collector_ledger", "collector_problems"] {
                c.execute(
                    &format!(
                        "DELETE FROM {table} WHERE account_id = ?1 \
                         AND substr(scope, 1, length(CAST(?2 AS TEXT))) = ?2 AND scope <> ?3"
                    ),
                    &[account.into(), prefix.as_str().into(), keep.as_str().into()],
                )?;
            }
            tracing::warn!(
                account,
                mailbox,
                old = old.unwrap_or(0),
                new = uid_validity,
                "UIDVALIDITY changed: resynchronising (duplicates are recognised by content)"
            );
        }
        Ok(if changed {
            old.and_then(|o| u32::try_from(o).ok())
        } else {
            None
        })
    })
}

/// Kind of a problem record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProblemKind {
    /// Larger than the account's limit: left on the server.
    TooLarge,
    /// The server refused to deliver it.
    Failed,
    /// The connection broke while it was being fetched.
    Interrupted,
}

impl ProblemKind {
    fn as_str(self) -> &'static str {
        match self {
            ProblemKind::TooLarge => "too_large",
            ProblemKind::Failed => "failed",
            ProblemKind::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "too_large" => ProblemKind::TooLarge,
            "failed" => ProblemKind::Failed,
            _ => ProblemKind::Interrupted,
        }
    }
}

/// A problem record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) kind: ProblemKind,
    pub(crate) attempts: u32,
    pub(crate) size: Option<u64>,
    pub(crate) reason: String,
}

/// Problem records of `scope`, by key.
pub(crate) fn problems(
    store: &Store,
    account: RecordId,
    scope: &str,
) -> Result<HashMap<String, Problem>, StoreError> {
    store.read_sql(|c| {
        c.rows(
            "SELECT key, kind, attempts, size, reason FROM collector_problems WHERE account_id = ?1 AND scope = ?2",
            &[account.into(), scope.into()],
        )?
        .iter()
        .map(|r| {
            Ok((
                r.get::<_, String>(0)?,
                Problem {
                    kind: ProblemKind::parse(&r.get::<_, String>(1)?),
                    attempts: r.get::<_, i64>(2)?.clamp(0, i64::from(u32::MAX)) as u32,
                    size: r.get::<_, Option<i64>>(3)?.map(|s| s.max(0) as u64),
                    reason: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                },
            ))
        })
        .collect::<Result<HashMap<_, _>, StoreError>>()
    })
}

/// Records (or updates) a problem with message `key`; `attempts` adds one when `count` is set.
/// Returns the attempts now recorded.
pub(crate) fn record_problem(
    store: &Store,
    account: RecordId,
    scope: &str,
    key: &str,
    kind: ProblemKind,
    size: Option<u64>,
    reason: &str,
) -> Result<u32, StoreError> {
    let t = now();
    store.write_data(|c| {
        // The conflicting row's own columns are named by the table (PostgreSQL would find a
        // bare `kind` ambiguous between it and `excluded`).
        let attempts: i64 = c
            .row(
                "INSERT INTO collector_problems \
                 (account_id, scope, key, kind, size, reason, attempts, first_seen, last_seen) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7) \
                 ON CONFLICT (account_id, scope, key) DO UPDATE SET kind = excluded.kind, \
                 size = excluded.size, reason = excluded.reason, last_seen = excluded.last_seen, \
                 attempts = CASE WHEN collector_problems.kind = excluded.kind \
                 THEN collector_problems.attempts + 1 ELSE 1 END \
                 RETURNING attempts",
                &[
                    account.into(),
                    scope.into(),
                    key.into(),
                    kind.as_str().into(),
                    size.map(|s| i64::try_from(s).unwrap_or(i64::MAX)).into(),
                    reason.into(),
                    t.into(),
                ],
            )?
            .ok_or_else(|| StoreError::Io(std::io::Error::other("INSERT … RETURNING gave no row")))?
            .get(0)?;
        Ok(attempts.clamp(0, i64::from(u32::MAX)) as u32)
    })
}

/// Records that the server listed message `key` in a way that cannot be used (a bad `LIST`
/// line), so that `status` shows it. Kept as a refusal that counts no attempt: it never makes
/// the message "refused too often", and once the server lists it properly it is fetched as
/// usual (storing it clears the record).
pub(crate) fn record_listing_refusal(
    store: &Store,
    account: RecordId,
    scope: &str,
    key: &str,
    reason: &str,
) -> Result<(), StoreError> {
    let t = now();
    store.write_data(|c| {
        c.execute(
            "INSERT INTO collector_problems \
             (account_id, scope, key, kind, size, reason, attempts, first_seen, last_seen) \
             VALUES (?1, ?2, ?3, 'failed', NULL, ?4, 0, ?5, ?5) \
             ON CONFLICT (account_id, scope, key) DO UPDATE SET reason = excluded.reason, \
             last_seen = excluded.last_seen",
            &[
                account.into(),
                scope.into(),
                key.into(),
                reason.into(),
                t.into(),
            ],
        )?;
        Ok(())
    })
}

/// Messages of `account` left on the server for good (too large, refused too often), newest
/// record first.
pub(crate) fn skipped(
    store: &Store,
    account: RecordId,
    max_failed_attempts: u32,
) -> Result<Vec<SkippedMessage>, StoreError> {
    store.read_sql(|c| {
        c.rows(
            "SELECT scope, key, kind, size, reason, attempts, first_seen, last_seen \
             FROM collector_problems WHERE account_id = ?1 \
             AND (kind = 'too_large' OR (kind = 'failed' AND attempts >= ?2)) \
             ORDER BY last_seen DESC, key",
            &[account.into(), i64::from(max_failed_attempts).into()],
        )?
        .iter()
        .map(|r| {
            Ok(SkippedMessage {
                account_id: account,
                scope: r.get::<_, String>(0)?,
                key: r.get(1)?,
                too_large: r.get::<_, String>(2)? == "too_large",
                size: r.get::<_, Option<i64>>(3)?.map(|s| s.max(0) as u64),
                reason: r.get(4)?,
                attempts: r.get::<_, i64>(5)?.clamp(0, i64::from(u32::MAX)) as u32,
                first_seen: r.get(6)?,
                last_seen: r.get(7)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()
    })
}

/// Forgets the problem records of `scope` kept under POP3 message numbers (`#n`), which
/// only meant something in the session that wrote them.
pub(crate) fn clear_numbered_problems(
    store: &Store,
    account: RecordId,
    scope: &str,
) -> Result<usize, StoreError> {
    store.write_data(|c| {
        Ok(c.execute(
            "DELETE FROM collector_problems WHERE account_id = ?1 AND scope = ?2 AND substr(key, 1, 1) = '#'",
            &[account.into(), scope.into()],
        )? as usize)
    })
}

/// Forgets every problem record of `account` so that those messages are tried again.
pub(crate) fn clear_problems(store: &Store, account: RecordId) -> Result<usize, StoreError> {
    store.write_data(|c| {
        Ok(c.execute(
            "DELETE FROM collector_problems WHERE account_id = ?1",
            &[account.into()],
        )? as usize)
    })
}

/// Counts of one finished (or failed) run, for the status row.
#[derive(Clone, Debug, Default)]
pub(crate) struct RunCounts {
    pub(crate) fetched: u64,
    pub(crate) duplicates: u64,
    pub(crate) skipped: u64,
    pub(crate) pending: u64,
    pub(crate) bytes: u64,
    pub(crate) needs_expunging: bool,
}

/// Marks the start of a check.
/// With `journal`, also opens the run's journal row in the same transaction and returns its id.
pub(crate) fn mark_check(
    store: &Store,
    account: RecordId,
    journal: bool,
) -> Result<Option<i64>, StoreError> {
    store.write_data(|c| {
        c.execute(
            "INSERT INTO collector_status (account_id, last_check) VALUES (?1, ?2) \
             ON CONFLICT (account_id) DO UPDATE SET last_check = excluded.last_check",
            &[account.into(), now().into()],
        )?;
        if journal {
            return Ok(Some(crate::journal::start_run_in(c, account)?));
        }
        Ok(None)
    })
}

/// The journal's part of the end-of-run record: the run row, its report (the messages it could
/// not store) and error.
pub(crate) struct JournalEnd<'a> {
    pub(crate) run: crate::journal::RunContext,
    pub(crate) report: Option<&'a super::RunReport>,
}

/// Records the end of a run: its counts, and success or the error.
///
/// With `journal`, the run's journal row is completed and the journal pruned
/// ([`crate::journal::PRUNE_BATCH`] entries at most) in the same transaction.
pub(crate) fn finish_run(
    store: &Store,
    account: RecordId,
    counts: Option<&RunCounts>,
    error: Option<(ErrorCategory, &str)>,
    journal: Option<JournalEnd<'_>>,
) -> Result<(), StoreError> {
    let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    store.write_data(|c| {
        if let Some(j) = &journal {
            crate::journal::finish_run_in(c, &j.run, j.report, error)?;
            crate::journal::prune_in(c, now(), crate::journal::PRUNE_BATCH)?;
        }
        c.execute(
            "INSERT INTO collector_status (account_id) VALUES (?1) ON CONFLICT (account_id) DO NOTHING",
            &[account.into()],
        )?;
        c.execute(
            "UPDATE collector_status SET runs = runs + 1 WHERE account_id = ?1",
            &[account.into()],
        )?;
        if let Some(counts) = counts {
            c.execute(
                "UPDATE collector_status SET fetched = fetched + ?2, \
                 duplicates = duplicates + ?3, skipped = ?4, pending = ?5, last_run_fetched = ?2, \
                 last_run_bytes = ?6 WHERE account_id = ?1",
                &[
                    account.into(),
                    to_i64(counts.fetched).into(),
                    to_i64(counts.duplicates).into(),
                    to_i64(counts.skipped).into(),
                    to_i64(counts.pending).into(),
                    to_i64(counts.bytes).into(),
                ],
            )?;
            // A run that reached the server knows whether it still needs expunging.
            if counts.needs_expunging {
                c.execute(
                    "INSERT INTO collector_needs_expunging (account_id, since) VALUES (?1, ?2) \
                     ON CONFLICT (account_id) DO NOTHING",
                    &[account.into(), now().into()],
                )?;
            } else {
                c.execute(
                    "DELETE FROM collector_needs_expunging WHERE account_id = ?1",
                    &[account.into()],
                )?;
            }
        }
        match error {
            None => c.execute(
                "UPDATE collector_status SET last_success = ?2, last_error_category = NULL, \
                 last_error_message = NULL, consecutive_failures = 0 WHERE account_id = ?1",
                &[account.into(), now().into()],
            )?,
            Some((category, message)) => c.execute(
                "UPDATE collector_status SET last_error_category = ?2, last_error_message = ?3, \
                 consecutive_failures = consecutive_failures + 1 WHERE account_id = ?1",
                &[account.into(), category.as_str().into(), message.into()],
            )?,
        };
        Ok(())
    })
}

fn category_from_str(s: &str) -> ErrorCategory {
    use ErrorCategory as C;
    [
        C::Dns,
        C::Connect,
        C::Proxy,
        C::Tls,
        C::Certificate,
        C::Auth,
        C::Protocol,
        C::Timeout,
        C::Credential,
        C::Cancelled,
        C::Validation,
        C::Conflict,
        C::NotFound,
        C::Storage,
        C::Parse,
        C::NeedsSignIn,
    ]
    .into_iter()
    .find(|c| c.as_str() == s)
    .unwrap_or(C::Protocol)
}

/// The status rows of every incoming account (accounts never checked included), by id.
pub(crate) fn statuses(
    store: &Store,
    only: Option<RecordId>,
) -> Result<Vec<AccountStatus>, StoreError> {
    store.read_sql(|c| {
        let n = |v: i64| v.max(0) as u64;
        let mut rows = c
            .rows(
                "SELECT a.id, a.name, s.last_check, s.last_success, s.last_error_category, \
                 s.last_error_message, coalesce(s.consecutive_failures, 0), coalesce(s.runs, 0), \
                 coalesce(s.fetched, 0), coalesce(s.duplicates, 0), coalesce(s.skipped, 0), \
                 coalesce(s.pending, 0), coalesce(s.last_run_fetched, 0), \
                 (SELECT count(*) FROM inbox_messages m WHERE m.account_id = a.id AND m.deleted = 0), \
                 (SELECT count(*) FROM collector_needs_expunging e WHERE e.account_id = a.id) \
                 FROM incoming_accounts a LEFT JOIN collector_status s ON s.account_id = a.id \
                 WHERE (CAST(?1 AS BIGINT) IS NULL OR a.id = ?1) ORDER BY a.id",
                &[only.into()],
            )?
            .iter()
            .map(|r| {
                let category: Option<String> = r.get(4)?;
                Ok(AccountStatus {
                    account_id: r.get(0)?,
                    account_name: r.get::<_, String>(1)?.trim().to_owned(),
                    running: false,
                    last_check: r.get(2)?,
                    last_success: r.get(3)?,
                    last_error: match (category, r.get::<_, Option<String>>(5)?) {
                        (Some(c), Some(m)) => Some(super::LastError {
                            category: category_from_str(&c),
                            message: m,
                        }),
                        _ => None,
                    },
                    consecutive_failures: n(r.get(6)?) as u32,
                    runs: n(r.get(7)?),
                    fetched: n(r.get(8)?),
                    duplicates: n(r.get(9)?),
                    skipped: n(r.get(10)?),
                    pending: n(r.get(11)?),
                    last_run_fetched: n(r.get(12)?),
                    inbox_messages: n(r.get(13)?),
                    problems: Vec::new(),
                    next_check: None,
                    needs_expunging: r.get::<_, i64>(14)? > 0,
                })
            })
            .collect::<Result<Vec<AccountStatus>, StoreError>>()?;
        for st in &mut rows {
            st.problems = c
                .rows(
                    "SELECT key, kind, size, reason, attempts FROM collector_problems \
                     WHERE account_id = ?1 ORDER BY last_seen DESC, key",
                    &[st.account_id.into()],
                )?
                .iter()
                .map(|r| {
                    let key: String = r.get(0)?;
                    let kind = ProblemKind::parse(&r.get::<_, String>(1)?);
                    let (outcome, category) = match kind {
                        ProblemKind::TooLarge => (MessageOutcome::SkippedTooLarge, None),
                        ProblemKind::Failed => {
                            (MessageOutcome::Refused, Some(ErrorCategory::Protocol))
                        }
                        ProblemKind::Interrupted => (MessageOutcome::Failed, None),
                    };
                    let mut p = MessageProblem::new(
                        problem_label(&key),
                        outcome,
                        category,
                        r.get::<_, Option<i64>>(2)?.map(|s| s.max(0) as u64),
                        r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    );
                    p.attempts = r.get::<_, i64>(4)?.clamp(1, i64::from(u32::MAX)) as u32;
                    Ok(p)
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
        }
        Ok(rows)
    })
}

/// A problem record's key as a message is named elsewhere (`message 3`, or the key).
fn problem_label(key: &str) -> String {
    match key.strip_prefix('#') {
        Some(n) => format!("message {n}"),
        None => key.to_owned(),
    }
}
