//! The POP3 client against the real Dovecot: every security (clear, STLS, POP3S) over every
//! route (direct, SOCKS5 with and without auth, HTTP CONNECT with and without auth); message
//! content, UIDL stability, DELE + QUIT, pipelining, large messages; and every failure a
//! person can cause (wrong password, bad certificates, no STLS, closed port, proxy failures,
//! a silent server).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/oauth2.rs"]
mod oauth2;

use mail_settings_core::net::{MailStream, Timeouts};
use mail_settings_core::pop3::{LoginMethod, Pop3Client};
use mail_settings_core::{
    ConnectorKind, Credential, ErrorCategory, InMemoryCredentials, IncomingAccount,
    IncomingAccountForm, NetworkConnectorForm, Protocol, ProxyHop, SecureConnectionType,
    ValidationContext,
};
use mail_settings_tests::{deliver, servers, unique_mailbox};
use std::io::{self, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// Connectors 1–4: SOCKS5, SOCKS5 with auth, HTTP, HTTP with auth; 5: SOCKS5 with the wrong
/// password; 6: a SOCKS5 port nobody listens on.
fn connectors() -> Vec<NetworkConnectorForm> {
    let s = servers();
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = |id: i64, kind, port: u16, credential: Option<&str>| NetworkConnectorForm {
        id: Some(id),
        name: format!("connector {id}"),
        enabled: true,
        kind: Some(kind),
        host: "127.0.0.1".into(),
        port: Some(i64::from(port)),
        credential: credential.map(str::to_owned),
    };
    vec![
        c(1, ConnectorKind::Socks5, s.port("MS_SOCKS5_PORT"), None),
        c(
            2,
            ConnectorKind::Socks5,
            s.port("MS_SOCKS5_AUTH_PORT"),
            Some("proxy"),
        ),
        c(
            3,
            ConnectorKind::HttpConnect,
            s.port("MS_HTTP_PROXY_PORT"),
            None,
        ),
        c(
            4,
            ConnectorKind::HttpConnect,
            s.port("MS_HTTP_PROXY_AUTH_PORT"),
            Some("proxy"),
        ),
        c(
            5,
            ConnectorKind::Socks5,
            s.port("MS_SOCKS5_AUTH_PORT"),
            Some("wrong-proxy"),
        ),
        c(6, ConnectorKind::Socks5, closed, None),
    ]
}

#[derive(Clone, Copy, Debug)]
enum Sec {
    Clear,
    StartTls,
    Implicit,
}

struct Acct {
    port: u16,
    sec: Sec,
    verify: bool,
    connector: Option<i64>,
    mailbox: String,
    credential: String,
    host: &'static str,
}

impl Acct {
    fn new(port_key: &str, sec: Sec, mailbox: &str) -> Self {
        Self {
            port: servers().port(port_key),
            sec,
            verify: true,
            connector: None,
            mailbox: mailbox.to_owned(),
            credential: mailbox.to_owned(),
            host: "localhost",
        }
    }
    fn via(mut self, connector: Option<i64>) -> Self {
        self.connector = connector;
        self
    }
    fn unverified(mut self) -> Self {
        self.verify = false;
        self
    }
    fn credential(mut self, id: &str) -> Self {
        self.credential = id.to_owned();
        self
    }
    fn build(&self) -> IncomingAccount {
        let form = IncomingAccountForm {
            name: "pop3 test".into(),
            host: self.host.into(),
            port: Some(i64::from(self.port)),
            protocol: Some(Protocol::Pop3),
            credential: Some(self.credential.clone()),
            use_secure_connection: !matches!(self.sec, Sec::Clear),
            secure_connection_type: match self.sec {
                Sec::StartTls => SecureConnectionType::Tls,
                _ => SecureConnectionType::Ssl,
            },
            skip_certificate: !self.verify,
            ca_file: Some(servers().ca_file()),
            use_network_connector: self.connector.is_some(),
            network_connector: self.connector,
            ..IncomingAccountForm::default()
        };
        let connectors = connectors();
        IncomingAccount::from_form(
            &form,
            &ValidationContext::standalone().with_connectors(&connectors),
        )
        .unwrap()
    }
    /// Connects and logs in, with the harness's credentials for the mailbox (the mailbox
    /// address is the id of the right password, `wrong-password` of a wrong one).
    fn connect(&self) -> Result<Pop3Client<MailStream>, mail_settings_core::ConnectionError> {
        Pop3Client::connect(&self.build(), &creds(&self.mailbox), &Timeouts::default())
    }
}

fn creds(mailbox: &str) -> InMemoryCredentials {
    servers().credentials_for(mailbox)
}

fn message(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: sender@example.test\r\nTo: someone@example.test\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.test>\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\n{body}"
    )
    .into_bytes()
}

/// The delivered message must be the end of what RETR gives (Postfix and Dovecot add trace
/// headers in front).
fn assert_is_message(got: &[u8], delivered: &[u8]) {
    assert!(
        got.ends_with(delivered),
        "RETR gave:\n{}\n--- expected it to end with:\n{}",
        String::from_utf8_lossy(got),
        String::from_utf8_lossy(delivered)
    );
}

fn routes() -> [(&'static str, Option<i64>); 5] {
    [
        ("direct", None),
        ("socks5", Some(1)),
        ("socks5+auth", Some(2)),
        ("http", Some(3)),
        ("http+auth", Some(4)),
    ]
}

#[test]
fn every_security_over_every_route_reads_the_delivered_message_with_a_stable_uidl() {
    let mailbox = unique_mailbox("pop3-routes");
    let delivered = message(
        "routes",
        "line one\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n",
    );
    deliver(&mailbox, &delivered);
    let mut uids = Vec::new();
    for (sec, key) in [
        (Sec::Clear, "MS_POP3_NOTLS_PORT"),
        (Sec::StartTls, "MS_POP3_PORT"),
        (Sec::Implicit, "MS_POP3S_PORT"),
    ] {
        for (route, connector) in routes() {
            let what = format!("{sec:?} via {route}");
            let mut c = Acct::new(key, sec, &mailbox)
                .via(connector)
                .connect()
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(c.is_logged_in(), "{what}");
            assert_eq!(c.get_ref().is_tls(), !matches!(sec, Sec::Clear), "{what}");
            assert_eq!(c.tls_info().is_some(), !matches!(sec, Sec::Clear), "{what}");
            if let Some(info) = c.tls_info() {
                assert!(info.verified && info.version.is_some(), "{what}: {info:?}");
            }
            let stat = c.stat().unwrap();
            assert_eq!(stat.count, 1, "{what}");
            let mut got = Vec::new();
            let n = c.retr(1, &mut got).unwrap();
            assert_eq!(n, got.len() as u64);
            assert_is_message(&got, &delivered);
            uids.push(c.uidl_one(1).unwrap().uid);
            c.quit().unwrap();
        }
    }
    assert!(uids.iter().all(|u| u == &uids[0]), "UIDL changed: {uids:?}");
}

#[test]
fn login_uses_auth_plain_when_dovecot_offers_it() {
    let mailbox = unique_mailbox("pop3-plain");
    let account = Acct::new("MS_POP3S_PORT", Sec::Implicit, &mailbox).build();
    let creds = creds(&mailbox);
    let mut c = Pop3Client::open(&account, &creds, &Timeouts::default()).unwrap();
    assert!(c.capabilities().unwrap().has_sasl("PLAIN"));
    let method = c
        .login(&Credential::password(&mailbox, servers().mail_password()))
        .unwrap();
    assert_eq!(method, LoginMethod::AuthPlain);
    assert_eq!(c.stat().unwrap().count, 0);
    c.quit().unwrap();
}

#[test]
fn list_top_uidl_and_pipelined_retr_of_several_messages() {
    let mailbox = unique_mailbox("pop3-many");
    let delivered: Vec<Vec<u8>> = (1..=3)
        .map(|i| message(&format!("many-{i}"), &format!("body {i}\r\n")))
        .collect();
    for m in &delivered {
        deliver(&mailbox, m);
    }
    let mut c = Acct::new("MS_POP3_PORT", Sec::StartTls, &mailbox)
        .connect()
        .unwrap();
    assert!(
        c.capabilities().unwrap().pipelining(),
        "Dovecot offers PIPELINING"
    );
    let list = c.list().unwrap();
    assert_eq!(list.iter().map(|m| m.number).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(c.list_one(2).unwrap(), list[1]);
    let uidl = c.uidl().unwrap();
    assert_eq!(uidl.len(), 3);
    assert_eq!(c.uidl_one(3).unwrap(), uidl[2]);

    let mut sinks = vec![Vec::new(), Vec::new(), Vec::new()];
    let results = c.retr_many(&[1, 2, 3], &mut sinks).unwrap();
    for ((r, got), (want, listed)) in results.iter().zip(&sinks).zip(delivered.iter().zip(&list)) {
        assert_eq!(*r.as_ref().unwrap(), got.len() as u64);
        assert_is_message(got, want);
        // LIST counts CRLF octets: the same as what we received.
        assert_eq!(listed.size, got.len() as u64);
    }

    let mut top = Vec::new();
    c.top(2, 0, &mut top).unwrap();
    let text = String::from_utf8(top).unwrap();
    assert!(
        text.contains("Subject: many-2") && text.ends_with("\r\n\r\n"),
        "{text}"
    );
    assert!(!text.contains("body 2"), "{text}");

    // A refused message inside a pipeline does not break the session.
    let mut sinks = vec![Vec::new(), Vec::new()];
    let results = c.retr_many(&[2, 99], &mut sinks).unwrap();
    assert!(results[0].is_ok());
    assert!(results[1].as_ref().unwrap_err().is_protocol());
    c.noop().unwrap();
    c.quit().unwrap();
}

#[test]
fn dele_applies_only_at_quit_and_rset_undoes_it() {
    let mailbox = unique_mailbox("pop3-dele");
    for i in 1..=3 {
        deliver(&mailbox, &message(&format!("dele-{i}"), "x\r\n"));
    }
    let acct = Acct::new("MS_POP3S_PORT", Sec::Implicit, &mailbox);
    let count = || {
        let mut c = acct.connect().unwrap();
        let n = c.stat().unwrap().count;
        c.quit().unwrap();
        n
    };

    // DELE then RSET then QUIT: nothing removed.
    let mut c = acct.connect().unwrap();
    c.dele(1).unwrap();
    assert_eq!(
        c.stat().unwrap().count,
        2,
        "marked messages are not counted"
    );
    c.rset().unwrap();
    c.quit().unwrap();
    assert_eq!(count(), 3);

    // DELE and drop the connection without QUIT: nothing removed.
    let mut c = acct.connect().unwrap();
    c.dele(1).unwrap();
    drop(c);
    assert_eq!(count(), 3);

    // DELE + QUIT removes exactly that message.
    let mut c = acct.connect().unwrap();
    let kept = c.uidl_one(2).unwrap().uid;
    c.dele(1).unwrap();
    c.quit().unwrap();
    let mut c = acct.connect().unwrap();
    assert_eq!(c.stat().unwrap().count, 2);
    assert_eq!(
        c.uidl_one(1).unwrap().uid,
        kept,
        "UIDL stable after another message left"
    );
    // Pipelined DELE of the rest.
    let results = c.dele_many(&[1, 2]).unwrap();
    assert!(results.iter().all(Result::is_ok));
    c.quit().unwrap();
    assert_eq!(count(), 0);
}

#[test]
fn a_large_message_is_streamed() {
    let mailbox = unique_mailbox("pop3-large");
    // 20 MB of 76-character lines, some starting with a dot.
    let mut body = String::with_capacity(21_000_000);
    let mut i = 0u64;
    while body.len() < 20_000_000 {
        if i % 1000 == 0 {
            body.push('.');
        }
        body.push_str(&format!("{i:010}"));
        body.push_str(&"x".repeat(64));
        body.push_str("\r\n");
        i += 1;
    }
    let delivered = message("large", &body);
    deliver(&mailbox, &delivered);

    /// Counts and keeps only a running checksum: the message is never in memory.
    struct Counting {
        n: u64,
        tail: Vec<u8>,
    }
    impl Write for Counting {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.n += buf.len() as u64;
            self.tail.extend_from_slice(buf);
            let keep = 1024;
            if self.tail.len() > 4 * keep {
                self.tail.drain(..self.tail.len() - keep);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut c = Acct::new("MS_POP3S_PORT", Sec::Implicit, &mailbox)
        .connect()
        .unwrap();
    let listed = c.list_one(1).unwrap().size;
    let mut sink = Counting {
        n: 0,
        tail: Vec::new(),
    };
    let started = Instant::now();
    let n = c.retr(1, &mut sink).unwrap();
    let took = started.elapsed();
    assert_eq!(n, sink.n);
    assert_eq!(n, listed, "RETR gave what LIST announced");
    assert!(n >= delivered.len() as u64);
    assert!(delivered.ends_with(&sink.tail[sink.tail.len().saturating_sub(1024)..]));
    println!(
        "RETR of {n} bytes over POP3S: {:.0} ms ({:.0} MB/s)",
        took.as_secs_f64() * 1000.0,
        n as f64 / 1e6 / took.as_secs_f64()
    );
    c.quit().unwrap();
}

#[test]
fn xoauth2_with_a_token_dovecot_accepts_and_one_it_refuses() {
    let mailbox = unique_mailbox("pop3-oauth");
    let token = oauth2::token(&mailbox, 3600);
    let account = Acct::new("MS_POP3S_PORT", Sec::Implicit, &mailbox)
        .credential("oauth")
        .build();
    let creds = InMemoryCredentials::new().with("oauth", Credential::oauth2(&mailbox, &token));
    let c = Pop3Client::connect(&account, &creds, &Timeouts::default()).unwrap();
    assert!(c.is_logged_in());
    c.quit().unwrap();

    let expired = oauth2::token(&mailbox, -3600);
    let creds = InMemoryCredentials::new().with("oauth", Credential::oauth2(&mailbox, &expired));
    let err = Pop3Client::connect(&account, &creds, &Timeouts::default()).unwrap_err();
    assert!(err.is_auth(), "{err}");
    assert!(!format!("{err} {err:?}").contains(&expired));
}

#[test]
fn wrong_password_is_an_auth_error_over_every_security() {
    let mailbox = unique_mailbox("pop3-wrong");
    for (sec, key) in [
        (Sec::Clear, "MS_POP3_NOTLS_PORT"),
        (Sec::StartTls, "MS_POP3_PORT"),
        (Sec::Implicit, "MS_POP3S_PORT"),
    ] {
        let err = Acct::new(key, sec, &mailbox)
            .credential("wrong-password")
            .connect()
            .unwrap_err();
        assert!(err.is_auth(), "{sec:?}: {err}");
        assert!(!format!("{err} {err:?}").contains("not-the-password"));
    }
}

#[test]
fn bad_certificates_fail_and_pass_with_verification_off() {
    let mailbox = unique_mailbox("pop3-certs");
    for variant in ["SELFSIGNED", "EXPIRED", "WRONGHOST"] {
        for (sec, key) in [
            (Sec::StartTls, format!("MS_POP3_{variant}_PORT")),
            (Sec::Implicit, format!("MS_POP3S_{variant}_PORT")),
        ] {
            let err = Acct::new(&key, sec, &mailbox).connect().unwrap_err();
            assert_eq!(err.category(), ErrorCategory::Certificate, "{key}: {err}");
            let c = Acct::new(&key, sec, &mailbox)
                .unverified()
                .connect()
                .unwrap_or_else(|e| panic!("{key} with verification off: {e}"));
            assert!(!c.tls_info().unwrap().verified);
            c.quit().unwrap();
        }
    }
}

#[test]
fn starttls_on_a_server_without_stls_is_a_tls_error() {
    let mailbox = unique_mailbox("pop3-notls");
    let err = Acct::new("MS_POP3_NOTLS_PORT", Sec::StartTls, &mailbox)
        .connect()
        .unwrap_err();
    assert!(err.is_tls(), "{err}");
    assert!(err.message().contains("does not offer STLS"), "{err}");
}

#[test]
fn connection_and_proxy_failures_have_their_categories() {
    let mailbox = unique_mailbox("pop3-fail");
    // Closed port.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut acct = Acct::new("MS_POP3S_PORT", Sec::Implicit, &mailbox);
    acct.port = closed;
    acct.host = "127.0.0.1";
    let err = acct.connect().unwrap_err();
    assert!(err.is_connect(), "{err}");

    // Proxy with the wrong password.
    let err = Acct::new("MS_POP3S_PORT", Sec::Implicit, &mailbox)
        .via(Some(5))
        .connect()
        .unwrap_err();
    assert!(
        err.is_proxy() && err.hop() == Some(ProxyHop::ProxyAuth),
        "{err}"
    );

    // Blocked target port, through each proxy.
    for connector in [1, 2, 3, 4] {
        let mut acct = Acct::new("MS_POP3S_PORT", Sec::Implicit, &mailbox).via(Some(connector));
        acct.port = servers().port("MS_PROXY_BLOCKED_PORT");
        let err = acct.connect().unwrap_err();
        assert_eq!(
            err.hop(),
            Some(ProxyHop::ProxyRefused),
            "connector {connector}: {err}"
        );
    }

    // A proxy nobody listens on.
    let err = Acct::new("MS_POP3S_PORT", Sec::Implicit, &mailbox)
        .via(Some(6))
        .connect()
        .unwrap_err();
    assert_eq!(err.hop(), Some(ProxyHop::ProxyUnreachable), "{err}");

    // A listener that accepts and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming() {
            held.push(s);
        }
    });
    for sec in [Sec::Clear, Sec::Implicit] {
        let mut acct = Acct::new("MS_POP3_PORT", sec, &mailbox);
        acct.port = port;
        acct.host = "127.0.0.1";
        let bound = Duration::from_millis(600);
        let err = Pop3Client::connect(&acct.build(), &creds(&mailbox), &Timeouts::uniform(bound))
            .unwrap_err();
        assert!(err.is_timeout(), "{sec:?}: {err}");
    }
}
