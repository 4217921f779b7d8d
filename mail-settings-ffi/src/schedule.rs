//! Report schedules (SPEC.md "Report schedules") for Kotlin and Swift: the record, its
//! validation, the store's create/read/update/delete (on `Store`), and `ReportScheduler`, which
//! sends what is due once per period (`runDue`) or one report at once (`runNow`).

use crate::blocking::run_blocking;
use crate::credentials::{CredentialProvider, HostCredentials};
use crate::error::{MailSettingsError, Result};
use crate::mailer::{timeouts, NetworkTimeouts};
use crate::model::{convert_all, SmtpAccountForm, ValidationResult};
use crate::store::{ReportLanguage, StatusFilter, Store};
use mail_settings_core as mscore;
use mscore::report;
use mscore::schedule as core;
use std::sync::Arc;

/// Which report a schedule sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ScheduledReport {
    /// The IMAP/POP3 account report.
    IncomingAccounts,
    /// The SMTP account report.
    SmtpAccounts,
    /// The collection journal (filters: account, outcome; the period's range).
    CollectionJournal,
}

/// The attachment's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ScheduleFormat {
    /// CSV.
    Csv,
    /// Printable HTML.
    Html,
}

/// How often a schedule sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ScheduleFrequency {
    /// Every day.
    Daily,
    /// Every `weekday`.
    Weekly,
    /// Every month on `day_of_month`.
    Monthly,
}

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
#[allow(missing_docs)]
pub enum ScheduleWeekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// A schedule's filters: those of the scheduled report (fields it does not have are ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct ScheduleFilters {
    /// The name contains this text.
    #[uniffi(default = None)]
    pub name_contains: Option<String>,
    /// Secure connection.
    #[uniffi(default = None)]
    pub secure_connection: Option<bool>,
    /// Enabled or disabled accounts.
    #[uniffi(default = None)]
    pub status: Option<StatusFilter>,
    /// Automatic check (incoming).
    #[uniffi(default = None)]
    pub automatic_check: Option<bool>,
    /// Keep copy in server (incoming).
    #[uniffi(default = None)]
    pub keep_copy: Option<bool>,
    /// Authentication (SMTP).
    #[uniffi(default = None)]
    pub authentication: Option<bool>,
    /// Default account (SMTP).
    #[uniffi(default = None)]
    pub default_account: Option<bool>,
}

/// A report schedule as typed (SPEC.md "Report schedules"), with SPEC.md's defaults.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ReportSchedule {
    /// Given by the store.
    #[uniffi(default = None)]
    pub id: Option<i64>,
    /// Name (required, unique).
    pub name: String,
    /// Enabled.
    #[uniffi(default = true)]
    pub enabled: bool,
    /// The report (required).
    pub report: Option<ScheduledReport>,
    /// The report's filters.
    #[uniffi(default = None)]
    pub filters: Option<ScheduleFilters>,
    /// CSV (default) or HTML.
    #[uniffi(default = None)]
    pub format: Option<ScheduleFormat>,
    /// English (default) or Brazilian Portuguese.
    #[uniffi(default = None)]
    pub language: Option<ReportLanguage>,
    /// 1–50 addresses.
    pub recipients: Vec<String>,
    /// The SMTP account's id; empty: the default account.
    #[uniffi(default = None)]
    pub smtp_account: Option<i64>,
    /// Daily, weekly or monthly (required).
    pub frequency: Option<ScheduleFrequency>,
    /// `HH:MM`.
    #[uniffi(default = "08:00")]
    pub time_of_day: String,
    /// Weekly only.
    #[uniffi(default = None)]
    pub weekday: Option<ScheduleWeekday>,
    /// Monthly only, 1–28.
    #[uniffi(default = 1)]
    pub day_of_month: i64,
    /// An IANA time zone.
    #[uniffi(default = "UTC")]
    pub time_zone: String,
}

/// A schedule as stored.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct StoredReportSchedule {
    /// The id.
    pub id: i64,
    /// The version, for updates and deletes.
    pub version: i64,
    /// The schedule, with `id` set.
    pub schedule: ReportSchedule,
}

/// What one schedule's run did.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ScheduleRunOutcome {
    /// The schedule.
    pub schedule_id: i64,
    /// Its name.
    pub name: String,
    /// The period sent (`YYYY-MM-DD`); empty for `runNow`.
    pub period: Option<String>,
    /// Whether the report went out.
    pub sent: bool,
    /// Rows in the report, when sent.
    pub rows: Option<u64>,
    /// The `Message-ID`, when sent.
    pub message_id: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

macro_rules! both_ways {
    ($ours:ident <=> $theirs:path { $($a:ident <=> $b:ident),* $(,)? }) => {
        impl From<$ours> for $theirs {
            fn from(v: $ours) -> Self {
                match v { $($ours::$a => <$theirs>::$b),* }
            }
        }
        impl TryFrom<$theirs> for $ours {
            type Error = MailSettingsError;
            fn try_from(v: $theirs) -> Result<Self> {
                #[allow(unreachable_patterns)]
                match v {
                    $(<$theirs>::$b => Ok($ours::$a),)*
                    other => Err(MailSettingsError::internal(format!("unknown word {other:?}"))),
                }
            }
        }
    };
}

both_ways!(ScheduledReport <=> core::ScheduledReport {
    IncomingAccounts <=> IncomingAccounts, SmtpAccounts <=> SmtpAccounts,
    CollectionJournal <=> CollectionJournal,
});
both_ways!(ScheduleFormat <=> core::ScheduleFormat { Csv <=> Csv, Html <=> Html });
both_ways!(ScheduleFrequency <=> core::Frequency { Daily <=> Daily, Weekly <=> Weekly, Monthly <=> Monthly });
both_ways!(ScheduleWeekday <=> core::Weekday {
    Monday <=> Monday, Tuesday <=> Tuesday, Wednesday <=> Wednesday, Thursday <=> Thursday,
    Friday <=> Friday, Saturday <=> Saturday, Sunday <=> Sunday,
});

impl From<ReportSchedule> for core::ReportScheduleForm {
    fn from(s: ReportSchedule) -> Self {
        let f = s.filters.unwrap_or_default();
        core::ReportScheduleForm {
            id: s.id,
            name: s.name,
            enabled: s.enabled,
            report: s.report.map(Into::into),
            filters: core::ScheduleFilters {
                name_contains: f.name_contains,
                secure_connection: f.secure_connection,
                status: f.status.map(|s| match s {
                    StatusFilter::Enabled => report::Status::Enabled,
                    StatusFilter::Disabled => report::Status::Disabled,
                }),
                automatic_check: f.automatic_check,
                keep_copy: f.keep_copy,
                authentication: f.authentication,
                default_account: f.default_account,
                ..core::ScheduleFilters::default()
            },
            format: s.format.map(Into::into).unwrap_or_default(),
            language: s.language.map(Into::into).unwrap_or_default(),
            recipients: s.recipients,
            smtp_account: s.smtp_account,
            frequency: s.frequency.map(Into::into),
            time_of_day: s.time_of_day,
            weekday: s.weekday.map(Into::into).unwrap_or_default(),
            day_of_month: s.day_of_month,
            time_zone: s.time_zone,
        }
    }
}

impl TryFrom<core::ReportScheduleForm> for ReportSchedule {
    type Error = MailSettingsError;
    fn try_from(s: core::ReportScheduleForm) -> Result<Self> {
        let f = &s.filters;
        let filters = (!f.is_empty()).then(|| ScheduleFilters {
            name_contains: f.name_contains.clone(),
            secure_connection: f.secure_connection,
            status: f.status.map(|s| match s {
                report::Status::Disabled => StatusFilter::Disabled,
                _ => StatusFilter::Enabled,
            }),
            automatic_check: f.automatic_check,
            keep_copy: f.keep_copy,
            authentication: f.authentication,
            default_account: f.default_account,
        });
        Ok(ReportSchedule {
            id: s.id,
            name: s.name,
            enabled: s.enabled,
            report: s.report.map(TryInto::try_into).transpose()?,
            filters,
            format: Some(s.format.try_into()?),
            language: Some(match s.language {
                report::Lang::PtBr => ReportLanguage::PtBr,
                _ => ReportLanguage::En,
            }),
            recipients: s.recipients,
            smtp_account: s.smtp_account,
            frequency: s.frequency.map(TryInto::try_into).transpose()?,
            time_of_day: s.time_of_day,
            weekday: Some(s.weekday.try_into()?),
            day_of_month: s.day_of_month,
            time_zone: s.time_zone,
        })
    }
}

fn stored(s: mscore::store::Stored<core::ReportScheduleForm>) -> Result<StoredReportSchedule> {
    Ok(StoredReportSchedule {
        id: s.id,
        version: s.version,
        schedule: s.record.try_into()?,
    })
}

fn outcome(o: core::RunOutcome) -> ScheduleRunOutcome {
    let (sent, rows, message_id, error) = match o.result {
        core::RunResult::Sent {
            rows, message_id, ..
        } => (true, Some(rows), message_id, None),
        core::RunResult::Failed { message, .. } => (false, None, None, Some(message)),
        _ => (false, None, None, Some("unknown result".to_owned())),
    };
    ScheduleRunOutcome {
        schedule_id: o.schedule_id,
        name: o.name,
        period: o.period,
        sent,
        rows,
        message_id,
        error,
    }
}

/// Validates one schedule alone; with `smtp_accounts`, a named SMTP account must be among them
/// and enabled.
#[uniffi::export(default(smtp_accounts = None))]
pub fn validate_report_schedule(
    schedule: ReportSchedule,
    smtp_accounts: Option<Vec<SmtpAccountForm>>,
) -> Vec<ValidationResult> {
    let accounts: Option<Vec<mscore::SmtpAccountForm>> =
        smtp_accounts.map(|v| v.into_iter().map(Into::into).collect());
    core::validate_schedule(&schedule.into(), "", accounts.as_deref())
        .into_results()
        .into_iter()
        .map(Into::into)
        .collect()
}

#[uniffi::export]
impl Store {
    /// Creates a report schedule. Throws `Validation` (codes such as `invalid_time`,
    /// `unknown_smtp_account`, `duplicate_name`).
    pub fn create_report_schedule(&self, schedule: ReportSchedule) -> Result<StoredReportSchedule> {
        stored(self.inner.create_schedule(&schedule.into())?)
    }

    /// Report schedule `id`.
    pub fn get_report_schedule(&self, id: i64) -> Result<StoredReportSchedule> {
        stored(self.inner.get_schedule(id)?)
    }

    /// The report schedule named `name` (case-insensitive).
    pub fn get_report_schedule_by_name(&self, name: String) -> Result<StoredReportSchedule> {
        stored(self.inner.get_schedule_by_name(&name)?)
    }

    /// Every report schedule, by id.
    pub fn list_report_schedules(&self) -> Result<Vec<StoredReportSchedule>> {
        self.inner
            .list_schedules()?
            .into_iter()
            .map(stored)
            .collect()
    }

    /// Replaces schedule `id` if it is still at `expected_version` (`Conflict` otherwise).
    pub fn update_report_schedule(
        &self,
        id: i64,
        expected_version: i64,
        schedule: ReportSchedule,
    ) -> Result<StoredReportSchedule> {
        stored(
            self.inner
                .update_schedule(id, expected_version, &schedule.into())?,
        )
    }

    /// Deletes schedule `id` if it is still at `expected_version`.
    pub fn delete_report_schedule(&self, id: i64, expected_version: i64) -> Result<()> {
        Ok(self.inner.delete_schedule(id, expected_version)?)
    }
}

/// Sends report schedules through the store's SMTP accounts.
#[derive(uniffi::Object)]
pub struct ReportScheduler {
    runner: Arc<core::ScheduleRunner>,
}

impl std::fmt::Debug for ReportScheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportScheduler").finish_non_exhaustive()
    }
}

#[uniffi::export]
impl ReportScheduler {
    /// A scheduler over `store`'s schedules, sending with `credentials`; `timeouts` bound every
    /// network step.
    #[uniffi::constructor(default(timeouts = None))]
    pub fn new(
        store: Arc<Store>,
        credentials: Arc<dyn CredentialProvider>,
        timeouts: Option<NetworkTimeouts>,
    ) -> Arc<Self> {
        let app = mail_settings_core::app::MailSettings::new(
            store.inner.clone(),
            HostCredentials::wrap(credentials),
            mail_settings_core::app::AppOptions::with_timeouts(self::timeouts(timeouts)),
        );
        Arc::new(Self {
            runner: Arc::new(app.schedule_runner()),
        })
    }

    /// Sends every report that is due, once per period (claimed in the store first): what a
    /// host runs beside its collector, or from a timer.
    pub async fn run_due(&self) -> Result<Vec<ScheduleRunOutcome>> {
        let runner = self.runner.clone();
        run_blocking("schedules-run-due", move || {
            Ok(runner.run_due()?.into_iter().map(outcome).collect())
        })
        .await
    }

    /// Sends schedule `id` at once; the period's own send still happens.
    pub async fn run_now(&self, id: i64) -> Result<ScheduleRunOutcome> {
        let runner = self.runner.clone();
        run_blocking("schedules-run-now", move || {
            Ok(outcome(runner.run_now(id)?))
        })
        .await
    }
}

/// The document's schedules, both ways.
pub(crate) fn to_core_all(v: Vec<ReportSchedule>) -> Vec<core::ReportScheduleForm> {
    v.into_iter().map(Into::into).collect()
}

/// The core's schedules for a document.
pub(crate) fn from_core_all(v: Vec<core::ReportScheduleForm>) -> Result<Vec<ReportSchedule>> {
    convert_all(v)
}
