//! `collect`, `status`, `inbox` and `show`: the collector and the inbox.

use crate::commands::{app_failure, store_failure, Ctx};
use crate::output::{self, cell, count, line, EXIT_FAILED, EXIT_USAGE};
use crate::{esay, say, TextOrJson};
use mail_settings_core::app::{AccountKind, AccountRef, AppOptions, CollectOnceError};
use mail_settings_core::collector::{
    AccountStatus, CancelToken, MessageOutcome, MessageProblem, ProgressListener, RunControl,
    RunReport,
};
use mail_settings_core::inbox::{Inbox, InboxQuery};
use mail_settings_core::report::format_utc;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

fn when(secs: Option<i64>) -> String {
    match secs.and_then(|s| u64::try_from(s).ok()) {
        Some(s) => format_utc(UNIX_EPOCH + Duration::from_secs(s)),
        None => "-".to_owned(),
    }
}

/// Whether a run left a message behind that was neither stored nor deliberately skipped (an
/// outcome `refused` or `failed`): `collect` then exits 1.
fn has_failures(r: &RunReport) -> bool {
    r.problems
        .iter()
        .any(|p| matches!(p.outcome, MessageOutcome::Refused | MessageOutcome::Failed))
}

/// One line per message left on the server, indented under its account.
fn print_problems(problems: &[MessageProblem]) {
    for p in problems {
        let size = p.size.map(|s| format!(", {s} bytes")).unwrap_or_default();
        let category = p.category.map(|c| format!(" ({c})")).unwrap_or_default();
        say!(
            "  {}: {}{category}{size}: {}",
            line(&p.message.to_string()),
            p.outcome,
            line(&p.reason)
        );
    }
}

/// `mail-settings collect [--once] [ACCOUNT…]`.
pub fn collect(
    ctx: &Ctx<'_>,
    once: bool,
    names: &[String],
    format: TextOrJson,
) -> Result<ExitCode, ExitCode> {
    let app = ctx.app("collect", ctx.store()?, AppOptions::default())?;
    let collector = app.collector();
    let accounts: Vec<AccountRef> = names.iter().map(|n| AccountRef::parse(n)).collect();
    let cancel = CancelToken::new();
    {
        let cancel = cancel.clone();
        // Ctrl-C stops runs at the next message boundary; what was fetched stays committed.
        let _ = ctrlc::set_handler(move || cancel.cancel());
    }
    if !once {
        if !accounts.is_empty() {
            return Err(output::fail(
                EXIT_USAGE,
                "the running collector checks every enabled account with automatic check: name accounts only with --once",
            ));
        }
        if crate::progress::on_terminal() {
            collector.add_listener(crate::progress::collect_listener());
        }
        collector
            .start()
            .map_err(|e| output::fail(EXIT_FAILED, e))?;
        // Report schedules run beside the collector (not with --once).
        crate::schedule::background(&app, cancel.clone());
        esay!("collector running; Ctrl-C stops it");
        while !cancel.is_cancelled() {
            std::thread::sleep(Duration::from_millis(200));
        }
        collector.stop();
        esay!("collector stopped");
        return Ok(ExitCode::SUCCESS);
    }
    // A bar per account on a terminal, a plain line per account otherwise (crate::progress).
    let progress: Option<Arc<dyn ProgressListener>> = Some(crate::progress::collect_listener());
    let control = RunControl { cancel, progress };
    let results = app
        .collect_once(&collector, &accounts, &control)
        .map_err(|e| match e {
            CollectOnceError::Account(e) => app_failure(e),
            CollectOnceError::Collect(e) => output::fail(EXIT_FAILED, e),
        })?;
    // Exit status: 0 when every message listed was stored, recognised as stored already, or
    // deliberately skipped as too large (and reported); 1 when a run failed or a message was
    // refused or failed (each is listed with its reason).
    let mut failed = false;
    let mut json = Vec::new();
    for (id, result) in &results {
        match result {
            Ok(r) => {
                let problems = has_failures(r);
                failed |= problems;
                if format == TextOrJson::Text {
                    say!(
                        "{}: {} listed, {} fetched, {} already stored, {}, {} skipped as too large, {} refused or failed, {} deleted on server, {} pending, {:.1} MB{}",
                        line(&r.account_name),
                        r.listed,
                        r.fetched,
                        r.already_stored,
                        count(r.duplicates, "duplicate", "duplicates"),
                        r.skipped_too_large,
                        r.problems
                            .iter()
                            .filter(|p| matches!(
                                p.outcome,
                                MessageOutcome::Refused | MessageOutcome::Failed
                            ))
                            .count(),
                        r.deleted_on_server,
                        r.pending,
                        r.bytes as f64 / 1e6,
                        if r.cancelled { " (cancelled)" } else { "" }
                    );
                    print_problems(&r.problems);
                    for n in &r.notes {
                        say!("  note: {}", line(n));
                    }
                }
                json.push(serde_json::json!({"account_id": id, "ok": !problems, "report": r}));
            }
            Err(e) => {
                failed = true;
                if format == TextOrJson::Text {
                    say!(
                        "account {id}: FAILED ({}): {}",
                        e.category(),
                        line(&e.to_string())
                    );
                    if let Some(r) = e.report() {
                        print_problems(&r.problems);
                        for n in &r.notes {
                            say!("  note: {}", line(n));
                        }
                    }
                }
                json.push(serde_json::json!({
                    "account_id": id, "ok": false, "category": e.category(),
                    "error": e.to_string(), "report": e.report(),
                }));
            }
        }
    }
    if format == TextOrJson::Json {
        println!("{}", output::json(&json));
    }
    Ok(if failed {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// `mail-settings status`.
pub fn status(ctx: &Ctx<'_>, format: TextOrJson) -> Result<ExitCode, ExitCode> {
    let store = ctx.store_for_reading()?;
    let statuses: Vec<AccountStatus> =
        mail_settings_core::collector::account_statuses(&store).map_err(|e| store_failure(&e))?;
    match format {
        TextOrJson::Json => println!("{}", output::json(&statuses)),
        TextOrJson::Text => {
            say!(
                "{:>3}  {:<40} {:<23} {:<23} {:>7} {:>7} {:>7} {:>6}  last error",
                "ID",
                "Name",
                "Last check",
                "Last success",
                "Fetched",
                "Skipped",
                "Pending",
                "Inbox"
            );
            for s in &statuses {
                say!(
                    "{:>3}  {:<40} {:<23} {:<23} {:>7} {:>7} {:>7} {:>6}  {}",
                    s.account_id,
                    cell(&s.account_name, 40),
                    when(s.last_check),
                    when(s.last_success),
                    s.fetched,
                    s.skipped,
                    s.pending,
                    s.inbox_messages,
                    s.last_error
                        .as_ref()
                        .map(|e| format!("{}: {}", e.category, line(&e.message)))
                        .unwrap_or_default()
                );
                if s.needs_expunging {
                    say!(
                        "  needs expunging: the server offers neither MOVE nor UIDPLUS, so \
                         archived messages stay in their folder marked \\Deleted until someone \
                         expunges it"
                    );
                }
                print_problems(&s.problems);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `mail-settings inbox ACCOUNT`.
#[allow(clippy::too_many_arguments)]
pub fn inbox(
    ctx: &Ctx<'_>,
    account: &str,
    search: Option<&str>,
    unread: bool,
    page: u32,
    page_size: u32,
    (format, bom): (crate::ReportFormat, bool),
) -> Result<ExitCode, ExitCode> {
    if bom && format != crate::ReportFormat::Csv {
        return Err(output::fail(
            EXIT_USAGE,
            "--bom goes with --format csv only",
        ));
    }
    let store = Arc::new(ctx.store_for_reading()?);
    let account = if account.eq_ignore_ascii_case("all") {
        None
    } else {
        Some(
            mail_settings_core::app::account_id(
                &store,
                AccountKind::Incoming,
                &AccountRef::parse(account),
            )
            .map_err(app_failure)?,
        )
    };
    let query = InboxQuery {
        account,
        text_contains: search.map(str::to_owned),
        unread_only: unread,
        page,
        page_size,
        ..InboxQuery::default()
    };
    let inbox = Inbox::new(store);
    // The inbox report: CSV and HTML of the whole filtered listing.
    let lang = ctx.cli.lang.core();
    match format {
        crate::ReportFormat::Csv => {
            let options = mail_settings_core::report::CsvOptions::default().bom(bom);
            inbox
                .write_csv(&query, lang, options, std::io::stdout().lock())
                .map_err(|e| store_failure(&e))?;
            return Ok(ExitCode::SUCCESS);
        }
        crate::ReportFormat::Html => {
            inbox
                .write_html(
                    &query,
                    lang,
                    std::time::SystemTime::now(),
                    std::io::stdout().lock(),
                )
                .map_err(|e| store_failure(&e))?;
            return Ok(ExitCode::SUCCESS);
        }
        crate::ReportFormat::Text | crate::ReportFormat::Json => {}
    }
    let format = if format == crate::ReportFormat::Json {
        TextOrJson::Json
    } else {
        TextOrJson::Text
    };
    let page = inbox.list(&query).map_err(|e| store_failure(&e))?;
    match format {
        TextOrJson::Json => println!("{}", output::json(&page)),
        TextOrJson::Text => {
            say!(
                "{:>5}  {:<1} {:<23} {:<32} {:<40} {:>9} {:>3}",
                "ID",
                "",
                "Date",
                "From",
                "Subject",
                "Size",
                "Att"
            );
            for m in &page.messages {
                say!(
                    "{:>5}  {:<1} {:<23} {:<32} {:<40} {:>9} {:>3}",
                    m.id,
                    if m.read { " " } else { "*" },
                    when(m.date.or(Some(m.stored_at))),
                    cell(&m.from, 32),
                    cell(m.subject.as_deref().unwrap_or("(no subject)"), 40),
                    m.size,
                    m.attachment_count
                );
            }
            say!(
                "Page {} of {} ({}; * unread)",
                page.page,
                page.pages.max(1),
                count(page.total, "message", "messages")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `mail-settings show MESSAGE`: the parsed message, safe for a terminal (headers on one line
/// each, the body with its line breaks and tabs), and marked read — unless the store is
/// read-only, which is said on stderr. `--raw` writes the stored bytes as they are, to a pipe or
/// a file; to a terminal only with `--force`.
pub fn show(
    ctx: &Ctx<'_>,
    id: i64,
    raw: bool,
    force: bool,
    format: TextOrJson,
) -> Result<ExitCode, ExitCode> {
    if raw && !force && std::io::stdout().is_terminal() {
        return Err(output::fail(
            EXIT_USAGE,
            "--raw writes the message's bytes as they are, and they may hold terminal control sequences: redirect it to a file or a pipe, or add --force",
        ));
    }
    let store = Arc::new(ctx.store_for_reading()?);
    let read_only = store.is_read_only();
    let inbox = Inbox::new(store);
    if raw {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        inbox
            .copy_raw_to(id, &mut out)
            .map_err(|e| store_failure(&e))?;
        return Ok(ExitCode::SUCCESS);
    }
    let view = inbox.read_message(id).map_err(|e| store_failure(&e))?;
    if read_only {
        esay!("mail-settings: the store is read-only: message {id} is shown but not marked read");
    } else {
        inbox.mark_read(id, true).map_err(|e| store_failure(&e))?;
    }
    match format {
        TextOrJson::Json => println!("{}", output::json(&view)),
        TextOrJson::Text => {
            let s = &view.summary;
            say!(
                "Message {} in \"{}\" ({})",
                s.id,
                line(&s.account_name),
                line(&s.source)
            );
            say!("From:    {}", line(&s.from));
            say!("To:      {}", line(&s.to));
            if !s.cc.is_empty() {
                say!("Cc:      {}", line(&s.cc));
            }
            say!("Date:    {}", when(s.date));
            say!(
                "Subject: {}",
                line(s.subject.as_deref().unwrap_or("(no subject)"))
            );
            if let Some(id) = &s.message_id {
                say!("Message-ID: <{}>", line(id));
            }
            say!();
            match (&view.body.text, &view.body.html) {
                (Some(text), _) => say!("{}", output::body(text.trim_end())),
                (None, Some(html)) => say!("(HTML only, {} characters)", html.chars().count()),
                (None, None) => say!("(no text body)"),
            }
            for a in &view.body.attachments {
                say!(
                    "[attachment] {} ({}, {} bytes)",
                    line(a.name.as_deref().unwrap_or("(unnamed)")),
                    line(&a.content_type),
                    a.size
                );
            }
            if let Some(e) = &view.body.parse_error {
                say!("[stored raw: {}]", line(e));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
