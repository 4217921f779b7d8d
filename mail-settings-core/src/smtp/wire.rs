//! DATA dot-stuffing for the SMTP client, and [`Wire`], a thin line-reading view kept for the
//! IMAP STARTTLS prelude.
//!
//! Every read goes through the one bounded reader of [`crate::net::reader`]: the SMTP client
//! holds a [`BoundedReader`] itself, and [`Wire`] only gives the IMAP prelude the
//! `io::Result` interface it was written against. Its [`Wire::into_inner`] (the reader's)
//! refuses to give the stream back while unread bytes are buffered: bytes sent before a
//! STARTTLS handshake would otherwise be read as if they had come over TLS (the "STARTTLS
//! command injection" class of bugs, CVE-2011-0411).

use crate::net::reader::BoundedReader;
use std::io::{self, Read, Write};

/// Size of the read buffer and of the largest write done at once.
pub(crate) const BUF_SIZE: usize = 8 * 1024;

/// A stream read line by line through the shared bounded reader.
pub(crate) struct Wire<S>(BoundedReader<S>);

impl<S> Wire<S> {
    /// Wraps a stream.
    pub(crate) fn new(stream: S) -> Self {
        Self(BoundedReader::with_capacity(stream, BUF_SIZE))
    }

    /// The stream back, only when nothing unread is buffered; else the wire itself.
    pub(crate) fn into_inner(self) -> Result<S, Self> {
        self.0.into_inner().map_err(Self)
    }
}

impl<S: Read + Write> Wire<S> {
    /// Reads one line, without its line ending (CRLF, or a bare LF). A line longer than `max`
    /// bytes is an `InvalidData` error (never buffered past `max + 1` bytes); the end of the
    /// stream before a line ending is `UnexpectedEof`.
    pub(crate) fn read_line(&mut self, max: usize) -> io::Result<Vec<u8>> {
        self.0.read_line(max).map_err(io::Error::from)
    }

    /// Writes all of `data` (not flushed).
    pub(crate) fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data)
    }

    /// Flushes the stream.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Writes a message body as SMTP DATA content (RFC 5321 §4.5.2): a `.` that starts a line is
/// doubled, a bare LF becomes CRLF, the content ends with CRLF, then the `.` line. Writes go out
/// in chunks of [`BUF_SIZE`], so a large message is never copied whole.
pub(crate) struct DotStuffer<'a, W: Write> {
    out: &'a mut W,
    buf: Vec<u8>,
    at_line_start: bool,
    prev_cr: bool,
}

impl<'a, W: Write> DotStuffer<'a, W> {
    /// A stuffer writing into `out`.
    pub(crate) fn new(out: &'a mut W) -> Self {
        Self {
            out,
            buf: Vec::with_capacity(BUF_SIZE + 2),
            at_line_start: true,
            prev_cr: false,
        }
    }

    /// Adds content.
    pub(crate) fn write(&mut self, data: &[u8]) -> io::Result<()> {
        for &b in data {
            if self.at_line_start && b == b'.' {
                self.buf.push(b'.');
            }
            if b == b'\n' && !self.prev_cr {
                self.buf.push(b'\r');
            }
            self.buf.push(b);
            self.prev_cr = b == b'\r';
            self.at_line_start = b == b'\n';
            if self.buf.len() >= BUF_SIZE {
                self.out.write_all(&self.buf)?;
                self.buf.clear();
            }
        }
        Ok(())
    }

    /// Ends the content (CRLF if it did not end with one, then `.` CRLF) and flushes.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if !self.at_line_start {
            if !self.prev_cr {
                self.buf.push(b'\r');
            }
            self.buf.push(b'\n');
        }
        self.buf.extend_from_slice(b".\r\n");
        self.out.write_all(&self.buf)?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Cursor;

    struct Duplex {
        input: Cursor<Vec<u8>>,
        output: Vec<u8>,
    }
    impl Read for Duplex {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            // At most 3 bytes at a time: lines cross reads.
            let n = buf.len().min(3);
            self.input.read(&mut buf[..n])
        }
    }
    impl Write for Duplex {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn wire(input: &[u8]) -> Wire<Duplex> {
        Wire::new(Duplex {
            input: Cursor::new(input.to_vec()),
            output: Vec::new(),
        })
    }

    #[test]
    fn lines_cross_reads_and_lose_their_endings() {
        let mut w = wire(b"220 hello there\r\n250 ok\nrest");
        assert_eq!(w.read_line(100).unwrap(), b"220 hello there");
        assert_eq!(w.read_line(100).unwrap(), b"250 ok");
        let e = w.read_line(100).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn long_lines_are_refused() {
        let mut w = wire(b"0123456789\r\n");
        assert_eq!(
            w.read_line(5).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let mut w = wire(b"01234\r\n");
        assert_eq!(w.read_line(5).unwrap(), b"01234");
    }

    #[test]
    fn into_inner_refuses_buffered_bytes() {
        let mut w = Wire::new(Cursor::new(b"220 go ahead\r\nINJECTED\r\n".to_vec()));
        // Cursor reads everything at once: the injected line is buffered.
        let mut buf = Vec::new();
        buf.extend(w.read_line(100).unwrap());
        assert!(w.0.has_buffered());
        assert!(w.into_inner().is_err());
        let mut w = Wire::new(Cursor::new(b"220 go ahead\r\n".to_vec()));
        w.read_line(100).unwrap();
        assert!(w.into_inner().is_ok());
    }

    fn stuff(chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut s = DotStuffer::new(&mut out);
        for c in chunks {
            s.write(c).unwrap();
        }
        s.finish().unwrap();
        out
    }

    #[test]
    fn dots_are_doubled_at_line_starts_only() {
        assert_eq!(
            stuff(&[b".a\r\nb.c\r\n..d\r\n"]),
            b"..a\r\nb.c\r\n...d\r\n.\r\n"
        );
        // A line start split across writes.
        assert_eq!(stuff(&[b"x\r", b"\n", b".y"]), b"x\r\n..y\r\n.\r\n");
    }

    #[test]
    fn bare_lf_becomes_crlf_and_the_end_is_added() {
        assert_eq!(stuff(&[b"a\nb"]), b"a\r\nb\r\n.\r\n");
        assert_eq!(stuff(&[b"a\r\n"]), b"a\r\n.\r\n");
        assert_eq!(stuff(&[b""]), b".\r\n");
        assert_eq!(stuff(&[b"a\r"]), b"a\r\n.\r\n");
        assert_eq!(stuff(&[b"\n.\n"]), b"\r\n..\r\n.\r\n");
    }

    #[test]
    fn large_content_is_written_in_chunks_unchanged() {
        let line = b"0123456789abcdef0123456789abcdef\r\n";
        let mut data = Vec::new();
        for _ in 0..2000 {
            data.extend_from_slice(line);
        }
        let out = stuff(&[&data]);
        assert_eq!(&out[..data.len()], &data[..]);
        assert_eq!(&out[data.len()..], b".\r\n");
    }
}
