//! Commands that go on the wire: `check` and `test-smtp`.

use crate::commands::Ctx;
use crate::output::{self, line, EXIT_FAILED, EXIT_USAGE};
use crate::{esay, say, ReportKind, TextOrJson};
use mail_settings_core::check::{check_incoming, check_smtp, CheckOptions};
use mail_settings_core::net::Timeouts;
use mail_settings_core::smtp::{self, SmtpOptions};
use mail_settings_core::store::Store;
use mail_settings_core::{Error, IncomingAccount, SmtpAccount};
use std::process::ExitCode;
use std::time::Duration;

/// An account named on the command line.
pub enum Account {
    /// IMAP or POP3.
    Incoming(IncomingAccount),
    /// SMTP.
    Smtp(SmtpAccount),
}

fn by_name_or_id<T>(
    name: &str,
    by_id: impl Fn(i64) -> mail_settings_core::Result<T>,
    by_name: impl Fn(&str) -> mail_settings_core::Result<T>,
) -> Option<mail_settings_core::Result<T>> {
    let found = match name.parse::<i64>() {
        Ok(id) => by_id(id),
        Err(_) => by_name(name),
    };
    match found {
        Err(Error::Store(e)) if e.category() == mail_settings_core::ErrorCategory::NotFound => None,
        other => Some(other),
    }
}

/// Finds an account by name or id, in the kind asked or in both (refusing an ambiguous name).
pub fn find_account(
    store: &Store,
    name: &str,
    kind: Option<ReportKind>,
) -> Result<Account, ExitCode> {
    let incoming = || {
        by_name_or_id(
            name,
            |id| store.incoming_account(id),
            |n| store.incoming_account_by_name(n),
        )
        .map(|r| r.map(Account::Incoming))
    };
    let smtp = || {
        by_name_or_id(
            name,
            |id| store.smtp_account(id),
            |n| store.smtp_account_by_name(n),
        )
        .map(|r| r.map(Account::Smtp))
    };
    let found = match kind {
        Some(ReportKind::Incoming) => incoming(),
        Some(ReportKind::Smtp) => smtp(),
        None => match (incoming(), smtp()) {
            (Some(_), Some(_)) => {
                return Err(output::fail(
                    EXIT_USAGE,
                    format!("\"{}\" names an incoming and an SMTP account: add --kind incoming or --kind smtp", line(name)),
                ))
            }
            (a, b) => a.or(b),
        },
    };
    match found {
        Some(Ok(a)) => Ok(a),
        Some(Err(Error::Validation(v))) => {
            eprint!("{}", output::validation_text(&v, crate::Lang::En));
            Err(output::fail(
                EXIT_FAILED,
                format!("account \"{}\" has errors: fix them first", line(name)),
            ))
        }
        Some(Err(e)) => Err(output::fail(EXIT_FAILED, e)),
        None => Err(output::fail(
            EXIT_USAGE,
            format!("no account named \"{}\"", line(name)),
        )),
    }
}

/// `mail-settings check ACCOUNT`.
pub fn check(
    ctx: &Ctx<'_>,
    name: &str,
    kind: Option<ReportKind>,
    timeout: u64,
    format: TextOrJson,
) -> Result<ExitCode, ExitCode> {
    let creds = ctx.require_credentials("check")?;
    let creds = creds.as_ref();
    let store = ctx.store()?;
    // `--timeout` bounds the whole check, not only each step of it: a server that answers a
    // line at a time, each within the step's bound, still ends the check at `--timeout`.
    let bound = Duration::from_secs(timeout.max(1));
    let mut timeouts = Timeouts::uniform(bound);
    timeouts.check = bound;
    let options = CheckOptions {
        timeouts,
        ..CheckOptions::default()
    };
    let account = find_account(&store, name, kind)?;
    let spinner = crate::progress::Spinner::start(&format!("checking {name}"));
    let report = match account {
        Account::Incoming(a) => check_incoming(&a, creds, &options),
        Account::Smtp(a) => check_smtp(&a, creds, &options),
    };
    spinner.done();
    match format {
        // The report quotes servers (greeting, capabilities, replies): escaped for the terminal.
        TextOrJson::Text => say!("{report}"),
        TextOrJson::Json => println!("{}", mail_settings_core::text::json_safe(&report.to_json())),
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

/// `mail-settings test-smtp ACCOUNT --to ADDR`.
pub fn test_smtp(
    ctx: &Ctx<'_>,
    name: &str,
    to: &str,
    subject: Option<&str>,
    message: Option<&str>,
    timeout: u64,
    format: TextOrJson,
) -> Result<ExitCode, ExitCode> {
    let creds = ctx.require_credentials("test-smtp")?;
    let creds = creds.as_ref();
    let store = ctx.store()?;
    let Account::Smtp(account) = find_account(&store, name, Some(ReportKind::Smtp))? else {
        return Err(output::fail(
            EXIT_USAGE,
            format!("\"{}\" is not an SMTP account", line(name)),
        ));
    };
    let options =
        SmtpOptions::with_timeouts(Timeouts::uniform(Duration::from_secs(timeout.max(1))));
    let result = smtp::send_test(&account, creds, to, subject, message, &options);
    let (ok, json) = match &result {
        Ok(report) => (
            true,
            serde_json::json!({
                "ok": true,
                "account": account.name(),
                "to": to,
                "accepted": report.accepted,
                "message_id": report.message_id,
                "server_reply": report.reply.summary(),
            }),
        ),
        Err(e) => (
            false,
            serde_json::json!({
                "ok": false,
                "account": account.name(),
                "to": to,
                "category": e.category(),
                "error": e.to_string(),
            }),
        ),
    };
    match format {
        TextOrJson::Json => println!("{}", output::json(&json)),
        TextOrJson::Text => match &result {
            Ok(r) => say!(
                "test message sent through \"{}\" to {}: {} ({})",
                line(account.name()),
                line(to),
                line(&r.reply.summary()),
                line(r.message_id.as_deref().unwrap_or("no Message-ID"))
            ),
            Err(e) => esay!(
                "mail-settings: test message not sent ({}): {}",
                e.category(),
                line(&e.to_string())
            ),
        },
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}
