//! The SMTP driver against the real local Postfix (submission with SASL through Dovecot,
//! delivering into Dovecot): every security word, every route, every bad certificate, the
//! failures a connection check reports, and the account's rules as the recipient sees them,
//! read back over IMAP with our own driver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::imap::{self, FetchedMessage, ImapOptions};
use mail_settings_core::net::Timeouts;
use mail_settings_core::smtp::{self, OutgoingMessage, PoolConfig, SmtpOptions, SmtpPool};
use mail_settings_core::{
    InMemoryCredentials, IncomingAccount, IncomingAccountForm, NetworkConnectorForm, Protocol,
    SecureConnectionType, SmtpAccount, SmtpAccountForm, ValidationContext,
};
use mail_settings_tests::{servers, unique_mailbox, Via};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SSL: Option<SecureConnectionType> = Some(SecureConnectionType::Ssl);
const TLS: Option<SecureConnectionType> = Some(SecureConnectionType::Tls);

/// An SMTP account for `sender` (who is also the login), `None` security = clear text.
fn account(
    sender: &str,
    port_key: &str,
    security: Option<SecureConnectionType>,
    verify: bool,
    via: Via,
    customize: impl FnOnce(&mut SmtpAccountForm),
) -> SmtpAccount {
    let conn = via.connector();
    let mut form = SmtpAccountForm {
        name: format!("smtp {port_key} {via:?}"),
        sender_email: sender.to_owned(),
        host: "localhost".into(),
        port: Some(i64::from(servers().port(port_key))),
        use_secure_connection: security.is_some(),
        secure_connection_type: security.unwrap_or(SecureConnectionType::Ssl),
        credential: Some(sender.to_owned()),
        skip_certificate_errors: !verify,
        ca_file: Some(servers().ca_file()),
        use_network_connector: conn.is_some(),
        network_connector: conn.as_ref().and_then(|c| c.id),
        ..SmtpAccountForm::default()
    };
    customize(&mut form);
    let connectors: Vec<NetworkConnectorForm> = conn.into_iter().collect();
    SmtpAccount::from_form(
        &form,
        &ValidationContext::standalone().with_connectors(&connectors),
    )
    .unwrap()
}

fn options() -> SmtpOptions {
    SmtpOptions::with_timeouts(Timeouts::uniform(Duration::from_secs(20)))
}

fn creds(sender: &str) -> InMemoryCredentials {
    servers().credentials_for(sender)
}

/// Waits (at most 30 s) until `mailbox` holds `n` messages, and returns them, read over IMAP
/// with our driver.
fn inbox(mailbox: &str, n: usize) -> Vec<FetchedMessage> {
    let form = IncomingAccountForm {
        name: "reader".into(),
        protocol: Some(Protocol::Imap),
        host: "localhost".into(),
        port: Some(i64::from(servers().port("MS_IMAPS_PORT"))),
        credential: Some(mailbox.to_owned()),
        ca_file: Some(servers().ca_file()),
        ..IncomingAccountForm::default()
    };
    let a = IncomingAccount::from_form(&form, &ValidationContext::standalone()).unwrap();
    let creds = servers().credentials_for(mailbox);
    let opts = ImapOptions::with_timeouts(Timeouts::uniform(Duration::from_secs(20)));
    let started = Instant::now();
    loop {
        let mut s = imap::connect(&a, &creds, &opts).unwrap();
        let info = s.examine("INBOX").unwrap();
        if info.exists as usize >= n {
            let uids = s.uids().unwrap();
            let m = s.uid_fetch(&uids).unwrap();
            s.logout().unwrap();
            assert_eq!(m.len(), n, "{mailbox}: more messages than expected");
            return m;
        }
        s.logout().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{mailbox}: {} of {n} messages arrived within 30 s",
            info.exists
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn parse(m: &FetchedMessage) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(&m.raw)
        .expect("a parseable message")
}

fn addr(a: Option<&mail_parser::Address<'_>>) -> Option<String> {
    a.and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(str::to_owned)
}

fn raw_header(m: &FetchedMessage, name: &str) -> Option<String> {
    parse(m).header_raw(name).map(|v| v.trim().to_owned())
}

fn lf(s: &str) -> String {
    s.replace("\r\n", "\n")
}

#[test]
fn the_account_rules_reach_the_recipient() {
    let sender = unique_mailbox("smtp-rules-sender");
    let to = unique_mailbox("smtp-rules-to");
    let cc = unique_mailbox("smtp-rules-cc");
    let bcc = unique_mailbox("smtp-rules-bcc");
    let a = account(&sender, "MS_SMTP_PORT", TLS, true, Via::Direct, |f| {
        f.reply_to = Some("replies@example.test".into());
        f.return_path = Some("bounces@example.test".into());
        f.send_read_receipt = true;
        f.confirmation_email = Some("receipts@example.test".into());
        f.enable_footer = true;
        f.footer = Some("Acme <Ops> & friends\nAutomatic message".into());
    });
    let message = OutgoingMessage::new()
        .to(&to)
        .cc(&cc)
        .bcc(&bcc)
        .subject("Rules: ação")
        .text("Hello in text.\n.A line starting with a dot")
        .html("<html><body><p>Hello in HTML.</p></body></html>")
        .header("X-Ticket", "T-42");
    let report = smtp::send(&a, &creds(&sender), &message, &options()).unwrap();
    assert_eq!(report.accepted.len(), 3);
    assert!(report.rejected.is_empty());
    assert!(report.reply.text().contains("queued"), "{}", report.reply);
    let message_id = report.message_id.clone().unwrap();

    for mailbox in [&to, &cc, &bcc] {
        let got = inbox(mailbox, 1);
        let m = &got[0];
        let p = parse(m);
        assert_eq!(addr(p.from()).as_deref(), Some(sender.as_str()));
        assert_eq!(addr(p.reply_to()).as_deref(), Some("replies@example.test"));
        assert_eq!(
            raw_header(m, "Return-Path").as_deref(),
            Some("<bounces@example.test>"),
            "the envelope sender is the account's return path"
        );
        assert_eq!(
            raw_header(m, "Disposition-Notification-To").as_deref(),
            Some("<receipts@example.test>")
        );
        assert_eq!(raw_header(m, "X-Ticket").as_deref(), Some("T-42"));
        assert_eq!(p.subject(), Some("Rules: ação"));
        assert_eq!(p.message_id(), Some(message_id.trim_matches(['<', '>'])));
        assert!(p.header_raw("Bcc").is_none(), "no Bcc header is ever sent");
        assert!(!String::from_utf8_lossy(&m.raw).contains(bcc.as_str()) || mailbox == &bcc);
        let text = lf(&p.body_text(0).unwrap());
        assert_eq!(
            text.trim_end(),
            "Hello in text.\n.A line starting with a dot\n-- \nAcme <Ops> & friends\nAutomatic message"
        );
        let html = lf(&p.body_html(0).unwrap());
        assert!(
            html.contains(
                "<p>Hello in HTML.</p><div class=\"footer\">-- <br>\nAcme &lt;Ops&gt; &amp; friends<br>\nAutomatic message</div>\n</body>"
            ),
            "{html}"
        );
    }
    // The Bcc recipient's own copy does not name them either.
    let bcc_copy = inbox(&bcc, 1);
    let headers_end = bcc_copy[0]
        .raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap();
    let head = String::from_utf8_lossy(&bcc_copy[0].raw[..headers_end]).into_owned();
    let visible: Vec<&str> = head
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("to:") || l.starts_with("cc:") || l.starts_with("bcc:")
        })
        .collect();
    assert!(
        visible.iter().all(|l| !l.contains(bcc.as_str())),
        "{visible:?}"
    );
}

#[test]
fn force_configuration_replaces_what_the_message_brings() {
    let sender = unique_mailbox("smtp-force-sender");
    let to = unique_mailbox("smtp-force-to");
    let to2 = unique_mailbox("smtp-noforce-to");
    let message = |to: &str| {
        OutgoingMessage::new()
            .to(to)
            .from("App <app@example.test>")
            .reply_to("app-replies@example.test")
            .return_path("app-bounces@example.test")
            .subject("forced")
            .text("x")
    };
    let rules = |f: &mut SmtpAccountForm| {
        f.reply_to = Some("replies@example.test".into());
        f.return_path = Some("bounces@example.test".into());
    };
    let forced = account(&sender, "MS_SMTPS_PORT", SSL, true, Via::Direct, |f| {
        rules(f);
        f.force_configuration = true;
    });
    smtp::send(&forced, &creds(&sender), &message(&to), &options()).unwrap();
    let m = &inbox(&to, 1)[0];
    let p = parse(m);
    assert_eq!(addr(p.from()).as_deref(), Some(sender.as_str()));
    assert_eq!(addr(p.reply_to()).as_deref(), Some("replies@example.test"));
    assert_eq!(
        raw_header(m, "Return-Path").as_deref(),
        Some("<bounces@example.test>")
    );

    // Without force, the message's own addresses stay.
    let free = account(&sender, "MS_SMTPS_PORT", SSL, true, Via::Direct, rules);
    smtp::send(&free, &creds(&sender), &message(&to2), &options()).unwrap();
    let m = &inbox(&to2, 1)[0];
    let p = parse(m);
    assert_eq!(addr(p.from()).as_deref(), Some("app@example.test"));
    assert_eq!(
        addr(p.reply_to()).as_deref(),
        Some("app-replies@example.test")
    );
    assert_eq!(
        raw_header(m, "Return-Path").as_deref(),
        Some("<app-bounces@example.test>")
    );
}

#[test]
fn every_security_word_sends() {
    let sender = unique_mailbox("smtp-sec-sender");
    let to = unique_mailbox("smtp-sec-to");
    let cases = [
        ("MS_SMTP_PORT", TLS),
        ("MS_SMTPS_PORT", SSL),
        ("MS_SMTP_PORT", None),
    ];
    for (i, (key, security)) in cases.iter().enumerate() {
        let a = account(&sender, key, *security, true, Via::Direct, |_| {});
        let msg = OutgoingMessage::new()
            .to(&to)
            .subject(format!("sec {i}"))
            .text("x");
        smtp::send(&a, &creds(&sender), &msg, &options())
            .unwrap_or_else(|e| panic!("{key} {security:?}: {e}"));
    }
    let got = inbox(&to, cases.len());
    let mut subjects: Vec<String> = got
        .iter()
        .map(|m| parse(m).subject().unwrap().to_owned())
        .collect();
    subjects.sort();
    assert_eq!(subjects, ["sec 0", "sec 1", "sec 2"]);
}

#[test]
fn every_connector_sends() {
    let sender = unique_mailbox("smtp-via-sender");
    let to = unique_mailbox("smtp-via-to");
    let mut n = 0;
    for via in [Via::Socks5, Via::Socks5Auth, Via::Http, Via::HttpAuth] {
        for (key, security) in [("MS_SMTP_PORT", TLS), ("MS_SMTPS_PORT", SSL)] {
            let a = account(&sender, key, security, true, via, |_| {});
            let msg = OutgoingMessage::new()
                .to(&to)
                .subject(format!("{via:?} {key}"))
                .text("x");
            smtp::send(&a, &creds(&sender), &msg, &options())
                .unwrap_or_else(|e| panic!("{via:?} {key}: {e}"));
            n += 1;
        }
    }
    assert_eq!(inbox(&to, n).len(), 8);
}

#[test]
fn a_wrong_password_is_auth() {
    let sender = unique_mailbox("smtp-auth");
    for (key, security) in [("MS_SMTP_PORT", TLS), ("MS_SMTPS_PORT", SSL)] {
        let a = account(&sender, key, security, true, Via::Direct, |f| {
            f.credential = Some("wrong-password".into());
        });
        let e = smtp::send(
            &a,
            &creds(&sender),
            &OutgoingMessage::new().to(&sender).text("x"),
            &options(),
        )
        .unwrap_err();
        assert!(e.is_auth(), "{key}: {e}");
        assert!(!format!("{e} {e:?}").contains("not-the-password"));
        // Postfix (SASL through Dovecot): 535 5.7.8, a refusal for good.
        assert_eq!(e.reply_code(), Some(535), "{key}: {e}");
        assert_eq!(e.enhanced_code(), Some("5.7.8"), "{key}: {e}");
        assert!(e.is_permanent() && !e.is_transient(), "{key}: {e}");
    }
}

#[test]
fn starttls_on_a_server_without_it_fails_with_tls() {
    let sender = unique_mailbox("smtp-notls");
    let a = account(
        &sender,
        "MS_SMTP_NOTLS_PORT",
        TLS,
        true,
        Via::Direct,
        |_| {},
    );
    let e = smtp::send(
        &a,
        &creds(&sender),
        &OutgoingMessage::new().to(&sender).text("x"),
        &options(),
    )
    .unwrap_err();
    assert!(e.is_tls(), "{e}");
    assert!(!e.is_certificate());
}

#[test]
fn bad_certificates_are_refused_then_accepted_with_verification_off() {
    let sender = unique_mailbox("smtp-cert-sender");
    let to = unique_mailbox("smtp-cert-to");
    let cases = [
        ("MS_SMTP_SELFSIGNED_PORT", TLS),
        ("MS_SMTPS_SELFSIGNED_PORT", SSL),
        ("MS_SMTP_EXPIRED_PORT", TLS),
        ("MS_SMTPS_EXPIRED_PORT", SSL),
        ("MS_SMTP_WRONGHOST_PORT", TLS),
        ("MS_SMTPS_WRONGHOST_PORT", SSL),
    ];
    for (key, security) in cases {
        let msg = OutgoingMessage::new().to(&to).subject(key).text("x");
        let a = account(&sender, key, security, true, Via::Direct, |_| {});
        let e = smtp::send(&a, &creds(&sender), &msg, &options()).unwrap_err();
        assert!(e.is_certificate(), "{key}: {e}");
        let a = account(&sender, key, security, false, Via::Direct, |_| {});
        smtp::send(&a, &creds(&sender), &msg, &options())
            .unwrap_or_else(|e| panic!("{key} unverified: {e}"));
    }
    assert_eq!(inbox(&to, cases.len()).len(), cases.len());
}

/// An account pointing at 127.0.0.1:`port`, clear text, no authentication.
fn local_account(port: u16) -> SmtpAccount {
    let form = SmtpAccountForm {
        name: "local".into(),
        sender_email: "noreply@example.test".into(),
        host: "127.0.0.1".into(),
        port: Some(i64::from(port)),
        use_secure_connection: false,
        use_authentication: false,
        ..SmtpAccountForm::default()
    };
    SmtpAccount::from_form(&form, &ValidationContext::standalone()).unwrap()
}

#[test]
fn a_closed_port_is_connect() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = smtp::send(
        &local_account(port),
        &InMemoryCredentials::new(),
        &OutgoingMessage::new().to("x@example.test"),
        &options(),
    )
    .unwrap_err();
    assert!(e.is_connect(), "{e}");
    assert_eq!((e.reply_code(), e.enhanced_code()), (None, None));
    assert!(!e.is_transient() && !e.is_permanent());
}

#[test]
fn a_server_that_never_answers_is_a_timeout_within_the_bound() {
    // The kernel accepts the connection (backlog); nobody ever writes the greeting.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let opts = SmtpOptions::with_timeouts(Timeouts::uniform(Duration::from_millis(700)));
    let e = smtp::send(
        &local_account(port),
        &InMemoryCredentials::new(),
        &OutgoingMessage::new().to("x@example.test"),
        &opts,
    )
    .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(e.message().contains("700 ms"), "{e}");
    assert_eq!(e.reply_code(), None);
    assert!(!e.is_transient() && !e.is_permanent());
    drop(listener);
}

#[test]
fn a_pool_sends_twenty_messages_over_one_connection() {
    let sender = unique_mailbox("smtp-pool-sender");
    let to = unique_mailbox("smtp-pool-to");
    let a = account(&sender, "MS_SMTP_PORT", TLS, true, Via::Direct, |_| {});
    let pool = SmtpPool::new(
        a,
        Arc::new(creds(&sender)),
        options(),
        PoolConfig::with_max_idle(1),
    )
    .unwrap();
    for i in 0..20 {
        let msg = OutgoingMessage::new()
            .to(&to)
            .subject(format!("pooled {i:02}"))
            .text(format!("message {i}"));
        pool.send(&msg).unwrap();
    }
    assert_eq!(pool.connections_opened(), 1);
    assert_eq!(pool.connections_reused(), 19);
    assert_eq!(pool.idle_connections(), 1);
    assert_eq!(pool.check_idle(), 1);
    pool.close_idle();
    assert_eq!(pool.idle_connections(), 0);
    let got = inbox(&to, 20);
    let mut subjects: Vec<String> = got
        .iter()
        .map(|m| parse(m).subject().unwrap().to_owned())
        .collect();
    subjects.sort();
    let expected: Vec<String> = (0..20).map(|i| format!("pooled {i:02}")).collect();
    assert_eq!(subjects, expected);
}

#[test]
fn a_pool_is_shared_by_threads() {
    let sender = unique_mailbox("smtp-pool-threads-sender");
    let to = unique_mailbox("smtp-pool-threads-to");
    let a = account(&sender, "MS_SMTPS_PORT", SSL, true, Via::Direct, |_| {});
    let pool = Arc::new(
        SmtpPool::new(
            a,
            Arc::new(creds(&sender)),
            options(),
            // As many idle places as threads: a returning session is never closed, so at
            // most one session per thread is ever opened, whatever the interleaving.
            PoolConfig::with_max_idle(4),
        )
        .unwrap(),
    );
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let pool = Arc::clone(&pool);
            let to = to.clone();
            std::thread::spawn(move || {
                for i in 0..3 {
                    let msg = OutgoingMessage::new()
                        .to(&to)
                        .subject(format!("t{t} m{i}"))
                        .text("x");
                    pool.send(&msg).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(
        pool.connections_opened() <= 4,
        "{}",
        pool.connections_opened()
    );
    assert!(
        pool.connections_reused() >= 8,
        "{}",
        pool.connections_reused()
    );
    assert!(pool.idle_connections() <= 4);
    assert_eq!(inbox(&to, 12).len(), 12);
}

#[test]
fn a_pool_never_opens_more_than_max_open_sessions() {
    let sender = unique_mailbox("smtp-pool-bound-sender");
    let to = unique_mailbox("smtp-pool-bound-to");
    let a = account(&sender, "MS_SMTP_PORT", TLS, true, Via::Direct, |_| {});
    // Six threads, two sessions: the others wait for one instead of opening their own.
    let pool = Arc::new(
        SmtpPool::new(
            a,
            Arc::new(creds(&sender)),
            options(),
            PoolConfig::with_max_idle(2).max_open(2),
        )
        .unwrap(),
    );
    let most_open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let handles: Vec<_> = (0..6)
        .map(|t| {
            let (pool, to, most_open) = (Arc::clone(&pool), to.clone(), Arc::clone(&most_open));
            std::thread::spawn(move || {
                for i in 0..3 {
                    let msg = OutgoingMessage::new()
                        .to(&to)
                        .subject(format!("bound t{t} m{i}"))
                        .text("x");
                    pool.send(&msg).unwrap();
                    most_open.fetch_max(
                        pool.open_connections(),
                        std::sync::atomic::Ordering::Relaxed,
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // Two sessions at most (one, if the threads never overlapped), each message on one.
    let opened = pool.connections_opened();
    assert!((1..=2).contains(&opened), "{opened}");
    assert_eq!(opened + pool.connections_reused(), 18);
    assert!(most_open.load(std::sync::atomic::Ordering::Relaxed) <= 2);
    assert_eq!(pool.open_connections() as u64, opened);
    assert_eq!(inbox(&to, 18).len(), 18);
    pool.close_idle();
    assert_eq!(pool.open_connections(), 0);
}

#[test]
fn send_many_uses_one_connection_and_reports_each_message() {
    let sender = unique_mailbox("smtp-many-sender");
    let to = unique_mailbox("smtp-many-to");
    let a = account(&sender, "MS_SMTP_PORT", TLS, true, Via::Direct, |_| {});
    let messages = vec![
        OutgoingMessage::new().to(&to).subject("many 1").text("1"),
        OutgoingMessage::new().to("not an address").subject("bad"),
        OutgoingMessage::new().to(&to).subject("many 2").text("2"),
    ];
    let results = smtp::send_many(&a, &creds(&sender), &messages, &options());
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok());
    assert!(results[1].is_err());
    assert!(results[2].is_ok());
    assert_eq!(inbox(&to, 2).len(), 2);
}

#[test]
fn send_test_uses_the_seed_defaults() {
    let sender = unique_mailbox("smtp-test-sender");
    let to = unique_mailbox("smtp-test-to");
    let a = account(&sender, "MS_SMTPS_PORT", SSL, true, Via::Direct, |_| {});
    smtp::send_test(&a, &creds(&sender), &to, None, None, &options()).unwrap();
    let m = &inbox(&to, 1)[0];
    let p = parse(m);
    assert_eq!(p.subject(), Some("MENSAGEM DE TESTE!"));
    assert_eq!(
        lf(&p.body_text(0).unwrap()).trim_end(),
        "ATENÇÃO: ESTA É UMA MENSAGEM DE TESTE!"
    );
    assert_eq!(addr(p.from()).as_deref(), Some(sender.as_str()));
    // Given values replace the defaults.
    let to2 = unique_mailbox("smtp-test-to2");
    smtp::send_test(
        &a,
        &creds(&sender),
        &to2,
        Some("Custom"),
        Some("Body"),
        &options(),
    )
    .unwrap();
    let m = &inbox(&to2, 1)[0];
    let p = parse(m);
    assert_eq!(p.subject(), Some("Custom"));
    assert_eq!(lf(&p.body_text(0).unwrap()).trim_end(), "Body");
}

#[test]
fn the_stages_a_connection_check_reports() {
    let sender = unique_mailbox("smtp-stages");
    let a = account(&sender, "MS_SMTP_PORT", TLS, true, Via::Direct, |_| {});
    let (mut client, tls) = smtp::open(&a, &creds(&sender), &options()).unwrap();
    let tls = tls.expect("STARTTLS gives TLS information");
    assert!(tls.verified);
    assert_eq!(client.greeting().code(), 220);
    assert!(client.is_encrypted());
    let ext = client.extensions().clone();
    assert!(!ext.starttls(), "not offered again over TLS");
    assert!(
        ext.auth_mechanisms().iter().any(|m| m == "PLAIN"),
        "{ext:?}"
    );
    assert!(ext.size_limit().is_some());
    let credential = smtp::account_credential(&a, &creds(&sender))
        .unwrap()
        .unwrap();
    client.authenticate(&credential).unwrap();
    assert!(client.is_authenticated());
    client.noop().unwrap();
    client.rset().unwrap();
    client.quit().unwrap();
}

#[path = "common/oauth2.rs"]
mod oauth2;

#[test]
fn xoauth2_with_a_valid_token_sends_and_an_expired_one_is_auth() {
    let sender = unique_mailbox("smtp-oauth");
    let to = unique_mailbox("smtp-oauth-to");
    let a = account(&sender, "MS_SMTP_PORT", TLS, true, Via::Direct, |f| {
        f.credential = Some("oauth".into());
    });
    let token = oauth2::token(&sender, 3600);
    let creds = InMemoryCredentials::new().with(
        "oauth",
        mail_settings_core::Credential::oauth2(&sender, &token),
    );
    smtp::send(
        &a,
        &creds,
        &OutgoingMessage::new().to(&to).subject("oauth").text("x"),
        &options(),
    )
    .unwrap();
    assert_eq!(inbox(&to, 1).len(), 1);

    let expired = oauth2::token(&sender, -3600);
    let creds = InMemoryCredentials::new().with(
        "oauth",
        mail_settings_core::Credential::oauth2(&sender, &expired),
    );
    let e = smtp::send(
        &a,
        &creds,
        &OutgoingMessage::new().to(&to).text("x"),
        &options(),
    )
    .unwrap_err();
    assert!(e.is_auth(), "{e}");
    assert!(!format!("{e} {e:?}").contains(&expired));
}
