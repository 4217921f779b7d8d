//! Opening a store with a large inbox: the mail tables are not read on open, and damage in
//! them is still refused, naming the file, when a damaged message is read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::inbox::Inbox;
use mail_settings_core::store::{Store, StoreError};
use mail_settings_core::{IncomingAccountForm, Protocol};
use std::path::Path;
use std::sync::Arc;

const MESSAGES: i64 = 120;
const MESSAGE_SIZE: usize = 60_000;

/// A store with one account and `MESSAGES` inbox messages of `MESSAGE_SIZE` bytes, written
/// with plain SQL (as the collector's commit would leave them); returns the account and the
/// message ids.
fn store_with_inbox(path: &Path) -> (i64, Vec<i64>) {
    let account = {
        let store = Store::open(path).unwrap();
        store
            .create_incoming(&IncomingAccountForm {
                name: "Helpdesk".to_owned(),
                host: "imap.example.com".to_owned(),
                protocol: Some(Protocol::Imap),
                credential: Some("mailbox".to_owned()),
                ..Default::default()
            })
            .unwrap()
            .id
    };
    let mut c = rusqlite::Connection::open(path).unwrap();
    let tx = c.transaction().unwrap();
    let mut ids = Vec::new();
    for i in 0..MESSAGES {
        let raw: Vec<u8> = format!("Subject: message {i}\r\n\r\n")
            .into_bytes()
            .into_iter()
            .chain((0..MESSAGE_SIZE).map(|j| b'a' + ((i as usize * 7 + j) % 26) as u8))
            .collect();
        tx.execute(
            "INSERT INTO inbox_messages (account_id, stored_at, sort_date, subject, size, \
             content_hash, source) VALUES (?1, ?2, ?2, ?3, ?4, ?5, 'test')",
            rusqlite::params![
                account,
                1_700_000_000 + i,
                format!("message {i}"),
                raw.len() as i64,
                i.to_be_bytes().to_vec()
            ],
        )
        .unwrap();
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO inbox_chunks (message, seq, data) VALUES (?1, 0, ?2)",
            rusqlite::params![id, raw],
        )
        .unwrap();
        ids.push(id);
    }
    tx.commit().unwrap();
    // Closing the last connection checkpoints the WAL into the file.
    drop(c);
    (account, ids)
}

fn page_size(file: &[u8]) -> usize {
    match u16::from_be_bytes([file[16], file[17]]) {
        1 => 65_536,
        n => usize::from(n),
    }
}

#[test]
fn a_damaged_inbox_page_does_not_stop_the_settings_and_is_refused_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.sqlite3");
    let (account, ids) = store_with_inbox(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    let page = page_size(&bytes);
    assert!(
        bytes.len() > 40 * page,
        "the inbox fills the file: {} bytes",
        bytes.len()
    );
    // The last pages written hold the newest messages (and the mail tables' indexes).
    let start = bytes.len() - 3 * page;
    for (i, b) in bytes[start..].iter_mut().enumerate() {
        *b = (i * 7 + 13) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();

    // Opening checks the settings, not the inbox: the store opens and its settings read.
    let store = Arc::new(Store::open(&path).unwrap());
    assert_eq!(store.get_incoming(account).unwrap().record.name, "Helpdesk");

    // Reading the damaged messages is refused with the file's name; the others read whole.
    let inbox = Inbox::new(store);
    let (mut whole, mut refused) = (0, 0);
    for id in ids {
        match inbox.raw(id) {
            Ok(raw) => {
                assert!(raw.starts_with(b"Subject: message "), "message {id}");
                assert!(
                    raw.len() > MESSAGE_SIZE,
                    "message {id}: {} bytes",
                    raw.len()
                );
                whole += 1;
            }
            Err(e @ StoreError::NotADatabase { .. }) => {
                assert!(e.to_string().contains("settings.sqlite3"), "{e}");
                refused += 1;
            }
            Err(e) => panic!("message {id}: unexpected {e:?}"),
        }
    }
    assert!(refused > 0, "no read met the damaged pages");
    assert!(whole > 100, "only {whole} messages read whole");
}

#[test]
fn damage_in_the_settings_is_still_refused_on_open_with_a_large_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.sqlite3");
    store_with_inbox(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    let page = page_size(&bytes);
    // The accounts table's root page: its number is in the schema.
    let root: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT rootpage FROM sqlite_schema WHERE name = 'incoming_accounts'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let start = (usize::try_from(root).unwrap() - 1) * page;
    for (i, b) in bytes[start..start + page].iter_mut().enumerate() {
        *b = (i * 7 + 13) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    let e = Store::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::NotADatabase { .. }), "{e:?}");
    assert!(e.to_string().contains("settings.sqlite3"), "{e}");
}

#[test]
fn a_store_truncated_inside_its_inbox_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.sqlite3");
    store_with_inbox(&path);
    let bytes = std::fs::read(&path).unwrap();
    let page = page_size(&bytes);
    std::fs::write(&path, &bytes[..bytes.len() - 5 * page]).unwrap();
    let e = Store::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::NotADatabase { .. }), "{e:?}");
}
