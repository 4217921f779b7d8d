//! `mail-settings oauth2`: sign a credential in with a stored OAuth2 client (device code by
//! default, the browser with `--browser`), and the sign-in state of every OAUTH2 account. Both
//! are one call each into the application layer (`MailSettings::oauth2_sign_in`,
//! `MailSettings::oauth2_status`); the user name and refresh token go into the `--credentials`
//! file, never to the output.

use crate::commands::{app_failure, Ctx};
use crate::output::{self, cell, line};
use crate::{say, TextOrJson};
use mail_settings_core::app::oauth2::SignInPrompt;
use mail_settings_core::app::{AccountRef, AppOptions};
use std::process::ExitCode;
use std::time::Duration;

/// The `oauth2` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum OAuth2Command {
    /// Sign CREDENTIAL in with an OAuth2 client and keep the user name and refresh token in
    /// the --credentials file. Device code by default (prints the verification URL and the
    /// user code, then waits for the approval); --browser: authorization code with PKCE and a
    /// loopback redirect (prints the URL to open; Google needs it for the mail scope).
    SignIn {
        /// The credential id (the vault entry the OAUTH2 accounts name).
        credential: String,
        /// The OAuth2 client: a number is its id, anything else its name.
        #[arg(long)]
        client: String,
        /// Sign in in a browser instead of with a device code.
        #[arg(long)]
        browser: bool,
        /// The mailbox's user name (default: CREDENTIAL when it is an address).
        #[arg(long)]
        username: Option<String>,
        /// How long to wait for the person, in seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Every OAUTH2 account: signed in (and until when its access token is valid), not signed
    /// in, needs sign-in (and why), the client refused or disabled.
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
}

/// Runs an `oauth2` subcommand.
pub fn run(ctx: &Ctx<'_>, command: &OAuth2Command) -> Result<ExitCode, ExitCode> {
    match command {
        OAuth2Command::SignIn {
            credential,
            client,
            browser,
            username,
            timeout,
        } => sign_in(
            ctx,
            credential,
            client,
            *browser,
            username.as_deref(),
            *timeout,
        ),
        OAuth2Command::Status { format } => status(ctx, *format),
    }
}

fn sign_in(
    ctx: &Ctx<'_>,
    credential: &str,
    client: &str,
    browser: bool,
    username: Option<&str>,
    timeout: u64,
) -> Result<ExitCode, ExitCode> {
    let app = ctx.app("oauth2 sign-in", ctx.store()?, AppOptions::default())?;
    let mut show = |p: &SignInPrompt| match p {
        SignInPrompt::Device {
            verification_uri,
            verification_uri_complete,
            user_code,
        } => {
            say!(
                "To sign in, open {} and enter the code {}",
                line(verification_uri),
                line(user_code)
            );
            if let Some(u) = verification_uri_complete {
                say!("(or open {})", line(u));
            }
            say!("Waiting for the approval...");
        }
        SignInPrompt::Browser { authorize_url } => {
            say!("To sign in, open this URL in a browser on this machine:");
            say!("{}", line(authorize_url));
            say!("Waiting for the browser to come back to 127.0.0.1...");
        }
        _ => {}
    };
    app.oauth2_sign_in(
        credential,
        &AccountRef::parse(client),
        username,
        browser,
        Duration::from_secs(timeout.max(1)),
        &mut show,
    )
    .map_err(app_failure)?;
    say!(
        "signed in: the refresh token of \"{}\" is kept in the credentials file",
        line(credential)
    );
    Ok(ExitCode::SUCCESS)
}

fn status(ctx: &Ctx<'_>, format: TextOrJson) -> Result<ExitCode, ExitCode> {
    let app = ctx.app(
        "oauth2 status",
        ctx.store_for_reading()?,
        AppOptions::default(),
    )?;
    let statuses = app.oauth2_status().map_err(app_failure)?;
    match format {
        TextOrJson::Json => println!("{}", output::json(&statuses)),
        TextOrJson::Text => {
            say!(
                "{:<8} {:>3}  {:<30} {:<30} {:<20} {:<15} Details",
                "Kind",
                "ID",
                "Account",
                "Credential",
                "Client",
                "State"
            );
            for s in &statuses {
                let details = match (&s.token_valid_until, &s.reason) {
                    (_, Some(r)) => line(r).into_owned(),
                    (Some(t), None) => format!("token valid until {t}"),
                    (None, None) => String::new(),
                };
                say!(
                    "{:<8} {:>3}  {:<30} {:<30} {:<20} {:<15} {}",
                    s.kind,
                    s.account_id,
                    cell(&s.account, 30),
                    cell(&s.credential, 30),
                    cell(&s.client, 20),
                    s.state,
                    details
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
