//! Printing and exit codes.
//!
//! Everything the command prints is safe for a terminal (`mail_settings_core::text`): text
//! lines go through [`say!`](crate::say) / [`esay!`](crate::esay) (control characters and
//! bidi overrides escaped, LF and TAB kept), and every value that must stay on one line (a
//! name, an address, a subject, a server reply) through [`line()`] first; message bodies through
//! [`body()`]; JSON through [`json()`] (`\uXXXX` escapes for what serde_json writes raw).

use crate::{Cli, Lang};
use clap::CommandFactory;
use mail_settings_core::text;
use mail_settings_core::{Validation, ValidationResult};
use std::borrow::Cow;
use std::process::ExitCode;

/// Writes to standard output. When the reader went away (a closed pipe: `| head`,
/// `| grep -q`) the command ends at once with status 0 (what it printed was not wanted any
/// more); any other write error ends it with status 74 (EX_IOERR) and a line on stderr.
pub fn out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("mail-settings: cannot write to standard output: {e}");
        std::process::exit(74);
    }
}

/// `println!` made safe for a terminal.
#[macro_export]
macro_rules! say {
    () => { println!() };
    ($($t:tt)*) => {
        println!("{}", mail_settings_core::text::terminal_safe(&format!($($t)*)))
    };
}

/// `eprintln!` made safe for a terminal.
#[macro_export]
macro_rules! esay {
    ($($t:tt)*) => {
        eprintln!("{}", mail_settings_core::text::terminal_safe(&format!($($t)*)))
    };
}

/// One-line text made safe for a terminal: control characters, CR, LF and TAB escaped.
pub fn line(s: &str) -> Cow<'_, str> {
    text::terminal_safe_line(s)
}

/// A message body made safe for a terminal: LF and TAB kept, CRLF as LF, the rest escaped.
pub fn body(s: &str) -> Cow<'_, str> {
    text::terminal_safe_body(s)
}

/// A one-line value made safe and cut to `width` characters with an ellipsis (`…`).
pub fn cell(s: &str, width: usize) -> String {
    text::ellipsize(&line(s), width).into_owned()
}

/// Pretty JSON of `v`, safe for a terminal (and the same JSON value).
pub fn json(v: &impl serde::Serialize) -> String {
    let text = serde_json::to_string_pretty(v)
        .unwrap_or_else(|e| format!("{{\"error\": \"{}\"}}", line(&e.to_string())));
    text::json_safe(&text).into_owned()
}

/// `n` and the noun, singular for 1: `1 message`, `2 messages`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

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
            // The error quotes what was typed: made safe like everything else printed.
            eprint!("{}", text::terminal_safe(&e.render().to_string()));
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
    eprintln!("mail-settings: {}", line(&message.to_string()));
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
            line(&r.path),
            line(message(r, lang)),
            r.code
        ));
    }
    let errors = v.errors().count() as u64;
    let warnings = v.warnings().count() as u64;
    out.push_str(&match lang {
        Lang::En => format!(
            "{}, {}\n",
            count(errors, "error", "errors"),
            count(warnings, "warning", "warnings")
        ),
        Lang::PtBr => format!(
            "{}, {}\n",
            count(errors, "erro", "erros"),
            count(warnings, "aviso", "avisos")
        ),
    });
    out
}

/// Validation results as the JSON array the CLI promises: path, code, severity, message,
/// message_pt_br.
pub fn validation_json(v: &Validation) -> String {
    json(&v.results())
}
