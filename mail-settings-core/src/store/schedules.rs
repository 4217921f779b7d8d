//! Report schedules in the store (SPEC.md "Report schedules"): the `report_schedules` table,
//! with create/read/update/delete under the same optimistic versions as accounts, and the
//! `report_schedule_periods` table, where a run claims a period before it sends and records
//! the result after (see [`crate::schedule`] for why, and for the one window for a duplicate).

use super::backend::{Sql, SqlExt, SqlRow, Value as SeamValue};
use super::records::Record;
use super::{get_row, Store, StoreError, Stored};
use crate::model::{RecordId, SmtpAccountForm};
use crate::report::Lang;
use crate::schedule::{
    validate_schedule, Frequency, PeriodRecord, PeriodStatus, ReportSchedule, ReportScheduleForm,
    ScheduleFilters, ScheduleFormat, ScheduledReport, Weekday,
};
use crate::validate::{Code, Detail, Field, Validation, ValidationContext};
use rusqlite::types::Value;

/// The migration that adds the two tables.
pub(crate) const DESCRIPTION: &str = "report schedules and their claimed periods";

/// Its SQL.
pub(crate) const SQL: &str = r#"
CREATE TABLE report_schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version INTEGER NOT NULL,
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    report TEXT NOT NULL CHECK (report IN ('INCOMING_ACCOUNTS', 'SMTP_ACCOUNTS', 'COLLECTION_JOURNAL')),
    filters TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('CSV', 'HTML')),
    language TEXT NOT NULL CHECK (language IN ('en', 'pt-BR')),
    recipients TEXT NOT NULL,
    smtp_account INTEGER REFERENCES smtp_accounts (id),
    frequency TEXT NOT NULL CHECK (frequency IN ('DAILY', 'WEEKLY', 'MONTHLY')),
    time_of_day TEXT NOT NULL,
    weekday TEXT NOT NULL,
    day_of_month INTEGER NOT NULL,
    time_zone TEXT NOT NULL
);
CREATE UNIQUE INDEX report_schedules_name_key ON report_schedules (name_key);
CREATE INDEX report_schedules_smtp_account ON report_schedules (smtp_account);

-- One row per schedule and period: the claim is the primary key.
CREATE TABLE report_schedule_periods (
    schedule_id INTEGER NOT NULL REFERENCES report_schedules (id) ON DELETE CASCADE,
    period TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('claimed', 'sent', 'failed')),
    claim_token TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    claimed_at INTEGER NOT NULL,
    finished_at INTEGER,
    error TEXT,
    message_id TEXT,
    PRIMARY KEY (schedule_id, period)
) WITHOUT ROWID;
"#;

fn bad(column: &str, what: String) -> StoreError {
    StoreError::NotADatabase {
        path: std::path::PathBuf::new(),
        reason: format!("column {column} holds {what}"),
    }
}

fn json_text<T: serde::Serialize>(v: &T) -> Value {
    Value::Text(serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned()))
}

impl Record for ReportScheduleForm {
    const TABLE: &'static str = "report_schedules";
    const KIND: &'static str = "report schedule";
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "enabled",
        "report",
        "filters",
        "format",
        "language",
        "recipients",
        "smtp_account",
        "frequency",
        "time_of_day",
        "weekday",
        "day_of_month",
        "time_zone",
    ];
    const NAME_FIELD: Field = Field::ScheduleName;

    fn id(&self) -> Option<RecordId> {
        self.id
    }
    fn set_id(&mut self, id: Option<RecordId>) {
        self.id = id;
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn values(&self) -> Vec<Value> {
        // Validated before any write: report and frequency are present.
        let word = |s: Option<&str>| s.map_or(Value::Null, |s| Value::Text(s.to_owned()));
        vec![
            Value::Text(self.name.clone()),
            Value::Integer(i64::from(self.enabled)),
            word(self.report.map(ScheduledReport::as_str)),
            json_text(&self.filters),
            Value::Text(self.format.as_str().to_owned()),
            Value::Text(self.language.as_str().to_owned()),
            json_text(&self.recipients),
            self.smtp_account.map_or(Value::Null, Value::Integer),
            word(self.frequency.map(Frequency::as_str)),
            Value::Text(self.time_of_day.clone()),
            Value::Text(self.weekday.as_str().to_owned()),
            Value::Integer(self.day_of_month),
            Value::Text(self.time_zone.clone()),
        ]
    }
    fn from_row(row: &super::backend::SqlRow) -> Result<Self, StoreError> {
        let text = |i: usize| row.get::<_, String>(i);
        let report = text(4)?;
        let filters = text(5)?;
        let format = text(6)?;
        let language = text(7)?;
        let recipients = text(8)?;
        let frequency = text(10)?;
        let weekday = text(12)?;
        Ok(Self {
            id: Some(row.get(0)?),
            name: text(2)?,
            enabled: row.get::<_, i64>(3)? != 0,
            report: Some(
                ScheduledReport::parse(&report)
                    .ok_or_else(|| bad("report", format!("{report:?}")))?,
            ),
            filters: serde_json::from_str::<ScheduleFilters>(&filters)
                .map_err(|e| bad("filters", e.to_string()))?,
            format: ScheduleFormat::parse(&format)
                .ok_or_else(|| bad("format", format!("{format:?}")))?,
            language: match language.as_str() {
                "en" => Lang::En,
                "pt-BR" => Lang::PtBr,
                other => return Err(bad("language", format!("{other:?}"))),
            },
            recipients: serde_json::from_str(&recipients)
                .map_err(|e| bad("recipients", e.to_string()))?,
            smtp_account: row.get(9)?,
            frequency: Some(
                Frequency::parse(&frequency)
                    .ok_or_else(|| bad("frequency", format!("{frequency:?}")))?,
            ),
            time_of_day: text(11)?,
            weekday: Weekday::parse(&weekday)
                .ok_or_else(|| bad("weekday", format!("{weekday:?}")))?,
            day_of_month: row.get(13)?,
            time_zone: text(14)?,
        })
    }
    fn validate(&self, _ctx: &ValidationContext<'_>) -> Validation {
        // The SMTP account is checked against the store by `check_smtp_account`.
        validate_schedule(self, "", None)
    }
}

/// The named SMTP account must exist and be enabled.
fn check_smtp_account(c: &mut dyn Sql, form: &ReportScheduleForm) -> Result<(), StoreError> {
    let Some(id) = form.smtp_account else {
        return Ok(());
    };
    let found: Vec<SmtpAccountForm> = get_row::<SmtpAccountForm>(c, id)?
        .map(|s| s.record)
        .into_iter()
        .collect();
    let v = validate_schedule(form, "", Some(&found));
    let mut refs = Validation::new();
    for r in v.results() {
        if matches!(r.code, Code::UnknownSmtpAccount | Code::SmtpAccountDisabled) {
            let text = id.to_string();
            refs.push(
                r.path.clone(),
                r.code,
                Field::SmtpAccount,
                Detail::Id(&text),
            );
        }
    }
    if refs.has_errors() {
        Err(StoreError::Invalid(refs))
    } else {
        Ok(())
    }
}

/// Refuses when report schedules send through SMTP account `id` (it may be neither deleted
/// nor disabled under them).
pub(crate) fn refuse_if_scheduled(c: &mut dyn Sql, id: RecordId) -> Result<(), StoreError> {
    let schedules = c
        .rows(
            "SELECT id, name FROM report_schedules WHERE smtp_account = ?1 ORDER BY id",
            &[id.into()],
        )?
        .iter()
        .map(|r| {
            Ok(crate::schedule::describe(
                r.get(0)?,
                &r.get::<_, String>(1)?,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    if schedules.is_empty() {
        Ok(())
    } else {
        Err(StoreError::UsedBySchedules { id, schedules })
    }
}

/// What a claim found.
pub(crate) enum Claim {
    /// This run owns the period: send, then record.
    Won { attempt: i64 },
    /// Another run sent it, holds it, or failed it too recently.
    Taken(PeriodRecord),
}

fn period_from_row(r: &SqlRow) -> Result<PeriodRecord, StoreError> {
    let status: String = r.get(2)?;
    Ok(PeriodRecord {
        schedule_id: r.get(0)?,
        period: r.get(1)?,
        status: match status.as_str() {
            "sent" => PeriodStatus::Sent,
            "failed" => PeriodStatus::Failed,
            _ => PeriodStatus::Claimed,
        },
        attempts: r.get(3)?,
        claimed_at: r.get(4)?,
        finished_at: r.get(5)?,
        error: r.get(6)?,
        message_id: r.get(7)?,
    })
}

const PERIOD_COLUMNS: &str =
    "schedule_id, period, status, attempts, claimed_at, finished_at, error, message_id";

impl Store {
    /// Creates a report schedule. The store gives the id unless `form.id` is set (and free).
    /// A named SMTP account must exist and be enabled.
    pub fn create_schedule(
        &self,
        form: &ReportScheduleForm,
    ) -> Result<Stored<ReportScheduleForm>, StoreError> {
        self.create(form, |c, _, form| check_smtp_account(c, form))
    }

    /// Report schedule `id`.
    pub fn get_schedule(&self, id: RecordId) -> Result<Stored<ReportScheduleForm>, StoreError> {
        self.get(id)
    }

    /// The report schedule named `name` (case-insensitive, trimmed).
    pub fn get_schedule_by_name(
        &self,
        name: &str,
    ) -> Result<Stored<ReportScheduleForm>, StoreError> {
        self.read_sql(|c| super::by_name(c, name))
    }

    /// Every report schedule, by id.
    pub fn list_schedules(&self) -> Result<Vec<Stored<ReportScheduleForm>>, StoreError> {
        self.list()
    }

    /// Replaces schedule `id` with `form` (whose `id` is ignored) if it is still at
    /// `expected_version`. Periods already sent stay sent.
    pub fn update_schedule(
        &self,
        id: RecordId,
        expected_version: i64,
        form: &ReportScheduleForm,
    ) -> Result<Stored<ReportScheduleForm>, StoreError> {
        self.update(id, expected_version, form, |c, _, form| {
            check_smtp_account(c, form)
        })
    }

    /// Deletes schedule `id` (and its period records) if it is still at `expected_version`.
    pub fn delete_schedule(&self, id: RecordId, expected_version: i64) -> Result<(), StoreError> {
        self.delete::<ReportScheduleForm>(id, expected_version, |_| Ok(()))
    }

    /// Schedule `id`, validated for the runner.
    pub fn report_schedule(&self, id: RecordId) -> crate::Result<ReportSchedule> {
        let form = self.get_schedule(id)?.record;
        ReportSchedule::from_form(&form, None).map_err(crate::Error::Validation)
    }

    /// The periods of schedule `id` that runs claimed, newest first.
    pub fn schedule_periods(&self, id: RecordId) -> Result<Vec<PeriodRecord>, StoreError> {
        self.read_sql(|c| {
            c.rows(
                &format!(
                    "SELECT {PERIOD_COLUMNS} FROM report_schedule_periods \
                     WHERE schedule_id = ?1 ORDER BY period DESC"
                ),
                &[id.into()],
            )?
            .iter()
            .map(period_from_row)
            .collect()
        })
    }

    /// Claims `period` of schedule `id` for the run holding `token`, in one `BEGIN IMMEDIATE`
    /// transaction: won when no run has it, when its claim is older than `lease_secs` (its run
    /// died), or when it failed at least `retry_secs` ago.
    pub(crate) fn claim_period(
        &self,
        id: RecordId,
        period: &str,
        token: &str,
        now: i64,
        lease_secs: i64,
        retry_secs: i64,
    ) -> Result<Claim, StoreError> {
        // One writer at a time (write_sql), so the read below decides for everyone.
        self.write_sql(|c| {
            let existing = c
                .row(
                    &format!(
                        "SELECT {PERIOD_COLUMNS} FROM report_schedule_periods \
                         WHERE schedule_id = ?1 AND period = ?2"
                    ),
                    &[id.into(), period.into()],
                )?
                .map(|r| period_from_row(&r))
                .transpose()?;
            let attempt = match existing {
                None => {
                    c.execute(
                        "INSERT INTO report_schedule_periods \
                         (schedule_id, period, status, claim_token, attempts, claimed_at) \
                         VALUES (?1, ?2, 'claimed', ?3, 1, ?4)",
                        &[id.into(), period.into(), token.into(), now.into()],
                    )?;
                    1
                }
                Some(p) => {
                    let free = match p.status {
                        PeriodStatus::Sent => false,
                        PeriodStatus::Claimed => p.claimed_at <= now - lease_secs,
                        PeriodStatus::Failed => {
                            p.finished_at.unwrap_or(p.claimed_at) <= now - retry_secs
                        }
                    };
                    if !free {
                        return Ok(Claim::Taken(p));
                    }
                    c.execute(
                        "UPDATE report_schedule_periods SET status = 'claimed', claim_token = ?3, \
                         attempts = attempts + 1, claimed_at = ?4, finished_at = NULL, \
                         error = NULL WHERE schedule_id = ?1 AND period = ?2",
                        &[id.into(), period.into(), token.into(), now.into()],
                    )?;
                    p.attempts + 1
                }
            };
            Ok(Claim::Won { attempt })
        })
    }

    /// Records the result of the run holding `token` (a run whose claim was taken over after
    /// the lease records nothing). Returns whether the record was written.
    pub(crate) fn finish_period(
        &self,
        id: RecordId,
        period: &str,
        token: &str,
        now: i64,
        result: Result<Option<&str>, &str>,
    ) -> Result<bool, StoreError> {
        let (status, error, message_id) = match result {
            Ok(mid) => ("sent", None, mid),
            Err(e) => ("failed", Some(e), None),
        };
        let opt = |s: Option<&str>| s.map_or(SeamValue::Null, SeamValue::from);
        self.write_sql(|c| {
            let n = c.execute(
                "UPDATE report_schedule_periods SET status = ?4, finished_at = ?5, \
                 error = ?6, message_id = ?7 \
                 WHERE schedule_id = ?1 AND period = ?2 AND claim_token = ?3",
                &[
                    id.into(),
                    period.into(),
                    token.into(),
                    status.into(),
                    now.into(),
                    opt(error),
                    opt(message_id),
                ],
            )?;
            Ok(n == 1)
        })
    }
}
