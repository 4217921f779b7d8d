//! The settings document (docs/SETTINGS.md "Settings document") as a Python class: a whole set of
//! connectors and accounts, read from and written to JSON or TOML strings and files, and
//! validated with the rules across records.
//!
//! The document holds the Python account objects themselves, so that
//! `doc.incoming_accounts[0].port = 995` changes the document; it becomes the core's
//! [`SettingsDocument`] for every operation (parse, write, validate, import).

use crate::convert::{fspath, py_to_json};
use crate::credentials::PyCredentials;
use crate::errors::to_py_err;
use crate::forms::{PyIncomingAccount, PyNetworkConnector, PySmtpAccount};
use crate::validation::PyValidation;
use mail_settings_core::document::{Format, ReadFileError, DOCUMENT_VERSION};
use mail_settings_core::validate::validate_document;
use mail_settings_core::{Error, ParseError, SettingsDocument};
use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyType};
use std::path::Path;

/// A whole set of settings: network connectors, incoming accounts and SMTP accounts.
#[pyclass(name = "SettingsDocument", module = "mail_settings")]
#[derive(Debug)]
pub struct PySettingsDocument {
    network_connectors: Vec<Py<PyNetworkConnector>>,
    incoming_accounts: Vec<Py<PyIncomingAccount>>,
    smtp_accounts: Vec<Py<PySmtpAccount>>,
    /// Report schedules, carried as the core's forms (dicts in Python).
    report_schedules: Vec<mail_settings_core::schedule::ReportScheduleForm>,
    /// Days the collection journal keeps an entry (1–3650); `None`: the default, 90.
    journal_retention_days: Option<u32>,
}

fn items<T: pyo3::PyClass + pyo3::type_object::PyTypeInfo>(
    value: Option<&Bound<'_, PyAny>>,
    what: &str,
) -> PyResult<Vec<Py<T>>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for item in value.try_iter()? {
        let item = item?;
        let typed = item.downcast::<T>().map_err(|_| {
            PyTypeError::new_err(format!("{what} must hold only {} objects", T::NAME))
        })?;
        out.push(typed.clone().unbind());
    }
    Ok(out)
}

impl PySettingsDocument {
    /// Wraps a core document in new Python objects.
    pub(crate) fn from_core(py: Python<'_>, doc: SettingsDocument) -> PyResult<Self> {
        Ok(Self {
            network_connectors: doc
                .network_connectors
                .into_iter()
                .map(|f| Py::new(py, PyNetworkConnector::from_form(f)))
                .collect::<PyResult<_>>()?,
            incoming_accounts: doc
                .incoming_accounts
                .into_iter()
                .map(|f| Py::new(py, PyIncomingAccount::from_form(f)))
                .collect::<PyResult<_>>()?,
            smtp_accounts: doc
                .smtp_accounts
                .into_iter()
                .map(|f| Py::new(py, PySmtpAccount::from_form(f)))
                .collect::<PyResult<_>>()?,
            report_schedules: doc.report_schedules,
            journal_retention_days: doc.journal_retention_days,
        })
    }

    /// The core document (a snapshot of the Python objects).
    pub(crate) fn to_core(&self, py: Python<'_>) -> SettingsDocument {
        SettingsDocument {
            network_connectors: self
                .network_connectors
                .iter()
                .map(|c| c.borrow(py).inner.clone())
                .collect(),
            incoming_accounts: self
                .incoming_accounts
                .iter()
                .map(|c| c.borrow(py).inner.clone())
                .collect(),
            smtp_accounts: self
                .smtp_accounts
                .iter()
                .map(|c| c.borrow(py).inner.clone())
                .collect(),
            report_schedules: self.report_schedules.clone(),
            journal_retention_days: self.journal_retention_days,
            ..SettingsDocument::default()
        }
    }
}

fn parse(py: Python<'_>, text: &str, format: Format) -> PyResult<PySettingsDocument> {
    let doc = py
        .allow_threads(|| SettingsDocument::parse(text, format))
        .map_err(to_py_err)?;
    PySettingsDocument::from_core(py, doc)
}

/// `json` or `toml` from a Python argument, or from the path's extension.
fn format_of(format: Option<&str>, path: &Path) -> PyResult<Format> {
    match format.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(Format::from_path(path)),
        Some("json") => Ok(Format::Json),
        Some("toml") => Ok(Format::Toml),
        Some(other) => Err(PyValueError::new_err(format!(
            "format must be 'json' or 'toml', not {other:?}"
        ))),
    }
}

#[pymethods]
impl PySettingsDocument {
    /// The document version this library reads and writes.
    #[classattr]
    const VERSION: u32 = DOCUMENT_VERSION;

    /// A document of the given connectors and accounts (each an iterable of objects).
    #[new]
    #[pyo3(signature = (*, network_connectors = None, incoming_accounts = None, smtp_accounts = None, report_schedules = None, journal_retention_days = None))]
    fn new(
        network_connectors: Option<&Bound<'_, PyAny>>,
        incoming_accounts: Option<&Bound<'_, PyAny>>,
        smtp_accounts: Option<&Bound<'_, PyAny>>,
        report_schedules: Option<&Bound<'_, PyAny>>,
        journal_retention_days: Option<u32>,
    ) -> PyResult<Self> {
        Ok(Self {
            network_connectors: items(network_connectors, "network_connectors")?,
            incoming_accounts: items(incoming_accounts, "incoming_accounts")?,
            smtp_accounts: items(smtp_accounts, "smtp_accounts")?,
            report_schedules: crate::schedule::forms_from(report_schedules)?,
            journal_retention_days,
        })
    }

    /// Days the collection journal keeps an entry (1–3650); `None` means the default, 90.
    #[getter]
    fn journal_retention_days(&self) -> Option<u32> {
        self.journal_retention_days
    }
    #[setter]
    fn set_journal_retention_days(&mut self, value: Option<u32>) {
        self.journal_retention_days = value;
    }

    /// The report schedules, as dicts (a new list; build a new document to change them).
    #[getter]
    fn report_schedules(&self, py: Python<'_>) -> PyResult<Vec<PyObject>> {
        crate::schedule::forms_to_py(py, &self.report_schedules)
    }

    /// The network connectors (a new list of the document's own objects; assign a list to
    /// replace them).
    #[getter]
    fn network_connectors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.network_connectors.iter().map(|c| c.clone_ref(py)))
    }
    #[setter]
    fn set_network_connectors(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.network_connectors = items(Some(value), "network_connectors")?;
        Ok(())
    }
    /// The incoming accounts (a new list of the document's own objects).
    #[getter]
    fn incoming_accounts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.incoming_accounts.iter().map(|c| c.clone_ref(py)))
    }
    #[setter]
    fn set_incoming_accounts(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.incoming_accounts = items(Some(value), "incoming_accounts")?;
        Ok(())
    }
    /// The SMTP accounts (a new list of the document's own objects).
    #[getter]
    fn smtp_accounts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.smtp_accounts.iter().map(|c| c.clone_ref(py)))
    }
    #[setter]
    fn set_smtp_accounts(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.smtp_accounts = items(Some(value), "smtp_accounts")?;
        Ok(())
    }

    /// Reads a JSON document; `ParseError` (with line and column) when it cannot.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        parse(py, text, Format::Json)
    }

    /// Reads a TOML document.
    #[staticmethod]
    fn from_toml(py: Python<'_>, text: &str) -> PyResult<Self> {
        parse(py, text, Format::Toml)
    }

    /// Reads a document file: TOML when the name ends in `.toml` (or `format="toml"`), JSON
    /// otherwise; a UTF-8 byte-order mark is skipped. Only a regular file is read: a FIFO or a
    /// device raises `OSError` at once instead of blocking.
    #[staticmethod]
    #[pyo3(signature = (path, *, format = None))]
    fn load(py: Python<'_>, path: &Bound<'_, PyAny>, format: Option<&str>) -> PyResult<Self> {
        let path = fspath(path)?;
        let format = format_of(format, Path::new(&path))?;
        let doc = py
            .allow_threads(|| SettingsDocument::read_file(Path::new(&path), Some(format)))
            .map_err(|e| match e {
                ReadFileError::Io(e) => PyErr::from(e),
                ReadFileError::Parse(e) => to_py_err(e),
                other => PyOSError::new_err(other.to_string()),
            })?;
        PySettingsDocument::from_core(py, doc)
    }

    /// Reads a dict in the document's shape (`{"version": 1, "incoming_accounts": [...]}`).
    #[classmethod]
    fn from_dict(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        if !data.is_instance_of::<PyDict>() {
            return Err(PyTypeError::new_err("from_dict needs a dict"));
        }
        let json = py_to_json(data)?.to_string();
        let doc = SettingsDocument::from_json(&json).map_err(|e| {
            to_py_err(Error::Parse(ParseError {
                format: "dict",
                line: 0,
                column: 0,
                message: e.message,
            }))
        })?;
        Self::from_core(py, doc)
    }

    /// The document as pretty JSON (secrets are never part of it).
    fn to_json(&self, py: Python<'_>) -> String {
        self.to_core(py).to_json()
    }

    /// The document as TOML.
    fn to_toml(&self, py: Python<'_>) -> String {
        self.to_core(py).to_toml()
    }

    /// The document as a dict (`version` and the three lists, each record with every field).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("version", DOCUMENT_VERSION)?;
        let list = PyList::empty(py);
        for c in &self.network_connectors {
            list.append(c.bind(py).call_method0("to_dict")?)?;
        }
        d.set_item("network_connectors", list)?;
        let list = PyList::empty(py);
        for c in &self.incoming_accounts {
            list.append(c.bind(py).call_method0("to_dict")?)?;
        }
        d.set_item("incoming_accounts", list)?;
        let list = PyList::empty(py);
        for c in &self.smtp_accounts {
            list.append(c.bind(py).call_method0("to_dict")?)?;
        }
        d.set_item("smtp_accounts", list)?;
        if !self.report_schedules.is_empty() {
            d.set_item(
                "report_schedules",
                crate::schedule::forms_to_py(py, &self.report_schedules)?,
            )?;
        }
        Ok(d)
    }

    /// Writes the document to a file: TOML when the name ends in `.toml` (or
    /// `format="toml"`), JSON otherwise.
    #[pyo3(signature = (path, *, format = None))]
    fn save(slf: &Bound<'_, Self>, path: &Bound<'_, PyAny>, format: Option<&str>) -> PyResult<()> {
        let py = slf.py();
        let path = fspath(path)?;
        let format = format_of(format, Path::new(&path))?;
        // Borrowed only while copied: other threads may change the document during the write.
        let doc = slf.borrow().to_core(py);
        py.allow_threads(|| std::fs::write(&path, doc.to_string(format)))?;
        Ok(())
    }

    /// Every problem of every record, then the rules across records (unique names, one
    /// default SMTP account, connector references). `credentials` (when given) are asked
    /// whether each credential id exists.
    #[pyo3(signature = (*, credentials = None))]
    fn validate(
        &self,
        py: Python<'_>,
        credentials: Option<PyRef<'_, PyCredentials>>,
    ) -> PyValidation {
        let doc = self.to_core(py);
        let provider = credentials.map(|c| c.provider());
        validate_document(&doc, provider.as_deref()).into()
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyObject {
        match other.downcast::<Self>() {
            Ok(o) => {
                let same = self.to_core(py) == o.borrow().to_core(py);
                same.into_pyobject(py)
                    .map(|b| b.to_owned().into_any().unbind())
                    .unwrap_or_else(|_| py.NotImplemented())
            }
            Err(_) => py.NotImplemented(),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "SettingsDocument(network_connectors=<{}>, incoming_accounts=<{}>, smtp_accounts=<{}>)",
            self.network_connectors.len(),
            self.incoming_accounts.len(),
            self.smtp_accounts.len()
        )
    }
}
