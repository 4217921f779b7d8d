//! `mail-settings oauth2` against the real local authorization server (npm's oidc-provider,
//! `tests/servers/oauth2/`) and Dovecot, which validates its tokens: a device-code sign-in end
//! to end from the command (the test approves the user code at the server as the person
//! would), then `collect` of the stored OAUTH2 account, then `oauth2 status`; no refresh
//! token, device code or client secret in anything the command prints.
//!
//! Needs the local servers: runs only with `MS_SERVERS=1` (scripts/test-all.sh sets it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_tests::oauth2::{approve_device, issuer};
use mail_settings_tests::{lmtp_deliver, servers, unique_mailbox};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn servers_wanted(test: &str) -> bool {
    if std::env::var("MS_SERVERS").as_deref() == Ok("1") {
        return true;
    }
    eprintln!(
        "skipped {test}: needs the local servers; run with MS_SERVERS=1 (scripts/test-all.sh does)"
    );
    false
}

fn command(db: &Path, creds: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mail-settings"));
    c.arg("--db")
        .arg(db)
        .arg("--credentials")
        .arg(creds)
        .args(args);
    c
}

fn run(db: &Path, creds: &Path, args: &[&str]) -> Output {
    command(db, creds, args)
        .output()
        .expect("run mail-settings")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.com>\r\n\r\nbody\r\n"
    )
    .into_bytes()
}

#[test]
fn device_sign_in_from_the_command_then_collect_and_status() {
    if !servers_wanted("device_sign_in_from_the_command_then_collect_and_status") {
        return;
    }
    let s = servers();
    let secret = s.value("MS_OAUTH2_CLIENT_SECRET");
    let mailbox = unique_mailbox("cli-oauth2");
    for i in 0..2 {
        lmtp_deliver(
            "a@example.com",
            &mailbox,
            &message(&format!("oauth2-cli-{i}-{}", std::process::id())),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    // The vault: the client's secret, and the mailbox's entry (a user name alone until the
    // sign-in adds the refresh token).
    let creds = dir.path().join("credentials.json");
    std::fs::write(
        &creds,
        serde_json::json!({
            "idp-secret": {"client_secret": secret},
            mailbox.clone(): {"username": mailbox},
        })
        .to_string(),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let doc = serde_json::json!({
        "version": 1,
        "oauth2_clients": [{"id": 1, "name": "Local IdP", "provider": "CUSTOM",
            "client_id": "ms-confidential", "client_secret_credential": "idp-secret",
            "token_url": format!("{}/token", issuer()),
            "device_authorization_url": format!("{}/device/auth", issuer()),
            "scopes": ["openid", "offline_access", "mail"]}],
        "incoming_accounts": [{"name": "OAuth inbox", "protocol": "IMAP", "host": "localhost",
            "port": s.port("MS_IMAPS_PORT"), "credential": mailbox, "ca_file": s.ca_file(),
            "authentication": "OAUTH2", "oauth2_client": 1}]
    });
    let doc_path = dir.path().join("settings.json");
    std::fs::write(&doc_path, doc.to_string()).unwrap();
    let db = dir.path().join("store.sqlite3");
    let o = run(&db, &creds, &["import", doc_path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Before the sign-in: not signed in, and collecting fails saying why.
    let o = run(&db, &creds, &["oauth2", "status", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let before: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(before[0]["state"], "not_signed_in", "{before}");

    // The sign-in: the command prints the URL and the user code, the "person" approves.
    let mut child = command(
        &db,
        &creds,
        &[
            "oauth2",
            "sign-in",
            &mailbox,
            "--client",
            "Local IdP",
            "--timeout",
            "60",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    let code = loop {
        let mut l = String::new();
        assert!(
            out.read_line(&mut l).unwrap() > 0,
            "no user code printed: {printed}"
        );
        printed.push_str(&l);
        if let Some(rest) = l.split(" and enter the code ").nth(1) {
            break rest.trim().to_owned();
        }
    };
    assert!(
        printed.contains(&format!("open {}/device", issuer())),
        "{printed}"
    );
    approve_device(&code, &mailbox);
    out.read_to_string(&mut printed).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{printed}{err}");
    assert!(printed.contains("signed in"), "{printed}");

    // The refresh token is in the credentials file (mode 0600 kept), never in the output.
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&creds).unwrap()).unwrap();
    let refresh = file[&mailbox]["refresh_token"].as_str().unwrap().to_owned();
    assert!(refresh.len() > 10);
    assert_eq!(file[&mailbox]["username"], mailbox.as_str());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&creds).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mut all_output = format!("{printed}{err}");

    // Collect the stored OAUTH2 account: no host code, the credentials file as token store.
    let o = run(
        &db,
        &creds,
        &["collect", "--once", "OAuth inbox", "--format", "json"],
    );
    all_output.push_str(&text(&o));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let runs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(runs[0]["report"]["fetched"], 2, "{runs}");

    // Status: signed in as the mailbox.
    let o = run(&db, &creds, &["oauth2", "status", "--format", "json"]);
    all_output.push_str(&text(&o));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let st: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(st.as_array().unwrap().len(), 1, "{st}");
    assert_eq!(st[0]["state"], "signed_in", "{st}");
    assert_eq!(st[0]["username"], mailbox.as_str(), "{st}");
    assert_eq!(st[0]["client"], "Local IdP", "{st}");
    let o = run(&db, &creds, &["oauth2", "status"]);
    all_output.push_str(&text(&o));
    assert!(text(&o).contains("signed_in"), "{}", text(&o));

    // A rotated refresh token was written back by the collect: the file may hold a newer one.
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&creds).unwrap()).unwrap();
    let now = file[&mailbox]["refresh_token"].as_str().unwrap().to_owned();
    for secret_text in [refresh.as_str(), now.as_str(), secret] {
        assert!(
            !all_output.contains(secret_text),
            "a secret reached the output: {all_output}"
        );
    }
    // The device code is not the user code and never printed: only the code the person types
    // appears, once per prompt line.
    assert!(!all_output.contains("device_code"), "{all_output}");
}

#[test]
fn sign_in_refuses_an_app_only_client_and_an_unknown_one() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials.json");
    std::fs::write(&creds, r#"{"s": {"client_secret": "x-secret-value"}}"#).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let doc = serde_json::json!({
        "version": 1,
        "oauth2_clients": [{"id": 4, "name": "App only", "provider": "MICROSOFT",
            "tenant": "contoso.onmicrosoft.com", "client_id": "abc", "grant": "CLIENT_CREDENTIALS",
            "client_secret_credential": "s"}]
    });
    let doc_path = dir.path().join("settings.json");
    std::fs::write(&doc_path, doc.to_string()).unwrap();
    let db = dir.path().join("store.sqlite3");
    let o = run(&db, &creds, &["import", doc_path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(
        &db,
        &creds,
        &["oauth2", "sign-in", "a@example.com", "--client", "4"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("CLIENT_CREDENTIALS"), "{}", text(&o));
    let o = run(
        &db,
        &creds,
        &["oauth2", "sign-in", "a@example.com", "--client", "Nope"],
    );
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("Nope"), "{}", text(&o));
    assert!(!text(&o).contains("x-secret-value"));
    let o = run(&db, &creds, &["oauth2", "status", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
}

#[test]
fn reports_filter_on_the_authentication_method() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials.json");
    std::fs::write(
        &creds,
        r#"{"a": {"username": "a@example.com"}, "b": {"username": "b", "password": "pw"}}"#,
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let doc = serde_json::json!({
        "version": 1,
        "oauth2_clients": [{"id": 2, "name": "M365", "provider": "MICROSOFT", "client_id": "abc"}],
        "incoming_accounts": [
            {"name": "OAuth", "protocol": "IMAP", "host": "outlook.office365.com", "credential": "a",
             "authentication": "OAUTH2", "oauth2_client": 2},
            {"name": "Password", "protocol": "POP3", "host": "pop.example.com", "credential": "b"}],
        "smtp_accounts": [
            {"name": "Out", "host": "smtp.office365.com", "sender_email": "a@example.com",
             "credential": "a", "authentication": "OAUTH2", "oauth2_client": 2},
            {"name": "Relay", "host": "relay.example.com", "sender_email": "r@example.com",
             "use_authentication": false}]
    });
    let doc_path = dir.path().join("settings.json");
    std::fs::write(&doc_path, doc.to_string()).unwrap();
    let db = dir.path().join("store.sqlite3");
    let o = run(&db, &creds, &["import", doc_path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let names = |args: &[&str]| -> Vec<String> {
        let o = run(&db, &creds, args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r["name"].as_str().unwrap(),
                    r["authentication_method"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        names(&[
            "report",
            "incoming",
            "--auth-method",
            "oauth2",
            "--format",
            "json"
        ]),
        vec!["OAuth OAUTH2"]
    );
    assert_eq!(
        names(&[
            "report",
            "incoming",
            "--auth-method",
            "password",
            "--format",
            "json"
        ]),
        vec!["Password PASSWORD"]
    );
    // --authentication keeps meaning use_authentication.
    assert_eq!(
        names(&[
            "report",
            "smtp",
            "--authentication",
            "no",
            "--format",
            "json"
        ]),
        vec!["Relay PASSWORD"]
    );
    assert_eq!(
        names(&[
            "report",
            "smtp",
            "--auth-method",
            "oauth2",
            "--format",
            "json"
        ]),
        vec!["Out OAUTH2"]
    );
    let o = run(
        &db,
        &creds,
        &["--lang", "pt-BR", "report", "smtp", "--format", "csv"],
    );
    assert!(
        text(&o)
            .lines()
            .next()
            .unwrap()
            .ends_with("Método de autenticação"),
        "{}",
        text(&o)
    );
}
