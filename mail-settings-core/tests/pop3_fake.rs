//! The POP3 client against in-process fake servers, for what a real server will not do:
//! malformed replies, over-long lines, a connection cut at an exact byte, a missing final dot,
//! an offer without STLS, bytes injected after STLS, a server that never answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::net::Timeouts;
use mail_settings_core::pop3::{LoginMethod, Pop3Client, MAX_LINE};
use mail_settings_core::{
    Credential, ErrorCategory, InMemoryCredentials, IncomingAccount, IncomingAccountForm, Protocol,
    SecureConnectionType, ValidationContext,
};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const PASSWORD: &str = "fake-Secret-42";

/// The server side of one connection: reads the client's lines, writes raw bytes.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    received: Vec<String>,
}

impl Conn {
    fn send(&mut self, bytes: &[u8]) {
        // Ignore errors: the client may have hung up already, which some tests expect.
        let _ = self.writer.write_all(bytes);
        let _ = self.writer.flush();
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

    /// Reads a command and checks it starts with `prefix`.
    fn expect(&mut self, prefix: &str) -> String {
        let l = self
            .line()
            .unwrap_or_else(|| panic!("client closed, expected {prefix}"));
        assert!(l.starts_with(prefix), "expected {prefix}, got {l:?}");
        l
    }

    /// Reads until the client closes.
    fn drain(&mut self) {
        while self.line().is_some() {}
    }
}

/// A fake server on a loopback port running `script` for one connection; joining gives the
/// lines the client sent.
fn fake(script: impl FnOnce(&mut Conn) + Send + 'static) -> (u16, JoinHandle<Vec<String>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
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

fn account(port: u16, secure: Option<SecureConnectionType>) -> IncomingAccount {
    let form = IncomingAccountForm {
        name: "fake".into(),
        host: "127.0.0.1".into(),
        port: Some(i64::from(port)),
        protocol: Some(Protocol::Pop3),
        credential: Some("c".into()),
        use_secure_connection: secure.is_some(),
        secure_connection_type: secure.unwrap_or(SecureConnectionType::Ssl),
        ..IncomingAccountForm::default()
    };
    IncomingAccount::from_form(&form, &ValidationContext::standalone()).unwrap()
}

fn creds() -> InMemoryCredentials {
    InMemoryCredentials::new().with("c", Credential::password("user@example.test", PASSWORD))
}

fn token_creds() -> InMemoryCredentials {
    InMemoryCredentials::new().with("c", Credential::oauth2("user@example.test", "tok-XYZ-123"))
}

fn short() -> Timeouts {
    Timeouts::uniform(Duration::from_secs(10))
}

/// Greeting, CAPA with `caps`, USER/PASS accepted.
fn login_user_pass(c: &mut Conn, caps: &str) {
    login_user_pass_after(c, caps, |_| {});
}

/// [`login_user_pass`] with `before` run between CAPA and USER (the AUTHORIZATION state).
fn login_user_pass_after(c: &mut Conn, caps: &str, before: impl FnOnce(&mut Conn)) {
    c.send(b"+OK fake ready\r\n");
    c.expect("CAPA");
    c.send(format!("+OK\r\n{caps}.\r\n").as_bytes());
    before(c);
    c.expect("USER user@example.test");
    c.send(b"+OK\r\n");
    c.expect("PASS ");
    c.send(b"+OK logged in\r\n");
}

fn connect(
    port: u16,
) -> Result<Pop3Client<mail_settings_core::net::MailStream>, mail_settings_core::ConnectionError> {
    Pop3Client::connect(&account(port, None), &creds(), &short())
}

#[test]
fn a_greeting_that_is_not_pop3_is_a_protocol_error() {
    let (port, h) = fake(|c| {
        c.send(b"* OK [CAPABILITY IMAP4rev1] ready\r\n");
        c.drain();
    });
    let err = connect(port).unwrap_err();
    assert!(err.is_protocol(), "{err}");
    assert!(err.message().contains("not a POP3 server"), "{err}");
    assert!(
        h.join().unwrap().is_empty(),
        "nothing may be sent after a bad greeting"
    );
}

#[test]
fn an_err_greeting_is_a_protocol_error_with_the_servers_text() {
    let (port, h) = fake(|c| {
        c.send(b"-ERR too many connections\r\n");
        c.drain();
    });
    let err = connect(port).unwrap_err();
    assert!(
        err.is_protocol() && err.message().contains("too many connections"),
        "{err}"
    );
    h.join().unwrap();
}

#[test]
fn a_reply_line_over_the_limit_is_refused_without_hanging() {
    let (port, h) = fake(|c| {
        c.send(b"+OK ready\r\n");
        c.expect("CAPA");
        let mut long = b"+OK ".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        long.extend_from_slice(b"\r\n");
        c.send(&long);
        c.drain();
    });
    let err = connect(port).unwrap_err();
    assert!(err.is_protocol(), "{err}");
    assert!(
        err.message().contains(&format!("longer than {MAX_LINE}")),
        "{err}"
    );
    h.join().unwrap();
}

#[test]
fn a_line_of_exactly_the_limit_is_accepted() {
    let (port, h) = fake(|c| {
        login_user_pass(c, "USER\r\n");
        c.expect("NOOP");
        let mut line = b"+OK ".to_vec();
        line.extend(std::iter::repeat_n(b'y', MAX_LINE - 6));
        line.extend_from_slice(b"\r\n");
        assert_eq!(line.len(), MAX_LINE);
        c.send(&line);
        c.drain();
    });
    let mut client = connect(port).unwrap();
    client.noop().unwrap();
    drop(client);
    h.join().unwrap();
}

fn body_of(len: usize) -> Vec<u8> {
    // Lines of 77 letters + CRLF, no leading dots.
    let mut b = Vec::with_capacity(len);
    let mut i = 0u8;
    while b.len() < len {
        if b.len() % 79 == 77 {
            b.extend_from_slice(b"\r\n");
        } else {
            b.push(b'a' + i % 26);
            i = i.wrapping_add(1);
        }
    }
    b.truncate(len);
    b
}

#[test]
fn a_connection_cut_in_the_middle_of_retr_fails_and_keeps_exactly_the_bytes_before_the_cut() {
    let body = body_of(10_000);
    let cut = 4_321;
    let sent = body[..cut].to_vec();
    let (port, h) = fake(move |c| {
        login_user_pass(c, "USER\r\n");
        c.expect("RETR 1");
        let mut out = b"+OK 10000 octets\r\n".to_vec();
        out.extend_from_slice(&sent);
        c.send(&out);
        // Close at exactly that byte.
    });
    let mut client = connect(port).unwrap();
    let mut sink = Vec::new();
    let err = client.retr(1, &mut sink).unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Connect, "{err}");
    assert!(
        err.message().contains(&format!("after {cut} bytes")),
        "{err}"
    );
    assert_eq!(sink, &body[..cut]);
    assert!(!client.is_usable());
    let again = client.noop().unwrap_err();
    assert!(again.message().contains("unusable"), "{again}");
    h.join().unwrap();
}

#[test]
fn a_message_without_the_final_dot_is_an_error_not_a_message() {
    for ending in [&b""[..], b".", b".\r", b"..\r\n"] {
        let ending = ending.to_vec();
        let (port, h) = fake(move |c| {
            login_user_pass(c, "USER\r\n");
            c.expect("RETR 1");
            let mut out = b"+OK\r\nSubject: x\r\n\r\nbody\r\n".to_vec();
            out.extend_from_slice(&ending);
            c.send(&out);
        });
        let mut client = connect(port).unwrap();
        let mut sink = Vec::new();
        let err = client.retr(1, &mut sink).unwrap_err();
        assert_eq!(err.category(), ErrorCategory::Connect, "{err}");
        h.join().unwrap();
    }
}

#[test]
fn dot_unstuffing_edge_cases_and_the_session_stays_in_step() {
    let (port, h) = fake(|c| {
        login_user_pass(c, "USER\r\n");
        c.expect("RETR 7");
        c.send(b"+OK\r\n..\r\n...\r\n..leading\r\n.. space\r\nmid.dle\r\n.\tx\r\n\r\n..\r\n.\r\n");
        c.expect("NOOP");
        c.send(b"+OK\r\n");
        c.drain();
    });
    let mut client = connect(port).unwrap();
    let mut sink = Vec::new();
    let n = client.retr(7, &mut sink).unwrap();
    let expected = b".\r\n..\r\n.leading\r\n. space\r\nmid.dle\r\n\tx\r\n\r\n.\r\n";
    assert_eq!(
        String::from_utf8_lossy(&sink),
        String::from_utf8_lossy(expected)
    );
    assert_eq!(n, expected.len() as u64);
    client.noop().unwrap();
    drop(client);
    h.join().unwrap();
}

#[test]
fn err_on_pass_is_an_auth_error_without_the_password() {
    let (port, h) = fake(|c| {
        c.send(b"+OK ready\r\n");
        c.expect("CAPA");
        c.send(b"+OK\r\nUSER\r\n.\r\n");
        c.expect("USER user@example.test");
        c.send(b"+OK\r\n");
        c.expect("PASS ");
        c.send(b"-ERR [AUTH] Authentication failed.\r\n");
        c.drain();
    });
    let err = connect(port).unwrap_err();
    assert!(err.is_auth(), "{err}");
    assert!(err.message().contains("Authentication failed"), "{err}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    let received = h.join().unwrap();
    assert_eq!(
        received.last().map(String::as_str),
        Some(&*format!("PASS {PASSWORD}"))
    );
}

#[test]
fn a_temporary_failure_at_login_is_not_an_auth_error() {
    let (port, h) = fake(|c| {
        c.send(b"+OK ready\r\n");
        c.expect("CAPA");
        c.send(b"+OK\r\nUSER\r\n.\r\n");
        c.expect("USER");
        c.send(b"+OK\r\n");
        c.expect("PASS");
        c.send(b"-ERR [IN-USE] Mailbox is locked by another session\r\n");
        c.drain();
    });
    let err = connect(port).unwrap_err();
    assert!(err.is_protocol() && !err.is_auth(), "{err}");
    h.join().unwrap();
}

#[test]
fn auth_plain_is_preferred_when_offered() {
    let (port, h) = fake(|c| {
        c.send(b"+OK ready\r\n");
        c.expect("CAPA");
        c.send(b"+OK\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n");
        c.expect("AUTH PLAIN ");
        c.send(b"+OK logged in\r\n");
        c.drain();
    });
    let client = connect(port).unwrap();
    assert!(client.is_logged_in());
    drop(client);
    let received = h.join().unwrap();
    // base64("\0user@example.test\0fake-Secret-42")
    assert_eq!(
        received[1],
        "AUTH PLAIN AHVzZXJAZXhhbXBsZS50ZXN0AGZha2UtU2VjcmV0LTQy"
    );
}

#[test]
fn auth_plain_rejected_is_an_auth_error() {
    let (port, h) = fake(|c| {
        c.send(b"+OK ready\r\n");
        c.expect("CAPA");
        c.send(b"+OK\r\nSASL PLAIN\r\n.\r\n");
        c.expect("AUTH PLAIN ");
        c.send(b"-ERR [AUTH] Authentication failed.\r\n");
        c.drain();
    });
    let err = connect(port).unwrap_err();
    assert!(err.is_auth(), "{err}");
    h.join().unwrap();
}

#[test]
fn xoauth2_for_a_token_and_its_error_challenge() {
    // Accepted.
    let (port, h) = fake(|c| {
        c.send(b"+OK ready\r\n");
        c.expect("CAPA");
        c.send(b"+OK\r\nSASL PLAIN XOAUTH2\r\n.\r\n");
        c.expect("AUTH XOAUTH2 ");
        c.send(b"+OK\r\n");
        c.drain();
    });
    let client = Pop3Client::connect(&account(port, None), &token_creds(), &short()).unwrap();
    assert!(client.is_logged_in());
    drop(client);
    let received = h.join().unwrap();
    let encoded = received[1].trim_start_matches("AUTH XOAUTH2 ");
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    assert_eq!(
        decoded,
        b"user=user@example.test\x01auth=Bearer tok-XYZ-123\x01\x01"
    );

    // Rejected with a JSON challenge: the client answers an empty line, then -ERR.
    let (port, h) = fake(|c| {
        c.send(b"+OK ready\r\n");
        c.expect("CAPA");
        c.send(b"+OK\r\nSASL XOAUTH2\r\n.\r\n");
        c.expect("AUTH XOAUTH2 ");
        c.send(b"+ eyJzdGF0dXMiOiI0MDEifQ==\r\n");
        assert_eq!(c.line().as_deref(), Some(""));
        c.send(b"-ERR [AUTH] Invalid token\r\n");
        c.drain();
    });
    let err = Pop3Client::connect(&account(port, None), &token_creds(), &short()).unwrap_err();
    assert!(
        err.is_auth() && err.message().contains("Invalid token"),
        "{err}"
    );
    assert!(!format!("{err:?}").contains("tok-XYZ-123"));
    h.join().unwrap();
}

#[test]
fn a_token_without_xoauth2_is_refused_before_sending_anything() {
    let (port, h) = fake(|c| {
        c.send(b"+OK ready\r\n");
        c.expect("CAPA");
        c.send(b"+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n");
        c.drain();
    });
    let err = Pop3Client::connect(&account(port, None), &token_creds(), &short()).unwrap_err();
    assert!(err.is_auth() && err.message().contains("XOAUTH2"), "{err}");
    assert_eq!(h.join().unwrap(), vec!["CAPA".to_owned()]);
}

#[test]
fn starttls_without_stls_offered_fails_before_any_credential() {
    let (port, h) = fake(|c| {
        c.send(b"+OK ready\r\n");
        c.expect("CAPA");
        c.send(b"+OK\r\nUSER\r\nSASL PLAIN\r\nPIPELINING\r\n.\r\n");
        c.drain();
    });
    let err = Pop3Client::connect(
        &account(port, Some(SecureConnectionType::Tls)),
        &creds(),
        &short(),
    )
    .unwrap_err();
    assert!(err.is_tls(), "{err}");
    assert!(err.message().contains("does not offer STLS"), "{err}");
    let received = h.join().unwrap();
    assert_eq!(received, vec!["CAPA".to_owned()]);
    assert!(received
        .iter()
        .all(|l| !l.starts_with("USER") && !l.starts_with("PASS") && !l.starts_with("AUTH")));
}

#[test]
fn starttls_refused_by_the_server_is_a_tls_error() {
    let (port, h) = fake(|c| {
        c.send(b"+OK ready\r\n");
        c.expect("CAPA");
        c.send(b"+OK\r\nSTLS\r\nUSER\r\n.\r\n");
        c.expect("STLS");
        c.send(b"-ERR TLS not available right now\r\n");
        c.drain();
    });
    let err = Pop3Client::connect(
        &account(port, Some(SecureConnectionType::Tls)),
        &creds(),
        &short(),
    )
    .unwrap_err();
    assert!(
        err.is_tls() && err.message().contains("refused STLS"),
        "{err}"
    );
    assert_eq!(
        h.join().unwrap(),
        vec!["CAPA".to_owned(), "STLS".to_owned()]
    );
}

#[test]
fn bytes_injected_after_the_stls_reply_stop_the_session() {
    let (port, h) = fake(|c| {
        c.send(b"+OK ready\r\n");
        c.expect("CAPA");
        c.send(b"+OK\r\nSTLS\r\nUSER\r\n.\r\n");
        c.expect("STLS");
        c.send(b"+OK Begin TLS negotiation now.\r\n+OK injected\r\n");
        c.drain();
    });
    let err = Pop3Client::connect(
        &account(port, Some(SecureConnectionType::Tls)),
        &creds(),
        &short(),
    )
    .unwrap_err();
    assert!(err.is_tls() && err.message().contains("injection"), "{err}");
    assert!(
        err.advice().is_some_and(|a| a.contains("possible attack")),
        "{err}"
    );
    h.join().unwrap();
}

#[test]
fn a_server_that_never_answers_times_out_within_the_bound() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        // Hold the connection open, silent, until the client gives up.
        let mut r = BufReader::new(s);
        let mut buf = String::new();
        let _ = r.read_line(&mut buf);
    });
    let bound = Duration::from_millis(700);
    let started = Instant::now();
    let err =
        Pop3Client::connect(&account(port, None), &creds(), &Timeouts::uniform(bound)).unwrap_err();
    let took = started.elapsed();
    assert!(err.is_timeout(), "{err}");
    assert!(err.message().contains("greeting"), "{err}");
    // It waited for the bound and did not hang past it (a hang check, not a speed one).
    assert!(took >= bound, "gave up after {took:?}");
    assert!(took < bound * 10, "took {took:?}");
    h.join().unwrap();
}

#[test]
fn listings_are_parsed_strictly() {
    let (port, h) = fake(|c| {
        login_user_pass(c, "USER\r\nUIDL\r\n");
        c.expect("STAT");
        c.send(b"+OK 2 320\r\n");
        c.expect("LIST");
        c.send(b"+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n");
        c.expect("UIDL");
        c.send(b"+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n");
        c.expect("UIDL 2");
        c.send(b"+OK 2 QhdPYR:00WBw1Ph7x7\r\n");
        c.expect("LIST");
        c.send(b"+OK\r\n1 twelve\r\n.\r\n");
        c.expect("QUIT");
        c.send(b"+OK bye\r\n");
    });
    let mut client = connect(port).unwrap();
    let stat = client.stat().unwrap();
    assert_eq!((stat.count, stat.size), (2, 320));
    let list = client.list().unwrap();
    assert_eq!(
        list.iter().map(|m| (m.number, m.size)).collect::<Vec<_>>(),
        [(1, 120), (2, 200)]
    );
    let uids = client.uidl().unwrap();
    assert_eq!(uids[1].uid, "QhdPYR:00WBw1Ph7x7");
    assert_eq!(client.uidl_one(2).unwrap().uid, "QhdPYR:00WBw1Ph7x7");
    let err = client.list().unwrap_err();
    assert!(err.is_protocol(), "{err}");
    // A malformed listing line is consumed with its listing: the session is still in step.
    client.quit().unwrap();
    h.join().unwrap();
}

#[test]
fn login_method_falls_back_to_user_pass_without_capa() {
    let (port, h) = fake(|c| {
        c.send(b"+OK old server\r\n");
        c.expect("CAPA");
        c.send(b"-ERR unknown command\r\n");
        c.expect("USER");
        c.send(b"+OK\r\n");
        c.expect("PASS");
        c.send(b"+OK\r\n");
        c.drain();
    });
    let stream =
        mail_settings_core::net::connect(account(port, None).connection(), &creds(), &short())
            .unwrap()
            .0;
    let mut client = Pop3Client::new(stream, short()).unwrap();
    assert_eq!(client.greeting(), "old server");
    assert!(!client.capa().unwrap().supported);
    assert_eq!(
        client.login(&Credential::password("u", "p")).unwrap(),
        LoginMethod::UserPass
    );
    drop(client);
    h.join().unwrap();
}

#[test]
fn utf8_is_sent_before_login_when_offered_and_a_refusal_is_not_fatal() {
    let (port, h) = fake(|c| {
        login_user_pass_after(c, "USER\r\nUTF8\r\n", |c| {
            c.expect("UTF8");
            c.send(b"+OK UTF8 enabled\r\n");
        });
        c.expect("QUIT");
        c.send(b"+OK\r\n");
    });
    let client = connect(port).unwrap();
    assert!(client.is_utf8());
    client.quit().unwrap();
    h.join().unwrap();

    let (port, h) = fake(|c| {
        login_user_pass_after(c, "USER\r\nUTF8 USER\r\n", |c| {
            c.expect("UTF8");
            c.send(b"-ERR not now\r\n");
        });
        c.expect("STAT");
        c.send(b"+OK 0 0\r\n");
        c.drain();
    });
    let mut client = connect(port).unwrap();
    assert!(!client.is_utf8());
    assert_eq!(client.stat().unwrap().count, 0, "the session goes on");
    drop(client);
    h.join().unwrap();

    let (port, h) = fake(|c| {
        login_user_pass(c, "USER\r\n");
        c.drain();
    });
    let client = connect(port).unwrap();
    assert!(!client.is_utf8());
    drop(client);
    let received = h.join().unwrap();
    assert!(
        !received.iter().any(|l| l == "UTF8"),
        "not offered, not sent: {received:?}"
    );
}

#[test]
fn a_bad_list_line_is_one_entry_and_strict_list_quotes_it_made_safe() {
    let listing = b"+OK 3 messages\r\n1 120\r\n2 -1\x1b[2J\r\n3 300\r\n.\r\n";
    let (port, h) = fake(move |c| {
        login_user_pass(c, "USER\r\n");
        c.expect("LIST");
        c.send(listing);
        c.expect("LIST");
        c.send(listing);
        c.expect("NOOP");
        c.send(b"+OK\r\n");
        c.drain();
    });
    let mut client = connect(port).unwrap();
    let entries = client.list_lenient().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].as_ref().unwrap().size, 120);
    let bad = entries[1].as_ref().unwrap_err();
    assert_eq!(bad.number, Some(2));
    assert_eq!(bad.line, "2 -1\\x1b[2J");
    assert_eq!(entries[2].as_ref().unwrap().size, 300);

    let e = client.list().unwrap_err();
    assert_eq!(e.category(), ErrorCategory::Protocol);
    assert!(e.message().contains("\"2 -1\\x1b[2J\""), "{e}");
    assert!(!e.to_string().contains('\x1b'), "{e}");
    client.noop().unwrap();
    drop(client);
    h.join().unwrap();
}
