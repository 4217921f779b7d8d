//! A POP3 server without UIDL (Dovecot always has it, so an in-process fake server stands in):
//! the collector's POP3 source falls back to message numbers, and the collector recognises
//! messages by their content hash, so keep copy still stores each message once, and without
//! keep copy a lost `QUIT` answer still leaves each message in the inbox exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::collector::{Collector, CollectorOptions};
use mail_settings_core::inbox::{Inbox, InboxQuery};
use mail_settings_core::store::Store;
use mail_settings_core::{
    Credential, InMemoryCredentials, IncomingAccountForm, Protocol, RecordId,
};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Maildrop {
    messages: Vec<Vec<u8>>,
    /// Answer nothing to the next QUIT (and apply nothing), as if the connection broke.
    drop_next_quit: bool,
    sessions: usize,
    retrieved: usize,
    /// LIST announces at most this many bytes (a server that lies about sizes).
    announce_at_most: Option<usize>,
}

fn serve(mut stream: TcpStream, drop: Arc<Mutex<Maildrop>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let snapshot: Vec<Vec<u8>> = {
        let mut d = drop.lock().unwrap();
        d.sessions += 1;
        d.messages.clone()
    };
    let mut deleted = vec![false; snapshot.len()];
    let send = |s: &mut TcpStream, text: &[u8]| s.write_all(text).unwrap();
    send(&mut stream, b"+OK fake POP3 server without UIDL\r\n");
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |i: usize| -> Option<usize> {
            let n: usize = words.get(i)?.parse().ok()?;
            (n >= 1 && n <= snapshot.len() && !deleted[n - 1]).then_some(n - 1)
        };
        match words.first().map(|w| w.to_ascii_uppercase()).as_deref() {
            Some("CAPA") => send(&mut stream, b"+OK\r\nUSER\r\nPIPELINING\r\n.\r\n"),
            Some("USER") | Some("PASS") | Some("NOOP") => send(&mut stream, b"+OK\r\n"),
            Some("STAT") => {
                let live: Vec<&Vec<u8>> = snapshot
                    .iter()
                    .zip(&deleted)
                    .filter(|(_, d)| !**d)
                    .map(|(m, _)| m)
                    .collect();
                let total: usize = live.iter().map(|m| m.len()).sum();
                send(
                    &mut stream,
                    format!("+OK {} {total}\r\n", live.len()).as_bytes(),
                );
            }
            Some("LIST") => {
                let cap = drop.lock().unwrap().announce_at_most.unwrap_or(usize::MAX);
                let mut out = String::from("+OK\r\n");
                for (i, m) in snapshot.iter().enumerate() {
                    if !deleted[i] {
                        out.push_str(&format!("{} {}\r\n", i + 1, m.len().min(cap)));
                    }
                }
                out.push_str(".\r\n");
                send(&mut stream, out.as_bytes());
            }
            Some("UIDL") => send(&mut stream, b"-ERR UIDL not supported\r\n"),
            Some("RETR") => match number(1) {
                Some(i) => {
                    drop.lock().unwrap().retrieved += 1;
                    let mut out = b"+OK\r\n".to_vec();
                    for l in snapshot[i].split_inclusive(|b| *b == b'\n') {
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
            Some("DELE") => match number(1) {
                Some(i) => {
                    deleted[i] = true;
                    send(&mut stream, b"+OK\r\n");
                }
                None => send(&mut stream, b"-ERR no such message\r\n"),
            },
            Some("RSET") => {
                deleted.iter_mut().for_each(|d| *d = false);
                send(&mut stream, b"+OK\r\n");
            }
            Some("QUIT") => {
                let mut d = drop.lock().unwrap();
                if d.drop_next_quit {
                    d.drop_next_quit = false;
                    return;
                }
                // Apply the deletions: remove the deleted snapshot entries.
                let gone: Vec<Vec<u8>> = snapshot
                    .iter()
                    .zip(&deleted)
                    .filter(|(_, del)| **del)
                    .map(|(m, _)| m.clone())
                    .collect();
                for g in gone {
                    if let Some(pos) = d.messages.iter().position(|m| *m == g) {
                        d.messages.remove(pos);
                    }
                }
                std::mem::drop(d);
                send(&mut stream, b"+OK bye\r\n");
                return;
            }
            _ => send(&mut stream, b"-ERR unknown command\r\n"),
        }
    }
}

fn start_server(drop: Arc<Mutex<Maildrop>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let d = drop.clone();
            std::thread::spawn(move || serve(conn, d));
        }
    });
    port
}

fn message(i: usize) -> Vec<u8> {
    format!(
        "From: a{i}@example.test\r\nTo: desk@example.test\r\nSubject: No UIDL {i}\r\n\
         Message-ID: <nouidl-{i}@example.test>\r\n\r\nLine one.\r\n.starts with a dot\r\n"
    )
    .into_bytes()
}

fn setup(keep: bool) -> (Arc<Store>, RecordId, Collector, Arc<Mutex<Maildrop>>) {
    setup_with(keep, |_| {})
}

fn setup_with(
    keep: bool,
    tweak: impl FnOnce(&mut IncomingAccountForm),
) -> (Arc<Store>, RecordId, Collector, Arc<Mutex<Maildrop>>) {
    let drop = Arc::new(Mutex::new(Maildrop::default()));
    let port = start_server(drop.clone());
    let store = Arc::new(Store::open_in_memory().unwrap());
    let form = IncomingAccountForm {
        name: "No UIDL".into(),
        host: "127.0.0.1".into(),
        port: Some(i64::from(port)),
        protocol: Some(Protocol::Pop3),
        credential: Some("desk".into()),
        use_secure_connection: false,
        keep_copy_on_server: keep,
        ..IncomingAccountForm::default()
    };
    let mut form = form;
    tweak(&mut form);
    let account = store.create_incoming(&form).unwrap().id;
    let creds = InMemoryCredentials::new().with("desk", Credential::password("desk", "pw"));
    let mut options = CollectorOptions::default();
    options.timeouts =
        mail_settings_core::net::Timeouts::uniform(std::time::Duration::from_secs(5));
    options.batch_messages = 3;
    let collector = Collector::with_options(store.clone(), Arc::new(creds), options);
    (store, account, collector, drop)
}

fn subjects(store: &Arc<Store>, account: RecordId) -> Vec<String> {
    let mut q = InboxQuery::account(account);
    q.page_size = 1000;
    let mut v: Vec<String> = Inbox::new(store.clone())
        .list(&q)
        .unwrap()
        .messages
        .into_iter()
        .map(|m| m.subject.unwrap_or_default())
        .collect();
    v.sort();
    v
}

fn expected(n: usize) -> Vec<String> {
    let mut v: Vec<String> = (0..n).map(|i| format!("No UIDL {i}")).collect();
    v.sort();
    v
}

#[test]
fn keep_copy_recognises_messages_by_content() {
    let (store, account, collector, drop) = setup(true);
    for i in 0..5 {
        drop.lock().unwrap().messages.push(message(i));
    }
    let r = collector.check_now(account).unwrap();
    assert_eq!((r.listed, r.fetched, r.duplicates), (5, 5, 0), "{r:?}");
    assert_eq!(subjects(&store, account), expected(5));
    // Without UIDL every run downloads again, and stores nothing twice.
    let r = collector.check_now(account).unwrap();
    assert_eq!(
        (r.fetched, r.duplicates, r.already_stored),
        (0, 0, 5),
        "{r:?}"
    );
    drop.lock().unwrap().messages.push(message(5));
    let r = collector.check_now(account).unwrap();
    assert_eq!(r.fetched, 1);
    assert_eq!(subjects(&store, account), expected(6));
    assert_eq!(
        drop.lock().unwrap().messages.len(),
        6,
        "keep copy changes nothing"
    );
    // The stored bytes are the server's, dot-unstuffed.
    let inbox = Inbox::new(store.clone());
    let m = &inbox.list(&InboxQuery::account(account)).unwrap().messages[0];
    let raw = inbox.raw(m.id).unwrap();
    assert!(raw.ends_with(b"\r\n.starts with a dot\r\n"));
    assert!(m.source.contains("sha256:"), "{}", m.source);
}

#[test]
fn without_keep_copy_a_lost_quit_still_stores_each_message_once() {
    let (store, account, collector, drop) = setup(false);
    for i in 0..7 {
        drop.lock().unwrap().messages.push(message(i));
    }
    drop.lock().unwrap().drop_next_quit = true;
    let e = collector.check_now(account).unwrap_err();
    assert_eq!(e.report().unwrap().fetched, 7, "{e}");
    assert_eq!(
        drop.lock().unwrap().messages.len(),
        7,
        "QUIT never answered: nothing deleted"
    );
    let r = collector.check_now(account).unwrap();
    assert_eq!(
        (r.fetched, r.already_stored, r.duplicates),
        (0, 7, 0),
        "{r:?}"
    );
    assert!(drop.lock().unwrap().messages.is_empty());
    assert_eq!(subjects(&store, account), expected(7));
    drop.lock().unwrap().messages.push(message(7));
    assert_eq!(collector.check_now(account).unwrap().fetched, 1);
    assert_eq!(subjects(&store, account), expected(8));
    assert!(drop.lock().unwrap().messages.is_empty());
}

#[test]
fn a_message_larger_than_announced_is_never_held_past_the_limit() {
    let (store, account, collector, drop) = setup_with(false, |f| f.max_message_size = 2048);
    {
        let mut d = drop.lock().unwrap();
        d.messages.push(message(0));
        let mut big = message(1);
        big.extend(std::iter::repeat_n(b'x', 5000));
        big.extend_from_slice(b"\r\n");
        d.messages.push(big);
        d.messages.push(message(2));
        d.announce_at_most = Some(200);
    }
    let r = collector.check_now(account).unwrap();
    assert_eq!(
        (r.fetched, r.refused, r.skipped_too_large),
        (2, 0, 1),
        "{r:?}"
    );
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert_eq!(
        r.problems[0].outcome,
        mail_settings_core::collector::MessageOutcome::SkippedTooLarge
    );
    assert!(
        r.problems[0].reason.contains("limit of 2048 bytes"),
        "{}",
        r.problems[0].reason
    );
    assert_eq!(subjects(&store, account), ["No UIDL 0", "No UIDL 2"]);
    assert_eq!(
        drop.lock().unwrap().messages.len(),
        1,
        "the large one stays on the server"
    );
}
