//! OAuth2 accounts with no host code (SPEC.md "OAuth2 clients and OAuth2 accounts"): every
//! stored account with `authentication = OAUTH2` signs in with its stored OAuth2 client. The
//! facade's login credentials ([`StoreBoundCredentials`]) look the account's client (and
//! network connector) up in the store when a credential is asked for, so an account or client
//! changed while a collector runs is used as it is now; the [`TokenManager`] is one per
//! facade, with the store as its [`crate::oauth2::SharedTokenState`] (refreshes serialised
//! across processes, needs sign-in kept across restarts), and the host's
//! [`TokenStore`] (the credentials file in the command) keeps user names and refresh tokens.
//!
//! A host that gives no token store while a stored `OAUTH2` account uses a `REFRESH_TOKEN`
//! client is told by [`super::MailSettings::with_token_store`] (an error naming the accounts),
//! and such an account's logins fail with the same words, never silently.

use crate::credentials::{Credential, CredentialError, CredentialProvider};
use crate::error::{ConnectionError, ErrorCategory};
use crate::model::{OAuth2Grant, RecordId};
use crate::oauth2::{OAuth2Client, SignInState, TokenManager, TokenStore};
use crate::store::Store;
use crate::typed::{CredentialId, NetworkConnector, Route};
use secrecy::ExposeSecret;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// The facade's login credentials: the host's provider, with fresh access tokens for the
/// credentials of stored `OAUTH2` accounts.
pub struct StoreBoundCredentials {
    store: Arc<Store>,
    inner: Arc<dyn CredentialProvider>,
    manager: Arc<TokenManager>,
}

impl fmt::Debug for StoreBoundCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreBoundCredentials")
            .field("manager", &self.manager)
            .finish_non_exhaustive()
    }
}

fn oauth2_error(id: &CredentialId, category: ErrorCategory, message: String) -> CredentialError {
    CredentialError::OAuth2 {
        id: id.to_string(),
        category,
        message,
    }
}

impl StoreBoundCredentials {
    pub(crate) fn new(
        store: Arc<Store>,
        inner: Arc<dyn CredentialProvider>,
        manager: Arc<TokenManager>,
    ) -> Self {
        Self {
            store,
            inner,
            manager,
        }
    }

    /// The token manager.
    pub fn manager(&self) -> &Arc<TokenManager> {
        &self.manager
    }

    /// The client and route of the `OAUTH2` account with credential `id`, as the store has
    /// them now; `None` for every other credential.
    fn binding(&self, id: &CredentialId) -> Result<Option<(OAuth2Client, Route)>, CredentialError> {
        let found = self
            .store
            .oauth2_binding(id.as_str())
            .map_err(|e| oauth2_error(id, ErrorCategory::Storage, e.to_string()))?;
        let Some(b) = found else { return Ok(None) };
        let name = b.client.name.trim().to_owned();
        if !b.client.enabled {
            return Err(oauth2_error(
                id,
                ErrorCategory::Validation,
                format!(
                    "the OAuth2 client \"{name}\" is disabled: accounts that sign in with it are \
                     not used until it is enabled"
                ),
            ));
        }
        let client = OAuth2Client::from_form(&b.client).map_err(|v| {
            oauth2_error(
                id,
                ErrorCategory::Validation,
                format!("the OAuth2 client \"{name}\" has errors: {v}"),
            )
        })?;
        if client.grant == OAuth2Grant::RefreshToken && !self.manager.has_token_store() {
            return Err(oauth2_error(
                id,
                ErrorCategory::Credential,
                format!(
                    "credential \"{id}\" signs in with the OAuth2 client \"{name}\" (refresh \
                     tokens), but no token store was given: give one \
                     (MailSettings::with_token_store, the command's --credentials file)"
                ),
            ));
        }
        let route = match b.connector {
            Some(form) => Route::Proxy(
                NetworkConnector::from_form(&form)
                    .map_err(|v| oauth2_error(id, ErrorCategory::Validation, v.to_string()))?,
            ),
            None => Route::Direct,
        };
        Ok(Some((client, route)))
    }
}

impl CredentialProvider for StoreBoundCredentials {
    fn credential(&self, id: &CredentialId) -> Result<Credential, CredentialError> {
        let Some((client, route)) = self.binding(id)? else {
            return self.inner.credential(id);
        };
        match self.manager.access_token(&client, id, &route) {
            Ok(t) => Ok(Credential::oauth2(
                t.username,
                t.token.expose_secret().to_owned(),
            )),
            Err(e) => Err(oauth2_error(id, e.category(), e.message().to_owned())),
        }
    }

    fn contains(&self, id: &str) -> bool {
        self.store.oauth2_binding(id).ok().flatten().is_some() || self.inner.contains(id)
    }

    fn mints_tokens(&self, id: &CredentialId) -> bool {
        self.store
            .oauth2_binding(id.as_str())
            .ok()
            .flatten()
            .is_some()
            || self.inner.mints_tokens(id)
    }

    fn refused(&self, id: &CredentialId, credential: &Credential) -> bool {
        match self.binding(id) {
            Ok(Some((client, _))) => self
                .manager
                .refused(&client, id, credential.secret.expose()),
            _ => self.inner.refused(id, credential),
        }
    }
}

/// One `OAUTH2` account's sign-in, as `mail-settings oauth2 status` shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OAuth2AccountStatus {
    /// `incoming` or `smtp`.
    pub kind: &'static str,
    /// The account's id.
    pub account_id: RecordId,
    /// The account's name.
    pub account: String,
    /// The credential id (the vault entry with the user name and refresh token).
    pub credential: String,
    /// The OAuth2 client's name.
    pub client: String,
    /// `signed_in`, `not_signed_in`, `needs_sign_in`, `client_refused` or `client_disabled`.
    pub state: &'static str,
    /// The user name kept with the sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// When the access token this process holds expires (RFC 3339), if it holds one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_valid_until: Option<String>,
    /// Why a sign-in is needed (the server's words, made safe for a terminal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Builds every `OAUTH2` account's status.
pub(crate) fn status(
    store: &Store,
    manager: &TokenManager,
    tokens: Option<&Arc<dyn TokenStore>>,
) -> crate::Result<Vec<OAuth2AccountStatus>> {
    use crate::oauth2::SharedTokenState as _;
    let held = manager.status();
    let mut out = Vec::new();
    for (kind, account_id, account, credential, client_id) in store.oauth2_accounts()? {
        let client = store.get_oauth2_client(client_id)?.record;
        let id = CredentialId::new(&credential);
        let sign_in = match tokens {
            Some(t) => t.load(&id)?,
            None => None,
        };
        let app_only = client.grant == OAuth2Grant::ClientCredentials;
        let mut s = OAuth2AccountStatus {
            kind,
            account_id,
            account: account.trim().to_owned(),
            credential: credential.clone(),
            client: client.name.trim().to_owned(),
            state: "signed_in",
            username: sign_in.as_ref().map(|s| s.username.clone()),
            token_valid_until: None,
            reason: None,
        };
        let here = held
            .iter()
            .find(|h| h.credential.as_str() == credential.as_str());
        let kept = store.needs_sign_in(&credential)?;
        if !client.enabled {
            s.state = "client_disabled";
        } else if let Some(SignInState::ClientRefused { reason }) = here.map(|h| &h.state) {
            s.state = "client_refused";
            s.reason = Some(reason.clone());
        } else if let Some(reason) = manager.needs_sign_in(&id).or(kept.map(|k| k.0)) {
            s.state = "needs_sign_in";
            s.reason = Some(reason);
        } else if !app_only && sign_in.as_ref().is_none_or(|s| s.refresh_token.is_none()) {
            s.state = "not_signed_in";
            s.reason = Some(match tokens {
                Some(_) => format!(
                    "no refresh token is kept for \"{credential}\": run mail-settings oauth2 sign-in"
                ),
                None => "no token store was given".to_owned(),
            });
        }
        if let Some(SignInState::SignedIn { valid_until }) = here.map(|h| &h.state) {
            s.token_valid_until = Some(rfc3339(*valid_until));
        }
        out.push(s);
    }
    Ok(out)
}

fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    jiff::Timestamp::from_second(secs)
        .map(|ts| ts.to_string())
        .unwrap_or_default()
}

/// What a sign-in shows the person.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInPrompt {
    /// Device flow: go to `verification_uri` and type `user_code`.
    Device {
        /// Where to go.
        verification_uri: String,
        /// The same with the code filled in, when the server gives one.
        verification_uri_complete: Option<String>,
        /// The code to type (not a secret: the device code stays inside).
        user_code: String,
    },
    /// Browser flow: open `authorize_url`; the redirect comes back to 127.0.0.1.
    Browser {
        /// The URL to open.
        authorize_url: String,
    },
}

pub(crate) fn config_error(message: String) -> crate::Error {
    crate::Error::Connection(ConnectionError::new(ErrorCategory::Validation, message))
}
