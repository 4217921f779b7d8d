//! The collection journal from Python (`CollectionJournal(store)`): a filtered page as a dict,
//! the whole filtered journal as CSV or printable HTML, the runs, and the retention in force.
//! Thin delegation to [`mail_settings_core::journal`]; filters are keyword arguments named as
//! the command's options (`account` a name or id, `outcome` a word, `since`/`until` RFC 3339,
//! a date, or Unix seconds).

use crate::errors::to_py_err;
use crate::records::serde_to_py;
use crate::report;
use crate::store::PyStore;
use mail_settings_core::journal::{self, AccountFilter, JournalFilters, RangeEnd};
use mail_settings_core::report::CsvOptions;
use mail_settings_core::store::Store;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use std::sync::Arc;
use std::time::SystemTime;

/// The collection journal of a store.
#[pyclass(name = "CollectionJournal", module = "mail_settings", frozen)]
#[derive(Debug)]
pub struct PyJournal {
    store: Arc<Store>,
}

fn time(v: Option<&Bound<'_, PyAny>>, end: RangeEnd, name: &str) -> PyResult<Option<i64>> {
    let Some(v) = v else { return Ok(None) };
    if let Ok(secs) = v.extract::<i64>() {
        return Ok(Some(secs));
    }
    let s: String = v.extract().map_err(|_| {
        PyTypeError::new_err(format!("{name} is a str (RFC 3339 or a date) or an int"))
    })?;
    journal::parse_time(&s, end).map(Some).ok_or_else(|| {
        PyValueError::new_err(format!(
            "{name} takes RFC 3339 (2026-12-06T10:00:00Z) or a date (2026-12-06), not {s:?}"
        ))
    })
}

fn filters(
    account: Option<&Bound<'_, PyAny>>,
    outcome: Option<&str>,
    since: Option<&Bound<'_, PyAny>>,
    until: Option<&Bound<'_, PyAny>>,
) -> PyResult<JournalFilters> {
    let account = match account {
        None => None,
        Some(a) => Some(if let Ok(id) = a.extract::<i64>() {
            AccountFilter::Id(id)
        } else {
            AccountFilter::Name(
                a.extract::<String>()
                    .map_err(|_| PyTypeError::new_err("account is an id (int) or a name (str)"))?,
            )
        }),
    };
    let outcome = outcome
        .map(|o| {
            journal::parse_outcome(o).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "outcome is stored, duplicate, skipped_too_large, refused or failed, not {o:?}"
                ))
            })
        })
        .transpose()?;
    Ok(JournalFilters {
        account,
        outcome,
        since: time(since, RangeEnd::Since, "since")?,
        until: time(until, RangeEnd::Until, "until")?,
    })
}

#[pymethods]
impl PyJournal {
    /// The journal of `store`.
    #[new]
    fn new(store: PyRef<'_, PyStore>) -> Self {
        Self {
            store: store.inner.clone(),
        }
    }

    /// One page, newest first, as a dict: `rows` (dicts with `id`, `run_id`, `account_id`,
    /// `account_name`, `folder`, `server_id`, `outcome`, `category`, `reason`, `size`,
    /// `message_id`, `subject`, `first_seen`, `last_seen`, `seen_count`), `page`, `page_size`,
    /// `total`.
    #[pyo3(signature = (*, account = None, outcome = None, since = None, until = None,
                        page = 1, page_size = 30))]
    #[allow(clippy::too_many_arguments)]
    fn page(
        &self,
        py: Python<'_>,
        account: Option<&Bound<'_, PyAny>>,
        outcome: Option<&str>,
        since: Option<&Bound<'_, PyAny>>,
        until: Option<&Bound<'_, PyAny>>,
        page: u32,
        page_size: u32,
    ) -> PyResult<PyObject> {
        let f = filters(account, outcome, since, until)?;
        let store = self.store.clone();
        let p = py
            .allow_threads(move || journal::page(&store, &f, page, page_size))
            .map_err(to_py_err)?;
        serde_to_py(py, &p)
    }

    /// The whole filtered journal as CSV (RFC 4180, UTF-8, CRLF, labels in `lang`). `dest`: a
    /// path or a binary file object (returns the number of rows), or None (returns the text).
    #[pyo3(signature = (dest = None, *, lang = "en", bom = false, account = None, outcome = None,
                        since = None, until = None))]
    #[allow(clippy::too_many_arguments)]
    fn csv(
        &self,
        py: Python<'_>,
        dest: Option<&Bound<'_, PyAny>>,
        lang: &str,
        bom: bool,
        account: Option<&Bound<'_, PyAny>>,
        outcome: Option<&str>,
        since: Option<&Bound<'_, PyAny>>,
        until: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyObject> {
        let f = filters(account, outcome, since, until)?;
        let lang = report::lang_from(lang)?;
        let store = self.store.clone();
        report::export(py, report::destination(dest)?, move |w| {
            journal::write_csv(&store, &f, lang, CsvOptions::default().bom(bom), w)
        })
    }

    /// The whole filtered journal as a printable standalone HTML page (see `csv` for `dest`).
    #[pyo3(signature = (dest = None, *, lang = "en", account = None, outcome = None,
                        since = None, until = None))]
    #[allow(clippy::too_many_arguments)]
    fn html(
        &self,
        py: Python<'_>,
        dest: Option<&Bound<'_, PyAny>>,
        lang: &str,
        account: Option<&Bound<'_, PyAny>>,
        outcome: Option<&str>,
        since: Option<&Bound<'_, PyAny>>,
        until: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyObject> {
        let f = filters(account, outcome, since, until)?;
        let lang = report::lang_from(lang)?;
        let store = self.store.clone();
        report::export(py, report::destination(dest)?, move |w| {
            journal::write_html(&store, &f, lang, SystemTime::now(), w)
        })
    }

    /// The collector runs, newest first (dicts: `id`, `account_id`, `started_at`, `ended_at`,
    /// the counts, `bytes`, `error_category`, `error_message`).
    #[pyo3(signature = (*, account = None, limit = 100))]
    fn runs(&self, py: Python<'_>, account: Option<i64>, limit: u32) -> PyResult<PyObject> {
        let store = self.store.clone();
        let runs = py
            .allow_threads(move || journal::runs(&store, account, limit))
            .map_err(to_py_err)?;
        serde_to_py(py, &runs)
    }

    /// The days an entry is kept: `journal_retention_days`, or 90.
    fn retention_days(&self, py: Python<'_>) -> PyResult<u32> {
        let store = self.store.clone();
        py.allow_threads(move || journal::retention_days(&store))
            .map_err(to_py_err)
    }
}

/// Registers the class.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyJournal>()
}
