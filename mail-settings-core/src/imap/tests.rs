//! The wrapper over scripted in-memory streams: what a real server will not do (refuse
//! STARTTLS, inject bytes, echo credentials). Real-server behaviour is in
//! `tests/tests/imap.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::response::{read_err, read_fetch, FetchItem, Keep, ReadError};
use super::*;
use crate::credentials::Credential;
use crate::net::BoundedReader;
use std::io::{self, Cursor, Read, Write};
use std::time::Duration;

/// Answers from a fixed script, one line per read; keeps what the client sent.
#[derive(Debug)]
struct Scripted {
    input: Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl Scripted {
    fn new(script: &str) -> Self {
        Self {
            input: Cursor::new(script.replace('\n', "\r\n").into_bytes()),
            output: Vec::new(),
        }
    }
}

impl Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let pos = self.input.position() as usize;
        let rest = &self.input.get_ref()[pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1)
            .min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.input.set_position((pos + n) as u64);
        Ok(n)
    }
}

impl Write for Scripted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Shares the bytes a stream sent with the test after the stream was moved away.
#[derive(Clone, Default)]
struct Log(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

struct Logged(Scripted, Log);
impl Read for Logged {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}
impl Write for Logged {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.1 .0.borrow_mut().extend_from_slice(buf);
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn logged(script: &str) -> (Logged, Log) {
    let log = Log::default();
    (Logged(Scripted::new(script), log.clone()), log)
}

fn sent(log: &Log) -> String {
    String::from_utf8_lossy(&log.0.borrow()).into_owned()
}

const SEC: Duration = Duration::from_secs(5);

#[test]
fn uid_sets_are_compact_and_ordered() {
    assert_eq!(uid_set(&[]), None);
    assert_eq!(uid_set(&[0]), None);
    assert_eq!(uid_set(&[7]).as_deref(), Some("7"));
    assert_eq!(
        uid_set(&[10, 1, 2, 3, 5, 9, 3]).as_deref(),
        Some("1:3,5,9:10")
    );
    assert_eq!(
        uid_set(&[u32::MAX, u32::MAX - 1]).as_deref(),
        Some("4294967294:4294967295")
    );
}

#[test]
fn a_bye_greeting_is_refused() {
    let e = ImapClient::new(Scripted::new("* BYE too many connections\n"), false, SEC).unwrap_err();
    assert!(e.is_protocol());
    assert!(e.message().contains("too many connections"), "{e}");
    let e = ImapClient::new(Scripted::new("220 smtp.example ESMTP\n"), false, SEC).unwrap_err();
    assert!(e.is_protocol());
}

#[test]
fn starttls_not_offered_fails_with_tls_and_sends_no_login() {
    let (s, log) = logged("* OK ready\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\na1 OK done\n");
    let c = ImapClient::new(s, false, SEC).unwrap();
    let mut upgraded = false;
    let e = c
        .starttls(|s| {
            upgraded = true;
            Ok(s)
        })
        .unwrap_err();
    assert!(e.is_tls(), "{e}");
    assert!(!upgraded);
    assert_eq!(sent(&log), "a1 CAPABILITY\r\n");
}

#[test]
fn starttls_then_capabilities_again_then_login() {
    let (s, log) = logged(
        "* OK ready\n* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\na1 OK done\nms1 OK Begin TLS\n",
    );
    let c = ImapClient::new(s, false, SEC).unwrap();
    let mut c = c
        .starttls(|_plain| {
            Ok(Scripted::new(
                "* CAPABILITY IMAP4rev1 AUTH=PLAIN UIDPLUS\na1 OK done\na2 OK Logged in\n",
            ))
        })
        .unwrap();
    assert_eq!(sent(&log), "a1 CAPABILITY\r\nms1 STARTTLS\r\n");
    assert!(c.is_encrypted());
    assert_eq!(c.greeting(), "* OK ready");
    let caps = c.capabilities().unwrap();
    assert!(!caps.login_disabled());
    assert!(caps.uidplus());
    let s = c.login(&Credential::password("u", "pw")).unwrap();
    drop(s);
}

#[test]
fn starttls_refuses_bytes_injected_before_the_handshake() {
    struct Greedy(Scripted);
    impl Read for Greedy {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if String::from_utf8_lossy(&self.0.output).contains("STARTTLS") {
                self.0.input.read(buf)
            } else {
                self.0.read(buf)
            }
        }
    }
    impl Write for Greedy {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let c = ImapClient::new(
        Greedy(Scripted::new(
            "* OK ready\n* CAPABILITY IMAP4rev1 STARTTLS\na1 OK done\nms1 OK go\na1 OK LOGIN injected\n",
        )),
        false,
        SEC,
    )
    .unwrap();
    let e = c.starttls(Ok).unwrap_err();
    assert!(e.is_tls());
    assert!(e.message().contains("injection"), "{e}");
    assert!(
        e.advice().is_some_and(|a| a.contains("possible attack")),
        "{e}"
    );
}

#[test]
fn a_refused_starttls_is_a_tls_error() {
    let c = ImapClient::new(
        Scripted::new("* OK ready\n* CAPABILITY IMAP4rev1 STARTTLS\na1 OK done\nms1 NO not now\n"),
        false,
        SEC,
    )
    .unwrap();
    assert!(c.starttls(Ok).unwrap_err().is_tls());
}

#[test]
fn a_refused_login_is_auth_and_never_shows_the_password() {
    let (s, log) = logged(
        "* OK ready\n* CAPABILITY IMAP4rev1\na1 OK done\na2 NO [AUTHENTICATIONFAILED] bad pw s3cret-pw\n",
    );
    let c = ImapClient::new(s, true, SEC).unwrap();
    let e = c
        .login(&Credential::password("u@x", "s3cret-pw"))
        .unwrap_err();
    assert!(e.is_auth(), "{e}");
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(sent(&log).contains("a2 LOGIN "), "{}", sent(&log));
    let c = ImapClient::new(
        Scripted::new("* OK ready\n* CAPABILITY IMAP4rev1\na1 OK done\na2 NO [AUTHENTICATIONFAILED] Authentication failed.\n"),
        true,
        SEC,
    )
    .unwrap();
    let e = c.login(&Credential::password("u@x", "pw")).unwrap_err();
    assert!(e.message().contains("Authentication failed."), "{e}");
}

#[test]
fn logindisabled_uses_authenticate_plain() {
    let (s, log) = logged(
        "* OK ready\n* CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=PLAIN\na1 OK done\n+ \na2 OK welcome\n",
    );
    let c = ImapClient::new(s, true, SEC).unwrap();
    c.login(&Credential::password("u", "pw")).unwrap();
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "\0u\0pw");
    assert_eq!(
        sent(&log),
        format!("a1 CAPABILITY\r\na2 AUTHENTICATE PLAIN\r\n{b64}\r\n")
    );
}

#[test]
fn xoauth2_failure_is_auth_and_the_error_challenge_gets_an_empty_answer() {
    let (s, log) = logged(
        "* OK ready\n* CAPABILITY IMAP4rev1 AUTH=XOAUTH2\na1 OK done\n+ \n+ eyJzdGF0dXMiOiI0MDEifQ==\na2 NO [AUTHENTICATIONFAILED] invalid token\n",
    );
    let c = ImapClient::new(s, true, SEC).unwrap();
    let e = c.login(&Credential::oauth2("u@x", "tok")).unwrap_err();
    assert!(e.is_auth(), "{e}");
    let out = sent(&log);
    let b64 = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "user=u@x\x01auth=Bearer tok\x01\x01",
    );
    assert!(
        out.ends_with(&format!("AUTHENTICATE XOAUTH2\r\n{b64}\r\n\r\n")),
        "{out}"
    );
}

fn session(script: &str) -> (ImapSession<Logged>, Log) {
    let (s, log) = logged(&format!(
        "* OK ready\n* CAPABILITY IMAP4rev1\na1 OK done\na2 OK logged in\n{script}"
    ));
    let c = ImapClient::new(s, true, SEC).unwrap();
    (c.login(&Credential::password("u", "p")).unwrap(), log)
}

#[test]
fn fetch_uses_uids_and_peek_and_keeps_bytes_exact() {
    let body = "Subject: hi\r\n\r\nline one\r\n.dot\r\n";
    let (mut s, log) = session(&format!(
        "* 2 EXISTS\n* OK [UIDVALIDITY 77] ok\n* OK [UIDNEXT 13] ok\na3 OK [READ-WRITE] selected\n\
         * 2 FETCH (UID 12 RFC822.SIZE {len} BODY[] {{{len}}}\n{body})\nmsf1 OK fetched\n",
        len = body.len(),
        body = body.replace("\r\n", "\n"),
    ));
    let info = s.select("INBOX").unwrap();
    assert_eq!(info.exists, 2);
    assert_eq!(info.uid_validity, Some(77));
    assert_eq!(info.uid_next, Some(13));
    let m = s.uid_fetch(&[12]).unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].uid, 12);
    assert_eq!(m[0].raw, body.as_bytes());
    assert!(sent(&log).ends_with("msf1 UID FETCH 12 (UID RFC822.SIZE BODY.PEEK[])\r\n"));
}

#[test]
fn expunge_without_uidplus_is_refused_and_sends_nothing() {
    let (mut s, log) =
        session("* 1 EXISTS\na3 OK selected\n* CAPABILITY IMAP4rev1 IDLE\na4 OK done\n");
    s.select("INBOX").unwrap();
    let before = sent(&log);
    let e = s.delete(&[1]).unwrap_err();
    assert!(e.is_protocol());
    assert!(e.message().contains("UIDPLUS"), "{e}");
    let after = sent(&log);
    assert_eq!(&after[before.len()..], "a4 CAPABILITY\r\n");
    assert!(!after.contains("EXPUNGE"));
    assert!(!after.contains("STORE"));
}

#[test]
fn operations_need_a_selected_mailbox() {
    let (mut s, _) = session("");
    assert!(s.uids().unwrap_err().is_protocol());
    assert!(s.uid_fetch(&[1]).unwrap_err().is_protocol());
}

/// Hands out its bytes in reads of the sizes given (cycling), then the rest one read at a time.
struct Chunked {
    data: Vec<u8>,
    pos: usize,
    sizes: Vec<usize>,
    turn: usize,
}

impl Chunked {
    fn new(data: &[u8], sizes: Vec<usize>) -> Self {
        Self {
            data: data.to_vec(),
            pos: 0,
            sizes,
            turn: 0,
        }
    }
}

impl Read for Chunked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = if self.sizes.is_empty() {
            usize::MAX
        } else {
            self.sizes[self.turn % self.sizes.len()].max(1)
        };
        self.turn += 1;
        let n = size.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn parse_with(input: &[u8], sizes: Vec<usize>) -> Result<Vec<FetchItem>, ReadError> {
    let mut rd = BoundedReader::new(Chunked::new(input, sizes));
    let mut out = Vec::new();
    read_fetch(&mut rd, b"msf1", Keep::UpTo(MAX_LITERAL as u64), |f| {
        out.push(f);
        true
    })?;
    Ok(out)
}

/// Parses `input` whole, one byte per read, and split in two at every byte; every way must
/// give the same result, which is returned.
fn parse(input: &[u8]) -> Result<Vec<FetchItem>, ReadError> {
    let whole = parse_with(input, Vec::new());
    let shown = |r: &Result<Vec<FetchItem>, ReadError>| format!("{r:?}");
    assert_eq!(shown(&parse_with(input, vec![1])), shown(&whole));
    for k in 1..input.len() {
        assert_eq!(
            shown(&parse_with(input, vec![k, usize::MAX])),
            shown(&whole),
            "split at {k}"
        );
    }
    whole
}

fn item(uid: u32, size: Option<u32>, body: Option<&[u8]>) -> FetchItem {
    FetchItem {
        uid: Some(uid),
        size,
        flags: None,
        body: body.map(<[u8]>::to_vec),
        body_len: body.map(|b| b.len() as u64),
    }
}

#[test]
fn fetch_reader_takes_attributes_in_any_order_and_bodies_byte_exact() {
    let body = b"Subject: x\r\n\r\n{3}\r\n* 1 FETCH (UID 9)\r\nmsf1 OK no\r\n)";
    let input = [
        format!(
            "* 1 FETCH (UID 7 RFC822.SIZE {n} BODY[] {{{n}}}\r\n",
            n = body.len()
        )
        .as_bytes(),
        body,
        b")\r\n",
        format!("* 2 FETCH (BODY[] {{{n}}}\r\n", n = body.len()).as_bytes(),
        body,
        b" UID 8 FLAGS (\\Seen $Junk) RFC822.SIZE 3)\r\n",
        b"* 3 fetch (rfc822.size 3 uid 10 body[] {3}\r\nabc)\r\n",
        b"msf1 OK done\r\n",
    ]
    .concat();
    let got = parse(&input).unwrap();
    let mut second = item(8, Some(3), Some(body));
    second.flags = Some(vec!["\\Seen".into(), "$Junk".into()]);
    assert_eq!(
        got,
        vec![
            item(7, Some(body.len() as u32), Some(body)),
            second,
            item(10, Some(3), Some(b"abc")),
        ]
    );
    assert_eq!(got[0].body.as_ref().unwrap().capacity(), body.len());
}

#[test]
fn fetch_reader_skips_interleaved_untagged_responses() {
    let input = b"* 3 EXISTS\r\n\
        * 2 EXPUNGE\r\n\
        * 1 FETCH (FLAGS (\\Seen))\r\n\
        * OK [ALERT] hello (there\r\n\
        * LIST () \"/\" {3}\r\nfoo\r\n\
        * 4 FETCH (UID 9 MODSEQ (12) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" \
          ENVELOPE (NIL \"a \\\"b\\\" (c\" ((NIL NIL \"x\" \"y\")) {2}\r\nzz) \
          BODY[HEADER.FIELDS (FROM TO)] {4}\r\nab\r\n BODY[] {3}\r\nabc)\r\n\
        * 5 RECENT\r\n\
        msf1 OK done\r\n";
    assert_eq!(
        parse(input).unwrap(),
        vec![
            FetchItem {
                flags: Some(vec!["\\Seen".into()]),
                ..FetchItem::default()
            },
            item(9, None, Some(b"abc")),
        ]
    );
}

#[test]
fn fetch_reader_nil_and_quoted_bodies() {
    let input = b"* 1 FETCH (UID 1 BODY[] NIL)\r\n\
        * 2 FETCH (UID 2 BODY[] \"a \\\"q\\\" \\\\ b\")\r\n\
        * 3 FETCH (UID 3 BODY[] {0}\r\n)\r\n\
        msf1 OK done\r\n";
    assert_eq!(
        parse(input).unwrap(),
        vec![
            item(1, None, None),
            item(2, None, Some(b"a \"q\" \\ b")),
            item(3, None, Some(b"")),
        ]
    );
}

#[test]
fn fetch_reader_errors_never_panic() {
    let eof = |r: Result<Vec<FetchItem>, ReadError>| matches!(r, Err(ReadError::Eof));
    let bad = |r: Result<Vec<FetchItem>, ReadError>| matches!(r, Err(ReadError::Protocol(_)));
    // Cut in the middle of a literal, of a line, before the tagged reply.
    assert!(eof(parse(b"* 1 FETCH (UID 1 BODY[] {10}\r\nabc")));
    assert!(eof(parse(b"* 1 FETCH (UID 1 BODY[] {10}\r\n0123456789")));
    assert!(eof(parse(b"* 1 FETCH (UID 1")));
    // A literal larger than what is kept is drained, not refused: here the stream ends first.
    assert!(eof(parse_with(
        b"* 1 FETCH (UID 1 BODY[] {2000000000}\r\nmsf1 OK\r\n",
        Vec::new()
    )));
    assert!(eof(parse(b"* 1 EXISTS\r\n")));
    assert!(eof(parse(b"")));
    // An untagged BYE, then the end.
    assert!(matches!(
        parse(b"* BYE shutting down\r\n"),
        Err(ReadError::Bye(t)) if t == "shutting down"
    ));
    // Refusals.
    assert!(
        matches!(parse(b"msf1 NO [LIMIT] too much\r\n"), Err(ReadError::Refused(t)) if t == "NO [LIMIT] too much")
    );
    assert!(matches!(parse(b"msf1 bad what\r\n"), Err(ReadError::Refused(t)) if t == "BAD what"));
    // Grammar and bounds.
    for input in [
        &b"msf1 MAYBE\r\n"[..],
        b"a9 OK not ours\r\n",
        b"+ go on\r\n",
        b"* 1 FETCH UID 1\r\nmsf1 OK\r\n",
        b"* 1 FETCH (UID x)\r\nmsf1 OK\r\n",
        b"* 1 FETCH (UID 99999999999)\r\nmsf1 OK\r\n",
        b"* 1 FETCH (UID 1 BODY[] {5}x\r\nmsf1 OK\r\n",
        b"* 1 FETCH (UID 1 BODY[] {-5}\r\nmsf1 OK\r\n",
        b"* 1 FETCH (UID 1 BODY[] {99999999999999999999}\r\nmsf1 OK\r\n",
        b"* 1 FETCH (UID 1 BODY[] \"open\r\nmsf1 OK\r\n",
        b"* 1 FETCH (UID 1 BODY[] ATOM)\r\nmsf1 OK\r\n",
        b"* 1 FETCH (UID 1 BODY[ {1}\r\nx)\r\nmsf1 OK\r\n",
        b"* 1 FETCH (UID 1) trailing\r\nmsf1 OK\r\n",
        b"* 1 FETCH (UID)\r\nmsf1 OK\r\n",
        b"* 1 FETCH (FLAGS \\Seen)\r\nmsf1 OK\r\n",
    ] {
        assert!(
            bad(parse_with(input, Vec::new())),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    let deep = format!(
        "* 1 FETCH (X {}{})\r\nmsf1 OK\r\n",
        "(".repeat(100),
        ")".repeat(100)
    );
    assert!(bad(parse_with(deep.as_bytes(), Vec::new())));
}

#[test]
fn fetch_reader_bounds_line_length() {
    let long = format!("* OK {}\r\nmsf1 OK\r\n", "x".repeat(MAX_RESPONSE_LINE + 10));
    assert!(matches!(
        parse_with(long.as_bytes(), Vec::new()),
        Err(ReadError::Protocol(_))
    ));
    assert!(matches!(
        parse_with(long.as_bytes(), vec![1000]),
        Err(ReadError::Protocol(_))
    ));
    // A line that never ends is refused once it passes the bound, not buffered forever.
    struct Endless;
    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            buf.fill(b'x');
            Ok(buf.len())
        }
    }
    let mut rd = BoundedReader::new(Endless);
    assert!(matches!(
        read_fetch(&mut rd, b"msf1", Keep::Drop, |_| true),
        Err(ReadError::Protocol(_))
    ));
    // Exactly at the bound is fine.
    let max = format!("* OK {}\r\nmsf1 OK\r\n", "x".repeat(MAX_RESPONSE_LINE - 5));
    assert!(parse_with(max.as_bytes(), vec![777]).is_ok());
}

#[test]
fn fetch_reader_errors_map_like_the_rest_of_the_module() {
    let doing = "fetching messages";
    assert!(read_err(ReadError::Eof, doing, SEC).is_connect());
    assert!(read_err(ReadError::Bye("x".into()), doing, SEC).is_connect());
    assert!(read_err(ReadError::Protocol("x".into()), doing, SEC).is_protocol());
    assert!(read_err(ReadError::Refused("NO x".into()), doing, SEC).is_protocol());
    let t = io::Error::new(io::ErrorKind::WouldBlock, "slow");
    assert!(read_err(ReadError::Io(t), doing, SEC).is_timeout());
}

/// The whole script in one buffer, read as much at a time as asked: the crate and our reader
/// must not lose bytes to each other.
struct Blob(Cursor<Vec<u8>>, Vec<u8>);
impl Read for Blob {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}
impl Write for Blob {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.1.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn fetch_in_batches_between_crate_commands_over_one_buffer() {
    let script = "* OK ready\r\n* CAPABILITY IMAP4rev1\r\na1 OK done\r\na2 OK logged in\r\n\
        * 3 EXISTS\r\na3 OK [READ-WRITE] selected\r\n\
        * 1 FETCH (UID 5 RFC822.SIZE 3 BODY[] {3}\r\none)\r\n* 9 FETCH (UID 99 BODY[] {1}\r\nx)\r\nmsf1 OK\r\n\
        * 2 FETCH (BODY[] {3}\r\ntwo UID 6)\r\n* 2 FETCH (UID 6 BODY[] {5}\r\nagain)\r\nmsf2 OK\r\n\
        * 4 EXISTS\r\nmsf3 OK\r\n\
        a4 OK noop\r\n\
        * 3 FETCH (UID 8 BODY[] NIL)\r\nmsf4 NO [SERVERBUG] oops\r\n";
    let c = ImapClient::new(
        Blob(Cursor::new(script.as_bytes().to_vec()), Vec::new()),
        true,
        SEC,
    )
    .unwrap();
    let mut s = c.login(&Credential::password("u", "p")).unwrap();
    s.set_fetch_batch(1);
    s.select("INBOX").unwrap();
    let got = s.uid_fetch(&[7, 6, 5, 0]).unwrap();
    assert_eq!(
        got.iter()
            .map(|m| (m.uid, m.size, m.raw.clone()))
            .collect::<Vec<_>>(),
        vec![(5, Some(3), b"one".to_vec()), (6, None, b"two".to_vec())]
    );
    s.noop().unwrap();
    let e = s.uid_fetch(&[8]).unwrap_err();
    assert!(e.is_protocol(), "{e}");
    assert!(e.message().contains("NO [SERVERBUG] oops"), "{e}");
    drop(s);
}

#[test]
fn fetch_sends_uid_fetch_with_peek_in_batches() {
    let (mut s, log) = session("* 3 EXISTS\na3 OK selected\nmsf1 OK\nmsf2 OK\n");
    s.set_fetch_batch(2);
    s.select("INBOX").unwrap();
    let before = sent(&log).len();
    assert!(s.uid_fetch(&[3, 1, 2]).unwrap().is_empty());
    assert_eq!(
        &sent(&log)[before..],
        "msf1 UID FETCH 1:2 (UID RFC822.SIZE BODY.PEEK[])\r\nmsf2 UID FETCH 3 (UID RFC822.SIZE BODY.PEEK[])\r\n"
    );
}

proptest::proptest! {
    #[test]
    fn fetch_reader_never_panics_on_arbitrary_bytes(
        data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
        sizes in proptest::collection::vec(1usize..64, 0..4),
    ) {
        let _ = parse_with(&data, sizes.clone());
        let prefixed = [&b"* 1 FETCH ("[..], &data].concat();
        let _ = parse_with(&prefixed, sizes);
    }

    #[test]
    fn fetch_reader_never_panics_on_near_miss_responses(
        parts in proptest::collection::vec(proptest::sample::select(vec![
            "* ", "1 ", "FETCH ", "(", ")", "UID ", "7", " ", "BODY[] ", "{3}\r\n", "{0}\r\n",
            "abc", "NIL", "\"q\\\"\"", "\r\n", "RFC822.SIZE ", "FLAGS (\\Seen)", "BODY[",
            "]", "msf1 ", "OK", "NO", "{", "}", "* BYE x\r\n", "\n", "\\",
        ]), 0..40),
        sizes in proptest::collection::vec(1usize..16, 0..3),
    ) {
        let input = parts.concat();
        let _ = parse_with(input.as_bytes(), sizes);
    }
}
