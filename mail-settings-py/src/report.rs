//! The account reports of seeds 002 and 003 from Python: filtered and paged rows, the text
//! table, and CSV and printable HTML exports, all computed by the core's
//! [`mail_settings_core::report`] over the store.
//!
//! Filters are keyword arguments named as the core's filter fields; exports go to a file path
//! (streamed by the core with the GIL released), to a binary file object, or come back as text.

use crate::errors::to_py_err;
use mail_settings_core::report::{
    render_text, IncomingReportFilter, IncomingReportRow, Lang, ReportPage, SmtpReportFilter,
    SmtpReportRow, Status,
};
use mail_settings_core::store::StoreError;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::io::Write;

/// `en` or `pt-BR`.
pub(crate) fn lang_from(lang: &str) -> PyResult<Lang> {
    serde_json::from_value(serde_json::Value::String(lang.to_owned()))
        .map_err(|_| PyValueError::new_err(format!("lang must be 'en' or 'pt-BR', not {lang:?}")))
}

fn status_from(status: Option<&str>) -> PyResult<Option<Status>> {
    status
        .map(|s| {
            serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
                PyValueError::new_err(format!("status must be 'enabled' or 'disabled', not {s:?}"))
            })
        })
        .transpose()
}

pub(crate) use crate::records::serde_to_py as serde_dict;

crate::records::record_class! {
    /// A row of the incoming (IMAP/POP3) report.
    PyIncomingReportRow("IncomingReportRow") wraps IncomingReportRow {
        /// ID.
        id,
        /// Name (trimmed).
        name,
        /// Secure connection.
        secure_connection,
        /// 'SSL' or 'TLS'; None when not secure.
        connection_type,
        /// 'IMAP' or 'POP3'.
        protocol,
        /// The effective port.
        port,
        /// Automatic check.
        automatic_check,
        /// Keep copy in server.
        keep_copy_on_server,
        /// Folders collected, as the user writes them.
        folders,
        /// The archive folder, or None.
        archive_folder,
        /// Push: an IMAP account with use_push.
        push,
    }
}

crate::records::record_class! {
    /// A row of the SMTP report.
    PySmtpReportRow("SmtpReportRow") wraps SmtpReportRow {
        /// ID.
        id,
        /// Name (trimmed).
        name,
        /// Enabled.
        enabled,
        /// Sender e-mail.
        sender,
        /// SMTP host.
        host,
        /// The effective port.
        port,
        /// Secure connection.
        secure_connection,
        /// 'SSL' or 'TLS'; None when not secure.
        connection_type,
        /// Uses authentication.
        authentication,
        /// Is the default account.
        default_account,
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Page {
    Incoming(ReportPage<IncomingReportRow>),
    Smtp(ReportPage<SmtpReportRow>),
}

/// One page of a report: its rows (in id order), the page number and size as served, and the
/// number of rows matching the filters over all pages.
#[pyclass(name = "ReportPage", module = "mail_settings", frozen, sequence)]
#[derive(Clone, Debug)]
pub struct PyReportPage {
    pub(crate) page: Page,
}

impl PyReportPage {
    fn rows_vec(&self, py: Python<'_>) -> PyResult<Vec<PyObject>> {
        match &self.page {
            Page::Incoming(p) => p
                .rows
                .iter()
                .map(|r| Ok(Py::new(py, PyIncomingReportRow::from(r.clone()))?.into_any()))
                .collect(),
            Page::Smtp(p) => p
                .rows
                .iter()
                .map(|r| Ok(Py::new(py, PySmtpReportRow::from(r.clone()))?.into_any()))
                .collect(),
        }
    }

    fn meta(&self) -> (u32, u32, u64, u64, usize) {
        match &self.page {
            Page::Incoming(p) => (p.page, p.page_size, p.total, p.page_count(), p.rows.len()),
            Page::Smtp(p) => (p.page, p.page_size, p.total, p.page_count(), p.rows.len()),
        }
    }
}

#[pymethods]
impl PyReportPage {
    /// The rows.
    #[getter]
    fn rows(&self, py: Python<'_>) -> PyResult<Vec<PyObject>> {
        self.rows_vec(py)
    }
    /// The page number, from 1.
    #[getter]
    fn page(&self) -> u32 {
        self.meta().0
    }
    /// The page size as served.
    #[getter]
    fn page_size(&self) -> u32 {
        self.meta().1
    }
    /// Rows matching the filters, over all pages.
    #[getter]
    fn total(&self) -> u64 {
        self.meta().2
    }
    /// Number of pages (0 when nothing matches).
    #[getter]
    fn page_count(&self) -> u64 {
        self.meta().3
    }
    /// The page as an aligned text table (header, rows, page line), in `lang`.
    #[pyo3(signature = (lang = "en"))]
    fn to_text(&self, lang: &str) -> PyResult<String> {
        let lang = lang_from(lang)?;
        Ok(match &self.page {
            Page::Incoming(p) => render_text(p, lang),
            Page::Smtp(p) => render_text(p, lang),
        })
    }
    /// The page as a dict (`rows` as dicts).
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        match &self.page {
            Page::Incoming(p) => serde_dict(py, p),
            Page::Smtp(p) => serde_dict(py, p),
        }
    }
    fn __len__(&self) -> usize {
        self.meta().4
    }
    fn __getitem__(&self, py: Python<'_>, index: isize) -> PyResult<PyObject> {
        let mut rows = self.rows_vec(py)?;
        let len = rows.len() as isize;
        let i = if index < 0 { index + len } else { index };
        if i < 0 || i >= len {
            return Err(pyo3::exceptions::PyIndexError::new_err(
                "row index out of range",
            ));
        }
        Ok(rows.swap_remove(i as usize))
    }
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyIterator>> {
        pyo3::types::PyList::new(py, self.rows_vec(py)?)?.try_iter()
    }
    fn __repr__(&self) -> String {
        let (page, size, total, count, n) = self.meta();
        let kind = match self.page {
            Page::Incoming(_) => "incoming",
            Page::Smtp(_) => "smtp",
        };
        format!("ReportPage({kind}, page={page} of {count}, page_size={size}, total={total}, rows=<{n}>)")
    }
}

/// Where an export goes: a path, a binary file object, or a returned string.
pub(crate) enum Destination {
    Path(String),
    File(Py<PyAny>),
    Text,
}

pub(crate) fn destination(dest: Option<&Bound<'_, PyAny>>) -> PyResult<Destination> {
    match dest {
        None => Ok(Destination::Text),
        Some(d) if d.hasattr("write")? && !d.hasattr("__fspath__")? => {
            Ok(Destination::File(d.clone().unbind()))
        }
        Some(d) => crate::convert::fspath(d).map(Destination::Path),
    }
}

/// Writes to a Python binary file object (`write(bytes)`), taking the GIL for each chunk.
struct PyFileWriter {
    file: Py<PyAny>,
}

impl Write for PyFileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Python::with_gil(|py| {
            self.file
                .call_method1(py, "write", (PyBytes::new(py, buf),))
                .map_err(|e| std::io::Error::other(e.to_string()))
        })?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs an export to its destination with the GIL released; returns the text (for
/// [`Destination::Text`]) or the number of rows.
pub(crate) fn export(
    py: Python<'_>,
    dest: Destination,
    run: impl FnOnce(&mut dyn Write) -> Result<u64, StoreError> + Send,
) -> PyResult<PyObject> {
    match dest {
        Destination::Text => {
            let mut buf = Vec::new();
            py.allow_threads(|| run(&mut buf)).map_err(to_py_err)?;
            let text = String::from_utf8(buf).map_err(|e| PyValueError::new_err(e.to_string()))?;
            Ok(text.into_pyobject(py)?.into_any().unbind())
        }
        Destination::Path(path) => {
            let n = py
                .allow_threads(|| -> Result<u64, StoreError> {
                    let file = std::fs::File::create(&path)?;
                    let mut w = std::io::BufWriter::new(file);
                    let n = run(&mut w)?;
                    w.flush()?;
                    w.into_inner()
                        .map_err(|e| StoreError::Io(e.into_error()))?
                        .sync_all()?;
                    Ok(n)
                })
                .map_err(to_py_err)?;
            Ok(n.into_pyobject(py)?.into_any().unbind())
        }
        Destination::File(file) => {
            let mut w = std::io::BufWriter::with_capacity(64 * 1024, PyFileWriter { file });
            let n = py
                .allow_threads(|| -> Result<u64, StoreError> {
                    let n = run(&mut w)?;
                    w.flush()?;
                    Ok(n)
                })
                .map_err(to_py_err)?;
            Ok(n.into_pyobject(py)?.into_any().unbind())
        }
    }
}

pub(crate) fn incoming_filter(
    name_contains: Option<String>,
    secure_connection: Option<bool>,
    automatic_check: Option<bool>,
    keep_copy: Option<bool>,
    status: Option<&str>,
) -> PyResult<IncomingReportFilter> {
    Ok(IncomingReportFilter {
        name_contains,
        secure_connection,
        automatic_check,
        keep_copy,
        status: status_from(status)?,
        ..IncomingReportFilter::default()
    })
}

pub(crate) fn smtp_filter(
    name_contains: Option<String>,
    secure_connection: Option<bool>,
    status: Option<&str>,
    authentication: Option<bool>,
    default_account: Option<bool>,
) -> PyResult<SmtpReportFilter> {
    Ok(SmtpReportFilter {
        name_contains,
        secure_connection,
        status: status_from(status)?,
        authentication,
        default_account,
        ..SmtpReportFilter::default()
    })
}

/// Registers the classes of this module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyReportPage>()?;
    m.add_class::<PyIncomingReportRow>()?;
    m.add_class::<PySmtpReportRow>()?;
    Ok(())
}
