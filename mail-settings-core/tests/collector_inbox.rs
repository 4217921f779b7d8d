//! The inbox: listing (per account and across accounts, 30 a page, newest first), filters,
//! reading raw and parsed, mark read, delete locally (and never collect it again), and the
//! migration that adds the inbox to a store of the previous schema.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::collector::{
    Collector, CollectorOptions, MailSource, MemoryProtocol, MemoryServer,
};
use mail_settings_core::inbox::{Inbox, InboxQuery, DEFAULT_PAGE_SIZE};
use mail_settings_core::store::{Store, StoreError, SCHEMA_VERSION};
use mail_settings_core::{IncomingAccount, IncomingAccountForm, Protocol, RecordId};
use std::sync::Arc;

fn message(i: usize, from: &str, subject: &str, day: u32) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: desk@example.test\r\nSubject: {subject}\r\n\
         Date: {day:02} Jul 2025 12:00:{:02} +0000\r\nMessage-ID: <inbox-{i}@example.test>\r\n\r\nBody {i}\r\n",
        i % 60
    )
    .into_bytes()
}

#[path = "support/postgres.rs"]
mod postgres_support;

use postgres_support::TestStore;

struct Fixture {
    inbox: Inbox,
    accounts: Vec<(RecordId, MemoryServer)>,
    collector: Collector,
    /// Last: dropped after the rest (a PostgreSQL store's database is dropped with it).
    _store: TestStore,
}

/// The fixture on both backends: SQLite, and PostgreSQL when the test server answers.
fn fixtures(test: &str, names: &[&str]) -> Vec<Fixture> {
    postgres_support::stores(test)
        .into_iter()
        .map(|s| fixture(s, names))
        .collect()
}

fn fixture(store: TestStore, names: &[&str]) -> Fixture {
    let mut accounts = Vec::new();
    for name in names {
        let form = IncomingAccountForm {
            name: (*name).to_owned(),
            host: "mail.example.test".into(),
            protocol: Some(Protocol::Imap),
            credential: Some("c".into()),
            ..IncomingAccountForm::default()
        };
        let id = store.create_incoming(&form).unwrap().id;
        accounts.push((id, MemoryServer::new(MemoryProtocol::Imap)));
    }
    let servers: Vec<(String, MemoryServer)> = names
        .iter()
        .zip(&accounts)
        .map(|(n, (_, s))| ((*n).to_owned(), s.clone()))
        .collect();
    let collector = Collector::with_sources(
        store.clone(),
        Arc::new(move |a: &IncomingAccount| {
            let s = servers
                .iter()
                .find(|(n, _)| n == a.name())
                .map(|(_, s)| s.source())
                .unwrap();
            Ok(Box::new(s) as Box<dyn MailSource>)
        }),
        CollectorOptions::default(),
    );
    Fixture {
        inbox: Inbox::new(store.clone()),
        accounts,
        collector,
        _store: store,
    }
}

#[test]
fn pages_of_thirty_newest_first_with_the_total() {
    for f in fixtures("pages_of_thirty_newest_first_with_the_total", &["Desk"]) {
        let (id, server) = &f.accounts[0];
        for i in 0..65 {
            // Day 1..=28 in an order unrelated to arrival.
            let day = (i * 7 % 28 + 1) as u32;
            server.add(message(i, "a@example.test", &format!("S{i}"), day));
        }
        assert_eq!(f.collector.check_now(*id).unwrap().fetched, 65);
        let q = InboxQuery::account(*id);
        let p1 = f.inbox.list(&q).unwrap();
        assert_eq!(
            (p1.total, p1.pages, p1.page, p1.page_size),
            (65, 3, 1, DEFAULT_PAGE_SIZE)
        );
        assert_eq!(p1.messages.len(), 30);
        let p3 = f.inbox.list(&q.clone().page(3)).unwrap();
        assert_eq!(p3.messages.len(), 5);
        let mut all = Vec::new();
        for page in 1..=3 {
            all.extend(f.inbox.list(&q.clone().page(page)).unwrap().messages);
        }
        assert_eq!(all.len(), 65);
        let dates: Vec<i64> = all.iter().map(|m| m.date.unwrap()).collect();
        assert!(
            dates.windows(2).all(|w| w[0] >= w[1]),
            "newest first: {dates:?}"
        );
        let mut ids: Vec<i64> = all.iter().map(|m| m.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 65, "no message on two pages");
        let p4 = f.inbox.list(&q.page(4)).unwrap();
        assert!(p4.messages.is_empty());
        assert_eq!(p4.total, 65);
    }
}

#[test]
fn filters_combine_and_ignore_case_also_outside_ascii() {
    for f in fixtures(
        "filters_combine_and_ignore_case_also_outside_ascii",
        &["Desk", "Sales"],
    ) {
        let (desk, ds) = &f.accounts[0];
        let (sales, ss) = &f.accounts[1];
        ds.add(message(
            1,
            "José Álvarez <jose@example.test>",
            "Impressora QUEBRADA",
            3,
        ));
        ds.add(message(2, "ana@example.test", "Senha expirada", 5));
        ds.add(message(3, "bob@example.test", "printer jam", 9));
        ss.add(message(4, "carl@example.test", "Quote for PRINTER", 7));
        f.collector.check_now(*desk).unwrap();
        f.collector.check_now(*sales).unwrap();

        let subjects = |q: &InboxQuery| -> Vec<String> {
            f.inbox
                .list(q)
                .unwrap()
                .messages
                .into_iter()
                .map(|m| m.subject.unwrap())
                .collect()
        };
        // Across accounts.
        assert_eq!(f.inbox.list(&InboxQuery::default()).unwrap().total, 4);
        let q = InboxQuery {
            subject_contains: Some("printer".into()),
            ..InboxQuery::default()
        };
        assert_eq!(subjects(&q), ["printer jam", "Quote for PRINTER"]);
        let q = InboxQuery {
            account: Some(*desk),
            from_contains: Some("ÁLVAREZ".into()),
            ..InboxQuery::default()
        };
        assert_eq!(subjects(&q), ["Impressora QUEBRADA"]);
        let q = InboxQuery {
            text_contains: Some("quebrada".into()),
            ..InboxQuery::default()
        };
        assert_eq!(subjects(&q), ["Impressora QUEBRADA"]);
        let q = InboxQuery {
            text_contains: Some("bob@".into()),
            ..InboxQuery::default()
        };
        assert_eq!(subjects(&q), ["printer jam"]);
        // Date range: [4 Jul, 8 Jul).
        let day = |d: i64| 1_751_328_000 + (d - 1) * 86_400; // 1 Jul 2025 00:00 UTC
        let q = InboxQuery {
            since: Some(day(4)),
            until: Some(day(8)),
            ..InboxQuery::default()
        };
        assert_eq!(subjects(&q), ["Quote for PRINTER", "Senha expirada"]);
        // Unread.
        let first = f.inbox.list(&InboxQuery::account(*desk)).unwrap().messages[0].clone();
        assert!(!first.read);
        f.inbox.mark_read(first.id, true).unwrap();
        assert!(f.inbox.message(first.id).unwrap().read);
        let q = InboxQuery {
            account: Some(*desk),
            unread_only: true,
            ..InboxQuery::default()
        };
        assert_eq!(f.inbox.list(&q).unwrap().total, 2);
        f.inbox.mark_read(first.id, false).unwrap();
        assert_eq!(f.inbox.list(&q).unwrap().total, 3);
        assert_eq!(first.account_name, "Desk");
    }
}

#[test]
fn a_message_reads_raw_and_parsed() {
    for f in fixtures("a_message_reads_raw_and_parsed", &["Desk"]) {
        let (id, server) = &f.accounts[0];
        let raw = b"From: =?ISO-8859-1?Q?Jo=E3o?= <joao@example.test>\r\n\
    To: desk@example.test\r\nCc: boss@example.test\r\nSubject: =?UTF-8?B?UmVsYXTDs3Jpbw==?=\r\n\
    Date: Fri, 4 Jul 2025 08:30:00 -0300\r\nMessage-ID: <parsed@example.test>\r\nMIME-Version: 1.0\r\n\
    Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
    --outer\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
    --alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nOl\xc3\xa1, segue o relat\xc3\xb3rio.\r\n\
    --alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Ol\xc3\xa1</p>\r\n--alt--\r\n\
    --outer\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\nContent-Disposition: attachment; filename=\"r.pdf\"\r\n\
    Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n\
    --outer\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"a.png\"\r\n\
    Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--outer--\r\n";
        server.add(raw.to_vec());
        f.collector.check_now(*id).unwrap();
        let m = f.inbox.list(&InboxQuery::account(*id)).unwrap().messages[0].clone();
        assert_eq!(m.subject.as_deref(), Some("Relatório"));
        assert_eq!(m.from, "João <joao@example.test>");
        assert_eq!(m.cc, "boss@example.test");
        assert_eq!(m.date, Some(1_751_628_600));
        assert_eq!(m.attachment_count, 2);
        assert_eq!(m.size, raw.len() as u64);
        assert_eq!(f.inbox.raw(m.id).unwrap(), raw.to_vec());
        let mut streamed = Vec::new();
        assert_eq!(
            f.inbox.copy_raw_to(m.id, &mut streamed).unwrap(),
            raw.len() as u64
        );
        assert_eq!(streamed, raw.to_vec());
        let view = f.inbox.read_message(m.id).unwrap();
        assert_eq!(
            view.body.text.as_deref().map(str::trim),
            Some("Olá, segue o relatório.")
        );
        assert!(view.body.html.as_deref().unwrap().contains("<p>Olá</p>"));
        let att: Vec<(Option<String>, String, u64)> = view
            .body
            .attachments
            .iter()
            .map(|a| (a.name.clone(), a.content_type.clone(), a.size))
            .collect();
        assert_eq!(
            att,
            vec![
                (Some("r.pdf".into()), "application/pdf".into(), 9),
                (Some("a.png".into()), "image/png".into(), 8)
            ]
        );
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["summary"]["subject"], "Relatório");
    }
}

#[test]
fn a_large_message_is_stored_in_chunks_and_read_back_whole() {
    for f in fixtures(
        "a_large_message_is_stored_in_chunks_and_read_back_whole",
        &["Desk"],
    ) {
        let (id, server) = &f.accounts[0];
        let mut raw = message(1, "a@example.test", "big", 1);
        while raw.len() < 3 * 1024 * 1024 + 123 {
            raw.extend_from_slice(
                b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstu\r\n",
            );
        }
        server.add(raw.clone());
        f.collector.check_now(*id).unwrap();
        let m = f.inbox.list(&InboxQuery::account(*id)).unwrap().messages[0].clone();
        assert_eq!(f.inbox.raw(m.id).unwrap(), raw);
        let mut out = Vec::new();
        f.inbox.copy_raw_to(m.id, &mut out).unwrap();
        assert_eq!(out, raw);
    }
}

/// Base64 of `n` pseudo-random bytes, in lines of 76.
fn base64_lines(n: usize) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let letters: Vec<u8> = (0..n.div_ceil(3) * 4)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            A[(x % 64) as usize]
        })
        .collect();
    letters
        .chunks(76)
        .map(|l| format!("{}\r\n", String::from_utf8_lossy(l)))
        .collect()
}

#[test]
fn large_attachments_are_counted_from_the_structure_and_stored_byte_for_byte() {
    // The summary reads a skeleton of the message (long base64 and plain-word runs left out):
    // the count must be the one `show` lists, and the stored bytes the message's own.
    for f in fixtures(
        "large_attachments_are_counted_from_the_structure_and_stored_byte_for_byte",
        &["Desk"],
    ) {
        let (id, server) = &f.accounts[0];
        let words = "the printer on floor three does not print since monday\r\n".repeat(4000);
        let raw = format!(
            "From: a@example.test\r\nTo: desk@example.test\r\nSubject: big parts\r\n\
             Message-ID: <big-parts@example.test>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n\
             --m\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n\
             --r\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{words}\
             --r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\
             --r--\r\n\
             --m\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\nContent-Disposition: attachment; filename=\"r.pdf\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\
             --m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"log.txt\"\r\n\r\n{words}\
             --m--\r\n",
            base64_lines(300_000),
            base64_lines(999_999),
        )
        .into_bytes();
        server.add(raw.clone());
        f.collector.check_now(*id).unwrap();
        let m = f.inbox.list(&InboxQuery::account(*id)).unwrap().messages[0].clone();
        let view = f.inbox.read_message(m.id).unwrap();
        assert_eq!(view.body.parse_error, None);
        assert_eq!(
            view.body.attachments.len(),
            3,
            "{:?}",
            view.body.attachments
        );
        assert_eq!(m.attachment_count, 3);
        assert_eq!(view.body.attachments[1].size, 999_999);
        assert_eq!(m.subject.as_deref(), Some("big parts"));
        assert_eq!(m.size, raw.len() as u64);
        assert_eq!(f.inbox.raw(m.id).unwrap(), raw);
    }
}

#[test]
fn deleting_locally_hides_the_message_and_never_collects_it_again() {
    for f in fixtures(
        "deleting_locally_hides_the_message_and_never_collects_it_again",
        &["Desk"],
    ) {
        let (id, server) = &f.accounts[0];
        server.add(message(1, "a@example.test", "keep", 1));
        server.add(message(2, "a@example.test", "drop", 2));
        f.collector.check_now(*id).unwrap();
        let page = f.inbox.list(&InboxQuery::account(*id)).unwrap();
        let drop = page
            .messages
            .iter()
            .find(|m| m.subject.as_deref() == Some("drop"))
            .unwrap();
        f.inbox.delete(drop.id).unwrap();
        assert!(matches!(
            f.inbox.message(drop.id),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            f.inbox.raw(drop.id),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            f.inbox.delete(drop.id),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            f.inbox.mark_read(drop.id, true),
            Err(StoreError::NotFound { .. })
        ));
        assert_eq!(f.inbox.count(Some(*id)).unwrap(), 1);
        // Still on the server (keep copy): not fetched again, even after a renumbering.
        assert_eq!(f.collector.check_now(*id).unwrap().fetched, 0);
        server.renumber();
        let r = f.collector.check_now(*id).unwrap();
        assert_eq!((r.fetched, r.duplicates), (0, 2));
        assert_eq!(f.inbox.count(Some(*id)).unwrap(), 1);
        let st = f.collector.status(*id).unwrap();
        assert_eq!(st.inbox_messages, 1);
    }
}

#[test]
fn a_store_of_the_previous_schema_gains_the_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let account = {
        let store = Store::open(&path).unwrap();
        let form = IncomingAccountForm {
            name: "Old".into(),
            host: "mail.example.test".into(),
            protocol: Some(Protocol::Pop3),
            credential: Some("c".into()),
            ..IncomingAccountForm::default()
        };
        store.create_incoming(&form).unwrap().id
    };
    // Make it what the previous version of the library wrote: no inbox tables, version 2.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "DROP TABLE inbox_chunks; DROP TABLE inbox_messages; DROP TABLE collector_mailboxes;
             DROP TABLE collector_ledger; DROP TABLE collector_problems; DROP TABLE collector_status;
             DROP TABLE report_schedule_periods; DROP TABLE report_schedules;
             DROP TABLE IF EXISTS collector_lease_log; DROP TABLE IF EXISTS collector_leases;
             DROP TABLE journal_entries; DROP TABLE journal_runs; DROP TABLE store_settings;

             ALTER TABLE incoming_accounts DROP COLUMN folders;
             ALTER TABLE incoming_accounts DROP COLUMN archive_folder;
             ALTER TABLE incoming_accounts DROP COLUMN use_push;
             DROP INDEX incoming_accounts_oauth2_client; DROP INDEX smtp_accounts_oauth2_client;
             ALTER TABLE incoming_accounts DROP COLUMN oauth2_client;
             ALTER TABLE incoming_accounts DROP COLUMN authentication;
             ALTER TABLE smtp_accounts DROP COLUMN oauth2_client;
             ALTER TABLE smtp_accounts DROP COLUMN authentication;
             DROP TABLE oauth2_clients;",
        )
        .unwrap();
        c.pragma_update(None, "user_version", 2).unwrap();
    }
    let store = Arc::new(Store::open(&path).unwrap());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    const { assert!(SCHEMA_VERSION >= 3) };
    assert_eq!(store.get_incoming(account).unwrap().record.name, "Old");
    let inbox = Inbox::new(store.clone());
    assert_eq!(inbox.count(None).unwrap(), 0);
    let server = MemoryServer::new(MemoryProtocol::Pop3);
    server.add(message(1, "a@example.test", "after the upgrade", 1));
    let s2 = server.clone();
    let c = Collector::with_sources(
        store,
        Arc::new(move |_: &IncomingAccount| Ok(Box::new(s2.source()) as Box<dyn MailSource>)),
        CollectorOptions::default(),
    );
    assert_eq!(c.check_now(account).unwrap().fetched, 1);
    assert_eq!(inbox.count(Some(account)).unwrap(), 1);
}
