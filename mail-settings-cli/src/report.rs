//! `mail-settings report incoming|smtp`: a page as text or JSON, or the whole filtered report
//! as CSV (with a UTF-8 byte-order mark for Excel when `--bom` is given) or printable HTML.
//!
//! Every format is safe for a terminal: the text table and CSV/HTML go through
//! `text::terminal_safe` (control characters and bidi overrides escaped; CSV's CRLF kept),
//! JSON through `output::json`.

use crate::commands::{store_failure, Ctx};
use crate::output::{self, EXIT_USAGE};
use crate::{AuthMethod, ReportArgs, ReportFormat, ReportKind, Status};
use mail_settings_core::report::{
    self, CsvOptions, IncomingReportFilter, PageRequest, SmtpReportFilter, Status as CoreStatus,
};
use mail_settings_core::text::terminal_safe;
use std::io::Write;
use std::process::ExitCode;
use std::time::SystemTime;

fn status(s: Option<Status>) -> Option<CoreStatus> {
    s.map(|s| match s {
        Status::Enabled => CoreStatus::Enabled,
        Status::Disabled => CoreStatus::Disabled,
    })
}

/// Prints a report.
pub fn run(ctx: &Ctx<'_>, args: &ReportArgs) -> Result<ExitCode, ExitCode> {
    if args.page == 0 || args.page_size == 0 || args.page_size > report::MAX_PAGE_SIZE {
        return Err(output::fail(
            EXIT_USAGE,
            format!(
                "--page starts at 1; --page-size is 1 to {}",
                report::MAX_PAGE_SIZE
            ),
        ));
    }
    if args.bom && args.format != ReportFormat::Csv {
        return Err(output::fail(
            EXIT_USAGE,
            "--bom goes with --format csv only",
        ));
    }
    let csv = CsvOptions::default().bom(args.bom);
    let lang = ctx.cli.lang.core();
    let store = ctx.store_for_reading()?;
    let page = PageRequest {
        page: args.page,
        page_size: args.page_size,
    };
    // CSV and HTML are written here first, then made safe for a terminal as a whole.
    let mut out: Vec<u8> = Vec::new();
    let result = match args.kind {
        ReportKind::Incoming => {
            if args.authentication.is_some() || args.default_account.is_some() {
                return Err(output::fail(
                    EXIT_USAGE,
                    "--authentication and --default filter the smtp report only",
                ));
            }
            let filter = IncomingReportFilter {
                name_contains: args.name.clone(),
                secure_connection: args.secure.map(|v| v.as_bool()),
                automatic_check: args.automatic_check.map(|v| v.as_bool()),
                keep_copy: args.keep_copy.map(|v| v.as_bool()),
                status: status(args.status),
                auth_method: args.auth_method.map(AuthMethod::core),
            };
            match args.format {
                ReportFormat::Text => store
                    .incoming_report(&filter, page)
                    .map(|p| print!("{}", terminal_safe(&report::render_text(&p, lang)))),
                ReportFormat::Json => store
                    .incoming_report(&filter, page)
                    .map(|p| println!("{}", output::json(&p))),
                ReportFormat::Csv => store
                    .write_incoming_csv_with(&filter, lang, csv, &mut out)
                    .map(drop),
                ReportFormat::Html => store
                    .write_incoming_html(&filter, lang, SystemTime::now(), &mut out)
                    .map(drop),
            }
        }
        ReportKind::Smtp => {
            if args.automatic_check.is_some() || args.keep_copy.is_some() {
                return Err(output::fail(
                    EXIT_USAGE,
                    "--automatic-check and --keep-copy filter the incoming report only",
                ));
            }
            let filter = SmtpReportFilter {
                name_contains: args.name.clone(),
                secure_connection: args.secure.map(|v| v.as_bool()),
                status: status(args.status),
                authentication: args.authentication.map(|v| v.as_bool()),
                default_account: args.default_account.map(|v| v.as_bool()),
                auth_method: args.auth_method.map(AuthMethod::core),
            };
            match args.format {
                ReportFormat::Text => store
                    .smtp_report(&filter, page)
                    .map(|p| print!("{}", terminal_safe(&report::render_text(&p, lang)))),
                ReportFormat::Json => store
                    .smtp_report(&filter, page)
                    .map(|p| println!("{}", output::json(&p))),
                ReportFormat::Csv => store
                    .write_smtp_csv_with(&filter, lang, csv, &mut out)
                    .map(drop),
                ReportFormat::Html => store
                    .write_smtp_html(&filter, lang, SystemTime::now(), &mut out)
                    .map(drop),
            }
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
