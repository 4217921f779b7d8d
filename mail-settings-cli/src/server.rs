//! Commands that talk to a mail server: `check` and `test-smtp`. The account is resolved by
//! the application layer ([`mail_settings_core::app`]); this module only translates arguments
//! and output.

use crate::commands::{app_failure, Ctx};
use crate::output::{self, line, EXIT_FAILED};
use crate::{esay, say, ReportKind, TextOrJson};
use mail_settings_core::app::{AccountKind, AccountRef, AppOptions};
use mail_settings_core::net::Timeouts;
use std::process::ExitCode;
use std::time::Duration;

fn kind(kind: Option<ReportKind>) -> Option<AccountKind> {
    kind.map(|k| match k {
        ReportKind::Incoming => AccountKind::Incoming,
        ReportKind::Smtp => AccountKind::Smtp,
    })
}

/// `mail-settings check ACCOUNT`.
pub fn check(
    ctx: &Ctx<'_>,
    account: &AccountRef,
    account_kind: Option<ReportKind>,
    timeout: u64,
    format: TextOrJson,
) -> Result<ExitCode, ExitCode> {
    let store = ctx.store()?;
    // `--timeout` bounds the whole check, not only each step of it: a server that answers a
    // line at a time, each within the step's bound, still ends the check at `--timeout`.
    let bound = Duration::from_secs(timeout.max(1));
    let mut timeouts = Timeouts::uniform(bound);
    timeouts.check = bound;
    let app = ctx.app("check", store, AppOptions::with_timeouts(timeouts))?;
    let spinner = crate::progress::Spinner::start(&format!("checking {account}"));
    let report = app.check(account, kind(account_kind));
    spinner.done();
    let report = report.map_err(app_failure)?;
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
    account: &AccountRef,
    to: &str,
    subject: Option<&str>,
    message: Option<&str>,
    timeout: u64,
    format: TextOrJson,
) -> Result<ExitCode, ExitCode> {
    let store = ctx.store()?;
    let options = AppOptions::with_timeouts(Timeouts::uniform(Duration::from_secs(timeout.max(1))));
    let app = ctx.app("test-smtp", store, options)?;
    // The account is resolved first: a name that does not resolve is a usage error.
    let account = app.smtp_account(account).map_err(app_failure)?;
    let result = app.send_test(
        &AccountRef::Id(account.id().unwrap_or_default()),
        to,
        subject,
        message,
    );
    let (ok, json) = match &result {
        Ok((_, report)) => (
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
            Ok((_, r)) => say!(
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
