//! `mail-settings journal`: the collection journal (SPEC.md "Collection journal"), a page as
//! text or JSON, or the whole filtered journal as CSV (with a UTF-8 byte-order mark for Excel
//! when `--bom` is given) or printable HTML, newest first.
//!
//! Filters: `--account` (name or id), `--outcome` (`stored`, `duplicate`, `skipped_too_large`,
//! `refused`, `failed`), `--since` (inclusive) and `--until` (exclusive), each RFC 3339 or a
//! date in UTC (`--until 2026-12-06` takes the whole of that day in).
//!
//! The journal holds server text (reasons, subjects): every format is made safe for a terminal
//! (`text::terminal_safe`, JSON through `output::json`).

use crate::commands::{store_failure, Ctx};
use crate::output::{self, EXIT_USAGE};
use crate::{Lang, ReportFormat};
use mail_settings_core::journal::{self, AccountFilter, JournalFilters, RangeEnd};
use mail_settings_core::report::{self, CsvOptions};
use mail_settings_core::text::terminal_safe;
use std::io::Write;
use std::process::ExitCode;
use std::time::SystemTime;

/// The `journal` command's arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct JournalArgs {
    /// Only this incoming account: its name (case-insensitive) or id.
    #[arg(long)]
    pub account: Option<String>,
    /// Only this outcome: stored, duplicate, skipped_too_large, refused or failed.
    #[arg(long)]
    pub outcome: Option<String>,
    /// Entries last seen at or after this time: RFC 3339 or a date (UTC).
    #[arg(long)]
    pub since: Option<String>,
    /// Entries last seen before this time: RFC 3339, or a date (UTC; the whole day is in).
    #[arg(long)]
    pub until: Option<String>,
    /// Page number, from 1.
    #[arg(long, default_value_t = 1)]
    pub page: u32,
    /// Rows a page.
    #[arg(long, default_value_t = 30)]
    pub page_size: u32,
    /// Output format (JSON carries the page and the total count; CSV and HTML are the whole
    /// filtered journal).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Language of the labels (default: the global --lang).
    #[arg(long, value_enum)]
    pub language: Option<Lang>,
    /// Start the CSV with a UTF-8 byte-order mark, for Excel on Windows (--format csv only).
    #[arg(long)]
    pub bom: bool,
}

fn usage(message: impl Into<String>) -> ExitCode {
    output::fail(EXIT_USAGE, message.into())
}

/// The filters the arguments ask for.
fn filters(args: &JournalArgs) -> Result<JournalFilters, ExitCode> {
    let account = args
        .account
        .as_deref()
        .map(|a| match a.trim().parse::<i64>() {
            Ok(id) => AccountFilter::Id(id),
            Err(_) => AccountFilter::Name(a.to_owned()),
        });
    let outcome = match args.outcome.as_deref() {
        None => None,
        Some(o) => Some(journal::parse_outcome(o).ok_or_else(|| {
            usage("--outcome is stored, duplicate, skipped_too_large, refused or failed")
        })?),
    };
    let time = |v: &Option<String>, end: RangeEnd, name: &str| -> Result<Option<i64>, ExitCode> {
        match v.as_deref() {
            None => Ok(None),
            Some(s) => journal::parse_time(s, end).map(Some).ok_or_else(|| {
                usage(format!(
                    "{name} takes RFC 3339 (2026-12-06T10:00:00Z) or a date (2026-12-06)"
                ))
            }),
        }
    };
    Ok(JournalFilters {
        account,
        outcome,
        since: time(&args.since, RangeEnd::Since, "--since")?,
        until: time(&args.until, RangeEnd::Until, "--until")?,
    })
}

/// Prints the journal.
pub fn run(ctx: &Ctx<'_>, args: &JournalArgs) -> Result<ExitCode, ExitCode> {
    if args.page == 0 || args.page_size == 0 || args.page_size > report::MAX_PAGE_SIZE {
        return Err(usage(format!(
            "--page starts at 1; --page-size is 1 to {}",
            report::MAX_PAGE_SIZE
        )));
    }
    if args.bom && args.format != ReportFormat::Csv {
        return Err(usage("--bom goes with --format csv only"));
    }
    let filters = filters(args)?;
    let lang = args.language.unwrap_or(ctx.cli.lang).core();
    let store = ctx.store_for_reading()?;
    let mut out: Vec<u8> = Vec::new();
    let result = match args.format {
        ReportFormat::Text => journal::page(&store, &filters, args.page, args.page_size).map(|p| {
            print!(
                "{}",
                terminal_safe(&report::render_text(&p.as_report_page(), lang))
            );
        }),
        ReportFormat::Json => journal::page(&store, &filters, args.page, args.page_size)
            .map(|p| println!("{}", output::json(&p))),
        ReportFormat::Csv => journal::write_csv(
            &store,
            &filters,
            lang,
            CsvOptions::default().bom(args.bom),
            &mut out,
        )
        .map(drop),
        ReportFormat::Html => {
            journal::write_html(&store, &filters, lang, SystemTime::now(), &mut out).map(drop)
        }
    };
    result.map_err(|e| store_failure(&e))?;
    if !out.is_empty() {
        let text = String::from_utf8_lossy(&out);
        let stdout = std::io::stdout();
        let mut stdout = stdout.lock();
        let _ = stdout.write_all(terminal_safe(&text).as_bytes());
        let _ = stdout.flush();
    }
    Ok(ExitCode::SUCCESS)
}
