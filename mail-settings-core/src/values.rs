//! The leaf value types of the settings layer: a host, an endpoint, a credential id, an e-mail
//! address, how certificates are checked, and the parsers that make them. They depend on
//! nothing in the crate but [`crate::model`]'s limits, so that [`crate::model`],
//! [`crate::credentials`], [`crate::validate`] and [`crate::typed`] can all use them without
//! using each other in a circle (`ARCHITECTURE.md` draws the layers).
//!
//! Everything here is re-exported where it was first defined ([`crate::typed`] for the types,
//! [`crate::validate`] for the parsers), so those paths keep working.

use crate::model::HOST_MAX_CHARS;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

/// A validated host.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Host {
    /// A host name, lower-cased, IDNA-encoded.
    Domain(String),
    /// An IPv4 literal.
    Ipv4(Ipv4Addr),
    /// An IPv6 literal.
    Ipv6(Ipv6Addr),
}

impl Host {
    /// The name to verify a certificate against and to send as SNI.
    pub fn tls_name(&self) -> String {
        match self {
            Host::Domain(d) => d.clone(),
            Host::Ipv4(a) => a.to_string(),
            Host::Ipv6(a) => a.to_string(),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

/// Host and port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The host.
    pub host: Host,
    /// The port, 1–65535.
    pub port: u16,
}

impl Endpoint {
    /// Builds an endpoint from a host text; `None` when the host is not valid or the port is 0.
    pub fn parse(host: &str, port: u16) -> Option<Self> {
        if port == 0 {
            return None;
        }
        parse_host(host).map(|host| Self { host, port })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// A credential id: the key of a secret in the host application's vault.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredentialId(String);

impl CredentialId {
    /// Wraps an id (trimmed).
    pub fn new(id: impl AsRef<str>) -> Self {
        Self(id.as_ref().trim().to_owned())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for CredentialId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

impl From<String> for CredentialId {
    fn from(id: String) -> Self {
        Self::new(id)
    }
}

impl fmt::Display for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How certificates are checked.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TlsOptions {
    /// Verify the certificate chain and the host name (default). `false` only when a person
    /// turned on `skip_certificate` / `skip_certificate_errors`.
    pub verify: bool,
    /// Extra CA certificates (PEM) trusted for this account only.
    pub ca_file: Option<PathBuf>,
}

impl TlsOptions {
    /// Verification on, system roots only.
    pub fn verified() -> Self {
        Self {
            verify: true,
            ca_file: None,
        }
    }
}

/// A validated e-mail address (RFC 5322 addr-spec).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an addr-spec.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        is_addr_spec(s).then(|| Self(s.to_owned()))
    }
    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A host as docs/SETTINGS.md allows it: a host name, an IPv4 literal or an IPv6 literal (bare or in
/// brackets). `None` for anything else: a scheme, a port, a path, spaces, empty labels.
pub fn parse_host(input: &str) -> Option<Host> {
    if input != input.trim() || input.is_empty() {
        return None;
    }
    let inner = input.strip_prefix('[').and_then(|s| s.strip_suffix(']'));
    if let Some(inner) = inner {
        return inner.parse::<Ipv6Addr>().ok().map(Host::Ipv6);
    }
    if let Ok(v6) = input.parse::<Ipv6Addr>() {
        return Some(Host::Ipv6(v6));
    }
    if let Ok(v4) = input.parse::<Ipv4Addr>() {
        return Some(Host::Ipv4(v4));
    }
    let name = input.strip_suffix('.').unwrap_or(input);
    if name.is_empty() || name.len() > HOST_MAX_CHARS {
        return None;
    }
    // All-numeric dotted names that are not IPv4 (e.g. 999.1.1.1) are not host names either.
    if name
        .split('.')
        .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let ascii = if name.is_ascii() {
        name.to_ascii_lowercase()
    } else {
        // Internationalised names go through IDNA (via url), then face the same label rules.
        match url::Host::parse(name) {
            Ok(url::Host::Domain(d)) => d,
            _ => return None,
        }
    };
    for label in ascii.split('.') {
        let ok_len = (1..=63).contains(&label.len());
        let ok_chars = label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok_len || !ok_chars || label.starts_with('-') || label.ends_with('-') {
            return None;
        }
    }
    Some(Host::Domain(ascii))
}

/// Whether `s` is an RFC 5322 addr-spec (`local@domain`), as lettre's address parser reads it.
pub fn is_addr_spec(s: &str) -> bool {
    s.parse::<lettre::Address>().is_ok() && !s.contains(char::is_whitespace)
}

/// Whether `s` holds a control character (C0, DEL or C1: CR, LF, TAB, NUL, ESC…), which
/// names, credential ids, addresses and one-line text fields refuse (`invalid_characters`).
pub fn has_control_chars(s: &str) -> bool {
    s.chars().any(char::is_control)
}
