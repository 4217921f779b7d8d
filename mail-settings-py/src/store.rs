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
use mail_settings_core::store::{ImportSummary, Store};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;

/// The settings store: network connectors, incoming accounts and SMTP accounts.
#[pyclass(name = "Store", module = "mail_settings", frozen)]
#[derive(Debug, Clone)]
pub struct PyStore {
    pub(crate) inner: Arc<Store>,
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

impl PyStore {
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
        let store = match credentials {
            Some(c) => store.with_credentials(c.provider()),
            None => store,
        };
        Ok(Self {
            inner: Arc::new(store),
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
        connector: PyRef<'_, PyNetworkConnector>,
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
        connector: PyRef<'_, PyNetworkConnector>,
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

    // ----- incoming accounts -----

    /// Creates an incoming account; returns it with its id and version. An invalid account
    /// raises `ValidationError` (with the store's connectors and names checked too).
    fn create_incoming(
        &self,
        py: Python<'_>,
        account: PyRef<'_, PyIncomingAccount>,
    ) -> PyResult<PyIncomingAccount> {
        let form = account.inner.clone();
        let store = self.inner.clone();
        py.allow_threads(move || store.create_incoming(&form))
            .map(PyIncomingAccount::from_stored)
            .map_err(to_py_err)
    }

    /// The incoming account `id`; `NotFoundError` when there is none.
    fn get_incoming(&self, py: Python<'_>, id: i64) -> PyResult<PyIncomingAccount> {
        let store = self.inner.clone();
        py.allow_threads(move || store.get_incoming(id))
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
        account: PyRef<'_, PyIncomingAccount>,
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
    fn create_smtp(
        &self,
        py: Python<'_>,
        account: PyRef<'_, PySmtpAccount>,
    ) -> PyResult<PySmtpAccount> {
        let form = account.inner.clone();
        let store = self.inner.clone();
        py.allow_threads(move || store.create_smtp(&form))
            .map(PySmtpAccount::from_stored)
            .map_err(to_py_err)
    }

    /// The SMTP account `id`; `NotFoundError` when there is none.
    fn get_smtp(&self, py: Python<'_>, id: i64) -> PyResult<PySmtpAccount> {
        let store = self.inner.clone();
        py.allow_threads(move || store.get_smtp(id))
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
    fn update_smtp(
        &self,
        py: Python<'_>,
        account: PyRef<'_, PySmtpAccount>,
    ) -> PyResult<PySmtpAccount> {
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
    fn export(&self, py: Python<'_>) -> PyResult<PySettingsDocument> {
        let store = self.inner.clone();
        let doc = py
            .allow_threads(move || store.export())
            .map_err(to_py_err)?;
        PySettingsDocument::from_core(py, doc)
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
        let store = self.inner.clone();
        let summary = py
            .allow_threads(move || store.import(&doc))
            .map_err(to_py_err)?;
        summary_dict(py, summary)
    }

    fn __repr__(&self) -> String {
        match self.inner.path() {
            Some(p) => format!("Store({:?})", p.to_string_lossy()),
            None => "Store(<in memory>)".to_owned(),
        }
    }
}
