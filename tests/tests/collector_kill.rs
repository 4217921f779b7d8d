//! Crashes: a collector process (`collect_once`) is killed with SIGKILL at random moments
//! and started again, for IMAP and POP3 with keep copy on and off, while mail keeps arriving.
//! SQLite's journal and the collector's commit-before-change order must leave, after every
//! kill, no message missing from both the inbox and the server and none in the inbox twice;
//! after a final run to completion, every message is in the inbox exactly once and the server
//! holds all of them (keep copy) or none. The collection journal agrees with the inbox after
//! every kill: a `stored` entry exists for a message if and only if it was committed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod collector_support;

use collector_support::kill::{collect_once, Rng};
use collector_support::*;
use mail_settings_core::store::Store;
use mail_settings_core::{Protocol, SecureConnectionType};
use mail_settings_tests::{lmtp_deliver, unique_mailbox};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The journal's `stored` entries name exactly the inbox's messages (an entry is written in
/// the same transaction as its message: never one without the other).
fn assert_journal_agrees(store: &Arc<Store>, account: i64, context: &str) {
    use mail_settings_core::collector::MessageOutcome;
    use mail_settings_core::journal::{self, JournalFilters};
    let inbox = inbox_ids(store, account);
    let mut journaled = std::collections::BTreeMap::<String, usize>::new();
    let filters = JournalFilters {
        outcome: Some(MessageOutcome::Stored),
        ..JournalFilters::default()
    };
    let mut page = 1;
    loop {
        let p = journal::page(store, &filters, page, 1000).unwrap();
        for e in &p.rows {
            *journaled
                .entry(e.message_id.clone().unwrap_or_default())
                .or_default() += 1;
        }
        if u64::from(page) >= p.page_count() {
            break;
        }
        page += 1;
    }
    assert_eq!(journaled, inbox, "{context}: journal and inbox disagree");
}

/// Returns (kills while the process was running, kills after it had finished).
fn series(protocol: Protocol, keep: bool, kills: usize, rng: &mut Rng) -> (usize, usize) {
    let context = format!("{protocol} keep={keep}");
    let mailbox = unique_mailbox("kill");
    let tag = format!("k-{}", mailbox.split('@').next().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("settings.db");
    let account = {
        let store = Store::open(&db).unwrap();
        create_account(
            &store,
            protocol,
            &mailbox,
            keep,
            Some(SecureConnectionType::Ssl),
            None,
        )
    };
    let mut expected = Vec::new();
    let mut next = 0;
    let mut deliver = |expected: &mut Vec<String>, n: usize| {
        for _ in 0..n {
            let size = 20_000 + 15_000 * (next % 5);
            lmtp_deliver("sender@example.test", &mailbox, &message(&tag, next, size));
            expected.push(message_id(&tag, next));
            next += 1;
        }
    };
    deliver(&mut expected, 40);

    // How long a whole run takes, to spread the kills over it: time one run on a copy.
    let probe_dir = tempfile::tempdir().unwrap();
    let probe_db = probe_dir.path().join("probe.db");
    let probe_account = {
        let store = Store::open(&probe_db).unwrap();
        create_account(
            &store,
            protocol,
            &mailbox,
            true,
            Some(SecureConnectionType::Ssl),
            None,
        )
    };
    let started = Instant::now();
    let out = collect_once(&probe_db, probe_account, &mailbox)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let full = started.elapsed().as_millis() as u64;
    let started = Instant::now();
    let out = collect_once(&probe_db, probe_account, &mailbox)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let startup = started.elapsed().as_millis() as u64;
    let per_message = full.saturating_sub(startup) / 40 + 1;

    let (mut running, mut finished) = (0, 0);
    for _ in 0..kills {
        // Kill somewhere in the run to come: its length is about the start-up plus the
        // messages still to fetch.
        let pending = {
            let store = Arc::new(Store::open(&db).unwrap());
            let inbox = inbox_ids(&store, account);
            server_ids(&mailbox)
                .keys()
                .filter(|id| !inbox.contains_key(*id))
                .count() as u64
        };
        let expected_ms = startup + pending * per_message;
        let delay = rng.below(expected_ms * 4 / 5 + 1);
        let mut child = collect_once(&db, account, &mailbox).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            running += 1;
        } else {
            finished += 1;
        }
        let _ = child.wait();
        {
            let store = Arc::new(Store::open(&db).unwrap());
            assert_none_lost(
                &inbox_ids(&store, account),
                &server_ids(&mailbox),
                &expected,
                &format!("{context} after a kill at {delay} ms"),
            );
            assert_journal_agrees(
                &store,
                account,
                &format!("{context} after a kill at {delay} ms"),
            );
        }
        deliver(&mut expected, 2 + rng.below(7) as usize);
    }

    // Run to completion (a POP3 maildrop may stay locked a moment after a kill).
    let mut done = false;
    for _ in 0..10 {
        let out = collect_once(&db, account, &mailbox).output().unwrap();
        if out.status.success() {
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            if report["pending"] == 0 {
                done = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(done, "{context}: the final runs did not finish");
    let store = Arc::new(Store::open(&db).unwrap());
    assert_exactly_once(&inbox_ids(&store, account), &expected, &context);
    assert_journal_agrees(&store, account, &context);
    let server = server_ids(&mailbox);
    if keep {
        assert_eq!(server.len(), expected.len(), "{context}");
    } else {
        assert!(
            server.is_empty(),
            "{context}: left on the server: {server:?}"
        );
    }
    println!(
        "{context}: {running} SIGKILLs during a run ({finished} runs had already finished), a run of 40 messages took {full} ms, start-up {startup} ms; {} messages, each stored once",
        expected.len()
    );
    let _ = mail_settings_tests::seed::remove_mailbox(&mailbox);
    (running, finished)
}

fn run(protocol: Protocol, keep: bool) {
    let mut rng = Rng::from_env();
    let seed = rng.seed();
    let (running, _) = series(protocol, keep, 20, &mut rng);
    assert!(
        running >= 8,
        "only {running} kills landed during a run (seed {seed})"
    );
}

#[test]
fn imap_keep_copy_survives_sigkill() {
    run(Protocol::Imap, true);
}

#[test]
fn imap_without_keep_copy_survives_sigkill() {
    run(Protocol::Imap, false);
}

#[test]
fn pop3_keep_copy_survives_sigkill() {
    run(Protocol::Pop3, true);
}

#[test]
fn pop3_without_keep_copy_survives_sigkill() {
    run(Protocol::Pop3, false);
}
