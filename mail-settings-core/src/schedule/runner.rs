//! Sending schedules' reports: what is due, once per period, or one at once (`run_now`).

use super::period::{Clock, SystemClock};
use super::record::{ReportSchedule, ScheduleFormat, ScheduledReport};
use crate::credentials::CredentialProvider;
use crate::error::{ConnectionError, ErrorCategory};
use crate::model::RecordId;
use crate::report::{format_utc, Lang};
use crate::smtp::{self, Attachment, OutgoingMessage, SmtpOptions};
use crate::store::{Store, StoreError};
use crate::typed::SmtpAccount;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A claim older than this is taken to belong to a run that died, and is taken over (the one
/// window for a duplicate: see the module documentation). Far longer than a send can last.
pub const CLAIM_LEASE: Duration = Duration::from_secs(30 * 60);
/// A period whose send failed is tried again by a run at least this long after.
pub const RETRY_AFTER: Duration = Duration::from_secs(5 * 60);
/// How often `mail-settings collect` (without `--once`) looks for due schedules.
pub const CHECK_EVERY: Duration = Duration::from_secs(30);

/// How a report goes out: [`SmtpReportSender`] in production; tests may capture instead.
pub trait ReportSender: Send + Sync {
    /// Sends `message` through `account`; the `Message-ID` of what was sent, when known.
    fn send(
        &self,
        account: &SmtpAccount,
        message: &OutgoingMessage,
    ) -> Result<Option<String>, ConnectionError>;
}

/// Sends with [`crate::smtp::send`]: the same driver and account rules as any message.
pub struct SmtpReportSender {
    credentials: Arc<dyn CredentialProvider>,
    options: SmtpOptions,
}

impl fmt::Debug for SmtpReportSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpReportSender")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SmtpReportSender {
    /// A sender reading credentials from `credentials`.
    pub fn new(credentials: Arc<dyn CredentialProvider>, options: SmtpOptions) -> Self {
        Self {
            credentials,
            options,
        }
    }
}

impl ReportSender for SmtpReportSender {
    fn send(
        &self,
        account: &SmtpAccount,
        message: &OutgoingMessage,
    ) -> Result<Option<String>, ConnectionError> {
        smtp::send(account, &*self.credentials, message, &self.options).map(|r| r.message_id)
    }
}

/// What one schedule's run did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// The schedule.
    pub schedule_id: RecordId,
    /// Its name.
    pub name: String,
    /// The period sent (`None` for `run_now`, which uses up no period).
    pub period: Option<String>,
    /// Sent or failed.
    pub result: RunResult,
}

/// Sent or failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunResult {
    /// The SMTP server accepted the report.
    Sent {
        /// Its `Message-ID`.
        message_id: Option<String>,
        /// The recipients.
        recipients: Vec<String>,
        /// Rows in the report.
        rows: u64,
    },
    /// It could not be built or sent.
    Failed {
        /// The error's category.
        category: ErrorCategory,
        /// What failed (no secret).
        message: String,
    },
}

impl RunResult {
    /// Whether the report went out.
    pub fn is_sent(&self) -> bool {
        matches!(self, RunResult::Sent { .. })
    }
}

/// A report ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltReport {
    /// The subject.
    pub subject: String,
    /// The short summary in the body.
    pub summary: String,
    /// The report, attached.
    pub attachment: Attachment,
    /// Rows in it.
    pub rows: u64,
}

fn pick(lang: Lang, en: &'static str, pt: &'static str) -> &'static str {
    match lang {
        Lang::PtBr => pt,
        _ => en,
    }
}

/// The journal's filters of a `COLLECTION_JOURNAL` schedule: its `account` (id or name) and
/// `outcome` filters, and the period's range: entries last seen since the previous period
/// began (its due time) and before `generated_at`.
pub fn journal_filters(
    schedule: &ReportSchedule,
    generated_at: SystemTime,
) -> crate::Result<crate::journal::JournalFilters> {
    use crate::journal::{AccountFilter, JournalFilters};
    let f = &schedule.form.filters;
    let account = f
        .account
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| match a.parse::<RecordId>() {
            Ok(id) => AccountFilter::Id(id),
            Err(_) => AccountFilter::Name(a.to_owned()),
        });
    let outcome = match f
        .outcome
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        None => None,
        Some(o) => Some(crate::journal::parse_outcome(o).ok_or_else(|| {
            crate::Error::Connection(ConnectionError::new(
                ErrorCategory::Validation,
                format!(
                    "filters.outcome {:?} is not stored, duplicate, skipped_too_large, refused \
                     or failed",
                    crate::text::terminal_safe_line(o)
                ),
            ))
        })?),
    };
    let now = jiff::Timestamp::try_from(generated_at).ok();
    let since = now.and_then(|now| {
        let current = schedule.current_period(now)?;
        let before = current
            .due_at
            .checked_sub(jiff::SignedDuration::from_secs(1))
            .ok()?;
        let previous = schedule.current_period(before)?;
        Some(previous.due_at.as_second())
    });
    Ok(JournalFilters {
        account,
        outcome,
        since,
        until: now.map(|t| t.as_second() + 1),
    })
}

/// Builds `schedule`'s report from `store` as the `report` command exports it (CSV without a
/// byte-order mark, or the printable HTML page), with its subject and summary in the
/// schedule's language. `generated_at` is the time printed in it.
pub fn build_report(
    store: &Store,
    schedule: &ReportSchedule,
    generated_at: SystemTime,
) -> crate::Result<BuiltReport> {
    let lang = schedule.form.language;
    let filters = &schedule.form.filters;
    let mut bytes = Vec::new();
    let (title, slug, described) = match schedule.report {
        ScheduledReport::IncomingAccounts => (
            pick(lang, "IMAP/POP3 settings", "Configuração IMAP/POP3"),
            "imap-pop3-settings",
            filters.incoming().describe_filters(lang),
        ),
        ScheduledReport::SmtpAccounts => (
            pick(lang, "SMTP settings", "Configuração SMTP"),
            "smtp-settings",
            filters.smtp().describe_filters(lang),
        ),
        ScheduledReport::CollectionJournal => (
            pick(lang, "Collection journal", "Diário de coleta"),
            "collection-journal",
            crate::journal::describe_filters(
                store,
                &journal_filters(schedule, generated_at)?,
                lang,
            )?,
        ),
    };
    let rows = match (schedule.report, schedule.form.format) {
        (ScheduledReport::IncomingAccounts, ScheduleFormat::Csv) => {
            store.write_incoming_csv(&filters.incoming(), lang, &mut bytes)?
        }
        (ScheduledReport::IncomingAccounts, ScheduleFormat::Html) => {
            store.write_incoming_html(&filters.incoming(), lang, generated_at, &mut bytes)?
        }
        (ScheduledReport::SmtpAccounts, ScheduleFormat::Csv) => {
            store.write_smtp_csv(&filters.smtp(), lang, &mut bytes)?
        }
        (ScheduledReport::SmtpAccounts, ScheduleFormat::Html) => {
            store.write_smtp_html(&filters.smtp(), lang, generated_at, &mut bytes)?
        }
        (ScheduledReport::CollectionJournal, ScheduleFormat::Csv) => crate::journal::write_csv(
            store,
            &journal_filters(schedule, generated_at)?,
            lang,
            crate::report::CsvOptions::default(),
            &mut bytes,
        )?,
        (ScheduledReport::CollectionJournal, ScheduleFormat::Html) => crate::journal::write_html(
            store,
            &journal_filters(schedule, generated_at)?,
            lang,
            generated_at,
            &mut bytes,
        )?,
    };
    let local_date = jiff::Timestamp::try_from(generated_at)
        .map(|t| t.to_zoned(schedule.time_zone.clone()).date().to_string())
        .unwrap_or_default();
    let (ext, content_type) = match schedule.form.format {
        ScheduleFormat::Csv => ("csv", "text/csv; charset=utf-8"),
        ScheduleFormat::Html => ("html", "text/html; charset=utf-8"),
    };
    let filters_text = if described.is_empty() {
        pick(lang, "none", "nenhum").to_owned()
    } else {
        described
            .iter()
            .map(|(label, value)| format!("{label}: {value}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let name = schedule.name();
    let subject = format!("{} — {name}", title);
    let summary = format!(
        "{}: {title}\n{}: {name}\n{}: {filters_text}\n{}: {rows}\n{}: {}\n\n{}",
        pick(lang, "Report", "Relatório"),
        pick(lang, "Schedule", "Agendamento"),
        pick(lang, "Filters", "Filtros"),
        pick(lang, "Rows", "Registros"),
        pick(lang, "Generated", "Gerado em"),
        format_utc(generated_at),
        match schedule.form.format {
            ScheduleFormat::Csv => pick(
                lang,
                "The report is attached as CSV.",
                "O relatório está anexado em CSV."
            ),
            ScheduleFormat::Html => pick(
                lang,
                "The report is attached as a printable HTML page.",
                "O relatório está anexado como página HTML para impressão."
            ),
        },
    );
    Ok(BuiltReport {
        subject,
        summary,
        attachment: Attachment::new(format!("{slug}-{local_date}.{ext}"), content_type, bytes),
        rows,
    })
}

static TOKENS: AtomicU64 = AtomicU64::new(0);

fn new_token() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        TOKENS.fetch_add(1, Ordering::Relaxed)
    )
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Sends schedules' reports. Cheap to build; share the store with the collector.
pub struct ScheduleRunner {
    store: Arc<Store>,
    sender: Arc<dyn ReportSender>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for ScheduleRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScheduleRunner")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl ScheduleRunner {
    /// A runner on `store` sending with `sender`, on the system clock.
    pub fn new(store: Arc<Store>, sender: Arc<dyn ReportSender>) -> Self {
        Self {
            store,
            sender,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same runner reading the time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sends every enabled schedule whose current period (the latest that has begun) no run
    /// has sent, claiming the period first. One outcome per send attempted; schedules with
    /// nothing due are left out.
    pub fn run_due(&self) -> Result<Vec<RunOutcome>, StoreError> {
        let mut out = Vec::new();
        for stored in self.store.list_schedules()? {
            if !stored.record.enabled {
                continue;
            }
            let schedule = match ReportSchedule::from_form(&stored.record, None) {
                Ok(s) => s,
                Err(v) => {
                    tracing::warn!(id = stored.id, "report schedule is invalid: {v}");
                    continue;
                }
            };
            let now = self.clock.now();
            let Some(period) = schedule.current_period(now) else {
                continue;
            };
            let token = new_token();
            let claim = self.store.claim_period(
                stored.id,
                &period.key,
                &token,
                now.as_second(),
                secs(CLAIM_LEASE),
                secs(RETRY_AFTER),
            )?;
            let attempt = match claim {
                crate::store::Claim::Won { attempt } => attempt,
                crate::store::Claim::Taken(p) => {
                    tracing::debug!(id = stored.id, period = %p.period, status = ?p.status, "period already claimed");
                    continue;
                }
            };
            tracing::info!(id = stored.id, period = %period.key, attempt, "report schedule due: sending");
            let result = self.send(&schedule);
            let finished = self.clock.now().as_second();
            let recorded = match &result {
                RunResult::Sent { message_id, .. } => self.store.finish_period(
                    stored.id,
                    &period.key,
                    &token,
                    finished,
                    Ok(message_id.as_deref()),
                )?,
                RunResult::Failed { message, .. } => self.store.finish_period(
                    stored.id,
                    &period.key,
                    &token,
                    finished,
                    Err(message),
                )?,
            };
            if !recorded {
                tracing::warn!(id = stored.id, period = %period.key, "the period's claim was taken over before this run recorded its result");
            }
            out.push(RunOutcome {
                schedule_id: stored.id,
                name: schedule.name().to_owned(),
                period: Some(period.key),
                result,
            });
        }
        Ok(out)
    }

    /// Runs [`ScheduleRunner::run_due`] on a thread of its own every `every` (and once at
    /// once) until `cancel` is cancelled: what a host runs beside its collector. Failures are
    /// logged; the thread ends within 200 ms of the cancel (or when the send in progress ends).
    pub fn spawn(
        self,
        every: Duration,
        cancel: crate::collector::CancelToken,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("report-schedules".into())
            .spawn(move || {
                let tick = Duration::from_millis(200);
                while !cancel.is_cancelled() {
                    match self.run_due() {
                        Ok(out) => {
                            for o in out {
                                tracing::info!(id = o.schedule_id, period = ?o.period, sent = o.result.is_sent(), "report schedule run");
                            }
                        }
                        Err(e) => tracing::warn!("report schedules could not be read: {e}"),
                    }
                    let mut waited = Duration::ZERO;
                    while waited < every && !cancel.is_cancelled() {
                        std::thread::sleep(tick);
                        waited += tick;
                    }
                }
            })
    }

    /// Sends schedule `id` at once, enabled or not, claiming no period: the period's own send
    /// still happens when it is due.
    pub fn run_now(&self, id: RecordId) -> crate::Result<RunOutcome> {
        let schedule = self.store.report_schedule(id)?;
        Ok(RunOutcome {
            schedule_id: id,
            name: schedule.name().to_owned(),
            period: None,
            result: self.send(&schedule),
        })
    }

    fn send(&self, schedule: &ReportSchedule) -> RunResult {
        match self.try_send(schedule) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(name = schedule.name(), "report schedule failed: {e}");
                RunResult::Failed {
                    category: e.category(),
                    message: e.to_string(),
                }
            }
        }
    }

    fn account(&self, schedule: &ReportSchedule) -> crate::Result<SmtpAccount> {
        match schedule.form.smtp_account {
            Some(id) => self.store.smtp_account(id),
            None => self.store.default_smtp_account()?.ok_or_else(|| {
                crate::Error::Connection(ConnectionError::new(
                    ErrorCategory::NotFound,
                    "the schedule names no SMTP account and no SMTP account is the default account",
                ))
            }),
        }
    }

    fn try_send(&self, schedule: &ReportSchedule) -> crate::Result<RunResult> {
        let account = self.account(schedule)?;
        let built = build_report(&self.store, schedule, self.clock.now().into())?;
        let mut message = OutgoingMessage::new()
            .subject(built.subject)
            .text(built.summary)
            .attachment(built.attachment);
        let recipients: Vec<String> = schedule
            .form
            .recipients
            .iter()
            .map(|r| r.trim().to_owned())
            .collect();
        for r in &recipients {
            message = message.to(r.clone());
        }
        let message_id = self.sender.send(&account, &message)?;
        Ok(RunResult::Sent {
            message_id,
            recipients,
            rows: built.rows,
        })
    }
}
