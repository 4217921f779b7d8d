//! Commands whose answers the crate cannot parse (`NAMESPACE`, `ENABLE`), sent and read by us
//! through the shared bounded reader: lines of at most [`MAX_RESPONSE_LINE`] bytes, at most
//! [`MAX_SIMPLE_RESPONSE`] bytes of untagged lines kept, a literal in them at most as long as
//! that and skipped, everything under the stream's deadline and timeouts.

use super::response::{io_err, read_err, ReadError};
use super::session::ImapSession;
use super::MAX_RESPONSE_LINE;
use crate::error::ConnectionError;
use std::io::{Read, Write};

/// Most bytes of untagged lines kept in answer to one simple command.
pub const MAX_SIMPLE_RESPONSE: usize = 256 * 1024;

/// The prefix of our simple commands' tags (`mss1`, `mss2`, …).
const SIMPLE_TAG_PREFIX: &str = "mss";

/// The tagged status of a simple command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Status {
    /// `OK`, with the untagged lines that came before it.
    Ok(Vec<String>),
    /// `NO` or `BAD`, with the server's text (made safe).
    Refused(String),
}

/// The byte count of a literal announced at the end of `line` (`{12}` or `{12+}`).
fn literal_len(line: &[u8]) -> Option<u64> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|b| *b == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    std::str::from_utf8(digits).ok()?.parse().ok()
}

impl<S: Read + Write> ImapSession<S> {
    /// Sends `command` with a tag of ours and reads its answer to the tagged line.
    pub(super) fn simple_command(
        &mut self,
        command: &str,
        doing: &str,
    ) -> Result<Status, ConnectionError> {
        self.usable()?;
        self.fetch_tag = self.fetch_tag.wrapping_add(1);
        let tag = format!("{SIMPLE_TAG_PREFIX}{} ", self.fetch_tag);
        let bound = self.bound;
        let r = (|| -> Result<Status, ReadError> {
            let mut shared = self.stream.lock();
            let rd = &mut shared.rd;
            rd.write_all(format!("{tag}{command}\r\n").as_bytes())?;
            rd.flush()?;
            let mut kept = Vec::new();
            let mut kept_bytes = 0usize;
            loop {
                let line = rd.read_line(MAX_RESPONSE_LINE)?;
                if let Some(n) = literal_len(&line) {
                    if n > MAX_SIMPLE_RESPONSE as u64 {
                        return Err(super::response::bad_reply(format!(
                            "a literal of {n} bytes in answer to {command}"
                        )));
                    }
                    rd.skip(n)?;
                    continue;
                }
                if let Some(rest) = line.strip_prefix(tag.as_bytes()) {
                    let text = String::from_utf8_lossy(rest).into_owned();
                    let upper = text.to_ascii_uppercase();
                    return Ok(if upper.starts_with("OK") {
                        Status::Ok(kept)
                    } else {
                        Status::Refused(super::clean(&text))
                    });
                }
                if line.starts_with(b"* BYE") {
                    return Err(ReadError::Eof);
                }
                kept_bytes += line.len();
                if kept_bytes <= MAX_SIMPLE_RESPONSE {
                    kept.push(String::from_utf8_lossy(&line).into_owned());
                }
            }
        })();
        match r {
            Ok(s) => Ok(s),
            Err(e) => {
                let err = match e {
                    ReadError::Io(io) => io_err(io, doing, bound),
                    other => read_err(other, doing, bound),
                };
                self.broken = Some(err.message().to_owned());
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::literal_len;

    #[test]
    fn literals_at_line_ends() {
        assert_eq!(literal_len(b"* NAMESPACE (({5}"), Some(5));
        assert_eq!(literal_len(b"* X {12+}"), Some(12));
        assert_eq!(literal_len(b"* X {a}"), None);
        assert_eq!(literal_len(b"* X (a)"), None);
    }
}
