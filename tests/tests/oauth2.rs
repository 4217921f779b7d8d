//! OAuth2 against a real authorization server (npm's oidc-provider, `tests/servers/oauth2/`,
//! access tokens living 4 s, refresh tokens rotating on every use) and the real Dovecot and
//! Postfix, which validate its tokens: device sign-in, the collector across token expiries,
//! rotation written back, a revoked refresh token (needs sign-in) beside a working account,
//! client credentials, XOAUTH2 and OAUTHBEARER for IMAP, POP3 and SMTP, a refused token
//! refreshed once, eight threads making one token request, and no token in any output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod collector_support;

use collector_support::{create_account, message, message_id};
use mail_settings_core::credentials::{Credential, CredentialProvider, InMemoryCredentials};
use mail_settings_core::oauth2::sasl::OAuth2Mechanism;
use mail_settings_core::oauth2::{
    InMemoryTokenStore, OAuth2Client, OAuth2Credentials, OAuth2Grant, SignInState, TokenManager,
    TokenStore,
};
use mail_settings_core::pop3::{LoginMethod, Pop3Client};
use mail_settings_core::store::Store;
use mail_settings_core::{CredentialId, ErrorCategory, Protocol, Route, SecureConnectionType};
use mail_settings_tests::oauth2::{approve_device, post};
use mail_settings_tests::{lmtp_deliver, servers, unique_mailbox, Cert, Via};
use secrecy::ExposeSecret;
use std::io::{Read, Write};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn issuer() -> String {
    format!(
        "http://127.0.0.1:{}",
        servers().port("MS_OAUTH2_SERVER_PORT")
    )
}

fn public_client() -> OAuth2Client {
    let mut c = OAuth2Client::custom("test-public", "ms-public", format!("{}/token", issuer()));
    c.device_authorization_url = Some(format!("{}/device/auth", issuer()));
    c.scopes = vec!["openid".into(), "offline_access".into(), "mail".into()];
    c
}

struct Setup {
    store: Arc<InMemoryTokenStore>,
    manager: Arc<TokenManager>,
    creds: Arc<OAuth2Credentials>,
}

fn setup() -> Setup {
    let store = Arc::new(InMemoryTokenStore::new());
    let secrets = Arc::new(InMemoryCredentials::new().with(
        "oauth2-client-secret",
        Credential::password(
            "ms-confidential",
            servers().value("MS_OAUTH2_CLIENT_SECRET"),
        ),
    ));
    let manager = Arc::new(TokenManager::new(Some(store.clone()), secrets.clone()));
    let creds = Arc::new(OAuth2Credentials::new(secrets, manager.clone()));
    Setup {
        store,
        manager,
        creds,
    }
}

/// Signs `mailbox` in by device code as a person would (the test approves the user code at
/// the server), keeps the refresh token under credential id = the address, and binds it.
fn device_sign_in(s: &Setup, mailbox: &str) {
    let client = public_client();
    let device = s
        .manager
        .start_device_sign_in(&client, &Route::Direct)
        .unwrap();
    assert!(device.verification_uri.starts_with(&issuer()), "{device:?}");
    approve_device(&device.user_code, mailbox);
    let id = CredentialId::new(mailbox);
    s.manager
        .finish_device_sign_in(
            &client,
            &device,
            &id,
            mailbox,
            &Route::Direct,
            Duration::from_secs(30),
        )
        .unwrap();
    s.creds.bind(&id, client, Route::Direct).unwrap();
}

fn refresh_token(s: &Setup, mailbox: &str) -> String {
    s.store
        .load(&CredentialId::new(mailbox))
        .unwrap()
        .unwrap()
        .refresh_token
        .unwrap()
        .expose_secret()
        .to_owned()
}

fn imap_login(
    creds: &dyn CredentialProvider,
    mailbox: &str,
) -> Result<(), mail_settings_core::ConnectionError> {
    let account = mail_settings_tests::incoming_account(
        Protocol::Imap,
        mailbox,
        Some(SecureConnectionType::Ssl),
        Cert::Valid,
        Via::Direct,
        true,
    );
    let session = mail_settings_core::imap::connect(
        &account,
        creds,
        &mail_settings_core::imap::ImapOptions::default(),
    )?;
    session.logout().ok();
    Ok(())
}

#[test]
fn device_sign_in_then_imap_pop3_smtp_with_xoauth2_and_oauthbearer() {
    let s = setup();
    let mailbox = unique_mailbox("oauth2-dev");
    device_sign_in(&s, &mailbox);
    let id = CredentialId::new(&mailbox);
    let cred = s.creds.credential(&id).unwrap();
    assert!(cred.secret.is_oauth2());
    assert_eq!(cred.username, mailbox);

    // IMAP: the driver picks XOAUTH2; OAUTHBEARER forced through the client.
    imap_login(s.creds.as_ref(), &mailbox).unwrap();
    let account = mail_settings_tests::incoming_account(
        Protocol::Imap,
        &mailbox,
        Some(SecureConnectionType::Ssl),
        Cert::Valid,
        Via::Direct,
        true,
    );
    let (client, _) = mail_settings_core::imap::open(
        &account,
        s.creds.as_ref(),
        &mail_settings_core::imap::ImapOptions::default(),
    )
    .unwrap();
    let session = client
        .login_oauth2(&cred, OAuth2Mechanism::OAuthBearer)
        .unwrap();
    session.logout().ok();
    // A token that is not valid: OAUTHBEARER's error report is read for its status.
    let (client, _) = mail_settings_core::imap::open(
        &account,
        s.creds.as_ref(),
        &mail_settings_core::imap::ImapOptions::default(),
    )
    .unwrap();
    let bad = Credential::oauth2(&mailbox, "not-a-valid-token-canary-8d1e");
    let e = client
        .login_oauth2(&bad, OAuth2Mechanism::OAuthBearer)
        .err()
        .unwrap();
    assert_eq!(e.category(), ErrorCategory::Auth, "{e}");
    assert!(!e.to_string().contains("canary-8d1e"), "{e}");

    // POP3: XOAUTH2 by choice, OAUTHBEARER by its own call.
    let pop = mail_settings_tests::incoming_account(
        Protocol::Pop3,
        &mailbox,
        Some(SecureConnectionType::Ssl),
        Cert::Valid,
        Via::Direct,
        true,
    );
    let timeouts = mail_settings_core::net::Timeouts::uniform(Duration::from_secs(10));
    let p = Pop3Client::connect(&pop, s.creds.as_ref(), &timeouts).unwrap();
    p.quit().ok();
    let mut p = Pop3Client::open(&pop, s.creds.as_ref(), &timeouts).unwrap();
    let cred = s.creds.credential(&id).unwrap();
    p.auth_oauthbearer(&cred.username, cred.secret.expose())
        .unwrap();
    p.quit().ok();
    let mut p = Pop3Client::open(&pop, s.creds.as_ref(), &timeouts).unwrap();
    assert_eq!(p.login(&cred).unwrap(), LoginMethod::XOAuth2);
    p.quit().ok();

    // SMTP: send with XOAUTH2 (the driver's choice) and OAUTHBEARER (forced).
    let smtp = mail_settings_tests::smtp_account(
        &mailbox,
        Some(SecureConnectionType::Tls),
        Cert::Valid,
        Via::Direct,
        true,
    );
    let options = mail_settings_core::smtp::SmtpOptions::default();
    let mut msg = mail_settings_core::smtp::OutgoingMessage::default();
    msg.to = vec![mailbox.clone()];
    msg.subject = "OAuth2 XOAUTH2".into();
    msg.text = Some("sent with an OAuth2 token".into());
    mail_settings_core::smtp::send(&smtp, s.creds.as_ref(), &msg, &options).unwrap();
    for mech in [OAuth2Mechanism::OAuthBearer, OAuth2Mechanism::XOAuth2] {
        let (mut c, _) = mail_settings_core::smtp::open(&smtp, s.creds.as_ref(), &options).unwrap();
        c.authenticate_oauth2(&cred, mech).unwrap();
        assert!(c.is_authenticated());
        let composed = mail_settings_core::smtp::compose(&smtp, &msg).unwrap();
        c.send(&composed.envelope, &composed.data).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while mail_settings_tests::maildir_count(&mailbox) < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(mail_settings_tests::maildir_count(&mailbox), 3);
    let _ = mail_settings_tests::seed::remove_mailbox(&mailbox);
}

#[test]
fn collector_runs_across_token_expiries_and_rotations_without_a_failed_login() {
    let s = setup();
    let mailbox = unique_mailbox("oauth2-collect");
    device_sign_in(&s, &mailbox);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path().join("settings.db")).unwrap());
    let account = create_account(
        &store,
        Protocol::Imap,
        &mailbox,
        false,
        Some(SecureConnectionType::Ssl),
        None,
    );
    let mut o = mail_settings_core::collector::CollectorOptions::default();
    o.timeouts = mail_settings_core::net::Timeouts::uniform(Duration::from_secs(10));
    let collector =
        mail_settings_core::collector::Collector::with_options(store.clone(), s.creds.clone(), o);

    let first_refresh = refresh_token(&s, &mailbox);
    let tag = format!("o2-{}", mailbox.split('@').next().unwrap());
    let started = Instant::now();
    let mut fetched = 0;
    let mut i = 0;
    // Access tokens live 4 s: 14 s of runs cross at least three expiries.
    while started.elapsed() < Duration::from_secs(14) {
        lmtp_deliver("sender@example.test", &mailbox, &message(&tag, i, 1500));
        i += 1;
        let r = collector.check_now(account).unwrap();
        fetched += r.fetched;
        std::thread::sleep(Duration::from_millis(700));
    }
    assert_eq!(fetched, i as u64, "every message collected, no run failed");
    let requests = s.manager.token_requests();
    assert!(
        requests >= 4,
        "refreshed across expiries: {requests} token requests"
    );
    assert!(
        requests <= 8,
        "not one refresh per run: {requests} token requests for {i} runs"
    );
    assert!(
        s.store.saves() >= 4,
        "every rotation written back: {}",
        s.store.saves()
    );
    assert_ne!(refresh_token(&s, &mailbox), first_refresh);
    let status = collector.status(account).unwrap();
    assert!(status.last_error.is_none(), "{status:?}");
    let _ = message_id(&tag, 0);
    let _ = mail_settings_tests::seed::remove_mailbox(&mailbox);
}

#[test]
fn rotation_is_written_back_and_a_restart_keeps_working() {
    let s = setup();
    let mailbox = unique_mailbox("oauth2-rotate");
    device_sign_in(&s, &mailbox);
    let id = CredentialId::new(&mailbox);
    let before = refresh_token(&s, &mailbox);
    let saves = s.store.saves();
    s.creds.credential(&id).unwrap();
    let after = refresh_token(&s, &mailbox);
    assert_ne!(
        before, after,
        "the server rotated it and the vault has the new one"
    );
    assert_eq!(s.store.saves(), saves + 1);

    // A restart: a new manager over the same vault refreshes with the kept token.
    let secrets = Arc::new(InMemoryCredentials::new());
    let manager = Arc::new(TokenManager::new(Some(s.store.clone()), secrets.clone()));
    let creds = OAuth2Credentials::new(secrets, manager.clone());
    creds.bind(&id, public_client(), Route::Direct).unwrap();
    imap_login(&creds, &mailbox).unwrap();
    assert_eq!(manager.token_requests(), 1);
    let newest = refresh_token(&s, &mailbox);
    assert_ne!(newest, after);

    // The spent token is refused by the server now.
    let (status, body) = post(
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &before),
            ("client_id", "ms-public"),
        ],
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid_grant"), "{body}");
}

#[test]
fn a_revoked_refresh_token_needs_sign_in_while_another_account_keeps_collecting() {
    let s = setup();
    let revoked = unique_mailbox("oauth2-revoked");
    let other = unique_mailbox("oauth2-other");
    device_sign_in(&s, &revoked);
    device_sign_in(&s, &other);
    let rt = refresh_token(&s, &revoked);
    let (status, body) = post(
        "/token/revocation",
        &[
            ("token", &rt),
            ("token_type_hint", "refresh_token"),
            ("client_id", "ms-public"),
        ],
    );
    assert_eq!(status, 200, "{body}");

    let id = CredentialId::new(&revoked);
    let e = imap_login(s.creds.as_ref(), &revoked).err().unwrap();
    assert_eq!(e.category(), ErrorCategory::NeedsSignIn, "{e}");
    assert!(e.to_string().contains("needs sign-in"), "{e}");
    assert!(!e.to_string().contains(&rt));
    // Not retried: no token request while the refresh token is the same.
    let requests = s.manager.token_requests();
    let e = s.creds.credential(&id).err().unwrap();
    assert_eq!(e.category(), ErrorCategory::NeedsSignIn);
    assert_eq!(s.manager.token_requests(), requests);
    assert!(s
        .manager
        .needs_sign_in(&id)
        .unwrap()
        .contains("invalid_grant"));
    let st = s.manager.status();
    let mine = st.iter().find(|t| t.credential == id).unwrap();
    assert!(
        matches!(mine.state, SignInState::NeedsSignIn { .. }),
        "{st:?}"
    );

    // The other account collects meanwhile.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path().join("settings.db")).unwrap());
    let a_other = create_account(
        &store,
        Protocol::Pop3,
        &other,
        false,
        Some(SecureConnectionType::Ssl),
        None,
    );
    let a_revoked = create_account(
        &store,
        Protocol::Imap,
        &revoked,
        false,
        Some(SecureConnectionType::Ssl),
        None,
    );
    let mut o = mail_settings_core::collector::CollectorOptions::default();
    o.timeouts = mail_settings_core::net::Timeouts::uniform(Duration::from_secs(10));
    let collector =
        mail_settings_core::collector::Collector::with_options(store.clone(), s.creds.clone(), o);
    lmtp_deliver("sender@example.test", &other, &message("o2-other", 0, 1200));
    let results = collector
        .collect_once(
            &[a_revoked, a_other],
            &mail_settings_core::collector::RunControl::default(),
        )
        .unwrap();
    assert!(results[0].1.is_err(), "{:?}", results[0].1);
    assert_eq!(results[1].1.as_ref().unwrap().fetched, 1);
    let st = collector.status(a_revoked).unwrap();
    assert_eq!(
        st.last_error.as_ref().map(|e| e.category),
        Some(ErrorCategory::NeedsSignIn),
        "{st:?}"
    );

    // Signing in again clears it.
    device_sign_in(&s, &revoked);
    assert!(s.manager.needs_sign_in(&id).is_none());
    imap_login(s.creds.as_ref(), &revoked).unwrap();
    let _ = mail_settings_tests::seed::remove_mailbox(&other);
}

#[test]
fn client_credentials_for_an_app_only_mailbox() {
    let s = setup();
    let mailbox = format!("oauth2-app-only@{}", servers().domain());
    let store = Arc::new(InMemoryTokenStore::new().with("app-only", &mailbox, None));
    let secrets = Arc::new(InMemoryCredentials::new().with(
        "oauth2-client-secret",
        Credential::password(
            "ms-confidential",
            servers().value("MS_OAUTH2_CLIENT_SECRET"),
        ),
    ));
    let manager = Arc::new(TokenManager::new(Some(store), secrets.clone()));
    let creds = OAuth2Credentials::new(secrets, manager.clone());
    let mut client = OAuth2Client::custom("app", "ms-confidential", format!("{}/token", issuer()));
    client.grant = OAuth2Grant::ClientCredentials;
    client.client_secret_credential = Some(CredentialId::new("oauth2-client-secret"));
    client.scopes = vec!["mail".into()];
    let id = CredentialId::new("app-only");
    creds.bind(&id, client.clone(), Route::Direct).unwrap();
    let mut form_account = mail_settings_tests::incoming_form(
        Protocol::Imap,
        &mailbox,
        Some(SecureConnectionType::Ssl),
        Cert::Valid,
        Via::Direct,
    )
    .0;
    form_account.credential = Some("app-only".into());
    let account = mail_settings_core::IncomingAccount::from_form(
        &form_account,
        &mail_settings_core::ValidationContext::standalone(),
    )
    .unwrap();
    let session = mail_settings_core::imap::connect(
        &account,
        &creds,
        &mail_settings_core::imap::ImapOptions::default(),
    )
    .unwrap();
    session.logout().ok();
    assert_eq!(manager.token_requests(), 1);

    // A wrong secret marks the client, not only this account.
    let wrong = Arc::new(InMemoryCredentials::new().with(
        "oauth2-client-secret",
        Credential::password("ms-confidential", "wrong-secret-canary-51aa"),
    ));
    let manager = Arc::new(TokenManager::new(None, wrong.clone()));
    let creds = OAuth2Credentials::new(wrong.clone(), manager.clone());
    creds
        .bind(
            &CredentialId::new("app-only"),
            client.clone(),
            Route::Direct,
        )
        .unwrap();
    // No token store: the user name comes from the host's provider.
    wrong.insert("app-only", Credential::password(&mailbox, "unused"));
    let e = creds.credential(&id).err().unwrap();
    assert_eq!(e.category(), ErrorCategory::Auth, "{e}");
    assert!(e.to_string().contains("invalid_client"), "{e}");
    assert!(!e.to_string().contains("canary-51aa"), "{e}");
    assert!(matches!(
        manager.status()[0].state,
        SignInState::ClientRefused { .. }
    ));

    // The refresh token grant without a token store is refused when it is configured.
    let e = creds
        .bind(&CredentialId::new("x"), public_client(), Route::Direct)
        .unwrap_err();
    assert!(e.to_string().contains("no token store"), "{e}");
    let _ = s;
}

/// A provider handing out an expired (refused) token first, then a good one after
/// `refused`: the drivers retry exactly once.
struct StaleFirst {
    good: Arc<OAuth2Credentials>,
    stale: std::sync::atomic::AtomicBool,
    refusals: std::sync::atomic::AtomicUsize,
}

impl CredentialProvider for StaleFirst {
    fn credential(
        &self,
        id: &CredentialId,
    ) -> Result<Credential, mail_settings_core::credentials::CredentialError> {
        let c = self.good.credential(id)?;
        if self.stale.load(std::sync::atomic::Ordering::SeqCst) {
            // Dovecot refuses this one: it expired a minute ago.
            let expired = expired_token(&c.username);
            return Ok(Credential::oauth2(c.username, expired));
        }
        Ok(c)
    }
    fn refused(&self, _id: &CredentialId, _c: &Credential) -> bool {
        self.refusals
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.stale.store(false, std::sync::atomic::Ordering::SeqCst);
        true
    }
}

#[path = "common/oauth2.rs"]
mod jwt;

fn expired_token(user: &str) -> String {
    jwt::token(user, -60)
}

#[test]
fn a_refused_token_is_refreshed_and_the_login_retried_once() {
    let s = setup();
    let mailbox = unique_mailbox("oauth2-refused");
    device_sign_in(&s, &mailbox);
    let p = StaleFirst {
        good: s.creds.clone(),
        stale: true.into(),
        refusals: 0.into(),
    };
    imap_login(&p, &mailbox).unwrap();
    assert_eq!(p.refusals.load(std::sync::atomic::Ordering::SeqCst), 1);
    p.stale.store(true, std::sync::atomic::Ordering::SeqCst);
    let pop = mail_settings_tests::incoming_account(
        Protocol::Pop3,
        &mailbox,
        Some(SecureConnectionType::Ssl),
        Cert::Valid,
        Via::Direct,
        true,
    );
    let c = Pop3Client::connect(
        &pop,
        &p,
        &mail_settings_core::net::Timeouts::uniform(Duration::from_secs(10)),
    )
    .unwrap();
    c.quit().ok();
    assert_eq!(p.refusals.load(std::sync::atomic::Ordering::SeqCst), 2);
    p.stale.store(true, std::sync::atomic::Ordering::SeqCst);
    let smtp = mail_settings_tests::smtp_account(
        &mailbox,
        Some(SecureConnectionType::Tls),
        Cert::Valid,
        Via::Direct,
        true,
    );
    let c = mail_settings_core::smtp::connect(
        &smtp,
        &p,
        &mail_settings_core::smtp::SmtpOptions::default(),
    )
    .unwrap();
    assert!(c.is_authenticated());
    assert_eq!(p.refusals.load(std::sync::atomic::Ordering::SeqCst), 3);

    // The token manager's own `refused`: the cached token is dropped, the next one is new.
    let id = CredentialId::new(&mailbox);
    let first = s.creds.credential(&id).unwrap();
    let n = s.manager.token_requests();
    assert!(s.creds.refused(&id, &first));
    let second = s.creds.credential(&id).unwrap();
    assert_eq!(s.manager.token_requests(), n + 1);
    assert_ne!(first.secret.expose(), second.secret.expose());
    // A password provider never asks for a retry.
    assert!(!servers().credentials_for(&mailbox).refused(&id, &first));
}

// --- o2bind: OAUTHBEARER/XOAUTH2 error reports named by POP3 and SMTP ---

/// POP3 and SMTP (Postfix through Dovecot's SASL) read the JSON error challenge a refused
/// token gets, answer it, and name its `status` in the error; the token is never shown.
#[test]
fn pop3_and_smtp_name_the_status_of_a_refused_token() {
    let mailbox = unique_mailbox("oauth2-status");
    let plain = servers().credentials_for(&mailbox);
    let pop = mail_settings_tests::incoming_account(
        Protocol::Pop3,
        &mailbox,
        Some(SecureConnectionType::Ssl),
        Cert::Valid,
        Via::Direct,
        true,
    );
    let timeouts = mail_settings_core::net::Timeouts::uniform(Duration::from_secs(10));
    let smtp = mail_settings_tests::smtp_account(
        &mailbox,
        Some(SecureConnectionType::Tls),
        Cert::Valid,
        Via::Direct,
        true,
    );
    let options = mail_settings_core::smtp::SmtpOptions::default();
    let expired = expired_token(&mailbox);
    for token in [expired.as_str(), "garbage-token-canary-3b7f"] {
        // Dovecot's words: OAUTHBEARER says `invalid_token`, XOAUTH2 (Google's form) `401`.
        for (mech, said) in [
            (OAuth2Mechanism::OAuthBearer, "invalid_token"),
            (OAuth2Mechanism::XOAuth2, "401"),
        ] {
            let status = format!("the server's status: {said}");
            let mut p = Pop3Client::open(&pop, &plain, &timeouts).unwrap();
            let e = match mech {
                OAuth2Mechanism::OAuthBearer => p.auth_oauthbearer(&mailbox, token),
                _ => p.auth_xoauth2(&mailbox, token),
            }
            .unwrap_err();
            assert_eq!(e.category(), ErrorCategory::Auth, "{e}");
            assert!(e.to_string().contains(&status), "POP3 {mech:?}: {e}");
            assert!(!e.to_string().contains(token), "{e}");
            // The exchange ended cleanly: the session still answers.
            p.quit().unwrap();

            let (mut c, _) = mail_settings_core::smtp::open(&smtp, &plain, &options).unwrap();
            let e = c
                .authenticate_oauth2(&Credential::oauth2(&mailbox, token), mech)
                .unwrap_err();
            assert_eq!(e.category(), ErrorCategory::Auth, "{e}");
            assert!(e.to_string().contains(&status), "SMTP {mech:?}: {e}");
            assert!(!e.to_string().contains(token), "{e}");
            assert!(!c.is_authenticated());
        }
    }
}

#[test]
fn eight_threads_needing_a_token_at_once_make_one_token_request() {
    let s = setup();
    let mailbox = unique_mailbox("oauth2-threads");
    device_sign_in(&s, &mailbox);
    let id = CredentialId::new(&mailbox);
    let saves = s.store.saves();
    let barrier = Arc::new(Barrier::new(8));
    let tokens: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let barrier = barrier.clone();
                let creds = s.creds.clone();
                let id = id.clone();
                scope.spawn(move || {
                    barrier.wait();
                    creds.credential(&id).unwrap().secret.expose().to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(s.manager.token_requests(), 1);
    assert_eq!(s.store.saves(), saves + 1, "one rotation, written once");
    assert!(tokens.iter().all(|t| t == &tokens[0]));
}

#[test]
fn no_secret_in_debug_or_errors() {
    let s = setup();
    let mailbox = unique_mailbox("oauth2-canary");
    device_sign_in(&s, &mailbox);
    let id = CredentialId::new(&mailbox);
    let rt = refresh_token(&s, &mailbox);
    let token = s.creds.credential(&id).unwrap();
    let access = token.secret.expose().to_owned();
    let device = s
        .manager
        .start_device_sign_in(&public_client(), &Route::Direct)
        .unwrap();
    let shown = format!(
        "{:?} {:?} {:?} {:?} {:?} {:?}",
        s.store.load(&id).unwrap(),
        token,
        s.creds,
        s.manager,
        device,
        s.manager.status()
    );
    for secret in [
        rt.as_str(),
        access.as_str(),
        servers().value("MS_OAUTH2_CLIENT_SECRET"),
    ] {
        assert!(!shown.contains(secret), "a secret in {shown}");
    }
    assert!(shown.contains(&mailbox));
}

#[test]
fn two_processes_sharing_a_store_refresh_one_at_a_time_and_keep_needs_sign_in() {
    let s = setup();
    let mailbox = unique_mailbox("oauth2-procs");
    device_sign_in(&s, &mailbox);
    let id = CredentialId::new(&mailbox);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.db");
    // Two "processes": each its own Store handle on the file and its own manager; the vault
    // (token store) is shared, as a host's vault is.
    let process = || {
        let store = Arc::new(Store::open(&path).unwrap());
        let secrets = Arc::new(InMemoryCredentials::new());
        let manager = Arc::new(
            TokenManager::new(Some(s.store.clone()), secrets.clone()).with_shared_state(store),
        );
        let creds = Arc::new(OAuth2Credentials::new(secrets, manager.clone()));
        creds.bind(&id, public_client(), Route::Direct).unwrap();
        (manager, creds)
    };
    let (m1, c1) = process();
    let (m2, c2) = process();
    let barrier = Arc::new(Barrier::new(8));
    std::thread::scope(|scope| {
        for i in 0..8 {
            let creds = if i % 2 == 0 { c1.clone() } else { c2.clone() };
            let barrier = barrier.clone();
            let id = id.clone();
            scope.spawn(move || {
                barrier.wait();
                // Each refresh spends the refresh token the other one kept: a refresh with a
                // spent token would be invalid_grant (and revoke the grant).
                creds.credential(&id).unwrap();
            });
        }
    });
    assert_eq!(
        m1.token_requests() + m2.token_requests(),
        2,
        "one per process, one at a time"
    );
    imap_login(c1.as_ref(), &mailbox).unwrap();

    // Revoked: the first process learns it and keeps it in the store; a restarted process
    // does not try the refused token again.
    let rt = refresh_token(&s, &mailbox);
    let (status, _) = post(
        "/token/revocation",
        &[
            ("token", &rt),
            ("token_type_hint", "refresh_token"),
            ("client_id", "ms-public"),
        ],
    );
    assert_eq!(status, 200);
    let e = s.creds.credential(&id).err().unwrap();
    assert_eq!(e.category(), ErrorCategory::NeedsSignIn);
    // A process with the shared state meets invalid_grant and records it in the store...
    let (m4, c4) = process();
    let e = c4.credential(&id).err().unwrap();
    assert_eq!(e.category(), ErrorCategory::NeedsSignIn);
    assert_eq!(m4.token_requests(), 1);
    // ...and a restarted process learns it from the store, without a token request.
    let (m3, c3) = process();
    let e = c3.credential(&id).err().unwrap();
    assert_eq!(e.category(), ErrorCategory::NeedsSignIn, "{e}");
    assert_eq!(
        m3.token_requests(),
        0,
        "kept in the store: not retried by another process"
    );
    let _ = m1;
}

/// A GET as a browser does it: (status, Location, Set-Cookie name=value pairs).
fn browser_get(
    url: &str,
    cookies: &[(String, String)],
) -> (u16, Option<String>, Vec<(String, String)>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = std::net::TcpStream::connect(authority).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let cookie = cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nCookie: {cookie}\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out[9..12].parse().unwrap();
    let head = out.split("\r\n\r\n").next().unwrap();
    let mut location = None;
    let mut set = Vec::new();
    for line in head.lines().skip(1) {
        let (k, v) = line.split_once(':').unwrap();
        if k.eq_ignore_ascii_case("location") {
            location = Some(v.trim().to_owned());
        } else if k.eq_ignore_ascii_case("set-cookie") {
            let pair = v.trim().split(';').next().unwrap();
            let (n, val) = pair.split_once('=').unwrap();
            set.push((n.to_owned(), val.to_owned()));
        }
    }
    (status, location, set)
}

#[test]
fn authorization_code_with_pkce_and_a_loopback_redirect() {
    let s = setup();
    let mailbox = unique_mailbox("oauth2-pkce");
    let mut client = public_client();
    client.authorization_url = Some(format!("{}/auth", issuer()));
    let sign_in = s
        .manager
        .start_browser_sign_in(&client, Some(&mailbox))
        .unwrap();
    assert!(sign_in.authorize_url.contains("code_challenge_method=S256"));
    assert!(sign_in.redirect_uri.starts_with("http://127.0.0.1:"));
    let id = CredentialId::new(&mailbox);
    std::thread::scope(|scope| {
        let url = sign_in.authorize_url.clone();
        // The person's browser: follows the redirects with its cookies; the test server's
        // interaction logs the login_hint user in and consents.
        scope.spawn(move || {
            let mut cookies: Vec<(String, String)> = Vec::new();
            let mut url = url;
            for _ in 0..6 {
                let (status, location, set) = browser_get(&url, &cookies);
                for (k, v) in set {
                    cookies.retain(|(n, _)| n != &k);
                    cookies.push((k, v));
                }
                let Some(loc) = location else {
                    assert_eq!(status, 200, "{url}");
                    return;
                };
                url = if loc.starts_with('/') {
                    format!("{}{loc}", issuer())
                } else {
                    loc
                };
            }
            panic!("too many redirects");
        });
        s.manager
            .finish_browser_sign_in(
                &client,
                sign_in,
                &id,
                &mailbox,
                &Route::Direct,
                Duration::from_secs(20),
            )
            .unwrap();
    });
    assert!(!refresh_token(&s, &mailbox).is_empty());
    s.creds.bind(&id, client, Route::Direct).unwrap();
    imap_login(s.creds.as_ref(), &mailbox).unwrap();
}

#[test]
fn the_check_shows_the_token_stage_obtained_and_refused() {
    use mail_settings_core::check::{check_incoming, check_smtp, CheckOptions, StageName};
    let s = setup();
    let mailbox = unique_mailbox("oauth2-check");
    device_sign_in(&s, &mailbox);
    let account = mail_settings_tests::incoming_account(
        Protocol::Imap,
        &mailbox,
        Some(SecureConnectionType::Ssl),
        Cert::Valid,
        Via::Direct,
        true,
    );
    let r = check_incoming(&account, s.creds.as_ref(), &CheckOptions::default());
    assert!(r.ok, "{r:?}");
    let token = r
        .stages
        .iter()
        .find(|st| st.name == StageName::Token)
        .unwrap();
    assert!(token.ok && token.detail.contains(&mailbox), "{token:?}");
    let smtp = mail_settings_tests::smtp_account(
        &mailbox,
        Some(SecureConnectionType::Tls),
        Cert::Valid,
        Via::Direct,
        true,
    );
    let r = check_smtp(&smtp, s.creds.as_ref(), &CheckOptions::default());
    assert!(r.ok, "{r:?}");
    assert!(r
        .stages
        .iter()
        .any(|st| st.name == StageName::Token && st.ok));
    // A password account has no token stage.
    let r = check_incoming(
        &account,
        &servers().credentials_for(&mailbox),
        &CheckOptions::default(),
    );
    assert!(
        r.ok && r.stages.iter().all(|st| st.name != StageName::Token),
        "{r:?}"
    );

    // Revoked: the token stage fails with the server's code, category needs_sign_in.
    let rt = refresh_token(&s, &mailbox);
    post(
        "/token/revocation",
        &[
            ("token", &rt),
            ("token_type_hint", "refresh_token"),
            ("client_id", "ms-public"),
        ],
    );
    // Drop the cached access token so the check needs a refresh.
    let id = CredentialId::new(&mailbox);
    let cached = s.creds.credential(&id).unwrap();
    s.creds.refused(&id, &cached);
    let r = check_incoming(&account, s.creds.as_ref(), &CheckOptions::default());
    assert!(!r.ok);
    let token = r
        .stages
        .iter()
        .find(|st| st.name == StageName::Token)
        .unwrap();
    assert!(!token.ok, "{token:?}");
    assert_eq!(token.category, Some(ErrorCategory::NeedsSignIn));
    assert!(token.detail.contains("invalid_grant"), "{token:?}");
    assert!(!token.detail.contains(&rt));
}
