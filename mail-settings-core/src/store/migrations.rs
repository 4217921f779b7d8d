//! The store's schema, as an ordered list of migrations.
//!
//! A database file says what it is with two numbers in its header: `PRAGMA application_id`
//! ([`APPLICATION_ID`], so another application's SQLite file is never mistaken for ours) and
//! `PRAGMA user_version` (the number of the last migration applied). Opening a store applies
//! every migration newer than the file's version, each in one transaction of its own, so a
//! failure leaves the file at the previous version, whole.
//!
//! ## Adding a migration
//! 1. Append a [`Migration`] to [`MIGRATIONS`] with the next `version` (versions are
//!    1, 2, 3… with no gaps; the list is checked in a unit test). Never edit a migration that
//!    has been released: files in the field already have it.
//! 2. Put plain SQL in `sql` (several statements are fine). It runs inside the migration's
//!    transaction with foreign keys *not* enforced (SQLite ignores `PRAGMA foreign_keys`
//!    inside a transaction); `PRAGMA foreign_key_check` runs after it and the migration is
//!    refused if it left a dangling reference. Do not write `BEGIN`/`COMMIT`.
//! 3. Tables that hang off accounts (messages, collector state) should reference them with
//!    `REFERENCES incoming_accounts(id) ON DELETE CASCADE`: deleting an account (or an import
//!    that leaves it out) deletes its rows. Account ids are never reused (`AUTOINCREMENT`), so
//!    such rows never end up attached to a different account.
//! 4. The same migration runs on PostgreSQL (`store/pg.rs`), translated by
//!    `backend::postgres_schema` (`INTEGER` → `BIGINT`, `BLOB` → `BYTEA`, `AUTOINCREMENT` →
//!    identity, `WITHOUT ROWID` dropped, an untyped column → `TEXT`). So write it in the
//!    subset both share (`store/backend.rs` lists it: `ON CONFLICT … DO NOTHING/UPDATE`, no
//!    `INSERT OR IGNORE`, no SQLite date functions, no `PRAGMA`). If it cannot be, add its
//!    PostgreSQL text to `POSTGRES_OVERRIDES` under the same version: still one entry per
//!    migration here. `tests/tests/postgres_store.rs` migrates an empty PostgreSQL database
//!    through every migration, so a migration that does not translate fails there.
//! 5. [`SCHEMA_VERSION`] follows automatically; add a test in `tests/store.rs` that builds the
//!    previous version by hand and opens it.
//!
//! Schema notes: every record has `version`, an optimistic-concurrency stamp taken from
//! `store_sequence` (strictly increasing across the whole store, so a deleted and re-created id
//! never repeats a version); `name_key` is `validate::name_key(name)` under a UNIQUE index;
//! booleans are 0/1 integers; enums are docs/SETTINGS.md's words (`IMAP`, `SSL`, `SOCKS5`…).

/// `PRAGMA application_id` of a mail-settings database: "MSET" in ASCII.
pub const APPLICATION_ID: i32 = 0x4D53_4554;

/// One step of the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    /// The `user_version` the file has after this step.
    pub(crate) version: i64,
    /// What the step does, for logs and errors.
    pub(crate) description: &'static str,
    /// The SQL, run in the step's transaction.
    pub(crate) sql: &'static str,
}

/// Every migration, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "network connectors, incoming accounts, SMTP accounts",
        sql: r#"
CREATE TABLE store_sequence (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_version INTEGER NOT NULL
);
INSERT INTO store_sequence (id, last_version) VALUES (1, 0);

CREATE TABLE network_connectors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version INTEGER NOT NULL,
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    kind TEXT NOT NULL CHECK (kind IN ('SOCKS5', 'HTTP_CONNECT')),
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    credential TEXT
);
CREATE UNIQUE INDEX network_connectors_name_key ON network_connectors (name_key);

CREATE TABLE incoming_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version INTEGER NOT NULL,
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    keep_copy_on_server INTEGER NOT NULL CHECK (keep_copy_on_server IN (0, 1)),
    automatic_check INTEGER NOT NULL CHECK (automatic_check IN (0, 1)),
    check_interval_secs INTEGER NOT NULL,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    host TEXT NOT NULL,
    port INTEGER,
    protocol TEXT NOT NULL CHECK (protocol IN ('IMAP', 'POP3')),
    use_network_connector INTEGER NOT NULL CHECK (use_network_connector IN (0, 1)),
    network_connector INTEGER REFERENCES network_connectors (id),
    credential TEXT,
    skip_certificate INTEGER NOT NULL CHECK (skip_certificate IN (0, 1)),
    use_secure_connection INTEGER NOT NULL CHECK (use_secure_connection IN (0, 1)),
    secure_connection_type TEXT NOT NULL CHECK (secure_connection_type IN ('SSL', 'TLS')),
    ca_file,
    max_message_size INTEGER NOT NULL
);
CREATE UNIQUE INDEX incoming_accounts_name_key ON incoming_accounts (name_key);
CREATE INDEX incoming_accounts_network_connector ON incoming_accounts (network_connector);

CREATE TABLE smtp_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version INTEGER NOT NULL,
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    sender_email TEXT NOT NULL,
    reply_to TEXT,
    return_path TEXT,
    confirmation_email TEXT,
    default_account INTEGER NOT NULL CHECK (default_account IN (0, 1)),
    send_read_receipt INTEGER NOT NULL CHECK (send_read_receipt IN (0, 1)),
    force_configuration INTEGER NOT NULL CHECK (force_configuration IN (0, 1)),
    enable_footer INTEGER NOT NULL CHECK (enable_footer IN (0, 1)),
    footer TEXT,
    host TEXT NOT NULL,
    port INTEGER,
    use_secure_connection INTEGER NOT NULL CHECK (use_secure_connection IN (0, 1)),
    secure_connection_type TEXT NOT NULL CHECK (secure_connection_type IN ('SSL', 'TLS')),
    use_authentication INTEGER NOT NULL CHECK (use_authentication IN (0, 1)),
    skip_certificate_errors INTEGER NOT NULL CHECK (skip_certificate_errors IN (0, 1)),
    use_network_connector INTEGER NOT NULL CHECK (use_network_connector IN (0, 1)),
    network_connector INTEGER REFERENCES network_connectors (id),
    credential TEXT,
    ca_file
);
CREATE UNIQUE INDEX smtp_accounts_name_key ON smtp_accounts (name_key);
CREATE INDEX smtp_accounts_network_connector ON smtp_accounts (network_connector);
-- At most one default SMTP account, whatever the code above it does.
CREATE UNIQUE INDEX smtp_accounts_one_default ON smtp_accounts (default_account)
    WHERE default_account = 1;
"#,
    },
    Migration {
        version: 2,
        description: "indexes for the reports",
        sql: r#"
-- The report filters are yes/no columns plus "name contains". The page itself walks the
-- table in id order and stops after one page; counting the matches is what needs an index
-- small enough to scan quickly: these cover every filter column (and the rowid), so a count
-- never reads the table.
CREATE INDEX incoming_accounts_report ON incoming_accounts
    (name_key, use_secure_connection, automatic_check, keep_copy_on_server, enabled);
CREATE INDEX smtp_accounts_report ON smtp_accounts
    (name_key, use_secure_connection, enabled, use_authentication, default_account);
"#,
    },
    Migration {
        version: 3,
        description: crate::inbox::schema::DESCRIPTION,
        sql: crate::inbox::schema::SQL,
    },
    Migration {
        version: 4,
        description: super::schedules::DESCRIPTION,
        sql: super::schedules::SQL,
    },
    Migration {
        version: 5,
        description: super::later_schema::leases::DESCRIPTION,
        sql: super::later_schema::leases::SQL,
    },
    Migration {
        version: 6,
        description: super::later_schema::journal::DESCRIPTION,
        sql: super::later_schema::journal::SQL,
    },
    Migration {
        version: 7,
        description: super::oauth2::DESCRIPTION,
        sql: super::oauth2::SQL,
    },
    Migration {
        version: 8,
        description: super::oauth2_clients::DESCRIPTION,
        sql: super::oauth2_clients::SQL,
    },
    Migration {
        version: 9,
        description: "incoming accounts: folders, archive folder, push",
        sql: r#"
-- SPEC.md "Incoming account: folders, archive, push". `folders` is a JSON array of the names
-- as the user writes them; rows written before keep collecting INBOX, with push on. The
-- collector's ledger is already keyed by mailbox (`imap:<mailbox>:<uidvalidity>`), so the
-- INBOX ledgers of earlier versions stay valid as they are.
ALTER TABLE incoming_accounts ADD COLUMN folders TEXT NOT NULL DEFAULT '["INBOX"]';
ALTER TABLE incoming_accounts ADD COLUMN archive_folder TEXT;
ALTER TABLE incoming_accounts ADD COLUMN use_push INTEGER NOT NULL DEFAULT 1 CHECK (use_push IN (0, 1));
"#,
    },
    Migration {
        version: 10,
        description: "collector nodes present (push rebalancing)",
        sql: r#"
-- collector/lease.rs: every running collector with leases and push renews its row while it
-- runs; the unexpired rows are the nodes that share the accounts waiting in IDLE. IF NOT
-- EXISTS: upgrade tests that step a store back to an earlier version keep this table.
CREATE TABLE IF NOT EXISTS collector_nodes (
    owner TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
"#,
    },
    Migration {
        version: 11,
        description: "collector status: the server needs expunging",
        sql: r#"
-- Issue 15: an account archiving on a server with neither MOVE nor UIDPLUS leaves collected
-- messages marked \Deleted; its status says so until a run no longer needs it. A row here is
-- "needs expunging" (since: Unix seconds). A table of its own, created only when missing, so
-- that tests which step an older store back and re-run later migrations need not know it.
CREATE TABLE IF NOT EXISTS collector_needs_expunging (
    account_id INTEGER PRIMARY KEY REFERENCES incoming_accounts (id) ON DELETE CASCADE,
    since BIGINT NOT NULL
);
"#,
    },
];

/// PostgreSQL texts for migrations whose portable SQL the automatic translation
/// ([`super::backend::postgres_schema`]) cannot carry, by version. Empty today: every
/// migration so far translates.
const POSTGRES_OVERRIDES: &[(i64, &str)] = &[];

/// The PostgreSQL text of `m` when it has its own ([`POSTGRES_OVERRIDES`]); `None` means
/// "translate `m.sql`".
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn postgres_sql(m: &Migration) -> Option<String> {
    POSTGRES_OVERRIDES
        .iter()
        .find(|(v, _)| *v == m.version)
        .map(|(_, sql)| (*sql).to_owned())
}

/// The newest schema version this library knows: the last migration's.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.description);
            assert!(
                !m.sql.contains("BEGIN"),
                "{}: no BEGIN inside",
                m.description
            );
        }
        assert_eq!(SCHEMA_VERSION, MIGRATIONS.len() as i64);
    }
}
