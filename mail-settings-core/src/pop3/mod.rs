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
//! ## Layout
//! - here: the types, the status-line parser and the client's state;
//! - `reply`: reading through the shared [`BoundedReader`] (status lines, listings,
//!   dot-terminated bodies) and writing commands;
//! - `login`: `CAPA`, login, `UTF8` (RFC 6856), connecting ([`Pop3Client::connect_within`]
//!   bounds it all by an operation deadline) and `STLS`;
//! - `listing`: `STAT`, `LIST` ([`Pop3Client::list_lenient`] keeps one bad line to its
//!   message), `UIDL`;
//! - `retrieve`: `RETR`, `TOP`, pipelined `RETR`/`DELE` (with a hook to give each message its
//!   own deadline), `DELE`, `QUIT`.
//!
//! ## The reply parser
//! Strict where it matters and bounded everywhere:
//! - a status line is `+OK` or `-ERR`, alone or followed by a space and text; anything else is a
//!   protocol error (a SASL continuation `+ ` only during AUTH);
//! - a line (status or listing) is at most [`MAX_LINE`] bytes with its CRLF (RFC 1939 allows 512
//!   for status lines; real servers send longer `-ERR` texts, so we are lenient up to 8 KiB,
//!   never more), cut off by the shared [`BoundedReader`] as soon as that is passed;
//!   message content (RETR, TOP) has no line limit, as mail can have very long lines, and is
//!   streamed, not buffered;
//! - a multi-line response ends with a line that is just `.`; a line starting with `.` has that
//!   dot removed (dot-unstuffing);
//! - **bare LF** is accepted as a line end (some old servers send it); a CR not followed by LF is
//!   content. Message bytes are passed to the sink exactly as received, line ends included;
//! - a listing has at most [`MAX_LISTING_LINES`] lines;
//! - everything is read through [`crate::net::reader`]'s one fixed buffer (the reader SMTP, IMAP
//!   and the proxy handshakes use too): memory does not grow with what the server sends, and no
//!   input makes it panic (checked by a proptest here and by the `pop3_reply` fuzz target);
//! - a line quoted in an error is made safe ([`escaped`]: control characters as `\xNN`).
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
use crate::net::{self, BoundedReader, MailStream, ReadError, Timeouts, TlsInfo};
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
    /// `AUTH OAUTHBEARER` (RFC 7628).
    OAuthBearer,
}

/// A POP3 session over any stream.
pub struct Pop3Client<S: Read + Write> {
    /// The stream, read through the shared bounded reader (one fixed buffer).
    reader: BoundedReader<S>,
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

/// Parses a status line (line end already removed).
pub(crate) fn parse_status(line: &[u8]) -> Option<Status> {
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
            reader: BoundedReader::with_capacity(stream, BUFFER),
            greeting: String::new(),
            capabilities: None,
            tls_info: None,
            timeouts,
            broken: false,
            logged_in: false,
            utf8: false,
        };
        let line = c.read_line("reading the greeting")?;
        match parse_status(&line) {
            Some(Status { ok: true, text }) => c.greeting = text,
            Some(Status { ok: false, text }) => {
                return Err(protocol(format!(
                    "the POP3 server refused the session: -ERR {text}"
                )))
            }
            None => {
                return Err(protocol(format!(
                    "not a POP3 server: its greeting is \"{}\", not +OK",
                    printable(&line)
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
        self.reader.get_ref()
    }

    /// The stream (for a different read timeout, say).
    pub fn get_mut(&mut self) -> &mut S {
        self.reader.get_mut()
    }
}

mod listing;
mod login;
mod reply;
mod retrieve;
#[cfg(test)]
mod tests;
