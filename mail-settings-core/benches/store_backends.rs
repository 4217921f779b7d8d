//! The store on its two backends, side by side: the commit rate (one account created per
//! transaction, as the CLI and the applications write), an import of 100 000 incoming
//! accounts (one transaction), filtered report pages over them, and the export, on an SQLite
//! file and on the local test PostgreSQL (tests/servers/postgres; started with
//! `bash tests/servers/start.sh`).
//!
//! Run with `cargo bench -p mail-settings-core --bench store_backends`. It prints figures; it
//! asserts nothing about speed. `MS_BENCH_ACCOUNTS=N` changes the import's size.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/postgres.rs"]
mod postgres_support;

use mail_settings_core::report::{IncomingReportFilter, PageRequest};
use mail_settings_core::store::Store;
use mail_settings_core::{IncomingAccountForm, Protocol, SettingsDocument};
use std::time::Instant;

fn incoming(i: usize) -> IncomingAccountForm {
    IncomingAccountForm {
        id: Some(i as i64 + 1),
        name: format!("Desk {i:06}"),
        host: format!("imap{}.mail.example.com", i % 50),
        protocol: Some(Protocol::Imap),
        credential: Some(format!("mailbox-{i}")),
        keep_copy_on_server: i % 3 != 0,
        ..IncomingAccountForm::default()
    }
}

fn figures(name: &str, store: &Store, accounts: usize) {
    // Commits: one create per transaction.
    let n: u32 = 300;
    let started = Instant::now();
    for i in 0..n as usize {
        let mut f = incoming(i);
        f.id = None;
        f.name = format!("Commit {i}");
        store.create_incoming(&f).unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{name}: {:.0} commits/s (one account created per transaction, {n} in {secs:.2} s)",
        f64::from(n) / secs
    );
    // Import: the whole set in one transaction.
    let doc = SettingsDocument {
        incoming_accounts: (0..accounts).map(incoming).collect(),
        ..SettingsDocument::default()
    };
    let started = Instant::now();
    let summary = store.import(&doc).unwrap();
    println!(
        "{name}: import of {accounts} accounts in {:.2} s ({} created, {} deleted)",
        started.elapsed().as_secs_f64(),
        summary.created,
        summary.deleted
    );
    // Filtered report pages: a name filter and two flags, the first and a middle page
    // (median of 7 each).
    let filter = IncomingReportFilter {
        name_contains: Some("desk 0".into()),
        keep_copy: Some(true),
        ..IncomingReportFilter::default()
    };
    for page in [1u32, 100] {
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..7 {
            let started = Instant::now();
            let p = store
                .incoming_report(
                    &filter,
                    PageRequest {
                        page,
                        page_size: 30,
                    },
                )
                .unwrap();
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            total = p.total;
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name}: filtered report page {page} (name contains, keep copy: 30 rows of {total}) in {:.1} ms (median of 7)",
            times[3]
        );
    }
    let started = Instant::now();
    let back = store.export().unwrap();
    assert_eq!(back.incoming_accounts.len(), accounts);
    println!(
        "{name}: export of {accounts} accounts in {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

fn main() {
    let accounts: usize = std::env::var("MS_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(dir.path().join("bench.sqlite3")).unwrap();
    figures("SQLite file", &sqlite, accounts);
    match postgres_support::fresh_database("bench_store_backends") {
        Some(db) => figures(
            "PostgreSQL (TLS, loopback)",
            &Store::open(&db.url).unwrap(),
            accounts,
        ),
        None => println!("PostgreSQL: no test server (bash tests/servers/start.sh)"),
    }
}
