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
    series_on(
        &postgres_support::sqlite_file_store(),
        protocol,
        keep,
        security,
        offsets_per_direction,
    )
}

/// The series with the store on PostgreSQL (the test server's); `None` when it does not answer
/// (with `MS_REQUIRE_POSTGRES=1` the test fails instead).
fn series_on_postgres(protocol: Protocol, keep: bool, offsets_per_direction: u64) -> Option<usize> {
    let store = postgres_support::postgres_store(&format!("faults {protocol} {keep}"))?;
    Some(series_on(
        &store,
        protocol,
        keep,
        None,
        offsets_per_direction,
    ))
}

fn series_on(
    store: &postgres_support::TestStore,
    protocol: Protocol,
    keep: bool,
    security: Option<SecureConnectionType>,
    offsets_per_direction: u64,
) -> usize {
    let context = format!("{} {protocol} keep={keep} {security:?}", store.backend());
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
    let store: Arc<Store> = Arc::clone(store);
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
    let clean = proxy.connections().last().unwrap().clone();
    assert!(
        !clean.cut && clean.up > 0 && clean.down > 0,
        "{context}: {clean:?}"
    );

    let mut cuts = 0;
    let mut failed_runs = 0;
    let mut phases = std::collections::BTreeMap::<String, usize>::new();
    for direction in [Direction::Up, Direction::Down] {
        let total = match direction {
            Direction::Up => clean.up,
            Direction::Down => clean.down,
        };
        for j in 0..offsets_per_direction {
            let after = j * total / offsets_per_direction + (j * 7) % 5;
            deliver(&mut expected, 3);
            let before = proxy.connections().len();
            proxy.cut_next(Cut::At { direction, after });
            let result = collector.check_now(account);
            proxy.clear();
            let conns = proxy.connections();
            let fired = conns[before..].iter().any(|c| c.cut);
            for c in &conns[before..] {
                if let Some(p) = &c.cut_during {
                    *phases.entry(p.clone()).or_insert(0) += 1;
                }
            }
            if fired {
                // (A cut after the last byte of a session can leave the run whole.)
                cuts += 1;
                if result.is_err() {
                    failed_runs += 1;
                }
            }
            assert_none_lost(
                &inbox_ids(&store, account),
                &server_ids(&mailbox),
                &expected,
                &format!("{context} after a cut {direction:?} at byte {after}"),
            );
        }
    }

    // Cuts during each command of a session, and in its answer (after 0 bytes: the server
    // acted on it and the client never heard back).
    let mut commands: Vec<(&str, usize)> = match protocol {
        Protocol::Imap => vec![
            ("LOGIN", 1),
            (if keep { "EXAMINE" } else { "SELECT" }, 1),
            ("UID FETCH", 1),
            ("UID FETCH", 2),
            ("LOGOUT", 1),
        ],
        _ => vec![
            ("AUTH", 1),
            ("LIST", 1),
            ("UIDL", 1),
            ("RETR", 1),
            ("RETR", 2),
            ("QUIT", 1),
        ],
    };
    if !keep {
        match protocol {
            Protocol::Imap => commands.extend([("UID STORE", 1), ("UID EXPUNGE", 1)]),
            _ => commands.extend([("DELE", 1), ("DELE", 2)]),
        }
    }
    if security.is_none() {
        for (verb, nth) in &commands {
            for (direction, after) in [
                (Direction::Up, 0),
                (Direction::Down, 0),
                (Direction::Down, 7),
                (Direction::Down, 40),
            ] {
                deliver(&mut expected, 3);
                let before = proxy.connections().len();
                proxy.cut_next(Cut::During {
                    verb: (*verb).to_owned(),
                    nth: *nth,
                    direction,
                    after,
                });
                let result = collector.check_now(account);
                proxy.clear();
                let conns = proxy.connections();
                let fired = conns[before..].iter().any(|c| c.cut);
                // A command is always sent, so a cut in it or right at its answer always
                // happens; further into the answer only if the answer is that long.
                assert!(
                    fired || after > 0,
                    "{context}: the run sent no {verb} #{nth} to cut ({result:?}); sent: {:?}",
                    conns[before..]
                        .iter()
                        .map(|c| c.verbs.clone())
                        .collect::<Vec<_>>()
                );
                if !fired {
                    continue;
                }
                cuts += 1;
                for c in &conns[before..] {
                    if let Some(p) = &c.cut_during {
                        *phases.entry(p.clone()).or_insert(0) += 1;
                    }
                }
                assert_none_lost(
                    &inbox_ids(&store, account),
                    &server_ids(&mailbox),
                    &expected,
                    &format!("{context} after a cut {direction:?} during {verb} #{nth} (+{after})"),
                );
            }
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
    if security.is_none() {
        // In clear text the cuts are known to have hit every step of a session.
        for (verb, _) in &commands {
            assert!(
                phases.contains_key(*verb),
                "{context}: no cut during {verb}: {phases:?}"
            );
        }
        // Keep copy: the server was never asked to change anything.
        if keep {
            let sent: std::collections::BTreeSet<String> = proxy
                .connections()
                .iter()
                .flat_map(|c| c.verbs.keys().cloned())
                .collect();
            for forbidden in [
                "DELE",
                "UID STORE",
                "UID EXPUNGE",
                "STORE",
                "EXPUNGE",
                "SELECT",
            ] {
                assert!(
                    !sent.contains(forbidden),
                    "{context}: sent {forbidden}: {sent:?}"
                );
            }
        }
    }
    println!("{context}: cuts by client command: {phases:?}");
    println!(
        "{context}: {cuts} faults injected ({failed_runs} runs cut short) over {} offsets per direction (clean session: {} bytes up, {} down); {} messages, each stored once",
        offsets_per_direction,
        clean.up,
        clean.down,
        expected.len()
    );
    let _ = mail_settings_tests::seed::remove_mailbox(&mailbox);
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

/// The same cuts with the store on PostgreSQL: the group commit (message, ledger, journal,
/// fence) is one PostgreSQL transaction, and what a cut leaves is the same.
#[test]
fn imap_cuts_without_keep_copy_on_postgres() {
    if let Some(n) = series_on_postgres(Protocol::Imap, false, 40) {
        assert!(n >= 60, "only {n} cuts happened");
    }
}

#[test]
fn pop3_cuts_keep_copy_on_postgres() {
    if let Some(n) = series_on_postgres(Protocol::Pop3, true, 40) {
        assert!(n >= 60, "only {n} cuts happened");
    }
}

#[test]
fn cuts_over_tls() {
    let mut n = 0;
    for protocol in [Protocol::Imap, Protocol::Pop3] {
        n += series(protocol, false, Some(SecureConnectionType::Ssl), 20);
    }
    assert!(n >= 60, "only {n} cuts happened");
}
