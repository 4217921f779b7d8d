//! Validation results as Python objects: what `validate()` returns and what a
//! `ValidationError` carries.
//!
//! The results are the core's ([`ValidationResult`]); this module only gives them attributes,
//! `to_dict()`, equality and a `repr`.

use crate::convert::py_repr;
use mail_settings_core::{Severity, Validation, ValidationResult};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// One validation result: `path`, `code`, `severity`, `message`, `message_pt_br`.
#[pyclass(name = "ValidationResult", module = "mail_settings", frozen, eq)]
#[derive(Clone, Debug, PartialEq)]
pub struct PyValidationResult {
    pub(crate) inner: ValidationResult,
}

impl From<ValidationResult> for PyValidationResult {
    fn from(inner: ValidationResult) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl PyValidationResult {
    /// The field: `host` for one record, `incoming_accounts[2].host` in a document.
    #[getter]
    fn path(&self) -> &str {
        &self.inner.path
    }
    /// docs/SETTINGS.md's code, e.g. `invalid_port`.
    #[getter]
    fn code(&self) -> &'static str {
        self.inner.code.as_str()
    }
    /// `error` or `warning`.
    #[getter]
    fn severity(&self) -> &'static str {
        self.inner.severity.as_str()
    }
    /// The message in English.
    #[getter]
    fn message(&self) -> &str {
        &self.inner.message
    }
    /// The message in Brazilian Portuguese.
    #[getter]
    fn message_pt_br(&self) -> &str {
        &self.inner.message_pt_br
    }
    /// Whether this result blocks use (severity `error`).
    #[getter]
    fn is_error(&self) -> bool {
        self.inner.severity == Severity::Error
    }
    /// The result as a dict of its five fields.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("path", &self.inner.path)?;
        d.set_item("code", self.inner.code.as_str())?;
        d.set_item("severity", self.inner.severity.as_str())?;
        d.set_item("message", &self.inner.message)?;
        d.set_item("message_pt_br", &self.inner.message_pt_br)?;
        Ok(d)
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "ValidationResult(path={}, code={}, severity={}, message={})",
            py_repr(py, &self.inner.path),
            py_repr(py, self.inner.code.as_str()),
            py_repr(py, self.inner.severity.as_str()),
            py_repr(py, &self.inner.message)
        )
    }
    fn __str__(&self) -> String {
        self.inner.to_string()
    }
}

/// Every result of one validation, in the order the fields were checked. A sequence of
/// [`PyValidationResult`]; empty when everything is fine.
#[pyclass(name = "Validation", module = "mail_settings", frozen, eq, sequence)]
#[derive(Clone, Debug, PartialEq)]
pub struct PyValidation {
    pub(crate) inner: Validation,
}

impl From<Validation> for PyValidation {
    fn from(inner: Validation) -> Self {
        Self { inner }
    }
}

fn to_list<'a>(
    py: Python<'_>,
    results: impl Iterator<Item = &'a ValidationResult>,
) -> PyResult<Py<PyList>> {
    let list = PyList::empty(py);
    for r in results {
        list.append(Py::new(py, PyValidationResult::from(r.clone()))?)?;
    }
    Ok(list.unbind())
}

#[pymethods]
impl PyValidation {
    /// Whether any result is an error (the settings cannot be used).
    #[getter]
    fn has_errors(&self) -> bool {
        self.inner.has_errors()
    }
    /// Whether there are no errors (warnings never block).
    #[getter]
    fn is_valid(&self) -> bool {
        !self.inner.has_errors()
    }
    /// Every result.
    #[getter]
    fn results(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        to_list(py, self.inner.results().iter())
    }
    /// The results of severity `error`.
    #[getter]
    fn errors(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        to_list(py, self.inner.errors())
    }
    /// The results of severity `warning`.
    #[getter]
    fn warnings(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        to_list(py, self.inner.warnings())
    }
    /// Whether a result with `code` is at `path`.
    fn contains(&self, path: &str, code: &str) -> bool {
        self.inner
            .results()
            .iter()
            .any(|r| r.path == path && r.code.as_str() == code)
    }
    /// Every result as a dict (see `ValidationResult.to_dict`).
    fn to_list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for r in self.inner.results() {
            list.append(PyValidationResult::from(r.clone()).to_dict(py)?)?;
        }
        Ok(list)
    }
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyIterator>> {
        self.results(py)?.into_bound(py).try_iter()
    }
    fn __len__(&self) -> usize {
        self.inner.len()
    }
    fn __getitem__(&self, index: isize) -> PyResult<PyValidationResult> {
        let len = self.inner.len() as isize;
        let i = if index < 0 { index + len } else { index };
        if i < 0 || i >= len {
            return Err(pyo3::exceptions::PyIndexError::new_err(
                "validation result index out of range",
            ));
        }
        Ok(PyValidationResult::from(
            self.inner.results()[i as usize].clone(),
        ))
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        let items: Vec<String> = self
            .inner
            .results()
            .iter()
            .map(|r| PyValidationResult::from(r.clone()).__repr__(py))
            .collect();
        format!("Validation([{}])", items.join(", "))
    }
    fn __str__(&self) -> String {
        if self.inner.is_empty() {
            "no problems".to_owned()
        } else {
            self.inner.to_string()
        }
    }
}
