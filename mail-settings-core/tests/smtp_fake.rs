//! The SMTP driver against in-process fake servers, for what a real server will not do on
//! demand: hide STARTTLS (and prove no AUTH was sent), cut a reply at an exact byte, send a
//! malformed reply, drop a pooled connection between messages, refuse a recipient (for good or
//! for now), close with 421. Everything a real server does is tested in `tests/tests/smtp.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::net::Timeouts;
use mail_settings_core::smtp::{self, OutgoingMessage, PoolConfig, SmtpOptions, SmtpPool};
use mail_settings_core::{
    Credential, InMemoryCredentials, SecureConnectionType, SmtpAccount, SmtpAccountForm,
    ValidationContext,
};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the fake does after a command.
enum Act {
    /// Writes these bytes (CRLF included by the caller) and goes on.
    Say(String),
    /// Writes these bytes and closes the connection.
    SayAndClose(String),
    /// Writes each of these, one at a time, this far apart.
    Drip(Vec<String>, Duration),
}

fn say(s: &str) -> Act {
    Act::Say(format!("{}\r\n", s.replace('\n', "\r\n")))
}

/// A fake server: for each of `sessions` connections, the greeting, then `behave(session,
/// command)` for every line (the DATA content arrives as one command `DATA-CONTENT:` followed
/// by the unstuffed content). Every line it receives is logged as `session:line`.
struct Fake {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    data: Arc<Mutex<Vec<Vec<u8>>>>,
    thread: Option<JoinHandle<()>>,
}

impl Fake {
    fn start(
        sessions: usize,
        greeting: &'static str,
        behave: impl Fn(usize, &str) -> Act + Send + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let data = Arc::new(Mutex::new(Vec::new()));
        let (log2, data2) = (Arc::clone(&log), Arc::clone(&data));
        let thread = std::thread::spawn(move || {
            for session in 0..sessions {
                let Ok((tcp, _)) = listener.accept() else {
                    return;
                };
                serve(session, tcp, greeting, &behave, &log2, &data2);
            }
        });
        Self {
            port,
            log,
            data,
            thread: Some(thread),
        }
    }

    /// Waits for the fake to finish its sessions, then returns what it received.
    fn finish(mut self) -> Vec<String> {
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.log.lock().unwrap().clone()
    }
}

fn serve(
    session: usize,
    tcp: TcpStream,
    greeting: &str,
    behave: &impl Fn(usize, &str) -> Act,
    log: &Mutex<Vec<String>>,
    data: &Mutex<Vec<Vec<u8>>>,
) {
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut w = tcp.try_clone().unwrap();
    let mut r = BufReader::new(tcp);
    w.write_all(format!("{greeting}\r\n").as_bytes()).unwrap();
    let mut in_data = false;
    let mut content: Vec<u8> = Vec::new();
    loop {
        let mut line = Vec::new();
        match r.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let act = if in_data {
            if line == b".\r\n" {
                in_data = false;
                data.lock().unwrap().push(std::mem::take(&mut content));
                behave(session, "DATA-CONTENT:")
            } else {
                // Unstuff.
                let l = if line.starts_with(b"..") {
                    &line[1..]
                } else {
                    &line[..]
                };
                content.extend_from_slice(l);
                continue;
            }
        } else {
            let text = String::from_utf8_lossy(&line).trim_end().to_owned();
            log.lock().unwrap().push(format!("{session}:{text}"));
            let act = behave(session, &text);
            if text.eq_ignore_ascii_case("DATA") {
                if let Act::Say(s) = &act {
                    in_data = s.starts_with("354");
                }
            }
            act
        };
        match act {
            Act::Say(s) => {
                if w.write_all(s.as_bytes()).is_err() {
                    return;
                }
            }
            Act::SayAndClose(s) => {
                let _ = w.write_all(s.as_bytes());
                return;
            }
            Act::Drip(lines, every) => {
                for l in lines {
                    if w.write_all(l.as_bytes()).is_err() {
                        return;
                    }
                    std::thread::sleep(every);
                }
            }
        }
    }
}

/// A submission server that accepts everything (AUTH PLAIN, any recipient but those starting
/// with `bad`).
fn friendly(_session: usize, cmd: &str) -> Act {
    let upper = cmd.to_ascii_uppercase();
    if upper.starts_with("EHLO") {
        say("250-fake.example.test\n250-SIZE 100000\n250 AUTH PLAIN LOGIN")
    } else if upper.starts_with("AUTH") {
        say("235 2.7.0 Authentication successful")
    } else if upper.starts_with("MAIL") || upper.starts_with("RSET") || upper.starts_with("NOOP") {
        say("250 2.0.0 Ok")
    } else if upper.starts_with("RCPT TO:<BAD") {
        say("550 5.1.1 <bad@example.test>: Recipient address rejected: User unknown")
    } else if upper.starts_with("RCPT") {
        say("250 2.1.5 Ok")
    } else if upper == "DATA" {
        say("354 End data with <CR><LF>.<CR><LF>")
    } else if upper == "DATA-CONTENT:" {
        say("250 2.0.0 Ok: queued as FAKE1")
    } else if upper == "QUIT" {
        Act::SayAndClose("221 2.0.0 Bye\r\n".into())
    } else {
        say("502 5.5.2 Error: command not recognized")
    }
}

/// [`friendly`], except that session 0 closes the connection right after accepting its first
/// message (as a server that restarts would): the client only learns it on its next command.
fn first_session_closes_after_its_message(session: usize, cmd: &str) -> Act {
    if session == 0 && cmd == "DATA-CONTENT:" {
        Act::SayAndClose("250 2.0.0 Ok: queued as S0\r\n".into())
    } else {
        friendly(session, cmd)
    }
}

fn account(port: u16, security: Option<SecureConnectionType>) -> SmtpAccount {
    let form = SmtpAccountForm {
        name: "fake".into(),
        sender_email: "noreply@example.test".into(),
        host: "127.0.0.1".into(),
        port: Some(i64::from(port)),
        use_secure_connection: security.is_some(),
        secure_connection_type: security.unwrap_or(SecureConnectionType::Ssl),
        credential: Some("smtp".into()),
        ..SmtpAccountForm::default()
    };
    SmtpAccount::from_form(&form, &ValidationContext::standalone()).unwrap()
}

fn creds() -> InMemoryCredentials {
    InMemoryCredentials::new().with("smtp", Credential::password("user", "fake-Secret-99"))
}

fn options() -> SmtpOptions {
    SmtpOptions::with_timeouts(Timeouts::uniform(Duration::from_secs(10)))
}

fn msg(to: &str) -> OutgoingMessage {
    OutgoingMessage::new().to(to).subject("s").text("body")
}

#[test]
fn starttls_missing_fails_with_tls_and_no_credential_is_sent() {
    let fake = Fake::start(1, "220 fake ESMTP", friendly);
    let a = account(fake.port, Some(SecureConnectionType::Tls));
    let e = smtp::send(&a, &creds(), &msg("to@example.test"), &options()).unwrap_err();
    assert!(e.is_tls(), "{e}");
    let log = fake.finish();
    assert_eq!(log, ["0:EHLO localhost"], "nothing after EHLO: {log:?}");
    assert!(!format!("{e}").contains("fake-Secret-99"));
}

#[test]
fn a_refused_recipient_is_protocol_with_the_address_and_nothing_is_sent() {
    let fake = Fake::start(1, "220 fake ESMTP", friendly);
    let a = account(fake.port, None);
    let m = msg("good@example.test").to("bad@example.test");
    let e = smtp::send(&a, &creds(), &m, &options()).unwrap_err();
    assert!(e.is_protocol(), "{e}");
    assert!(e.message().contains("<bad@example.test>"), "{e}");
    assert!(e.message().contains("550 5.1.1"), "{e}");
    // A refusal for good: retrying cannot help.
    assert_eq!(e.reply_code(), Some(550));
    assert_eq!(e.enhanced_code(), Some("5.1.1"));
    assert!(e.is_permanent() && !e.is_transient());
    let log = fake.finish();
    assert!(log.iter().any(|l| l == "0:RSET"), "{log:?}");
    assert!(!log.iter().any(|l| l == "0:DATA"), "{log:?}");
}

#[test]
fn partial_delivery_sends_to_the_accepted_and_lists_the_refused() {
    let fake = Fake::start(1, "220 fake ESMTP", friendly);
    let a = account(fake.port, None);
    let mut opts = options();
    opts.partial_delivery = true;
    let m = msg("good@example.test").to("bad@example.test");
    let r = smtp::send(&a, &creds(), &m, &opts).unwrap();
    assert_eq!(r.accepted, ["good@example.test"]);
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].address, "bad@example.test");
    assert_eq!(r.rejected[0].reply.enhanced_code(), Some("5.1.1"));
    assert!(fake.finish().iter().any(|l| l == "0:DATA"));
}

#[test]
fn what_the_server_receives_is_the_composed_message_after_unstuffing() {
    let fake = Fake::start(1, "220 fake ESMTP", friendly);
    let a = account(fake.port, None);
    let m = OutgoingMessage::new()
        .to("to@example.test")
        .bcc("hidden@example.test")
        .subject("dots")
        .text(".leading dot\n..two\n.\nend");
    let composed = smtp::compose(&a, &m).unwrap();
    let r = smtp::send_composed(&a, &creds(), &composed, &options()).unwrap();
    assert_eq!(r.accepted, ["to@example.test", "hidden@example.test"]);
    let data = fake.data.lock().unwrap().clone();
    let log = fake.finish();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0], composed.data);
    let mail_from = format!(
        "0:MAIL FROM:<noreply@example.test> SIZE={}",
        composed.data.len()
    );
    assert!(log.contains(&mail_from), "{log:?}");
    assert!(log.iter().any(|l| l == "0:RCPT TO:<hidden@example.test>"));
    assert!(!String::from_utf8_lossy(&data[0]).contains("hidden@"));
}

#[test]
fn a_reply_cut_at_an_exact_byte_is_a_lost_connection() {
    // The EHLO reply stops in the middle of a continuation line.
    let fake = Fake::start(1, "220 fake ESMTP", |_, cmd| {
        if cmd.starts_with("EHLO") {
            Act::SayAndClose("250-fake.example.test\r\n250-SIZE 10".into())
        } else {
            friendly(0, cmd)
        }
    });
    let a = account(fake.port, None);
    let e = smtp::send(&a, &creds(), &msg("to@example.test"), &options()).unwrap_err();
    assert!(e.is_connect(), "{e}");
    // No reply caused it: nothing says whether trying later helps.
    assert_eq!((e.reply_code(), e.enhanced_code()), (None, None));
    assert!(!e.is_transient() && !e.is_permanent());
    fake.finish();
}

#[test]
fn a_malformed_reply_is_protocol() {
    let fake = Fake::start(1, "220 fake ESMTP", |_, cmd| {
        if cmd.starts_with("EHLO") {
            say("25O fake.example.test")
        } else {
            friendly(0, cmd)
        }
    });
    let a = account(fake.port, None);
    let e = smtp::send(&a, &creds(), &msg("to@example.test"), &options()).unwrap_err();
    assert!(e.is_protocol(), "{e}");
    assert!(e.message().contains("25O"), "{e}");
    assert_eq!(e.reply_code(), None);
    fake.finish();
}

#[test]
fn a_421_in_the_middle_fails_the_message() {
    let fake = Fake::start(1, "220 fake ESMTP", |_, cmd| {
        if cmd.starts_with("MAIL") {
            Act::SayAndClose("421 4.3.2 Service shutting down\r\n".into())
        } else {
            friendly(0, cmd)
        }
    });
    let a = account(fake.port, None);
    let e = smtp::send(&a, &creds(), &msg("to@example.test"), &options()).unwrap_err();
    assert!(e.message().contains("421 4.3.2"), "{e}");
    assert_eq!(e.reply_code(), Some(421));
    assert_eq!(e.enhanced_code(), Some("4.3.2"));
    assert!(e.is_transient() && !e.is_permanent());
    fake.finish();
}

#[test]
fn a_421_greeting_is_transient() {
    let fake = Fake::start(
        1,
        "421 4.3.2 Too many connections, try again later",
        friendly,
    );
    let a = account(fake.port, None);
    let e = smtp::send(&a, &creds(), &msg("to@example.test"), &options()).unwrap_err();
    assert!(e.is_protocol(), "{e}");
    assert_eq!(e.reply_code(), Some(421));
    assert_eq!(e.enhanced_code(), Some("4.3.2"));
    assert!(e.is_transient() && !e.is_permanent());
    assert_eq!(
        fake.finish(),
        Vec::<String>::new(),
        "nothing after the greeting"
    );
}

#[test]
fn temporary_refusals_are_transient() {
    // Session 0: a busy mailbox at RCPT. Session 1: the content refused for now.
    let fake = Fake::start(2, "220 fake ESMTP", |session, cmd| {
        if session == 0 && cmd.starts_with("RCPT") {
            say("450 4.2.0 <to@example.test>: Recipient address rejected: Mailbox busy")
        } else if session == 1 && cmd == "DATA-CONTENT:" {
            say("451 4.3.0 Error: queue file write error")
        } else {
            friendly(session, cmd)
        }
    });
    let a = account(fake.port, None);
    for (code, enhanced, what) in [(450, "4.2.0", "Mailbox busy"), (451, "4.3.0", "queue file")] {
        let e = smtp::send(&a, &creds(), &msg("to@example.test"), &options()).unwrap_err();
        assert!(e.is_protocol(), "{e}");
        assert!(e.message().contains(what), "{e}");
        assert_eq!(e.reply_code(), Some(code), "{e}");
        assert_eq!(e.enhanced_code(), Some(enhanced), "{e}");
        assert!(e.is_transient() && !e.is_permanent(), "{e}");
    }
    let log = fake.finish();
    assert!(!log.iter().any(|l| l == "0:DATA"), "{log:?}");
    assert!(log.iter().any(|l| l == "1:DATA"), "{log:?}");
}

#[test]
fn rejected_credentials_are_auth_and_the_secret_is_not_shown() {
    let fake = Fake::start(1, "220 fake ESMTP", |_, cmd| {
        if cmd.starts_with("AUTH") {
            say("535 5.7.8 Error: authentication failed: authentication failure")
        } else {
            friendly(0, cmd)
        }
    });
    let a = account(fake.port, None);
    let e = smtp::send(&a, &creds(), &msg("to@example.test"), &options()).unwrap_err();
    assert!(e.is_auth(), "{e}");
    assert!(e.message().contains("535 5.7.8"), "{e}");
    assert!(!format!("{e} {e:?}").contains("fake-Secret-99"));
    assert_eq!(e.reply_code(), Some(535));
    assert_eq!(e.enhanced_code(), Some("5.7.8"));
    assert!(e.is_permanent() && !e.is_transient());
    let log = fake.finish();
    assert!(!log.iter().any(|l| l.contains("MAIL")), "{log:?}");
}

#[test]
fn a_pooled_connection_the_server_dropped_is_replaced() {
    // Session 0 closes right after its first message; session 1 stays.
    let fake = Fake::start(2, "220 fake ESMTP", first_session_closes_after_its_message);
    let a = account(fake.port, None);
    let pool = SmtpPool::new(
        a,
        Arc::new(creds()),
        options(),
        PoolConfig::with_max_idle(1),
    )
    .unwrap();
    let r1 = pool.send(&msg("one@example.test")).unwrap();
    assert!(r1.reply.text().contains("S0"));
    assert_eq!(pool.idle_connections(), 1);
    // The idle session fails RSET (closed by the server): a new one is opened.
    let r2 = pool.send(&msg("two@example.test")).unwrap();
    assert!(r2.reply.text().contains("FAKE1"));
    assert_eq!(pool.connections_opened(), 2);
    assert_eq!(pool.connections_reused(), 0);
    pool.close_idle();
    let log = fake.finish();
    assert!(
        log.iter().any(|l| l == "1:RCPT TO:<two@example.test>"),
        "{log:?}"
    );
    assert!(log.iter().any(|l| l == "1:QUIT"), "{log:?}");
}

#[test]
fn a_full_pool_makes_a_message_wait_and_then_fail_with_timeout() {
    // One session at most. The server takes 1.5 s to accept the first message's content, so a
    // second message waits for the session, gives up after 0.3 s, and says why.
    let fake = Fake::start(1, "220 fake ESMTP", |session, cmd| {
        if cmd == "DATA-CONTENT:" && session == 0 {
            std::thread::sleep(Duration::from_millis(1500));
        }
        friendly(session, cmd)
    });
    let a = account(fake.port, None);
    let config = PoolConfig::with_max_idle(1)
        .max_open(1)
        .wait_timeout(Duration::from_millis(300));
    let pool = Arc::new(SmtpPool::new(a, Arc::new(creds()), options(), config).unwrap());
    let first = {
        let pool = Arc::clone(&pool);
        std::thread::spawn(move || pool.send(&msg("one@example.test")))
    };
    // Wait until the first message holds the only session.
    let start = std::time::Instant::now();
    while pool.open_connections() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no session opened"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let waited = std::time::Instant::now();
    let e = pool.send(&msg("two@example.test")).unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert!(e.to_string().contains("all 1 sessions of the pool"), "{e}");
    assert!(waited.elapsed() >= Duration::from_millis(300));
    assert_eq!(pool.open_connections(), 1);
    // The first message went through; its session came back and serves the next one.
    first.join().unwrap().unwrap();
    pool.send(&msg("three@example.test")).unwrap();
    assert_eq!(pool.connections_opened(), 1);
    assert_eq!(pool.connections_reused(), 1);
    pool.close_idle();
    assert_eq!(pool.open_connections(), 0);
    let log = fake.finish();
    assert!(
        !log.iter().any(|l| l.contains("two@example.test")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l == "0:RCPT TO:<three@example.test>"),
        "{log:?}"
    );
}

#[test]
fn a_session_the_server_broke_frees_its_place_in_the_pool() {
    // Session 0 answers the message and closes; with room for one session, the next message
    // must be able to open a new one (the broken session gave its place back).
    let fake = Fake::start(2, "220 fake ESMTP", first_session_closes_after_its_message);
    let a = account(fake.port, None);
    let config = PoolConfig::with_max_idle(1)
        .max_open(1)
        .wait_timeout(Duration::from_secs(2));
    let pool = SmtpPool::new(a, Arc::new(creds()), options(), config).unwrap();
    pool.send(&msg("one@example.test")).unwrap();
    pool.send(&msg("two@example.test")).unwrap();
    assert_eq!(pool.connections_opened(), 2);
    assert_eq!(pool.open_connections(), 1);
    pool.close_idle();
    assert_eq!(pool.open_connections(), 0);
    fake.finish();
}

#[test]
fn a_message_over_the_advertised_size_is_refused_before_mail_from() {
    let fake = Fake::start(1, "220 fake ESMTP", friendly);
    let a = account(fake.port, None);
    let big = OutgoingMessage::new()
        .to("to@example.test")
        .text("x".repeat(200_000));
    let e = smtp::send(&a, &creds(), &big, &options()).unwrap_err();
    assert!(e.is_protocol(), "{e}");
    assert!(e.message().contains("at most 100000"), "{e}");
    let log = fake.finish();
    assert!(!log.iter().any(|l| l.contains("MAIL")), "{log:?}");
}

/// [`friendly`], except that session 0 closes the connection once it has the whole message,
/// without a final reply (a server that crashes, or a middlebox that drops the connection, after
/// the `.`): the message may have been delivered.
fn first_session_closes_before_its_final_reply(session: usize, cmd: &str) -> Act {
    if session == 0 && cmd == "DATA-CONTENT:" {
        Act::SayAndClose(String::new())
    } else {
        friendly(session, cmd)
    }
}

fn rcpt_count(log: &[String], address: &str) -> usize {
    let want = format!("RCPT TO:<{address}>");
    log.iter().filter(|l| l.ends_with(&want)).count()
}

#[test]
fn a_connection_closed_after_the_content_leaves_the_outcome_unknown() {
    let fake = Fake::start(
        1,
        "220 fake ESMTP",
        first_session_closes_before_its_final_reply,
    );
    let a = account(fake.port, None);
    let composed = smtp::compose(&a, &msg("to@example.test")).unwrap();
    let e = smtp::send_composed(&a, &creds(), &composed, &options()).unwrap_err();
    assert!(e.is_outcome_unknown(), "{e:?}");
    assert!(!e.is_transient() && !e.is_permanent(), "{e:?}");
    assert_eq!(e.reply_code(), None);
    assert!(e.message().contains("may have been delivered"), "{e}");
    assert!(e.message().contains("do not resend"), "{e}");
    assert!(e.message().contains(&composed.message_id), "{e}");
    assert!(!e.message().contains("not sent"), "{e}");
    assert!(e.advice().is_some());
    // The server had the whole message.
    assert_eq!(fake.data.lock().unwrap().len(), 1);
    fake.finish();
}

#[test]
fn no_final_reply_in_time_leaves_the_outcome_unknown() {
    let fake = Fake::start(1, "220 fake ESMTP", |session, cmd| {
        if cmd == "DATA-CONTENT:" {
            std::thread::sleep(Duration::from_millis(1800));
        }
        friendly(session, cmd)
    });
    let a = account(fake.port, None);
    let opts = SmtpOptions::with_timeouts(Timeouts::uniform(Duration::from_millis(600)));
    let e = smtp::send(&a, &creds(), &msg("to@example.test"), &opts).unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert!(e.is_outcome_unknown(), "{e:?}");
    assert!(!e.is_transient() && !e.is_permanent());
    fake.finish();
}

#[test]
fn a_connection_lost_before_the_content_is_not_an_unknown_outcome() {
    // Closed in answer to DATA: the server never had the message.
    let fake = Fake::start(1, "220 fake ESMTP", |session, cmd| {
        if cmd == "DATA" {
            Act::SayAndClose(String::new())
        } else {
            friendly(session, cmd)
        }
    });
    let a = account(fake.port, None);
    let e = smtp::send(&a, &creds(), &msg("to@example.test"), &options()).unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    assert!(!e.is_outcome_unknown(), "{e:?}");
    fake.finish();
    // A refusal of the content is a known outcome too.
    let fake = Fake::start(1, "220 fake ESMTP", |session, cmd| {
        if cmd == "DATA-CONTENT:" {
            say("554 5.7.1 Rejected")
        } else {
            friendly(session, cmd)
        }
    });
    let a = account(fake.port, None);
    let e = smtp::send(&a, &creds(), &msg("to@example.test"), &options()).unwrap_err();
    assert!(e.is_permanent() && !e.is_outcome_unknown(), "{e:?}");
    fake.finish();
}

#[test]
fn send_many_does_not_resend_a_message_whose_outcome_is_unknown() {
    let fake = Fake::start(
        2,
        "220 fake ESMTP",
        first_session_closes_before_its_final_reply,
    );
    let a = account(fake.port, None);
    let results = smtp::send_many(
        &a,
        &creds(),
        &[msg("one@example.test"), msg("two@example.test")],
        &options(),
    );
    let e = results[0].as_ref().unwrap_err();
    assert!(e.is_outcome_unknown(), "{e:?}");
    results[1].as_ref().unwrap();
    let log = fake.finish();
    assert_eq!(rcpt_count(&log, "one@example.test"), 1, "{log:?}");
    assert_eq!(rcpt_count(&log, "two@example.test"), 1, "{log:?}");
    assert!(
        log.iter().any(|l| l == "1:RCPT TO:<two@example.test>"),
        "{log:?}"
    );
}

#[test]
fn the_pool_does_not_resend_a_message_whose_outcome_is_unknown() {
    let fake = Fake::start(
        2,
        "220 fake ESMTP",
        first_session_closes_before_its_final_reply,
    );
    let a = account(fake.port, None);
    let pool = SmtpPool::new(
        a,
        Arc::new(creds()),
        options(),
        PoolConfig::with_max_idle(1),
    )
    .unwrap();
    let results = pool.send_many(&[msg("one@example.test"), msg("two@example.test")]);
    let e = results[0].as_ref().unwrap_err();
    assert!(e.is_outcome_unknown(), "{e:?}");
    assert!(!e.is_transient() && !e.is_permanent());
    results[1].as_ref().unwrap();
    // The broken session was dropped, not reused; one new session for the next message.
    assert_eq!(pool.connections_opened(), 2);
    pool.close_idle();
    let log = fake.finish();
    assert_eq!(rcpt_count(&log, "one@example.test"), 1, "{log:?}");
    assert_eq!(rcpt_count(&log, "two@example.test"), 1, "{log:?}");
}

/// Sends `ehlo_reply` (raw bytes) in answer to EHLO, through `smtp::send`; returns the error.
fn ehlo_answered_with(ehlo_reply: String) -> mail_settings_core::ConnectionError {
    let reply = Arc::new(ehlo_reply);
    let fake = Fake::start(1, "220 fake ESMTP", move |_, cmd| {
        if cmd.starts_with("EHLO") {
            Act::SayAndClose(reply.as_str().to_owned())
        } else {
            friendly(0, cmd)
        }
    });
    let a = account(fake.port, None);
    let e = smtp::send(&a, &creds(), &msg("to@example.test"), &options()).unwrap_err();
    fake.finish();
    e
}

#[test]
fn replies_are_bounded_per_line_in_lines_and_in_bytes() {
    // One line that never ends.
    let e = ehlo_answered_with(format!("250-{}", "a".repeat(1 << 20)));
    assert!(e.is_protocol(), "{e}");
    assert!(e.message().contains("longer than 4096 bytes"), "{e}");
    // Endless continuation lines.
    let e = ehlo_answered_with("250-X\r\n".repeat(100_000));
    assert!(e.is_protocol(), "{e}");
    assert!(e.message().contains("more than 256 lines"), "{e}");
    // Few lines, each within the line limit, too many bytes together.
    let e = ehlo_answered_with(format!("250-{}\r\n", "b".repeat(4000)).repeat(40));
    assert!(e.is_protocol(), "{e}");
    assert!(e.message().contains("more than 65536 bytes"), "{e}");
    // Within every bound: accepted.
    let fake = Fake::start(1, "220 fake ESMTP", |_, cmd| {
        if cmd.starts_with("EHLO") {
            let mut r = "250-fake\r\n".to_owned();
            for i in 0..200 {
                r.push_str(&format!("250-X-EXT{i} {}\r\n", "p".repeat(200)));
            }
            r.push_str("250 AUTH PLAIN\r\n");
            Act::Say(r)
        } else {
            friendly(0, cmd)
        }
    });
    let a = account(fake.port, None);
    smtp::send(&a, &creds(), &msg("to@example.test"), &options()).unwrap();
    fake.finish();
}

#[test]
fn one_send_has_one_budget_however_the_server_drips() {
    // The final reply comes as continuation lines, one every 200 ms: each read is quick, the
    // whole never ends. The send's budget stops it.
    let fake = Fake::start(1, "220 fake ESMTP", |session, cmd| {
        if cmd == "DATA-CONTENT:" {
            Act::Drip(
                (0..50)
                    .map(|i| format!("250-queued part {i}\r\n"))
                    .collect(),
                Duration::from_millis(200),
            )
        } else {
            friendly(session, cmd)
        }
    });
    let a = account(fake.port, None);
    let mut timeouts = Timeouts::uniform(Duration::from_secs(5));
    timeouts.send = Duration::from_millis(800);
    let opts = SmtpOptions::with_timeouts(timeouts);
    let started = std::time::Instant::now();
    let e = smtp::send(&a, &creds(), &msg("to@example.test"), &opts).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    assert!(e.is_timeout(), "{e}");
    assert!(e.message().contains("the send took longer than"), "{e}");
    assert!(e.is_outcome_unknown(), "{e}");
    fake.finish();
}
