//! The IMAP client and the collector's IMAP source against in-process fake servers, for what a
//! real server will not do on cue: a greeting without end, an endless untagged flood, a
//! dripping server, literals far over the limit, bodies that are not what was asked for, a
//! malformed literal.
//!
//! Memory is measured per thread by a counting allocator: the peak of the bytes the test's own
//! thread holds (the fake server runs on another thread and is not counted).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// The counting allocator below is the only unsafe code: a `GlobalAlloc` that forwards every
// call to the system allocator unchanged. Test-only; the library itself has none.
#![allow(unsafe_code)]

use mail_settings_core::collector::imap_source::ImapSource;
use mail_settings_core::collector::{MailSource, MessageSink, SourceId};
use mail_settings_core::imap::{self, ImapOptions};
use mail_settings_core::net::{OpDeadline, Timeouts};
use mail_settings_core::{
    Credential, ErrorCategory, InMemoryCredentials, IncomingAccount, IncomingAccountForm, Protocol,
    ValidationContext,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------------------------------
// Memory, per thread
// ------------------------------------------------------------------------------------------

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let v = live.get() + delta;
        live.set(v);
        let _ = PEAK.try_with(|p| {
            if v > p.get() {
                p.set(v);
            }
        });
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters move.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(ptr, layout, new_size) };
        if !q.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result and the peak of the bytes this thread held meanwhile, above
/// what it held before.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let r = f();
    let peak = PEAK.with(Cell::get) - start;
    (r, usize::try_from(peak).unwrap_or(0))
}

const MIB: usize = 1 << 20;

// ------------------------------------------------------------------------------------------
// The fake server
// ------------------------------------------------------------------------------------------

/// The server side of one connection: reads the client's lines, writes raw bytes.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    received: Vec<String>,
}

impl Conn {
    /// Writes; `false` once the client has gone.
    fn send(&mut self, bytes: &[u8]) -> bool {
        self.writer.write_all(bytes).is_ok() && self.writer.flush().is_ok()
    }

    /// Reads one command line; `None` when the client closed.
    fn line(&mut self) -> Option<String> {
        let mut l = String::new();
        match self.reader.read_line(&mut l) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                let l = l.trim_end_matches(['\r', '\n']).to_owned();
                self.received.push(l.clone());
                Some(l)
            }
        }
    }

    /// Reads a command whose text (after the tag) starts with `prefix`; returns its tag.
    fn expect(&mut self, prefix: &str) -> String {
        let l = self
            .line()
            .unwrap_or_else(|| panic!("client closed, expected {prefix}"));
        let (tag, rest) = l.split_once(' ').unwrap_or((&l, ""));
        assert!(rest.starts_with(prefix), "expected {prefix}, got {l:?}");
        tag.to_owned()
    }

    /// Answers until the client closes: LOGOUT with BYE, anything else with OK.
    fn serve_rest(&mut self) {
        while let Some(l) = self.line() {
            let (tag, rest) = l.split_once(' ').unwrap_or((&l, ""));
            if rest.starts_with("CAPABILITY") {
                self.send(
                    format!("* CAPABILITY IMAP4rev1 UIDPLUS\r\n{tag} OK done\r\n").as_bytes(),
                );
                continue;
            }
            if rest.starts_with("LOGOUT") {
                self.send(format!("* BYE bye\r\n{tag} OK bye\r\n").as_bytes());
                return;
            }
            self.send(format!("{tag} OK done\r\n").as_bytes());
        }
    }

    /// Greeting, CAPABILITY, LOGIN.
    fn login(&mut self) {
        self.send(b"* OK fake IMAP ready\r\n");
        let t = self.expect("CAPABILITY");
        self.send(format!("* CAPABILITY IMAP4rev1 UIDPLUS\r\n{t} OK done\r\n").as_bytes());
        let t = self.expect("LOGIN");
        self.send(format!("{t} OK logged in\r\n").as_bytes());
    }

    /// SELECT or EXAMINE of INBOX with `exists` messages.
    fn select(&mut self, exists: u32) {
        let l = self.line().expect("SELECT");
        let (tag, rest) = l.split_once(' ').unwrap();
        assert!(
            rest.starts_with("SELECT") || rest.starts_with("EXAMINE"),
            "{l}"
        );
        self.send(
            format!(
                "* {exists} EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 99] ok\r\n{tag} OK done\r\n"
            )
            .as_bytes(),
        );
    }

    /// The size listing: `(uid, size)` pairs.
    fn sizes(&mut self, list: &[(u32, u64)]) {
        let t = self.expect("UID FETCH 1:* (UID RFC822.SIZE)");
        let mut out = String::new();
        for (i, (uid, size)) in list.iter().enumerate() {
            out.push_str(&format!(
                "* {} FETCH (UID {uid} RFC822.SIZE {size})\r\n",
                i + 1
            ));
        }
        out.push_str(&format!("{t} OK done\r\n"));
        self.send(out.as_bytes());
    }
}

/// A fake server on a loopback port running `script` for one connection; joining gives the
/// lines the client sent.
fn fake(script: impl FnOnce(&mut Conn) + Send + 'static) -> (u16, JoinHandle<Vec<String>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut c = Conn {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
            received: Vec::new(),
        };
        script(&mut c);
        c.received
    });
    (port, h)
}

fn account(port: u16, max_message_size: i64) -> IncomingAccount {
    let form = IncomingAccountForm {
        name: "fake".into(),
        host: "127.0.0.1".into(),
        port: Some(i64::from(port)),
        protocol: Some(Protocol::Imap),
        credential: Some("c".into()),
        use_secure_connection: false,
        max_message_size,
        ..IncomingAccountForm::default()
    };
    IncomingAccount::from_form(&form, &ValidationContext::standalone()).unwrap()
}

fn creds() -> InMemoryCredentials {
    InMemoryCredentials::new().with("c", Credential::password("user@example.test", "pw-42"))
}

fn options(deadline: Option<OpDeadline>) -> ImapOptions {
    let mut o = ImapOptions::with_timeouts(Timeouts::uniform(Duration::from_secs(20)));
    o.deadline = deadline;
    o
}

/// What the collector's sink was told.
#[derive(Default)]
struct Recorded {
    messages: Vec<(SourceId, Vec<u8>)>,
    refused: Vec<(SourceId, String)>,
}

impl MessageSink for Recorded {
    fn message(
        &mut self,
        id: &SourceId,
        _size: u64,
        body: &mut dyn Read,
    ) -> io::Result<ControlFlow<()>> {
        let mut raw = Vec::new();
        body.read_to_end(&mut raw)?;
        self.messages.push((id.clone(), raw));
        Ok(ControlFlow::Continue(()))
    }

    fn refused(&mut self, id: &SourceId, reason: &str) {
        self.refused.push((id.clone(), reason.to_owned()));
    }
}

fn source(port: u16, max_message_size: i64) -> ImapSource {
    ImapSource::new(
        account(port, max_message_size),
        Arc::new(creds()),
        Timeouts::uniform(Duration::from_secs(20)),
    )
}

fn no_removal(received: &[String]) {
    assert!(
        !received
            .iter()
            .any(|l| l.contains("STORE") || l.contains("EXPUNGE")),
        "the server was changed: {received:?}"
    );
}

// ------------------------------------------------------------------------------------------
// Bounded reads
// ------------------------------------------------------------------------------------------

#[test]
fn a_greeting_without_a_line_end_is_refused_at_the_limit() {
    let (port, h) = fake(|c| {
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0usize;
        if c.send(b"* OK ") {
            // Up to 200 MB, as long as the client reads.
            while sent < 200 * MIB && c.send(&chunk) {
                sent += chunk.len();
            }
        }
        c.received.push(format!("sent {sent}"));
    });
    let (r, peak) = peak_of(|| imap::open(&account(port, 50 << 20), &creds(), &options(None)));
    let err = r.unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Protocol, "{err}");
    assert!(
        err.message().contains("longer than 65536 bytes")
            && err.message().contains("reading the greeting"),
        "{err}"
    );
    let received = h.join().unwrap();
    let sent: usize = received
        .last()
        .and_then(|l| l.strip_prefix("sent "))
        .and_then(|n| n.parse().ok())
        .unwrap();
    println!("greeting without end: server sent {sent} bytes, client peak {peak} bytes");
    assert!(sent < 32 * MIB, "the client read {sent} bytes");
    assert!(peak < 2 * MIB, "peak {peak} bytes");
}

#[test]
fn an_endless_untagged_flood_during_examine_stops_at_the_response_budget() {
    let (port, h) = fake(|c| {
        c.login();
        let _ = c.line();
        let line = b"* OK [ALERT] still flooding, still flooding, still flooding\r\n".repeat(1000);
        let mut sent = 0usize;
        while sent < 100 * MIB && c.send(&line) {
            sent += line.len();
        }
        c.received.push(format!("sent {sent}"));
    });
    let (r, peak) = peak_of(|| {
        let mut s = imap::connect(&account(port, 50 << 20), &creds(), &options(None)).unwrap();
        s.examine("INBOX")
    });
    let err = r.unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Protocol, "{err}");
    assert!(
        err.message().contains("more than 8 MiB") && err.message().contains("examining"),
        "{err}"
    );
    let received = h.join().unwrap();
    println!(
        "untagged flood: {} , client peak {peak} bytes",
        received.last().unwrap()
    );
    assert!(peak < 48 * MIB, "peak {peak} bytes");
}

#[test]
fn a_slow_flood_is_stopped_by_the_deadline_naming_the_stage() {
    let (port, h) = fake(|c| {
        c.login();
        let _ = c.line();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) && c.send(b"* 1 RECENT\r\n") {
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let deadline = OpDeadline::after(Duration::from_millis(1500), "the check");
    let started = Instant::now();
    let mut s =
        imap::connect(&account(port, 50 << 20), &creds(), &options(Some(deadline))).unwrap();
    let err = s.examine("INBOX").unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.category(), ErrorCategory::Timeout, "{err}");
    assert!(
        err.message().contains(
            "while examining mailbox \"INBOX\": the check took longer than its 1.5 s budget"
        ),
        "{err}"
    );
    assert!(took < Duration::from_secs(4), "{took:?}");
    drop(s);
    h.join().unwrap();
}

#[test]
fn a_dripped_greeting_is_stopped_by_the_deadline() {
    let (port, h) = fake(|c| {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) && c.send(b"*") {
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let deadline = OpDeadline::after(Duration::from_secs(1), "the check");
    let started = Instant::now();
    let err = imap::open(&account(port, 50 << 20), &creds(), &options(Some(deadline))).unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Timeout, "{err}");
    assert!(
        err.message()
            .contains("reading the greeting: the check took longer than its 1 s budget"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    h.join().unwrap();
}

// ------------------------------------------------------------------------------------------
// Literals and what they hold
// ------------------------------------------------------------------------------------------

/// Sends `* n FETCH (UID uid RFC822.SIZE announced BODY[] {len}` and `len` bytes of `fill`.
fn send_body(c: &mut Conn, n: usize, uid: u32, announced: u64, len: usize) -> bool {
    if !c.send(
        format!("* {n} FETCH (UID {uid} RFC822.SIZE {announced} BODY[] {{{len}}}\r\n").as_bytes(),
    ) {
        return false;
    }
    let chunk = vec![b'a'; MIB];
    let mut left = len;
    while left > 0 {
        let k = left.min(chunk.len());
        if !c.send(&chunk[..k]) {
            return false;
        }
        left -= k;
    }
    c.send(b")\r\n")
}

#[test]
fn literals_over_the_limit_are_drained_and_memory_does_not_depend_on_the_batch() {
    const BIG: usize = 150 * MIB;
    let (port, h) = fake(|c| {
        c.login();
        c.select(3);
        c.sizes(&[(1, 1000), (2, 1000), (3, 20)]);
        let t = c.expect("UID FETCH 1:3 (UID RFC822.SIZE BODY.PEEK[])");
        assert!(send_body(c, 1, 1, 1000, BIG));
        assert!(send_body(c, 2, 2, 1000, BIG));
        c.send(b"* 3 FETCH (UID 3 RFC822.SIZE 20 BODY[] {20}\r\n0123456789abcdefghij)\r\n");
        c.send(format!("{t} OK done\r\n").as_bytes());
        c.serve_rest();
    });
    let mut src = source(port, MIB as i64);
    let mut sink = Recorded::default();
    let started = Instant::now();
    // The whole session: connect, log in, list, fetch (buffers included).
    let (r, peak) = peak_of(|| {
        let listing = src.open(false)?;
        assert_eq!(listing.messages.len(), 3);
        src.fetch(&listing.messages, &mut sink)
    });
    r.unwrap();
    println!(
        "two {} MB literals with a 1 MiB limit: client peak {peak} bytes ({:.1} MiB), {:?}",
        BIG / MIB,
        peak as f64 / MIB as f64,
        started.elapsed()
    );
    assert_eq!(
        sink.messages,
        vec![(SourceId::Uid(3), b"0123456789abcdefghij".to_vec())]
    );
    assert_eq!(sink.refused.len(), 2, "{:?}", sink.refused);
    for (i, (id, why)) in sink.refused.iter().enumerate() {
        assert_eq!(id, &SourceId::Uid(i as u32 + 1));
        assert!(why.contains("larger than the account's limit"), "{why}");
    }
    // One message (at most the limit) plus buffers: 300 MB went by.
    assert!(peak < 4 * MIB, "peak {peak} bytes");
    src.close().unwrap();
    h.join().unwrap();
}

#[test]
fn a_body_labelled_with_a_uid_not_asked_for_is_stored_but_the_server_is_not_changed() {
    let (port, h) = fake(|c| {
        c.login();
        c.select(2);
        c.sizes(&[(5, 10), (7, 10)]);
        let t = c.expect("UID FETCH 5 (UID RFC822.SIZE BODY.PEEK[])");
        c.send(
            format!(
                "* 2 FETCH (UID 7 RFC822.SIZE 10 BODY[] {{10}}\r\nseven-body)\r\n{t} OK done\r\n"
            )
            .as_bytes(),
        );
        c.serve_rest();
    });
    let mut src = source(port, 1 << 20);
    let listing = src.open(false).unwrap();
    let mut sink = Recorded::default();
    src.fetch(&[listing.messages[0].clone()], &mut sink)
        .unwrap();
    // What came is kept, known by its content, not as UID 5 nor UID 7.
    assert_eq!(
        sink.messages,
        vec![(SourceId::Number(7), b"seven-body".to_vec())]
    );
    assert_eq!(sink.refused.len(), 1, "{:?}", sink.refused);
    assert_eq!(sink.refused[0].0, SourceId::Uid(5));
    assert!(
        sink.refused[0].1.contains("UID 7, which was not asked for"),
        "{:?}",
        sink.refused
    );
    // Even asked to, the session removes neither.
    src.delete(&[SourceId::Uid(5), SourceId::Uid(7)]).unwrap();
    src.close().unwrap();
    no_removal(&h.join().unwrap());
}

#[test]
fn a_body_shorter_or_longer_than_its_rfc822_size_is_stored_but_never_expunged() {
    let (port, h) = fake(|c| {
        c.login();
        c.select(3);
        c.sizes(&[(5, 100), (6, 4), (8, 3)]);
        let t = c.expect("UID FETCH 5:6,8 (UID RFC822.SIZE BODY.PEEK[])");
        // UID 5: 10 bytes for an RFC822.SIZE of 100; UID 6: 6 bytes for 4; UID 8: as it should.
        c.send(
            format!(
                "* 1 FETCH (UID 5 RFC822.SIZE 100 BODY[] {{10}}\r\nshort-body)\r\n\
                 * 2 FETCH (UID 6 RFC822.SIZE 4 BODY[] {{6}}\r\nlonger)\r\n\
                 * 3 FETCH (UID 8 RFC822.SIZE 3 BODY[] {{3}}\r\nok!)\r\n{t} OK done\r\n"
            )
            .as_bytes(),
        );
        c.serve_rest();
    });
    let mut src = source(port, 1 << 20);
    let listing = src.open(false).unwrap();
    let mut sink = Recorded::default();
    src.fetch(&listing.messages, &mut sink).unwrap();
    assert_eq!(
        sink.messages,
        vec![
            (SourceId::Number(5), b"short-body".to_vec()),
            (SourceId::Number(6), b"longer".to_vec()),
            (SourceId::Uid(8), b"ok!".to_vec()),
        ]
    );
    let refused: Vec<_> = sink.refused.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(refused, vec![SourceId::Uid(5), SourceId::Uid(6)]);
    assert!(
        sink.refused[0]
            .1
            .contains("is 10 bytes, its RFC822.SIZE 100"),
        "{:?}",
        sink.refused
    );
    src.delete(&[SourceId::Uid(5), SourceId::Uid(6), SourceId::Uid(8)])
        .unwrap();
    src.close().unwrap();
    let received = h.join().unwrap();
    let changes: Vec<&str> = received
        .iter()
        .filter(|l| l.contains("STORE") || l.contains("EXPUNGE"))
        .map(|l| l.split_once(' ').unwrap().1)
        .collect();
    assert_eq!(
        changes,
        vec!["UID STORE 8 +FLAGS.SILENT (\\Deleted)", "UID EXPUNGE 8"],
        "{received:?}"
    );
}

#[test]
fn a_malformed_literal_is_named_and_the_session_ends_without_a_logout_error() {
    let (port, h) = fake(|c| {
        c.login();
        c.select(1);
        c.sizes(&[(5, 10)]);
        let _ = c.expect("UID FETCH 5 (UID RFC822.SIZE BODY.PEEK[])");
        c.send(b"* 1 FETCH (UID 5 RFC822.SIZE 10 BODY[] {1\x1b[2J0}\r\n0123456789)\r\n");
        // Whatever the client sends now is answered with noise a reader would trip on.
        while let Some(l) = c.line() {
            c.send(format!("* 1 FETCH (BODY[] {{99}}\r\nnoise after {l}\r\n").as_bytes());
        }
    });
    let mut src = source(port, 1 << 20);
    let listing = src.open(false).unwrap();
    let mut sink = Recorded::default();
    let err = src.fetch(&listing.messages, &mut sink).unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Protocol, "{err}");
    assert!(
        err.message().contains("a malformed literal")
            && err.message().contains("fetching messages"),
        "{err}"
    );
    assert!(
        err.message().contains("{1"),
        "the offending text is quoted: {err}"
    );
    assert!(!err.message().contains('\x1b'), "made safe: {err:?}");
    assert!(sink.messages.is_empty());
    // The session is out of step: nothing more is sent, and closing it says nothing more.
    let again = src.delete(&[SourceId::Uid(5)]).unwrap_err();
    assert!(again.message().contains("a malformed literal"), "{again}");
    src.close().unwrap();
    let received = h.join().unwrap();
    assert!(
        !received.iter().any(|l| l.contains("LOGOUT")),
        "{received:?}"
    );
    no_removal(&received);
}
