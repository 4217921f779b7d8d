//! The settings store (SQLite in one file). Being written; see the store helper.

use crate::error::ErrorCategory;
use crate::model::RecordId;
use crate::validate::Validation;
use std::path::PathBuf;

/// What the store refused or failed to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The change would leave invalid settings; every result is inside.
    #[error("invalid settings:\n{0}")]
    Invalid(Validation),
    /// Someone changed the record since it was read.
    #[error("{kind} {id} was changed since it was read (version {expected}, now {found}): reload it and apply the change again")]
    Conflict {
        /// `incoming account`, `SMTP account` or `network connector`.
        kind: &'static str,
        /// The record.
        id: RecordId,
        /// The version the change was based on.
        expected: i64,
        /// The version in the store.
        found: i64,
    },
    /// The record does not exist.
    #[error("{kind} {id} does not exist")]
    NotFound {
        /// `incoming account`, `SMTP account`, `network connector`, `message`.
        kind: &'static str,
        /// The id asked for.
        id: RecordId,
    },
    /// The file is damaged or is not a mail-settings database.
    #[error("{path}: not a usable mail-settings database: {reason}")]
    NotADatabase {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The database was written by a newer version of this library.
    #[error("database schema version {found} is newer than the {supported} this library knows: upgrade the library")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this library knows.
        supported: i64,
    },
    /// SQLite failed.
    #[error("store failure: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// The category.
    pub fn category(&self) -> ErrorCategory {
        match self {
            StoreError::Invalid(_) => ErrorCategory::Validation,
            StoreError::Conflict { .. } => ErrorCategory::Conflict,
            StoreError::NotFound { .. } => ErrorCategory::NotFound,
            StoreError::NotADatabase { .. }
            | StoreError::SchemaTooNew { .. }
            | StoreError::Sqlite(_) => ErrorCategory::Storage,
        }
    }
}
