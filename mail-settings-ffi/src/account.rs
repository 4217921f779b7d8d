//! How the host names an account of the store: [`AccountRef`] (Kotlin `AccountRef.Id`,
//! `AccountRef.Name`, `AccountRef.Default`), resolved by the core's application layer
//! (`mail_settings_core::app`) exactly as the command line and Python resolve it.

use mail_settings_core::app;

/// An account of the store: its id, its name (compared case-insensitively, trimmed), or the
/// default SMTP account. [`parse_account_ref`] reads one from text as the command line does.
#[derive(uniffi::Enum, Clone, Debug, PartialEq, Eq)]
pub enum AccountRef {
    /// The record id the store gave.
    Id {
        /// The id.
        id: i64,
    },
    /// The account's name.
    Name {
        /// The name.
        name: String,
    },
    /// The default SMTP account.
    Default,
}

impl From<AccountRef> for app::AccountRef {
    fn from(a: AccountRef) -> Self {
        match a {
            AccountRef::Id { id } => app::AccountRef::Id(id),
            AccountRef::Name { name } => app::AccountRef::Name(name),
            AccountRef::Default => app::AccountRef::Default,
        }
    }
}

impl From<app::AccountRef> for AccountRef {
    fn from(a: app::AccountRef) -> Self {
        match a {
            app::AccountRef::Id(id) => AccountRef::Id { id },
            app::AccountRef::Name(name) => AccountRef::Name { name },
            app::AccountRef::Default => AccountRef::Default,
        }
    }
}

/// The core's reference for `account`; an empty one is the default SMTP account.
pub(crate) fn core_ref(account: Option<AccountRef>) -> app::AccountRef {
    account.map_or(app::AccountRef::Default, Into::into)
}

/// Reads an account reference from text: a number is an id, anything else a name.
#[uniffi::export]
pub fn parse_account_ref(text: String) -> AccountRef {
    app::AccountRef::parse(&text).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_a_number_is_an_id() {
        assert_eq!(parse_account_ref(" 12 ".into()), AccountRef::Id { id: 12 });
        assert_eq!(
            parse_account_ref("Helpdesk".into()),
            AccountRef::Name {
                name: "Helpdesk".into()
            }
        );
        assert_eq!(core_ref(None), app::AccountRef::Default);
    }
}
