//! Printing and exit codes.

use crate::{Cli, Lang};
use clap::CommandFactory;
use mail_settings_core::{Validation, ValidationResult};
use std::process::ExitCode;

/// The work was done and found errors.
pub const EXIT_FAILED: u8 = 1;
/// Usage error, or input that cannot be read.
pub const EXIT_USAGE: u8 = 2;

/// A usage error: the message, then the help of the (sub)command, exit 2. `--help` and
/// `--version` print to stdout and exit 0.
pub fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let _ = e.print();
            let mut cmd = Cli::command();
            cmd.build();
            // Show the subcommand's help when the error is inside one.
            let args: Vec<String> = std::env::args().skip(1).collect();
            let sub = args
                .iter()
                .find_map(|a| cmd.find_subcommand(a).map(|s| s.get_name().to_owned()));
            eprintln!();
            match sub.and_then(|name| cmd.find_subcommand_mut(&name).map(|s| s.render_help())) {
                Some(help) => eprintln!("{help}"),
                None => eprintln!("{}", cmd.render_help()),
            }
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Prints an error to stderr and returns `code`.
pub fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("mail-settings: {message}");
    ExitCode::from(code)
}

/// The message of a result in the chosen language.
pub fn message(r: &ValidationResult, lang: Lang) -> &str {
    match lang {
        Lang::En => &r.message,
        Lang::PtBr => &r.message_pt_br,
    }
}

/// Validation results as text lines, errors first, then a summary line.
pub fn validation_text(v: &Validation, lang: Lang) -> String {
    let mut out = String::new();
    let mut results: Vec<&ValidationResult> = v.results().iter().collect();
    results.sort_by_key(|r| r.severity);
    for r in results {
        out.push_str(&format!(
            "{:<7} {}: {} [{}]\n",
            r.severity.as_str(),
            r.path,
            message(r, lang),
            r.code
        ));
    }
    let errors = v.errors().count();
    let warnings = v.warnings().count();
    out.push_str(&match lang {
        Lang::En => format!("{errors} error(s), {warnings} warning(s)\n"),
        Lang::PtBr => format!("{errors} erro(s), {warnings} aviso(s)\n"),
    });
    out
}

/// Validation results as the JSON array the CLI promises: path, code, severity, message,
/// message_pt_br.
pub fn validation_json(v: &Validation) -> String {
    serde_json::to_string_pretty(v.results()).unwrap_or_else(|_| "[]".to_owned())
}
