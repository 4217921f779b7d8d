//! The credentials file as an OAuth2 token store (keys `username`, `refresh_token`,
//! `client_secret`; rotation written back by atomic replace keeping mode 0600), and secret
//! canaries for refresh tokens, client secrets and access tokens in every output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::credentials::{CredentialProvider, CredentialsFile};
use mail_settings_core::oauth2::{InMemoryTokenStore, OAuth2Client, SignIn, TokenStore};
use mail_settings_core::{CredentialId, ErrorCategory};
use secrecy::{ExposeSecret, SecretString};
use std::io::Write;
use std::sync::Arc;

const REFRESH: &str = "PLANTED-refresh-9c2d";
const NEW_REFRESH: &str = "PLANTED-rotated-41b7";
const CLIENT_SECRET: &str = "PLANTED-client-secret-e83a";

fn file(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    (dir, path)
}

fn json() -> String {
    format!(
        r#"{{"m365": {{"username": "support@contoso.example", "refresh_token": "{REFRESH}"}},
            "app-only": {{"username": "shared@contoso.example"}},
            "m365-secret": {{"client_secret": "{CLIENT_SECRET}"}},
            "plain": {{"username": "bob@example.com", "password": "pw-1"}}}}"#
    )
}

#[test]
fn sign_ins_client_secrets_and_passwords_are_read() {
    let (_d, path) = file("creds.json", &json());
    let f = CredentialsFile::load(&path).unwrap();
    let s = f.load(&CredentialId::new("m365")).unwrap().unwrap();
    assert_eq!(s.username, "support@contoso.example");
    assert_eq!(s.refresh_token.unwrap().expose_secret(), REFRESH);
    let app = f.load(&CredentialId::new("app-only")).unwrap().unwrap();
    assert!(app.refresh_token.is_none());
    assert_eq!(
        f.credential(&CredentialId::new("m365-secret"))
            .unwrap()
            .secret
            .expose(),
        CLIENT_SECRET
    );
    assert_eq!(
        f.credential(&CredentialId::new("plain")).unwrap().username,
        "bob@example.com"
    );
    // A sign-in is known (validation), but it is not a password.
    assert!(f.contains("m365"));
    let e = f.credential(&CredentialId::new("m365")).unwrap_err();
    assert!(e.to_string().contains("OAUTH2"), "{e}");
    assert!(!e.to_string().contains(REFRESH));
    assert!(f.load(&CredentialId::new("plain")).unwrap().is_none());
}

#[test]
fn a_refresh_token_beside_a_password_or_an_empty_entry_is_refused() {
    for text in [
        r#"{"x": {"username": "a", "password": "p", "refresh_token": "PLANTED-refresh-9c2d"}}"#,
        r#"{"x": {"password": "p", "client_secret": "PLANTED-refresh-9c2d"}}"#,
        r#"{"x": {}}"#,
    ] {
        let (_d, path) = file("creds.json", text);
        let e = CredentialsFile::load(&path).unwrap_err();
        assert!(!e.to_string().contains(REFRESH), "{e}");
        assert!(e.to_string().contains("\"x\""), "{e}");
    }
}

fn write_back(name: &str, text: &str) {
    let (_d, path) = file(name, text);
    let f = CredentialsFile::load(&path).unwrap();
    let id = CredentialId::new("m365");
    f.save(
        &id,
        &SignIn {
            username: "support@contoso.example".into(),
            refresh_token: Some(SecretString::from(NEW_REFRESH.to_owned())),
        },
    )
    .unwrap();
    // In memory at once, and in the file: a restart reads the new token.
    assert_eq!(
        f.load(&id)
            .unwrap()
            .unwrap()
            .refresh_token
            .unwrap()
            .expose_secret(),
        NEW_REFRESH
    );
    let again = CredentialsFile::load(&path).unwrap();
    assert_eq!(
        again
            .load(&id)
            .unwrap()
            .unwrap()
            .refresh_token
            .unwrap()
            .expose_secret(),
        NEW_REFRESH
    );
    // Everything else is kept.
    assert_eq!(
        again
            .credential(&CredentialId::new("m365-secret"))
            .unwrap()
            .secret
            .expose(),
        CLIENT_SECRET
    );
    assert_eq!(
        again
            .credential(&CredentialId::new("plain"))
            .unwrap()
            .secret
            .expose(),
        "pw-1"
    );
    // A new sign-in gets an entry of its own.
    f.save(
        &CredentialId::new("new-one"),
        &SignIn {
            username: "new@contoso.example".into(),
            refresh_token: Some(SecretString::from(REFRESH.to_owned())),
        },
    )
    .unwrap();
    assert!(CredentialsFile::load(&path).unwrap().contains("new-one"));
    // A password entry is never overwritten with a sign-in.
    assert!(f
        .save(
            &CredentialId::new("plain"),
            &SignIn {
                username: "x".into(),
                refresh_token: None
            }
        )
        .is_err());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mode kept");
    }
    // No temporary file left behind.
    let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[test]
fn a_rotated_refresh_token_is_written_back_atomically_json() {
    write_back("creds.json", &json());
}

#[test]
fn a_rotated_refresh_token_is_written_back_atomically_toml() {
    let text = format!(
        "[m365]\nusername = \"support@contoso.example\"\nrefresh_token = \"{REFRESH}\"\n\n\
         [m365-secret]\nclient_secret = \"{CLIENT_SECRET}\"\n\n\
         [plain]\nusername = \"bob@example.com\"\npassword = \"pw-1\"\n"
    );
    write_back("creds.toml", &text);
}

#[test]
fn no_refresh_token_or_client_secret_in_debug() {
    let (_d, path) = file("creds.json", &json());
    let f = CredentialsFile::load(&path).unwrap();
    let shown = format!(
        "{f:?} {:?} {:?}",
        f.load(&CredentialId::new("m365")).unwrap(),
        f.credential(&CredentialId::new("m365-secret")).unwrap()
    );
    let store = InMemoryTokenStore::new().with("m365", "support@contoso.example", Some(REFRESH));
    let shown = format!(
        "{shown} {store:?} {:?}",
        store.load(&CredentialId::new("m365"))
    );
    for s in [REFRESH, CLIENT_SECRET] {
        assert!(!shown.contains(s), "{shown}");
    }
    assert!(shown.contains("support@contoso.example"));
}

#[test]
fn presets_fill_the_endpoints_and_scopes() {
    use mail_settings_core::oauth2::{OAuth2Grant, OAuth2Provider};
    let mut c = OAuth2Client::custom("m365", "11111111-2222", "");
    c.token_url = None;
    c.provider = OAuth2Provider::Microsoft {
        tenant: "contoso.onmicrosoft.com".into(),
    };
    let e = c.endpoints().unwrap();
    assert_eq!(
        e.token_url,
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    );
    assert!(e
        .scopes
        .iter()
        .any(|s| s.ends_with("IMAP.AccessAsUser.All")));
    assert!(e.scopes.iter().any(|s| s == "offline_access"));
    c.grant = OAuth2Grant::ClientCredentials;
    assert_eq!(
        c.endpoints().unwrap().scopes,
        vec!["https://outlook.office365.com/.default"]
    );
    c.provider = OAuth2Provider::Google;
    c.grant = OAuth2Grant::RefreshToken;
    let e = c.endpoints().unwrap();
    assert_eq!(e.scopes, vec!["https://mail.google.com/"]);
    assert_eq!(e.token_url, "https://oauth2.googleapis.com/token");
    // CUSTOM needs its token URL.
    let mut c = OAuth2Client::custom("x", "id", "  ");
    c.token_url = None;
    assert_eq!(
        c.endpoints().unwrap_err().category(),
        ErrorCategory::Validation
    );
    // Plain http to a host that is not loopback is refused before anything is sent.
    let manager = Arc::new(mail_settings_core::oauth2::TokenManager::new(
        Some(Arc::new(InMemoryTokenStore::new().with(
            "u",
            "u@x",
            Some(REFRESH),
        ))),
        Arc::new(mail_settings_core::InMemoryCredentials::new()),
    ));
    let creds = mail_settings_core::oauth2::OAuth2Credentials::new(
        Arc::new(mail_settings_core::InMemoryCredentials::new()),
        manager,
    );
    creds
        .bind(
            &CredentialId::new("u"),
            OAuth2Client::custom("plain", "id", "http://auth.example.com/token"),
            mail_settings_core::Route::Direct,
        )
        .unwrap();
    let e = creds.credential(&CredentialId::new("u")).unwrap_err();
    assert_eq!(e.category(), ErrorCategory::Tls, "{e}");
    assert!(!e.to_string().contains(REFRESH));
}
