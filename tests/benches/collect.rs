//! Collection benchmark: a 2,000-message mailbox (about 100 MB) collected over IMAPS and POP3S
//! from the local Dovecot into the durable inbox (a fresh SQLite file, `synchronous=FULL`, and
//! a fresh PostgreSQL database on the local test server; `MS_BENCH_ONLY=postgres` prints the
//! 2,000-message collection into both alone),
//! beside the drivers' raw download of the same mailbox, Python's imaplib (UID FETCH in
//! batches of 100) and poplib (a RETR loop), and mbsync when it is installed (Debian `isync`);
//! then one 20 MB message. Every case runs in a process of its own (this binary, re-run as a
//! child) so that its peak memory (VmHWM) is its own. Every case runs twice and the second run
//! is kept (see `warmed`), after a `sync` (see `settle`).
//!
//! Run with `cargo bench -p mail-settings-tests --bench collect`. Prints figures, the storing
//! side (client CPU of a collection minus that of the raw download of the same mailbox, per
//! 100 MB) and the targets with met/missed; asserts nothing about speed. The mailboxes are written straight into Dovecot's Maildir (owned by
//! the mail user), which is much faster than delivering 2,000 messages through LMTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use mail_settings_core::collector::{Collector, CollectorOptions};
use mail_settings_core::imap::{self, ImapOptions};
use mail_settings_core::net::Timeouts;
use mail_settings_core::pop3::Pop3Client;
use mail_settings_core::store::Store;
use mail_settings_core::{Credential, InMemoryCredentials, Protocol, SecureConnectionType};
use mail_settings_tests::procfs;
use mail_settings_tests::{incoming_account, incoming_form, servers, unique_mailbox, Cert, Via};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

const MESSAGES: usize = 2000;

#[path = "../../mail-settings-core/tests/support/postgres.rs"]
mod postgres_support;

/// Deterministic pseudo-random bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn base64_lines(rng: &mut Rng, bytes: usize, out: &mut Vec<u8>) {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let chars = bytes.div_ceil(3) * 4;
    let mut written = 0;
    while written < chars {
        let n = (chars - written).min(76);
        for _ in 0..n {
            out.push(A[(rng.next() % 64) as usize]);
        }
        out.extend_from_slice(b"\r\n");
        written += n;
    }
}

/// A message of about `size` bytes; every fourth one carries a base64 attachment.
fn message(i: usize, size: usize, rng: &mut Rng) -> Vec<u8> {
    let mut m = format!(
        "Return-Path: <customer{i}@example.test>\r\n\
         From: =?UTF-8?Q?Cliente_N=C3=BAmero_{i}?= <customer{i}@example.test>\r\n\
         To: Help desk <helpdesk@example.test>\r\n\
         Subject: =?UTF-8?B?{}?=\r\n\
         Date: Thu, 3 Jul 2025 {:02}:{:02}:{:02} +0000\r\n\
         Message-ID: <bench-{i}@collector.test>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n\
         --b{i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
        base64_encode(format!("Chamado número {i}: impressora não funciona").as_bytes()),
        (i / 3600) % 24,
        (i / 60) % 60,
        i % 60
    )
    .into_bytes();
    let attachment = i % 4 == 0;
    let text_target = if attachment { size / 3 } else { size - 200 };
    let words = [
        "the ", "printer ", "on ", "floor ", "three ", "does ", "not ", "print ", "since ",
        "monday ", "please ", "help ", "urgent ", "ticket ", "user ", "reports ",
    ];
    let mut line = 0;
    while m.len() < text_target {
        m.extend_from_slice(words[(rng.next() % words.len() as u64) as usize].as_bytes());
        line += 1;
        if line % 12 == 0 {
            m.extend_from_slice(b"\r\n");
        }
    }
    m.extend_from_slice(b"\r\n");
    if attachment {
        m.extend_from_slice(
            format!(
                "--b{i}\r\nContent-Type: application/pdf; name=\"report-{i}.pdf\"\r\n\
                 Content-Disposition: attachment; filename=\"report-{i}.pdf\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n"
            )
            .as_bytes(),
        );
        let raw = (size.saturating_sub(m.len() + 40)) * 3 / 4;
        base64_lines(rng, raw, &mut m);
    }
    m.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
    m
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Writes messages straight into `mailbox`'s Maildir/new, owned by the mail user; returns
/// the total size.
fn fill_maildir(mailbox: &str, messages: impl Iterator<Item = Vec<u8>>) -> u64 {
    let mut writer = mail_settings_tests::seed::MaildirWriter::open(mailbox).unwrap();
    messages.map(|m| writer.add(&m, None).unwrap()).sum()
}

/// CPU time so far, in seconds: this process (all threads), and the whole machine busy and
/// in all (busy + idle, every core), from `/proc` (clock ticks of 10 ms).
#[derive(Debug, Default, Clone, Copy)]
struct Cpu {
    own: f64,
    busy: f64,
    all: f64,
    /// Of the children this process waited for (`cutime` + `cstime`).
    children: f64,
}

fn cpu_now() -> Cpu {
    let (busy, all) = procfs::machine_jiffies();
    Cpu {
        own: procfs::cpu_seconds(),
        busy: busy as f64 / procfs::TICKS_PER_SECOND,
        all: all as f64 / procfs::TICKS_PER_SECOND,
        children: procfs::children_cpu_seconds(),
    }
}

/// A measured window: wall time and CPU.
struct Timer {
    start: Instant,
    cpu: Cpu,
}

impl Timer {
    fn start() -> Self {
        Self {
            cpu: cpu_now(),
            start: Instant::now(),
        }
    }

    fn seconds(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Prints the RESULT line the parent reads.
    fn result(&self, messages: u64, bytes: u64) {
        let seconds = self.seconds();
        let now = cpu_now();
        println!(
            "RESULT messages={messages} bytes={bytes} seconds={seconds:.3} peak_kb={} \
             cpu_own={:.2} cpu_busy={:.2} cpu_all={:.2}",
            procfs::vm_hwm_kb(),
            now.own - self.cpu.own,
            now.busy - self.cpu.busy,
            now.all - self.cpu.all,
        );
    }
}

#[derive(Debug, Default, Clone)]
struct Figures {
    messages: u64,
    bytes: u64,
    seconds: f64,
    peak_kb: u64,
    /// CPU seconds of the client process in the window, of the machine (busy), and in all.
    cpu: Option<Cpu>,
}

fn parse_result(stdout: &str) -> Figures {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or_else(|| panic!("no RESULT line in:\n{stdout}"));
    let mut f = Figures::default();
    for kv in line["RESULT ".len()..].split_whitespace() {
        let (k, v) = kv.split_once('=').unwrap();
        match k {
            "messages" => f.messages = v.parse().unwrap(),
            "bytes" => f.bytes = v.parse().unwrap(),
            "seconds" => f.seconds = v.parse().unwrap(),
            "peak_kb" => f.peak_kb = v.parse().unwrap(),
            "cpu_own" => f.cpu.get_or_insert_with(Cpu::default).own = v.parse().unwrap(),
            "cpu_busy" => f.cpu.get_or_insert_with(Cpu::default).busy = v.parse().unwrap(),
            "cpu_all" => f.cpu.get_or_insert_with(Cpu::default).all = v.parse().unwrap(),
            _ => {}
        }
    }
    f
}

/// Builds (and caches, for this process) the account's TLS connector before a timer starts,
/// as the Python references create their SSL context before theirs: loading the system CA
/// bundle is a once-per-process cost, not part of downloading or collecting a mailbox.
fn warm_tls(acc: &mail_settings_core::IncomingAccount) {
    mail_settings_core::net::tls::connector(&acc.connection().tls).unwrap();
}

fn password() -> String {
    std::env::var("MS_BENCH_PASSWORD").unwrap()
}

fn account(protocol: Protocol, mailbox: &str) -> mail_settings_core::IncomingAccount {
    incoming_account(
        protocol,
        mailbox,
        Some(SecureConnectionType::Ssl),
        Cert::Valid,
        Via::Direct,
        true,
    )
}

/// Child: the IMAP driver downloads every message (UID FETCH BODY.PEEK[], 100 a request).
fn child_raw_imap(mailbox: &str) {
    let acc = account(Protocol::Imap, mailbox);
    let creds = InMemoryCredentials::new().with(mailbox, Credential::password(mailbox, password()));
    warm_tls(&acc);
    let timer = Timer::start();
    let mut s = imap::connect(&acc, &creds, &ImapOptions::default()).unwrap();
    s.examine("INBOX").unwrap();
    let uids: Vec<u32> = s
        .fetch_sizes(1, None)
        .unwrap()
        .iter()
        .map(|m| m.uid)
        .collect();
    s.set_fetch_batch(100);
    let (mut n, mut bytes) = (0u64, 0u64);
    s.uid_fetch_each(&uids, |m| {
        n += 1;
        bytes += m.raw.len() as u64;
        Ok(())
    })
    .unwrap();
    s.logout().unwrap();
    timer.result(n, bytes);
}

struct Count(u64);
impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Child: the POP3 driver downloads every message (pipelined RETR, streamed to a counter).
fn child_raw_pop3(mailbox: &str) {
    let acc = account(Protocol::Pop3, mailbox);
    let creds = InMemoryCredentials::new().with(mailbox, Credential::password(mailbox, password()));
    warm_tls(&acc);
    let timer = Timer::start();
    let mut c = Pop3Client::connect(&acc, &creds, &Timeouts::default()).unwrap();
    let numbers: Vec<u32> = c.list().unwrap().iter().map(|m| m.number).collect();
    let mut sinks: Vec<Count> = numbers.iter().map(|_| Count(0)).collect();
    let results = c.retr_many(&numbers, &mut sinks).unwrap();
    assert!(results.iter().all(Result::is_ok));
    c.quit().unwrap();
    let bytes = sinks.iter().map(|s| s.0).sum();
    timer.result(numbers.len() as u64, bytes);
}

/// Child: one collection run into the store at `db` (`journal`: write the collection journal,
/// as a deployment does; off only to measure what it costs).
fn child_collect(db: &str, account: i64, mailbox: &str, journal: bool) {
    let store = Arc::new(Store::open(db).unwrap());
    let creds = InMemoryCredentials::new().with(mailbox, Credential::password(mailbox, password()));
    let mut options = CollectorOptions::default();
    options.journal = journal;
    // For experiments: MS_BENCH_COMMIT_MB sets the commit group size.
    if let Some(mb) = std::env::var("MS_BENCH_COMMIT_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        options.commit_bytes = mb << 20;
        options.commit_messages = usize::MAX;
    }
    warm_tls(&store.incoming_account(account).unwrap());
    let collector = Collector::with_options(store, Arc::new(creds), options);
    let timer = Timer::start();
    let r = collector.check_now(account).unwrap();
    assert_eq!(r.pending, 0);
    timer.result(r.fetched + r.duplicates, r.bytes);
}

/// Child: one collection run like [`child_collect`], signed in with OAuth2: the refresh token
/// is in the credentials file `creds` (a token store), the access token is obtained (and the
/// rotated refresh token written back) inside the measured window.
fn child_collect_oauth2(db: &str, account: i64, mailbox: &str, creds: &str) {
    use mail_settings_core::oauth2::{OAuth2Credentials, TokenManager};
    let store = Arc::new(Store::open(db).unwrap());
    let file = Arc::new(mail_settings_core::CredentialsFile::load(creds).unwrap());
    warm_tls(&store.incoming_account(account).unwrap());
    let timer = Timer::start();
    let manager = Arc::new(TokenManager::new(Some(file.clone()), file.clone()));
    let oauth = OAuth2Credentials::new(file, manager.clone());
    oauth
        .bind(
            &mail_settings_core::CredentialId::new(mailbox),
            mail_settings_tests::oauth2::public_client(),
            mail_settings_core::Route::Direct,
        )
        .unwrap();
    let collector = Collector::with_options(store, Arc::new(oauth), CollectorOptions::default());
    let r = collector.check_now(account).unwrap();
    assert_eq!(r.pending, 0);
    assert_eq!(manager.token_requests(), 1);
    timer.result(r.fetched + r.duplicates, r.bytes);
}

/// The IMAPS collection of `mailbox` over an OAuth2 sign-in (device code, once, here).
fn collect_case_oauth2(mailbox: &str, dir: &Path) -> Figures {
    let creds = dir.join("oauth2-credentials.json");
    std::fs::write(&creds, "{}").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let file = Arc::new(mail_settings_core::CredentialsFile::load(&creds).unwrap());
    let manager = mail_settings_core::oauth2::TokenManager::new(Some(file.clone()), file);
    mail_settings_tests::oauth2::device_sign_in(&manager, mailbox);
    let db = dir.join("oauth2-imaps.db");
    let (id, f) = warmed(|| {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let id = new_account(Protocol::Imap, mailbox, &db);
        let f = run_child(&[
            "collect-oauth2",
            db.to_str().unwrap(),
            &id.to_string(),
            mailbox,
            creds.to_str().unwrap(),
        ]);
        (id, f)
    });
    let store = Arc::new(Store::open(&db).unwrap());
    let n = mail_settings_core::inbox::Inbox::new(store)
        .count(Some(id))
        .unwrap();
    assert_eq!(n, f.messages);
    f
}

/// The OAuth2 figure: the same mailbox over a password account and an OAuth2 account, in
/// alternation (password, OAuth2, password, OAuth2) so drift on the machine hits both.
fn oauth2_figure(mailbox: &str, dir: &Path) {
    println!(
        "
OAuth2 beside a password (IMAPS, same mailbox, same run):"
    );
    let mut pw = Vec::new();
    let mut o2 = Vec::new();
    for _ in 0..2 {
        pw.push(collect_case(Protocol::Imap, mailbox, dir, "pw-imaps"));
        o2.push(collect_case_oauth2(mailbox, dir));
    }
    for f in &pw {
        row("IMAPS collection, password", f);
    }
    for f in &o2 {
        row("IMAPS collection, OAuth2 (token obtained in run)", f);
    }
    let best = |v: &[Figures]| v.iter().map(|f| f.seconds).fold(f64::MAX, f64::min);
    let cpu = |v: &[Figures]| {
        v.iter()
            .filter_map(|f| f.cpu.map(|c| c.own))
            .fold(f64::MAX, f64::min)
    };
    let (p, o) = (best(&pw), best(&o2));
    println!(
        "  OAuth2 cost: {:+.2} % wall time (best {o:.2} s vs {p:.2} s), {:+.2} % client CPU \
         (best {:.2} s vs {:.2} s); target < 1 %",
        100.0 * (o - p) / p,
        100.0 * (cpu(&o2) - cpu(&pw)) / cpu(&pw),
        cpu(&o2),
        cpu(&pw)
    );
}

/// Runs a case twice and keeps the second run's figures. The first run warms what a
/// long-running machine has warm: the server's caches, and memory. This machine is a VM whose
/// free memory goes back to the host after a few seconds; the first write into such a page
/// costs a host fault (writing 200 MB into a new file took 0.18 s of system time here, 0.03 s
/// when the page cache reused pages just freed), so a collection that writes its store right
/// after a long idle period would pay that and Python, which stores nothing, would not.
fn warmed<T>(mut case: impl FnMut() -> T) -> T {
    case();
    case()
}

/// Writes back what earlier cases left dirty in the page cache, so that no case pays (in its
/// fsyncs or in the kernel's writeback) for the files another case wrote.
fn settle() {
    let _ = Command::new("sync").status();
}

fn run_child(args: &[&str]) -> Figures {
    settle();
    // For profiling: MS_BENCH_WRAP="perf record -g -o F" (any command prefix) runs each child
    // under it; what the prefix prints on standard error is shown.
    let wrap = std::env::var("MS_BENCH_WRAP").ok();
    let mut cmd = match &wrap {
        Some(w) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("{w} \"$0\" \"$@\""))
                .arg(std::env::current_exe().unwrap());
            c
        }
        None => Command::new(std::env::current_exe().unwrap()),
    };
    let out = cmd
        .arg("child")
        .args(args)
        .env("MS_BENCH_PASSWORD", servers().mail_password())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if wrap.is_some() {
        eprintln!("{args:?}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    assert!(
        out.status.success(),
        "child {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_result(&stdout)
}

/// A keep-copy account for `mailbox` in a new store at `db`.
fn new_account(protocol: Protocol, mailbox: &str, db: &Path) -> i64 {
    let store = Store::open(db).unwrap();
    let (mut form, _) = incoming_form(
        protocol,
        mailbox,
        Some(SecureConnectionType::Ssl),
        Cert::Valid,
        Via::Direct,
    );
    form.keep_copy_on_server = true;
    store.create_incoming(&form).unwrap().id
}

/// One collection into a fresh PostgreSQL store (a new database on the test server, dropped
/// afterwards), warmed; `None` when the test PostgreSQL does not answer.
fn collect_case_postgres(protocol: Protocol, mailbox: &str, name: &str) -> Option<Figures> {
    let case = || {
        let db = postgres_support::fresh_database(name)?;
        let id = new_account(protocol, mailbox, Path::new(&db.url));
        let id_text = id.to_string();
        let f = run_child(&["collect", &db.url, &id_text, mailbox]);
        let store = Arc::new(Store::open(&db.url).unwrap());
        let n = mail_settings_core::inbox::Inbox::new(store)
            .count(Some(id))
            .unwrap();
        assert_eq!(n, f.messages);
        Some(f)
    };
    warmed(case)
}

/// The 2,000-message collection into an SQLite file and into PostgreSQL (TLS on loopback),
/// IMAPS and POP3S.
fn postgres_rows(mailbox: &str, dir: &Path) {
    for (protocol, label) in [(Protocol::Imap, "IMAPS"), (Protocol::Pop3, "POP3S")] {
        let sqlite = collect_case(protocol, mailbox, dir, &format!("pg-beside-{label}"));
        row(&format!("{label} collection into an SQLite file"), &sqlite);
        match collect_case_postgres(protocol, mailbox, &format!("bench collect {label}")) {
            Some(f) => row(&format!("{label} collection into PostgreSQL"), &f),
            None => println!("{label} collection into PostgreSQL: no test server"),
        }
    }
}

fn collect_case(protocol: Protocol, mailbox: &str, dir: &Path, name: &str) -> Figures {
    collect_case_with(protocol, mailbox, dir, name, true, true)
}

/// One collection into a fresh store, warmed (run twice) when `warm`, with or without the
/// journal.
fn collect_case_with(
    protocol: Protocol,
    mailbox: &str,
    dir: &Path,
    name: &str,
    journal: bool,
    warm: bool,
) -> Figures {
    let db = dir.join(format!("{name}.db"));
    // Each run collects into a fresh store; the first run's store is deleted before the second.
    let case = || {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let id = new_account(protocol, mailbox, &db);
        let mut args = vec!["collect", db.to_str().unwrap(), mailbox];
        let id_text = id.to_string();
        args.insert(2, &id_text);
        if !journal {
            args.push("no-journal");
        }
        let f = run_child(&args);
        (id, f)
    };
    let (id, f) = if warm { warmed(case) } else { case() };
    // The inbox holds what was collected, durably.
    let store = Arc::new(Store::open(&db).unwrap());
    let n = mail_settings_core::inbox::Inbox::new(store)
        .count(Some(id))
        .unwrap();
    assert_eq!(n, f.messages);
    f
}

fn python(protocol: &str, port_key: &str, mailbox: &str) -> Option<Figures> {
    let script = mail_settings_tests::repo_root().join("tests/benches/collect_reference.py");
    settle();
    let out = Command::new("python3")
        .arg(script)
        .arg(protocol)
        .args(["--port", &servers().port(port_key).to_string()])
        .args(["--user", mailbox])
        .args(["--cafile", servers().ca_file().to_str().unwrap()])
        .env("MS_BENCH_PASSWORD", servers().mail_password())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "python {protocol} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    Some(parse_result(&String::from_utf8_lossy(&out.stdout)))
}

fn mbsync(mailbox: &str, dir: &Path) -> Option<Figures> {
    let found = Command::new("mbsync").arg("--version").output().ok()?;
    if !found.status.success() {
        return None;
    }
    let local: PathBuf = dir.join("mbsync-maildir");
    // A fresh pull each time: no Maildir and no sync state left from a run before.
    let _ = std::fs::remove_dir_all(&local);
    std::fs::create_dir_all(&local).unwrap();
    let cfg = dir.join("mbsyncrc");
    std::fs::write(
        &cfg,
        format!(
            "IMAPAccount bench\nHost localhost\nPort {}\nUser {mailbox}\nPassCmd \"printenv MS_BENCH_PASSWORD\"\n\
             SSLType IMAPS\nCertificateFile {}\n\n\
             IMAPStore remote\nAccount bench\n\n\
             MaildirStore local\nPath {}/\nInbox {}/INBOX\n\n\
             Channel bench\nFar :remote:\nNear :local:\nPatterns INBOX\nCreate Near\nSync Pull\nSyncState *\n",
            servers().port("MS_IMAPS_PORT"),
            servers().ca_file().display(),
            local.display(),
            local.display()
        ),
    )
    .unwrap();
    settle();
    let before = cpu_now();
    let start = Instant::now();
    let out = Command::new("mbsync")
        .arg("-c")
        .arg(&cfg)
        .arg("-q")
        .arg("bench")
        .env("MS_BENCH_PASSWORD", servers().mail_password())
        .output()
        .ok()?;
    let seconds = start.elapsed().as_secs_f64();
    let after = cpu_now();
    if !out.status.success() {
        eprintln!("mbsync failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let (mut n, mut bytes) = (0u64, 0u64);
    for d in ["new", "cur"] {
        for e in std::fs::read_dir(local.join("INBOX").join(d))
            .unwrap()
            .flatten()
        {
            n += 1;
            bytes += e.metadata().unwrap().len();
        }
    }
    Some(Figures {
        messages: n,
        bytes,
        seconds,
        peak_kb: 0,
        cpu: Some(Cpu {
            own: after.children - before.children,
            busy: after.busy - before.busy,
            all: after.all - before.all,
            children: 0.0,
        }),
    })
}

fn row(name: &str, f: &Figures) {
    let mb = f.bytes as f64 / 1e6;
    println!(
        "{name:<44} {:>6} {:>8.1} {:>8.2} {:>9.0} {:>8.1} {:>8} {:>6} {:>6} {:>5}",
        f.messages,
        mb,
        f.seconds,
        f.messages as f64 / f.seconds,
        mb / f.seconds,
        if f.peak_kb > 0 {
            format!("{:.1}", f.peak_kb as f64 / 1024.0)
        } else {
            "-".to_owned()
        },
        f.cpu.map_or("-".to_owned(), |c| format!("{:.2}", c.own)),
        f.cpu.map_or("-".to_owned(), |c| format!(
            "{:.2}",
            (c.busy - c.own).max(0.0)
        )),
        f.cpu.map_or("-".to_owned(), |c| format!(
            "{:.0}",
            100.0 * (1.0 - c.busy / c.all.max(0.01)).max(0.0)
        )),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        match args.get(2).map(String::as_str) {
            Some("raw-imap") => child_raw_imap(&args[3]),
            Some("raw-pop3") => child_raw_pop3(&args[3]),
            Some("collect") => child_collect(
                &args[3],
                args[4].parse().unwrap(),
                &args[5],
                args.get(6).map(String::as_str) != Some("no-journal"),
            ),
            Some("collect-oauth2") => {
                child_collect_oauth2(&args[3], args[4].parse().unwrap(), &args[5], &args[6])
            }
            Some("setup") => {
                // For profiling by hand: `collect child setup DB imap|pop3 MAILBOX` prints the
                // account id to use with `collect child collect DB ID MAILBOX`.
                let protocol = if args[4] == "pop3" {
                    Protocol::Pop3
                } else {
                    Protocol::Imap
                };
                println!("{}", new_account(protocol, &args[5], Path::new(&args[3])));
            }
            other => panic!("unknown child {other:?}"),
        }
        return;
    }
    let s = servers();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // `MS_BENCH_ONLY=journal`: only the journal's figures (its cost on a collection, and a
    // filtered page over 1,000,000 entries); `journal-cost` or `journal-pages`: one of them.
    match std::env::var("MS_BENCH_ONLY").as_deref() {
        Ok("journal") => {
            journal_figures(dir.path(), &mut rng);
            return;
        }
        Ok("journal-cost") => {
            journal_cost(dir.path(), &mut rng);
            return;
        }
        Ok("journal-pages") => {
            journal_page_figures(dir.path());
            return;
        }
        _ => {}
    }

    let mailbox = unique_mailbox("bench");
    let total = fill_maildir(
        &mailbox,
        (0..MESSAGES).map(|i| {
            let size = 10_000 + (rng.next() % 80_000) as usize;
            message(i, size, &mut rng)
        }),
    );
    if std::env::var("MS_BENCH_ONLY").as_deref() == Ok("postgres") {
        // `MS_BENCH_ONLY=postgres`: the 2,000-message collection into PostgreSQL beside SQLite.
        run_child(&["raw-imap", &mailbox]);
        println!(
            "mailbox: {MESSAGES} messages, {:.1} MB (Dovecot on 127.0.0.1, TLS; PostgreSQL {} on 127.0.0.1, TLS)",
            total as f64 / 1e6,
            s.value("MS_POSTGRES_PORT")
        );
        postgres_rows(&mailbox, dir.path());
        let _ = mail_settings_tests::seed::remove_mailbox(&mailbox);
        return;
    }
    if std::env::var_os("MS_BENCH_ONLY_OAUTH2").is_some() {
        // `MS_BENCH_ONLY_OAUTH2=1 cargo bench -p mail-settings-tests --bench collect`: the
        // OAuth2 figure alone.
        run_child(&["raw-imap", &mailbox]);
        oauth2_figure(&mailbox, dir.path());
        let _ = mail_settings_tests::seed::remove_mailbox(&mailbox);
        return;
    }
    let big = unique_mailbox("bench20");
    let big_total = fill_maildir(&big, std::iter::once(message(0, 20 << 20, &mut rng)));
    println!(
        "mailbox: {MESSAGES} messages, {:.1} MB; single message: {:.1} MB (Dovecot {} on 127.0.0.1, TLS)",
        total as f64 / 1e6,
        big_total as f64 / 1e6,
        s.value("MS_IMAPS_PORT")
    );
    let many = unique_mailbox("bench10k");
    let many_total = fill_maildir(
        &many,
        (0..10_000).map(|i| {
            let size = 2_000 + (rng.next() % 6_000) as usize;
            message(i, size, &mut rng)
        }),
    );
    println!(
        "many small messages: 10000 messages, {:.1} MB",
        many_total as f64 / 1e6
    );
    // Let Dovecot index the new Maildirs once, outside the measurements.
    run_child(&["raw-imap", &mailbox]);
    run_child(&["raw-imap", &big]);
    run_child(&["raw-imap", &many]);

    println!(
        "\n{:<44} {:>6} {:>8} {:>8} {:>9} {:>8} {:>8} {:>6} {:>6} {:>5}",
        "case", "msgs", "MB", "seconds", "msg/s", "MB/s", "peak MB", "client", "others", "idle%"
    );
    println!(
        "{:<44} (client/others: CPU seconds of the client process and of everything else on the \
         machine, mostly the server, in the measured window; idle%: of all cores)",
        ""
    );
    let raw_imap = warmed(|| run_child(&["raw-imap", &mailbox]));
    row("IMAPS driver download (batches of 100)", &raw_imap);
    let raw_pop3 = warmed(|| run_child(&["raw-pop3", &mailbox]));
    row("POP3S driver download (pipelined RETR)", &raw_pop3);
    let imaps = collect_case(Protocol::Imap, &mailbox, dir.path(), "imaps");
    row("IMAPS collection into the durable inbox", &imaps);
    let pop3s = collect_case(Protocol::Pop3, &mailbox, dir.path(), "pop3s");
    row("POP3S collection into the durable inbox", &pop3s);
    for (protocol, label) in [(Protocol::Imap, "IMAPS"), (Protocol::Pop3, "POP3S")] {
        match collect_case_postgres(protocol, &mailbox, &format!("bench collect {label}")) {
            Some(f) => row(&format!("{label} collection into PostgreSQL"), &f),
            None => println!("{label} collection into PostgreSQL: no test server"),
        }
    }
    let py_imap = warmed(|| python("imap", "MS_IMAPS_PORT", &mailbox));
    if let Some(f) = &py_imap {
        row("Python imaplib, batches of 100 (no storing)", f);
    }
    let py_pop = warmed(|| python("pop3", "MS_POP3S_PORT", &mailbox));
    if let Some(f) = &py_pop {
        row("Python poplib RETR loop (no storing)", f);
    }
    let mb = warmed(|| mbsync(&mailbox, dir.path()));
    match &mb {
        Some(f) => row("mbsync (isync) pull into a Maildir", f),
        None => println!("{:<44} not installed (apt-get install isync)", "mbsync"),
    }

    oauth2_figure(&mailbox, dir.path());

    println!("\nsingle 20 MB message:");
    row(
        "IMAPS driver download",
        &warmed(|| run_child(&["raw-imap", &big])),
    );
    row(
        "POP3S driver download",
        &warmed(|| run_child(&["raw-pop3", &big])),
    );
    let big_imap = collect_case(Protocol::Imap, &big, dir.path(), "big-imaps");
    row("IMAPS collection into the durable inbox", &big_imap);
    let big_pop3 = collect_case(Protocol::Pop3, &big, dir.path(), "big-pop3s");
    row("POP3S collection into the durable inbox", &big_pop3);

    println!("\n10,000 small messages (memory must not grow with the count):");
    let many_imap = collect_case(Protocol::Imap, &many, dir.path(), "many-imaps");
    row("IMAPS collection into the durable inbox", &many_imap);
    let many_pop3 = collect_case(Protocol::Pop3, &many, dir.path(), "many-pop3s");
    row("POP3S collection into the durable inbox", &many_pop3);

    let rate = |f: &Figures| f.bytes as f64 / f.seconds;
    let verdict = |met: bool| if met { "met" } else { "missed" };
    // The storing side: the client CPU a collection takes beyond our own raw download of the
    // same mailbox (hashing, summarising, committing), per 100 MB.
    let storing = |collection: &Figures, raw: &Figures| -> Option<f64> {
        let per_100mb = |f: &Figures| Some(f.cpu?.own * 1e8 / f.bytes.max(1) as f64);
        Some(per_100mb(collection)? - per_100mb(raw)?)
    };
    println!("\nstoring side (client CPU of the collection minus that of the raw download):");
    for (name, c, raw) in [("IMAPS", &imaps, &raw_imap), ("POP3S", &pop3s, &raw_pop3)] {
        match storing(c, raw) {
            Some(s) => println!(
                "  {name}: {s:.2} s per 100 MB (collection {:.2} s, download {:.2} s of client CPU; \
                 target <= 0.15: {})",
                c.cpu.map_or(0.0, |c| c.own),
                raw.cpu.map_or(0.0, |c| c.own),
                verdict(s <= 0.15)
            ),
            None => println!("  {name}: no CPU figures"),
        }
    }
    println!("\ntargets:");
    for (name, c, raw) in [("IMAPS", &imaps, &raw_imap), ("POP3S", &pop3s, &raw_pop3)] {
        let x = rate(c) / rate(raw);
        println!(
            "  {name} collection / our raw download: {x:.2}x (target >= 0.95: {})",
            verdict(x >= 0.95)
        );
    }
    if let Some(f) = &py_imap {
        let x = rate(&imaps) / rate(f);
        println!(
            "  IMAPS collection / imaplib (100):    {x:.2}x (target >= 1: {})",
            verdict(x >= 1.0)
        );
    }
    if let Some(f) = &py_pop {
        let x = rate(&pop3s) / rate(f);
        println!(
            "  POP3S collection / poplib RETR loop: {x:.2}x (target >= 2: {})",
            verdict(x >= 2.0)
        );
    }
    if let Some(f) = &mb {
        let x = rate(&imaps) / rate(f);
        println!(
            "  IMAPS collection / mbsync:           {x:.2}x (target >= 2: {})",
            verdict(x >= 2.0)
        );
    }
    let peak = [&imaps, &pop3s, &big_imap, &big_pop3, &many_imap, &many_pop3]
        .iter()
        .map(|f| f.peak_kb)
        .max()
        .unwrap_or(0);
    println!(
        "  peak memory of the collections:      {:.1} MB (target < 64: {})",
        peak as f64 / 1024.0,
        verdict(peak < 64 * 1024)
    );
    journal_figures(dir.path(), &mut rng);
    // Leave nothing behind in the shared Dovecot (unless asked to, for profiling a child:
    // `collect child collect DB ACCOUNT MAILBOX`).
    if std::env::var_os("MS_BENCH_KEEP_MAILBOXES").is_some() {
        println!("\nmailboxes kept: {mailbox} {big} {many}");
        return;
    }
    for m in [&mailbox, &big, &many] {
        let _ = mail_settings_tests::seed::remove_mailbox(m);
    }
}

/// Median of `xs` (sorted in place).
fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// The journal's figures: what it costs a collection (the same mailboxes collected with and
/// without it, alternately, in one run of this benchmark; medians of `ROUNDS` each), and the
/// median time of filtered journal pages over 1,000,000 entries seeded in SQL.
fn journal_figures(dir: &Path, rng: &mut Rng) {
    journal_cost(dir, rng);
    journal_page_figures(dir);
}

/// The journal's cost on a collection (see [`journal_figures`]).
fn journal_cost(dir: &Path, rng: &mut Rng) {
    const ROUNDS: usize = 7;
    let small = unique_mailbox("benchj");
    let small_total = fill_maildir(
        &small,
        (0..5_000).map(|i| {
            let size = 2_000 + (rng.next() % 6_000) as usize;
            message(i, size, rng)
        }),
    );
    let large = unique_mailbox("benchjl");
    let large_total = fill_maildir(
        &large,
        (0..1_000).map(|i| {
            let size = 10_000 + (rng.next() % 80_000) as usize;
            message(i, size, rng)
        }),
    );
    run_child(&["raw-imap", &small]);
    run_child(&["raw-imap", &large]);
    println!(
        "\ncollection journal: cost on a collection (IMAPS, keep copy, a fresh store each run; \
         median of {ROUNDS} runs each, with and without alternating)"
    );
    for (label, mailbox, total) in [
        ("5000 small messages", &small, small_total),
        ("1000 messages 10-90 KB", &large, large_total),
    ] {
        let (mut on, mut off) = (Vec::new(), Vec::new());
        // One warm-up of each, not counted.
        collect_case_with(Protocol::Imap, mailbox, dir, "j-on", true, false);
        collect_case_with(Protocol::Imap, mailbox, dir, "j-off", false, false);
        for _ in 0..ROUNDS {
            on.push(collect_case_with(Protocol::Imap, mailbox, dir, "j-on", true, false).seconds);
            off.push(
                collect_case_with(Protocol::Imap, mailbox, dir, "j-off", false, false).seconds,
            );
        }
        let (m_on, m_off) = (median(&mut on), median(&mut off));
        println!(
            "  {label} ({:.1} MB): with the journal {m_on:.3} s, without {m_off:.3} s: {:+.1} % \
             (target <= +3 %: {})",
            total as f64 / 1e6,
            100.0 * (m_on / m_off - 1.0),
            if m_on <= m_off * 1.03 {
                "met"
            } else {
                "missed"
            }
        );
    }
    for m in [&small, &large] {
        let _ = mail_settings_tests::seed::remove_mailbox(m);
    }
}

/// Seeds 1,000,000 journal entries (10 accounts, 90 days, the outcomes' usual mix) straight
/// in SQL and times filtered pages of 30 rows, as the report and the command read them.
fn journal_page_figures(dir: &Path) {
    use mail_settings_core::collector::MessageOutcome;
    use mail_settings_core::journal::{self, AccountFilter, JournalFilters};
    const ENTRIES: i64 = 1_000_000;
    const ACCOUNTS: i64 = 10;
    let db = dir.join("journal-1m.db");
    let store = Store::open(&db).unwrap();
    let mut ids = Vec::new();
    for a in 0..ACCOUNTS {
        let (mut form, _) = incoming_form(
            Protocol::Imap,
            &format!("journal{a}@example.test"),
            Some(SecureConnectionType::Ssl),
            Cert::Valid,
            Via::Direct,
        );
        form.name = format!("Journal {a}");
        ids.push(store.create_incoming(&form).unwrap().id);
    }
    drop(store);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let seeded = Instant::now();
    {
        let mut c = rusqlite::Connection::open(&db).unwrap();
        // Seeding, not measured: the indexes are built once after the rows (as a bulk load
        // does), then the store is used as the library opens it.
        let indexes: Vec<(String, String)> = c
            .prepare(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' \
                 AND tbl_name = 'journal_entries' AND sql IS NOT NULL",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (name, _) in &indexes {
            c.execute_batch(&format!("DROP INDEX {name}")).unwrap();
        }
        let tx = c.transaction().unwrap();
        for (i, a) in ids.iter().enumerate() {
            tx.execute(
                "INSERT INTO journal_runs (id, account_id, started_at, ended_at) VALUES (?1, ?2, ?3, ?3)",
                rusqlite::params![i as i64 + 1, a, now - 90 * 86_400],
            )
            .unwrap();
        }
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO journal_entries (run_id, account_id, folder, server_id, outcome, \
                     category, reason, size, message_id, subject, first_seen, last_seen, seen_count) \
                     VALUES (?1, ?2, 'INBOX', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, 1)",
                )
                .unwrap();
            let mut r = Rng(42);
            for n in 0..ENTRIES {
                let k = (r.next() % ACCOUNTS as u64) as usize;
                let roll = r.next() % 100;
                let (outcome, category, reason) = match roll {
                    0..=84 => ("stored", None, ""),
                    85..=89 => ("duplicate", None, ""),
                    90..=93 => ("skipped_too_large", None, "larger than the account's limit"),
                    94..=96 => (
                        "refused",
                        Some("protocol"),
                        "the server refused to deliver it",
                    ),
                    _ => (
                        "failed",
                        Some("timeout"),
                        "the connection broke while fetching it",
                    ),
                };
                // Spread over 90 days, in id order (as a journal fills).
                let t = now - 90 * 86_400 + n * 90 * 86_400 / ENTRIES;
                st.execute(rusqlite::params![
                    k as i64 + 1,
                    ids[k],
                    format!("UID {n}"),
                    outcome,
                    category,
                    reason,
                    (r.next() % 100_000) as i64,
                    format!("<m{n}@example.test>"),
                    format!("Ticket {n}"),
                    t
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
        for (_, sql) in &indexes {
            c.execute_batch(sql).unwrap();
        }
    }
    println!(
        "\ncollection journal: pages of 30 over {ENTRIES} entries ({ACCOUNTS} accounts, 90 days; \
         seeded in {:.1} s); median of 51 reads each",
        seeded.elapsed().as_secs_f64()
    );
    let store = Store::open(&db).unwrap();
    let week = now - 7 * 86_400;
    let cases: Vec<(&str, JournalFilters, u32)> = vec![
        ("no filter, page 1", JournalFilters::default(), 1),
        (
            "account (name), page 1",
            JournalFilters {
                account: Some(AccountFilter::Name("Journal 3".into())),
                ..JournalFilters::default()
            },
            1,
        ),
        (
            "account + outcome refused, page 1",
            JournalFilters {
                account: Some(AccountFilter::Id(ids[3])),
                outcome: Some(MessageOutcome::Refused),
                ..JournalFilters::default()
            },
            1,
        ),
        (
            "outcome failed, page 1",
            JournalFilters {
                outcome: Some(MessageOutcome::Failed),
                ..JournalFilters::default()
            },
            1,
        ),
        (
            "account + last 7 days, page 1",
            JournalFilters {
                account: Some(AccountFilter::Id(ids[3])),
                since: Some(week),
                ..JournalFilters::default()
            },
            1,
        ),
        (
            "account + outcome failed, page 50",
            JournalFilters {
                account: Some(AccountFilter::Id(ids[3])),
                outcome: Some(MessageOutcome::Failed),
                ..JournalFilters::default()
            },
            50,
        ),
    ];
    for (label, f, page) in cases {
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..51 {
            let t = Instant::now();
            let p = journal::page(&store, &f, page, 30).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            total = p.total;
            assert!(p.rows.len() <= 30);
        }
        println!(
            "  {label:<36} {:>8.2} ms median ({total} matching)",
            median(&mut times)
        );
    }
}
