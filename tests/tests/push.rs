//! Push with IMAP IDLE against the real local Dovecot, mail delivered through the local
//! Postfix: a message arrives in the inbox within seconds although the poll interval is an
//! hour; stopping the collector while it waits in IDLE returns at once; the IDLE primitive
//! reports new mail, re-issues cleanly after its period, and stops from another thread.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod collector_support;

use collector_support::*;
use mail_settings_core::collector::{Collector, CollectorOptions};
use mail_settings_core::imap::{self, IdleEvent, IdleStop, ImapOptions};
use mail_settings_core::store::Store;
use mail_settings_core::{Protocol, SecureConnectionType};
use mail_settings_tests::{deliver, servers, unique_mailbox};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn push_account(store: &Store, mailbox: &str) -> i64 {
    let id = create_account(
        store,
        Protocol::Imap,
        mailbox,
        // Keep copy: `deliver` waits until the message is in the Maildir, which a collector
        // deleting it at once could make it miss.
        true,
        Some(SecureConnectionType::Ssl),
        None,
    );
    let stored = store.get_incoming(id).unwrap();
    let mut form = stored.record;
    form.check_interval_secs = 3600;
    form.automatic_check = true;
    form.use_push = true;
    store.update_incoming(id, stored.version, &form).unwrap();
    id
}

#[test]
fn idle_reports_new_mail_times_out_cleanly_and_stops_at_once() {
    let mailbox = unique_mailbox("idle");
    let store = Store::open_in_memory().unwrap();
    let id = push_account(&store, &mailbox);
    let acc = store.incoming_account(id).unwrap();
    let creds = servers().credentials_for(&mailbox);
    let mut s = imap::connect(&acc, &creds, &ImapOptions::default()).unwrap();
    s.examine("INBOX").unwrap();
    let stop = IdleStop::new();

    // Nothing happens: the period ends, DONE is answered, the session goes on.
    let t = Instant::now();
    assert_eq!(
        s.idle(Duration::from_secs(1), &stop).unwrap(),
        IdleEvent::Timeout
    );
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());

    // A message delivered through Postfix while waiting is reported.
    let m = mailbox.clone();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        deliver(&m, &message("idle", 0, 800));
    });
    let t = Instant::now();
    assert_eq!(
        s.idle(Duration::from_secs(60), &stop).unwrap(),
        IdleEvent::Changed
    );
    let latency = t.elapsed();
    sender.join().unwrap();
    assert!(latency < Duration::from_secs(20), "{latency:?}");
    eprintln!(
        "IDLE reported a message delivered through Postfix after {latency:?} (incl. 0.5 s pause)"
    );
    s.noop().unwrap();

    // Stopped from another thread while blocked: returns at once, DONE and LOGOUT sent.
    let st = stop.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        st.stop();
    });
    let t = Instant::now();
    assert_eq!(
        s.idle(Duration::from_secs(600), &stop).unwrap(),
        IdleEvent::Stopped
    );
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    stopper.join().unwrap();
    s.logout().unwrap();
}

#[test]
fn a_message_arrives_by_push_within_seconds_and_stop_ends_idle_promptly() {
    let mailbox = unique_mailbox("push");
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path().join("s.db")).unwrap());
    let id = push_account(&store, &mailbox);
    let mut o = CollectorOptions::default();
    o.timeouts = mail_settings_core::net::Timeouts::uniform(Duration::from_secs(10));
    let collector = Collector::with_options(
        store.clone(),
        Arc::new(servers().credentials_for(&mailbox)),
        o,
    );
    collector.start().unwrap();
    // The first (scheduled) run happens at once; then only push can bring mail in an hour.
    let t = Instant::now();
    while collector.status(id).unwrap().runs < 1 {
        assert!(t.elapsed() < Duration::from_secs(20), "no first run");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Give the waiter a moment to log in and enter IDLE.
    std::thread::sleep(Duration::from_millis(700));
    let mut latencies = Vec::new();
    for i in 0..3 {
        let t = Instant::now();
        deliver(&mailbox, &message("push", i, 900));
        let delivered = t.elapsed();
        while inbox_ids(&store, id).len() < i + 1 {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "message {i} did not arrive by push within 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        latencies.push((delivered, t.elapsed()));
    }
    eprintln!(
        "push: (SMTP accepted and stored by Dovecot, in the inbox) per message: {latencies:?}"
    );
    assert_exactly_once(
        &inbox_ids(&store, id),
        &(0..3).map(|i| message_id("push", i)).collect::<Vec<_>>(),
        "push",
    );
    let t = Instant::now();
    collector.stop();
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "stop took {:?}",
        t.elapsed()
    );
}
