//! The subcommands: thin calls into mail-settings-core.

use crate::output::{self, EXIT_FAILED, EXIT_USAGE};
use crate::{Cli, Command, DocFormat, TextOrJson};
use mail_settings_core::store::{Store, StoreError};
use mail_settings_core::validate::validate_document;
use mail_settings_core::{CredentialProvider, CredentialsFile, Format, SettingsDocument};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// What every command may need: the options and the credential provider.
pub struct Ctx<'a> {
    /// The parsed command line.
    pub cli: &'a Cli,
    /// The credentials file, when `--credentials` was given.
    pub credentials: Option<Arc<CredentialsFile>>,
}

impl Ctx<'_> {
    /// The store path: `--db`, else `$MAIL_SETTINGS_DB`, else `./mail-settings.sqlite3`.
    pub fn db_path(&self) -> PathBuf {
        self.cli
            .db
            .clone()
            .or_else(|| std::env::var_os("MAIL_SETTINGS_DB").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("mail-settings.sqlite3"))
    }

    /// Opens the store, with the credential provider when there is one.
    pub fn store(&self) -> Result<Store, ExitCode> {
        let path = self.db_path();
        let store = Store::open(&path).map_err(|e| store_failure(&e))?;
        Ok(match &self.credentials {
            Some(c) => store.with_credentials(c.clone() as Arc<dyn CredentialProvider>),
            None => store,
        })
    }

    /// The credentials file, required by commands that log in: a usage error without it.
    pub fn require_credentials(&self, command: &str) -> Result<Arc<CredentialsFile>, ExitCode> {
        self.credentials.clone().ok_or_else(|| {
            output::fail(
                EXIT_USAGE,
                format!("{command} needs --credentials FILE to log in"),
            )
        })
    }

    /// The provider as a trait object, when there is one.
    pub fn provider(&self) -> Option<&dyn CredentialProvider> {
        self.credentials
            .as_deref()
            .map(|c| c as &dyn CredentialProvider)
    }
}

/// Prints a store error; validation results in full. Exit 1 for refusals, 2 for a file that
/// is not a usable store.
pub fn store_failure(e: &StoreError) -> ExitCode {
    match e {
        StoreError::Invalid(v) => {
            eprint!("{}", output::validation_text(v, crate::Lang::En));
            output::fail(
                EXIT_FAILED,
                "the store refused the change: nothing was written",
            )
        }
        StoreError::NotADatabase { .. } | StoreError::SchemaTooNew { .. } => {
            output::fail(EXIT_USAGE, e)
        }
        _ => output::fail(EXIT_FAILED, e),
    }
}

/// Runs one command.
pub fn run(cli: Cli) -> ExitCode {
    let credentials = match cli
        .credentials
        .as_deref()
        .map(CredentialsFile::load)
        .transpose()
    {
        Ok(c) => c.map(Arc::new),
        Err(e) => return output::fail(EXIT_USAGE, e),
    };
    let ctx = Ctx {
        cli: &cli,
        credentials,
    };
    let result = match &cli.command {
        Command::Validate { file, format } => validate(&ctx, file, *format),
        Command::Import { file } => import(&ctx, file),
        Command::Export { format } => export(&ctx, *format),
        Command::Report(args) => crate::report::run(&ctx, args),
        Command::Check {
            account,
            kind,
            timeout,
            format,
        } => crate::wire::check(&ctx, account, *kind, *timeout, *format),
        Command::Collect {
            once,
            accounts,
            format,
        } => crate::collect::collect(&ctx, *once, accounts, *format),
        Command::Status { format } => crate::collect::status(&ctx, *format),
        Command::Inbox {
            account,
            search,
            unread,
            page,
            page_size,
            format,
            bom,
        } => crate::collect::inbox(
            &ctx,
            account,
            search.as_deref(),
            *unread,
            *page,
            *page_size,
            (*format, *bom),
        ),
        Command::Show {
            message,
            raw,
            format,
        } => crate::collect::show(&ctx, *message, *raw, *format),
        Command::Schedule(c) => crate::schedule::run(&ctx, c),
        Command::TestSmtp {
            account,
            to,
            subject,
            message,
            timeout,
            format,
        } => crate::wire::test_smtp(
            &ctx,
            account,
            to,
            subject.as_deref(),
            message.as_deref(),
            *timeout,
            *format,
        ),
    };
    result.unwrap_or_else(|code| code)
}

fn read_document(file: &Path) -> Result<SettingsDocument, ExitCode> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| output::fail(EXIT_USAGE, format!("{}: {e}", file.display())))?;
    SettingsDocument::parse(&text, Format::from_path(file))
        .map_err(|e| output::fail(EXIT_USAGE, format!("{}: {e}", file.display())))
}

fn validate(ctx: &Ctx<'_>, file: &Path, format: TextOrJson) -> Result<ExitCode, ExitCode> {
    let doc = read_document(file)?;
    let v = validate_document(&doc, ctx.provider());
    match format {
        TextOrJson::Text => print!("{}", output::validation_text(&v, ctx.cli.lang)),
        TextOrJson::Json => println!("{}", output::validation_json(&v)),
    }
    Ok(if v.has_errors() {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

fn import(ctx: &Ctx<'_>, file: &Path) -> Result<ExitCode, ExitCode> {
    let doc = read_document(file)?;
    let store = ctx.store()?;
    // Warnings do not block; show them, then import (which validates again, all or nothing).
    let v = validate_document(&doc, ctx.provider());
    if !v.is_empty() {
        eprint!("{}", output::validation_text(&v, ctx.cli.lang));
    }
    if v.has_errors() {
        return Err(output::fail(
            EXIT_FAILED,
            "the document has errors: nothing was written",
        ));
    }
    let summary = store.import(&doc).map_err(|e| store_failure(&e))?;
    println!(
        "imported {} into {}: {} created, {} updated, {} unchanged, {} deleted",
        file.display(),
        ctx.db_path().display(),
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.deleted
    );
    Ok(ExitCode::SUCCESS)
}

fn export(ctx: &Ctx<'_>, format: DocFormat) -> Result<ExitCode, ExitCode> {
    let doc = ctx.store()?.export().map_err(|e| store_failure(&e))?;
    let format = match format {
        DocFormat::Json => Format::Json,
        DocFormat::Toml => Format::Toml,
    };
    println!("{}", doc.to_string(format).trim_end());
    Ok(ExitCode::SUCCESS)
}
