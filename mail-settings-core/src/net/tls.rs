//! TLS with `native-tls` (OpenSSL on Linux, the platform libraries elsewhere): a connector
//! built from [`TlsOptions`], a bounded handshake whose failures are classified (a rejected
//! certificate is [`ErrorCategory::Certificate`] with a message saying what is wrong and what to
//! change; anything else is [`ErrorCategory::Tls`]), and a [`TlsInfo`] for connection checks.
//!
//! `native-tls` does not expose the negotiated protocol version, so [`Transport`] records the
//! first bytes the server sends during the handshake and the ServerHello is parsed from them
//! (`legacy_version`, and the `supported_versions` extension that TLS 1.3 uses instead). The peer
//! certificate is parsed with `x509-parser`.

use super::deadline::{Clock, OpDeadline};
use super::{nonzero, Deadline, Timeouts};
use crate::error::{ConnectionError, ErrorCategory};
use crate::typed::{Host, TlsOptions};
use std::fmt;
use std::io::{self, BufReader, Read, Write};
use std::net::TcpStream;

/// How many bytes of the server's first flight are kept to find the ServerHello.
const RECORD_LIMIT: usize = 4096;

/// How many bytes one read from the socket under TLS may take at once.
const TRANSPORT_BUF: usize = 128 * 1024;

/// A read from the socket shorter than this means a conversation (a reply, a handshake
/// flight), not a bulk download: quick ACKs are asked for before the next read.
const INTERACTIVE_READ: usize = 16 * 1024;

/// The TCP stream under a TLS session. During the handshake it records the server's first
/// bytes (for [`TlsInfo::version`]) and bounds the handshake as a whole.
///
/// Reads are buffered (a [`BufReader`]): OpenSSL asks for a record's 5-byte header and then
/// its body, so an unbuffered socket took about two `recv` calls (and two `TCP_QUICKACK`
/// requests) per 16 KiB record — some 100,000 system calls for a 100 MB download, measured
/// with `strace -c`. One `recv` now takes whatever the socket holds, up to
/// `TRANSPORT_BUF`. Buffering here is safe: everything read is TLS input (plaintext
/// injected before a STARTTLS upgrade never reaches this buffer; it is only created for the
/// TLS session).
///
/// Quick ACKs (`net::quickack`) are asked for only while the conversation is interactive
/// (the last read was short): during a bulk download every request sent an ACK at once and
/// woke the server for it, ~3 % of the collector's CPU (measured with `perf`), while the
/// kernel's own delayed ACKs keep a bulk stream flowing.
pub struct Transport {
    socket: BufReader<Socket>,
}

/// The socket itself, read by the buffer.
struct Socket {
    tcp: TcpStream,
    recording: Option<Vec<u8>>,
    /// The handshake's bound (while it runs).
    deadline: Option<Deadline>,
    /// The per-read/per-write bounds and the operation's deadline (after the handshake).
    clock: Clock,
    interactive: bool,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("peer", &self.tcp().peer_addr().ok())
            .finish()
    }
}

impl Transport {
    fn handshaking(tcp: TcpStream, timeouts: &Timeouts, op: Option<OpDeadline>) -> Self {
        let total = op.map_or(timeouts.read, |d| d.left().min(timeouts.read));
        let clock = Clock::for_socket(&tcp);
        let socket = Socket {
            tcp,
            recording: Some(Vec::new()),
            deadline: Some(Deadline::after(total, timeouts.read)),
            clock,
            interactive: true,
        };
        Self {
            socket: BufReader::with_capacity(TRANSPORT_BUF, socket),
        }
    }

    /// The TCP socket.
    pub fn tcp(&self) -> &TcpStream {
        &self.socket.get_ref().tcp
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.socket.get_ref().clock
    }

    pub(crate) fn clock_mut(&mut self) -> &mut Clock {
        &mut self.socket.get_mut().clock
    }
}

impl Read for Socket {
    fn read(&mut self, into: &mut [u8]) -> io::Result<usize> {
        if let Some(d) = &self.deadline {
            d.arm(&self.tcp)?;
        } else {
            self.clock.before_read(&self.tcp)?;
        }
        if self.interactive {
            super::quickack(&self.tcp);
        }
        let n = self.tcp.read(into).map_err(|e| self.clock.read_error(e))?;
        self.interactive = n < INTERACTIVE_READ;
        if let Some(rec) = &mut self.recording {
            let room = RECORD_LIMIT.saturating_sub(rec.len());
            rec.extend_from_slice(&into[..n.min(room)]);
        }
        Ok(n)
    }
}

impl Read for Transport {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.socket.read(out)
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let socket = self.socket.get_mut();
        socket.clock.before_write(&socket.tcp)?;
        socket
            .tcp
            .write(buf)
            .map_err(|e| socket.clock.write_error(e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.socket.get_mut().tcp.flush()
    }
}

/// A TLS protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsVersion {
    /// SSL 3.0 (insecure).
    Ssl3,
    /// TLS 1.0 (deprecated).
    Tls10,
    /// TLS 1.1 (deprecated).
    Tls11,
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
    /// Anything else, by its wire value.
    Other(u16),
}

impl TlsVersion {
    /// From the two bytes on the wire (`0x0304` is TLS 1.3).
    pub fn from_wire(v: u16) -> Self {
        match v {
            0x0300 => TlsVersion::Ssl3,
            0x0301 => TlsVersion::Tls10,
            0x0302 => TlsVersion::Tls11,
            0x0303 => TlsVersion::Tls12,
            0x0304 => TlsVersion::Tls13,
            other => TlsVersion::Other(other),
        }
    }

    /// `TLSv1.3`, `TLSv1.2`, … as OpenSSL names them.
    pub fn as_str(&self) -> String {
        match self {
            TlsVersion::Ssl3 => "SSLv3".to_owned(),
            TlsVersion::Tls10 => "TLSv1".to_owned(),
            TlsVersion::Tls11 => "TLSv1.1".to_owned(),
            TlsVersion::Tls12 => "TLSv1.2".to_owned(),
            TlsVersion::Tls13 => "TLSv1.3".to_owned(),
            TlsVersion::Other(v) => format!("0x{v:04x}"),
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

/// The server's certificate, as a connection check shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateInfo {
    /// Subject distinguished name (`CN=localhost, O=…`).
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Start of validity, Unix seconds (UTC).
    pub not_before: i64,
    /// End of validity, Unix seconds (UTC).
    pub not_after: i64,
    /// DNS names and IP addresses of the subjectAltName extension.
    pub subject_alt_names: Vec<String>,
}

impl CertificateInfo {
    /// Parses a DER certificate; `None` when it does not parse.
    pub fn from_der(der: &[u8]) -> Option<Self> {
        use x509_parser::extensions::GeneralName;
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let mut names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for n in &san.value.general_names {
                match n {
                    GeneralName::DNSName(d) => names.push((*d).to_owned()),
                    GeneralName::IPAddress(b) => {
                        if let Ok(a) = <[u8; 4]>::try_from(*b) {
                            names.push(std::net::Ipv4Addr::from(a).to_string());
                        } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                            names.push(std::net::Ipv6Addr::from(a).to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        Some(Self {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            subject_alt_names: names,
        })
    }

    /// Start of validity as `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn not_before_utc(&self) -> String {
        format_utc(self.not_before)
    }

    /// End of validity as `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn not_after_utc(&self) -> String {
        format_utc(self.not_after)
    }
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub fn format_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// What a TLS handshake negotiated, for connection checks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// Negotiated protocol version (from the ServerHello; `None` if it could not be read).
    pub version: Option<TlsVersion>,
    /// Negotiated cipher suite (IANA number), from the ServerHello.
    pub cipher_suite: Option<u16>,
    /// The server's certificate.
    pub certificate: Option<CertificateInfo>,
    /// Whether the chain and host name were verified (`false` when a person turned on
    /// skip certificate).
    pub verified: bool,
}

impl TlsInfo {
    /// The IANA name of the cipher suite, for the common ones.
    pub fn cipher_suite_name(&self) -> Option<&'static str> {
        self.cipher_suite.and_then(cipher_suite_name)
    }
}

/// The IANA name of a common cipher suite.
pub fn cipher_suite_name(id: u16) -> Option<&'static str> {
    Some(match id {
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1302 => "TLS_AES_256_GCM_SHA384",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        0xC02B => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xC02C => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xC02F => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xC030 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xCCA8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xCCA9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0x009E => "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        0x009F => "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        _ => return None,
    })
}

/// What a built connector depends on: the options, and the CA file's identity on disk (so an
/// edited file is read again).
#[derive(Clone, PartialEq, Eq, Hash)]
struct ConnectorKey {
    verify: bool,
    ca_file: Option<(std::path::PathBuf, Option<std::time::SystemTime>, u64)>,
}

/// Connectors built so far. Building one reads and parses the system's CA bundle (about 40 ms
/// here, measured with strace by the wire benchmark): a new connection per message paid that
/// every time. `TlsConnector` is a cheap, shareable handle.
static CONNECTORS: std::sync::OnceLock<
    std::sync::Mutex<std::collections::HashMap<ConnectorKey, native_tls::TlsConnector>>,
> = std::sync::OnceLock::new();

/// Connectors kept at most; beyond, the cache starts over (accounts rarely differ in TLS options).
const MAX_CACHED_CONNECTORS: usize = 64;

/// A connector for `options`, built once and then shared (see [`build_connector`]). A CA file
/// that changes on disk (modification time or length) is read again.
pub fn connector(options: &TlsOptions) -> Result<native_tls::TlsConnector, ConnectionError> {
    let ca_file = options.ca_file.as_ref().map(|p| {
        let meta = std::fs::metadata(p).ok();
        let modified = meta.as_ref().and_then(|m| m.modified().ok());
        (p.clone(), modified, meta.map_or(0, |m| m.len()))
    });
    let key = ConnectorKey {
        verify: options.verify,
        ca_file,
    };
    let cache = CONNECTORS.get_or_init(Default::default);
    if let Some(c) = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key)
    {
        return Ok(c.clone());
    }
    let built = build_connector(options)?;
    let mut map = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if map.len() >= MAX_CACHED_CONNECTORS {
        map.clear();
    }
    map.insert(key, built.clone());
    Ok(built)
}

/// Builds a connector: chain and host name verified unless `options.verify` is off (then
/// neither, for this connection only); every PEM certificate of `options.ca_file` trusted as an
/// extra root.
pub fn build_connector(options: &TlsOptions) -> Result<native_tls::TlsConnector, ConnectionError> {
    let mut b = native_tls::TlsConnector::builder();
    if !options.verify {
        b.danger_accept_invalid_certs(true);
        b.danger_accept_invalid_hostnames(true);
    }
    if let Some(path) = &options.ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            ConnectionError::new(
                ErrorCategory::Tls,
                format!("cannot read the CA file {}: {e}", path.display()),
            )
            .with_source(e)
        })?;
        let certs = native_tls::Certificate::stack_from_pem(&pem).map_err(|e| {
            ConnectionError::new(
                ErrorCategory::Tls,
                format!(
                    "the CA file {} is not PEM certificates: {e}",
                    path.display()
                ),
            )
            .with_source(e)
        })?;
        if certs.is_empty() {
            return Err(ConnectionError::new(
                ErrorCategory::Tls,
                format!("the CA file {} holds no PEM certificate", path.display()),
            ));
        }
        for c in certs {
            b.add_root_certificate(c);
        }
    }
    b.build().map_err(|e| {
        ConnectionError::new(ErrorCategory::Tls, format!("cannot set up TLS: {e}")).with_source(e)
    })
}

/// The TLS handshake as a client on `tcp`, for `host` (SNI and the name verified), bounded as a
/// whole by [`Timeouts::read`]. Afterwards the socket's read timeout is back to
/// [`Timeouts::read`] per read.
pub fn handshake(
    tcp: TcpStream,
    host: &Host,
    options: &TlsOptions,
    timeouts: &Timeouts,
) -> Result<(native_tls::TlsStream<Transport>, TlsInfo), ConnectionError> {
    handshake_within(tcp, host, options, timeouts, None)
}

/// [`handshake`], also bounded by an operation's deadline (a STARTTLS in a connection check).
pub(crate) fn handshake_within(
    tcp: TcpStream,
    host: &Host,
    options: &TlsOptions,
    timeouts: &Timeouts,
    op: Option<OpDeadline>,
) -> Result<(native_tls::TlsStream<Transport>, TlsInfo), ConnectionError> {
    const DOING: &str = "waiting for the server's TLS handshake";
    if let Some(d) = op.filter(OpDeadline::expired) {
        return Err(d.exceeded().error(DOING));
    }
    let connector = connector(options)?;
    let name = host.tls_name();
    let transport = Transport::handshaking(tcp, timeouts, op);
    let mut stream = match connector.connect(&name, transport) {
        Ok(s) => s,
        Err(native_tls::HandshakeError::WouldBlock(_)) => {
            if let Some(d) = op.filter(OpDeadline::expired) {
                return Err(d.exceeded().error(DOING));
            }
            return Err(ConnectionError::timeout(DOING, timeouts.read));
        }
        Err(native_tls::HandshakeError::Failure(e)) => {
            if let Some(d) = op.filter(OpDeadline::expired) {
                return Err(d.exceeded().error(DOING).with_source(e));
            }
            return Err(classify(e, host, timeouts));
        }
    };
    let socket = stream.get_mut().socket.get_mut();
    let recorded = socket.recording.take().unwrap_or_default();
    socket.deadline = None;
    socket
        .tcp
        .set_read_timeout(Some(nonzero(timeouts.read)))
        .map_err(|e| super::io_error(e, "setting the read timeout", timeouts.read))?;
    socket.clock = Clock::for_socket(&socket.tcp);
    let hello = parse_server_hello(&recorded);
    let certificate = stream
        .peer_certificate()
        .ok()
        .flatten()
        .and_then(|c| c.to_der().ok())
        .and_then(|der| CertificateInfo::from_der(&der));
    let info = TlsInfo {
        version: hello.map(|h| TlsVersion::from_wire(h.version)),
        cipher_suite: hello.map(|h| h.cipher_suite),
        certificate,
        verified: options.verify,
    };
    tracing::debug!(
        host = %name,
        version = ?info.version,
        verified = info.verified,
        "TLS handshake done"
    );
    Ok((stream, info))
}

fn classify(e: native_tls::Error, host: &Host, timeouts: &Timeouts) -> ConnectionError {
    // A socket timeout or the handshake deadline shows as an io::Error in the chain.
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            if super::is_timeout_error(io) {
                return ConnectionError::timeout(
                    "waiting for the server's TLS handshake",
                    timeouts.read,
                )
                .with_source(e);
            }
        }
        src = s.source();
    }
    let text = e.to_string();
    let (category, message) = describe_failure(&text, host);
    ConnectionError::new(category, message).with_source(e)
}

/// Category and message for a handshake failure, from OpenSSL's (or the platform's) text.
pub(crate) fn describe_failure(text: &str, host: &Host) -> (ErrorCategory, String) {
    let t = text.to_ascii_lowercase();
    let has = |needle: &str| t.contains(needle);
    let cert = ErrorCategory::Certificate;
    if has("certificate has expired") || has("certificate expired") {
        return (
            cert,
            "the certificate has expired: the server must renew it (or turn on skip certificate, accepting the risk)".to_owned(),
        );
    }
    if has("not yet valid") {
        return (
            cert,
            "the certificate is not valid yet: check this computer's clock, or the server's certificate".to_owned(),
        );
    }
    if has("hostname mismatch") || has("ip address mismatch") || has("host name mismatch") {
        return (
            cert,
            format!(
                "the certificate is for another host name, not \"{}\": use a host name the certificate names",
                host.tls_name()
            ),
        );
    }
    if has("self-signed certificate in certificate chain")
        || has("self signed certificate in certificate chain")
    {
        return (
            cert,
            "the certificate chain ends in a self-signed certificate authority that is not trusted: add that CA to the account's CA file".to_owned(),
        );
    }
    if has("self-signed certificate") || has("self signed certificate") {
        return (
            cert,
            "the certificate is self-signed: add it to the account's CA file, or turn on skip certificate".to_owned(),
        );
    }
    if has("unable to get local issuer certificate")
        || has("unable to get issuer certificate")
        || has("unable to verify the first certificate")
        || has("untrusted root")
    {
        return (
            cert,
            "the certificate is signed by an unknown certificate authority: add that CA to the account's CA file".to_owned(),
        );
    }
    if has("certificate revoked") {
        return (cert, "the certificate has been revoked".to_owned());
    }
    if has("certificate verify failed") || has("certificate") && has("verif") {
        return (
            cert,
            format!("the certificate was rejected ({})", short(text)),
        );
    }
    let tls = ErrorCategory::Tls;
    if has("wrong version number")
        || has("unknown protocol")
        || has("packet length too long")
        || has("record layer failure")
        || has("http request")
    {
        return (
            tls,
            "the server did not answer with TLS: this port may be for clear text or STARTTLS (security TLS) rather than SSL".to_owned(),
        );
    }
    if has("unexpected eof") || has("eof") || has("connection reset") {
        return (
            tls,
            "the server closed the connection during the TLS handshake".to_owned(),
        );
    }
    if has("unsupported protocol")
        || has("no protocols available")
        || has("handshake failure")
        || has("no shared cipher")
    {
        return (
            tls,
            format!(
                "no TLS version or cipher in common with the server ({})",
                short(text)
            ),
        );
    }
    (tls, format!("TLS handshake failed: {}", short(text)))
}

fn short(text: &str) -> String {
    text.chars().take(300).collect()
}

/// What the ServerHello says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ServerHello {
    pub(crate) version: u16,
    pub(crate) cipher_suite: u16,
}

/// Finds the ServerHello in the server's first bytes (TLS records) and reads the negotiated
/// version (the `supported_versions` extension when present, else `legacy_version`) and cipher
/// suite. `None` on anything unexpected; never panics.
pub(crate) fn parse_server_hello(bytes: &[u8]) -> Option<ServerHello> {
    // Gather handshake-record payloads (a message may span records).
    let mut hs: Vec<u8> = Vec::new();
    let mut i = 0usize;
    while let Some(header) = bytes.get(i..i + 5) {
        let content_type = header[0];
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let start = i + 5;
        let end = (start + len).min(bytes.len());
        match content_type {
            22 => hs.extend_from_slice(bytes.get(start..end)?),
            20 => {}    // change_cipher_spec (TLS 1.3 middlebox compatibility)
            _ => break, // alert, application data (encrypted) …
        }
        i = start + len;
        if hs.len() >= 4 {
            let body_len = u32::from_be_bytes([0, hs[1], hs[2], hs[3]]) as usize;
            if hs.len() >= 4 + body_len {
                break;
            }
        }
    }
    let mut c = Cursor { b: &hs, pos: 0 };
    if c.u8()? != 2 {
        return None; // not a ServerHello
    }
    let body_len = c.u24()?;
    let body = hs.get(4..4 + body_len)?;
    let mut c = Cursor { b: body, pos: 0 };
    let legacy_version = c.u16()?;
    c.skip(32)?; // random
    let sid = usize::from(c.u8()?);
    c.skip(sid)?;
    let cipher_suite = c.u16()?;
    c.skip(1)?; // compression
    let mut version = legacy_version;
    if let Some(ext_len) = c.u16() {
        let exts = c.take(usize::from(ext_len))?;
        let mut e = Cursor { b: exts, pos: 0 };
        while let (Some(ty), Some(len)) = (e.u16(), e.u16()) {
            let data = e.take(usize::from(len))?;
            if ty == 43 && data.len() == 2 {
                version = u16::from_be_bytes([data[0], data[1]]);
            }
        }
    }
    Some(ServerHello {
        version,
        cipher_suite,
    })
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|s| u16::from_be_bytes([s[0], s[1]]))
    }
    fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|s| u32::from_be_bytes([0, s[0], s[1], s[2]]) as usize)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn server_hello(legacy: u16, cipher: u16, supported: Option<u16>) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&legacy.to_be_bytes());
        body.extend_from_slice(&[7u8; 32]);
        body.push(32);
        body.extend_from_slice(&[9u8; 32]);
        body.extend_from_slice(&cipher.to_be_bytes());
        body.push(0);
        let mut exts = Vec::new();
        // key_share-like filler, then supported_versions
        exts.extend_from_slice(&[0, 51, 0, 4, 1, 2, 3, 4]);
        if let Some(v) = supported {
            exts.extend_from_slice(&[0, 43, 0, 2]);
            exts.extend_from_slice(&v.to_be_bytes());
        }
        body.extend_from_slice(&u16::try_from(exts.len()).unwrap().to_be_bytes());
        body.extend_from_slice(&exts);
        let mut hs = vec![2u8];
        hs.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![22u8, 3, 3];
        rec.extend_from_slice(&u16::try_from(hs.len()).unwrap().to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn reads_tls13_from_supported_versions() {
        let mut bytes = server_hello(0x0303, 0x1302, Some(0x0304));
        bytes.extend_from_slice(&[20, 3, 3, 0, 1, 1, 23, 3, 3, 0, 5, 1, 2, 3, 4, 5]);
        let h = parse_server_hello(&bytes).unwrap();
        assert_eq!(TlsVersion::from_wire(h.version), TlsVersion::Tls13);
        assert_eq!(h.cipher_suite, 0x1302);
    }

    #[test]
    fn reads_tls12_from_legacy_version() {
        let h = parse_server_hello(&server_hello(0x0303, 0xC030, None)).unwrap();
        assert_eq!(TlsVersion::from_wire(h.version), TlsVersion::Tls12);
        assert_eq!(
            cipher_suite_name(h.cipher_suite),
            Some("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
        );
    }

    #[test]
    fn reads_a_hello_split_across_records() {
        let whole = server_hello(0x0303, 0x1301, Some(0x0304));
        let payload = &whole[5..];
        let (a, b) = payload.split_at(20);
        let mut bytes = vec![22, 3, 3, 0, 20];
        bytes.extend_from_slice(a);
        bytes.extend_from_slice(&[22, 3, 3]);
        bytes.extend_from_slice(&u16::try_from(b.len()).unwrap().to_be_bytes());
        bytes.extend_from_slice(b);
        assert_eq!(parse_server_hello(&bytes).map(|h| h.version), Some(0x0304));
    }

    #[test]
    fn truncated_or_foreign_bytes_give_none() {
        let whole = server_hello(0x0303, 0x1301, Some(0x0304));
        for cut in 0..whole.len() {
            // An incomplete ServerHello never yields a version.
            assert_eq!(parse_server_hello(&whole[..cut]), None, "cut {cut}");
        }
        assert_eq!(parse_server_hello(b"+OK Dovecot ready.\r\n"), None);
        assert_eq!(parse_server_hello(&[21, 3, 3, 0, 2, 2, 40]), None);
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_767_225_599), "2025-12-31T23:59:59Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn classifies_openssl_texts() {
        let host = Host::Domain("localhost".into());
        let cases = [
            ("error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889: (certificate has expired)", ErrorCategory::Certificate, "expired"),
            ("... certificate verify failed ... (self-signed certificate)", ErrorCategory::Certificate, "self-signed"),
            ("... certificate verify failed ... (Hostname mismatch)", ErrorCategory::Certificate, "another host name"),
            ("... certificate verify failed ... (unable to get local issuer certificate)", ErrorCategory::Certificate, "unknown certificate authority"),
            ("error:0A00010B:SSL routines:ssl3_get_record:wrong version number", ErrorCategory::Tls, "did not answer with TLS"),
            ("error:0A000126:SSL routines::unexpected eof while reading", ErrorCategory::Tls, "closed the connection"),
        ];
        for (text, cat, words) in cases {
            let (c, m) = describe_failure(text, &host);
            assert_eq!(c, cat, "{text}");
            assert!(m.contains(words), "{text} -> {m}");
        }
    }

    proptest! {
        #[test]
        fn server_hello_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_server_hello(&bytes);
        }

        #[test]
        fn server_hello_parser_never_panics_on_record_like_input(
            body in proptest::collection::vec(any::<u8>(), 0..300),
            len in any::<u16>(),
        ) {
            let mut bytes = vec![22u8, 3, 3];
            bytes.extend_from_slice(&len.to_be_bytes());
            bytes.push(2);
            bytes.extend_from_slice(&body);
            let _ = parse_server_hello(&bytes);
        }
    }
}
