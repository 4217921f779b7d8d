//! The collection journal for Kotlin and Swift: a filtered page of entries (newest first), the
//! whole filtered journal as CSV or printable HTML into a file, the collector runs, and the
//! retention in force. Thin delegation to `mail_settings_core::journal`.

use crate::collector::MessageOutcome;
use crate::error::Result;
use crate::store::{ReportLanguage, Store};
use mail_settings_core as mscore;
use mscore::journal as core;
use std::time::SystemTime;

/// The journal's filters; empty fields mean "any". They combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct JournalFilter {
    /// One incoming account, by id.
    #[uniffi(default = None)]
    pub account_id: Option<i64>,
    /// One incoming account, by name (case-insensitive); ignored when `account_id` is set.
    #[uniffi(default = None)]
    pub account_name: Option<String>,
    /// One outcome.
    #[uniffi(default = None)]
    pub outcome: Option<MessageOutcome>,
    /// Entries last seen at or after this time (Unix seconds); see [`parse_journal_time`].
    #[uniffi(default = None)]
    pub since: Option<i64>,
    /// Entries last seen before this time (Unix seconds, exclusive).
    #[uniffi(default = None)]
    pub until: Option<i64>,
}

fn core_outcome(o: MessageOutcome) -> mscore::collector::MessageOutcome {
    use mscore::collector::MessageOutcome as O;
    match o {
        MessageOutcome::Stored => O::Stored,
        MessageOutcome::Duplicate => O::Duplicate,
        MessageOutcome::SkippedTooLarge => O::SkippedTooLarge,
        MessageOutcome::Refused => O::Refused,
        MessageOutcome::Failed => O::Failed,
    }
}

impl From<JournalFilter> for core::JournalFilters {
    fn from(f: JournalFilter) -> Self {
        core::JournalFilters {
            account: match (f.account_id, f.account_name) {
                (Some(id), _) => Some(core::AccountFilter::Id(id)),
                (None, Some(name)) => Some(core::AccountFilter::Name(name)),
                (None, None) => None,
            },
            outcome: f.outcome.map(core_outcome),
            since: f.since,
            until: f.until,
        }
    }
}

/// One journal entry: what became of one message.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct JournalEntry {
    /// The entry's id.
    pub id: i64,
    /// The run that last met it.
    pub run_id: i64,
    /// The account.
    pub account_id: i64,
    /// The account's name.
    pub account_name: String,
    /// The folder: the IMAP mailbox, or `POP3`.
    pub folder: String,
    /// The message on its server: `UID 7`, `UIDL abc`, `message 3`.
    pub server_id: String,
    /// What became of it.
    pub outcome: MessageOutcome,
    /// The error category of `refused` and `failed` entries (`protocol`, `timeout`…).
    pub category: Option<String>,
    /// Why, in words (server text made safe).
    pub reason: String,
    /// Its size in bytes, when known.
    pub size: Option<u64>,
    /// Its Message-ID, when it was read.
    pub message_id: Option<String>,
    /// Its subject, when it was read.
    pub subject: Option<String>,
    /// First met (Unix seconds).
    pub first_seen: i64,
    /// Last met (Unix seconds).
    pub last_seen: i64,
    /// Runs that met it with this outcome.
    pub seen_count: u64,
}

impl From<core::JournalEntry> for JournalEntry {
    fn from(e: core::JournalEntry) -> Self {
        Self {
            id: e.id,
            run_id: e.run_id,
            account_id: e.account_id,
            account_name: e.account_name,
            folder: e.folder,
            server_id: e.server_id,
            outcome: e.outcome.into(),
            category: e.category,
            reason: e.reason,
            size: e.size,
            message_id: e.message_id,
            subject: e.subject,
            first_seen: e.first_seen,
            last_seen: e.last_seen,
            seen_count: e.seen_count,
        }
    }
}

/// One page of the journal.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct JournalPage {
    /// The entries, newest first.
    pub rows: Vec<JournalEntry>,
    /// The page number (from 1) as served.
    pub page: u32,
    /// The page size as served.
    pub page_size: u32,
    /// Entries matching the filters, over all pages.
    pub total: u64,
    /// Number of pages.
    pub page_count: u64,
}

/// One collector run, as the journal keeps it.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct JournalRun {
    /// The run's id.
    pub id: i64,
    /// The account.
    pub account_id: i64,
    /// Started (Unix seconds).
    pub started_at: i64,
    /// Ended; empty while running or when its process died.
    pub ended_at: Option<i64>,
    /// Messages listed.
    pub listed: u64,
    /// Messages stored.
    pub stored: u64,
    /// Duplicates.
    pub duplicates: u64,
    /// Skipped as too large.
    pub skipped_too_large: u64,
    /// Refused.
    pub refused: u64,
    /// Failed.
    pub failed: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Why the run failed: its category.
    pub error_category: Option<String>,
    /// Why the run failed, in words.
    pub error_message: Option<String>,
}

impl From<core::JournalRun> for JournalRun {
    fn from(r: core::JournalRun) -> Self {
        Self {
            id: r.id,
            account_id: r.account_id,
            started_at: r.started_at,
            ended_at: r.ended_at,
            listed: r.listed,
            stored: r.stored,
            duplicates: r.duplicates,
            skipped_too_large: r.skipped_too_large,
            refused: r.refused,
            failed: r.failed,
            bytes: r.bytes,
            error_category: r.error_category,
            error_message: r.error_message,
        }
    }
}

/// Reads a time as the `journal` command does: RFC 3339 or a date (UTC), into Unix seconds;
/// `until` makes a date mean the next day's start (the whole day in). Empty when it is neither.
#[uniffi::export]
pub fn parse_journal_time(text: String, until: bool) -> Option<i64> {
    core::parse_time(
        &text,
        if until {
            core::RangeEnd::Until
        } else {
            core::RangeEnd::Since
        },
    )
}

fn file(path: &str) -> Result<std::io::BufWriter<std::fs::File>> {
    std::fs::File::create(path)
        .map(std::io::BufWriter::new)
        .map_err(|e| mscore::store::StoreError::Io(e).into())
}

#[uniffi::export]
impl Store {
    /// One page of the collection journal, newest first: `page` from 1, `page_size` rows (30
    /// by default, at most 1000).
    #[uniffi::method(default(filter = None, page = 1, page_size = 30))]
    pub fn journal_page(
        &self,
        filter: Option<JournalFilter>,
        page: u32,
        page_size: u32,
    ) -> Result<JournalPage> {
        let p = core::page(
            &self.inner,
            &filter.unwrap_or_default().into(),
            page,
            page_size,
        )?;
        let page_count = p.page_count();
        Ok(JournalPage {
            rows: p.rows.into_iter().map(Into::into).collect(),
            page: p.page,
            page_size: p.page_size,
            total: p.total,
            page_count,
        })
    }

    /// "Export CSV" of the journal: every entry `filter` matches, newest first, into the file
    /// at `path` (RFC 4180, UTF-8, labels in `language`; `bom` for Excel). Returns the rows.
    #[uniffi::method(default(filter = None, bom = false))]
    pub fn write_journal_csv(
        &self,
        language: ReportLanguage,
        path: String,
        filter: Option<JournalFilter>,
        bom: bool,
    ) -> Result<u64> {
        Ok(core::write_csv(
            &self.inner,
            &filter.unwrap_or_default().into(),
            language.into(),
            mscore::report::CsvOptions::default().bom(bom),
            file(&path)?,
        )?)
    }

    /// "Print report" of the journal: a printable standalone HTML page in the file at `path`.
    /// Returns the rows.
    #[uniffi::method(default(filter = None))]
    pub fn write_journal_html(
        &self,
        language: ReportLanguage,
        path: String,
        filter: Option<JournalFilter>,
    ) -> Result<u64> {
        Ok(core::write_html(
            &self.inner,
            &filter.unwrap_or_default().into(),
            language.into(),
            SystemTime::now(),
            file(&path)?,
        )?)
    }

    /// The collector runs, newest first (of one account when given), at most `limit`.
    #[uniffi::method(default(account_id = None, limit = 100))]
    pub fn journal_runs(&self, account_id: Option<i64>, limit: u32) -> Result<Vec<JournalRun>> {
        Ok(core::runs(&self.inner, account_id, limit)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The days the journal keeps an entry: `journal_retention_days`, or 90.
    pub fn journal_retention_days(&self) -> Result<u32> {
        Ok(core::retention_days(&self.inner)?)
    }
}
