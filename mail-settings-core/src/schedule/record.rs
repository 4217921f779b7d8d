//! The `report_schedules` record (SPEC.md "Report schedules"): the form as a person typed it,
//! its vocabulary, and the typed schedule that only exists by validating a form.

use crate::model::RecordId;
use crate::report::{IncomingReportFilter, Lang, SmtpReportFilter, Status};
use crate::validate::Validation;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which report a schedule sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ScheduledReport {
    /// The IMAP/POP3 account report.
    #[serde(rename = "INCOMING_ACCOUNTS")]
    IncomingAccounts,
    /// The SMTP account report.
    #[serde(rename = "SMTP_ACCOUNTS")]
    SmtpAccounts,
    /// The collection journal. Accepted by validation; sending it fails with a "not built
    /// yet" error until the journal exists.
    #[serde(rename = "COLLECTION_JOURNAL")]
    CollectionJournal,
}

impl ScheduledReport {
    /// The SPEC.md word.
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduledReport::IncomingAccounts => "INCOMING_ACCOUNTS",
            ScheduledReport::SmtpAccounts => "SMTP_ACCOUNTS",
            ScheduledReport::CollectionJournal => "COLLECTION_JOURNAL",
        }
    }

    /// Reads the SPEC.md word.
    pub fn parse(s: &str) -> Option<Self> {
        [
            ScheduledReport::IncomingAccounts,
            ScheduledReport::SmtpAccounts,
            ScheduledReport::CollectionJournal,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

impl fmt::Display for ScheduledReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The attachment's format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ScheduleFormat {
    /// RFC 4180 CSV, as `report --format csv` writes it.
    #[default]
    #[serde(rename = "CSV")]
    Csv,
    /// The printable HTML page, as `report --format html` writes it.
    #[serde(rename = "HTML")]
    Html,
}

impl ScheduleFormat {
    /// `CSV` or `HTML`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleFormat::Csv => "CSV",
            ScheduleFormat::Html => "HTML",
        }
    }

    /// Reads `CSV` or `HTML`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "CSV" => Some(ScheduleFormat::Csv),
            "HTML" => Some(ScheduleFormat::Html),
            _ => None,
        }
    }
}

/// How often a schedule sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Frequency {
    /// Every day at `time_of_day`.
    #[serde(rename = "DAILY")]
    Daily,
    /// Every `weekday` at `time_of_day`.
    #[serde(rename = "WEEKLY")]
    Weekly,
    /// Every month on `day_of_month` at `time_of_day`.
    #[serde(rename = "MONTHLY")]
    Monthly,
}

impl Frequency {
    /// The SPEC.md word.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
            Frequency::Monthly => "MONTHLY",
        }
    }

    /// Reads the SPEC.md word.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "DAILY" => Some(Frequency::Daily),
            "WEEKLY" => Some(Frequency::Weekly),
            "MONTHLY" => Some(Frequency::Monthly),
            _ => None,
        }
    }
}

/// A day of the week.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum Weekday {
    #[default]
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    /// Every day, Monday first.
    pub const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    /// `MONDAY` … `SUNDAY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Weekday::Monday => "MONDAY",
            Weekday::Tuesday => "TUESDAY",
            Weekday::Wednesday => "WEDNESDAY",
            Weekday::Thursday => "THURSDAY",
            Weekday::Friday => "FRIDAY",
            Weekday::Saturday => "SATURDAY",
            Weekday::Sunday => "SUNDAY",
        }
    }

    /// Reads `MONDAY` … `SUNDAY`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    pub(crate) fn to_jiff(self) -> jiff::civil::Weekday {
        use jiff::civil::Weekday as J;
        match self {
            Weekday::Monday => J::Monday,
            Weekday::Tuesday => J::Tuesday,
            Weekday::Wednesday => J::Wednesday,
            Weekday::Thursday => J::Thursday,
            Weekday::Friday => J::Friday,
            Weekday::Saturday => J::Saturday,
            Weekday::Sunday => J::Sunday,
        }
    }
}

/// A schedule's filters: the fields of the scheduled report's own filters
/// ([`IncomingReportFilter`], [`SmtpReportFilter`]; the journal's `account` and `outcome`).
/// Fields the scheduled report does not have are ignored, as `weekday` is for a daily schedule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFilters {
    /// The name contains this text (both account reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_contains: Option<String>,
    /// Uses a secure connection (both account reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_connection: Option<bool>,
    /// Enabled or disabled (both account reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Automatic check is on (incoming report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic_check: Option<bool>,
    /// Keeps a copy on the server (incoming report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_copy: Option<bool>,
    /// Uses authentication (SMTP report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<bool>,
    /// Is the default account (SMTP report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_account: Option<bool>,
    /// One account, by name or id (journal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// One outcome (journal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Authentication method, `PASSWORD` or `OAUTH2` (both account reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<crate::model::AuthenticationMethod>,
}

impl ScheduleFilters {
    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// The incoming report's filters among these.
    pub fn incoming(&self) -> IncomingReportFilter {
        IncomingReportFilter {
            name_contains: self.name_contains.clone(),
            secure_connection: self.secure_connection,
            automatic_check: self.automatic_check,
            keep_copy: self.keep_copy,
            status: self.status,
            auth_method: self.auth_method,
        }
    }

    /// The SMTP report's filters among these.
    pub fn smtp(&self) -> SmtpReportFilter {
        SmtpReportFilter {
            name_contains: self.name_contains.clone(),
            secure_connection: self.secure_connection,
            status: self.status,
            authentication: self.authentication,
            default_account: self.default_account,
            auth_method: self.auth_method,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_time_of_day() -> String {
    DEFAULT_TIME_OF_DAY.to_owned()
}
fn default_day_of_month() -> i64 {
    1
}
fn default_time_zone() -> String {
    DEFAULT_TIME_ZONE.to_owned()
}
fn is_default_lang(l: &Lang) -> bool {
    *l == Lang::En
}

/// Default `time_of_day`.
pub const DEFAULT_TIME_OF_DAY: &str = "08:00";
/// Default `time_zone`.
pub const DEFAULT_TIME_ZONE: &str = "UTC";
/// Most recipients a schedule may have.
pub const MAX_RECIPIENTS: usize = 50;
/// Range of `day_of_month` (every month has these days).
pub const DAY_OF_MONTH_RANGE: std::ops::RangeInclusive<i64> = 1..=28;

/// A report schedule as typed: SPEC.md "Report schedules".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportScheduleForm {
    /// Given by the store; read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RecordId>,
    /// Name: required, 1–100 characters, unique among schedules.
    #[serde(default)]
    pub name: String,
    /// Enabled (default `true`); a disabled schedule sends nothing, not even when due.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The report (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ScheduledReport>,
    /// The report's own filters (default none).
    #[serde(default, skip_serializing_if = "ScheduleFilters::is_empty")]
    pub filters: ScheduleFilters,
    /// `CSV` (default) or `HTML`: the attachment.
    #[serde(default)]
    pub format: ScheduleFormat,
    /// `en` (default) or `pt-BR`: the report, the subject and the summary.
    #[serde(default, skip_serializing_if = "is_default_lang")]
    pub language: Lang,
    /// 1–50 addresses, each an addr-spec.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// The SMTP account's id; `None` sends through the default account (resolved at send time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_account: Option<RecordId>,
    /// `DAILY`, `WEEKLY` or `MONTHLY` (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<Frequency>,
    /// `HH:MM`, 00:00–23:59 (default `08:00`), in `time_zone`.
    #[serde(default = "default_time_of_day")]
    pub time_of_day: String,
    /// Used by `WEEKLY` only (default `MONDAY`).
    #[serde(default)]
    pub weekday: Weekday,
    /// Used by `MONTHLY` only, 1–28 (default 1).
    #[serde(default = "default_day_of_month")]
    pub day_of_month: i64,
    /// An IANA time zone name (default `UTC`).
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
}

impl Default for ReportScheduleForm {
    fn default() -> Self {
        Self {
            id: None,
            name: String::new(),
            enabled: true,
            report: None,
            filters: ScheduleFilters::default(),
            format: ScheduleFormat::Csv,
            language: Lang::En,
            recipients: Vec::new(),
            smtp_account: None,
            frequency: None,
            time_of_day: default_time_of_day(),
            weekday: Weekday::Monday,
            day_of_month: 1,
            time_zone: default_time_zone(),
        }
    }
}

/// `HH:MM` (two digits each, 00:00–23:59) as hour and minute.
pub fn parse_time_of_day(s: &str) -> Option<(i8, i8)> {
    let b = s.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
    {
        return None;
    }
    let h = i8::try_from((b[0] - b'0') * 10 + (b[1] - b'0')).ok()?;
    let m = i8::try_from((b[3] - b'0') * 10 + (b[4] - b'0')).ok()?;
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h, m))
}

/// A validated schedule: the only thing the runner takes.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportSchedule {
    pub(crate) form: ReportScheduleForm,
    pub(crate) report: ScheduledReport,
    pub(crate) frequency: Frequency,
    pub(crate) hour: i8,
    pub(crate) minute: i8,
    pub(crate) day_of_month: i8,
    pub(crate) time_zone: jiff::tz::TimeZone,
}

impl ReportSchedule {
    /// Validates `form` (single-record rules, and the SMTP account when `smtp_accounts` is
    /// given) into a schedule; every error at once otherwise.
    pub fn from_form(
        form: &ReportScheduleForm,
        smtp_accounts: Option<&[crate::model::SmtpAccountForm]>,
    ) -> Result<Self, Validation> {
        let v = super::validate_schedule(form, "", smtp_accounts);
        if v.has_errors() {
            return Err(v);
        }
        let (hour, minute) = parse_time_of_day(&form.time_of_day).ok_or_else(|| v.clone())?;
        let time_zone = jiff::tz::TimeZone::get(form.time_zone.trim()).map_err(|_| v.clone())?;
        Ok(Self {
            form: form.clone(),
            report: form.report.ok_or_else(|| v.clone())?,
            frequency: form.frequency.ok_or_else(|| v.clone())?,
            hour,
            minute,
            day_of_month: i8::try_from(form.day_of_month).map_err(|_| v.clone())?,
            time_zone,
        })
    }

    /// The form it came from.
    pub fn form(&self) -> &ReportScheduleForm {
        &self.form
    }
    /// The store's id, when it has one.
    pub fn id(&self) -> Option<RecordId> {
        self.form.id
    }
    /// The name, trimmed.
    pub fn name(&self) -> &str {
        self.form.name.trim()
    }
    /// The report.
    pub fn report(&self) -> ScheduledReport {
        self.report
    }
    /// The frequency.
    pub fn frequency(&self) -> Frequency {
        self.frequency
    }
    /// Hour and minute of `time_of_day`.
    pub fn time_of_day(&self) -> (i8, i8) {
        (self.hour, self.minute)
    }
    /// The time zone.
    pub fn time_zone(&self) -> &jiff::tz::TimeZone {
        &self.time_zone
    }
}

/// What became of a claimed period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PeriodStatus {
    /// A run claimed it and has not recorded a result (it is sending, or it died).
    Claimed,
    /// The SMTP server accepted the report.
    Sent,
    /// The send failed; a later run tries again.
    Failed,
}

/// One claimed period of a schedule, as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodRecord {
    /// The schedule.
    pub schedule_id: RecordId,
    /// The period's key: the local date it falls on.
    pub period: String,
    /// Its state.
    pub status: PeriodStatus,
    /// How many runs claimed it.
    pub attempts: i64,
    /// When it was last claimed (Unix seconds).
    pub claimed_at: i64,
    /// When the last run finished (Unix seconds).
    pub finished_at: Option<i64>,
    /// Why the last send failed.
    pub error: Option<String>,
    /// The `Message-ID` of the report sent.
    pub message_id: Option<String>,
}
