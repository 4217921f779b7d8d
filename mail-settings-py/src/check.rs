//! The connection check from Python: the core's [`mail_settings_core::check`] run with the
//! GIL released, and its report as objects with attributes, `to_dict()`, `to_json()` and
//! `raise_for_failure()` (which raises the exception class of the failed stage's category).

use crate::convert::{py_repr, timeouts};
use crate::credentials::PyCredentials;
use crate::errors::{hop_word, to_py_err};
use crate::forms::{connector_forms, PyIncomingAccount, PyNetworkConnector, PySmtpAccount};
use crate::records::serde_to_py;
use crate::smtp::provider_or_empty;
use mail_settings_core::check::{self, CheckOptions, CheckReport, Stage};
use pyo3::prelude::*;

/// One stage of a check: `name`, `ok`, `duration_ms`, `detail`, and on failure `category`,
/// `hop` (proxies), `reply_code` and `enhanced_code` (an SMTP reply) and `advice`.
#[pyclass(name = "CheckStage", module = "mail_settings", frozen)]
#[derive(Clone, Debug)]
pub struct PyCheckStage {
    inner: Stage,
}

#[pymethods]
impl PyCheckStage {
    /// `resolve`, `connect`, `proxy`, `tls`, `greeting`, `capabilities`, `mechanisms`,
    /// `authentication`, `mailbox` or `extensions`.
    #[getter]
    fn name(&self) -> &'static str {
        self.inner.name.as_str()
    }
    /// Whether the stage succeeded.
    #[getter]
    fn ok(&self) -> bool {
        self.inner.ok
    }
    /// How long it took, in milliseconds.
    #[getter]
    fn duration_ms(&self) -> f64 {
        self.inner.duration_ms
    }
    /// What was found, or what went wrong.
    #[getter]
    fn detail(&self) -> &str {
        &self.inner.detail
    }
    /// On failure: the category (`dns`, `connect`, `proxy`, `tls`, `certificate`, `auth`,
    /// `protocol`, `timeout`, `credential`...).
    #[getter]
    fn category(&self) -> Option<&'static str> {
        self.inner.category.map(|c| c.as_str())
    }
    /// On a proxy failure: which hop failed.
    #[getter]
    fn hop(&self) -> Option<&'static str> {
        self.inner.hop.map(hop_word)
    }
    /// On failure caused by an SMTP reply: its code (e.g. `535`).
    #[getter]
    fn reply_code(&self) -> Option<u16> {
        self.inner.reply_code
    }
    /// On failure caused by an SMTP reply that had one: its enhanced status code (`"5.7.8"`).
    #[getter]
    fn enhanced_code(&self) -> Option<&str> {
        self.inner.enhanced_code.as_deref()
    }
    /// On failure: what to change.
    #[getter]
    fn advice(&self) -> Option<&str> {
        self.inner.advice.as_deref()
    }
    /// The stage as a dict.
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        serde_to_py(py, &self.inner)
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "CheckStage(name={}, ok={}, duration_ms={:.1}, detail={})",
            py_repr(py, self.inner.name.as_str()),
            py_repr(py, self.inner.ok),
            self.inner.duration_ms,
            py_repr(py, &self.inner.detail)
        )
    }
}

/// The result of a connection check. It is returned, not raised: `ok` says whether every
/// stage passed, `failure` is the stage that did not; `raise_for_failure()` raises its
/// exception.
#[pyclass(name = "CheckReport", module = "mail_settings", frozen)]
#[derive(Clone, Debug)]
pub struct PyCheckReport {
    inner: CheckReport,
}

#[pymethods]
impl PyCheckReport {
    /// Whether every stage succeeded.
    #[getter]
    fn ok(&self) -> bool {
        self.inner.ok
    }
    /// The account's name.
    #[getter]
    fn account(&self) -> &str {
        &self.inner.account
    }
    /// `IMAP`, `POP3` or `SMTP`.
    #[getter]
    fn protocol(&self) -> &'static str {
        self.inner.protocol
    }
    /// `host:port`.
    #[getter]
    fn server(&self) -> &str {
        &self.inner.server
    }
    /// `clear`, `implicit_tls` or `start_tls`.
    #[getter]
    fn security(&self, py: Python<'_>) -> PyResult<PyObject> {
        serde_to_py(py, &self.inner.security)
    }
    /// `direct`, or the connector.
    #[getter]
    fn route(&self) -> &str {
        &self.inner.route
    }
    /// The stages run, in order; the last one failed when `ok` is False.
    #[getter]
    fn stages(&self) -> Vec<PyCheckStage> {
        self.inner
            .stages
            .iter()
            .map(|s| PyCheckStage { inner: s.clone() })
            .collect()
    }
    /// The failed stage, or None.
    #[getter]
    fn failure(&self) -> Option<PyCheckStage> {
        self.inner
            .failure()
            .map(|s| PyCheckStage { inner: s.clone() })
    }
    /// TLS facts (`version`, `cipher_suite`, `subject`, `issuer`, `not_after`, `verified`),
    /// when TLS was used.
    #[getter]
    fn tls(&self, py: Python<'_>) -> PyResult<PyObject> {
        serde_to_py(py, &self.inner.tls)
    }
    /// What the server offered (capabilities / EHLO keywords).
    #[getter]
    fn capabilities(&self) -> Vec<String> {
        self.inner.capabilities.clone()
    }
    /// Login mechanisms offered.
    #[getter]
    fn mechanisms(&self) -> Vec<String> {
        self.inner.mechanisms.clone()
    }
    /// `{"messages", "size"}` of the mailbox (IMAP, POP3), or None.
    #[getter]
    fn mailbox(&self, py: Python<'_>) -> PyResult<PyObject> {
        serde_to_py(py, &self.inner.mailbox)
    }
    /// The server's folders (IMAP): dicts with `name` (as a user writes it, or None),
    /// `wire` (the server's spelling), `attributes` (special use such as `\\Archive`),
    /// `selectable`, `collected` and `archive`.
    #[getter]
    fn folders(&self, py: Python<'_>) -> PyResult<PyObject> {
        serde_to_py(py, &self.inner.folders)
    }
    /// SMTP SIZE limit in bytes (0: SIZE without a limit), or None.
    #[getter]
    fn size_limit(&self) -> Option<u64> {
        self.inner.size_limit
    }
    /// The whole report as a dict.
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        serde_to_py(py, &self.inner)
    }
    /// The whole report as pretty JSON.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }
    /// Raises the exception of the failed stage (`AuthError`, `CertificateError`,
    /// `ProxyError`...), with the stage's detail and advice as its message; does nothing when
    /// the check passed.
    fn raise_for_failure(&self) -> PyResult<()> {
        match self.inner.failure_error() {
            Some(err) => Err(to_py_err(err)),
            None => Ok(()),
        }
    }
    fn __bool__(&self) -> bool {
        self.inner.ok
    }
    fn __str__(&self) -> String {
        self.inner.to_string()
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        let failed = self
            .inner
            .failure()
            .map(|s| format!(", failed_stage={}", py_repr(py, s.name.as_str())))
            .unwrap_or_default();
        format!(
            "CheckReport(protocol={}, account={}, server={}, ok={}{failed})",
            py_repr(py, self.inner.protocol),
            py_repr(py, &self.inner.account),
            py_repr(py, &self.inner.server),
            py_repr(py, self.inner.ok)
        )
    }
}

impl From<CheckReport> for PyCheckReport {
    fn from(inner: CheckReport) -> Self {
        Self { inner }
    }
}

/// Check options from Python arguments.
pub(crate) fn check_options(
    timeout: Option<f64>,
    mailbox: Option<String>,
) -> PyResult<CheckOptions> {
    let mut o = CheckOptions {
        timeouts: timeouts(timeout)?,
        ..CheckOptions::default()
    };
    if let Some(m) = mailbox {
        o.mailbox = m;
    }
    Ok(o)
}

/// Checks an incoming (IMAP/POP3) account stage by stage (resolve, connect, proxy, TLS,
/// greeting, capabilities, mechanisms, authentication, mailbox). Never changes the server.
/// An invalid account raises `ValidationError`; a failing server is a report with `ok` False.
#[pyfunction]
#[pyo3(signature = (account, *, credentials = None, connectors = None, timeout = None, mailbox = None))]
pub fn check_incoming(
    py: Python<'_>,
    account: PyIncomingAccount,
    credentials: Option<PyRef<'_, PyCredentials>>,
    connectors: Option<Vec<PyNetworkConnector>>,
    timeout: Option<f64>,
    mailbox: Option<String>,
) -> PyResult<PyCheckReport> {
    let connectors = connector_forms(connectors);
    let account = account.typed(connectors.as_deref())?;
    let provider = provider_or_empty(credentials.as_deref());
    let options = check_options(timeout, mailbox)?;
    Ok(py
        .allow_threads(move || check::check_incoming(&account, provider.as_ref(), &options))
        .into())
}

/// Checks an SMTP account stage by stage (up to authentication and the EHLO extensions).
/// Sends no message.
#[pyfunction]
#[pyo3(signature = (account, *, credentials = None, connectors = None, timeout = None))]
pub fn check_smtp(
    py: Python<'_>,
    account: PySmtpAccount,
    credentials: Option<PyRef<'_, PyCredentials>>,
    connectors: Option<Vec<PyNetworkConnector>>,
    timeout: Option<f64>,
) -> PyResult<PyCheckReport> {
    let connectors = connector_forms(connectors);
    let account = account.typed(connectors.as_deref())?;
    let provider = provider_or_empty(credentials.as_deref());
    let options = check_options(timeout, None)?;
    Ok(py
        .allow_threads(move || check::check_smtp(&account, provider.as_ref(), &options))
        .into())
}

/// Registers the classes and functions of this module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyCheckReport>()?;
    m.add_class::<PyCheckStage>()?;
    m.add_function(wrap_pyfunction!(check_incoming, m)?)?;
    m.add_function(wrap_pyfunction!(check_smtp, m)?)?;
    Ok(())
}
