//! Credentials: the host application's vault, asked for a user name and a secret when a
//! connection is made. Accounts hold only a credential id.
//!
//! Secrets live in [`secrecy`] types: they are zeroed on drop, and nothing here prints them.
//! [`Credential`]'s `Debug` shows the user name and the kind of secret, never the secret.

use crate::error::ErrorCategory;
use crate::typed::CredentialId;
use secrecy::{ExposeSecret, SecretString};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// A password or an OAuth2 access token.
#[derive(Clone)]
#[non_exhaustive]
pub enum Secret {
    /// A password (IMAP LOGIN, POP3 USER/PASS or AUTH PLAIN, SMTP AUTH PLAIN/LOGIN).
    Password(SecretString),
    /// An OAuth2 access token (SASL XOAUTH2).
    OAuth2Token(SecretString),
}

impl Secret {
    /// A password.
    pub fn password(s: impl Into<String>) -> Self {
        Secret::Password(SecretString::from(s.into()))
    }

    /// An OAuth2 access token.
    pub fn oauth2_token(s: impl Into<String>) -> Self {
        Secret::OAuth2Token(SecretString::from(s.into()))
    }

    /// The secret text, for the one place that sends it to a server.
    pub fn expose(&self) -> &str {
        match self {
            Secret::Password(s) | Secret::OAuth2Token(s) => s.expose_secret(),
        }
    }

    /// Whether this is an OAuth2 token.
    pub fn is_oauth2(&self) -> bool {
        matches!(self, Secret::OAuth2Token(_))
    }

    /// `password` or `oauth2_token`.
    pub fn kind(&self) -> &'static str {
        match self {
            Secret::Password(_) => "password",
            Secret::OAuth2Token(_) => "oauth2_token",
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret::{}([redacted])", self.kind())
    }
}

/// A user name and a secret.
#[derive(Clone)]
pub struct Credential {
    /// The user name to log in with.
    pub username: String,
    /// The password or token.
    pub secret: Secret,
}

impl Credential {
    /// A user name with a password.
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            secret: Secret::password(password),
        }
    }

    /// A user name with an OAuth2 access token.
    pub fn oauth2(username: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            secret: Secret::oauth2_token(token),
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("secret", &self.secret)
            .finish()
    }
}

/// Why a credential could not be had. Never carries a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The provider does not know the id.
    #[error("credential \"{0}\" is not known to the credential provider")]
    Unknown(String),
    /// The provider failed (vault locked, host callback raised...).
    #[error("the credential provider failed for \"{id}\": {reason}")]
    Provider {
        /// The id asked for.
        id: String,
        /// What the provider said (must not contain the secret).
        reason: String,
    },
    /// A credentials file could not be used.
    #[error("credentials file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (with line and column when it does not parse).
        reason: String,
    },
    /// An OAuth2 access token could not be had for the credential (see [`crate::oauth2`]):
    /// `category` is [`ErrorCategory::NeedsSignIn`] when the refresh token was refused.
    #[error("{message}")]
    OAuth2 {
        /// The id asked for.
        id: String,
        /// What kind of failure (needs sign-in, network, the client refused...).
        category: ErrorCategory,
        /// What happened (never a token or secret).
        message: String,
    },
}

impl CredentialError {
    /// The error category: [`ErrorCategory::Credential`], or the OAuth2 failure's own.
    pub fn category(&self) -> ErrorCategory {
        match self {
            CredentialError::OAuth2 { category, .. } => *category,
            _ => ErrorCategory::Credential,
        }
    }
}

/// The host application's vault.
pub trait CredentialProvider: Send + Sync {
    /// The credential for `id`.
    fn credential(&self, id: &CredentialId) -> Result<Credential, CredentialError>;

    /// Whether the provider knows `id` (used by validation). The default asks for it.
    fn contains(&self, id: &str) -> bool {
        self.credential(&CredentialId::new(id)).is_ok()
    }

    /// The server refused `credential` (given for `id`). A provider that mints tokens (see
    /// [`crate::oauth2::OAuth2Credentials`]) drops it and returns `true`: the driver then asks
    /// once more and retries the login once. The default returns `false` (no retry).
    fn refused(&self, id: &CredentialId, credential: &Credential) -> bool {
        let _ = (id, credential);
        false
    }
}

impl<T: CredentialProvider + ?Sized> CredentialProvider for std::sync::Arc<T> {
    fn credential(&self, id: &CredentialId) -> Result<Credential, CredentialError> {
        (**self).credential(id)
    }
    fn contains(&self, id: &str) -> bool {
        (**self).contains(id)
    }
    fn refused(&self, id: &CredentialId, credential: &Credential) -> bool {
        (**self).refused(id, credential)
    }
}

/// Credentials held in memory, for tests and for hosts that resolve them up front.
#[derive(Default)]
pub struct InMemoryCredentials {
    map: RwLock<HashMap<String, Credential>>,
}

impl fmt::Debug for InMemoryCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = match self.map.read() {
            Ok(m) => m.keys().cloned().collect(),
            Err(_) => Vec::new(),
        };
        f.debug_struct("InMemoryCredentials")
            .field("ids", &ids)
            .finish()
    }
}

impl InMemoryCredentials {
    /// An empty provider.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces `id`.
    pub fn insert(&self, id: impl Into<String>, credential: Credential) {
        let id: String = id.into();
        let mut map = match self.map.write() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.insert(id.trim().to_owned(), credential);
    }

    /// Builder form of [`insert`](Self::insert).
    pub fn with(self, id: impl Into<String>, credential: Credential) -> Self {
        self.insert(id, credential);
        self
    }

    /// Removes `id`.
    pub fn remove(&self, id: &str) {
        if let Ok(mut m) = self.map.write() {
            m.remove(id);
        }
    }
}

impl CredentialProvider for InMemoryCredentials {
    fn credential(&self, id: &CredentialId) -> Result<Credential, CredentialError> {
        let map = match self.map.read() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.get(id.as_str())
            .cloned()
            .ok_or_else(|| CredentialError::Unknown(id.to_string()))
    }
    fn contains(&self, id: &str) -> bool {
        self.map
            .read()
            .map(|m| m.contains_key(id.trim()))
            .unwrap_or(false)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    username: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    oauth2_token: Option<String>,
}

/// The largest credentials file read (1 MiB).
pub const MAX_CREDENTIALS_FILE_BYTES: u64 = 1 << 20;

/// Starts the serde error of a repeated id (the only parse error whose words are shown: an id
/// is not a secret).
const DUPLICATE_ID: &str = "duplicate credential id ";

/// The file's entries in order, refusing an id that appears twice (serde's maps keep the last
/// silently; ids are compared trimmed, as they are looked up).
struct Entries(Vec<(String, FileEntry)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of credential ids to {username, password | oauth2_token}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut seen = HashSet::new();
                let mut out = Vec::new();
                while let Some(id) = map.next_key::<String>()? {
                    if !seen.insert(id.trim().to_owned()) {
                        return Err(de::Error::custom(format!(
                            "{DUPLICATE_ID}\"{}\"",
                            crate::text::terminal_safe_line(&id)
                        )));
                    }
                    let entry = map.next_value::<FileEntry>()?;
                    out.push((id, entry));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(EntriesVisitor)
    }
}

/// Credentials read from a file: JSON or TOML, by extension (`.toml` is TOML, anything else
/// JSON), shaped `id → {username, password | oauth2_token}`:
///
/// ```json
/// {"helpdesk-mailbox": {"username": "helpdesk@example.com", "password": "..."},
///  "smtp-notify": {"username": "notify@example.com", "oauth2_token": "..."}}
/// ```
///
/// The file is refused when its permissions let anyone but the owner read or write it
/// (on Unix: any of mode `0o077`), the way ssh treats private keys; when it is not a regular
/// file (a FIFO or a device would block or never end) or larger than
/// [`MAX_CREDENTIALS_FILE_BYTES`]; when an id appears twice (naming the id: JSON parsers keep
/// the last one silently); and when an id holds a control character. A UTF-8 byte-order mark
/// at the start is skipped.
pub struct CredentialsFile {
    path: PathBuf,
    inner: InMemoryCredentials,
}

impl fmt::Debug for CredentialsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsFile")
            .field("path", &self.path)
            .field("credentials", &self.inner)
            .finish()
    }
}

impl CredentialsFile {
    /// Reads and checks the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, CredentialError> {
        let path = path.as_ref().to_path_buf();
        let err = |reason: String| CredentialError::File {
            path: path.clone(),
            reason,
        };
        let meta = std::fs::metadata(&path).map_err(|e| err(e.to_string()))?;
        if let Some(what) = crate::document::not_regular(&meta) {
            return Err(err(format!("{what}: only a regular file is read")));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(err(format!(
                    "permissions {mode:04o} let others read or change it; run `chmod 600` on it"
                )));
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        let text = crate::document::read_regular_file(&path, MAX_CREDENTIALS_FILE_BYTES)
            .map_err(|e| err(e.to_string()))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let is_toml = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        // Parse errors must not echo the file's text: it holds secrets. Keep position only.
        // A repeated id is named: ids are not secrets.
        let duplicate = |message: &str| -> Option<String> {
            let at = message.find(DUPLICATE_ID)?;
            let rest = &message[at..];
            let end = rest.rfind('"').map_or(rest.len(), |i| i + 1);
            Some(rest[..end].to_owned())
        };
        let Entries(entries) = if is_toml {
            toml::from_str(text).map_err(|e| {
                let (line, col) = e
                    .span()
                    .map(|s| crate::document::line_col(text, s.start))
                    .unwrap_or((0, 0));
                match duplicate(e.message()) {
                    Some(d) => err(format!("{d} at line {line}, column {col}")),
                    // TOML refuses a repeated table or key itself; its words name only the key.
                    None => match e.message().find("duplicate key") {
                        Some(i) => err(format!(
                            "{} at line {line}, column {col}",
                            crate::text::terminal_safe_line(
                                e.message()[i..].lines().next().unwrap_or_default()
                            )
                        )),
                        None => err(format!("not valid TOML at line {line}, column {col}")),
                    },
                }
            })?
        } else {
            serde_json::from_str(text).map_err(|e| match duplicate(&e.to_string()) {
                Some(d) => err(format!("{d} at line {}, column {}", e.line(), e.column())),
                None => err(format!(
                    "not valid JSON at line {}, column {}",
                    e.line(),
                    e.column()
                )),
            })?
        };
        let inner = InMemoryCredentials::new();
        for (id, entry) in entries {
            if crate::validate::has_control_chars(&id) {
                return Err(err(format!(
                    "credential id \"{}\" holds control characters",
                    crate::text::terminal_safe_line(&id)
                )));
            }
            let secret = match (entry.password, entry.oauth2_token) {
                (Some(p), None) => Secret::password(p),
                (None, Some(t)) => Secret::oauth2_token(t),
                _ => {
                    return Err(err(format!(
                        "entry \"{id}\" must have exactly one of password or oauth2_token"
                    )))
                }
            };
            inner.insert(
                id,
                Credential {
                    username: entry.username,
                    secret,
                },
            );
        }
        Ok(Self { path, inner })
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl CredentialProvider for CredentialsFile {
    fn credential(&self, id: &CredentialId) -> Result<Credential, CredentialError> {
        self.inner.credential(id)
    }
    fn contains(&self, id: &str) -> bool {
        self.inner.contains(id)
    }
}
