//! One collection run of one account, for the SIGKILL tests (`tests/tests/collector_kill.rs`):
//!
//! `collect_once DATABASE ACCOUNT_ID MAILBOX` with the mailbox's password in the environment
//! variable `MS_MAIL_PASSWORD`. Prints the run's report as JSON and exits 0, or prints the
//! error and exits 2. The test kills it with SIGKILL at random moments and starts it again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::collector::{Collector, CollectorOptions};
use mail_settings_core::net::Timeouts;
use mail_settings_core::store::Store;
use mail_settings_core::{Credential, InMemoryCredentials};
use std::sync::Arc;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: collect_once DATABASE ACCOUNT_ID MAILBOX (password in MS_MAIL_PASSWORD)");
        std::process::exit(64);
    }
    let password = std::env::var("MS_MAIL_PASSWORD").expect("MS_MAIL_PASSWORD");
    let store = Arc::new(Store::open(&args[1]).expect("open the store"));
    let account: i64 = args[2].parse().expect("account id");
    let credentials =
        InMemoryCredentials::new().with(args[3].as_str(), Credential::password(&args[3], password));
    let mut options = CollectorOptions::default();
    options.timeouts = Timeouts::uniform(Duration::from_secs(10));
    options.batch_messages = 5;
    options.commit_messages = 2;
    let collector = Collector::with_options(store, Arc::new(credentials), options);
    match collector.check_now(account) {
        Ok(report) => {
            println!(
                "{}",
                serde_json::to_string(&report).expect("report as JSON")
            );
        }
        Err(e) => {
            eprintln!("collect_once: {e}");
            std::process::exit(2);
        }
    }
}
