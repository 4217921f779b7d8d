//! The inbox: the messages the mail collector stored, in the same SQLite file as the settings
//! ("View inbox" of an incoming account).
//!
//! Why here and not in files on disk: a message, its summary and the collector's record that
//! it was stored are written in **one** durable transaction (see [`crate::collector`]), which is
//! what makes collection exactly-once across crashes; a second place to write would need a
//! second commit protocol. The raw bytes are kept in chunks of 256 KiB, so a 20 MB message is
//! never copied whole by SQLite, listing never reads them, and [`Inbox::copy_raw_to`] streams
//! them.
//!
//! Listing is newest first (by the message's `Date`, or when it was stored if it has none),
//! 30 a page by default, per account or across accounts, with filters (from or subject
//! contains — case-insensitive, also for non-ASCII —, date range, unread only). A message can
//! be read raw or parsed (text and HTML bodies, attachments' names, types and sizes), marked
//! read, and deleted locally. A locally deleted message leaves a tombstone (its content hash
//! and Message-ID, nothing a person wrote) so that it is not collected again.
//!
//! The listing is also a report: [`Inbox::write_csv`] and [`Inbox::write_html`] export it as
//! the account reports export theirs (see `inbox/report.rs`).

// Writing the inbox (summaries, content hashes, skeletons) serves the collector.
#![cfg_attr(not(feature = "collector"), allow(dead_code))]

mod parse;
mod report;
pub(crate) mod schema;
mod skeleton;

#[cfg_attr(not(feature = "collector"), allow(unused_imports))]
pub(crate) use parse::{content_hash, summarize, Summary};
pub use parse::{AttachmentInfo, ParsedBody};

use crate::model::RecordId;
use crate::store::backend::{Sql, SqlExt, SqlRow, Value};
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::sync::Arc;

/// Messages a page by default.
pub const DEFAULT_PAGE_SIZE: u32 = 30;
/// The largest page [`Inbox::list`] returns.
pub const MAX_PAGE_SIZE: u32 = 1000;

const MESSAGE_KIND: &str = "message";

/// The id of a stored message.
pub type MessageId = i64;

/// One message in a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSummary {
    /// The message's id in the inbox.
    pub id: MessageId,
    /// The incoming account that received it.
    pub account_id: RecordId,
    /// That account's name.
    pub account_name: String,
    /// Decoded subject, if the message has one.
    pub subject: Option<String>,
    /// Decoded `From`, e.g. `José Silva <jose@example.test>`.
    pub from: String,
    /// Decoded `To`.
    pub to: String,
    /// Decoded `Cc`.
    pub cc: String,
    /// The `Date` header, as Unix seconds (UTC), if it has a readable one.
    pub date: Option<i64>,
    /// When the collector stored it, Unix seconds.
    pub stored_at: i64,
    /// `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    /// Size of the raw message in bytes.
    pub size: u64,
    /// Number of attachments.
    pub attachment_count: u32,
    /// Whether it was marked read.
    pub read: bool,
    /// How many more times the same message (same content, same Message-ID) arrived and was
    /// not stored again.
    pub duplicates: u32,
    /// Where it came from, e.g. `IMAP INBOX UIDVALIDITY 7 UID 42`.
    pub source: String,
    /// Why the message could not be parsed (it is stored raw all the same).
    pub parse_error: Option<String>,
}

/// A message as a person reads it: its summary and its parsed bodies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    /// The summary.
    pub summary: MessageSummary,
    /// Bodies and attachments.
    pub body: ParsedBody,
}

/// What to list. `Default` is the first page of every account, 30 a page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InboxQuery {
    /// Only this account's messages; `None`: every account.
    pub account: Option<RecordId>,
    /// `From` contains this (case-insensitive).
    pub from_contains: Option<String>,
    /// Subject contains this (case-insensitive).
    pub subject_contains: Option<String>,
    /// `From` or subject contains this (case-insensitive).
    pub text_contains: Option<String>,
    /// Dated at or after this (Unix seconds).
    pub since: Option<i64>,
    /// Dated before this (Unix seconds).
    pub until: Option<i64>,
    /// Only messages not marked read.
    pub unread_only: bool,
    /// Page number, from 1.
    pub page: u32,
    /// Messages a page, 1 to [`MAX_PAGE_SIZE`].
    pub page_size: u32,
}

impl Default for InboxQuery {
    fn default() -> Self {
        Self {
            account: None,
            from_contains: None,
            subject_contains: None,
            text_contains: None,
            since: None,
            until: None,
            unread_only: false,
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl InboxQuery {
    /// The first page of one account's messages.
    pub fn account(id: RecordId) -> Self {
        Self {
            account: Some(id),
            ..Self::default()
        }
    }

    /// The same query at page `page`.
    pub fn page(mut self, page: u32) -> Self {
        self.page = page;
        self
    }
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxPage {
    /// The messages, newest first.
    pub messages: Vec<MessageSummary>,
    /// This page's number, from 1.
    pub page: u32,
    /// Messages a page.
    pub page_size: u32,
    /// Messages matching the query, on all pages.
    pub total: u64,
    /// Number of pages (0 when nothing matches).
    pub pages: u64,
}

/// The inbox over a store. Cheap to clone; callable from any thread.
#[derive(Clone, Debug)]
pub struct Inbox {
    store: Arc<Store>,
}

const SUMMARY_COLUMNS: &str = "m.id, m.account_id, a.name, m.subject, m.from_text, m.to_text, \
     m.cc_text, m.date, m.stored_at, m.message_id, m.size, m.attachment_count, m.is_read, \
     m.duplicates, m.source, m.parse_error";

fn summary_from_row(r: &SqlRow) -> Result<MessageSummary, StoreError> {
    Ok(MessageSummary {
        id: r.get(0)?,
        account_id: r.get(1)?,
        account_name: r.get::<_, String>(2)?.trim().to_owned(),
        subject: r.get(3)?,
        from: r.get(4)?,
        to: r.get(5)?,
        cc: r.get(6)?,
        date: r.get(7)?,
        stored_at: r.get(8)?,
        message_id: r.get(9)?,
        size: r.get::<_, i64>(10)?.max(0) as u64,
        attachment_count: r.get::<_, i64>(11)?.clamp(0, i64::from(u32::MAX)) as u32,
        read: r.get(12)?,
        duplicates: r.get::<_, i64>(13)?.clamp(0, i64::from(u32::MAX)) as u32,
        source: r.get(14)?,
        parse_error: r.get(15)?,
    })
}

/// Lower-cased needle for the `search_*` columns; `None` when blank.
fn needle(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase)
}

impl Inbox {
    /// The inbox kept in `store`.
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    /// The store it lives in.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// One page of messages, newest first, with the total count.
    pub fn list(&self, query: &InboxQuery) -> Result<InboxPage, StoreError> {
        let page = query.page.max(1);
        let page_size = query.page_size.clamp(1, MAX_PAGE_SIZE);
        let mut clauses = vec!["m.deleted = 0".to_owned()];
        let mut values: Vec<Value> = Vec::new();
        if let Some(a) = query.account {
            values.push(a.into());
            clauses.push(format!("m.account_id = ?{}", values.len()));
        }
        if let Some(n) = needle(&query.from_contains) {
            values.push(n.into());
            clauses.push(format!("instr(m.search_from, ?{}) > 0", values.len()));
        }
        if let Some(n) = needle(&query.subject_contains) {
            values.push(n.into());
            clauses.push(format!("instr(m.search_subject, ?{}) > 0", values.len()));
        }
        if let Some(n) = needle(&query.text_contains) {
            values.push(n.into());
            let i = values.len();
            clauses.push(format!(
                "(instr(m.search_from, ?{i}) > 0 OR instr(m.search_subject, ?{i}) > 0)"
            ));
        }
        if let Some(s) = query.since {
            values.push(s.into());
            clauses.push(format!("m.sort_date >= ?{}", values.len()));
        }
        if let Some(u) = query.until {
            values.push(u.into());
            clauses.push(format!("m.sort_date < ?{}", values.len()));
        }
        if query.unread_only {
            clauses.push("m.is_read = 0".to_owned());
        }
        let filter = clauses.join(" AND ");
        self.store.read_sql(|c| {
            let total: i64 = c
                .row(
                    &format!("SELECT count(*) FROM inbox_messages m WHERE {filter}"),
                    &values,
                )?
                .map_or(Ok(0), |r| r.get(0))?;
            let offset = i64::from(page - 1) * i64::from(page_size);
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS} FROM inbox_messages m \
                 JOIN incoming_accounts a ON a.id = m.account_id \
                 WHERE {filter} ORDER BY m.sort_date DESC, m.id DESC LIMIT {page_size} OFFSET {offset}"
            );
            let messages = c
                .rows(&sql, &values)?
                .iter()
                .map(summary_from_row)
                .collect::<Result<Vec<_>, _>>()?;
            let total = total.max(0) as u64;
            Ok(InboxPage {
                messages,
                page,
                page_size,
                total,
                pages: total.div_ceil(u64::from(page_size)),
            })
        })
    }

    /// Number of messages (not deleted) of one account, or of all.
    pub fn count(&self, account: Option<RecordId>) -> Result<u64, StoreError> {
        self.store.read_sql(|c| {
            let n: i64 = c
                .row(
                    "SELECT count(*) FROM inbox_messages WHERE deleted = 0 \
                     AND (CAST(?1 AS BIGINT) IS NULL OR account_id = ?1)",
                    &[account.into()],
                )?
                .map_or(Ok(0), |r| r.get(0))?;
            Ok(n.max(0) as u64)
        })
    }

    /// The summary of message `id`.
    pub fn message(&self, id: MessageId) -> Result<MessageSummary, StoreError> {
        self.store.read_sql(|c| get_summary(c, id))
    }

    /// The raw bytes of message `id`, whole. For large messages prefer
    /// [`Inbox::copy_raw_to`].
    pub fn raw(&self, id: MessageId) -> Result<Vec<u8>, StoreError> {
        self.store.read_sql(|c| {
            let size = get_summary(c, id)?.size;
            let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            for row in c.query(
                "SELECT data FROM inbox_chunks WHERE message = ?1 ORDER BY seq",
                &[id.into()],
            )? {
                match row.into_iter().next() {
                    Some(Value::Blob(chunk)) => out.extend_from_slice(&chunk),
                    other => {
                        return Err(StoreError::NotADatabase {
                            path: std::path::PathBuf::new(),
                            reason: format!("a chunk of message {id} holds {other:?}"),
                        })
                    }
                }
            }
            Ok(out)
        })
    }

    /// Writes the raw bytes of message `id` to `out`, one chunk (256 KiB) at a time; returns
    /// the number of bytes written. The store is not held while `out` is written.
    pub fn copy_raw_to(&self, id: MessageId, out: &mut dyn Write) -> Result<u64, StoreError> {
        self.message(id)?;
        let mut written = 0u64;
        let mut seq = 0i64;
        loop {
            let chunk: Option<Vec<u8>> = self.store.read_sql(|c| {
                c.row(
                    "SELECT data FROM inbox_chunks WHERE message = ?1 AND seq = ?2",
                    &[id.into(), seq.into()],
                )?
                .map(|r| r.get(0))
                .transpose()
            })?;
            let Some(chunk) = chunk else { break };
            out.write_all(&chunk)?;
            written += chunk.len() as u64;
            seq += 1;
        }
        out.flush()?;
        Ok(written)
    }

    /// Message `id` parsed: summary, text and HTML bodies, attachments.
    pub fn read_message(&self, id: MessageId) -> Result<MessageView, StoreError> {
        let summary = self.message(id)?;
        let raw = self.raw(id)?;
        let body = parse::parse_body(&raw);
        Ok(MessageView { summary, body })
    }

    /// Marks message `id` read (or unread).
    pub fn mark_read(&self, id: MessageId, read: bool) -> Result<(), StoreError> {
        self.store.write_data(|c| {
            let n = c.execute(
                "UPDATE inbox_messages SET is_read = ?2 WHERE id = ?1 AND deleted = 0",
                &[id.into(), read.into()],
            )?;
            if n == 0 {
                return Err(not_found(id));
            }
            Ok(())
        })
    }

    /// Deletes message `id` from the inbox (never from the server). Its raw bytes and summary
    /// are removed; a tombstone (content hash, Message-ID) stays so that the collector does
    /// not store it again if the server still has it or delivers it again.
    pub fn delete(&self, id: MessageId) -> Result<(), StoreError> {
        self.store.write_data(|c| {
            let n = c.execute(
                "UPDATE inbox_messages SET deleted = 1, subject = NULL, from_text = '', \
                 to_text = '', cc_text = '', search_from = '', search_subject = '', \
                 parse_error = NULL WHERE id = ?1 AND deleted = 0",
                &[id.into()],
            )?;
            if n == 0 {
                return Err(not_found(id));
            }
            c.execute("DELETE FROM inbox_chunks WHERE message = ?1", &[id.into()])?;
            tracing::debug!(message = id, "inbox message deleted locally");
            Ok(())
        })
    }
}

fn not_found(id: MessageId) -> StoreError {
    StoreError::NotFound {
        kind: MESSAGE_KIND,
        id,
    }
}

fn get_summary(c: &mut dyn Sql, id: MessageId) -> Result<MessageSummary, StoreError> {
    c.row(
        &format!(
            "SELECT {SUMMARY_COLUMNS} FROM inbox_messages m \
             JOIN incoming_accounts a ON a.id = m.account_id WHERE m.id = ?1 AND m.deleted = 0"
        ),
        &[id.into()],
    )?
    .map(|r| summary_from_row(&r))
    .transpose()?
    .ok_or_else(|| not_found(id))
}

/// A message to insert, with its summary and hash already computed.
pub(crate) struct NewMessage<'a> {
    pub(crate) account_id: RecordId,
    pub(crate) raw: &'a [u8],
    pub(crate) hash: &'a [u8; 32],
    pub(crate) summary: &'a Summary,
    pub(crate) source: &'a str,
    pub(crate) stored_at: i64,
}

/// The message of `account_id` with the same content and Message-ID, if any (tombstones
/// included).
pub(crate) fn find_same(
    c: &mut dyn Sql,
    account_id: RecordId,
    hash: &[u8; 32],
    message_id: Option<&str>,
) -> Result<Option<MessageId>, StoreError> {
    // `IS NOT DISTINCT FROM`: equal, or both NULL (a message without a Message-ID).
    c.row(
        "SELECT id FROM inbox_messages WHERE account_id = ?1 AND content_hash = ?2 \
         AND message_id IS NOT DISTINCT FROM ?3 ORDER BY id LIMIT 1",
        &[account_id.into(), (&hash[..]).into(), message_id.into()],
    )?
    .map(|r| r.get(0))
    .transpose()
}

/// Counts one more arrival of message `id`.
pub(crate) fn count_duplicate(c: &mut dyn Sql, id: MessageId) -> Result<(), StoreError> {
    c.execute(
        "UPDATE inbox_messages SET duplicates = duplicates + 1 WHERE id = ?1",
        &[id.into()],
    )?;
    Ok(())
}

/// Inserts a message and its raw bytes (in chunks) in the caller's transaction.
pub(crate) fn insert(c: &mut dyn Sql, m: &NewMessage<'_>) -> Result<MessageId, StoreError> {
    let s = m.summary;
    let id: MessageId = c
        .row(
            "INSERT INTO inbox_messages (account_id, stored_at, sort_date, date, subject, from_text, \
             to_text, cc_text, message_id, size, attachment_count, content_hash, parse_error, source, \
             search_from, search_subject) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) \
             RETURNING id",
            &[
                m.account_id.into(),
                m.stored_at.into(),
                s.date.unwrap_or(m.stored_at).into(),
                s.date.into(),
                s.subject.as_deref().into(),
                s.from.as_str().into(),
                s.to.as_str().into(),
                s.cc.as_str().into(),
                s.message_id.as_deref().into(),
                (m.raw.len() as i64).into(),
                i64::from(s.attachment_count).into(),
                (&m.hash[..]).into(),
                s.parse_error.as_deref().into(),
                m.source.into(),
                s.from.to_lowercase().into(),
                s.subject.as_deref().unwrap_or("").to_lowercase().into(),
            ],
        )?
        .ok_or_else(|| StoreError::Io(std::io::Error::other("INSERT … RETURNING gave no row")))?
        .get(0)?;
    for (seq, chunk) in m.raw.chunks(schema::CHUNK_SIZE).enumerate() {
        c.execute(
            "INSERT INTO inbox_chunks (message, seq, data) VALUES (?1, ?2, ?3)",
            &[id.into(), (seq as i64).into(), chunk.into()],
        )?;
    }
    Ok(id)
}
