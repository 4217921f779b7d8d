//! The subcommands: thin calls into mail-settings-core.

use crate::output::{self, EXIT_FAILED, EXIT_USAGE};
use crate::{Cli, Command, TextOrJson};
use mail_settings_core::validate::validate_document;
use mail_settings_core::{CredentialProvider, CredentialsFile, Format, SettingsDocument};
use std::path::Path;
use std::process::ExitCode;

/// Runs one command.
pub fn run(cli: Cli) -> ExitCode {
    let credentials = match cli.credentials.as_deref().map(CredentialsFile::load).transpose() {
        Ok(c) => c,
        Err(e) => return output::fail(EXIT_USAGE, e),
    };
    match &cli.command {
        Command::Validate { file, format } => validate(&cli, file, *format, credentials.as_ref()),
        other => output::fail(EXIT_USAGE, format!("{other:?}: not available yet")),
    }
}

fn read_document(file: &Path) -> Result<SettingsDocument, ExitCode> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| output::fail(EXIT_USAGE, format!("{}: {e}", file.display())))?;
    SettingsDocument::parse(&text, Format::from_path(file))
        .map_err(|e| output::fail(EXIT_USAGE, format!("{}: {e}", file.display())))
}

fn validate(
    cli: &Cli,
    file: &Path,
    format: TextOrJson,
    credentials: Option<&CredentialsFile>,
) -> ExitCode {
    let doc = match read_document(file) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let v = validate_document(&doc, credentials.map(|c| c as &dyn CredentialProvider));
    match format {
        TextOrJson::Text => print!("{}", output::validation_text(&v, cli.lang)),
        TextOrJson::Json => println!("{}", output::validation_json(&v)),
    }
    if v.has_errors() {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}
