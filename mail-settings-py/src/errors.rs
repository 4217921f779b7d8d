//! The one place where the core's errors become Python exceptions.
//!
//! The exception classes are plain Python (`mail_settings/_errors.py`) so scripts can subclass,
//! pickle and catch them as usual; this module imports them once and picks the class from the
//! core's [`ErrorCategory`] (and, for the store, from the variant), passing the details as
//! keyword arguments. Messages come from the core's `Display`, which never holds a secret.

use crate::collector::PyRunReport;
use crate::validation::PyValidationResult;
use mail_settings_core::app::{AccountError, AccountKind, AccountRef};
use mail_settings_core::collector::CollectError;
use mail_settings_core::error::{ConnectionError, Error, ErrorCategory, ProxyHop};
use mail_settings_core::store::StoreError;
use mail_settings_core::{CredentialError, ParseError};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyList, PyModule};

static ERRORS: GILOnceCell<Py<PyModule>> = GILOnceCell::new();

fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ERRORS
        .get_or_try_init(py, || py.import("mail_settings._errors").map(Bound::unbind))
        .map(|m| m.bind(py))
}

/// The exception class `name` of `mail_settings._errors`.
pub(crate) fn exception_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    errors_module(py)?.getattr(name)
}

/// The snake_case word of a proxy hop.
pub(crate) fn hop_word(hop: ProxyHop) -> &'static str {
    match hop {
        ProxyHop::ProxyUnreachable => "proxy_unreachable",
        ProxyHop::ProxyAuth => "proxy_auth",
        ProxyHop::ProxyRefused => "proxy_refused",
        ProxyHop::TargetUnreachable => "target_unreachable",
        _ => "proxy",
    }
}

/// The exception class for a connection error's category.
fn connection_class(category: ErrorCategory) -> &'static str {
    match category {
        ErrorCategory::Auth => "AuthError",
        ErrorCategory::NeedsSignIn => "NeedsSignInError",
        ErrorCategory::Tls => "TlsError",
        ErrorCategory::Certificate => "CertificateError",
        ErrorCategory::Timeout => "TimeoutError",
        ErrorCategory::Connect => "ConnectError",
        ErrorCategory::Dns => "DnsError",
        ErrorCategory::Proxy => "ProxyError",
        ErrorCategory::Protocol => "ProtocolError",
        ErrorCategory::Cancelled => "CancelledError",
        ErrorCategory::Credential => "CredentialError",
        // Drivers also report settings they cannot use (a disabled account, an address that
        // does not parse), a missing default account, and store failures.
        ErrorCategory::Validation => "ValidationError",
        ErrorCategory::NotFound => "NotFoundError",
        ErrorCategory::Conflict => "ConflictError",
        ErrorCategory::Storage => "StorageError",
        ErrorCategory::Parse => "ParseError",
        _ => "ConnectionError",
    }
}

/// Builds the Python exception for any core error.
pub(crate) fn to_py_err(err: impl Into<Error>) -> PyErr {
    let err = err.into();
    Python::with_gil(|py| match build(py, &err) {
        Ok(e) => e,
        // Only if the package itself is broken (its _errors module missing).
        Err(import_failure) => {
            let e = PyRuntimeError::new_err(err.to_string());
            e.set_cause(py, Some(import_failure));
            e
        }
    })
}

/// Builds the Python exception for a failed collector run. An interrupted run's exception
/// carries what the run did before failing as `report` (a `RunReport`).
pub(crate) fn collect_err(err: CollectError) -> PyErr {
    Python::with_gil(|py| {
        let made = (|| -> PyResult<PyErr> {
            let kwargs = PyDict::new(py);
            kwargs.set_item("category", err.category().as_str())?;
            let class = classify_collect(py, &kwargs, &err)?;
            let exc = exception_class(py, class)?.call((err.to_string(),), Some(&kwargs))?;
            if let Some(report) = err.report() {
                exc.setattr("report", Py::new(py, PyRunReport::from(report.clone()))?)?;
            }
            Ok(PyErr::from_value(exc))
        })();
        made.unwrap_or_else(|import_failure| {
            let e = PyRuntimeError::new_err(err.to_string());
            e.set_cause(py, Some(import_failure));
            e
        })
    })
}

fn classify_collect(
    py: Python<'_>,
    kwargs: &Bound<'_, PyDict>,
    err: &CollectError,
) -> PyResult<&'static str> {
    Ok(match err {
        CollectError::Connection(c) => connection_kwargs(kwargs, c)?,
        CollectError::Store(s) => store_class(py, kwargs, s)?,
        CollectError::Account(e) => classify(py, kwargs, e)?,
        CollectError::Busy { account } => {
            kwargs.set_item("kind", "incoming account")?;
            kwargs.set_item("id", *account)?;
            "ConflictError"
        }
        CollectError::Disabled { .. } => "ValidationError",
        CollectError::Interrupted { error, .. } => classify_collect(py, kwargs, error)?,
        _ => "MailSettingsError",
    })
}

fn build(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("category", err.category().as_str())?;
    let class = classify(py, &kwargs, err)?;
    let message = match err {
        // A dict has no lines: say where without "line 0, column 0".
        Error::Parse(p) if p.line == 0 => format!("{}: {}", p.format, p.message),
        _ => err.to_string(),
    };
    let cls = exception_class(py, class)?;
    let exc = cls.call((message,), Some(&kwargs))?;
    Ok(PyErr::from_value(exc))
}

/// The exception class for a core error, with its details put into `kwargs`.
fn classify(py: Python<'_>, kwargs: &Bound<'_, PyDict>, err: &Error) -> PyResult<&'static str> {
    let kwargs = kwargs.clone();
    Ok(match err {
        Error::Validation(v) => {
            results_kwarg(py, &kwargs, v)?;
            "ValidationError"
        }
        Error::Parse(p) => {
            parse_kwargs(&kwargs, p)?;
            "ParseError"
        }
        // An OAuth2 failure keeps its own category (needs sign-in, a refused client).
        Error::Credential(c) if c.category() != ErrorCategory::Credential => {
            connection_class(c.category())
        }
        Error::Credential(c) => {
            credential_kwargs(&kwargs, c)?;
            "CredentialError"
        }
        Error::Store(s) => store_class(py, &kwargs, s)?,
        Error::Connection(c) => connection_kwargs(&kwargs, c)?,
        Error::Account(a) => account_class(&kwargs, a)?,
        _ => "MailSettingsError",
    })
}

/// An account that did not resolve: `AccountNotFoundError` (with `kind` and the `id` or `name`
/// asked for), `NoDefaultAccountError`, `AmbiguousAccountError` (a `ValidationError` with the
/// `id` or `name`), `NoDefaultForError` (a `ValidationError` with the `kind`).
fn account_class(kwargs: &Bound<'_, PyDict>, a: &AccountError) -> PyResult<&'static str> {
    Ok(match a {
        AccountError::NotFound { kind, wanted } => {
            kwargs.set_item("kind", kind.map_or("account", AccountKind::label))?;
            match wanted {
                AccountRef::Id(id) => kwargs.set_item("id", *id)?,
                AccountRef::Name(name) => kwargs.set_item("name", name)?,
                AccountRef::Default => {}
            }
            "AccountNotFoundError"
        }
        AccountError::NoDefault => {
            kwargs.set_item("kind", "SMTP account")?;
            "NoDefaultAccountError"
        }
        AccountError::Ambiguous { wanted } => {
            match wanted {
                AccountRef::Id(id) => kwargs.set_item("id", *id)?,
                AccountRef::Name(name) => kwargs.set_item("name", name)?,
                AccountRef::Default => {}
            }
            "AmbiguousAccountError"
        }
        AccountError::NoDefaultFor { kind } => {
            kwargs.set_item("kind", *kind)?;
            "NoDefaultForError"
        }
        _ => "ValidationError",
    })
}

fn results_kwarg(
    py: Python<'_>,
    kwargs: &Bound<'_, PyDict>,
    v: &mail_settings_core::Validation,
) -> PyResult<()> {
    let list = PyList::empty(py);
    for r in v.results() {
        list.append(Py::new(py, PyValidationResult::from(r.clone()))?)?;
    }
    kwargs.set_item("results", list)
}

fn parse_kwargs(kwargs: &Bound<'_, PyDict>, p: &ParseError) -> PyResult<()> {
    kwargs.set_item("format", p.format)?;
    kwargs.set_item("line", p.line)?;
    kwargs.set_item("column", p.column)
}

fn credential_kwargs(kwargs: &Bound<'_, PyDict>, c: &CredentialError) -> PyResult<()> {
    match c {
        CredentialError::Unknown(id) => kwargs.set_item("credential_id", id),
        CredentialError::Provider { id, .. } => kwargs.set_item("credential_id", id),
        CredentialError::File { path, .. } => {
            kwargs.set_item("path", path.to_string_lossy().into_owned())
        }
        _ => Ok(()),
    }
}

fn store_class(
    py: Python<'_>,
    kwargs: &Bound<'_, PyDict>,
    s: &StoreError,
) -> PyResult<&'static str> {
    Ok(match s {
        StoreError::Invalid(v) => {
            results_kwarg(py, kwargs, v)?;
            "ValidationError"
        }
        StoreError::Conflict {
            kind,
            id,
            expected,
            found,
        } => {
            kwargs.set_item("kind", *kind)?;
            kwargs.set_item("id", *id)?;
            kwargs.set_item("expected_version", *expected)?;
            kwargs.set_item("found_version", *found)?;
            "ConflictError"
        }
        StoreError::NotFound { kind, id } => {
            kwargs.set_item("kind", *kind)?;
            kwargs.set_item("id", *id)?;
            "NotFoundError"
        }
        StoreError::NameNotFound { kind, name } => {
            kwargs.set_item("kind", *kind)?;
            kwargs.set_item("name", name)?;
            "NotFoundError"
        }
        StoreError::InUse { kind, id, used_by } => {
            kwargs.set_item("kind", *kind)?;
            kwargs.set_item("id", *id)?;
            kwargs.set_item("used_by", used_by.clone())?;
            "InUseError"
        }
        StoreError::UsedBySchedules { id, schedules } => {
            kwargs.set_item("kind", "SMTP account")?;
            kwargs.set_item("id", *id)?;
            kwargs.set_item("used_by", schedules.clone())?;
            "InUseError"
        }
        _ => "StorageError",
    })
}

fn connection_kwargs(kwargs: &Bound<'_, PyDict>, c: &ConnectionError) -> PyResult<&'static str> {
    let class = connection_class(c.category());
    if c.is_auth()
        || c.is_tls()
        || c.is_timeout()
        || c.is_connect()
        || c.is_proxy()
        || c.is_protocol()
        || class == "ConnectionError"
    {
        kwargs.set_item("hop", c.hop().map(hop_word))?;
        kwargs.set_item("reply_code", c.reply_code())?;
        kwargs.set_item("enhanced_code", c.enhanced_code())?;
        kwargs.set_item("outcome_unknown", c.is_outcome_unknown())?;
    }
    Ok(class)
}
