//! OAuth2 sign-in for Kotlin/Swift hosts: the core's token lifecycle (see
//! `mail_settings_core::oauth2`) behind one object, [`TokenManager`].
//!
//! - [`TokenStore`]: a foreign trait the host implements over its vault, beside (not inside)
//!   the [`CredentialProvider`], so hosts' existing providers keep compiling. It keeps each
//!   credential's [`SignIn`] (user name and refresh token); a refresh token the server rotates
//!   is handed to `save` **before** the new access token is used.
//! - [`TokenManager`]: signs people in (device code: [`TokenManager::start_device_sign_in`] /
//!   [`TokenManager::finish_device_sign_in`]; browser with PKCE and a loopback redirect:
//!   [`TokenManager::start_browser_sign_in`] / [`TokenManager::finish_browser_sign_in`]),
//!   binds credential ids to OAuth2 clients ([`TokenManager::bind`]) and gives a
//!   [`CredentialProvider`] ([`TokenManager::credential_provider`]) that answers those ids
//!   with fresh access tokens (and every other id from the host's provider): hand it to the
//!   store, the checker, the collector and the mailer.
//! - [`TokenManager::status`]: every credential's state (signed in until, needs sign-in and
//!   why, client refused).
//!
//! A refresh token, access token, client secret or device code never appears in any
//! `toString`/`description`: [`SignIn`], [`DeviceSignIn`] and [`BrowserSignIn`] are objects
//! whose text leaves them out, and the records here hold none.

use crate::blocking::run_blocking;
use crate::credentials::{Credential, CredentialProvider, HostCredentials};
use crate::error::{MailSettingsError, Result};
use crate::store::Store;
use mail_settings_core as mscore;
use mscore::oauth2 as core;
use mscore::typed::{CredentialId, Route};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Who runs the authorization server: presets fill the endpoints and scopes.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum OAuth2Provider {
    /// Microsoft identity platform v2.0, for `tenant` (an id or domain; `organizations`).
    Microsoft {
        /// The tenant id or domain.
        tenant: String,
    },
    /// Google (Gmail, Google Workspace).
    Google,
    /// Any other authorization server: the endpoints are given.
    Custom,
}

/// The grant a client uses to get access tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum OAuth2Grant {
    /// A user signed in once; the token store keeps the refresh token.
    RefreshToken,
    /// App-only access with the client's secret (Microsoft 365 shared mailboxes).
    ClientCredentials,
}

/// An OAuth2 client (an application registration). Holds no secret: the client secret is the
/// host vault's entry `client_secret_credential` (none for a public client).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct OAuth2Client {
    /// The client's name, shown in messages and in `status`.
    pub name: String,
    /// The provider preset.
    pub provider: OAuth2Provider,
    /// The application (client) id.
    pub client_id: String,
    /// The credential id of the client secret in the host's vault; `null` for a public client.
    #[uniffi(default = None)]
    pub client_secret_credential: Option<String>,
    /// The grant.
    pub grant: OAuth2Grant,
    /// The token endpoint; `null`: the preset's.
    #[uniffi(default = None)]
    pub token_url: Option<String>,
    /// The device authorization endpoint (RFC 8628); `null`: the preset's.
    #[uniffi(default = None)]
    pub device_authorization_url: Option<String>,
    /// The authorization endpoint (browser sign-in); `null`: the preset's.
    #[uniffi(default = None)]
    pub authorization_url: Option<String>,
    /// The scopes; empty: the preset's.
    #[uniffi(default = [])]
    pub scopes: Vec<String>,
}

impl From<OAuth2Client> for core::OAuth2Client {
    fn from(c: OAuth2Client) -> Self {
        let mut out = core::OAuth2Client::custom(c.name, c.client_id, String::new());
        out.provider = match c.provider {
            OAuth2Provider::Microsoft { tenant } => core::OAuth2Provider::Microsoft { tenant },
            OAuth2Provider::Google => core::OAuth2Provider::Google,
            OAuth2Provider::Custom => core::OAuth2Provider::Custom,
        };
        out.client_secret_credential = c.client_secret_credential.map(CredentialId::new);
        out.grant = match c.grant {
            OAuth2Grant::RefreshToken => core::OAuth2Grant::RefreshToken,
            OAuth2Grant::ClientCredentials => core::OAuth2Grant::ClientCredentials,
        };
        out.token_url = c.token_url;
        out.device_authorization_url = c.device_authorization_url;
        out.authorization_url = c.authorization_url;
        out.scopes = c.scopes;
        out
    }
}

/// A user's sign-in as the host's vault keeps it: the mailbox user name and the refresh token.
/// Its text never shows the token.
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct SignIn {
    inner: core::SignIn,
}

impl fmt::Debug for SignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl fmt::Display for SignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SignIn(username={:?}, refresh_token={})",
            self.inner.username,
            if self.inner.refresh_token.is_some() {
                "[redacted]"
            } else {
                "none"
            }
        )
    }
}

#[uniffi::export]
impl SignIn {
    /// A sign-in read back from the vault.
    #[uniffi::constructor(default(refresh_token = None))]
    pub fn new(username: String, refresh_token: Option<String>) -> Arc<Self> {
        Arc::new(Self {
            inner: core::SignIn {
                username,
                refresh_token: refresh_token.map(Into::into),
            },
        })
    }

    /// The user name to log in to the mail server with.
    pub fn username(&self) -> String {
        self.inner.username.clone()
    }

    /// The refresh token, for the host to keep in its vault (never log it).
    pub fn refresh_token(&self) -> Option<String> {
        use secrecy::ExposeSecret as _;
        self.inner
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned())
    }
}

/// Where the host keeps sign-ins (its vault). `save` must be durable when it returns: the
/// old refresh token no longer works after the server rotated it. Throw
/// `MailSettingsError.Credential` when the vault cannot answer (never with a secret in it).
#[uniffi::export(with_foreign)]
pub trait TokenStore: Send + Sync {
    /// The sign-in kept for `credential_id`, `null` when there is none.
    fn load(&self, credential_id: String) -> Result<Option<Arc<SignIn>>, MailSettingsError>;
    /// Keeps `sign_in` for `credential_id` (a first sign-in, or a rotated refresh token).
    fn save(&self, credential_id: String, sign_in: Arc<SignIn>) -> Result<(), MailSettingsError>;
}

/// The host's token store seen as the core's.
struct HostTokenStore(Arc<dyn TokenStore>);

impl core::TokenStore for HostTokenStore {
    fn load(
        &self,
        credential: &CredentialId,
    ) -> Result<Option<core::SignIn>, mscore::CredentialError> {
        self.0
            .load(credential.as_str().to_owned())
            .map(|s| s.map(|s| s.inner.clone()))
            .map_err(|e| mscore::CredentialError::Provider {
                id: credential.to_string(),
                reason: e.to_string(),
            })
    }

    fn save(
        &self,
        credential: &CredentialId,
        sign_in: &core::SignIn,
    ) -> Result<(), mscore::CredentialError> {
        self.0
            .save(
                credential.as_str().to_owned(),
                Arc::new(SignIn {
                    inner: sign_in.clone(),
                }),
            )
            .map_err(|e| mscore::CredentialError::Provider {
                id: credential.to_string(),
                reason: e.to_string(),
            })
    }
}

/// A device sign-in under way (RFC 8628): show `verification_uri` and `user_code` to the
/// person, then call [`TokenManager::finish_device_sign_in`]. The device code stays inside
/// (its text never shows it).
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct DeviceSignIn {
    inner: core::DeviceSignIn,
}

impl fmt::Debug for DeviceSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl fmt::Display for DeviceSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DeviceSignIn(verification_uri={}, user_code={})",
            self.inner.verification_uri, self.inner.user_code
        )
    }
}

#[uniffi::export]
impl DeviceSignIn {
    /// Where the person goes.
    pub fn verification_uri(&self) -> String {
        self.inner.verification_uri.clone()
    }
    /// The same with the code filled in, when the server gives one.
    pub fn verification_uri_complete(&self) -> Option<String> {
        self.inner.verification_uri_complete.clone()
    }
    /// The code the person types there.
    pub fn user_code(&self) -> String {
        self.inner.user_code.clone()
    }
    /// How often the server may be asked whether the person approved, in seconds.
    pub fn interval_secs(&self) -> u64 {
        self.inner.interval().as_secs()
    }
    /// How long the code is valid, in seconds.
    pub fn expires_in_secs(&self) -> u64 {
        self.inner.expires_in.as_secs()
    }
}

/// A browser sign-in under way (authorization code with PKCE, loopback redirect, RFC 8252):
/// open `authorize_url` in the person's browser, then call
/// [`TokenManager::finish_browser_sign_in`], which waits for the redirect on 127.0.0.1. The
/// PKCE verifier stays inside. Finish it once.
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct BrowserSignIn {
    authorize_url: String,
    redirect_uri: String,
    inner: Mutex<Option<core::BrowserSignIn>>,
}

impl fmt::Debug for BrowserSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserSignIn")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for BrowserSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BrowserSignIn(redirect_uri={})", self.redirect_uri)
    }
}

#[uniffi::export]
impl BrowserSignIn {
    /// The URL the host opens in the browser.
    pub fn authorize_url(&self) -> String {
        self.authorize_url.clone()
    }
    /// The loopback redirect URI (`http://127.0.0.1:PORT/callback`).
    pub fn redirect_uri(&self) -> String {
        self.redirect_uri.clone()
    }
}

/// A credential's sign-in state.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SignInState {
    /// An access token is held, valid until then.
    SignedIn {
        /// When the access token in memory expires.
        valid_until: SystemTime,
    },
    /// Signed in (a refresh token is kept) but no access token asked for yet.
    NotYetUsed,
    /// The server refused the refresh token (`invalid_grant`): a person must sign in again.
    NeedsSignIn {
        /// Why (the server's error code and description).
        reason: String,
    },
    /// The OAuth2 client was refused (`invalid_client`): its registration or secret is wrong.
    ClientRefused {
        /// The server's words.
        reason: String,
    },
}

/// One credential's state, from [`TokenManager::status`].
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct TokenStatus {
    /// The credential id.
    pub credential: String,
    /// The OAuth2 client's name.
    pub client: String,
    /// Its state.
    pub state: SignInState,
}

impl From<core::TokenStatus> for TokenStatus {
    fn from(s: core::TokenStatus) -> Self {
        let state = match s.state {
            core::SignInState::SignedIn { valid_until } => SignInState::SignedIn { valid_until },
            core::SignInState::NeedsSignIn { reason } => SignInState::NeedsSignIn { reason },
            core::SignInState::ClientRefused { reason } => SignInState::ClientRefused { reason },
            _ => SignInState::NotYetUsed,
        };
        TokenStatus {
            credential: s.credential.as_str().to_owned(),
            client: s.client,
            state,
        }
    }
}

/// Obtains, caches (in memory only) and refreshes OAuth2 access tokens; signs people in.
/// Share one per process.
#[derive(uniffi::Object)]
pub struct TokenManager {
    manager: Arc<core::TokenManager>,
    credentials: Arc<core::OAuth2Credentials>,
    provider: Arc<dyn CredentialProvider>,
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// The credential provider a [`TokenManager`] gives: OAuth2-bound ids get fresh access
/// tokens, every other id is the host's. Recognised by [`HostCredentials::wrap`] so the core
/// sees the token-minting provider itself (a refused token is refreshed and the login retried
/// once).
pub(crate) struct TokenCredentials {
    pub(crate) core: Arc<core::OAuth2Credentials>,
}

impl CredentialProvider for TokenCredentials {
    fn credential(&self, id: String) -> Result<Arc<Credential>, MailSettingsError> {
        use mscore::CredentialProvider as _;
        let c = self.core.credential(&CredentialId::new(&id))?;
        Ok(Credential::from_core(c))
    }

    fn contains(&self, id: String) -> bool {
        use mscore::CredentialProvider as _;
        self.core.contains(&id)
    }
}

/// The core provider behind `provider` when it is one a [`TokenManager`] gave.
pub(crate) fn token_credentials(
    provider: &Arc<dyn CredentialProvider>,
) -> Option<Arc<dyn mscore::CredentialProvider>> {
    let key = Arc::as_ptr(provider) as *const () as usize;
    let registry = REGISTRY.lock().ok()?;
    registry
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, w)| w.upgrade())
        .map(|c| c as Arc<dyn mscore::CredentialProvider>)
}

type Registry = Vec<(usize, std::sync::Weak<core::OAuth2Credentials>)>;
static REGISTRY: Mutex<Registry> = Mutex::new(Vec::new());

#[uniffi::export]
impl TokenManager {
    /// A token manager over the host's `credentials` (asked for client secrets and every id not
    /// bound to an OAuth2 client) and its `token_store` (`null`: only client credentials grants
    /// can be bound; a refresh token could not be kept). With `store`, refreshes of one
    /// credential are serialised across processes sharing it and the needs sign-in state is
    /// kept there.
    #[uniffi::constructor(default(store = None))]
    pub fn new(
        credentials: Arc<dyn CredentialProvider>,
        token_store: Option<Arc<dyn TokenStore>>,
        store: Option<Arc<Store>>,
    ) -> Arc<Self> {
        let secrets = HostCredentials::wrap(credentials);
        let tokens: Option<Arc<dyn core::TokenStore>> =
            token_store.map(|t| Arc::new(HostTokenStore(t)) as Arc<dyn core::TokenStore>);
        let mut manager = core::TokenManager::new(tokens, secrets.clone());
        if let Some(s) = store {
            manager = manager.with_shared_state(s.inner.clone());
        }
        let manager = Arc::new(manager);
        let credentials = Arc::new(core::OAuth2Credentials::new(secrets, manager.clone()));
        let provider: Arc<dyn CredentialProvider> = Arc::new(TokenCredentials {
            core: credentials.clone(),
        });
        if let Ok(mut r) = REGISTRY.lock() {
            r.retain(|(_, w)| w.strong_count() > 0);
            r.push((
                Arc::as_ptr(&provider) as *const () as usize,
                Arc::downgrade(&credentials),
            ));
        }
        Arc::new(Self {
            manager,
            credentials,
            provider,
        })
    }

    /// Binds `credential_id` to `client`: the provider from [`Self::credential_provider`] then
    /// answers it with the signed-in user name and a fresh access token. Throws `Validation`
    /// when the client uses refresh tokens and no token store was given, or its endpoints are
    /// incomplete.
    pub fn bind(&self, credential_id: String, client: OAuth2Client) -> Result<()> {
        Ok(self.credentials.bind(
            &CredentialId::new(credential_id),
            client.into(),
            Route::Direct,
        )?)
    }

    /// The credential provider to hand to the store, the checker, the collector and the
    /// mailer: bound ids get access tokens, the others are the host's.
    pub fn credential_provider(&self) -> Arc<dyn CredentialProvider> {
        self.provider.clone()
    }

    /// Starts a device sign-in (RFC 8628) with `client`: show the verification URL and the
    /// user code to the person.
    pub async fn start_device_sign_in(&self, client: OAuth2Client) -> Result<Arc<DeviceSignIn>> {
        let manager = self.manager.clone();
        run_blocking("oauth2", move || {
            let inner = manager.start_device_sign_in(&client.into(), &Route::Direct)?;
            Ok(Arc::new(DeviceSignIn { inner }))
        })
        .await
    }

    /// Polls (within the server's interval, at most `timeout_secs`) until the person approved
    /// `device`, then keeps the sign-in of `username` under `credential_id` in the token store
    /// and binds it to `client`.
    pub async fn finish_device_sign_in(
        &self,
        client: OAuth2Client,
        device: Arc<DeviceSignIn>,
        credential_id: String,
        username: String,
        timeout_secs: u64,
    ) -> Result<()> {
        let manager = self.manager.clone();
        let credentials = self.credentials.clone();
        run_blocking("oauth2", move || {
            let id = CredentialId::new(credential_id);
            let client: core::OAuth2Client = client.into();
            manager.finish_device_sign_in(
                &client,
                &device.inner,
                &id,
                &username,
                &Route::Direct,
                Duration::from_secs(timeout_secs),
            )?;
            Ok(credentials.bind(&id, client, Route::Direct)?)
        })
        .await
    }

    /// Starts a browser sign-in (authorization code with PKCE and a loopback redirect) with
    /// `client`: the host opens [`BrowserSignIn::authorize_url`]. `login_hint`: the address the
    /// person signs in with, when known.
    #[uniffi::method(default(login_hint = None))]
    pub fn start_browser_sign_in(
        &self,
        client: OAuth2Client,
        login_hint: Option<String>,
    ) -> Result<Arc<BrowserSignIn>> {
        let inner = self
            .manager
            .start_browser_sign_in(&client.into(), login_hint.as_deref())?;
        Ok(Arc::new(BrowserSignIn {
            authorize_url: inner.authorize_url.clone(),
            redirect_uri: inner.redirect_uri.clone(),
            inner: Mutex::new(Some(inner)),
        }))
    }

    /// Waits (at most `timeout_secs`) for the browser's redirect, exchanges the code, keeps the
    /// sign-in of `username` under `credential_id` in the token store and binds it to `client`.
    pub async fn finish_browser_sign_in(
        &self,
        client: OAuth2Client,
        sign_in: Arc<BrowserSignIn>,
        credential_id: String,
        username: String,
        timeout_secs: u64,
    ) -> Result<()> {
        let manager = self.manager.clone();
        let credentials = self.credentials.clone();
        run_blocking("oauth2", move || {
            let inner = sign_in
                .inner
                .lock()
                .map_err(|_| MailSettingsError::internal("browser sign-in poisoned"))?
                .take()
                .ok_or_else(|| MailSettingsError::Validation {
                    results: Vec::new(),
                    detail: "this browser sign-in was already finished; start a new one".into(),
                })?;
            let id = CredentialId::new(credential_id);
            let client: core::OAuth2Client = client.into();
            manager.finish_browser_sign_in(
                &client,
                inner,
                &id,
                &username,
                &Route::Direct,
                Duration::from_secs(timeout_secs),
            )?;
            Ok(credentials.bind(&id, client, Route::Direct)?)
        })
        .await
    }

    /// Every credential this manager has served, with its state.
    pub fn status(&self) -> Vec<TokenStatus> {
        self.manager.status().into_iter().map(Into::into).collect()
    }

    /// Why `credential_id` needs a new sign-in, `null` when it does not.
    pub fn needs_sign_in(&self, credential_id: String) -> Option<String> {
        self.manager
            .needs_sign_in(&CredentialId::new(credential_id))
    }

    /// How many token requests were made (refreshes and client credentials grants).
    pub fn token_requests(&self) -> u64 {
        self.manager.token_requests()
    }
}

// ----- settings: OAuth2 clients (records of the store) and the accounts' fields -----

/// How an account signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum AuthenticationMethod {
    /// The vault entry's secret as it is (a password, or a token the host keeps fresh).
    Password,
    /// The account's OAuth2 client obtains and refreshes access tokens.
    Oauth2,
}

pub(crate) fn authentication_to_core(
    a: Option<AuthenticationMethod>,
) -> mscore::model::AuthenticationMethod {
    match a {
        Some(AuthenticationMethod::Oauth2) => mscore::model::AuthenticationMethod::OAuth2,
        _ => mscore::model::AuthenticationMethod::Password,
    }
}

/// `PASSWORD` (the default) reads back as `null`, so a form round-trips unchanged.
pub(crate) fn authentication_from_core(
    a: mscore::model::AuthenticationMethod,
) -> Result<Option<AuthenticationMethod>> {
    match a {
        mscore::model::AuthenticationMethod::Password => Ok(None),
        mscore::model::AuthenticationMethod::OAuth2 => Ok(Some(AuthenticationMethod::Oauth2)),
        #[allow(unreachable_patterns)]
        other => Err(MailSettingsError::internal(format!(
            "this version of the bindings does not know the authentication method {}",
            other.as_str()
        ))),
    }
}

/// Who runs an OAuth2 client's authorization server, in the settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum OAuth2ProviderKind {
    /// Microsoft identity platform v2.0, with a `tenant`.
    Microsoft,
    /// Google.
    Google,
    /// Any other authorization server: the endpoint URLs are given.
    Custom,
}

/// An OAuth2 client (application registration) as a person typed it: the settings record of
/// the store (`docs/SETTINGS.md`, "OAuth2 clients"). Holds no secret.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct OAuth2ClientForm {
    /// Given by the store; read-only.
    #[uniffi(default = None)]
    pub id: Option<i64>,
    /// Name: required, 1–100 characters, unique among OAuth2 clients.
    pub name: String,
    /// `MICROSOFT`, `GOOGLE` or `CUSTOM` (required).
    pub provider: Option<OAuth2ProviderKind>,
    /// The application (client) id (required).
    pub client_id: String,
    /// `MICROSOFT` only: the tenant id or domain.
    #[uniffi(default = None)]
    pub tenant: Option<String>,
    /// The vault entry of the client secret; `null` for a public client.
    #[uniffi(default = None)]
    pub client_secret_credential: Option<String>,
    /// `null` or `REFRESH_TOKEN` (the default), or `CLIENT_CREDENTIALS`.
    #[uniffi(default = None)]
    pub grant: Option<OAuth2Grant>,
    /// The token endpoint; `null`: the provider's (required for `CUSTOM`).
    #[uniffi(default = None)]
    pub token_url: Option<String>,
    /// The device authorization endpoint; `null`: the provider's.
    #[uniffi(default = None)]
    pub device_authorization_url: Option<String>,
    /// The authorization endpoint; `null`: the provider's.
    #[uniffi(default = None)]
    pub authorization_url: Option<String>,
    /// The scopes; empty: the provider's.
    #[uniffi(default = [])]
    pub scopes: Vec<String>,
    /// Enabled (default true); an account may not use a disabled client.
    #[uniffi(default = true)]
    pub enabled: bool,
}

impl From<OAuth2ClientForm> for mscore::model::OAuth2ClientForm {
    fn from(c: OAuth2ClientForm) -> Self {
        use mscore::model::OAuth2ProviderKind as K;
        mscore::model::OAuth2ClientForm {
            id: c.id,
            name: c.name,
            enabled: c.enabled,
            provider: c.provider.map(|p| match p {
                OAuth2ProviderKind::Microsoft => K::Microsoft,
                OAuth2ProviderKind::Google => K::Google,
                OAuth2ProviderKind::Custom => K::Custom,
            }),
            tenant: c.tenant,
            client_id: c.client_id,
            client_secret_credential: c.client_secret_credential,
            grant: match c.grant {
                Some(OAuth2Grant::ClientCredentials) => core::OAuth2Grant::ClientCredentials,
                _ => core::OAuth2Grant::RefreshToken,
            },
            token_url: c.token_url,
            device_authorization_url: c.device_authorization_url,
            authorization_url: c.authorization_url,
            scopes: c.scopes,
        }
    }
}

impl TryFrom<mscore::model::OAuth2ClientForm> for OAuth2ClientForm {
    type Error = MailSettingsError;
    fn try_from(c: mscore::model::OAuth2ClientForm) -> Result<Self> {
        use mscore::model::OAuth2ProviderKind as K;
        let unknown = |what: &str| {
            MailSettingsError::internal(format!("unknown OAuth2 {what}: update the bindings"))
        };
        Ok(OAuth2ClientForm {
            id: c.id,
            name: c.name,
            provider: c
                .provider
                .map(|p| match p {
                    K::Microsoft => Ok(OAuth2ProviderKind::Microsoft),
                    K::Google => Ok(OAuth2ProviderKind::Google),
                    K::Custom => Ok(OAuth2ProviderKind::Custom),
                    #[allow(unreachable_patterns)]
                    _ => Err(unknown("provider")),
                })
                .transpose()?,
            client_id: c.client_id,
            tenant: c.tenant,
            client_secret_credential: c.client_secret_credential,
            grant: match c.grant {
                core::OAuth2Grant::RefreshToken => None,
                core::OAuth2Grant::ClientCredentials => Some(OAuth2Grant::ClientCredentials),
                #[allow(unreachable_patterns)]
                _ => return Err(unknown("grant")),
            },
            token_url: c.token_url,
            device_authorization_url: c.device_authorization_url,
            authorization_url: c.authorization_url,
            scopes: c.scopes,
            enabled: c.enabled,
        })
    }
}

/// An OAuth2 client as stored: id, version (pass it back to update or delete), the form.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct StoredOAuth2Client {
    /// The id the store gave.
    pub id: i64,
    /// Pass it back to update or delete.
    pub version: i64,
    /// The client.
    pub client: OAuth2ClientForm,
}

fn stored_client(
    s: mscore::store::Stored<mscore::model::OAuth2ClientForm>,
) -> Result<StoredOAuth2Client> {
    Ok(StoredOAuth2Client {
        id: s.id,
        version: s.version,
        client: s.record.try_into()?,
    })
}

/// Validates one OAuth2 client on its own (its own fields: name, provider, client id, grant,
/// secret, tenant, URLs); every result, errors and warnings.
#[uniffi::export]
pub fn validate_oauth2_client(client: OAuth2ClientForm) -> Vec<crate::model::ValidationResult> {
    let form = mscore::model::OAuth2ClientForm::from(client);
    let ctx = mscore::validate::ValidationContext::standalone();
    mscore::validate::validate_oauth2_client(&form, "", &ctx)
        .into_results()
        .into_iter()
        .map(Into::into)
        .collect()
}

#[uniffi::export]
impl Store {
    // ----- OAuth2 clients -----

    /// Adds an OAuth2 client (its `id` is ignored). Throws `Validation` with every result.
    pub fn create_oauth2_client(&self, client: OAuth2ClientForm) -> Result<StoredOAuth2Client> {
        stored_client(self.inner.create_oauth2_client(&client.into())?)
    }

    /// OAuth2 client `id`; throws `NotFound`.
    pub fn get_oauth2_client(&self, id: i64) -> Result<StoredOAuth2Client> {
        stored_client(self.inner.get_oauth2_client(id)?)
    }

    /// Every OAuth2 client, by id.
    pub fn list_oauth2_clients(&self) -> Result<Vec<StoredOAuth2Client>> {
        self.inner
            .list_oauth2_clients()?
            .into_iter()
            .map(stored_client)
            .collect()
    }

    /// Replaces OAuth2 client `id` if it is still at `expected_version` (else `Conflict`).
    /// Disabling a client that accounts use throws `InUse`.
    pub fn update_oauth2_client(
        &self,
        id: i64,
        expected_version: i64,
        client: OAuth2ClientForm,
    ) -> Result<StoredOAuth2Client> {
        stored_client(
            self.inner
                .update_oauth2_client(id, expected_version, &client.into())?,
        )
    }

    /// Deletes OAuth2 client `id` at `expected_version`; throws `InUse` while accounts use it.
    pub fn delete_oauth2_client(&self, id: i64, expected_version: i64) -> Result<()> {
        Ok(self.inner.delete_oauth2_client(id, expected_version)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoVault;
    impl CredentialProvider for NoVault {
        fn credential(&self, id: String) -> Result<Arc<Credential>, MailSettingsError> {
            Err(MailSettingsError::NotFound { detail: id })
        }
        fn contains(&self, _id: String) -> bool {
            false
        }
    }

    #[test]
    fn text_never_shows_a_refresh_token() {
        let s = SignIn::new("bob@x".into(), Some("rt-canary-71c2".into()));
        for text in [format!("{s}"), format!("{s:?}")] {
            assert!(!text.contains("rt-canary-71c2"), "{text}");
            assert!(text.contains("bob@x"), "{text}");
        }
        assert_eq!(s.refresh_token().as_deref(), Some("rt-canary-71c2"));
    }

    #[test]
    fn needs_sign_in_maps_to_its_variant_and_category() {
        let e: MailSettingsError = mscore::CredentialError::OAuth2 {
            id: "c".into(),
            category: mscore::ErrorCategory::NeedsSignIn,
            message: "invalid_grant: revoked".into(),
        }
        .into();
        assert!(matches!(e, MailSettingsError::NeedsSignIn { .. }), "{e:?}");
        assert_eq!(e.category(), crate::model::ErrorCategory::NeedsSignIn);
        assert!(e.to_string().contains("invalid_grant"), "{e}");
        let c: MailSettingsError =
            mscore::ConnectionError::new(mscore::ErrorCategory::NeedsSignIn, "sign in again")
                .into();
        assert!(matches!(c, MailSettingsError::NeedsSignIn { .. }), "{c:?}");
    }

    #[test]
    fn the_provider_it_gives_is_the_core_one_and_refresh_tokens_need_a_store() {
        let m = TokenManager::new(Arc::new(NoVault), None, None);
        let p = m.credential_provider();
        let core = token_credentials(&p).expect("recognised");
        assert!(!core.contains("x"));
        // A host's own provider is not taken for one.
        assert!(token_credentials(&(Arc::new(NoVault) as Arc<dyn CredentialProvider>)).is_none());
        let client = OAuth2Client {
            name: "c".into(),
            provider: OAuth2Provider::Custom,
            client_id: "id".into(),
            client_secret_credential: None,
            grant: OAuth2Grant::RefreshToken,
            token_url: Some("http://127.0.0.1:1/token".into()),
            device_authorization_url: None,
            authorization_url: None,
            scopes: vec![],
        };
        let e = m.bind("x".into(), client).unwrap_err();
        assert!(e.to_string().contains("no token store"), "{e}");
    }
}
