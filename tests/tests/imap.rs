//! The IMAP driver against the real local Dovecot: every security word, every route (direct,
//! SOCKS5, HTTP CONNECT, with and without proxy credentials) and every bad certificate; UID
//! fetches byte for byte, `BODY.PEEK[]` leaving messages unseen, and `UID EXPUNGE` removing only
//! the UIDs asked for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::imap::{self, ImapOptions};
use mail_settings_core::net::Timeouts;
use mail_settings_core::{
    InMemoryCredentials, IncomingAccount, IncomingAccountForm, NetworkConnectorForm, Protocol,
    SecureConnectionType, ValidationContext,
};
use mail_settings_tests::{lmtp_deliver, servers, unique_mailbox, Via};

fn deliver(mailbox: &str, raw: &[u8]) {
    lmtp_deliver("sender@example.test", mailbox, raw);
}
use std::time::Duration;

/// `None` security = clear text.
fn account(
    mailbox: &str,
    port_key: &str,
    security: Option<SecureConnectionType>,
    verify: bool,
    via: Via,
) -> IncomingAccount {
    let conn = via.connector();
    let form = IncomingAccountForm {
        name: format!("imap {port_key} {via:?}"),
        protocol: Some(Protocol::Imap),
        host: "localhost".into(),
        port: Some(i64::from(servers().port(port_key))),
        credential: Some(mailbox.to_owned()),
        use_secure_connection: security.is_some(),
        secure_connection_type: security.unwrap_or(SecureConnectionType::Ssl),
        skip_certificate: !verify,
        ca_file: Some(servers().ca_file()),
        use_network_connector: conn.is_some(),
        network_connector: conn.as_ref().and_then(|c| c.id),
        ..IncomingAccountForm::default()
    };
    let connectors: Vec<NetworkConnectorForm> = conn.into_iter().collect();
    IncomingAccount::from_form(
        &form,
        &ValidationContext::standalone().with_connectors(&connectors),
    )
    .unwrap()
}

fn options() -> ImapOptions {
    ImapOptions::with_timeouts(Timeouts::uniform(Duration::from_secs(20)))
}

fn creds(mailbox: &str) -> InMemoryCredentials {
    servers().credentials_for(mailbox)
}

const SSL: Option<SecureConnectionType> = Some(SecureConnectionType::Ssl);
const TLS: Option<SecureConnectionType> = Some(SecureConnectionType::Tls);

fn message(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: sender@example.test\r\nTo: someone@example.test\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}"
    )
    .into_bytes()
}

/// Logs in as the account says and selects INBOX; returns the message count.
fn login_and_select(account: &IncomingAccount, mailbox: &str) -> u32 {
    let mut s = imap::connect(account, &creds(mailbox), &options())
        .unwrap_or_else(|e| panic!("{}: {e}", account.name()));
    let info = s.select("INBOX").unwrap();
    assert!(info.uid_validity.is_some());
    s.logout().unwrap();
    info.exists
}

#[test]
fn every_security_word_logs_in_and_selects() {
    let mb = unique_mailbox("imap-sec");
    deliver(&mb, &message("one", "hello\r\n"));
    for (key, security) in [
        ("MS_IMAPS_PORT", SSL),
        ("MS_IMAP_PORT", TLS),
        ("MS_IMAP_PORT", None),
        ("MS_IMAP_NOTLS_PORT", None),
    ] {
        let a = account(&mb, key, security, true, Via::Direct);
        assert_eq!(login_and_select(&a, &mb), 1, "{key} {security:?}");
    }
}

#[test]
fn every_connector_reaches_the_server() {
    let mb = unique_mailbox("imap-via");
    deliver(&mb, &message("one", "hello\r\n"));
    for via in [Via::Socks5, Via::Socks5Auth, Via::Http, Via::HttpAuth] {
        for (key, security) in [("MS_IMAPS_PORT", SSL), ("MS_IMAP_PORT", TLS)] {
            let a = account(&mb, key, security, true, via);
            assert_eq!(login_and_select(&a, &mb), 1, "{via:?} {key}");
        }
    }
}

#[test]
fn bad_certificates_are_refused_then_accepted_with_verification_off() {
    let mb = unique_mailbox("imap-cert");
    for (key, security) in [
        ("MS_IMAP_SELFSIGNED_PORT", TLS),
        ("MS_IMAPS_SELFSIGNED_PORT", SSL),
        ("MS_IMAP_EXPIRED_PORT", TLS),
        ("MS_IMAPS_EXPIRED_PORT", SSL),
        ("MS_IMAP_WRONGHOST_PORT", TLS),
        ("MS_IMAPS_WRONGHOST_PORT", SSL),
    ] {
        let a = account(&mb, key, security, true, Via::Direct);
        let e = imap::connect(&a, &creds(&mb), &options()).unwrap_err();
        assert!(e.is_certificate(), "{key}: {e}");
        let a = account(&mb, key, security, false, Via::Direct);
        assert_eq!(login_and_select(&a, &mb), 0, "{key} unverified");
    }
}

#[test]
fn starttls_on_a_server_without_it_fails_with_tls() {
    let mb = unique_mailbox("imap-notls");
    let a = account(&mb, "MS_IMAP_NOTLS_PORT", TLS, true, Via::Direct);
    let e = imap::connect(&a, &creds(&mb), &options()).unwrap_err();
    assert!(e.is_tls(), "{e}");
    assert!(!e.is_certificate());
}

#[test]
fn a_wrong_password_is_auth() {
    let mb = unique_mailbox("imap-auth");
    let a = account(&mb, "MS_IMAPS_PORT", SSL, true, Via::Direct);
    let (client, tls) = imap::open(&a, &creds(&mb), &options()).unwrap();
    assert!(tls.is_some());
    let wrong = mail_settings_core::Credential::password(&mb, "not-the-password");
    let e = client.login(&wrong).unwrap_err();
    assert!(e.is_auth(), "{e}");
    assert!(!e.to_string().contains("not-the-password"));
}

#[test]
fn a_disabled_account_is_never_contacted() {
    let mb = unique_mailbox("imap-disabled");
    let form = IncomingAccountForm {
        name: "disabled".into(),
        protocol: Some(Protocol::Imap),
        host: "localhost".into(),
        // Nothing listens there: contacting it would be a connect error, not a validation one.
        port: Some(1),
        credential: Some(mb.clone()),
        enabled: false,
        ..IncomingAccountForm::default()
    };
    let a = IncomingAccount::from_form(&form, &ValidationContext::standalone()).unwrap();
    let e = imap::connect(&a, &creds(&mb), &options()).unwrap_err();
    assert_eq!(e.category(), mail_settings_core::ErrorCategory::Validation);
}

#[test]
fn the_stages_a_connection_check_reports() {
    let mb = unique_mailbox("imap-check");
    let first = message("a", "first\r\n");
    let second = message("b", "second message\r\n");
    deliver(&mb, &first);
    deliver(&mb, &second);
    let a = account(&mb, "MS_IMAP_PORT", TLS, true, Via::Direct);
    let (mut client, tls) = imap::open(&a, &creds(&mb), &options()).unwrap();
    let tls = tls.expect("STARTTLS gives TLS information");
    assert!(tls.verified);
    assert!(
        client.greeting().starts_with("* OK"),
        "{}",
        client.greeting()
    );
    assert!(client.is_encrypted());
    let caps = client.capabilities().unwrap().clone();
    assert!(caps.has("IMAP4rev1"));
    assert!(!caps.starttls(), "STARTTLS is not offered again over TLS");
    assert!(!caps.auth_mechanisms().is_empty(), "{caps:?}");
    let mut s = client.login(&creds_credential(&mb)).unwrap();
    assert!(s.capabilities().unwrap().uidplus());
    let names = s.list_mailboxes().unwrap();
    assert!(
        names.iter().any(|n| n.name == "INBOX" && n.selectable()),
        "{names:?}"
    );
    let stats = s.mailbox_stats("INBOX").unwrap();
    assert_eq!(stats.messages, 2);
    let sizes = s.fetch_sizes(1, None).unwrap();
    assert_eq!(sizes.len(), 2);
    assert_eq!(
        stats.total_size,
        sizes.iter().map(|m| u64::from(m.size)).sum::<u64>()
    );
    // Each stored message is what was delivered plus the headers Dovecot prepends.
    assert!(sizes[0].size as usize > first.len());
    s.noop().unwrap();
    s.logout().unwrap();
}

fn creds_credential(mb: &str) -> mail_settings_core::Credential {
    mail_settings_core::Credential::password(mb, servers().mail_password())
}

#[test]
fn uid_fetch_is_byte_exact_and_leaves_messages_unseen() {
    let mb = unique_mailbox("imap-fetch");
    let bodies = [
        message("plain", "one line\r\n"),
        message(
            "dots",
            ".a line starting with a dot\r\n..two dots\r\n.\r\nafter a lone dot\r\n",
        ),
        message(
            "utf8",
            "ATENÇÃO: acentuação, emoji 📬\r\n\r\nno final newline",
        ),
    ];
    for b in &bodies {
        deliver(&mb, b);
    }
    let a = account(&mb, "MS_IMAPS_PORT", SSL, true, Via::Direct);
    let mut s = imap::connect(&a, &creds(&mb), &options()).unwrap();
    let info = s.select("INBOX").unwrap();
    assert_eq!(info.exists, 3);
    let uids = s.uids().unwrap();
    assert_eq!(uids.len(), 3);
    // Batches of one: three round trips, same result.
    s.set_fetch_batch(1);
    let fetched = s.uid_fetch(&uids).unwrap();
    assert_eq!(fetched.len(), 3);
    for (m, sent) in fetched.iter().zip(&bodies) {
        let mut expected = sent.clone();
        if !expected.ends_with(b"\r\n") {
            // LMTP DATA ends the content with CRLF.
            expected.extend_from_slice(b"\r\n");
        }
        assert!(
            m.raw.ends_with(&expected),
            "UID {}: stored message does not end with what was delivered:\n{}",
            m.uid,
            String::from_utf8_lossy(&m.raw)
        );
        assert_eq!(m.size, Some(m.raw.len() as u32));
        assert!(String::from_utf8_lossy(&m.raw).starts_with("Return-Path: <sender@example.test>"));
    }
    let flags = s.flags(&uids).unwrap();
    assert_eq!(flags.len(), 3);
    for f in &flags {
        assert!(!f.has("\\Seen"), "BODY.PEEK[] set \\Seen: {f:?}");
    }
    // A UID that does not exist is left out, not an error.
    let none = s.uid_fetch(&[uids[2] + 100]).unwrap();
    assert!(none.is_empty());
    s.logout().unwrap();

    // Another session sees them unseen too.
    let mut s = imap::connect(&a, &creds(&mb), &options()).unwrap();
    s.examine("INBOX").unwrap();
    assert!(s.flags(&uids).unwrap().iter().all(|f| !f.has("\\Seen")));
    s.logout().unwrap();
}

#[test]
fn uid_expunge_removes_only_the_uids_given() {
    let mb = unique_mailbox("imap-expunge");
    for i in 0..4 {
        deliver(&mb, &message(&format!("m{i}"), &format!("body {i}\r\n")));
    }
    let a = account(&mb, "MS_IMAPS_PORT", SSL, true, Via::Direct);
    let mut s = imap::connect(&a, &creds(&mb), &options()).unwrap();
    s.select("INBOX").unwrap();
    let uids = s.uids().unwrap();
    assert_eq!(uids.len(), 4);
    // Another client's \Deleted mark on uids[1] must survive our expunge of uids[0] and uids[3].
    s.uid_store_deleted(&[uids[0], uids[1], uids[3]]).unwrap();
    s.uid_expunge(&[uids[0], uids[3]]).unwrap();
    let left = s.uids().unwrap();
    assert_eq!(left, vec![uids[1], uids[2]]);
    let flags = s.flags(&left).unwrap();
    assert!(flags[0].has("\\Deleted"));
    assert!(!flags[1].has("\\Deleted"));
    // delete() does both steps.
    s.delete(&[uids[2]]).unwrap();
    assert_eq!(s.uids().unwrap(), vec![uids[1]]);
    s.logout().unwrap();
    // Seen from a new session.
    let mut s = imap::connect(&a, &creds(&mb), &options()).unwrap();
    assert_eq!(s.select("INBOX").unwrap().exists, 1);
    s.logout().unwrap();
}

#[path = "common/oauth2.rs"]
mod oauth2;

#[test]
fn xoauth2_with_a_valid_token_logs_in_and_an_expired_one_is_auth() {
    let mb = unique_mailbox("imap-oauth");
    deliver(&mb, &message("oauth", "x\r\n"));
    let a = account(&mb, "MS_IMAP_PORT", TLS, true, Via::Direct);
    let token = oauth2::token(&mb, 3600);
    let (mut client, _) = imap::open(&a, &creds(&mb), &options()).unwrap();
    assert!(client
        .capabilities()
        .unwrap()
        .auth_mechanisms()
        .iter()
        .any(|m| m == "XOAUTH2"));
    let mut s = client
        .login(&mail_settings_core::Credential::oauth2(&mb, &token))
        .unwrap();
    assert_eq!(s.select("INBOX").unwrap().exists, 1);
    s.logout().unwrap();

    let expired = oauth2::token(&mb, -3600);
    let (client, _) = imap::open(&a, &creds(&mb), &options()).unwrap();
    let e = client
        .login(&mail_settings_core::Credential::oauth2(&mb, &expired))
        .unwrap_err();
    assert!(e.is_auth(), "{e}");
    assert!(!format!("{e} {e:?}").contains(&expired));
}

#[test]
fn large_and_small_bodies_stream_byte_exact_between_other_commands() {
    let mb = unique_mailbox("imap-stream");
    // A body of ~3 MB whose lines look like IMAP (tags, literals, parentheses), so a reader that
    // lost its place in the literal would show it.
    let mut big = String::new();
    let mut i = 0;
    while big.len() < 3_000_000 {
        big.push_str(&format!(
            "msf{i} OK {{12}} * {i} FETCH (UID {i} BODY[] NIL) \"quoted\\\" ) (\r\n"
        ));
        i += 1;
    }
    let bodies = [
        message("small", "tiny\r\n"),
        message("big", &big),
        message("empty-ish", ""),
    ];
    for b in &bodies {
        deliver(&mb, b);
    }
    for (port, security) in [("MS_IMAPS_PORT", SSL), ("MS_IMAP_PORT", TLS)] {
        let a = account(&mb, port, security, true, Via::Direct);
        let mut s = imap::connect(&a, &creds(&mb), &options()).unwrap();
        s.select("INBOX").unwrap();
        let uids = s.uids().unwrap();
        assert_eq!(uids.len(), 3);
        s.set_fetch_batch(2);
        // Unknown UIDs mixed in are left out; the crate's commands keep working in between.
        let mut asked = uids.clone();
        asked.push(uids[2] + 50);
        let mut seen = Vec::new();
        s.uid_fetch_each(&asked, |m| {
            seen.push(m);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.iter().map(|m| m.uid).collect::<Vec<_>>(), uids);
        for (m, sent) in seen.iter().zip(&bodies) {
            assert!(m.raw.ends_with(sent), "UID {} is not byte exact", m.uid);
            assert_eq!(m.size, Some(m.raw.len() as u32));
        }
        s.noop().unwrap();
        let sizes = s.fetch_sizes(1, None).unwrap();
        assert_eq!(
            sizes.iter().map(|m| m.size as usize).collect::<Vec<_>>(),
            seen.iter().map(|m| m.raw.len()).collect::<Vec<_>>()
        );
        let again = s.uid_fetch(&[uids[1]]).unwrap();
        assert_eq!(again[0].raw, seen[1].raw);
        assert!(s.flags(&uids).unwrap().iter().all(|f| !f.has("\\Seen")));
        s.logout().unwrap();
    }
}

#[test]
fn the_operation_deadline_holds_over_implicit_tls_and_after_starttls() {
    let mb = unique_mailbox("imap-deadline");
    deliver(&mb, &message("one", "hello\r\n"));
    for (port, security) in [("MS_IMAPS_PORT", SSL), ("MS_IMAP_PORT", TLS)] {
        let a = account(&mb, port, security, true, Via::Direct);
        let mut o = options();
        o.deadline = Some(mail_settings_core::net::OpDeadline::after(
            Duration::from_secs(2),
            "the check",
        ));
        // Within the budget everything works, through TLS (and across the STARTTLS upgrade).
        let mut s = imap::connect(&a, &creds(&mb), &o).unwrap();
        assert_eq!(s.examine("INBOX").unwrap().exists, 1, "{port}");
        assert!(
            s.deadline().is_some(),
            "{port}: the deadline survives STARTTLS"
        );
        std::thread::sleep(Duration::from_millis(2100));
        // Past it, the next exchange fails at once, naming the stage and the budget.
        let started = std::time::Instant::now();
        let e = s.noop().unwrap_err();
        assert!(e.is_timeout(), "{port}: {e}");
        assert!(
            e.message()
                .contains("while sending NOOP: the check took longer than its 2 s budget"),
            "{port}: {e}"
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        // Without it the session goes on.
        drop(s);
        let mut s = imap::connect(&a, &creds(&mb), &options()).unwrap();
        s.set_deadline(None);
        s.noop().unwrap();
        s.logout().unwrap();
    }
}
