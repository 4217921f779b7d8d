//! `mail-settings schedule add|list|show|remove|run-now|run-due`: report schedules (SPEC.md
//! "Report schedules"). Options are the fields' names in kebab-case.

use crate::commands::{app_failure, store_failure, Ctx};
use crate::output::{self, EXIT_FAILED, EXIT_USAGE};
use crate::{TextOrJson, YesNo};
use mail_settings_core::app::{AccountKind, AccountRef, AppOptions, MailSettings};
use mail_settings_core::model::RecordId;
use mail_settings_core::net::Timeouts;
use mail_settings_core::report::{Lang as CoreLang, Status};
use mail_settings_core::schedule::{
    Frequency, ReportSchedule, ReportScheduleForm, RunOutcome, RunResult, ScheduleFilters,
    ScheduleFormat, ScheduleRunner, ScheduledReport, Weekday,
};
use mail_settings_core::store::{Store, Stored};
use std::process::ExitCode;
use std::time::Duration;

/// The `schedule` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ScheduleCommand {
    /// Add a report schedule. Prints its id.
    Add(Box<AddArgs>),
    /// List the report schedules, with their next run and last send.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// Show one report schedule and the periods sent.
    Show {
        /// The schedule: its name (case-insensitive) or id.
        schedule: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// Remove a report schedule.
    Remove {
        /// The schedule: its name (case-insensitive) or id.
        schedule: String,
    },
    /// Send a schedule's report at once; the period's own send still happens. Needs
    /// --credentials.
    RunNow {
        /// The schedule: its name (case-insensitive) or id.
        schedule: String,
        /// Bound of every network operation, in seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// Send every report that is due, once per period (for hosts that use cron). Needs
    /// --credentials.
    RunDue {
        /// Bound of every network operation, in seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
}

/// `schedule add`: the fields of a schedule.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Name (unique).
    #[arg(long)]
    pub name: String,
    /// Enabled: yes (default) or no.
    #[arg(long, value_enum, default_value_t = YesNo::Yes)]
    pub enabled: YesNo,
    /// INCOMING_ACCOUNTS, SMTP_ACCOUNTS or COLLECTION_JOURNAL.
    #[arg(long)]
    pub report: String,
    /// The attachment: CSV (default) or HTML.
    #[arg(long, default_value = "CSV")]
    pub format: String,
    /// en (default) or pt-BR.
    #[arg(long, default_value = "en")]
    pub language: String,
    /// Recipients (repeat the option, or separate with commas).
    #[arg(long, value_delimiter = ',')]
    pub recipients: Vec<String>,
    /// The SMTP account (name or id); default: the default account when the report is sent.
    #[arg(long)]
    pub smtp_account: Option<String>,
    /// DAILY, WEEKLY or MONTHLY.
    #[arg(long)]
    pub frequency: String,
    /// HH:MM (default 08:00).
    #[arg(long, default_value = "08:00")]
    pub time_of_day: String,
    /// MONDAY … SUNDAY (WEEKLY only; default MONDAY).
    #[arg(long, default_value = "MONDAY")]
    pub weekday: String,
    /// 1–28 (MONTHLY only; default 1).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub day_of_month: i64,
    /// An IANA time zone (default UTC).
    #[arg(long, default_value = "UTC")]
    pub time_zone: String,
    /// Filter: the name contains this text.
    #[arg(long)]
    pub name_contains: Option<String>,
    /// Filter: secure connection, yes or no.
    #[arg(long, value_enum)]
    pub secure_connection: Option<YesNo>,
    /// Filter: enabled or disabled accounts.
    #[arg(long, value_enum)]
    pub status: Option<crate::Status>,
    /// Filter (incoming): automatic check, yes or no.
    #[arg(long, value_enum)]
    pub automatic_check: Option<YesNo>,
    /// Filter (incoming): keep copy in server, yes or no.
    #[arg(long, value_enum)]
    pub keep_copy: Option<YesNo>,
    /// Filter (smtp): use authentication, yes or no.
    #[arg(long, value_enum)]
    pub authentication: Option<YesNo>,
    /// Filter (smtp): default account, yes or no.
    #[arg(long, value_enum)]
    pub default_account: Option<YesNo>,
    /// Filter (journal): one incoming account, by name or id.
    #[arg(long)]
    pub account: Option<String>,
    /// Filter (journal): one outcome (stored, duplicate, skipped_too_large, refused, failed).
    #[arg(long)]
    pub outcome: Option<String>,
}

fn word<T>(option: &str, value: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, ExitCode> {
    parse(&value.trim().to_ascii_uppercase()).ok_or_else(|| {
        output::fail(
            EXIT_USAGE,
            format!("--{option}: {value:?} is not one of the words SPEC.md allows"),
        )
    })
}

fn by_name_or_id(store: &Store, s: &str) -> Result<Stored<ReportScheduleForm>, ExitCode> {
    mail_settings_core::app::schedule(store, &AccountRef::parse(s)).map_err(app_failure)
}

fn smtp_id(store: &Store, s: &str) -> Result<RecordId, ExitCode> {
    mail_settings_core::app::account_id(store, AccountKind::Smtp, &AccountRef::parse(s))
        .map_err(app_failure)
}

fn form(store: &Store, a: &AddArgs) -> Result<ReportScheduleForm, ExitCode> {
    let yn = |v: Option<YesNo>| v.map(YesNo::as_bool);
    Ok(ReportScheduleForm {
        id: None,
        name: a.name.clone(),
        enabled: a.enabled.as_bool(),
        report: Some(word("report", &a.report, ScheduledReport::parse)?),
        filters: ScheduleFilters {
            name_contains: a.name_contains.clone(),
            secure_connection: yn(a.secure_connection),
            status: a.status.map(|s| match s {
                crate::Status::Enabled => Status::Enabled,
                crate::Status::Disabled => Status::Disabled,
            }),
            automatic_check: yn(a.automatic_check),
            keep_copy: yn(a.keep_copy),
            authentication: yn(a.authentication),
            default_account: yn(a.default_account),
            auth_method: None,
            account: a.account.clone(),
            outcome: match a.outcome.as_deref() {
                None => None,
                Some(o) => Some(
                    mail_settings_core::journal::parse_outcome(o)
                        .ok_or_else(|| {
                            output::fail(
                                EXIT_USAGE,
                                "--outcome is stored, duplicate, skipped_too_large, refused or failed",
                            )
                        })?
                        .as_str()
                        .to_owned(),
                ),
            },
        },
        format: word("format", &a.format, ScheduleFormat::parse)?,
        language: match a.language.trim().to_ascii_lowercase().as_str() {
            "en" => CoreLang::En,
            "pt-br" => CoreLang::PtBr,
            other => {
                return Err(output::fail(
                    EXIT_USAGE,
                    format!("--language: {other:?} is not en or pt-BR"),
                ))
            }
        },
        recipients: a.recipients.clone(),
        smtp_account: a
            .smtp_account
            .as_deref()
            .map(|s| smtp_id(store, s))
            .transpose()?,
        frequency: Some(word("frequency", &a.frequency, Frequency::parse)?),
        time_of_day: a.time_of_day.clone(),
        weekday: word("weekday", &a.weekday, Weekday::parse)?,
        day_of_month: a.day_of_month,
        time_zone: a.time_zone.clone(),
    })
}

fn runner(ctx: &Ctx<'_>, command: &str, timeout: u64) -> Result<ScheduleRunner, ExitCode> {
    let options = AppOptions::with_timeouts(Timeouts::uniform(Duration::from_secs(timeout.max(1))));
    Ok(ctx.app(command, ctx.store()?, options)?.schedule_runner())
}

/// The runner `collect` (without `--once`) starts beside the collector (30 s bounds).
pub fn background(app: &MailSettings, cancel: mail_settings_core::collector::CancelToken) {
    let options = AppOptions::with_timeouts(Timeouts::uniform(Duration::from_secs(30)));
    let runner = app.with_options(options).schedule_runner();
    if let Err(e) = runner.spawn(mail_settings_core::schedule::CHECK_EVERY, cancel) {
        eprintln!("mail-settings: report schedules could not start: {e}");
    }
}

/// Control characters out of text bound for a terminal.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn when(f: &ReportScheduleForm) -> String {
    let at = format!("{} {}", f.time_of_day, f.time_zone);
    match f.frequency {
        Some(Frequency::Weekly) => format!("WEEKLY {} {at}", f.weekday.as_str()),
        Some(Frequency::Monthly) => format!("MONTHLY day {} {at}", f.day_of_month),
        Some(fr) => format!("{} {at}", fr.as_str()),
        None => at,
    }
}

fn outcomes(out: &[RunOutcome], format: TextOrJson) -> ExitCode {
    let failed = out.iter().any(|o| !o.result.is_sent());
    match format {
        TextOrJson::Json => println!("{}", serde_json::to_string_pretty(out).unwrap_or_default()),
        TextOrJson::Text => {
            if out.is_empty() {
                println!("nothing due");
            }
            for o in out {
                let period = o.period.as_deref().unwrap_or("now");
                match &o.result {
                    RunResult::Sent {
                        recipients, rows, ..
                    } => println!(
                        "{} ({period}): sent, {rows} rows, to {}",
                        clean(&o.name),
                        clean(&recipients.join(", "))
                    ),
                    RunResult::Failed { category, message } => println!(
                        "{} ({period}): FAILED ({category}): {}",
                        clean(&o.name),
                        clean(message)
                    ),
                    _ => {}
                }
            }
        }
    }
    if failed {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs one `schedule` subcommand.
pub fn run(ctx: &Ctx<'_>, command: &ScheduleCommand) -> Result<ExitCode, ExitCode> {
    match command {
        ScheduleCommand::Add(args) => {
            let store = ctx.store()?;
            let form = form(&store, args)?;
            let created = store
                .create_schedule(&form)
                .map_err(|e| store_failure(&e))?;
            println!(
                "report schedule {} \"{}\" added",
                created.id,
                clean(form.name.trim())
            );
            Ok(ExitCode::SUCCESS)
        }
        ScheduleCommand::List { format } => {
            let store = ctx.store()?;
            let all = store.list_schedules().map_err(|e| store_failure(&e))?;
            let now = jiff::Timestamp::now();
            let mut rows = Vec::new();
            for s in &all {
                let next = ReportSchedule::from_form(&s.record, None)
                    .ok()
                    .and_then(|t| t.next_period(now))
                    .map(|p| p.due_at.to_string());
                let last = store
                    .schedule_periods(s.id)
                    .map_err(|e| store_failure(&e))?
                    .into_iter()
                    .next();
                rows.push((s, next, last));
            }
            match format {
                TextOrJson::Json => {
                    let json: Vec<_> = rows
                        .iter()
                        .map(|(s, next, last)| {
                            serde_json::json!({
                                "id": s.id, "version": s.version, "schedule": s.record,
                                "next_run": next, "last_period": last,
                            })
                        })
                        .collect();
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&json).unwrap_or_default()
                    );
                }
                TextOrJson::Text => {
                    println!("ID  NAME  ENABLED  REPORT  WHEN  NEXT RUN  LAST PERIOD");
                    for (s, next, last) in &rows {
                        let f = &s.record;
                        println!(
                            "{}  {}  {}  {}  {}  {}  {}",
                            s.id,
                            clean(f.name.trim()),
                            if f.enabled { "yes" } else { "no" },
                            f.report.map_or("-", ScheduledReport::as_str),
                            clean(&when(f)),
                            next.as_deref().unwrap_or("-"),
                            last.as_ref()
                                .map_or("-".to_owned(), |p| format!("{} {:?}", p.period, p.status)),
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ScheduleCommand::Show { schedule, format } => {
            let store = ctx.store()?;
            let s = by_name_or_id(&store, schedule)?;
            let periods = store
                .schedule_periods(s.id)
                .map_err(|e| store_failure(&e))?;
            match format {
                TextOrJson::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "id": s.id, "version": s.version, "schedule": s.record, "periods": periods,
                    }))
                    .unwrap_or_default()
                ),
                TextOrJson::Text => {
                    let f = &s.record;
                    println!("id: {}", s.id);
                    println!("name: {}", clean(f.name.trim()));
                    println!("enabled: {}", if f.enabled { "yes" } else { "no" });
                    println!("report: {}", f.report.map_or("-", ScheduledReport::as_str));
                    println!("format: {}", f.format.as_str());
                    println!("language: {}", f.language.as_str());
                    println!("recipients: {}", clean(&f.recipients.join(", ")));
                    println!(
                        "smtp account: {}",
                        f.smtp_account
                            .map_or("the default account".to_owned(), |id| id.to_string())
                    );
                    println!("when: {}", clean(&when(f)));
                    if !f.filters.is_empty() {
                        println!(
                            "filters: {}",
                            clean(&serde_json::to_string(&f.filters).unwrap_or_default())
                        );
                    }
                    for p in &periods {
                        println!(
                            "period {}: {:?}, {} attempt(s){}",
                            p.period,
                            p.status,
                            p.attempts,
                            p.error
                                .as_deref()
                                .map_or(String::new(), |e| format!(": {}", clean(e)))
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ScheduleCommand::Remove { schedule } => {
            let store = ctx.store()?;
            let s = by_name_or_id(&store, schedule)?;
            store
                .delete_schedule(s.id, s.version)
                .map_err(|e| store_failure(&e))?;
            println!("report schedule {} removed", s.id);
            Ok(ExitCode::SUCCESS)
        }
        ScheduleCommand::RunNow {
            schedule,
            timeout,
            format,
        } => {
            let runner = runner(ctx, "schedule run-now", *timeout)?;
            let store = ctx.store()?;
            let s = by_name_or_id(&store, schedule)?;
            let outcome = runner
                .run_now(s.id)
                .map_err(|e| output::fail(EXIT_FAILED, e))?;
            Ok(outcomes(&[outcome], *format))
        }
        ScheduleCommand::RunDue { timeout, format } => {
            let runner = runner(ctx, "schedule run-due", *timeout)?;
            let out = runner.run_due().map_err(|e| store_failure(&e))?;
            Ok(outcomes(&out, *format))
        }
    }
}
