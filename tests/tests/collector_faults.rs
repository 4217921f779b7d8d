//! Fault injection: a TCP proxy between the collector and Dovecot cuts the connection after
//! exactly N bytes, in either direction, with N spread over a whole session (greeting, login,
//! listing, fetching, `UID STORE`/`UID EXPUNGE`, `DELE`, `QUIT`/`LOGOUT`), for IMAP and POP3
//! with keep copy on and off, in clear text and over TLS. Mail keeps arriving between runs.
//!
//! After every cut: no message is missing from both the inbox and the server, and none is in
//! the inbox twice. After each series, clean runs finish the job: every message is in the
//! inbox exactly once, and the server holds all of them (keep copy) or none.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod collector_support;

use collector_support::fault_proxy::{Cut, Direction, FaultProxy};
use collector_support::*;
use mail_settings_core::store::Store;
use mail_settings_core::{Protocol, SecureConnectionType};
use mail_settings_tests::{lmtp_deliver, servers, unique_mailbox};
use std::sync::Arc;

/// Runs one series; returns the number of cuts that happened.
fn series(
    protocol: Protocol,
    keep: bool,
    security: Option<SecureConnectionType>,
    offsets_per_direction: u64,
) -> usize {
    let context = format!("{protocol} keep={keep} {security:?}");
    let service = if protocol == Protocol::Imap {
        "IMAP"
    } else {
        "POP3"
    };
    let key = if security == Some(SecureConnectionType::Ssl) {
        format!("MS_{service}S_PORT")
    } else {
        format!("MS_{service}_PORT")
    };
    let proxy = FaultProxy::start(servers().port(&key));
    let mailbox = unique_mailbox("faults");
    let tag = format!("f-{}", mailbox.split('@').next().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path().join("settings.db")).unwrap());
    let account = create_account(&store, protocol, &mailbox, keep, security, Some(proxy.port));
    let collector = collector(&store, &mailbox);
    let mut expected = Vec::new();
    let mut next = 0;
    let mut deliver = |expected: &mut Vec<String>, n: usize| {
        for _ in 0..n {
            lmtp_deliver(
                "sender@example.test",
                &mailbox,
                &message(&tag, next, 2500 + 700 * (next % 4)),
            );
            expected.push(message_id(&tag, next));
            next += 1;
        }
    };

    // A clean session with the shape of the ones to come, to learn its length.
    deliver(&mut expected, 3);
    let r = collector.check_now(account).unwrap();
    assert_eq!(r.fetched, 3, "{context}");
    let clean = *proxy.connections().last().unwrap();
    assert!(
        !clean.cut && clean.up > 0 && clean.down > 0,
        "{context}: {clean:?}"
    );

    let mut cuts = 0;
    for direction in [Direction::Up, Direction::Down] {
        let total = match direction {
            Direction::Up => clean.up,
            Direction::Down => clean.down,
        };
        for j in 0..offsets_per_direction {
            let after = j * total / offsets_per_direction + (j * 7) % 5;
            deliver(&mut expected, 2);
            let before = proxy.connections().len();
            proxy.cut_next(Cut { direction, after });
            let result = collector.check_now(account);
            proxy.clear();
            let conns = proxy.connections();
            let fired = conns[before..].iter().any(|c| c.cut);
            if fired {
                cuts += 1;
                assert!(
                    result.is_err(),
                    "{context}: cut {direction:?} after {after} bytes and the run succeeded: {result:?}"
                );
            }
            assert_none_lost(
                &inbox_ids(&store, account),
                &server_ids(&mailbox),
                &expected,
                &format!("{context} after a cut {direction:?} at byte {after}"),
            );
        }
    }

    // Clean runs finish the job (a POP3 maildrop may stay locked a moment after a cut).
    let mut done = false;
    for _ in 0..10 {
        match collector.check_now(account) {
            Ok(r) if r.pending == 0 => {
                done = true;
                break;
            }
            _ => std::thread::sleep(std::time::Duration::from_millis(300)),
        }
    }
    assert!(done, "{context}: clean runs did not finish");
    let inbox = inbox_ids(&store, account);
    assert_exactly_once(&inbox, &expected, &context);
    let server = server_ids(&mailbox);
    if keep {
        let mut on_server: Vec<String> = server.keys().cloned().collect();
        on_server.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(
            on_server, want,
            "{context}: keep copy leaves every message on the server"
        );
        assert!(server.values().all(|n| *n == 1));
    } else {
        assert!(
            server.is_empty(),
            "{context}: left on the server: {server:?}"
        );
    }
    let r = collector.check_now(account).unwrap();
    assert_eq!((r.fetched, r.duplicates), (0, 0), "{context}");
    println!(
        "{context}: {cuts} faults injected over {} offsets per direction (clean session: {} bytes up, {} down); {} messages, each stored once",
        offsets_per_direction,
        clean.up,
        clean.down,
        expected.len()
    );
    cuts
}

#[test]
fn imap_cuts_keep_copy() {
    let n = series(Protocol::Imap, true, None, 60);
    assert!(n >= 100, "only {n} cuts happened");
}

#[test]
fn imap_cuts_without_keep_copy() {
    let n = series(Protocol::Imap, false, None, 60);
    assert!(n >= 100, "only {n} cuts happened");
}

#[test]
fn pop3_cuts_keep_copy() {
    let n = series(Protocol::Pop3, true, None, 60);
    assert!(n >= 100, "only {n} cuts happened");
}

#[test]
fn pop3_cuts_without_keep_copy() {
    let n = series(Protocol::Pop3, false, None, 60);
    assert!(n >= 100, "only {n} cuts happened");
}

#[test]
fn cuts_over_tls() {
    let mut n = 0;
    for protocol in [Protocol::Imap, Protocol::Pop3] {
        n += series(protocol, false, Some(SecureConnectionType::Ssl), 20);
    }
    assert!(n >= 60, "only {n} cuts happened");
}
