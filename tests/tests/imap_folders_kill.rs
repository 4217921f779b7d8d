//! Crashes with an archive folder: a collector process (`collect_once`) moving collected mail
//! to `Archive` is killed with SIGKILL at random moments and started again while mail keeps
//! arriving. After every kill no message is missing from the inbox, INBOX and the archive at
//! once, and none is in the inbox twice; after a final run to completion every message is in
//! the inbox exactly once, INBOX is empty and the archive holds each message exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod collector_support;

use collector_support::kill::{collect_once, Rng};
use collector_support::*;
use mail_settings_core::imap::{self, ImapOptions};
use mail_settings_core::store::Store;
use mail_settings_core::{Protocol, SecureConnectionType};
use mail_settings_tests::{lmtp_deliver, servers, unique_mailbox};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Message-IDs in the Maildir++ folder `.Archive` of `mailbox`.
fn archive_ids(mailbox: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for d in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(maildir(mailbox).join(".Archive").join(d)) else {
            continue;
        };
        for e in entries.flatten() {
            let raw = std::fs::read(e.path()).unwrap_or_default();
            let text = String::from_utf8_lossy(&raw);
            if let Some(id) = text
                .lines()
                .take_while(|l| !l.is_empty())
                .find_map(|l| l.strip_prefix("Message-ID:"))
            {
                *out.entry(id.trim().trim_matches(['<', '>']).to_owned())
                    .or_insert(0) += 1;
            }
        }
    }
    out
}

#[test]
fn archiving_survives_sigkill() {
    let mut rng = Rng::from_env();
    let seed = rng.seed();
    let mut below = |n: u64| rng.below(n);
    let mailbox = unique_mailbox("arckill");
    let tag = format!("ak-{}", mailbox.split('@').next().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("settings.db");
    let account = {
        let store = Store::open(&db).unwrap();
        let id = create_account(
            &store,
            Protocol::Imap,
            &mailbox,
            false,
            Some(SecureConnectionType::Ssl),
            None,
        );
        let stored = store.get_incoming(id).unwrap();
        let mut form = stored.record;
        form.archive_folder = Some("Archive".into());
        store.update_incoming(id, stored.version, &form).unwrap();
        let acc = store.incoming_account(id).unwrap();
        let mut s = imap::connect(
            &acc,
            &servers().credentials_for(&mailbox),
            &ImapOptions::default(),
        )
        .unwrap();
        s.create_mailbox("Archive").unwrap();
        s.logout().unwrap();
        id
    };
    let mut expected = Vec::new();
    let mut next = 0;
    let mut deliver = |expected: &mut Vec<String>, n: usize| {
        for _ in 0..n {
            lmtp_deliver(
                "sender@example.test",
                &mailbox,
                &message(&tag, next, 8_000 + 4_000 * (next % 4)),
            );
            expected.push(message_id(&tag, next));
            next += 1;
        }
    };
    deliver(&mut expected, 30);
    let mut during = 0;
    // Kills at random moments within how long a run takes on this machine: the window
    // shrinks when a run ends before its kill (a fast machine) and grows when one is killed.
    let mut window: u64 = 400;
    for _ in 0..20 {
        let delay = 5 + below(window);
        let mut child = collect_once(&db, account, &mailbox).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            during += 1;
            let _ = child.wait();
            window = (window + window / 4).min(2_000);
        } else {
            window = (delay * 3 / 4).max(10);
            // Finished before the kill: say how (a run that fails at once never lands a kill).
            let out = child.wait_with_output().unwrap();
            println!(
                "run ended before the kill at {delay} ms: {} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let store = Arc::new(Store::open(&db).unwrap());
        let mut on_server = server_ids(&mailbox);
        for (k, v) in archive_ids(&mailbox) {
            *on_server.entry(k).or_insert(0) += v;
        }
        assert_none_lost(
            &inbox_ids(&store, account),
            &on_server,
            &expected,
            &format!("after a kill at {delay} ms (seed {seed})"),
        );
        deliver(&mut expected, 4 + below(8) as usize);
    }
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
    assert!(done, "the final runs did not finish (seed {seed})");
    let store = Arc::new(Store::open(&db).unwrap());
    assert_exactly_once(&inbox_ids(&store, account), &expected, "archive kill");
    let inbox_left = server_ids(&mailbox);
    assert!(inbox_left.is_empty(), "left in INBOX: {inbox_left:?}");
    let archived = archive_ids(&mailbox);
    assert_eq!(archived.len(), expected.len(), "seed {seed}");
    assert!(
        archived.values().all(|n| *n == 1),
        "archived twice (seed {seed}): {archived:?}"
    );
    println!(
        "{during} SIGKILLs during a run; {} messages, each stored once and archived once",
        expected.len()
    );
    assert!(
        during >= 5,
        "only {during} kills landed during a run (seed {seed})"
    );
}
