//! OAuth2 sign-in that keeps working for months: the whole token lifecycle for IMAP, POP3 and
//! SMTP accounts whose servers take OAuth2 only (Microsoft 365, Google Workspace).
//!
//! - [`OAuth2Client`]: an application registration (provider preset `MICROSOFT` with its
//!   tenant, `GOOGLE`, or `CUSTOM` endpoints), its client id, the vault entry of its secret
//!   (none for a public client), its grant and scopes. It holds no secret itself.
//! - [`TokenStore`]: where a user's sign-in (user name and refresh token) is kept. Separate
//!   from [`CredentialProvider`](crate::credentials::CredentialProvider) so hosts' existing providers keep compiling; a refresh token
//!   the server rotates is handed to [`TokenStore::save`] **before** the new access token is
//!   used. The credentials file ([`crate::credentials::CredentialsFile`]) is one (atomic
//!   replace, mode 0600 kept).
//! - [`TokenManager`]: obtains access tokens (refresh token grant, client credentials grant),
//!   caches them in memory only, refreshes them before they expire (with
//!   [`TokenManager::skew`]) and once more after a server refuses one
//!   ([`CredentialProvider::refused`](crate::credentials::CredentialProvider::refused)). One refresh per credential at a time: a mutex per credential
//!   across threads, and an optional [`SharedTokenState`] across processes sharing a store
//!   ([`crate::store::Store`] is one), which also keeps the needs sign-in state. `invalid_grant` puts the credential in the state
//!   **needs sign-in** ([`ErrorCategory::NeedsSignIn`]): not retried until the stored refresh
//!   token changes, and it never blocks another credential. `invalid_client` marks the client.
//! - [`OAuth2Credentials`]: a [`CredentialProvider`](crate::credentials::CredentialProvider) wrapping the host's, which answers for the
//!   credentials bound to an OAuth2 client with a fresh access token; the drivers (IMAP, POP3,
//!   SMTP, the collector, the check) then sign in with SASL XOAUTH2 or OAUTHBEARER, whichever
//!   the server offers, and report a refused token back so it is refreshed once.
//! - Sign-in: [`TokenManager::start_device_sign_in`] / [`TokenManager::finish_device_sign_in`]
//!   (RFC 8628, for an operator at a terminal); [`TokenManager::start_browser_sign_in`] /
//!   [`TokenManager::finish_browser_sign_in`] (authorization code with PKCE and a loopback
//!   redirect, RFC 8252: the host opens the browser; Google needs it for the mail scope).
//!
//! HTTP goes through the `oauth2` crate over our own connector (directly or through the
//! account's network connector), TLS verified, per-read and overall time bounds, responses at
//! most [`http::MAX_RESPONSE_BYTES`]. Client secrets, access and refresh tokens and device codes
//! never appear in `Debug`, `Display`, errors or logs.

#[cfg(feature = "oauth2")]
#[cfg_attr(docsrs, doc(cfg(feature = "oauth2")))]
pub mod http;
#[cfg(feature = "oauth2")]
mod manager;
#[cfg(feature = "oauth2")]
mod provider;
pub mod sasl;

#[cfg(feature = "oauth2")]
#[cfg_attr(docsrs, doc(cfg(feature = "oauth2")))]
pub use manager::{BrowserSignIn, DeviceSignIn, SignInState, TokenManager, TokenStatus};
#[cfg(feature = "oauth2")]
#[cfg_attr(docsrs, doc(cfg(feature = "oauth2")))]
pub use provider::OAuth2Credentials;

use crate::credentials::CredentialError;
use crate::error::{ConnectionError, ErrorCategory};
use crate::typed::CredentialId;
use secrecy::SecretString;
use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;
use std::time::Duration;

/// Who runs the authorization server: presets fill the endpoints and default scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OAuth2Provider {
    /// Microsoft identity platform v2.0 (Microsoft 365, Outlook.com), for `tenant` (a tenant id
    /// or domain; `organizations` or `common` for any work account; app-only access needs the
    /// real tenant).
    Microsoft {
        /// The tenant id or domain.
        tenant: String,
    },
    /// Google (Gmail, Google Workspace).
    Google,
    /// Any other authorization server: the endpoints are given.
    Custom,
}

/// `REFRESH_TOKEN` (a user signed in once) or `CLIENT_CREDENTIALS` (app-only access).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[non_exhaustive]
pub enum OAuth2Grant {
    /// A user signed in once (device code or browser); the vault keeps the refresh token.
    #[default]
    #[serde(rename = "REFRESH_TOKEN")]
    RefreshToken,
    /// App-only access with the client's secret (Microsoft 365 shared mailboxes).
    #[serde(rename = "CLIENT_CREDENTIALS")]
    ClientCredentials,
}

/// Microsoft's IMAP, POP and SMTP scopes for a signed-in user.
pub const MICROSOFT_SCOPES: [&str; 4] = [
    "https://outlook.office.com/IMAP.AccessAsUser.All",
    "https://outlook.office.com/POP.AccessAsUser.All",
    "https://outlook.office.com/SMTP.Send",
    "offline_access",
];
/// Microsoft's app-only scope (client credentials).
pub const MICROSOFT_APP_ONLY_SCOPE: &str = "https://outlook.office365.com/.default";
/// Google's mail scope (IMAP, POP3 and SMTP).
pub const GOOGLE_SCOPE: &str = "https://mail.google.com/";

/// An OAuth2 client (an application registration). Holds no secret: the secret is the vault
/// entry `client_secret_credential`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuth2Client {
    /// The client's name (unique), shown in messages.
    pub name: String,
    /// The provider preset.
    pub provider: OAuth2Provider,
    /// The application (client) id.
    pub client_id: String,
    /// The vault entry whose secret is the client secret; `None` for a public client.
    pub client_secret_credential: Option<CredentialId>,
    /// The grant used to get access tokens.
    pub grant: OAuth2Grant,
    /// The token endpoint; `None`: the preset's.
    pub token_url: Option<String>,
    /// The device authorization endpoint (RFC 8628); `None`: the preset's.
    pub device_authorization_url: Option<String>,
    /// The authorization endpoint (browser sign-in); `None`: the preset's.
    pub authorization_url: Option<String>,
    /// The scopes asked for; empty: the preset's.
    pub scopes: Vec<String>,
}

/// The endpoints and scopes an [`OAuth2Client`] resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// Token endpoint.
    pub token_url: String,
    /// Device authorization endpoint, when the provider has one.
    pub device_authorization_url: Option<String>,
    /// Authorization endpoint.
    pub authorization_url: Option<String>,
    /// Scopes.
    pub scopes: Vec<String>,
}

impl OAuth2Client {
    /// A `CUSTOM` client with the refresh token grant.
    pub fn custom(
        name: impl Into<String>,
        client_id: impl Into<String>,
        token_url: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            provider: OAuth2Provider::Custom,
            client_id: client_id.into(),
            client_secret_credential: None,
            grant: OAuth2Grant::RefreshToken,
            token_url: Some(token_url.into()),
            device_authorization_url: None,
            authorization_url: None,
            scopes: Vec::new(),
        }
    }

    /// The endpoints and scopes: the preset's where not given.
    pub fn endpoints(&self) -> Result<Endpoints, ConnectionError> {
        let given = |u: &Option<String>| {
            u.as_ref()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let (token, device, auth, scopes): (
            Option<String>,
            Option<String>,
            Option<String>,
            Vec<String>,
        ) = match &self.provider {
            OAuth2Provider::Microsoft { tenant } => {
                let t = if tenant.trim().is_empty() {
                    "organizations"
                } else {
                    tenant.trim()
                };
                let base = format!("https://login.microsoftonline.com/{t}/oauth2/v2.0");
                let scopes = match self.grant {
                    OAuth2Grant::ClientCredentials => vec![MICROSOFT_APP_ONLY_SCOPE.to_owned()],
                    OAuth2Grant::RefreshToken => {
                        MICROSOFT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
                    }
                };
                (
                    Some(format!("{base}/token")),
                    Some(format!("{base}/devicecode")),
                    Some(format!("{base}/authorize")),
                    scopes,
                )
            }
            OAuth2Provider::Google => (
                Some("https://oauth2.googleapis.com/token".to_owned()),
                Some("https://oauth2.googleapis.com/device/code".to_owned()),
                Some("https://accounts.google.com/o/oauth2/v2/auth".to_owned()),
                vec![GOOGLE_SCOPE.to_owned()],
            ),
            OAuth2Provider::Custom => (None, None, None, Vec::new()),
        };
        let token_url = given(&self.token_url).or(token).ok_or_else(|| {
            ConnectionError::new(
                ErrorCategory::Validation,
                format!("the OAuth2 client \"{}\" has no token URL", self.name),
            )
        })?;
        Ok(Endpoints {
            token_url,
            device_authorization_url: given(&self.device_authorization_url).or(device),
            authorization_url: given(&self.authorization_url).or(auth),
            scopes: if self.scopes.is_empty() {
                scopes
            } else {
                self.scopes.clone()
            },
        })
    }
}

/// A user's sign-in as the vault keeps it: the mailbox user name and the refresh token (none
/// for the client credentials grant, which keeps only the user name).
#[derive(Clone)]
pub struct SignIn {
    /// The user name to log in to the mail server with.
    pub username: String,
    /// The refresh token, if any.
    pub refresh_token: Option<SecretString>,
}

impl fmt::Debug for SignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignIn")
            .field("username", &self.username)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// Where sign-ins (user name and refresh token) are kept. Separate from
/// [`CredentialProvider`](crate::credentials::CredentialProvider): a host that gives none cannot use OAuth2 accounts with the refresh
/// token grant (told at configuration time by [`OAuth2Credentials::bind`]).
pub trait TokenStore: Send + Sync {
    /// The sign-in kept for `credential`, `None` when there is none.
    fn load(&self, credential: &CredentialId) -> Result<Option<SignIn>, CredentialError>;
    /// Keeps `sign_in` for `credential` (a first sign-in, or a refresh token the server
    /// rotated). Must be durable when it returns `Ok`: the old refresh token no longer works.
    fn save(&self, credential: &CredentialId, sign_in: &SignIn) -> Result<(), CredentialError>;
}

impl<T: TokenStore + ?Sized> TokenStore for std::sync::Arc<T> {
    fn load(&self, credential: &CredentialId) -> Result<Option<SignIn>, CredentialError> {
        (**self).load(credential)
    }
    fn save(&self, credential: &CredentialId, sign_in: &SignIn) -> Result<(), CredentialError> {
        (**self).save(credential, sign_in)
    }
}

/// Sign-ins held in memory (tests, and hosts that persist them through their own vault).
#[derive(Default)]
pub struct InMemoryTokenStore {
    map: RwLock<HashMap<String, SignIn>>,
    saves: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for InMemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = self
            .map
            .read()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("InMemoryTokenStore")
            .field("ids", &ids)
            .finish()
    }
}

impl InMemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a sign-in.
    pub fn with(self, credential: &str, username: &str, refresh_token: Option<&str>) -> Self {
        if let Ok(mut m) = self.map.write() {
            m.insert(
                CredentialId::new(credential).as_str().to_owned(),
                SignIn {
                    username: username.to_owned(),
                    refresh_token: refresh_token.map(|t| SecretString::from(t.to_owned())),
                },
            );
        }
        self
    }
    /// How many times [`TokenStore::save`] was called.
    pub fn saves(&self) -> u64 {
        self.saves.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl TokenStore for InMemoryTokenStore {
    fn load(&self, credential: &CredentialId) -> Result<Option<SignIn>, CredentialError> {
        Ok(self
            .map
            .read()
            .map_err(|_| CredentialError::Provider {
                id: credential.to_string(),
                reason: "token store poisoned".into(),
            })?
            .get(credential.as_str())
            .cloned())
    }
    fn save(&self, credential: &CredentialId, sign_in: &SignIn) -> Result<(), CredentialError> {
        self.map
            .write()
            .map_err(|_| CredentialError::Provider {
                id: credential.to_string(),
                reason: "token store poisoned".into(),
            })?
            .insert(credential.as_str().to_owned(), sign_in.clone());
        self.saves.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

/// OAuth2 state shared by the processes that use one store ([`crate::store::Store`] is one):
/// a lock that serialises refreshes of one credential across processes, and the credentials
/// that need a new sign-in (so a restart does not try a refused refresh token again).
pub trait SharedTokenState: Send + Sync {
    /// Takes the lock named `key` for `holder` until `ttl` from now, unless another holder has
    /// an unexpired one; `false` then.
    fn try_acquire(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool, ConnectionError>;
    /// Gives it back (only if `holder` has it).
    fn release(&self, key: &str, holder: &str) -> Result<(), ConnectionError>;
    /// The needs sign-in state of `credential`: the reason and the SHA-256 (hex) of the refresh
    /// token that was refused.
    fn needs_sign_in(&self, credential: &str) -> Result<Option<(String, String)>, ConnectionError>;
    /// Sets (`Some((reason, fingerprint))`) or clears the needs sign-in state.
    fn set_needs_sign_in(
        &self,
        credential: &str,
        state: Option<(&str, &str)>,
    ) -> Result<(), ConnectionError>;
}
