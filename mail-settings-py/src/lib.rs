//! # mail_settings._native
//!
//! The native half of the Python package `mail_settings` (PyO3). It only translates: every
//! rule, default, check and driver lives in `mail-settings-core`; this crate turns Python
//! values into the core's types and back, maps the core's errors onto the package's exception
//! classes in one place (`errors.rs`), and releases the GIL around network and disk work.
//!
//! The pure-Python package (`python/mail_settings/`) re-exports these classes with the
//! exceptions of `_errors.py`; `_native.pyi` describes them for type checkers.

mod check;
mod collector;
mod convert;
mod credentials;
mod document;
mod errors;
mod forms;
mod journal;
mod oauth2;
mod records;
mod report;
mod schedule;
mod smtp;
mod store;
mod validation;

use pyo3::prelude::*;

/// The module `mail_settings._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<forms::PyIncomingAccount>()?;
    m.add_class::<forms::PySmtpAccount>()?;
    m.add_class::<forms::PyNetworkConnector>()?;
    m.add_class::<validation::PyValidation>()?;
    m.add_class::<validation::PyValidationResult>()?;
    m.add_class::<credentials::PyCredential>()?;
    m.add_class::<credentials::PyCredentials>()?;
    m.add_class::<document::PySettingsDocument>()?;
    m.add_class::<store::PyStore>()?;
    smtp::register(m)?;
    report::register(m)?;
    check::register(m)?;
    collector::register(m)?;
    schedule::register(m)?;
    journal::register(m)?;
    oauth2::register(m)?;
    Ok(())
}
