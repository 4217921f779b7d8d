//! Whole-operation deadlines.
//!
//! Per-read timeouts do not bound an operation: a server that sends one line every few
//! seconds, an endless body or an endless flood of untagged responses never lets a read time
//! out. An [`OpDeadline`] is the point in time by which a whole operation (a connection check,
//! one SMTP send, a collector run, one message of a run) must be over. A [`MailStream`] carrying
//! one (see [`MailStream::set_deadline`]) bounds each socket read and write by
//! `min(per-read timeout, time left)`, and fails with a [`DeadlineExceeded`] inside an
//! [`io::Error`] of kind [`io::ErrorKind::TimedOut`] once the time is up; [`super::io_error`] and
//! [`super::reader::ReadError`] turn that into an [`ErrorCategory::Timeout`] error that names
//! the stage and the budget ("timed out while reading the greeting: the check took longer than
//! its 30 s budget").
//!
//! Re-arming the socket's timeout costs a system call, so it is done only when needed: when the
//! deadline or the per-read timeout changed, or when the timeout armed last would end more than
//! [`SLACK`] after the deadline.
//!
//! [`MailStream`]: super::MailStream
//! [`MailStream::set_deadline`]: super::MailStream::set_deadline

use crate::error::{ConnectionError, ErrorCategory};
use std::fmt;
use std::io;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How late past its deadline a read or write may end before the socket timeout is re-armed.
pub const SLACK: Duration = Duration::from_millis(50);

/// The point in time by which a whole operation must be over, with what it is and its budget
/// (for the error message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpDeadline {
    end: Instant,
    budget: Duration,
    what: &'static str,
}

impl OpDeadline {
    /// Now + `budget`. `what` names the operation in errors: "the check", "the send",
    /// "the collector run", "this message".
    pub fn after(budget: Duration, what: &'static str) -> Self {
        Self {
            end: Instant::now() + budget,
            budget,
            what,
        }
    }

    /// The deadline `end`, reported as a budget of `budget` for `what`.
    pub fn at(end: Instant, budget: Duration, what: &'static str) -> Self {
        Self { end, budget, what }
    }

    /// The instant.
    pub fn end(&self) -> Instant {
        self.end
    }

    /// The budget it was made with.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// What it bounds.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The time left (zero when passed).
    pub fn left(&self) -> Duration {
        self.end.saturating_duration_since(Instant::now())
    }

    /// Whether it has passed.
    pub fn expired(&self) -> bool {
        self.left().is_zero()
    }

    /// The earlier of the two (e.g. a message's budget inside a run's).
    pub fn earlier(self, other: OpDeadline) -> OpDeadline {
        if other.end < self.end {
            other
        } else {
            self
        }
    }

    /// The error for this deadline having passed.
    pub fn exceeded(&self) -> DeadlineExceeded {
        DeadlineExceeded {
            what: self.what,
            budget: self.budget,
        }
    }

    /// `Err` (a [`DeadlineExceeded`] inside a `TimedOut` I/O error) when it has passed.
    pub fn check(&self) -> io::Result<()> {
        if self.expired() {
            Err(self.exceeded().into())
        } else {
            Ok(())
        }
    }
}

/// An operation took longer than its budget. Travels inside an [`io::Error`] of kind
/// [`io::ErrorKind::TimedOut`]; find it with [`deadline_exceeded`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeadlineExceeded {
    /// What was bounded ("the check").
    pub what: &'static str,
    /// Its budget.
    pub budget: Duration,
}

impl DeadlineExceeded {
    /// The [`ErrorCategory::Timeout`] error for a stage: "timed out while {doing}: the check
    /// took longer than its 30 s budget".
    pub fn error(&self, doing: &str) -> ConnectionError {
        ConnectionError::new(
            ErrorCategory::Timeout,
            format!("timed out while {doing}: {self}"),
        )
    }
}

impl fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} took longer than its {} budget",
            self.what,
            human(self.budget)
        )
    }
}

impl std::error::Error for DeadlineExceeded {}

impl From<DeadlineExceeded> for io::Error {
    fn from(d: DeadlineExceeded) -> Self {
        io::Error::new(io::ErrorKind::TimedOut, d)
    }
}

/// The [`DeadlineExceeded`] inside an I/O error, if that is what it is.
pub fn deadline_exceeded(e: &io::Error) -> Option<DeadlineExceeded> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<DeadlineExceeded>())
        .copied()
}

/// `30 s`, `1.5 s`, `250 ms`.
pub(crate) fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else if d >= Duration::from_secs(1) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}

const UNARMED: u64 = u64::MAX;

fn nanos(d: Option<Duration>) -> u64 {
    // 0 stands for "no timeout"; a real bound is at least 1 ms (see `nonzero`).
    d.map_or(0, |d| {
        u64::try_from(d.as_nanos()).unwrap_or(UNARMED - 1).max(1)
    })
}

fn duration(n: u64) -> Option<Duration> {
    (n != 0).then(|| Duration::from_nanos(n))
}

/// Arms a socket's read and write timeouts against an optional deadline. Lives beside the
/// socket (in the plain stream, or in the TLS transport, so that every socket read OpenSSL
/// makes is bounded too). The per-read and per-write bounds are atomics so that
/// [`MailStream::set_read_timeout`](super::MailStream::set_read_timeout) keeps working through a
/// shared reference.
#[derive(Debug)]
pub(crate) struct Clock {
    deadline: Option<OpDeadline>,
    per_read: AtomicU64,
    per_write: AtomicU64,
    armed_read: AtomicU64,
    armed_write: AtomicU64,
    read_by_deadline: AtomicBool,
    write_by_deadline: AtomicBool,
}

impl Clock {
    /// A clock for a socket whose timeouts are set as `tcp` has them now.
    pub(crate) fn for_socket(tcp: &TcpStream) -> Self {
        let r = tcp.read_timeout().ok().flatten();
        let w = tcp.write_timeout().ok().flatten();
        Self {
            deadline: None,
            per_read: AtomicU64::new(nanos(r)),
            per_write: AtomicU64::new(nanos(w)),
            armed_read: AtomicU64::new(nanos(r)),
            armed_write: AtomicU64::new(nanos(w)),
            read_by_deadline: AtomicBool::new(false),
            write_by_deadline: AtomicBool::new(false),
        }
    }

    pub(crate) fn deadline(&self) -> Option<OpDeadline> {
        self.deadline
    }

    pub(crate) fn set_deadline(&mut self, d: Option<OpDeadline>) {
        self.deadline = d;
        self.armed_read.store(UNARMED, Ordering::Relaxed);
        self.armed_write.store(UNARMED, Ordering::Relaxed);
    }

    /// A new per-read bound, set on the socket at once.
    pub(crate) fn set_read_timeout(&self, tcp: &TcpStream, t: Option<Duration>) -> io::Result<()> {
        self.per_read.store(nanos(t), Ordering::Relaxed);
        self.armed_read.store(UNARMED, Ordering::Relaxed);
        self.before_read(tcp)
            .or_else(|e| match deadline_exceeded(&e) {
                // The deadline has passed: the next read says so.
                Some(_) => Ok(()),
                None => Err(e),
            })
    }

    /// A new per-write bound, set on the socket at once.
    pub(crate) fn set_write_timeout(&self, tcp: &TcpStream, t: Option<Duration>) -> io::Result<()> {
        self.per_write.store(nanos(t), Ordering::Relaxed);
        self.armed_write.store(UNARMED, Ordering::Relaxed);
        self.before_write(tcp)
            .or_else(|e| match deadline_exceeded(&e) {
                Some(_) => Ok(()),
                None => Err(e),
            })
    }

    pub(crate) fn before_read(&self, tcp: &TcpStream) -> io::Result<()> {
        self.arm(
            &self.per_read,
            &self.armed_read,
            &self.read_by_deadline,
            |t| tcp.set_read_timeout(t),
        )
    }

    pub(crate) fn before_write(&self, tcp: &TcpStream) -> io::Result<()> {
        self.arm(
            &self.per_write,
            &self.armed_write,
            &self.write_by_deadline,
            |t| tcp.set_write_timeout(t),
        )
    }

    fn arm(
        &self,
        per: &AtomicU64,
        armed: &AtomicU64,
        by_deadline: &AtomicBool,
        set: impl FnOnce(Option<Duration>) -> io::Result<()>,
    ) -> io::Result<()> {
        let per_d = duration(per.load(Ordering::Relaxed));
        let current = armed.load(Ordering::Relaxed);
        let Some(d) = self.deadline else {
            if current != per.load(Ordering::Relaxed) {
                set(per_d.map(super::nonzero))?;
                armed.store(nanos(per_d), Ordering::Relaxed);
                by_deadline.store(false, Ordering::Relaxed);
            }
            return Ok(());
        };
        let left = d.left();
        if left.is_zero() {
            return Err(d.exceeded().into());
        }
        // UNARMED is larger than any deadline, and 0 (no timeout) is armed at once.
        let overshoots = duration(current).is_none_or(|a| a > left + SLACK);
        if overshoots {
            let (want, limited) = match per_d {
                Some(p) if p <= left => (p, false),
                _ => (left, true),
            };
            let want = super::nonzero(want);
            set(Some(want))?;
            armed.store(nanos(Some(want)), Ordering::Relaxed);
            by_deadline.store(limited, Ordering::Relaxed);
        }
        Ok(())
    }

    /// A read error, turned into a [`DeadlineExceeded`] when it is a socket timeout that the
    /// deadline (not the per-read bound) armed.
    pub(crate) fn read_error(&self, e: io::Error) -> io::Error {
        self.classify(e, &self.read_by_deadline)
    }

    /// As [`read_error`](Self::read_error), for writes.
    pub(crate) fn write_error(&self, e: io::Error) -> io::Error {
        self.classify(e, &self.write_by_deadline)
    }

    fn classify(&self, e: io::Error, by_deadline: &AtomicBool) -> io::Error {
        match self.deadline {
            Some(d)
                if deadline_exceeded(&e).is_none()
                    && super::is_timeout_error(&e)
                    && (by_deadline.load(Ordering::Relaxed) || d.left() <= SLACK) =>
            {
                d.exceeded().into()
            }
            _ => e,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn budgets_read_as_people_write_them() {
        assert_eq!(human(Duration::from_secs(30)), "30 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
        let d = OpDeadline::after(Duration::from_secs(30), "the check");
        let e = d.exceeded().error("reading the greeting");
        assert_eq!(e.category(), ErrorCategory::Timeout);
        assert!(
            e.to_string().contains(
                "timed out while reading the greeting: the check took longer than its 30 s budget"
            ),
            "{e}"
        );
    }

    #[test]
    fn the_exceeded_deadline_survives_an_io_error() {
        let d = OpDeadline::after(Duration::ZERO, "the send");
        let e = d.check().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(deadline_exceeded(&e).map(|x| x.what), Some("the send"));
        assert!(deadline_exceeded(&io::Error::from(io::ErrorKind::TimedOut)).is_none());
    }

    /// A server that sends one short line every 100 ms, for ever (per-read timeouts never
    /// fire).
    fn dripping_server() -> TcpStream {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            while std::io::Write::write_all(&mut s, b"* OK still here\r\n").is_ok() {
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        tcp.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        tcp
    }

    #[test]
    fn a_dripping_server_is_stopped_by_the_deadline() {
        let mut stream = super::super::MailStream::plain(dripping_server());
        stream.set_deadline(Some(OpDeadline::after(
            Duration::from_millis(600),
            "the check",
        )));
        let mut r = super::super::BoundedReader::new(stream);
        let started = Instant::now();
        let mut lines = 0;
        let e = loop {
            match r.read_line(100) {
                Ok(_) => lines += 1,
                Err(e) => break e,
            }
        };
        let took = started.elapsed();
        assert!(lines >= 3, "{lines} lines");
        assert!(matches!(e, super::super::ReadError::Deadline(_)), "{e:?}");
        assert!(took < Duration::from_millis(1500), "{took:?}");
        let c = e.into_connection_error("reading the greeting", Duration::from_secs(5));
        assert_eq!(c.category(), ErrorCategory::Timeout);
        assert!(
            c.to_string()
                .contains("the check took longer than its 600 ms budget"),
            "{c}"
        );
    }

    #[test]
    fn a_silent_server_times_out_at_the_deadline_not_the_per_read_bound() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let keep = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            std::thread::sleep(Duration::from_secs(3));
            drop(s);
        });
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut stream = super::super::MailStream::plain(tcp);
        stream.set_deadline(Some(OpDeadline::after(
            Duration::from_millis(300),
            "the send",
        )));
        let started = Instant::now();
        let mut buf = [0u8; 16];
        let e = io::Read::read(&mut stream, &mut buf).unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(deadline_exceeded(&e).map(|d| d.what), Some("the send"));
        // Without the deadline the per-read bound is back.
        stream.set_deadline(None);
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let e = io::Read::read(&mut stream, &mut buf).unwrap_err();
        assert!(super::super::is_timeout_error(&e));
        assert!(deadline_exceeded(&e).is_none());
        drop(stream);
        keep.join().unwrap();
    }

    #[test]
    fn the_earlier_deadline_wins() {
        let a = OpDeadline::after(Duration::from_secs(10), "the collector run");
        let b = OpDeadline::after(Duration::from_secs(1), "this message");
        assert_eq!(a.earlier(b).what(), "this message");
        assert_eq!(b.earlier(a).what(), "this message");
    }
}
