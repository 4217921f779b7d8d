//! The connection check against the real servers: every protocol × security × connector ×
//! certificate, and each failure at its stage with its category.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::check::{check_incoming, check_smtp, CheckOptions, CheckReport, StageName};
use mail_settings_core::net::Timeouts;
use mail_settings_core::{ErrorCategory, Protocol, ProxyHop, SecureConnectionType};
use mail_settings_tests::{
    incoming_account, incoming_form, lmtp_deliver, servers, smtp_account, unique_mailbox, Cert,
    Via, SECURITIES,
};
use std::time::Duration;

fn options() -> CheckOptions {
    CheckOptions {
        timeouts: Timeouts::uniform(Duration::from_secs(10)),
        ..CheckOptions::default()
    }
}

fn names(r: &CheckReport) -> Vec<StageName> {
    r.stages.iter().map(|s| s.name).collect()
}

fn assert_ok(r: &CheckReport) {
    assert!(r.ok, "check failed:\n{r}");
    assert!(r.failure().is_none() && r.failure_error().is_none());
}

fn assert_failed_at(r: &CheckReport, stage: StageName, category: ErrorCategory) {
    assert!(!r.ok, "check should fail:\n{r}");
    let f = r.failure().unwrap();
    assert_eq!((f.name, f.category), (stage, Some(category)), "{r}");
    assert!(f.advice.as_deref().is_some_and(|a| !a.is_empty()));
    assert_eq!(
        r.stages.last().unwrap().name,
        stage,
        "the check stops at the failure"
    );
}

#[test]
fn every_protocol_security_and_connector_passes() {
    let s = servers();
    let mailbox = unique_mailbox("check-matrix");
    lmtp_deliver(
        "sender@example.test",
        &mailbox,
        b"Subject: one\r\n\r\nbody\r\n",
    );
    let creds = s.credentials_for(&mailbox);
    let mut checks = 0;
    for via in Via::ALL {
        for security in SECURITIES {
            for protocol in [Protocol::Imap, Protocol::Pop3] {
                let a = incoming_account(protocol, &mailbox, security, Cert::Valid, via, true);
                let r = check_incoming(&a, &creds, &options());
                assert_ok(&r);
                let mb = r.mailbox.unwrap();
                assert_eq!(mb.messages, 1, "{r}");
                assert!(mb.size > 0);
                assert_eq!(r.tls.is_some(), security.is_some(), "{r}");
                let expected_proxy = via != Via::Direct;
                assert_eq!(names(&r).contains(&StageName::Proxy), expected_proxy);
                // IMAP lists the folders (and finds the account's) before sizing them.
                let tail: &[StageName] = if protocol == Protocol::Imap {
                    &[
                        StageName::Mechanisms,
                        StageName::Authentication,
                        StageName::Folders,
                        StageName::Mailbox,
                    ]
                } else {
                    &[
                        StageName::Mechanisms,
                        StageName::Authentication,
                        StageName::Mailbox,
                    ]
                };
                assert!(names(&r).ends_with(tail), "{r}");
                checks += 1;
            }
            let a = smtp_account(&mailbox, security, Cert::Valid, via, true);
            let r = check_smtp(&a, &creds, &options());
            assert_ok(&r);
            assert_eq!(r.size_limit, Some(52_428_800), "{r}");
            assert!(r.mechanisms.iter().any(|m| m == "PLAIN"));
            assert_eq!(*names(&r).last().unwrap(), StageName::Extensions);
            checks += 1;
        }
    }
    assert_eq!(checks, 45);
}

#[test]
fn tls_facts_are_reported() {
    let mailbox = unique_mailbox("check-tls");
    let creds = servers().credentials_for(&mailbox);
    let a = incoming_account(
        Protocol::Imap,
        &mailbox,
        Some(SecureConnectionType::Ssl),
        Cert::Valid,
        Via::Direct,
        true,
    );
    let r = check_incoming(&a, &creds, &options());
    assert_ok(&r);
    let tls = r.tls.as_ref().unwrap();
    assert!(tls.verified);
    assert!(
        tls.version
            .as_deref()
            .is_some_and(|v| v.starts_with("TLSv1.")),
        "{tls:?}"
    );
    assert!(
        tls.subject.as_deref().unwrap().contains("localhost"),
        "{tls:?}"
    );
    assert!(tls.issuer.is_some() && tls.not_after.is_some());
    // STARTTLS reports the same facts at its own stage, after the greeting.
    let a = incoming_account(
        Protocol::Pop3,
        &mailbox,
        Some(SecureConnectionType::Tls),
        Cert::Valid,
        Via::Direct,
        true,
    );
    let r = check_incoming(&a, &creds, &options());
    assert_ok(&r);
    let order = names(&r);
    let pos = |n| order.iter().position(|x| *x == n).unwrap();
    assert!(pos(StageName::Greeting) < pos(StageName::Tls));
    assert!(r.tls.as_ref().unwrap().verified);
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["stages"][0]["name"], "resolve");
    assert_eq!(json["ok"], true);
}

#[test]
fn bad_certificates_fail_at_tls_then_pass_with_verification_off() {
    let mailbox = unique_mailbox("check-certs");
    let creds = servers().credentials_for(&mailbox);
    for cert in Cert::BAD {
        for security in [
            Some(SecureConnectionType::Ssl),
            Some(SecureConnectionType::Tls),
        ] {
            for protocol in [Protocol::Imap, Protocol::Pop3] {
                let a = incoming_account(protocol, &mailbox, security, cert, Via::Direct, true);
                let r = check_incoming(&a, &creds, &options());
                assert_failed_at(&r, StageName::Tls, ErrorCategory::Certificate);
                assert!(
                    !names(&r).contains(&StageName::Authentication),
                    "no credential sent: {r}"
                );
                let a = incoming_account(protocol, &mailbox, security, cert, Via::Direct, false);
                let r = check_incoming(&a, &creds, &options());
                assert_ok(&r);
                assert!(!r.tls.as_ref().unwrap().verified);
            }
            let a = smtp_account(&mailbox, security, cert, Via::Direct, true);
            assert_failed_at(
                &check_smtp(&a, &creds, &options()),
                StageName::Tls,
                ErrorCategory::Certificate,
            );
            let a = smtp_account(&mailbox, security, cert, Via::Socks5, false);
            assert_ok(&check_smtp(&a, &creds, &options()));
        }
    }
}

#[test]
fn wrong_password_fails_at_authentication() {
    let mailbox = unique_mailbox("check-auth");
    let creds = servers().credentials_for(&mailbox);
    for protocol in [Protocol::Imap, Protocol::Pop3] {
        let (mut form, connectors) = incoming_form(
            protocol,
            &mailbox,
            Some(SecureConnectionType::Ssl),
            Cert::Valid,
            Via::Direct,
        );
        form.credential = Some("wrong-password".into());
        let ctx = mail_settings_core::ValidationContext::standalone().with_connectors(&connectors);
        let a = mail_settings_core::IncomingAccount::from_form(&form, &ctx).unwrap();
        let r = check_incoming(&a, &creds, &options());
        assert_failed_at(&r, StageName::Authentication, ErrorCategory::Auth);
        assert_eq!(r.failure().unwrap().reply_code, None, "{r}");
        assert!(r.failure_error().unwrap().is_auth());
        assert!(r
            .failure()
            .unwrap()
            .advice
            .as_deref()
            .unwrap()
            .contains("wrong-password"));
        assert!(!r.to_json().contains(servers().mail_password()));
    }
}

#[test]
fn an_smtp_refusal_keeps_its_reply_in_the_report() {
    let mailbox = unique_mailbox("check-smtp-auth");
    let creds = servers().credentials_for(&mailbox);
    let form = mail_settings_core::SmtpAccountForm {
        name: "wrong password".into(),
        host: "localhost".into(),
        port: Some(i64::from(servers().port("MS_SMTP_PORT"))),
        sender_email: mailbox.clone(),
        credential: Some("wrong-password".into()),
        use_secure_connection: true,
        secure_connection_type: SecureConnectionType::Tls,
        ca_file: Some(servers().ca_file()),
        ..Default::default()
    };
    let a = mail_settings_core::SmtpAccount::from_form(&form, &Default::default()).unwrap();
    let r = check_smtp(&a, &creds, &options());
    assert_failed_at(&r, StageName::Authentication, ErrorCategory::Auth);
    let failure = r.failure().unwrap();
    // Postfix's refusal (SASL through Dovecot).
    assert_eq!(failure.reply_code, Some(535), "{r}");
    assert_eq!(failure.enhanced_code.as_deref(), Some("5.7.8"), "{r}");
    assert!(
        r.to_string().contains("category: auth (reply 535 5.7.8)"),
        "{r}"
    );
    assert!(
        r.to_json().contains("\"reply_code\": 535"),
        "{}",
        r.to_json()
    );
    // The error the report stands for is the one sending would have raised.
    let e = r.failure_error().unwrap();
    assert!(e.is_auth() && e.is_permanent(), "{e}");
    assert_eq!(e.enhanced_code(), Some("5.7.8"));
    assert!(e.message().contains("authentication stage"), "{e}");
    assert!(!format!("{r} {} {e}", r.to_json()).contains(servers().mail_password()));
}

#[test]
fn starttls_without_server_support_fails_at_tls() {
    let mailbox = unique_mailbox("check-notls");
    let creds = servers().credentials_for(&mailbox);
    for (protocol, key) in [
        (Protocol::Imap, "MS_IMAP_NOTLS_PORT"),
        (Protocol::Pop3, "MS_POP3_NOTLS_PORT"),
    ] {
        let (mut form, _) = incoming_form(
            protocol,
            &mailbox,
            Some(SecureConnectionType::Tls),
            Cert::Valid,
            Via::Direct,
        );
        form.port = Some(i64::from(servers().port(key)));
        let a = mail_settings_core::IncomingAccount::from_form(&form, &Default::default()).unwrap();
        let r = check_incoming(&a, &creds, &options());
        assert_failed_at(&r, StageName::Tls, ErrorCategory::Tls);
    }
}

#[test]
fn connect_proxy_and_timeout_failures() {
    let mailbox = unique_mailbox("check-net");
    let creds = servers().credentials_for(&mailbox);
    // Closed port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let (mut form, _) = incoming_form(
        Protocol::Imap,
        &mailbox,
        Some(SecureConnectionType::Ssl),
        Cert::Valid,
        Via::Direct,
    );
    form.port = Some(i64::from(closed_port));
    let a = mail_settings_core::IncomingAccount::from_form(&form, &Default::default()).unwrap();
    assert_failed_at(
        &check_incoming(&a, &creds, &options()),
        StageName::Connect,
        ErrorCategory::Connect,
    );

    // A listener that never answers: a timeout within the bound.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    form.port = Some(i64::from(silent.local_addr().unwrap().port()));
    let a = mail_settings_core::IncomingAccount::from_form(&form, &Default::default()).unwrap();
    let quick = CheckOptions {
        timeouts: Timeouts::uniform(Duration::from_millis(500)),
        ..CheckOptions::default()
    };
    let r = check_incoming(&a, &creds, &quick);
    assert_failed_at(&r, StageName::Tls, ErrorCategory::Timeout);
    assert!(r.failure().unwrap().duration_ms < 5_000.0, "{r}");
    drop(silent);

    // The proxies refuse the blocked port.
    for via in [Via::Socks5, Via::Http] {
        let (mut form, connectors) = incoming_form(
            Protocol::Imap,
            &mailbox,
            Some(SecureConnectionType::Ssl),
            Cert::Valid,
            via,
        );
        form.port = Some(i64::from(servers().port("MS_PROXY_BLOCKED_PORT")));
        let ctx = mail_settings_core::ValidationContext::standalone().with_connectors(&connectors);
        let a = mail_settings_core::IncomingAccount::from_form(&form, &ctx).unwrap();
        let r = check_incoming(&a, &creds, &options());
        assert_failed_at(&r, StageName::Proxy, ErrorCategory::Proxy);
        assert_eq!(
            r.failure().unwrap().hop,
            Some(ProxyHop::ProxyRefused),
            "{r}"
        );
    }
    // A wrong proxy password.
    for via in [Via::Socks5Auth, Via::HttpAuth] {
        let (form, mut connectors) = incoming_form(
            Protocol::Pop3,
            &mailbox,
            Some(SecureConnectionType::Ssl),
            Cert::Valid,
            via,
        );
        connectors[0].credential = Some("wrong-proxy".into());
        let ctx = mail_settings_core::ValidationContext::standalone().with_connectors(&connectors);
        let a = mail_settings_core::IncomingAccount::from_form(&form, &ctx).unwrap();
        let r = check_incoming(&a, &creds, &options());
        assert_failed_at(&r, StageName::Proxy, ErrorCategory::Proxy);
        assert_eq!(r.failure().unwrap().hop, Some(ProxyHop::ProxyAuth), "{r}");
        assert!(!format!("{r}{}", r.to_json()).contains(servers().value("MS_PROXY_PASSWORD")));
    }
    // A proxy nobody listens on.
    let (form, mut connectors) = incoming_form(
        Protocol::Imap,
        &mailbox,
        Some(SecureConnectionType::Ssl),
        Cert::Valid,
        Via::Socks5,
    );
    connectors[0].port = Some(i64::from(closed_port));
    let ctx = mail_settings_core::ValidationContext::standalone().with_connectors(&connectors);
    let a = mail_settings_core::IncomingAccount::from_form(&form, &ctx).unwrap();
    let r = check_incoming(&a, &creds, &options());
    assert_failed_at(&r, StageName::Connect, ErrorCategory::Proxy);
    assert_eq!(r.failure().unwrap().hop, Some(ProxyHop::ProxyUnreachable));

    // An unknown host name.
    let (mut form, _) = incoming_form(
        Protocol::Imap,
        &mailbox,
        Some(SecureConnectionType::Ssl),
        Cert::Valid,
        Via::Direct,
    );
    form.host = "no-such-host.invalid".into();
    let a = mail_settings_core::IncomingAccount::from_form(&form, &Default::default()).unwrap();
    assert_failed_at(
        &check_incoming(&a, &creds, &options()),
        StageName::Resolve,
        ErrorCategory::Dns,
    );
}

#[test]
fn a_disabled_account_is_never_contacted() {
    // A listener that records whether anyone connected.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mailbox = unique_mailbox("check-disabled");
    let creds = servers().credentials_for(&mailbox);
    let (mut form, _) = incoming_form(Protocol::Imap, &mailbox, None, Cert::Valid, Via::Direct);
    form.port = Some(i64::from(port));
    form.enabled = false;
    let a = mail_settings_core::IncomingAccount::from_form(&form, &Default::default()).unwrap();
    let r = check_incoming(&a, &creds, &options());
    assert_failed_at(&r, StageName::Settings, ErrorCategory::Validation);
    assert_eq!(r.stages.len(), 1);
    assert!(
        listener.accept().is_err(),
        "nothing may connect to a disabled account's server"
    );
}

/// A scripted server on loopback for what a real one will not do on cue: it writes `greeting`,
/// then answers each line it reads with `answer(line)` (`None`: close the connection).
/// Returns the port; the thread serves one connection.
fn scripted(
    greeting: &'static [u8],
    answer: impl Fn(&str) -> Option<Vec<u8>> + Send + 'static,
) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((tcp, _)) = listener.accept() else {
            return;
        };
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut w = tcp.try_clone().unwrap();
        let mut r = BufReader::new(tcp);
        if w.write_all(greeting).is_err() {
            return;
        }
        loop {
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            match answer(line.trim_end()) {
                Some(bytes) => {
                    if w.write_all(&bytes).is_err() {
                        return;
                    }
                }
                None => return,
            }
        }
    });
    port
}

fn fake_pop3(list: &'static str, uidl: &'static str) -> u16 {
    scripted(b"+OK fake POP3\r\n", move |line| {
        let upper = line.to_ascii_uppercase();
        let answer: &str = if upper == "CAPA" {
            "+OK\r\nUSER\r\nUIDL\r\n.\r\n"
        } else if upper.starts_with("USER") || upper.starts_with("PASS") {
            "+OK\r\n"
        } else if upper == "STAT" {
            "+OK 3 300\r\n"
        } else if upper == "LIST" {
            list
        } else if upper == "UIDL" {
            uidl
        } else if upper == "QUIT" {
            "+OK bye\r\n"
        } else {
            "-ERR unknown\r\n"
        };
        Some(answer.as_bytes().to_vec())
    })
}

fn fake_pop3_account(port: u16, mailbox: &str) -> mail_settings_core::IncomingAccount {
    let (mut form, _) = incoming_form(Protocol::Pop3, mailbox, None, Cert::Valid, Via::Direct);
    form.host = "127.0.0.1".into();
    form.port = Some(i64::from(port));
    mail_settings_core::IncomingAccount::from_form(&form, &Default::default()).unwrap()
}

const GOOD_LIST: &str = "+OK\r\n1 100\r\n2 100\r\n3 100\r\n.\r\n";
const GOOD_UIDL: &str = "+OK\r\n1 a\r\n2 b\r\n3 c\r\n.\r\n";

#[test]
fn the_pop3_check_asks_what_collecting_asks() {
    let mailbox = unique_mailbox("check-pop3-listing");
    let creds = servers().credentials_for(&mailbox);
    // A server that lists and names every message passes, and says what it saw.
    let r = check_incoming(
        &fake_pop3_account(fake_pop3(GOOD_LIST, GOOD_UIDL), &mailbox),
        &creds,
        &options(),
    );
    assert_ok(&r);
    let detail = &r.stages.last().unwrap().detail;
    assert!(
        detail.contains("LIST: 3 sizes") && detail.contains("UIDL: 3 ids"),
        "{r}"
    );
    // A LIST line the collector cannot read costs that message alone (the collector leaves it
    // on the server, reported as refused): the check passes and quotes the line, made safe.
    let r = check_incoming(
        &fake_pop3_account(
            fake_pop3("+OK\r\n1 100\r\n2 -1\x1b[2J\r\n3 100\r\n.\r\n", GOOD_UIDL),
            &mailbox,
        ),
        &creds,
        &options(),
    );
    assert_ok(&r);
    let detail = &r.stages.last().unwrap().detail;
    assert!(
        detail.contains("LIST: 2 sizes")
            && detail.contains("1 LIST line the collector cannot read")
            && detail.contains("2 -1")
            && !detail.contains('\x1b'),
        "{r}"
    );
    // A UIDL that leaves out a listed message fails collecting, and the check.
    let r = check_incoming(
        &fake_pop3_account(fake_pop3(GOOD_LIST, "+OK\r\n1 a\r\n3 c\r\n.\r\n"), &mailbox),
        &creds,
        &options(),
    );
    assert_failed_at(&r, StageName::Mailbox, ErrorCategory::Protocol);
    assert!(r.failure().unwrap().detail.contains("message 2"), "{r}");
    // No UIDL at all: collecting goes by content; the check passes and says so.
    let r = check_incoming(
        &fake_pop3_account(fake_pop3(GOOD_LIST, "-ERR not supported\r\n"), &mailbox),
        &creds,
        &options(),
    );
    assert_ok(&r);
    assert!(
        r.stages.last().unwrap().detail.contains("no usable UIDL"),
        "{r}"
    );
}

#[test]
fn the_real_servers_pass_the_collectors_questions() {
    let mailbox = unique_mailbox("check-collect-questions");
    lmtp_deliver(
        "sender@example.test",
        &mailbox,
        b"Subject: one\r\n\r\nbody\r\n",
    );
    let creds = servers().credentials_for(&mailbox);
    let a = incoming_account(
        Protocol::Pop3,
        &mailbox,
        None,
        Cert::Valid,
        Via::Direct,
        true,
    );
    let r = check_incoming(&a, &creds, &options());
    assert_ok(&r);
    let d = &r.stages.last().unwrap().detail;
    assert!(
        d.contains("LIST: 1 sizes") && d.contains("UIDL: 1 ids"),
        "{r}"
    );
    // IMAP: the collected folder, sized as collecting sizes it.
    let a = incoming_account(
        Protocol::Imap,
        &mailbox,
        None,
        Cert::Valid,
        Via::Direct,
        true,
    );
    let r = check_incoming(&a, &creds, &options());
    assert_ok(&r);
    let d = &r.stages.last().unwrap().detail;
    assert!(
        d.starts_with("INBOX: 1 message,") && d.contains("RFC822.SIZE"),
        "{r}"
    );
    // Another mailbox asked for is checked besides the collected one.
    let other = CheckOptions {
        mailbox: "No-Such-Folder".into(),
        ..options()
    };
    let r = check_incoming(&a, &creds, &other);
    assert_failed_at(&r, StageName::Mailbox, ErrorCategory::Protocol);
    let mailbox_stages: Vec<_> = r
        .stages
        .iter()
        .filter(|s| s.name == StageName::Mailbox)
        .collect();
    assert_eq!(mailbox_stages.len(), 2, "{r}");
    assert!(mailbox_stages[0].ok && mailbox_stages[0].detail.starts_with("INBOX"));
}

#[test]
fn the_smtp_check_shows_the_ehlo_after_starttls() {
    let mailbox = unique_mailbox("check-ehlo-tls");
    let creds = servers().credentials_for(&mailbox);
    let a = smtp_account(
        &mailbox,
        Some(SecureConnectionType::Tls),
        Cert::Valid,
        Via::Direct,
        true,
    );
    let r = check_smtp(&a, &creds, &options());
    assert_ok(&r);
    let order = names(&r);
    let tls = order.iter().position(|n| *n == StageName::Tls).unwrap();
    let after: Vec<_> = r.stages[tls..]
        .iter()
        .filter(|s| s.name == StageName::Capabilities)
        .collect();
    assert_eq!(after.len(), 1, "one EHLO stage after STARTTLS:\n{r}");
    let detail = &after[0].detail;
    assert!(detail.starts_with("EHLO after STARTTLS: "), "{r}");
    // Over TLS the server no longer offers STARTTLS, and offers AUTH.
    assert!(
        !detail.contains("STARTTLS,") && !detail.ends_with("STARTTLS"),
        "{r}"
    );
    assert!(detail.contains("AUTH"), "{r}");
    assert!(r.capabilities.iter().all(|c| c != "STARTTLS"), "{r}");
    assert!(r.stages[..tls].iter().any(
        |s| s.name == StageName::Capabilities && s.detail.starts_with("EHLO (before STARTTLS)")
    ));
}

#[test]
fn a_starttls_injection_is_named_as_such() {
    let mailbox = unique_mailbox("check-injection");
    let creds = servers().credentials_for(&mailbox);
    // The 220 to STARTTLS comes with a forged reply in the same write.
    let port = scripted(b"220 fake ESMTP\r\n", |line| {
        let upper = line.to_ascii_uppercase();
        Some(if upper.starts_with("EHLO") {
            b"250-fake\r\n250 STARTTLS\r\n".to_vec()
        } else if upper == "STARTTLS" {
            b"220 2.0.0 Ready to start TLS\r\n250 injected\r\n".to_vec()
        } else {
            b"502 no\r\n".to_vec()
        })
    });
    let form = mail_settings_core::SmtpAccountForm {
        name: "injected".into(),
        host: "127.0.0.1".into(),
        port: Some(i64::from(port)),
        sender_email: mailbox.clone(),
        credential: Some(mailbox.clone()),
        use_secure_connection: true,
        secure_connection_type: SecureConnectionType::Tls,
        ..Default::default()
    };
    let a = mail_settings_core::SmtpAccount::from_form(&form, &Default::default()).unwrap();
    let r = check_smtp(&a, &creds, &options());
    assert_failed_at(&r, StageName::Tls, ErrorCategory::Tls);
    let f = r.failure().unwrap();
    assert!(f.detail.contains("injected before TLS"), "{r}");
    let advice = f.advice.as_deref().unwrap();
    assert!(advice.contains("possible attack"), "{advice}");
    assert!(!advice.contains("does not do STARTTLS"), "{advice}");
    assert!(!advice.contains("does not offer"), "{advice}");
}

#[test]
fn a_proxy_that_is_not_the_kind_configured_is_named_as_such() {
    let mailbox = unique_mailbox("check-not-socks");
    let creds = servers().credentials_for(&mailbox);
    // An HTTP server where a SOCKS5 proxy was configured.
    let not_socks = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut s, _) = l.accept().unwrap();
            let mut b = [0u8; 3];
            let _ = s.read_exact(&mut b);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
            std::thread::sleep(Duration::from_millis(200));
        });
        port
    };
    // An HTTP proxy whose answer to CONNECT never ends its head.
    let flood = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut s, _) = l.accept().unwrap();
            let mut b = [0u8; 256];
            let _ = s.read(&mut b);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
            let line = format!("X-Pad: {}\r\n", "a".repeat(1000));
            for _ in 0..40 {
                if s.write_all(line.as_bytes()).is_err() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        });
        port
    };
    for (via, port, what) in [
        (Via::Socks5, not_socks, "not a SOCKS5 server"),
        (Via::Http, flood, "too large"),
    ] {
        let (form, mut connectors) = incoming_form(
            Protocol::Imap,
            &mailbox,
            Some(SecureConnectionType::Ssl),
            Cert::Valid,
            via,
        );
        connectors[0].host = "127.0.0.1".into();
        connectors[0].port = Some(i64::from(port));
        let ctx = mail_settings_core::ValidationContext::standalone().with_connectors(&connectors);
        let a = mail_settings_core::IncomingAccount::from_form(&form, &ctx).unwrap();
        let r = check_incoming(&a, &creds, &options());
        assert_failed_at(&r, StageName::Proxy, ErrorCategory::Proxy);
        let f = r.failure().unwrap();
        assert!(f.detail.contains(what), "{r}");
        let advice = f.advice.as_deref().unwrap();
        assert!(!advice.contains("rules"), "{advice}");
        assert!(advice.contains("kind"), "{advice}");
    }
}

/// A server that writes `lines` one at a time, `every` apart, then stays silent.
fn dripping(lines: Vec<String>, every: Duration) -> u16 {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((mut tcp, _)) = listener.accept() else {
            return;
        };
        for l in lines {
            if tcp.write_all(l.as_bytes()).is_err() {
                return;
            }
            std::thread::sleep(every);
        }
    });
    port
}

#[test]
fn the_whole_check_ends_at_its_budget_however_the_server_drips() {
    let mailbox = unique_mailbox("check-drip");
    let creds = servers().credentials_for(&mailbox);
    // Each line comes well within the per-read bound; the whole never ends.
    let mut quick = Timeouts::uniform(Duration::from_secs(2));
    quick.check = Duration::from_secs(2);
    let options = CheckOptions {
        timeouts: quick,
        ..CheckOptions::default()
    };
    // SMTP: a greeting of endless continuation lines.
    let port = dripping(
        (0..100).map(|i| format!("220-line {i}\r\n")).collect(),
        Duration::from_millis(300),
    );
    let form = mail_settings_core::SmtpAccountForm {
        name: "drip".into(),
        host: "127.0.0.1".into(),
        port: Some(i64::from(port)),
        sender_email: mailbox.clone(),
        credential: Some(mailbox.clone()),
        use_secure_connection: false,
        ..Default::default()
    };
    let a = mail_settings_core::SmtpAccount::from_form(&form, &Default::default()).unwrap();
    let started = std::time::Instant::now();
    let r = check_smtp(&a, &creds, &options);
    let took = started.elapsed();
    eprintln!("SMTP greeting dripped: the check ended after {took:?}");
    assert_failed_at(&r, StageName::Greeting, ErrorCategory::Timeout);
    assert!(took < Duration::from_millis(3500), "{took:?}\n{r}");
    let f = r.failure().unwrap();
    assert!(f.detail.contains("2 s budget"), "{r}");
    assert!(f.advice.as_deref().unwrap().contains("--timeout"), "{r}");
    // POP3: a greeting, then a CAPA answer that never ends.
    let mut lines = vec!["+OK fake\r\n".to_owned(), "+OK\r\n".to_owned()];
    lines.extend((0..100).map(|i| format!("X-CAP-{i}\r\n")));
    let port = dripping(lines, Duration::from_millis(300));
    let a = fake_pop3_account(port, &mailbox);
    let started = std::time::Instant::now();
    let r = check_incoming(&a, &creds, &options);
    let took = started.elapsed();
    eprintln!("POP3 CAPA dripped: the check ended after {took:?}");
    assert_failed_at(&r, StageName::Capabilities, ErrorCategory::Timeout);
    assert!(took < Duration::from_millis(3500), "{took:?}\n{r}");
}
