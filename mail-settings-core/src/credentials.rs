//! Credentials: the host application's vault, asked for a user name and a secret when a
//! connection is made. Accounts hold only a credential id.
//!
//! Secrets live in [`secrecy`] types: they are zeroed on drop, and nothing here prints them.
//! [`Credential`]'s `Debug` shows the user name and the kind of secret, never the secret.

use crate::error::ErrorCategory;
use crate::values::CredentialId;
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

    /// Whether asking for `id` obtains an OAuth2 access token from an authorization server
    /// (the check then shows a `token` stage). The default: `false`.
    fn mints_tokens(&self, id: &CredentialId) -> bool {
        let _ = id;
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
    fn mints_tokens(&self, id: &CredentialId) -> bool {
        (**self).mints_tokens(id)
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
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    oauth2_token: Option<String>,
    /// An OAuth2 sign-in's refresh token (kept by [`crate::oauth2::TokenStore::save`]).
    #[serde(default)]
    refresh_token: Option<String>,
    /// An OAuth2 client's secret.
    #[serde(default)]
    client_secret: Option<String>,
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
/// JSON), shaped `id → {username, password | oauth2_token | client_secret | refresh_token}`:
///
/// ```json
/// {"helpdesk-mailbox": {"username": "helpdesk@example.com", "password": "..."},
///  "smtp-notify": {"username": "notify@example.com", "oauth2_token": "..."},
///  "m365-mailbox": {"username": "support@contoso.com", "refresh_token": "..."},
///  "m365-app-secret": {"client_secret": "..."}}
/// ```
///
/// An entry with `username` and `refresh_token` (or a user name alone, for app-only access) is
/// an OAuth2 sign-in: the file is then also a [`crate::oauth2::TokenStore`], and a refresh
/// token the server rotates is written back into it (atomic replace, mode 0600).
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
    sign_ins: RwLock<HashMap<String, crate::oauth2::SignIn>>,
    writing: std::sync::Mutex<()>,
}

impl fmt::Debug for CredentialsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign_ins: Vec<String> = self
            .sign_ins
            .read()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("CredentialsFile")
            .field("path", &self.path)
            .field("credentials", &self.inner)
            .field("oauth2_sign_ins", &sign_ins)
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
        if let Some(what) = crate::files::not_regular(&meta) {
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
        let text = crate::files::read_regular_file(&path, MAX_CREDENTIALS_FILE_BYTES)
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
                    .map(|s| crate::files::line_col(text, s.start))
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
        let mut sign_ins = HashMap::new();
        for (id, entry) in entries {
            if crate::values::has_control_chars(&id) {
                return Err(err(format!(
                    "credential id \"{}\" holds control characters",
                    crate::text::terminal_safe_line(&id)
                )));
            }
            let username = entry.username.unwrap_or_default();
            let secret = match (entry.password, entry.oauth2_token, entry.client_secret) {
                (Some(p), None, None) => Some(Secret::password(p)),
                (None, Some(t), None) => Some(Secret::oauth2_token(t)),
                (None, None, Some(c)) => Some(Secret::password(c)),
                (None, None, None) => None,
                _ => {
                    return Err(err(format!(
                        "entry \"{id}\" must have at most one of password, oauth2_token or \
                         client_secret"
                    )))
                }
            };
            match secret {
                Some(secret) => {
                    if entry.refresh_token.is_some() {
                        return Err(err(format!(
                            "entry \"{id}\" holds a refresh_token beside a secret: an OAuth2 \
                             sign-in holds a username and a refresh_token only"
                        )));
                    }
                    inner.insert(id, Credential { username, secret });
                }
                None => {
                    if username.is_empty() && entry.refresh_token.is_none() {
                        return Err(err(format!(
                            "entry \"{id}\" holds nothing: give a username with a password, \
                             an oauth2_token or a refresh_token"
                        )));
                    }
                    sign_ins.insert(
                        id.trim().to_owned(),
                        crate::oauth2::SignIn {
                            username,
                            refresh_token: entry.refresh_token.map(SecretString::from),
                        },
                    );
                }
            }
        }
        Ok(Self {
            path,
            inner,
            sign_ins: RwLock::new(sign_ins),
            writing: std::sync::Mutex::new(()),
        })
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl CredentialProvider for CredentialsFile {
    fn credential(&self, id: &CredentialId) -> Result<Credential, CredentialError> {
        match self.inner.credential(id) {
            Err(CredentialError::Unknown(_)) if self.holds_sign_in(id.as_str()) => {
                Err(CredentialError::Provider {
                    id: id.to_string(),
                    reason: "it holds an OAuth2 sign-in (username, refresh_token), not a \
                             password: the account's authentication must be OAUTH2"
                        .into(),
                })
            }
            r => r,
        }
    }
    fn contains(&self, id: &str) -> bool {
        self.inner.contains(id) || self.holds_sign_in(id)
    }
}

impl CredentialsFile {
    fn holds_sign_in(&self, id: &str) -> bool {
        self.sign_ins
            .read()
            .map(|m| m.contains_key(id.trim()))
            .unwrap_or(false)
    }

    /// Writes `id`'s `username` and `refresh_token` into the file: read afresh, changed, and
    /// replaced atomically (a temporary file of mode 0600 in the same folder, synced, renamed
    /// over it, the folder synced), so a crash leaves the old file or the new one, never half.
    fn write_sign_in(
        &self,
        id: &str,
        sign_in: &crate::oauth2::SignIn,
    ) -> Result<(), CredentialError> {
        use std::io::Write as _;
        let err = |reason: String| CredentialError::File {
            path: self.path.clone(),
            reason,
        };
        let _guard = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let text = crate::document::read_regular_file(&self.path, MAX_CREDENTIALS_FILE_BYTES)
            .map_err(|e| err(e.to_string()))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let is_toml = self
            .path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        let refresh = sign_in
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned());
        let out = if is_toml {
            let mut doc: toml::Table = toml::from_str(text)
                .map_err(|_| err("not valid TOML any more; it was not changed".into()))?;
            let entry = doc
                .entry(id.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let t = entry
                .as_table_mut()
                .ok_or_else(|| err(format!("entry \"{id}\" is not a table")))?;
            t.insert(
                "username".into(),
                toml::Value::String(sign_in.username.clone()),
            );
            match refresh {
                Some(r) => t.insert("refresh_token".into(), toml::Value::String(r)),
                None => t.remove("refresh_token"),
            };
            toml::to_string(&doc).map_err(|e| err(e.to_string()))?
        } else {
            let mut doc: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
                .map_err(|_| err("not valid JSON any more; it was not changed".into()))?;
            let entry = doc
                .entry(id.to_owned())
                .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
            let t = entry
                .as_object_mut()
                .ok_or_else(|| err(format!("entry \"{id}\" is not an object")))?;
            t.insert("username".into(), sign_in.username.clone().into());
            match refresh {
                Some(r) => t.insert("refresh_token".into(), r.into()),
                None => t.remove("refresh_token"),
            };
            let mut s = serde_json::to_string_pretty(&doc).map_err(|e| err(e.to_string()))?;
            s.push('\n');
            s
        };
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = (|| -> std::io::Result<()> {
            let mut f = options.open(&tmp)?;
            f.write_all(out.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            #[cfg(unix)]
            std::fs::File::open(dir)?.sync_all()?;
            Ok(())
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(err(format!("could not replace it: {e}")));
        }
        Ok(())
    }
}

impl crate::oauth2::TokenStore for CredentialsFile {
    fn load(
        &self,
        credential: &CredentialId,
    ) -> Result<Option<crate::oauth2::SignIn>, CredentialError> {
        Ok(self
            .sign_ins
            .read()
            .map_err(|_| CredentialError::Unknown(credential.to_string()))?
            .get(credential.as_str())
            .cloned())
    }

    fn save(
        &self,
        credential: &CredentialId,
        sign_in: &crate::oauth2::SignIn,
    ) -> Result<(), CredentialError> {
        if self.inner.contains(credential.as_str()) {
            return Err(CredentialError::Provider {
                id: credential.to_string(),
                reason: "it holds a password or token: an OAuth2 sign-in needs an entry of its own"
                    .into(),
            });
        }
        self.write_sign_in(credential.as_str(), sign_in)?;
        if let Ok(mut m) = self.sign_ins.write() {
            m.insert(credential.as_str().to_owned(), sign_in.clone());
        }
        Ok(())
    }
}
