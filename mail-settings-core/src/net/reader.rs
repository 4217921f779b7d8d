//! The one bounded reader every protocol driver reads a server (or a proxy) through.
//!
//! A fixed buffer over any [`Read`]: nothing a server sends can make it grow. What it offers:
//! - [`read_line`](BoundedReader::read_line) / [`read_line_into`](BoundedReader::read_line_into):
//!   one line without its ending (CRLF, or a bare LF), at most `max` bytes; a longer line is
//!   [`ReadError::TooLong`] naming the limit, detected as soon as `max + 1` bytes without a line
//!   ending have arrived (the output never holds more than `max + 1` bytes).
//! - [`copy_exact`](BoundedReader::copy_exact): exactly `n` bytes into a [`Write`] sink, through
//!   the buffer (an IMAP literal, a body of known size), and [`skip`](BoundedReader::skip):
//!   `n` bytes dropped without keeping them (an oversized literal drained).
//! - [`fill`](BoundedReader::fill) / [`buffer`](BoundedReader::buffer) /
//!   [`consume`](BoundedReader::consume): the buffer itself, for readers with their own framing
//!   (POP3's dot-terminated bodies).
//! - [`has_buffered`](BoundedReader::has_buffered) and
//!   [`into_inner`](BoundedReader::into_inner), which refuses to give the stream back while
//!   unread bytes are buffered: before a STARTTLS handshake the caller must know that nothing
//!   the server sent is waiting, since bytes sent before the handshake would otherwise be read
//!   as if they had come over TLS (STARTTLS command injection, CVE-2011-0411).
//! - Typed errors ([`ReadError`]): I/O, end of stream, too long, deadline passed (a
//!   [`DeadlineExceeded`] from the stream, see [`super::deadline`]).
//!
//! Writes pass straight through to the stream ([`Write`] is implemented when the stream is
//! `Write`), so one value serves a whole conversation.

use super::deadline::{deadline_exceeded, DeadlineExceeded};
use crate::error::{ConnectionError, ErrorCategory};
use std::fmt;
use std::io::{self, Read, Write};
use std::time::Duration;

/// The default size of the buffer (16 KiB).
pub const DEFAULT_CAPACITY: usize = 16 * 1024;

/// What went wrong while reading.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// The stream failed (a per-read timeout included: see [`super::is_timeout_error`]).
    Io(io::Error),
    /// The stream ended where more was expected.
    Eof,
    /// A line longer than `max` bytes.
    TooLong {
        /// The limit.
        max: usize,
    },
    /// The operation's deadline passed.
    Deadline(DeadlineExceeded),
    /// The sink of [`BoundedReader::copy_exact`] refused what was read.
    Sink(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        if let Some(d) = deadline_exceeded(&e) {
            return Self::Deadline(d);
        }
        if e.kind() == io::ErrorKind::UnexpectedEof {
            return Self::Eof;
        }
        Self::Io(e)
    }
}

impl From<ReadError> for io::Error {
    /// For callers that speak `io::Error`: `TooLong` is `InvalidData`, `Eof` is
    /// `UnexpectedEof`, a deadline is `TimedOut` carrying the [`DeadlineExceeded`].
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Io(e) | ReadError::Sink(e) => e,
            ReadError::Eof => io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection was closed by the server",
            ),
            ReadError::TooLong { max } => io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the server sent a line longer than {max} bytes"),
            ),
            ReadError::Deadline(d) => d.into(),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "I/O error: {e}"),
            ReadError::Eof => f.write_str("the server closed the connection"),
            ReadError::TooLong { max } => {
                write!(f, "the server sent a line longer than {max} bytes")
            }
            ReadError::Deadline(d) => d.fmt(f),
            ReadError::Sink(e) => write!(f, "cannot keep what was read: {e}"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) | ReadError::Sink(e) => Some(e),
            _ => None,
        }
    }
}

impl ReadError {
    /// Whether it is a timeout: a per-read one, or the deadline.
    pub fn is_timeout(&self) -> bool {
        match self {
            ReadError::Io(e) => super::is_timeout_error(e),
            ReadError::Deadline(_) => true,
            _ => false,
        }
    }

    /// The error of a driver that was `doing` something: a deadline is
    /// [`ErrorCategory::Timeout`] naming the budget, a per-read timeout is
    /// [`ErrorCategory::Timeout`] after `bound`, a line too long is [`ErrorCategory::Protocol`],
    /// the end of the stream and other I/O errors are [`ErrorCategory::Connect`].
    pub fn into_connection_error(self, doing: &str, bound: Duration) -> ConnectionError {
        match self {
            ReadError::Io(e) => super::io_error(e, doing, bound),
            ReadError::Eof => ConnectionError::new(
                ErrorCategory::Connect,
                format!("the server closed the connection while {doing}"),
            ),
            ReadError::TooLong { max } => ConnectionError::new(
                ErrorCategory::Protocol,
                format!(
                    "the server sent a line longer than {max} bytes while {doing}; it was not read \
                     further"
                ),
            ),
            ReadError::Deadline(d) => d.error(doing),
            ReadError::Sink(e) => ConnectionError::new(
                ErrorCategory::Connect,
                format!("cannot keep what the server sent while {doing}: {e}"),
            )
            .with_source(e),
        }
    }
}

/// A stream with a fixed read buffer. See the module documentation.
pub struct BoundedReader<S> {
    stream: S,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl<S> fmt::Debug for BoundedReader<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedReader")
            .field("capacity", &self.buf.len())
            .field("buffered", &(self.end - self.start))
            .finish()
    }
}

impl<S> BoundedReader<S> {
    /// Wraps a stream, with a buffer of [`DEFAULT_CAPACITY`].
    pub fn new(stream: S) -> Self {
        Self::with_capacity(stream, DEFAULT_CAPACITY)
    }

    /// Wraps a stream, with a buffer of `capacity` bytes (at least 1).
    pub fn with_capacity(stream: S, capacity: usize) -> Self {
        Self {
            stream,
            buf: vec![0u8; capacity.max(1)].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// The size of the buffer.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The bytes read from the stream and not consumed yet.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` buffered bytes as read (at most what is buffered).
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Whether bytes the server sent are buffered and not yet read.
    pub fn has_buffered(&self) -> bool {
        self.start < self.end
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably. Reading from it directly skips the buffer.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The stream back, dropping whatever was buffered (after a QUIT or LOGOUT, where nothing
    /// matters any more).
    pub fn into_stream(self) -> S {
        self.stream
    }

    /// The stream back, only when nothing unread is buffered; else the reader itself (STARTTLS:
    /// bytes the server sent before the handshake must not be taken as if they came over TLS).
    pub fn into_inner(self) -> Result<S, Self> {
        if self.has_buffered() {
            Err(self)
        } else {
            Ok(self.stream)
        }
    }
}

impl<S: Read> BoundedReader<S> {
    /// Makes sure bytes are buffered: does nothing when some are, else reads once from the
    /// stream. `false` at the end of the stream.
    pub fn fill(&mut self) -> Result<bool, ReadError> {
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
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// One line without its line ending (CRLF, or a bare LF). See
    /// [`read_line_into`](Self::read_line_into).
    pub fn read_line(&mut self, max: usize) -> Result<Vec<u8>, ReadError> {
        let mut line = Vec::new();
        self.read_line_into(&mut line, max)?;
        Ok(line)
    }

    /// One line into `out` (cleared first), without its line ending (CRLF, or a bare LF). A
    /// line longer than `max` bytes is [`ReadError::TooLong`] as soon as `max + 1` bytes without
    /// a line ending have arrived (`out` never holds more than `max + 1` bytes); the end of the
    /// stream before a line ending is [`ReadError::Eof`]. After `TooLong` the rest of that line
    /// may still be unread: the conversation cannot go on.
    pub fn read_line_into(&mut self, out: &mut Vec<u8>, max: usize) -> Result<(), ReadError> {
        out.clear();
        loop {
            if !self.fill()? {
                return Err(ReadError::Eof);
            }
            let avail = &self.buf[self.start..self.end];
            match avail.iter().position(|&b| b == b'\n') {
                Some(pos) => {
                    // `max` content bytes, plus a CR that will be dropped.
                    if out.len() + pos > max + 1 {
                        self.consume(pos + 1);
                        return Err(ReadError::TooLong { max });
                    }
                    out.extend_from_slice(&avail[..pos]);
                    self.consume(pos + 1);
                    if out.last() == Some(&b'\r') {
                        out.pop();
                    }
                    if out.len() > max {
                        return Err(ReadError::TooLong { max });
                    }
                    return Ok(());
                }
                None => {
                    let n = avail.len();
                    if out.len() + n > max + 1 {
                        self.consume(n);
                        return Err(ReadError::TooLong { max });
                    }
                    out.extend_from_slice(avail);
                    self.consume(n);
                }
            }
        }
    }

    /// Exactly `n` bytes, written to `sink` as they arrive (through the buffer: never more
    /// than its capacity at once). The end of the stream first is [`ReadError::Eof`]; a sink
    /// error is [`ReadError::Sink`] (the rest is not read).
    pub fn copy_exact<W: Write + ?Sized>(&mut self, n: u64, sink: &mut W) -> Result<(), ReadError> {
        let mut left = n;
        while left > 0 {
            if !self.fill()? {
                return Err(ReadError::Eof);
            }
            let avail = self.end - self.start;
            let take = usize::try_from(left).map_or(avail, |l| l.min(avail));
            sink.write_all(&self.buf[self.start..self.start + take])
                .map_err(ReadError::Sink)?;
            self.consume(take);
            left -= take as u64;
        }
        Ok(())
    }

    /// Exactly `n` bytes, dropped (an oversized literal drained).
    pub fn skip(&mut self, n: u64) -> Result<(), ReadError> {
        self.copy_exact(n, &mut io::sink())
    }
}

impl<S: Write> Write for BoundedReader<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.stream.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Gives at most `chunk` bytes per read.
    struct Chunked {
        data: Vec<u8>,
        pos: usize,
        chunk: usize,
        reads: usize,
    }

    impl Read for Chunked {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            let n = buf.len().min(self.chunk).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn reader(data: &[u8], chunk: usize) -> BoundedReader<Chunked> {
        BoundedReader::with_capacity(
            Chunked {
                data: data.to_vec(),
                pos: 0,
                chunk,
                reads: 0,
            },
            16,
        )
    }

    const CHUNKS: [usize; 5] = [1, 2, 3, 7, 1000];

    #[test]
    fn lines_cross_reads_and_lose_their_endings() {
        for chunk in CHUNKS {
            let mut r = reader(b"* OK hello there, a longer line\r\nbare\n\r\nlast", chunk);
            assert_eq!(
                r.read_line(100).unwrap(),
                b"* OK hello there, a longer line"
            );
            assert_eq!(r.read_line(100).unwrap(), b"bare");
            assert_eq!(r.read_line(100).unwrap(), b"");
            // EOF in the middle of a line.
            assert!(matches!(r.read_line(100), Err(ReadError::Eof)), "{chunk}");
        }
    }

    #[test]
    fn the_limit_is_exact_and_long_lines_are_refused_early() {
        for chunk in CHUNKS {
            let mut r = reader(b"01234\r\n0123\n012345\r\n", chunk);
            assert_eq!(r.read_line(5).unwrap(), b"01234");
            assert_eq!(r.read_line(5).unwrap(), b"0123");
            assert!(matches!(r.read_line(5), Err(ReadError::TooLong { max: 5 })));
        }
        // An endless line without an ending: refused after max + 1 bytes plus at most one
        // buffer, not read to its end.
        for chunk in CHUNKS {
            let mut r = reader(&vec![b'x'; 100_000], chunk);
            let mut out = Vec::new();
            let e = r.read_line_into(&mut out, 100).unwrap_err();
            assert!(matches!(e, ReadError::TooLong { max: 100 }));
            assert!(out.len() <= 101, "{}", out.len());
            assert!(
                r.get_ref().pos <= 101 + 16,
                "read {} bytes",
                r.get_ref().pos
            );
            assert!(e.to_string().contains("longer than 100 bytes"));
        }
    }

    #[test]
    fn exact_reads_and_skips_cross_the_buffer() {
        let mut data = b"{40}\r\n".to_vec();
        data.extend((0..40u8).collect::<Vec<_>>());
        data.extend_from_slice(b" tail\r\n{30}\r\n");
        data.extend(vec![b'z'; 30]);
        data.extend_from_slice(b")\r\n");
        for chunk in CHUNKS {
            let mut r = reader(&data, chunk);
            assert_eq!(r.read_line(10).unwrap(), b"{40}");
            let mut body = Vec::new();
            r.copy_exact(40, &mut body).unwrap();
            assert_eq!(body, (0..40u8).collect::<Vec<_>>());
            assert_eq!(r.read_line(10).unwrap(), b" tail");
            assert_eq!(r.read_line(10).unwrap(), b"{30}");
            r.skip(30).unwrap();
            assert_eq!(r.read_line(10).unwrap(), b")");
            assert!(matches!(r.skip(1), Err(ReadError::Eof)));
        }
    }

    #[test]
    fn an_exact_read_cut_short_is_eof() {
        for chunk in CHUNKS {
            let mut r = reader(b"short", chunk);
            let mut body = Vec::new();
            assert!(matches!(r.copy_exact(10, &mut body), Err(ReadError::Eof)));
            assert_eq!(body, b"short");
        }
    }

    #[test]
    fn a_failing_sink_is_its_own_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut r = reader(b"0123456789", 3);
        assert!(matches!(
            r.copy_exact(5, &mut Full),
            Err(ReadError::Sink(_))
        ));
    }

    #[test]
    fn peek_and_consume_serve_other_framings() {
        let mut r = reader(b"abc.\r\n", 2);
        assert!(r.fill().unwrap());
        assert_eq!(r.buffer(), b"ab");
        r.consume(1);
        assert_eq!(r.buffer(), b"b");
        r.consume(10);
        assert!(!r.has_buffered());
        assert!(r.fill().unwrap());
        assert_eq!(r.buffer(), b"c.");
    }

    #[test]
    fn into_inner_refuses_buffered_bytes() {
        let mut r =
            BoundedReader::new(io::Cursor::new(b"ms1 OK go ahead\r\nINJECTED\r\n".to_vec()));
        assert_eq!(r.read_line(100).unwrap(), b"ms1 OK go ahead");
        assert!(r.has_buffered());
        let r = r.into_inner().unwrap_err();
        assert_eq!(r.buffer(), b"INJECTED\r\n");
        let mut r = BoundedReader::new(io::Cursor::new(b"ms1 OK go ahead\r\n".to_vec()));
        r.read_line(100).unwrap();
        assert!(r.into_inner().is_ok());
    }

    #[test]
    fn deadline_and_eof_errors_are_typed() {
        struct Late;
        impl Read for Late {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(super::super::OpDeadline::after(Duration::ZERO, "the check")
                    .exceeded()
                    .into())
            }
        }
        let mut r = BoundedReader::new(Late);
        let e = r.read_line(10).unwrap_err();
        assert!(matches!(e, ReadError::Deadline(_)));
        assert!(e.is_timeout());
        let c = e.into_connection_error("reading the greeting", Duration::from_secs(60));
        assert_eq!(c.category(), ErrorCategory::Timeout);
        assert!(c
            .to_string()
            .contains("while reading the greeting: the check took longer than its"));
        let e = ReadError::from(io::Error::from(io::ErrorKind::UnexpectedEof));
        assert!(matches!(e, ReadError::Eof));
        let c =
            ReadError::TooLong { max: 8 }.into_connection_error("reading a reply", Duration::ZERO);
        assert_eq!(c.category(), ErrorCategory::Protocol);
    }
}
