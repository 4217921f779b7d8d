//! Report schedules ("Schedule report", seeds 002 and 003; SPEC.md "Report schedules"): a
//! report sent by e-mail, as an attachment, every day, week or month.
//!
//! - [`ReportScheduleForm`] is the record as typed (settings documents, the store, the
//!   bindings); [`validate_schedule`] gives SPEC.md's codes; [`ReportSchedule`] exists only by
//!   validating a form.
//! - The period (module `period`): when a schedule is due. `time_of_day` is read in
//!   `time_zone` with the IANA database bundled in `jiff` (the same rules on every
//!   platform). A time that does not exist on a daylight-saving day (clocks jump from 00:00 to
//!   01:00 in São Paulo's old rules, from 02:00 to 03:00 in Berlin) runs at the next valid
//!   minute (01:00, 03:00); a time that happens twice runs once, at its first occurrence.
//!   Time comes from a [`Clock`]; nothing sleeps.
//! - [`ScheduleRunner`]: sends what is due, once per period.
//!
//! ## Once per period
//! A period is one occurrence: the local date the schedule falls on (`2026-03-29` for a
//! daily one). Before sending, a run *claims* the period in the store: one row per schedule
//! and period under a primary key, written in a `BEGIN IMMEDIATE` transaction, so of two
//! runners (threads, processes, collectors on one file) exactly one gets it. After the SMTP
//! server answered, the run records the result (`sent`, or `failed` with the error) in the
//! same row. Hence:
//! - a restart does not resend: the period's row says `sent`;
//! - only the latest period that has begun is ever looked at, so periods missed while nothing
//!   ran (the host was off for three days) give one send when something runs again, and that
//!   send counts as the latest period's;
//! - a `failed` period is tried again by a later run, at most every [`RETRY_AFTER`];
//! - `run_now` sends at once and claims nothing: the period's send still happens.
//!
//! **The one window for a duplicate**: a process that dies (killed, power cut) after the SMTP
//! server accepted the message and before the `sent` record committed leaves the period
//! `claimed`. Such a claim is taken over after [`CLAIM_LEASE`] (longer than any send can
//! last, since every network step is bounded by [`crate::net::Timeouts`]), and that run sends
//! the report a second time. The other order (recording before sending) would lose the report
//! instead; a report sent twice is the lesser harm.
//!
//! A schedule created after its time of day has passed in the current period sends that
//! period's report at the next run.
//!
//! ## Sending
//! The report is built as `mail-settings report … --format csv|html` builds it (CSV without a
//! byte-order mark), attached, with a short summary in the body (the report, the filters, the
//! number of rows, when it was made), all in the schedule's language, and sent to the
//! recipients through the schedule's SMTP account, or the default account when none is named,
//! with [`crate::smtp::send`] (the account's rules apply: sender, footer, read receipt…).
//! `COLLECTION_JOURNAL` sends the collection journal ([`crate::journal`]) filtered by the
//! schedule's `account` (name or id) and `outcome` filters, over the period's range: the
//! entries last seen since the previous period was due, up to the time of sending
//! ([`journal_filters`]). A daily schedule's report thus holds a day of the journal, a weekly
//! one a week; a period missed while nothing ran is covered by the next send only back to the
//! period before it.

mod period;
mod record;
#[cfg(all(feature = "collector", feature = "smtp"))]
mod runner;

pub use period::{Clock, ManualClock, Period, SystemClock};
pub use record::{
    parse_time_of_day, Frequency, PeriodRecord, PeriodStatus, ReportSchedule, ReportScheduleForm,
    ScheduleFilters, ScheduleFormat, ScheduledReport, Weekday, DAY_OF_MONTH_RANGE,
    DEFAULT_TIME_OF_DAY, DEFAULT_TIME_ZONE, MAX_RECIPIENTS,
};
#[cfg(all(feature = "collector", feature = "smtp"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "collector", feature = "smtp"))))]
pub use runner::{
    build_report, journal_filters, BuiltReport, ReportSender, RunOutcome, RunResult,
    ScheduleRunner, SmtpReportSender, CHECK_EVERY, CLAIM_LEASE, RETRY_AFTER,
};

use crate::model::{SmtpAccountForm, EMAIL_MAX_CHARS, NAME_MAX_CHARS};
use crate::validate::{is_addr_spec, Code, Detail, Field, Validation};

fn path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Validates one schedule. `prefix` is prepended to every path (`report_schedules[0]`).
/// With `smtp_accounts`, a named SMTP account must be among them and enabled
/// (`unknown_smtp_account`, `smtp_account_disabled`); with none named, the default account is
/// resolved when the report is sent.
pub fn validate_schedule(
    form: &ReportScheduleForm,
    prefix: &str,
    smtp_accounts: Option<&[SmtpAccountForm]>,
) -> Validation {
    let mut out = Validation::new();
    let mut push = |key: String, code: Code, field: Field, detail: Detail<'_>| {
        out.push(path(prefix, &key), code, field, detail);
    };
    let name = form.name.trim();
    if name.is_empty() {
        push(
            "name".into(),
            Code::Required,
            Field::ScheduleName,
            Detail::None,
        );
    } else if name.chars().count() > NAME_MAX_CHARS {
        push(
            "name".into(),
            Code::TooLong,
            Field::ScheduleName,
            Detail::Limit(NAME_MAX_CHARS),
        );
    }
    if form.report.is_none() {
        push("report".into(), Code::Required, Field::Report, Detail::None);
    }
    if form.recipients.is_empty() {
        push(
            "recipients".into(),
            Code::Required,
            Field::Recipients,
            Detail::None,
        );
    } else if form.recipients.len() > MAX_RECIPIENTS {
        push(
            "recipients".into(),
            Code::OutOfRange,
            Field::Recipients,
            Detail::Range(1, MAX_RECIPIENTS as i64),
        );
    }
    for (i, r) in form.recipients.iter().enumerate() {
        let r = r.trim();
        let key = format!("recipients[{i}]");
        if r.chars().count() > EMAIL_MAX_CHARS {
            push(
                key,
                Code::TooLong,
                Field::Recipients,
                Detail::Limit(EMAIL_MAX_CHARS),
            );
        } else if !is_addr_spec(r) {
            push(key, Code::InvalidEmail, Field::Recipients, Detail::None);
        }
    }
    if let (Some(id), Some(accounts)) = (form.smtp_account, smtp_accounts) {
        let text = id.to_string();
        match accounts.iter().find(|a| a.id == Some(id)) {
            None => push(
                "smtp_account".into(),
                Code::UnknownSmtpAccount,
                Field::SmtpAccount,
                Detail::Id(&text),
            ),
            Some(a) if !a.enabled => push(
                "smtp_account".into(),
                Code::SmtpAccountDisabled,
                Field::SmtpAccount,
                Detail::Id(&text),
            ),
            Some(_) => {}
        }
    }
    if form.frequency.is_none() {
        push(
            "frequency".into(),
            Code::Required,
            Field::Frequency,
            Detail::None,
        );
    }
    if parse_time_of_day(&form.time_of_day).is_none() {
        push(
            "time_of_day".into(),
            Code::InvalidTime,
            Field::TimeOfDay,
            Detail::None,
        );
    }
    if !DAY_OF_MONTH_RANGE.contains(&form.day_of_month) {
        push(
            "day_of_month".into(),
            Code::OutOfRange,
            Field::DayOfMonth,
            Detail::Range(*DAY_OF_MONTH_RANGE.start(), *DAY_OF_MONTH_RANGE.end()),
        );
    }
    let tz = form.time_zone.trim();
    if tz.is_empty() {
        push(
            "time_zone".into(),
            Code::Required,
            Field::TimeZone,
            Detail::None,
        );
    } else if jiff::tz::TimeZone::get(tz).is_err() {
        push(
            "time_zone".into(),
            Code::InvalidTimeZone,
            Field::TimeZone,
            Detail::None,
        );
    }
    out
}

/// The id of a schedule, for messages.
#[cfg(feature = "store")]
pub(crate) fn describe(id: crate::model::RecordId, name: &str) -> String {
    format!("report schedule {id} \"{}\"", name.trim())
}
