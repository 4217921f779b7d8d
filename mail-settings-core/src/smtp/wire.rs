//! DATA dot-stuffing for the SMTP client. (Reading goes through the one bounded reader of
//! [`crate::net::reader`], which the client holds; its `into_inner` keeps the STARTTLS
//! injection guard.)

use std::io::{self, Write};

/// Size of the client's read buffer and of the largest write done at once.
pub(crate) const BUF_SIZE: usize = 8 * 1024;

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
