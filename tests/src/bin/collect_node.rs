//! One collector node of several sharing a store, for the lease tests (`tests/tests/leases.rs`):
//!
//! `collect_node STORE OWNER TTL_MS` with the mailboxes' password in `MS_MAIL_PASSWORD`;
//! `STORE` is a store location: an SQLite file's path or a `postgres://` URL.
//! Goes over every account of the store again and again (from an offset of its own, so nodes
//! start on different accounts), each run under the account's lease (ttl `TTL_MS`): an
//! account another node holds is skipped. Prints one line per run:
//! `run ACCOUNT ok FETCHED DELETED LISTED` / `run ACCOUNT busy` / `run ACCOUNT lost` (the
//! lease was lost: nothing committed or removed after that) / `run ACCOUNT error TEXT`.
//! Exits 0 after a pass in which every account was collected and its server listed nothing,
//! or after its run in progress when its standard input is closed (the test saw every server
//! empty), or 3 after 180 s.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)]

use mail_settings_core::collector::lease::LeaseOptions;
use mail_settings_core::collector::{CollectError, Collector, CollectorOptions};
use mail_settings_core::net::Timeouts;
use mail_settings_core::store::{Store, StoreError};
use mail_settings_core::{Credential, InMemoryCredentials};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn lost(e: &CollectError) -> bool {
    match e {
        CollectError::Store(StoreError::LeaseLost { .. }) => true,
        CollectError::Interrupted { error, .. } => lost(error),
        _ => false,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: collect_node STORE OWNER TTL_MS (password in MS_MAIL_PASSWORD)");
        std::process::exit(64);
    }
    let password = std::env::var("MS_MAIL_PASSWORD").expect("MS_MAIL_PASSWORD");
    let store = Arc::new(Store::open(&args[1]).expect("open the store"));
    let owner = args[2].clone();
    let ttl = Duration::from_millis(args[3].parse().expect("TTL_MS"));
    let accounts = store.list_incoming().expect("accounts");
    let mut credentials = InMemoryCredentials::new();
    for a in &accounts {
        let id = a.record.credential.clone().expect("credential id");
        credentials = credentials.with(id.as_str(), Credential::password(&id, &password));
    }
    let mut options = CollectorOptions::default();
    options.timeouts = Timeouts::uniform(Duration::from_secs(10));
    options.batch_messages = 5;
    options.commit_messages = 2;
    options.lease = Some(LeaseOptions::new(owner.clone(), ttl));
    let collector = Collector::with_options(store, Arc::new(credentials), options);
    let start = owner.bytes().map(usize::from).sum::<usize>() % accounts.len().max(1);
    let deadline = Instant::now() + Duration::from_secs(180);
    let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let closed = closed.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
            closed.store(true, std::sync::atomic::Ordering::SeqCst);
        });
    }
    let mut out = std::io::stdout().lock();
    while Instant::now() < deadline {
        let mut quiet = true;
        for i in 0..accounts.len() {
            let id = accounts[(start + i) % accounts.len()].id;
            match collector.check_now(id) {
                Ok(r) => {
                    writeln!(
                        out,
                        "run {id} ok {} {} {}",
                        r.fetched, r.deleted_on_server, r.listed
                    )
                    .unwrap();
                    if r.listed > 0 {
                        quiet = false;
                    }
                }
                Err(CollectError::Busy { .. }) => {
                    writeln!(out, "run {id} busy").unwrap();
                    quiet = false;
                }
                Err(e) if lost(&e) => {
                    writeln!(out, "run {id} lost").unwrap();
                    quiet = false;
                }
                Err(e) => {
                    writeln!(out, "run {id} error {e}").unwrap();
                    quiet = false;
                }
            }
            out.flush().unwrap();
            if closed.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
        }
        if quiet {
            return;
        }
    }
    eprintln!("collect_node: deadline reached");
    std::process::exit(3);
}
