//! The collection journal (SPEC.md "Collection journal"): every collector run and every
//! message outcome, kept [`DEFAULT_RETENTION_DAYS`] days unless `journal_retention_days` says
//! otherwise, and read as a report like the others (filters, 30 rows a page, CSV, printable
//! HTML in English and Brazilian Portuguese). It is what an operator reads to learn why a
//! message did not arrive.
//!
//! ## What is written, and when
//! - A **run** row (`journal_runs`) is written when a collector run starts and completed when
//!   it ends, each in the transaction that records the account's collector status then (the
//!   journal adds no transaction to a run): its account, start and end, the counts of each outcome, the bytes received and,
//!   when the run failed, the error category and message. A run whose process died keeps no
//!   end time.
//! - A **message entry** (`journal_entries`) says what became of one message: `stored`,
//!   `duplicate`, `skipped_too_large`, `refused` or `failed`, with the folder it was in
//!   (the IMAP mailbox, or `POP3`), its id on the server (`UID 7`, `UIDL abc`, `message 3`),
//!   the error category and the reason (server text made safe: control characters escaped),
//!   the size, and the Message-ID and subject when the message was read.
//! - `stored` and `duplicate` entries are written **in the same transaction as the message
//!   they describe** (the collector's group commit): an entry exists if and only if its message
//!   was committed, and journaling adds no sync of its own.
//! - Outcomes without a stored message (`skipped_too_large`, `refused`, `failed`) are written
//!   with the run's record at its end. A message that meets the same outcome on every run is
//!   **one entry** until its outcome changes: the entry's last-seen time, count and reason are
//!   updated instead of adding rows (compared with the message's latest entry of these three
//!   outcomes: `stored`/`duplicate` entries are not looked up, which keeps them cheap to
//!   write).
//!
//! ## Retention
//! At the end of every run (in its end-of-run transaction), entries last seen more than `journal_retention_days` days ago
//! (1–3650, default 90) are deleted in a bounded batch ([`PRUNE_BATCH`] rows a run), then runs
//! that ended before the cut (an entry's `run_id` is the last run that met it, which ended
//! after the entry was written, so such runs have no entry left). Pruning only touches these two tables:
//! the collector's ledgers, which make collection exactly-once, are never read or changed by
//! it, so a pruned journal never makes a message be fetched again.
//!
//! ## The report
//! [`page`] reads one page, newest first (by last-seen time), with [`JournalFilters`]: account
//! (id or name), outcome, and a time range (`since` inclusive, `until` exclusive, Unix
//! seconds; [`parse_time`] reads RFC 3339 or a date in UTC). [`write_csv`] and [`write_html`]
//! export the whole filtered journal with the account reports' writers (RFC 4180 CSV,
//! formula-like cells neutralised, the printable HTML page). Indexes on
//! `(account_id, outcome, last_seen)`, `(account_id, last_seen)`, `(outcome, last_seen)` and
//! `(last_seen)` serve every combination of filters in the page's order (newest first), so a
//! filtered page stays fast over millions of entries (see the README's benchmark figures).
//!
//! Columns: ID, Time (last seen, UTC), Account, Folder, Server id, Outcome, Category, Size,
//! Seen (times), Message-ID, Subject, Reason.

use crate::collector::{MessageOutcome, MessageProblem, RunReport};
use crate::error::ErrorCategory;
use crate::model::RecordId;
use crate::report::{format_utc, CsvOptions, CsvTable, HtmlTable, Lang, ReportRow, EXPORT_CHUNK};
use crate::store::backend::{Dialect, Sql, SqlExt, SqlRow, Value};
use crate::store::{Store, StoreError};
use crate::text::terminal_safe_line;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Days the journal keeps an entry unless `journal_retention_days` says otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = crate::model::JOURNAL_RETENTION_DAYS_DEFAULT;
/// The range `journal_retention_days` accepts.
pub const RETENTION_DAYS_RANGE: std::ops::RangeInclusive<u32> =
    crate::model::JOURNAL_RETENTION_DAYS_RANGE;
/// Entries one run's pruning deletes at most (the rest goes at the next runs).
pub const PRUNE_BATCH: u32 = 10_000;
/// Rows a journal page holds unless asked otherwise.
pub const DEFAULT_PAGE_SIZE: u32 = crate::report::DEFAULT_PAGE_SIZE;

/// The store setting that holds `journal_retention_days`.
const RETENTION_KEY: &str = "journal_retention_days";

/// Now, in Unix seconds.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn outcome_from(s: &str) -> MessageOutcome {
    match s {
        "stored" => MessageOutcome::Stored,
        "duplicate" => MessageOutcome::Duplicate,
        "skipped_too_large" => MessageOutcome::SkippedTooLarge,
        "refused" => MessageOutcome::Refused,
        _ => MessageOutcome::Failed,
    }
}

/// Parses an outcome word (`stored`, `duplicate`, `skipped_too_large`, `refused`, `failed`).
pub fn parse_outcome(s: &str) -> Option<MessageOutcome> {
    let s = s.trim();
    [
        MessageOutcome::Stored,
        MessageOutcome::Duplicate,
        MessageOutcome::SkippedTooLarge,
        MessageOutcome::Refused,
        MessageOutcome::Failed,
    ]
    .into_iter()
    .find(|o| o.as_str().eq_ignore_ascii_case(s))
}

/// Which end of a range a date stands for in [`parse_time`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeEnd {
    /// `since`: a date means its first second (00:00:00 UTC).
    Since,
    /// `until` (exclusive): a date means the next day's first second, so the whole day is in.
    Until,
}

/// Reads a time as the command takes it: RFC 3339 (`2026-12-06T10:00:00Z`,
/// `2026-12-06T10:00:00-03:00`) or a date (`2026-12-06`, UTC), into Unix seconds. `None` when
/// it is neither.
pub fn parse_time(s: &str, end: RangeEnd) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t.as_second());
    }
    let date: jiff::civil::Date = s.parse().ok()?;
    let date = match end {
        RangeEnd::Since => date,
        RangeEnd::Until => date.tomorrow().ok()?,
    };
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_second())
}

/// Which account the journal is filtered on: its id, or its name (as the command takes it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AccountFilter {
    /// The account's id.
    Id(RecordId),
    /// The account's name (trimmed, case-insensitive).
    Name(String),
}

/// The journal report's filters; `None` means "any". They combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalFilters {
    /// One account, by id or name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountFilter>,
    /// One outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<MessageOutcome>,
    /// Entries last seen at or after this time (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// Entries last seen before this time (Unix seconds, exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
}

/// One entry of the journal: what became of one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The entry's id.
    pub id: i64,
    /// The run that last met it.
    pub run_id: i64,
    /// The account.
    pub account_id: RecordId,
    /// The account's name (trimmed).
    pub account_name: String,
    /// The folder: the IMAP mailbox, or `POP3`.
    pub folder: String,
    /// The message on its server: `UID 7`, `UIDL abc`, `message 3`.
    pub server_id: String,
    /// What became of it.
    pub outcome: MessageOutcome,
    /// The error category (`protocol`, `timeout`…) of `refused` and `failed` entries.
    pub category: Option<String>,
    /// Why, in words (server text made safe: control characters escaped).
    pub reason: String,
    /// Its size in bytes, when known.
    pub size: Option<u64>,
    /// Its Message-ID, when it was read.
    pub message_id: Option<String>,
    /// Its subject, when it was read (made safe).
    pub subject: Option<String>,
    /// When it was first met (Unix seconds).
    pub first_seen: i64,
    /// When it was last met (Unix seconds).
    pub last_seen: i64,
    /// How many runs met it with this outcome.
    pub seen_count: u64,
}

/// One collector run, as the journal keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalRun {
    /// The run's id.
    pub id: i64,
    /// The account.
    pub account_id: RecordId,
    /// When it started (Unix seconds).
    pub started_at: i64,
    /// When it ended; `None` when it has not, or its process died.
    pub ended_at: Option<i64>,
    /// Messages the server listed.
    pub listed: u64,
    /// Messages stored.
    pub stored: u64,
    /// Duplicates counted.
    pub duplicates: u64,
    /// Messages skipped as too large.
    pub skipped_too_large: u64,
    /// Messages refused.
    pub refused: u64,
    /// Messages whose fetch failed.
    pub failed: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Why the run failed: the error category.
    pub error_category: Option<String>,
    /// Why the run failed, in words.
    pub error_message: Option<String>,
}

/// One page of the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalPage {
    /// The entries, newest first.
    pub rows: Vec<JournalEntry>,
    /// The page number (from 1) as served.
    pub page: u32,
    /// The page size as served.
    pub page_size: u32,
    /// Entries matching the filters, over all pages.
    pub total: u64,
}

impl JournalPage {
    /// Number of pages (0 when nothing matches).
    pub fn page_count(&self) -> u64 {
        self.total.div_ceil(u64::from(self.page_size.max(1)))
    }

    /// As a [`crate::report::ReportPage`], for [`crate::report::render_text`].
    pub fn as_report_page(&self) -> crate::report::ReportPage<JournalEntry> {
        crate::report::ReportPage {
            rows: self.rows.clone(),
            page: self.page,
            page_size: self.page_size,
            total: self.total,
        }
    }
}

fn outcome_label(o: MessageOutcome, lang: Lang) -> &'static str {
    match o {
        MessageOutcome::Stored => lang.pick("stored", "armazenada"),
        MessageOutcome::Duplicate => lang.pick("duplicate", "duplicada"),
        MessageOutcome::SkippedTooLarge => {
            lang.pick("skipped: too large", "ignorada: grande demais")
        }
        MessageOutcome::Refused => lang.pick("refused", "recusada"),
        _ => lang.pick("failed", "falhou"),
    }
}

fn at(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

impl ReportRow for JournalEntry {
    fn title(lang: Lang) -> &'static str {
        lang.pick("Collection journal", "Diário de coleta")
    }

    fn labels(lang: Lang) -> &'static [&'static str] {
        match lang {
            Lang::PtBr => &[
                "ID",
                "Horário",
                "Conta",
                "Pasta",
                "Id no servidor",
                "Resultado",
                "Categoria",
                "Tamanho",
                "Vezes",
                "Message-ID",
                "Assunto",
                "Motivo",
            ],
            _ => &[
                "ID",
                "Time",
                "Account",
                "Folder",
                "Server id",
                "Outcome",
                "Category",
                "Size",
                "Seen",
                "Message-ID",
                "Subject",
                "Reason",
            ],
        }
    }

    const NUMERIC: &'static [bool] = &[
        true, false, false, false, false, false, false, true, true, false, false, false,
    ];

    fn cells(&self, lang: Lang) -> Vec<String> {
        vec![
            self.id.to_string(),
            format_utc(at(self.last_seen)),
            self.account_name.clone(),
            self.folder.clone(),
            self.server_id.clone(),
            outcome_label(self.outcome, lang).to_owned(),
            self.category.clone().unwrap_or_default(),
            self.size.map(|s| s.to_string()).unwrap_or_default(),
            self.seen_count.to_string(),
            self.message_id.clone().unwrap_or_default(),
            self.subject.clone().unwrap_or_default(),
            self.reason.clone(),
        ]
    }
}

const COLUMNS: &str = "e.id, e.run_id, e.account_id, a.name, e.folder, e.server_id, e.outcome, \
     e.category, e.reason, e.size, e.message_id, e.subject, e.first_seen, e.last_seen, e.seen_count";

fn entry(r: &SqlRow) -> Result<JournalEntry, StoreError> {
    Ok(JournalEntry {
        id: r.get(0)?,
        run_id: r.get(1)?,
        account_id: r.get(2)?,
        account_name: r.get::<_, String>(3)?.trim().to_owned(),
        folder: r.get(4)?,
        server_id: r.get(5)?,
        outcome: outcome_from(&r.get::<_, String>(6)?),
        category: r.get(7)?,
        reason: r.get(8)?,
        size: r.get::<_, Option<i64>>(9)?.map(|s| s.max(0) as u64),
        message_id: r.get(10)?,
        subject: r.get(11)?,
        first_seen: r.get(12)?,
        last_seen: r.get(13)?,
        seen_count: r.get::<_, i64>(14)?.max(0) as u64,
    })
}

/// SQL conditions (joined with AND) and their parameters.
type Conditions = (Vec<&'static str>, Vec<Value>);

/// The filters as SQL conditions and parameters; `None` when the account named does not
/// exist (nothing matches).
fn conditions(c: &mut dyn Sql, f: &JournalFilters) -> Result<Option<Conditions>, StoreError> {
    let mut conds = Vec::new();
    let mut params = Vec::new();
    if let Some(account) = &f.account {
        let id = match account {
            AccountFilter::Id(id) => Some(*id),
            AccountFilter::Name(name) => c
                .row(
                    "SELECT id FROM incoming_accounts WHERE name_key = ?1",
                    &[crate::validate::name_key(name).into()],
                )?
                .map(|r| r.get(0))
                .transpose()?,
        };
        let Some(id) = id else { return Ok(None) };
        conds.push("e.account_id = ?");
        params.push(Value::Int(id));
    }
    if let Some(o) = f.outcome {
        conds.push("e.outcome = ?");
        params.push(Value::Text(o.as_str().to_owned()));
    }
    if let Some(s) = f.since {
        conds.push("e.last_seen >= ?");
        params.push(Value::Int(s));
    }
    if let Some(u) = f.until {
        conds.push("e.last_seen < ?");
        params.push(Value::Int(u));
    }
    Ok(Some((conds, params)))
}

fn where_sql(conds: &[&str]) -> String {
    if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    }
}

fn page_in(
    c: &mut dyn Sql,
    filters: &JournalFilters,
    page: u32,
    page_size: u32,
) -> Result<JournalPage, StoreError> {
    let page = page.max(1);
    let page_size = page_size.clamp(1, crate::report::MAX_PAGE_SIZE);
    let Some((conds, params)) = conditions(c, filters)? else {
        return Ok(JournalPage {
            rows: Vec::new(),
            page,
            page_size,
            total: 0,
        });
    };
    let filter_sql = where_sql(&conds);
    let total: i64 = c
        .row(
            &format!("SELECT count(*) FROM journal_entries e{filter_sql}"),
            &params,
        )?
        .map_or(Ok(0), |r| r.get(0))?;
    let mut p = params;
    p.push(Value::Int(i64::from(page_size)));
    p.push(Value::Int((i64::from(page) - 1) * i64::from(page_size)));
    let sql = format!(
        "SELECT {COLUMNS} FROM journal_entries e JOIN incoming_accounts a ON a.id = e.account_id\
         {filter_sql} ORDER BY e.last_seen DESC, e.id DESC LIMIT ? OFFSET ?"
    );
    let rows = c
        .rows(&sql, &p)?
        .iter()
        .map(entry)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(JournalPage {
        rows,
        page,
        page_size,
        total: u64::try_from(total).unwrap_or(0),
    })
}

/// One page of the journal (`page` from 1; `page_size` 1 to
/// [`crate::report::MAX_PAGE_SIZE`], brought into range), newest first.
pub fn page(
    store: &Store,
    filters: &JournalFilters,
    page: u32,
    page_size: u32,
) -> Result<JournalPage, StoreError> {
    store.read_sql(|c| page_in(c, filters, page, page_size))
}

/// Calls `each` for every entry of the filtered journal, newest first, reading
/// [`EXPORT_CHUNK`] entries at a time (keyset paging: the store is released between chunks).
fn for_each(
    store: &Store,
    filters: &JournalFilters,
    mut each: impl FnMut(&JournalEntry) -> std::io::Result<()>,
) -> Result<u64, StoreError> {
    let mut after: Option<(i64, i64)> = None;
    let mut n = 0u64;
    loop {
        let chunk = store.read_sql(|c| {
            let Some((mut conds, mut params)) = conditions(c, filters)? else {
                return Ok(Vec::new());
            };
            if let Some((t, id)) = after {
                conds.push("(e.last_seen < ? OR (e.last_seen = ? AND e.id < ?))");
                params.extend([Value::Int(t), Value::Int(t), Value::Int(id)]);
            }
            let sql = format!(
                "SELECT {COLUMNS} FROM journal_entries e JOIN incoming_accounts a ON a.id = e.account_id\
                 {} ORDER BY e.last_seen DESC, e.id DESC LIMIT {EXPORT_CHUNK}",
                where_sql(&conds)
            );
            c.rows(&sql, &params)?
                .iter()
                .map(entry)
                .collect::<Result<Vec<_>, _>>()
        })?;
        let Some(last) = chunk.last() else { break };
        after = Some((last.last_seen, last.id));
        for e in &chunk {
            each(e)?;
            n += 1;
        }
        if chunk.len() < EXPORT_CHUNK as usize {
            break;
        }
    }
    Ok(n)
}

/// The filters set, as (label, value) pairs in `lang`, as the HTML page lists them.
pub fn describe_filters(
    store: &Store,
    filters: &JournalFilters,
    lang: Lang,
) -> Result<Vec<(&'static str, String)>, StoreError> {
    let mut out = Vec::new();
    match &filters.account {
        Some(AccountFilter::Id(id)) => {
            let name = store
                .read_sql(|c| {
                    c.row(
                        "SELECT name FROM incoming_accounts WHERE id = ?1",
                        &[(*id).into()],
                    )?
                    .map(|r| r.get::<_, String>(0))
                    .transpose()
                })?
                .map_or_else(|| id.to_string(), |n| n.trim().to_owned());
            out.push((lang.pick("Account", "Conta"), name));
        }
        Some(AccountFilter::Name(n)) => {
            out.push((lang.pick("Account", "Conta"), n.trim().to_owned()));
        }
        None => {}
    }
    if let Some(o) = filters.outcome {
        out.push((
            lang.pick("Outcome", "Resultado"),
            outcome_label(o, lang).to_owned(),
        ));
    }
    if let Some(s) = filters.since {
        out.push((lang.pick("Since", "Desde"), format_utc(at(s))));
    }
    if let Some(u) = filters.until {
        out.push((lang.pick("Until", "Até"), format_utc(at(u))));
    }
    Ok(out)
}

/// The whole filtered journal as CSV (RFC 4180, UTF-8, CRLF, a header of labels in `lang`,
/// formula-like cells prefixed with `'`, the byte-order mark when `options` ask), newest
/// first. Returns the number of rows.
pub fn write_csv(
    store: &Store,
    filters: &JournalFilters,
    lang: Lang,
    options: CsvOptions,
    writer: impl Write,
) -> Result<u64, StoreError> {
    let mut table = CsvTable::start(writer, options, JournalEntry::labels(lang))?;
    let n = for_each(store, filters, |e| table.row(&e.cells(lang)))?;
    table.finish()?;
    Ok(n)
}

/// The whole filtered journal as a printable standalone HTML page (the account reports' look:
/// title, the filters applied, `generated_at`, every text HTML-escaped). Returns the number of
/// rows.
pub fn write_html(
    store: &Store,
    filters: &JournalFilters,
    lang: Lang,
    generated_at: SystemTime,
    writer: impl Write,
) -> Result<u64, StoreError> {
    let described = describe_filters(store, filters, lang)?;
    let mut table = HtmlTable::start(
        writer,
        lang,
        JournalEntry::title(lang),
        &described,
        generated_at,
        JournalEntry::labels(lang),
        JournalEntry::NUMERIC,
    )?;
    let n = for_each(store, filters, |e| table.row(&e.cells(lang)))?;
    table.finish(n)?;
    Ok(n)
}

/// The runs of the journal, newest first: `account` only when given, at most `limit`.
pub fn runs(
    store: &Store,
    account: Option<RecordId>,
    limit: u32,
) -> Result<Vec<JournalRun>, StoreError> {
    store.read_sql(|c| {
        let u = |v: i64| v.max(0) as u64;
        c.rows(
            "SELECT id, account_id, started_at, ended_at, listed, stored, duplicates, \
             skipped_too_large, refused, failed, bytes, error_category, error_message \
             FROM journal_runs WHERE (CAST(?1 AS BIGINT) IS NULL OR account_id = ?1) \
             ORDER BY started_at DESC, id DESC LIMIT ?2",
            &[account.into(), i64::from(limit).into()],
        )?
        .iter()
        .map(|r| {
            Ok(JournalRun {
                id: r.get(0)?,
                account_id: r.get(1)?,
                started_at: r.get(2)?,
                ended_at: r.get(3)?,
                listed: u(r.get(4)?),
                stored: u(r.get(5)?),
                duplicates: u(r.get(6)?),
                skipped_too_large: u(r.get(7)?),
                refused: u(r.get(8)?),
                failed: u(r.get(9)?),
                bytes: u(r.get(10)?),
                error_category: r.get(11)?,
                error_message: r.get(12)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()
    })
}

// ----- retention -----

/// `journal_retention_days` as the store holds it: `None` when it was never set (the journal
/// then keeps [`DEFAULT_RETENTION_DAYS`]).
pub(crate) fn retention_setting(c: &mut dyn Sql) -> Result<Option<u32>, StoreError> {
    let v: Option<String> = c
        .row(
            "SELECT value FROM store_settings WHERE key = ?1",
            &[RETENTION_KEY.into()],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    Ok(v.and_then(|v| v.parse().ok()))
}

/// The days the journal keeps an entry: `journal_retention_days`, or the default.
pub fn retention_days(store: &Store) -> Result<u32, StoreError> {
    Ok(store
        .read_sql(retention_setting)?
        .unwrap_or(DEFAULT_RETENTION_DAYS))
}

/// Deletes at most `batch` entries last seen before `now - retention_days`, then the runs that
/// ended before the cut with no entry left. Never touches the collector's ledgers. Returns the
/// entries deleted.
pub fn prune(store: &Store, now_secs: i64, batch: u32) -> Result<u64, StoreError> {
    store.write_data(|c| prune_in(c, now_secs, batch))
}

/// [`prune`] inside the caller's transaction (the collector's end-of-run record).
pub(crate) fn prune_in(c: &mut dyn Sql, now_secs: i64, batch: u32) -> Result<u64, StoreError> {
    {
        let days = retention_setting(c)?.unwrap_or(DEFAULT_RETENTION_DAYS);
        let cut = now_secs.saturating_sub(i64::from(days) * 86_400);
        // PostgreSQL: nodes ending runs at once prune at once; each takes rows no other is
        // deleting (SKIP LOCKED), so two prunes never wait on each other or deadlock.
        let skip_locked = match c.dialect() {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let n = c.execute(
            &format!(
                "DELETE FROM journal_entries WHERE id IN \
                 (SELECT id FROM journal_entries WHERE last_seen < ?1 ORDER BY last_seen LIMIT ?2{skip_locked})"
            ),
            &[cut.into(), i64::from(batch).into()],
        )?;
        // An entry's run is the last that met it, and ended after it was written: a run that
        // ended before the cut has no entry left (a run whose process died counts from its
        // start).
        c.execute(
            &format!(
                "DELETE FROM journal_runs WHERE id IN (SELECT id FROM journal_runs \
                 WHERE COALESCE(ended_at, started_at) < ?1 LIMIT ?2{skip_locked})"
            ),
            &[cut.into(), i64::from(batch).into()],
        )?;
        Ok(n)
    }
}

// ----- written by the collector -----

/// Where a run's entries go: its run row and the folder it collects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunContext {
    pub(crate) run_id: i64,
    pub(crate) account_id: RecordId,
    pub(crate) folder: String,
}

/// Opens a run row, inside the caller's transaction (the collector's start-of-run record: no
/// transaction of its own).
pub(crate) fn start_run_in(c: &mut dyn Sql, account: RecordId) -> Result<i64, StoreError> {
    c.row(
        "INSERT INTO journal_runs (account_id, started_at) VALUES (?1, ?2) RETURNING id",
        &[account.into(), now().into()],
    )?
    .ok_or_else(|| StoreError::Io(std::io::Error::other("INSERT … RETURNING gave no row")))?
    .get(0)
}

/// A committed message, as the collector's group commit tells the journal.
pub(crate) struct Committed<'a> {
    pub(crate) server_id: String,
    pub(crate) outcome: MessageOutcome,
    pub(crate) size: u64,
    pub(crate) message_id: Option<&'a str>,
    pub(crate) subject: Option<&'a str>,
}

/// Writes `stored`/`duplicate` entries inside the caller's transaction (the group commit of
/// the messages themselves).
pub(crate) fn record_committed(
    c: &mut dyn Sql,
    run: &RunContext,
    at: i64,
    messages: &[Committed<'_>],
) -> Result<(), StoreError> {
    for m in messages {
        c.execute(
            "INSERT INTO journal_entries (run_id, account_id, folder, server_id, outcome, category, \
             reason, size, message_id, subject, first_seen, last_seen, seen_count) \
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, '', ?6, ?7, ?8, ?9, ?9, 1)",
            &[
                run.run_id.into(),
                run.account_id.into(),
                run.folder.as_str().into(),
                m.server_id.as_str().into(),
                m.outcome.as_str().into(),
                int(m.size).into(),
                m.message_id.map(|t| terminal_safe_line(t).into_owned()).into(),
                m.subject.map(|t| terminal_safe_line(t).into_owned()).into(),
                at.into(),
            ],
        )?;
    }
    Ok(())
}

/// Writes one entry for a message that was not stored, or updates the message's latest entry
/// when it has the same outcome (one entry until the outcome changes).
fn record_problem(
    c: &mut dyn Sql,
    run: &RunContext,
    at: i64,
    p: &MessageProblem,
) -> Result<(), StoreError> {
    let reason = terminal_safe_line(&p.reason);
    let category = p.category.map(ErrorCategory::as_str);
    let size = p.size.map(int);
    let latest: Option<(i64, String)> = c
        .row(
            "SELECT id, outcome FROM journal_entries \
             WHERE account_id = ?1 AND folder = ?2 AND server_id = ?3 \
             AND outcome IN ('skipped_too_large', 'refused', 'failed') ORDER BY id DESC LIMIT 1",
            &[
                run.account_id.into(),
                run.folder.as_str().into(),
                p.message.as_str().into(),
            ],
        )?
        .map(|r| Ok::<_, StoreError>((r.get(0)?, r.get(1)?)))
        .transpose()?;
    match latest {
        Some((id, outcome)) if outcome == p.outcome.as_str() => {
            c.execute(
                "UPDATE journal_entries SET run_id = ?2, category = ?3, reason = ?4, \
                 size = COALESCE(?5, size), last_seen = ?6, seen_count = seen_count + 1 \
                 WHERE id = ?1",
                &[
                    id.into(),
                    run.run_id.into(),
                    category.into(),
                    reason.as_ref().into(),
                    size.into(),
                    at.into(),
                ],
            )?;
        }
        _ => {
            c.execute(
                "INSERT INTO journal_entries (run_id, account_id, folder, server_id, outcome, \
                 category, reason, size, message_id, subject, first_seen, last_seen, seen_count) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, NULL, ?9, ?9, 1)",
                &[
                    run.run_id.into(),
                    run.account_id.into(),
                    run.folder.as_str().into(),
                    p.message.as_str().into(),
                    p.outcome.as_str().into(),
                    category.into(),
                    reason.as_ref().into(),
                    size.into(),
                    at.into(),
                ],
            )?;
        }
    }
    Ok(())
}

/// Completes the run row: its counts, its error, and the entries of the messages it could not
/// store, inside the caller's transaction (the collector's end-of-run record).
pub(crate) fn finish_run_in(
    c: &mut dyn Sql,
    run: &RunContext,
    report: Option<&RunReport>,
    error: Option<(ErrorCategory, &str)>,
) -> Result<(), StoreError> {
    let t = now();
    {
        let count = |o: MessageOutcome| {
            report.map_or(0, |r| {
                r.problems.iter().filter(|p| p.outcome == o).count() as u64
            })
        };
        let failed = count(MessageOutcome::Failed);
        let refused = count(MessageOutcome::Refused);
        c.execute(
            "UPDATE journal_runs SET ended_at = ?2, listed = ?3, stored = ?4, duplicates = ?5, \
             skipped_too_large = ?6, refused = ?7, failed = ?8, bytes = ?9, \
             error_category = ?10, error_message = ?11 WHERE id = ?1",
            &[
                run.run_id.into(),
                t.into(),
                int(report.map_or(0, |r| r.listed)).into(),
                int(report.map_or(0, |r| r.fetched)).into(),
                int(report.map_or(0, |r| r.duplicates)).into(),
                int(report.map_or(0, |r| r.skipped_too_large)).into(),
                int(refused).into(),
                int(failed).into(),
                int(report.map_or(0, |r| r.bytes)).into(),
                error.map(|(cat, _)| cat.as_str()).into(),
                error
                    .map(|(_, m)| terminal_safe_line(m).into_owned())
                    .into(),
            ],
        )?;
        if let Some(r) = report {
            for p in &r.problems {
                record_problem(c, run, t, p)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_rfc3339_or_utc_dates() {
        assert_eq!(
            parse_time("2026-12-06T10:00:00Z", RangeEnd::Since),
            Some(1_796_551_200)
        );
        assert_eq!(
            parse_time("2026-12-06T07:00:00-03:00", RangeEnd::Until),
            Some(1_796_551_200)
        );
        assert_eq!(
            parse_time("2026-12-06", RangeEnd::Since),
            Some(1_796_515_200)
        );
        assert_eq!(
            parse_time("2026-12-06", RangeEnd::Until),
            Some(1_796_515_200 + 86_400)
        );
        assert_eq!(parse_time("yesterday", RangeEnd::Since), None);
        assert_eq!(parse_time("2026-13-01", RangeEnd::Since), None);
    }

    #[test]
    fn outcome_words() {
        assert_eq!(
            parse_outcome("skipped_too_large"),
            Some(MessageOutcome::SkippedTooLarge)
        );
        assert_eq!(parse_outcome("STORED"), Some(MessageOutcome::Stored));
        assert_eq!(parse_outcome("lost"), None);
    }
}
