//! The inbox report (the seeds' "Caixa de Entrada") for Kotlin and Swift: the inbox listing
//! exported as the account reports are, CSV (with the optional byte-order mark) and printable
//! HTML, into a file.

use crate::collector::{Inbox, InboxQuery};
use crate::error::Result;
use crate::store::ReportLanguage;
use mail_settings_core as mscore;
use mscore::{inbox, report};
use std::time::SystemTime;

fn file(path: &str) -> Result<std::io::BufWriter<std::fs::File>> {
    std::fs::File::create(path)
        .map(std::io::BufWriter::new)
        .map_err(|e| mscore::store::StoreError::Io(e).into())
}

fn core_query(q: Option<InboxQuery>) -> inbox::InboxQuery {
    let q = q.unwrap_or_default();
    inbox::InboxQuery {
        account: q.account_id,
        from_contains: q.from_contains,
        subject_contains: q.subject_contains,
        text_contains: q.text_contains,
        since: q.since,
        until: q.until,
        unread_only: q.unread_only,
        ..inbox::InboxQuery::default()
    }
}

#[uniffi::export]
impl Inbox {
    /// "Export CSV" of the inbox: every message `query` matches (all pages), newest first, into
    /// the file at `path` (RFC 4180, UTF-8, labels in `language`, formula-like cells
    /// neutralised; `bom` starts it with the UTF-8 byte-order mark for Excel). Returns the
    /// number of rows.
    #[uniffi::method(default(query = None, bom = false))]
    pub fn write_report_csv(
        &self,
        language: ReportLanguage,
        path: String,
        query: Option<InboxQuery>,
        bom: bool,
    ) -> Result<u64> {
        let out = file(&path)?;
        Ok(self.inner.write_csv(
            &core_query(query),
            language.into(),
            report::CsvOptions::default().bom(bom),
            out,
        )?)
    }

    /// "Print report" of the inbox: a printable standalone HTML page in the file at `path`.
    /// Returns the number of rows.
    #[uniffi::method(default(query = None))]
    pub fn write_report_html(
        &self,
        language: ReportLanguage,
        path: String,
        query: Option<InboxQuery>,
    ) -> Result<u64> {
        let out = file(&path)?;
        Ok(self
            .inner
            .write_html(&core_query(query), language.into(), SystemTime::now(), out)?)
    }
}
