//! IDLE (RFC 2177), on our own bounded reader: wait for the server to report new mail in the
//! selected mailbox, without polling.
//!
//! [`ImapSession::idle`] sends `IDLE`, waits for the continuation, then blocks in one socket
//! read (no timer ticks, no CPU while nothing happens) until
//! - the server reports a change (`* n EXISTS`, `* n RECENT`): `DONE`, the tagged answer is read,
//!   [`IdleEvent::Changed`];
//! - `period` has passed (the caller re-issues IDLE, well before the 29 minutes after which a
//!   server may drop an idle client, RFC 2177): `DONE`, and its tagged answer must come within
//!   the stream's read timeout, which is the keepalive: a dead connection is noticed at the
//!   latest `period` + read timeout after it died; [`IdleEvent::Timeout`];
//! - the read half of the socket is shut down from another thread ([`IdleStop`], the collector
//!   stopping): `DONE` and `LOGOUT` are sent without waiting for answers, [`IdleEvent::Stopped`].
//!
//! Every line read is at most [`MAX_RESPONSE_LINE`] bytes; `* OK Still here` and other untagged
//! responses are read and dropped. A change reported while IDLE was being started or ended
//! counts as [`IdleEvent::Changed`] too.

use super::response::{io_err, read_err, ReadError};
use super::session::ImapSession;
use super::{protocol, MAX_RESPONSE_LINE};
use crate::error::{ConnectionError, ErrorCategory};
use crate::net::MailStream;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How an [`ImapSession::idle`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdleEvent {
    /// The server reported new mail (EXISTS or RECENT).
    Changed,
    /// The period passed without news; IDLE was ended cleanly (the server answered `DONE`).
    Timeout,
    /// Stopped from another thread ([`IdleStop::stop`]): `DONE` and `LOGOUT` were sent, the
    /// session is closed.
    Stopped,
}

/// Stops an [`ImapSession::idle`] from another thread, at once: it shuts the read half of the
/// session's socket down, so the blocked read returns. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct IdleStop {
    stopped: Arc<AtomicBool>,
    socket: Arc<Mutex<Option<TcpStream>>>,
}

impl IdleStop {
    /// A handle not yet stopped nor attached to a session.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops the wait (and any later one through this handle).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        if let Some(s) = self
            .socket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            let _ = s.shutdown(Shutdown::Read);
        }
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    fn attach(&self, socket: Option<TcpStream>) {
        *self.socket.lock().unwrap_or_else(PoisonError::into_inner) = socket;
        // A stop that came before the socket was attached still applies.
        if self.is_stopped() {
            self.stop();
        }
    }
}

/// A line that reports new mail: `* n EXISTS` or `* n RECENT`.
fn reports_new_mail(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line).to_ascii_uppercase();
    let mut words = text.split_whitespace();
    words.next() == Some("*")
        && words.next().is_some_and(|n| n.parse::<u32>().is_ok())
        && matches!(words.next(), Some("EXISTS" | "RECENT"))
}

impl ImapSession<MailStream> {
    /// Waits in IDLE on the selected mailbox (see the module documentation). Needs the `IDLE`
    /// capability ([`ErrorCategory::Protocol`] otherwise: poll instead). The stream's deadline
    /// should be off (waiting is no operation's time); its read timeout is restored afterwards.
    pub fn idle(
        &mut self,
        period: Duration,
        stop: &IdleStop,
    ) -> Result<IdleEvent, ConnectionError> {
        self.require_selected("IDLE")?;
        self.usable()?;
        if !self.capabilities()?.has("IDLE") {
            return Err(protocol("the server does not offer IDLE"));
        }
        let socket = self.stream.lock().rd.get_ref().tcp().try_clone().ok();
        stop.attach(socket);
        let r = self.idle_inner(period, stop);
        stop.attach(None);
        r
    }

    fn idle_inner(
        &mut self,
        period: Duration,
        stop: &IdleStop,
    ) -> Result<IdleEvent, ConnectionError> {
        if stop.is_stopped() {
            return Ok(IdleEvent::Stopped);
        }
        self.fetch_tag = self.fetch_tag.wrapping_add(1);
        let tag = format!("msi{} ", self.fetch_tag);
        let bound = self.bound;
        let doing = "waiting in IDLE";
        let mut news = false;
        // Start: IDLE, then the continuation.
        let started = (|| -> Result<(), ReadError> {
            let mut shared = self.stream.lock();
            let rd = &mut shared.rd;
            rd.write_all(format!("{tag}IDLE\r\n").as_bytes())?;
            rd.flush()?;
            loop {
                let line = rd.read_line(MAX_RESPONSE_LINE)?;
                if line.starts_with(b"+") {
                    return Ok(());
                }
                if line.starts_with(tag.as_bytes()) {
                    return Err(ReadError::Refused(super::clean(&String::from_utf8_lossy(
                        &line[tag.len()..],
                    ))));
                }
                news |= reports_new_mail(&line);
            }
        })();
        if let Err(e) = started {
            return Err(self.idle_error(e, doing, bound));
        }
        // Wait: one blocking read at a time, bounded by what is left of the period.
        let until = Instant::now() + period;
        let mut event = IdleEvent::Timeout;
        if news {
            event = IdleEvent::Changed;
        } else {
            loop {
                if stop.is_stopped() {
                    event = IdleEvent::Stopped;
                    break;
                }
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                let line = {
                    let mut shared = self.stream.lock();
                    let rd = &mut shared.rd;
                    let _ = rd.get_ref().set_read_timeout(Some(left));
                    let r = rd.read_line(MAX_RESPONSE_LINE);
                    let _ = rd.get_ref().set_read_timeout(Some(bound));
                    r
                };
                match line {
                    Ok(line) => {
                        if line.starts_with(b"* BYE") {
                            self.broken = Some("the server ended the session during IDLE".into());
                            return Err(ConnectionError::new(
                                ErrorCategory::Connect,
                                format!(
                                    "the server ended the session while waiting in IDLE: {}",
                                    super::clean(&String::from_utf8_lossy(&line))
                                ),
                            ));
                        }
                        if reports_new_mail(&line) {
                            event = IdleEvent::Changed;
                            break;
                        }
                    }
                    Err(crate::net::ReadError::Eof) if stop.is_stopped() => {
                        event = IdleEvent::Stopped;
                        break;
                    }
                    Err(e) => {
                        let e = ReadError::from(e);
                        let timed_out =
                            matches!(&e, ReadError::Io(io) if crate::net::is_timeout_error(io));
                        if timed_out && !stop.is_stopped() {
                            break;
                        }
                        if stop.is_stopped() {
                            event = IdleEvent::Stopped;
                            break;
                        }
                        return Err(self.idle_error(e, doing, bound));
                    }
                }
            }
        }
        if event == IdleEvent::Stopped {
            // The read half is shut: say goodbye without waiting for answers.
            {
                let mut shared = self.stream.lock();
                let rd = &mut shared.rd;
                let _ = rd.write_all(b"DONE\r\nmsl LOGOUT\r\n");
                let _ = rd.flush();
            }
            self.broken = Some("the IDLE wait was stopped and the session logged out".into());
            return Ok(event);
        }
        // End: DONE, then the tagged answer within the read timeout (the keepalive).
        let ended = (|| -> Result<(), ReadError> {
            let mut shared = self.stream.lock();
            let rd = &mut shared.rd;
            rd.write_all(b"DONE\r\n")?;
            rd.flush()?;
            loop {
                let line = rd.read_line(MAX_RESPONSE_LINE)?;
                if let Some(rest) = line.strip_prefix(tag.as_bytes()) {
                    if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(b"OK") {
                        return Ok(());
                    }
                    return Err(ReadError::Refused(super::clean(&String::from_utf8_lossy(
                        rest,
                    ))));
                }
                news |= reports_new_mail(&line);
            }
        })();
        if let Err(e) = ended {
            return Err(self.idle_error(e, "ending IDLE (DONE)", bound));
        }
        // News read while ending IDLE: the caller's check that follows a Changed covers it.
        if news {
            event = IdleEvent::Changed;
        }
        Ok(event)
    }

    fn idle_error(&mut self, e: ReadError, doing: &str, bound: Duration) -> ConnectionError {
        let usable = e.leaves_session_usable();
        let err = match e {
            ReadError::Io(io) => io_err(io, doing, bound),
            other => read_err(other, doing, bound),
        };
        if !usable {
            self.broken = Some(err.message().to_owned());
        }
        err
    }
}

#[cfg(test)]
mod tests {
    use super::reports_new_mail;

    #[test]
    fn new_mail_lines() {
        assert!(reports_new_mail(b"* 3 EXISTS"));
        assert!(reports_new_mail(b"* 1 recent"));
        assert!(!reports_new_mail(b"* OK Still here"));
        assert!(!reports_new_mail(b"* 3 EXPUNGE"));
        assert!(!reports_new_mail(b"* 2 FETCH (FLAGS (\\Seen))"));
    }
}
