//! Report schedules (SPEC.md "Report schedules") for Python: `ReportSchedules(store)` keeps
//! them in the store (create, get, list, update, delete, the periods sent) and sends what is
//! due (`run_due`) or one at once (`run_now`); `validate_schedule` checks a schedule alone.
//!
//! A schedule is a dict with SPEC.md's field names (the core's form: unknown keys and wrong
//! types raise `ParseError`, missing ones take SPEC.md's defaults). What the store returns
//! carries `id` and `version`; `update` and `delete` pass the version back (`ConflictError`
//! when someone changed it since).

use crate::convert::{json_to_py, py_to_json};
use crate::credentials::PyCredentials;
use crate::errors::to_py_err;
use crate::forms::PySmtpAccount;
use crate::store::PyStore;
use crate::validation::PyValidation;
use mail_settings_core::credentials::CredentialProvider;
use mail_settings_core::model::SmtpAccountForm;
use mail_settings_core::schedule::{
    validate_schedule as core_validate, ReportScheduleForm, ScheduleRunner,
};
use mail_settings_core::store::{Store, Stored};
use mail_settings_core::{Error, ParseError};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;

fn form_from(value: &Bound<'_, PyAny>) -> PyResult<ReportScheduleForm> {
    if !value.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err("a schedule is a dict"));
    }
    let mut json = py_to_json(value)?;
    if let Some(map) = json.as_object_mut() {
        // What the store returned may come back as it is.
        map.remove("version");
    }
    serde_json::from_value(json).map_err(|e| {
        to_py_err(Error::Parse(ParseError {
            format: "dict",
            line: 0,
            column: 0,
            message: e.to_string(),
        }))
    })
}

/// Schedules (an iterable of dicts) for a settings document.
pub(crate) fn forms_from(value: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<ReportScheduleForm>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value.try_iter()?.map(|item| form_from(&item?)).collect()
}

/// A document's schedules as dicts.
pub(crate) fn forms_to_py(py: Python<'_>, forms: &[ReportScheduleForm]) -> PyResult<Vec<PyObject>> {
    forms.iter().map(|f| to_py(py, f)).collect()
}

fn stored_to_py(py: Python<'_>, s: &Stored<ReportScheduleForm>) -> PyResult<PyObject> {
    let mut json = serde_json::to_value(&s.record).unwrap_or_default();
    if let Some(map) = json.as_object_mut() {
        map.insert("version".into(), s.version.into());
    }
    json_to_py(py, &json)
}

fn to_py<T: serde::Serialize>(py: Python<'_>, v: &T) -> PyResult<PyObject> {
    json_to_py(py, &serde_json::to_value(v).unwrap_or_default())
}

/// The report schedules of a store.
#[pyclass(name = "ReportSchedules", module = "mail_settings", frozen)]
pub struct PySchedules {
    store: Arc<Store>,
    credentials: Option<Arc<dyn CredentialProvider>>,
}

impl std::fmt::Debug for PySchedules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PySchedules")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl PySchedules {
    fn id_of(&self, py: Python<'_>, schedule: &Bound<'_, PyAny>) -> PyResult<i64> {
        if let Ok(id) = schedule.extract::<i64>() {
            return Ok(id);
        }
        let name: String = schedule.extract().map_err(|_| {
            PyTypeError::new_err("a schedule is named by its id (int) or name (str)")
        })?;
        let store = self.store.clone();
        let wanted = mail_settings_core::app::AccountRef::parse(&name);
        py.allow_threads(move || mail_settings_core::app::schedule(&store, &wanted))
            .map(|s| s.id)
            .map_err(to_py_err)
    }

    fn runner(
        &self,
        credentials: Option<PyRef<'_, PyCredentials>>,
        timeout: Option<f64>,
    ) -> PyResult<ScheduleRunner> {
        let provider = match (credentials, &self.credentials) {
            (Some(c), _) => c.provider(),
            (None, Some(p)) => p.clone(),
            (None, None) => crate::smtp::provider_or_empty(None),
        };
        let options = crate::smtp::options(timeout, false)?;
        Ok(mail_settings_core::app::MailSettings::new(
            self.store.clone(),
            provider,
            mail_settings_core::app::AppOptions::with_timeouts(options.timeouts),
        )
        .schedule_runner())
    }
}

#[pymethods]
impl PySchedules {
    /// The schedules of `store` (sending uses the store's credentials unless given).
    #[new]
    fn new(store: PyRef<'_, PyStore>) -> Self {
        Self {
            store: store.inner.clone(),
            credentials: store.credentials.clone(),
        }
    }

    /// Creates a schedule; returns it with `id` and `version`.
    fn create(&self, py: Python<'_>, schedule: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let form = form_from(schedule)?;
        let store = self.store.clone();
        let s = py
            .allow_threads(move || store.create_schedule(&form))
            .map_err(to_py_err)?;
        stored_to_py(py, &s)
    }

    /// The schedule with this id (int) or name (str, case-insensitive).
    fn get(&self, py: Python<'_>, schedule: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let id = self.id_of(py, schedule)?;
        let store = self.store.clone();
        let s = py
            .allow_threads(move || store.get_schedule(id))
            .map_err(to_py_err)?;
        stored_to_py(py, &s)
    }

    /// Every schedule, by id.
    fn list(&self, py: Python<'_>) -> PyResult<Vec<PyObject>> {
        let store = self.store.clone();
        let all = py
            .allow_threads(move || store.list_schedules())
            .map_err(to_py_err)?;
        all.iter().map(|s| stored_to_py(py, s)).collect()
    }

    /// Replaces schedule `id` (at `version`) with `schedule`; returns the new one.
    fn update(
        &self,
        py: Python<'_>,
        id: i64,
        version: i64,
        schedule: &Bound<'_, PyAny>,
    ) -> PyResult<PyObject> {
        let form = form_from(schedule)?;
        let store = self.store.clone();
        let s = py
            .allow_threads(move || store.update_schedule(id, version, &form))
            .map_err(to_py_err)?;
        stored_to_py(py, &s)
    }

    /// Deletes schedule `id` at `version`.
    fn delete(&self, py: Python<'_>, id: i64, version: i64) -> PyResult<()> {
        let store = self.store.clone();
        py.allow_threads(move || store.delete_schedule(id, version))
            .map_err(to_py_err)
    }

    /// The periods runs claimed for a schedule, newest first: dicts with `period`, `status`
    /// (`claimed`, `sent`, `failed`), `attempts`, `claimed_at`, `finished_at`, `error`,
    /// `message_id`.
    fn periods(&self, py: Python<'_>, schedule: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        let id = self.id_of(py, schedule)?;
        let store = self.store.clone();
        let p = py
            .allow_threads(move || store.schedule_periods(id))
            .map_err(to_py_err)?;
        to_py(py, &p)
    }

    /// Sends every report that is due, once per period; a list of outcomes (dicts with
    /// `schedule_id`, `name`, `period`, `result` {`status`: `sent`|`failed`, …}).
    #[pyo3(signature = (*, credentials = None, timeout = None))]
    fn run_due(
        &self,
        py: Python<'_>,
        credentials: Option<PyRef<'_, PyCredentials>>,
        timeout: Option<f64>,
    ) -> PyResult<PyObject> {
        let runner = self.runner(credentials, timeout)?;
        let out = py
            .allow_threads(move || runner.run_due())
            .map_err(to_py_err)?;
        to_py(py, &out)
    }

    /// Sends one schedule's report at once (by id or name); the period's own send still
    /// happens. Returns the outcome (a failed send is an outcome, not an exception).
    #[pyo3(signature = (schedule, *, credentials = None, timeout = None))]
    fn run_now(
        &self,
        py: Python<'_>,
        schedule: &Bound<'_, PyAny>,
        credentials: Option<PyRef<'_, PyCredentials>>,
        timeout: Option<f64>,
    ) -> PyResult<PyObject> {
        let id = self.id_of(py, schedule)?;
        let runner = self.runner(credentials, timeout)?;
        let out = py
            .allow_threads(move || runner.run_now(id))
            .map_err(to_py_err)?;
        to_py(py, &out)
    }
}

/// Validates one schedule alone; with `smtp_accounts`, a named SMTP account must be among
/// them and enabled.
#[pyfunction]
#[pyo3(signature = (schedule, smtp_accounts = None))]
fn validate_schedule(
    schedule: &Bound<'_, PyAny>,
    smtp_accounts: Option<Vec<PySmtpAccount>>,
) -> PyResult<PyValidation> {
    let form = form_from(schedule)?;
    let accounts: Option<Vec<SmtpAccountForm>> =
        smtp_accounts.map(|v| v.into_iter().map(|a| a.inner).collect());
    Ok(core_validate(&form, "", accounts.as_deref()).into())
}

/// Registers the classes and functions.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySchedules>()?;
    m.add_function(wrap_pyfunction!(validate_schedule, m)?)?;
    Ok(())
}
