//! Where a store lives: a file path (SQLite) or a `postgres://` / `postgresql://` URL
//! (PostgreSQL), as given to `--db`, `MAIL_SETTINGS_DB` and the bindings.
//!
//! A PostgreSQL URL names the server, the user and the database; the password comes from the
//! environment (`PGPASSWORD`) or a password file (`passfile=` in the URL, else `PGPASSFILE`,
//! else `~/.pgpass`; libpq's `host:port:database:user:password` lines with `*` wildcards). A
//! password written in the URL itself is accepted but discouraged (it ends up in shell
//! histories and process lists). Whatever its source, the password is never shown: the
//! location's `Display` and `Debug` print the URL without it ([`PostgresLocation::redacted`]).
//!
//! URL query parameters understood: `sslmode` (`require`, the default, or `disable`; `prefer`
//! is taken as `require`: the connection never falls back to clear text unless a person
//! writes `disable`), `sslrootcert` (a PEM file of extra trusted CAs; certificates and host
//! names are always verified), `passfile`, `connect_timeout` (seconds, default 10) and
//! `application_name`. Anything else is refused, so a misspelt option is not silently ignored.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a store lives.
#[derive(Clone, Debug)]
pub enum StoreLocation {
    /// An SQLite file.
    File(PathBuf),
    /// A PostgreSQL database.
    Postgres(PostgresLocation),
}

/// Whether TLS is used to reach PostgreSQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PgTls {
    /// TLS, with the server's certificate and host name verified (the default).
    Require,
    /// Clear text: only when the URL says `sslmode=disable`.
    Disable,
}

/// A PostgreSQL store's location, parsed from its URL; the password, if any, stays hidden.
#[derive(Clone)]
pub struct PostgresLocation {
    /// Host name or IP address.
    pub host: String,
    /// TCP port (5432 unless given).
    pub port: u16,
    /// The role to log in as.
    pub user: String,
    /// The database.
    pub dbname: String,
    /// TLS or not.
    pub tls: PgTls,
    /// Extra trusted CA certificates (PEM), from `sslrootcert=`.
    pub root_cert: Option<PathBuf>,
    /// The password file named by `passfile=`, if any.
    pub passfile: Option<PathBuf>,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// `application_name` shown in the server's activity view.
    pub application_name: String,
    password_in_url: Option<SecretString>,
}

impl fmt::Debug for PostgresLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PostgresLocation")
            .field(&self.redacted())
            .finish()
    }
}

impl fmt::Display for PostgresLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::File(p) => write!(f, "{}", p.display()),
            StoreLocation::Postgres(pg) => write!(f, "{pg}"),
        }
    }
}

/// A store location that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("store location {shown}: {reason}")]
pub struct LocationError {
    /// The location, without any password.
    pub shown: String,
    /// What is wrong.
    pub reason: String,
}

impl StoreLocation {
    /// A path is an SQLite file; `postgres://…` or `postgresql://…` is PostgreSQL.
    pub fn parse(text: &str) -> Result<Self, LocationError> {
        let lower = text.trim_start().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            PostgresLocation::parse(text.trim()).map(StoreLocation::Postgres)
        } else {
            Ok(StoreLocation::File(PathBuf::from(text)))
        }
    }
}

impl PostgresLocation {
    /// Parses a `postgres://` / `postgresql://` URL (see the module docs).
    pub fn parse(text: &str) -> Result<Self, LocationError> {
        let fail = |reason: String| LocationError {
            shown: redact_text(text),
            reason,
        };
        let url = url::Url::parse(text).map_err(|e| fail(format!("not a valid URL: {e}")))?;
        if url.scheme() != "postgres" && url.scheme() != "postgresql" {
            return Err(fail("the scheme must be postgres or postgresql".into()));
        }
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| fail("bad percent-encoding in the URL".into()))
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) => decode(d)?,
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            None => return Err(fail("the URL names no host".into())),
        };
        let user = decode(url.username())?;
        if user.is_empty() {
            return Err(fail(
                "the URL names no user (postgres://USER@HOST/DATABASE)".into(),
            ));
        }
        let dbname = decode(url.path().trim_start_matches('/'))?;
        if dbname.is_empty() || dbname.contains('/') {
            return Err(fail(
                "the URL names no database (postgres://USER@HOST/DATABASE)".into(),
            ));
        }
        let password_in_url = match url.password() {
            Some(p) => Some(SecretString::from(decode(p)?)),
            None => None,
        };
        let mut loc = PostgresLocation {
            host,
            port: url.port().unwrap_or(5432),
            user,
            dbname,
            tls: PgTls::Require,
            root_cert: None,
            passfile: None,
            connect_timeout: Duration::from_secs(10),
            application_name: "mail-settings".into(),
            password_in_url,
        };
        for (k, v) in url.query_pairs() {
            match &*k {
                "sslmode" => {
                    loc.tls = match &*v {
                        "disable" => PgTls::Disable,
                        "prefer" | "require" | "verify-ca" | "verify-full" => PgTls::Require,
                        other => return Err(fail(format!("sslmode {other:?} is not one of disable, prefer, require, verify-ca, verify-full"))),
                    }
                }
                "sslrootcert" => loc.root_cert = Some(PathBuf::from(&*v)),
                "passfile" => loc.passfile = Some(PathBuf::from(&*v)),
                "connect_timeout" => {
                    let secs: u64 = v
                        .parse()
                        .ok()
                        .filter(|s| *s > 0)
                        .ok_or_else(|| fail(format!("connect_timeout {v:?} is not a number of seconds")))?;
                    loc.connect_timeout = Duration::from_secs(secs);
                }
                "application_name" => loc.application_name = v.into_owned(),
                other => {
                    return Err(fail(format!(
                        "unknown parameter {other:?} (known: sslmode, sslrootcert, passfile, connect_timeout, application_name)"
                    )))
                }
            }
        }
        Ok(loc)
    }

    /// The URL without the password: `postgres://user@host:port/dbname?sslmode=…`.
    pub fn redacted(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let tls = match self.tls {
            PgTls::Require => "require",
            PgTls::Disable => "disable",
        };
        format!(
            "postgres://{}@{host}:{}/{}?sslmode={tls}",
            self.user, self.port, self.dbname
        )
    }

    /// The password: from the URL, else `PGPASSWORD`, else the password file (`passfile=`,
    /// `PGPASSFILE`, `~/.pgpass`). `None` when there is none (the server may not ask).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn password(&self) -> Option<SecretString> {
        if let Some(p) = &self.password_in_url {
            return Some(p.clone());
        }
        if let Some(p) = std::env::var_os("PGPASSWORD").filter(|p| !p.is_empty()) {
            return Some(SecretString::from(p.to_string_lossy().into_owned()));
        }
        let file = self
            .passfile
            .clone()
            .or_else(|| std::env::var_os("PGPASSFILE").map(PathBuf::from))
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass")))?;
        // Bounded read: a password file is a few lines.
        let text = read_bounded(&file, 64 * 1024)?;
        passfile_lookup(&text, &self.host, self.port, &self.dbname, &self.user)
    }

    /// Whether a password was written in the URL (callers may warn).
    pub fn has_password_in_url(&self) -> bool {
        self.password_in_url
            .as_ref()
            .is_some_and(|p| !p.expose_secret().is_empty())
    }
}

#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
fn read_bounded(path: &Path, limit: u64) -> Option<String> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    f.take(limit).read_to_string(&mut text).ok()?;
    Some(text)
}

/// The password for host/port/database/user in a libpq password file's text: the first line
/// whose four fields match (`*` matches anything; `\:` and `\\` are escapes).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn passfile_lookup(
    text: &str,
    host: &str,
    port: u16,
    dbname: &str,
    user: &str,
) -> Option<SecretString> {
    let port = port.to_string();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::with_capacity(5);
        let mut cur = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        fields.push(cur);
        if fields.len() != 5 {
            continue;
        }
        let matches = |pat: &str, v: &str| pat == "*" || pat == v;
        let host_ok = matches(&fields[0], host)
            || (fields[0] == "localhost" && (host == "127.0.0.1" || host == "::1"));
        if host_ok
            && matches(&fields[1], &port)
            && matches(&fields[2], dbname)
            && matches(&fields[3], user)
        {
            return Some(SecretString::from(fields.swap_remove(4)));
        }
    }
    None
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The text of a URL with anything between `://user:` and `@` hidden, for errors about a URL
/// that could not be parsed.
fn redact_text(text: &str) -> String {
    if let Some(scheme_end) = text.find("://") {
        let rest = &text[scheme_end + 3..];
        if let Some(at) = rest.rfind('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!(
                    "{}{}:***{}",
                    &text[..scheme_end + 3],
                    &userinfo[..colon],
                    &rest[at..]
                );
            }
        }
    }
    text.to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn paths_are_sqlite_and_urls_are_postgres() {
        assert!(matches!(
            StoreLocation::parse("/var/lib/ms/store.sqlite3").unwrap(),
            StoreLocation::File(_)
        ));
        assert!(matches!(
            StoreLocation::parse("relative/postgres.db").unwrap(),
            StoreLocation::File(_)
        ));
        let StoreLocation::Postgres(pg) = StoreLocation::parse(
            "postgresql://ms%40ops@db.example.test:6543/mail?sslmode=disable&connect_timeout=3",
        )
        .unwrap() else {
            panic!("not postgres")
        };
        assert_eq!(pg.user, "ms@ops");
        assert_eq!(pg.host, "db.example.test");
        assert_eq!(pg.port, 6543);
        assert_eq!(pg.dbname, "mail");
        assert_eq!(pg.tls, PgTls::Disable);
        assert_eq!(pg.connect_timeout, Duration::from_secs(3));
        let pg = PostgresLocation::parse("postgres://u@h/d?sslmode=prefer").unwrap();
        assert_eq!(
            pg.tls,
            PgTls::Require,
            "prefer never falls back to clear text"
        );
        assert_eq!(pg.port, 5432);
    }

    #[test]
    fn the_password_never_shows() {
        let text = "postgres://ms:hunter2-Secret@db:5432/mail";
        let loc = StoreLocation::parse(text).unwrap();
        for shown in [format!("{loc}"), format!("{loc:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("postgres://ms@db:5432/mail"), "{shown}");
        }
        let StoreLocation::Postgres(pg) = loc else {
            panic!()
        };
        assert!(pg.has_password_in_url());
        assert_eq!(pg.password().unwrap().expose_secret(), "hunter2-Secret");
        // An unparsable URL's error hides it too.
        let err = PostgresLocation::parse("postgres://ms:hunter2-Secret@db/mail?bogus=1")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn bad_urls_are_refused() {
        for bad in [
            "postgres://db/mail",
            "postgres://u@db/",
            "postgres://u@db/a/b",
            "postgres://u@db/mail?sslmode=sometimes",
            "postgres://u@db/mail?connect_timeout=0",
        ] {
            assert!(PostgresLocation::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_file_lines() {
        let text = "# comment\nother:5432:*:u:nope\nlocalhost:15432:*:mspg:pa\\:ss\n*:*:*:*:any\n";
        let p = passfile_lookup(text, "127.0.0.1", 15432, "x", "mspg").unwrap();
        assert_eq!(p.expose_secret(), "pa:ss");
        let p = passfile_lookup(text, "db", 1, "x", "y").unwrap();
        assert_eq!(p.expose_secret(), "any");
        assert!(passfile_lookup("h:1:d:u:p\n", "h", 2, "d", "u").is_none());
    }
}
