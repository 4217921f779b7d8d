//! Unit tests of the protocol client over scripted in-memory streams, and of message
//! composition. Real-server behaviour is tested in `tests/tests/smtp.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::credentials::Credential;
use crate::model::{SecureConnectionType, SmtpAccountForm};
use crate::validate::ValidationContext;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use std::io::{self, Cursor, Read, Write};
use std::time::Duration;

/// A server that answers from a fixed script, whatever the client says; the client's bytes
/// are kept.
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
    fn sent(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }
}

impl Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One line at most per read, as a real server answering each command would.
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

const EHLO: &str = "220 mx.example.test ESMTP\n250-mx.example.test\n250-PIPELINING\n250-SIZE 1000\n250-AUTH PLAIN LOGIN XOAUTH2\n250-8BITMIME\n250 ENHANCEDSTATUSCODES\n";

fn client(script: &str) -> SmtpClient<Scripted> {
    SmtpClient::connect(Scripted::new(script), ClientConfig::default(), true).unwrap()
}

fn sent(c: &SmtpClient<Scripted>) -> String {
    c.stream().sent()
}

#[test]
fn greeting_and_ehlo_extensions_are_parsed() {
    let c = client(EHLO);
    assert_eq!(c.greeting().code(), 220);
    let ext = c.extensions();
    assert!(ext.has("pipelining"));
    assert_eq!(ext.size_limit(), Some(Some(1000)));
    assert_eq!(ext.auth_mechanisms(), ["PLAIN", "LOGIN", "XOAUTH2"]);
    assert!(!ext.starttls());
    assert_eq!(sent(&c), "EHLO localhost\r\n");
}

#[test]
fn old_style_auth_equals_is_understood() {
    let c = client("220 x\n250-x\n250-AUTH=LOGIN\n250 SIZE\n");
    assert_eq!(c.extensions().auth_mechanisms(), ["LOGIN"]);
    assert_eq!(c.extensions().size_limit(), Some(None));
}

#[test]
fn a_refusing_greeting_is_a_protocol_error() {
    let e = SmtpClient::connect(
        Scripted::new("554 5.3.2 no service for you\n"),
        ClientConfig::default(),
        false,
    )
    .unwrap_err();
    assert!(e.is_protocol(), "{e}");
    assert!(e.message().contains("554 5.3.2 no service for you"), "{e}");
    assert_eq!(e.reply_code(), Some(554));
    assert_eq!(e.enhanced_code(), Some("5.3.2"));
    assert!(e.is_permanent() && !e.is_transient());
}

#[test]
fn helo_is_the_fallback_when_ehlo_is_unknown() {
    let c = client("220 old\n500 what?\n250 old host\n");
    assert_eq!(sent(&c), "EHLO localhost\r\nHELO localhost\r\n");
    assert!(c.extensions().auth_mechanisms().is_empty());
}

#[test]
fn garbage_and_mixed_codes_are_protocol_errors() {
    let e =
        SmtpClient::connect(Scripted::new("HELLO\n"), ClientConfig::default(), false).unwrap_err();
    assert!(e.is_protocol());
    let e = SmtpClient::connect(
        Scripted::new("220-a\n250 b\n"),
        ClientConfig::default(),
        false,
    )
    .unwrap_err();
    assert!(e.is_protocol());
    assert!(e.message().contains("mixed reply codes"), "{e}");
    // Not a reply: no code to decide on.
    assert_eq!(e.reply_code(), None);
    assert!(!e.is_transient() && !e.is_permanent());
}

#[test]
fn a_cut_connection_is_a_connect_error() {
    let e =
        SmtpClient::connect(Scripted::new("220-a\n"), ClientConfig::default(), false).unwrap_err();
    assert!(e.is_connect(), "{e}");
    assert_eq!((e.reply_code(), e.enhanced_code()), (None, None));
    assert!(!e.is_transient() && !e.is_permanent());
}

#[test]
fn enhanced_codes_are_found() {
    let r = Reply::new(550, vec!["5.1.1 <x@y>: Recipient address rejected".into()]);
    assert_eq!(r.enhanced_code(), Some("5.1.1"));
    let r = Reply::new(250, vec!["2.0.0 Ok: queued as 1234".into()]);
    assert_eq!(r.enhanced_code(), Some("2.0.0"));
    let r = Reply::new(250, vec!["mx.example.test".into()]);
    assert_eq!(r.enhanced_code(), None);
}

#[test]
fn starttls_not_offered_fails_before_anything_else_is_sent() {
    let c = SmtpClient::connect(Scripted::new(EHLO), ClientConfig::default(), false).unwrap();
    let mut called = false;
    let e = c
        .starttls(|s| {
            called = true;
            Ok(s)
        })
        .unwrap_err();
    assert!(e.is_tls(), "{e}");
    assert!(!called);
}

#[test]
fn starttls_refuses_data_sent_before_the_handshake() {
    let script = "220 x\n250-x\n250 STARTTLS\n220 go ahead\n250 injected\n";
    let mut input = Scripted::new(script);
    // Deliver the reply to STARTTLS and the injected line in one read.
    input.input = Cursor::new(script.replace('\n', "\r\n").into_bytes());
    struct Greedy(Scripted);
    impl Read for Greedy {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let out = String::from_utf8_lossy(&self.0.output).into_owned();
            if out.contains("STARTTLS") {
                // Everything left at once.
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
    let c = SmtpClient::connect(Greedy(input), ClientConfig::default(), false).unwrap();
    let e = c.starttls(Ok).unwrap_err();
    assert!(e.is_tls());
    assert!(e.message().contains("injection"), "{e}");
}

#[test]
fn starttls_says_ehlo_again_over_the_new_stream() {
    let c = SmtpClient::connect(
        Scripted::new("220 x\n250-x\n250 STARTTLS\n220 go ahead\n"),
        ClientConfig::default(),
        false,
    )
    .unwrap();
    let c = c
        .starttls(|plain| {
            assert_eq!(plain.sent(), "EHLO localhost\r\nSTARTTLS\r\n");
            Ok(Scripted::new("250-x\n250 AUTH PLAIN\n"))
        })
        .unwrap();
    assert!(c.is_encrypted());
    assert_eq!(c.extensions().auth_mechanisms(), ["PLAIN"]);
    assert_eq!(sent(&c), "EHLO localhost\r\n");
}

#[test]
fn auth_plain_sends_the_initial_response() {
    let mut c = client(&format!("{EHLO}235 2.7.0 ok\n"));
    c.authenticate(&Credential::password("u@x", "p4ss"))
        .unwrap();
    assert!(c.is_authenticated());
    let expected = B64.encode("\0u@x\0p4ss");
    assert!(
        sent(&c).ends_with(&format!("AUTH PLAIN {expected}\r\n")),
        "{}",
        sent(&c)
    );
}

#[test]
fn auth_login_answers_both_challenges() {
    let mut c =
        client("220 x\n250-x\n250 AUTH LOGIN\n334 VXNlcm5hbWU6\n334 UGFzc3dvcmQ6\n235 ok\n");
    c.authenticate(&Credential::password("u@x", "p4ss"))
        .unwrap();
    let s = sent(&c);
    assert!(s.ends_with(&format!(
        "AUTH LOGIN\r\n{}\r\n{}\r\n",
        B64.encode("u@x"),
        B64.encode("p4ss")
    )));
}

#[test]
fn xoauth2_failure_is_auth_and_the_challenge_is_answered_empty() {
    let mut c = client(&format!(
        "{EHLO}334 eyJzdGF0dXMiOiI0MDEifQ==\n535 5.7.8 bad token\n"
    ));
    let e = c
        .authenticate(&Credential::oauth2("u@x", "tok-123"))
        .unwrap_err();
    assert!(e.is_auth(), "{e}");
    let s = sent(&c);
    let payload = B64.encode("user=u@x\x01auth=Bearer tok-123\x01\x01");
    assert!(
        s.ends_with(&format!("AUTH XOAUTH2 {payload}\r\n\r\n")),
        "{s}"
    );
    assert!(!e.to_string().contains("tok-123"));
}

#[test]
fn rejected_credentials_are_auth_and_never_echo_what_was_sent() {
    let payload = B64.encode("\0u@x\0secret-pw");
    // A server that repeats our line in its reply.
    let mut c = client(&format!("{EHLO}535 5.7.8 bad: AUTH PLAIN {payload}\n"));
    let e = c
        .authenticate(&Credential::password("u@x", "secret-pw"))
        .unwrap_err();
    assert!(e.is_auth());
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(&payload), "{shown}");
    assert!(!shown.contains("secret-pw"), "{shown}");
    assert!(shown.contains("535 5.7.8"), "{shown}");
    assert_eq!(e.reply_code(), Some(535));
    assert_eq!(e.enhanced_code(), Some("5.7.8"));
    assert!(e.is_permanent() && !e.is_transient());
    // A plain reply is kept.
    let mut c = client(&format!("{EHLO}535 5.7.8 Error: authentication failed\n"));
    let e = c
        .authenticate(&Credential::password("u@x", "secret-pw"))
        .unwrap_err();
    assert!(e.message().contains("authentication failed"), "{e}");
}

#[test]
fn an_oauth2_token_needs_xoauth2() {
    let mut c = client("220 x\n250-x\n250 AUTH PLAIN\n");
    let e = c.authenticate(&Credential::oauth2("u", "t")).unwrap_err();
    assert!(e.is_protocol());
    assert!(e.message().contains("XOAUTH2"));
    assert_eq!(sent(&c), "EHLO localhost\r\n");
}

#[test]
fn no_auth_offered_in_clear_text_says_so() {
    let mut c = SmtpClient::connect(
        Scripted::new("220 x\n250-x\n250 STARTTLS\n"),
        ClientConfig::default(),
        false,
    )
    .unwrap();
    let e = c.authenticate(&Credential::password("u", "p")).unwrap_err();
    assert!(e.is_protocol());
    assert!(e.message().contains("clear text"), "{e}");
}

fn env(from: &str, to: &[&str]) -> Envelope {
    Envelope {
        mail_from: Some(from.to_owned()),
        rcpt_to: to.iter().map(|s| (*s).to_owned()).collect(),
    }
}

#[test]
fn a_message_is_sent_with_size_and_dot_stuffing() {
    let mut c = client(&format!(
        "{EHLO}250 2.1.0 Ok\n250 2.1.5 Ok\n354 go\n250 2.0.0 Ok: queued as ABC\n"
    ));
    let data = b"Subject: x\r\n\r\n.hidden\r\nline";
    let report = c.send(&env("a@x", &["b@y"]), data).unwrap();
    assert_eq!(report.accepted, ["b@y"]);
    assert!(report.reply.text().contains("queued as ABC"));
    let s = sent(&c);
    assert!(
        s.contains(&format!("MAIL FROM:<a@x> SIZE={}\r\n", data.len())),
        "{s}"
    );
    assert!(s.contains("RCPT TO:<b@y>\r\nDATA\r\n"));
    assert!(
        s.ends_with("Subject: x\r\n\r\n..hidden\r\nline\r\n.\r\n"),
        "{s}"
    );
}

#[test]
fn a_message_over_the_size_limit_is_refused_before_mail_from() {
    let mut c = client(EHLO);
    let e = c.send(&env("a@x", &["b@y"]), &[b'a'; 1001]).unwrap_err();
    assert!(e.is_protocol());
    assert!(!sent(&c).contains("MAIL FROM"));
}

#[test]
fn a_refused_recipient_fails_the_message_and_resets() {
    let mut c = client(&format!(
        "{EHLO}250 Ok\n250 Ok\n550 5.1.1 <bad@y>: Recipient address rejected: User unknown\n250 2.0.0 Ok\n"
    ));
    let e = c.send(&env("a@x", &["good@y", "bad@y"]), b"x").unwrap_err();
    assert!(e.is_protocol());
    assert!(e.message().contains("bad@y"), "{e}");
    assert!(e.message().contains("550 5.1.1"), "{e}");
    assert!(!e.message().contains("<good@y>"), "{e}");
    assert_eq!(e.reply_code(), Some(550));
    assert_eq!(e.enhanced_code(), Some("5.1.1"));
    assert!(e.is_permanent());
    let s = sent(&c);
    assert!(s.ends_with("RSET\r\n"), "{s}");
    assert!(!s.contains("DATA"));
    assert!(c.is_usable());
}

#[test]
fn partial_delivery_sends_to_the_accepted_and_reports_the_refused() {
    let config = ClientConfig {
        partial_delivery: true,
        ..ClientConfig::default()
    };
    let mut c = SmtpClient::connect(
        Scripted::new(&format!(
            "{EHLO}250 Ok\n550 5.1.1 no\n250 Ok\n354 go\n250 Ok: queued\n"
        )),
        config,
        true,
    )
    .unwrap();
    let r = c.send(&env("a@x", &["bad@y", "good@y"]), b"x").unwrap();
    assert_eq!(r.accepted, ["good@y"]);
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].address, "bad@y");
    assert_eq!(r.rejected[0].reply.code(), 550);
}

#[test]
fn a_421_marks_the_connection_unusable() {
    let mut c = client(&format!("{EHLO}421 4.4.2 timeout, closing\n"));
    let e = c.noop().unwrap_err();
    assert!(!c.is_usable());
    assert_eq!(e.reply_code(), Some(421));
    assert_eq!(e.enhanced_code(), Some("4.4.2"));
    assert!(e.is_transient() && !e.is_permanent());
}

#[test]
fn every_refusal_carries_its_reply() {
    type Step = fn(SmtpClient<Scripted>) -> Result<(), ConnectionError>;
    let send: Step = |mut c| c.send(&env("a@x", &["b@y"]), b"x").map(drop);
    let starttls: Step = |c| c.starttls(Ok).map(drop);
    let auth: Step = |mut c| c.authenticate(&Credential::password("user@x", "pw-1234"));
    let rset: Step = |mut c| c.rset();
    let noop: Step = |mut c| c.noop();
    let quit: Step = |c| c.quit().map(drop);
    let starttls_ehlo = "220 x\n250-x\n250 STARTTLS\n";
    let ok3 = format!("{EHLO}250 Ok\n250 Ok\n");
    // What is refused: the replies before the refusal, the refusal, the replies after it (to
    // RSET), what the client does, and the error's category.
    let cases: [(&str, &str, &str, &str, Step, ErrorCategory); 11] = [
        (
            "EHLO",
            "220 x\n",
            "554 5.7.1 go away",
            "",
            noop,
            ErrorCategory::Protocol,
        ),
        (
            "HELO",
            "220 x\n502 no\n",
            "550 5.7.1 not you",
            "",
            noop,
            ErrorCategory::Protocol,
        ),
        (
            "STARTTLS",
            starttls_ehlo,
            "454 4.7.0 TLS not available",
            "",
            starttls,
            ErrorCategory::Tls,
        ),
        (
            "AUTH",
            EHLO,
            "454 4.7.0 Temporary authentication failure",
            "",
            auth,
            ErrorCategory::Auth,
        ),
        (
            "AUTH mechanism",
            EHLO,
            "504 5.5.4 Unrecognized mechanism",
            "",
            auth,
            ErrorCategory::Protocol,
        ),
        (
            "MAIL FROM",
            EHLO,
            "451 4.3.0 try later",
            "250 Ok\n",
            send,
            ErrorCategory::Protocol,
        ),
        (
            "DATA",
            &ok3,
            "554 5.5.1 no valid recipients",
            "250 Ok\n",
            send,
            ErrorCategory::Protocol,
        ),
        (
            "the content",
            &format!("{ok3}354 go\n"),
            "451 4.3.0 queue full",
            "",
            send,
            ErrorCategory::Protocol,
        ),
        (
            "RSET",
            EHLO,
            "500 5.5.1 what",
            "",
            rset,
            ErrorCategory::Protocol,
        ),
        (
            "NOOP",
            EHLO,
            "502 5.5.1 no",
            "",
            noop,
            ErrorCategory::Protocol,
        ),
        (
            "QUIT",
            EHLO,
            "250 no bye",
            "",
            quit,
            ErrorCategory::Protocol,
        ),
    ];
    for (what, before, refusal, after, step, category) in cases {
        let script = format!("{before}{refusal}\n{after}");
        let e = SmtpClient::connect(Scripted::new(&script), ClientConfig::default(), false)
            .and_then(step)
            .unwrap_err();
        assert_eq!(e.category(), category, "{what}: {e}");
        assert!(e.message().contains(refusal), "{what}: {e}");
        let code: u16 = refusal[..3].parse().unwrap();
        assert_eq!(e.reply_code(), Some(code), "{what}: {e:?}");
        let enhanced = refusal.split(' ').nth(1).filter(|w| w.contains('.'));
        assert_eq!(e.enhanced_code(), enhanced, "{what}: {e:?}");
        assert_eq!(e.is_transient(), refusal.starts_with('4'), "{what}");
        assert_eq!(e.is_permanent(), refusal.starts_with('5'), "{what}");
    }
}

#[test]
fn several_refused_recipients_report_the_first_permanent_refusal() {
    let send = |replies: &str| {
        let mut c = client(&format!("{EHLO}250 Ok\n{replies}250 Ok\n"));
        c.send(&env("a@x", &["a@y", "b@y", "c@y"]), b"x")
            .unwrap_err()
    };
    // A permanent refusal wins: trying later cannot help that recipient.
    let e = send("450 4.2.0 Mailbox busy\n550 5.1.1 User unknown\n250 Ok\n");
    assert_eq!(e.reply_code(), Some(550));
    assert_eq!(e.enhanced_code(), Some("5.1.1"));
    assert!(e.is_permanent());
    // Only temporary refusals: the first one.
    let e = send("250 Ok\n452 4.2.2 Over quota\n450 4.2.0 Mailbox busy\n");
    assert_eq!(e.reply_code(), Some(452));
    assert_eq!(e.enhanced_code(), Some("4.2.2"));
    assert!(e.is_transient());
    assert!(e.message().contains("<b@y>: 452 4.2.2"), "{e}");
    assert!(e.message().contains("<c@y>: 450 4.2.0"), "{e}");
}

#[test]
fn a_421_at_rcpt_stops_the_transaction_with_its_reply() {
    let config = ClientConfig {
        partial_delivery: true,
        ..ClientConfig::default()
    };
    let script = format!("{EHLO}250 Ok\n250 Ok\n421 4.3.2 shutting down\n");
    let mut c = SmtpClient::connect(Scripted::new(&script), config, true).unwrap();
    let e = c
        .send(&env("a@x", &["a@y", "b@y", "c@y"]), b"x")
        .unwrap_err();
    assert!(e.is_protocol(), "{e}");
    assert_eq!(e.reply_code(), Some(421));
    assert_eq!(e.enhanced_code(), Some("4.3.2"));
    assert!(e.is_transient());
    // Nothing more is asked of a server that is closing; partial delivery cannot go on.
    let s = sent(&c);
    assert!(!s.contains("<c@y>") && !s.contains("DATA"), "{s}");
    assert!(
        !s.contains("RSET"),
        "no RSET to a server that said it is closing: {s}"
    );
    assert!(!c.is_usable());
}

#[test]
fn a_timeout_names_its_bound() {
    struct Stalls;
    impl Read for Stalls {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::WouldBlock, "timed out"))
        }
    }
    impl Write for Stalls {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let config = ClientConfig {
        io_timeout: Duration::from_millis(1500),
        ..ClientConfig::default()
    };
    let e = SmtpClient::connect(Stalls, config, false).unwrap_err();
    assert!(e.is_timeout());
    assert!(e.message().contains("1500 ms"), "{e}");
    assert_eq!((e.reply_code(), e.enhanced_code()), (None, None));
    assert!(!e.is_transient() && !e.is_permanent());
}

// ---- composition ----

fn account(f: impl FnOnce(&mut SmtpAccountForm)) -> SmtpAccount {
    let mut form = SmtpAccountForm {
        name: "Notifications".into(),
        sender_email: "noreply@example.test".into(),
        host: "smtp.example.test".into(),
        credential: Some("smtp".into()),
        secure_connection_type: SecureConnectionType::Tls,
        ..SmtpAccountForm::default()
    };
    f(&mut form);
    SmtpAccount::from_form(&form, &ValidationContext::standalone()).unwrap()
}

fn text_of(c: &ComposedMessage) -> String {
    String::from_utf8(c.data.clone()).unwrap()
}

fn header<'a>(data: &'a str, name: &str) -> Vec<&'a str> {
    let head = data.split("\r\n\r\n").next().unwrap();
    head.split("\r\n")
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .collect()
}

#[test]
fn the_account_fills_in_what_the_message_lacks() {
    let a = account(|f| {
        f.reply_to = Some("replies@example.test".into());
        f.return_path = Some("bounces@example.test".into());
    });
    let c = compose(&a, &OutgoingMessage::new().to("to@example.test").text("hi")).unwrap();
    let d = text_of(&c);
    assert_eq!(header(&d, "From"), ["noreply@example.test"]);
    assert_eq!(header(&d, "Reply-To"), ["replies@example.test"]);
    assert_eq!(
        c.envelope.mail_from.as_deref(),
        Some("bounces@example.test")
    );
    assert_eq!(c.envelope.rcpt_to, ["to@example.test"]);
    assert!(header(&d, "Return-Path").is_empty());
    assert_eq!(header(&d, "Message-ID"), [c.message_id.as_str()]);
    assert!(c.message_id.ends_with("@example.test>"));
}

#[test]
fn the_message_wins_unless_the_account_forces_its_settings() {
    let m = OutgoingMessage::new()
        .to("to@example.test")
        .from("App <app@example.test>")
        .reply_to("helpdesk@example.test")
        .return_path("app-bounces@example.test");
    let a = account(|f| {
        f.reply_to = Some("replies@example.test".into());
        f.return_path = Some("bounces@example.test".into());
    });
    let c = compose(&a, &m).unwrap();
    let d = text_of(&c);
    assert_eq!(header(&d, "From"), ["App <app@example.test>"]);
    assert_eq!(header(&d, "Reply-To"), ["helpdesk@example.test"]);
    assert_eq!(
        c.envelope.mail_from.as_deref(),
        Some("app-bounces@example.test")
    );

    let forced = account(|f| {
        f.reply_to = Some("replies@example.test".into());
        f.return_path = Some("bounces@example.test".into());
        f.force_configuration = true;
    });
    let c = compose(&forced, &m).unwrap();
    let d = text_of(&c);
    assert_eq!(header(&d, "From"), ["noreply@example.test"]);
    assert_eq!(header(&d, "Reply-To"), ["replies@example.test"]);
    assert_eq!(
        c.envelope.mail_from.as_deref(),
        Some("bounces@example.test")
    );

    // Forced with no Reply-To/Return-Path in the account: none, and the sender for bounces.
    let forced_bare = account(|f| f.force_configuration = true);
    let c = compose(&forced_bare, &m).unwrap();
    let d = text_of(&c);
    assert!(header(&d, "Reply-To").is_empty());
    assert_eq!(
        c.envelope.mail_from.as_deref(),
        Some("noreply@example.test")
    );
}

#[test]
fn without_return_path_bounces_go_to_the_from_address() {
    let a = account(|_| {});
    let c = compose(
        &a,
        &OutgoingMessage::new()
            .to("t@example.test")
            .from("app@example.test"),
    )
    .unwrap();
    assert_eq!(c.envelope.mail_from.as_deref(), Some("app@example.test"));
}

#[test]
fn read_receipts_add_disposition_notification_to() {
    let a = account(|f| {
        f.send_read_receipt = true;
        f.confirmation_email = Some("receipts@example.test".into());
    });
    let c = compose(&a, &OutgoingMessage::new().to("t@example.test")).unwrap();
    assert_eq!(
        header(&text_of(&c), "Disposition-Notification-To"),
        ["<receipts@example.test>"]
    );
    let c = compose(
        &account(|_| {}),
        &OutgoingMessage::new().to("t@example.test"),
    )
    .unwrap();
    assert!(header(&text_of(&c), "Disposition-Notification-To").is_empty());
}

#[test]
fn bcc_is_in_the_envelope_only() {
    let c = compose(
        &account(|_| {}),
        &OutgoingMessage::new()
            .to("t@example.test")
            .cc("c@example.test")
            .bcc("hidden@example.test")
            .bcc("T@example.test"),
    )
    .unwrap();
    assert_eq!(
        c.envelope.rcpt_to,
        ["t@example.test", "c@example.test", "hidden@example.test"]
    );
    let d = text_of(&c);
    assert!(!d.contains("hidden"), "{d}");
    assert!(header(&d, "Bcc").is_empty());
    assert_eq!(header(&d, "Cc"), ["c@example.test"]);
}

#[test]
fn the_footer_goes_after_a_separator_and_before_the_end_of_body() {
    assert_eq!(text_with_footer("Hello", "Acme"), "Hello\n-- \nAcme");
    assert_eq!(text_with_footer("Hello\n", "Acme"), "Hello\n-- \nAcme");
    assert_eq!(text_with_footer("", "Acme"), "-- \nAcme");
    assert_eq!(
        html_with_footer("<html><BODY><p>Hi</p></BODY></html>", "A & <B>\nline 2"),
        "<html><BODY><p>Hi</p><div class=\"footer\">-- <br>\nA &amp; &lt;B&gt;<br>\nline 2</div>\n</BODY></html>"
    );
    assert_eq!(
        html_with_footer("<p>Hi</p>", "F"),
        "<p>Hi</p>\n<div class=\"footer\">-- <br>\nF</div>\n"
    );
}

#[test]
fn the_footer_is_in_both_parts_of_a_composed_message() {
    let a = account(|f| {
        f.enable_footer = true;
        f.footer = Some("Acme Corp - automatic message".into());
    });
    let c = compose(
        &a,
        &OutgoingMessage::new()
            .to("t@example.test")
            .text("Body text")
            .html("<html><body><p>Body html</p></body></html>"),
    )
    .unwrap();
    let d = text_of(&c);
    assert!(d.contains("multipart/alternative"), "{d}");
    assert!(
        d.contains("Body text\r\n-- \r\nAcme Corp - automatic message"),
        "{d}"
    );
    assert!(
        d.contains("<p>Body html</p><div class=\"footer\">-- <br>\r\nAcme Corp - automatic message</div>\r\n</body>"),
        "{d}"
    );
}

#[test]
fn attachments_make_a_mixed_message() {
    let c = compose(
        &account(|_| {}),
        &OutgoingMessage::new()
            .to("t@example.test")
            .text("see attached")
            .attachment(Attachment::new(
                "report.csv",
                "text/csv",
                b"a,b\n1,2\n".to_vec(),
            )),
    )
    .unwrap();
    let d = text_of(&c);
    assert!(d.contains("multipart/mixed"));
    assert!(d.contains("filename=\"report.csv\""), "{d}");
    assert!(d.contains(&B64.encode("a,b\n1,2\n")), "{d}");
    let e = compose(
        &account(|_| {}),
        &OutgoingMessage::new()
            .to("t@example.test")
            .attachment(Attachment::new("x", "not a type", Vec::new())),
    )
    .unwrap_err();
    assert_eq!(e.category(), ErrorCategory::Validation);
}

#[test]
fn only_safe_headers_without_line_breaks_are_accepted() {
    let base = || OutgoingMessage::new().to("t@example.test");
    let c = compose(
        &account(|_| {}),
        &base()
            .header("X-Ticket", "1234")
            .header("Auto-Submitted", "auto-generated"),
    )
    .unwrap();
    let d = text_of(&c);
    assert_eq!(header(&d, "X-Ticket"), ["1234"]);
    assert_eq!(header(&d, "Auto-Submitted"), ["auto-generated"]);
    for name in [
        "Bcc",
        "From",
        "Return-Path",
        "Content-Type",
        "Sender",
        "X-",
        "Disposition-Notification-To",
    ] {
        let e = compose(&account(|_| {}), &base().header(name, "x@example.test")).unwrap_err();
        assert_eq!(e.category(), ErrorCategory::Validation, "{name}");
    }
    let e = compose(
        &account(|_| {}),
        &base().header("X-Evil", "a\r\nBcc: victim@example.test"),
    )
    .unwrap_err();
    assert_eq!(e.category(), ErrorCategory::Validation);
}

#[test]
fn bad_addresses_and_no_recipient_are_refused() {
    let e = compose(&account(|_| {}), &OutgoingMessage::new()).unwrap_err();
    assert_eq!(e.category(), ErrorCategory::Validation);
    let e = compose(
        &account(|_| {}),
        &OutgoingMessage::new().to("not an address"),
    )
    .unwrap_err();
    assert_eq!(e.category(), ErrorCategory::Validation);
    assert!(e.message().contains("to:"), "{e}");
}

#[test]
fn the_test_message_has_the_seed_defaults() {
    let m = OutgoingMessage::test_message("ops@example.test", None, Some("  "));
    assert_eq!(m.subject, "MENSAGEM DE TESTE!");
    assert_eq!(
        m.text.as_deref(),
        Some("ATENÇÃO: ESTA É UMA MENSAGEM DE TESTE!")
    );
    assert_eq!(m.to, ["ops@example.test"]);
    let m = OutgoingMessage::test_message("ops@example.test", Some("S"), Some("M"));
    assert_eq!((m.subject.as_str(), m.text.as_deref()), ("S", Some("M")));
    // The subject is encoded (RFC 2047) because it is not ASCII only when needed.
    let c = compose(
        &account(|_| {}),
        &OutgoingMessage::test_message("o@example.test", None, None),
    )
    .unwrap();
    let d = text_of(&c);
    assert_eq!(header(&d, "Subject"), ["MENSAGEM DE TESTE!"]);
}

#[test]
fn a_disabled_account_sends_nothing() {
    let a = account(|f| f.enabled = false);
    let creds = crate::credentials::InMemoryCredentials::new();
    let e = send(
        &a,
        &creds,
        &OutgoingMessage::new().to("t@example.test"),
        &SmtpOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.category(), ErrorCategory::Validation);
    assert!(e.message().contains("disabled"));
}

#[test]
fn the_default_account_is_used_when_none_is_named() {
    let named = account(|f| f.name = "Named".into());
    let default = account(|f| {
        f.name = "Default".into();
        f.default_account = true;
    });
    let list = vec![named.clone(), default.clone()];
    assert_eq!(resolve_account(None, &list).unwrap().name(), "Default");
    assert_eq!(
        resolve_account(Some(&named), &list).unwrap().name(),
        "Named"
    );
    let none: Option<SmtpAccount> = None;
    let e = resolve_account(None, &none).unwrap_err();
    assert_eq!(e, crate::app::AccountError::NoDefault);
    assert_eq!(e.category(), ErrorCategory::NotFound);
    let from_closure = || Some(default.clone());
    assert_eq!(
        resolve_account(None, &from_closure).unwrap().name(),
        "Default"
    );
}
