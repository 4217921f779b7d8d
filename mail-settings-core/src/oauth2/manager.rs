//! The token manager: obtain, cache in memory, refresh before expiry, once more after a
//! refusal; one refresh per credential at a time; rotation written back first; needs sign-in.

use super::http::ConnectorHttp;
use super::{OAuth2Client, OAuth2Grant, SharedTokenState, SignIn, TokenStore};
use crate::credentials::CredentialProvider;
use crate::error::{ConnectionError, ErrorCategory};
use crate::net::{OpDeadline, Timeouts};
use crate::text::terminal_safe_line;
use crate::typed::{CredentialId, Route, TlsOptions};
use oauth2::basic::{BasicClient, BasicTokenResponse};
use oauth2::{
    AuthType, ClientId, ClientSecret, DeviceAuthorizationUrl, RefreshToken, RequestTokenError,
    Scope, StandardDeviceAuthorizationResponse, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

/// A fresh access token and the user name to sign in with.
#[derive(Clone)]
pub(crate) struct AccessToken {
    pub username: String,
    pub token: SecretString,
}

struct Cached {
    token: SecretString,
    username: String,
    refresh_at: Instant,
    valid_until: SystemTime,
}

/// A credential's sign-in state, as `status` and the reports show it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInState {
    /// An access token is held, valid until then.
    SignedIn {
        /// When the access token in memory expires.
        valid_until: SystemTime,
    },
    /// Signed in (a refresh token is kept) but no access token in memory yet.
    NotYetUsed,
    /// The server refused the refresh token (`invalid_grant`): a person must sign in again.
    NeedsSignIn {
        /// Why (the server's error code and description, made safe for a terminal).
        reason: String,
    },
    /// The OAuth2 client was refused (`invalid_client`): its registration or secret is wrong.
    ClientRefused {
        /// The server's words.
        reason: String,
    },
}

/// One credential's state (see [`TokenManager::status`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenStatus {
    /// The credential id.
    pub credential: CredentialId,
    /// The OAuth2 client's name.
    pub client: String,
    /// Its state.
    pub state: SignInState,
}

/// A device authorization under way (RFC 8628): show `verification_uri` and `user_code` to the
/// person, then call [`TokenManager::finish_device_sign_in`]. The device code stays inside.
pub struct DeviceSignIn {
    /// Where the person goes.
    pub verification_uri: String,
    /// The same with the code filled in, when the server gives one.
    pub verification_uri_complete: Option<String>,
    /// The code the person types there.
    pub user_code: String,
    /// How long the code is valid.
    pub expires_in: Duration,
    details: StandardDeviceAuthorizationResponse,
}

impl DeviceSignIn {
    /// How often the server may be polled (RFC 8628 `interval`; 5 s when it gives none).
    pub fn interval(&self) -> Duration {
        self.details.interval()
    }
}

impl fmt::Debug for DeviceSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceSignIn")
            .field("verification_uri", &self.verification_uri)
            .field("user_code", &self.user_code)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// A browser sign-in under way (authorization code with PKCE and a loopback redirect, RFC
/// 8252): open `authorize_url` in the person's browser, then call
/// [`TokenManager::finish_browser_sign_in`], which waits for the redirect on 127.0.0.1.
pub struct BrowserSignIn {
    /// The URL the host opens in the browser.
    pub authorize_url: String,
    /// The redirect URI (`http://127.0.0.1:PORT/callback`).
    pub redirect_uri: String,
    listener: std::net::TcpListener,
    verifier: oauth2::PkceCodeVerifier,
    state: oauth2::CsrfToken,
}

impl fmt::Debug for BrowserSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserSignIn")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

struct NeedsSignIn {
    reason: String,
    /// SHA-256 of the refresh token that was refused: a different one is tried again.
    fingerprint: [u8; 32],
}

/// Obtains, caches and refreshes access tokens. Share one per process (`Arc`).
pub struct TokenManager {
    store: Option<Arc<dyn TokenStore>>,
    secrets: Arc<dyn CredentialProvider>,
    timeouts: Timeouts,
    tls: TlsOptions,
    skew: Duration,
    lock: Option<Arc<dyn SharedTokenState>>,
    holder: String,
    entries: Mutex<HashMap<String, Arc<Mutex<Option<Cached>>>>>,
    needs_sign_in: Mutex<HashMap<String, NeedsSignIn>>,
    refused_clients: Mutex<HashMap<String, String>>,
    /// Rotated refresh tokens the token store refused to keep: saved again before anything.
    pending: Mutex<HashMap<String, SignIn>>,
    known: Mutex<HashMap<String, String>>,
    token_requests: AtomicU64,
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("skew", &self.skew)
            .field("token_requests", &self.token_requests())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn fingerprint(token: &SecretString) -> [u8; 32] {
    Sha256::digest(token.expose_secret().as_bytes()).into()
}

/// Reads one HTTP request head from the browser (at most 8 KiB) and gives its target.
fn read_request_target(stream: &mut std::net::TcpStream) -> Option<String> {
    use std::io::Read as _;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while memchr::memmem::find(&buf, b"\r\n\r\n").is_none() {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 || buf.len() + n > 8192 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = std::str::from_utf8(&buf).ok()?;
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    (parts.next()? == "GET").then_some(())?;
    parts.next().map(str::to_owned)
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn credential_error(credential: &CredentialId, e: impl fmt::Display) -> ConnectionError {
    ConnectionError::new(
        ErrorCategory::Credential,
        format!("the token store failed for \"{credential}\": {e}"),
    )
}

impl TokenManager {
    /// A manager keeping sign-ins in `store` (`None`: only the client credentials grant can be
    /// used) and reading client secrets from `secrets`.
    pub fn new(store: Option<Arc<dyn TokenStore>>, secrets: Arc<dyn CredentialProvider>) -> Self {
        Self {
            store,
            secrets,
            timeouts: Timeouts::default(),
            tls: TlsOptions::verified(),
            skew: Duration::from_secs(60),
            lock: None,
            holder: format!("pid{}-{:x}", std::process::id(), {
                let t = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default();
                t.as_nanos() as u64
            }),
            entries: Mutex::default(),
            needs_sign_in: Mutex::default(),
            refused_clients: Mutex::default(),
            pending: Mutex::default(),
            known: Mutex::default(),
            token_requests: AtomicU64::new(0),
        }
    }

    /// How long before expiry a token is refreshed (default 60 s; for a token that lives less
    /// than four times that, a quarter of its life).
    pub fn with_skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// Bounds of the token requests (connect, each read and write; a request as a whole gets
    /// connect + read).
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Certificate checks of the token endpoint (verified by default).
    pub fn with_tls(mut self, tls: TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    /// Shares state with the other processes that use `shared` (a [`crate::store::Store`]):
    /// refreshes of one credential are serialised across them (a lock row), and the needs
    /// sign-in state is kept there across restarts.
    pub fn with_shared_state(mut self, lock: Arc<dyn SharedTokenState>) -> Self {
        self.lock = Some(lock);
        self
    }

    /// The skew.
    pub fn skew(&self) -> Duration {
        self.skew
    }

    /// Whether a token store was given.
    pub fn has_token_store(&self) -> bool {
        self.store.is_some()
    }

    /// Token requests made so far (refreshes, client credentials, device polls excluded).
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::SeqCst)
    }

    fn key(client: &OAuth2Client, credential: &CredentialId) -> String {
        format!("{}\u{0}{}", client.name, credential.as_str())
    }

    fn entry(&self, key: &str) -> Arc<Mutex<Option<Cached>>> {
        lock(&self.entries)
            .entry(key.to_owned())
            .or_default()
            .clone()
    }

    /// A valid access token for `credential` through `client`: the cached one, or a new one
    /// (one request at a time per credential). Errors: [`ErrorCategory::NeedsSignIn`] when
    /// the refresh token was refused (and is still the same one), `Auth` when the client was
    /// refused, network categories as for any connection.
    pub(crate) fn access_token(
        &self,
        client: &OAuth2Client,
        credential: &CredentialId,
        route: &Route,
    ) -> Result<AccessToken, ConnectionError> {
        let key = Self::key(client, credential);
        lock(&self.known).insert(credential.as_str().to_owned(), client.name.clone());
        let entry = self.entry(&key);
        let mut cached = lock(&entry);
        if let Some(c) = cached.as_ref() {
            if Instant::now() < c.refresh_at {
                return Ok(AccessToken {
                    username: c.username.clone(),
                    token: c.token.clone(),
                });
            }
        }
        if let Some(reason) = lock(&self.refused_clients).get(&client.name) {
            return Err(ConnectionError::new(
                ErrorCategory::Auth,
                format!(
                    "the OAuth2 client \"{}\" was refused by the authorization server ({reason}); \
                     fix its registration or secret",
                    client.name
                ),
            ));
        }
        let _process_lock = self.process_lock(&key)?;
        let fresh = self.request(client, credential, route, &key)?;
        let out = AccessToken {
            username: fresh.username.clone(),
            token: fresh.token.clone(),
        };
        *cached = Some(fresh);
        Ok(out)
    }

    /// The server refused `token` for `credential`: drop it if it is the cached one, so the
    /// next [`access_token`](Self::access_token) refreshes. `true` when it was dropped.
    pub(crate) fn refused(
        &self,
        client: &OAuth2Client,
        credential: &CredentialId,
        token: &str,
    ) -> bool {
        let entry = self.entry(&Self::key(client, credential));
        let mut cached = lock(&entry);
        if cached
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == token)
        {
            *cached = None;
            true
        } else {
            false
        }
    }

    /// Every credential this manager has served, with its state.
    pub fn status(&self) -> Vec<TokenStatus> {
        let known: Vec<(String, String)> = lock(&self.known)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut out: Vec<TokenStatus> = known
            .into_iter()
            .map(|(cred, client)| {
                let state = if let Some(r) = lock(&self.refused_clients).get(&client) {
                    SignInState::ClientRefused { reason: r.clone() }
                } else if let Some(n) = lock(&self.needs_sign_in).get(&cred) {
                    SignInState::NeedsSignIn {
                        reason: n.reason.clone(),
                    }
                } else {
                    let entry = self.entry(&format!("{client}\u{0}{cred}"));
                    let c = lock(&entry);
                    match c.as_ref() {
                        Some(c) => SignInState::SignedIn {
                            valid_until: c.valid_until,
                        },
                        None => SignInState::NotYetUsed,
                    }
                };
                TokenStatus {
                    credential: CredentialId::new(&cred),
                    client,
                    state,
                }
            })
            .collect();
        out.sort_by(|a, b| a.credential.as_str().cmp(b.credential.as_str()));
        out
    }

    /// The state of `credential` if it needs a new sign-in: the reason.
    pub fn needs_sign_in(&self, credential: &CredentialId) -> Option<String> {
        lock(&self.needs_sign_in)
            .get(credential.as_str())
            .map(|n| n.reason.clone())
    }

    fn process_lock(&self, key: &str) -> Result<Option<ProcessLockGuard<'_>>, ConnectionError> {
        let Some(l) = &self.lock else { return Ok(None) };
        let ttl = self.timeouts.connect + self.timeouts.read;
        let until = Instant::now() + ttl;
        loop {
            if l.try_acquire(key, &self.holder, ttl)? {
                return Ok(Some(ProcessLockGuard {
                    lock: l.as_ref(),
                    key: key.to_owned(),
                    holder: &self.holder,
                }));
            }
            if Instant::now() >= until {
                return Err(ConnectionError::timeout(
                    "waiting for another process's OAuth2 refresh of this credential",
                    ttl,
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn http<'a>(&'a self, route: &'a Route) -> ConnectorHttp<'a> {
        ConnectorHttp {
            route,
            creds: self.secrets.as_ref(),
            timeouts: self.timeouts,
            tls: self.tls.clone(),
            deadline: OpDeadline::after(
                self.timeouts.connect + self.timeouts.read,
                "the OAuth2 token request",
            ),
        }
    }

    fn client_secret(
        &self,
        client: &OAuth2Client,
    ) -> Result<Option<ClientSecret>, ConnectionError> {
        match &client.client_secret_credential {
            None => Ok(None),
            Some(id) => {
                let c = self.secrets.credential(id).map_err(from_credential_error)?;
                Ok(Some(ClientSecret::new(c.secret.expose().to_owned())))
            }
        }
    }

    fn store(&self, credential: &CredentialId) -> Result<&Arc<dyn TokenStore>, ConnectionError> {
        self.store.as_ref().ok_or_else(|| {
            ConnectionError::new(
                ErrorCategory::Credential,
                format!(
                    "credential \"{credential}\" uses an OAuth2 refresh token but no token store \
                     was given: a rotated refresh token could not be kept"
                ),
            )
        })
    }

    fn request(
        &self,
        client: &OAuth2Client,
        credential: &CredentialId,
        route: &Route,
        key: &str,
    ) -> Result<Cached, ConnectionError> {
        let endpoints = client.endpoints()?;
        let token_url = TokenUrl::new(endpoints.token_url.clone()).map_err(|_| {
            ConnectionError::new(
                ErrorCategory::Validation,
                format!(
                    "the OAuth2 client \"{}\" has an invalid token URL",
                    client.name
                ),
            )
        })?;
        let mut oauth = BasicClient::new(ClientId::new(client.client_id.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(token_url);
        if let Some(secret) = self.client_secret(client)? {
            oauth = oauth.set_client_secret(secret);
        }
        let scopes: Vec<Scope> = endpoints
            .scopes
            .iter()
            .map(|s| Scope::new(s.clone()))
            .collect();
        let http = self.http(route);
        let started = SystemTime::now();
        let started_at = Instant::now();

        match client.grant {
            OAuth2Grant::ClientCredentials => {
                let username = match &self.store {
                    Some(s) => s
                        .load(credential)
                        .map_err(|e| credential_error(credential, e))?
                        .map(|s| s.username),
                    None => None,
                };
                let username = match username {
                    Some(u) => u,
                    None => {
                        self.secrets
                            .credential(credential)
                            .map_err(from_credential_error)?
                            .username
                    }
                };
                self.token_requests.fetch_add(1, Ordering::SeqCst);
                let r = oauth
                    .exchange_client_credentials()
                    .add_scopes(scopes)
                    .request(&http);
                let resp = self.answer(client, credential, r, None)?;
                Ok(self.cached(resp, username, started, started_at))
            }
            OAuth2Grant::RefreshToken => {
                let store = self.store(credential)?;
                // A rotated token the store refused earlier goes in first.
                if let Some(p) = lock(&self.pending).get(key).cloned() {
                    store
                        .save(credential, &p)
                        .map_err(|e| credential_error(credential, e))?;
                    lock(&self.pending).remove(key);
                }
                let sign_in = store
                    .load(credential)
                    .map_err(|e| credential_error(credential, e))?;
                let Some(SignIn {
                    username,
                    refresh_token: Some(refresh),
                }) = sign_in
                else {
                    return Err(ConnectionError::new(
                        ErrorCategory::NeedsSignIn,
                        format!(
                            "credential \"{credential}\" was never signed in with OAuth2 (no \
                             refresh token): sign in (`mail-settings oauth2 sign-in`)"
                        ),
                    ));
                };
                let fp = fingerprint(&refresh);
                if let Some(shared) = &self.lock {
                    if !lock(&self.needs_sign_in).contains_key(credential.as_str()) {
                        if let Some((reason, hex)) = shared.needs_sign_in(credential.as_str())? {
                            if hex == to_hex(&fp) {
                                lock(&self.needs_sign_in).insert(
                                    credential.as_str().to_owned(),
                                    NeedsSignIn {
                                        reason,
                                        fingerprint: fp,
                                    },
                                );
                            } else {
                                // Signed in anew since (by another process): clear it.
                                shared.set_needs_sign_in(credential.as_str(), None)?;
                            }
                        }
                    }
                }
                {
                    let mut n = lock(&self.needs_sign_in);
                    match n.get(credential.as_str()) {
                        Some(state) if state.fingerprint == fp => {
                            return Err(needs_sign_in_error(credential, &state.reason));
                        }
                        Some(_) => {
                            // The credential changed since: try it.
                            n.remove(credential.as_str());
                        }
                        None => {}
                    }
                }
                self.token_requests.fetch_add(1, Ordering::SeqCst);
                let rt = RefreshToken::new(refresh.expose_secret().to_owned());
                let r = oauth
                    .exchange_refresh_token(&rt)
                    .add_scopes(scopes)
                    .request(&http);
                let resp = self.answer(client, credential, r, Some(fp))?;
                if let Some(new) = resp.refresh_token() {
                    if new.secret() != refresh.expose_secret() {
                        let next = SignIn {
                            username: username.clone(),
                            refresh_token: Some(SecretString::from(new.secret().clone())),
                        };
                        // Written back before the new access token is used.
                        if let Err(e) = store.save(credential, &next) {
                            lock(&self.pending).insert(key.to_owned(), next);
                            return Err(credential_error(
                                credential,
                                format!(
                                "the server rotated the refresh token and it could not be kept \
                                 ({e}); it is held in memory and saved again on the next try"
                            ),
                            ));
                        }
                        tracing::debug!(credential = %credential, "OAuth2 refresh token rotated and kept");
                    }
                }
                Ok(self.cached(resp, username, started, started_at))
            }
        }
    }

    fn cached(
        &self,
        resp: BasicTokenResponse,
        username: String,
        started: SystemTime,
        started_at: Instant,
    ) -> Cached {
        let life = resp.expires_in().unwrap_or(Duration::from_secs(3600));
        let skew = self.skew.min(life / 4);
        Cached {
            token: SecretString::from(resp.access_token().secret().clone()),
            username,
            refresh_at: started_at + life.saturating_sub(skew),
            valid_until: started + life,
        }
    }

    fn answer<RE>(
        &self,
        client: &OAuth2Client,
        credential: &CredentialId,
        r: Result<
            BasicTokenResponse,
            RequestTokenError<ConnectionError, oauth2::StandardErrorResponse<RE>>,
        >,
        refresh_fp: Option<[u8; 32]>,
    ) -> Result<BasicTokenResponse, ConnectionError>
    where
        RE: oauth2::ErrorResponseType + fmt::Display,
    {
        match r {
            Ok(resp) => Ok(resp),
            Err(RequestTokenError::Request(e)) => Err(e),
            Err(RequestTokenError::ServerResponse(e)) => {
                let code = e.error().to_string();
                let reason = match e.error_description() {
                    Some(d) => format!("{code}: {}", terminal_safe_line(d)),
                    None => code.clone(),
                };
                match code.as_str() {
                    "invalid_grant" => {
                        if let Some(fp) = refresh_fp {
                            if let Some(shared) = &self.lock {
                                if let Err(e) = shared.set_needs_sign_in(
                                    credential.as_str(),
                                    Some((&reason, &to_hex(&fp))),
                                ) {
                                    tracing::warn!(error = %e, "could not keep the needs sign-in state");
                                }
                            }
                            lock(&self.needs_sign_in).insert(
                                credential.as_str().to_owned(),
                                NeedsSignIn {
                                    reason: reason.clone(),
                                    fingerprint: fp,
                                },
                            );
                            tracing::warn!(credential = %credential, %reason, "OAuth2 credential needs sign-in");
                        }
                        Err(needs_sign_in_error(credential, &reason))
                    }
                    "invalid_client" | "unauthorized_client" => {
                        lock(&self.refused_clients).insert(client.name.clone(), reason.clone());
                        Err(ConnectionError::new(
                            ErrorCategory::Auth,
                            format!(
                                "the OAuth2 client \"{}\" was refused by the authorization \
                                 server ({reason}); fix its registration or secret",
                                client.name
                            ),
                        ))
                    }
                    _ => Err(ConnectionError::new(
                        ErrorCategory::Auth,
                        format!("the OAuth2 token request was refused ({reason})"),
                    )),
                }
            }
            Err(RequestTokenError::Parse(_, _)) => Err(ConnectionError::new(
                ErrorCategory::Protocol,
                "the OAuth2 token endpoint's answer is not a token response",
            )),
            Err(RequestTokenError::Other(m)) => Err(ConnectionError::new(
                ErrorCategory::Protocol,
                format!(
                    "the OAuth2 token request failed: {}",
                    terminal_safe_line(&m)
                ),
            )),
        }
    }

    /// Starts a device sign-in (RFC 8628) with `client` (its device authorization endpoint
    /// and scopes).
    pub fn start_device_sign_in(
        &self,
        client: &OAuth2Client,
        route: &Route,
    ) -> Result<DeviceSignIn, ConnectionError> {
        let endpoints = client.endpoints()?;
        let device_url = endpoints.device_authorization_url.clone().ok_or_else(|| {
            ConnectionError::new(
                ErrorCategory::Validation,
                format!(
                    "the OAuth2 client \"{}\" has no device authorization URL",
                    client.name
                ),
            )
        })?;
        let mut oauth = BasicClient::new(ClientId::new(client.client_id.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_device_authorization_url(DeviceAuthorizationUrl::new(device_url).map_err(
                |_| {
                    ConnectionError::new(
                        ErrorCategory::Validation,
                        "invalid device authorization URL",
                    )
                },
            )?);
        if let Some(secret) = self.client_secret(client)? {
            oauth = oauth.set_client_secret(secret);
        }
        let scopes: Vec<Scope> = endpoints
            .scopes
            .iter()
            .map(|s| Scope::new(s.clone()))
            .collect();
        let details: StandardDeviceAuthorizationResponse = oauth
            .exchange_device_code()
            .add_scopes(scopes)
            .request(&self.http(route))
            .map_err(|e| match e {
                RequestTokenError::Request(e) => e,
                RequestTokenError::ServerResponse(e) => ConnectionError::new(
                    ErrorCategory::Auth,
                    format!("the device authorization was refused ({})", e.error()),
                ),
                _ => ConnectionError::new(
                    ErrorCategory::Protocol,
                    "the device authorization endpoint's answer is not valid",
                ),
            })?;
        Ok(DeviceSignIn {
            verification_uri: terminal_safe_line(details.verification_uri().as_str()).into_owned(),
            verification_uri_complete: details
                .verification_uri_complete()
                .map(|u| terminal_safe_line(u.secret()).into_owned()),
            user_code: terminal_safe_line(details.user_code().secret()).into_owned(),
            expires_in: details.expires_in(),
            details,
        })
    }

    /// Waits (polling at the server's interval, at most `timeout` and the code's life) until
    /// the person approved `device`, then keeps the user name and refresh token in the token
    /// store for `credential` (a new sign-in clears a needs sign-in state).
    pub fn finish_device_sign_in(
        &self,
        client: &OAuth2Client,
        device: &DeviceSignIn,
        credential: &CredentialId,
        username: &str,
        route: &Route,
        timeout: Duration,
    ) -> Result<(), ConnectionError> {
        let store = self.store(credential)?;
        let endpoints = client.endpoints()?;
        let mut oauth = BasicClient::new(ClientId::new(client.client_id.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(TokenUrl::new(endpoints.token_url).map_err(|_| {
                ConnectionError::new(ErrorCategory::Validation, "invalid token URL")
            })?);
        if let Some(secret) = self.client_secret(client)? {
            oauth = oauth.set_client_secret(secret);
        }
        let http = ConnectorHttp {
            deadline: OpDeadline::after(timeout, "the device sign-in"),
            ..self.http(route)
        };
        let resp = oauth
            .exchange_device_access_token(&device.details)
            .request(&http, std::thread::sleep, Some(timeout))
            .map_err(|e| match e {
                RequestTokenError::Request(e) => e,
                RequestTokenError::ServerResponse(e) => ConnectionError::new(
                    ErrorCategory::Auth,
                    format!("the device sign-in did not complete ({})", e.error()),
                ),
                _ => ConnectionError::new(
                    ErrorCategory::Protocol,
                    "the token endpoint's answer to the device sign-in is not valid",
                ),
            })?;
        self.keep_sign_in(store, client, credential, username, &resp)
    }

    /// Starts a browser sign-in: binds a loopback port for the redirect, and builds the
    /// authorization URL with PKCE (S256) and a state; `login_hint` pre-fills the user name.
    pub fn start_browser_sign_in(
        &self,
        client: &OAuth2Client,
        login_hint: Option<&str>,
    ) -> Result<BrowserSignIn, ConnectionError> {
        let endpoints = client.endpoints()?;
        let auth_url = endpoints.authorization_url.clone().ok_or_else(|| {
            ConnectionError::new(
                ErrorCategory::Validation,
                format!(
                    "the OAuth2 client \"{}\" has no authorization URL",
                    client.name
                ),
            )
        })?;
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| {
            ConnectionError::new(
                ErrorCategory::Connect,
                format!("could not listen on 127.0.0.1 for the sign-in redirect: {e}"),
            )
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| ConnectionError::new(ErrorCategory::Connect, e.to_string()))?
            .port();
        let redirect_uri = format!("http://127.0.0.1:{port}/callback");
        let invalid =
            |what: &str| ConnectionError::new(ErrorCategory::Validation, format!("invalid {what}"));
        let oauth = BasicClient::new(ClientId::new(client.client_id.clone()))
            .set_auth_uri(oauth2::AuthUrl::new(auth_url).map_err(|_| invalid("authorization URL"))?)
            .set_redirect_uri(
                oauth2::RedirectUrl::new(redirect_uri.clone())
                    .map_err(|_| invalid("redirect URI"))?,
            );
        let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
        let mut request = oauth
            .authorize_url(oauth2::CsrfToken::new_random)
            .add_scopes(endpoints.scopes.iter().map(|s| Scope::new(s.clone())))
            .set_pkce_challenge(challenge);
        if let Some(hint) = login_hint {
            request = request.add_extra_param("login_hint", hint);
        }
        // A refresh token is the point of signing in: consent asked for it every time (an
        // OpenID server drops offline_access without it), and Google's access_type=offline.
        request = request.add_extra_param("prompt", "consent");
        if client.provider == super::OAuth2Provider::Google {
            request = request.add_extra_param("access_type", "offline");
        }
        let (url, state) = request.url();
        Ok(BrowserSignIn {
            authorize_url: url.to_string(),
            redirect_uri,
            listener,
            verifier,
            state,
        })
    }

    /// Waits (at most `timeout`) for the browser's redirect to `sign_in.redirect_uri`, checks
    /// its state, exchanges the code (with the PKCE verifier) and keeps the user name and
    /// refresh token in the token store for `credential`.
    pub fn finish_browser_sign_in(
        &self,
        client: &OAuth2Client,
        sign_in: BrowserSignIn,
        credential: &CredentialId,
        username: &str,
        route: &Route,
        timeout: Duration,
    ) -> Result<(), ConnectionError> {
        use std::io::Write as _;
        let store = self.store(credential)?;
        let until = Instant::now() + timeout;
        sign_in
            .listener
            .set_nonblocking(true)
            .map_err(|e| ConnectionError::new(ErrorCategory::Connect, e.to_string()))?;
        let code = loop {
            if Instant::now() >= until {
                return Err(ConnectionError::timeout(
                    "waiting for the browser sign-in",
                    timeout,
                ));
            }
            let mut stream = match sign_in.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                Err(e) => return Err(ConnectionError::new(ErrorCategory::Connect, e.to_string())),
            };
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let target = read_request_target(&mut stream).unwrap_or_default();
            let url = url::Url::parse(&format!("http://127.0.0.1{target}")).ok();
            let param = |k: &str| {
                url.as_ref()?
                    .query_pairs()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.into_owned())
            };
            let on_callback = url.as_ref().is_some_and(|u| u.path() == "/callback");
            let (status, text, outcome) = if !on_callback {
                ("404 Not Found", "Not found.", None)
            } else if param("state").as_deref() != Some(sign_in.state.secret().as_str()) {
                (
                    "400 Bad Request",
                    "The sign-in answer does not match: try again.",
                    None,
                )
            } else if let Some(code) = param("code") {
                (
                    "200 OK",
                    "Signed in. You can close this window.",
                    Some(Ok(code)),
                )
            } else {
                let why = param("error").unwrap_or_else(|| "no code".into());
                (
                    "400 Bad Request",
                    "The sign-in was refused.",
                    Some(Err(why)),
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            match outcome {
                Some(Ok(code)) => break code,
                Some(Err(why)) => {
                    return Err(ConnectionError::new(
                        ErrorCategory::Auth,
                        format!(
                            "the browser sign-in was refused ({})",
                            terminal_safe_line(&why)
                        ),
                    ))
                }
                None => continue,
            }
        };
        let endpoints = client.endpoints()?;
        let invalid =
            |what: &str| ConnectionError::new(ErrorCategory::Validation, format!("invalid {what}"));
        let mut oauth = BasicClient::new(ClientId::new(client.client_id.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(TokenUrl::new(endpoints.token_url).map_err(|_| invalid("token URL"))?)
            .set_redirect_uri(
                oauth2::RedirectUrl::new(sign_in.redirect_uri.clone())
                    .map_err(|_| invalid("redirect URI"))?,
            );
        if let Some(secret) = self.client_secret(client)? {
            oauth = oauth.set_client_secret(secret);
        }
        self.token_requests.fetch_add(1, Ordering::SeqCst);
        let resp = oauth
            .exchange_code(oauth2::AuthorizationCode::new(code))
            .set_pkce_verifier(sign_in.verifier)
            .request(&self.http(route))
            .map_err(|e| match e {
                RequestTokenError::Request(e) => e,
                RequestTokenError::ServerResponse(e) => ConnectionError::new(
                    ErrorCategory::Auth,
                    format!("the authorization code was refused ({})", e.error()),
                ),
                _ => ConnectionError::new(
                    ErrorCategory::Protocol,
                    "the token endpoint's answer to the code is not valid",
                ),
            })?;
        self.keep_sign_in(store, client, credential, username, &resp)
    }

    /// The end of every interactive sign-in: the refresh token the server gave is handed to
    /// `store` with the user name, the needs-sign-in state is cleared (here and in the shared
    /// state), and the cached access token dropped: the next use refreshes, and so proves the
    /// kept refresh token works.
    fn keep_sign_in(
        &self,
        store: &dyn TokenStore,
        client: &OAuth2Client,
        credential: &CredentialId,
        username: &str,
        resp: &BasicTokenResponse,
    ) -> Result<(), ConnectionError> {
        let refresh = resp.refresh_token().ok_or_else(|| {
            ConnectionError::new(
                ErrorCategory::Protocol,
                "the server gave no refresh token (ask for the offline_access scope)",
            )
        })?;
        store
            .save(
                credential,
                &SignIn {
                    username: username.to_owned(),
                    refresh_token: Some(SecretString::from(refresh.secret().clone())),
                },
            )
            .map_err(|e| credential_error(credential, e))?;
        lock(&self.needs_sign_in).remove(credential.as_str());
        if let Some(shared) = &self.lock {
            shared.set_needs_sign_in(credential.as_str(), None)?;
        }
        *lock(&self.entry(&Self::key(client, credential))) = None;
        Ok(())
    }
}

fn from_credential_error(e: crate::credentials::CredentialError) -> ConnectionError {
    ConnectionError::new(e.category(), e.to_string())
}

fn needs_sign_in_error(credential: &CredentialId, reason: &str) -> ConnectionError {
    ConnectionError::new(
        ErrorCategory::NeedsSignIn,
        format!(
            "credential \"{credential}\" needs sign-in: the authorization server refused its \
             refresh token ({reason}); it is not tried again until it is signed in anew"
        ),
    )
    .with_advice("sign in again: `mail-settings oauth2 sign-in CREDENTIAL --client CLIENT`")
}

struct ProcessLockGuard<'a> {
    lock: &'a dyn SharedTokenState,
    key: String,
    holder: &'a str,
}

impl Drop for ProcessLockGuard<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.lock.release(&self.key, self.holder) {
            tracing::warn!(error = %e, "could not release the OAuth2 refresh lock");
        }
    }
}
