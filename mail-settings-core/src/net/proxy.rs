//! Network connectors: the SOCKS5 (RFC 1928, with RFC 1929 user/password) and HTTP CONNECT
//! (RFC 9110 §9.3.6, with Basic `Proxy-Authorization`) handshakes that turn a TCP connection to
//! a proxy into a tunnel to the mail server.
//!
//! Host names are sent to the proxy as names (SOCKS5 ATYP 3, HTTP `CONNECT host:port`): the
//! proxy resolves them, since it is on the network that can. Failures are
//! [`ErrorCategory::Proxy`] errors naming the [`ProxyHop`] that failed and the proxy (`SOCKS5
//! proxy 127.0.0.1:11081 rejected the user name and password`), never the password.
//!
//! Replies are read through the shared bounded reader ([`super::reader`]) with a one-byte
//! buffer, so nothing past the proxy's reply is read: a server greeting that arrives in the same
//! packet stays in the socket for the protocol driver. SOCKS5 replies have fixed sizes (at most
//! 4 + 1 + 255 + 2 bytes); an HTTP response head is at most [`MAX_HTTP_RESPONSE_HEAD`] bytes,
//! and one that runs on is refused as too large. The whole handshake is bounded by
//! [`Timeouts::read`].

use super::reader::{BoundedReader, ReadError};
use super::{connect_tcp, nonzero, resolve, Deadline, Timeouts};
use crate::credentials::{Credential, CredentialProvider, Secret};
use crate::error::{ConnectionError, ErrorCategory, ProxyHop};
use crate::model::ConnectorKind;
use crate::typed::{Endpoint, Host, NetworkConnector};
use base64::Engine as _;
use secrecy::zeroize::Zeroize;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};

/// Largest HTTP CONNECT response head we read.
pub const MAX_HTTP_RESPONSE_HEAD: usize = 16 * 1024;

/// How the proxy is named in messages: `SOCKS5 proxy 127.0.0.1:11081`, with the connector's
/// name when it is a stored one.
pub fn describe(connector: &NetworkConnector) -> String {
    let kind = match connector.kind() {
        ConnectorKind::Socks5 => "SOCKS5",
        _ => "HTTP",
    };
    match connector.id() {
        Some(_) => format!(
            "{kind} proxy \"{}\" ({})",
            connector.name(),
            connector.endpoint()
        ),
        None => format!("{kind} proxy {}", connector.endpoint()),
    }
}

fn unreachable(label: &str, e: &ConnectionError) -> ConnectionError {
    ConnectionError::proxy(
        ProxyHop::ProxyUnreachable,
        format!("cannot reach the {label}: {}", e.message()),
    )
}

/// Resolves the proxy's own address. Failure is [`ProxyHop::ProxyUnreachable`].
pub fn resolve_proxy(
    connector: &NetworkConnector,
    timeouts: &Timeouts,
) -> Result<Vec<SocketAddr>, ConnectionError> {
    resolve(connector.endpoint(), timeouts).map_err(|e| unreachable(&describe(connector), &e))
}

/// Opens the TCP connection to the proxy. Any failure (refused, no answer) is
/// [`ProxyHop::ProxyUnreachable`].
pub fn connect_proxy(
    connector: &NetworkConnector,
    addrs: &[SocketAddr],
    timeouts: &Timeouts,
) -> Result<TcpStream, ConnectionError> {
    connect_tcp(addrs, timeouts).map_err(|e| unreachable(&describe(connector), &e))
}

/// Resolves and connects to the proxy, then asks it for a tunnel to `target`.
pub fn open(
    connector: &NetworkConnector,
    target: &Endpoint,
    creds: &dyn CredentialProvider,
    timeouts: &Timeouts,
) -> Result<TcpStream, ConnectionError> {
    let addrs = resolve_proxy(connector, timeouts)?;
    let mut tcp = connect_proxy(connector, &addrs, timeouts)?;
    handshake(&mut tcp, connector, target, creds, timeouts)?;
    Ok(tcp)
}

/// The proxy handshake on an open connection to the proxy: afterwards `tcp` is a tunnel to
/// `target`. The connector's credential (a password; an OAuth2 token is refused) comes from
/// `creds`. The whole handshake is bounded by [`Timeouts::read`].
pub fn handshake(
    tcp: &mut TcpStream,
    connector: &NetworkConnector,
    target: &Endpoint,
    creds: &dyn CredentialProvider,
    timeouts: &Timeouts,
) -> Result<(), ConnectionError> {
    let label = describe(connector);
    let credential = proxy_credential(connector, creds, &label)?;
    let deadline = Deadline::after(timeouts.read, timeouts.read);
    run_handshake(
        &mut *tcp,
        connector.kind(),
        &label,
        deadline,
        timeouts,
        target,
        credential.as_ref(),
    )?;
    tcp.set_read_timeout(Some(nonzero(timeouts.read)))
        .map_err(|e| hs_io_error(&label, e, timeouts))?;
    tracing::debug!(proxy = %label, %target, "proxy tunnel open");
    Ok(())
}

fn run_handshake<S: HandshakeStream>(
    tcp: &mut S,
    kind: ConnectorKind,
    label: &str,
    deadline: Deadline,
    timeouts: &Timeouts,
    target: &Endpoint,
    credential: Option<&Credential>,
) -> Result<(), ConnectionError> {
    let mut hs = Handshake {
        tcp,
        label,
        deadline,
        timeouts,
    };
    match kind {
        ConnectorKind::Socks5 => hs.socks5(target, credential),
        _ => hs.http_connect(target, credential),
    }
}

/// What a handshake needs of its connection: reads and writes, each read bounded by what is
/// left of the handshake's deadline.
pub(crate) trait HandshakeStream: Read + Write {
    /// Bounds the next read by what is left of `deadline`.
    fn arm(&mut self, deadline: &Deadline) -> io::Result<()>;
}

impl HandshakeStream for TcpStream {
    fn arm(&mut self, deadline: &Deadline) -> io::Result<()> {
        deadline.arm(self)
    }
}

/// A handshake stream as a plain `Read` whose every read is armed with the deadline first.
struct Armed<'s, S: HandshakeStream> {
    tcp: &'s mut S,
    deadline: Deadline,
}

impl<S: HandshakeStream> Read for Armed<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.arm(&self.deadline)?;
        self.tcp.read(buf)
    }
}

/// A proxy's side of a handshake in memory, for fuzzing: its bytes are read in chunks of at
/// most `chunk`; what the client writes is dropped.
struct Scripted<'a> {
    input: &'a [u8],
    chunk: usize,
}

impl Read for Scripted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl Write for Scripted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl HandshakeStream for Scripted<'_> {
    fn arm(&mut self, _deadline: &Deadline) -> io::Result<()> {
        Ok(())
    }
}

/// Fuzzing entry point (not API): runs the client side of a SOCKS5 (`http` false) or HTTP
/// CONNECT handshake against `reply` as the proxy's bytes, read `chunk` bytes at a time, with
/// or without a proxy credential. Returns whether the tunnel opened, and how many of the
/// proxy's bytes were left unread (the server's first bytes, which must stay for the driver).
#[doc(hidden)]
pub fn fuzz_handshake(
    http: bool,
    reply: &[u8],
    chunk: usize,
    with_credential: bool,
) -> (bool, usize) {
    let kind = if http {
        ConnectorKind::HttpConnect
    } else {
        ConnectorKind::Socks5
    };
    let credential = with_credential.then(|| Credential::password("user", "fuzz-secret"));
    let target = Endpoint {
        host: Host::Domain("mail.example.test".to_owned()),
        port: 993,
    };
    let timeouts = Timeouts::default();
    let mut stream = Scripted {
        input: reply,
        chunk: chunk.max(1),
    };
    let ok = run_handshake(
        &mut stream,
        kind,
        "fuzzed proxy",
        Deadline::after(timeouts.read, timeouts.read),
        &timeouts,
        &target,
        credential.as_ref(),
    )
    .is_ok();
    (ok, stream.input.len())
}

fn proxy_credential(
    connector: &NetworkConnector,
    creds: &dyn CredentialProvider,
    label: &str,
) -> Result<Option<Credential>, ConnectionError> {
    let Some(id) = connector.credential() else {
        return Ok(None);
    };
    let credential = creds.credential(id).map_err(|e| {
        ConnectionError::new(ErrorCategory::Credential, format!("{label}: {e}")).with_source(e)
    })?;
    match credential.secret {
        Secret::Password(_) => Ok(Some(credential)),
        _ => Err(ConnectionError::new(
            ErrorCategory::Credential,
            format!(
                "{label}: the proxy credential \"{id}\" must hold a password, not an OAuth2 token"
            ),
        )),
    }
}

fn hs_io_error(label: &str, e: io::Error, timeouts: &Timeouts) -> ConnectionError {
    if super::is_timeout_error(&e) {
        return ConnectionError::timeout(
            &format!("waiting for the {label} to answer"),
            timeouts.read,
        )
        .with_source(e);
    }
    let what = match e.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => "closed the connection during the handshake".to_owned(),
        _ => format!("failed during the handshake: {e}"),
    };
    ConnectionError::proxy(ProxyHop::ProxyRefused, format!("the {label} {what}"))
        .with_advice(
            "the proxy ended the handshake without an answer: check the connector's kind (SOCKS5 \
             or HTTP) and port, and the proxy's log (it may refuse this client)",
        )
        .with_source(e)
}

struct Handshake<'a, S: HandshakeStream> {
    tcp: &'a mut S,
    label: &'a str,
    deadline: Deadline,
    timeouts: &'a Timeouts,
}

const SOCKS_VERSION: u8 = 5;
const SOCKS_NO_AUTH: u8 = 0;
const SOCKS_USER_PASS: u8 = 2;
const SOCKS_NO_ACCEPTABLE: u8 = 0xFF;

impl<S: HandshakeStream> Handshake<'_, S> {
    fn io(&self, e: io::Error) -> ConnectionError {
        hs_io_error(self.label, e, self.timeouts)
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), ConnectionError> {
        self.tcp
            .write_all(bytes)
            .and_then(|()| self.tcp.flush())
            .map_err(|e| hs_io_error(self.label, e, self.timeouts))
    }

    /// The proxy's bytes through the shared bounded reader, with a one-byte buffer: it never
    /// reads past what the handshake asks for, so the server's first bytes stay in the socket
    /// for the protocol driver. Each read is bounded by what is left of the deadline.
    fn reader(&mut self) -> BoundedReader<Armed<'_, S>> {
        BoundedReader::with_capacity(
            Armed {
                tcp: &mut *self.tcp,
                deadline: self.deadline,
            },
            1,
        )
    }

    fn recv_exact(&mut self, buf: &mut [u8]) -> Result<(), ConnectionError> {
        let n = buf.len() as u64;
        let mut out: &mut [u8] = buf;
        let r = self.reader().copy_exact(n, &mut out);
        r.map_err(|e| self.io(e.into()))
    }

    fn not_socks(&self) -> ConnectionError {
        not_socks(self.label)
    }

    fn socks5(
        &mut self,
        target: &Endpoint,
        credential: Option<&Credential>,
    ) -> Result<(), ConnectionError> {
        // Method selection: offer user/password only when we have one.
        if credential.is_some() {
            self.send(&[SOCKS_VERSION, 2, SOCKS_NO_AUTH, SOCKS_USER_PASS])?;
        } else {
            self.send(&[SOCKS_VERSION, 1, SOCKS_NO_AUTH])?;
        }
        let mut choice = [0u8; 2];
        self.recv_exact(&mut choice)?;
        if choice[0] != SOCKS_VERSION {
            return Err(self.not_socks());
        }
        match (choice[1], credential) {
            (SOCKS_NO_AUTH, _) => {}
            (SOCKS_USER_PASS, Some(c)) => self.socks5_user_pass(c)?,
            (SOCKS_NO_ACCEPTABLE, None) => {
                return Err(ConnectionError::proxy(
                    ProxyHop::ProxyAuth,
                    format!(
                        "the {} requires a user name and password: give the network connector a credential",
                        self.label
                    ),
                ))
            }
            (SOCKS_NO_ACCEPTABLE, Some(_)) => {
                return Err(ConnectionError::proxy(
                    ProxyHop::ProxyAuth,
                    format!(
                        "the {} accepts neither no authentication nor user name and password",
                        self.label
                    ),
                ))
            }
            _ => return Err(self.not_socks()),
        }

        // CONNECT request.
        let mut req = vec![SOCKS_VERSION, 1, 0];
        match &target.host {
            Host::Ipv4(a) => {
                req.push(1);
                req.extend_from_slice(&a.octets());
            }
            Host::Ipv6(a) => {
                req.push(4);
                req.extend_from_slice(&a.octets());
            }
            Host::Domain(d) => {
                let len = u8::try_from(d.len()).map_err(|_| {
                    ConnectionError::new(
                        ErrorCategory::Protocol,
                        format!("host name of {target} is too long for SOCKS5"),
                    )
                })?;
                req.push(3);
                req.push(len);
                req.extend_from_slice(d.as_bytes());
            }
        }
        req.extend_from_slice(&target.port.to_be_bytes());
        self.send(&req)?;

        let mut head = [0u8; 4];
        self.recv_exact(&mut head)?;
        if head[0] != SOCKS_VERSION {
            return Err(self.not_socks());
        }
        if head[1] != 0 {
            return Err(socks_reply_error(self.label, head[1], target));
        }
        // BND.ADDR and BND.PORT: read exactly them, nothing more.
        let addr_len = match head[3] {
            1 => 4,
            4 => 16,
            3 => {
                let mut l = [0u8; 1];
                self.recv_exact(&mut l)?;
                usize::from(l[0])
            }
            _ => return Err(self.not_socks()),
        };
        let mut rest = vec![0u8; addr_len + 2];
        self.recv_exact(&mut rest)?;
        Ok(())
    }

    fn socks5_user_pass(&mut self, c: &Credential) -> Result<(), ConnectionError> {
        let user = c.username.as_bytes();
        let pass = c.secret.expose().as_bytes();
        let (Ok(ulen), Ok(plen)) = (u8::try_from(user.len()), u8::try_from(pass.len())) else {
            return Err(ConnectionError::proxy(
                ProxyHop::ProxyAuth,
                format!(
                    "the {}: SOCKS5 user names and passwords are at most 255 bytes",
                    self.label
                ),
            ));
        };
        if ulen == 0 || plen == 0 {
            return Err(ConnectionError::proxy(
                ProxyHop::ProxyAuth,
                format!(
                    "the {}: SOCKS5 needs a non-empty user name and password",
                    self.label
                ),
            ));
        }
        let mut req = Vec::with_capacity(3 + user.len() + pass.len());
        req.push(1);
        req.push(ulen);
        req.extend_from_slice(user);
        req.push(plen);
        req.extend_from_slice(pass);
        let sent = self.send(&req);
        req.zeroize();
        sent?;
        let mut status = [0u8; 2];
        self.recv_exact(&mut status)?;
        if status[1] != 0 {
            return Err(ConnectionError::proxy(
                ProxyHop::ProxyAuth,
                format!("{} rejected the user name and password", self.label),
            ));
        }
        Ok(())
    }

    fn http_connect(
        &mut self,
        target: &Endpoint,
        credential: Option<&Credential>,
    ) -> Result<(), ConnectionError> {
        let authority = target.to_string();
        let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some(c) = credential {
            let mut plain = format!("{}:{}", c.username, c.secret.expose());
            let mut encoded = base64::engine::general_purpose::STANDARD.encode(plain.as_bytes());
            plain.zeroize();
            req.push_str("Proxy-Authorization: Basic ");
            req.push_str(&encoded);
            req.push_str("\r\n");
            encoded.zeroize();
        }
        req.push_str("\r\n");
        let sent = self.send(req.as_bytes());
        req.zeroize();
        sent?;

        let head = self.read_http_head()?;
        let text = String::from_utf8_lossy(&head);
        let status_line = text.lines().next().unwrap_or("").trim();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        let code = parts.next().and_then(|c| c.parse::<u16>().ok());
        let reason = printable(parts.next().unwrap_or(""));
        let Some(code) = code.filter(|_| version.starts_with("HTTP/")) else {
            return Err(ConnectionError::proxy(
                ProxyHop::ProxyRefused,
                format!(
                    "the {} answered with something that is not HTTP: it is not an HTTP proxy",
                    self.label
                ),
            )
            .with_advice(NOT_THE_KIND));
        };
        let status = if reason.is_empty() {
            code.to_string()
        } else {
            format!("{code} {reason}")
        };
        let label = self.label;
        match code {
            200..=299 => Ok(()),
            401 | 407 if credential.is_some() => Err(ConnectionError::proxy(
                ProxyHop::ProxyAuth,
                format!("{label} rejected the user name and password ({status})"),
            )),
            401 | 407 => Err(ConnectionError::proxy(
                ProxyHop::ProxyAuth,
                format!(
                    "{label} requires a user name and password: give the network connector a credential ({status})"
                ),
            )),
            // tinyproxy answers `500 Unable to connect` when the target cannot be reached.
            502..=504 | 500 if code != 500 || reason.to_ascii_lowercase().contains("connect") => {
                Err(ConnectionError::proxy(
                ProxyHop::TargetUnreachable,
                    format!("{label} could not reach {target} ({status})"),
                ))
            }
            _ => Err(ConnectionError::proxy(
                ProxyHop::ProxyRefused,
                format!("{label} refused to connect to {target} ({status})"),
            )),
        }
    }

    /// Reads the response head up to and including the empty line, and not one byte more,
    /// line by line through the shared bounded reader: at most [`MAX_HTTP_RESPONSE_HEAD`]
    /// bytes in all. Returns the head's lines, each ended by CRLF.
    fn read_http_head(&mut self) -> Result<Vec<u8>, ConnectionError> {
        let mut head: Vec<u8> = Vec::with_capacity(256);
        let mut line = Vec::new();
        let mut reader = self.reader();
        let result = loop {
            let left = MAX_HTTP_RESPONSE_HEAD.saturating_sub(head.len() + 2);
            match reader.read_line_into(&mut line, left) {
                Ok(()) if line.is_empty() && !head.is_empty() => break Ok(()),
                Ok(()) => {
                    head.extend_from_slice(&line);
                    head.extend_from_slice(b"\r\n");
                }
                Err(e) => break Err(e),
            }
        };
        drop(reader);
        match result {
            Ok(()) => Ok(head),
            Err(ReadError::TooLong { .. }) => Err(too_large(self.label)),
            Err(e) => Err(self.io(e.into())),
        }
    }
}

/// The advice when what answered is not the kind of proxy the connector names.
const NOT_THE_KIND: &str = "what answers at the connector's address is not that kind of proxy \
     (another kind of proxy, or another service): check the connector's kind (SOCKS5 or HTTP) \
     and port";

fn not_socks(label: &str) -> ConnectionError {
    ConnectionError::proxy(
        ProxyHop::ProxyRefused,
        format!(
            "the {label} answered with something that is not SOCKS5: it is not a SOCKS5 server"
        ),
    )
    .with_advice(NOT_THE_KIND)
}

fn too_large(label: &str) -> ConnectionError {
    ConnectionError::proxy(
        ProxyHop::ProxyRefused,
        format!(
            "the {label}'s reply to CONNECT is too large: its head is over \
             {MAX_HTTP_RESPONSE_HEAD} bytes without ending"
        ),
    )
    .with_advice(
        "the proxy's reply was too large to be an answer to CONNECT: check the connector's kind \
         (SOCKS5 or HTTP) and port, and the proxy",
    )
}

fn socks_reply_error(label: &str, code: u8, target: &Endpoint) -> ConnectionError {
    let (hop, what) = match code {
        1 => (ProxyHop::ProxyRefused, "general SOCKS server failure"),
        2 => (ProxyHop::ProxyRefused, "connection not allowed by ruleset"),
        3 => (ProxyHop::TargetUnreachable, "network unreachable"),
        4 => (ProxyHop::TargetUnreachable, "host unreachable"),
        5 => (ProxyHop::TargetUnreachable, "connection refused"),
        6 => (ProxyHop::TargetUnreachable, "TTL expired"),
        7 => (ProxyHop::ProxyRefused, "command not supported"),
        8 => (ProxyHop::ProxyRefused, "address type not supported"),
        _ => (ProxyHop::ProxyRefused, "unknown reply code"),
    };
    let message = match hop {
        ProxyHop::TargetUnreachable => {
            format!("{label} could not reach {target} ({what}, SOCKS5 reply {code})")
        }
        _ => format!("{label} refused to connect to {target} ({what}, SOCKS5 reply {code})"),
    };
    let advice = match code {
        1 => Some("the proxy reported a failure of its own: see the proxy's log"),
        7 | 8 => Some(
            "the proxy does not support this kind of request: check the connector's kind, or \
             give the server as an IP address",
        ),
        2..=6 => None,
        _ => Some("the proxy answered with a reply code SOCKS5 does not define: check the proxy"),
    };
    let e = ConnectionError::proxy(hop, message);
    match advice {
        Some(a) => e.with_advice(a),
        None => e,
    }
}

/// Printable ASCII of a server's text, at most 200 characters.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(200)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::credentials::InMemoryCredentials;
    use std::net::TcpListener;

    fn target() -> Endpoint {
        Endpoint::parse("mail.example.test", 110).unwrap()
    }

    fn listener() -> (TcpListener, Endpoint) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        (l, Endpoint::parse("127.0.0.1", port).unwrap())
    }

    #[test]
    fn http_connect_keeps_bytes_after_the_head() {
        let (l, ep) = listener();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 1024];
            let mut got = Vec::new();
            while !got.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            // Head and greeting in one write: the greeting must stay for the driver.
            s.write_all(b"HTTP/1.1 200 Connection established\r\nX-A: b\r\n\r\n+OK hello\r\n")
                .unwrap();
            String::from_utf8(got).unwrap()
        });
        let connector = NetworkConnector::new(ConnectorKind::HttpConnect, ep, None);
        let creds = InMemoryCredentials::new();
        let mut tcp = open(&connector, &target(), &creds, &Timeouts::default()).unwrap();
        let request = server.join().unwrap();
        assert!(request.starts_with("CONNECT mail.example.test:110 HTTP/1.1\r\n"));
        let mut rest = String::new();
        tcp.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "+OK hello\r\n");
    }

    #[test]
    fn socks5_sends_the_host_name_and_maps_reply_codes() {
        for (code, hop) in [
            (2u8, ProxyHop::ProxyRefused),
            (5, ProxyHop::TargetUnreachable),
            (1, ProxyHop::ProxyRefused),
            (4, ProxyHop::TargetUnreachable),
        ] {
            let (l, ep) = listener();
            let server = std::thread::spawn(move || {
                let (mut s, _) = l.accept().unwrap();
                let mut hello = [0u8; 3];
                s.read_exact(&mut hello).unwrap();
                assert_eq!(hello, [5, 1, 0]);
                s.write_all(&[5, 0]).unwrap();
                let mut req = [0u8; 5 + 17 + 2];
                s.read_exact(&mut req).unwrap();
                s.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]).unwrap();
                req
            });
            let connector = NetworkConnector::new(ConnectorKind::Socks5, ep, None);
            let err = open(
                &connector,
                &target(),
                &InMemoryCredentials::new(),
                &Timeouts::default(),
            )
            .unwrap_err();
            let req = server.join().unwrap();
            assert_eq!(&req[..5], &[5, 1, 0, 3, 17]);
            assert_eq!(&req[5..22], b"mail.example.test");
            assert_eq!(&req[22..], &110u16.to_be_bytes());
            assert!(err.is_proxy());
            assert_eq!(err.hop(), Some(hop), "code {code}: {err}");
        }
    }

    #[test]
    fn ip_literals_are_sent_as_addresses() {
        for (host, want) in [
            ("127.0.0.1", vec![1u8, 127, 0, 0, 1]),
            ("::1", {
                let mut v = vec![4u8];
                v.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
                v
            }),
        ] {
            let (l, ep) = listener();
            let len = want.len();
            let server = std::thread::spawn(move || {
                let (mut s, _) = l.accept().unwrap();
                let mut hello = [0u8; 3];
                s.read_exact(&mut hello).unwrap();
                s.write_all(&[5, 0]).unwrap();
                let mut req = vec![0u8; 3 + len + 2];
                s.read_exact(&mut req).unwrap();
                // Success with a domain-name BND.ADDR, then the server's first bytes.
                s.write_all(&[
                    5, 0, 0, 3, 4, b'h', b'o', b's', b't', 0, 25, b'+', b'O', b'K',
                ])
                .unwrap();
                req
            });
            let connector = NetworkConnector::new(ConnectorKind::Socks5, ep, None);
            let target = Endpoint::parse(host, 995).unwrap();
            let mut tcp = open(
                &connector,
                &target,
                &InMemoryCredentials::new(),
                &Timeouts::default(),
            )
            .unwrap();
            let req = server.join().unwrap();
            assert_eq!(&req[..3], &[5, 1, 0]);
            assert_eq!(&req[3..3 + len], &want[..], "{host}");
            assert_eq!(&req[3 + len..], &995u16.to_be_bytes());
            let mut rest = String::new();
            tcp.read_to_string(&mut rest).unwrap();
            assert_eq!(rest, "+OK", "BND.ADDR consumed exactly");
        }

        let (l, ep) = listener();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 512];
            let n = s.read(&mut buf).unwrap();
            s.write_all(b"HTTP/1.0 200 OK\n\n").unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        let connector = NetworkConnector::new(ConnectorKind::HttpConnect, ep, None);
        let target = Endpoint::parse("::1", 995).unwrap();
        open(
            &connector,
            &target,
            &InMemoryCredentials::new(),
            &Timeouts::default(),
        )
        .unwrap();
        let request = server.join().unwrap();
        assert!(
            request.starts_with("CONNECT [::1]:995 HTTP/1.1\r\nHost: [::1]:995\r\n"),
            "{request}"
        );
    }

    #[test]
    fn http_status_codes_map_to_hops() {
        for (status, hop) in [
            ("407 Proxy Authentication Required", ProxyHop::ProxyAuth),
            ("403 Forbidden", ProxyHop::ProxyRefused),
            ("405 Method Not Allowed", ProxyHop::ProxyRefused),
            ("502 Bad Gateway", ProxyHop::TargetUnreachable),
            ("503 Service Unavailable", ProxyHop::TargetUnreachable),
            ("504 Gateway Timeout", ProxyHop::TargetUnreachable),
            ("500 Unable to connect", ProxyHop::TargetUnreachable),
            ("500 Internal Error", ProxyHop::ProxyRefused),
        ] {
            let (l, ep) = listener();
            let server = std::thread::spawn(move || {
                let (mut s, _) = l.accept().unwrap();
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf).unwrap();
                s.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .unwrap();
            });
            let connector = NetworkConnector::new(ConnectorKind::HttpConnect, ep, None);
            let err = open(
                &connector,
                &target(),
                &InMemoryCredentials::new(),
                &Timeouts::default(),
            )
            .unwrap_err();
            server.join().unwrap();
            assert_eq!(err.hop(), Some(hop), "{status}: {err}");
            assert!(err.message().contains(status), "{err}");
        }
    }

    #[test]
    fn the_fuzzing_entry_point_runs_the_real_handshake() {
        // Method choice, CONNECT success with an IPv4 bound address, then the server's bytes.
        let socks = [5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0, b'+', b'O', b'K'];
        for chunk in [1, 3, 100] {
            assert_eq!(fuzz_handshake(false, &socks, chunk, false), (true, 3));
        }
        assert!(!fuzz_handshake(false, b"HTTP/1.1 400 Bad\r\n\r\n", 7, false).0);
        let http = b"HTTP/1.1 200 OK\r\nX: y\r\n\r\n* OK hello\r\n";
        for chunk in [1, 5, 1000] {
            assert_eq!(fuzz_handshake(true, http, chunk, true), (true, 12));
        }
        // A head that never ends is refused once past the bound, without reading it all.
        let mut flood = b"HTTP/1.1 200 OK\r\n".to_vec();
        flood.extend(std::iter::repeat_n(b'a', 100_000));
        let (ok, left) = fuzz_handshake(true, &flood, 1000, false);
        assert!(!ok);
        assert!(flood.len() - left <= MAX_HTTP_RESPONSE_HEAD + 1024);
    }

    #[test]
    fn what_is_not_the_proxy_configured_is_named_and_advised_as_such() {
        let e = not_socks("SOCKS5 proxy 127.0.0.1:1");
        assert!(e.message().contains("not a SOCKS5 server"), "{e}");
        assert!(!e.advice().unwrap().contains("rules"));
        let e = too_large("HTTP proxy 127.0.0.1:1");
        assert!(e.message().contains("too large"), "{e}");
        assert!(!e.advice().unwrap().contains("rules"));
        let target = Endpoint::parse("mail.example.test", 25).unwrap();
        // Only a refusal by rule set keeps the generic advice about rules.
        assert!(socks_reply_error("p", 2, &target).advice().is_none());
        assert!(socks_reply_error("p", 1, &target).advice().is_some());
        assert!(socks_reply_error("p", 0x42, &target).advice().is_some());
    }

    #[test]
    fn socks5_password_is_not_in_the_error() {
        let (l, ep) = listener();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut hello = [0u8; 4];
            s.read_exact(&mut hello).unwrap();
            assert_eq!(hello, [5, 2, 0, 2]);
            s.write_all(&[5, 2]).unwrap();
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf).unwrap();
            s.write_all(&[1, 1]).unwrap();
        });
        let creds = InMemoryCredentials::new().with("p", Credential::password("u", "hunter2-xyz"));
        let connector = NetworkConnector::new(
            ConnectorKind::Socks5,
            ep.clone(),
            Some(crate::typed::CredentialId::new("p")),
        );
        let err = open(&connector, &target(), &creds, &Timeouts::default()).unwrap_err();
        server.join().unwrap();
        assert_eq!(err.hop(), Some(ProxyHop::ProxyAuth));
        assert_eq!(
            err.message(),
            format!("SOCKS5 proxy {ep} rejected the user name and password")
        );
        assert!(!format!("{err:?}").contains("hunter2"));
    }
}
