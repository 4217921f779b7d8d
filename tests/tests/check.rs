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
                assert!(
                    names(&r).ends_with(&[
                        StageName::Mechanisms,
                        StageName::Authentication,
                        StageName::Mailbox
                    ]),
                    "{r}"
                );
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
