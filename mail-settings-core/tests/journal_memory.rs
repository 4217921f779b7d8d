//! The collection journal against the in-memory server ([`MemoryServer`]), for what a real
//! server will not do on cue: a refusal to deliver a message, and a connection cut while one
//! is on the wire. The same journal against real Dovecot is in `tests/tests/journal.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::collector::{
    Collector, CollectorOptions, MailSource, MemoryProtocol, MemoryServer, MessageOutcome,
};
use mail_settings_core::journal::{
    self, parse_time, AccountFilter, JournalFilters, RangeEnd, PRUNE_BATCH,
};
use mail_settings_core::report::{CsvOptions, Lang};
use mail_settings_core::store::Store;
use mail_settings_core::validate::validate_document;
use mail_settings_core::{IncomingAccount, IncomingAccountForm, Protocol, SettingsDocument};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

fn message(i: usize) -> Vec<u8> {
    format!(
        "From: Sender {i} <sender{i}@example.test>\r\n\
         To: desk@example.test\r\n\
         Subject: Ticket {i}\r\n\
         Message-ID: <j{i}@example.test>\r\n\
         \r\n\
         Body of message {i}.\r\n"
    )
    .into_bytes()
}

#[path = "support/postgres.rs"]
mod postgres_support;

use postgres_support::TestStore;

/// The set-up on both backends: SQLite, and PostgreSQL when the test server answers (its
/// database dropped with the [`TestStore`], which the loop's pattern drops last).
fn setups(test: &str, keep: bool, journal: bool) -> Vec<(TestStore, i64, MemoryServer, Collector)> {
    postgres_support::stores(test)
        .into_iter()
        .map(|s| {
            let (account, server, collector) = setup(&s, keep, journal);
            (s, account, server, collector)
        })
        .collect()
}

fn setup(store: &Arc<Store>, keep: bool, journal: bool) -> (i64, MemoryServer, Collector) {
    let store = Arc::clone(store);
    let account = store
        .create_incoming(&IncomingAccountForm {
            name: "Help desk".to_owned(),
            host: "mail.example.test".to_owned(),
            protocol: Some(Protocol::Imap),
            credential: Some("c".to_owned()),
            keep_copy_on_server: keep,
            ..IncomingAccountForm::default()
        })
        .unwrap()
        .id;
    let server = MemoryServer::new(MemoryProtocol::Imap);
    let s2 = server.clone();
    let mut o = CollectorOptions::default();
    o.batch_messages = 3;
    o.commit_messages = 2;
    o.journal = journal;
    let collector = Collector::with_sources(
        store.clone(),
        Arc::new(move |_: &IncomingAccount| Ok(Box::new(s2.source()) as Box<dyn MailSource>)),
        o,
    );
    (account, server, collector)
}

fn all(store: &Store, filters: &JournalFilters) -> Vec<journal::JournalEntry> {
    journal::page(store, filters, 1, 1000).unwrap().rows
}

fn outcome(o: MessageOutcome) -> JournalFilters {
    JournalFilters {
        outcome: Some(o),
        ..JournalFilters::default()
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn stored_duplicate_and_refused_entries_with_one_entry_per_repeated_refusal() {
    for (store, account, server, collector) in setups(
        "stored_duplicate_and_refused_entries_with_one_entry_per_repeated_refusal",
        true,
        true,
    ) {
        for i in 0..3 {
            server.add(message(i));
        }
        server.add(message(0)); // the same message under another UID: a duplicate
        let refused = server.add(message(9));
        server.refuse(refused);

        let r = collector.check_now(account).unwrap();
        assert_eq!((r.fetched, r.duplicates, r.refused), (3, 1, 1), "{r:?}");

        let stored = all(&store, &outcome(MessageOutcome::Stored));
        assert_eq!(stored.len(), 3, "{stored:?}");
        for e in &stored {
            assert_eq!(e.folder, "INBOX");
            assert!(e.server_id.starts_with("UID "), "{e:?}");
            assert_eq!(e.account_name, "Help desk");
            assert!(e.size.unwrap() > 50);
            assert!(e.subject.as_deref().unwrap().starts_with("Ticket "));
            assert!(e.message_id.as_deref().unwrap().contains("example.test"));
        }
        let dup = all(&store, &outcome(MessageOutcome::Duplicate));
        assert_eq!(dup.len(), 1);
        assert_eq!(dup[0].server_id, "UID 4");
        assert_eq!(dup[0].message_id.as_deref(), Some("j0@example.test"));
        let refusals = all(&store, &outcome(MessageOutcome::Refused));
        assert_eq!(refusals.len(), 1, "{refusals:?}");
        assert_eq!(refusals[0].server_id, format!("UID {refused}"));
        assert_eq!(refusals[0].category.as_deref(), Some("protocol"));
        assert!(refusals[0].reason.contains("refused"), "{refusals:?}");
        assert_eq!(refusals[0].seen_count, 1);

        // Refused again on the next two runs: still one entry, seen three times.
        collector.check_now(account).unwrap();
        collector.check_now(account).unwrap();
        let refusals = all(&store, &outcome(MessageOutcome::Refused));
        assert_eq!(refusals.len(), 1, "{refusals:?}");
        assert_eq!(refusals[0].seen_count, 3);
        assert_eq!(all(&store, &JournalFilters::default()).len(), 5);

        // Once the server delivers it, its outcome changes: a new `stored` entry.
        server.allow(refused);
        // (refused three times it is skipped for good until retry_skipped)
        collector.retry_skipped(account).unwrap();
        let r = collector.check_now(account).unwrap();
        assert_eq!(r.fetched, 1, "{r:?}");
        assert_eq!(all(&store, &outcome(MessageOutcome::Stored)).len(), 4);
        assert_eq!(all(&store, &JournalFilters::default()).len(), 6);

        // Runs are journaled with their counts.
        let runs = journal::runs(&store, Some(account), 10).unwrap();
        assert_eq!(runs.len(), 4);
        let first = runs.last().unwrap();
        assert_eq!(
            (first.listed, first.stored, first.duplicates, first.refused),
            (5, 3, 1, 1),
            "{first:?}"
        );
        assert!(first.ended_at.is_some() && first.error_category.is_none());
    }
}

#[test]
fn a_cut_connection_is_a_failed_entry_and_the_run_keeps_its_error() {
    for (store, account, server, collector) in setups(
        "a_cut_connection_is_a_failed_entry_and_the_run_keeps_its_error",
        true,
        true,
    ) {
        server.add(message(0));
        let bad = server.add(message(1));
        server.poison(bad);
        assert!(collector.check_now(account).is_err());
        let failed = all(&store, &outcome(MessageOutcome::Failed));
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0].server_id, format!("UID {bad}"));
        assert_eq!(failed[0].category.as_deref(), Some("connect"));
        assert!(failed[0].reason.contains("connection"), "{failed:?}");
        let runs = journal::runs(&store, Some(account), 10).unwrap();
        assert_eq!(runs[0].error_category.as_deref(), Some("connect"));
        assert!(runs[0].error_message.is_some());
        // Entry iff committed: the message stored before the cut has its entry.
        assert_eq!(all(&store, &outcome(MessageOutcome::Stored)).len(), 1);
    }
}

#[test]
fn filters_pages_and_exports() {
    for (store, account, server, collector) in setups("filters_pages_and_exports", true, true) {
        for i in 0..70 {
            server.add(message(i));
        }
        collector.check_now(account).unwrap();
        let f = JournalFilters {
            account: Some(AccountFilter::Name("  help DESK ".into())),
            ..JournalFilters::default()
        };
        let p1 = journal::page(&store, &f, 1, 30).unwrap();
        assert_eq!((p1.rows.len(), p1.total, p1.page_count()), (30, 70, 3));
        let p3 = journal::page(&store, &f, 3, 30).unwrap();
        assert_eq!(p3.rows.len(), 10);
        // Newest first, no row on two pages.
        let p2 = journal::page(&store, &f, 2, 30).unwrap();
        let mut ids: Vec<i64> = [&p1, &p2, &p3]
            .iter()
            .flat_map(|p| p.rows.iter().map(|r| r.id))
            .collect();
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
        ids.dedup();
        assert_eq!(ids.len(), 70);

        let unknown = JournalFilters {
            account: Some(AccountFilter::Name("nobody".into())),
            ..JournalFilters::default()
        };
        assert_eq!(journal::page(&store, &unknown, 1, 30).unwrap().total, 0);
        let by_id = JournalFilters {
            account: Some(AccountFilter::Id(account)),
            outcome: Some(MessageOutcome::Refused),
            ..JournalFilters::default()
        };
        assert_eq!(journal::page(&store, &by_id, 1, 30).unwrap().total, 0);
        let future = JournalFilters {
            since: parse_time("2999-01-01", RangeEnd::Since),
            ..JournalFilters::default()
        };
        assert_eq!(journal::page(&store, &future, 1, 30).unwrap().total, 0);
        let past = JournalFilters {
            until: parse_time("2000-01-01T00:00:00Z", RangeEnd::Until),
            ..JournalFilters::default()
        };
        assert_eq!(journal::page(&store, &past, 1, 30).unwrap().total, 0);
        let today = JournalFilters {
            since: Some(now() - 3600),
            until: Some(now() + 3600),
            ..JournalFilters::default()
        };
        assert_eq!(journal::page(&store, &today, 1, 30).unwrap().total, 70);

        let mut csv = Vec::new();
        assert_eq!(
            journal::write_csv(&store, &f, Lang::PtBr, CsvOptions::default(), &mut csv).unwrap(),
            70
        );
        let csv = String::from_utf8(csv).unwrap();
        let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 71);
        assert!(
            lines[0].starts_with("ID,Horário,Conta,Pasta"),
            "{}",
            lines[0]
        );
        assert!(lines[1].contains(",armazenada,"), "{}", lines[1]);

        let mut html = Vec::new();
        journal::write_html(&store, &f, Lang::En, SystemTime::now(), &mut html).unwrap();
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains("<title>Collection journal</title>"));
        assert!(html.contains("Account: help DESK") || html.contains("Account: Help desk"));
        assert_eq!(html.matches("<tr><td").count(), 70);
    }
}

#[test]
fn pruning_the_journal_never_makes_a_message_be_fetched_again() {
    for (store, account, server, collector) in setups(
        "pruning_the_journal_never_makes_a_message_be_fetched_again",
        true,
        true,
    ) {
        for i in 0..5 {
            server.add(message(i));
        }
        assert_eq!(collector.check_now(account).unwrap().fetched, 5);
        assert_eq!(all(&store, &JournalFilters::default()).len(), 5);
        // 91 days later, the 90-day journal is pruned; the ledger is not.
        let deleted = journal::prune(&store, now() + 91 * 86_400, PRUNE_BATCH).unwrap();
        assert_eq!(deleted, 5);
        assert!(all(&store, &JournalFilters::default()).is_empty());
        let r = collector.check_now(account).unwrap();
        assert_eq!((r.fetched, r.already_stored), (0, 5), "{r:?}");
        for uid in 1..=5 {
            assert_eq!(server.fetch_count(uid), 1, "UID {uid} fetched once");
        }
        // A bounded batch: at most `batch` entries a call.
        server.add(message(7));
        server.add(message(8));
        collector.check_now(account).unwrap();
        assert_eq!(journal::prune(&store, now() + 91 * 86_400, 1).unwrap(), 1);
        assert_eq!(all(&store, &JournalFilters::default()).len(), 1);
    }
}

#[test]
fn retention_days_validate_and_round_trip_through_documents() {
    for store in
        postgres_support::stores("retention_days_validate_and_round_trip_through_documents")
    {
        assert_eq!(journal::retention_days(&store).unwrap(), 90);
        for bad in [0, 3651] {
            let doc = SettingsDocument {
                journal_retention_days: Some(bad),
                ..SettingsDocument::default()
            };
            let v = validate_document(&doc, None);
            assert!(
                v.results().iter().any(
                    |r| r.path == "journal_retention_days" && r.code.as_str() == "out_of_range"
                ),
                "{v:?}"
            );
            assert!(store.import(&doc).is_err());
        }
        let doc = SettingsDocument {
            journal_retention_days: Some(7),
            ..SettingsDocument::default()
        };
        store.import(&doc).unwrap();
        assert_eq!(journal::retention_days(&store).unwrap(), 7);
        let out = store.export().unwrap();
        assert_eq!(out.journal_retention_days, Some(7));
        let json = out.to_json();
        assert!(json.contains("\"journal_retention_days\": 7"), "{json}");
        // Left out of a document: back to the default.
        store.import(&SettingsDocument::default()).unwrap();
        assert_eq!(journal::retention_days(&store).unwrap(), 90);
        assert!(!store
            .export()
            .unwrap()
            .to_json()
            .contains("journal_retention"));
    }
}

#[test]
fn retention_setting_decides_what_is_pruned() {
    for (store, account, server, collector) in
        setups("retention_setting_decides_what_is_pruned", true, true)
    {
        server.add(message(0));
        collector.check_now(account).unwrap();
        store
            .import(&SettingsDocument {
                incoming_accounts: store.export().unwrap().incoming_accounts,
                journal_retention_days: Some(1),
                ..SettingsDocument::default()
            })
            .unwrap();
        assert_eq!(
            journal::prune(&store, now() + 3600, PRUNE_BATCH).unwrap(),
            0
        );
        assert_eq!(
            journal::prune(&store, now() + 2 * 86_400, PRUNE_BATCH).unwrap(),
            1
        );
    }
}

#[test]
fn without_the_journal_nothing_is_written() {
    for (store, account, server, collector) in
        setups("without_the_journal_nothing_is_written", true, false)
    {
        server.add(message(0));
        assert_eq!(collector.check_now(account).unwrap().fetched, 1);
        assert!(all(&store, &JournalFilters::default()).is_empty());
        assert!(journal::runs(&store, None, 10).unwrap().is_empty());
    }
}

/// A store of the previous schema (no journal tables) gains them when opened, keeping its
/// accounts, and its collector journals from then on.
#[test]
fn a_store_of_the_previous_schema_gains_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4.sqlite3");
    let account = {
        let store = Store::open(&path).unwrap();
        store
            .create_incoming(&IncomingAccountForm {
                name: "Old".into(),
                host: "mail.example.test".into(),
                protocol: Some(Protocol::Imap),
                credential: Some("c".into()),
                ..IncomingAccountForm::default()
            })
            .unwrap()
            .id
    };
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "DROP TABLE journal_entries; DROP TABLE journal_runs; DROP TABLE store_settings;
             DROP TABLE IF EXISTS collector_lease_log; DROP TABLE IF EXISTS collector_leases;
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
        c.pragma_update(None, "user_version", 4).unwrap();
    }
    let store = Arc::new(Store::open(&path).unwrap());
    assert_eq!(
        store.schema_version().unwrap(),
        mail_settings_core::store::SCHEMA_VERSION
    );
    assert_eq!(store.get_incoming(account).unwrap().record.name, "Old");
    assert_eq!(journal::retention_days(&store).unwrap(), 90);
    assert_eq!(
        journal::page(&store, &JournalFilters::default(), 1, 30)
            .unwrap()
            .total,
        0
    );
}
