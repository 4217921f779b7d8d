//! The collector against a scripted POP3 server that misbehaves as real ones were seen to (no
//! local server does it on cue): one UIDL for several messages, an id reused for another
//! message, a `LIST` line that is not "number size" (GreenMail 2.1 answers `3 -1` for an empty
//! message), a message larger than announced. Also: `UTF8` (RFC 6856) is sent after login when
//! the server offers it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::collector::{Collector, CollectorOptions, MessageOutcome};
use mail_settings_core::inbox::{Inbox, InboxQuery};
use mail_settings_core::store::Store;
use mail_settings_core::{
    Credential, InMemoryCredentials, IncomingAccountForm, Protocol, RecordId,
};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Maildrop {
    /// (UIDL, raw message).
    messages: Vec<(String, Vec<u8>)>,
    /// CAPA lines besides USER and PIPELINING.
    caps: Vec<String>,
    /// The LIST line sent for the message at this index instead of "n size".
    list_lines: HashMap<usize, Vec<u8>>,
    /// LIST announces at most this many bytes (a server that lies about sizes).
    announce_at_most: Option<usize>,
    /// Every command received (PASS without its argument), all sessions.
    commands: Vec<String>,
    /// RETR count per UIDL.
    retrieved: HashMap<String, usize>,
}

fn serve(mut stream: TcpStream, drop: Arc<Mutex<Maildrop>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let snapshot: Vec<(String, Vec<u8>)> = drop.lock().unwrap().messages.clone();
    let mut deleted = vec![false; snapshot.len()];
    let send = |s: &mut TcpStream, text: &[u8]| s.write_all(text).unwrap();
    send(&mut stream, b"+OK scripted POP3 server\r\n");
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let verb = words
            .first()
            .map(|w| w.to_ascii_uppercase())
            .unwrap_or_default();
        drop.lock().unwrap().commands.push(if verb == "PASS" {
            "PASS".to_owned()
        } else {
            line.trim_end().to_owned()
        });
        let number = |i: usize| -> Option<usize> {
            let n: usize = words.get(i)?.parse().ok()?;
            (n >= 1 && n <= snapshot.len() && !deleted[n - 1]).then_some(n - 1)
        };
        match verb.as_str() {
            "CAPA" => {
                let mut out = String::from("+OK\r\nUSER\r\nPIPELINING\r\nUIDL\r\n");
                for c in &drop.lock().unwrap().caps {
                    out.push_str(c);
                    out.push_str("\r\n");
                }
                out.push_str(".\r\n");
                send(&mut stream, out.as_bytes());
            }
            "USER" | "PASS" | "NOOP" | "UTF8" => send(&mut stream, b"+OK\r\n"),
            "LIST" => {
                let d = drop.lock().unwrap();
                let cap = d.announce_at_most.unwrap_or(usize::MAX);
                let mut out = b"+OK\r\n".to_vec();
                for (i, (_, m)) in snapshot.iter().enumerate() {
                    if deleted[i] {
                        continue;
                    }
                    match d.list_lines.get(&i) {
                        Some(l) => out.extend_from_slice(l),
                        None => out.extend_from_slice(
                            format!("{} {}", i + 1, m.len().min(cap)).as_bytes(),
                        ),
                    }
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b".\r\n");
                send(&mut stream, &out);
            }
            "UIDL" => {
                let mut out = String::from("+OK\r\n");
                for (i, (uid, _)) in snapshot.iter().enumerate() {
                    if !deleted[i] {
                        out.push_str(&format!("{} {uid}\r\n", i + 1));
                    }
                }
                out.push_str(".\r\n");
                send(&mut stream, out.as_bytes());
            }
            "RETR" => match number(1) {
                Some(i) => {
                    *drop
                        .lock()
                        .unwrap()
                        .retrieved
                        .entry(snapshot[i].0.clone())
                        .or_default() += 1;
                    let mut out = b"+OK\r\n".to_vec();
                    for l in snapshot[i].1.split_inclusive(|b| *b == b'\n') {
                        if l.starts_with(b".") {
                            out.push(b'.');
                        }
                        out.extend_from_slice(l);
                    }
                    out.extend_from_slice(b".\r\n");
                    send(&mut stream, &out);
                }
                None => send(&mut stream, b"-ERR no such message\r\n"),
            },
            "DELE" => match number(1) {
                Some(i) => {
                    deleted[i] = true;
                    send(&mut stream, b"+OK\r\n");
                }
                None => send(&mut stream, b"-ERR no such message\r\n"),
            },
            "QUIT" => {
                let mut d = drop.lock().unwrap();
                // Keeps what was not deleted, and whatever arrived during the session.
                let kept = snapshot.len().min(d.messages.len());
                let arrived = d.messages.split_off(kept);
                d.messages = snapshot
                    .iter()
                    .zip(&deleted)
                    .filter(|(_, del)| !**del)
                    .map(|(m, _)| m.clone())
                    .chain(arrived)
                    .collect();
                std::mem::drop(d);
                send(&mut stream, b"+OK bye\r\n");
                return;
            }
            _ => send(&mut stream, b"-ERR unknown command\r\n"),
        }
    }
}

fn message(i: usize) -> Vec<u8> {
    format!(
        "From: a{i}@example.test\r\nTo: desk@example.test\r\nSubject: Scripted {i}\r\n\
         Message-ID: <scripted-{i}@example.test>\r\n\r\nBody {i}.\r\n"
    )
    .into_bytes()
}

struct Setup {
    store: Arc<Store>,
    account: RecordId,
    collector: Collector,
    drop: Arc<Mutex<Maildrop>>,
}

fn setup(keep: bool, max_message_size: Option<i64>) -> Setup {
    let drop = Arc::new(Mutex::new(Maildrop::default()));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let d = drop.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let d = d.clone();
            std::thread::spawn(move || serve(conn, d));
        }
    });
    let store = Arc::new(Store::open_in_memory().unwrap());
    let mut form = IncomingAccountForm {
        name: "Scripted".into(),
        host: "127.0.0.1".into(),
        port: Some(i64::from(port)),
        protocol: Some(Protocol::Pop3),
        credential: Some("desk".into()),
        use_secure_connection: false,
        keep_copy_on_server: keep,
        ..IncomingAccountForm::default()
    };
    if let Some(m) = max_message_size {
        form.max_message_size = m;
    }
    let account = store.create_incoming(&form).unwrap().id;
    let creds = InMemoryCredentials::new().with("desk", Credential::password("desk", "pw"));
    let mut options = CollectorOptions::default();
    options.timeouts =
        mail_settings_core::net::Timeouts::uniform(std::time::Duration::from_secs(5));
    options.batch_messages = 2;
    let collector = Collector::with_options(store.clone(), Arc::new(creds), options);
    Setup {
        store,
        account,
        collector,
        drop,
    }
}

impl Setup {
    fn add(&self, uidl: &str, raw: Vec<u8>) {
        self.drop
            .lock()
            .unwrap()
            .messages
            .push((uidl.to_owned(), raw));
    }

    fn on_server(&self) -> usize {
        self.drop.lock().unwrap().messages.len()
    }

    fn subjects(&self) -> Vec<String> {
        let mut q = InboxQuery::account(self.account);
        q.page_size = 1000;
        let mut v: Vec<String> = Inbox::new(self.store.clone())
            .list(&q)
            .unwrap()
            .messages
            .into_iter()
            .map(|m| m.subject.unwrap_or_default())
            .collect();
        v.sort();
        v
    }
}

fn subjects(range: impl IntoIterator<Item = usize>) -> Vec<String> {
    let mut v: Vec<String> = range.into_iter().map(|i| format!("Scripted {i}")).collect();
    v.sort();
    v
}

#[test]
fn a_uidl_shared_by_three_messages_proves_nothing_and_each_is_stored_before_it_is_deleted() {
    let s = setup(false, None);
    for i in 0..3 {
        s.add("shared", message(i));
    }
    s.add("own-3", message(3));
    let r = s.collector.check_now(s.account).unwrap();
    assert_eq!(
        (r.listed, r.fetched, r.deleted_on_server),
        (4, 4, 4),
        "{r:?}"
    );
    assert_eq!(
        s.subjects(),
        subjects(0..4),
        "every message deleted was stored"
    );
    assert_eq!(s.on_server(), 0);
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    assert!(
        r.notes[0].contains("3 messages under the same UIDL \"shared\""),
        "{}",
        r.notes[0]
    );
    assert!(r.problems.is_empty(), "{:?}", r.problems);

    // The server hands out the id again for a new message: the ledger never recorded it for
    // the shared ones, so this one is fetched and stored, not deleted as "already stored".
    s.add("shared", message(4));
    let r = s.collector.check_now(s.account).unwrap();
    assert_eq!((r.fetched, r.already_stored), (1, 0), "{r:?}");
    assert_eq!(s.subjects(), subjects(0..5));
    assert_eq!(s.on_server(), 0);
}

#[test]
fn a_uidl_reused_for_another_message_is_fetched_not_deleted_as_already_stored() {
    let s = setup(false, None);
    s.add("a", message(0));
    assert_eq!(s.collector.check_now(s.account).unwrap().fetched, 1);
    assert_eq!(s.on_server(), 0);
    // Same id, another message (another size): the ledger entry is not this message's.
    let mut other = message(1);
    other.extend_from_slice(b"A longer body than the first one had.\r\n");
    s.add("a", other);
    let r = s.collector.check_now(s.account).unwrap();
    assert_eq!((r.fetched, r.deleted_on_server), (1, 1), "{r:?}");
    assert_eq!(s.subjects(), subjects(0..2), "nothing lost");
    assert_eq!(s.on_server(), 0);
}

#[test]
fn shared_uidls_with_keep_copy_are_stored_once_and_left_alone() {
    let s = setup(true, None);
    for i in 0..3 {
        s.add("shared", message(i));
    }
    let r = s.collector.check_now(s.account).unwrap();
    assert_eq!((r.fetched, r.deleted_on_server), (3, 0), "{r:?}");
    let r = s.collector.check_now(s.account).unwrap();
    assert_eq!((r.fetched, r.duplicates), (0, 0), "{r:?}");
    assert_eq!(s.subjects(), subjects(0..3));
    assert_eq!(s.on_server(), 3);
}

#[test]
fn a_bad_list_line_affects_that_message_only_and_is_quoted_made_safe() {
    let s = setup(false, None);
    for i in 0..4 {
        s.add(&format!("u{i}"), message(i));
    }
    {
        let mut d = s.drop.lock().unwrap();
        // GreenMail 2.1's answer for an empty message, and one with a terminal escape.
        d.list_lines.insert(2, b"3 -1".to_vec());
        d.list_lines
            .insert(3, b"4 x\x1b[2J\x1b]0;owned\x07".to_vec());
    }
    let r = s.collector.check_now(s.account).unwrap();
    assert_eq!((r.listed, r.fetched), (4, 2), "{r:?}");
    assert_eq!(s.subjects(), subjects(0..2));
    assert_eq!(s.on_server(), 2, "the two badly listed stay on the server");
    assert_eq!(r.problems.len(), 2, "{:?}", r.problems);
    for p in &r.problems {
        assert_eq!(p.outcome, MessageOutcome::Refused);
        assert!(!p.reason.chars().any(char::is_control), "{:?}", p.reason);
    }
    assert_eq!(r.problems[0].message, "UIDL u2");
    assert!(
        r.problems[0].reason.contains("\"3 -1\""),
        "{}",
        r.problems[0].reason
    );
    assert_eq!(r.problems[1].message, "UIDL u3");
    assert!(
        r.problems[1]
            .reason
            .contains("\"4 x\\x1b[2J\\x1b]0;owned\\x07\""),
        "{}",
        r.problems[1].reason
    );
    let st = s.collector.status(s.account).unwrap();
    assert!(st.last_error.is_none());
    assert_eq!(st.problems.len(), 2, "{:?}", st.problems);
    assert!(st
        .problems
        .iter()
        .all(|p| p.outcome == MessageOutcome::Refused));

    // Fixed on the server: the next run takes them.
    s.drop.lock().unwrap().list_lines.clear();
    let r = s.collector.check_now(s.account).unwrap();
    assert_eq!((r.fetched, r.problems.len()), (2, 0), "{r:?}");
    assert_eq!(s.subjects(), subjects(0..4));
    assert!(s.collector.status(s.account).unwrap().problems.is_empty());
}

#[test]
fn a_message_larger_than_announced_is_skipped_too_large_visibly_and_not_fetched_again() {
    let s = setup(false, Some(2048));
    s.add("small-0", message(0));
    let mut big = message(1);
    big.extend(std::iter::repeat_n(b'x', 5000));
    big.extend_from_slice(b"\r\n");
    s.add("big", big);
    s.add("small-2", message(2));
    s.drop.lock().unwrap().announce_at_most = Some(200);
    let r = s.collector.check_now(s.account).unwrap();
    assert_eq!((r.fetched, r.skipped_too_large), (2, 1), "{r:?}");
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    let p = &r.problems[0];
    assert_eq!(
        (p.outcome, p.message.as_str()),
        (MessageOutcome::SkippedTooLarge, "UIDL big")
    );
    assert!(
        p.reason.contains("limit of 2048 bytes") && p.reason.contains("announced 200 bytes"),
        "{}",
        p.reason
    );
    assert_eq!(s.on_server(), 1, "the large one stays on the server");
    assert_eq!(s.drop.lock().unwrap().retrieved["big"], 1);

    let r = s.collector.check_now(s.account).unwrap();
    assert_eq!((r.fetched, r.skipped_too_large), (0, 1), "{r:?}");
    assert_eq!(
        s.drop.lock().unwrap().retrieved["big"],
        1,
        "not downloaded again"
    );
    let st = s.collector.status(s.account).unwrap();
    assert_eq!(st.problems.len(), 1, "{:?}", st.problems);
    assert_eq!(st.problems[0].outcome, MessageOutcome::SkippedTooLarge);
    assert_eq!(st.skipped, 1);
    // Asked to retry: downloaded (and dropped) once more, still reported.
    assert_eq!(s.collector.retry_skipped(s.account).unwrap(), 1);
    let r = s.collector.check_now(s.account).unwrap();
    assert_eq!(r.skipped_too_large, 1, "{r:?}");
    assert_eq!(s.drop.lock().unwrap().retrieved["big"], 2);
}

#[test]
fn utf8_is_sent_before_login_when_the_server_offers_it() {
    let s = setup(true, None);
    s.add("u0", message(0));
    s.drop.lock().unwrap().caps.push("UTF8".into());
    s.collector.check_now(s.account).unwrap();
    let commands = s.drop.lock().unwrap().commands.clone();
    let capa = commands.iter().position(|c| c == "CAPA").unwrap();
    let utf8 = commands.iter().position(|c| c == "UTF8");
    let user = commands
        .iter()
        .position(|c| c.starts_with("USER") || c == "PASS" || c.starts_with("AUTH"))
        .unwrap();
    assert!(utf8.is_some_and(|u| capa < u && u < user), "{commands:?}");

    let s = setup(true, None);
    s.add("u0", message(0));
    s.collector.check_now(s.account).unwrap();
    let commands = s.drop.lock().unwrap().commands.clone();
    assert!(
        !commands.iter().any(|c| c == "UTF8"),
        "not offered, not sent: {commands:?}"
    );
}

/// A server for one connection that runs `script` (deadline tests: it never ends by itself).
fn raw_server(script: impl FnOnce(TcpStream) + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((conn, _)) = listener.accept() {
            script(conn);
        }
    });
    port
}

/// A collector for one account on `port` with a per-read timeout of 5 s and the given
/// opening (`check`) and per-message budgets.
fn deadline_setup(
    port: u16,
    check: std::time::Duration,
    message: std::time::Duration,
) -> (Collector, RecordId) {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let form = IncomingAccountForm {
        name: "Slow".into(),
        host: "127.0.0.1".into(),
        port: Some(i64::from(port)),
        protocol: Some(Protocol::Pop3),
        credential: Some("desk".into()),
        use_secure_connection: false,
        keep_copy_on_server: true,
        ..IncomingAccountForm::default()
    };
    let account = store.create_incoming(&form).unwrap().id;
    let creds = InMemoryCredentials::new().with("desk", Credential::password("desk", "pw"));
    let mut options = CollectorOptions::default();
    let mut t = mail_settings_core::net::Timeouts::uniform(std::time::Duration::from_secs(5));
    t.check = check;
    t.message = message;
    t.run = std::time::Duration::from_secs(60);
    options.timeouts = t;
    (
        Collector::with_options(store, Arc::new(creds), options),
        account,
    )
}

#[test]
fn a_greeting_dripped_a_byte_at_a_time_ends_within_the_opening_budget() {
    let port = raw_server(|mut s| {
        let _ = s.write_all(b"+OK ");
        // One byte every 300 ms: each read succeeds, the line never ends.
        while s.write_all(b"x").is_ok() {
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    });
    let (collector, account) = deadline_setup(
        port,
        std::time::Duration::from_secs(2),
        std::time::Duration::from_secs(60),
    );
    let started = std::time::Instant::now();
    let e = collector.check_now(account).unwrap_err();
    let took = started.elapsed();
    assert_eq!(
        e.category(),
        mail_settings_core::ErrorCategory::Timeout,
        "{e}"
    );
    let text = e.to_string();
    assert!(text.contains("greeting"), "{text}");
    assert!(
        text.contains("opening the POP3 session took longer than its 2 s budget"),
        "{text}"
    );
    assert!(took < std::time::Duration::from_secs(4), "{took:?}: {text}");
}

#[test]
fn an_endless_retr_body_ends_within_the_message_budget() {
    let port = raw_server(|s| {
        let mut reader = BufReader::new(s.try_clone().unwrap());
        let mut w = s;
        let _ = w.write_all(b"+OK slow\r\n");
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            let verb = line.split_whitespace().next().unwrap_or("").to_owned();
            line.clear();
            let reply: &[u8] = match verb.as_str() {
                "CAPA" => b"+OK\r\nUSER\r\nUIDL\r\n.\r\n",
                "LIST" => b"+OK\r\n1 100\r\n.\r\n",
                "UIDL" => b"+OK\r\n1 endless\r\n.\r\n",
                "RETR" => {
                    let _ = w.write_all(b"+OK\r\n");
                    // A body without end, a line every 20 ms.
                    let body = [b'y'; 200];
                    while w.write_all(&body).is_ok() && w.write_all(b"\r\n").is_ok() {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    return;
                }
                _ => b"+OK\r\n",
            };
            if w.write_all(reply).is_err() {
                return;
            }
        }
    });
    let (collector, account) = deadline_setup(
        port,
        std::time::Duration::from_secs(10),
        std::time::Duration::from_secs(2),
    );
    let started = std::time::Instant::now();
    let e = collector.check_now(account).unwrap_err();
    let took = started.elapsed();
    assert_eq!(
        e.category(),
        mail_settings_core::ErrorCategory::Timeout,
        "{e}"
    );
    let text = e.to_string();
    assert!(text.contains("receiving message 1"), "{text}");
    assert!(
        text.contains("this message took longer than its 2 s budget"),
        "{text}"
    );
    assert!(took < std::time::Duration::from_secs(4), "{took:?}: {text}");
    // The run says which message and why.
    let r = e.report().unwrap();
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert_eq!(r.problems[0].outcome, MessageOutcome::Failed);
    assert_eq!(
        r.problems[0].category,
        Some(mail_settings_core::ErrorCategory::Timeout)
    );
    assert_eq!(r.problems[0].message, "UIDL endless");
}
