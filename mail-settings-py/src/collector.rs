//! The mail collector and the inbox from Python.
//!
//! [`PyCollector`] wraps the core's [`Collector`]: `start`/`stop` the schedule, `check_now`
//! one account, `collect_once` several, `cancel`, statuses and skipped messages. Progress
//! reaches Python callables (called from whichever thread runs the collection, holding the
//! GIL only for the call); a [`PyCancelToken`] stops a run at the next message boundary. Every
//! run releases the GIL. [`PyInbox`] wraps the core's [`Inbox`]: listing, reading, marking and
//! deleting the collected messages.
//!
//! A running collector is stopped when it is garbage-collected and at interpreter exit (the
//! package's `atexit` hook), so its threads never call into a finalising interpreter.

use crate::convert::{fspath, timeouts};
use crate::credentials::PyCredentials;
use crate::errors::{collect_err, to_py_err};
use crate::records::{record_class, serde_to_py};
use crate::store::PyStore;
use mail_settings_core::app::{AccountKind, CollectOnceError, MailSettings};
use mail_settings_core::collector::{
    AccountStatus, CancelToken as CoreCancelToken, Collector, CollectorOptions, Progress,
    ProgressListener, RunControl, RunReport,
};
use mail_settings_core::inbox::{Inbox, InboxPage, InboxQuery, MessageSummary, MessageView};
use mail_settings_core::model::RecordId;
use mail_settings_core::store::Store;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use std::sync::Arc;
use std::time::Duration;

record_class! {
    /// What one collector run did.
    PyRunReport("RunReport") wraps RunReport {
        /// The account's id.
        account_id,
        /// The account's name.
        account_name,
        /// Messages the server listed.
        listed,
        /// Messages stored in the inbox by this run.
        fetched,
        /// Messages fetched that the inbox had already (same content and Message-ID).
        duplicates,
        /// Messages an earlier run had stored.
        already_stored,
        /// Messages left on the server for good (too large, refused too often).
        skipped,
        /// Messages the server refused in this run (retried later).
        refused,
        /// Messages removed from the server (without keep copy).
        deleted_on_server,
        /// Messages this run did not get to (cancelled or cut).
        pending,
        /// Bytes received.
        bytes,
        /// The run was cancelled (it stopped cleanly at a message boundary).
        cancelled,
        /// The IMAP UIDVALIDITY had changed and the run resynchronised.
        resynced,
        /// Messages listed in this run and left on the server as larger than the limit.
        skipped_too_large,
        /// Every message this run listed and did not store: dicts with `message`, `outcome`
        /// (`skipped_too_large`, `refused` or `failed`), `category`, `size`, `reason` and
        /// `attempts`.
        problems,
        /// What the run noticed about the server and handled, in words.
        notes,
        /// The server needs expunging (archive folder, neither MOVE nor UIDPLUS).
        needs_expunging,
    }
}

record_class! {
    /// Where an account stands with the collector.
    PyAccountStatus("AccountStatus") wraps AccountStatus {
        /// The account's id.
        account_id,
        /// The account's name.
        account_name,
        /// A run is in progress in this process.
        running,
        /// When it was last checked (Unix seconds).
        last_check,
        /// When a check last succeeded (Unix seconds).
        last_success,
        /// `{"category", "message"}` of the last check, if it failed.
        last_error,
        /// Checks failed in a row.
        consecutive_failures,
        /// Runs so far.
        runs,
        /// Messages stored, all runs together.
        fetched,
        /// Duplicates recognised, all runs together.
        duplicates,
        /// Messages left on the server for good.
        skipped,
        /// Messages the last run did not get to.
        pending,
        /// Messages the last run stored.
        last_run_fetched,
        /// Messages in the account's inbox now.
        inbox_messages,
        /// Messages on the server the collector could not store, as recorded: dicts like
        /// `RunReport.problems`.
        problems,
        /// When the running collector checks it next (Unix seconds).
        next_check,
        /// The server needs expunging: archived messages stay marked `\Deleted` (an archive
        /// folder on a server with neither MOVE nor UIDPLUS); cleared by a run that no
        /// longer needs it.
        needs_expunging,
    }
}

record_class! {
    /// Where a run is: given to progress callbacks.
    PyProgress("Progress") wraps Progress {
        /// The account's id.
        account_id,
        /// The account's name.
        account_name,
        /// Messages handled so far in this run.
        done,
        /// Messages this run is to fetch.
        total,
        /// Bytes received so far.
        bytes,
        /// Bytes this run is to fetch (as announced by the server).
        total_bytes,
    }
}

record_class! {
    /// One message of an inbox listing.
    PyMessageSummary("MessageSummary") wraps MessageSummary {
        /// The message's id in the inbox.
        id,
        /// The incoming account that received it.
        account_id,
        /// That account's name.
        account_name,
        /// Decoded subject, or None.
        subject,
        /// Decoded From.
        from_ = from,
        /// Decoded To.
        to,
        /// Decoded Cc.
        cc,
        /// The Date header as Unix seconds (UTC), or None.
        date,
        /// When the collector stored it (Unix seconds).
        stored_at,
        /// Message-ID without angle brackets, or None.
        message_id,
        /// Size of the raw message in bytes.
        size,
        /// Number of attachments.
        attachment_count,
        /// Whether it was marked read.
        read,
        /// How many more times the same message arrived and was not stored again.
        duplicates,
        /// Where it came from, e.g. `IMAP INBOX UIDVALIDITY 7 UID 42`.
        source,
        /// Why the message could not be parsed (it is stored raw all the same).
        parse_error,
    }
}

/// Stops a run at the next message boundary: what was fetched stays committed, and the run
/// reports `cancelled`. Pass it to `check_now` / `collect_once`; any thread may cancel it.
#[pyclass(name = "CancelToken", module = "mail_settings", frozen)]
#[derive(Clone, Debug, Default)]
pub struct PyCancelToken {
    handle: CoreCancelToken,
}

#[pymethods]
impl PyCancelToken {
    /// A token not cancelled.
    #[new]
    fn new() -> Self {
        Self::default()
    }
    /// Asks the run to stop.
    fn cancel(&self) {
        self.handle.cancel();
    }
    /// Whether it was asked to stop.
    fn is_cancelled(&self) -> bool {
        self.handle.is_cancelled()
    }
    /// Deprecated name of `is_cancelled()` (warns `DeprecationWarning`).
    #[getter]
    fn cancelled(&self, py: Python<'_>) -> PyResult<bool> {
        crate::store::deprecated(py, "CancelToken.cancelled", "CancelToken.is_cancelled()")?;
        Ok(self.handle.is_cancelled())
    }
    fn __repr__(&self) -> String {
        format!(
            "CancelToken(cancelled={})",
            if self.handle.is_cancelled() {
                "True"
            } else {
                "False"
            }
        )
    }
}

/// Calls a Python callable with each [`Progress`]; an exception it raises is reported as
/// unraisable (it cannot stop the run: use a `CancelToken` for that).
struct PyProgressListener {
    callback: Py<PyAny>,
}

impl ProgressListener for PyProgressListener {
    fn on_progress(&self, progress: &Progress) {
        Python::with_gil(|py| {
            let call = Py::new(py, PyProgress::from(progress.clone()))
                .and_then(|p| self.callback.call1(py, (p,)));
            if let Err(e) = call {
                e.write_unraisable(py, Some(self.callback.bind(py)));
            }
        });
    }
}

fn listener(callback: Option<Bound<'_, PyAny>>) -> PyResult<Option<Arc<dyn ProgressListener>>> {
    match callback {
        None => Ok(None),
        Some(c) if c.is_none() => Ok(None),
        Some(c) if c.is_callable() => Ok(Some(Arc::new(PyProgressListener {
            callback: c.unbind(),
        }))),
        Some(_) => Err(PyTypeError::new_err("on_progress must be callable")),
    }
}

fn control(
    on_progress: Option<Bound<'_, PyAny>>,
    cancel: Option<PyRef<'_, PyCancelToken>>,
) -> PyResult<RunControl> {
    Ok(RunControl {
        cancel: cancel.map(|c| c.handle.clone()).unwrap_or_default(),
        progress: listener(on_progress)?,
    })
}

/// An incoming account of the store by id or name (a string that is a number is an id).
fn account_id(store: &Store, account: &Bound<'_, PyAny>) -> PyResult<RecordId> {
    if account.is_none() {
        return Err(PyTypeError::new_err(
            "account must be an id (int) or a name (str)",
        ));
    }
    let wanted = crate::store::account_ref(Some(account))?;
    account
        .py()
        .allow_threads(|| {
            mail_settings_core::app::account_id(store, AccountKind::Incoming, &wanted)
        })
        .map_err(to_py_err)
}

/// The mail collector: fetches the incoming accounts' mail into the store's inbox, exactly
/// once. Safe to share between threads.
#[pyclass(name = "Collector", module = "mail_settings", frozen, weakref)]
pub struct PyCollector {
    inner: Arc<Collector>,
    store: PyStore,
}

impl std::fmt::Debug for PyCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl Drop for PyCollector {
    fn drop(&mut self) {
        // Stopping waits for the scheduled runs, which may need the GIL for a callback.
        if self.inner.is_running() {
            let inner = self.inner.clone();
            Python::with_gil(|py| py.allow_threads(move || inner.stop()));
        }
    }
}

#[pymethods]
impl PyCollector {
    /// A collector over `store`'s incoming accounts, logging in with `credentials` (default:
    /// the store's own). `timeout` bounds every network operation (seconds);
    /// `max_concurrent_accounts` runs at once; `on_progress(progress)` hears every run.
    #[new]
    #[pyo3(signature = (store, *, credentials = None, timeout = None, max_concurrent_accounts = 4, max_backoff = 3600.0, rescan_interval = 30.0, on_progress = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        store: PyRef<'_, PyStore>,
        credentials: Option<PyRef<'_, PyCredentials>>,
        timeout: Option<f64>,
        max_concurrent_accounts: usize,
        max_backoff: f64,
        rescan_interval: f64,
        on_progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let seconds = |name: &str, v: f64| -> PyResult<Duration> {
            if v.is_finite() && v > 0.0 {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(PyValueError::new_err(format!(
                    "{name} must be a positive number of seconds"
                )))
            }
        };
        let mut options = CollectorOptions::default();
        options.timeouts = timeouts(timeout)?;
        options.max_concurrent_accounts = max_concurrent_accounts.max(1);
        options.max_backoff = seconds("max_backoff", max_backoff)?;
        options.rescan_interval = seconds("rescan_interval", rescan_interval)?;
        let provider = store.provider_for(credentials);
        let collector = Collector::with_options(store.inner.clone(), provider, options);
        if let Some(l) = listener(on_progress)? {
            collector.add_listener(l);
        }
        Ok(Self {
            inner: Arc::new(collector),
            store: store.clone(),
        })
    }

    /// Adds a callable that hears every run's progress.
    fn add_listener(&self, callback: Bound<'_, PyAny>) -> PyResult<()> {
        if let Some(l) = listener(Some(callback))? {
            self.inner.add_listener(l);
        }
        Ok(())
    }

    /// Starts checking accounts on their schedule (every enabled account with
    /// `automatic_check`, first at once) in background threads. Does nothing if it runs.
    fn start(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let inner = slf.get().inner.clone();
        py.allow_threads(move || inner.start())
            .map_err(collect_err)?;
        // Stopped at interpreter exit by the package's atexit hook.
        py.import("mail_settings")?
            .getattr("_running_collectors")?
            .call_method1("add", (slf,))?;
        Ok(())
    }

    /// Stops the schedule, cancels the runs it started (at a message boundary) and waits for
    /// them. Runs started by `check_now` go on.
    fn stop(&self, py: Python<'_>) {
        let inner = self.inner.clone();
        py.allow_threads(move || inner.stop());
    }

    /// Whether the schedule runs.
    #[getter]
    fn is_running(&self) -> bool {
        self.inner.is_running()
    }

    /// Checks one account (id or name) now, in this thread with the GIL released, whether or
    /// not the collector runs. `ConflictError` while a run of it is in progress; connection
    /// failures raise their exception (an interrupted run's carries `report`).
    #[pyo3(signature = (account, *, on_progress = None, cancel = None))]
    fn check_now(
        &self,
        py: Python<'_>,
        account: &Bound<'_, PyAny>,
        on_progress: Option<Bound<'_, PyAny>>,
        cancel: Option<PyRef<'_, PyCancelToken>>,
    ) -> PyResult<PyRunReport> {
        let id = account_id(&self.store.inner, account)?;
        let control = control(on_progress, cancel)?;
        let inner = self.inner.clone();
        py.allow_threads(move || inner.check_now_with(id, &control))
            .map(PyRunReport::from)
            .map_err(collect_err)
    }

    /// Checks several accounts once (ids or names; all enabled accounts with
    /// `automatic_check` when None), a few at once. Returns, per account in order, its
    /// `RunReport` or the exception it failed with.
    #[pyo3(signature = (accounts = None, *, on_progress = None, cancel = None))]
    fn collect_once(
        &self,
        py: Python<'_>,
        accounts: Option<Vec<Bound<'_, PyAny>>>,
        on_progress: Option<Bound<'_, PyAny>>,
        cancel: Option<PyRef<'_, PyCancelToken>>,
    ) -> PyResult<Vec<PyObject>> {
        let wanted = accounts
            .unwrap_or_default()
            .iter()
            .map(|a| {
                if a.is_none() {
                    return Err(PyTypeError::new_err(
                        "account must be an id (int) or a name (str)",
                    ));
                }
                crate::store::account_ref(Some(a))
            })
            .collect::<PyResult<Vec<_>>>()?;
        let control = control(on_progress, cancel)?;
        let inner = self.inner.clone();
        let app = self.store.app();
        let results = py
            .allow_threads(move || app.collect_once(&inner, &wanted, &control))
            .map_err(|e| match e {
                CollectOnceError::Account(a) => to_py_err(a),
                CollectOnceError::Collect(c) => collect_err(c),
            })?;
        results
            .into_iter()
            .map(|(_, r)| match r {
                Ok(report) => Ok(Py::new(py, PyRunReport::from(report))?.into_any()),
                Err(e) => Ok(collect_err(e).into_value(py).into_any()),
            })
            .collect()
    }

    /// Cancels the run of `account` in progress, if any; returns whether there was one.
    fn cancel(&self, account: &Bound<'_, PyAny>) -> PyResult<bool> {
        let id = account_id(&self.store.inner, account)?;
        Ok(self.inner.cancel(id))
    }

    /// The status of one account (id or name).
    fn status(&self, py: Python<'_>, account: &Bound<'_, PyAny>) -> PyResult<PyAccountStatus> {
        let id = account_id(&self.store.inner, account)?;
        let inner = self.inner.clone();
        py.allow_threads(move || inner.status(id))
            .map(PyAccountStatus::from)
            .map_err(to_py_err)
    }

    /// The status of every incoming account.
    fn statuses(&self, py: Python<'_>) -> PyResult<Vec<PyAccountStatus>> {
        let inner = self.inner.clone();
        py.allow_threads(move || inner.statuses())
            .map(|v| v.into_iter().map(PyAccountStatus::from).collect())
            .map_err(to_py_err)
    }

    /// The messages of `account` left on the server for good, with their reasons (dicts).
    fn skipped(&self, py: Python<'_>, account: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let id = account_id(&self.store.inner, account)?;
        let inner = self.inner.clone();
        let skipped = py
            .allow_threads(move || inner.skipped(id))
            .map_err(to_py_err)?;
        serde_to_py(py, &skipped)
    }

    /// Forgets why messages of `account` were skipped, so the next run tries them again;
    /// returns how many.
    fn retry_skipped(&self, py: Python<'_>, account: &Bound<'_, PyAny>) -> PyResult<usize> {
        let id = account_id(&self.store.inner, account)?;
        let inner = self.inner.clone();
        py.allow_threads(move || inner.retry_skipped(id))
            .map_err(to_py_err)
    }

    /// The inbox the collector fills.
    #[getter]
    fn inbox(&self) -> PyInbox {
        PyInbox::of(self.store.app())
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
        self.stop(py);
        false
    }

    fn __repr__(&self) -> String {
        format!(
            "Collector(running={})",
            if self.inner.is_running() {
                "True"
            } else {
                "False"
            }
        )
    }
}

/// One page of an inbox listing, newest first.
#[pyclass(name = "InboxPage", module = "mail_settings", frozen, sequence)]
#[derive(Clone, Debug)]
pub struct PyInboxPage {
    inner: InboxPage,
}

#[pymethods]
impl PyInboxPage {
    /// The messages of the page.
    #[getter]
    fn messages(&self) -> Vec<PyMessageSummary> {
        self.inner
            .messages
            .iter()
            .cloned()
            .map(PyMessageSummary::from)
            .collect()
    }
    /// This page's number, from 1.
    #[getter]
    fn page(&self) -> u32 {
        self.inner.page
    }
    /// Messages a page.
    #[getter]
    fn page_size(&self) -> u32 {
        self.inner.page_size
    }
    /// Messages matching the query, on all pages.
    #[getter]
    fn total(&self) -> u64 {
        self.inner.total
    }
    /// Number of pages (0 when nothing matches).
    #[getter]
    fn pages(&self) -> u64 {
        self.inner.pages
    }
    /// The page as a dict.
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        serde_to_py(py, &self.inner)
    }
    fn __len__(&self) -> usize {
        self.inner.messages.len()
    }
    fn __getitem__(&self, index: isize) -> PyResult<PyMessageSummary> {
        let len = self.inner.messages.len() as isize;
        let i = if index < 0 { index + len } else { index };
        if i < 0 || i >= len {
            return Err(pyo3::exceptions::PyIndexError::new_err(
                "message index out of range",
            ));
        }
        Ok(PyMessageSummary::from(
            self.inner.messages[i as usize].clone(),
        ))
    }
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyIterator>> {
        PyList::new(py, self.messages())?.try_iter()
    }
    fn __repr__(&self) -> String {
        format!(
            "InboxPage(page={} of {}, total={}, messages=<{}>)",
            self.inner.page,
            self.inner.pages,
            self.inner.total,
            self.inner.messages.len()
        )
    }
}

/// A message as a person reads it: its summary, bodies and attachments.
#[pyclass(name = "MessageView", module = "mail_settings", frozen)]
#[derive(Clone, Debug)]
pub struct PyMessageView {
    inner: MessageView,
}

#[pymethods]
impl PyMessageView {
    /// The summary.
    #[getter]
    fn summary(&self) -> PyMessageSummary {
        PyMessageSummary::from(self.inner.summary.clone())
    }
    /// The plain-text body, or None.
    #[getter]
    fn text(&self) -> Option<String> {
        self.inner.body.text.clone()
    }
    /// The HTML body, or None.
    #[getter]
    fn html(&self) -> Option<String> {
        self.inner.body.html.clone()
    }
    /// Attachments as dicts `{"name", "content_type", "size"}`.
    #[getter]
    fn attachments(&self, py: Python<'_>) -> PyResult<PyObject> {
        serde_to_py(py, &self.inner.body.attachments)
    }
    /// Why the message could not be parsed, or None.
    #[getter]
    fn parse_error(&self) -> Option<String> {
        self.inner.body.parse_error.clone()
    }
    /// Everything as a dict.
    fn to_dict(&self, py: Python<'_>) -> PyResult<PyObject> {
        serde_to_py(py, &self.inner)
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "MessageView(id={}, subject={}, <{} attachments>)",
            self.inner.summary.id,
            crate::convert::py_repr(py, &self.inner.summary.subject),
            self.inner.body.attachments.len()
        )
    }
}

/// Unix seconds from an int or a `datetime` (naive ones are taken as local time, as
/// `datetime.timestamp()` does).
fn unix_seconds(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<i64>> {
    let Some(v) = value else { return Ok(None) };
    if v.is_none() {
        return Ok(None);
    }
    if let Ok(n) = v.extract::<i64>() {
        return Ok(Some(n));
    }
    if v.hasattr("timestamp")? {
        let t: f64 = v.call_method0("timestamp")?.extract()?;
        return Ok(Some(t.floor() as i64));
    }
    Err(PyTypeError::new_err(
        "since/until must be Unix seconds (int) or a datetime",
    ))
}

/// The messages the collector stored ("View inbox"), in the store's file.
#[pyclass(name = "Inbox", module = "mail_settings", frozen)]
#[derive(Clone, Debug)]
pub struct PyInbox {
    inner: Inbox,
    /// The application layer over the same store: it resolves accounts and lists pages.
    app: MailSettings,
}

impl PyInbox {
    /// The inbox of `app`'s store.
    pub(crate) fn of(app: MailSettings) -> Self {
        Self {
            inner: app.inbox(),
            app,
        }
    }

    /// The id of incoming account `account` (an id, or a name; a string that is a number is an
    /// id), or None for every account.
    fn account(&self, py: Python<'_>, account: Option<&Bound<'_, PyAny>>) -> PyResult<Option<i64>> {
        match account {
            None => Ok(None),
            Some(a) if a.is_none() => Ok(None),
            Some(a) => {
                let wanted = crate::store::account_ref(Some(a))?;
                let app = self.app.clone();
                py.allow_threads(move || app.account_id(AccountKind::Incoming, &wanted))
                    .map(Some)
                    .map_err(to_py_err)
            }
        }
    }
}

#[pymethods]
impl PyInbox {
    /// The inbox kept in `store`.
    #[new]
    fn new(store: PyRef<'_, PyStore>) -> Self {
        Self::of(store.app())
    }

    /// One page of messages, newest first. Filters (None = any) combine with AND: `account`
    /// (an incoming account's id or name; `AccountNotFoundError` when there is none),
    /// `from_contains`, `subject_contains`, `text_contains` (From or subject), `since`/`until`
    /// (Unix seconds or datetime), `unread_only`.
    #[pyo3(signature = (*, account = None, from_contains = None, subject_contains = None, text_contains = None, since = None, until = None, unread_only = false, page = 1, page_size = 30))]
    #[allow(clippy::too_many_arguments)]
    fn list(
        &self,
        py: Python<'_>,
        account: Option<&Bound<'_, PyAny>>,
        from_contains: Option<String>,
        subject_contains: Option<String>,
        text_contains: Option<String>,
        since: Option<&Bound<'_, PyAny>>,
        until: Option<&Bound<'_, PyAny>>,
        unread_only: bool,
        page: u32,
        page_size: u32,
    ) -> PyResult<PyInboxPage> {
        let account = match account {
            Some(a) if !a.is_none() => Some(crate::store::account_ref(Some(a))?),
            _ => None,
        };
        let query = InboxQuery {
            account: None,
            from_contains,
            subject_contains,
            text_contains,
            since: unix_seconds(since)?,
            until: unix_seconds(until)?,
            unread_only,
            page,
            page_size,
        };
        let app = self.app.clone();
        py.allow_threads(move || app.inbox_page(account.as_ref(), query))
            .map(|inner| PyInboxPage { inner })
            .map_err(to_py_err)
    }

    /// The inbox report as CSV: every message the filters match (all pages), newest first, as
    /// the account reports export (formula-safe; `bom=True` for Excel). `dest` as for
    /// `Store.incoming_csv`: a path or binary file (returns the rows), or None (the text).
    #[pyo3(signature = (dest = None, *, lang = "en", bom = false, account = None, text_contains = None, unread_only = false))]
    #[allow(clippy::too_many_arguments)]
    fn csv(
        &self,
        py: Python<'_>,
        dest: Option<&Bound<'_, PyAny>>,
        lang: &str,
        bom: bool,
        account: Option<&Bound<'_, PyAny>>,
        text_contains: Option<String>,
        unread_only: bool,
    ) -> PyResult<PyObject> {
        let query = InboxQuery {
            account: self.account(py, account)?,
            text_contains,
            unread_only,
            ..InboxQuery::default()
        };
        let lang = crate::report::lang_from(lang)?;
        let inbox = self.inner.clone();
        let options = mail_settings_core::report::CsvOptions::default().bom(bom);
        crate::report::export(py, crate::report::destination(dest)?, move |w| {
            inbox.write_csv(&query, lang, options, w)
        })
    }

    /// The inbox report as a printable standalone HTML page (see `csv`).
    #[pyo3(signature = (dest = None, *, lang = "en", account = None, text_contains = None, unread_only = false))]
    fn html(
        &self,
        py: Python<'_>,
        dest: Option<&Bound<'_, PyAny>>,
        lang: &str,
        account: Option<&Bound<'_, PyAny>>,
        text_contains: Option<String>,
        unread_only: bool,
    ) -> PyResult<PyObject> {
        let query = InboxQuery {
            account: self.account(py, account)?,
            text_contains,
            unread_only,
            ..InboxQuery::default()
        };
        let lang = crate::report::lang_from(lang)?;
        let inbox = self.inner.clone();
        crate::report::export(py, crate::report::destination(dest)?, move |w| {
            inbox.write_html(&query, lang, std::time::SystemTime::now(), w)
        })
    }

    /// Number of messages of one incoming account (id or name), or of all.
    #[pyo3(signature = (account = None))]
    fn count(&self, py: Python<'_>, account: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
        let account = self.account(py, account)?;
        let inbox = self.inner.clone();
        py.allow_threads(move || inbox.count(account))
            .map_err(to_py_err)
    }

    /// The summary of message `id`; `NotFoundError` when there is none.
    fn message(&self, py: Python<'_>, id: i64) -> PyResult<PyMessageSummary> {
        let inbox = self.inner.clone();
        py.allow_threads(move || inbox.message(id))
            .map(PyMessageSummary::from)
            .map_err(to_py_err)
    }

    /// Message `id` parsed: summary, text and HTML bodies, attachments.
    fn read_message(&self, py: Python<'_>, id: i64) -> PyResult<PyMessageView> {
        let inbox = self.inner.clone();
        py.allow_threads(move || inbox.read_message(id))
            .map(|inner| PyMessageView { inner })
            .map_err(to_py_err)
    }

    /// The raw bytes of message `id`.
    fn raw<'py>(&self, py: Python<'py>, id: i64) -> PyResult<Bound<'py, PyBytes>> {
        let inbox = self.inner.clone();
        let raw = py.allow_threads(move || inbox.raw(id)).map_err(to_py_err)?;
        Ok(PyBytes::new(py, &raw))
    }

    /// Writes the raw bytes of message `id` to a file path, streamed; returns the number of
    /// bytes.
    fn save_raw(&self, py: Python<'_>, id: i64, path: &Bound<'_, PyAny>) -> PyResult<u64> {
        let path = fspath(path)?;
        let app = self.app.clone();
        py.allow_threads(move || app.save_raw(id, std::path::Path::new(&path)))
            .map_err(to_py_err)
    }

    /// Marks message `id` read (or unread).
    #[pyo3(signature = (id, read = true))]
    fn mark_read(&self, py: Python<'_>, id: i64, read: bool) -> PyResult<()> {
        let inbox = self.inner.clone();
        py.allow_threads(move || inbox.mark_read(id, read))
            .map_err(to_py_err)
    }

    /// Deletes message `id` from the inbox (never from the server); it is not collected again.
    fn delete(&self, py: Python<'_>, id: i64) -> PyResult<()> {
        let inbox = self.inner.clone();
        py.allow_threads(move || inbox.delete(id))
            .map_err(to_py_err)
    }

    fn __repr__(&self) -> String {
        "Inbox()".to_owned()
    }
}

/// Registers the classes of this module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyCollector>()?;
    m.add_class::<PyCancelToken>()?;
    m.add_class::<PyRunReport>()?;
    m.add_class::<PyAccountStatus>()?;
    m.add_class::<PyProgress>()?;
    m.add_class::<PyInbox>()?;
    m.add_class::<PyInboxPage>()?;
    m.add_class::<PyMessageSummary>()?;
    m.add_class::<PyMessageView>()?;
    Ok(())
}
