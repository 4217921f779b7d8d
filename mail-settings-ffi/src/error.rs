//! The one error type the bindings throw, and the one place core errors are mapped to it.
//!
//! Hosts branch on the variant (Kotlin: `catch (e: MailSettingsException.Auth)`; Swift:
//! `catch MailSettingsError.Auth(let detail)`), never on message text. Each variant carries a
//! `detail` sentence for people (what failed, and what to change) built by the core, which
//! never puts a secret in an error; this module adds no text that could hold one either.
//!
//! Every core error type converts through [`From`] here and nowhere else: connection errors by
//! their [`ErrorCategory`], store errors by their kind, validation with its results.

use crate::model::{ErrorCategory, ProxyHop, ValidationResult};
use mail_settings_core as mscore;
use mail_settings_core::error::ErrorCategory as CoreCategory;

/// Everything that can go wrong, as typed variants a host can branch on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum MailSettingsError {
    /// The settings are invalid: every problem is in `results` (none is left out).
    #[error("{detail}")]
    Validation {
        /// Every result, errors and warnings, with path, code, severity and messages.
        results: Vec<ValidationResult>,
        /// A summary for people.
        detail: String,
    },
    /// A settings document could not be read (JSON or TOML), at `line` and `column` (1-based;
    /// 0 when unknown).
    #[error("{detail}")]
    Parse {
        /// 1-based line, 0 when unknown.
        line: u64,
        /// 1-based column, 0 when unknown.
        column: u64,
        /// What is wrong, with its position.
        detail: String,
    },
    /// Someone else changed the record since it was read: reload it and apply the change again.
    #[error("{detail}")]
    Conflict {
        /// Which record, and the versions.
        detail: String,
    },
    /// The record (or the account named by id or name) does not exist.
    #[error("{detail}")]
    NotFound {
        /// What was asked for.
        detail: String,
    },
    /// The id or name is an incoming and an SMTP account: say which kind (the core's
    /// `AccountError::Ambiguous`).
    #[error("{detail}")]
    Ambiguous {
        /// What was asked for.
        detail: String,
    },
    /// No account was named and no SMTP account is the default account (the core's
    /// `AccountError::NoDefault`).
    #[error("{detail}")]
    NoDefault {
        /// What to do.
        detail: String,
    },
    /// The default was asked for where there is none: only SMTP accounts have a default
    /// (`kind`: `incoming account`, `report schedule`; the core's `AccountError::NoDefaultFor`).
    #[error("{detail}")]
    NoDefaultFor {
        /// What was asked for.
        kind: String,
        /// What to do.
        detail: String,
    },
    /// A network connector cannot be deleted or disabled while accounts use it.
    #[error("{detail}")]
    InUse {
        /// The accounts that use it (e.g. `incoming account 3 "Helpdesk"`).
        used_by: Vec<String>,
        /// What to do first.
        detail: String,
    },
    /// The credential provider could not give the credential (unknown id, vault locked, the
    /// host's provider threw).
    #[error("{detail}")]
    Credential {
        /// Which credential id, and why.
        detail: String,
    },
    /// The server rejected the credentials.
    #[error("{detail}")]
    Auth {
        /// The code of the server's reply (SMTP: 535 for rejected credentials, 454 for a
        /// temporary failure); absent for IMAP and POP3, which have no reply codes.
        reply_code: Option<u16>,
        /// The reply's enhanced status code (RFC 3463, e.g. `5.7.8`), when it had one.
        enhanced_code: Option<String>,
        /// Which server, and what it said (never the credentials).
        detail: String,
    },
    /// OAuth2: the authorization server refused the refresh token (`invalid_grant`: revoked,
    /// expired, password changed). A person must sign in again (`TokenManager`'s device or
    /// browser sign-in); until then the credential is not tried again.
    #[error("{detail}")]
    NeedsSignIn {
        /// Which credential, and the server's reason.
        detail: String,
    },
    /// TLS failed: the handshake, or STARTTLS not offered (never a fallback to clear text).
    #[error("{detail}")]
    Tls {
        /// The code of the reply that refused STARTTLS (SMTP, e.g. 454); absent when the
        /// TLS handshake itself failed.
        reply_code: Option<u16>,
        /// The reply's enhanced status code (RFC 3463, e.g. `4.7.0`), when it had one.
        enhanced_code: Option<String>,
        /// Which server, and what failed.
        detail: String,
    },
    /// The server's certificate was rejected (untrusted, self-signed, expired, wrong host).
    #[error("{detail}")]
    Certificate {
        /// Which certificate, and why.
        detail: String,
    },
    /// An operation took longer than its bound.
    #[error("{detail}")]
    Timeout {
        /// What was being done, and the bound.
        detail: String,
    },
    /// The TCP connection failed (refused, unreachable), or the host name does not resolve
    /// (`dns` is then true).
    #[error("{detail}")]
    Connect {
        /// The host name did not resolve.
        dns: bool,
        /// Which server, and what failed.
        detail: String,
    },
    /// The network connector (proxy) failed; `hop` says which hop when known.
    #[error("{detail}")]
    Proxy {
        /// Which hop of the proxied connection failed.
        hop: Option<ProxyHop>,
        /// Which proxy and server, and what failed.
        detail: String,
    },
    /// The server said something unexpected, or refused a command.
    #[error("{detail}")]
    Protocol {
        /// The code of the SMTP reply that refused (e.g. 550, 451, 421); a 4xx code asks to
        /// try again later, a 5xx code will fail again. Absent when no reply caused the error
        /// (a malformed reply, IMAP, POP3).
        reply_code: Option<u16>,
        /// The reply's enhanced status code (RFC 3463, e.g. `5.1.1`), when it had one.
        enhanced_code: Option<String>,
        /// Which server, and its reply.
        detail: String,
    },
    /// A message was sent whole and no final reply came (the connection closed or failed, the
    /// wait timed out, or the reply could not be read): the server may have delivered it.
    /// Neither transient nor permanent; do not resend it blindly, it may arrive twice (the
    /// detail names its Message-ID). `category` says what cut the exchange (`Connect`,
    /// `Timeout`, `Protocol`). [`MailSettingsError::is_outcome_unknown`] is true for it alone.
    #[error("{detail}")]
    OutcomeUnknown {
        /// What cut the exchange.
        category: ErrorCategory,
        /// Which server and message, and what happened.
        detail: String,
    },
    /// The work was cancelled.
    #[error("{detail}")]
    Cancelled {
        /// What was cancelled.
        detail: String,
    },
    /// The local store failed (damaged file, another application's database, a newer schema,
    /// disk errors).
    #[error("{detail}")]
    Storage {
        /// Which file, and what failed.
        detail: String,
    },
    /// A failure this version of the bindings has no variant for, or a bug; `category` is the
    /// core's snake_case category name.
    #[error("{detail}")]
    Unexpected {
        /// The core's category (`ErrorCategory` name), for reports.
        category: String,
        /// What failed.
        detail: String,
    },
}

#[uniffi::export]
impl MailSettingsError {
    /// The error's category, for logs and reports (the variant says the same; a host branches
    /// on the variant).
    pub fn category(&self) -> ErrorCategory {
        match self {
            MailSettingsError::Validation { .. } | MailSettingsError::InUse { .. } => {
                ErrorCategory::Validation
            }
            MailSettingsError::Parse { .. } => ErrorCategory::Parse,
            MailSettingsError::Conflict { .. } => ErrorCategory::Conflict,
            MailSettingsError::NotFound { .. } | MailSettingsError::NoDefault { .. } => {
                ErrorCategory::NotFound
            }
            MailSettingsError::Ambiguous { .. } | MailSettingsError::NoDefaultFor { .. } => {
                ErrorCategory::Validation
            }
            MailSettingsError::Credential { .. } => ErrorCategory::Credential,
            MailSettingsError::Auth { .. } => ErrorCategory::Auth,
            MailSettingsError::NeedsSignIn { .. } => ErrorCategory::NeedsSignIn,
            MailSettingsError::Tls { .. } => ErrorCategory::Tls,
            MailSettingsError::Certificate { .. } => ErrorCategory::Certificate,
            MailSettingsError::Timeout { .. } => ErrorCategory::Timeout,
            MailSettingsError::Connect { dns: true, .. } => ErrorCategory::Dns,
            MailSettingsError::Connect { dns: false, .. } => ErrorCategory::Connect,
            MailSettingsError::Proxy { .. } => ErrorCategory::Proxy,
            MailSettingsError::Protocol { .. } => ErrorCategory::Protocol,
            MailSettingsError::Cancelled { .. } => ErrorCategory::Cancelled,
            MailSettingsError::OutcomeUnknown { category, .. } => *category,
            MailSettingsError::Storage { .. } => ErrorCategory::Storage,
            MailSettingsError::Unexpected { .. } => ErrorCategory::Unknown,
        }
    }

    /// The server refused for now (an SMTP 4xx reply: `reply_code` of `Auth`, `Tls` or
    /// `Protocol`): the same message may succeed if sent again later.
    pub fn is_transient(&self) -> bool {
        self.reply_code()
            .is_some_and(mscore::error::is_transient_reply)
    }

    /// The server refused for good (an SMTP 5xx reply): sending the same message again will
    /// fail again.
    pub fn is_permanent(&self) -> bool {
        self.reply_code()
            .is_some_and(mscore::error::is_permanent_reply)
    }

    /// The message may or may not have been delivered (the `OutcomeUnknown` variant): it was
    /// sent whole and no final reply came. Neither transient nor permanent: check before sending
    /// it again.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, MailSettingsError::OutcomeUnknown { .. })
    }
}

impl MailSettingsError {
    fn reply_code(&self) -> Option<u16> {
        match self {
            MailSettingsError::Auth { reply_code, .. }
            | MailSettingsError::Tls { reply_code, .. }
            | MailSettingsError::Protocol { reply_code, .. } => *reply_code,
            _ => None,
        }
    }

    /// An error for a failed internal step (a worker thread that could not start or stopped).
    pub(crate) fn internal(detail: impl Into<String>) -> Self {
        MailSettingsError::Unexpected {
            category: "internal".to_owned(),
            detail: detail.into(),
        }
    }

    /// The variant for a core category and a detail (the one table of categories); `details` is
    /// what a connection error adds (the proxy hop, the server's reply codes).
    fn from_category(category: CoreCategory, details: ReplyDetails, detail: String) -> Self {
        let ReplyDetails {
            hop,
            reply_code,
            enhanced_code,
        } = details;
        match category {
            CoreCategory::Dns => MailSettingsError::Connect { dns: true, detail },
            CoreCategory::Connect => MailSettingsError::Connect { dns: false, detail },
            CoreCategory::Proxy => MailSettingsError::Proxy { hop, detail },
            CoreCategory::Tls => MailSettingsError::Tls {
                detail,
                reply_code,
                enhanced_code,
            },
            CoreCategory::Certificate => MailSettingsError::Certificate { detail },
            CoreCategory::Auth => MailSettingsError::Auth {
                detail,
                reply_code,
                enhanced_code,
            },
            CoreCategory::Protocol => MailSettingsError::Protocol {
                detail,
                reply_code,
                enhanced_code,
            },
            CoreCategory::NeedsSignIn => MailSettingsError::NeedsSignIn { detail },
            CoreCategory::Timeout => MailSettingsError::Timeout { detail },
            CoreCategory::Credential => MailSettingsError::Credential { detail },
            CoreCategory::Cancelled => MailSettingsError::Cancelled { detail },
            CoreCategory::Validation => MailSettingsError::Validation {
                results: Vec::new(),
                detail,
            },
            CoreCategory::Conflict => MailSettingsError::Conflict { detail },
            CoreCategory::NotFound => MailSettingsError::NotFound { detail },
            CoreCategory::Storage => MailSettingsError::Storage { detail },
            CoreCategory::Parse => MailSettingsError::Parse {
                line: 0,
                column: 0,
                detail,
            },
            other => MailSettingsError::Unexpected {
                category: other.as_str().to_owned(),
                detail,
            },
        }
    }
}

/// What a connection error carries besides its category and text.
#[derive(Default)]
struct ReplyDetails {
    hop: Option<ProxyHop>,
    reply_code: Option<u16>,
    enhanced_code: Option<String>,
}

/// The error's text with its causes, as the core wrote them (the core never puts a secret in
/// an error or its sources).
fn detail_of(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

impl From<mscore::Validation> for MailSettingsError {
    fn from(v: mscore::Validation) -> Self {
        let detail = v.to_string();
        MailSettingsError::Validation {
            results: v.into_results().into_iter().map(Into::into).collect(),
            detail,
        }
    }
}

impl From<mscore::ParseError> for MailSettingsError {
    fn from(e: mscore::ParseError) -> Self {
        MailSettingsError::Parse {
            line: e.line as u64,
            column: e.column as u64,
            detail: e.to_string(),
        }
    }
}

impl From<mscore::CredentialError> for MailSettingsError {
    fn from(e: mscore::CredentialError) -> Self {
        match e.category() {
            // An OAuth2 failure keeps its own category (needs sign-in, a refused client).
            CoreCategory::Credential => MailSettingsError::Credential {
                detail: e.to_string(),
            },
            other => Self::from_category(other, ReplyDetails::default(), e.to_string()),
        }
    }
}

impl From<mscore::ConnectionError> for MailSettingsError {
    fn from(e: mscore::ConnectionError) -> Self {
        if e.is_outcome_unknown() {
            return MailSettingsError::OutcomeUnknown {
                category: e.category().into(),
                detail: detail_of(&e),
            };
        }
        let details = ReplyDetails {
            hop: e.hop().map(Into::into),
            reply_code: e.reply_code(),
            enhanced_code: e.enhanced_code().map(str::to_owned),
        };
        Self::from_category(e.category(), details, detail_of(&e))
    }
}

/// Each way an account does not resolve has its variant (Kotlin
/// `MailSettingsException.NotFound`, `.Ambiguous`, `.NoDefault`, `.NoDefaultFor`).
impl From<mscore::app::AccountError> for MailSettingsError {
    fn from(e: mscore::app::AccountError) -> Self {
        use mscore::app::AccountError as A;
        let detail = e.to_string();
        match e {
            A::NotFound { .. } => MailSettingsError::NotFound { detail },
            A::Ambiguous { .. } => MailSettingsError::Ambiguous { detail },
            A::NoDefault => MailSettingsError::NoDefault { detail },
            A::NoDefaultFor { kind } => MailSettingsError::NoDefaultFor {
                kind: kind.to_owned(),
                detail,
            },
            other => {
                let detail = other.to_string();
                Self::from_category(other.category(), ReplyDetails::default(), detail)
            }
        }
    }
}

impl From<mscore::store::StoreError> for MailSettingsError {
    fn from(e: mscore::store::StoreError) -> Self {
        use mscore::store::StoreError as S;
        match e {
            S::Invalid(v) => v.into(),
            S::InUse { ref used_by, .. } => MailSettingsError::InUse {
                used_by: used_by.clone(),
                detail: e.to_string(),
            },
            other => {
                let detail = detail_of(&other);
                Self::from_category(other.category(), ReplyDetails::default(), detail)
            }
        }
    }
}

impl From<mscore::Error> for MailSettingsError {
    fn from(e: mscore::Error) -> Self {
        match e {
            mscore::Error::Validation(v) => v.into(),
            mscore::Error::Parse(p) => p.into(),
            mscore::Error::Credential(c) => c.into(),
            mscore::Error::Store(s) => s.into(),
            mscore::Error::Connection(c) => c.into(),
            mscore::Error::Account(a) => a.into(),
            other => {
                let detail = detail_of(&other);
                Self::from_category(other.category(), ReplyDetails::default(), detail)
            }
        }
    }
}

impl From<mscore::collector::CollectError> for MailSettingsError {
    fn from(e: mscore::collector::CollectError) -> Self {
        use mscore::collector::CollectError as C;
        match e {
            C::Connection(c) => c.into(),
            C::Store(s) => s.into(),
            C::Account(a) => a.into(),
            // What the run did before failing is in the collector's status; the error is the
            // failure itself.
            C::Interrupted { error, .. } => (*error).into(),
            other => {
                let detail = detail_of(&other);
                Self::from_category(other.category(), ReplyDetails::default(), detail)
            }
        }
    }
}

impl From<mscore::app::CollectOnceError> for MailSettingsError {
    fn from(e: mscore::app::CollectOnceError) -> Self {
        match e {
            mscore::app::CollectOnceError::Account(a) => a.into(),
            mscore::app::CollectOnceError::Collect(c) => c.into(),
        }
    }
}

/// A foreign callback (credential provider, progress listener) threw something other than a
/// `MailSettingsError`. Its text is left out on purpose: a host's exception could carry a
/// secret, and errors must never show one.
impl From<uniffi::UnexpectedUniFFICallbackError> for MailSettingsError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        MailSettingsError::Credential {
            detail: "the host's credential provider threw an unexpected exception; throw \
                     MailSettingsError.Credential (Kotlin: MailSettingsException.Credential) \
                     to give a reason"
                .to_owned(),
        }
    }
}

/// `Result` with [`MailSettingsError`].
pub type Result<T, E = MailSettingsError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use mscore::error::ProxyHop as CoreHop;
    use mscore::ConnectionError;
    use std::time::Duration;

    #[test]
    fn connection_categories_map_to_their_variants() {
        let cases = [
            (CoreCategory::Dns, ErrorCategory::Dns),
            (CoreCategory::Connect, ErrorCategory::Connect),
            (CoreCategory::Tls, ErrorCategory::Tls),
            (CoreCategory::Certificate, ErrorCategory::Certificate),
            (CoreCategory::Auth, ErrorCategory::Auth),
            (CoreCategory::Protocol, ErrorCategory::Protocol),
            (CoreCategory::Timeout, ErrorCategory::Timeout),
            (CoreCategory::Credential, ErrorCategory::Credential),
            (CoreCategory::Cancelled, ErrorCategory::Cancelled),
            (CoreCategory::NotFound, ErrorCategory::NotFound),
            (CoreCategory::Storage, ErrorCategory::Storage),
            (CoreCategory::Conflict, ErrorCategory::Conflict),
            (CoreCategory::Validation, ErrorCategory::Validation),
            (CoreCategory::Parse, ErrorCategory::Parse),
        ];
        for (core_category, category) in cases {
            let e: MailSettingsError =
                ConnectionError::new(core_category, format!("{core_category} failed")).into();
            assert_eq!(e.category(), category, "{e:?}");
            assert_eq!(ErrorCategory::from(core_category), category);
            assert_eq!(e.to_string(), format!("{core_category} failed"));
        }
        assert!(matches!(
            MailSettingsError::from(ConnectionError::new(CoreCategory::Dns, "no such host")),
            MailSettingsError::Connect { dns: true, .. }
        ));
        let proxy: MailSettingsError =
            ConnectionError::proxy(CoreHop::ProxyAuth, "the proxy wants a password").into();
        assert_eq!(
            proxy,
            MailSettingsError::Proxy {
                hop: Some(ProxyHop::ProxyAuth),
                detail: "the proxy wants a password".into()
            }
        );
    }

    #[test]
    fn reply_codes_go_with_the_variants_that_come_from_replies() {
        let e: MailSettingsError = ConnectionError::new(CoreCategory::Auth, "535 5.7.8 no")
            .with_reply(535, Some("5.7.8"))
            .into();
        assert_eq!(
            e,
            MailSettingsError::Auth {
                reply_code: Some(535),
                enhanced_code: Some("5.7.8".into()),
                detail: "535 5.7.8 no".into()
            }
        );
        assert!(e.is_permanent() && !e.is_transient());
        let e: MailSettingsError = ConnectionError::new(CoreCategory::Protocol, "busy")
            .with_reply(450, Some("4.2.0"))
            .into();
        assert!(matches!(
            &e,
            MailSettingsError::Protocol { reply_code: Some(450), enhanced_code: Some(c), .. } if c == "4.2.0"
        ));
        assert!(e.is_transient() && !e.is_permanent());
        let e: MailSettingsError = ConnectionError::new(CoreCategory::Tls, "refused STARTTLS")
            .with_reply(454, None)
            .into();
        assert!(matches!(
            e,
            MailSettingsError::Tls {
                reply_code: Some(454),
                enhanced_code: None,
                ..
            }
        ));
        // No reply: neither.
        let e: MailSettingsError =
            ConnectionError::timeout("reading", Duration::from_secs(1)).into();
        assert!(!e.is_transient() && !e.is_permanent());
        let e: MailSettingsError = ConnectionError::new(CoreCategory::Protocol, "garbage").into();
        assert!(matches!(
            e,
            MailSettingsError::Protocol {
                reply_code: None,
                enhanced_code: None,
                ..
            }
        ));
    }

    #[test]
    fn an_unknown_outcome_has_its_own_variant() {
        let e: MailSettingsError = ConnectionError::new(CoreCategory::Connect, "closed after DATA")
            .with_outcome_unknown()
            .into();
        assert_eq!(
            e,
            MailSettingsError::OutcomeUnknown {
                category: ErrorCategory::Connect,
                detail: "closed after DATA".into()
            }
        );
        assert!(e.is_outcome_unknown() && !e.is_transient() && !e.is_permanent());
        assert_eq!(e.category(), ErrorCategory::Connect);
        let e: MailSettingsError = ConnectionError::new(CoreCategory::Connect, "refused").into();
        assert!(!e.is_outcome_unknown());
    }

    #[test]
    fn sources_are_kept_in_the_detail() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused by peer");
        let e: MailSettingsError = ConnectionError::new(CoreCategory::Connect, "IMAP x:993")
            .with_source(io)
            .into();
        match e {
            MailSettingsError::Connect { detail, .. } => {
                assert_eq!(detail, "IMAP x:993: refused by peer")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn store_errors_keep_their_structure() {
        use mscore::store::StoreError;
        let conflict: MailSettingsError = StoreError::Conflict {
            kind: "incoming account",
            id: 3,
            expected: 1,
            found: 2,
        }
        .into();
        assert!(matches!(conflict, MailSettingsError::Conflict { .. }));
        let in_use: MailSettingsError = StoreError::InUse {
            kind: "network connector",
            id: 1,
            used_by: vec!["incoming account 3 \"Helpdesk\"".into()],
        }
        .into();
        match in_use {
            MailSettingsError::InUse { used_by, detail } => {
                assert_eq!(used_by.len(), 1);
                assert!(detail.contains("Helpdesk"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn collector_errors_unwrap_to_their_cause() {
        use mscore::collector::CollectError;
        let busy: MailSettingsError = CollectError::Busy { account: 4 }.into();
        assert!(matches!(busy, MailSettingsError::Conflict { .. }));
        let interrupted: MailSettingsError = CollectError::Interrupted {
            report: Box::default(),
            error: Box::new(CollectError::Connection(ConnectionError::new(
                CoreCategory::Timeout,
                "timed out after 30000 ms while reading",
            ))),
        }
        .into();
        assert!(matches!(interrupted, MailSettingsError::Timeout { .. }));
    }

    #[test]
    fn each_account_error_has_its_variant() {
        use mscore::app::{AccountError, AccountKind, AccountRef};
        let e: MailSettingsError = mscore::Error::from(AccountError::NotFound {
            kind: Some(AccountKind::Smtp),
            wanted: AccountRef::Name("Nowhere".into()),
        })
        .into();
        assert!(
            matches!(&e, MailSettingsError::NotFound { detail } if detail.contains("Nowhere")),
            "{e:?}"
        );
        let e: MailSettingsError = mscore::Error::from(AccountError::Ambiguous {
            wanted: AccountRef::Id(3),
        })
        .into();
        assert!(matches!(e, MailSettingsError::Ambiguous { .. }), "{e:?}");
        assert_eq!(e.category(), ErrorCategory::Validation);
        let e: MailSettingsError = mscore::Error::from(AccountError::NoDefault).into();
        assert!(matches!(e, MailSettingsError::NoDefault { .. }), "{e:?}");
        assert_eq!(e.category(), ErrorCategory::NotFound);
        let e: MailSettingsError = mscore::Error::from(AccountError::NoDefaultFor {
            kind: "incoming account",
        })
        .into();
        assert_eq!(
            e,
            MailSettingsError::NoDefaultFor {
                kind: "incoming account".into(),
                detail: "incoming accounts have no default: name one by id or by name".into()
            }
        );
    }

    #[test]
    fn a_host_exception_text_never_reaches_the_error() {
        let e: MailSettingsError = uniffi::UnexpectedUniFFICallbackError {
            reason: "java.lang.IllegalStateException: password=hunter2".into(),
        }
        .into();
        assert!(matches!(e, MailSettingsError::Credential { .. }));
        assert!(!e.to_string().contains("hunter2"));
        assert!(!format!("{e:?}").contains("hunter2"));
    }
}
