//! Credentials from Python: a provider built from a dict, a credentials file, or any callable
//! (`id -> (username, secret)`), so that a script can plug in its own vault.
//!
//! All three are the core's [`CredentialProvider`]s ([`InMemoryCredentials`],
//! [`CredentialsFile`], and here a small adapter that calls back into Python). Secrets stay in
//! the core's `secrecy` types: no `repr`, `str` or error of this module shows one.

use crate::errors::to_py_err;
use mail_settings_core::credentials::{
    Credential, CredentialError, CredentialProvider, CredentialsFile, InMemoryCredentials,
};
use mail_settings_core::typed::CredentialId;
use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyMapping, PyString, PyTuple};
use std::fmt;
use std::sync::Arc;

/// A user name and a secret (a password or an OAuth2 access token).
#[pyclass(name = "Credential", module = "mail_settings", frozen)]
#[derive(Clone)]
pub struct PyCredential {
    pub(crate) inner: Credential,
}

impl fmt::Debug for PyCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

#[pymethods]
impl PyCredential {
    /// `Credential(username, password)` or `Credential(username, oauth2_token=token)`.
    #[new]
    #[pyo3(signature = (username, password = None, *, oauth2_token = None))]
    fn new(
        username: String,
        password: Option<String>,
        oauth2_token: Option<String>,
    ) -> PyResult<Self> {
        let inner = match (password, oauth2_token) {
            (Some(p), None) => Credential::password(username, p),
            (None, Some(t)) => Credential::oauth2(username, t),
            _ => {
                return Err(PyValueError::new_err(
                    "a credential needs exactly one of password or oauth2_token",
                ))
            }
        };
        Ok(Self { inner })
    }
    /// The user name to log in with.
    #[getter]
    fn username(&self) -> &str {
        &self.inner.username
    }
    /// `password` or `oauth2_token`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.secret.kind()
    }
    /// The secret itself, for a script that must hand it on. Never printed by this package.
    fn expose_secret(&self) -> &str {
        self.inner.secret.expose()
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let user = PyString::new(py, &self.inner.username).repr()?;
        Ok(format!(
            "Credential(username={user}, {}=<redacted>)",
            self.inner.secret.kind()
        ))
    }
}

/// Reads what a dict value or a callable gave: a `Credential`, a `(username, password)` tuple
/// or a `{"username": ..., "password" | "oauth2_token": ...}` dict (the credentials file's
/// shape).
fn credential_from_py(value: &Bound<'_, PyAny>) -> PyResult<Credential> {
    if let Ok(c) = value.downcast::<PyCredential>() {
        return Ok(c.get().inner.clone());
    }
    if let Ok(t) = value.downcast::<PyTuple>() {
        if t.len() == 2 {
            let user = t.get_item(0)?;
            let secret = t.get_item(1)?;
            if let (Ok(u), Ok(s)) = (user.downcast::<PyString>(), secret.downcast::<PyString>()) {
                return Ok(Credential::password(u.to_cow()?, s.to_cow()?));
            }
        }
        return Err(PyTypeError::new_err(
            "a credential tuple must be (username: str, password: str)",
        ));
    }
    if let Ok(d) = value.downcast::<PyDict>() {
        let text = |key: &str| -> PyResult<Option<String>> {
            match d.get_item(key)? {
                None => Ok(None),
                Some(v) if v.is_none() => Ok(None),
                Some(v) => Ok(Some(
                    v.downcast::<PyString>()
                        .map_err(|_| PyTypeError::new_err(format!("{key} must be str")))?
                        .to_cow()?
                        .into_owned(),
                )),
            }
        };
        for k in d.keys() {
            let k: String = k.extract()?;
            if !matches!(k.as_str(), "username" | "password" | "oauth2_token") {
                return Err(PyValueError::new_err(format!(
                    "unknown credential field {k:?}: expected username, password or oauth2_token"
                )));
            }
        }
        let user = text("username")?
            .ok_or_else(|| PyValueError::new_err("a credential dict needs a username"))?;
        return match (text("password")?, text("oauth2_token")?) {
            (Some(p), None) => Ok(Credential::password(user, p)),
            (None, Some(t)) => Ok(Credential::oauth2(user, t)),
            _ => Err(PyValueError::new_err(
                "a credential dict needs exactly one of password or oauth2_token",
            )),
        };
    }
    Err(PyTypeError::new_err(
        "a credential must be a Credential, a (username, password) tuple or a dict",
    ))
}

/// A provider that asks a Python callable: `fn(id) -> Credential | (username, password) |
/// dict | None`. `None` or a `KeyError` means "unknown id".
struct CallableProvider {
    func: Py<PyAny>,
}

impl fmt::Debug for CallableProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallableProvider").finish_non_exhaustive()
    }
}

impl CredentialProvider for CallableProvider {
    fn credential(&self, id: &CredentialId) -> Result<Credential, CredentialError> {
        Python::with_gil(|py| {
            let provider_failed = |e: PyErr| {
                // The exception's type and text (a script's own words), never a value it got.
                let ty = e
                    .get_type(py)
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|_| "Exception".to_owned());
                CredentialError::Provider {
                    id: id.to_string(),
                    reason: format!("{ty}: {}", e.value(py)),
                }
            };
            match self.func.call1(py, (id.as_str(),)) {
                Err(e) if e.is_instance_of::<PyKeyError>(py) => {
                    Err(CredentialError::Unknown(id.to_string()))
                }
                Err(e) => Err(provider_failed(e)),
                Ok(v) if v.is_none(py) => Err(CredentialError::Unknown(id.to_string())),
                Ok(v) => credential_from_py(v.bind(py)).map_err(provider_failed),
            }
        })
    }
}

#[derive(Clone, Debug)]
enum Source {
    Memory(Arc<InMemoryCredentials>),
    File(Arc<CredentialsFile>),
    Callable(Arc<CallableProvider>),
    /// A `TokenManager`'s: OAuth2-bound ids get access tokens (see `oauth2.rs`).
    OAuth2(Arc<mail_settings_core::oauth2::OAuth2Credentials>),
}

/// A credential provider: the host's vault, asked for a user name and a secret when a
/// connection is made. Accounts hold only the credential's id.
#[pyclass(name = "Credentials", module = "mail_settings", frozen)]
#[derive(Clone, Debug)]
pub struct PyCredentials {
    source: Source,
}

impl PyCredentials {
    /// The provider, for the core.
    pub(crate) fn provider(&self) -> Arc<dyn CredentialProvider> {
        match &self.source {
            Source::Memory(m) => m.clone(),
            Source::File(f) => f.clone(),
            Source::Callable(c) => c.clone(),
            Source::OAuth2(o) => o.clone(),
        }
    }

    /// A `TokenManager`'s provider.
    pub(crate) fn from_core(core: Arc<mail_settings_core::oauth2::OAuth2Credentials>) -> Self {
        Self {
            source: Source::OAuth2(core),
        }
    }

    /// The credentials file as a token store (it keeps refresh tokens); `None` otherwise.
    pub(crate) fn token_store(&self) -> Option<Arc<dyn mail_settings_core::oauth2::TokenStore>> {
        match &self.source {
            Source::File(f) => Some(f.clone()),
            _ => None,
        }
    }

    fn memory(mapping: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let mem = InMemoryCredentials::new();
        if let Some(mapping) = mapping {
            let mapping = mapping.downcast::<PyMapping>().map_err(|_| {
                PyTypeError::new_err("credentials must be a mapping of id to credential")
            })?;
            for item in mapping.items()?.iter() {
                let (id, value): (String, Bound<'_, PyAny>) = item.extract()?;
                mem.insert(id, credential_from_py(&value)?);
            }
        }
        Ok(Self {
            source: Source::Memory(Arc::new(mem)),
        })
    }
}

#[pymethods]
impl PyCredentials {
    /// Credentials in memory: `Credentials({"id": ("user", "password"), ...})`; values may also
    /// be `Credential` objects or `{"username", "password" | "oauth2_token"}` dicts.
    #[new]
    #[pyo3(signature = (mapping = None))]
    fn new(mapping: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Self::memory(mapping)
    }

    /// Same as the constructor.
    #[staticmethod]
    fn from_dict(mapping: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::memory(Some(mapping))
    }

    /// Reads a credentials file (JSON, or TOML by extension) shaped
    /// `{id: {username, password | oauth2_token}}`. Refused when others may read it (chmod 600).
    #[staticmethod]
    fn from_file(py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Self> {
        let path = crate::convert::fspath(path)?;
        let file = py
            .allow_threads(|| CredentialsFile::load(&path))
            .map_err(to_py_err)?;
        Ok(Self {
            source: Source::File(Arc::new(file)),
        })
    }

    /// Asks `func(id)` whenever a credential is needed: it returns a `Credential`, a
    /// `(username, password)` tuple, a dict, or `None` (or raises `KeyError`) for an unknown id.
    /// It is called from whatever thread needs the credential, holding the GIL.
    #[staticmethod]
    fn from_callable(func: Bound<'_, PyAny>) -> PyResult<Self> {
        if !func.is_callable() {
            return Err(PyTypeError::new_err("from_callable needs a callable"));
        }
        Ok(Self {
            source: Source::Callable(Arc::new(CallableProvider {
                func: func.unbind(),
            })),
        })
    }

    /// `memory`, `file` or `callable`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.source {
            Source::Memory(_) => "memory",
            Source::File(_) => "file",
            Source::Callable(_) => "callable",
            Source::OAuth2(_) => "oauth2",
        }
    }

    /// Adds or replaces `id` (in-memory credentials only).
    fn insert(&self, id: String, credential: &Bound<'_, PyAny>) -> PyResult<()> {
        match &self.source {
            Source::Memory(m) => {
                m.insert(id, credential_from_py(credential)?);
                Ok(())
            }
            _ => Err(PyTypeError::new_err(
                "only in-memory credentials can be changed",
            )),
        }
    }

    /// Removes `id` (in-memory credentials only).
    fn remove(&self, id: &str) -> PyResult<()> {
        match &self.source {
            Source::Memory(m) => {
                m.remove(id);
                Ok(())
            }
            _ => Err(PyTypeError::new_err(
                "only in-memory credentials can be changed",
            )),
        }
    }

    /// The credential `id`; `CredentialError` when the provider does not have it.
    fn get(&self, py: Python<'_>, id: &str) -> PyResult<PyCredential> {
        let provider = self.provider();
        let id = CredentialId::new(id);
        py.allow_threads(|| provider.credential(&id))
            .map(|inner| PyCredential { inner })
            .map_err(to_py_err)
    }

    fn __contains__(&self, py: Python<'_>, id: &str) -> bool {
        let provider = self.provider();
        py.allow_threads(|| provider.contains(id))
    }

    fn __repr__(&self) -> String {
        match &self.source {
            Source::Memory(_) => "Credentials(<in memory>)".to_owned(),
            Source::File(f) => Python::with_gil(|py| {
                format!(
                    "Credentials.from_file({})",
                    crate::convert::py_repr(py, f.path().to_string_lossy().as_ref())
                )
            }),
            Source::Callable(_) => "Credentials.from_callable(<callable>)".to_owned(),
            Source::OAuth2(_) => "TokenManager.credential_provider()".to_owned(),
        }
    }
}
