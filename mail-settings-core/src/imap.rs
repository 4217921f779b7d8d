//! Reading an IMAP mailbox: what the mail collector and the connection check need, behind our
//! own small interface.
//!
//! ## Why a wrapper
//! The protocol work is done by the `imap` crate, pinned at `=3.0.0-alpha.15` with its default
//! features off (it then has no TLS of its own). Only this module touches it, through
//! [`ImapClient`] (before login) and [`ImapSession`] (after), which speak in our own types
//! ([`ImapCapabilities`], [`MailboxInfo`], [`FetchedMessage`], [`ConnectionError`]), so the
//! crate can be replaced without touching the collector or the connection check.
//!
//! ## What this module does itself
//! - **STARTTLS**: with its TLS features off the crate has no STARTTLS, and its command runner
//!   is private before login. We read the greeting and ask CAPABILITY through the crate, take
//!   the stream back, send `STARTTLS` ourselves and check that the server sent nothing more
//!   before the handshake (bytes sent then would be read as if they came over TLS), then
//!   upgrade with [`MailStream::upgrade_to_tls`] and give the TLS stream to a new crate client.
//!   A server that does not offer STARTTLS fails the connection with [`ErrorCategory::Tls`]
//!   before any credential is sent: never a fallback to clear text.
//! - **UIDs only**: messages are addressed by UID (`UID FETCH`, `UID STORE`, `UID EXPUNGE`),
//!   never by sequence number, which changes when other clients expunge. Bodies are fetched with
//!   `BODY.PEEK[]`, which does not set `\Seen`.
//! - **Reading fetched bodies**: the crate's parser reads a literal line by line and parses the
//!   response again after each line, and copies each body twice. [`ImapSession::uid_fetch_each`]
//!   sends its `UID FETCH` (tagged `msf1`, `msf2`, …) and reads the responses itself: each
//!   literal is read exactly, into a vector of its size. The crate and this reader share one
//!   read buffer, which hands the crate at most one line per read so that no bytes are left in
//!   the crate's own buffer. Response lines between literals are bounded (64 KiB), and so are
//!   literals (1 GiB); anything else is an [`ErrorCategory::Protocol`] error, never a panic.
//! - **No blind EXPUNGE**: [`ImapSession::uid_expunge`] needs UIDPLUS (RFC 4315); without it the
//!   call is refused, since a plain EXPUNGE would also remove messages another client marked
//!   `\Deleted`.
//!
//! Every read and write is bounded by the stream's timeouts ([`Timeouts`]); a timeout is
//! [`ErrorCategory::Timeout`]. Credentials are never logged nor echoed in errors.

use crate::credentials::{Credential, CredentialProvider, Secret};
use crate::error::{ConnectionError, ErrorCategory};
use crate::model::{Protocol, Security};
use crate::net::{self, MailStream, Timeouts, TlsInfo};
use crate::smtp::wire::Wire;
use crate::typed::IncomingAccount;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Longest line accepted during our STARTTLS exchange.
const MAX_LINE: usize = 8192;
/// The tag of our own STARTTLS command (the crate numbers its tags `a1`, `a2`, …).
const STARTTLS_TAG: &str = "ms1";
/// The prefix of the tags of our own `UID FETCH` commands (`msf1`, `msf2`, …).
const FETCH_TAG_PREFIX: &str = "msf";
/// Longest piece of a response line (between literals) our fetch reader accepts.
const MAX_RESPONSE_LINE: usize = 64 * 1024;
/// Largest literal (a message body) our fetch reader accepts.
const MAX_LITERAL: usize = 1 << 30;
/// Deepest nesting of parenthesised lists skipped in a FETCH response.
const MAX_DEPTH: usize = 32;
/// Size of the shared read buffer.
const READ_BUF: usize = 64 * 1024;

/// How to connect and fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImapOptions {
    /// Bounds of connecting, reading and writing.
    pub timeouts: Timeouts,
    /// Most messages asked for in one `UID FETCH` of bodies (default 20): bounds the memory one
    /// round trip holds.
    pub fetch_batch: usize,
}

impl Default for ImapOptions {
    fn default() -> Self {
        Self {
            timeouts: Timeouts::default(),
            fetch_batch: 20,
        }
    }
}

impl ImapOptions {
    /// Defaults with these timeouts.
    pub fn with_timeouts(timeouts: Timeouts) -> Self {
        Self {
            timeouts,
            ..Self::default()
        }
    }
}

/// What the server says it can do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImapCapabilities {
    /// Upper-cased, e.g. `IMAP4REV1`, `STARTTLS`, `AUTH=PLAIN`, `UIDPLUS`.
    items: Vec<String>,
}

impl ImapCapabilities {
    /// From capability words (for fakes and tests).
    pub fn from_words<I: IntoIterator<Item = S>, S: AsRef<str>>(words: I) -> Self {
        let mut items: Vec<String> = Vec::new();
        for w in words {
            let w = w.as_ref().to_ascii_uppercase();
            if !w.is_empty() && !items.contains(&w) {
                items.push(w);
            }
        }
        Self { items }
    }

    fn from_crate(caps: &::imap::types::Capabilities) -> Self {
        Self::from_words(caps.iter().map(|c| match c {
            imap_proto::types::Capability::Imap4rev1 => "IMAP4rev1".to_owned(),
            imap_proto::types::Capability::Auth(m) => format!("AUTH={m}"),
            imap_proto::types::Capability::Atom(a) => a.to_string(),
            #[allow(unreachable_patterns)]
            other => format!("{other:?}"),
        }))
    }

    /// Whether `word` is listed (case-insensitive), e.g. `has("UIDPLUS")`.
    pub fn has(&self, word: &str) -> bool {
        self.items.iter().any(|i| i.eq_ignore_ascii_case(word))
    }

    /// STARTTLS offered.
    pub fn starttls(&self) -> bool {
        self.has("STARTTLS")
    }

    /// LOGINDISABLED: the server refuses LOGIN (usually until STARTTLS).
    pub fn login_disabled(&self) -> bool {
        self.has("LOGINDISABLED")
    }

    /// UIDPLUS (RFC 4315): `UID EXPUNGE` is available.
    pub fn uidplus(&self) -> bool {
        self.has("UIDPLUS")
    }

    /// The SASL mechanisms of the `AUTH=` capabilities, upper-cased.
    pub fn auth_mechanisms(&self) -> Vec<String> {
        self.items
            .iter()
            .filter_map(|i| i.strip_prefix("AUTH=").map(str::to_owned))
            .collect()
    }

    /// Every capability, upper-cased, in the server's order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(String::as_str)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// None at all.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A mailbox in the server's list.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxName {
    /// Its name, as the server spells it (modified UTF-7 for non-ASCII names).
    pub name: String,
    /// The hierarchy delimiter, if any.
    pub delimiter: Option<String>,
    /// Attributes such as `\Noselect`, `\HasChildren`, `\Sent`.
    pub attributes: Vec<String>,
}

impl MailboxName {
    /// Whether it can be selected (no `\Noselect`).
    pub fn selectable(&self) -> bool {
        !self.attributes.iter().any(|a| {
            a.eq_ignore_ascii_case("\\Noselect") || a.eq_ignore_ascii_case("\\NonExistent")
        })
    }
}

/// A selected mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxInfo {
    /// The name it was selected by.
    pub name: String,
    /// Messages in it.
    pub exists: u32,
    /// UIDVALIDITY: when it changes, every UID seen before is meaningless.
    pub uid_validity: Option<u32>,
    /// The UID the next message will get (at least).
    pub uid_next: Option<u32>,
    /// Selected read-only (EXAMINE, or the server said so).
    pub read_only: bool,
}

/// A message's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageSize {
    /// Its UID.
    pub uid: u32,
    /// RFC822.SIZE in bytes.
    pub size: u32,
}

/// A message's flags.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageFlags {
    /// Its UID.
    pub uid: u32,
    /// Flags such as `\Seen`, `\Deleted`.
    pub flags: Vec<String>,
}

impl MessageFlags {
    /// Whether `flag` (e.g. `\Seen`) is set.
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f.eq_ignore_ascii_case(flag))
    }
}

/// A fetched message.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchedMessage {
    /// Its UID.
    pub uid: u32,
    /// RFC822.SIZE as the server reported it.
    pub size: Option<u32>,
    /// The whole message as stored (`BODY[]`), byte for byte.
    pub raw: Vec<u8>,
}

impl fmt::Debug for FetchedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchedMessage")
            .field("uid", &self.uid)
            .field("size", &self.size)
            .field("bytes", &self.raw.len())
            .finish()
    }
}

/// Count and total size of a mailbox, for connection checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxStats {
    /// Messages.
    pub messages: u32,
    /// Sum of their RFC822.SIZE, in bytes.
    pub total_size: u64,
}

fn protocol(message: impl Into<String>) -> ConnectionError {
    ConnectionError::new(ErrorCategory::Protocol, message)
}

/// Server text made safe for a message.
fn clean(text: &str) -> String {
    crate::smtp::summarize_text(text)
}

fn io_err(e: io::Error, doing: &str, bound: Duration) -> ConnectionError {
    crate::smtp::io_error(e, doing, bound)
}

/// Maps an error of the `imap` crate that happened while `doing`.
fn map_err(e: ::imap::Error, doing: &str, bound: Duration) -> ConnectionError {
    match e {
        ::imap::Error::Io(io) => io_err(io, doing, bound),
        ::imap::Error::ConnectionLost => ConnectionError::new(
            ErrorCategory::Connect,
            format!("the server closed the connection while {doing}"),
        ),
        ::imap::Error::No(no) => protocol(format!(
            "the server refused while {doing}: NO {}",
            clean(&no.information)
        )),
        ::imap::Error::Bad(bad) => protocol(format!(
            "the server refused while {doing}: BAD {}",
            clean(&bad.information)
        )),
        ::imap::Error::Bye(bye) => ConnectionError::new(
            ErrorCategory::Connect,
            format!(
                "the server ended the session while {doing}: BYE {}",
                clean(&bye.information)
            ),
        ),
        ::imap::Error::Validate(v) => ConnectionError::new(
            ErrorCategory::Validation,
            format!("cannot send while {doing}: {v}"),
        ),
        ::imap::Error::Parse(p) => protocol(format!(
            "the server sent a reply that cannot be parsed while {doing}: {}",
            clean(&p.to_string())
        )),
        other => protocol(format!(
            "unexpected reply while {doing}: {}",
            clean(&other.to_string())
        )),
    }
}

/// A compact UID set (`1:5,7,9:10`) from UIDs in any order; `None` when empty.
pub fn uid_set(uids: &[u32]) -> Option<String> {
    let sorted: BTreeSet<u32> = uids.iter().copied().filter(|u| *u > 0).collect();
    let mut out = String::new();
    let mut iter = sorted.into_iter();
    let first = iter.next()?;
    let (mut start, mut end) = (first, first);
    let push = |out: &mut String, s: u32, e: u32| {
        if !out.is_empty() {
            out.push(',');
        }
        if s == e {
            out.push_str(&s.to_string());
        } else {
            out.push_str(&format!("{s}:{e}"));
        }
    };
    for u in iter {
        if end.checked_add(1) == Some(u) {
            end = u;
        } else {
            push(&mut out, start, end);
            start = u;
            end = u;
        }
    }
    push(&mut out, start, end);
    Some(out)
}

/// The stream with a read buffer, shared by the crate (through [`Tap`]) and our own fetch
/// reader, so that no byte the server sent is ever left behind in a buffer the other side does
/// not see.
struct Buffered<S> {
    stream: S,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

/// What went wrong while reading a response ourselves.
#[derive(Debug)]
enum ReadError {
    Io(io::Error),
    /// The stream ended.
    Eof,
    /// The stream ended after an untagged BYE with this text.
    Bye(String),
    /// The reply breaks the grammar or our bounds.
    Protocol(String),
    /// A tagged NO or BAD: the status and the text.
    Refused(String),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Self::Eof
        } else {
            Self::Io(e)
        }
    }
}

fn bad_reply(what: impl Into<String>) -> ReadError {
    ReadError::Protocol(what.into())
}

impl<S: Read> Buffered<S> {
    fn new(stream: S) -> Self {
        Self {
            stream,
            buf: vec![0u8; READ_BUF].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// Makes sure bytes are buffered; `false` at the end of the stream.
    fn fill(&mut self) -> io::Result<bool> {
        if self.start < self.end {
            return Ok(true);
        }
        self.start = 0;
        self.end = 0;
        loop {
            match self.stream.read(&mut self.buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end = n.min(self.buf.len());
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// One line into `out`, without its line ending (CRLF or a bare LF); at most
    /// [`MAX_RESPONSE_LINE`] bytes.
    fn read_line(&mut self, out: &mut Vec<u8>) -> Result<(), ReadError> {
        out.clear();
        loop {
            if !self.fill()? {
                return Err(ReadError::Eof);
            }
            let avail = &self.buf[self.start..self.end];
            let (take, done) = match avail.iter().position(|&b| b == b'\n') {
                Some(pos) => (pos, true),
                None => (avail.len(), false),
            };
            if out.len() + take > MAX_RESPONSE_LINE + 1 {
                return Err(bad_reply(format!(
                    "a response line longer than {MAX_RESPONSE_LINE} bytes"
                )));
            }
            out.extend_from_slice(&avail[..take]);
            if done {
                self.start += take + 1;
                if out.last() == Some(&b'\r') {
                    out.pop();
                }
                return Ok(());
            }
            self.start = self.end;
        }
    }

    /// Exactly `n` bytes: kept in a vector of capacity `n`, or dropped.
    fn read_literal(&mut self, n: usize, keep: bool) -> Result<Option<Vec<u8>>, ReadError> {
        let mut out = if keep {
            Vec::with_capacity(n)
        } else {
            Vec::new()
        };
        let mut left = n;
        while left > 0 && self.start < self.end {
            let take = left.min(self.end - self.start);
            if keep {
                out.extend_from_slice(&self.buf[self.start..self.start + take]);
            }
            self.start += take;
            left -= take;
        }
        if left == 0 {
            return Ok(keep.then_some(out));
        }
        if keep {
            // The buffer is empty: read the rest straight into place.
            let want = u64::try_from(left).map_err(|_| bad_reply("a literal too large"))?;
            (&mut self.stream).take(want).read_to_end(&mut out)?;
            if out.len() != n {
                return Err(ReadError::Eof);
            }
            Ok(Some(out))
        } else {
            while left > 0 {
                if !self.fill()? {
                    return Err(ReadError::Eof);
                }
                let take = left.min(self.end - self.start);
                self.start += take;
                left -= take;
            }
            Ok(None)
        }
    }
}

/// The stream as the crate sees it: reads come from the shared buffer, at most up to the end of
/// a line, so the crate's own line buffer never holds bytes past the line it asked for.
struct Tap<S>(Arc<Mutex<Buffered<S>>>);

impl<S> Clone for Tap<S> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<S: Read> Tap<S> {
    fn new(stream: S) -> Self {
        Self(Arc::new(Mutex::new(Buffered::new(stream))))
    }
}

impl<S> Tap<S> {
    fn lock(&self) -> MutexGuard<'_, Buffered<S>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The stream back, when this is the last handle and nothing unread is buffered.
    fn into_inner(self) -> Option<S> {
        let b = Arc::try_unwrap(self.0)
            .ok()?
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        (b.start >= b.end).then_some(b.stream)
    }
}

impl<S: Read> Read for Tap<S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut b = self.lock();
        if !b.fill()? {
            return Ok(0);
        }
        let avail = &b.buf[b.start..b.end];
        let line = avail
            .iter()
            .position(|&c| c == b'\n')
            .map_or(avail.len(), |i| i + 1);
        let n = line.min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        b.start += n;
        Ok(n)
    }
}

impl<S: Write> Write for Tap<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().stream.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.lock().stream.flush()
    }
}

/// One `* n FETCH (…)` response as our reader saw it.
#[derive(Debug, Default, PartialEq, Eq)]
struct FetchItem {
    uid: Option<u32>,
    size: Option<u32>,
    flags: Option<Vec<String>>,
    /// `BODY[]`; `None` when absent or NIL.
    body: Option<Vec<u8>>,
}

/// A response being read: the current piece of line (between literals) and a position in it.
struct Resp<'a, S> {
    rd: &'a mut Buffered<S>,
    line: Vec<u8>,
    pos: usize,
}

fn is_delim(c: u8) -> bool {
    matches!(c, b' ' | b'(' | b')')
}

impl<S: Read> Resp<'_, S> {
    fn next_line(&mut self) -> Result<(), ReadError> {
        self.pos = 0;
        self.rd.read_line(&mut self.line)
    }

    fn peek(&self) -> Option<u8> {
        self.line.get(self.pos).copied()
    }

    fn rest(&self) -> &[u8] {
        self.line.get(self.pos..).unwrap_or_default()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        while self.eat(b' ') {}
    }

    /// Bytes up to a space or parenthesis.
    fn atom(&mut self) -> Vec<u8> {
        let start = self.pos;
        while self.peek().is_some_and(|c| !is_delim(c)) {
            self.pos += 1;
        }
        self.line[start..self.pos].to_vec()
    }

    fn number(&mut self) -> Result<u32, ReadError> {
        let a = self.atom();
        std::str::from_utf8(&a)
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(|| {
                bad_reply(format!(
                    "\"{}\" where a number was expected",
                    clean(&String::from_utf8_lossy(&a))
                ))
            })
    }

    /// An attribute name such as `UID` or `BODY[HEADER.FIELDS (FROM)]<0>`, upper-cased.
    fn name(&mut self) -> Result<Vec<u8>, ReadError> {
        let start = self.pos;
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                c if depth == 0 && is_delim(c) => break,
                _ => {}
            }
            self.pos += 1;
        }
        if depth != 0 || self.pos == start {
            return Err(bad_reply("a FETCH attribute without a proper name"));
        }
        Ok(self.line[start..self.pos].to_ascii_uppercase())
    }

    /// At `{`: the literal's header `{n}` (or `{n+}`), which must end the line, then its bytes,
    /// then the next piece of line.
    fn literal(&mut self, keep: bool) -> Result<Option<Vec<u8>>, ReadError> {
        let rest = self.rest();
        let ok = rest.len() >= 3 && rest[0] == b'{' && rest[rest.len() - 1] == b'}';
        let digits = if ok {
            &rest[1..rest.len() - 1]
        } else {
            &[][..]
        };
        let digits = digits.strip_suffix(b"+").unwrap_or(digits);
        let n = std::str::from_utf8(digits)
            .ok()
            .filter(|d| !d.is_empty() && d.len() <= 10 && d.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|d| d.parse::<usize>().ok())
            .ok_or_else(|| bad_reply("a malformed literal"))?;
        if n > MAX_LITERAL {
            return Err(bad_reply(format!(
                "a literal of {n} bytes (more than {MAX_LITERAL})"
            )));
        }
        let bytes = self.rd.read_literal(n, keep)?;
        self.next_line()?;
        Ok(bytes)
    }

    fn quoted(&mut self, keep: bool) -> Result<Option<Vec<u8>>, ReadError> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(bad_reply("an unterminated quoted string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(keep.then_some(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self
                        .peek()
                        .ok_or_else(|| bad_reply("an unterminated quoted string"))?;
                    out.push(c);
                    self.pos += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// NIL, a quoted string or a literal.
    fn nstring(&mut self, keep: bool) -> Result<Option<Vec<u8>>, ReadError> {
        match self.peek() {
            Some(b'"') => self.quoted(keep),
            Some(b'{') => self.literal(keep),
            _ => {
                let a = self.atom();
                if a.eq_ignore_ascii_case(b"NIL") {
                    Ok(None)
                } else {
                    Err(bad_reply(
                        "a body that is neither NIL, a string nor a literal",
                    ))
                }
            }
        }
    }

    /// Any value (atom, number, NIL, string, literal, list), dropped.
    fn skip_value(&mut self, depth: usize) -> Result<(), ReadError> {
        match self.peek() {
            None | Some(b')') | Some(b' ') => Err(bad_reply("a FETCH attribute without a value")),
            Some(b'"') => self.quoted(false).map(drop),
            Some(b'{') => self.literal(false).map(drop),
            Some(b'(') => {
                if depth >= MAX_DEPTH {
                    return Err(bad_reply("lists nested too deeply"));
                }
                self.pos += 1;
                loop {
                    self.skip_spaces();
                    if self.eat(b')') {
                        return Ok(());
                    }
                    self.skip_value(depth + 1)?;
                }
            }
            Some(_) => {
                self.atom();
                Ok(())
            }
        }
    }

    fn flags(&mut self) -> Result<Vec<String>, ReadError> {
        if !self.eat(b'(') {
            return Err(bad_reply("FLAGS without a list"));
        }
        let mut out = Vec::new();
        loop {
            self.skip_spaces();
            if self.eat(b')') {
                return Ok(out);
            }
            let a = self.atom();
            if a.is_empty() {
                return Err(bad_reply("a malformed FLAGS list"));
            }
            out.push(String::from_utf8_lossy(&a).into_owned());
        }
    }

    /// After `* n FETCH (`: the attributes, in any order, up to the closing parenthesis.
    fn fetch_attributes(&mut self) -> Result<FetchItem, ReadError> {
        let mut item = FetchItem::default();
        loop {
            self.skip_spaces();
            if self.eat(b')') {
                break;
            }
            if self.peek().is_none() {
                return Err(bad_reply("an unterminated FETCH response"));
            }
            let name = self.name()?;
            if !self.eat(b' ') {
                return Err(bad_reply("a FETCH attribute without a value"));
            }
            self.skip_spaces();
            match name.as_slice() {
                b"UID" => item.uid = Some(self.number()?),
                b"RFC822.SIZE" => item.size = Some(self.number()?),
                b"FLAGS" => item.flags = Some(self.flags()?),
                b"BODY[]" | b"BODY[]<0>" => item.body = self.nstring(true)?,
                _ => self.skip_value(0)?,
            }
        }
        if self.rest().iter().any(|&c| c != b' ') {
            return Err(bad_reply("bytes after the end of a FETCH response"));
        }
        Ok(item)
    }

    /// The rest of an untagged response we do not use, literals included.
    fn skip_untagged(&mut self) -> Result<(), ReadError> {
        loop {
            let rest = self.rest();
            let literal = rest.ends_with(b"}")
                && rest.iter().rposition(|&c| c == b'{').is_some_and(|open| {
                    let d = &rest[open + 1..rest.len() - 1];
                    let d = d.strip_suffix(b"+").unwrap_or(d);
                    !d.is_empty() && d.iter().all(u8::is_ascii_digit)
                });
            if !literal {
                return Ok(());
            }
            if let Some(open) = rest.iter().rposition(|&c| c == b'{') {
                self.pos += open;
            }
            self.literal(false)?;
        }
    }
}

/// Reads the responses to our command tagged `tag` up to its tagged OK, handing each
/// `* n FETCH (…)` to `each`; other untagged responses are skipped.
fn read_fetch<S: Read>(
    rd: &mut Buffered<S>,
    tag: &[u8],
    mut each: impl FnMut(FetchItem),
) -> Result<(), ReadError> {
    let mut r = Resp {
        rd,
        line: Vec::new(),
        pos: 0,
    };
    let mut bye: Option<String> = None;
    loop {
        match r.next_line() {
            Ok(()) => {}
            Err(ReadError::Eof) => {
                return Err(bye.map_or(ReadError::Eof, ReadError::Bye));
            }
            Err(e) => return Err(e),
        }
        if r.line.is_empty() {
            continue;
        }
        if r.line.starts_with(tag) && r.line.get(tag.len()) == Some(&b' ') {
            r.pos = tag.len() + 1;
            let status = r.atom().to_ascii_uppercase();
            let text = String::from_utf8_lossy(r.rest()).trim().to_owned();
            return match status.as_slice() {
                b"OK" => Ok(()),
                b"NO" | b"BAD" => Err(ReadError::Refused(format!(
                    "{} {text}",
                    String::from_utf8_lossy(&status)
                ))),
                _ => Err(bad_reply(format!(
                    "an unknown status: \"{}\"",
                    clean(&String::from_utf8_lossy(&r.line))
                ))),
            };
        }
        if !r.line.starts_with(b"* ") {
            return Err(bad_reply(format!(
                "an unexpected line: \"{}\"",
                clean(&String::from_utf8_lossy(&r.line))
            )));
        }
        r.pos = 2;
        let first = r.atom();
        if !first.is_empty() && first.iter().all(u8::is_ascii_digit) && r.eat(b' ') {
            let start = r.pos;
            let word = r.atom();
            if word.eq_ignore_ascii_case(b"FETCH") {
                if !(r.eat(b' ') && r.eat(b'(')) {
                    return Err(bad_reply("a FETCH response without its list"));
                }
                each(r.fetch_attributes()?);
                continue;
            }
            r.pos = start;
        } else if first.eq_ignore_ascii_case(b"BYE") {
            bye = Some(String::from_utf8_lossy(r.rest()).trim().to_owned());
        }
        r.skip_untagged()?;
    }
}

/// Maps an error of our own reader that happened while `doing`, as [`map_err`] does for the
/// crate's.
fn read_err(e: ReadError, doing: &str, bound: Duration) -> ConnectionError {
    match e {
        ReadError::Io(io) => io_err(io, doing, bound),
        ReadError::Eof => ConnectionError::new(
            ErrorCategory::Connect,
            format!("the server closed the connection while {doing}"),
        ),
        ReadError::Bye(text) => ConnectionError::new(
            ErrorCategory::Connect,
            format!(
                "the server ended the session while {doing}: BYE {}",
                clean(&text)
            ),
        ),
        ReadError::Protocol(what) => protocol(format!(
            "the server sent a reply that cannot be parsed while {doing}: {what}"
        )),
        ReadError::Refused(text) => protocol(format!(
            "the server refused while {doing}: {}",
            clean(&text)
        )),
    }
}

/// An IMAP connection before login: greeting read, capabilities known on demand.
pub struct ImapClient<S: Read + Write> {
    client: ::imap::Client<Tap<S>>,
    /// Our handle on the stream the crate reads through.
    stream: Tap<S>,
    greeting: String,
    capabilities: Option<ImapCapabilities>,
    encrypted: bool,
    bound: Duration,
}

impl<S: Read + Write> fmt::Debug for ImapClient<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapClient")
            .field("greeting", &self.greeting)
            .field("capabilities", &self.capabilities)
            .field("encrypted", &self.encrypted)
            .finish()
    }
}

impl<S: Read + Write> ImapClient<S> {
    /// Reads the greeting. `encrypted` tells whether `stream` is already TLS; `bound` is the
    /// stream's read timeout, named in timeout errors. A `* BYE` greeting is refused.
    pub fn new(stream: S, encrypted: bool, bound: Duration) -> Result<Self, ConnectionError> {
        let stream = Tap::new(stream);
        let mut client = ::imap::Client::new(stream.clone());
        let raw = client
            .read_greeting()
            .map_err(|e| map_err(e, "reading the greeting", bound))?;
        let greeting = String::from_utf8_lossy(&raw).trim_end().to_owned();
        tracing::debug!(greeting = %clean(&greeting), "IMAP greeting");
        let upper = greeting.to_ascii_uppercase();
        if upper.starts_with("* BYE") {
            return Err(protocol(format!(
                "the server refused the session: {}",
                clean(&greeting)
            )));
        }
        if !(upper.starts_with("* OK") || upper.starts_with("* PREAUTH")) {
            return Err(protocol(format!(
                "the server did not greet as an IMAP server: \"{}\"",
                clean(&greeting)
            )));
        }
        Ok(Self {
            client,
            stream,
            greeting,
            capabilities: None,
            encrypted,
            bound,
        })
    }

    /// The greeting line (`* OK … ready.`).
    pub fn greeting(&self) -> &str {
        &self.greeting
    }

    /// Whether the stream is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// The capabilities (asked once with CAPABILITY, then remembered).
    pub fn capabilities(&mut self) -> Result<&ImapCapabilities, ConnectionError> {
        if self.capabilities.is_none() {
            let caps = self
                .client
                .capabilities()
                .map_err(|e| map_err(e, "asking for the capabilities", self.bound))?;
            self.capabilities = Some(ImapCapabilities::from_crate(&caps));
        }
        self.capabilities
            .as_ref()
            .ok_or_else(|| protocol("no capabilities"))
    }

    /// STARTTLS (RFC 3501 §6.2.1): fails with [`ErrorCategory::Tls`] when the server does not
    /// offer it (nothing else is sent), or when it sends anything between its OK and the
    /// handshake. `upgrade` runs the TLS handshake on the stream. Capabilities are asked again
    /// after TLS.
    pub fn starttls<T, F>(mut self, upgrade: F) -> Result<ImapClient<T>, ConnectionError>
    where
        T: Read + Write,
        F: FnOnce(S) -> Result<T, ConnectionError>,
    {
        if self.encrypted {
            return Err(ConnectionError::new(
                ErrorCategory::Tls,
                "the connection is already encrypted: STARTTLS cannot be done twice",
            ));
        }
        if !self.capabilities()?.starttls() {
            return Err(ConnectionError::new(
                ErrorCategory::Tls,
                "the server does not offer STARTTLS; the connection was not continued in clear \
                 text: use a port with implicit TLS (SSL), or turn the secure connection off only \
                 if clear text is acceptable",
            ));
        }
        let bound = self.bound;
        let tap = self
            .client
            .into_inner()
            .map_err(|e| map_err(e, "asking for STARTTLS", bound))?;
        drop(self.stream);
        let stream = tap.into_inner().ok_or_else(|| {
            ConnectionError::new(
                ErrorCategory::Tls,
                "the server sent data before STARTTLS was asked for; the connection was dropped",
            )
        })?;
        let mut wire = Wire::new(stream);
        let doing = "asking for STARTTLS";
        wire.write_all(format!("{STARTTLS_TAG} STARTTLS\r\n").as_bytes())
            .and_then(|()| wire.flush())
            .map_err(|e| io_err(e, doing, bound))?;
        loop {
            let line = wire
                .read_line(MAX_LINE)
                .map_err(|e| io_err(e, doing, bound))?;
            let line = String::from_utf8_lossy(&line).into_owned();
            if line.starts_with("* ") {
                continue;
            }
            let tagged = format!("{STARTTLS_TAG} ");
            match line.strip_prefix(&tagged) {
                Some(rest) if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case("OK") => break,
                Some(_) => {
                    return Err(ConnectionError::new(
                        ErrorCategory::Tls,
                        format!("the server refused STARTTLS: {}", clean(&line)),
                    ))
                }
                None => {
                    return Err(protocol(format!(
                        "unexpected reply to STARTTLS: \"{}\"",
                        clean(&line)
                    )))
                }
            }
        }
        let stream = wire.into_inner().map_err(|_| {
            ConnectionError::new(
                ErrorCategory::Tls,
                "the server sent data after accepting STARTTLS and before the TLS handshake \
                 (a sign of command injection); the connection was dropped",
            )
        })?;
        let tls = Tap::new(upgrade(stream)?);
        let mut client = ::imap::Client::new(tls.clone());
        // The greeting came before STARTTLS; there is none after it.
        client.greeting_read = true;
        Ok(ImapClient {
            client,
            stream: tls,
            greeting: self.greeting,
            capabilities: None,
            encrypted: true,
            bound,
        })
    }

    /// Logs in: `LOGIN` for a password (`AUTHENTICATE PLAIN` when the server has LOGINDISABLED
    /// but offers AUTH=PLAIN), `AUTHENTICATE XOAUTH2` for an OAuth2 token. A NO or BAD answer is
    /// [`ErrorCategory::Auth`].
    pub fn login(mut self, credential: &Credential) -> Result<ImapSession<S>, ConnectionError> {
        let bound = self.bound;
        let caps = self.capabilities()?.clone();
        let user = credential.username.clone();
        let secret = credential.secret.expose().to_owned();
        let (mechanism, result) = match &credential.secret {
            Secret::OAuth2Token(_) => {
                if !caps.auth_mechanisms().iter().any(|m| m == "XOAUTH2") {
                    return Err(protocol(format!(
                        "the credential is an OAuth2 token but the server does not offer \
                         AUTHENTICATE XOAUTH2 (it offers: {})",
                        offered(&caps)
                    )));
                }
                let auth = SaslOnce::new(format!("user={user}\x01auth=Bearer {secret}\x01\x01"));
                (
                    "AUTHENTICATE XOAUTH2",
                    self.client.authenticate("XOAUTH2", &auth),
                )
            }
            _ if caps.login_disabled() => {
                if !caps.auth_mechanisms().iter().any(|m| m == "PLAIN") {
                    return Err(protocol(format!(
                        "the server refuses LOGIN (LOGINDISABLED){} and offers no AUTH=PLAIN",
                        if self.encrypted {
                            ""
                        } else {
                            ": it may accept it over TLS, use a secure connection"
                        }
                    )));
                }
                let auth = SaslOnce::new(format!("\0{user}\0{secret}"));
                (
                    "AUTHENTICATE PLAIN",
                    self.client.authenticate("PLAIN", &auth),
                )
            }
            _ => ("LOGIN", self.client.login(&user, &secret)),
        };
        match result {
            Ok(session) => {
                tracing::debug!(mechanism, "IMAP login accepted");
                Ok(ImapSession {
                    session,
                    stream: self.stream,
                    fetch_tag: 0,
                    capabilities: None,
                    selected: None,
                    bound,
                    fetch_batch: ImapOptions::default().fetch_batch,
                })
            }
            Err((e, _client)) => Err(login_error(e, mechanism, &[&user, &secret], bound)),
        }
    }
}

fn offered(caps: &ImapCapabilities) -> String {
    let m = caps.auth_mechanisms();
    if m.is_empty() {
        "no AUTH= mechanism".to_owned()
    } else {
        m.join(" ")
    }
}

/// A login failure, without anything we sent.
fn login_error(
    e: ::imap::Error,
    mechanism: &str,
    sent: &[&str],
    bound: Duration,
) -> ConnectionError {
    let (text, category) = match &e {
        ::imap::Error::No(no) => (no.information.clone(), ErrorCategory::Auth),
        ::imap::Error::Bad(bad) => (bad.information.clone(), ErrorCategory::Auth),
        _ => return map_err(e, "logging in", bound),
    };
    let echoes = sent.iter().any(|s| !s.is_empty() && text.contains(s));
    let shown = if echoes {
        String::new()
    } else {
        format!(": {}", clean(&text))
    };
    ConnectionError::new(
        category,
        format!(
            "the server rejected the credentials ({mechanism}){shown}; check the user name and \
             secret of the account's credential"
        ),
    )
}

/// A SASL exchange of one message: the first challenge gets it, any later one (an error
/// report, as XOAUTH2 sends) gets an empty answer, which ends the exchange.
struct SaslOnce {
    message: String,
    sent: Cell<bool>,
}

impl SaslOnce {
    fn new(message: String) -> Self {
        Self {
            message,
            sent: Cell::new(false),
        }
    }
}

impl ::imap::Authenticator for SaslOnce {
    type Response = Vec<u8>;
    fn process(&self, _challenge: &[u8]) -> Self::Response {
        if self.sent.replace(true) {
            Vec::new()
        } else {
            self.message.as_bytes().to_vec()
        }
    }
}

/// A logged-in IMAP session.
pub struct ImapSession<S: Read + Write> {
    session: ::imap::Session<Tap<S>>,
    /// Our handle on the stream, for the commands whose responses we read ourselves.
    stream: Tap<S>,
    /// The number of our last `UID FETCH` tag.
    fetch_tag: u32,
    capabilities: Option<ImapCapabilities>,
    selected: Option<MailboxInfo>,
    bound: Duration,
    fetch_batch: usize,
}

impl<S: Read + Write> fmt::Debug for ImapSession<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapSession")
            .field("capabilities", &self.capabilities)
            .field("selected", &self.selected)
            .field("fetch_batch", &self.fetch_batch)
            .finish()
    }
}

fn name_attribute(a: &imap_proto::types::NameAttribute<'_>) -> String {
    use imap_proto::types::NameAttribute as N;
    match a {
        N::NoInferiors => "\\Noinferiors".to_owned(),
        N::NoSelect => "\\Noselect".to_owned(),
        N::Marked => "\\Marked".to_owned(),
        N::Unmarked => "\\Unmarked".to_owned(),
        N::All => "\\All".to_owned(),
        N::Archive => "\\Archive".to_owned(),
        N::Drafts => "\\Drafts".to_owned(),
        N::Flagged => "\\Flagged".to_owned(),
        N::Junk => "\\Junk".to_owned(),
        N::Sent => "\\Sent".to_owned(),
        N::Trash => "\\Trash".to_owned(),
        N::Extension(e) => e.to_string(),
        other => format!("{other:?}"),
    }
}

impl<S: Read + Write> ImapSession<S> {
    /// Sets how many messages one `UID FETCH` of bodies asks for (at least 1).
    pub fn set_fetch_batch(&mut self, n: usize) {
        self.fetch_batch = n.max(1);
    }

    /// The capabilities after login (servers may list more than before).
    pub fn capabilities(&mut self) -> Result<&ImapCapabilities, ConnectionError> {
        if self.capabilities.is_none() {
            let caps = self
                .session
                .capabilities()
                .map_err(|e| map_err(e, "asking for the capabilities", self.bound))?;
            self.capabilities = Some(ImapCapabilities::from_crate(&caps));
            self.drain();
        }
        self.capabilities
            .as_ref()
            .ok_or_else(|| protocol("no capabilities"))
    }

    /// The mailbox selected last, if any.
    pub fn selected(&self) -> Option<&MailboxInfo> {
        self.selected.as_ref()
    }

    /// Unsolicited responses are of no use here; dropping them keeps memory bounded.
    fn drain(&mut self) {
        let _ = self.session.take_all_unsolicited().count();
    }

    /// Every mailbox (`LIST "" "*"`).
    pub fn list_mailboxes(&mut self) -> Result<Vec<MailboxName>, ConnectionError> {
        let names = self
            .session
            .list(Some(""), Some("*"))
            .map_err(|e| map_err(e, "listing the mailboxes", self.bound))?;
        let out = names
            .iter()
            .map(|n| MailboxName {
                name: n.name().to_owned(),
                delimiter: n.delimiter().map(str::to_owned),
                attributes: n.attributes().iter().map(name_attribute).collect(),
            })
            .collect();
        self.drain();
        Ok(out)
    }

    fn open_mailbox(
        &mut self,
        mailbox: &str,
        read_only: bool,
    ) -> Result<MailboxInfo, ConnectionError> {
        let doing = format!(
            "{} mailbox \"{}\"",
            if read_only { "examining" } else { "selecting" },
            clean(mailbox)
        );
        let mb = if read_only {
            self.session.examine(mailbox)
        } else {
            self.session.select(mailbox)
        }
        .map_err(|e| map_err(e, &doing, self.bound))?;
        self.drain();
        let info = MailboxInfo {
            name: mailbox.to_owned(),
            exists: mb.exists,
            uid_validity: mb.uid_validity,
            uid_next: mb.uid_next,
            read_only: read_only || mb.is_read_only,
        };
        self.selected = Some(info.clone());
        Ok(info)
    }

    /// SELECT: opens `mailbox` read-write.
    pub fn select(&mut self, mailbox: &str) -> Result<MailboxInfo, ConnectionError> {
        self.open_mailbox(mailbox, false)
    }

    /// EXAMINE: opens `mailbox` read-only (nothing can change, not even `\Recent`).
    pub fn examine(&mut self, mailbox: &str) -> Result<MailboxInfo, ConnectionError> {
        self.open_mailbox(mailbox, true)
    }

    fn require_selected(&self, doing: &str) -> Result<&MailboxInfo, ConnectionError> {
        self.selected
            .as_ref()
            .ok_or_else(|| protocol(format!("no mailbox is selected for {doing}")))
    }

    /// Every UID in the selected mailbox (`UID SEARCH ALL`), ascending.
    pub fn uids(&mut self) -> Result<Vec<u32>, ConnectionError> {
        self.require_selected("UID SEARCH")?;
        let set = self
            .session
            .uid_search("ALL")
            .map_err(|e| map_err(e, "searching the mailbox", self.bound))?;
        self.drain();
        let mut v: Vec<u32> = set.into_iter().collect();
        v.sort_unstable();
        Ok(v)
    }

    /// The sizes of the messages with UIDs in `first..=last` (`None`: to the newest), ascending.
    pub fn fetch_sizes(
        &mut self,
        first: u32,
        last: Option<u32>,
    ) -> Result<Vec<MessageSize>, ConnectionError> {
        let info = self.require_selected("UID FETCH")?;
        if info.exists == 0 {
            return Ok(Vec::new());
        }
        let first = first.max(1);
        let range = match last {
            Some(l) if l < first => return Ok(Vec::new()),
            Some(l) => format!("{first}:{l}"),
            None => format!("{first}:*"),
        };
        let fetches = self
            .session
            .uid_fetch(&range, "(UID RFC822.SIZE)")
            .map_err(|e| map_err(e, "fetching message sizes", self.bound))?;
        let mut out: Vec<MessageSize> = fetches
            .iter()
            .filter_map(|f| {
                let uid = f.uid?;
                let in_range = uid >= first && last.is_none_or(|l| uid <= l);
                in_range.then_some(MessageSize { uid, size: f.size? })
            })
            .collect();
        drop(fetches);
        self.drain();
        out.sort_unstable_by_key(|m| m.uid);
        out.dedup_by_key(|m| m.uid);
        Ok(out)
    }

    /// The flags of the messages with these UIDs.
    pub fn flags(&mut self, uids: &[u32]) -> Result<Vec<MessageFlags>, ConnectionError> {
        self.require_selected("UID FETCH")?;
        let Some(set) = uid_set(uids) else {
            return Ok(Vec::new());
        };
        let wanted: BTreeSet<u32> = uids.iter().copied().collect();
        let fetches = self
            .session
            .uid_fetch(&set, "(UID FLAGS)")
            .map_err(|e| map_err(e, "fetching flags", self.bound))?;
        let mut out: Vec<MessageFlags> = fetches
            .iter()
            .filter_map(|f| {
                let uid = f.uid.filter(|u| wanted.contains(u))?;
                Some(MessageFlags {
                    uid,
                    flags: f.flags().iter().map(ToString::to_string).collect(),
                })
            })
            .collect();
        drop(fetches);
        self.drain();
        out.sort_unstable_by_key(|m| m.uid);
        out.dedup_by_key(|m| m.uid);
        Ok(out)
    }

    /// The whole messages with these UIDs (`UID FETCH … (UID RFC822.SIZE BODY.PEEK[])`), asked
    /// for [`ImapOptions::fetch_batch`] at a time; `\Seen` is not set. UIDs the server no longer
    /// has are left out. Ascending by UID.
    pub fn uid_fetch(&mut self, uids: &[u32]) -> Result<Vec<FetchedMessage>, ConnectionError> {
        let mut out = Vec::with_capacity(uids.len());
        self.uid_fetch_each(uids, |m| {
            out.push(m);
            Ok(())
        })?;
        Ok(out)
    }

    /// Like [`uid_fetch`](Self::uid_fetch), handing each message to `each` as its batch
    /// arrives, so at most one batch is held in memory. An error from `each` stops the fetch.
    pub fn uid_fetch_each<F>(&mut self, uids: &[u32], mut each: F) -> Result<(), ConnectionError>
    where
        F: FnMut(FetchedMessage) -> Result<(), ConnectionError>,
    {
        self.require_selected("UID FETCH")?;
        let sorted: Vec<u32> = uids
            .iter()
            .copied()
            .filter(|u| *u > 0)
            .collect::<BTreeSet<u32>>()
            .into_iter()
            .collect();
        let doing = "fetching messages";
        let bound = self.bound;
        for chunk in sorted.chunks(self.fetch_batch.max(1)) {
            let Some(set) = uid_set(chunk) else { continue };
            let wanted: BTreeSet<u32> = chunk.iter().copied().collect();
            // The responses are read here rather than by the crate, whose parser reads a literal
            // line by line and parses the response again after each line.
            self.fetch_tag = self.fetch_tag.wrapping_add(1);
            let tag = format!("{FETCH_TAG_PREFIX}{}", self.fetch_tag);
            let mut batch: BTreeMap<u32, FetchedMessage> = BTreeMap::new();
            {
                let mut rd = self.stream.lock();
                rd.stream
                    .write_all(
                        format!("{tag} UID FETCH {set} (UID RFC822.SIZE BODY.PEEK[])\r\n")
                            .as_bytes(),
                    )
                    .and_then(|()| rd.stream.flush())
                    .map_err(|e| io_err(e, doing, bound))?;
                read_fetch(&mut rd, tag.as_bytes(), |f| {
                    let (Some(uid), Some(raw)) = (f.uid, f.body) else {
                        return;
                    };
                    if wanted.contains(&uid) {
                        batch.entry(uid).or_insert(FetchedMessage {
                            uid,
                            size: f.size,
                            raw,
                        });
                    }
                })
                .map_err(|e| read_err(e, doing, bound))?;
            }
            for m in batch.into_values() {
                each(m)?;
            }
        }
        Ok(())
    }

    /// Sets `\Deleted` on the messages with these UIDs (`UID STORE … +FLAGS.SILENT (\Deleted)`).
    pub fn uid_store_deleted(&mut self, uids: &[u32]) -> Result<(), ConnectionError> {
        self.require_selected("UID STORE")?;
        let Some(set) = uid_set(uids) else {
            return Ok(());
        };
        self.session
            .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
            .map_err(|e| map_err(e, "marking messages deleted", self.bound))?;
        self.drain();
        Ok(())
    }

    /// Removes the messages with these UIDs that are marked `\Deleted` (`UID EXPUNGE`, RFC 4315),
    /// and only those: other messages marked `\Deleted` stay. Refused with
    /// [`ErrorCategory::Protocol`] when the server lacks UIDPLUS, rather than a plain EXPUNGE.
    pub fn uid_expunge(&mut self, uids: &[u32]) -> Result<(), ConnectionError> {
        self.require_selected("UID EXPUNGE")?;
        let Some(set) = uid_set(uids) else {
            return Ok(());
        };
        if !self.capabilities()?.uidplus() {
            return Err(protocol(
                "the server does not offer UIDPLUS, so messages cannot be removed by UID; a \
                 plain EXPUNGE could remove messages other clients marked deleted, so nothing \
                 was removed (keep copies on the server for this account, or use POP3)",
            ));
        }
        self.session
            .uid_expunge(&set)
            .map_err(|e| map_err(e, "expunging messages", self.bound))?;
        self.drain();
        Ok(())
    }

    /// [`uid_store_deleted`](Self::uid_store_deleted) then [`uid_expunge`](Self::uid_expunge);
    /// checks UIDPLUS first, so nothing is marked when it cannot be expunged.
    pub fn delete(&mut self, uids: &[u32]) -> Result<(), ConnectionError> {
        if uids.is_empty() {
            return Ok(());
        }
        if !self.capabilities()?.uidplus() {
            return self.uid_expunge(uids);
        }
        self.uid_store_deleted(uids)?;
        self.uid_expunge(uids)
    }

    /// Message count and total size of `mailbox`, opened read-only (EXAMINE).
    pub fn mailbox_stats(&mut self, mailbox: &str) -> Result<MailboxStats, ConnectionError> {
        let info = self.examine(mailbox)?;
        let sizes = self.fetch_sizes(1, None)?;
        Ok(MailboxStats {
            messages: info.exists,
            total_size: sizes.iter().map(|m| u64::from(m.size)).sum(),
        })
    }

    /// NOOP: checks that the server still answers (and lets it report changes).
    pub fn noop(&mut self) -> Result<(), ConnectionError> {
        self.session
            .noop()
            .map_err(|e| map_err(e, "sending NOOP", self.bound))?;
        self.drain();
        Ok(())
    }

    /// LOGOUT.
    pub fn logout(mut self) -> Result<(), ConnectionError> {
        self.session
            .logout()
            .map_err(|e| map_err(e, "logging out", self.bound))
    }
}

fn label(account: &IncomingAccount) -> String {
    format!("IMAP {}", account.connection().endpoint)
}

fn ensure_imap(account: &IncomingAccount) -> Result<(), ConnectionError> {
    if account.protocol() == Protocol::Imap {
        Ok(())
    } else {
        Err(ConnectionError::new(
            ErrorCategory::Validation,
            format!("account \"{}\" is not an IMAP account", account.name()),
        ))
    }
}

/// Opens a connection as the account says, up to and including STARTTLS: greeting read, not
/// logged in. For connection checks, which report each stage. With `Security::StartTls` a
/// server without STARTTLS is an [`ErrorCategory::Tls`] error and nothing more is sent.
pub fn open(
    account: &IncomingAccount,
    creds: &dyn CredentialProvider,
    options: &ImapOptions,
) -> Result<(ImapClient<MailStream>, Option<TlsInfo>), ConnectionError> {
    ensure_imap(account)?;
    let settings = account.connection();
    let (stream, tls) =
        net::connect(settings, creds, &options.timeouts).map_err(|e| e.context("IMAP"))?;
    let bound = options.timeouts.read.max(options.timeouts.write);
    let client =
        ImapClient::new(stream, tls.is_some(), bound).map_err(|e| e.context(label(account)))?;
    match settings.security {
        Security::StartTls => {
            let mut info = None;
            let client = client
                .starttls(net::starttls_upgrade(
                    settings,
                    &options.timeouts,
                    &mut info,
                ))
                .map_err(|e| e.context(label(account)))?;
            Ok((client, info))
        }
        _ => Ok((client, tls)),
    }
}

/// [`open`], then login with the account's credential. A disabled account is refused
/// (it is never contacted).
pub fn connect(
    account: &IncomingAccount,
    creds: &dyn CredentialProvider,
    options: &ImapOptions,
) -> Result<ImapSession<MailStream>, ConnectionError> {
    if !account.enabled() {
        return Err(ConnectionError::new(
            ErrorCategory::Validation,
            format!(
                "account \"{}\" is disabled: a disabled account is never contacted",
                account.name()
            ),
        ));
    }
    ensure_imap(account)?;
    let credential = creds.credential(account.credential()).map_err(|e| {
        ConnectionError::new(ErrorCategory::Credential, e.to_string()).with_source(e)
    })?;
    let (client, _) = open(account, creds, options)?;
    let mut session = client
        .login(&credential)
        .map_err(|e| e.context(label(account)))?;
    session.set_fetch_batch(options.fetch_batch);
    Ok(session)
}

#[cfg(test)]
mod tests {
    //! The wrapper over scripted in-memory streams: what a real server will not do (refuse
    //! STARTTLS, inject bytes, echo credentials). Real-server behaviour is in
    //! `tests/tests/imap.rs`.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::io::Cursor;

    /// Answers from a fixed script, one line per read; keeps what the client sent.
    #[derive(Debug)]
    struct Scripted {
        input: Cursor<Vec<u8>>,
        output: Vec<u8>,
    }

    impl Scripted {
        fn new(script: &str) -> Self {
            Self {
                input: Cursor::new(script.replace('\n', "\r\n").into_bytes()),
                output: Vec::new(),
            }
        }
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let pos = self.input.position() as usize;
            let rest = &self.input.get_ref()[pos..];
            let n = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |i| i + 1)
                .min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.input.set_position((pos + n) as u64);
            Ok(n)
        }
    }

    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Shares the bytes a stream sent with the test after the stream was moved away.
    #[derive(Clone, Default)]
    struct Log(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    struct Logged(Scripted, Log);
    impl Read for Logged {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl Write for Logged {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.1 .0.borrow_mut().extend_from_slice(buf);
            self.0.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn logged(script: &str) -> (Logged, Log) {
        let log = Log::default();
        (Logged(Scripted::new(script), log.clone()), log)
    }

    fn sent(log: &Log) -> String {
        String::from_utf8_lossy(&log.0.borrow()).into_owned()
    }

    const SEC: Duration = Duration::from_secs(5);

    #[test]
    fn uid_sets_are_compact_and_ordered() {
        assert_eq!(uid_set(&[]), None);
        assert_eq!(uid_set(&[0]), None);
        assert_eq!(uid_set(&[7]).as_deref(), Some("7"));
        assert_eq!(
            uid_set(&[10, 1, 2, 3, 5, 9, 3]).as_deref(),
            Some("1:3,5,9:10")
        );
        assert_eq!(
            uid_set(&[u32::MAX, u32::MAX - 1]).as_deref(),
            Some("4294967294:4294967295")
        );
    }

    #[test]
    fn a_bye_greeting_is_refused() {
        let e =
            ImapClient::new(Scripted::new("* BYE too many connections\n"), false, SEC).unwrap_err();
        assert!(e.is_protocol());
        assert!(e.message().contains("too many connections"), "{e}");
        let e = ImapClient::new(Scripted::new("220 smtp.example ESMTP\n"), false, SEC).unwrap_err();
        assert!(e.is_protocol());
    }

    #[test]
    fn starttls_not_offered_fails_with_tls_and_sends_no_login() {
        let (s, log) = logged("* OK ready\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\na1 OK done\n");
        let c = ImapClient::new(s, false, SEC).unwrap();
        let mut upgraded = false;
        let e = c
            .starttls(|s| {
                upgraded = true;
                Ok(s)
            })
            .unwrap_err();
        assert!(e.is_tls(), "{e}");
        assert!(!upgraded);
        assert_eq!(sent(&log), "a1 CAPABILITY\r\n");
    }

    #[test]
    fn starttls_then_capabilities_again_then_login() {
        let (s, log) = logged(
            "* OK ready\n* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\na1 OK done\nms1 OK Begin TLS\n",
        );
        let c = ImapClient::new(s, false, SEC).unwrap();
        let mut c = c
            .starttls(|_plain| {
                Ok(Scripted::new(
                    "* CAPABILITY IMAP4rev1 AUTH=PLAIN UIDPLUS\na1 OK done\na2 OK Logged in\n",
                ))
            })
            .unwrap();
        assert_eq!(sent(&log), "a1 CAPABILITY\r\nms1 STARTTLS\r\n");
        assert!(c.is_encrypted());
        assert_eq!(c.greeting(), "* OK ready");
        let caps = c.capabilities().unwrap();
        assert!(!caps.login_disabled());
        assert!(caps.uidplus());
        let s = c.login(&Credential::password("u", "pw")).unwrap();
        drop(s);
    }

    #[test]
    fn starttls_refuses_bytes_injected_before_the_handshake() {
        struct Greedy(Scripted);
        impl Read for Greedy {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if String::from_utf8_lossy(&self.0.output).contains("STARTTLS") {
                    self.0.input.read(buf)
                } else {
                    self.0.read(buf)
                }
            }
        }
        impl Write for Greedy {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.write(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let c = ImapClient::new(
            Greedy(Scripted::new(
                "* OK ready\n* CAPABILITY IMAP4rev1 STARTTLS\na1 OK done\nms1 OK go\na1 OK LOGIN injected\n",
            )),
            false,
            SEC,
        )
        .unwrap();
        let e = c.starttls(Ok).unwrap_err();
        assert!(e.is_tls());
        assert!(e.message().contains("injection"), "{e}");
    }

    #[test]
    fn a_refused_starttls_is_a_tls_error() {
        let c = ImapClient::new(
            Scripted::new(
                "* OK ready\n* CAPABILITY IMAP4rev1 STARTTLS\na1 OK done\nms1 NO not now\n",
            ),
            false,
            SEC,
        )
        .unwrap();
        assert!(c.starttls(Ok).unwrap_err().is_tls());
    }

    #[test]
    fn a_refused_login_is_auth_and_never_shows_the_password() {
        let (s, log) = logged(
            "* OK ready\n* CAPABILITY IMAP4rev1\na1 OK done\na2 NO [AUTHENTICATIONFAILED] bad pw s3cret-pw\n",
        );
        let c = ImapClient::new(s, true, SEC).unwrap();
        let e = c
            .login(&Credential::password("u@x", "s3cret-pw"))
            .unwrap_err();
        assert!(e.is_auth(), "{e}");
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(sent(&log).contains("a2 LOGIN "), "{}", sent(&log));
        let c = ImapClient::new(
            Scripted::new("* OK ready\n* CAPABILITY IMAP4rev1\na1 OK done\na2 NO [AUTHENTICATIONFAILED] Authentication failed.\n"),
            true,
            SEC,
        )
        .unwrap();
        let e = c.login(&Credential::password("u@x", "pw")).unwrap_err();
        assert!(e.message().contains("Authentication failed."), "{e}");
    }

    #[test]
    fn logindisabled_uses_authenticate_plain() {
        let (s, log) = logged(
            "* OK ready\n* CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=PLAIN\na1 OK done\n+ \na2 OK welcome\n",
        );
        let c = ImapClient::new(s, true, SEC).unwrap();
        c.login(&Credential::password("u", "pw")).unwrap();
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "\0u\0pw");
        assert_eq!(
            sent(&log),
            format!("a1 CAPABILITY\r\na2 AUTHENTICATE PLAIN\r\n{b64}\r\n")
        );
    }

    #[test]
    fn xoauth2_failure_is_auth_and_the_error_challenge_gets_an_empty_answer() {
        let (s, log) = logged(
            "* OK ready\n* CAPABILITY IMAP4rev1 AUTH=XOAUTH2\na1 OK done\n+ \n+ eyJzdGF0dXMiOiI0MDEifQ==\na2 NO [AUTHENTICATIONFAILED] invalid token\n",
        );
        let c = ImapClient::new(s, true, SEC).unwrap();
        let e = c.login(&Credential::oauth2("u@x", "tok")).unwrap_err();
        assert!(e.is_auth(), "{e}");
        let out = sent(&log);
        let b64 = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "user=u@x\x01auth=Bearer tok\x01\x01",
        );
        assert!(
            out.ends_with(&format!("AUTHENTICATE XOAUTH2\r\n{b64}\r\n\r\n")),
            "{out}"
        );
    }

    fn session(script: &str) -> (ImapSession<Logged>, Log) {
        let (s, log) = logged(&format!(
            "* OK ready\n* CAPABILITY IMAP4rev1\na1 OK done\na2 OK logged in\n{script}"
        ));
        let c = ImapClient::new(s, true, SEC).unwrap();
        (c.login(&Credential::password("u", "p")).unwrap(), log)
    }

    #[test]
    fn fetch_uses_uids_and_peek_and_keeps_bytes_exact() {
        let body = "Subject: hi\r\n\r\nline one\r\n.dot\r\n";
        let (mut s, log) = session(&format!(
            "* 2 EXISTS\n* OK [UIDVALIDITY 77] ok\n* OK [UIDNEXT 13] ok\na3 OK [READ-WRITE] selected\n\
             * 2 FETCH (UID 12 RFC822.SIZE {len} BODY[] {{{len}}}\n{body})\nmsf1 OK fetched\n",
            len = body.len(),
            body = body.replace("\r\n", "\n"),
        ));
        let info = s.select("INBOX").unwrap();
        assert_eq!(info.exists, 2);
        assert_eq!(info.uid_validity, Some(77));
        assert_eq!(info.uid_next, Some(13));
        let m = s.uid_fetch(&[12]).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].uid, 12);
        assert_eq!(m[0].raw, body.as_bytes());
        assert!(sent(&log).ends_with("msf1 UID FETCH 12 (UID RFC822.SIZE BODY.PEEK[])\r\n"));
    }

    #[test]
    fn expunge_without_uidplus_is_refused_and_sends_nothing() {
        let (mut s, log) =
            session("* 1 EXISTS\na3 OK selected\n* CAPABILITY IMAP4rev1 IDLE\na4 OK done\n");
        s.select("INBOX").unwrap();
        let before = sent(&log);
        let e = s.delete(&[1]).unwrap_err();
        assert!(e.is_protocol());
        assert!(e.message().contains("UIDPLUS"), "{e}");
        let after = sent(&log);
        assert_eq!(&after[before.len()..], "a4 CAPABILITY\r\n");
        assert!(!after.contains("EXPUNGE"));
        assert!(!after.contains("STORE"));
    }

    #[test]
    fn operations_need_a_selected_mailbox() {
        let (mut s, _) = session("");
        assert!(s.uids().unwrap_err().is_protocol());
        assert!(s.uid_fetch(&[1]).unwrap_err().is_protocol());
    }

    /// Hands out its bytes in reads of the sizes given (cycling), then the rest one read at a time.
    struct Chunked {
        data: Vec<u8>,
        pos: usize,
        sizes: Vec<usize>,
        turn: usize,
    }

    impl Chunked {
        fn new(data: &[u8], sizes: Vec<usize>) -> Self {
            Self {
                data: data.to_vec(),
                pos: 0,
                sizes,
                turn: 0,
            }
        }
    }

    impl Read for Chunked {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let size = if self.sizes.is_empty() {
                usize::MAX
            } else {
                self.sizes[self.turn % self.sizes.len()].max(1)
            };
            self.turn += 1;
            let n = size.min(buf.len()).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn parse_with(input: &[u8], sizes: Vec<usize>) -> Result<Vec<FetchItem>, ReadError> {
        let mut rd = Buffered::new(Chunked::new(input, sizes));
        let mut out = Vec::new();
        read_fetch(&mut rd, b"msf1", |f| out.push(f))?;
        Ok(out)
    }

    /// Parses `input` whole, one byte per read, and split in two at every byte; every way must
    /// give the same result, which is returned.
    fn parse(input: &[u8]) -> Result<Vec<FetchItem>, ReadError> {
        let whole = parse_with(input, Vec::new());
        let shown = |r: &Result<Vec<FetchItem>, ReadError>| format!("{r:?}");
        assert_eq!(shown(&parse_with(input, vec![1])), shown(&whole));
        for k in 1..input.len() {
            assert_eq!(
                shown(&parse_with(input, vec![k, usize::MAX])),
                shown(&whole),
                "split at {k}"
            );
        }
        whole
    }

    fn item(uid: u32, size: Option<u32>, body: Option<&[u8]>) -> FetchItem {
        FetchItem {
            uid: Some(uid),
            size,
            flags: None,
            body: body.map(<[u8]>::to_vec),
        }
    }

    #[test]
    fn fetch_reader_takes_attributes_in_any_order_and_bodies_byte_exact() {
        let body = b"Subject: x\r\n\r\n{3}\r\n* 1 FETCH (UID 9)\r\nmsf1 OK no\r\n)";
        let input = [
            format!(
                "* 1 FETCH (UID 7 RFC822.SIZE {n} BODY[] {{{n}}}\r\n",
                n = body.len()
            )
            .as_bytes(),
            body,
            b")\r\n",
            format!("* 2 FETCH (BODY[] {{{n}}}\r\n", n = body.len()).as_bytes(),
            body,
            b" UID 8 FLAGS (\\Seen $Junk) RFC822.SIZE 3)\r\n",
            b"* 3 fetch (rfc822.size 3 uid 10 body[] {3}\r\nabc)\r\n",
            b"msf1 OK done\r\n",
        ]
        .concat();
        let got = parse(&input).unwrap();
        let mut second = item(8, Some(3), Some(body));
        second.flags = Some(vec!["\\Seen".into(), "$Junk".into()]);
        assert_eq!(
            got,
            vec![
                item(7, Some(body.len() as u32), Some(body)),
                second,
                item(10, Some(3), Some(b"abc")),
            ]
        );
        assert_eq!(got[0].body.as_ref().unwrap().capacity(), body.len());
    }

    #[test]
    fn fetch_reader_skips_interleaved_untagged_responses() {
        let input = b"* 3 EXISTS\r\n\
            * 2 EXPUNGE\r\n\
            * 1 FETCH (FLAGS (\\Seen))\r\n\
            * OK [ALERT] hello (there\r\n\
            * LIST () \"/\" {3}\r\nfoo\r\n\
            * 4 FETCH (UID 9 MODSEQ (12) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" \
              ENVELOPE (NIL \"a \\\"b\\\" (c\" ((NIL NIL \"x\" \"y\")) {2}\r\nzz) \
              BODY[HEADER.FIELDS (FROM TO)] {4}\r\nab\r\n BODY[] {3}\r\nabc)\r\n\
            * 5 RECENT\r\n\
            msf1 OK done\r\n";
        assert_eq!(
            parse(input).unwrap(),
            vec![
                FetchItem {
                    flags: Some(vec!["\\Seen".into()]),
                    ..FetchItem::default()
                },
                item(9, None, Some(b"abc")),
            ]
        );
    }

    #[test]
    fn fetch_reader_nil_and_quoted_bodies() {
        let input = b"* 1 FETCH (UID 1 BODY[] NIL)\r\n\
            * 2 FETCH (UID 2 BODY[] \"a \\\"q\\\" \\\\ b\")\r\n\
            * 3 FETCH (UID 3 BODY[] {0}\r\n)\r\n\
            msf1 OK done\r\n";
        assert_eq!(
            parse(input).unwrap(),
            vec![
                item(1, None, None),
                item(2, None, Some(b"a \"q\" \\ b")),
                item(3, None, Some(b"")),
            ]
        );
    }

    #[test]
    fn fetch_reader_errors_never_panic() {
        let eof = |r: Result<Vec<FetchItem>, ReadError>| matches!(r, Err(ReadError::Eof));
        let bad = |r: Result<Vec<FetchItem>, ReadError>| matches!(r, Err(ReadError::Protocol(_)));
        // Cut in the middle of a literal, of a line, before the tagged reply.
        assert!(eof(parse(b"* 1 FETCH (UID 1 BODY[] {10}\r\nabc")));
        assert!(eof(parse(b"* 1 FETCH (UID 1 BODY[] {10}\r\n0123456789")));
        assert!(eof(parse(b"* 1 FETCH (UID 1")));
        assert!(eof(parse(b"* 1 EXISTS\r\n")));
        assert!(eof(parse(b"")));
        // An untagged BYE, then the end.
        assert!(matches!(
            parse(b"* BYE shutting down\r\n"),
            Err(ReadError::Bye(t)) if t == "shutting down"
        ));
        // Refusals.
        assert!(
            matches!(parse(b"msf1 NO [LIMIT] too much\r\n"), Err(ReadError::Refused(t)) if t == "NO [LIMIT] too much")
        );
        assert!(
            matches!(parse(b"msf1 bad what\r\n"), Err(ReadError::Refused(t)) if t == "BAD what")
        );
        // Grammar and bounds.
        for input in [
            &b"msf1 MAYBE\r\n"[..],
            b"a9 OK not ours\r\n",
            b"+ go on\r\n",
            b"* 1 FETCH UID 1\r\nmsf1 OK\r\n",
            b"* 1 FETCH (UID x)\r\nmsf1 OK\r\n",
            b"* 1 FETCH (UID 99999999999)\r\nmsf1 OK\r\n",
            b"* 1 FETCH (UID 1 BODY[] {5}x\r\nmsf1 OK\r\n",
            b"* 1 FETCH (UID 1 BODY[] {-5}\r\nmsf1 OK\r\n",
            b"* 1 FETCH (UID 1 BODY[] {2000000000}\r\nmsf1 OK\r\n",
            b"* 1 FETCH (UID 1 BODY[] {99999999999999999999}\r\nmsf1 OK\r\n",
            b"* 1 FETCH (UID 1 BODY[] \"open\r\nmsf1 OK\r\n",
            b"* 1 FETCH (UID 1 BODY[] ATOM)\r\nmsf1 OK\r\n",
            b"* 1 FETCH (UID 1 BODY[ {1}\r\nx)\r\nmsf1 OK\r\n",
            b"* 1 FETCH (UID 1) trailing\r\nmsf1 OK\r\n",
            b"* 1 FETCH (UID)\r\nmsf1 OK\r\n",
            b"* 1 FETCH (FLAGS \\Seen)\r\nmsf1 OK\r\n",
        ] {
            assert!(
                bad(parse_with(input, Vec::new())),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        let deep = format!(
            "* 1 FETCH (X {}{})\r\nmsf1 OK\r\n",
            "(".repeat(100),
            ")".repeat(100)
        );
        assert!(bad(parse_with(deep.as_bytes(), Vec::new())));
    }

    #[test]
    fn fetch_reader_bounds_line_length() {
        let long = format!("* OK {}\r\nmsf1 OK\r\n", "x".repeat(MAX_RESPONSE_LINE + 10));
        assert!(matches!(
            parse_with(long.as_bytes(), Vec::new()),
            Err(ReadError::Protocol(_))
        ));
        assert!(matches!(
            parse_with(long.as_bytes(), vec![1000]),
            Err(ReadError::Protocol(_))
        ));
        // A line that never ends is refused once it passes the bound, not buffered forever.
        struct Endless;
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                buf.fill(b'x');
                Ok(buf.len())
            }
        }
        let mut rd = Buffered::new(Endless);
        assert!(matches!(
            read_fetch(&mut rd, b"msf1", |_| {}),
            Err(ReadError::Protocol(_))
        ));
        // Exactly at the bound is fine.
        let max = format!("* OK {}\r\nmsf1 OK\r\n", "x".repeat(MAX_RESPONSE_LINE - 5));
        assert!(parse_with(max.as_bytes(), vec![777]).is_ok());
    }

    #[test]
    fn fetch_reader_errors_map_like_the_rest_of_the_module() {
        let doing = "fetching messages";
        assert!(read_err(ReadError::Eof, doing, SEC).is_connect());
        assert!(read_err(ReadError::Bye("x".into()), doing, SEC).is_connect());
        assert!(read_err(ReadError::Protocol("x".into()), doing, SEC).is_protocol());
        assert!(read_err(ReadError::Refused("NO x".into()), doing, SEC).is_protocol());
        let t = io::Error::new(io::ErrorKind::WouldBlock, "slow");
        assert!(read_err(ReadError::Io(t), doing, SEC).is_timeout());
    }

    /// The whole script in one buffer, read as much at a time as asked: the crate and our reader
    /// must not lose bytes to each other.
    struct Blob(Cursor<Vec<u8>>, Vec<u8>);
    impl Read for Blob {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl Write for Blob {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.1.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn fetch_in_batches_between_crate_commands_over_one_buffer() {
        let script = "* OK ready\r\n* CAPABILITY IMAP4rev1\r\na1 OK done\r\na2 OK logged in\r\n\
            * 3 EXISTS\r\na3 OK [READ-WRITE] selected\r\n\
            * 1 FETCH (UID 5 RFC822.SIZE 3 BODY[] {3}\r\none)\r\n* 9 FETCH (UID 99 BODY[] {1}\r\nx)\r\nmsf1 OK\r\n\
            * 2 FETCH (BODY[] {3}\r\ntwo UID 6)\r\n* 2 FETCH (UID 6 BODY[] {5}\r\nagain)\r\nmsf2 OK\r\n\
            * 4 EXISTS\r\nmsf3 OK\r\n\
            a4 OK noop\r\n\
            * 3 FETCH (UID 8 BODY[] NIL)\r\nmsf4 NO [SERVERBUG] oops\r\n";
        let c = ImapClient::new(
            Blob(Cursor::new(script.as_bytes().to_vec()), Vec::new()),
            true,
            SEC,
        )
        .unwrap();
        let mut s = c.login(&Credential::password("u", "p")).unwrap();
        s.set_fetch_batch(1);
        s.select("INBOX").unwrap();
        let got = s.uid_fetch(&[7, 6, 5, 0]).unwrap();
        assert_eq!(
            got.iter()
                .map(|m| (m.uid, m.size, m.raw.clone()))
                .collect::<Vec<_>>(),
            vec![(5, Some(3), b"one".to_vec()), (6, None, b"two".to_vec())]
        );
        s.noop().unwrap();
        let e = s.uid_fetch(&[8]).unwrap_err();
        assert!(e.is_protocol(), "{e}");
        assert!(e.message().contains("NO [SERVERBUG] oops"), "{e}");
        drop(s);
    }

    #[test]
    fn fetch_sends_uid_fetch_with_peek_in_batches() {
        let (mut s, log) = session("* 3 EXISTS\na3 OK selected\nmsf1 OK\nmsf2 OK\n");
        s.set_fetch_batch(2);
        s.select("INBOX").unwrap();
        let before = sent(&log).len();
        assert!(s.uid_fetch(&[3, 1, 2]).unwrap().is_empty());
        assert_eq!(
            &sent(&log)[before..],
            "msf1 UID FETCH 1:2 (UID RFC822.SIZE BODY.PEEK[])\r\nmsf2 UID FETCH 3 (UID RFC822.SIZE BODY.PEEK[])\r\n"
        );
    }

    proptest::proptest! {
        #[test]
        fn fetch_reader_never_panics_on_arbitrary_bytes(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            sizes in proptest::collection::vec(1usize..64, 0..4),
        ) {
            let _ = parse_with(&data, sizes.clone());
            let prefixed = [&b"* 1 FETCH ("[..], &data].concat();
            let _ = parse_with(&prefixed, sizes);
        }

        #[test]
        fn fetch_reader_never_panics_on_near_miss_responses(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "* ", "1 ", "FETCH ", "(", ")", "UID ", "7", " ", "BODY[] ", "{3}\r\n", "{0}\r\n",
                "abc", "NIL", "\"q\\\"\"", "\r\n", "RFC822.SIZE ", "FLAGS (\\Seen)", "BODY[",
                "]", "msf1 ", "OK", "NO", "{", "}", "* BYE x\r\n", "\n", "\\",
            ]), 0..40),
            sizes in proptest::collection::vec(1usize..16, 0..3),
        ) {
            let input = parts.concat();
            let _ = parse_with(input.as_bytes(), sizes);
        }
    }
}
