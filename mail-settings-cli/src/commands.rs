//! The subcommands: thin calls into mail-settings-core.

use crate::output::{self, EXIT_FAILED, EXIT_USAGE};
use crate::{say, Cli, Command, DocFormat, TextOrJson};
use mail_settings_core::app::{AccountRef, AppOptions, MailSettings};
use mail_settings_core::store::{Store, StoreError};
use mail_settings_core::validate::validate_document;
use mail_settings_core::{CredentialProvider, CredentialsFile, Format, SettingsDocument};
use std::io::IsTerminal;
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
    /// The store path: `--db`, else `$MAIL_SETTINGS_DB`, else `./mail-settings.sqlite3`. A
    /// `postgres://` URL there is a PostgreSQL store (`Store::open` tells them apart).
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
        Ok(self.with_provider(store))
    }

    /// Opens the store for a command that only reads (`export`, `report`, `inbox`, `status`,
    /// `show`): as [`Ctx::store`], and when the file or its directory cannot be written (mode
    /// 0444, a read-only directory or medium), read-only instead ([`Store::is_read_only`]).
    pub fn store_for_reading(&self) -> Result<Store, ExitCode> {
        let path = self.db_path();
        let store = match Store::open(&path) {
            Ok(store) => store,
            Err(
                e @ (StoreError::NotADatabase { .. }
                | StoreError::SchemaTooNew { .. }
                | StoreError::Invalid(_)),
            ) => return Err(store_failure(&e)),
            Err(e) => match Store::open_read_only(&path) {
                Ok(store) => store,
                Err(_) => return Err(store_failure(&e)),
            },
        };
        Ok(self.with_provider(store))
    }

    fn with_provider(&self, store: Store) -> Store {
        match &self.credentials {
            Some(c) => store.with_credentials(c.clone() as Arc<dyn CredentialProvider>),
            None => store,
        }
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

    /// The application over `store` for a command that logs in (`--credentials` required).
    pub fn app(
        &self,
        command: &str,
        store: Store,
        options: AppOptions,
    ) -> Result<MailSettings, ExitCode> {
        let creds = self.require_credentials(command)?;
        // The credentials file is also the OAuth2 token store: stored OAUTH2 accounts sign in
        // with their clients, and rotated refresh tokens are written back into it.
        MailSettings::new(
            Arc::new(store),
            creds.clone() as Arc<dyn CredentialProvider>,
            options,
        )
        .with_token_store(Some(
            creds as Arc<dyn mail_settings_core::oauth2::TokenStore>,
        ))
        .map_err(app_failure)
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

/// Prints an error of the application layer: an account that does not resolve is a usage
/// error (exit 2) naming what was asked; an account with invalid settings prints its results
/// (exit 1); store errors as [`store_failure`].
pub fn app_failure(e: mail_settings_core::Error) -> ExitCode {
    use mail_settings_core::Error;
    match e {
        Error::Account(e) => output::fail(EXIT_USAGE, output::line(&e.to_string())),
        Error::Validation(v) => {
            eprint!("{}", output::validation_text(&v, crate::Lang::En));
            output::fail(EXIT_FAILED, "the account has errors: fix them first")
        }
        Error::Store(e) => store_failure(&e),
        e => output::fail(EXIT_FAILED, output::line(&e.to_string())),
    }
}

/// The account a command names: `ACCOUNT` (a number is an id, anything else a name), or the
/// default SMTP account with `--default`.
pub fn account_ref(account: Option<&str>, default: bool) -> Result<AccountRef, ExitCode> {
    match (account, default) {
        (Some(a), false) => Ok(AccountRef::parse(a)),
        (None, true) => Ok(AccountRef::Default),
        _ => Err(output::fail(
            EXIT_USAGE,
            "name one account: ACCOUNT (an id or a name) or --default",
        )),
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
            default,
            kind,
            timeout,
            format,
        } => account_ref(account.as_deref(), *default)
            .and_then(|a| crate::server::check(&ctx, &a, *kind, *timeout, *format)),
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
            force,
            format,
        } => crate::collect::show(&ctx, *message, *raw, *force, *format),
        Command::Schedule(c) => crate::schedule::run(&ctx, c),
        Command::Journal(args) => crate::journal::run(&ctx, args),
        Command::Oauth2(c) => crate::oauth2::run(&ctx, c),
        Command::TestSmtp {
            account,
            default,
            to,
            subject,
            message,
            timeout,
            format,
        } => account_ref(account.as_deref(), *default).and_then(|a| {
            crate::server::test_smtp(
                &ctx,
                &a,
                to,
                subject.as_deref(),
                message.as_deref(),
                *timeout,
                *format,
            )
        }),
        Command::Completions { shell } => crate::finish::completions(*shell),
        Command::Man => crate::finish::man(),
    };
    result.unwrap_or_else(|code| code)
}

/// Reads a settings document: a regular file only (a FIFO or a device is refused at once),
/// with or without a UTF-8 byte-order mark.
fn read_document(file: &Path) -> Result<SettingsDocument, ExitCode> {
    SettingsDocument::read_file(file, None)
        .map_err(|e| output::fail(EXIT_USAGE, format!("{}: {e}", file.display())))
}

fn validate(ctx: &Ctx<'_>, file: &Path, format: TextOrJson) -> Result<ExitCode, ExitCode> {
    let doc = read_document(file)?;
    let v = validate_document(&doc, ctx.provider());
    match format {
        TextOrJson::Text => print!(
            "{}",
            mail_settings_core::text::terminal_safe(&output::validation_text(&v, ctx.cli.lang))
        ),
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
    say!(
        "imported {} into {}: {} created, {} updated, {} unchanged, {} deleted",
        output::line(&file.display().to_string()),
        // The store's own words: a PostgreSQL URL without its password.
        output::line(&store.location_text()),
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.deleted
    );
    Ok(ExitCode::SUCCESS)
}

/// JSON goes out with `\uXXXX` escapes for what could drive a terminal (the same document);
/// TOML is escaped for the terminal only when stdout is one, and written exactly otherwise, so
/// a file or a pipe always reads back as the same settings.
fn export(ctx: &Ctx<'_>, format: DocFormat) -> Result<ExitCode, ExitCode> {
    // Reading needs no credentials: the facade gets an empty provider.
    let app = MailSettings::new(
        Arc::new(ctx.store_for_reading()?),
        Arc::new(mail_settings_core::InMemoryCredentials::new()),
        AppOptions::default(),
    );
    let doc = app.export_document().map_err(|e| store_failure(&e))?;
    match format {
        DocFormat::Json => println!("{}", output::json(&doc)),
        DocFormat::Toml => {
            let text = doc.to_string(Format::Toml);
            if std::io::stdout().is_terminal() {
                say!("{}", text.trim_end());
            } else {
                println!("{}", text.trim_end());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
