//! What opening a store checks, and what it leaves to the reads.
//!
//! Opening runs `PRAGMA quick_check` on every table except the ones that grow with the mail
//! collected ([`MAIL_TABLES`]: the raw messages, their summaries, and the ledger of stored
//! server keys). `quick_check` reads every page it checks, so checking those tables on every
//! open would read the whole inbox each time a program starts: for 5 GB of collected mail,
//! 5 GB read before the first settings screen or CLI command (a 123 MB store of 2,000 messages
//! took 0.44 s to check from a cold cache here, 0.01–0.03 s warm).
//!
//! Damage in the mail tables is found when one of their pages is read: [`super::Store`]'s reads
//! and writes turn SQLite's `SQLITE_CORRUPT` into [`super::StoreError::NotADatabase`], naming
//! the file. A truncated file is refused by SQLite on the first read whatever table it cut
//! (the header's page count is then larger than the file). What neither check can find is a
//! scribble inside a message's bytes that leaves the page structure whole: SQLite keeps no
//! checksums of content, and `quick_check` never looked at content either. An operator who
//! wants the whole file checked runs `sqlite3 FILE 'PRAGMA quick_check'`.

use rusqlite::Connection;

/// Tables whose size follows the mail collected; not walked when a store is opened.
pub(crate) const MAIL_TABLES: &[&str] = &["inbox_chunks", "inbox_messages", "collector_ledger"];

/// At most this many problems are reported.
const MAX_PROBLEMS: usize = 5;

/// What `quick_check` finds in every table except [`MAIL_TABLES`] (and their indexes): empty
/// when nothing is wrong.
pub(crate) fn problems(c: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut found = Vec::new();
    for table in tables(c)?
        .iter()
        .filter(|t| !MAIL_TABLES.contains(&t.as_str()))
    {
        let sql = format!("PRAGMA quick_check(\"{}\")", table.replace('"', "\"\""));
        let rows: Vec<String> = c
            .prepare(&sql)?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        found.extend(rows.into_iter().filter(|r| r != "ok"));
        if found.len() >= MAX_PROBLEMS {
            found.truncate(MAX_PROBLEMS);
            break;
        }
    }
    Ok(found)
}

/// The database's own tables (not SQLite's), by name.
fn tables(c: &Connection) -> rusqlite::Result<Vec<String>> {
    c.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )?
    .query_map([], |r| r.get(0))?
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_tables_exist_in_the_schema() {
        // A renamed table would silently be checked on every open again.
        let store = crate::store::Store::open_in_memory().unwrap();
        let names = store.read(|c| Ok(tables(c)?)).unwrap();
        for t in MAIL_TABLES {
            assert!(names.iter().any(|n| n == t), "{t} not in {names:?}");
        }
        // And the settings tables are among the ones checked.
        for t in ["incoming_accounts", "smtp_accounts", "network_connectors"] {
            assert!(names.iter().any(|n| n == t), "{t} not in {names:?}");
            assert!(!MAIL_TABLES.contains(&t));
        }
    }

    #[test]
    fn a_sound_store_has_no_problems() {
        let store = crate::store::Store::open_in_memory().unwrap();
        assert!(store.read(|c| Ok(problems(c)?)).unwrap().is_empty());
    }
}
