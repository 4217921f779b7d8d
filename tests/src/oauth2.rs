//! The local OAuth2 authorization server (npm's oidc-provider, `tests/servers/oauth2/`) for
//! the benchmarks: its public test client, and a device sign-in approved as the person would.

use crate::servers;
use mail_settings_core::oauth2::{OAuth2Client, TokenManager};
use mail_settings_core::{CredentialId, Route};
use std::io::{Read, Write};
use std::time::Duration;

/// `http://127.0.0.1:PORT` of the authorization server.
pub fn issuer() -> String {
    format!(
        "http://127.0.0.1:{}",
        servers().port("MS_OAUTH2_SERVER_PORT")
    )
}

/// The public test client `ms-public` (refresh token grant, device code, PKCE).
pub fn public_client() -> OAuth2Client {
    let mut c = OAuth2Client::custom("test-public", "ms-public", format!("{}/token", issuer()));
    c.device_authorization_url = Some(format!("{}/device/auth", issuer()));
    c.authorization_url = Some(format!("{}/auth", issuer()));
    c.scopes = vec!["openid".into(), "offline_access".into(), "mail".into()];
    c
}

/// Signs `mailbox` in by device code (the user code approved at the server's test route) and
/// keeps its refresh token in `manager`'s token store under credential id `mailbox`.
pub fn device_sign_in(manager: &TokenManager, mailbox: &str) {
    let client = public_client();
    let device = manager
        .start_device_sign_in(&client, &Route::Direct)
        .expect("device authorization");
    approve_device(&device.user_code, mailbox);
    manager
        .finish_device_sign_in(
            &client,
            &device,
            &CredentialId::new(mailbox),
            mailbox,
            &Route::Direct,
            Duration::from_secs(30),
        )
        .expect("device sign-in");
}

/// Approves the device sign-in of `user_code` as `account`, as the person would at the
/// verification page (the server's test route `/test/approve-device`).
pub fn approve_device(user_code: &str, account: &str) {
    let (status, body) = post(
        "/test/approve-device",
        &[("user_code", user_code), ("account", account)],
    );
    assert_eq!(status, 200, "approval refused: {body}");
}

/// A raw HTTP POST of a form to the authorization server: (status, body).
pub fn post(path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut s =
        std::net::TcpStream::connect(("127.0.0.1", servers().port("MS_OAUTH2_SERVER_PORT")))
            .expect("the OAuth2 test server runs");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: \
         application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("post to the OAuth2 test server");
    let mut out = String::new();
    s.read_to_string(&mut out).ok();
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
