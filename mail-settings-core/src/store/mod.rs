//! The settings store: network connectors, incoming accounts and SMTP accounts in one SQLite
//! file (or in memory), or in a PostgreSQL database ([`Store::open`] with a `postgres://`
//! URL; see [`location`] for the URL and the password, [`pg`] for the backend and
//! `backend.rs` for the seam both backends share). On PostgreSQL the same guarantees hold for
//! the settings: one transaction per change (writers serialised on the version counter row),
//! optimistic versions (the checked row locked), names unique and at most one default SMTP
//! account (the same unique and partial unique indexes), all-or-nothing import (references
//! deferred to the commit). The inbox, the collector's state (ledgers, runs, status, leases),
//! the journal, the report schedules and the reports are on both backends too: the
//! collector's group commit writes a message, its ledger row and its journal entry in one
//! transaction, the lease fence checked inside it, on PostgreSQL as on SQLite.
//!
//! Why a store of its own rather than a document on disk: several processes (the application,
//! the mail collector, the CLI) read and change the settings at once, and a person editing an
//! account must never silently overwrite someone else's edit. So:
//!
//! - **One transaction per change.** A change is validated and written inside one
//!   `BEGIN IMMEDIATE` transaction, so the checks (unique names, the connector exists and is
//!   enabled, one default SMTP account) and the write see the same data, across processes too.
//! - **Optimistic versions.** Every record read carries a `version` ([`Stored`]); an update or
//!   delete names the version it was based on and is refused with [`StoreError::Conflict`] if
//!   the record changed since. Versions come from one store-wide counter: they are only ever
//!   compared for equality, and a record deleted and re-created under the same id never
//!   repeats an old version.
//! - **The store always holds valid settings.** Every write runs [`crate::validate`]'s rules
//!   (with the store's connectors, and its credential provider if one was given), plus the
//!   rules across records: names unique per kind (case-insensitive, trimmed; also a UNIQUE
//!   index), at most one default SMTP account (making one default clears the others in the
//!   same transaction), and a connector that accounts use can be neither deleted nor
//!   **disabled** ([`StoreError::InUse`], naming the accounts): an account may only use an
//!   enabled connector (docs/SETTINGS.md), so disabling one under its accounts would leave them
//!   unusable and the store no longer exportable as a valid document. To stop traffic through
//!   a connector, disable or move its accounts first.
//! - **No secrets.** Accounts and connectors hold credential *ids*; the store never asks the
//!   provider for a secret (it only asks whether an id exists, for `unknown_credential`).
//! - **Durable and recognisable.** Files use WAL with `synchronous=FULL`, a busy timeout,
//!   foreign keys, and carry their own `application_id` and schema version ([`SCHEMA_VERSION`];
//!   `store/migrations.rs` says how the schema evolves and how to add a migration). A damaged
//!   file (`PRAGMA quick_check` of the settings on open; the inbox's tables when they are
//!   read, see `store/open_check.rs`), another application's
//!   database or a newer schema is an error ([`StoreError::NotADatabase`],
//!   [`StoreError::SchemaTooNew`]), never a panic, and is never modified.
//!
//! Reports over the store (filtered, paged, CSV, HTML) are in [`crate::report`]; settings
//! documents go in and out with [`Store::import`] and [`Store::export`].

pub(crate) mod backend;
// The checkpointer and bulk writes serve the collector; report schedules' claims, the runner.
#[cfg_attr(not(feature = "collector"), allow(dead_code))]
pub(crate) mod checkpoint;
mod later_schema;
pub mod location;
mod migrations;
mod oauth2;
mod oauth2_clients;
mod open_check;
#[cfg(feature = "postgres")]
pub mod pg;
pub(crate) mod records;
#[cfg_attr(not(feature = "smtp"), allow(dead_code))]
pub(crate) mod schedules;
mod transfer;

pub use location::{PgTls, PostgresLocation, StoreLocation};
pub use migrations::{APPLICATION_ID, SCHEMA_VERSION};
pub use oauth2_clients::OAuth2Binding;
#[cfg(feature = "postgres")]
pub use pg::PostgresDb;
#[cfg_attr(not(feature = "smtp"), allow(unused_imports))]
pub(crate) use schedules::Claim;
pub use transfer::ImportSummary;

use crate::credentials::CredentialProvider;
use crate::error::ErrorCategory;
use crate::model::{IncomingAccountForm, NetworkConnectorForm, RecordId, SmtpAccountForm};
use crate::typed::{IncomingAccount, SmtpAccount};
use crate::validate::{name_key, Code, Detail, Field, Validation, ValidationContext};
use backend::{Dialect, Sql, SqlExt, SqlRow, SqliteTx, Value};
use records::Record;
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Page size of a new store file (64 KiB: the inbox holds whole messages).
pub const PAGE_SIZE: i64 = 65_536;

/// How long a change waits for another process's transaction before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many accounts an [`StoreError::InUse`] message names before "and N more".
const IN_USE_NAMED: usize = 10;

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
    /// No record of the kind has the name (compared case-insensitively, trimmed).
    #[error("there is no {kind} named \"{name}\"")]
    NameNotFound {
        /// `incoming account` or `SMTP account`.
        kind: &'static str,
        /// The name asked for.
        name: String,
    },
    /// A network connector (or an OAuth2 client) cannot be deleted or disabled while accounts
    /// use it.
    #[error("{kind} {id} is used by {}: {}", name_list(used_by), in_use_hint(kind))]
    InUse {
        /// `network connector` or `OAuth2 client`.
        kind: &'static str,
        /// The connector.
        id: RecordId,
        /// The accounts that use it, e.g. `incoming account 3 "Helpdesk"`.
        used_by: Vec<String>,
    },
    /// An SMTP account cannot be deleted or disabled while report schedules send through it.
    #[error(
        "SMTP account {id} sends {}: point those schedules at another SMTP account (or at the default account) first",
        name_list(schedules)
    )]
    UsedBySchedules {
        /// The SMTP account.
        id: RecordId,
        /// The schedules, e.g. `report schedule 2 "Weekly accounts"`.
        schedules: Vec<String>,
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
    /// A schema migration failed; the file stays at the version before it.
    #[error(
        "could not upgrade the database to schema version {version} ({description}): {source}"
    )]
    Migration {
        /// The version the migration leads to.
        version: i64,
        /// What the migration does.
        description: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// Writing a report (CSV, HTML) to its destination failed.
    #[error("writing the report failed: {0}")]
    Io(#[from] std::io::Error),
    /// SQLite failed.
    #[error("store failure: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed (a statement, a transaction, a lost connection).
    #[cfg(feature = "postgres")]
    #[error("store failure (PostgreSQL): {}", pg_message(.0))]
    Postgres(#[from] postgres::Error),
    /// Connecting to PostgreSQL failed.
    #[cfg(feature = "postgres")]
    #[error("could not connect to the store at {location}: {}", pg_message(.source))]
    PostgresConnect {
        /// The store's URL, without the password.
        location: String,
        /// What the driver said.
        #[source]
        source: postgres::Error,
    },
    /// A schema migration failed on PostgreSQL; the database stays at the version before it.
    #[error(
        "could not upgrade the database to schema version {version} ({description}): {reason}"
    )]
    MigrationFailed {
        /// The version the migration leads to.
        version: i64,
        /// What the migration does.
        description: &'static str,
        /// What the database said.
        reason: String,
    },
    /// The store location (a path or a `postgres://` URL) cannot be used.
    #[error(transparent)]
    Location(#[from] location::LocationError),
    /// A collector lease was lost: another node holds the account now (see
    /// [`crate::collector::lease`]). Nothing was committed.
    #[error("the collector lease on incoming account {account_id} was lost (fencing token {token} is no longer current)")]
    LeaseLost {
        /// The account.
        account_id: RecordId,
        /// The token this node held.
        token: i64,
    },
}

/// A PostgreSQL error with the server's message, code and constraint (the driver's own
/// `Display` says only "db error"). Server messages name objects and values, never the
/// password.
#[cfg(feature = "postgres")]
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(c) = db.constraint() {
                s.push_str(&format!(", constraint {c}"));
            }
            s
        }
        None => match std::error::Error::source(e) {
            Some(src) => format!("{e}: {src}"),
            None => e.to_string(),
        },
    }
}

/// What to do about an [`StoreError::InUse`] record.
fn in_use_hint(kind: &str) -> &'static str {
    if kind == oauth2_clients::KIND {
        "move those accounts to another OAuth2 client (or to PASSWORD) first"
    } else {
        "move those accounts to another connector (or turn Use Network Connector off) first"
    }
}

fn name_list(names: &[String]) -> String {
    let mut out = names
        .iter()
        .take(IN_USE_NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > IN_USE_NAMED {
        out.push_str(&format!(" and {} more", names.len() - IN_USE_NAMED));
    }
    out
}

impl StoreError {
    /// The category.
    pub fn category(&self) -> ErrorCategory {
        match self {
            StoreError::Invalid(_)
            | StoreError::InUse { .. }
            | StoreError::UsedBySchedules { .. } => ErrorCategory::Validation,
            StoreError::Conflict { .. } => ErrorCategory::Conflict,
            StoreError::NotFound { .. } | StoreError::NameNotFound { .. } => {
                ErrorCategory::NotFound
            }
            StoreError::NotADatabase { .. }
            | StoreError::SchemaTooNew { .. }
            | StoreError::Migration { .. }
            | StoreError::Io(_)
            | StoreError::Sqlite(_)
            | StoreError::MigrationFailed { .. }
            | StoreError::Location(_)
            | StoreError::LeaseLost { .. } => ErrorCategory::Storage,
            #[cfg(feature = "postgres")]
            StoreError::Postgres(_) | StoreError::PostgresConnect { .. } => ErrorCategory::Storage,
        }
    }

    /// The validation results, for [`StoreError::Invalid`].
    pub fn validation(&self) -> Option<&Validation> {
        match self {
            StoreError::Invalid(v) => Some(v),
            _ => None,
        }
    }
}

/// A record as stored: its id, its version (to base an update or a delete on) and the form,
/// with `id` filled in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored<T> {
    /// The id the store gave (or kept).
    pub id: RecordId,
    /// The version: pass it back to update or delete; any change makes a new one.
    pub version: i64,
    /// The record, with `id` set.
    pub record: T,
}

/// The settings store. Cheap to share (`Send + Sync`; wrap it in an `Arc`); every call takes
/// the connection for the length of one transaction.
pub struct Store {
    backend: Backend,
    path: Option<PathBuf>,
    credentials: Option<Arc<dyn CredentialProvider>>,
    #[cfg_attr(not(feature = "collector"), allow(dead_code))]
    checkpoints: Arc<checkpoint::Checkpoints>,
}

/// Where the store's data is.
enum Backend {
    /// One SQLite connection (the file, or memory).
    Sqlite(Mutex<Connection>),
    /// A PostgreSQL database and its pool.
    #[cfg(feature = "postgres")]
    Postgres(Box<PostgresDb>),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("location", &self.location_text())
            .field("credentials", &self.credentials.is_some())
            .finish_non_exhaustive()
    }
}

fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

impl Store {
    /// Opens (or creates) the store in the file at `path`, upgrading its schema if it is older.
    ///
    /// Refuses, without changing the file, anything that is not a mail-settings database
    /// (random bytes, a damaged file, another application's database) with
    /// [`StoreError::NotADatabase`], and a newer schema with [`StoreError::SchemaTooNew`].
    ///
    /// A location that is a `postgres://` or `postgresql://` URL opens a PostgreSQL store
    /// instead ([`Store::open_location`]), so every place that takes a store path (`--db`,
    /// `MAIL_SETTINGS_DB`, the bindings) takes a URL too.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        if let Some(text) = path.as_ref().to_str() {
            if let StoreLocation::Postgres(loc) = StoreLocation::parse(text)? {
                return Self::open_postgres(&loc);
            }
        }
        let path = path.as_ref().to_path_buf();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| {
            if is_damage(&e) {
                not_a_database(&path, e.to_string())
            } else {
                StoreError::Sqlite(e)
            }
        })?;
        Self::init(conn, Some(path), true)
    }

    /// Opens the store in the file at `path` for reading only: nothing is written to it, not
    /// even a schema upgrade, so a store the user may not change (file mode `0444`, a
    /// read-only directory or medium) can still be listed, reported and exported. Every write
    /// then fails with a read-only error; [`Store::is_read_only`] says so up front.
    ///
    /// The file must exist with the current schema ([`SCHEMA_VERSION`]): an older one needs
    /// [`Store::open`] once to be upgraded. In a read-only directory SQLite cannot create the
    /// shared-memory file a WAL database needs to be read; when there is no write-ahead log
    /// beside it either (the last writer closed cleanly), the file is opened as immutable,
    /// which reads it without that file.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        // Never let SQLite create the file: a missing store is a missing file.
        std::fs::metadata(&path)?;
        let conn = Connection::open_with_flags(&path, flags).map_err(StoreError::Sqlite)?;
        match Self::init(conn, Some(path.clone()), false) {
            Err(StoreError::Sqlite(e))
                if matches!(
                    e.sqlite_error_code(),
                    Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly)
                ) && !wal_has_frames(&path) =>
            {
                tracing::debug!(path = %path.display(), "read-only store: opening as immutable");
                let conn = Connection::open_with_flags(immutable_uri(&path), flags)?;
                Self::init(conn, Some(path), false)
            }
            other => other,
        }
    }

    /// Opens the store at `location`: an SQLite file or a PostgreSQL database.
    pub fn open_location(location: &StoreLocation) -> Result<Self, StoreError> {
        match location {
            StoreLocation::File(p) => Self::open(p),
            StoreLocation::Postgres(loc) => Self::open_postgres(loc),
        }
    }

    /// Opens (or creates the schema in) the PostgreSQL database at `location`; see
    /// [`PostgresDb::open`]. Everything the store holds works on it: the settings records,
    /// import and export, reports, the inbox, the collector's state and leases, the journal
    /// and the report schedules.
    ///
    /// Without the `postgres` Cargo feature this build has no PostgreSQL driver: it fails with
    /// [`StoreError::Location`], saying so.
    pub fn open_postgres(location: &PostgresLocation) -> Result<Self, StoreError> {
        #[cfg(not(feature = "postgres"))]
        return Err(StoreError::Location(location::LocationError {
            shown: location.redacted(),
            reason: "this build has no PostgreSQL support (the `postgres` Cargo feature)".into(),
        }));
        #[cfg(feature = "postgres")]
        Ok(Self {
            backend: Backend::Postgres(Box::new(PostgresDb::open(location)?)),
            path: None,
            credentials: None,
            checkpoints: Arc::default(),
        })
    }

    /// The PostgreSQL database, when the store is one.
    #[cfg(feature = "postgres")]
    pub fn postgres(&self) -> Option<&PostgresDb> {
        match &self.backend {
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => Some(p),
            Backend::Sqlite(_) => None,
        }
    }

    /// Where the store is, for messages (a PostgreSQL URL without its password).
    pub fn location_text(&self) -> String {
        match (&self.backend, &self.path) {
            #[cfg(feature = "postgres")]
            (Backend::Postgres(p), _) => p.location().redacted(),
            (Backend::Sqlite(_), Some(p)) => p.display().to_string(),
            (Backend::Sqlite(_), None) => ":memory:".to_owned(),
        }
    }

    /// Whether this store was opened read-only (by [`Store::open_read_only`], or by
    /// [`Store::open`] on a file SQLite could only open for reading): writes fail.
    pub fn is_read_only(&self) -> bool {
        match self.sqlite_lock() {
            Some(c) => c.is_readonly(rusqlite::DatabaseName::Main).unwrap_or(true),
            None => false,
        }
    }

    /// A store in memory, gone when dropped (tests, tools).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, None, true)
    }

    /// Checks unknown credential ids (`unknown_credential`) against `provider` on every write
    /// and import. The store only ever asks whether an id exists, never for the secret.
    pub fn with_credentials(mut self, provider: Arc<dyn CredentialProvider>) -> Self {
        self.credentials = Some(provider);
        self
    }

    /// The file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version of the open database (always [`SCHEMA_VERSION`] once open).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        match &self.backend {
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => p.schema_version(),
            Backend::Sqlite(_) => {
                self.read(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?))
            }
        }
    }

    fn init(
        mut conn: Connection,
        path: Option<PathBuf>,
        writable: bool,
    ) -> Result<Self, StoreError> {
        let shown = path.clone().unwrap_or_else(|| PathBuf::from(":memory:"));
        let damaged = |e: rusqlite::Error| {
            if is_damage(&e) {
                not_a_database(&shown, e.to_string())
            } else {
                StoreError::Sqlite(e)
            }
        };
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let app_id: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(damaged)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(damaged)?;
        if app_id == APPLICATION_ID {
            if version > SCHEMA_VERSION {
                return Err(StoreError::SchemaTooNew {
                    found: version,
                    supported: SCHEMA_VERSION,
                });
            }
            // Every table but the mail tables; see `open_check` for why and what finds the rest.
            let problems = open_check::problems(&conn).map_err(damaged)?;
            if !problems.is_empty() {
                return Err(not_a_database(
                    &shown,
                    format!("damaged: {}", problems.join("; ")),
                ));
            }
        } else if app_id == 0 && !writable {
            return Err(not_a_database(
                &shown,
                "it is empty or not a mail-settings store, and it is opened read-only".to_owned(),
            ));
        } else if app_id == 0 {
            let objects: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
                    [],
                    |r| r.get(0),
                )
                .map_err(damaged)?;
            if objects > 0 || version != 0 {
                return Err(not_a_database(
                    &shown,
                    "it is another application's SQLite database (it has tables but no mail-settings application_id)".to_owned(),
                ));
            }
            // A new database: 64 KiB pages before anything is written (the page size is fixed
            // once the file has content, and WAL fixes it too). The inbox keeps raw messages in
            // 256 KiB chunks; with SQLite's default 4 KiB pages, storing them ran at about a
            // third of the speed (measured: 117 vs 377 MB/s of blob inserts).
            conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        } else {
            return Err(not_a_database(
                &shown,
                format!(
                    "it is another application's SQLite database (application_id {app_id:#010x})"
                ),
            ));
        }
        if !writable {
            if version < SCHEMA_VERSION {
                return Err(StoreError::Io(std::io::Error::other(format!(
                    "the store's schema version {version} is older than this library's ({SCHEMA_VERSION}) and it is opened read-only: open it once for writing to upgrade it"
                ))));
            }
            // Belt and braces: SQLite itself refuses every write on this connection.
            conn.pragma_update(None, "query_only", true)?;
            conn.pragma_update(None, "foreign_keys", true)?;
            tracing::debug!(path = %shown.display(), "store open read-only");
            return Ok(Self {
                backend: Backend::Sqlite(Mutex::new(conn)),
                path,
                credentials: None,
                checkpoints: Arc::default(),
            });
        }
        if path.is_some() {
            let mode: String =
                conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(%mode, "the store could not switch to WAL; using the file's journal mode");
            }
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        migrate(&mut conn)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        tracing::debug!(path = %shown.display(), schema = SCHEMA_VERSION, "store open");
        Ok(Self {
            backend: Backend::Sqlite(Mutex::new(conn)),
            path,
            credentials: None,
            checkpoints: Arc::default(),
        })
    }

    /// The SQLite connection; `None` for PostgreSQL.
    pub(crate) fn sqlite_lock(&self) -> Option<MutexGuard<'_, Connection>> {
        // A panic elsewhere while holding the lock rolled its transaction back on unwind (the
        // transaction's drop), so the connection is still sound.
        match &self.backend {
            Backend::Sqlite(m) => Some(m.lock().unwrap_or_else(PoisonError::into_inner)),
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => None,
        }
    }

    /// The SQLite connection, for what only SQLite has (pragmas, checkpoints). Called on a
    /// PostgreSQL store it is a bug in this library, reported as an error, not a panic.
    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.sqlite_lock().ok_or_else(|| {
            StoreError::Io(std::io::Error::other(
                "internal error: an SQLite-only path was taken on a PostgreSQL store",
            ))
        })
    }

    fn fix_error(&self, e: StoreError) -> StoreError {
        let shown = || {
            self.path
                .clone()
                .unwrap_or_else(|| PathBuf::from(":memory:"))
        };
        match e {
            StoreError::Sqlite(e) if is_damage(&e) => not_a_database(&shown(), e.to_string()),
            StoreError::NotADatabase { path, reason } if path.as_os_str().is_empty() => {
                not_a_database(&shown(), reason)
            }
            e => e,
        }
    }

    /// Runs `f` in a read transaction (one consistent snapshot). SQLite only (pragmas,
    /// tests): everything else uses [`Store::read_sql`].
    pub(crate) fn read<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut conn = self.lock()?;
        let run = || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let r = f(&tx)?;
            tx.commit()?;
            Ok(r)
        };
        run().map_err(|e| self.fix_error(e))
    }

    /// Runs `f` in a read transaction on either backend (PostgreSQL: REPEATABLE READ, one
    /// snapshot like SQLite's).
    pub(crate) fn read_sql<R>(
        &self,
        f: impl FnOnce(&mut dyn Sql) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => self.read(|c| f(&mut SqliteTx(c))),
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => p
                .transaction(|tx| {
                    tx.execute(
                        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                        &[],
                    )?;
                    f(tx)
                })
                .map_err(|e| self.fix_error(e)),
        }
    }

    /// Runs `f` in a write transaction on either backend, committed only if `f` succeeds.
    /// Writers are serialised as SQLite's `BEGIN IMMEDIATE` does: on PostgreSQL the
    /// transaction first locks the store's version counter row, which every write takes.
    pub(crate) fn write_sql<R>(
        &self,
        f: impl FnOnce(&mut dyn Sql) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => self.write(|c| f(&mut SqliteTx(c))),
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => p.transaction(|tx| {
                tx.query(
                    "SELECT last_version FROM store_sequence WHERE id = 1 FOR UPDATE",
                    &[],
                )?;
                f(tx)
            }),
        }
    }

    /// Runs `f` in a write transaction that changes only the inbox, the collector's state or the
    /// journal (never the settings), committed only if `f` succeeds. SQLite: `BEGIN IMMEDIATE`
    /// like every write. PostgreSQL: READ COMMITTED without the settings writers' lock, so
    /// collectors on several nodes commit at once; `f` locks what it relies on (the lease
    /// fence `FOR SHARE`) and the tables' keys refuse the rest.
    pub(crate) fn write_data<R>(
        &self,
        f: impl FnOnce(&mut dyn Sql) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => self.write(|c| f(&mut SqliteTx(c))),
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => p.transaction(f).map_err(|e| self.fix_error(e)),
        }
    }

    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE`), committed only if `f` succeeds.
    /// SQLite only (tests, the SQLite branch of the seam): everything else uses
    /// [`Store::write_sql`] or [`Store::write_data`].
    pub(crate) fn write<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut conn = self.lock()?;
        let run = || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let r = f(&tx)?;
            tx.commit()?;
            Ok(r)
        };
        run().map_err(|e| self.fix_error(e))
    }

    /// The validation context for a write: the store's connectors and credential provider.
    fn check<R: Record>(
        &self,
        c: &mut dyn Sql,
        form: &R,
        connectors: &[NetworkConnectorForm],
    ) -> Result<(), StoreError> {
        let clients = oauth2_clients::client_forms(c)?;
        let ctx = ValidationContext {
            connectors: Some(connectors),
            credentials: self.credentials.as_deref(),
            oauth2_clients: Some(&clients),
        };
        let mut v = form.validate(&ctx);
        let key = name_key(form.name());
        if !key.is_empty() {
            // `id <> ?2` is NULL (false) for a new record's NULL id: hence the OR.
            let other = c.row(
                &format!(
                    "SELECT id FROM {} WHERE name_key = ?1 AND (CAST(?2 AS BIGINT) IS NULL OR id <> ?2)",
                    R::TABLE
                ),
                &[key.into(), form.id().into()],
            )?;
            if other.is_some() {
                v.push(
                    "name".to_owned(),
                    Code::DuplicateName,
                    R::NAME_FIELD,
                    Detail::Other(form.name().trim()),
                );
            }
        }
        if v.has_errors() {
            return Err(StoreError::Invalid(v));
        }
        Ok(())
    }

    fn create<R: Record>(
        &self,
        form: &R,
        before_write: impl FnOnce(&mut dyn Sql, i64, &R) -> Result<(), StoreError>,
    ) -> Result<Stored<R>, StoreError> {
        self.write_sql(|c| {
            let mut form = form.clone();
            if let Some(id) = form.id() {
                if current_version::<R>(c, id)?.is_some() {
                    let mut v = Validation::new();
                    let text = id.to_string();
                    v.push(
                        "id".to_owned(),
                        Code::DuplicateId,
                        Field::Id,
                        Detail::Id(&text),
                    );
                    return Err(StoreError::Invalid(v));
                }
            }
            let connectors = connector_forms(c)?;
            self.check(c, &form, &connectors)?;
            let version = next_version(c)?;
            before_write(c, version, &form)?;
            let id = insert_row(c, form.id(), version, &form)?;
            form.set_id(Some(id));
            tracing::debug!(kind = R::KIND, id, version, "created");
            Ok(Stored {
                id,
                version,
                record: form,
            })
        })
    }

    fn update<R: Record>(
        &self,
        id: RecordId,
        expected_version: i64,
        form: &R,
        before_write: impl FnOnce(&mut dyn Sql, i64, &R) -> Result<(), StoreError>,
    ) -> Result<Stored<R>, StoreError> {
        self.write_sql(|c| {
            check_version::<R>(c, id, expected_version)?;
            let mut form = form.clone();
            form.set_id(Some(id));
            let connectors = connector_forms(c)?;
            self.check(c, &form, &connectors)?;
            let version = next_version(c)?;
            before_write(c, version, &form)?;
            update_row(c, id, version, &form)?;
            tracing::debug!(kind = R::KIND, id, version, "updated");
            Ok(Stored {
                id,
                version,
                record: form,
            })
        })
    }

    fn delete<R: Record>(
        &self,
        id: RecordId,
        expected_version: i64,
        before_delete: impl FnOnce(&mut dyn Sql) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.write_sql(|c| {
            check_version::<R>(c, id, expected_version)?;
            before_delete(c)?;
            c.execute(
                &format!("DELETE FROM {} WHERE id = ?1", R::TABLE),
                &[id.into()],
            )?;
            tracing::debug!(kind = R::KIND, id, "deleted");
            Ok(())
        })
    }

    fn get<R: Record>(&self, id: RecordId) -> Result<Stored<R>, StoreError> {
        self.read_sql(|c| get_row::<R>(c, id)?.ok_or(StoreError::NotFound { kind: R::KIND, id }))
    }

    fn list<R: Record>(&self) -> Result<Vec<Stored<R>>, StoreError> {
        self.read_sql(|c| list_rows::<R>(c))
    }

    // ----- network connectors -----

    /// Creates a network connector. The store gives the id unless `form.id` is set (and free).
    pub fn create_connector(
        &self,
        form: &NetworkConnectorForm,
    ) -> Result<Stored<NetworkConnectorForm>, StoreError> {
        self.create(form, |_, _, _| Ok(()))
    }

    /// The network connector `id`.
    pub fn get_connector(&self, id: RecordId) -> Result<Stored<NetworkConnectorForm>, StoreError> {
        self.get(id)
    }

    /// Every network connector, by id.
    pub fn list_connectors(&self) -> Result<Vec<Stored<NetworkConnectorForm>>, StoreError> {
        self.list()
    }

    /// Replaces connector `id` with `form` (whose `id` is ignored) if it is still at
    /// `expected_version`. Disabling a connector that accounts use is refused
    /// ([`StoreError::InUse`]).
    pub fn update_connector(
        &self,
        id: RecordId,
        expected_version: i64,
        form: &NetworkConnectorForm,
    ) -> Result<Stored<NetworkConnectorForm>, StoreError> {
        self.update(id, expected_version, form, |c, _, form| {
            if form.enabled {
                Ok(())
            } else {
                refuse_if_used(c, id)
            }
        })
    }

    /// Deletes connector `id` if it is still at `expected_version` and no account uses it.
    pub fn delete_connector(&self, id: RecordId, expected_version: i64) -> Result<(), StoreError> {
        self.delete::<NetworkConnectorForm>(id, expected_version, |c| refuse_if_used(c, id))
    }

    // ----- incoming accounts -----

    /// Creates an incoming account. The store gives the id unless `form.id` is set (and free).
    pub fn create_incoming(
        &self,
        form: &IncomingAccountForm,
    ) -> Result<Stored<IncomingAccountForm>, StoreError> {
        self.create(form, |_, _, _| Ok(()))
    }

    /// The incoming account `id`, as a form.
    pub fn get_incoming(&self, id: RecordId) -> Result<Stored<IncomingAccountForm>, StoreError> {
        self.get(id)
    }

    /// The incoming account named `name` (compared case-insensitively, trimmed), as a form
    /// with its id and version; [`StoreError::NameNotFound`] when there is none.
    pub fn get_incoming_by_name(
        &self,
        name: &str,
    ) -> Result<Stored<IncomingAccountForm>, StoreError> {
        self.read_sql(|c| by_name(c, name))
    }

    /// Every incoming account, by id. For large stores use [`Store::incoming_report`].
    pub fn list_incoming(&self) -> Result<Vec<Stored<IncomingAccountForm>>, StoreError> {
        self.list()
    }

    /// Replaces incoming account `id` with `form` (whose `id` is ignored) if it is still at
    /// `expected_version`.
    pub fn update_incoming(
        &self,
        id: RecordId,
        expected_version: i64,
        form: &IncomingAccountForm,
    ) -> Result<Stored<IncomingAccountForm>, StoreError> {
        self.update(id, expected_version, form, |_, _, _| Ok(()))
    }

    /// Deletes incoming account `id` if it is still at `expected_version`.
    pub fn delete_incoming(&self, id: RecordId, expected_version: i64) -> Result<(), StoreError> {
        self.delete::<IncomingAccountForm>(id, expected_version, |_| Ok(()))
    }

    // ----- SMTP accounts -----

    /// Creates an SMTP account. The store gives the id unless `form.id` is set (and free).
    /// If it is the default account, the previous default stops being one (and gets a new
    /// version), in the same transaction.
    pub fn create_smtp(
        &self,
        form: &SmtpAccountForm,
    ) -> Result<Stored<SmtpAccountForm>, StoreError> {
        self.create(form, |c, version, form| {
            clear_other_defaults(c, version, form.default_account, None)
        })
    }

    /// The SMTP account `id`, as a form.
    pub fn get_smtp(&self, id: RecordId) -> Result<Stored<SmtpAccountForm>, StoreError> {
        self.get(id)
    }

    /// The SMTP account named `name` (compared case-insensitively, trimmed), as a form with
    /// its id and version; [`StoreError::NameNotFound`] when there is none.
    pub fn get_smtp_by_name(&self, name: &str) -> Result<Stored<SmtpAccountForm>, StoreError> {
        self.read_sql(|c| by_name(c, name))
    }

    /// Every SMTP account, by id.
    pub fn list_smtp(&self) -> Result<Vec<Stored<SmtpAccountForm>>, StoreError> {
        self.list()
    }

    /// Replaces SMTP account `id` with `form` (whose `id` is ignored) if it is still at
    /// `expected_version`; making it the default clears the others in the same transaction.
    pub fn update_smtp(
        &self,
        id: RecordId,
        expected_version: i64,
        form: &SmtpAccountForm,
    ) -> Result<Stored<SmtpAccountForm>, StoreError> {
        self.update(id, expected_version, form, |c, version, form| {
            if !form.enabled {
                schedules::refuse_if_scheduled(c, id)?;
            }
            clear_other_defaults(c, version, form.default_account, Some(id))
        })
    }

    /// Deletes SMTP account `id` if it is still at `expected_version`. Deleting the default
    /// account leaves no default.
    pub fn delete_smtp(&self, id: RecordId, expected_version: i64) -> Result<(), StoreError> {
        self.delete::<SmtpAccountForm>(id, expected_version, |c| {
            schedules::refuse_if_scheduled(c, id)
        })
    }

    // ----- typed access for drivers -----

    /// Incoming account `id`, validated for a driver (with its connector, if it uses one).
    pub fn incoming_account(&self, id: RecordId) -> crate::Result<IncomingAccount> {
        let (form, connectors) = self.read_sql(|c| {
            let form = get_row::<IncomingAccountForm>(c, id)?
                .ok_or(StoreError::NotFound {
                    kind: IncomingAccountForm::KIND,
                    id,
                })?
                .record;
            let connectors = referenced_connector(c, form.network_connector)?;
            Ok((form, connectors))
        })?;
        typed_incoming(&form, &connectors)
    }

    /// The incoming account named `name` (case-insensitive, trimmed), validated for a driver.
    pub fn incoming_account_by_name(&self, name: &str) -> crate::Result<IncomingAccount> {
        let (form, connectors) = self.read_sql(|c| {
            let form = by_name::<IncomingAccountForm>(c, name)?.record;
            let connectors = referenced_connector(c, form.network_connector)?;
            Ok((form, connectors))
        })?;
        typed_incoming(&form, &connectors)
    }

    /// SMTP account `id`, validated for a driver.
    pub fn smtp_account(&self, id: RecordId) -> crate::Result<SmtpAccount> {
        let (form, connectors) = self.read_sql(|c| {
            let form = get_row::<SmtpAccountForm>(c, id)?
                .ok_or(StoreError::NotFound {
                    kind: SmtpAccountForm::KIND,
                    id,
                })?
                .record;
            let connectors = referenced_connector(c, form.network_connector)?;
            Ok((form, connectors))
        })?;
        typed_smtp(&form, &connectors)
    }

    /// The SMTP account named `name` (case-insensitive, trimmed), validated for a driver.
    pub fn smtp_account_by_name(&self, name: &str) -> crate::Result<SmtpAccount> {
        let (form, connectors) = self.read_sql(|c| {
            let form = by_name::<SmtpAccountForm>(c, name)?.record;
            let connectors = referenced_connector(c, form.network_connector)?;
            Ok((form, connectors))
        })?;
        typed_smtp(&form, &connectors)
    }

    /// The default SMTP account, validated for a driver; `None` when no account is the default.
    /// A disabled default is returned as it is ([`SmtpAccount::enabled`] says so).
    pub fn default_smtp_account(&self) -> crate::Result<Option<SmtpAccount>> {
        let found = self.read_sql(|c| {
            let sql = format!(
                "{} WHERE default_account = 1",
                records::select_sql::<SmtpAccountForm>()
            );
            let form = c
                .row(&sql, &[])?
                .map(|r| SmtpAccountForm::from_row(&r))
                .transpose()?;
            match form {
                Some(form) => {
                    let connectors = referenced_connector(c, form.network_connector)?;
                    Ok(Some((form, connectors)))
                }
                None => Ok(None),
            }
        })?;
        found
            .map(|(form, connectors)| typed_smtp(&form, &connectors))
            .transpose()
    }
}

/// Whether the write-ahead log beside `path` exists and holds anything (then an immutable
/// open would miss committed changes).
fn wal_has_frames(path: &Path) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0)
}

/// `file:…?immutable=1` for `path`, percent-encoded as SQLite's URI rules ask.
fn immutable_uri(path: &Path) -> String {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().replace('\\', "/").into_bytes();
    let mut uri = String::from("file:");
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

fn not_a_database(path: &Path, reason: String) -> StoreError {
    StoreError::NotADatabase {
        path: path.to_path_buf(),
        reason,
    }
}

/// Applies every migration newer than the file's version, each in its own transaction.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    for m in migrations::MIGRATIONS {
        let fail = |source: rusqlite::Error| StoreError::Migration {
            version: m.version,
            description: m.description,
            source,
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        // Read again under the write lock: another process may have just migrated.
        let current: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(fail)?;
        if current >= m.version {
            continue;
        }
        if m.version == 1 {
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(fail)?;
        }
        tx.execute_batch(m.sql).map_err(fail)?;
        let dangling: i64 = tx
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .map_err(fail)?;
        if dangling > 0 {
            return Err(fail(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                Some(format!("{dangling} rows reference missing records")),
            )));
        }
        tx.pragma_update(None, "user_version", m.version)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        tracing::info!(
            version = m.version,
            description = m.description,
            "store schema migrated"
        );
    }
    Ok(())
}

/// The next store-wide version stamp.
fn next_version(c: &mut dyn Sql) -> Result<i64, StoreError> {
    c.row(
        "UPDATE store_sequence SET last_version = last_version + 1 WHERE id = 1 RETURNING last_version",
        &[],
    )?
    .ok_or_else(|| not_a_database(Path::new(""), "store_sequence has no row".to_owned()))?
    .get(0)
}

fn current_version<R: Record>(c: &mut dyn Sql, id: RecordId) -> Result<Option<i64>, StoreError> {
    // PostgreSQL: lock the row, so that no other writer changes it before this one commits.
    let lock = if c.dialect() == Dialect::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    c.row(
        &format!("SELECT version FROM {} WHERE id = ?1{lock}", R::TABLE),
        &[id.into()],
    )?
    .map(|r| r.get(0))
    .transpose()
}

fn check_version<R: Record>(
    c: &mut dyn Sql,
    id: RecordId,
    expected: i64,
) -> Result<(), StoreError> {
    match current_version::<R>(c, id)? {
        None => Err(StoreError::NotFound { kind: R::KIND, id }),
        Some(found) if found != expected => Err(StoreError::Conflict {
            kind: R::KIND,
            id,
            expected,
            found,
        }),
        Some(_) => Ok(()),
    }
}

fn stored_from_row<R: Record>(row: &SqlRow) -> Result<Stored<R>, StoreError> {
    Ok(Stored {
        id: row.get(0)?,
        version: row.get(1)?,
        record: R::from_row(row)?,
    })
}

pub(crate) fn get_row<R: Record>(
    c: &mut dyn Sql,
    id: RecordId,
) -> Result<Option<Stored<R>>, StoreError> {
    let sql = format!("{} WHERE id = ?1", records::select_sql::<R>());
    c.row(&sql, &[id.into()])?
        .map(|r| stored_from_row::<R>(&r))
        .transpose()
}

pub(crate) fn list_rows<R: Record>(c: &mut dyn Sql) -> Result<Vec<Stored<R>>, StoreError> {
    let sql = format!("{} ORDER BY id", records::select_sql::<R>());
    c.rows(&sql, &[])?
        .iter()
        .map(stored_from_row::<R>)
        .collect()
}

/// The record of kind `R` named `name` (by [`name_key`]), or [`StoreError::NameNotFound`].
fn by_name<R: Record>(c: &mut dyn Sql, name: &str) -> Result<Stored<R>, StoreError> {
    let sql = format!("{} WHERE name_key = ?1", records::select_sql::<R>());
    c.row(&sql, &[name_key(name).into()])?
        .map(|r| stored_from_row::<R>(&r))
        .transpose()?
        .ok_or_else(|| StoreError::NameNotFound {
            kind: R::KIND,
            name: name.trim().to_owned(),
        })
}

pub(crate) fn insert_row<R: Record>(
    c: &mut dyn Sql,
    id: Option<RecordId>,
    version: i64,
    form: &R,
) -> Result<RecordId, StoreError> {
    let mut values: Vec<Value> = Vec::with_capacity(R::COLUMNS.len() + 3);
    if let Some(id) = id {
        values.push(id.into());
    }
    values.push(version.into());
    values.push(name_key(form.name()).into());
    values.extend(form.values().into_iter().map(Value::from));
    let sql = if id.is_some() {
        records::insert_sql::<R>()
    } else {
        records::insert_new_sql::<R>()
    };
    let new_id: RecordId = c
        .row(&sql, &values)?
        .ok_or_else(|| not_a_database(Path::new(""), "INSERT returned no id".to_owned()))?
        .get(0)?;
    if id.is_some() && c.dialect() == Dialect::Postgres {
        move_identity_past_ids::<R>(c)?;
    }
    Ok(new_id)
}

/// PostgreSQL: an id given by hand does not move the identity sequence; move it past the
/// largest id, so the ids it gives next are free (and, as with AUTOINCREMENT, new).
fn move_identity_past_ids<R: Record>(c: &mut dyn Sql) -> Result<(), StoreError> {
    c.query(
        &format!(
            "SELECT setval(pg_get_serial_sequence('{t}', 'id'), GREATEST((SELECT max(id) FROM {t}), (SELECT last_value FROM {t}_id_seq)))",
            t = R::TABLE
        ),
        &[],
    )?;
    Ok(())
}

/// Parameters in one multi-row INSERT of [`insert_rows_with_ids`] at most (PostgreSQL takes
/// 65,535; fewer keeps each statement's text and memory small).
const BATCH_PARAMETERS: usize = 16_000;

/// Inserts records that carry their own ids, many rows per statement (an import of 100,000
/// accounts on PostgreSQL otherwise pays one round trip per row, and more for the statement's
/// preparation). The identity sequence is moved past them once at the end.
pub(crate) fn insert_rows_with_ids<R: Record>(
    c: &mut dyn Sql,
    version: i64,
    forms: &[&R],
) -> Result<(), StoreError> {
    let width = R::COLUMNS.len() + 3;
    let per_statement = (BATCH_PARAMETERS / width).max(1);
    for chunk in forms.chunks(per_statement) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * width);
        let mut rows = Vec::with_capacity(chunk.len());
        for form in chunk {
            let id = form.id().ok_or_else(|| {
                StoreError::Io(std::io::Error::other(
                    "internal error: a batched insert without an id",
                ))
            })?;
            let first = values.len() + 1;
            values.push(id.into());
            values.push(version.into());
            values.push(name_key(form.name()).into());
            values.extend(form.values().into_iter().map(Value::from));
            let marks: Vec<String> = (first..first + width).map(|i| format!("?{i}")).collect();
            rows.push(format!("({})", marks.join(", ")));
        }
        c.execute(
            &format!(
                "INSERT INTO {} (id, version, name_key, {}) VALUES {}",
                R::TABLE,
                R::COLUMNS.join(", "),
                rows.join(", ")
            ),
            &values,
        )?;
    }
    if c.dialect() == Dialect::Postgres && !forms.is_empty() {
        move_identity_past_ids::<R>(c)?;
    }
    Ok(())
}

pub(crate) fn update_row<R: Record>(
    c: &mut dyn Sql,
    id: RecordId,
    version: i64,
    form: &R,
) -> Result<(), StoreError> {
    let mut values: Vec<Value> = vec![version.into(), name_key(form.name()).into()];
    values.extend(form.values().into_iter().map(Value::from));
    values.push(id.into());
    c.execute(&records::update_sql::<R>(), &values)?;
    Ok(())
}

/// Every connector, as the context account validation needs.
pub(crate) fn connector_forms(c: &mut dyn Sql) -> Result<Vec<NetworkConnectorForm>, StoreError> {
    Ok(list_rows::<NetworkConnectorForm>(c)?
        .into_iter()
        .map(|s| s.record)
        .collect())
}

/// The one connector an account names (empty when none or missing: validation then says so).
fn referenced_connector(
    c: &mut dyn Sql,
    id: Option<RecordId>,
) -> Result<Vec<NetworkConnectorForm>, StoreError> {
    match id {
        Some(id) => Ok(get_row::<NetworkConnectorForm>(c, id)?
            .map(|s| s.record)
            .into_iter()
            .collect()),
        None => Ok(Vec::new()),
    }
}

/// Refuses when accounts use connector `id`.
fn refuse_if_used(c: &mut dyn Sql, id: RecordId) -> Result<(), StoreError> {
    let used_by = c
        .rows(
            "SELECT 'incoming account', id, name FROM incoming_accounts WHERE network_connector = ?1
             UNION ALL
             SELECT 'SMTP account', id, name FROM smtp_accounts WHERE network_connector = ?1
             ORDER BY 1, 2",
            &[id.into()],
        )?
        .iter()
        .map(|r| {
            Ok(format!(
                "{} {} \"{}\"",
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?.trim()
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    if used_by.is_empty() {
        Ok(())
    } else {
        Err(StoreError::InUse {
            kind: NetworkConnectorForm::KIND,
            id,
            used_by,
        })
    }
}

/// Before an SMTP account becomes the default, every other default stops being one.
fn clear_other_defaults(
    c: &mut dyn Sql,
    version: i64,
    becomes_default: bool,
    except: Option<RecordId>,
) -> Result<(), StoreError> {
    if becomes_default {
        let n = c.execute(
            "UPDATE smtp_accounts SET default_account = 0, version = ?1
             WHERE default_account = 1 AND (CAST(?2 AS BIGINT) IS NULL OR id <> ?2)",
            &[version.into(), except.into()],
        )?;
        if n > 0 {
            tracing::debug!(cleared = n, "previous default SMTP account cleared");
        }
    }
    Ok(())
}

fn typed_incoming(
    form: &IncomingAccountForm,
    connectors: &[NetworkConnectorForm],
) -> crate::Result<IncomingAccount> {
    let ctx = ValidationContext::standalone().with_connectors(connectors);
    IncomingAccount::from_form(form, &ctx).map_err(crate::Error::Validation)
}

fn typed_smtp(
    form: &SmtpAccountForm,
    connectors: &[NetworkConnectorForm],
) -> crate::Result<SmtpAccount> {
    let ctx = ValidationContext::standalone().with_connectors(connectors);
    SmtpAccount::from_form(form, &ctx).map_err(crate::Error::Validation)
}

#[cfg(test)]
mod read_only_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::Protocol;

    #[test]
    fn a_read_only_store_reads_and_refuses_writes_without_touching_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let form = IncomingAccountForm {
            name: "Desk".into(),
            host: "mail.example.test".into(),
            protocol: Some(Protocol::Imap),
            credential: Some("c".into()),
            ..IncomingAccountForm::default()
        };
        {
            let store = Store::open(&path).unwrap();
            assert!(!store.is_read_only());
            store.create_incoming(&form).unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let store = Store::open_read_only(&path).unwrap();
        assert!(store.is_read_only());
        assert_eq!(store.list_incoming().unwrap().len(), 1);
        assert_eq!(store.export().unwrap().incoming_accounts.len(), 1);
        let err = store
            .create_incoming(&IncomingAccountForm {
                name: "Other".into(),
                ..form.clone()
            })
            .unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");
        drop(store);
        assert_eq!(std::fs::read(&path).unwrap(), before, "the file changed");

        // Missing: an error, and no file is created.
        let missing = dir.path().join("missing.sqlite3");
        assert!(Store::open_read_only(&missing).is_err());
        assert!(!missing.exists());
        // An empty file is not a store, and stays empty.
        let empty = dir.path().join("empty.sqlite3");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(
            Store::open_read_only(&empty),
            Err(StoreError::NotADatabase { .. })
        ));
        assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
    }

    #[test]
    fn immutable_uri_is_percent_encoded() {
        assert_eq!(
            immutable_uri(Path::new("/a b/c?d#e%.db")),
            "file:/a%20b/c%3Fd%23e%25.db?immutable=1"
        );
    }
}
