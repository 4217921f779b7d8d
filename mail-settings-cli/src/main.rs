//! `mail-settings`: the operator's command. Validate a settings file, keep settings in the
//! embedded store, print reports; later subcommands check accounts, send test messages, run
//! the collector and read the inbox.
//!
//! Exit status: 0 success (warnings allowed), 1 the work was done and found errors (invalid
//! settings, a failed check), 2 usage errors or input that cannot be read. A reader that goes
//! away early (`| head`, `| grep -q`) ends the command quietly with 0, as `ripgrep` does: std's
//! `println!` would panic there, so this crate's `println!`/`print!` (below, defined before the
//! modules so that they, and `say!`, use them) go through [`output::out`].

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// `println!` for this command: standard output through [`output::out`] (a closed pipe ends
/// the command quietly instead of a panic).
macro_rules! println {
    () => {
        $crate::output::out(format_args!("\n"))
    };
    ($($t:tt)*) => {
        $crate::output::out(format_args!("{}\n", format_args!($($t)*)))
    };
}

/// `print!` for this command, as [`println!`].
macro_rules! print {
    ($($t:tt)*) => {
        $crate::output::out(format_args!($($t)*))
    };
}

mod collect;
mod commands;
mod finish;
mod journal;
mod oauth2;
mod output;
mod progress;
mod report;
mod schedule;
mod server;

/// Keep and use e-mail account settings (IMAP/POP3 incoming, SMTP outgoing).
#[derive(Debug, Parser)]
#[command(name = "mail-settings", version, about, long_about = None)]
pub struct Cli {
    /// The settings store: an SQLite file, or a postgres:// URL (password from PGPASSWORD or a password file). Default: $MAIL_SETTINGS_DB or ./mail-settings.sqlite3
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Credentials file (JSON or TOML, mode 600): id -> {username, password | oauth2_token |
    /// refresh_token | client_secret}; OAuth2 sign-ins are kept in it.
    /// When given, credential ids are checked to exist.
    #[arg(long, global = true, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// Language of messages and report labels.
    #[arg(long, global = true, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
    #[command(subcommand)]
    pub command: Command,
}

/// Output language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// English.
    #[value(name = "en")]
    En,
    /// Brazilian Portuguese.
    #[value(name = "pt-BR", alias = "pt-br")]
    PtBr,
}

impl Lang {
    /// The core's language.
    pub fn core(self) -> mail_settings_core::report::Lang {
        match self {
            Lang::En => mail_settings_core::report::Lang::En,
            Lang::PtBr => mail_settings_core::report::Lang::PtBr,
        }
    }
}

/// Output format of validate, check and test-smtp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    /// Human-readable text.
    Text,
    /// JSON.
    Json,
}

/// Settings document format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DocFormat {
    /// JSON.
    Json,
    /// TOML.
    Toml,
}

/// Report output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// An aligned text table.
    Text,
    /// JSON: the page, with rows and the total count.
    Json,
    /// CSV of the whole filtered report (all pages).
    Csv,
    /// A printable standalone HTML page of the whole filtered report.
    Html,
}

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportKind {
    /// IMAP/POP3 accounts.
    Incoming,
    /// SMTP accounts.
    Smtp,
}

/// Yes or no, for filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum YesNo {
    /// Yes.
    #[value(alias = "sim", alias = "true")]
    Yes,
    /// No.
    #[value(alias = "nao", alias = "não", alias = "false")]
    No,
}

impl YesNo {
    /// `true` for yes.
    pub fn as_bool(self) -> bool {
        self == YesNo::Yes
    }
}

/// Enabled or disabled, for the status filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Status {
    /// Enabled accounts.
    #[value(alias = "ativo")]
    Enabled,
    /// Disabled accounts.
    #[value(alias = "inativo")]
    Disabled,
}

/// The accounts' authentication method, for the report filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMethod {
    /// PASSWORD: the vault entry's secret as it is.
    #[value(alias = "PASSWORD")]
    Password,
    /// OAUTH2: tokens from the account's OAuth2 client.
    #[value(alias = "OAUTH2")]
    Oauth2,
}

impl AuthMethod {
    /// The core's value.
    pub fn core(self) -> mail_settings_core::AuthenticationMethod {
        match self {
            AuthMethod::Password => mail_settings_core::AuthenticationMethod::Password,
            AuthMethod::Oauth2 => mail_settings_core::AuthenticationMethod::OAuth2,
        }
    }
}

/// Report filters (SPEC.md "Reports"); they combine with AND.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// incoming or smtp.
    #[arg(value_enum)]
    pub kind: ReportKind,
    /// Name contains (case-insensitive).
    #[arg(long)]
    pub name: Option<String>,
    /// Secure connection: yes or no.
    #[arg(long, value_enum)]
    pub secure: Option<YesNo>,
    /// Automatic check: yes or no (incoming).
    #[arg(long, value_enum)]
    pub automatic_check: Option<YesNo>,
    /// Keep copy in server: yes or no (incoming).
    #[arg(long, value_enum)]
    pub keep_copy: Option<YesNo>,
    /// Status: enabled or disabled.
    #[arg(long, value_enum)]
    pub status: Option<Status>,
    /// Use authentication: yes or no (smtp).
    #[arg(long, value_enum)]
    pub authentication: Option<YesNo>,
    /// Default account: yes or no (smtp).
    #[arg(long = "default", value_enum)]
    pub default_account: Option<YesNo>,
    /// Authentication method: password or oauth2 (both reports; --authentication keeps
    /// meaning "use authentication").
    #[arg(long, value_enum)]
    pub auth_method: Option<AuthMethod>,
    /// Page number, from 1.
    #[arg(long, default_value_t = 1)]
    pub page: u32,
    /// Rows a page.
    #[arg(long, default_value_t = 30)]
    pub page_size: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Start the CSV with a UTF-8 byte-order mark, which Excel on Windows needs to read accents
    /// (with --format csv only).
    #[arg(long)]
    pub bom: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a settings document (JSON or TOML). Exit 0 without errors (warnings allowed),
    /// 1 with errors, 2 when the file cannot be read.
    Validate {
        /// The settings document.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// Replace the store's settings with a document's, all or nothing.
    Import {
        /// The settings document.
        file: PathBuf,
    },
    /// Print the store's settings as a document.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = DocFormat::Json)]
        format: DocFormat,
    },
    /// Print a report of incoming or SMTP accounts.
    Report(ReportArgs),
    /// Check an account stage by stage (resolve, connect, proxy, TLS, greeting, capabilities,
    /// mechanisms, authentication, mailbox or extensions). Exit 0 when it passes, 1 when a
    /// stage fails. Needs --credentials.
    Check {
        /// The account: a number is its id, anything else its name (case-insensitive).
        #[arg(required_unless_present = "default")]
        account: Option<String>,
        /// Check the default SMTP account instead of naming one.
        #[arg(long, conflicts_with = "account")]
        default: bool,
        /// Which kind of account, when a name or id exists in both.
        #[arg(long, value_enum)]
        kind: Option<ReportKind>,
        /// Bound of the whole check, and of each network step in it, in seconds.
        #[arg(long, default_value_t = 15)]
        timeout: u64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// Collect mail into the inbox. With --once, check the accounts once and exit (exit 1 when
    /// any failed); without, run the collector (every enabled account with automatic check,
    /// every check_interval_secs) until interrupted. Needs --credentials.
    Collect {
        /// Check once and exit.
        #[arg(long)]
        once: bool,
        /// Accounts (a number is an id, anything else a name); none: every enabled account
        /// with automatic check.
        accounts: Vec<String>,
        /// Output format of the results (with --once).
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// The collector's status of every incoming account: last check, last success, last error,
    /// messages fetched, skipped and pending.
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// List an account's inbox ("View inbox"), newest first; ALL lists every account's.
    Inbox {
        /// The incoming account (a number is an id, anything else a name), or ALL.
        account: String,
        /// From or subject contains.
        #[arg(long)]
        search: Option<String>,
        /// Only unread messages.
        #[arg(long)]
        unread: bool,
        /// Page number, from 1.
        #[arg(long, default_value_t = 1)]
        page: u32,
        /// Messages a page.
        #[arg(long, default_value_t = 30)]
        page_size: u32,
        /// Output format (JSON carries the page and the total count; CSV and HTML are the
        /// whole filtered listing, as the account reports export theirs).
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
        /// Start the CSV with a UTF-8 byte-order mark, for Excel on Windows (--format csv only).
        #[arg(long)]
        bom: bool,
    },
    /// Show one stored message (by its inbox id), parsed, and mark it read (a read-only store
    /// shows it without marking it, and says so on stderr). Control characters from the
    /// message are shown escaped (`\x1b`).
    Show {
        /// The message id (from `inbox`).
        message: i64,
        /// Write the stored bytes as they are, to a file or a pipe (refused on a terminal
        /// without --force: they may hold terminal control sequences).
        #[arg(long)]
        raw: bool,
        /// With --raw: write to a terminal too.
        #[arg(long, requires = "raw")]
        force: bool,
        /// Output format of the parsed view.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// The collection journal: what became of every collected message, newest first, with
    /// filters (account, outcome, date range); a page as text or JSON, or all of it as CSV or
    /// printable HTML.
    Journal(journal::JournalArgs),
    /// Report schedules: add, list, show, remove, run-now, run-due.
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
    /// OAuth2: sign a credential in with a stored OAuth2 client (sign-in), and the sign-in
    /// state of every OAUTH2 account (status). Needs --credentials.
    #[command(subcommand)]
    Oauth2(oauth2::OAuth2Command),
    /// Send the test message of an SMTP account (seed 004, "Test configuration"). Needs
    /// --credentials.
    TestSmtp {
        /// The SMTP account: a number is its id, anything else its name (case-insensitive).
        #[arg(required_unless_present = "default")]
        account: Option<String>,
        /// Send through the default SMTP account instead of naming one.
        #[arg(long, conflicts_with = "account")]
        default: bool,
        /// Send to this address.
        #[arg(long)]
        to: String,
        /// Subject (default: MENSAGEM DE TESTE!).
        #[arg(long)]
        subject: Option<String>,
        /// Message (default: ATENÇÃO: ESTA É UMA MENSAGEM DE TESTE!).
        #[arg(long)]
        message: Option<String>,
        /// Bound of every network operation, in seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// Print a shell completion script (bash, zsh or fish) to stdout.
    #[command(hide = true)]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: finish::Shell,
    },
    /// Print the man page (roff) to stdout.
    #[command(hide = true)]
    Man,
}

fn main() -> ExitCode {
    init_tracing();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return output::usage_error(e),
    };
    commands::run(cli)
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MAIL_SETTINGS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
