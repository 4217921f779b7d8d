//! The credential provider as a foreign trait: the host answers from its vault (the Android
//! Keystore, the iOS Keychain), so secrets stay in the host until the moment a connection
//! needs one.
//!
//! A [`Credential`] is an object, not a record, on purpose: a record becomes a Kotlin data class
//! or a Swift struct whose generated `toString`/description would print every field, the
//! secret included. The object shows only the user name and the kind of secret, and has no
//! getter for the secret: it goes from the host into the core and only to the server.

use crate::error::MailSettingsError;
use mail_settings_core as mscore;
use mail_settings_core::typed::CredentialId;
use std::fmt;
use std::sync::Arc;

/// A user name and a secret (a password or an OAuth2 access token), made by the host's
/// credential provider. Its text form never shows the secret.
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct Credential {
    inner: mscore::Credential,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The core's Debug shows the user name and the kind of secret, never the secret.
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credential(username={:?}, secret={} [redacted])",
            self.inner.username,
            self.inner.secret.kind()
        )
    }
}

impl Credential {
    /// Wraps a core credential (an access token from the OAuth2 token manager).
    pub(crate) fn from_core(inner: mscore::Credential) -> Arc<Self> {
        Arc::new(Self { inner })
    }
}

#[uniffi::export]
impl Credential {
    /// A user name with a password (IMAP LOGIN, POP3 USER/PASS, SMTP AUTH PLAIN/LOGIN).
    #[uniffi::constructor]
    pub fn password(username: String, password: String) -> Arc<Self> {
        Arc::new(Self {
            inner: mscore::Credential::password(username, password),
        })
    }

    /// A user name with an OAuth2 access token (SASL XOAUTH2).
    #[uniffi::constructor]
    pub fn oauth2(username: String, token: String) -> Arc<Self> {
        Arc::new(Self {
            inner: mscore::Credential::oauth2(username, token),
        })
    }

    /// The user name to log in with.
    pub fn username(&self) -> String {
        self.inner.username.clone()
    }

    /// Whether the secret is an OAuth2 token (otherwise a password).
    pub fn is_oauth2(&self) -> bool {
        self.inner.secret.is_oauth2()
    }
}

/// The host's vault. The library asks it for a credential when it connects, and only whether
/// an id exists when it validates or stores settings.
///
/// Throw `MailSettingsError.NotFound` (Kotlin: `MailSettingsException.NotFound`) for an id the
/// vault does not know, or `MailSettingsError.Credential` when the vault cannot answer (locked,
/// the user refused); the text given must not contain the secret. `contains` may be called on
/// the thread that called the library (validation, store writes); `credential` is called on a
/// worker thread of a network call, never on the caller's.
#[uniffi::export(with_foreign)]
pub trait CredentialProvider: Send + Sync {
    /// The credential for `id`.
    fn credential(&self, id: String) -> Result<Arc<Credential>, MailSettingsError>;

    /// Whether the vault knows `id`, without reading the secret (used by validation and the
    /// store, which never need the secret).
    fn contains(&self, id: String) -> bool;
}

/// The host's provider seen as the core's [`mscore::CredentialProvider`].
pub(crate) struct HostCredentials(pub(crate) Arc<dyn CredentialProvider>);

impl fmt::Debug for HostCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HostCredentials")
    }
}

impl HostCredentials {
    /// The host's provider in the shape the core takes.
    pub(crate) fn wrap(
        provider: Arc<dyn CredentialProvider>,
    ) -> Arc<dyn mscore::CredentialProvider> {
        // A provider an OAuth2 `TokenManager` gave: the core's own, so a refused token is
        // refreshed and the login retried once.
        if let Some(core) = crate::oauth2::token_credentials(&provider) {
            return core;
        }
        Arc::new(HostCredentials(provider))
    }
}

impl mscore::CredentialProvider for HostCredentials {
    fn credential(&self, id: &CredentialId) -> Result<mscore::Credential, mscore::CredentialError> {
        match self.0.credential(id.as_str().to_owned()) {
            Ok(c) => Ok(c.inner.clone()),
            Err(MailSettingsError::NotFound { .. }) => {
                Err(mscore::CredentialError::Unknown(id.to_string()))
            }
            Err(e) => Err(mscore::CredentialError::Provider {
                id: id.to_string(),
                reason: e.to_string(),
            }),
        }
    }

    fn contains(&self, id: &str) -> bool {
        self.0.contains(id.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mscore::CredentialProvider as _;

    struct Vault;
    impl CredentialProvider for Vault {
        fn credential(&self, id: String) -> Result<Arc<Credential>, MailSettingsError> {
            match id.as_str() {
                "known" => Ok(Credential::password(
                    "user@example.test".into(),
                    "hunter2".into(),
                )),
                "locked" => Err(MailSettingsError::Credential {
                    detail: "the keychain is locked".into(),
                }),
                _ => Err(MailSettingsError::NotFound {
                    detail: format!("no {id}"),
                }),
            }
        }
        fn contains(&self, id: String) -> bool {
            id == "known"
        }
    }

    #[test]
    fn credential_text_never_shows_the_secret() {
        let c = Credential::password("alice".into(), "s3cret-pass".into());
        let t = Credential::oauth2("bob".into(), "ya29.token-value".into());
        for text in [
            format!("{c:?}"),
            format!("{c}"),
            format!("{t:?}"),
            format!("{t}"),
        ] {
            assert!(!text.contains("s3cret-pass"), "{text}");
            assert!(!text.contains("ya29.token-value"), "{text}");
        }
        assert!(c.to_string().contains("alice"));
        assert!(c.to_string().contains("password"));
        assert!(t.is_oauth2() && !c.is_oauth2());
        assert_eq!(t.username(), "bob");
    }

    #[test]
    fn host_provider_answers_the_core() {
        let p = HostCredentials(Arc::new(Vault));
        let c = p.credential(&CredentialId::new("known")).unwrap();
        assert_eq!(c.username, "user@example.test");
        assert_eq!(c.secret.expose(), "hunter2");
        assert!(matches!(
            p.credential(&CredentialId::new("other")),
            Err(mscore::CredentialError::Unknown(id)) if id == "other"
        ));
        match p.credential(&CredentialId::new("locked")) {
            Err(mscore::CredentialError::Provider { id, reason }) => {
                assert_eq!(id, "locked");
                assert!(reason.contains("locked"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert!(p.contains("known") && !p.contains("other"));
    }
}
