//! Settings documents in and out of the store.
//!
//! A document is the *whole* set of settings. [`Store::import`] makes the store hold exactly
//! the document's records: records whose id the store already has are updated in place (and
//! keep their version when nothing changed, so data hanging off them, such as an account's
//! inbox, stays attached), records without an id or with a new id are inserted (keeping the
//! document's id), and records the document leaves out are deleted. All of it happens in one
//! transaction, after [`validate_document`] found no error: either the store becomes the
//! document, or nothing changes.

use super::backend::{Dialect, Sql};
use super::records::Record;
use super::{
    insert_row, insert_rows_with_ids, list_rows, next_version, update_row, Store, StoreError,
};
use crate::document::SettingsDocument;
use crate::model::{
    IncomingAccountForm, NetworkConnectorForm, OAuth2ClientForm, RecordId, SmtpAccountForm,
};
use crate::schedule::ReportScheduleForm;
use crate::validate::{name_key, validate_document};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// What an import did, counted over connectors, accounts and report schedules together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Records that were not in the store.
    pub created: usize,
    /// Records in the store that the document changed.
    pub updated: usize,
    /// Records in the store that the document has unchanged (their version is kept).
    pub unchanged: usize,
    /// Records in the store that the document leaves out.
    pub deleted: usize,
}

impl ImportSummary {
    fn add(&mut self, other: ImportSummary) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.deleted += other.deleted;
    }
}

impl Store {
    /// Every connector and account, with ids, in id order: a document that [`Store::import`]
    /// turns back into exactly this store.
    pub fn export(&self) -> Result<SettingsDocument, StoreError> {
        self.read_sql(|c| {
            Ok(SettingsDocument {
                network_connectors: records::<NetworkConnectorForm>(c)?,
                oauth2_clients: records::<OAuth2ClientForm>(c)?,
                incoming_accounts: records::<IncomingAccountForm>(c)?,
                smtp_accounts: records::<SmtpAccountForm>(c)?,
                report_schedules: records::<ReportScheduleForm>(c)?,
                journal_retention_days: super::later_schema::retention_setting_sql(c)?,
                ..SettingsDocument::default()
            })
        })
    }

    /// Makes the store hold exactly `doc` (see the module documentation), all or nothing.
    ///
    /// Refused with [`StoreError::Invalid`] (paths like `incoming_accounts[2].host`) when
    /// [`validate_document`] reports any error, with the store's credential provider checking
    /// credential ids. Warnings do not block.
    pub fn import(&self, doc: &SettingsDocument) -> Result<ImportSummary, StoreError> {
        let v = validate_document(doc, self.credentials.as_deref());
        if v.has_errors() {
            return Err(StoreError::Invalid(v));
        }
        self.write_sql(|c| {
            // References are checked when the transaction commits, so the order in which the
            // kinds are written does not matter; the commit still fails on a dangling one.
            match c.dialect() {
                Dialect::Sqlite => c.execute("PRAGMA defer_foreign_keys = ON", &[])?,
                // The PostgreSQL schema makes every reference DEFERRABLE for this.
                Dialect::Postgres => c.execute("SET CONSTRAINTS ALL DEFERRED", &[])?,
            };
            let version = next_version(c)?;
            let mut summary = ImportSummary::default();
            summary.add(replace_all(c, version, &doc.network_connectors)?);
            summary.add(replace_all(c, version, &doc.oauth2_clients)?);
            summary.add(replace_all(c, version, &doc.incoming_accounts)?);
            summary.add(replace_all(c, version, &doc.smtp_accounts)?);
            summary.add(replace_all(c, version, &doc.report_schedules)?);
            super::later_schema::set_retention_setting_sql(c, doc.journal_retention_days)?;
            tracing::info!(
                created = summary.created,
                updated = summary.updated,
                unchanged = summary.unchanged,
                deleted = summary.deleted,
                "settings imported"
            );
            Ok(summary)
        })
    }
}

fn records<R: Record>(c: &mut dyn Sql) -> Result<Vec<R>, StoreError> {
    Ok(list_rows::<R>(c)?.into_iter().map(|s| s.record).collect())
}

/// Makes the table of `R` hold exactly `wanted`.
fn replace_all<R: Record>(
    c: &mut dyn Sql,
    version: i64,
    wanted: &[R],
) -> Result<ImportSummary, StoreError> {
    let mut summary = ImportSummary::default();
    let existing: HashMap<RecordId, R> = list_rows::<R>(c)?
        .into_iter()
        .map(|s| (s.id, s.record))
        .collect();
    let keep: HashSet<RecordId> = wanted.iter().filter_map(Record::id).collect();

    let delete = format!("DELETE FROM {} WHERE id = ?1", R::TABLE);
    for id in existing.keys().filter(|id| !keep.contains(id)) {
        c.execute(&delete, &[(*id).into()])?;
        summary.deleted += 1;
    }

    let mut updates = Vec::new();
    let mut inserts = Vec::new();
    for form in wanted {
        match form
            .id()
            .and_then(|id| existing.get(&id).map(|old| (id, old)))
        {
            Some((_, old)) if old == form => summary.unchanged += 1,
            Some((id, _)) => updates.push((id, form)),
            None => inserts.push(form),
        }
    }

    // Names (and the one default SMTP account) may move between records: first park every
    // updated record under a name key no real name has (real keys are trimmed, so never start
    // with a space) and without the default flag, then write the real values.
    let park_default = if R::TABLE == "smtp_accounts" {
        ", default_account = 0"
    } else {
        ""
    };
    let park = format!(
        "UPDATE {} SET name_key = ' ' || id{park_default} WHERE id = ?1",
        R::TABLE
    );
    for (id, _) in &updates {
        c.execute(&park, &[(*id).into()])?;
    }
    for (id, form) in &updates {
        update_row(c, *id, version, *form)?;
        summary.updated += 1;
    }
    // Records with their own id first, so that an id the store gives cannot take one of theirs.
    inserts.sort_by_key(|form| form.id().is_none());
    let given = inserts.iter().take_while(|f| f.id().is_some()).count();
    if c.dialect() == Dialect::Postgres {
        // Many rows a statement: one round trip per row made an import of 100,000 accounts
        // take minutes on PostgreSQL. (SQLite runs in-process: a row costs no round trip.)
        insert_rows_with_ids(c, version, &inserts[..given])?;
    } else {
        for form in &inserts[..given] {
            insert_row(c, form.id(), version, *form)?;
        }
    }
    summary.created += given;
    for form in &inserts[given..] {
        debug_assert!(!name_key(form.name()).starts_with(' '));
        insert_row(c, None, version, *form)?;
        summary.created += 1;
    }
    Ok(summary)
}
