//! Errors. Each area has a rich error of its own ([`ConnectionError`] for everything on the
//! wire, [`crate::store::StoreError`] for the store, [`crate::document::ParseError`],
//! [`crate::credentials::CredentialError`], [`Validation`]); [`Error`] gathers them for callers
//! that want one type, and [`ErrorCategory`] is the small public vocabulary the bindings map
//! to their own exception types, in one place each.
//!
//! No error carries a secret: messages are built from categories, hosts, ports and server
//! replies; a server reply that echoes a client line is never included for AUTH exchanges.

use crate::credentials::CredentialError;
use crate::document::ParseError;
use crate::validate::Validation;
use std::fmt;
use std::time::Duration;

/// The categories an operator (and a binding) branches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCategory {
    /// The host name does not resolve.
    Dns,
    /// The TCP connection failed (refused, unreachable).
    Connect,
    /// The network connector failed (unreachable, refused, proxy authentication).
    Proxy,
    /// TLS failed (handshake, STARTTLS not offered).
    Tls,
    /// The server's certificate was rejected.
    Certificate,
    /// The server rejected the credentials.
    Auth,
    /// The server said something unexpected, or refused a command.
    Protocol,
    /// An operation took longer than its bound.
    Timeout,
    /// The credential provider could not give the credential.
    Credential,
    /// The work was cancelled.
    Cancelled,
    /// Settings are invalid.
    Validation,
    /// Someone else changed the record since it was read.
    Conflict,
    /// The record does not exist.
    NotFound,
    /// The local store failed.
    Storage,
    /// A document or file could not be read.
    Parse,
    /// The OAuth2 authorization server refused the refresh token (`invalid_grant`: revoked,
    /// expired, password changed): a person must sign in again. Not retried until then.
    NeedsSignIn,
}

impl ErrorCategory {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::Dns => "dns",
            ErrorCategory::Connect => "connect",
            ErrorCategory::Proxy => "proxy",
            ErrorCategory::Tls => "tls",
            ErrorCategory::Certificate => "certificate",
            ErrorCategory::Auth => "auth",
            ErrorCategory::Protocol => "protocol",
            ErrorCategory::Timeout => "timeout",
            ErrorCategory::Credential => "credential",
            ErrorCategory::Cancelled => "cancelled",
            ErrorCategory::Validation => "validation",
            ErrorCategory::Conflict => "conflict",
            ErrorCategory::NotFound => "not_found",
            ErrorCategory::Storage => "storage",
            ErrorCategory::Parse => "parse",
            ErrorCategory::NeedsSignIn => "needs_sign_in",
        }
    }
}

impl fmt::Display for ErrorCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which hop of a proxied connection failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProxyHop {
    /// The proxy itself could not be reached.
    ProxyUnreachable,
    /// The proxy rejected our credentials (or wanted some we do not have).
    ProxyAuth,
    /// The proxy refused the request (rule set, forbidden port, bad request).
    ProxyRefused,
    /// The proxy could not reach the target server.
    TargetUnreachable,
}

/// A reply code of class 4xx (RFC 5321 §4.2.1): a temporary refusal, trying later may work.
/// The one definition used by SMTP replies, [`ConnectionError::is_transient`] and the bindings.
pub fn is_transient_reply(code: u16) -> bool {
    (400..500).contains(&code)
}

/// A reply code of class 5xx: a permanent refusal, the same request will fail again.
pub fn is_permanent_reply(code: u16) -> bool {
    (500..600).contains(&code)
}

/// Anything that went wrong on the wire: connecting, proxying, TLS, authenticating, talking.
///
/// When a server's SMTP reply caused the error, its code and enhanced status code are kept
/// ([`Self::reply_code`], [`Self::enhanced_code`]), so that an application can tell a refusal
/// worth retrying later ([`Self::is_transient`], 4xx) from one that will never succeed
/// ([`Self::is_permanent`], 5xx) without reading the message.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConnectionError {
    category: ErrorCategory,
    hop: Option<ProxyHop>,
    message: String,
    reply_code: Option<u16>,
    enhanced_code: Option<String>,
    outcome_unknown: bool,
    advice: Option<String>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl ConnectionError {
    /// A new error. `message` must say what failed and what to change, and hold no secret.
    pub fn new(category: ErrorCategory, message: impl Into<String>) -> Self {
        Self {
            category,
            hop: None,
            message: message.into(),
            reply_code: None,
            enhanced_code: None,
            outcome_unknown: false,
            advice: None,
            source: None,
        }
    }

    /// A proxy error naming the hop that failed.
    pub fn proxy(hop: ProxyHop, message: impl Into<String>) -> Self {
        let category = ErrorCategory::Proxy;
        Self {
            category,
            hop: Some(hop),
            message: message.into(),
            reply_code: None,
            enhanced_code: None,
            outcome_unknown: false,
            advice: None,
            source: None,
        }
    }

    /// A timeout after `after`, while `doing`.
    pub fn timeout(doing: &str, after: Duration) -> Self {
        Self::new(
            ErrorCategory::Timeout,
            format!("timed out after {} ms while {doing}", after.as_millis()),
        )
    }

    /// Attaches the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Attaches the server reply that caused the error: its three-digit code (e.g. 550) and,
    /// when the reply started with one, its enhanced status code (RFC 3463, e.g. `5.1.1`).
    /// Only codes are kept, never the reply's text (the message already holds what may be
    /// shown of it).
    pub fn with_reply(mut self, code: u16, enhanced_code: Option<&str>) -> Self {
        self.reply_code = Some(code);
        self.enhanced_code = enhanced_code.map(str::to_owned);
        self
    }

    /// Marks the error as leaving the outcome unknown: the message was handed over whole (the
    /// end of DATA was sent) and the connection failed before the server's final reply, so the
    /// server may have delivered it. See [`Self::is_outcome_unknown`].
    pub fn with_outcome_unknown(mut self) -> Self {
        self.outcome_unknown = true;
        self
    }

    /// Attaches what to change, when the cause is more precise than the category says (a
    /// connection check shows it instead of the category's generic advice). Never a secret.
    pub fn with_advice(mut self, advice: impl Into<String>) -> Self {
        self.advice = Some(advice.into());
        self
    }

    /// What to change, when the code that raised the error knew better than the category.
    pub fn advice(&self) -> Option<&str> {
        self.advice.as_deref()
    }

    /// Prefixes the message with where it happened (`"IMAP localhost:993"`).
    pub fn context(mut self, ctx: impl fmt::Display) -> Self {
        self.message = format!("{ctx}: {}", self.message);
        self
    }

    /// The category.
    pub fn category(&self) -> ErrorCategory {
        self.category
    }
    /// For proxy errors, which hop failed.
    pub fn hop(&self) -> Option<ProxyHop> {
        self.hop
    }
    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The code of the server reply that caused the error (SMTP: e.g. 550); `None` when no
    /// reply did (a timeout, a refused connection, TLS, a reply that could not be read).
    pub fn reply_code(&self) -> Option<u16> {
        self.reply_code
    }
    /// The enhanced status code (RFC 3463, e.g. `5.1.1`) of the reply that caused the error,
    /// when the reply started with one.
    pub fn enhanced_code(&self) -> Option<&str> {
        self.enhanced_code.as_deref()
    }
    /// The server refused for now (a 4xx reply, e.g. `450 4.2.0 Mailbox busy` or a 421
    /// closing the connection): the same message may succeed if tried again later.
    pub fn is_transient(&self) -> bool {
        self.reply_code.is_some_and(is_transient_reply)
    }
    /// The server refused for good (a 5xx reply, e.g. `550 5.1.1 User unknown` or rejected
    /// credentials): trying the same message again will fail again.
    pub fn is_permanent(&self) -> bool {
        self.reply_code.is_some_and(is_permanent_reply)
    }
    /// The message may or may not have been delivered: it was sent whole, and the connection
    /// closed (or the wait timed out) before the server's final reply to it. Neither transient
    /// nor permanent: sending it again may deliver it twice. A host should not resend it
    /// blindly; it can check the recipient's mailbox or the server's log (the error names the
    /// Message-ID when there is one), or accept a possible duplicate.
    pub fn is_outcome_unknown(&self) -> bool {
        self.outcome_unknown
    }
    /// The server rejected the credentials.
    pub fn is_auth(&self) -> bool {
        self.category == ErrorCategory::Auth
    }
    /// TLS failed, certificate problems included.
    pub fn is_tls(&self) -> bool {
        matches!(
            self.category,
            ErrorCategory::Tls | ErrorCategory::Certificate
        )
    }
    /// The certificate was rejected.
    pub fn is_certificate(&self) -> bool {
        self.category == ErrorCategory::Certificate
    }
    /// An operation ran out of time.
    pub fn is_timeout(&self) -> bool {
        self.category == ErrorCategory::Timeout
    }
    /// The TCP connection (or name resolution) failed.
    pub fn is_connect(&self) -> bool {
        matches!(self.category, ErrorCategory::Connect | ErrorCategory::Dns)
    }
    /// The network connector failed.
    pub fn is_proxy(&self) -> bool {
        self.category == ErrorCategory::Proxy
    }
    /// The server said something unexpected or refused a command.
    pub fn is_protocol(&self) -> bool {
        self.category == ErrorCategory::Protocol
    }
    /// Name resolution failed.
    pub fn is_dns(&self) -> bool {
        self.category == ErrorCategory::Dns
    }
    /// The work was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.category == ErrorCategory::Cancelled
    }
}

/// One error type for callers that want one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Settings are invalid; every result is inside.
    #[error("invalid settings:\n{0}")]
    Validation(Validation),
    /// A document could not be read.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The credential provider failed.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    #[cfg(feature = "store")]
    /// The store failed, or refused a change.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Something on the wire failed.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// An account named by id, by name or as the default could not be resolved.
    #[error(transparent)]
    Account(#[from] crate::app::AccountError),
}

impl From<Validation> for Error {
    fn from(v: Validation) -> Self {
        Error::Validation(v)
    }
}

impl Error {
    /// The category, for bindings and for operators.
    pub fn category(&self) -> ErrorCategory {
        match self {
            Error::Validation(_) => ErrorCategory::Validation,
            Error::Parse(_) => ErrorCategory::Parse,
            Error::Credential(e) => e.category(),
            #[cfg(feature = "store")]
            Error::Store(e) => e.category(),
            Error::Connection(e) => e.category(),
            Error::Account(e) => e.category(),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
