//! Collectors that share the work: several `collect_node` processes over one store and many
//! accounts on the local Dovecot, each account collected under its lease (see
//! `mail_settings_core::collector::lease`). One node is killed with SIGKILL and restarted at
//! random moments, one is paused (SIGSTOP) past its lease and resumed. Every message must end
//! in the inbox exactly once and be gone from the server, none lost at any point, and the
//! fencing record must show each account changing hands with a larger token every time.
//!
//! The store is given to the nodes as a location: an SQLite file shared by the processes
//! (several processes on one file is what SQLite leases cover), or a `postgres://` URL to a
//! fresh database on the test PostgreSQL (created for the test, dropped at its end). Also
//! prints accounts collected per second with 1, 2 and 4 nodes, and the commit rate of each
//! backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod collector_support;

use collector_support::*;
use mail_settings_core::collector::lease::{self, Acquisition, LeaseStore, Leases};
use mail_settings_core::store::Store;
use mail_settings_core::{Protocol, RecordId, SecureConnectionType};
use mail_settings_tests::{lmtp_deliver, servers, unique_mailbox};
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// xorshift64*: reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A store for the nodes: an SQLite file in a temporary directory, or a fresh database on
/// the test PostgreSQL (dropped when this is dropped).
struct Db {
    location: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

fn psql(sql: &str) -> bool {
    let s = servers();
    Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p"])
        .arg(s.value("MS_POSTGRES_PORT"))
        .args([
            "-U",
            s.value("MS_POSTGRES_USER"),
            "-d",
            "postgres",
            "-c",
            sql,
        ])
        .env("PGPASSWORD", s.value("MS_POSTGRES_PASSWORD"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|st| st.success())
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        Db {
            location: dir.path().join("shared.db").display().to_string(),
            _dir: Some(dir),
            pg_name: None,
        }
    }

    /// `None` (said on stderr) when the test PostgreSQL does not answer, unless
    /// `MS_REQUIRE_POSTGRES=1`.
    fn postgres(test: &str) -> Option<Db> {
        let s = servers();
        let port: u16 = s.value("MS_POSTGRES_PORT").parse().unwrap();
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::env::var("MS_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "MS_REQUIRE_POSTGRES=1 but the test PostgreSQL does not answer"
            );
            eprintln!("skipped {test} on PostgreSQL: no test PostgreSQL");
            return None;
        }
        let name = format!("ms_nodes_{test}_{}", std::process::id());
        assert!(psql(&format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )));
        assert!(psql(&format!("CREATE DATABASE {name}")), "create {name}");
        Some(Db {
            location: pg_url(&name, port),
            _dir: None,
            pg_name: Some(name),
        })
    }

    fn open(&self) -> Store {
        Store::open(&self.location).unwrap()
    }
}

/// The URL of database `name` on the test PostgreSQL reached at `port` (the password from the
/// servers' password file).
fn pg_url(name: &str, port: u16) -> String {
    let s = servers();
    let dir = s.dir.display();
    format!(
        "postgres://{}@localhost:{port}/{name}?sslrootcert={dir}/certs/ca.pem&passfile={dir}/postgres/pgpass&connect_timeout=5",
        s.value("MS_POSTGRES_USER")
    )
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            if !psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")) {
                eprintln!("could not drop the test database {name}");
            }
        }
    }
}

/// Every node process started, killed (and woken first) when the test ends, even on a panic:
/// a failed test must leave no paused or running node behind.
/// (test thread, pid): tests run on threads of their own, each kills its own nodes.
static STARTED: std::sync::Mutex<Vec<(std::thread::ThreadId, u32)>> =
    std::sync::Mutex::new(Vec::new());

struct KillNodes;

impl Drop for KillNodes {
    fn drop(&mut self) {
        let me = std::thread::current().id();
        let mine: Vec<u32> = {
            let mut all = STARTED.lock().unwrap_or_else(|p| p.into_inner());
            let mine = all
                .iter()
                .filter(|(t, _)| *t == me)
                .map(|(_, p)| *p)
                .collect();
            all.retain(|(t, _)| *t != me);
            mine
        };
        for pid in mine {
            for sig in ["-CONT", "-KILL"] {
                let _ = Command::new("kill")
                    .args([sig, &pid.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

fn started(child: Child) -> Child {
    STARTED
        .lock()
        .unwrap()
        .push((std::thread::current().id(), child.id()));
    child
}

fn node(db: &str, owner: &str, ttl_ms: u64) -> Child {
    started(
        Command::new(env!("CARGO_BIN_EXE_collect_node"))
            .arg(db)
            .arg(owner)
            .arg(ttl_ms.to_string())
            .env("MS_MAIL_PASSWORD", servers().mail_password())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// Waits until every account's server is empty (at most `limit`), then tells the nodes to
/// stop after their run in progress (their standard input closed).
fn stop_when_collected(set: &Accounts, nodes: &mut [&mut Child], limit: Duration) {
    let started = Instant::now();
    while set.ids.iter().any(|(_, m, _)| !server_ids(m).is_empty()) {
        assert!(started.elapsed() < limit, "not collected within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    for n in nodes {
        drop(n.stdin.take());
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {}", child.id());
}

struct Accounts {
    /// Opened before the nodes start and kept: opening an SQLite store while other processes
    /// write to it can fail with "database is locked" (seen here at 200 accounts).
    store: Arc<Store>,
    db: Db,
    ids: Vec<(RecordId, String, Vec<String>)>,
}

/// `n` accounts with `per` messages each on the local Dovecot (IMAP over TLS, keep copy off),
/// in `db`.
fn accounts(db: Db, n: usize, per: usize, tag: &str) -> Accounts {
    let store = Arc::new(db.open());
    let mut ids = Vec::new();
    for a in 0..n {
        let mailbox = unique_mailbox(tag);
        let id = create_account(
            &store,
            Protocol::Imap,
            &mailbox,
            false,
            Some(SecureConnectionType::Ssl),
            None,
        );
        let t = format!("{tag}{a}-{}", mailbox.split('@').next().unwrap());
        let mut expected = Vec::new();
        for i in 0..per {
            lmtp_deliver("sender@example.test", &mailbox, &message(&t, i, 2_000));
            expected.push(message_id(&t, i));
        }
        ids.push((id, mailbox, expected));
    }
    Accounts { store, db, ids }
}

impl Accounts {
    fn db(&self) -> &str {
        &self.db.location
    }

    /// Nothing lost anywhere; with `done`, everything in the inbox once and gone from the
    /// server.
    fn check(&self, done: bool, context: &str) {
        let store = &self.store;
        for (id, mailbox, expected) in &self.ids {
            // The server first: a message leaves it only after it is committed to the inbox,
            // so one not on the server now is in the inbox when read next, even while other
            // nodes are collecting.
            let server = server_ids(mailbox);
            let inbox = inbox_ids(store, *id);
            assert_none_lost(&inbox, &server, expected, context);
            if done {
                assert_exactly_once(&inbox, expected, context);
                assert!(
                    server.is_empty(),
                    "{context}: left on the server: {server:?}"
                );
            }
        }
    }

    /// The fencing record, by account, in the order of acquisition.
    fn lease_log(&self) -> BTreeMap<RecordId, Vec<Acquisition>> {
        let mut out: BTreeMap<RecordId, Vec<Acquisition>> = BTreeMap::new();
        for a in lease::acquisitions(LeaseStore::Store(&self.store)).unwrap() {
            out.entry(a.account_id).or_default().push(a);
        }
        out
    }
}

/// No account was ever held by two nodes at once: per account, each acquisition has a token
/// one larger than the one before (1, 2, 3…) and comes no earlier; as every commit and every
/// server change checks the token under the lease row, a node's hold ends at the next
/// acquisition at the latest, so the holds never overlap.
fn assert_fencing(log: &BTreeMap<RecordId, Vec<Acquisition>>, n: usize) {
    assert_eq!(log.len(), n, "every account was leased");
    for (account, entries) in log {
        let tokens: Vec<i64> = entries.iter().map(|a| a.token).collect();
        let want: Vec<i64> = (1..=tokens.len() as i64).collect();
        assert_eq!(
            tokens, want,
            "account {account}: tokens in acquisition order"
        );
        assert!(
            entries
                .windows(2)
                .all(|w| w[0].acquired_at_ms <= w[1].acquired_at_ms),
            "account {account}: acquisitions out of time order: {entries:?}"
        );
    }
}

#[derive(Default, Debug)]
struct Tally {
    ok: usize,
    busy: usize,
    lost: usize,
    errors: Vec<String>,
}

fn tally(out: &str, t: &mut Tally) {
    for line in out.lines() {
        let mut w = line.split_whitespace();
        if w.next() != Some("run") {
            continue;
        }
        let _ = w.next();
        match w.next() {
            Some("ok") => t.ok += 1,
            Some("busy") => t.busy += 1,
            Some("lost") => t.lost += 1,
            _ => t.errors.push(line.to_owned()),
        }
    }
}

/// Forgets a node about to be reaped (its pid may be reused afterwards).
fn reaped(child: &Child) {
    let pid = child.id();
    STARTED.lock().unwrap().retain(|(_, p)| *p != pid);
}

fn finish(child: Child, t: &mut Tally) -> bool {
    reaped(&child);
    let out = child.wait_with_output().unwrap();
    tally(&String::from_utf8_lossy(&out.stdout), t);
    out.status.success()
}

fn seed() -> u64 {
    std::env::var("MS_LEASE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

/// 3 nodes over 200 accounts (2 small messages each): node A killed (SIGKILL) and restarted
/// at random moments, node C paused past its lease and resumed.
fn three_nodes_through_kills_and_a_pause(db: Db) {
    let _kill = KillNodes;
    let seed = seed();
    eprintln!("seed {seed} (MS_LEASE_SEED={seed} repeats it)");
    let mut rng = Rng(seed);
    let n = 200;
    let started = Instant::now();
    let set = accounts(db, n, 2, "lease");
    eprintln!(
        "{n} accounts set up in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let db = set.db().to_owned();
    let ttl = 1_500;
    let mut tally_all = Tally::default();
    let started = Instant::now();
    let mut a = node(&db, "node-a", ttl);
    let b = node(&db, "node-b", ttl);
    let c = node(&db, "node-c", ttl);
    // Node A: killed at random moments and started again (a new process, a new name).
    let mut kills = 0;
    for k in 0..4 {
        std::thread::sleep(Duration::from_millis(200 + rng.below(1_500)));
        signal(&a, "KILL");
        finish(a, &mut tally_all);
        kills += 1;
        set.check(false, &format!("after kill {k}"));
        a = node(&db, &format!("node-a{k}"), ttl);
    }
    // Node C: paused past its lease, then resumed. Whatever it held was taken over; when it
    // wakes it can neither commit nor delete under the old token.
    signal(&c, "STOP");
    std::thread::sleep(Duration::from_millis(ttl * 2));
    set.check(false, "while node C is paused");
    signal(&c, "CONT");
    // C's run in progress meets the fence at once; the nodes stop once everything is in.
    std::thread::sleep(Duration::from_millis(500));
    let (mut a, mut b, mut c) = (a, b, c);
    stop_when_collected(
        &set,
        &mut [&mut a, &mut b, &mut c],
        Duration::from_secs(150),
    );
    let all_ok = [a, b, c]
        .into_iter()
        .map(|child| finish(child, &mut tally_all))
        .collect::<Vec<_>>();
    eprintln!(
        "{kills} kills, runs {tally_all:?}, exits {all_ok:?}, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(tally_all.errors.is_empty(), "{:?}", tally_all.errors);
    assert!(all_ok.iter().all(|ok| *ok), "a node did not finish");
    set.check(true, "at the end");
    let log = set.lease_log();
    assert_fencing(&log, n);
    let holders: std::collections::BTreeSet<&str> = log
        .values()
        .flat_map(|e| e.iter().map(|a| a.owner.as_str()))
        .collect();
    assert!(holders.len() >= 3, "the work was spread: {holders:?}");
}

#[test]
fn three_nodes_share_many_accounts_through_kills_and_a_pause() {
    three_nodes_through_kills_and_a_pause(Db::sqlite());
}

#[test]
fn three_nodes_share_many_accounts_through_kills_and_a_pause_on_postgres() {
    let Some(db) = Db::postgres("kills") else {
        return;
    };
    three_nodes_through_kills_and_a_pause(db);
}

/// Accounts collected per second with 1, 2 and 4 nodes (small mailboxes: 2 messages each).
fn accounts_per_second(backend: &str, db: impl Fn(usize) -> Db) -> Vec<String> {
    let _kill = KillNodes;
    let n = 40;
    let mut figures = Vec::new();
    for nodes in [1usize, 2, 4] {
        let set = accounts(db(nodes), n, 2, &format!("rate{nodes}"));
        let db = set.db().to_owned();
        let started = Instant::now();
        let children: Vec<Child> = (0..nodes)
            .map(|i| node(&db, &format!("rate-{nodes}-{i}"), 5_000))
            .collect();
        // Collected: every server empty; then the nodes stop.
        let mut children = children;
        stop_when_collected(
            &set,
            &mut children.iter_mut().collect::<Vec<_>>(),
            Duration::from_secs(120),
        );
        let secs = started.elapsed().as_secs_f64();
        let mut t = Tally::default();
        for child in children {
            assert!(finish(child, &mut t), "a node failed: {t:?}");
        }
        set.check(true, &format!("{nodes} nodes"));
        assert_fencing(&set.lease_log(), n);
        figures.push(format!(
            "{backend}, {nodes} node(s): {n} accounts collected in {secs:.2} s = {:.1} accounts/s (runs ok {}, busy {})",
            n as f64 / secs,
            t.ok,
            t.busy
        ));
    }
    figures
}

/// Commits per second into the store: lease acquisitions and releases (one transaction
/// each, durable), from 1 and from 4 connections at once.
fn commit_rate(backend: &str, db: &Db) -> Vec<String> {
    let ids: Vec<RecordId> = {
        let store = db.open();
        (0..40)
            .map(|i| {
                create_account(
                    &store,
                    Protocol::Imap,
                    &format!("rate{i}@example.test"),
                    true,
                    Some(SecureConnectionType::Ssl),
                    None,
                )
            })
            .collect()
    };
    let mut out = Vec::new();
    for threads in [1usize, 4] {
        let per = 200 / threads;
        let started = Instant::now();
        std::thread::scope(|s| {
            for t in 0..threads {
                let ids = &ids;
                s.spawn(move || {
                    let store = db.open();
                    let leases = Leases::new(
                        LeaseStore::Store(&store),
                        format!("rate-{t}"),
                        Duration::from_secs(60),
                    );
                    for i in 0..per {
                        let id = ids[t * 10 + i % 10];
                        let l = leases.acquire(id).unwrap().expect("own slice");
                        leases.release(&l).unwrap();
                    }
                });
            }
        });
        let commits = (2 * per * threads) as f64;
        let secs = started.elapsed().as_secs_f64();
        out.push(format!(
            "{backend}: {:.0} commits/s from {threads} connection(s) ({commits} lease commits in {secs:.2} s)",
            commits / secs
        ));
    }
    out
}

#[test]
fn accounts_per_second_with_1_2_and_4_nodes() {
    let mut figures = accounts_per_second("SQLite", |_| Db::sqlite());
    figures.extend(commit_rate("SQLite", &Db::sqlite()));
    if let Some(pg) = Db::postgres("rate") {
        figures.extend(commit_rate("PostgreSQL", &pg));
        drop(pg);
        figures.extend(accounts_per_second("PostgreSQL", |nodes| {
            Db::postgres(&format!("rate{nodes}")).unwrap()
        }));
    }
    for f in &figures {
        eprintln!("leases: {f}");
    }
}

/// A push node process (`collect_node_push`) and what it says it waits on.
struct PushNode {
    child: Child,
    waiting: Arc<std::sync::Mutex<Vec<RecordId>>>,
}

impl PushNode {
    fn start(db: &str, owner: &str, ttl_ms: u64, cap: usize) -> PushNode {
        let mut child = started(
            Command::new(env!("CARGO_BIN_EXE_collect_node_push"))
                .arg(db)
                .arg(owner)
                .arg(ttl_ms.to_string())
                .arg(cap.to_string())
                .env("MS_MAIL_PASSWORD", servers().mail_password())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let waiting = Arc::new(std::sync::Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        {
            let waiting = waiting.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(out).lines() {
                    let Ok(line) = line else { return };
                    if let Some(ids) = line.strip_prefix("waiting ") {
                        *waiting.lock().unwrap() =
                            ids.split(',').filter_map(|i| i.parse().ok()).collect();
                    }
                }
            });
        }
        PushNode { child, waiting }
    }

    fn waiting(&self) -> Vec<RecordId> {
        self.waiting.lock().unwrap().clone()
    }
}

/// Waits until `cond` holds, at most `limit`; how long it took.
fn within(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    t.elapsed()
}

/// Push with leases: 9 push accounts (poll interval one hour, so only push brings new mail
/// in quickly), nodes A and B share them (each at most its fair share, none waited on by two);
/// node C joins and the waiting accounts are rebalanced to 3 each; A is killed and its
/// waiting accounts are waited on by B and C within a bound; a message delivered to each then
/// arrives through push.
#[test]
fn push_accounts_wait_under_leases_and_move_when_nodes_join_or_leave() {
    push_nodes(Db::sqlite());
}

#[test]
fn push_accounts_wait_under_leases_and_move_when_nodes_join_or_leave_on_postgres() {
    if let Some(db) = Db::postgres("push") {
        push_nodes(db);
    }
}

fn push_nodes(db: Db) {
    let _kill = KillNodes;
    let store = Arc::new(db.open());
    let n = 9;
    let mut accounts = Vec::new();
    for _ in 0..n {
        let mailbox = unique_mailbox("pushlease");
        let id = create_account(
            &store,
            Protocol::Imap,
            &mailbox,
            false,
            Some(SecureConnectionType::Ssl),
            None,
        );
        let stored = store.get_incoming(id).unwrap();
        let mut form = stored.record;
        form.check_interval_secs = 3600;
        form.automatic_check = true;
        form.use_push = true;
        store.update_incoming(id, stored.version, &form).unwrap();
        accounts.push((id, mailbox));
    }
    let all: Vec<RecordId> = accounts.iter().map(|(id, _)| *id).collect();
    let ttl = 1_500;
    let a = PushNode::start(&db.location, "push-a", ttl, 100);
    let b = PushNode::start(&db.location, "push-b", ttl, 100);
    let covered = |nodes: &[&PushNode], share: usize| {
        let sets: Vec<Vec<RecordId>> = nodes.iter().map(|p| p.waiting()).collect();
        let mut union: Vec<RecordId> = sets.iter().flatten().copied().collect();
        union.sort_unstable();
        sets.iter().all(|s| s.len() <= share) && union == all
    };
    let t = within(Duration::from_secs(30), "A and B wait on all 9", || {
        covered(&[&a, &b], 5)
    });
    eprintln!("push: A {:?}, B {:?} after {t:?}", a.waiting(), b.waiting());
    let mut round = 0;
    let mut sent: BTreeMap<RecordId, usize> = BTreeMap::new();
    let mut deliver_all = |ids: &[RecordId], what: &str| {
        round += 1;
        for (id, mailbox) in &accounts {
            if ids.contains(id) {
                lmtp_deliver(
                    "sender@example.test",
                    mailbox,
                    &message(&format!("push{round}"), *id as usize, 1_000),
                );
                *sent.entry(*id).or_default() += 1;
            }
        }
        let t = within(Duration::from_secs(20), what, || {
            ids.iter().all(|id| {
                let (_, mailbox) = accounts.iter().find(|(a, _)| a == id).unwrap();
                let inbox = inbox_ids(&store, *id);
                inbox.len() == sent[id]
                    && inbox.values().all(|n| *n == 1)
                    && server_ids(mailbox).is_empty()
            })
        });
        eprintln!("push: {what}: collected within {t:?}");
    };
    deliver_all(&all, "new mail with A and B waiting");

    // C joins: shares are 3 now; A and B give accounts back, C takes them.
    let c = PushNode::start(&db.location, "push-c", ttl, 100);
    let t = within(Duration::from_secs(30), "rebalanced to 3 each", || {
        covered(&[&a, &b, &c], 3)
    });
    eprintln!(
        "push: rebalanced after C joined in {t:?}: A {:?}, B {:?}, C {:?}",
        a.waiting(),
        b.waiting(),
        c.waiting()
    );
    deliver_all(&c.waiting(), "new mail for C's accounts");

    // A dies: its leases and its presence expire, B and C take its accounts over.
    let from_a = a.waiting();
    assert_eq!(from_a.len(), 3);
    let mut a_child = a.child;
    signal(&a_child, "KILL");
    reaped(&a_child);
    a_child.wait().unwrap();
    let t = within(
        Duration::from_millis(ttl * 2 + 8_000),
        "A's accounts waited on by B and C",
        || covered(&[&b, &c], 5),
    );
    eprintln!(
        "push: A killed; its accounts {from_a:?} waited on again after {t:?}: B {:?}, C {:?}",
        b.waiting(),
        c.waiting()
    );
    deliver_all(&from_a, "new mail for A's former accounts");

    // The fencing record: every account's tokens in order.
    let log: BTreeMap<RecordId, Vec<Acquisition>> = lease::acquisitions(LeaseStore::Store(&store))
        .unwrap()
        .into_iter()
        .fold(BTreeMap::new(), |mut m, a| {
            m.entry(a.account_id).or_insert_with(Vec::new).push(a);
            m
        });
    assert_fencing(&log, n);
    // B and C stop cleanly (standard input closed): their leases are given back.
    for p in [b, c] {
        let mut child = p.child;
        drop(child.stdin.take());
        reaped(&child);
        assert!(child.wait().unwrap().success());
    }
    for id in &all {
        let l = Leases::new(LeaseStore::Store(&store), "after", Duration::from_secs(1));
        let got = l.acquire(*id).unwrap();
        assert!(got.is_some(), "account {id}: lease given back at stop");
    }
}

/// The cap on waiting accounts: a node with a cap of 2 and 4 push accounts waits on 2 (the
/// others are polled); with leases, a second node takes the other 2.
#[test]
fn a_node_waits_on_at_most_its_cap() {
    let _kill = KillNodes;
    let db = Db::sqlite();
    let store = db.open();
    for _ in 0..4 {
        let id = create_account(
            &store,
            Protocol::Imap,
            &unique_mailbox("pushcap"),
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
    }
    let a = PushNode::start(&db.location, "cap-a", 1_500, 2);
    within(Duration::from_secs(20), "A waits on 2", || {
        a.waiting().len() == 2
    });
    // Its fair share alone would be all 4: the cap holds it at 2 for a while.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(a.waiting().len(), 2, "never more than the cap");
    let b = PushNode::start(&db.location, "cap-b", 1_500, 2);
    within(Duration::from_secs(20), "B waits on the other 2", || {
        let (wa, wb) = (a.waiting(), b.waiting());
        wb.len() == 2 && wa.iter().all(|id| !wb.contains(id))
    });
}

/// Where a [`CutProxy`] cuts the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cut {
    /// The client's `COMMIT` reaches the server; its answer never reaches the client (the
    /// outcome is unknown to the client, the transaction committed).
    AfterCommit,
    /// The connection is cut as the client sends `COMMIT`: the server never sees it (rolled
    /// back).
    BeforeCommit,
}

/// An in-process TCP proxy between a store and PostgreSQL (clear text, so it can see the
/// protocol) that cuts the connection at the next `COMMIT` once armed: a real PostgreSQL does
/// not cut on cue.
struct CutProxy {
    port: u16,
    armed: Arc<std::sync::Mutex<Option<Cut>>>,
    cuts: Arc<std::sync::atomic::AtomicUsize>,
}

impl CutProxy {
    fn start(target: u16) -> CutProxy {
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed: Arc<std::sync::Mutex<Option<Cut>>> = Arc::default();
        let cuts = Arc::new(AtomicUsize::new(0));
        let (armed2, cuts2) = (armed.clone(), cuts.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let cutting = Arc::new(AtomicBool::new(false));
                // Server to client: copied until the cut (then dropped).
                {
                    let (mut from, mut to) =
                        (server.try_clone().unwrap(), client.try_clone().unwrap());
                    let cutting = cutting.clone();
                    std::thread::spawn(move || {
                        use std::io::{Read, Write};
                        let mut buf = [0u8; 16 * 1024];
                        loop {
                            let n = match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            if cutting.load(Ordering::SeqCst) || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
                let (armed, cuts) = (armed2.clone(), cuts2.clone());
                std::thread::spawn(move || {
                    use std::io::{Read, Write};
                    let (mut from, mut to) = (client, server);
                    let mut buf = [0u8; 16 * 1024];
                    let mut tail: Vec<u8> = Vec::new();
                    loop {
                        let n = match from.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let mut seen = std::mem::take(&mut tail);
                        seen.extend_from_slice(&buf[..n]);
                        let commit = seen.windows(6).any(|w| w == b"COMMIT");
                        tail = seen[seen.len().saturating_sub(5)..].to_vec();
                        let cut = if commit {
                            armed.lock().unwrap().take()
                        } else {
                            None
                        };
                        match cut {
                            None => {
                                if to.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                            Some(cut) => {
                                cutting.store(true, Ordering::SeqCst);
                                cuts.fetch_add(1, Ordering::SeqCst);
                                if cut == Cut::AfterCommit {
                                    let _ = to.write_all(&buf[..n]);
                                    // The server commits and answers; the answer is dropped.
                                    std::thread::sleep(Duration::from_millis(300));
                                }
                                break;
                            }
                        }
                    }
                    let _ = from.shutdown(Shutdown::Both);
                    let _ = to.shutdown(Shutdown::Both);
                });
            }
        });
        CutProxy { port, armed, cuts }
    }

    fn arm(&self, cut: Cut) {
        *self.armed.lock().unwrap() = Some(cut);
    }

    fn cuts(&self) -> usize {
        self.cuts.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The database connection cut mid-commit (through [`CutProxy`]), on the parts of a PostgreSQL
/// store that run there in this build: leases and settings writes. An acquisition whose
/// outcome the node never learnt leaves it holding nothing it can use, and no other node holds
/// the account until that lease expires (then with a larger token); a renewal's unknown
/// outcome is safe to repeat; a settings write cut after its commit is stored once (the retry
/// is refused), one cut before it is not stored (the retry stores it).
#[test]
fn a_database_connection_cut_mid_commit() {
    let Some(db) = Db::postgres("cut") else {
        return;
    };
    let s = servers();
    let direct = db.open();
    let ids: Vec<RecordId> = (0..3)
        .map(|i| {
            create_account(
                &direct,
                Protocol::Imap,
                &format!("cut{i}@example.test"),
                true,
                Some(SecureConnectionType::Ssl),
                None,
            )
        })
        .collect();
    let proxy = CutProxy::start(s.value("MS_POSTGRES_PORT").parse().unwrap());
    // Clear text through the proxy (loopback only), a password file for its port.
    let dir = tempfile::tempdir().unwrap();
    let passfile = dir.path().join("pgpass");
    let (user, password) = (s.value("MS_POSTGRES_USER"), s.value("MS_POSTGRES_PASSWORD"));
    std::fs::write(
        &passfile,
        format!("localhost:*:*:{user}:{password}\n127.0.0.1:*:*:{user}:{password}\n"),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let name = db.pg_name.clone().unwrap();
    let via = Store::open(format!(
        "postgres://{user}@localhost:{}/{name}?sslmode=disable&passfile={}&connect_timeout=5",
        proxy.port,
        passfile.display()
    ))
    .unwrap();
    let ttl = Duration::from_millis(1_000);
    let a = Leases::new(LeaseStore::Store(&via), "node-a", ttl);
    let b = Leases::new(LeaseStore::Store(&direct), "node-b", ttl);

    // 1. An acquisition cut after its COMMIT: committed, but node A never learnt its token.
    proxy.arm(Cut::AfterCommit);
    let r = a.acquire(ids[0]);
    assert!(r.is_err(), "the cut is an error, not a lease: {r:?}");
    assert_eq!(proxy.cuts(), 1, "{r:?}");
    assert!(
        b.acquire(ids[0]).unwrap().is_none(),
        "committed: nobody else holds the account before that lease expires"
    );
    assert!(
        a.acquire(ids[0]).unwrap().is_none(),
        "A (reconnected) cannot use a lease it never learnt"
    );
    std::thread::sleep(ttl + Duration::from_millis(200));
    let lb = b.acquire(ids[0]).unwrap().expect("expired: B takes it");
    assert_eq!(lb.token, 2, "a larger token than the unknown one");

    // 2. An acquisition cut before its COMMIT: nothing committed, the account is free.
    proxy.arm(Cut::BeforeCommit);
    assert!(a.acquire(ids[1]).is_err());
    assert_eq!(proxy.cuts(), 2);
    let lb1 = b.acquire(ids[1]).unwrap().expect("rolled back: free");
    assert_eq!(lb1.token, 1);

    // 3. A renewal cut after its COMMIT: repeating it is safe (the lease is still A's).
    let la = a.acquire(ids[2]).unwrap().expect("free");
    proxy.arm(Cut::AfterCommit);
    assert!(a.renew(&la).is_err());
    assert_eq!(proxy.cuts(), 3);
    let la = a
        .renew(&la)
        .expect("the renewal's outcome was unknown: repeated");
    a.check(&la, Duration::ZERO).unwrap();
    assert!(b.acquire(ids[2]).unwrap().is_none(), "still A's");

    // 4. Settings writes: stored exactly once whichever side of the COMMIT the cut falls.
    for (cut, n) in [(Cut::AfterCommit, 4), (Cut::BeforeCommit, 5)] {
        let (mut form, _) = mail_settings_tests::incoming_form(
            Protocol::Imap,
            &format!("{cut:?}@example.test"),
            Some(SecureConnectionType::Ssl),
            mail_settings_tests::Cert::Valid,
            mail_settings_tests::Via::Direct,
        );
        form.name = format!("Cut {cut:?}");
        proxy.arm(cut);
        assert!(via.create_incoming(&form).is_err(), "{cut:?}: cut");
        assert_eq!(proxy.cuts(), n);
        let retry = via.create_incoming(&form);
        assert_eq!(
            retry.is_ok(),
            cut == Cut::BeforeCommit,
            "{cut:?}: the retry {retry:?}"
        );
        let named = direct
            .list_incoming()
            .unwrap()
            .into_iter()
            .filter(|a| a.record.name == form.name)
            .count();
        assert_eq!(named, 1, "{cut:?}: stored exactly once");
    }
    let log: BTreeMap<RecordId, Vec<Acquisition>> = lease::acquisitions(LeaseStore::Store(&direct))
        .unwrap()
        .into_iter()
        .fold(BTreeMap::new(), |mut m, a| {
            m.entry(a.account_id).or_insert_with(Vec::new).push(a);
            m
        });
    assert_fencing(&log, 3);
}

/// The database connection cut during the commit of a message group (through [`CutProxy`],
/// after the server received `COMMIT`): the run fails with the outcome unknown to it, removes
/// nothing from the mail server for that group (nor for anything not known durable), and
/// loses nothing; the next run finds the group in the ledger, removes those messages from the
/// server without storing them again, and collects the rest: every message exactly once.
/// Then the same with the cut before the server got `COMMIT` (the group rolled back).
#[test]
fn a_collector_commit_cut_on_postgres() {
    use mail_settings_core::collector::lease::LeaseOptions;
    use mail_settings_core::collector::{Collector, CollectorOptions, Progress, RunControl};
    for cut in [Cut::AfterCommit, Cut::BeforeCommit] {
        let Some(db) = Db::postgres(&format!("commitcut{}", cut as u8)) else {
            return;
        };
        let s = servers();
        let direct = Arc::new(db.open());
        let mailbox = unique_mailbox("commitcut");
        let id = create_account(
            &direct,
            Protocol::Imap,
            &mailbox,
            false,
            Some(SecureConnectionType::Ssl),
            None,
        );
        let tag = format!("commitcut{}", cut as u8);
        let expected: Vec<String> = (0..8)
            .map(|i| {
                lmtp_deliver("sender@example.test", &mailbox, &message(&tag, i, 3_000));
                message_id(&tag, i)
            })
            .collect();
        let proxy = CutProxy::start(s.value("MS_POSTGRES_PORT").parse().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let passfile = dir.path().join("pgpass");
        let (user, password) = (s.value("MS_POSTGRES_USER"), s.value("MS_POSTGRES_PASSWORD"));
        std::fs::write(&passfile, format!("localhost:*:*:{user}:{password}\n")).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let name = db.pg_name.clone().unwrap();
        let via = Arc::new(
            Store::open(format!(
                "postgres://{user}@localhost:{}/{name}?sslmode=disable&passfile={}&connect_timeout=5",
                proxy.port,
                passfile.display()
            ))
            .unwrap(),
        );
        let mut o = CollectorOptions::default();
        o.timeouts = mail_settings_core::net::Timeouts::uniform(Duration::from_secs(10));
        o.batch_messages = 8;
        o.commit_messages = 2;
        o.lease = Some(LeaseOptions::new("node-cut", Duration::from_secs(60)));
        let collector = Collector::with_options(
            via.clone(),
            Arc::new(s.credentials_for(&mailbox)),
            o.clone(),
        );
        // Armed once the run is receiving: the next COMMIT is a message group's.
        let control = RunControl {
            progress: Some(Arc::new({
                let armed = std::sync::atomic::AtomicBool::new(false);
                let proxy_armed = proxy.armed.clone();
                move |p: &Progress| {
                    if p.done >= 3 && !armed.swap(true, std::sync::atomic::Ordering::SeqCst) {
                        *proxy_armed.lock().unwrap() = Some(cut);
                    }
                }
            })),
            ..RunControl::default()
        };
        let err = collector.check_now_with(id, &control).unwrap_err();
        assert_eq!(proxy.cuts(), 1, "{cut:?}: {err}");
        let inbox = inbox_ids(&direct, id);
        let server = server_ids(&mailbox);
        eprintln!(
            "{cut:?}: the run failed ({err}); inbox {} messages, server {}",
            inbox.len(),
            server.len()
        );
        assert_none_lost(
            &inbox,
            &server,
            &expected,
            &format!("{cut:?} after the cut"),
        );
        assert_eq!(
            server.len(),
            expected.len(),
            "{cut:?}: nothing removed from the server in a batch whose commit was not known durable"
        );
        if cut == Cut::AfterCommit {
            assert!(
                !inbox.is_empty(),
                "the group whose COMMIT reached the server is stored (and still on the server)"
            );
        }
        // The next run (the connection pool reconnects): the ledger says what is stored.
        let before = inbox.len() as u64;
        let report = collector.check_now(id).unwrap();
        let inbox = inbox_ids(&direct, id);
        assert_exactly_once(&inbox, &expected, &format!("{cut:?} after the next run"));
        assert!(server_ids(&mailbox).is_empty(), "{cut:?}: all removed");
        assert_eq!(
            (report.already_stored, report.fetched),
            (before, expected.len() as u64 - before),
            "{cut:?}: the stored ones only removed, the others fetched: {report:?}"
        );
        assert_eq!(report.duplicates, 0, "{cut:?}: nothing arrived twice");
        eprintln!("{cut:?}: next run {report:?}");
    }
}
