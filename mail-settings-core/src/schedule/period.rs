//! When a schedule is due: its periods, in its time zone, from a [`Clock`].

use super::record::{Frequency, ReportSchedule};
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use std::fmt;
use std::sync::{Mutex, PoisonError};

/// Where the runner reads the time. Tests use a [`ManualClock`]; nothing in a schedule sleeps.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that says what it is told (tests, simulations).
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    /// A clock at `now`.
    pub fn new(now: Timestamp) -> Self {
        Self(Mutex::new(now))
    }

    /// Sets the time.
    pub fn set(&self, now: Timestamp) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// Moves the time by `by` (negative goes back).
    pub fn advance(&self, by: SignedDuration) {
        let mut t = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *t = t.saturating_add(by).unwrap_or(*t);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One occurrence of a schedule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Period {
    /// The local date the occurrence falls on, `YYYY-MM-DD`: the period's key in the store.
    pub key: String,
    /// The instant it is due.
    pub due_at: Timestamp,
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (due {})", self.key, self.due_at)
    }
}

/// How far the search for an occurrence looks (a monthly schedule has one within 31 days).
const SEARCH_DAYS: i32 = 400;
/// The longest a local time can be skipped (Samoa skipped a whole day in 2011).
const LONGEST_GAP_MINUTES: i64 = 48 * 60;

/// The instant local `dt` means in `tz`: the only one; the first of two (a time that happens
/// twice runs once, at its first occurrence); or, for a time that does not exist, the next
/// valid minute.
pub(crate) fn resolve_local(tz: &TimeZone, dt: DateTime) -> Option<Timestamp> {
    let exact = |dt: DateTime| match tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt).ok(),
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(dt).ok(),
        AmbiguousOffset::Gap { .. } => None,
    };
    if let Some(t) = exact(dt) {
        return Some(t);
    }
    (1..=LONGEST_GAP_MINUTES).find_map(|k| {
        dt.checked_add(SignedDuration::from_secs(60 * k))
            .ok()
            .and_then(exact)
    })
}

impl ReportSchedule {
    fn falls_on(&self, date: Date) -> bool {
        match self.frequency {
            Frequency::Daily => true,
            Frequency::Weekly => date.weekday() == self.form.weekday.to_jiff(),
            Frequency::Monthly => date.day() == self.day_of_month,
        }
    }

    /// The occurrence on local `date`, when the schedule falls on it.
    pub fn occurrence_on(&self, date: Date) -> Option<Period> {
        if !self.falls_on(date) {
            return None;
        }
        let dt = date.at(self.hour, self.minute, 0, 0);
        let due_at = resolve_local(&self.time_zone, dt)?;
        Some(Period {
            key: date.to_string(),
            due_at,
        })
    }

    /// The latest period that has begun at `now` (due at or before it): the one a run sends
    /// when it has not been sent. Periods before it are never sent on their own.
    pub fn current_period(&self, now: Timestamp) -> Option<Period> {
        let today = now.to_zoned(self.time_zone.clone()).date();
        let mut date = today.tomorrow().ok()?;
        for _ in 0..SEARCH_DAYS {
            if let Some(p) = self.occurrence_on(date) {
                if p.due_at <= now {
                    return Some(p);
                }
            }
            date = date.yesterday().ok()?;
        }
        None
    }

    /// The first period that begins after `now`.
    pub fn next_period(&self, now: Timestamp) -> Option<Period> {
        let today = now.to_zoned(self.time_zone.clone()).date();
        let mut date = today.yesterday().ok()?;
        for _ in 0..SEARCH_DAYS {
            if let Some(p) = self.occurrence_on(date) {
                if p.due_at > now {
                    return Some(p);
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }
}
