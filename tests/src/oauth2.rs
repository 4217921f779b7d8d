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
    let body = format!(
        "user_code={}&account={}",
        device.user_code,
        mailbox.replace('@', "%40")
    );
    let mut s =
        std::net::TcpStream::connect(("127.0.0.1", servers().port("MS_OAUTH2_SERVER_PORT")))
            .expect("the OAuth2 test server runs");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    write!(
        s,
        "POST /test/approve-device HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("approve");
    let mut out = String::new();
    s.read_to_string(&mut out).ok();
    assert!(out.starts_with("HTTP/1.1 200"), "approval refused: {out}");
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
