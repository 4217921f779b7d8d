//! [`OAuth2Credentials`]: the host's credential provider, with fresh access tokens for the
//! credentials bound to an OAuth2 client.

use super::{OAuth2Client, OAuth2Grant, TokenManager};
use crate::credentials::{Credential, CredentialError, CredentialProvider};
use crate::error::{ConnectionError, ErrorCategory};
use crate::typed::{CredentialId, Route};
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

/// Wraps the host's [`CredentialProvider`]: a credential bound to an OAuth2 client (with
/// [`bind`](Self::bind)) is answered with the user name and a fresh access token from the
/// [`TokenManager`]; every other one is the host's. Hand it to the drivers, the collector and
/// the check in place of the host's provider.
pub struct OAuth2Credentials {
    inner: Arc<dyn CredentialProvider>,
    manager: Arc<TokenManager>,
    bindings: RwLock<HashMap<String, (OAuth2Client, Route)>>,
}

impl fmt::Debug for OAuth2Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = self
            .bindings
            .read()
            .map(|b| b.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("OAuth2Credentials")
            .field("bound", &ids)
            .field("manager", &self.manager)
            .finish_non_exhaustive()
    }
}

impl OAuth2Credentials {
    /// The host's provider `inner` (also asked for client secrets and connector credentials)
    /// and the token manager.
    pub fn new(inner: Arc<dyn CredentialProvider>, manager: Arc<TokenManager>) -> Self {
        Self {
            inner,
            manager,
            bindings: RwLock::default(),
        }
    }

    /// Binds `credential` to `client`; token requests go through `route` (the account's network
    /// connector, or direct). A configuration error when the client uses the refresh token
    /// grant and the manager has no token store (a rotated refresh token could not be kept),
    /// or when the client's endpoints are incomplete.
    pub fn bind(
        &self,
        credential: &CredentialId,
        client: OAuth2Client,
        route: Route,
    ) -> Result<(), ConnectionError> {
        client.endpoints()?;
        if client.grant == OAuth2Grant::RefreshToken && !self.manager.has_token_store() {
            return Err(ConnectionError::new(
                ErrorCategory::Validation,
                format!(
                    "credential \"{credential}\" uses the OAuth2 client \"{}\" with refresh \
                     tokens, but no token store was given: refresh tokens the server rotates \
                     would be lost and the account would stop; give a token store",
                    client.name
                ),
            ));
        }
        self.bindings
            .write()
            .map_err(|_| ConnectionError::new(ErrorCategory::Credential, "bindings poisoned"))?
            .insert(credential.as_str().to_owned(), (client, route));
        Ok(())
    }

    /// The token manager.
    pub fn manager(&self) -> &Arc<TokenManager> {
        &self.manager
    }

    fn binding(&self, id: &CredentialId) -> Option<(OAuth2Client, Route)> {
        self.bindings.read().ok()?.get(id.as_str()).cloned()
    }
}

impl CredentialProvider for OAuth2Credentials {
    fn credential(&self, id: &CredentialId) -> Result<Credential, CredentialError> {
        let Some((client, route)) = self.binding(id) else {
            return self.inner.credential(id);
        };
        match self.manager.access_token(&client, id, &route) {
            Ok(t) => Ok(Credential::oauth2(
                t.username,
                t.token.expose_secret().to_owned(),
            )),
            Err(e) => Err(CredentialError::OAuth2 {
                id: id.to_string(),
                category: e.category(),
                message: e.message().to_owned(),
            }),
        }
    }

    fn contains(&self, id: &str) -> bool {
        self.binding(&CredentialId::new(id)).is_some() || self.inner.contains(id)
    }

    fn mints_tokens(&self, id: &CredentialId) -> bool {
        self.binding(id).is_some() || self.inner.mints_tokens(id)
    }

    fn refused(&self, id: &CredentialId, credential: &Credential) -> bool {
        match self.binding(id) {
            Some((client, _)) => self
                .manager
                .refused(&client, id, credential.secret.expose()),
            None => self.inner.refused(id, credential),
        }
    }
}
