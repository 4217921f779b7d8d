//! The wire benchmark of issue 3: our SMTP, IMAP and POP3 drivers against the local real
//! servers, beside Python's smtplib, imaplib and poplib doing the same work in the same run
//! (`tests/benches/python_reference.py`).
//!
//! ```sh
//! cargo bench -p mail-settings-tests --bench wire
//! ```
//!
//! It is never part of the test command; it prints figures and whether the issue's targets are
//! met, and asserts only that the work was really done (every message sent and delivered, every
//! byte downloaded). What it measures:
//!
//! - **SMTP** (implicit TLS on `MS_SMTPS_PORT`, STARTTLS on `MS_SMTP_PORT`, AUTH PLAIN, the
//!   test CA trusted): N small messages (composed beforehand; Python sends the very same bytes)
//!   on one connection, through an [`SmtpPool`] (one thread, and four), with `send_many`
//!   (composing each message and RSET between them), and with a new connection per message.
//!   Each case sends to a mailbox of its own and waits, untimed, until Postfix has delivered
//!   everything, so one case's deliveries do not load the next.
//! - **Download**: a mailbox seeded with [`seed::seed_mailbox`] (2,000 messages of mixed sizes,
//!   about 100 MB) is downloaded in full over IMAPS (`uid_fetch_each`, a sweep of batch sizes,
//!   then the best against imaplib's batches of 100) and over POP3S (a RETR loop, and
//!   `retr_many` with PIPELINING, against poplib's RETR loop), each run in a process of its own
//!   (this binary again, or Python) that reports its time and its peak resident set (VmHWM).
//!
//! Figures are medians over `WIRE_ROUNDS` rounds with ours and Python's runs interleaved. The
//! servers share the machine's CPUs with the clients, and so does whatever else runs: the
//! output says how busy the machine was before the run and during each case, and splits each
//! download's CPU between the client, Dovecot and everything else, so that a figure skewed by
//! other work can be told from a slow client.
//! Knobs (environment): `WIRE_SMTP_MESSAGES` (200), `WIRE_SMTP_NEW_MESSAGES` (50, for a
//! new connection per message), `WIRE_MAILBOX_MESSAGES` (2000),
//! `WIRE_ROUNDS` (5), `WIRE_ONLY` (`smtp` or `download`), `WIRE_PYTHON` (`python3`).
//! Every mailbox it makes is removed at the end, also when it fails (unless `WIRE_KEEP` is set:
//! then they are listed, to profile one download by hand, e.g.
//! `target/release/deps/wire-* __wire_child imap|pop3-retr|pop3-pipelined MAILBOX BATCH`; remove
//! them afterwards with `seed::remove_mailbox`, or delete their directories under
//! `$MS_SERVERS_DIR/mail/example.test/`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mail_settings_core::imap;
use mail_settings_core::net::Timeouts;
use mail_settings_core::pop3::Pop3Client;
use mail_settings_core::smtp::{
    self, ComposedMessage, OutgoingMessage, PoolConfig, SmtpOptions, SmtpPool,
};
use mail_settings_core::{CredentialProvider, Protocol, SecureConnectionType, SmtpAccount};
use mail_settings_tests::procfs::{self, cpu_seconds, machine_jiffies, vm_hwm_kb};
use mail_settings_tests::{
    incoming_account, maildir_count, repo_root, seed, servers, smtp_account, unique_mailbox, Cert,
    Via,
};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// First argument of this binary when it runs one download as a child process.
const CHILD: &str = "__wire_child";
/// The seed of the downloaded mailbox's size mix and contents.
const SEED: u64 = 3;
/// Batch sizes tried for IMAP `UID FETCH`.
const IMAP_BATCHES: [usize; 6] = [10, 20, 50, 100, 200, 500];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(CHILD) {
        child(&args[2..]);
        return;
    }
    let started = Instant::now();
    let only = std::env::var("WIRE_ONLY").unwrap_or_default();
    let bench = Bench::new();
    bench.print_machine();
    if only.is_empty() || only == "smtp" {
        bench.smtp();
    }
    if only.is_empty() || only == "download" {
        bench.download();
    }
    drop(bench);
    println!("\nwhole run: {:.0} s", started.elapsed().as_secs_f64());
}

/// One measured run.
#[derive(Clone, Copy, Debug, Default)]
struct Measure {
    messages: u64,
    bytes: u64,
    seconds: f64,
    peak_kb: u64,
    /// CPU time (user + system) the client process used.
    cpu_seconds: f64,
    /// How busy the whole machine was meanwhile (all CPUs; 1.0 = every CPU all the time):
    /// the client, the servers, and anything else running.
    machine_busy: f64,
    /// CPU time the main Dovecot instance used meanwhile (downloads only).
    server_cpu_seconds: f64,
    /// SMTP on one connection: the time to open it (connect, TLS, EHLO, AUTH).
    setup_seconds: f64,
}

impl Measure {
    fn rate(&self) -> f64 {
        self.messages as f64 / self.seconds
    }
    fn mb_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds
    }
    fn peak_mb(&self) -> f64 {
        self.peak_kb as f64 / 1024.0
    }
    /// Client CPU as a percentage of one CPU.
    fn cpu_pct(&self) -> f64 {
        self.cpu_seconds / self.seconds * 100.0
    }
    /// Dovecot's CPU as a percentage of one CPU.
    fn server_pct(&self) -> f64 {
        self.server_cpu_seconds / self.seconds * 100.0
    }
    /// Everything else on the machine (other processes, kernel work not charged to either), as
    /// a percentage of one CPU.
    fn other_pct(&self) -> f64 {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        (self.machine_busy * cpus * 100.0 - self.cpu_pct() - self.server_pct()).max(0.0)
    }

    /// Parses the `RESULT k=v …` line a child prints.
    fn parse(stdout: &str) -> Option<Self> {
        let line = stdout.lines().rev().find(|l| l.starts_with("RESULT "))?;
        let mut m = Measure::default();
        for kv in line.split_whitespace().skip(1) {
            let (k, v) = kv.split_once('=')?;
            match k {
                "messages" => m.messages = v.parse().ok()?,
                "bytes" => m.bytes = v.parse().ok()?,
                "seconds" => m.seconds = v.parse().ok()?,
                "peak_kb" => m.peak_kb = v.parse().ok()?,
                "cpu_seconds" => m.cpu_seconds = v.parse().ok()?,
                "setup_seconds" => m.setup_seconds = v.parse().ok()?,
                _ => {}
            }
        }
        Some(m)
    }

    fn print(&self) {
        println!(
            "RESULT messages={} bytes={} seconds={:.6} peak_kb={} cpu_seconds={:.3}",
            self.messages, self.bytes, self.seconds, self.peak_kb, self.cpu_seconds
        );
    }
}

/// The run with the median time.
fn median(runs: &[Measure]) -> Measure {
    let mut v = runs.to_vec();
    v.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    v[v.len() / 2]
}

/// Mailboxes to remove at the end, also when the run panics (drop during unwinding).
struct Cleanup(Mutex<Vec<String>>);

impl Cleanup {
    fn add(&self, mailbox: &str) {
        self.0.lock().unwrap().push(mailbox.to_owned());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let boxes = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        if std::env::var_os("WIRE_KEEP").is_some() {
            println!("\nkept (WIRE_KEEP): {}", boxes.join(" "));
            return;
        }
        let mut failed = 0;
        for b in &boxes {
            if let Err(e) = seed::remove_mailbox(b) {
                eprintln!("could not remove mailbox {b}: {e}");
                failed += 1;
            }
        }
        println!(
            "\ncleaned up: {} mailboxes removed{}",
            boxes.len() - failed,
            if failed > 0 { " (some failed)" } else { "" }
        );
    }
}

struct Bench {
    python: Option<String>,
    script: PathBuf,
    rounds: usize,
    cleanup: Cleanup,
}

fn secs_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn sec_name(s: SecureConnectionType) -> &'static str {
    match s {
        SecureConnectionType::Ssl => "SSL",
        _ => "STARTTLS",
    }
}

fn target_text(ratio: f64, needed: f64) -> String {
    if ratio >= needed {
        format!(">= {needed}x: target met")
    } else {
        format!(
            ">= {needed}x: target NOT met (short by {:.0} %)",
            (1.0 - ratio / needed) * 100.0
        )
    }
}

/// CPU seconds (user + system) used so far by the main Dovecot instance: its master, its live
/// children (login, imap, pop3, auth processes) and the children it has reaped.
fn dovecot_cpu_seconds() -> f64 {
    let Ok(pid) = std::fs::read_to_string(servers().dir.join("dovecot/main/master.pid")) else {
        return 0.0;
    };
    let master: u32 = pid.trim().parse().unwrap_or(0);
    let fields = procfs::stat_fields;
    let mut ticks = 0u64;
    if let Some(f) = fields(&master.to_string()) {
        ticks += f[11] + f[12] + f[13] + f[14];
    }
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Some(f) = fields(name) {
            if f.len() > 12 && f[1] == u64::from(master) {
                ticks += f[11] + f[12];
            }
        }
    }
    ticks as f64 / procfs::TICKS_PER_SECOND
}

/// What the parent samples when a child starts and ends its timed part.
#[derive(Clone, Copy)]
struct Sample {
    busy: u64,
    total: u64,
    dovecot: f64,
}

impl Sample {
    fn now() -> Self {
        let (busy, total) = machine_jiffies();
        Self {
            busy,
            total,
            dovecot: dovecot_cpu_seconds(),
        }
    }
}

/// Runs a child that prints `BEGIN` and `END` around its timed part and then a `RESULT` line;
/// adds how busy the machine and Dovecot were between the two marks.
fn measured_child(cmd: &mut Command) -> Option<Measure> {
    use std::io::BufRead;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    let (mut begin, mut end) = (None, None);
    let mut out = String::new();
    for line in io::BufReader::new(stdout).lines() {
        let line = line.ok()?;
        match line.as_str() {
            "BEGIN" => begin = Some(Sample::now()),
            "END" => end = Some(Sample::now()),
            _ => {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    let status = child.wait().ok()?;
    if !status.success() {
        eprintln!("{cmd:?} failed: {status}");
        return None;
    }
    let mut m = Measure::parse(&out);
    if m.is_none() {
        eprintln!("{cmd:?}: no RESULT line in {out:?}");
    }
    if let (Some(m), Some(b), Some(e)) = (&mut m, begin, end) {
        m.machine_busy = (e.busy - b.busy) as f64 / (e.total - b.total).max(1) as f64;
        m.server_cpu_seconds = e.dovecot - b.dovecot;
    }
    m
}

fn run_output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::inherit()).output().ok()?;
    if !out.status.success() {
        eprintln!("{cmd:?} failed: {}", out.status);
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Bench {
    fn new() -> Self {
        // Start the servers (idempotent) before anything is timed.
        servers();
        let python = std::env::var("WIRE_PYTHON").unwrap_or_else(|_| "python3".into());
        let python = Command::new(&python)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| python);
        if python.is_none() {
            println!("python3 not found: the Python columns stay empty");
        }
        Self {
            python,
            script: repo_root().join("tests/benches/python_reference.py"),
            rounds: env_usize("WIRE_ROUNDS", 5).max(1),
            cleanup: Cleanup(Mutex::new(Vec::new())),
        }
    }

    fn mailbox(&self, prefix: &str) -> String {
        let m = unique_mailbox(prefix);
        self.cleanup.add(&m);
        m
    }

    fn print_machine(&self) {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or("?", |(_, v)| v.trim())
            .to_owned();
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        let mem = std::fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .unwrap_or(0.0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let openssl = run_output(Command::new("openssl").arg("version")).unwrap_or_default();
        let python = self
            .python
            .as_ref()
            .and_then(|p| {
                run_output(Command::new(p).args([
                    "-c",
                    "import sys, ssl; print(sys.version.split()[0], ssl.OPENSSL_VERSION)",
                ]))
            })
            .unwrap_or_else(|| "none".into());
        println!("== wire benchmark (issue 3) ==");
        println!(
            "machine: {cpus} CPUs ({model}), {:.1} GiB RAM, Linux {}",
            mem / 1024.0 / 1024.0,
            kernel.trim()
        );
        println!(
            "ours: release build, native-tls over {}; Python {}",
            openssl.trim(),
            python.trim()
        );
        println!(
            "servers: Dovecot and Postfix of tests/servers on 127.0.0.1, sharing the CPUs with the clients; {} rounds, medians",
            self.rounds
        );
        // Whatever else runs on the machine skews every figure: say how much there was.
        let (b0, t0) = machine_jiffies();
        std::thread::sleep(Duration::from_secs(2));
        let (b1, t1) = machine_jiffies();
        let idle_busy = (b1 - b0) as f64 / (t1 - t0).max(1) as f64 * 100.0;
        println!(
            "background load before the run: {idle_busy:.0} % of the machine busy{}",
            if idle_busy > 10.0 {
                " (other work is running: figures are noisier and lower than on an idle machine)"
            } else {
                ""
            }
        );
    }

    fn python(&self, kind: &str, mailbox: &str, args: &[String]) -> Option<Measure> {
        let python = self.python.as_ref()?;
        let s = servers();
        measured_child(
            Command::new(python)
                .arg(&self.script)
                .arg(kind)
                .args(["--user", mailbox])
                .arg("--cafile")
                .arg(s.ca_file())
                .args(args)
                .env("MS_BENCH_PASSWORD", s.mail_password()),
        )
    }

    // ---------------------------------------------------------------------------------------
    // SMTP
    // ---------------------------------------------------------------------------------------

    fn smtp(&self) {
        let n_one = env_usize("WIRE_SMTP_MESSAGES", 200).max(1);
        // A new connection per message is slower: fewer messages keep the run short.
        let n_new = env_usize("WIRE_SMTP_NEW_MESSAGES", 50).max(1);
        let sender = self.mailbox("wire-sender");
        let creds: Arc<dyn CredentialProvider> = Arc::new(servers().credentials_for(&sender));
        let body = smtp_body();
        let secs = [SecureConnectionType::Ssl, SecureConnectionType::Tls];
        let cases = [
            "one connection",
            "pool, 1 thread",
            "pool, 4 threads",
            "send_many (composes, RSET)",
            "new connection per message",
        ];
        // (security, case) -> ours runs, python runs
        let mut ours: Vec<Vec<Vec<Measure>>> = vec![vec![Vec::new(); cases.len()]; 2];
        let mut py: Vec<Vec<Vec<Measure>>> = vec![vec![Vec::new(); cases.len()]; 2];
        let mut size = 0usize;
        println!(
            "\n== SMTP: {n_one} messages per case ({n_new} with a new connection per message), AUTH PLAIN, test CA trusted; every message delivered before the next case =="
        );
        for round in 0..self.rounds {
            for (si, &sec) in secs.iter().enumerate() {
                let account = smtp_account(&sender, Some(sec), Cert::Valid, Via::Direct, true);
                let port = account.connection().endpoint.port;
                for ci in 0..cases.len() {
                    let n = if ci == 4 { n_new } else { n_one };
                    let rcpt = self.mailbox("wire-rcpt");
                    let outgoing: Vec<OutgoingMessage> = (0..n)
                        .map(|i| {
                            OutgoingMessage::new()
                                .to(rcpt.as_str())
                                .subject(format!("wire bench {round}/{ci}/{i}"))
                                .text(body.as_str())
                        })
                        .collect();
                    let composed: Vec<ComposedMessage> = outgoing
                        .iter()
                        .map(|m| smtp::compose(&account, m).unwrap())
                        .collect();
                    size = composed[0].data.len();
                    let m = match ci {
                        0 => smtp_one_connection(&account, creds.as_ref(), &composed),
                        1 => smtp_pool(&account, &creds, &composed, 1),
                        2 => smtp_pool(&account, &creds, &composed, 4),
                        3 => smtp_send_many(&account, creds.as_ref(), &outgoing),
                        _ => smtp_new_connections(&account, creds.as_ref(), &composed),
                    };
                    wait_delivered(&rcpt, n);
                    ours[si][ci].push(m);
                    // Python: one connection and a new connection per message, the same bytes.
                    let mode = match ci {
                        0 => "one",
                        4 => "new",
                        _ => continue,
                    };
                    let rcpt = self.mailbox("wire-rcpt");
                    let dir = tempfile::tempdir().unwrap();
                    for (i, c) in composed.iter().enumerate() {
                        let data = retarget(&c.data, &c.envelope.rcpt_to[0], &rcpt);
                        std::fs::write(dir.path().join(format!("{i:06}.eml")), data).unwrap();
                    }
                    let from = composed[0]
                        .envelope
                        .mail_from
                        .clone()
                        .unwrap_or_else(|| sender.clone());
                    let args = vec![
                        "--port".to_owned(),
                        port.to_string(),
                        "--security".into(),
                        if sec == SecureConnectionType::Ssl {
                            "ssl"
                        } else {
                            "starttls"
                        }
                        .into(),
                        "--mode".into(),
                        mode.into(),
                        "--sender".into(),
                        from,
                        "--rcpt".into(),
                        rcpt.clone(),
                        "--dir".into(),
                        dir.path().display().to_string(),
                    ];
                    if let Some(m) = self.python("smtp", &sender, &args) {
                        assert_eq!(m.messages, n as u64, "python sent every message");
                        wait_delivered(&rcpt, n);
                        py[si][ci].push(m);
                    }
                }
            }
            eprintln!("smtp round {} of {} done", round + 1, self.rounds);
        }
        println!("message size: {size} bytes (text/plain, composed by smtp::compose)");
        // Part of every new connection of ours: a TLS context made for it.
        let account = smtp_account(
            &sender,
            Some(SecureConnectionType::Ssl),
            Cert::Valid,
            Via::Direct,
            true,
        );
        let mut setups: Vec<f64> = (0..20)
            .map(|_| {
                let t = Instant::now();
                mail_settings_core::net::tls::connector(&account.connection().tls).unwrap();
                secs_since(t) * 1e3
            })
            .collect();
        setups.sort_by(f64::total_cmp);
        println!(
            "TLS context per new connection (ours: net::tls::connector, system roots + test CA): {:.1} ms; smtplib reuses one context\n",
            setups[setups.len() / 2]
        );
        println!(
            "{:<9} {:<28} {:>11} {:>13} {:>12} {:>13}  target",
            "security", "case", "ours msg/s", "python msg/s", "ours/python", "machine o/p"
        );
        for (si, &sec) in secs.iter().enumerate() {
            for (ci, case) in cases.iter().enumerate() {
                let o = median(&ours[si][ci]);
                let p = (!py[si][ci].is_empty()).then(|| median(&py[si][ci]));
                let ratio = p.map(|p| o.rate() / p.rate());
                let target = match (sec, ci, ratio) {
                    (_, 0, Some(r)) => target_text(r, 1.0),
                    (SecureConnectionType::Ssl, 4, Some(r)) => target_text(r, 5.0),
                    (_, 0 | 4, None) => "(no Python figure)".into(),
                    (_, 4, _) => "(no target for STARTTLS)".into(),
                    _ => String::new(),
                };
                println!(
                    "{:<9} {:<28} {:>11.1} {:>13} {:>12} {:>13}  {}",
                    sec_name(sec),
                    case,
                    o.rate(),
                    p.map_or("-".into(), |p| format!("{:.1}", p.rate())),
                    ratio.map_or("-".into(), |r| format!("{r:.2}x")),
                    format!(
                        "{:.0}/{}%",
                        o.machine_busy * 100.0,
                        p.map_or("-".into(), |p| format!("{:.0}", p.machine_busy * 100.0))
                    ),
                    target
                );
            }
        }
        println!(
            "(machine o/p: how busy the whole machine was during our run / Python's, 100 % = every CPU: client, Postfix, Dovecot and anything else)"
        );
        // Where one connection's time goes: opening it, then each message.
        for (si, &sec) in secs.iter().enumerate() {
            let o = median(&ours[si][0]);
            let split = |m: &Measure| {
                format!(
                    "opening {:.1} ms, then {:.2} ms a message",
                    m.setup_seconds * 1e3,
                    (m.seconds - m.setup_seconds) * 1e3 / m.messages as f64
                )
            };
            println!(
                "{} one connection: ours {}; python {}",
                sec_name(sec),
                split(&o),
                if py[si][0].is_empty() {
                    "-".to_owned()
                } else {
                    split(&median(&py[si][0]))
                }
            );
        }
    }

    // ---------------------------------------------------------------------------------------
    // Download
    // ---------------------------------------------------------------------------------------

    fn download(&self) {
        let count = env_usize("WIRE_MAILBOX_MESSAGES", 2000).max(1);
        let mailbox = self.mailbox("wire-download");
        let t = Instant::now();
        let seeded = seed::seed_mailbox(&mailbox, count, SEED).unwrap();
        let seeding = secs_since(t);
        let total = seeded.wire_bytes();
        // Dovecot indexes the new files at the first open: do it now, untimed, and check that
        // it sees every message with its size.
        let t = Instant::now();
        let creds = servers().credentials_for(&mailbox);
        let account = incoming_account(
            Protocol::Imap,
            &mailbox,
            Some(SecureConnectionType::Ssl),
            Cert::Valid,
            Via::Direct,
            true,
        );
        let mut s = imap::connect(&account, &creds, &imap::ImapOptions::default()).unwrap();
        s.select("INBOX").unwrap();
        let sizes = s.fetch_sizes(1, None).unwrap();
        s.logout().unwrap();
        assert_eq!(sizes.len(), count, "Dovecot sees every seeded message");
        assert_eq!(
            sizes.iter().map(|m| u64::from(m.size)).sum::<u64>(),
            total,
            "Dovecot's RFC822.SIZE total is the seeded total"
        );
        let pop = incoming_account(
            Protocol::Pop3,
            &mailbox,
            Some(SecureConnectionType::Ssl),
            Cert::Valid,
            Via::Direct,
            true,
        );
        let mut p = Pop3Client::connect(&pop, &creds, &Timeouts::default()).unwrap();
        let stat = p.stat().unwrap();
        p.quit().unwrap();
        assert_eq!((stat.count as usize, stat.size), (count, total));
        println!(
            "\n== Download: {count} messages, {:.1} MB (CRLF form; {} small 2-20 KB, {} of 100 KB-1 MB, {} of 2-5 MB), seeded in {seeding:.1} s, indexed by Dovecot in {:.1} s ==",
            total as f64 / 1e6,
            seeded.sizes.iter().filter(|&&s| s < 64 * 1024).count(),
            seeded
                .sizes
                .iter()
                .filter(|&&s| (64 * 1024..2 << 20).contains(&s))
                .count(),
            seeded.sizes.iter().filter(|&&s| s >= 2 << 20).count(),
            secs_since(t),
        );
        println!("each run in its own process; peak = that process's VmHWM; bytes counted and checked, then dropped\n");

        let check = |what: &str, m: &Measure| {
            assert_eq!(
                (m.messages, m.bytes),
                (count as u64, total),
                "{what} downloaded every message, byte for byte"
            );
        };
        let ours_child = |kind: &str, batch: usize| {
            let m = measured_child(Command::new(std::env::current_exe().unwrap()).args([
                CHILD,
                kind,
                &mailbox,
                &batch.to_string(),
            ]))
            .expect("child run");
            check(kind, &m);
            m
        };
        let imaps = servers().port("MS_IMAPS_PORT").to_string();
        let pop3s = servers().port("MS_POP3S_PORT").to_string();
        let py = |kind: &str, port: &str, extra: &[&str]| {
            let mut args = vec!["--port".to_owned(), port.to_owned()];
            args.extend(extra.iter().map(|s| (*s).to_owned()));
            let m = self.python(kind, &mailbox, &args);
            if let Some(m) = &m {
                check(kind, m);
            }
            m
        };

        // IMAP batch sweep: two passes, each batch size's faster run kept.
        println!("IMAPS uid_fetch_each, batch sweep (ours, faster of two runs each):");
        let mut sweep: Vec<Option<Measure>> = vec![None; IMAP_BATCHES.len()];
        for _pass in 0..2 {
            for (i, b) in IMAP_BATCHES.into_iter().enumerate() {
                let m = ours_child("imap", b);
                if sweep[i].is_none_or(|s| m.seconds < s.seconds) {
                    sweep[i] = Some(m);
                }
            }
        }
        let mut best = (0usize, f64::MAX);
        for (b, m) in IMAP_BATCHES.into_iter().zip(sweep.into_iter().flatten()) {
            println!(
                "  batch {b:>4}: {:>7.1} msg/s {:>6.1} MB/s  peak {:>6.1} MB  CPU: client {:>3.0}% Dovecot {:>3.0}% other {:>3.0}%",
                m.rate(),
                m.mb_s(),
                m.peak_mb(),
                m.cpu_pct(),
                m.server_pct(),
                m.other_pct()
            );
            if m.seconds < best.1 {
                best = (b, m.seconds);
            }
        }
        let batch = best.0;
        println!("  best: batch {batch}\n");

        let mut imap_ours = Vec::new();
        let mut imap_py = Vec::new();
        let mut retr_ours = Vec::new();
        let mut many_ours = Vec::new();
        let mut pop_py = Vec::new();
        for round in 0..self.rounds {
            imap_ours.push(ours_child("imap", batch));
            imap_py.extend(py("imap", &imaps, &["--batch", "100"]));
            retr_ours.push(ours_child("pop3-retr", 0));
            many_ours.push(ours_child("pop3-pipelined", 0));
            pop_py.extend(py("pop3", &pop3s, &[]));
            eprintln!("download round {} of {} done", round + 1, self.rounds);
        }
        println!(
            "{:<16} {:<30} {:>8} {:>7} {:>8} {:>8} {:>8} {:>8}",
            "case", "client", "msg/s", "MB/s", "peak MB", "client", "Dovecot", "other"
        );
        let line = |case: &str, client: &str, m: &Measure| {
            println!(
                "{:<16} {:<30} {:>8.1} {:>7.1} {:>8.1} {:>7.0}% {:>7.0}% {:>7.0}%",
                case,
                client,
                m.rate(),
                m.mb_s(),
                m.peak_mb(),
                m.cpu_pct(),
                m.server_pct(),
                m.other_pct()
            );
        };
        let case =
            |name: &str, ours: &[(&str, &[Measure])], py_name: &str, p: &[Measure], needed: f64| {
                let p = (!p.is_empty()).then(|| median(p));
                for (i, (client, runs)) in ours.iter().enumerate() {
                    line(if i == 0 { name } else { "" }, client, &median(runs));
                }
                match p {
                    Some(p) => {
                        line("", py_name, &p);
                        for (client, runs) in ours {
                            let r = p.seconds / median(runs).seconds;
                            println!(
                                "{:<16} -> {client}: {r:.2}x {py_name}; {}",
                                "",
                                target_text(r, needed)
                            );
                        }
                    }
                    None => println!("{:<16} -> no Python figure", ""),
                }
            };
        let imap_name = format!("ours, batch {batch}");
        case(
            "IMAPS download",
            &[(imap_name.as_str(), &imap_ours)],
            "imaplib, batches of 100",
            &imap_py,
            1.0,
        );
        case(
            "POP3S download",
            &[
                ("ours, RETR loop", &retr_ours),
                ("ours, retr_many (pipelined)", &many_ours),
            ],
            "poplib, RETR loop",
            &pop_py,
            2.0,
        );
        println!(
            "(CPU over the download's wall time, 100 % = one of the {} CPUs: the client process, the Dovecot instance serving it, and everything else on the machine)",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
    }
}

/// About 1.5 KB of notification text.
fn smtp_body() -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < 1500 {
        s.push_str(&format!(
            "Line {i}: the scheduled password rotation of account {i} finished without errors.\n"
        ));
        i += 1;
    }
    s
}

/// The message's bytes with its `To:` address replaced (Python sends to a mailbox of its own).
fn retarget(data: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(data);
    let end = text.find("\r\n\r\n").unwrap_or(text.len());
    let (head, body) = text.split_at(end);
    let head = head.replace(from, to);
    format!("{head}{body}").into_bytes()
}

/// Waits (untimed) until `mailbox` holds `n` messages: Postfix delivered everything.
fn wait_delivered(mailbox: &str, n: usize) {
    let t = Instant::now();
    loop {
        let got = maildir_count(mailbox);
        if got >= n {
            assert_eq!(got, n, "{mailbox} got more messages than were sent");
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "{mailbox}: only {got} of {n} messages delivered after 300 s"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn measure_smtp(n: usize, f: impl FnOnce()) -> Measure {
    let (b0, t0) = machine_jiffies();
    let t = Instant::now();
    f();
    let seconds = secs_since(t);
    let (b1, t1) = machine_jiffies();
    Measure {
        messages: n as u64,
        seconds,
        machine_busy: (b1 - b0) as f64 / (t1 - t0).max(1) as f64,
        ..Measure::default()
    }
}

fn smtp_one_connection(
    account: &SmtpAccount,
    creds: &dyn CredentialProvider,
    msgs: &[ComposedMessage],
) -> Measure {
    let t = Instant::now();
    let mut setup = 0.0;
    let mut m = measure_smtp(msgs.len(), || {
        let mut c = smtp::connect(account, creds, &SmtpOptions::default()).unwrap();
        setup = secs_since(t);
        for m in msgs {
            c.send(&m.envelope, &m.data).unwrap();
        }
        let mut stream = c.quit().unwrap();
        let _ = stream.shutdown();
    });
    m.setup_seconds = setup;
    m
}

fn smtp_pool(
    account: &SmtpAccount,
    creds: &Arc<dyn CredentialProvider>,
    msgs: &[ComposedMessage],
    threads: usize,
) -> Measure {
    measure_smtp(msgs.len(), || {
        let pool = SmtpPool::new(
            account.clone(),
            Arc::clone(creds),
            SmtpOptions::default(),
            PoolConfig::default(),
        )
        .unwrap();
        std::thread::scope(|s| {
            for t in 0..threads {
                let pool = &pool;
                s.spawn(move || {
                    for m in msgs.iter().skip(t).step_by(threads) {
                        pool.send_composed(m).unwrap();
                    }
                });
            }
        });
        pool.close_idle();
    })
}

fn smtp_send_many(
    account: &SmtpAccount,
    creds: &dyn CredentialProvider,
    msgs: &[OutgoingMessage],
) -> Measure {
    measure_smtp(msgs.len(), || {
        for r in smtp::send_many(account, creds, msgs, &SmtpOptions::default()) {
            r.unwrap();
        }
    })
}

fn smtp_new_connections(
    account: &SmtpAccount,
    creds: &dyn CredentialProvider,
    msgs: &[ComposedMessage],
) -> Measure {
    measure_smtp(msgs.len(), || {
        for m in msgs {
            smtp::send_composed(account, creds, m, &SmtpOptions::default()).unwrap();
        }
    })
}

// -------------------------------------------------------------------------------------------
// Child processes: one download each, reporting time and peak memory.
// -------------------------------------------------------------------------------------------

/// Counts what it is given and keeps nothing.
struct Count<'a>(&'a mut u64);

impl Write for Count<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        *self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `__wire_child <imap|pop3-retr|pop3-pipelined> <mailbox> <imap batch>`: downloads the whole
/// mailbox over implicit TLS and prints a `RESULT` line.
fn child(args: &[String]) {
    let (kind, mailbox, batch) = (&args[0], &args[1], args[2].parse::<usize>().unwrap());
    let creds = servers().credentials_for(mailbox);
    let protocol = if kind == "imap" {
        Protocol::Imap
    } else {
        Protocol::Pop3
    };
    let account = incoming_account(
        protocol,
        mailbox,
        Some(SecureConnectionType::Ssl),
        Cert::Valid,
        Via::Direct,
        true,
    );
    let mut messages = 0u64;
    let mut bytes = 0u64;
    // The parent samples the machine and Dovecot at these two marks.
    println!("BEGIN");
    io::stdout().flush().unwrap();
    let cpu = cpu_seconds();
    let t = Instant::now();
    match kind.as_str() {
        "imap" => {
            let mut options = imap::ImapOptions::default();
            options.fetch_batch = batch;
            let mut s = imap::connect(&account, &creds, &options).unwrap();
            s.select("INBOX").unwrap();
            let uids = s.uids().unwrap();
            s.uid_fetch_each(&uids, |m| {
                messages += 1;
                Count(&mut bytes).write_all(&m.raw).unwrap();
                Ok(())
            })
            .unwrap();
            s.logout().unwrap();
        }
        "pop3-retr" => {
            let mut c = Pop3Client::connect(&account, &creds, &Timeouts::default()).unwrap();
            let stat = c.stat().unwrap();
            for n in 1..=stat.count {
                c.retr(n, &mut Count(&mut bytes)).unwrap();
                messages += 1;
            }
            c.quit().unwrap();
        }
        "pop3-pipelined" => {
            let mut c = Pop3Client::connect(&account, &creds, &Timeouts::default()).unwrap();
            let stat = c.stat().unwrap();
            let numbers: Vec<u32> = (1..=stat.count).collect();
            let mut counts = vec![0u64; numbers.len()];
            let mut sinks: Vec<Count<'_>> = counts.iter_mut().map(Count).collect();
            for r in c.retr_many(&numbers, &mut sinks).unwrap() {
                r.unwrap();
                messages += 1;
            }
            drop(sinks);
            bytes = counts.iter().sum();
            c.quit().unwrap();
        }
        other => panic!("unknown child kind {other}"),
    }
    let seconds = secs_since(t);
    let cpu_seconds = cpu_seconds() - cpu;
    println!("END");
    io::stdout().flush().unwrap();
    Measure {
        messages,
        bytes,
        seconds,
        peak_kb: vm_hwm_kb(),
        cpu_seconds,
        ..Measure::default()
    }
    .print();
}
