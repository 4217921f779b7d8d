//! OAuth2 sign-in from Python: the core's token lifecycle (`mail_settings_core::oauth2`) behind
//! `TokenManager`, with the host's vault as a `TokenStore` subclass (or a credentials file).
//!
//! - `TokenStore`: the class a script subclasses (`load(credential_id) -> SignIn | None`,
//!   `save(credential_id, sign_in)`); a refresh token the server rotates reaches `save` before
//!   the new access token is used. A `Credentials.from_file(...)` works as one too.
//! - `TokenManager(credentials, token_store=None, store=None)`: device sign-in
//!   (`start_device_sign_in` / `finish_device_sign_in`), browser sign-in with PKCE and a
//!   loopback redirect (`start_browser_sign_in` / `finish_browser_sign_in`), `bind`, `status`,
//!   and `credential_provider()`: a `Credentials` answering the bound ids with fresh access
//!   tokens (the others from `credentials`), for the store, the checker, the collector.
//!
//! No `repr` or error shows a refresh token, access token, client secret or device code.

use crate::credentials::PyCredentials;
use crate::errors::to_py_err;
use crate::store::PyStore;
use mail_settings_core::credentials::CredentialError;
use mail_settings_core::oauth2 as core;
use mail_settings_core::typed::{CredentialId, Route};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;
use secrecy::ExposeSecret as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

/// An OAuth2 client (an application registration). Holds no secret: the client secret is the
/// credential `client_secret_credential` of the `Credentials` given to the `TokenManager`.
#[pyclass(name = "OAuth2Client", module = "mail_settings", frozen)]
#[derive(Clone, Debug)]
pub struct PyOAuth2Client {
    inner: core::OAuth2Client,
}

fn provider_word(p: &core::OAuth2Provider) -> &'static str {
    match p {
        core::OAuth2Provider::Microsoft { .. } => "microsoft",
        core::OAuth2Provider::Google => "google",
        _ => "custom",
    }
}

#[pymethods]
impl PyOAuth2Client {
    /// `OAuth2Client(name, client_id, *, provider="custom" | "microsoft" | "google",
    /// tenant=None, client_secret_credential=None, grant="refresh_token" |
    /// "client_credentials", token_url=None, device_authorization_url=None,
    /// authorization_url=None, scopes=None)`. Endpoints and scopes not given are the preset's.
    #[new]
    #[pyo3(signature = (name, client_id, *, provider = "custom", tenant = None,
        client_secret_credential = None, grant = "refresh_token", token_url = None,
        device_authorization_url = None, authorization_url = None, scopes = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: String,
        client_id: String,
        provider: &str,
        tenant: Option<String>,
        client_secret_credential: Option<String>,
        grant: &str,
        token_url: Option<String>,
        device_authorization_url: Option<String>,
        authorization_url: Option<String>,
        scopes: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let mut inner = core::OAuth2Client::custom(name, client_id, String::new());
        inner.provider = match provider.to_ascii_lowercase().as_str() {
            "microsoft" => core::OAuth2Provider::Microsoft {
                tenant: tenant.unwrap_or_default(),
            },
            "google" => core::OAuth2Provider::Google,
            "custom" => core::OAuth2Provider::Custom,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown OAuth2 provider {other:?}: expected microsoft, google or custom"
                )))
            }
        };
        inner.grant = match grant.to_ascii_lowercase().as_str() {
            "refresh_token" => core::OAuth2Grant::RefreshToken,
            "client_credentials" => core::OAuth2Grant::ClientCredentials,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown OAuth2 grant {other:?}: expected refresh_token or client_credentials"
                )))
            }
        };
        inner.client_secret_credential = client_secret_credential.map(CredentialId::new);
        inner.token_url = token_url;
        inner.device_authorization_url = device_authorization_url;
        inner.authorization_url = authorization_url;
        inner.scopes = scopes.unwrap_or_default();
        Ok(Self { inner })
    }
    /// The client's name.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }
    /// The application (client) id.
    #[getter]
    fn client_id(&self) -> &str {
        &self.inner.client_id
    }
    /// `microsoft`, `google` or `custom`.
    #[getter]
    fn provider(&self) -> &'static str {
        provider_word(&self.inner.provider)
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "OAuth2Client(name={}, client_id={}, provider={:?})",
            PyString::new(py, &self.inner.name).repr()?,
            PyString::new(py, &self.inner.client_id).repr()?,
            provider_word(&self.inner.provider)
        ))
    }
}

/// A user's sign-in as the vault keeps it: the user name and the refresh token. Its `repr`
/// never shows the token.
#[pyclass(name = "SignIn", module = "mail_settings", frozen)]
#[derive(Clone, Debug)]
pub struct PySignIn {
    inner: core::SignIn,
}

#[pymethods]
impl PySignIn {
    /// `SignIn(username, refresh_token=None)`.
    #[new]
    #[pyo3(signature = (username, refresh_token = None))]
    fn new(username: String, refresh_token: Option<String>) -> Self {
        Self {
            inner: core::SignIn {
                username,
                refresh_token: refresh_token.map(Into::into),
            },
        }
    }
    /// The user name to log in to the mail server with.
    #[getter]
    fn username(&self) -> &str {
        &self.inner.username
    }
    /// The refresh token, for the vault to keep (never print it).
    #[getter]
    fn refresh_token(&self) -> Option<String> {
        self.inner
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned())
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "SignIn(username={}, refresh_token={})",
            PyString::new(py, &self.inner.username).repr()?,
            if self.inner.refresh_token.is_some() {
                "<redacted>"
            } else {
                "None"
            }
        ))
    }
}

/// The host's vault for sign-ins: subclass it and override `load` and `save`. `save` must be
/// durable when it returns (the old refresh token no longer works).
#[pyclass(name = "TokenStore", module = "mail_settings", subclass)]
#[derive(Debug)]
pub struct PyTokenStore;

#[pymethods]
impl PyTokenStore {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(
        _args: &Bound<'_, pyo3::types::PyTuple>,
        _kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> Self {
        Self
    }
    /// The sign-in kept for `credential_id`, or `None`.
    fn load(&self, credential_id: &str) -> PyResult<Option<PySignIn>> {
        let _ = credential_id;
        Err(pyo3::exceptions::PyNotImplementedError::new_err(
            "TokenStore.load must be overridden",
        ))
    }
    /// Keeps `sign_in` for `credential_id`.
    fn save(&self, credential_id: &str, sign_in: PySignIn) -> PyResult<()> {
        let _ = (credential_id, sign_in);
        Err(pyo3::exceptions::PyNotImplementedError::new_err(
            "TokenStore.save must be overridden",
        ))
    }
}

/// A Python object with `load` and `save`, seen as the core's token store.
struct PythonTokenStore {
    obj: Py<PyAny>,
}

fn store_failed(py: Python<'_>, id: &CredentialId, e: PyErr) -> CredentialError {
    // The exception's type and text (the script's own words), never a value it was given.
    let ty = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".to_owned());
    CredentialError::Provider {
        id: id.to_string(),
        reason: format!("the token store raised {ty}: {}", e.value(py)),
    }
}

impl core::TokenStore for PythonTokenStore {
    fn load(&self, credential: &CredentialId) -> Result<Option<core::SignIn>, CredentialError> {
        Python::with_gil(|py| {
            let v = self
                .obj
                .call_method1(py, "load", (credential.as_str(),))
                .map_err(|e| store_failed(py, credential, e))?;
            if v.is_none(py) {
                return Ok(None);
            }
            let s = v
                .bind(py)
                .downcast::<PySignIn>()
                .map_err(|_| CredentialError::Provider {
                    id: credential.to_string(),
                    reason: "the token store's load must return a SignIn or None".into(),
                })?;
            Ok(Some(s.get().inner.clone()))
        })
    }

    fn save(
        &self,
        credential: &CredentialId,
        sign_in: &core::SignIn,
    ) -> Result<(), CredentialError> {
        Python::with_gil(|py| {
            self.obj
                .call_method1(
                    py,
                    "save",
                    (
                        credential.as_str(),
                        PySignIn {
                            inner: sign_in.clone(),
                        },
                    ),
                )
                .map(|_| ())
                .map_err(|e| store_failed(py, credential, e))
        })
    }
}

/// A device sign-in under way: show `verification_uri` and `user_code` to the person, then
/// call `TokenManager.finish_device_sign_in`. The device code stays inside.
#[pyclass(name = "DeviceSignIn", module = "mail_settings", frozen)]
#[derive(Debug)]
pub struct PyDeviceSignIn {
    inner: core::DeviceSignIn,
}

#[pymethods]
impl PyDeviceSignIn {
    /// Where the person goes.
    #[getter]
    fn verification_uri(&self) -> &str {
        &self.inner.verification_uri
    }
    /// The same with the code filled in, when the server gives one.
    #[getter]
    fn verification_uri_complete(&self) -> Option<&str> {
        self.inner.verification_uri_complete.as_deref()
    }
    /// The code the person types there.
    #[getter]
    fn user_code(&self) -> &str {
        &self.inner.user_code
    }
    /// Seconds between polls, as the server asked.
    #[getter]
    fn interval(&self) -> f64 {
        self.inner.interval().as_secs_f64()
    }
    /// Seconds the code stays valid.
    #[getter]
    fn expires_in(&self) -> f64 {
        self.inner.expires_in.as_secs_f64()
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "DeviceSignIn(verification_uri={}, user_code={})",
            PyString::new(py, &self.inner.verification_uri).repr()?,
            PyString::new(py, &self.inner.user_code).repr()?
        ))
    }
}

/// A browser sign-in under way: open `authorize_url`, then call
/// `TokenManager.finish_browser_sign_in` (it waits for the redirect on 127.0.0.1). The PKCE
/// verifier stays inside; finish it once.
#[pyclass(name = "BrowserSignIn", module = "mail_settings", frozen)]
#[derive(Debug)]
pub struct PyBrowserSignIn {
    authorize_url: String,
    redirect_uri: String,
    inner: Mutex<Option<core::BrowserSignIn>>,
}

#[pymethods]
impl PyBrowserSignIn {
    /// The URL to open in the person's browser.
    #[getter]
    fn authorize_url(&self) -> &str {
        &self.authorize_url
    }
    /// The loopback redirect URI.
    #[getter]
    fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "BrowserSignIn(redirect_uri={})",
            PyString::new(py, &self.redirect_uri).repr()?
        ))
    }
}

/// One credential's OAuth2 state: `state` is `signed_in` (with `valid_until`, Unix seconds),
/// `not_yet_used`, `needs_sign_in` or `client_refused` (with `reason`).
#[pyclass(name = "TokenStatus", module = "mail_settings", frozen, get_all)]
#[derive(Debug)]
pub struct PyTokenStatus {
    /// The credential id.
    credential: String,
    /// The OAuth2 client's name.
    client: String,
    /// `signed_in`, `not_yet_used`, `needs_sign_in` or `client_refused`.
    state: &'static str,
    /// When the access token in memory expires (Unix seconds), when signed in.
    valid_until: Option<f64>,
    /// Why a sign-in is needed or the client was refused.
    reason: Option<String>,
}

#[pymethods]
impl PyTokenStatus {
    fn __repr__(&self) -> String {
        format!(
            "TokenStatus(credential={:?}, client={:?}, state={:?}, reason={:?})",
            self.credential, self.client, self.state, self.reason
        )
    }
}

impl From<core::TokenStatus> for PyTokenStatus {
    fn from(s: core::TokenStatus) -> Self {
        let (state, valid_until, reason) = match s.state {
            core::SignInState::SignedIn { valid_until } => (
                "signed_in",
                valid_until
                    .duration_since(UNIX_EPOCH)
                    .ok()
                    .map(|d| d.as_secs_f64()),
                None,
            ),
            core::SignInState::NeedsSignIn { reason } => ("needs_sign_in", None, Some(reason)),
            core::SignInState::ClientRefused { reason } => ("client_refused", None, Some(reason)),
            _ => ("not_yet_used", None, None),
        };
        Self {
            credential: s.credential.as_str().to_owned(),
            client: s.client,
            state,
            valid_until,
            reason,
        }
    }
}

/// Obtains, caches (in memory only) and refreshes OAuth2 access tokens; signs people in.
#[pyclass(name = "TokenManager", module = "mail_settings", frozen)]
#[derive(Debug)]
pub struct PyTokenManager {
    manager: Arc<core::TokenManager>,
    credentials: Arc<core::OAuth2Credentials>,
}

fn secs(timeout: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(timeout)
        .map_err(|_| PyValueError::new_err("timeout must be a positive number of seconds"))
}

#[pymethods]
impl PyTokenManager {
    /// `TokenManager(credentials, token_store=None, store=None)`: `credentials` gives client
    /// secrets and every id not bound to an OAuth2 client; `token_store` is a `TokenStore`
    /// subclass (or `Credentials.from_file(...)`), without which only client credentials can
    /// be bound; `store` (a `Store`) serialises refreshes across processes and keeps the
    /// needs sign-in state.
    #[new]
    #[pyo3(signature = (credentials, token_store = None, store = None))]
    fn new(
        credentials: &PyCredentials,
        token_store: Option<Bound<'_, PyAny>>,
        store: Option<PyRef<'_, PyStore>>,
    ) -> PyResult<Self> {
        let secrets = credentials.provider();
        let tokens: Option<Arc<dyn core::TokenStore>> = match token_store {
            None => None,
            Some(t) => {
                if let Ok(c) = t.downcast::<PyCredentials>() {
                    Some(c.get().token_store().ok_or_else(|| {
                        PyTypeError::new_err(
                            "only a credentials file (Credentials.from_file) can keep tokens",
                        )
                    })?)
                } else if t.hasattr("load")? && t.hasattr("save")? {
                    Some(Arc::new(PythonTokenStore { obj: t.unbind() }))
                } else {
                    return Err(PyTypeError::new_err(
                        "token_store must be a TokenStore (load and save) or a credentials file",
                    ));
                }
            }
        };
        let mut manager = core::TokenManager::new(tokens, secrets.clone());
        if let Some(s) = store {
            manager = manager.with_shared_state(s.inner.clone());
        }
        let manager = Arc::new(manager);
        let credentials = Arc::new(core::OAuth2Credentials::new(secrets, manager.clone()));
        Ok(Self {
            manager,
            credentials,
        })
    }

    /// Binds `credential_id` to `client`: `credential_provider()` then answers it with the
    /// signed-in user name and a fresh access token. `ValidationError` when the client uses
    /// refresh tokens and there is no token store, or its endpoints are incomplete.
    fn bind(&self, credential_id: &str, client: &PyOAuth2Client) -> PyResult<()> {
        self.credentials
            .bind(
                &CredentialId::new(credential_id),
                client.inner.clone(),
                Route::Direct,
            )
            .map_err(to_py_err)
    }

    /// The `Credentials` to hand to the store, the checker and the collector: the bound ids
    /// get access tokens, the others come from the `credentials` given.
    fn credential_provider(&self) -> PyCredentials {
        PyCredentials::from_core(self.credentials.clone())
    }

    /// Starts a device sign-in (RFC 8628) with `client`.
    fn start_device_sign_in(
        &self,
        py: Python<'_>,
        client: &PyOAuth2Client,
    ) -> PyResult<PyDeviceSignIn> {
        let c = client.inner.clone();
        let m = self.manager.clone();
        py.allow_threads(move || m.start_device_sign_in(&c, &Route::Direct))
            .map(|inner| PyDeviceSignIn { inner })
            .map_err(to_py_err)
    }

    /// Polls (within the server's interval, at most `timeout` seconds) until the person
    /// approved `device`, keeps the sign-in of `username` under `credential_id` in the token
    /// store and binds it to `client`.
    #[pyo3(signature = (client, device, credential_id, username, timeout = 300.0))]
    fn finish_device_sign_in(
        &self,
        py: Python<'_>,
        client: &PyOAuth2Client,
        device: &PyDeviceSignIn,
        credential_id: &str,
        username: &str,
        timeout: f64,
    ) -> PyResult<()> {
        let timeout = secs(timeout)?;
        let id = CredentialId::new(credential_id);
        let c = client.inner.clone();
        py.allow_threads(|| {
            self.manager.finish_device_sign_in(
                &c,
                &device.inner,
                &id,
                username,
                &Route::Direct,
                timeout,
            )?;
            self.credentials.bind(&id, c.clone(), Route::Direct)
        })
        .map_err(to_py_err)
    }

    /// Starts a browser sign-in (authorization code with PKCE, loopback redirect) with
    /// `client`; open `authorize_url` in the person's browser.
    #[pyo3(signature = (client, login_hint = None))]
    fn start_browser_sign_in(
        &self,
        client: &PyOAuth2Client,
        login_hint: Option<&str>,
    ) -> PyResult<PyBrowserSignIn> {
        let inner = self
            .manager
            .start_browser_sign_in(&client.inner, login_hint)
            .map_err(to_py_err)?;
        Ok(PyBrowserSignIn {
            authorize_url: inner.authorize_url.clone(),
            redirect_uri: inner.redirect_uri.clone(),
            inner: Mutex::new(Some(inner)),
        })
    }

    /// Waits (at most `timeout` seconds) for the browser's redirect, exchanges the code,
    /// keeps the sign-in under `credential_id` and binds it to `client`.
    #[pyo3(signature = (client, sign_in, credential_id, username, timeout = 300.0))]
    fn finish_browser_sign_in(
        &self,
        py: Python<'_>,
        client: &PyOAuth2Client,
        sign_in: &PyBrowserSignIn,
        credential_id: &str,
        username: &str,
        timeout: f64,
    ) -> PyResult<()> {
        let timeout = secs(timeout)?;
        let inner = sign_in
            .inner
            .lock()
            .map_err(|_| PyValueError::new_err("browser sign-in poisoned"))?
            .take()
            .ok_or_else(|| {
                PyValueError::new_err("this browser sign-in was already finished; start a new one")
            })?;
        let id = CredentialId::new(credential_id);
        let c = client.inner.clone();
        py.allow_threads(|| {
            self.manager.finish_browser_sign_in(
                &c,
                inner,
                &id,
                username,
                &Route::Direct,
                timeout,
            )?;
            self.credentials.bind(&id, c.clone(), Route::Direct)
        })
        .map_err(to_py_err)
    }

    /// Every credential this manager has served, with its state.
    fn status(&self) -> Vec<PyTokenStatus> {
        self.manager.status().into_iter().map(Into::into).collect()
    }

    /// Why `credential_id` needs a new sign-in, or `None`.
    fn needs_sign_in(&self, credential_id: &str) -> Option<String> {
        self.manager
            .needs_sign_in(&CredentialId::new(credential_id))
    }

    /// How many token requests were made.
    #[getter]
    fn token_requests(&self) -> u64 {
        self.manager.token_requests()
    }

    fn __repr__(&self) -> String {
        format!("TokenManager(bound={})", self.manager.status().len())
    }
}

/// Adds the classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyOAuth2Client>()?;
    m.add_class::<crate::forms::PyOAuth2ClientForm>()?;
    m.add_class::<PySignIn>()?;
    m.add_class::<PyTokenStore>()?;
    m.add_class::<PyDeviceSignIn>()?;
    m.add_class::<PyBrowserSignIn>()?;
    m.add_class::<PyTokenStatus>()?;
    m.add_class::<PyTokenManager>()?;
    Ok(())
}
