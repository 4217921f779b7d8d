//! The application layer: [`MailSettings`], one facade over a [`Store`], a
//! [`CredentialProvider`] and [`AppOptions`] that owns the use cases the front ends offer (the
//! `mail-settings` command, the Python package, the Kotlin/Swift bindings). A front end turns
//! its arguments into these calls and their results into its own output and errors; it holds
//! no logic of its own.
//!
//! Accounts are named one way everywhere: an [`AccountRef`] (an id, a name, or the default
//! SMTP account), parsed from text by [`AccountRef::parse`] (a number is an id, anything else
//! a name), and resolved with one error, [`AccountError`], that names what was asked.
//!
//! | use case | method |
//! |---|---|
//! | resolve an account | [`MailSettings::account`], [`MailSettings::incoming_account`], [`MailSettings::smtp_account`], [`MailSettings::account_id`] |
//! | check an account stage by stage | [`MailSettings::check`] |
//! | send, and the test message | [`MailSettings::send`], [`MailSettings::send_many`], [`MailSettings::send_test`] |
//! | a pool of SMTP sessions | [`MailSettings::smtp_pool`] |
//! | collect once, the running collector | [`MailSettings::collect_once`], [`MailSettings::collector`] |
//! | the inbox | [`MailSettings::inbox`], [`MailSettings::inbox_page`], [`MailSettings::save_raw`] |
//! | reports and exports | [`MailSettings::incoming_report`], [`MailSettings::smtp_report`], [`MailSettings::export_document`], [`MailSettings::import_document`] |
//! | report schedules | [`MailSettings::schedule`], [`MailSettings::schedule_runner`] |
//! | OAuth2 sign-in and its state | [`MailSettings::oauth2_sign_in`], [`MailSettings::oauth2_status`] |
//!
//! **OAuth2 accounts need no host code.** Every login (check, send, the SMTP pool, collect,
//! the collector, the schedule runner) goes through the facade's login credentials: the host's
//! provider, except for the credential of a stored account with `authentication = OAUTH2`,
//! which gets a fresh access token from the account's stored OAuth2 client (module `oauth2`
//! here). Give the token store that keeps refresh tokens with
//! [`MailSettings::with_token_store`]: it refuses, naming the accounts, when none is given
//! while a stored account needs one.
//!
//! The names of these concepts in each language are in `docs/NAMES.md`.

mod account;
#[cfg(all(feature = "oauth2", feature = "store"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "oauth2", feature = "store"))))]
pub mod oauth2;
#[cfg(all(test, feature = "check", feature = "collector"))]
mod tests;

#[cfg(feature = "store")]
pub use account::{account, account_id, incoming_account, schedule, smtp_account, Account};
pub use account::{AccountError, AccountKind, AccountRef};

#[cfg(all(feature = "check", feature = "collector"))]
use crate::check::{CheckOptions, CheckReport};
#[cfg(all(feature = "check", feature = "collector"))]
use crate::collector::{AccountResult, CollectError, Collector, CollectorOptions, RunControl};
#[cfg(all(feature = "check", feature = "collector"))]
use crate::credentials::CredentialProvider;
#[cfg(all(feature = "check", feature = "collector"))]
use crate::inbox::{Inbox, InboxPage, InboxQuery};
#[cfg(all(feature = "check", feature = "collector"))]
use crate::model::RecordId;
#[cfg(all(feature = "check", feature = "collector"))]
use crate::net::Timeouts;
#[cfg(all(feature = "check", feature = "collector"))]
use crate::report::{
    IncomingReportFilter, IncomingReportRow, PageRequest, ReportPage, SmtpReportFilter,
    SmtpReportRow,
};
#[cfg(all(feature = "check", feature = "collector"))]
use crate::schedule::{ReportScheduleForm, ScheduleRunner, SmtpReportSender};
#[cfg(all(feature = "check", feature = "collector"))]
use crate::smtp::{OutgoingMessage, PoolConfig, SendReport, SmtpOptions, SmtpPool};
#[cfg(all(feature = "check", feature = "collector"))]
use crate::store::{ImportSummary, Store, StoreError, Stored};
#[cfg(all(feature = "check", feature = "collector"))]
use crate::SettingsDocument;
#[cfg(all(feature = "check", feature = "collector"))]
use std::fmt;
#[cfg(all(feature = "check", feature = "collector"))]
use std::sync::Arc;

/// How the facade works on the wire: the bounds of every network operation, the name sent
/// with EHLO, the mailbox a check reports on, the collector's options.
#[cfg(all(feature = "check", feature = "collector"))]
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AppOptions {
    /// Bounds of every network operation (and of a whole check: `timeouts.check`).
    pub timeouts: Timeouts,
    /// The name sent with SMTP EHLO (default `localhost`).
    pub client_name: String,
    /// The IMAP mailbox a check reports the size of (default `INBOX`).
    pub check_mailbox: String,
    /// Send to the accepted recipients when some are refused (default no).
    pub partial_delivery: bool,
    /// The collector's options; its `timeouts` are replaced by [`AppOptions::timeouts`].
    pub collector: CollectorOptions,
}

#[cfg(all(feature = "check", feature = "collector"))]
impl Default for AppOptions {
    fn default() -> Self {
        Self {
            timeouts: Timeouts::default(),
            client_name: "localhost".to_owned(),
            check_mailbox: "INBOX".to_owned(),
            partial_delivery: false,
            collector: CollectorOptions::default(),
        }
    }
}

#[cfg(all(feature = "check", feature = "collector"))]
impl AppOptions {
    /// Defaults with these timeouts.
    pub fn with_timeouts(timeouts: Timeouts) -> Self {
        Self {
            timeouts,
            ..Self::default()
        }
    }

    /// The options of an SMTP session.
    pub fn smtp(&self) -> SmtpOptions {
        let mut o = SmtpOptions::with_timeouts(self.timeouts);
        o.client_name = self.client_name.clone();
        o.partial_delivery = self.partial_delivery;
        o
    }

    /// The options of a check.
    pub fn check(&self) -> CheckOptions {
        CheckOptions {
            timeouts: self.timeouts,
            client_name: self.client_name.clone(),
            mailbox: self.check_mailbox.clone(),
        }
    }

    /// The collector's options, with these timeouts.
    pub fn collector(&self) -> CollectorOptions {
        let mut o = self.collector.clone();
        o.timeouts = self.timeouts;
        o
    }
}

/// The application: the store, the credential provider that gives the secrets when accounts
/// log in, and the options. Cheap to clone (two `Arc`s and the options); `Send + Sync`.
#[cfg(all(feature = "check", feature = "collector"))]
#[derive(Clone)]
pub struct MailSettings {
    store: Arc<Store>,
    credentials: Arc<dyn CredentialProvider>,
    options: AppOptions,
    /// What logins use: `credentials`, with OAuth2 accounts bound to their clients.
    login: Arc<dyn CredentialProvider>,
    #[cfg(feature = "oauth2")]
    tokens: Option<Arc<dyn crate::oauth2::TokenStore>>,
    #[cfg(feature = "oauth2")]
    manager: Arc<crate::oauth2::TokenManager>,
}

#[cfg(all(feature = "check", feature = "collector"))]
impl fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailSettings")
            .field("store", &self.store)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

#[cfg(all(feature = "check", feature = "collector"))]
impl MailSettings {
    /// The application over `store`, logging in with `credentials`.
    ///
    /// Without [`MailSettings::with_token_store`] there is no token store: stored `OAUTH2`
    /// accounts whose client uses `CLIENT_CREDENTIALS` work, those with `REFRESH_TOKEN` fail
    /// their logins saying a token store is needed.
    pub fn new(
        store: Arc<Store>,
        credentials: Arc<dyn CredentialProvider>,
        options: AppOptions,
    ) -> Self {
        Self::build(
            store,
            credentials,
            options,
            #[cfg(feature = "oauth2")]
            None,
        )
    }

    fn build(
        store: Arc<Store>,
        credentials: Arc<dyn CredentialProvider>,
        options: AppOptions,
        #[cfg(feature = "oauth2")] tokens: Option<Arc<dyn crate::oauth2::TokenStore>>,
    ) -> Self {
        #[cfg(feature = "oauth2")]
        {
            let manager = Arc::new(
                crate::oauth2::TokenManager::new(tokens.clone(), credentials.clone())
                    .with_timeouts(options.timeouts)
                    .with_shared_state(store.clone()),
            );
            let login: Arc<dyn CredentialProvider> = Arc::new(oauth2::StoreBoundCredentials::new(
                store.clone(),
                credentials.clone(),
                manager.clone(),
            ));
            Self {
                store,
                credentials,
                options,
                login,
                tokens,
                manager,
            }
        }
        #[cfg(not(feature = "oauth2"))]
        {
            Self {
                login: credentials.clone(),
                store,
                credentials,
                options,
            }
        }
    }

    /// The same application with other options (e.g. one call's timeout).
    pub fn with_options(&self, options: AppOptions) -> Self {
        Self {
            options,
            ..self.clone()
        }
    }

    /// The same application with another credential provider (e.g. one call's).
    pub fn with_credentials(&self, credentials: Arc<dyn CredentialProvider>) -> Self {
        Self::build(
            self.store.clone(),
            credentials,
            self.options.clone(),
            #[cfg(feature = "oauth2")]
            self.tokens.clone(),
        )
    }

    /// The same application keeping OAuth2 sign-ins (user names and refresh tokens) in
    /// `tokens` (the credentials file is one: [`crate::CredentialsFile`]); `None` for no token
    /// store. Refused (category `validation`, naming the accounts) when no token store is given
    /// while stored `OAUTH2` accounts use a `REFRESH_TOKEN` client: a refresh token the server
    /// rotates could not be kept, and the account would stop within weeks.
    #[cfg(feature = "oauth2")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oauth2")))]
    pub fn with_token_store(
        &self,
        tokens: Option<Arc<dyn crate::oauth2::TokenStore>>,
    ) -> crate::Result<Self> {
        if tokens.is_none() {
            let mut needing = Vec::new();
            for (kind, id, name, _, client) in self.store.oauth2_accounts()? {
                let c = self.store.get_oauth2_client(client)?.record;
                if c.grant == crate::model::OAuth2Grant::RefreshToken {
                    let word = if kind == "smtp" { "SMTP" } else { "incoming" };
                    needing.push(format!("{word} account {id} \"{}\"", name.trim()));
                }
            }
            if !needing.is_empty() {
                return Err(oauth2::config_error(format!(
                    "no OAuth2 token store was given, but {} sign in with refresh tokens: give a \
                     token store (the credentials file) so that refresh tokens the server \
                     rotates are kept",
                    needing.join(", ")
                )));
            }
        }
        Ok(Self::build(
            self.store.clone(),
            self.credentials.clone(),
            self.options.clone(),
            tokens,
        ))
    }

    /// What logins use: the host's credential provider, with a fresh access token for the
    /// credential of every stored `OAUTH2` account.
    pub fn login_credentials(&self) -> &Arc<dyn CredentialProvider> {
        &self.login
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The credential provider.
    pub fn credentials(&self) -> &Arc<dyn CredentialProvider> {
        &self.credentials
    }

    /// The options.
    pub fn options(&self) -> &AppOptions {
        &self.options
    }

    // ----- accounts -----

    /// The account `wanted` of `kind`, or of either kind (see [`account()`]).
    pub fn account(
        &self,
        wanted: &AccountRef,
        kind: Option<AccountKind>,
    ) -> crate::Result<Account> {
        account::account(&self.store, wanted, kind)
    }

    /// The incoming account `wanted`, validated for a driver.
    pub fn incoming_account(&self, wanted: &AccountRef) -> crate::Result<crate::IncomingAccount> {
        account::incoming_account(&self.store, wanted)
    }

    /// The SMTP account `wanted` (or the default one), validated for a driver.
    pub fn smtp_account(&self, wanted: &AccountRef) -> crate::Result<crate::SmtpAccount> {
        account::smtp_account(&self.store, wanted)
    }

    /// The id of the account `wanted` of `kind`, without validating its settings.
    pub fn account_id(&self, kind: AccountKind, wanted: &AccountRef) -> crate::Result<RecordId> {
        account::account_id(&self.store, kind, wanted)
    }

    // ----- check -----

    /// Checks the account `wanted` stage by stage (the check an operator runs by hand). The
    /// report says which stage failed; an error only when the account cannot be resolved.
    pub fn check(
        &self,
        wanted: &AccountRef,
        kind: Option<AccountKind>,
    ) -> crate::Result<CheckReport> {
        let options = self.options.check();
        Ok(match self.account(wanted, kind)? {
            Account::Incoming(a) => crate::check::check_incoming(&a, self.login.as_ref(), &options),
            Account::Smtp(a) => crate::check::check_smtp(&a, self.login.as_ref(), &options),
        })
    }

    // ----- sending -----

    /// Sends `message` through the SMTP account `wanted` (the default one for
    /// [`AccountRef::Default`]).
    pub fn send(
        &self,
        wanted: &AccountRef,
        message: &OutgoingMessage,
    ) -> crate::Result<SendReport> {
        let account = self.smtp_account(wanted)?;
        Ok(crate::smtp::send(
            &account,
            self.login.as_ref(),
            message,
            &self.options.smtp(),
        )?)
    }

    /// "Test configuration" (seed 004): the test message through the SMTP account `wanted` to
    /// `send_to`, with `subject` and `message` or the defaults.
    pub fn send_test(
        &self,
        wanted: &AccountRef,
        send_to: &str,
        subject: Option<&str>,
        message: Option<&str>,
    ) -> crate::Result<(crate::SmtpAccount, SendReport)> {
        let account = self.smtp_account(wanted)?;
        let report = crate::smtp::send_test(
            &account,
            self.login.as_ref(),
            send_to,
            subject,
            message,
            &self.options.smtp(),
        )?;
        Ok((account, report))
    }

    /// Sends `messages` over one session through the SMTP account `wanted` (RSET between
    /// them; a session that breaks is replaced for the messages after it): one result per
    /// message, in order. An error only when the account cannot be resolved.
    pub fn send_many(
        &self,
        wanted: &AccountRef,
        messages: &[OutgoingMessage],
    ) -> crate::Result<Vec<Result<SendReport, crate::ConnectionError>>> {
        let account = self.smtp_account(wanted)?;
        Ok(crate::smtp::send_many(
            &account,
            self.credentials.as_ref(),
            messages,
            &self.options.smtp(),
        ))
    }

    /// A pool of SMTP sessions through the account `wanted` (nothing is opened before the
    /// first message; a disabled account is refused).
    pub fn smtp_pool(&self, wanted: &AccountRef, config: PoolConfig) -> crate::Result<SmtpPool> {
        let account = self.smtp_account(wanted)?;
        Ok(SmtpPool::new(
            account,
            self.login.clone(),
            self.options.smtp(),
            config,
        )?)
    }

    // ----- collecting -----

    /// A collector over the store's incoming accounts, with these credentials and options.
    pub fn collector(&self) -> Collector {
        Collector::with_options(
            self.store.clone(),
            self.login.clone(),
            self.options.collector(),
        )
    }

    /// Checks the incoming accounts `accounts` once (every enabled account with automatic
    /// check when it is empty) with `collector`; every name is resolved before anything
    /// runs, so a wrong name checks nothing.
    pub fn collect_once(
        &self,
        collector: &Collector,
        accounts: &[AccountRef],
        control: &RunControl,
    ) -> crate::Result<Vec<AccountResult>, CollectOnceError> {
        let ids = accounts
            .iter()
            .map(|a| self.account_id(AccountKind::Incoming, a))
            .collect::<crate::Result<Vec<_>>>()
            .map_err(CollectOnceError::Account)?;
        collector
            .collect_once(&ids, control)
            .map_err(CollectOnceError::Collect)
    }

    // ----- the inbox -----

    /// The inbox of the store's collected messages.
    pub fn inbox(&self) -> Inbox {
        Inbox::new(self.store.clone())
    }

    /// One page of the inbox of the incoming account `account` (every account's for `None`),
    /// with `query`'s filters and page; `query.account` is replaced.
    pub fn inbox_page(
        &self,
        account: Option<&AccountRef>,
        mut query: InboxQuery,
    ) -> crate::Result<InboxPage> {
        query.account = account
            .map(|a| self.account_id(AccountKind::Incoming, a))
            .transpose()?;
        Ok(self.inbox().list(&query)?)
    }

    /// Writes message `id` as it was received into a new file at `path` (see [`save_raw`]).
    pub fn save_raw(
        &self,
        id: crate::inbox::MessageId,
        path: &std::path::Path,
    ) -> Result<u64, StoreError> {
        save_raw(&self.inbox(), id, path)
    }

    // ----- reports and documents -----

    /// One page of the incoming (IMAP/POP3) report.
    pub fn incoming_report(
        &self,
        filter: &IncomingReportFilter,
        page: PageRequest,
    ) -> Result<ReportPage<IncomingReportRow>, StoreError> {
        self.store.incoming_report(filter, page)
    }

    /// One page of the SMTP report.
    pub fn smtp_report(
        &self,
        filter: &SmtpReportFilter,
        page: PageRequest,
    ) -> Result<ReportPage<SmtpReportRow>, StoreError> {
        self.store.smtp_report(filter, page)
    }

    /// The store's settings as a document.
    pub fn export_document(&self) -> Result<SettingsDocument, StoreError> {
        self.store.export()
    }

    /// Replaces the store's settings with `document`'s, all or nothing.
    pub fn import_document(
        &self,
        document: &SettingsDocument,
    ) -> Result<ImportSummary, StoreError> {
        self.store.import(document)
    }

    // ----- schedules -----

    /// The report schedule `wanted` (a number is an id, anything else a name; schedules have
    /// no default).
    pub fn schedule(&self, wanted: &AccountRef) -> crate::Result<Stored<ReportScheduleForm>> {
        account::schedule(&self.store, wanted)
    }

    /// The runner of the store's report schedules: it sends through the schedules' SMTP
    /// accounts with these credentials and options (`run_due`, `run_now`, `spawn`).
    pub fn schedule_runner(&self) -> ScheduleRunner {
        ScheduleRunner::new(
            self.store.clone(),
            Arc::new(SmtpReportSender::new(
                self.login.clone(),
                self.options.smtp(),
            )),
        )
    }

    // ----- OAuth2 -----

    /// Every stored `OAUTH2` account with its sign-in state: signed in (with when the access
    /// token this process holds expires), not signed in, needs sign-in and why (kept in the
    /// store across processes), the client refused or disabled.
    #[cfg(feature = "oauth2")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oauth2")))]
    pub fn oauth2_status(&self) -> crate::Result<Vec<oauth2::OAuth2AccountStatus>> {
        oauth2::status(&self.store, &self.manager, self.tokens.as_ref())
    }

    /// Signs `credential` in with the stored OAuth2 client `client` (a number is an id,
    /// anything else a name) and keeps the user name and refresh token in the token store:
    /// by default the device flow (RFC 8628: `show` gets the verification URL and user code,
    /// then the server is polled within its interval), with `browser` the authorization code
    /// with PKCE and a loopback redirect (`show` gets the URL to open). `username` is the
    /// mailbox's user name (default: `credential` when it is an address). The token requests
    /// go through the network connector of the `OAUTH2` account that uses `credential`, if
    /// any. At most `timeout` is waited for the person.
    #[cfg(feature = "oauth2")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oauth2")))]
    pub fn oauth2_sign_in(
        &self,
        credential: &str,
        client: &AccountRef,
        username: Option<&str>,
        browser: bool,
        timeout: std::time::Duration,
        show: &mut dyn FnMut(&oauth2::SignInPrompt),
    ) -> crate::Result<()> {
        use crate::typed::{CredentialId, NetworkConnector, Route};
        let form = match client {
            AccountRef::Id(id) => self.store.get_oauth2_client(*id)?,
            AccountRef::Name(name) => self.store.get_oauth2_client_by_name(name)?,
            AccountRef::Default => {
                return Err(oauth2::config_error(
                    "name the OAuth2 client (its name or id): there is no default one".to_owned(),
                ))
            }
        }
        .record;
        let name = form.name.trim().to_owned();
        if !form.enabled {
            return Err(oauth2::config_error(format!(
                "the OAuth2 client \"{name}\" is disabled"
            )));
        }
        if form.grant != crate::model::OAuth2Grant::RefreshToken {
            return Err(oauth2::config_error(format!(
                "the OAuth2 client \"{name}\" uses CLIENT_CREDENTIALS (app-only access): \
                 nobody signs in"
            )));
        }
        let typed = crate::oauth2::OAuth2Client::from_form(&form)?;
        let username = match username.map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) => u.to_owned(),
            None if crate::validate::is_addr_spec(credential.trim()) => {
                credential.trim().to_owned()
            }
            None => {
                return Err(oauth2::config_error(format!(
                    "give the mailbox's user name: credential \"{credential}\" is not an address"
                )))
            }
        };
        let route = match self
            .store
            .oauth2_binding(credential)?
            .and_then(|b| b.connector)
        {
            Some(c) => Route::Proxy(NetworkConnector::from_form(&c)?),
            None => Route::Direct,
        };
        let id = CredentialId::new(credential);
        if browser {
            let sign_in = self
                .manager
                .start_browser_sign_in(&typed, Some(&username))?;
            show(&oauth2::SignInPrompt::Browser {
                authorize_url: sign_in.authorize_url.clone(),
            });
            self.manager
                .finish_browser_sign_in(&typed, sign_in, &id, &username, &route, timeout)?;
        } else {
            let device = self.manager.start_device_sign_in(&typed, &route)?;
            show(&oauth2::SignInPrompt::Device {
                verification_uri: device.verification_uri.clone(),
                verification_uri_complete: device.verification_uri_complete.clone(),
                user_code: device.user_code.clone(),
            });
            let wait = timeout.min(device.expires_in);
            self.manager
                .finish_device_sign_in(&typed, &device, &id, &username, &route, wait)?;
        }
        Ok(())
    }
}

/// Writes message `id` of `inbox` as it was received into the file at `path` (created or
/// truncated), streamed, and synced to disk before it returns. Returns the number of bytes.
#[cfg(all(feature = "check", feature = "collector"))]
pub fn save_raw(
    inbox: &Inbox,
    id: crate::inbox::MessageId,
    path: &std::path::Path,
) -> Result<u64, StoreError> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let n = inbox.copy_raw_to(id, &mut file)?;
    let file = file
        .into_inner()
        .map_err(|e| StoreError::Io(e.into_error()))?;
    file.sync_all()?;
    Ok(n)
}

/// [`MailSettings::collect_once`] failed before any account ran: a name did not resolve, or
/// the collector could not list the accounts.
#[cfg(all(feature = "check", feature = "collector"))]
#[derive(Debug, thiserror::Error)]
pub enum CollectOnceError {
    /// An account named could not be resolved.
    #[error(transparent)]
    Account(crate::Error),
    /// The collector failed.
    #[error(transparent)]
    Collect(CollectError),
}
