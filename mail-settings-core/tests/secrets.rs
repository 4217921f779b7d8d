//! Plant a known secret, then search every output the core produces for it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::validate::validate_document;
use mail_settings_core::{
    Credential, CredentialProvider, CredentialsFile, Error, InMemoryCredentials, SettingsDocument,
};
use std::io::Write;

const SECRET: &str = "PLANTED-s3cr3t-7f1e";

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} leaks the secret: {text}");
}

#[test]
fn debug_of_credentials_and_providers_hides_the_secret() {
    let cred = Credential::password("alice@example.com", SECRET);
    assert_clean("Credential Debug", &format!("{cred:?}"));
    assert_clean("Credential Debug alt", &format!("{cred:#?}"));
    assert!(format!("{cred:?}").contains("alice@example.com"));
    let token = Credential::oauth2("alice@example.com", SECRET);
    assert_clean("token Debug", &format!("{token:?}"));
    assert_clean("Secret Debug", &format!("{:?}", token.secret));
    let provider = InMemoryCredentials::new().with("a", cred.clone());
    assert_clean("provider Debug", &format!("{provider:?}"));
    assert_eq!(
        provider.credential(&"a".into()).unwrap().secret.expose(),
        SECRET
    );
}

#[test]
fn credentials_file_json_and_toml() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("creds.json");
    let mut f = std::fs::File::create(&json).unwrap();
    write!(f, r#"{{"m": {{"username": "u@example.com", "password": "{SECRET}"}}, "t": {{"username": "u", "oauth2_token": "{SECRET}"}}}}"#).unwrap();
    drop(f);
    set_mode(&json, 0o600);
    let provider = CredentialsFile::load(&json).unwrap();
    assert!(provider.contains("m") && provider.contains("t") && !provider.contains("x"));
    assert!(provider
        .credential(&mail_settings_core::CredentialId::new("t"))
        .unwrap()
        .secret
        .is_oauth2());
    assert_clean("CredentialsFile Debug", &format!("{provider:?}"));

    let toml = dir.path().join("creds.toml");
    std::fs::write(
        &toml,
        format!("[m]\nusername = \"u\"\npassword = \"{SECRET}\"\n"),
    )
    .unwrap();
    set_mode(&toml, 0o600);
    assert!(CredentialsFile::load(&toml).unwrap().contains("m"));
}

#[cfg(unix)]
fn set_mode(p: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn credentials_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("creds.json");
    std::fs::write(
        &p,
        format!(r#"{{"m": {{"username": "u", "password": "{SECRET}"}}}}"#),
    )
    .unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660] {
        set_mode(&p, mode);
        let err = CredentialsFile::load(&p).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        assert_clean("error", &err.to_string());
    }
}

#[cfg(unix)]
#[test]
fn credentials_file_parse_errors_do_not_echo_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("creds.json");
    std::fs::write(
        &p,
        format!("{{\"m\": {{\"username\": \"u\", \"password\": {SECRET}}}}}"),
    )
    .unwrap();
    set_mode(&p, 0o600);
    let err = CredentialsFile::load(&p).unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
    assert_clean("parse error Display", &err.to_string());
    assert_clean("parse error Debug", &format!("{err:?}"));
    let p = dir.path().join("creds.toml");
    std::fs::write(&p, format!("[m]\nusername = \"u\"\npassword = {SECRET}\n")).unwrap();
    set_mode(&p, 0o600);
    let err = CredentialsFile::load(&p).unwrap_err();
    assert_clean("toml parse error", &format!("{err} {err:?}"));
}

#[test]
fn documents_and_validation_never_hold_secrets() {
    // A person who pastes a secret where a credential id goes: the id is echoed (it is an id),
    // but a provider's secrets never are.
    let provider = InMemoryCredentials::new().with("vault-id", Credential::password("u", SECRET));
    let doc = SettingsDocument::from_json(
        r#"{"version":1,"incoming_accounts":[{"name":"a","protocol":"IMAP","host":"h","credential":"vault-id","use_secure_connection":false}]}"#,
    )
    .unwrap();
    let v = validate_document(&doc, Some(&provider));
    assert_clean(
        "validation",
        &format!("{v} {v:?} {}", serde_json::to_string(&v).unwrap()),
    );
    assert_clean("document json", &doc.to_json());
    assert_clean("document toml", &doc.to_toml());
    let err = Error::from(v);
    assert_clean("Error", &format!("{err} {err:?}"));
}

#[cfg(unix)]
#[test]
fn credentials_file_with_a_repeated_id_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("creds.json");
    std::fs::write(
        &p,
        format!(
            r#"{{"m": {{"username": "u", "password": "{SECRET}"}}, "other": {{"username": "o", "password": "x"}},
                "m": {{"username": "v", "password": "{SECRET}2"}}}}"#
        ),
    )
    .unwrap();
    set_mode(&p, 0o600);
    let err = CredentialsFile::load(&p).unwrap_err().to_string();
    assert!(err.contains("duplicate credential id \"m\""), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert_clean("duplicate id error", &err);
    // Ids are looked up trimmed: " m" is the same id.
    std::fs::write(
        &p,
        r#"{"m": {"username": "u", "password": "a"}, " m ": {"username": "u", "password": "b"}}"#,
    )
    .unwrap();
    let err = CredentialsFile::load(&p).unwrap_err().to_string();
    assert!(err.contains("duplicate credential id \" m \""), "{err}");
    // TOML refuses a repeated table itself; the error names the key, not the secret.
    let t = dir.path().join("creds.toml");
    std::fs::write(
        &t,
        format!("[m]\nusername = \"u\"\npassword = \"{SECRET}\"\n[m]\nusername = \"v\"\npassword = \"{SECRET}\"\n"),
    )
    .unwrap();
    set_mode(&t, 0o600);
    let err = CredentialsFile::load(&t).unwrap_err().to_string();
    assert!(err.contains("duplicate key") && err.contains('m'), "{err}");
    assert_clean("toml duplicate error", &err);
}

#[cfg(unix)]
#[test]
fn credentials_file_must_be_a_regular_file_with_clean_ids() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("creds.json");
    assert!(std::process::Command::new("mkfifo")
        .args(["-m", "600"])
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    // Returns at once (opening the FIFO would wait for a writer forever).
    let (tx, rx) = std::sync::mpsc::channel();
    let f = fifo.clone();
    std::thread::spawn(move || {
        tx.send(
            CredentialsFile::load(&f)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        )
    });
    let err = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("loading a FIFO hung")
        .unwrap_err();
    assert!(
        err.contains("FIFO") && err.contains("regular file"),
        "{err}"
    );
    for device in ["/dev/zero", "/dev/null"] {
        let err = CredentialsFile::load(device).unwrap_err().to_string();
        assert!(err.contains("a device"), "{err}");
    }
    let err = CredentialsFile::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("a directory"), "{err}");
    // A byte-order mark is skipped; an id with a control character is refused.
    let p = dir.path().join("bom.json");
    std::fs::write(
        &p,
        "\u{feff}{\"m\": {\"username\": \"u\", \"password\": \"p\"}}",
    )
    .unwrap();
    set_mode(&p, 0o600);
    assert!(CredentialsFile::load(&p).unwrap().contains("m"));
    std::fs::write(
        &p,
        "{\"m\\u001b[2J\": {\"username\": \"u\", \"password\": \"p\"}}",
    )
    .unwrap();
    let err = CredentialsFile::load(&p).unwrap_err().to_string();
    assert!(
        err.contains("control characters") && err.contains("m\\x1b[2J"),
        "{err}"
    );
    assert!(!err.contains('\u{1b}'), "{err}");
}
