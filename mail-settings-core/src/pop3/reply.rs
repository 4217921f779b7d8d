//! Reading replies (status lines, listings, dot-terminated bodies) through the shared
//! bounded reader, and writing commands.

use super::*;

impl<S: Read + Write> Pop3Client<S> {
    // ---- reading -------------------------------------------------------------------------

    pub(super) fn broken(&mut self, e: ConnectionError) -> ConnectionError {
        self.broken = true;
        e
    }

    pub(super) fn check_usable(&self) -> Result<(), ConnectionError> {
        if self.broken {
            return Err(ConnectionError::new(
                ErrorCategory::Connect,
                "the POP3 connection is unusable after an earlier error",
            ));
        }
        Ok(())
    }

    /// The error for a failed read while `doing` something; the session is unusable after it.
    fn read_failed(&mut self, e: ReadError, doing: &str) -> ConnectionError {
        let err = match e {
            // The limit as this module states it (line end included).
            ReadError::TooLong { .. } => protocol(format!(
                "the server sent a line longer than {MAX_LINE} bytes while {doing}"
            )),
            e => e.into_connection_error(doing, self.timeouts.read),
        };
        self.broken(err)
    }

    /// Makes sure bytes are buffered. `Ok(false)` at end of stream.
    pub(super) fn fill(&mut self, doing: &str) -> Result<bool, ConnectionError> {
        self.reader.fill().map_err(|e| self.read_failed(e, doing))
    }

    /// One line without its line end (CRLF or a bare LF), at most [`MAX_LINE`] bytes with
    /// CRLF.
    pub(super) fn read_line(&mut self, doing: &str) -> Result<Vec<u8>, ConnectionError> {
        self.check_usable()?;
        self.reader
            .read_line(MAX_LINE - 2)
            .map_err(|e| self.read_failed(e, doing))
    }

    pub(super) fn read_status(&mut self, doing: &str) -> Result<Status, ConnectionError> {
        let line = self.read_line(doing)?;
        match parse_status(&line) {
            Some(s) => Ok(s),
            None => {
                let e = protocol(format!(
                    "the server answered something that is not +OK or -ERR while {doing}: \"{}\"",
                    printable(&line)
                ));
                Err(self.broken(e))
            }
        }
    }

    /// Reads a multi-line body's lines (dot-unstuffed, line ends removed) up to the final `.`.
    pub(super) fn read_listing(&mut self, doing: &str) -> Result<Vec<Vec<u8>>, ConnectionError> {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line(doing)?;
            let body = &line[..];
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
    pub(super) fn read_body_into(
        &mut self,
        sink: &mut dyn Write,
        doing: &str,
    ) -> Result<u64, ConnectionError> {
        /// Where the reader is in the dot-terminated body.
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum At {
            /// At the start of a line.
            LineStart,
            /// Inside a line.
            Inside,
            /// After a dot that started a line: a line end next means the end.
            Dot,
            /// After a dot and a CR that started a line: an LF next means the end.
            DotCr,
        }
        self.check_usable()?;
        let mut written: u64 = 0;
        let mut sink_error: Option<io::Error> = None;
        let mut at = At::LineStart;
        /// Hands `bytes` to the sink unless it failed already (then they are dropped).
        fn keep(
            sink: &mut dyn Write,
            bytes: &[u8],
            written: &mut u64,
            error: &mut Option<io::Error>,
        ) {
            if error.is_none() {
                match sink.write_all(bytes) {
                    Ok(()) => *written += bytes.len() as u64,
                    Err(e) => *error = Some(e),
                }
            }
        }
        loop {
            if !self.fill(doing)? {
                let e = ConnectionError::new(
                    ErrorCategory::Connect,
                    format!(
                        "the server closed the connection in the middle of {doing} (after {written} bytes)"
                    ),
                );
                return Err(self.broken(e));
            }
            let avail = self.reader.buffer();
            match at {
                At::LineStart => {
                    if avail[0] == b'.' {
                        // The end (".", then a line end), or a stuffed dot: dropped either way.
                        at = At::Dot;
                        self.reader.consume(1);
                    } else {
                        at = At::Inside;
                    }
                }
                At::Dot => match avail[0] {
                    b'\n' => {
                        self.reader.consume(1);
                        break;
                    }
                    b'\r' => {
                        at = At::DotCr;
                        self.reader.consume(1);
                    }
                    _ => at = At::Inside,
                },
                At::DotCr => {
                    if avail[0] == b'\n' {
                        self.reader.consume(1);
                        break;
                    }
                    // ".\r" and more: a stuffed dot, and the CR is content.
                    keep(sink, b"\r", &mut written, &mut sink_error);
                    at = At::Inside;
                }
                At::Inside => {
                    // Everything up to the next line that starts with a dot is copied as it is
                    // (one write per buffer, not per line); that line is looked at above.
                    let (chunk_len, line_end) = match memchr::memmem::find(avail, b"\n.") {
                        Some(i) => (i + 1, true),
                        None => (avail.len(), avail.last() == Some(&b'\n')),
                    };
                    keep(sink, &avail[..chunk_len], &mut written, &mut sink_error);
                    self.reader.consume(chunk_len);
                    if line_end {
                        at = At::LineStart;
                    }
                }
            }
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

    pub(super) fn send(&mut self, command: &str) -> Result<(), ConnectionError> {
        self.check_usable()?;
        tracing::trace!(command, "POP3 >");
        let mut line = Vec::with_capacity(command.len() + 2);
        line.extend_from_slice(command.as_bytes());
        line.extend_from_slice(b"\r\n");
        self.write_raw(&line, command)
    }

    /// Sends a line holding a secret: never logged, zeroed afterwards.
    pub(super) fn send_secret(
        &mut self,
        mut line: Vec<u8>,
        what: &str,
    ) -> Result<(), ConnectionError> {
        self.check_usable()?;
        tracing::trace!(command = what, "POP3 > [secret redacted]");
        line.extend_from_slice(b"\r\n");
        let r = self.write_raw(&line, what);
        line.zeroize();
        r
    }

    pub(super) fn write_raw(&mut self, bytes: &[u8], what: &str) -> Result<(), ConnectionError> {
        let stream = self.reader.get_mut();
        let r = stream.write_all(bytes).and_then(|()| stream.flush());
        r.map_err(|e| {
            let err = net::io_error(e, &format!("sending {what}"), self.timeouts.write);
            self.broken(err)
        })
    }

    /// Sends a command and reads its status; `-ERR` is a protocol error naming the command.
    pub(super) fn simple(&mut self, command: &str) -> Result<Status, ConnectionError> {
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
}
