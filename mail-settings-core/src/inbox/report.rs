//! The inbox report (the seeds' "Caixa de Entrada"): an account's inbox listing, or every
//! account's, with the same exports as the account reports of [`crate::report`]: CSV (RFC 4180,
//! UTF-8, CRLF, formula-like cells neutralised with `'`, an optional byte-order mark for Excel)
//! and a printable standalone HTML page.
//!
//! An export is the whole filtered listing (the query's `page` and `page_size` are ignored),
//! newest first as [`Inbox::list`] orders it, read [`crate::report::EXPORT_CHUNK`] messages at
//! a time so memory stays flat; like the account reports it is not one snapshot (a message
//! stored during a long export may shift the rows after it).
//!
//! Columns: ID, Account, Date (the `Date` header in UTC, or when it was stored), From,
//! Subject, Size (bytes), Attachments, Read. Message bodies are never part of it.

use super::{Inbox, InboxQuery, MessageSummary};
use crate::report::{format_utc, CsvOptions, CsvTable, HtmlTable, Lang, EXPORT_CHUNK};
use crate::store::StoreError;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn labels(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::PtBr => &[
            "ID", "Conta", "Data", "De", "Assunto", "Tamanho", "Anexos", "Lida",
        ],
        _ => &[
            "ID",
            "Account",
            "Date",
            "From",
            "Subject",
            "Size",
            "Attachments",
            "Read",
        ],
    }
}

const NUMERIC: &[bool] = &[true, false, false, false, false, true, true, false];

fn at(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

fn cells(m: &MessageSummary, lang: Lang) -> Vec<String> {
    vec![
        m.id.to_string(),
        m.account_name.trim().to_owned(),
        format_utc(at(m.date.unwrap_or(m.stored_at))),
        m.from.clone(),
        m.subject.clone().unwrap_or_default(),
        m.size.to_string(),
        m.attachment_count.to_string(),
        lang.yes_no(m.read).to_owned(),
    ]
}

impl Inbox {
    /// The report's title: `Inbox`, `Caixa de Entrada`.
    pub fn report_title(lang: Lang) -> &'static str {
        lang.pick("Inbox", "Caixa de Entrada")
    }

    /// The query's filters, as (label, value) pairs in `lang`, as the HTML page lists them.
    pub fn describe_query(
        &self,
        query: &InboxQuery,
        lang: Lang,
    ) -> Result<Vec<(&'static str, String)>, StoreError> {
        let mut out = Vec::new();
        if let Some(id) = query.account {
            let name = self.store.get_incoming(id)?.record.name;
            out.push((lang.pick("Account", "Conta"), name.trim().to_owned()));
        }
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        if let Some(v) = text(&query.text_contains) {
            out.push((lang.pick("From or subject", "De ou assunto"), v));
        }
        if let Some(v) = text(&query.from_contains) {
            out.push((lang.pick("From", "De"), v));
        }
        if let Some(v) = text(&query.subject_contains) {
            out.push((lang.pick("Subject", "Assunto"), v));
        }
        if let Some(s) = query.since {
            out.push((lang.pick("Since", "Desde"), format_utc(at(s))));
        }
        if let Some(u) = query.until {
            out.push((lang.pick("Until", "Até"), format_utc(at(u))));
        }
        if query.unread_only {
            out.push((
                lang.pick("Unread only", "Somente não lidas"),
                lang.yes_no(true).to_owned(),
            ));
        }
        Ok(out)
    }

    /// Calls `each` for every message of the filtered listing, newest first.
    fn for_each(
        &self,
        query: &InboxQuery,
        mut each: impl FnMut(&MessageSummary) -> std::io::Result<()>,
    ) -> Result<u64, StoreError> {
        let mut q = query.clone();
        q.page_size = EXPORT_CHUNK;
        q.page = 1;
        let mut n = 0u64;
        loop {
            let page = self.list(&q)?;
            for m in &page.messages {
                each(m)?;
                n += 1;
            }
            if page.messages.len() < EXPORT_CHUNK as usize {
                break;
            }
            q.page += 1;
        }
        Ok(n)
    }

    /// The whole filtered listing as CSV, written as `options` say. Returns the number of rows.
    pub fn write_csv(
        &self,
        query: &InboxQuery,
        lang: Lang,
        options: CsvOptions,
        writer: impl Write,
    ) -> Result<u64, StoreError> {
        let mut table = CsvTable::start(writer, options, labels(lang))?;
        let n = self.for_each(query, |m| table.row(&cells(m, lang)))?;
        table.finish()?;
        Ok(n)
    }

    /// The whole filtered listing as a printable standalone HTML page (the filters applied,
    /// `generated_at`, every text HTML-escaped). Returns the number of rows.
    pub fn write_html(
        &self,
        query: &InboxQuery,
        lang: Lang,
        generated_at: SystemTime,
        writer: impl Write,
    ) -> Result<u64, StoreError> {
        let filters = self.describe_query(query, lang)?;
        let mut table = HtmlTable::start(
            writer,
            lang,
            Self::report_title(lang),
            &filters,
            generated_at,
            labels(lang),
            NUMERIC,
        )?;
        let n = self.for_each(query, |m| table.row(&cells(m, lang)))?;
        table.finish(n)?;
        Ok(n)
    }
}
