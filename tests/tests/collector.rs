//! The collector against the real local Dovecot: IMAP and POP3, with keep copy on and off.
//! Exact counts in the inbox and on the server, a second run fetches nothing, messages added
//! between runs are fetched once, IMAP messages stay unseen with keep copy, and a UIDVALIDITY
//! change (the mailbox re-created) stores nothing twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod collector_support;

use collector_support::*;
use mail_settings_core::collector::{CollectError, RunControl};
use mail_settings_core::inbox::Inbox;
use mail_settings_core::store::Store;
use mail_settings_core::{Protocol, SecureConnectionType};
use mail_settings_tests::{lmtp_deliver, servers, unique_mailbox};
use std::sync::Arc;

/// The series on each backend: an SQLite file, and PostgreSQL (the test server's).
fn series(protocol: Protocol, keep: bool, security: Option<SecureConnectionType>) {
    let test = format!("collect {protocol} {keep} {security:?}");
    for store in backends(&test) {
        series_on(&store, protocol, keep, security);
    }
}

fn series_on(
    store: &postgres_support::TestStore,
    protocol: Protocol,
    keep: bool,
    security: Option<SecureConnectionType>,
) {
    let context = format!("{} {protocol} keep={keep} {security:?}", store.backend());
    let mailbox = unique_mailbox("collect");
    let store: Arc<Store> = Arc::clone(store);
    let account = create_account(&store, protocol, &mailbox, keep, security, None);
    let collector = collector(&store, &mailbox);
    let tag = format!("basic-{}", mailbox.split('@').next().unwrap());

    let mut expected = Vec::new();
    for i in 0..6 {
        lmtp_deliver(
            "sender@example.test",
            &mailbox,
            &message(&tag, i, 3000 + i * 500),
        );
        expected.push(message_id(&tag, i));
    }
    assert_eq!(server_ids(&mailbox).len(), 6);

    let r = collector.check_now(account).unwrap();
    assert_eq!(
        (r.listed, r.fetched, r.duplicates),
        (6, 6, 0),
        "{context}: {r:?}"
    );
    assert_exactly_once(&inbox_ids(&store, account), &expected, &context);
    let on_server = server_ids(&mailbox);
    if keep {
        assert_eq!(
            on_server.len(),
            6,
            "{context}: keep copy leaves the server as it was"
        );
        assert_eq!(r.deleted_on_server, 0);
    } else {
        assert!(on_server.is_empty(), "{context}: {on_server:?}");
        assert_eq!(r.deleted_on_server, 6);
    }

    // A second run fetches nothing.
    let r = collector.check_now(account).unwrap();
    assert_eq!(
        (r.fetched, r.duplicates, r.pending),
        (0, 0, 0),
        "{context}: {r:?}"
    );
    assert_eq!(r.already_stored, if keep { 6 } else { 0 }, "{context}");

    // Messages added between runs are fetched once.
    for i in 6..9 {
        lmtp_deliver("sender@example.test", &mailbox, &message(&tag, i, 2000));
        expected.push(message_id(&tag, i));
    }
    let r = collector.check_now(account).unwrap();
    assert_eq!(r.fetched, 3, "{context}: {r:?}");
    assert_exactly_once(&inbox_ids(&store, account), &expected, &context);
    assert_eq!(
        server_ids(&mailbox).len(),
        if keep { 9 } else { 0 },
        "{context}"
    );
    assert_eq!(
        collector.check_now(account).unwrap().fetched,
        0,
        "{context}"
    );

    // The stored bytes are the server's, summary decoded.
    let inbox = Inbox::new(store.clone());
    let page = inbox
        .list(&mail_settings_core::inbox::InboxQuery::account(account))
        .unwrap();
    assert_eq!(page.total, 9);
    let m = page
        .messages
        .iter()
        .find(|m| m.message_id.as_deref() == Some(message_id(&tag, 0).as_str()))
        .unwrap();
    assert_eq!(
        m.subject.as_deref(),
        Some(format!("Ticket {tag} 0").as_str())
    );
    assert_eq!(m.from, "Customer 0 <customer0@example.test>");
    let raw = inbox.raw(m.id).unwrap();
    assert_eq!(raw.len() as u64, m.size);
    let sent = message(&tag, 0, 3000);
    assert!(
        raw.ends_with(&sent),
        "{context}: the stored message ends with what was sent"
    );

    let status = collector.status(account).unwrap();
    assert_eq!(status.fetched, 9, "{context}");
    assert_eq!(status.inbox_messages, 9);
    assert!(status.last_error.is_none() && status.last_success.is_some());
    let _ = mail_settings_tests::seed::remove_mailbox(&mailbox);
}

#[test]
fn imap_keep_copy() {
    servers();
    series(Protocol::Imap, true, Some(SecureConnectionType::Ssl));
}

#[test]
fn imap_without_keep_copy() {
    series(Protocol::Imap, false, Some(SecureConnectionType::Ssl));
}

#[test]
fn pop3_keep_copy() {
    series(Protocol::Pop3, true, Some(SecureConnectionType::Ssl));
}

#[test]
fn pop3_without_keep_copy() {
    series(Protocol::Pop3, false, Some(SecureConnectionType::Ssl));
}

#[test]
fn starttls_and_clear_text_collect_too() {
    series(Protocol::Imap, false, Some(SecureConnectionType::Tls));
    series(Protocol::Pop3, true, None);
}

#[test]
fn imap_keep_copy_leaves_messages_unseen() {
    let mailbox = unique_mailbox("unseen");
    let store = Arc::new(Store::open_in_memory().unwrap());
    let account = create_account(
        &store,
        Protocol::Imap,
        &mailbox,
        true,
        Some(SecureConnectionType::Ssl),
        None,
    );
    for i in 0..3 {
        lmtp_deliver("sender@example.test", &mailbox, &message("unseen", i, 1000));
    }
    assert_eq!(
        collector(&store, &mailbox)
            .check_now(account)
            .unwrap()
            .fetched,
        3
    );
    let acc = store.incoming_account(account).unwrap();
    let creds = servers().credentials_for(&mailbox);
    let mut s = mail_settings_core::imap::connect(
        &acc,
        &creds,
        &mail_settings_core::imap::ImapOptions::default(),
    )
    .unwrap();
    s.examine("INBOX").unwrap();
    let uids = s.uids().unwrap();
    let flags = s.flags(&uids).unwrap();
    assert_eq!(flags.len(), 3);
    for f in flags {
        assert!(
            !f.has("\\Seen"),
            "uid {} was marked seen: {:?}",
            f.uid,
            f.flags
        );
        assert!(!f.has("\\Deleted"));
    }
    s.logout().unwrap();
}

#[test]
fn a_recreated_imap_mailbox_resyncs_without_duplicates() {
    // Dovecot gives a Maildir a new UIDVALIDITY when its index and uidlist are removed.
    let mailbox = unique_mailbox("uidvalidity");
    let store = Arc::new(Store::open_in_memory().unwrap());
    let account = create_account(
        &store,
        Protocol::Imap,
        &mailbox,
        true,
        Some(SecureConnectionType::Ssl),
        None,
    );
    let c = collector(&store, &mailbox);
    let mut expected = Vec::new();
    for i in 0..4 {
        lmtp_deliver("sender@example.test", &mailbox, &message("uv", i, 1500));
        expected.push(message_id("uv", i));
    }
    assert_eq!(c.check_now(account).unwrap().fetched, 4);
    let md = maildir(&mailbox);
    for entry in std::fs::read_dir(&md).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("dovecot") {
            let p = entry.path();
            if p.is_dir() {
                std::fs::remove_dir_all(p).unwrap();
            } else {
                std::fs::remove_file(p).unwrap();
            }
        }
    }
    // Dovecot may keep the old index in a running process for a moment; the new UIDVALIDITY
    // is what matters, and it is a second since the first (UIDVALIDITY is a timestamp).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    lmtp_deliver("sender@example.test", &mailbox, &message("uv", 4, 1500));
    expected.push(message_id("uv", 4));
    let r = c.check_now(account).unwrap();
    assert!(r.resynced, "{r:?}");
    assert_eq!((r.fetched, r.duplicates), (1, 4), "{r:?}");
    assert_exactly_once(&inbox_ids(&store, account), &expected, "resync");
    let r = c.check_now(account).unwrap();
    assert_eq!((r.fetched, r.duplicates, r.resynced), (0, 0, false));
}

#[test]
fn a_message_over_the_limit_is_left_on_the_server() {
    for protocol in [Protocol::Imap, Protocol::Pop3] {
        let mailbox = unique_mailbox("limit");
        let store = Arc::new(Store::open_in_memory().unwrap());
        let account = create_account(
            &store,
            protocol,
            &mailbox,
            false,
            Some(SecureConnectionType::Ssl),
            None,
        );
        let stored = store.get_incoming(account).unwrap();
        let mut f = stored.record.clone();
        f.max_message_size = 20_000;
        store.update_incoming(account, stored.version, &f).unwrap();
        lmtp_deliver("sender@example.test", &mailbox, &message("limit", 0, 1000));
        lmtp_deliver(
            "sender@example.test",
            &mailbox,
            &message("limit", 1, 60_000),
        );
        lmtp_deliver("sender@example.test", &mailbox, &message("limit", 2, 1000));
        let c = collector(&store, &mailbox);
        let r = c.check_now(account).unwrap();
        assert_eq!((r.fetched, r.skipped), (2, 1), "{protocol}: {r:?}");
        let left = server_ids(&mailbox);
        assert_eq!(
            left.keys().cloned().collect::<Vec<_>>(),
            vec![message_id("limit", 1)]
        );
        let skipped = c.skipped(account).unwrap();
        assert_eq!(skipped.len(), 1);
        assert!(
            skipped[0].too_large && skipped[0].reason.contains("20000"),
            "{skipped:?}"
        );
        assert_eq!(c.check_now(account).unwrap().fetched, 0);
    }
}

#[test]
fn wrong_password_is_an_auth_error_in_the_status() {
    let mailbox = unique_mailbox("badpass");
    let store = Arc::new(Store::open_in_memory().unwrap());
    let account = create_account(
        &store,
        Protocol::Imap,
        &mailbox,
        true,
        Some(SecureConnectionType::Ssl),
        None,
    );
    let stored = store.get_incoming(account).unwrap();
    let mut f = stored.record.clone();
    f.credential = Some("wrong-password".into());
    store.update_incoming(account, stored.version, &f).unwrap();
    let c = collector(&store, &mailbox);
    let e = c
        .check_now_with(account, &RunControl::default())
        .unwrap_err();
    assert!(matches!(e, CollectError::Connection(_)), "{e:?}");
    assert_eq!(e.category(), mail_settings_core::ErrorCategory::Auth, "{e}");
    let st = c.status(account).unwrap();
    assert_eq!(
        st.last_error.unwrap().category,
        mail_settings_core::ErrorCategory::Auth
    );
    assert!(!format!("{e:?}").contains(servers().mail_password()));
}
