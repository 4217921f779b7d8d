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
pub fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else if d >= Duration::from_secs(1) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
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

    #[test]
    fn the_earlier_deadline_wins() {
        let a = OpDeadline::after(Duration::from_secs(10), "the collector run");
        let b = OpDeadline::after(Duration::from_secs(1), "this message");
        assert_eq!(a.earlier(b).what(), "this message");
        assert_eq!(b.earlier(a).what(), "this message");
    }
}
