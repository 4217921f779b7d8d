//! The settings store (the core's [`Store`]: SQLite in one file or in memory, transactional,
//! with optimistic versions) as a Python class.
//!
//! Objects read from the store carry their `version`; `update_*` passes it back, so a change
//! based on a stale read raises `ConflictError` instead of overwriting someone else's edit.
//! Every call releases the GIL while SQLite works.

use crate::credentials::PyCredentials;
use crate::document::PySettingsDocument;
use crate::errors::to_py_err;
use crate::forms::{PyIncomingAccount, PyNetworkConnector, PySmtpAccount};
use crate::report;
use crate::smtp::{PyOutgoingMessage, PySendReport};
use mail_settings_core::app::{AccountKind, AccountRef, AppOptions, MailSettings};
use mail_settings_core::credentials::CredentialProvider;
use mail_settings_core::net::Timeouts;
use mail_settings_core::report::CsvOptions;
use mail_settings_core::smtp::OutgoingMessage;
use mail_settings_core::store::{ImportSummary, Store};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;
use std::time::SystemTime;

/// The settings store: network connectors, incoming accounts and SMTP accounts.
#[pyclass(name = "Store", module = "mail_settings", frozen)]
#[derive(Clone)]
pub struct PyStore {
    pub(crate) inner: Arc<Store>,
    /// The provider the store was opened with: checks ids on writes, and gives the secrets
    /// when the store's accounts send or connect.
    pub(crate) credentials: Option<Arc<dyn CredentialProvider>>,
}

impl std::fmt::Debug for PyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyStore")
            .field("store", &self.inner)
            .field("credentials", &self.credentials.is_some())
            .finish()
    }
}

/// The id and version an update or delete is based on.
fn id_version(kind: &str, id: Option<i64>, version: Option<i64>) -> PyResult<(i64, i64)> {
    match (id, version) {
        (Some(id), Some(version)) => Ok((id, version)),
        _ => Err(PyValueError::new_err(format!(
            "this {kind} did not come from the store (it has no id and version): \
             create it, or get it from the store, before updating it"
        ))),
    }
}

fn summary_dict<'py>(py: Python<'py>, s: ImportSummary) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("created", s.created)?;
    d.set_item("updated", s.updated)?;
    d.set_item("unchanged", s.unchanged)?;
    d.set_item("deleted", s.deleted)?;
    Ok(d)
}

/// How a script names an account of the store: an id (`int`), a name (`str`; a string that
/// is a number is an id, as on the command line), or `None` for the default SMTP account.
pub(crate) fn account_ref(value: Option<&Bound<'_, PyAny>>) -> PyResult<AccountRef> {
    match value {
        None => Ok(AccountRef::Default),
        Some(v) if v.is_none() => Ok(AccountRef::Default),
        Some(v) => {
            if let Ok(id) = v.extract::<i64>() {
                Ok(AccountRef::Id(id))
            } else if let Ok(name) = v.extract::<String>() {
                Ok(AccountRef::parse(&name))
            } else {
                Err(pyo3::exceptions::PyTypeError::new_err(
                    "account must be an id (int), a name (str) or None",
                ))
            }
        }
    }
}

/// The application layer over this store for one call: `provider` and `smtp` options.
fn app(
    store: &Arc<Store>,
    provider: Arc<dyn CredentialProvider>,
    timeouts: Timeouts,
) -> MailSettings {
    MailSettings::new(store.clone(), provider, AppOptions::with_timeouts(timeouts))
}

/// Warns that `old` is deprecated in favour of `new` (kept one release).
pub(crate) fn deprecated(py: Python<'_>, old: &str, new: &str) -> PyResult<()> {
    let category = py.get_type::<pyo3::exceptions::PyDeprecationWarning>();
    PyErr::warn(
        py,
        &category,
        &std::ffi::CString::new(format!("{old} is deprecated: use {new}")).unwrap_or_default(),
        1,
    )
}

impl PyStore {
    /// The application layer over this store with its own credentials and the default
    /// options (for the use cases that open no connection: reports, the inbox).
    pub(crate) fn app(&self) -> MailSettings {
        app(&self.inner, self.provider_for(None), Timeouts::default())
    }

    /// The provider for sending and connecting: the one given, else the store's own.
    pub(crate) fn provider_for(
        &self,
        credentials: Option<PyRef<'_, PyCredentials>>,
    ) -> Arc<dyn CredentialProvider> {
        match (credentials, &self.credentials) {
            (Some(c), _) => c.provider(),
            (None, Some(p)) => p.clone(),
            (None, None) => crate::smtp::provider_or_empty(None),
        }
    }

    fn open_with(
        py: Python<'_>,
        path: Option<String>,
        credentials: Option<PyRef<'_, PyCredentials>>,
    ) -> PyResult<Self> {
        let store = py
            .allow_threads(|| match path {
                Some(p) => Store::open(p),
                None => Store::open_in_memory(),
            })
            .map_err(to_py_err)?;
        let provider = credentials.map(|c| c.provider());
        let store = match &provider {
            Some(p) => store.with_credentials(p.clone()),
            None => store,
        };
        Ok(Self {
            inner: Arc::new(store),
            credentials: provider,
        })
    }
}

#[pymethods]
impl PyStore {
    /// Opens (or creates) the store in the file at `path`, or in memory when `path` is None.
    /// `credentials`, when given, are asked whether each credential id exists on every write
    /// (`unknown_credential`); the store never asks for a secret.
    #[new]
    #[pyo3(signature = (path = None, *, credentials = None))]
    fn new(
        py: Python<'_>,
        path: Option<&Bound<'_, PyAny>>,
        credentials: Option<PyRef<'_, PyCredentials>>,
    ) -> PyResult<Self> {
        let path = path.map(crate::convert::fspath).transpose()?;
        Self::open_with(py, path, credentials)
    }

    /// Same as `Store(path, credentials=...)`.
    #[staticmethod]
    #[pyo3(signature = (path, *, credentials = None))]
    fn open(
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        credentials: Option<PyRef<'_, PyCredentials>>,
    ) -> PyResult<Self> {
        let path = crate::convert::fspath(path)?;
        Self::open_with(py, Some(path), credentials)
    }

    /// A store in memory, gone when the last reference goes.
    #[staticmethod]
    #[pyo3(signature = (*, credentials = None))]
    fn in_memory(py: Python<'_>, credentials: Option<PyRef<'_, PyCredentials>>) -> PyResult<Self> {
        Self::open_with(py, None, credentials)
    }

    /// The file, or None in memory.
    #[getter]
    fn path(&self) -> Option<String> {
        self.inner.path().map(|p| p.to_string_lossy().into_owned())
    }

    /// The inbox kept in this store (the messages the collector stored).
    #[getter]
    fn inbox(&self) -> crate::collector::PyInbox {
        crate::collector::PyInbox::of(self.app())
    }

    /// The schema version of the open database.
    #[getter]
    fn schema_version(&self, py: Python<'_>) -> PyResult<i64> {
        let store = self.inner.clone();
        py.allow_threads(move || store.schema_version())
            .map_err(to_py_err)
    }

    // ----- network connectors -----

    /// Creates a network connector; returns it with its id and version.
    fn create_connector(
        &self,
        py: Python<'_>,
        connector: PyNetworkConnector,
    ) -> PyResult<PyNetworkConnector> {
        let form = connector.inner.clone();
        let store = self.inner.clone();
        py.allow_threads(move || store.create_connector(&form))
            .map(PyNetworkConnector::from_stored)
            .map_err(to_py_err)
    }

    /// The network connector `id`; `NotFoundError` when there is none.
    fn get_connector(&self, py: Python<'_>, id: i64) -> PyResult<PyNetworkConnector> {
        let store = self.inner.clone();
        py.allow_threads(move || store.get_connector(id))
            .map(PyNetworkConnector::from_stored)
            .map_err(to_py_err)
    }

    /// Every network connector, by id.
    fn list_connectors(&self, py: Python<'_>) -> PyResult<Vec<PyNetworkConnector>> {
        let store = self.inner.clone();
        py.allow_threads(move || store.list_connectors())
            .map(|v| v.into_iter().map(PyNetworkConnector::from_stored).collect())
            .map_err(to_py_err)
    }

    /// Stores the changed connector (read from this store); `ConflictError` if it changed
    /// since, `InUseError` when disabling one that accounts use.
    fn update_connector(
        &self,
        py: Python<'_>,
        connector: PyNetworkConnector,
    ) -> PyResult<PyNetworkConnector> {
        let (id, version) = id_version("network connector", connector.inner.id, connector.version)?;
        let form = connector.inner.clone();
        let store = self.inner.clone();
        py.allow_threads(move || store.update_connector(id, version, &form))
            .map(PyNetworkConnector::from_stored)
            .map_err(to_py_err)
    }

    /// Deletes connector `id` if it is still at `version` and no account uses it.
    fn delete_connector(&self, py: Python<'_>, id: i64, version: i64) -> PyResult<()> {
        let store = self.inner.clone();
        py.allow_threads(move || store.delete_connector(id, version))
            .map_err(to_py_err)
    }

    // ----- OAuth2 clients -----

    /// Creates an OAuth2 client; returns it with its id and version.
    fn create_oauth2_client(
        &self,
        py: Python<'_>,
        client: crate::forms::PyOAuth2ClientForm,
    ) -> PyResult<crate::forms::PyOAuth2ClientForm> {
        let form = client.inner.clone();
        let store = self.inner.clone();
        py.allow_threads(move || store.create_oauth2_client(&form))
            .map(crate::forms::PyOAuth2ClientForm::from_stored)
            .map_err(to_py_err)
    }

    /// The OAuth2 client `id`; `NotFoundError` when there is none.
    fn get_oauth2_client(
        &self,
        py: Python<'_>,
        id: i64,
    ) -> PyResult<crate::forms::PyOAuth2ClientForm> {
        let store = self.inner.clone();
        py.allow_threads(move || store.get_oauth2_client(id))
            .map(crate::forms::PyOAuth2ClientForm::from_stored)
            .map_err(to_py_err)
    }

    /// Every OAuth2 client, by id.
    fn list_oauth2_clients(
        &self,
        py: Python<'_>,
    ) -> PyResult<Vec<crate::forms::PyOAuth2ClientForm>> {
        let store = self.inner.clone();
        py.allow_threads(move || store.list_oauth2_clients())
            .map(|v| {
                v.into_iter()
                    .map(crate::forms::PyOAuth2ClientForm::from_stored)
                    .collect()
            })
            .map_err(to_py_err)
    }

    /// Stores the changed client (read from this store); `ConflictError` if it changed since,
    /// `InUseError` when disabling one that accounts use.
    fn update_oauth2_client(
        &self,
        py: Python<'_>,
        client: crate::forms::PyOAuth2ClientForm,
    ) -> PyResult<crate::forms::PyOAuth2ClientForm> {
        let (id, version) = id_version("OAuth2 client", client.inner.id, client.version)?;
        let form = client.inner.clone();
        let store = self.inner.clone();
        py.allow_threads(move || store.update_oauth2_client(id, version, &form))
            .map(crate::forms::PyOAuth2ClientForm::from_stored)
            .map_err(to_py_err)
    }

    /// Deletes OAuth2 client `id` if it is still at `version` and no account uses it.
    fn delete_oauth2_client(&self, py: Python<'_>, id: i64, version: i64) -> PyResult<()> {
        let store = self.inner.clone();
        py.allow_threads(move || store.delete_oauth2_client(id, version))
            .map_err(to_py_err)
    }

    // ----- incoming accounts -----

    /// Creates an incoming account; returns it with its id and version. An invalid account
    /// raises `ValidationError` (with the store's connectors and names checked too).
    fn create_incoming(
        &self,
        py: Python<'_>,
        account: PyIncomingAccount,
    ) -> PyResult<PyIncomingAccount> {
        let form = account.inner.clone();
        let store = self.inner.clone();
        py.allow_threads(move || store.create_incoming(&form))
            .map(PyIncomingAccount::from_stored)
            .map_err(to_py_err)
    }

    /// The incoming account `account`: its id, or its name (case-insensitive, trimmed; a string
    /// that is a number is an id); `AccountNotFoundError` (a `NotFoundError`) when there is
    /// none.
    fn get_incoming(
        &self,
        py: Python<'_>,
        account: &Bound<'_, PyAny>,
    ) -> PyResult<PyIncomingAccount> {
        if account.is_none() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "account must be an id (int) or a name (str)",
            ));
        }
        let wanted = account_ref(Some(account))?;
        let app = self.app();
        py.allow_threads(move || {
            let id = app.account_id(AccountKind::Incoming, &wanted)?;
            Ok::<_, mail_settings_core::Error>(app.store().get_incoming(id)?)
        })
        .map(PyIncomingAccount::from_stored)
        .map_err(to_py_err)
    }

    /// Every incoming account, by id (for large stores use `incoming_report`).
    fn list_incoming(&self, py: Python<'_>) -> PyResult<Vec<PyIncomingAccount>> {
        let store = self.inner.clone();
        py.allow_threads(move || store.list_incoming())
            .map(|v| v.into_iter().map(PyIncomingAccount::from_stored).collect())
            .map_err(to_py_err)
    }

    /// Stores the changed account (read from this store); `ConflictError` if it changed since.
    fn update_incoming(
        &self,
        py: Python<'_>,
        account: PyIncomingAccount,
    ) -> PyResult<PyIncomingAccount> {
        let (id, version) = id_version("incoming account", account.inner.id, account.version)?;
        let form = account.inner.clone();
        let store = self.inner.clone();
        py.allow_threads(move || store.update_incoming(id, version, &form))
            .map(PyIncomingAccount::from_stored)
            .map_err(to_py_err)
    }

    /// Deletes incoming account `id` if it is still at `version`.
    fn delete_incoming(&self, py: Python<'_>, id: i64, version: i64) -> PyResult<()> {
        let store = self.inner.clone();
        py.allow_threads(move || store.delete_incoming(id, version))
            .map_err(to_py_err)
    }

    // ----- SMTP accounts -----

    /// Creates an SMTP account; making it the default clears the previous default.
    fn create_smtp(&self, py: Python<'_>, account: PySmtpAccount) -> PyResult<PySmtpAccount> {
        let form = account.inner.clone();
        let store = self.inner.clone();
        py.allow_threads(move || store.create_smtp(&form))
            .map(PySmtpAccount::from_stored)
            .map_err(to_py_err)
    }

    /// The SMTP account `account`: its id, or its name (case-insensitive, trimmed; a string
    /// that is a number is an id); `AccountNotFoundError` (a `NotFoundError`) when there is
    /// none.
    fn get_smtp(&self, py: Python<'_>, account: &Bound<'_, PyAny>) -> PyResult<PySmtpAccount> {
        if account.is_none() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "account must be an id (int) or a name (str)",
            ));
        }
        let wanted = account_ref(Some(account))?;
        let app = self.app();
        py.allow_threads(move || {
            let id = app.account_id(AccountKind::Smtp, &wanted)?;
            Ok::<_, mail_settings_core::Error>(app.store().get_smtp(id)?)
        })
        .map(PySmtpAccount::from_stored)
        .map_err(to_py_err)
    }

    /// Every SMTP account, by id.
    fn list_smtp(&self, py: Python<'_>) -> PyResult<Vec<PySmtpAccount>> {
        let store = self.inner.clone();
        py.allow_threads(move || store.list_smtp())
            .map(|v| v.into_iter().map(PySmtpAccount::from_stored).collect())
            .map_err(to_py_err)
    }

    /// Stores the changed account (read from this store); `ConflictError` if it changed since.
    fn update_smtp(&self, py: Python<'_>, account: PySmtpAccount) -> PyResult<PySmtpAccount> {
        let (id, version) = id_version("SMTP account", account.inner.id, account.version)?;
        let form = account.inner.clone();
        let store = self.inner.clone();
        py.allow_threads(move || store.update_smtp(id, version, &form))
            .map(PySmtpAccount::from_stored)
            .map_err(to_py_err)
    }

    /// Deletes SMTP account `id` if it is still at `version`.
    fn delete_smtp(&self, py: Python<'_>, id: i64, version: i64) -> PyResult<()> {
        let store = self.inner.clone();
        py.allow_threads(move || store.delete_smtp(id, version))
            .map_err(to_py_err)
    }

    // ----- documents -----

    /// Every connector and account, with ids: a document that `import_document` turns back
    /// into exactly this store.
    fn export_document(&self, py: Python<'_>) -> PyResult<PySettingsDocument> {
        let store = self.inner.clone();
        let doc = py
            .allow_threads(move || store.export())
            .map_err(to_py_err)?;
        PySettingsDocument::from_core(py, doc)
    }

    /// Deprecated name of `export_document` (warns `DeprecationWarning`).
    fn export(&self, py: Python<'_>) -> PyResult<PySettingsDocument> {
        deprecated(py, "Store.export()", "Store.export_document()")?;
        self.export_document(py)
    }

    /// Makes the store hold exactly `document`, all or nothing; `ValidationError` (paths like
    /// `incoming_accounts[2].host`) when it has any error. Returns the counts
    /// `{"created", "updated", "unchanged", "deleted"}`.
    fn import_document<'py>(
        &self,
        py: Python<'py>,
        document: PyRef<'_, PySettingsDocument>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let doc = document.to_core(py);
        drop(document);
        let store = self.inner.clone();
        let summary = py
            .allow_threads(move || store.import(&doc))
            .map_err(to_py_err)?;
        summary_dict(py, summary)
    }

    // ----- sending -----

    /// Sends `message` through one of the store's SMTP accounts: `account` is its id, its
    /// name, or None for the default account (`NotFoundError` when there is none).
    /// `credentials` default to the store's own.
    #[pyo3(signature = (message, *, account = None, credentials = None, timeout = None, partial_delivery = false))]
    fn send(
        &self,
        py: Python<'_>,
        message: PyOutgoingMessage,
        account: Option<&Bound<'_, PyAny>>,
        credentials: Option<PyRef<'_, PyCredentials>>,
        timeout: Option<f64>,
        partial_delivery: bool,
    ) -> PyResult<PySendReport> {
        let account = account_ref(account)?;
        let provider = self.provider_for(credentials);
        let opts = crate::smtp::options(timeout, partial_delivery)?;
        let message: OutgoingMessage = message.inner.clone();
        let mut app = app(&self.inner, provider, opts.timeouts);
        let mut options = app.options().clone();
        options.partial_delivery = opts.partial_delivery;
        app = app.with_options(options);
        py.allow_threads(move || app.send(&account, &message))
            .map(PySendReport::from)
            .map_err(to_py_err)
    }

    /// "Test configuration" (seed 004) with one of the store's SMTP accounts (see `send`).
    #[pyo3(signature = (send_to, *, account = None, subject = None, message = None, credentials = None, timeout = None))]
    #[allow(clippy::too_many_arguments)]
    fn send_test(
        &self,
        py: Python<'_>,
        send_to: String,
        account: Option<&Bound<'_, PyAny>>,
        subject: Option<String>,
        message: Option<String>,
        credentials: Option<PyRef<'_, PyCredentials>>,
        timeout: Option<f64>,
    ) -> PyResult<PySendReport> {
        let account = account_ref(account)?;
        let provider = self.provider_for(credentials);
        let opts = crate::smtp::options(timeout, false)?;
        let app = app(&self.inner, provider, opts.timeouts);
        py.allow_threads(move || {
            app.send_test(&account, &send_to, subject.as_deref(), message.as_deref())
                .map(|(_, report)| report)
        })
        .map(PySendReport::from)
        .map_err(to_py_err)
    }

    // ----- connection checks -----

    /// Checks one of the store's incoming accounts (by id or name) stage by stage; see
    /// `mail_settings.check_incoming`. `credentials` default to the store's own.
    #[pyo3(signature = (account, *, credentials = None, timeout = None, mailbox = None))]
    fn check_incoming(
        &self,
        py: Python<'_>,
        account: &Bound<'_, PyAny>,
        credentials: Option<PyRef<'_, PyCredentials>>,
        timeout: Option<f64>,
        mailbox: Option<String>,
    ) -> PyResult<crate::check::PyCheckReport> {
        let account = account_ref(Some(account))?;
        let provider = self.provider_for(credentials);
        let options = crate::check::check_options(timeout, mailbox)?;
        let mut app = app(&self.inner, provider, options.timeouts);
        let mut app_options = app.options().clone();
        app_options.check_mailbox = options.mailbox.clone();
        app = app.with_options(app_options);
        py.allow_threads(move || app.check(&account, Some(AccountKind::Incoming)))
            .map(Into::into)
            .map_err(to_py_err)
    }

    /// Checks one of the store's accounts of either kind, as the command's `check ACCOUNT`:
    /// an incoming or SMTP account by id or name, or None for the default SMTP account.
    /// `AmbiguousAccountError` when the id or name is an incoming and an SMTP account (use
    /// `check_incoming` or `check_smtp`), `AccountNotFoundError` when it is neither.
    #[pyo3(signature = (account = None, *, credentials = None, timeout = None))]
    fn check(
        &self,
        py: Python<'_>,
        account: Option<&Bound<'_, PyAny>>,
        credentials: Option<PyRef<'_, PyCredentials>>,
        timeout: Option<f64>,
    ) -> PyResult<crate::check::PyCheckReport> {
        let account = account_ref(account)?;
        let provider = self.provider_for(credentials);
        let options = crate::check::check_options(timeout, None)?;
        let app = app(&self.inner, provider, options.timeouts);
        py.allow_threads(move || app.check(&account, None))
            .map(Into::into)
            .map_err(to_py_err)
    }

    // ----- pools -----

    /// A pool of SMTP sessions through one of the store's SMTP accounts (by id, by name, or
    /// None for the default), kept open and reused between messages; nothing is opened before
    /// the first message. Limits as for `SmtpPool(...)`.
    #[pyo3(signature = (account = None, *, credentials = None, timeout = None, max_idle = 4, idle_timeout = 60.0, max_open = 10, wait_timeout = 60.0))]
    #[allow(clippy::too_many_arguments)]
    fn smtp_pool(
        &self,
        py: Python<'_>,
        account: Option<&Bound<'_, PyAny>>,
        credentials: Option<PyRef<'_, PyCredentials>>,
        timeout: Option<f64>,
        max_idle: usize,
        idle_timeout: f64,
        max_open: usize,
        wait_timeout: f64,
    ) -> PyResult<crate::smtp::PySmtpPool> {
        let account = account_ref(account)?;
        let provider = self.provider_for(credentials);
        let opts = crate::smtp::options(timeout, false)?;
        let config = crate::smtp::pool_config(max_idle, idle_timeout, max_open, wait_timeout)?;
        let app = app(&self.inner, provider, opts.timeouts);
        py.allow_threads(move || app.smtp_pool(&account, config))
            .map(crate::smtp::PySmtpPool::from)
            .map_err(to_py_err)
    }

    /// Checks one of the store's SMTP accounts (by id, by name, or None for the default).
    #[pyo3(signature = (account = None, *, credentials = None, timeout = None))]
    fn check_smtp(
        &self,
        py: Python<'_>,
        account: Option<&Bound<'_, PyAny>>,
        credentials: Option<PyRef<'_, PyCredentials>>,
        timeout: Option<f64>,
    ) -> PyResult<crate::check::PyCheckReport> {
        let account = account_ref(account)?;
        let provider = self.provider_for(credentials);
        let options = crate::check::check_options(timeout, None)?;
        let app = app(&self.inner, provider, options.timeouts);
        py.allow_threads(move || app.check(&account, Some(AccountKind::Smtp)))
            .map(Into::into)
            .map_err(to_py_err)
    }

    // ----- reports -----

    /// One page of the incoming (IMAP/POP3) report. Filters (None = any) combine with AND;
    /// `status` is 'enabled' or 'disabled'. Pages count from 1; 30 rows a page by default.
    #[pyo3(signature = (*, name_contains = None, secure_connection = None, automatic_check = None,
                        keep_copy = None, status = None, page = 1, page_size = 30))]
    #[allow(clippy::too_many_arguments)]
    fn incoming_report(
        &self,
        py: Python<'_>,
        name_contains: Option<String>,
        secure_connection: Option<bool>,
        automatic_check: Option<bool>,
        keep_copy: Option<bool>,
        status: Option<&str>,
        page: u32,
        page_size: u32,
    ) -> PyResult<report::PyReportPage> {
        let filter = report::incoming_filter(
            name_contains,
            secure_connection,
            automatic_check,
            keep_copy,
            status,
        )?;
        let app = self.app();
        py.allow_threads(move || {
            app.incoming_report(
                &filter,
                mail_settings_core::report::PageRequest { page, page_size },
            )
        })
        .map(|p| report::PyReportPage {
            page: report::Page::Incoming(p),
        })
        .map_err(to_py_err)
    }

    /// One page of the SMTP report (see `incoming_report`).
    #[pyo3(signature = (*, name_contains = None, secure_connection = None, status = None,
                        authentication = None, default_account = None, page = 1, page_size = 30))]
    #[allow(clippy::too_many_arguments)]
    fn smtp_report(
        &self,
        py: Python<'_>,
        name_contains: Option<String>,
        secure_connection: Option<bool>,
        status: Option<&str>,
        authentication: Option<bool>,
        default_account: Option<bool>,
        page: u32,
        page_size: u32,
    ) -> PyResult<report::PyReportPage> {
        let filter = report::smtp_filter(
            name_contains,
            secure_connection,
            status,
            authentication,
            default_account,
        )?;
        let app = self.app();
        py.allow_threads(move || {
            app.smtp_report(
                &filter,
                mail_settings_core::report::PageRequest { page, page_size },
            )
        })
        .map(|p| report::PyReportPage {
            page: report::Page::Smtp(p),
        })
        .map_err(to_py_err)
    }

    /// The whole filtered incoming report as CSV (RFC 4180, UTF-8, CRLF, labels in `lang`).
    /// `dest`: a path or a binary file object (returns the number of rows), or None (returns
    /// the CSV text). `bom=True` starts it with the UTF-8 byte-order mark (the text then starts
    /// with U+FEFF), which Excel on Windows needs to read accents; off by default.
    #[pyo3(signature = (dest = None, *, lang = "en", bom = false, name_contains = None,
                        secure_connection = None, automatic_check = None, keep_copy = None,
                        status = None))]
    #[allow(clippy::too_many_arguments)]
    fn incoming_csv(
        &self,
        py: Python<'_>,
        dest: Option<&Bound<'_, PyAny>>,
        lang: &str,
        bom: bool,
        name_contains: Option<String>,
        secure_connection: Option<bool>,
        automatic_check: Option<bool>,
        keep_copy: Option<bool>,
        status: Option<&str>,
    ) -> PyResult<PyObject> {
        let filter = report::incoming_filter(
            name_contains,
            secure_connection,
            automatic_check,
            keep_copy,
            status,
        )?;
        let lang = report::lang_from(lang)?;
        let store = self.inner.clone();
        report::export(py, report::destination(dest)?, move |w| {
            store.write_incoming_csv_with(&filter, lang, CsvOptions::default().bom(bom), w)
        })
    }

    /// The whole filtered SMTP report as CSV (see `incoming_csv`, also for `bom`).
    #[pyo3(signature = (dest = None, *, lang = "en", bom = false, name_contains = None,
                        secure_connection = None, status = None, authentication = None,
                        default_account = None))]
    #[allow(clippy::too_many_arguments)]
    fn smtp_csv(
        &self,
        py: Python<'_>,
        dest: Option<&Bound<'_, PyAny>>,
        lang: &str,
        bom: bool,
        name_contains: Option<String>,
        secure_connection: Option<bool>,
        status: Option<&str>,
        authentication: Option<bool>,
        default_account: Option<bool>,
    ) -> PyResult<PyObject> {
        let filter = report::smtp_filter(
            name_contains,
            secure_connection,
            status,
            authentication,
            default_account,
        )?;
        let lang = report::lang_from(lang)?;
        let store = self.inner.clone();
        report::export(py, report::destination(dest)?, move |w| {
            store.write_smtp_csv_with(&filter, lang, CsvOptions::default().bom(bom), w)
        })
    }

    /// The whole filtered incoming report as a printable standalone HTML page (see
    /// `incoming_csv` for `dest`).
    #[pyo3(signature = (dest = None, *, lang = "en", name_contains = None, secure_connection = None,
                        automatic_check = None, keep_copy = None, status = None))]
    #[allow(clippy::too_many_arguments)]
    fn incoming_html(
        &self,
        py: Python<'_>,
        dest: Option<&Bound<'_, PyAny>>,
        lang: &str,
        name_contains: Option<String>,
        secure_connection: Option<bool>,
        automatic_check: Option<bool>,
        keep_copy: Option<bool>,
        status: Option<&str>,
    ) -> PyResult<PyObject> {
        let filter = report::incoming_filter(
            name_contains,
            secure_connection,
            automatic_check,
            keep_copy,
            status,
        )?;
        let lang = report::lang_from(lang)?;
        let store = self.inner.clone();
        report::export(py, report::destination(dest)?, move |w| {
            store.write_incoming_html(&filter, lang, SystemTime::now(), w)
        })
    }

    /// The whole filtered SMTP report as a printable HTML page (see `incoming_csv` for `dest`).
    #[pyo3(signature = (dest = None, *, lang = "en", name_contains = None, secure_connection = None,
                        status = None, authentication = None, default_account = None))]
    #[allow(clippy::too_many_arguments)]
    fn smtp_html(
        &self,
        py: Python<'_>,
        dest: Option<&Bound<'_, PyAny>>,
        lang: &str,
        name_contains: Option<String>,
        secure_connection: Option<bool>,
        status: Option<&str>,
        authentication: Option<bool>,
        default_account: Option<bool>,
    ) -> PyResult<PyObject> {
        let filter = report::smtp_filter(
            name_contains,
            secure_connection,
            status,
            authentication,
            default_account,
        )?;
        let lang = report::lang_from(lang)?;
        let store = self.inner.clone();
        report::export(py, report::destination(dest)?, move |w| {
            store.write_smtp_html(&filter, lang, SystemTime::now(), w)
        })
    }

    fn __repr__(&self) -> String {
        match self.inner.path() {
            Some(p) => format!(
                "Store({})",
                Python::with_gil(|py| crate::convert::py_repr(py, p.to_string_lossy().as_ref()))
            ),
            None => "Store(<in memory>)".to_owned(),
        }
    }
}
