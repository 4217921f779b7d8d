//! One running collector node with push, for the push-with-leases test
//! (`tests/tests/leases.rs`):
//!
//! `collect_node_push STORE OWNER TTL_MS MAX_WAITING` with the mailboxes' password in
//! `MS_MAIL_PASSWORD`; `STORE` is an SQLite file's path or a `postgres://` URL. Starts the
//! collector (`Collector::start`) with leases for node `OWNER` (ttl `TTL_MS`) and at most
//! `MAX_WAITING` accounts waiting in IDLE, and prints `waiting ID,ID,…` each time the set of
//! accounts it waits on changes (`waiting -` for none). Runs until killed, or stops cleanly
//! (giving its leases back) when its standard input is closed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)]

use mail_settings_core::collector::lease::LeaseOptions;
use mail_settings_core::collector::{Collector, CollectorOptions};
use mail_settings_core::net::Timeouts;
use mail_settings_core::store::Store;
use mail_settings_core::{Credential, InMemoryCredentials};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: collect_node_push STORE OWNER TTL_MS MAX_WAITING (password in MS_MAIL_PASSWORD)");
        std::process::exit(64);
    }
    let password = std::env::var("MS_MAIL_PASSWORD").expect("MS_MAIL_PASSWORD");
    let store = Arc::new(Store::open(&args[1]).expect("open the store"));
    let ttl = Duration::from_millis(args[3].parse().expect("TTL_MS"));
    let mut credentials = InMemoryCredentials::new();
    for a in store.list_incoming().expect("accounts") {
        let id = a.record.credential.clone().expect("credential id");
        credentials = credentials.with(id.as_str(), Credential::password(&id, &password));
    }
    let mut options = CollectorOptions::default();
    options.timeouts = Timeouts::uniform(Duration::from_secs(10));
    options.lease = Some(LeaseOptions::new(args[2].clone(), ttl));
    options.max_waiting_accounts = args[4].parse().expect("MAX_WAITING");
    options.rescan_interval = Duration::from_secs(1);
    options.idle_period = Duration::from_secs(60);
    let collector = Collector::with_options(store, Arc::new(credentials), options);
    collector.start().expect("start the collector");
    let closed = Arc::new(AtomicBool::new(false));
    {
        let closed = closed.clone();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
            closed.store(true, Ordering::SeqCst);
        });
    }
    let mut last = None;
    let mut out = std::io::stdout();
    while !closed.load(Ordering::SeqCst) {
        let now = collector.waiting();
        if last.as_ref() != Some(&now) {
            let text = if now.is_empty() {
                "-".to_owned()
            } else {
                now.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            };
            writeln!(out, "waiting {text}").unwrap();
            out.flush().unwrap();
            last = Some(now);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    collector.stop();
}
