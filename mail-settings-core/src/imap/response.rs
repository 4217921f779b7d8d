//! Reading responses, always through the one bounded reader ([`BoundedReader`]).
//!
//! Two readers share it:
//! - [`Tap`], the stream as the `imap` crate sees it: it hands the crate at most one line per
//!   read (so the crate's own buffer never holds bytes past the line it asked for), refuses a
//!   line longer than [`MAX_CRATE_LINE`] and a response (everything between two commands)
//!   larger than [`MAX_CRATE_RESPONSE`]. The crate keeps a response whole before parsing it and
//!   queues unsolicited responses in an unbounded channel: these two bounds are what keep its
//!   memory bounded, and the session drains the channel after every command.
//! - [`read_fetch`], our own reader of `UID FETCH` responses: one line piece at a time (at most
//!   [`MAX_RESPONSE_LINE`]), literals kept (up to a limit) or drained without being kept, each
//!   `* n FETCH` handed over as soon as it is complete, untagged responses nobody asked for
//!   dropped as they are read.

use super::{clean, protocol, MAX_DEPTH, MAX_LITERAL, MAX_RESPONSE_LINE};
use crate::error::{ConnectionError, ErrorCategory};
use crate::net::{self, BoundedReader, DeadlineExceeded};
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Longest line the crate is handed (greeting, CAPABILITY, LIST, SELECT …).
pub const MAX_CRATE_LINE: usize = 64 * 1024;
/// Most bytes the crate is handed in answer to one command (and for the greeting): an endless
/// untagged flood stops here.
pub const MAX_CRATE_RESPONSE: u64 = 8 << 20;
/// Size of the shared read buffer.
const READ_BUF: usize = 64 * 1024;

/// The crate's response was larger than [`MAX_CRATE_RESPONSE`]; travels in an `io::Error`.
#[derive(Debug)]
pub(super) struct ResponseTooLarge;

impl fmt::Display for ResponseTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server sent more than {} MiB in answer to one command (an endless flood of \
             responses?); it was not read further",
            MAX_CRATE_RESPONSE >> 20
        )
    }
}

impl std::error::Error for ResponseTooLarge {}

/// What the crate and our fetch reader share.
pub(super) struct Shared<S> {
    pub(super) rd: BoundedReader<S>,
    /// Bytes of the current line handed to the crate so far.
    line: usize,
    /// Bytes handed to the crate since its last write (command).
    response: u64,
}

/// The stream as the crate sees it (see the module documentation).
pub(super) struct Tap<S>(Arc<Mutex<Shared<S>>>);

impl<S> Clone for Tap<S> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<S> Tap<S> {
    pub(super) fn new(stream: S) -> Self {
        Self(Arc::new(Mutex::new(Shared {
            rd: BoundedReader::with_capacity(stream, READ_BUF),
            line: 0,
            response: 0,
        })))
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Shared<S>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The stream back, when this is the last handle and nothing unread is buffered.
    pub(super) fn into_inner(self) -> Option<S> {
        let b = Arc::try_unwrap(self.0)
            .ok()?
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        b.rd.into_inner().ok()
    }
}

impl<S: Read> Read for Tap<S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut guard = self.lock();
        let b = &mut *guard;
        if !b.rd.fill()? {
            return Ok(0);
        }
        let avail = b.rd.buffer();
        let (line, ends) = match avail.iter().position(|&c| c == b'\n') {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        let n = line.min(out.len());
        let ends = ends && n == line;
        // The line ending (CRLF) is not counted against the limit.
        if b.line + n > MAX_CRATE_LINE + 2 {
            return Err(net::ReadError::TooLong {
                max: MAX_CRATE_LINE,
            }
            .into());
        }
        b.response += n as u64;
        if b.response > MAX_CRATE_RESPONSE {
            return Err(io::Error::new(io::ErrorKind::InvalidData, ResponseTooLarge));
        }
        out[..n].copy_from_slice(&avail[..n]);
        b.rd.consume(n);
        b.line = if ends { 0 } else { b.line + n };
        Ok(n)
    }
}

impl<S: Write> Write for Tap<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut b = self.lock();
        b.response = 0;
        b.rd.get_mut().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.lock().rd.get_mut().flush()
    }
}

/// Maps an I/O error that happened while `doing`: a deadline names its budget, a line or
/// response too long is [`ErrorCategory::Protocol`], the rest as [`net::io_error`].
pub(super) fn io_err(e: io::Error, doing: &str, bound: Duration) -> ConnectionError {
    if let Some(d) = net::deadline_exceeded(&e) {
        return d.error(doing);
    }
    if e.kind() == io::ErrorKind::InvalidData {
        return protocol(format!("{e} while {doing}")).with_source(e);
    }
    net::io_error(e, doing, bound)
}

/// Maps an error of the `imap` crate that happened while `doing`.
pub(super) fn map_err(e: ::imap::Error, doing: &str, bound: Duration) -> ConnectionError {
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

/// What went wrong while reading a response ourselves.
#[derive(Debug)]
pub(super) enum ReadError {
    Io(io::Error),
    /// The stream ended.
    Eof,
    /// The stream ended after an untagged BYE with this text.
    Bye(String),
    /// The reply breaks the grammar or our bounds; the stream cannot be read further.
    Protocol(String),
    /// A tagged NO or BAD: the status and the text.
    Refused(String),
    /// The operation's deadline passed.
    Deadline(DeadlineExceeded),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        net::ReadError::from(e).into()
    }
}

impl From<net::ReadError> for ReadError {
    fn from(e: net::ReadError) -> Self {
        match e {
            net::ReadError::Eof => Self::Eof,
            net::ReadError::TooLong { max } => {
                Self::Protocol(format!("a response line longer than {max} bytes"))
            }
            net::ReadError::Deadline(d) => Self::Deadline(d),
            other => Self::Io(other.into()),
        }
    }
}

impl ReadError {
    /// Whether the stream is still in step with the server (the whole response was read).
    pub(super) fn leaves_session_usable(&self) -> bool {
        matches!(self, ReadError::Refused(_))
    }
}

pub(super) fn bad_reply(what: impl Into<String>) -> ReadError {
    ReadError::Protocol(what.into())
}

/// `what`, quoting `text` made safe (at most 80 characters of it).
fn quoting(what: &str, text: &[u8]) -> ReadError {
    let shown: String = clean(&String::from_utf8_lossy(text))
        .chars()
        .take(80)
        .collect();
    bad_reply(format!("{what}: \"{shown}\""))
}

/// How to treat a literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Keep {
    /// Drained, never kept.
    Drop,
    /// Kept when at most this many bytes, else drained.
    UpTo(u64),
}

/// A literal read: its length, and its bytes when kept.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Literal {
    pub(super) len: u64,
    pub(super) bytes: Option<Vec<u8>>,
}

/// One `* n FETCH (…)` response as our reader saw it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct FetchItem {
    pub(super) uid: Option<u32>,
    pub(super) size: Option<u32>,
    pub(super) flags: Option<Vec<String>>,
    /// `BODY[]` when kept; `None` when absent, NIL, or drained (over the limit).
    pub(super) body: Option<Vec<u8>>,
    /// The length of `BODY[]` (kept or drained); `None` when absent or NIL.
    pub(super) body_len: Option<u64>,
}

/// A response being read: the current piece of line (between literals) and a position in it.
pub(super) struct Resp<'a, S> {
    pub(super) rd: &'a mut BoundedReader<S>,
    pub(super) line: Vec<u8>,
    pub(super) pos: usize,
    /// What to do with `BODY[]` literals.
    pub(super) keep: Keep,
}

fn is_delim(c: u8) -> bool {
    matches!(c, b' ' | b'(' | b')')
}

impl<S: Read> Resp<'_, S> {
    fn next_line(&mut self) -> Result<(), ReadError> {
        self.pos = 0;
        self.rd
            .read_line_into(&mut self.line, MAX_RESPONSE_LINE)
            .map_err(ReadError::from)
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
            .ok_or_else(|| quoting("a number expected, not", &a))
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
    fn literal(&mut self, keep: Keep) -> Result<Literal, ReadError> {
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
            .and_then(|d| d.parse::<u64>().ok())
            .ok_or_else(|| quoting("a malformed literal", rest))?;
        let bytes = match keep {
            Keep::UpTo(limit) if n <= limit && n <= MAX_LITERAL as u64 => {
                // `n` is at most the limit the caller chose (one message): safe to reserve.
                let mut v = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
                self.rd.copy_exact(n, &mut v)?;
                Some(v)
            }
            _ => {
                self.rd.skip(n)?;
                None
            }
        };
        self.next_line()?;
        Ok(Literal { len: n, bytes })
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
    fn nstring(&mut self, keep: Keep) -> Result<Option<Literal>, ReadError> {
        match self.peek() {
            Some(b'"') => {
                let bytes = self.quoted(true)?.unwrap_or_default();
                Ok(Some(Literal {
                    len: bytes.len() as u64,
                    bytes: (keep != Keep::Drop).then_some(bytes),
                }))
            }
            Some(b'{') => self.literal(keep).map(Some),
            _ => {
                let start = self.pos;
                let a = self.atom();
                if a.eq_ignore_ascii_case(b"NIL") {
                    Ok(None)
                } else {
                    Err(quoting(
                        "a body that is neither NIL, a string nor a literal",
                        &self.line[start..],
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
            Some(b'{') => self.literal(Keep::Drop).map(drop),
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
                b"BODY[]" | b"BODY[]<0>" => {
                    if let Some(l) = self.nstring(self.keep)? {
                        item.body_len = Some(l.len);
                        item.body = l.bytes;
                    }
                }
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
            self.literal(Keep::Drop)?;
        }
    }
}

/// Reads the responses to our command tagged `tag` up to its tagged OK, handing each
/// `* n FETCH (…)` to `each` as soon as it is complete; other untagged responses are dropped
/// as they are read. `BODY[]` literals are treated as `keep` says until `each` returns `false`,
/// then drained (the response is still read to its end, so the session stays usable).
pub(super) fn read_fetch<S: Read>(
    rd: &mut BoundedReader<S>,
    tag: &[u8],
    keep: Keep,
    mut each: impl FnMut(FetchItem) -> bool,
) -> Result<(), ReadError> {
    let mut r = Resp {
        rd,
        line: Vec::new(),
        pos: 0,
        keep,
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
            return Err(quoting("an unexpected line", &r.line));
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
                if !each(r.fetch_attributes()?) {
                    r.keep = Keep::Drop;
                }
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
pub(super) fn read_err(e: ReadError, doing: &str, bound: Duration) -> ConnectionError {
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
        ReadError::Deadline(d) => d.error(doing),
    }
}
