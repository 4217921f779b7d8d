//! Retrieval and removal: `RETR`, `TOP`, pipelined `RETR`/`DELE`, `DELE`, `RSET`, `NOOP`, `QUIT`.

use super::*;

impl<S: Read + Write> Pop3Client<S> {
    /// `RETR n`: streams message `number` into `sink`, dot-unstuffed; returns the bytes
    /// written. Nothing of the message is held in memory beyond the reader's fixed buffer.
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
    pub(super) fn pipelined(
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
            before(self.reader.get_mut(), answered);
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
