//! Our own POP3 client (RFC 1939, CAPA/PIPELINING RFC 2449, STLS RFC 2595, AUTH RFC 5034,
//! SASL PLAIN RFC 4616, XOAUTH2).
//!
//! ## Why our own
//! No maintained blocking POP3 crate does what the collector needs: `pop3` (last release 2017)
//! and its fork `rs-pop3` open their own connection with an OpenSSL context of their own (no
//! STLS, no timeouts, no way to go through a network connector); `rust-pop3-client` is tied to
//! rustls and also opens its own TCP connection, so it can neither run through a proxy nor take
//! our certificate settings; `async-pop` is async-only. This client works over any
//! `Read + Write` stream (so over [`MailStream`], through every route of [`crate::net`]), and
//! streams RETR into any `io::Write` sink: the client itself never holds a message in memory
//! (one 16 KiB buffer), so a 20 MB message is held at most once, by the sink if it wants.
//!
//! ## The reply parser
//! Strict where it matters and bounded everywhere:
//! - a status line is `+OK` or `-ERR`, alone or followed by a space and text; anything else is a
//!   protocol error (a SASL continuation `+ ` only during AUTH);
//! - a line (status or listing) is at most [`MAX_LINE`] bytes (RFC 1939 allows 512 for status
//!   lines; real servers send longer `-ERR` texts, so we are lenient up to 8 KiB, never more);
//!   message content (RETR, TOP) has no line limit, as mail can have very long lines, and is
//!   streamed, not buffered;
//! - a multi-line response ends with a line that is just `.`; a line starting with `.` has that
//!   dot removed (dot-unstuffing);
//! - **bare LF** is accepted as a line end (some old servers send it); a CR not followed by LF is
//!   content. Message bytes are passed to the sink exactly as received, line ends included;
//! - a listing has at most [`MAX_LISTING_LINES`] lines;
//! - the reader has one fixed buffer: memory does not grow with what the server sends, and no
//!   input makes it panic (checked by a proptest here and by the `pop3_reply` fuzz target).
//!
//! After an I/O or framing error the client is unusable (every later command fails) because
//! the stream is no longer in step with the server.
//!
//! ## Secrets
//! `PASS` and `AUTH` payloads are never logged, never put in an error, and zeroed after sending.
//! An `-ERR` to them becomes [`ErrorCategory::Auth`] with the server's text (with any echo of
//! what we sent removed).

use crate::credentials::{Credential, CredentialProvider, Secret};
use crate::error::{ConnectionError, ErrorCategory};
use crate::model::{Protocol, Security};
use crate::net::{self, MailStream, Timeouts, TlsInfo};
use crate::typed::{Host, IncomingAccount, TlsOptions};
use base64::Engine as _;
use secrecy::zeroize::Zeroize;
use std::fmt;
use std::io::{self, Read, Write};
use std::ops::ControlFlow;

/// Longest status or listing line accepted, line end included.
pub const MAX_LINE: usize = 8192;

/// Most lines a listing (LIST, UIDL, CAPA) may have.
pub const MAX_LISTING_LINES: usize = 2_000_000;

/// Most commands in flight when pipelining.
pub const PIPELINE_WINDOW: usize = 16;

/// Size of the one read buffer.
const BUFFER: usize = 16 * 1024;

/// A server reply's status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// `+OK` (true) or `-ERR` (false).
    pub ok: bool,
    /// The text after the status word (may be empty), printable ASCII only.
    pub text: String,
}

/// What CAPA said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    lines: Vec<Vec<String>>,
    /// Whether CAPA was answered at all (`-ERR` means a pre-RFC 2449 server).
    pub supported: bool,
}

impl Capabilities {
    /// Parses CAPA lines (`SASL PLAIN LOGIN`, `STLS`, …); names are upper-cased.
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Self {
        let lines = lines
            .into_iter()
            .filter_map(|l| {
                let mut words = l.split_ascii_whitespace();
                let name = words.next()?.to_ascii_uppercase();
                let mut v = vec![name];
                v.extend(words.map(str::to_owned));
                Some(v)
            })
            .collect();
        Self {
            lines,
            supported: true,
        }
    }

    /// Whether the capability `name` is listed.
    pub fn has(&self, name: &str) -> bool {
        self.lines
            .iter()
            .any(|l| l.first().is_some_and(|n| n.eq_ignore_ascii_case(name)))
    }

    /// The arguments of capability `name`.
    pub fn args(&self, name: &str) -> Option<&[String]> {
        self.lines
            .iter()
            .find(|l| l.first().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .map(|l| &l[1..])
    }

    /// Whether SASL mechanism `mech` is listed.
    pub fn has_sasl(&self, mech: &str) -> bool {
        self.args("SASL")
            .is_some_and(|a| a.iter().any(|m| m.eq_ignore_ascii_case(mech)))
    }

    /// `STLS` is offered.
    pub fn stls(&self) -> bool {
        self.has("STLS")
    }

    /// `PIPELINING` is offered.
    pub fn pipelining(&self) -> bool {
        self.has("PIPELINING")
    }

    /// `USER` (USER/PASS login) is offered.
    pub fn user(&self) -> bool {
        self.has("USER")
    }

    /// Every capability name, in the server's order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.lines
            .iter()
            .filter_map(|l| l.first().map(String::as_str))
    }
}

/// `STAT`: number of messages and their total size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Messages in the maildrop (not counting those marked deleted).
    pub count: u32,
    /// Their total size in octets.
    pub size: u64,
}

/// A `LIST` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageSize {
    /// Message number (1-based, valid for this session).
    pub number: u32,
    /// Size in octets (as the server counts it, CRLF line ends).
    pub size: u64,
}

/// A `UIDL` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageUid {
    /// Message number (1-based, valid for this session).
    pub number: u32,
    /// The unique id, stable across sessions.
    pub uid: String,
}

/// How the client logged in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginMethod {
    /// `USER` / `PASS`.
    UserPass,
    /// `AUTH PLAIN`.
    AuthPlain,
    /// `AUTH XOAUTH2`.
    XOAuth2,
}

/// A POP3 session over any stream.
pub struct Pop3Client<S: Read + Write> {
    stream: S,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    greeting: String,
    capabilities: Option<Capabilities>,
    tls_info: Option<TlsInfo>,
    timeouts: Timeouts,
    broken: bool,
    logged_in: bool,
    utf8: bool,
}

impl<S: Read + Write> fmt::Debug for Pop3Client<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pop3Client")
            .field("greeting", &self.greeting)
            .field("tls", &self.tls_info.is_some())
            .field("logged_in", &self.logged_in)
            .field("broken", &self.broken)
            .finish()
    }
}

fn protocol(message: impl Into<String>) -> ConnectionError {
    ConnectionError::new(ErrorCategory::Protocol, message)
}

/// Printable ASCII of a server's text, at most 300 characters.
fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b == b' ' || b.is_ascii_graphic() {
                char::from(b)
            } else {
                '?'
            }
        })
        .take(300)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A server's line made safe to show: printable ASCII kept, every other byte (control
/// characters, ESC, bytes over 0x7E) written as `\xNN`; at most 200 bytes of the line.
pub fn escaped(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(200) {
        if b == b' ' || b.is_ascii_graphic() {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if bytes.len() > 200 {
        out.push_str("...");
    }
    out
}

/// A `LIST` line that is not "number size" (GreenMail 2.1 answers `3 -1` for an empty
/// message), as [`Pop3Client::list_lenient`] hands it over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadListLine {
    /// The message number, when the line starts with one.
    pub number: Option<u32>,
    /// The line, made safe ([`escaped`]).
    pub line: String,
}

impl fmt::Display for BadListLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server's LIST answer has a line that is not \"number size\": \"{}\"",
            self.line
        )
    }
}

/// Removes the line end (LF or CRLF).
fn chomp(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Parses a status line (line end already removed).
pub fn parse_status(line: &[u8]) -> Option<Status> {
    let (ok, rest) = if let Some(r) = line.strip_prefix(b"+OK") {
        (true, r)
    } else if let Some(r) = line.strip_prefix(b"-ERR") {
        (false, r)
    } else {
        return None;
    };
    let text = match rest {
        [] => &[][..],
        [b' ', t @ ..] => t,
        _ => return None,
    };
    Some(Status {
        ok,
        text: printable(text),
    })
}

impl<S: Read + Write> Pop3Client<S> {
    /// Starts a session on a connected stream: reads and checks the greeting.
    pub fn new(stream: S, timeouts: Timeouts) -> Result<Self, ConnectionError> {
        let mut c = Self {
            stream,
            buf: vec![0u8; BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            greeting: String::new(),
            capabilities: None,
            tls_info: None,
            timeouts,
            broken: false,
            logged_in: false,
            utf8: false,
        };
        let line = c.read_line("reading the greeting")?;
        match parse_status(chomp(&line)) {
            Some(Status { ok: true, text }) => c.greeting = text,
            Some(Status { ok: false, text }) => {
                return Err(protocol(format!(
                    "the POP3 server refused the session: -ERR {text}"
                )))
            }
            None => {
                return Err(protocol(format!(
                    "not a POP3 server: its greeting is \"{}\", not +OK",
                    printable(chomp(&line))
                )))
            }
        }
        tracing::debug!(greeting = %c.greeting, "POP3 greeting");
        Ok(c)
    }

    /// The greeting's text.
    pub fn greeting(&self) -> &str {
        &self.greeting
    }

    /// The TLS details, when the session is over TLS (implicit, or after STLS).
    pub fn tls_info(&self) -> Option<&TlsInfo> {
        self.tls_info.as_ref()
    }

    /// Whether the session is logged in (TRANSACTION state).
    pub fn is_logged_in(&self) -> bool {
        self.logged_in
    }

    /// Whether the session can still be used (no I/O or framing error so far).
    pub fn is_usable(&self) -> bool {
        !self.broken
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream (for a different read timeout, say).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    // ---- reading -------------------------------------------------------------------------

    fn broken(&mut self, e: ConnectionError) -> ConnectionError {
        self.broken = true;
        e
    }

    fn check_usable(&self) -> Result<(), ConnectionError> {
        if self.broken {
            return Err(ConnectionError::new(
                ErrorCategory::Connect,
                "the POP3 connection is unusable after an earlier error",
            ));
        }
        Ok(())
    }

    /// Reads more bytes into the buffer. `Ok(false)` at end of stream.
    fn fill(&mut self, doing: &str) -> Result<bool, ConnectionError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            return Ok(true); // full: the caller decides
        }
        loop {
            match self.stream.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let err = net::io_error(e, doing, self.timeouts.read);
                    return Err(self.broken(err));
                }
            }
        }
    }

    fn eof(&mut self, doing: &str) -> ConnectionError {
        let e = ConnectionError::new(
            ErrorCategory::Connect,
            format!("the server closed the connection while {doing}"),
        );
        self.broken(e)
    }

    /// One line, line end included, at most [`MAX_LINE`] bytes.
    fn read_line(&mut self, doing: &str) -> Result<Vec<u8>, ConnectionError> {
        self.check_usable()?;
        let mut scanned = 0;
        loop {
            let avail = &self.buf[self.start..self.end];
            if let Some(i) = avail[scanned..].iter().position(|&b| b == b'\n') {
                let len = scanned + i + 1;
                if len > MAX_LINE {
                    break;
                }
                let line = avail[..len].to_vec();
                self.start += len;
                return Ok(line);
            }
            scanned = avail.len();
            if scanned >= MAX_LINE {
                break;
            }
            if !self.fill(doing)? {
                return Err(self.eof(doing));
            }
        }
        let e = protocol(format!(
            "the server sent a line longer than {MAX_LINE} bytes while {doing}"
        ));
        Err(self.broken(e))
    }

    fn read_status(&mut self, doing: &str) -> Result<Status, ConnectionError> {
        let line = self.read_line(doing)?;
        match parse_status(chomp(&line)) {
            Some(s) => Ok(s),
            None => {
                let e = protocol(format!(
                    "the server answered something that is not +OK or -ERR while {doing}: \"{}\"",
                    printable(chomp(&line))
                ));
                Err(self.broken(e))
            }
        }
    }

    /// Reads a multi-line body's lines (dot-unstuffed, line ends removed) up to the final `.`.
    fn read_listing(&mut self, doing: &str) -> Result<Vec<Vec<u8>>, ConnectionError> {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line(doing)?;
            let body = chomp(&line);
            if body == b"." {
                return Ok(lines);
            }
            if lines.len() >= MAX_LISTING_LINES {
                let e = protocol(format!(
                    "the server sent more than {MAX_LISTING_LINES} lines while {doing}"
                ));
                return Err(self.broken(e));
            }
            let body = body.strip_prefix(b".").unwrap_or(body);
            lines.push(body.to_vec());
        }
    }

    /// Streams a multi-line body into `sink`, dot-unstuffed, up to the final `.`. Returns the
    /// bytes written. A failing sink does not desynchronise the session: the rest of the body
    /// is read and dropped, then the sink's error is returned ([`ErrorCategory::Storage`]).
    fn read_body_into(
        &mut self,
        sink: &mut dyn Write,
        doing: &str,
    ) -> Result<u64, ConnectionError> {
        self.check_usable()?;
        let mut written: u64 = 0;
        let mut at_line_start = true;
        let mut sink_error: Option<io::Error> = None;
        loop {
            if self.start == self.end && !self.fill(doing)? {
                let e = ConnectionError::new(
                    ErrorCategory::Connect,
                    format!(
                        "the server closed the connection in the middle of {doing} (after {written} bytes)"
                    ),
                );
                return Err(self.broken(e));
            }
            if at_line_start {
                // Need up to 3 bytes to tell ".\r\n" / ".\n" from a stuffed dot.
                if self.buf[self.start] == b'.' {
                    while self.end - self.start < 3 {
                        let have = &self.buf[self.start..self.end];
                        if have.len() >= 2 && (have[1] != b'\r') {
                            break;
                        }
                        if !self.fill(doing)? {
                            let e = ConnectionError::new(
                                ErrorCategory::Connect,
                                format!(
                                    "the server closed the connection in the middle of {doing} (after {written} bytes)"
                                ),
                            );
                            return Err(self.broken(e));
                        }
                    }
                    let have = &self.buf[self.start..self.end];
                    if have[1] == b'\n' {
                        self.start += 2;
                        break;
                    }
                    if have[1] == b'\r' && have[2] == b'\n' {
                        self.start += 3;
                        break;
                    }
                    self.start += 1; // the stuffed dot
                }
                at_line_start = false;
                continue;
            }
            // Everything up to the next line that starts with a dot is copied as it is (one
            // write per buffer, not per line); that line is looked at above.
            let avail = &self.buf[self.start..self.end];
            let (chunk_len, line_end) = match memchr::memmem::find(avail, b"\n.") {
                Some(i) => (i + 1, true),
                None => (avail.len(), avail.last() == Some(&b'\n')),
            };
            if sink_error.is_none() {
                if let Err(e) = sink.write_all(&avail[..chunk_len]) {
                    sink_error = Some(e);
                } else {
                    written += chunk_len as u64;
                }
            }
            self.start += chunk_len;
            at_line_start = line_end;
        }
        if let Some(e) = sink_error {
            return Err(ConnectionError::new(
                ErrorCategory::Storage,
                format!("keeping what arrived failed ({doing}) after {written} bytes: {e}"),
            )
            .with_source(e));
        }
        Ok(written)
    }

    // ---- writing -------------------------------------------------------------------------

    fn send(&mut self, command: &str) -> Result<(), ConnectionError> {
        self.check_usable()?;
        tracing::trace!(command, "POP3 >");
        let mut line = Vec::with_capacity(command.len() + 2);
        line.extend_from_slice(command.as_bytes());
        line.extend_from_slice(b"\r\n");
        self.write_raw(&line, command)
    }

    /// Sends a line holding a secret: never logged, zeroed afterwards.
    fn send_secret(&mut self, mut line: Vec<u8>, what: &str) -> Result<(), ConnectionError> {
        self.check_usable()?;
        tracing::trace!(command = what, "POP3 > [secret redacted]");
        line.extend_from_slice(b"\r\n");
        let r = self.write_raw(&line, what);
        line.zeroize();
        r
    }

    fn write_raw(&mut self, bytes: &[u8], what: &str) -> Result<(), ConnectionError> {
        let r = self
            .stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush());
        r.map_err(|e| {
            let err = net::io_error(e, &format!("sending {what}"), self.timeouts.write);
            self.broken(err)
        })
    }

    /// Sends a command and reads its status; `-ERR` is a protocol error naming the command.
    fn simple(&mut self, command: &str) -> Result<Status, ConnectionError> {
        self.send(command)?;
        let s = self.read_status(&format!("waiting for the answer to {command}"))?;
        if !s.ok {
            return Err(protocol(format!(
                "the POP3 server refused {command}: -ERR {}",
                s.text
            )));
        }
        Ok(s)
    }

    // ---- commands ------------------------------------------------------------------------

    /// `CAPA`, fresh from the server (and remembered). A server without CAPA (`-ERR`) gives
    /// empty capabilities with `supported == false`.
    pub fn capa(&mut self) -> Result<&Capabilities, ConnectionError> {
        self.send("CAPA")?;
        let s = self.read_status("waiting for the answer to CAPA")?;
        let caps = if s.ok {
            let lines = self.read_listing("reading the CAPA list")?;
            let text: Vec<String> = lines.iter().map(|l| printable(l)).collect();
            Capabilities::from_lines(text.iter().map(String::as_str))
        } else {
            Capabilities::default()
        };
        Ok(self.capabilities.insert(caps))
    }

    /// The capabilities, asking `CAPA` the first time.
    pub fn capabilities(&mut self) -> Result<&Capabilities, ConnectionError> {
        if self.capabilities.is_none() {
            self.capa()?;
        }
        match &self.capabilities {
            Some(c) => Ok(c),
            None => Err(protocol("CAPA gave no result")),
        }
    }

    /// Logs in: an OAuth2 token with `AUTH XOAUTH2` (an error if the server does not offer
    /// it); a password with `AUTH PLAIN` when the server lists SASL PLAIN, else `USER`/`PASS`.
    /// A rejection is [`ErrorCategory::Auth`] with the server's text.
    pub fn login(&mut self, credential: &Credential) -> Result<LoginMethod, ConnectionError> {
        let caps = self.capabilities()?.clone();
        let user = credential.username.as_str();
        if user.is_empty() || user.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(ConnectionError::new(
                ErrorCategory::Credential,
                "the user name is empty or holds a line break",
            ));
        }
        let method = match &credential.secret {
            Secret::OAuth2Token(_) => {
                if !caps.has_sasl("XOAUTH2") {
                    return Err(ConnectionError::new(
                        ErrorCategory::Auth,
                        "the POP3 server does not offer SASL XOAUTH2: an OAuth2 token cannot be used with it",
                    ));
                }
                self.auth_xoauth2(user, credential.secret.expose())?;
                LoginMethod::XOAuth2
            }
            _ => {
                if caps.has_sasl("PLAIN") {
                    self.auth_plain(user, credential.secret.expose())?;
                    LoginMethod::AuthPlain
                } else {
                    self.user_pass(user, credential.secret.expose())?;
                    LoginMethod::UserPass
                }
            }
        };
        tracing::debug!(method = ?method, "POP3 logged in");
        if caps.has("UTF8") {
            self.utf8()?;
        }
        Ok(method)
    }

    /// `UTF8` (RFC 6856), sent by [`Pop3Client::login`] when CAPA offers it: the server then
    /// hands over messages with raw UTF-8 headers as they are (Courier otherwise replaces
    /// them with a "Cannot display Unicode content" wrapper). A refusal (`-ERR`) is logged
    /// and the session goes on as before; returns whether the server accepted it.
    pub fn utf8(&mut self) -> Result<bool, ConnectionError> {
        self.send("UTF8")?;
        let s = self.read_status("waiting for the answer to UTF8")?;
        if !s.ok {
            tracing::info!(reply = %s.text, "the POP3 server offers UTF8 but refused it");
        }
        self.utf8 = s.ok;
        Ok(s.ok)
    }

    /// Whether UTF-8 mode is on (the server accepted `UTF8`).
    pub fn is_utf8(&self) -> bool {
        self.utf8
    }

    fn auth_rejected(&self, command: &str, s: &Status, secrets: &[&str]) -> ConnectionError {
        let mut text = s.text.clone();
        for secret in secrets.iter().filter(|s| s.len() >= 3) {
            if text.contains(secret) {
                text = text.replace(secret, "[redacted]");
            }
        }
        // RFC 3206: [SYS/…] and [IN-USE] are not about the credentials.
        let upper = text.to_ascii_uppercase();
        if upper.starts_with("[SYS") || upper.starts_with("[IN-USE]") {
            return protocol(format!(
                "the POP3 server could not log in now ({command}): -ERR {text}"
            ));
        }
        ConnectionError::new(
            ErrorCategory::Auth,
            format!("the POP3 server rejected the credentials ({command}): -ERR {text}"),
        )
    }

    /// `USER` then `PASS`.
    pub fn user_pass(&mut self, user: &str, password: &str) -> Result<(), ConnectionError> {
        self.send(&format!("USER {user}"))?;
        let s = self.read_status("waiting for the answer to USER")?;
        if !s.ok {
            return Err(self.auth_rejected("USER", &s, &[password]));
        }
        let mut line = b"PASS ".to_vec();
        line.extend_from_slice(password.as_bytes());
        self.send_secret(line, "PASS")?;
        let s = self.read_status("waiting for the answer to PASS")?;
        if !s.ok {
            return Err(self.auth_rejected("PASS", &s, &[password]));
        }
        self.logged_in = true;
        Ok(())
    }

    /// `AUTH PLAIN` (RFC 4616), with an initial response when it fits the 255-octet line.
    pub fn auth_plain(&mut self, user: &str, password: &str) -> Result<(), ConnectionError> {
        let mut raw = Vec::with_capacity(user.len() * 2 + password.len() + 2);
        raw.push(0);
        raw.extend_from_slice(user.as_bytes());
        raw.push(0);
        raw.extend_from_slice(password.as_bytes());
        let mut encoded = base64::engine::general_purpose::STANDARD.encode(&raw);
        raw.zeroize();
        let r = self.sasl("PLAIN", &encoded);
        let result = r.and_then(|s| match s {
            Some(s) => Err(self.auth_rejected("AUTH PLAIN", &s, &[password, &encoded])),
            None => Ok(()),
        });
        encoded.zeroize();
        result
    }

    /// `AUTH XOAUTH2` with an OAuth2 access token.
    pub fn auth_xoauth2(&mut self, user: &str, token: &str) -> Result<(), ConnectionError> {
        let mut raw = format!("user={user}\x01auth=Bearer {token}\x01\x01");
        let mut encoded = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
        raw.zeroize();
        let r = self.sasl("XOAUTH2", &encoded);
        let result = r.and_then(|s| match s {
            Some(s) => Err(self.auth_rejected("AUTH XOAUTH2", &s, &[token, &encoded])),
            None => Ok(()),
        });
        encoded.zeroize();
        result
    }

    /// Runs a one-step SASL exchange. `Ok(None)` when logged in, `Ok(Some(status))` with the
    /// `-ERR` when rejected.
    fn sasl(&mut self, mech: &str, response: &str) -> Result<Option<Status>, ConnectionError> {
        let command = format!("AUTH {mech}");
        // RFC 5034: the initial response may be used when the command fits in 255 octets.
        if command.len() + 1 + response.len() + 2 <= 255 {
            let mut line = format!("{command} {response}").into_bytes();
            self.send_secret_owned(&mut line, &command)?;
        } else {
            self.send(&command)?;
            let line = self.read_line(&format!("waiting for the answer to {command}"))?;
            let body = chomp(&line);
            if !(body == b"+" || body.starts_with(b"+ ")) {
                return match parse_status(body) {
                    Some(s) if !s.ok => Ok(Some(s)),
                    _ => {
                        let e = protocol(format!(
                            "the server did not continue {command}: \"{}\"",
                            printable(body)
                        ));
                        Err(self.broken(e))
                    }
                };
            }
            let mut line = response.as_bytes().to_vec();
            self.send_secret_owned(&mut line, &command)?;
        }
        let doing = format!("waiting for the answer to {command}");
        let line = self.read_line(&doing)?;
        let body = chomp(&line);
        if body == b"+" || body.starts_with(b"+ ") {
            // A challenge after our response is an error report (XOAUTH2 sends JSON here):
            // answer with an empty line, then the server's -ERR follows.
            self.send("")?;
            let s = self.read_status(&doing)?;
            if s.ok {
                self.logged_in = true;
                return Ok(None);
            }
            return Ok(Some(s));
        }
        match parse_status(body) {
            Some(s) if s.ok => {
                self.logged_in = true;
                Ok(None)
            }
            Some(s) => Ok(Some(s)),
            None => {
                let e = protocol(format!(
                    "the server answered something that is not +OK or -ERR while {doing}"
                ));
                Err(self.broken(e))
            }
        }
    }

    fn send_secret_owned(&mut self, line: &mut Vec<u8>, what: &str) -> Result<(), ConnectionError> {
        let taken = std::mem::take(line);
        self.send_secret(taken, what)
    }

    /// `STAT`.
    pub fn stat(&mut self) -> Result<Stat, ConnectionError> {
        let s = self.simple("STAT")?;
        let mut words = s.text.split_ascii_whitespace();
        let count = words.next().and_then(|w| w.parse().ok());
        let size = words.next().and_then(|w| w.parse().ok());
        match (count, size) {
            (Some(count), Some(size)) => Ok(Stat { count, size }),
            _ => Err(protocol(format!(
                "the server's STAT answer is not \"+OK count size\": +OK {}",
                s.text
            ))),
        }
    }

    /// `LIST`: every message's size. A line that is not "number size" fails the whole
    /// answer (quoting the line); [`Pop3Client::list_lenient`] keeps the others.
    pub fn list(&mut self) -> Result<Vec<MessageSize>, ConnectionError> {
        self.list_lenient()?
            .into_iter()
            .map(|l| l.map_err(|bad| protocol(bad.to_string())))
            .collect()
    }

    /// `LIST`, one result per line: a line that is not "number size" is a [`BadListLine`]
    /// for that message alone (the session stays in step).
    pub fn list_lenient(
        &mut self,
    ) -> Result<Vec<Result<MessageSize, BadListLine>>, ConnectionError> {
        self.simple("LIST")?;
        let lines = self.read_listing("reading the LIST answer")?;
        Ok(lines
            .iter()
            .map(|l| {
                parse_size_line(l).ok_or_else(|| BadListLine {
                    number: words(l)
                        .next()
                        .and_then(parse_number)
                        .and_then(|n| u32::try_from(n).ok()),
                    line: escaped(l),
                })
            })
            .collect())
    }

    /// `LIST n`: one message's size.
    pub fn list_one(&mut self, number: u32) -> Result<MessageSize, ConnectionError> {
        let s = self.simple(&format!("LIST {number}"))?;
        parse_size_line(s.text.as_bytes()).ok_or_else(|| {
            protocol(format!(
                "the server's LIST {number} answer is not \"+OK number size\": +OK {}",
                s.text
            ))
        })
    }

    /// `UIDL`: every message's unique id.
    pub fn uidl(&mut self) -> Result<Vec<MessageUid>, ConnectionError> {
        self.simple("UIDL")?;
        let lines = self.read_listing("reading the UIDL answer")?;
        lines
            .iter()
            .map(|l| parse_uid_line(l))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                protocol("the server's UIDL answer has a line that is not \"number uid\"")
            })
    }

    /// `UIDL n`: one message's unique id.
    pub fn uidl_one(&mut self, number: u32) -> Result<MessageUid, ConnectionError> {
        let s = self.simple(&format!("UIDL {number}"))?;
        parse_uid_line(s.text.as_bytes()).ok_or_else(|| {
            protocol(format!(
                "the server's UIDL {number} answer is not \"+OK number uid\": +OK {}",
                s.text
            ))
        })
    }

    /// `RETR n`: streams message `number` into `sink`, dot-unstuffed; returns the bytes
    /// written. Nothing of the message is held in memory beyond one 16 KiB buffer.
    pub fn retr(&mut self, number: u32, sink: &mut dyn Write) -> Result<u64, ConnectionError> {
        self.simple(&format!("RETR {number}"))?;
        self.read_body_into(sink, &format!("receiving message {number}"))
    }

    /// `TOP n lines`: the header and the first `lines` body lines of message `number`.
    pub fn top(
        &mut self,
        number: u32,
        lines: u32,
        sink: &mut dyn Write,
    ) -> Result<u64, ConnectionError> {
        self.simple(&format!("TOP {number} {lines}"))?;
        self.read_body_into(sink, &format!("the top of message {number}"))
    }

    /// `DELE n`: marks a message deleted; only `QUIT` applies it.
    pub fn dele(&mut self, number: u32) -> Result<(), ConnectionError> {
        self.simple(&format!("DELE {number}")).map(|_| ())
    }

    /// `RSET`: unmarks every message marked deleted.
    pub fn rset(&mut self) -> Result<(), ConnectionError> {
        self.simple("RSET").map(|_| ())
    }

    /// `NOOP`.
    pub fn noop(&mut self) -> Result<(), ConnectionError> {
        self.simple("NOOP").map(|_| ())
    }

    /// `QUIT`: ends the session; in TRANSACTION state this is what deletes the messages marked
    /// with `DELE`. An `-ERR` (the server could not remove them) is a protocol error.
    pub fn quit(mut self) -> Result<(), ConnectionError> {
        self.simple("QUIT").map(|_| ())
    }

    /// `RETR` of several messages, `sinks[i]` receiving `numbers[i]`. With PIPELINING (CAPA)
    /// up to [`PIPELINE_WINDOW`] commands are sent before their answers are read; otherwise
    /// one at a time. The outer error is a broken connection; an inner one a message the
    /// server refused (or a failing sink).
    pub fn retr_many<W: Write>(
        &mut self,
        numbers: &[u32],
        sinks: &mut [W],
    ) -> Result<Vec<Result<u64, ConnectionError>>, ConnectionError> {
        if numbers.len() != sinks.len() {
            return Err(ConnectionError::new(
                ErrorCategory::Protocol,
                "retr_many needs one sink per message number",
            ));
        }
        let mut results = Vec::with_capacity(numbers.len());
        let mut sinks = sinks.iter_mut();
        self.retr_each(
            numbers,
            |_| Slot(sinks.next()),
            |_, _, r| {
                results.push(r);
                ControlFlow::Continue(())
            },
        )?;
        Ok(results)
    }

    /// `RETR` of several messages, pipelined like [`Pop3Client::retr_many`], handing each one
    /// over as soon as it is read: `sink_for(i)` gives the sink for `numbers[i]` when its body
    /// starts, and `done(i, sink, result)` gets the sink back with the outcome (the byte count,
    /// or why the server refused it or the sink failed). The pipeline stays full across the
    /// whole list, and nothing is held back for the messages after.
    ///
    /// When `done` breaks, no further command is sent; answers to those already sent are read
    /// and dropped, so the session stays usable.
    pub fn retr_each<W: Write>(
        &mut self,
        numbers: &[u32],
        sink_for: impl FnMut(usize) -> W,
        done: impl FnMut(usize, W, Result<u64, ConnectionError>) -> ControlFlow<()>,
    ) -> Result<(), ConnectionError> {
        self.retr_each_with(numbers, |_, _| {}, sink_for, done)
    }

    /// [`Pop3Client::retr_each`] with `before(stream, i)` called before the answer to
    /// `numbers[i]` is read: the collector gives each message its own deadline there
    /// ([`MailStream::set_deadline`]).
    pub fn retr_each_with<W: Write>(
        &mut self,
        numbers: &[u32],
        mut before: impl FnMut(&mut S, usize),
        mut sink_for: impl FnMut(usize) -> W,
        mut done: impl FnMut(usize, W, Result<u64, ConnectionError>) -> ControlFlow<()>,
    ) -> Result<(), ConnectionError> {
        let mut stopped = false;
        self.pipelined(numbers, "RETR", &mut before, |c, i, n, s| {
            if stopped {
                if s.ok {
                    c.read_body_into(&mut io::sink(), &format!("receiving message {n}"))?;
                }
                return Ok(ControlFlow::Break(()));
            }
            let flow = if s.ok {
                let mut sink = sink_for(i);
                let r = c.read_body_into(&mut sink, &format!("receiving message {n}"));
                match r {
                    Err(e) if e.category() != ErrorCategory::Storage => return Err(e),
                    r => done(i, sink, r),
                }
            } else {
                let e = protocol(format!("the POP3 server refused RETR {n}: -ERR {}", s.text));
                done(i, sink_for(i), Err(e))
            };
            stopped = flow.is_break();
            Ok(flow)
        })
    }

    /// `DELE` of several messages (pipelined when offered). The outer error is a broken
    /// connection; an inner one a message the server refused.
    pub fn dele_many(
        &mut self,
        numbers: &[u32],
    ) -> Result<Vec<Result<(), ConnectionError>>, ConnectionError> {
        let mut results = Vec::with_capacity(numbers.len());
        self.pipelined(numbers, "DELE", &mut |_, _| {}, |_, _, n, s| {
            results.push(if s.ok {
                Ok(())
            } else {
                Err(protocol(format!(
                    "the POP3 server refused DELE {n}: -ERR {}",
                    s.text
                )))
            });
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(results)
    }

    /// Sends `verb n` for each of `numbers`, at most a window ahead of the answers, and hands
    /// each answer (its index, number and status) to `on_reply`, which reads what follows it.
    /// Once `on_reply` breaks, nothing more is sent; the answers already on their way are
    /// still handed over (it must drain them).
    fn pipelined(
        &mut self,
        numbers: &[u32],
        verb: &str,
        before: &mut dyn FnMut(&mut S, usize),
        mut on_reply: impl FnMut(
            &mut Self,
            usize,
            u32,
            Status,
        ) -> Result<ControlFlow<()>, ConnectionError>,
    ) -> Result<(), ConnectionError> {
        let window = if self
            .capabilities
            .as_ref()
            .is_some_and(Capabilities::pipelining)
        {
            PIPELINE_WINDOW
        } else {
            1
        };
        let mut sent = 0;
        let mut end = numbers.len();
        for (answered, &n) in numbers.iter().enumerate() {
            if answered >= end {
                break;
            }
            while sent < end && sent < answered + window {
                let mut batch = String::new();
                while sent < end && sent < answered + window {
                    batch.push_str(&format!("{verb} {}\r\n", numbers[sent]));
                    sent += 1;
                }
                tracing::trace!(commands = %batch.trim_end(), "POP3 > (pipelined)");
                self.check_usable()?;
                self.write_raw(batch.as_bytes(), verb)?;
            }
            before(&mut self.stream, answered);
            let s = self.read_status(&format!("waiting for the answer to {verb} {n}"))?;
            if on_reply(self, answered, n, s)?.is_break() {
                end = sent;
            }
        }
        Ok(())
    }
}

/// One of [`Pop3Client::retr_many`]'s sinks (always there: the counts were checked).
struct Slot<'a, W>(Option<&'a mut W>);

impl<W: Write> Write for Slot<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.0 {
            Some(w) => w.write(buf),
            None => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.0 {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

fn parse_number(word: &[u8]) -> Option<u64> {
    if word.is_empty() || word.len() > 19 || !word.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(word).ok()?.parse().ok()
}

fn words(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| b == b' ').filter(|w| !w.is_empty())
}

fn parse_size_line(line: &[u8]) -> Option<MessageSize> {
    let mut w = words(line);
    let number = u32::try_from(parse_number(w.next()?)?).ok()?;
    let size = parse_number(w.next()?)?;
    Some(MessageSize { number, size })
}

fn parse_uid_line(line: &[u8]) -> Option<MessageUid> {
    let mut w = words(line);
    let number = u32::try_from(parse_number(w.next()?)?).ok()?;
    let uid = w.next()?;
    // RFC 1939: 1–70 characters 0x21–0x7E; we accept up to 512.
    if uid.len() > 512 || !uid.iter().all(u8::is_ascii_graphic) || w.next().is_some() {
        return None;
    }
    Some(MessageUid {
        number,
        uid: String::from_utf8_lossy(uid).into_owned(),
    })
}

impl Pop3Client<MailStream> {
    /// Connects as the account says (route, implicit TLS), reads the greeting, does `STLS` when
    /// the security is STARTTLS (failing with [`ErrorCategory::Tls`] before any credential is
    /// sent when the server does not offer it) and logs in with the account's credential.
    pub fn connect(
        account: &IncomingAccount,
        creds: &dyn CredentialProvider,
        timeouts: &Timeouts,
    ) -> Result<Self, ConnectionError> {
        Self::connect_within(account, creds, timeouts, None)
    }

    /// [`Pop3Client::connect`] with the whole of it (greeting, `STLS`, `CAPA`, login, `UTF8`)
    /// bounded by `deadline`, which stays set on the stream afterwards (change it with
    /// [`Pop3Client::get_mut`] and [`MailStream::set_deadline`]).
    pub fn connect_within(
        account: &IncomingAccount,
        creds: &dyn CredentialProvider,
        timeouts: &Timeouts,
        deadline: Option<net::OpDeadline>,
    ) -> Result<Self, ConnectionError> {
        let settings = account.connection();
        let ctx = format!("POP3 {}", settings.endpoint);
        if account.protocol() != Protocol::Pop3 {
            return Err(protocol(format!(
                "account \"{}\" is {}, not POP3",
                account.name(),
                account.protocol()
            )));
        }
        let credential = creds.credential(account.credential()).map_err(|e| {
            ConnectionError::new(ErrorCategory::Credential, e.to_string()).with_source(e)
        })?;
        let mut client = Self::open_within(account, creds, timeouts, deadline)?;
        client.login(&credential).map_err(|e| e.context(&ctx))?;
        Ok(client)
    }

    /// Connects, reads the greeting and does `STLS` when the account's security is STARTTLS;
    /// does not log in (for connection checks that time each stage, use the [`net`] stages
    /// with [`Pop3Client::new`] and [`Pop3Client::stls`] instead).
    pub fn open(
        account: &IncomingAccount,
        creds: &dyn CredentialProvider,
        timeouts: &Timeouts,
    ) -> Result<Self, ConnectionError> {
        Self::open_within(account, creds, timeouts, None)
    }

    /// [`Pop3Client::open`] bounded by `deadline` from the greeting on.
    pub fn open_within(
        account: &IncomingAccount,
        creds: &dyn CredentialProvider,
        timeouts: &Timeouts,
        deadline: Option<net::OpDeadline>,
    ) -> Result<Self, ConnectionError> {
        let settings = account.connection();
        let ctx = format!("POP3 {}", settings.endpoint);
        let (mut stream, tls_info) =
            net::connect(settings, creds, timeouts).map_err(|e| e.context("POP3"))?;
        stream.set_deadline(deadline);
        let mut client = Self::new(stream, *timeouts).map_err(|e| e.context(&ctx))?;
        client.tls_info = tls_info;
        if matches!(settings.security, Security::StartTls) {
            client = client
                .stls(&settings.endpoint.host, &settings.tls)
                .map_err(|e| e.context(&ctx))?;
        } else {
            client.capa().map_err(|e| e.context(&ctx))?;
        }
        Ok(client)
    }

    /// `STLS`: upgrades the session to TLS, then asks `CAPA` again (RFC 2595). Fails with
    /// [`ErrorCategory::Tls`] when the server does not offer or refuses it, or sends anything
    /// before the handshake.
    pub fn stls(mut self, host: &Host, options: &TlsOptions) -> Result<Self, ConnectionError> {
        if self.stream.is_tls() {
            return Err(ConnectionError::new(
                ErrorCategory::Tls,
                "the POP3 session is already TLS",
            ));
        }
        if !self.capabilities()?.stls() {
            return Err(ConnectionError::new(
                ErrorCategory::Tls,
                "the server does not offer STLS (STARTTLS): not continuing in clear text; use SSL, or a server with STLS",
            ));
        }
        self.send("STLS")?;
        let s = self.read_status("waiting for the answer to STLS")?;
        if !s.ok {
            return Err(ConnectionError::new(
                ErrorCategory::Tls,
                format!("the server refused STLS: -ERR {}", s.text),
            ));
        }
        if self.start != self.end {
            return Err(ConnectionError::new(
                ErrorCategory::Tls,
                "the server sent data after accepting STLS, before the TLS handshake (a possible injection): not continuing",
            ));
        }
        let Pop3Client {
            stream,
            buf,
            greeting,
            timeouts,
            ..
        } = self;
        let (stream, info) = stream.upgrade_to_tls(host, options, &timeouts)?;
        let mut client = Pop3Client {
            stream,
            buf,
            start: 0,
            end: 0,
            greeting,
            capabilities: None,
            tls_info: Some(info),
            timeouts,
            broken: false,
            logged_in: false,
            utf8: false,
        };
        client.capa()?;
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// Server bytes in, client bytes out.
    struct Mem {
        input: io::Cursor<Vec<u8>>,
        output: Vec<u8>,
        chunk: usize,
    }

    impl Read for Mem {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.chunk.max(1));
            self.input.read(&mut buf[..n])
        }
    }
    impl Write for Mem {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn client(server: &[u8], chunk: usize) -> Result<Pop3Client<Mem>, ConnectionError> {
        Pop3Client::new(
            Mem {
                input: io::Cursor::new(server.to_vec()),
                output: Vec::new(),
                chunk,
            },
            Timeouts::default(),
        )
    }

    #[test]
    fn status_lines_are_strict() {
        assert_eq!(
            parse_status(b"+OK ready"),
            Some(Status {
                ok: true,
                text: "ready".into()
            })
        );
        assert_eq!(parse_status(b"+OK").map(|s| s.ok), Some(true));
        assert_eq!(parse_status(b"-ERR").map(|s| s.ok), Some(false));
        assert_eq!(parse_status(b"+OKAY"), None);
        assert_eq!(parse_status(b"+ok"), None);
        assert_eq!(parse_status(b"* OK"), None);
        assert_eq!(parse_status(b""), None);
    }

    #[test]
    fn retr_unstuffs_and_streams() {
        for chunk in [1, 2, 3, 7, 4096] {
            let mut c = client(
                b"+OK hi\r\n+OK 5 octets\r\nA\r\n..B\r\n.\rC\r\n..\r\nbare\nD\r\n.\r\n+OK\r\n",
                chunk,
            )
            .unwrap();
            let mut out = Vec::new();
            let n = c.retr(1, &mut out).unwrap();
            assert_eq!(out, b"A\r\n.B\r\n\rC\r\n.\r\nbare\nD\r\n", "chunk {chunk}");
            assert_eq!(n, out.len() as u64);
            c.noop().unwrap();
            assert_eq!(c.stream.output, b"RETR 1\r\nNOOP\r\n");
        }
    }

    #[test]
    fn retr_each_hands_over_as_read_and_a_break_drains_what_was_sent() {
        let mut server = b"+OK\r\n+OK\r\nPIPELINING\r\n.\r\n".to_vec();
        for n in 1..=PIPELINE_WINDOW + 1 {
            server.extend_from_slice(format!("+OK\r\nbody {n}\r\n..dot\r\n.\r\n").as_bytes());
        }
        server.extend_from_slice(b"+OK\r\n");
        let mut c = client(&server, 7).unwrap();
        c.capa().unwrap();
        let numbers: Vec<u32> = (1..=40).collect();
        let mut got: Vec<(usize, Vec<u8>)> = Vec::new();
        c.retr_each(
            &numbers,
            |_| Vec::new(),
            |i, body, r| {
                assert_eq!(r.unwrap(), body.len() as u64);
                got.push((i, body));
                if i == 1 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                (0, b"body 1\r\n.dot\r\n".to_vec()),
                (1, b"body 2\r\n.dot\r\n".to_vec())
            ]
        );
        // A window was sent, and one more after the first answer; nothing after the break.
        // Those answers were read and dropped: the session is still in step.
        c.noop().unwrap();
        let mut expected = b"CAPA\r\n".to_vec();
        for n in 1..=PIPELINE_WINDOW + 1 {
            expected.extend_from_slice(format!("RETR {n}\r\n").as_bytes());
        }
        expected.extend_from_slice(b"NOOP\r\n");
        assert_eq!(
            String::from_utf8_lossy(&c.stream.output),
            String::from_utf8_lossy(&expected)
        );
    }

    #[test]
    fn long_lines_are_bounded_in_listings_but_not_in_messages() {
        let mut server = b"+OK\r\n+OK\r\n".to_vec();
        server.extend(std::iter::repeat_n(b'x', 100_000));
        server.extend_from_slice(b"\r\n.\r\n+OK\r\n1 ");
        server.extend(std::iter::repeat_n(b'9', MAX_LINE));
        server.extend_from_slice(b"\r\n.\r\n");
        let mut c = client(&server, 4096).unwrap();
        let mut out = Vec::new();
        assert_eq!(c.retr(1, &mut out).unwrap(), 100_002);
        let e = c.list().unwrap_err();
        assert!(
            e.is_protocol() && e.message().contains("longer than"),
            "{e}"
        );
        assert!(!c.is_usable());
    }

    #[test]
    fn pipelined_retr_and_dele_read_replies_in_order() {
        let server = b"+OK\r\n+OK\r\nPIPELINING\r\n.\r\n+OK\r\none\r\n.\r\n-ERR no such message\r\n+OK\r\nthree\r\n.\r\n+OK\r\n-ERR gone\r\n";
        let mut c = client(server, 5).unwrap();
        c.capa().unwrap();
        let mut sinks = vec![Vec::new(), Vec::new(), Vec::new()];
        let r = c.retr_many(&[1, 2, 3], &mut sinks).unwrap();
        assert_eq!(r[0].as_ref().unwrap(), &5);
        assert!(r[1]
            .as_ref()
            .unwrap_err()
            .message()
            .contains("no such message"));
        assert_eq!(r[2].as_ref().unwrap(), &7);
        assert_eq!(sinks[0], b"one\r\n");
        assert_eq!(sinks[2], b"three\r\n");
        let d = c.dele_many(&[1, 3]).unwrap();
        assert!(d[0].is_ok() && d[1].is_err());
        assert_eq!(
            c.stream.output,
            b"CAPA\r\nRETR 1\r\nRETR 2\r\nRETR 3\r\nDELE 1\r\nDELE 3\r\n"
        );
    }

    #[test]
    fn password_is_never_in_errors() {
        let mut c = client(
            b"+OK\r\n+OK\r\nSASL PLAIN\r\n.\r\n-ERR [AUTH] bad: AHUAc2VjcmV0LXB3\r\n",
            64,
        )
        .unwrap();
        let e = c
            .login(&Credential::password("u", "secret-pw"))
            .unwrap_err();
        assert!(e.is_auth(), "{e}");
        assert!(!e.to_string().contains("AHUAc2VjcmV0LXB3"), "{e}");
        assert!(e.to_string().contains("[redacted]"), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn any_bytes_never_panic_and_memory_stays_bounded(
            bytes in proptest::collection::vec(any::<u8>(), 0..20_000),
            chunk in 1usize..5000,
        ) {
            exercise(&bytes, chunk);
        }

        #[test]
        fn pop3_like_bytes_never_panic(
            lines in proptest::collection::vec(
                prop_oneof![
                    Just(b"+OK\r\n".to_vec()),
                    Just(b"-ERR x\r\n".to_vec()),
                    Just(b".\r\n".to_vec()),
                    Just(b"..\r\n".to_vec()),
                    Just(b".\r".to_vec()),
                    Just(b"1 2\r\n".to_vec()),
                    Just(b"+ \r\n".to_vec()),
                    Just(b"\n".to_vec()),
                    proptest::collection::vec(any::<u8>(), 0..40),
                ],
                0..200,
            ),
            chunk in 1usize..64,
        ) {
            exercise(&lines.concat(), chunk);
        }
    }

    /// Drives every reading path of the client over `bytes`.
    fn exercise(bytes: &[u8], chunk: usize) {
        let Ok(mut c) = client(bytes, chunk) else {
            return;
        };
        let _ = c.capa();
        let _ = c.login(&Credential::password("u", "p"));
        let _ = c.stat();
        let _ = c.list();
        let _ = c.list_one(1);
        let _ = c.uidl();
        let _ = c.uidl_one(1);
        let mut sink = Vec::new();
        let _ = c.retr(1, &mut sink);
        let _ = c.top(1, 0, &mut sink);
        let mut sinks = [Vec::new(), Vec::new()];
        let _ = c.retr_many(&[1, 2], &mut sinks);
        let _ = c.dele_many(&[1, 2]);
        assert_eq!(c.buf.len(), BUFFER, "the read buffer never grows");
        assert!(sink.len() <= bytes.len());
        let _ = c.quit();
    }
}
