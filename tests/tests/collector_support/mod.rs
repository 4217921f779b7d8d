//! Shared by the collector's real-server tests: test messages, what the server and the inbox
//! hold (by Message-ID), accounts in a store, and a fault-injecting TCP proxy.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod fault_proxy;
pub mod kill;
/// The local test PostgreSQL: stores in fresh databases, dropped when the test is done.
#[path = "../../../mail-settings-core/tests/support/postgres.rs"]
pub mod postgres_support;

use mail_settings_core::collector::{Collector, CollectorOptions};
use mail_settings_core::inbox::{Inbox, InboxQuery};
use mail_settings_core::store::Store;
use mail_settings_core::{IncomingAccountForm, Protocol, RecordId, SecureConnectionType};
use mail_settings_tests::{incoming_form, servers, Cert, Via};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A test message of about `size` bytes with Message-ID `<{tag}-{i}@collector.test>`.
pub fn message(tag: &str, i: usize, size: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Customer {i} <customer{i}@example.test>\r\n\
         To: helpdesk@example.test\r\n\
         Subject: Ticket {tag} {i}\r\n\
         Date: Wed, 2 Jul 2025 09:{:02}:{:02} +0000\r\n\
         Message-ID: <{tag}-{i}@collector.test>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Message {i} of {tag}.\r\n",
        (i / 60) % 60,
        i % 60
    )
    .into_bytes();
    let line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n";
    while m.len() + line.len() <= size {
        m.extend_from_slice(line);
    }
    m
}

/// The id a [`message`] carries.
pub fn message_id(tag: &str, i: usize) -> String {
    format!("{tag}-{i}@collector.test")
}

/// `mailbox`'s Maildir.
pub fn maildir(mailbox: &str) -> PathBuf {
    let (local, domain) = mailbox.split_once('@').unwrap();
    servers()
        .dir
        .join("mail")
        .join(domain)
        .join(local)
        .join("Maildir")
}

fn header_message_id(path: &Path) -> Option<String> {
    let raw = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&raw[..raw.len().min(64 * 1024)]);
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if let Some(v) = line
            .strip_prefix("Message-ID:")
            .or_else(|| line.strip_prefix("Message-Id:"))
        {
            return Some(v.trim().trim_matches(['<', '>']).to_owned());
        }
    }
    None
}

/// Message-IDs of the messages on the server (the Maildir's `new` and `cur`), with counts.
pub fn server_ids(mailbox: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for d in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(maildir(mailbox).join(d)) else {
            continue;
        };
        for e in entries.flatten() {
            if let Some(id) = header_message_id(&e.path()) {
                *out.entry(id).or_insert(0) += 1;
            }
        }
    }
    out
}

/// Message-IDs in the account's inbox, with counts (a duplicate shows as 2).
pub fn inbox_ids(store: &Arc<Store>, account: RecordId) -> BTreeMap<String, usize> {
    let inbox = Inbox::new(store.clone());
    let mut out = BTreeMap::new();
    let mut page = 1;
    loop {
        let mut q = InboxQuery::account(account).page(page);
        q.page_size = 1000;
        let p = inbox.list(&q).unwrap();
        for m in &p.messages {
            *out.entry(m.message_id.clone().unwrap_or_default())
                .or_insert(0) += 1;
        }
        if u64::from(page) >= p.pages {
            break;
        }
        page += 1;
    }
    out
}

/// An account for `mailbox` on the local Dovecot (valid certificate, test CA), created in
/// `store`: `security` `None` is clear text; `port` overrides the port (a proxy's).
pub fn create_account(
    store: &Store,
    protocol: Protocol,
    mailbox: &str,
    keep: bool,
    security: Option<SecureConnectionType>,
    port: Option<u16>,
) -> RecordId {
    let (mut form, connectors): (IncomingAccountForm, _) =
        incoming_form(protocol, mailbox, security, Cert::Valid, Via::Direct);
    assert!(connectors.is_empty());
    form.name = format!("{protocol} {mailbox}");
    form.keep_copy_on_server = keep;
    if let Some(p) = port {
        form.port = Some(i64::from(p));
    }
    store.create_incoming(&form).unwrap().id
}

/// A collector over `store` logging in to `mailbox`, with short timeouts.
pub fn collector(store: &Arc<Store>, mailbox: &str) -> Collector {
    let mut o = CollectorOptions::default();
    o.timeouts = mail_settings_core::net::Timeouts::uniform(std::time::Duration::from_secs(10));
    o.batch_messages = 4;
    Collector::with_options(
        store.clone(),
        Arc::new(servers().credentials_for(mailbox)),
        o,
    )
}

/// Checks that every message in `expected` is in the inbox exactly once, and that nothing
/// else is; `context` names the series.
pub fn assert_exactly_once(inbox: &BTreeMap<String, usize>, expected: &[String], context: &str) {
    let dups: Vec<_> = inbox.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        dups.is_empty(),
        "{context}: duplicated in the inbox: {dups:?}"
    );
    let missing: Vec<_> = expected
        .iter()
        .filter(|id| !inbox.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{context}: missing from the inbox: {missing:?}"
    );
    assert_eq!(
        inbox.len(),
        expected.len(),
        "{context}: unexpected messages in the inbox"
    );
}

/// Checks that no message in `expected` is missing from both the inbox and the server.
pub fn assert_none_lost(
    inbox: &BTreeMap<String, usize>,
    server: &BTreeMap<String, usize>,
    expected: &[String],
    context: &str,
) {
    let lost: Vec<_> = expected
        .iter()
        .filter(|id| !inbox.contains_key(*id) && !server.contains_key(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{context}: LOST (neither in the inbox nor on the server): {lost:?}"
    );
    let dups: Vec<_> = inbox.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        dups.is_empty(),
        "{context}: duplicated in the inbox: {dups:?}"
    );
}

/// The stores a collector test runs on: an SQLite file, and a PostgreSQL database when the
/// test server answers (with `MS_REQUIRE_POSTGRES=1`, when it does not the test fails).
pub fn backends(test: &str) -> Vec<postgres_support::TestStore> {
    let mut out = vec![postgres_support::sqlite_file_store()];
    out.extend(postgres_support::postgres_store(test));
    out
}
