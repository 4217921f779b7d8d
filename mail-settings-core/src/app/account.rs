//! [`AccountRef`]: how every front end names an account of the store (an id, a name, or the
//! default SMTP account), and [`AccountError`]: the one not-found / ambiguous / no-default
//! error, naming what was asked.

use crate::model::RecordId;
#[cfg(feature = "store")]
use crate::store::{Store, StoreError};
#[cfg(feature = "store")]
use crate::validate::name_key;
use crate::ErrorCategory;
use std::fmt;
use std::str::FromStr;

/// An account of the store as a person or a program names it.
///
/// Parsed from text with [`AccountRef::parse`]: a string that is a number (after trimming) is
/// an id, anything else a name (compared case-insensitively, trimmed, as the store compares
/// names). [`AccountRef::Default`] is the default SMTP account; incoming accounts have none.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AccountRef {
    /// The record id the store gave.
    Id(RecordId),
    /// The account's name (case-insensitive, trimmed).
    Name(String),
    /// The default SMTP account.
    Default,
}

impl AccountRef {
    /// A number is an id, anything else a name.
    pub fn parse(text: &str) -> AccountRef {
        match text.trim().parse::<RecordId>() {
            Ok(id) => AccountRef::Id(id),
            Err(_) => AccountRef::Name(text.to_owned()),
        }
    }

    /// `Some(parse(text))`, or [`AccountRef::Default`] when there is no text.
    pub fn parse_or_default(text: Option<&str>) -> AccountRef {
        text.map_or(AccountRef::Default, AccountRef::parse)
    }
}

impl FromStr for AccountRef {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(AccountRef::parse(s))
    }
}

impl From<RecordId> for AccountRef {
    fn from(id: RecordId) -> Self {
        AccountRef::Id(id)
    }
}

impl From<&str> for AccountRef {
    fn from(text: &str) -> Self {
        AccountRef::parse(text)
    }
}

impl fmt::Display for AccountRef {
    /// `id 3`, `"Helpdesk"` (control characters escaped), `the default account`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountRef::Id(id) => write!(f, "id {id}"),
            AccountRef::Name(name) => write!(f, "{:?}", name),
            AccountRef::Default => f.write_str("the default account"),
        }
    }
}

/// Which kind of account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// IMAP or POP3.
    Incoming,
    /// SMTP.
    Smtp,
}

impl AccountKind {
    /// `incoming account` or `SMTP account`.
    pub fn label(self) -> &'static str {
        match self {
            AccountKind::Incoming => "incoming account",
            AccountKind::Smtp => "SMTP account",
        }
    }
}

impl fmt::Display for AccountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// An account could not be resolved: it does not exist, it is ambiguous, or there is no
/// default. Every variant names what was asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// No account of the kind (or of either kind, `kind: None`) is `wanted`.
    #[error("there is no {} with {wanted}", kind_label(*kind))]
    NotFound {
        /// The kind looked in; `None` for both.
        kind: Option<AccountKind>,
        /// What was asked.
        wanted: AccountRef,
    },
    /// `wanted` is an incoming and an SMTP account: the caller must say which kind.
    #[error("{wanted} is an incoming and an SMTP account: say which kind")]
    Ambiguous {
        /// What was asked.
        wanted: AccountRef,
    },
    /// The default SMTP account was asked for and no SMTP account is the default.
    #[error("no SMTP account was named and no SMTP account is the default account")]
    NoDefault,
    /// The default was asked for where there is none to take: only SMTP accounts have a
    /// default (`kind`: `incoming account`, `report schedule`).
    #[error("{kind}s have no default: name one by id or by name")]
    NoDefaultFor {
        /// What was asked for.
        kind: &'static str,
    },
}

fn kind_label(kind: Option<AccountKind>) -> &'static str {
    kind.map_or("account", AccountKind::label)
}

impl AccountError {
    /// [`ErrorCategory::NotFound`] for a missing account or default,
    /// [`ErrorCategory::Validation`] for an ambiguous one or a default asked of incoming accounts.
    pub fn category(&self) -> ErrorCategory {
        match self {
            AccountError::NotFound { .. } | AccountError::NoDefault => ErrorCategory::NotFound,
            AccountError::Ambiguous { .. } | AccountError::NoDefaultFor { .. } => {
                ErrorCategory::Validation
            }
        }
    }

    /// What was asked, when it was an id or a name.
    pub fn wanted(&self) -> Option<&AccountRef> {
        match self {
            AccountError::NotFound { wanted, .. } | AccountError::Ambiguous { wanted } => {
                Some(wanted)
            }
            _ => None,
        }
    }
}

/// The store's not-found errors for `wanted` become [`AccountError::NotFound`].
#[cfg(feature = "store")]
pub(crate) fn not_found(kind: AccountKind, wanted: &AccountRef, e: crate::Error) -> crate::Error {
    match e {
        crate::Error::Store(StoreError::NotFound { .. } | StoreError::NameNotFound { .. }) => {
            AccountError::NotFound {
                kind: Some(kind),
                wanted: wanted.clone(),
            }
            .into()
        }
        other => other,
    }
}

/// The id of the account `wanted` of `kind`, without validating its settings (an account
/// with errors still has an id: a listing or a status names it).
#[cfg(feature = "store")]
pub fn account_id(
    store: &Store,
    kind: AccountKind,
    wanted: &AccountRef,
) -> crate::Result<RecordId> {
    let missing = || AccountError::NotFound {
        kind: Some(kind),
        wanted: wanted.clone(),
    };
    let ids_and_names: Vec<(RecordId, String, bool)> = match kind {
        AccountKind::Incoming => store
            .list_incoming()?
            .into_iter()
            .map(|s| (s.id, s.record.name, false))
            .collect(),
        AccountKind::Smtp => store
            .list_smtp()?
            .into_iter()
            .map(|s| (s.id, s.record.name, s.record.default_account))
            .collect(),
    };
    let found = match wanted {
        AccountRef::Id(id) => ids_and_names.iter().find(|(i, _, _)| i == id),
        AccountRef::Name(name) => {
            let key = name_key(name);
            ids_and_names.iter().find(|(_, n, _)| name_key(n) == key)
        }
        AccountRef::Default => {
            return match kind {
                AccountKind::Incoming => Err(AccountError::NoDefaultFor {
                    kind: "incoming account",
                }
                .into()),
                AccountKind::Smtp => ids_and_names
                    .iter()
                    .find(|(_, _, d)| *d)
                    .map(|(id, _, _)| *id)
                    .ok_or_else(|| AccountError::NoDefault.into()),
            }
        }
    };
    found.map(|(id, _, _)| *id).ok_or_else(|| missing().into())
}

/// The incoming account `wanted`, validated for a driver.
#[cfg(feature = "store")]
pub fn incoming_account(
    store: &Store,
    wanted: &AccountRef,
) -> crate::Result<crate::IncomingAccount> {
    let found = match wanted {
        AccountRef::Id(id) => store.incoming_account(*id),
        AccountRef::Name(name) => store.incoming_account_by_name(name),
        AccountRef::Default => {
            return Err(AccountError::NoDefaultFor {
                kind: "incoming account",
            }
            .into())
        }
    };
    found.map_err(|e| not_found(AccountKind::Incoming, wanted, e))
}

/// The SMTP account `wanted` (the default one for [`AccountRef::Default`]), validated for a
/// driver. A disabled default is returned as it is; sending through it is refused.
#[cfg(feature = "store")]
pub fn smtp_account(store: &Store, wanted: &AccountRef) -> crate::Result<crate::SmtpAccount> {
    let found = match wanted {
        AccountRef::Id(id) => store.smtp_account(*id),
        AccountRef::Name(name) => store.smtp_account_by_name(name),
        AccountRef::Default => {
            return store
                .default_smtp_account()?
                .ok_or_else(|| AccountError::NoDefault.into())
        }
    };
    found.map_err(|e| not_found(AccountKind::Smtp, wanted, e))
}

/// An account of either kind, validated for a driver.
#[cfg(feature = "store")]
#[derive(Debug, Clone)]
pub enum Account {
    /// IMAP or POP3.
    Incoming(crate::IncomingAccount),
    /// SMTP.
    Smtp(crate::SmtpAccount),
}

#[cfg(feature = "store")]
impl Account {
    /// The account's name.
    pub fn name(&self) -> &str {
        match self {
            Account::Incoming(a) => a.name(),
            Account::Smtp(a) => a.name(),
        }
    }

    /// Its kind.
    pub fn kind(&self) -> AccountKind {
        match self {
            Account::Incoming(_) => AccountKind::Incoming,
            Account::Smtp(_) => AccountKind::Smtp,
        }
    }
}

/// The account `wanted` of `kind`, or of either kind when `kind` is `None`:
/// [`AccountError::Ambiguous`] when an id or name is both an incoming and an SMTP account;
/// [`AccountRef::Default`] is the default SMTP account.
#[cfg(feature = "store")]
pub fn account(
    store: &Store,
    wanted: &AccountRef,
    kind: Option<AccountKind>,
) -> crate::Result<Account> {
    match kind {
        Some(AccountKind::Incoming) => incoming_account(store, wanted).map(Account::Incoming),
        Some(AccountKind::Smtp) => smtp_account(store, wanted).map(Account::Smtp),
        None if *wanted == AccountRef::Default => smtp_account(store, wanted).map(Account::Smtp),
        None => {
            let exists = |k| match account_id(store, k, wanted) {
                Ok(_) => Ok(true),
                Err(crate::Error::Account(AccountError::NotFound { .. })) => Ok(false),
                Err(e) => Err(e),
            };
            match (exists(AccountKind::Incoming)?, exists(AccountKind::Smtp)?) {
                (true, true) => Err(AccountError::Ambiguous {
                    wanted: wanted.clone(),
                }
                .into()),
                (true, false) => incoming_account(store, wanted).map(Account::Incoming),
                (false, true) => smtp_account(store, wanted).map(Account::Smtp),
                (false, false) => Err(AccountError::NotFound {
                    kind: None,
                    wanted: wanted.clone(),
                }
                .into()),
            }
        }
    }
}

/// The report schedule `wanted` (a number is an id, anything else a name; schedules have no
/// default), as stored.
#[cfg(feature = "store")]
pub fn schedule(
    store: &Store,
    wanted: &AccountRef,
) -> crate::Result<crate::store::Stored<crate::schedule::ReportScheduleForm>> {
    let found = match wanted {
        AccountRef::Id(id) => store.get_schedule(*id),
        AccountRef::Name(name) => store.get_schedule_by_name(name),
        AccountRef::Default => {
            return Err(AccountError::NoDefaultFor {
                kind: "report schedule",
            }
            .into())
        }
    };
    Ok(found?)
}
