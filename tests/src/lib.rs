//! Harness for the integration tests: the real local servers of `tests/servers/`.
//!
//! [`servers()`] runs `tests/servers/start.sh` once per test process (it is idempotent and
//! locks against concurrent callers), then reads `tests/servers/ports.env`. Tests name ports by
//! their key there (`MS_IMAPS_PORT`), use their own mailbox ([`unique_mailbox`]) so that tests
//! running at once never see each other's mail, and get the passwords through a
//! [`CredentialProvider`](mail_settings_core::CredentialProvider) like any host would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod oauth2;
pub mod procfs;
pub mod seed;

use mail_settings_core::{Credential, InMemoryCredentials};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The running local servers.
#[derive(Debug)]
pub struct Servers {
    /// `MS_SERVERS_DIR`: config, state, logs, certificates.
    pub dir: PathBuf,
    /// Every KEY=VALUE of ports.env (after the environment override of MS_SERVERS_DIR).
    pub env: HashMap<String, String>,
}

impl Servers {
    /// A port by its ports.env key, e.g. `MS_IMAPS_PORT`.
    pub fn port(&self, key: &str) -> u16 {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("{key} is not in tests/servers/ports.env"))
            .parse()
            .unwrap_or_else(|_| panic!("{key} is not a port"))
    }

    /// A value by its ports.env key.
    pub fn value(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("{key} is not in tests/servers/ports.env"))
    }

    /// The test CA certificate (PEM) that signed the valid, expired and wrong-host certificates.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("certs").join("ca.pem")
    }

    /// The mail domain (`example.test`).
    pub fn domain(&self) -> &str {
        self.value("MS_MAIL_DOMAIN")
    }

    /// The password every mailbox accepts.
    pub fn mail_password(&self) -> &str {
        self.value("MS_MAIL_PASSWORD")
    }

    /// A provider that knows `mailbox` (credential id = the address) with the right password,
    /// `wrong-password` (same mailbox, wrong password), and `proxy` (the proxies' user).
    pub fn credentials_for(&self, mailbox: &str) -> InMemoryCredentials {
        InMemoryCredentials::new()
            .with(mailbox, Credential::password(mailbox, self.mail_password()))
            .with(
                "wrong-password",
                Credential::password(mailbox, "not-the-password"),
            )
            .with(
                "proxy",
                Credential::password(self.value("MS_PROXY_USER"), self.value("MS_PROXY_PASSWORD")),
            )
            .with(
                "wrong-proxy",
                Credential::password(self.value("MS_PROXY_USER"), "nope"),
            )
    }
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn read_env(path: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut env = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            env.insert(k.trim().to_owned(), v.trim().trim_matches('"').to_owned());
        }
    }
    if let Ok(dir) = std::env::var("MS_SERVERS_DIR") {
        env.insert("MS_SERVERS_DIR".to_owned(), dir);
    }
    env
}

/// Starts the local servers once per process (idempotent script) and returns their map.
/// Panics with the script's output when they cannot be started: a test that needs a real
/// server must fail, not pass, when there is none.
pub fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let root = repo_root();
        let script = root.join("tests/servers/start.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .expect("run tests/servers/start.sh");
        assert!(
            out.status.success(),
            "tests/servers/start.sh failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env = read_env(&root.join("tests/servers/ports.env"));
        let dir = PathBuf::from(&env["MS_SERVERS_DIR"]);
        Servers { dir, env }
    })
}

/// A mailbox address no other test uses: `{prefix}-{pid}-{n}-{nanos}@example.test`.
pub fn unique_mailbox(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let domain = servers().domain().to_owned();
    format!("{prefix}-{}-{n}-{nanos:x}@{domain}", std::process::id())
}

/// Messages in `mailbox`'s Maildir (`new` and `cur`), as Dovecot stores them.
pub fn maildir_count(mailbox: &str) -> usize {
    let (local, domain) = mailbox.split_once('@').expect("mailbox is local@domain");
    let root = servers()
        .dir
        .join("mail")
        .join(domain)
        .join(local)
        .join("Maildir");
    ["new", "cur"]
        .iter()
        .map(|d| {
            std::fs::read_dir(root.join(d))
                .map(|it| it.count())
                .unwrap_or(0)
        })
        .sum()
}

/// Delivers `raw_message` (RFC 5322, any line ends) to `mailbox` through the local Postfix
/// (`MS_SMTP_PORT`, clear text, no AUTH: 127.0.0.1 is in its `mynetworks`), then waits until
/// Dovecot has stored it (the mailbox's Maildir holds one more message), at most 30 s.
pub fn deliver(mailbox: &str, raw_message: &[u8]) {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    let before = maildir_count(mailbox);
    let port = servers().port("MS_SMTP_PORT");
    let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect to Postfix");
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut w = tcp.try_clone().unwrap();
    let mut r = BufReader::new(tcp);
    let mut reply = |expect: &str| {
        let mut last = String::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).expect("read an SMTP reply");
            assert!(line.len() >= 4, "short SMTP reply {line:?}");
            let more = line.as_bytes()[3] == b'-';
            last.push_str(&line);
            if !more {
                break;
            }
        }
        assert!(
            last.starts_with(expect),
            "SMTP: expected {expect}, got {last:?}"
        );
    };
    reply("220");
    let mut send = |cmd: &str| {
        w.write_all(cmd.as_bytes()).unwrap();
        w.write_all(b"\r\n").unwrap();
    };
    send("EHLO tests.example.test");
    reply("250");
    send("MAIL FROM:<sender@example.test>");
    reply("250");
    send(&format!("RCPT TO:<{mailbox}>"));
    reply("250");
    send("DATA");
    reply("354");
    // CRLF line ends and dot-stuffing.
    let text = String::from_utf8_lossy(raw_message).replace("\r\n", "\n");
    let mut data = String::new();
    for line in text.split_terminator('\n') {
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push('.');
    send(&data);
    reply("250");
    send("QUIT");
    reply("221");

    let started = Instant::now();
    while maildir_count(mailbox) <= before {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the message to {mailbox} was not stored within 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Delivers `raw` byte for byte (only dot-stuffed; CRLF line endings expected) into `mailbox`
/// straight through Dovecot's LMTP, with `envelope_from` as the envelope sender (Dovecot writes
/// it as `Return-Path`). Synchronous: the message is stored when this returns. For tests that
/// compare stored bytes with sent ones. Panics when the server refuses.
pub fn lmtp_deliver(envelope_from: &str, mailbox: &str, raw: &[u8]) {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    fn reply(r: &mut impl BufRead, expect: u16) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = r.read_line(&mut line).expect("read LMTP reply");
            assert!(n > 0, "LMTP server closed the connection; so far: {all}");
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                break;
            }
        }
        assert!(
            all.starts_with(&expect.to_string()),
            "LMTP: expected {expect}, got {all}"
        );
        all
    }

    let port = servers().port("MS_LMTP_PORT");
    let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect to LMTP");
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    tcp.set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut w = tcp.try_clone().unwrap();
    let mut r = BufReader::new(tcp);
    reply(&mut r, 220);
    let cmd = |w: &mut TcpStream, r: &mut BufReader<TcpStream>, line: &str, expect: u16| {
        w.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        reply(r, expect)
    };
    cmd(&mut w, &mut r, "LHLO localhost", 250);
    cmd(&mut w, &mut r, &format!("MAIL FROM:<{envelope_from}>"), 250);
    cmd(&mut w, &mut r, &format!("RCPT TO:<{mailbox}>"), 250);
    cmd(&mut w, &mut r, "DATA", 354);
    let mut data = Vec::with_capacity(raw.len() + 8);
    let mut at_start = true;
    for &b in raw {
        if at_start && b == b'.' {
            data.push(b'.');
        }
        data.push(b);
        at_start = b == b'\n';
    }
    if !at_start {
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(b".\r\n");
    w.write_all(&data).unwrap();
    reply(&mut r, 250);
    cmd(&mut w, &mut r, "QUIT", 221);
}

/// How a test account reaches its server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// Directly.
    Direct,
    /// Dante SOCKS5 without authentication.
    Socks5,
    /// Dante SOCKS5 with user/password (credential id `proxy`).
    Socks5Auth,
    /// tinyproxy HTTP CONNECT without authentication.
    Http,
    /// tinyproxy HTTP CONNECT with Basic auth (credential id `proxy`).
    HttpAuth,
}

impl Via {
    /// Every route.
    pub const ALL: [Via; 5] = [
        Via::Direct,
        Via::Socks5,
        Via::Socks5Auth,
        Via::Http,
        Via::HttpAuth,
    ];

    /// The connector form (id 1) for this route, `None` for direct.
    pub fn connector(self) -> Option<mail_settings_core::NetworkConnectorForm> {
        use mail_settings_core::ConnectorKind;
        let (kind, key, credential) = match self {
            Via::Direct => return None,
            Via::Socks5 => (ConnectorKind::Socks5, "MS_SOCKS5_PORT", None),
            Via::Socks5Auth => (ConnectorKind::Socks5, "MS_SOCKS5_AUTH_PORT", Some("proxy")),
            Via::Http => (ConnectorKind::HttpConnect, "MS_HTTP_PROXY_PORT", None),
            Via::HttpAuth => (
                ConnectorKind::HttpConnect,
                "MS_HTTP_PROXY_AUTH_PORT",
                Some("proxy"),
            ),
        };
        Some(mail_settings_core::NetworkConnectorForm {
            id: Some(1),
            name: format!("{self:?}"),
            kind: Some(kind),
            host: "127.0.0.1".into(),
            port: Some(i64::from(servers().port(key))),
            credential: credential.map(str::to_owned),
            ..Default::default()
        })
    }
}

/// Which server certificate a port serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cert {
    /// Valid for localhost, signed by the test CA.
    Valid,
    /// Self-signed for localhost.
    SelfSigned,
    /// Expired, signed by the test CA.
    Expired,
    /// For wrong.example, signed by the test CA.
    WrongHost,
}

impl Cert {
    /// The three bad ones.
    pub const BAD: [Cert; 3] = [Cert::SelfSigned, Cert::Expired, Cert::WrongHost];

    fn infix(self) -> &'static str {
        match self {
            Cert::Valid => "",
            Cert::SelfSigned => "_SELFSIGNED",
            Cert::Expired => "_EXPIRED",
            Cert::WrongHost => "_WRONGHOST",
        }
    }
}

/// The ports.env key of a server port: `service` is `IMAP`, `POP3` or `SMTP`; `implicit` picks
/// the implicit-TLS port (IMAPS, POP3S, SMTPS).
pub fn port_key(service: &str, implicit: bool, cert: Cert) -> String {
    let s = if implicit { "S" } else { "" };
    format!("MS_{service}{s}{}_PORT", cert.infix())
}

/// `Some(SSL)`, `Some(TLS)` or `None` (clear text): the three security settings.
pub const SECURITIES: [Option<mail_settings_core::SecureConnectionType>; 3] = [
    Some(mail_settings_core::SecureConnectionType::Ssl),
    Some(mail_settings_core::SecureConnectionType::Tls),
    None,
];

/// An incoming account form for `mailbox` (credential id = the address) on localhost, with the
/// port for the security and certificate, trusting the test CA, through `via`. Returns the
/// form and the connectors it needs.
pub fn incoming_form(
    protocol: mail_settings_core::Protocol,
    mailbox: &str,
    security: Option<mail_settings_core::SecureConnectionType>,
    cert: Cert,
    via: Via,
) -> (
    mail_settings_core::IncomingAccountForm,
    Vec<mail_settings_core::NetworkConnectorForm>,
) {
    use mail_settings_core::{Protocol, SecureConnectionType};
    let service = if protocol == Protocol::Pop3 {
        "POP3"
    } else {
        "IMAP"
    };
    let implicit = security == Some(SecureConnectionType::Ssl);
    let conn = via.connector();
    let form = mail_settings_core::IncomingAccountForm {
        name: format!("{service} {security:?} {cert:?} {via:?}"),
        protocol: Some(protocol),
        host: "localhost".into(),
        port: Some(i64::from(
            servers().port(&port_key(service, implicit, cert)),
        )),
        credential: Some(mailbox.to_owned()),
        use_secure_connection: security.is_some(),
        secure_connection_type: security.unwrap_or(SecureConnectionType::Ssl),
        ca_file: Some(servers().ca_file()),
        use_network_connector: conn.is_some(),
        network_connector: conn.as_ref().and_then(|c| c.id),
        ..Default::default()
    };
    (form, conn.into_iter().collect())
}

/// [`incoming_form`], validated.
pub fn incoming_account(
    protocol: mail_settings_core::Protocol,
    mailbox: &str,
    security: Option<mail_settings_core::SecureConnectionType>,
    cert: Cert,
    via: Via,
    verify: bool,
) -> mail_settings_core::IncomingAccount {
    let (mut form, connectors) = incoming_form(protocol, mailbox, security, cert, via);
    form.skip_certificate = !verify;
    let ctx = mail_settings_core::ValidationContext::standalone().with_connectors(&connectors);
    mail_settings_core::IncomingAccount::from_form(&form, &ctx).unwrap()
}

/// An SMTP account sending as `mailbox` (credential id = the address), like
/// [`incoming_account`].
pub fn smtp_account(
    mailbox: &str,
    security: Option<mail_settings_core::SecureConnectionType>,
    cert: Cert,
    via: Via,
    verify: bool,
) -> mail_settings_core::SmtpAccount {
    use mail_settings_core::SecureConnectionType;
    let implicit = security == Some(SecureConnectionType::Ssl);
    let conn = via.connector();
    let form = mail_settings_core::SmtpAccountForm {
        name: format!("SMTP {security:?} {cert:?} {via:?}"),
        host: "localhost".into(),
        port: Some(i64::from(servers().port(&port_key("SMTP", implicit, cert)))),
        sender_email: mailbox.to_owned(),
        credential: Some(mailbox.to_owned()),
        use_secure_connection: security.is_some(),
        secure_connection_type: security.unwrap_or(SecureConnectionType::Ssl),
        skip_certificate_errors: !verify,
        ca_file: Some(servers().ca_file()),
        use_network_connector: conn.is_some(),
        network_connector: conn.as_ref().and_then(|c| c.id),
        ..Default::default()
    };
    let connectors: Vec<_> = conn.into_iter().collect();
    let ctx = mail_settings_core::ValidationContext::standalone().with_connectors(&connectors);
    mail_settings_core::SmtpAccount::from_form(&form, &ctx).unwrap()
}
