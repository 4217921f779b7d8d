//! Push benchmark: many accounts waiting in IMAP IDLE at once (default 1,000; `PUSH_ACCOUNTS`),
//! each its own mailbox, over IMAPS (`PUSH_TLS=0`: clear text), against a Dovecot instance of
//! its own (`ms-bench`: the test servers' common configuration and mail, on port 20993/20143,
//! with room for 1,200 IMAP processes, since the shared instances allow 500), started here and
//! stopped at the end. Prints memory per waiting account (resident set, after minus before),
//! threads, this process's CPU while every account waits, and the delivery-to-stored latency
//! of messages sent through the local Postfix while all of them wait (Postfix hands them to the
//! shared instance's LMTP; the bench instance sees the same Maildirs and wakes its IDLE).
//!
//! Run with `cargo bench -p mail-settings-tests --bench push` (the test command does not run
//! it). Asserts nothing about speed; prints the aims (2 s, 200 KB, no CPU) with met/missed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use mail_settings_core::collector::{Collector, CollectorOptions};
use mail_settings_core::inbox::Inbox;
use mail_settings_core::net::Timeouts;
use mail_settings_core::store::Store;
use mail_settings_core::{
    Credential, InMemoryCredentials, IncomingAccountForm, Protocol, SecureConnectionType,
};
use mail_settings_tests::{deliver, procfs, servers, unique_mailbox};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const IMAPS_PORT: u16 = 20993;
const IMAP_PORT: u16 = 20143;

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .map(|l| l.to_string_lossy().starts_with("socket:"))
                        .unwrap_or(false)
                })
                .count()
        })
        .unwrap_or(0)
}

/// Starts the bench's own Dovecot instance; returns its config path.
fn start_dovecot() -> PathBuf {
    let d = &servers().dir;
    let conf = d.join("dovecot").join("bench-push.conf");
    let text = format!(
        "# Dovecot instance for tests/benches/push.rs (written and started by it).\n\
         instance_name = ms-bench\n\
         base_dir = {d}/dovecot/bench\n\
         state_dir = {d}/dovecot/bench-state\n\
         log_path = {d}/log/dovecot-bench.log\n\
         !include {d}/dovecot/common.conf\n\
         ssl = yes\n\
         ssl_cert = <{d}/certs/localhost.pem\n\
         ssl_key = <{d}/certs/localhost.key\n\
         protocols = imap\n\
         mail_max_userip_connections = 10\n\
         service imap {{\n  process_limit = 1200\n}}\n\
         service imap-login {{\n  process_limit = 8\n  client_limit = 4000\n\
           inet_listener imap {{\n    address = 127.0.0.1\n    port = {IMAP_PORT}\n  }}\n\
           inet_listener imaps {{\n    address = 127.0.0.1\n    port = {IMAPS_PORT}\n    ssl = yes\n  }}\n}}\n",
        d = d.display()
    );
    std::fs::write(&conf, text).unwrap();
    std::fs::create_dir_all(d.join("dovecot").join("bench-state")).unwrap();
    let _ = Command::new("dovecot")
        .arg("-c")
        .arg(&conf)
        .arg("stop")
        .status();
    std::thread::sleep(Duration::from_millis(300));
    let st = Command::new("dovecot")
        .arg("-c")
        .arg(&conf)
        .status()
        .unwrap();
    assert!(st.success(), "cannot start the bench Dovecot");
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", IMAPS_PORT)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "bench Dovecot not listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    conf
}

fn main() {
    let n: usize = std::env::var("PUSH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let tls = std::env::var("PUSH_TLS").map_or(true, |v| v != "0");
    // Dovecot's IDLE watches each mailbox with an inotify instance; the kernel's default of 128
    // per user would make the rest poll every 30 s. Raised for this run only (needs root), and
    // put back at the end.
    let inotify = "/proc/sys/fs/inotify/max_user_instances";
    let inotify_before = std::fs::read_to_string(inotify).ok();
    let wanted = n * 2 + 1024;
    if inotify_before
        .as_deref()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|v| v < wanted)
        && std::fs::write(inotify, wanted.to_string()).is_err()
    {
        println!("  (cannot raise {inotify}: Dovecot polls most mailboxes every 30 s)");
    }
    let conf = start_dovecot();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path().join("push.db")).unwrap());
    let mut creds = InMemoryCredentials::new();
    let mut mailboxes = Vec::new();
    for i in 0..n {
        let mailbox = unique_mailbox("pushbench");
        creds = creds.with(
            &mailbox,
            Credential::password(&mailbox, servers().mail_password()),
        );
        let form = IncomingAccountForm {
            name: format!("push {i}"),
            host: "localhost".into(),
            port: Some(i64::from(if tls { IMAPS_PORT } else { IMAP_PORT })),
            protocol: Some(Protocol::Imap),
            credential: Some(mailbox.clone()),
            use_secure_connection: tls,
            secure_connection_type: SecureConnectionType::Ssl,
            ca_file: Some(servers().ca_file()),
            // Keep copy: `deliver` waits for the message in the Maildir (see tests/push.rs).
            keep_copy_on_server: true,
            automatic_check: true,
            check_interval_secs: 3600,
            use_push: true,
            ..IncomingAccountForm::default()
        };
        let id = store.create_incoming(&form).unwrap().id;
        mailboxes.push((id, mailbox));
    }
    let mut o = CollectorOptions::default();
    o.timeouts = Timeouts::uniform(Duration::from_secs(30));
    o.max_concurrent_accounts = 8;
    let collector = Collector::with_options(store.clone(), Arc::new(creds), o);

    let rss0 = status_kb("VmRSS:");
    let threads0 = status_kb("Threads:");
    let started = Instant::now();
    collector.start().unwrap();
    // Every account's first run done, and a waiter connected for each.
    loop {
        let statuses = collector.statuses().unwrap();
        let done = statuses.iter().filter(|s| s.runs >= 1).count();
        let socks = sockets();
        if done >= n && socks >= n {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "only {done} runs and {socks} sockets after 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let settle = started.elapsed();
    std::thread::sleep(Duration::from_secs(5));
    let rss1 = status_kb("VmRSS:");
    let threads1 = status_kb("Threads:");
    let per_account_kb = rss1.saturating_sub(rss0) as f64 / n as f64;

    // CPU while everyone waits.
    let idle_secs = 10.0;
    let cpu0 = procfs::cpu_seconds();
    std::thread::sleep(Duration::from_secs_f64(idle_secs));
    let idle_cpu = procfs::cpu_seconds() - cpu0;

    // Delivery to stored, while all wait.
    let inbox = Inbox::new(store.clone());
    let mut latencies = Vec::new();
    for k in 0..10 {
        let (id, mailbox) = &mailboxes[(k * 97 + 13) % n];
        let before = inbox.count(Some(*id)).unwrap();
        let t = Instant::now();
        let raw = format!(
            "From: bench@example.test\r\nTo: {mailbox}\r\nSubject: push {k}\r\n\
             Message-ID: <push-bench-{k}-{id}@example.test>\r\n\r\nhello\r\n"
        );
        deliver(mailbox, raw.as_bytes());
        while inbox.count(Some(*id)).unwrap() <= before {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "not stored within 60 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        latencies.push(t.elapsed());
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let max = latencies[latencies.len() - 1];

    let t = Instant::now();
    collector.stop();
    let stop_time = t.elapsed();
    let _ = Command::new("dovecot")
        .arg("-c")
        .arg(&conf)
        .arg("stop")
        .status();
    if let Some(v) = inotify_before {
        let _ = std::fs::write(inotify, v);
    }

    let mark = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "push benchmark: {n} accounts waiting in IDLE ({})",
        if tls { "IMAPS" } else { "clear IMAP" }
    );
    println!(
        "  first runs done and every waiter connected after {:.1} s",
        settle.as_secs_f64()
    );
    println!(
        "  memory: {rss0} KiB before, {rss1} KiB waiting: {per_account_kb:.1} KiB per waiting account (aim 200 KB: {})",
        mark(per_account_kb * 1.024 <= 200.0)
    );
    println!("  threads: {threads0} before, {threads1} waiting");
    println!(
        "  CPU while all wait: {idle_cpu:.2} s in {idle_secs:.0} s (aim none: {})",
        mark(idle_cpu <= 0.05)
    );
    println!(
        "  delivery (SMTP to Postfix) to stored in the inbox, 10 messages: median {:.0} ms, max {:.0} ms (aim 2 s: {})",
        median.as_secs_f64() * 1000.0,
        max.as_secs_f64() * 1000.0,
        mark(max <= Duration::from_secs(2))
    );
    println!(
        "  stop with {n} waiting: {:.0} ms",
        stop_time.as_secs_f64() * 1000.0
    );
}
