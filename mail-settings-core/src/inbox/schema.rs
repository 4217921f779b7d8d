//! The inbox's and the collector's tables, added to the store by one migration (see
//! `store::migrations`, which lists it after the settings tables).
//!
//! Why these tables, and why in the settings store: the collector's promise (never lose, never
//! duplicate) rests on one rule — *the state that decides "already stored" is written in the
//! same transaction as the message*. So the messages, their raw bytes and the ledger of what
//! the server listed and we stored all live in one SQLite file, written with
//! `synchronous=FULL`, and every table hangs off its incoming account with
//! `ON DELETE CASCADE`.
//!
//! - `inbox_messages`: one row per stored message: the summary (decoded subject, from, to,
//!   cc, date, Message-ID, size, attachment count), the SHA-256 of the raw bytes (duplicate
//!   detection), read/deleted flags. A message deleted locally stays as a *tombstone*
//!   (`deleted = 1`, summary cleared, raw bytes gone) so that the same message arriving again
//!   is still recognised and never stored a second time.
//! - `inbox_chunks`: the raw bytes in chunks of at most [`CHUNK_SIZE`], so neither writing nor
//!   reading a 20 MB message needs it twice in memory, and listing never touches them.
//! - `collector_mailboxes`: per account and IMAP mailbox, the UIDVALIDITY last seen.
//! - `collector_ledger`: per account and *scope* (`imap:<mailbox>:<uidvalidity>` or `pop3`),
//!   the server keys (IMAP UID, POP3 UIDL, or `sha256:<hex>` for a POP3 server without UIDL)
//!   already stored, and which message they became.
//! - `collector_problems`: messages left on the server (too large, refused by the server,
//!   interrupted), with their reason and attempts.
//! - `collector_status`: per account, what the last runs did (for status screens and the CLI,
//!   across processes).

/// The largest piece of a raw message in one row of `inbox_chunks` (256 KiB).
pub(crate) const CHUNK_SIZE: usize = 256 * 1024;

/// The migration's description.
pub(crate) const DESCRIPTION: &str = "inbox messages and mail collector state";

/// The migration's SQL (run inside the migration's transaction).
pub(crate) const SQL: &str = r#"
CREATE TABLE inbox_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES incoming_accounts (id) ON DELETE CASCADE,
    stored_at INTEGER NOT NULL,
    sort_date INTEGER NOT NULL,
    date INTEGER,
    subject TEXT,
    from_text TEXT NOT NULL DEFAULT '',
    to_text TEXT NOT NULL DEFAULT '',
    cc_text TEXT NOT NULL DEFAULT '',
    message_id TEXT,
    size INTEGER NOT NULL,
    attachment_count INTEGER NOT NULL DEFAULT 0,
    content_hash BLOB NOT NULL,
    parse_error TEXT,
    source TEXT NOT NULL,
    is_read INTEGER NOT NULL DEFAULT 0 CHECK (is_read IN (0, 1)),
    deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    duplicates INTEGER NOT NULL DEFAULT 0,
    search_from TEXT NOT NULL DEFAULT '',
    search_subject TEXT NOT NULL DEFAULT ''
);
-- Newest first, per account and across accounts.
CREATE INDEX inbox_messages_account_list ON inbox_messages
    (account_id, deleted, sort_date DESC, id DESC);
CREATE INDEX inbox_messages_list ON inbox_messages (deleted, sort_date DESC, id DESC);
-- Duplicate detection (same content, same Message-ID).
CREATE INDEX inbox_messages_hash ON inbox_messages (account_id, content_hash);

CREATE TABLE inbox_chunks (
    id INTEGER PRIMARY KEY,
    message INTEGER NOT NULL REFERENCES inbox_messages (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE UNIQUE INDEX inbox_chunks_message ON inbox_chunks (message, seq);

CREATE TABLE collector_mailboxes (
    account_id INTEGER NOT NULL REFERENCES incoming_accounts (id) ON DELETE CASCADE,
    mailbox TEXT NOT NULL,
    uid_validity INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, mailbox)
) WITHOUT ROWID;

CREATE TABLE collector_ledger (
    account_id INTEGER NOT NULL REFERENCES incoming_accounts (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    message INTEGER REFERENCES inbox_messages (id) ON DELETE SET NULL,
    stored_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, scope, key)
) WITHOUT ROWID;
CREATE INDEX collector_ledger_message ON collector_ledger (message);

CREATE TABLE collector_problems (
    account_id INTEGER NOT NULL REFERENCES incoming_accounts (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('too_large', 'failed', 'interrupted')),
    size INTEGER,
    reason TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (account_id, scope, key)
) WITHOUT ROWID;

CREATE TABLE collector_status (
    account_id INTEGER PRIMARY KEY REFERENCES incoming_accounts (id) ON DELETE CASCADE,
    last_check INTEGER,
    last_success INTEGER,
    last_error_category TEXT,
    last_error_message TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    runs INTEGER NOT NULL DEFAULT 0,
    fetched INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    pending INTEGER NOT NULL DEFAULT 0,
    last_run_fetched INTEGER NOT NULL DEFAULT 0,
    last_run_bytes INTEGER NOT NULL DEFAULT 0
);
"#;
