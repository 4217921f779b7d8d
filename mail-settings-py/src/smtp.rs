//! Sending through an SMTP account from Python: messages, attachments, `send`, `send_many`,
//! "Test configuration" (`send_test`), the composed bytes (`compose`), and a pool of reusable
//! sessions.
//!
//! Every function validates the account form into the core's typed [`SmtpAccount`] (an
//! invalid one raises `ValidationError`), then calls [`mail_settings_core::smtp`] with the GIL
//! released. The account's rules (sender, Reply-To, Return-Path, read receipt, footer) are the
//! core's.

use crate::convert::{py_repr, timeouts, FieldValue};
use crate::credentials::PyCredentials;
use crate::errors::to_py_err;
use crate::forms::{connector_forms, PyNetworkConnector, PySmtpAccount};
use mail_settings_core::credentials::{CredentialProvider, InMemoryCredentials};
use mail_settings_core::smtp::{
    self, Attachment, ComposedMessage, OutgoingMessage, PoolConfig, SendReport, SmtpOptions,
    SmtpPool,
};
use mail_settings_core::SmtpAccount;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::sync::Arc;
use std::time::Duration;

/// A file attached to a message.
#[pyclass(name = "Attachment", module = "mail_settings", frozen)]
#[derive(Clone, Debug)]
pub struct PyAttachment {
    inner: Attachment,
}

#[pymethods]
impl PyAttachment {
    /// `Attachment(filename, content_type, content)`.
    #[new]
    fn new(filename: String, content_type: String, content: Vec<u8>) -> Self {
        Self {
            inner: Attachment::new(filename, content_type, content),
        }
    }
    /// The file name shown to the recipient.
    #[getter]
    fn filename(&self) -> &str {
        &self.inner.filename
    }
    /// The MIME type.
    #[getter]
    fn content_type(&self) -> &str {
        &self.inner.content_type
    }
    /// The content.
    #[getter]
    fn content<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.content)
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Attachment(filename={}, content_type={}, <{} bytes>)",
            py_repr(py, &self.inner.filename),
            py_repr(py, &self.inner.content_type),
            self.inner.content.len()
        )
    }
}

/// A message to send. Addresses are text: `ops@example.com` or `Ops <ops@example.com>`,
/// checked when the message is composed. `from_`, `reply_to` and `return_path` default to the
/// account's (and are replaced by them when the account forces its configuration).
#[pyclass(name = "OutgoingMessage", module = "mail_settings")]
#[derive(Clone, Debug)]
pub struct PyOutgoingMessage {
    pub(crate) inner: OutgoingMessage,
}

fn headers_from_py(value: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let pairs: Vec<Bound<'_, PyAny>> = if let Ok(d) = value.downcast::<PyDict>() {
        d.items().iter().collect()
    } else {
        value.try_iter()?.collect::<PyResult<_>>()?
    };
    pairs
        .iter()
        .map(|p| {
            p.extract::<(String, String)>().map_err(|_| {
                PyTypeError::new_err("headers must be (name, value) pairs of str, or a dict")
            })
        })
        .collect()
}

fn attachments_from_py(value: &Bound<'_, PyAny>) -> PyResult<Vec<Attachment>> {
    value
        .try_iter()?
        .map(|item| {
            let item = item?;
            let a = item
                .downcast::<PyAttachment>()
                .map_err(|_| PyTypeError::new_err("attachments must be Attachment objects"))?;
            Ok(a.get().inner.clone())
        })
        .collect()
}

#[pymethods]
impl PyOutgoingMessage {
    /// Keyword arguments named as the properties.
    #[new]
    #[pyo3(signature = (*, to = None, cc = None, bcc = None, from_ = None, reply_to = None,
                        return_path = None, subject = None, text = None, html = None,
                        attachments = None, headers = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        to: Option<&Bound<'_, PyAny>>,
        cc: Option<&Bound<'_, PyAny>>,
        bcc: Option<&Bound<'_, PyAny>>,
        from_: Option<String>,
        reply_to: Option<String>,
        return_path: Option<String>,
        subject: Option<String>,
        text: Option<String>,
        html: Option<String>,
        attachments: Option<&Bound<'_, PyAny>>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let list = |name: &str, v: Option<&Bound<'_, PyAny>>| -> PyResult<Vec<String>> {
            v.map(|v| Vec::<String>::from_py(name, v))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let mut inner = OutgoingMessage::new();
        inner.to = list("to", to)?;
        inner.cc = list("cc", cc)?;
        inner.bcc = list("bcc", bcc)?;
        inner.from = from_;
        inner.reply_to = reply_to;
        inner.return_path = return_path;
        inner.subject = subject.unwrap_or_default();
        inner.text = text;
        inner.html = html;
        inner.attachments = attachments
            .map(attachments_from_py)
            .transpose()?
            .unwrap_or_default();
        inner.headers = headers
            .map(headers_from_py)
            .transpose()?
            .unwrap_or_default();
        Ok(Self { inner })
    }

    /// `To` recipients.
    #[getter]
    fn to(&self) -> Vec<String> {
        self.inner.to.clone()
    }
    #[setter]
    fn set_to(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.to = Vec::<String>::from_py("to", v)?;
        Ok(())
    }
    /// `Cc` recipients.
    #[getter]
    fn cc(&self) -> Vec<String> {
        self.inner.cc.clone()
    }
    #[setter]
    fn set_cc(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.cc = Vec::<String>::from_py("cc", v)?;
        Ok(())
    }
    /// Blind recipients: in the envelope, never in the headers.
    #[getter]
    fn bcc(&self) -> Vec<String> {
        self.inner.bcc.clone()
    }
    #[setter]
    fn set_bcc(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.bcc = Vec::<String>::from_py("bcc", v)?;
        Ok(())
    }
    /// `From`; the account's sender when None.
    #[getter]
    fn from_(&self) -> Option<String> {
        self.inner.from.clone()
    }
    #[setter]
    fn set_from_(&mut self, v: Option<String>) {
        self.inner.from = v;
    }
    /// `Reply-To`; the account's when None.
    #[getter]
    fn reply_to(&self) -> Option<String> {
        self.inner.reply_to.clone()
    }
    #[setter]
    fn set_reply_to(&mut self, v: Option<String>) {
        self.inner.reply_to = v;
    }
    /// The envelope sender (bounces); the account's when None.
    #[getter]
    fn return_path(&self) -> Option<String> {
        self.inner.return_path.clone()
    }
    #[setter]
    fn set_return_path(&mut self, v: Option<String>) {
        self.inner.return_path = v;
    }
    /// Subject.
    #[getter]
    fn subject(&self) -> String {
        self.inner.subject.clone()
    }
    #[setter]
    fn set_subject(&mut self, v: String) {
        self.inner.subject = v;
    }
    /// Plain-text body.
    #[getter]
    fn text(&self) -> Option<String> {
        self.inner.text.clone()
    }
    #[setter]
    fn set_text(&mut self, v: Option<String>) {
        self.inner.text = v;
    }
    /// HTML body.
    #[getter]
    fn html(&self) -> Option<String> {
        self.inner.html.clone()
    }
    #[setter]
    fn set_html(&mut self, v: Option<String>) {
        self.inner.html = v;
    }
    /// Attachments.
    #[getter]
    fn attachments(&self) -> Vec<PyAttachment> {
        self.inner
            .attachments
            .iter()
            .map(|a| PyAttachment { inner: a.clone() })
            .collect()
    }
    #[setter]
    fn set_attachments(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.attachments = attachments_from_py(v)?;
        Ok(())
    }
    /// Extra headers as (name, value) pairs (only those the core allows: checked when sent).
    #[getter]
    fn headers(&self) -> Vec<(String, String)> {
        self.inner.headers.clone()
    }
    #[setter]
    fn set_headers(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.headers = headers_from_py(v)?;
        Ok(())
    }

    /// The "Test configuration" message (seed 004) to `send_to`, with the default subject and
    /// text unless given.
    #[staticmethod]
    #[pyo3(signature = (send_to, *, subject = None, message = None))]
    fn test_message(send_to: &str, subject: Option<&str>, message: Option<&str>) -> Self {
        Self {
            inner: OutgoingMessage::test_message(send_to, subject, message),
        }
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "OutgoingMessage(to={}, cc={}, bcc={}, subject={}, <{} attachments>)",
            py_repr(py, &self.inner.to),
            py_repr(py, &self.inner.cc),
            py_repr(py, &self.inner.bcc),
            py_repr(py, &self.inner.subject),
            self.inner.attachments.len()
        )
    }
}

/// What happened to one message.
#[pyclass(name = "SendReport", module = "mail_settings", frozen)]
#[derive(Clone, Debug)]
pub struct PySendReport {
    inner: SendReport,
}

impl From<SendReport> for PySendReport {
    fn from(inner: SendReport) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl PySendReport {
    /// Recipients the server accepted.
    #[getter]
    fn accepted(&self) -> Vec<String> {
        self.inner.accepted.clone()
    }
    /// Recipients the server refused, as dicts `{"address", "code", "text"}` (only ever
    /// non-empty with `partial_delivery=True`).
    #[getter]
    fn rejected<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for r in &self.inner.rejected {
            let d = PyDict::new(py);
            d.set_item("address", &r.address)?;
            d.set_item("code", r.reply.code())?;
            d.set_item("text", r.reply.text())?;
            list.append(d)?;
        }
        Ok(list)
    }
    /// The server's reply code to the end of DATA (250).
    #[getter]
    fn reply_code(&self) -> u16 {
        self.inner.reply.code()
    }
    /// The server's reply text (usually holds its queue id).
    #[getter]
    fn reply_text(&self) -> String {
        self.inner.reply.text()
    }
    /// The message's Message-ID, when this library built the message.
    #[getter]
    fn message_id(&self) -> Option<String> {
        self.inner.message_id.clone()
    }
    /// Everything as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("accepted", self.accepted())?;
        d.set_item("rejected", self.rejected(py)?)?;
        d.set_item("reply_code", self.reply_code())?;
        d.set_item("reply_text", self.reply_text())?;
        d.set_item("message_id", self.message_id())?;
        Ok(d)
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "SendReport(accepted={}, rejected=<{}>, reply_code={}, message_id={})",
            py_repr(py, &self.inner.accepted),
            self.inner.rejected.len(),
            self.inner.reply.code(),
            py_repr(py, &self.inner.message_id)
        )
    }
}

/// A message with the account's rules applied: the envelope and the bytes sent in DATA.
#[pyclass(name = "ComposedMessage", module = "mail_settings", frozen)]
#[derive(Clone, Debug)]
pub struct PyComposedMessage {
    inner: ComposedMessage,
}

#[pymethods]
impl PyComposedMessage {
    /// The envelope sender (MAIL FROM); None is the null sender.
    #[getter]
    fn mail_from(&self) -> Option<String> {
        self.inner.envelope.mail_from.clone()
    }
    /// Every recipient (RCPT TO).
    #[getter]
    fn rcpt_to(&self) -> Vec<String> {
        self.inner.envelope.rcpt_to.clone()
    }
    /// The message bytes (CRLF line endings, no Bcc header).
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.data)
    }
    /// The Message-ID header value.
    #[getter]
    fn message_id(&self) -> &str {
        &self.inner.message_id
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "ComposedMessage(mail_from={}, rcpt_to={}, <{} bytes>)",
            py_repr(py, &self.inner.envelope.mail_from),
            py_repr(py, &self.inner.envelope.rcpt_to),
            self.inner.data.len()
        )
    }
}

/// A provider, or an empty one for accounts that do not authenticate.
pub(crate) fn provider_or_empty(
    credentials: Option<&PyCredentials>,
) -> Arc<dyn CredentialProvider> {
    match credentials {
        Some(c) => c.provider(),
        None => Arc::new(InMemoryCredentials::new()),
    }
}

/// Options of a send.
pub(crate) fn options(timeout: Option<f64>, partial_delivery: bool) -> PyResult<SmtpOptions> {
    let mut o = SmtpOptions::with_timeouts(timeouts(timeout)?);
    o.partial_delivery = partial_delivery;
    Ok(o)
}

fn typed(
    account: &PySmtpAccount,
    connectors: Option<Vec<PyNetworkConnector>>,
) -> PyResult<SmtpAccount> {
    let connectors = connector_forms(connectors);
    account.typed(connectors.as_deref())
}

/// Sends `message` through `account` (its rules applied), one connection per call.
#[pyfunction]
#[pyo3(signature = (account, message, *, credentials = None, connectors = None, timeout = None, partial_delivery = false))]
pub fn send(
    py: Python<'_>,
    account: PySmtpAccount,
    message: PyOutgoingMessage,
    credentials: Option<PyRef<'_, PyCredentials>>,
    connectors: Option<Vec<PyNetworkConnector>>,
    timeout: Option<f64>,
    partial_delivery: bool,
) -> PyResult<PySendReport> {
    let account = typed(&account, connectors)?;
    let provider = provider_or_empty(credentials.as_deref());
    let opts = options(timeout, partial_delivery)?;
    let message = message.inner.clone();
    py.allow_threads(move || smtp::send(&account, provider.as_ref(), &message, &opts))
        .map(|inner| PySendReport { inner })
        .map_err(to_py_err)
}

/// Sends several messages over one connection (RSET between them). Returns, per message, its
/// `SendReport` or the exception it failed with; an exception with `is_outcome_unknown` set
/// means the message was sent whole without a final reply (maybe delivered, never resent).
#[pyfunction]
#[pyo3(signature = (account, messages, *, credentials = None, connectors = None, timeout = None, partial_delivery = false))]
pub fn send_many(
    py: Python<'_>,
    account: PySmtpAccount,
    messages: Vec<PyOutgoingMessage>,
    credentials: Option<PyRef<'_, PyCredentials>>,
    connectors: Option<Vec<PyNetworkConnector>>,
    timeout: Option<f64>,
    partial_delivery: bool,
) -> PyResult<Vec<PyObject>> {
    let account = typed(&account, connectors)?;
    let provider = provider_or_empty(credentials.as_deref());
    let opts = options(timeout, partial_delivery)?;
    let messages: Vec<OutgoingMessage> = messages.iter().map(|m| m.inner.clone()).collect();
    let results =
        py.allow_threads(move || smtp::send_many(&account, provider.as_ref(), &messages, &opts));
    results_to_py(py, results)
}

fn results_to_py(
    py: Python<'_>,
    results: Vec<Result<SendReport, mail_settings_core::ConnectionError>>,
) -> PyResult<Vec<PyObject>> {
    results
        .into_iter()
        .map(|r| match r {
            Ok(inner) => Ok(Py::new(py, PySendReport { inner })?.into_any()),
            Err(e) => Ok(to_py_err(e).into_value(py).into_any()),
        })
        .collect()
}

/// "Test configuration" (seed 004): sends the test message to `send_to` through `account`,
/// with the default subject and text unless given.
#[pyfunction]
#[pyo3(signature = (account, send_to, *, subject = None, message = None, credentials = None, connectors = None, timeout = None))]
#[allow(clippy::too_many_arguments)]
pub fn send_test(
    py: Python<'_>,
    account: PySmtpAccount,
    send_to: String,
    subject: Option<String>,
    message: Option<String>,
    credentials: Option<PyRef<'_, PyCredentials>>,
    connectors: Option<Vec<PyNetworkConnector>>,
    timeout: Option<f64>,
) -> PyResult<PySendReport> {
    let account = typed(&account, connectors)?;
    let provider = provider_or_empty(credentials.as_deref());
    let opts = options(timeout, false)?;
    py.allow_threads(move || {
        smtp::send_test(
            &account,
            provider.as_ref(),
            &send_to,
            subject.as_deref(),
            message.as_deref(),
            &opts,
        )
    })
    .map(|inner| PySendReport { inner })
    .map_err(to_py_err)
}

/// Applies the account's rules to `message` and builds it, without sending.
#[pyfunction]
#[pyo3(signature = (account, message, *, connectors = None))]
pub fn compose(
    account: PySmtpAccount,
    message: PyOutgoingMessage,
    connectors: Option<Vec<PyNetworkConnector>>,
) -> PyResult<PyComposedMessage> {
    let account = typed(&account, connectors)?;
    smtp::compose(&account, &message.inner)
        .map(|inner| PyComposedMessage { inner })
        .map_err(to_py_err)
}

/// The pool's limits, checked.
pub(crate) fn pool_config(
    max_idle: usize,
    idle_timeout: f64,
    max_open: usize,
    wait_timeout: f64,
) -> PyResult<PoolConfig> {
    for (name, value) in [
        ("idle_timeout", idle_timeout),
        ("wait_timeout", wait_timeout),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(PyValueError::new_err(format!(
                "{name} must be seconds, 0 or more"
            )));
        }
    }
    if max_open == 0 {
        return Err(PyValueError::new_err("max_open must be 1 or more"));
    }
    let mut config = PoolConfig::with_max_idle(max_idle)
        .max_open(max_open)
        .wait_timeout(Duration::from_secs_f64(wait_timeout));
    config.idle_timeout = Duration::from_secs_f64(idle_timeout);
    Ok(config)
}

impl From<SmtpPool> for PySmtpPool {
    fn from(pool: SmtpPool) -> Self {
        Self {
            inner: Arc::new(pool),
        }
    }
}

/// Sessions to one SMTP account kept open and reused between messages (RSET in between).
/// Safe to share between threads.
#[pyclass(name = "SmtpPool", module = "mail_settings", frozen)]
#[derive(Debug)]
pub struct PySmtpPool {
    inner: Arc<SmtpPool>,
}

#[pymethods]
impl PySmtpPool {
    /// A pool for `account`; nothing is opened until the first message. A disabled or invalid
    /// account is refused.
    #[new]
    #[pyo3(signature = (account, *, credentials = None, connectors = None, timeout = None, max_idle = 4, idle_timeout = 60.0, max_open = 10, wait_timeout = 60.0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        account: PySmtpAccount,
        credentials: Option<PyRef<'_, PyCredentials>>,
        connectors: Option<Vec<PyNetworkConnector>>,
        timeout: Option<f64>,
        max_idle: usize,
        idle_timeout: f64,
        max_open: usize,
        wait_timeout: f64,
    ) -> PyResult<Self> {
        let account = typed(&account, connectors)?;
        let provider = provider_or_empty(credentials.as_deref());
        let opts = options(timeout, false)?;
        let config = pool_config(max_idle, idle_timeout, max_open, wait_timeout)?;
        SmtpPool::new(account, provider, opts, config)
            .map(|p| Self { inner: Arc::new(p) })
            .map_err(to_py_err)
    }

    /// Sends one message, reusing an idle session when one answers.
    fn send(&self, py: Python<'_>, message: PyOutgoingMessage) -> PyResult<PySendReport> {
        let pool = self.inner.clone();
        let message = message.inner.clone();
        py.allow_threads(move || pool.send(&message))
            .map(|inner| PySendReport { inner })
            .map_err(to_py_err)
    }

    /// Sends several messages; per message its `SendReport` or its exception.
    fn send_many(
        &self,
        py: Python<'_>,
        messages: Vec<PyOutgoingMessage>,
    ) -> PyResult<Vec<PyObject>> {
        let pool = self.inner.clone();
        let messages: Vec<OutgoingMessage> = messages.iter().map(|m| m.inner.clone()).collect();
        let results = py.allow_threads(move || pool.send_many(&messages));
        results_to_py(py, results)
    }

    /// Closes idle sessions that no longer answer (NOOP) or are too old; returns how many
    /// remain.
    fn check_idle(&self, py: Python<'_>) -> usize {
        let pool = self.inner.clone();
        py.allow_threads(move || pool.check_idle())
    }

    /// Closes every idle session.
    fn close_idle(&self, py: Python<'_>) {
        let pool = self.inner.clone();
        py.allow_threads(move || pool.close_idle())
    }

    /// Sessions open and waiting.
    #[getter]
    fn idle_connections(&self) -> usize {
        self.inner.idle_connections()
    }
    /// Sessions open now: idle, in use, or being opened (at most `max_open`).
    #[getter]
    fn open_connections(&self) -> usize {
        self.inner.open_connections()
    }
    /// Sessions opened since the pool was made.
    #[getter]
    fn connections_opened(&self) -> u64 {
        self.inner.connections_opened()
    }
    /// Times an idle session was reused.
    #[getter]
    fn connections_reused(&self) -> u64 {
        self.inner.connections_reused()
    }
    fn __repr__(&self) -> String {
        format!("SmtpPool({})", self.inner.label())
    }
    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }
    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> bool {
        self.close_idle(py);
        false
    }
}

/// Registers the classes and functions of this module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyAttachment>()?;
    m.add_class::<PyOutgoingMessage>()?;
    m.add_class::<PySendReport>()?;
    m.add_class::<PyComposedMessage>()?;
    m.add_class::<PySmtpPool>()?;
    m.add_function(wrap_pyfunction!(send, m)?)?;
    m.add_function(wrap_pyfunction!(send_many, m)?)?;
    m.add_function(wrap_pyfunction!(send_test, m)?)?;
    m.add_function(wrap_pyfunction!(compose, m)?)?;
    Ok(())
}
