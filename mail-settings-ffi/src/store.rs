//! The settings store (one SQLite file, or memory), delegated to the core's store: every
//! change validated in one transaction, optimistic versions, no secrets.
//!
//! Store calls are local disk work and are exported as plain (blocking) functions. They are
//! quick, but a change may wait up to the store's busy timeout (10 s) for another process's
//! transaction: hosts call them off the UI thread (Kotlin `Dispatchers.IO`, a Swift
//! `Task.detached`), as they would any database.

use crate::credentials::{CredentialProvider, HostCredentials};
use crate::error::Result;
use crate::model::{IncomingAccount, NetworkConnector, SettingsDocument, SmtpAccount};
use mail_settings_core as mscore;
use mail_settings_core::store::Stored;
use std::fmt;
use std::sync::Arc;

/// An incoming account as stored: its id, its version (to base an update or a delete on) and
/// the account with `id` filled in.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct StoredIncomingAccount {
    /// The id the store gave.
    pub id: i64,
    /// Pass it back to update or delete; any change makes a new one.
    pub version: i64,
    /// The account.
    pub account: IncomingAccount,
}

/// An SMTP account as stored (see [`StoredIncomingAccount`]).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct StoredSmtpAccount {
    /// The id the store gave.
    pub id: i64,
    /// Pass it back to update or delete; any change makes a new one.
    pub version: i64,
    /// The account.
    pub account: SmtpAccount,
}

/// A network connector as stored (see [`StoredIncomingAccount`]).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct StoredNetworkConnector {
    /// The id the store gave.
    pub id: i64,
    /// Pass it back to update or delete; any change makes a new one.
    pub version: i64,
    /// The connector.
    pub connector: NetworkConnector,
}

/// What an import did, record by record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ImportSummary {
    /// Records that were not in the store.
    pub created: u64,
    /// Records the document changed.
    pub updated: u64,
    /// Records the document has unchanged (their version is kept).
    pub unchanged: u64,
    /// Records in the store that the document leaves out (deleted).
    pub deleted: u64,
}

fn stored_incoming(s: Stored<mscore::IncomingAccountForm>) -> Result<StoredIncomingAccount> {
    Ok(StoredIncomingAccount {
        id: s.id,
        version: s.version,
        account: s.record.try_into()?,
    })
}

fn stored_smtp(s: Stored<mscore::SmtpAccountForm>) -> Result<StoredSmtpAccount> {
    Ok(StoredSmtpAccount {
        id: s.id,
        version: s.version,
        account: s.record.try_into()?,
    })
}

fn stored_connector(s: Stored<mscore::NetworkConnectorForm>) -> Result<StoredNetworkConnector> {
    Ok(StoredNetworkConnector {
        id: s.id,
        version: s.version,
        connector: s.record.try_into()?,
    })
}

/// The settings store: network connectors, incoming accounts and SMTP accounts. Safe to share
/// between threads.
#[derive(uniffi::Object)]
pub struct Store {
    pub(crate) inner: Arc<mscore::store::Store>,
    pub(crate) credentials: Option<Arc<dyn CredentialProvider>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("inner", &self.inner)
            .field("credentials", &self.credentials.is_some())
            .finish()
    }
}

impl Store {
    fn new(
        store: mscore::store::Store,
        credentials: Option<Arc<dyn CredentialProvider>>,
    ) -> Arc<Self> {
        let store = match &credentials {
            Some(c) => store.with_credentials(HostCredentials::wrap(c.clone())),
            None => store,
        };
        Arc::new(Self {
            inner: Arc::new(store),
            credentials,
        })
    }
}

#[uniffi::export]
impl Store {
    /// Opens (or creates) the store in the file at `path`, upgrading an older schema. With
    /// `credentials`, every write checks that credential ids exist (`unknown_credential`); the
    /// store never asks for a secret. Throws `Storage` for a file that is not a mail-settings
    /// database (it is left untouched) or has a newer schema.
    #[uniffi::constructor]
    pub fn open(
        path: String,
        credentials: Option<Arc<dyn CredentialProvider>>,
    ) -> Result<Arc<Self>> {
        Ok(Self::new(mscore::store::Store::open(path)?, credentials))
    }

    /// A store in memory, gone when the object is (tests, previews).
    #[uniffi::constructor]
    pub fn open_in_memory(credentials: Option<Arc<dyn CredentialProvider>>) -> Result<Arc<Self>> {
        Ok(Self::new(
            mscore::store::Store::open_in_memory()?,
            credentials,
        ))
    }

    /// The file, or empty in memory.
    pub fn path(&self) -> Option<String> {
        self.inner.path().map(|p| p.to_string_lossy().into_owned())
    }

    // ----- network connectors -----

    /// Adds a connector (its `id` is ignored). Throws `Validation` with every result.
    pub fn create_network_connector(
        &self,
        connector: NetworkConnector,
    ) -> Result<StoredNetworkConnector> {
        stored_connector(self.inner.create_connector(&connector.into())?)
    }

    /// Connector `id`; throws `NotFound`.
    pub fn get_network_connector(&self, id: i64) -> Result<StoredNetworkConnector> {
        stored_connector(self.inner.get_connector(id)?)
    }

    /// Every connector, by id.
    pub fn list_network_connectors(&self) -> Result<Vec<StoredNetworkConnector>> {
        self.inner
            .list_connectors()?
            .into_iter()
            .map(stored_connector)
            .collect()
    }

    /// Replaces connector `id` if it is still at `expected_version` (else throws `Conflict`).
    /// Disabling a connector that accounts use throws `InUse`.
    pub fn update_network_connector(
        &self,
        id: i64,
        expected_version: i64,
        connector: NetworkConnector,
    ) -> Result<StoredNetworkConnector> {
        stored_connector(
            self.inner
                .update_connector(id, expected_version, &connector.into())?,
        )
    }

    /// Deletes connector `id` at `expected_version`; throws `InUse` while accounts use it.
    pub fn delete_network_connector(&self, id: i64, expected_version: i64) -> Result<()> {
        Ok(self.inner.delete_connector(id, expected_version)?)
    }

    // ----- incoming accounts -----

    /// Adds an incoming account (its `id` is ignored). Throws `Validation` with every result.
    pub fn create_incoming_account(
        &self,
        account: IncomingAccount,
    ) -> Result<StoredIncomingAccount> {
        stored_incoming(self.inner.create_incoming(&account.into())?)
    }

    /// Incoming account `id`; throws `NotFound`.
    pub fn get_incoming_account(&self, id: i64) -> Result<StoredIncomingAccount> {
        stored_incoming(self.inner.get_incoming(id)?)
    }

    /// Every incoming account, by id (for large stores use the report).
    pub fn list_incoming_accounts(&self) -> Result<Vec<StoredIncomingAccount>> {
        self.inner
            .list_incoming()?
            .into_iter()
            .map(stored_incoming)
            .collect()
    }

    /// Replaces incoming account `id` if it is still at `expected_version` (else `Conflict`).
    pub fn update_incoming_account(
        &self,
        id: i64,
        expected_version: i64,
        account: IncomingAccount,
    ) -> Result<StoredIncomingAccount> {
        stored_incoming(
            self.inner
                .update_incoming(id, expected_version, &account.into())?,
        )
    }

    /// Deletes incoming account `id` at `expected_version`.
    pub fn delete_incoming_account(&self, id: i64, expected_version: i64) -> Result<()> {
        Ok(self.inner.delete_incoming(id, expected_version)?)
    }

    // ----- SMTP accounts -----

    /// Adds an SMTP account (its `id` is ignored); making it the default clears the others.
    pub fn create_smtp_account(&self, account: SmtpAccount) -> Result<StoredSmtpAccount> {
        stored_smtp(self.inner.create_smtp(&account.into())?)
    }

    /// SMTP account `id`; throws `NotFound`.
    pub fn get_smtp_account(&self, id: i64) -> Result<StoredSmtpAccount> {
        stored_smtp(self.inner.get_smtp(id)?)
    }

    /// Every SMTP account, by id.
    pub fn list_smtp_accounts(&self) -> Result<Vec<StoredSmtpAccount>> {
        self.inner
            .list_smtp()?
            .into_iter()
            .map(stored_smtp)
            .collect()
    }

    /// Replaces SMTP account `id` if it is still at `expected_version` (else `Conflict`).
    pub fn update_smtp_account(
        &self,
        id: i64,
        expected_version: i64,
        account: SmtpAccount,
    ) -> Result<StoredSmtpAccount> {
        stored_smtp(
            self.inner
                .update_smtp(id, expected_version, &account.into())?,
        )
    }

    /// Deletes SMTP account `id` at `expected_version`.
    pub fn delete_smtp_account(&self, id: i64, expected_version: i64) -> Result<()> {
        Ok(self.inner.delete_smtp(id, expected_version)?)
    }

    // ----- documents -----

    /// Makes the store hold exactly the document's settings, in one transaction: records are
    /// matched by id, then by name; what the document leaves out is deleted. Throws
    /// `Validation` (with every result, nothing changed) for an invalid document.
    pub fn import_document(&self, document: SettingsDocument) -> Result<ImportSummary> {
        let s = self.inner.import(&document.into())?;
        Ok(ImportSummary {
            created: s.created as u64,
            updated: s.updated as u64,
            unchanged: s.unchanged as u64,
            deleted: s.deleted as u64,
        })
    }

    /// The whole store as a settings document (no secrets: credential ids only).
    pub fn export_document(&self) -> Result<SettingsDocument> {
        self.inner.export()?.try_into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::MailSettingsError;
    use crate::model::{Protocol, SecureConnectionType, ValidationCode};

    fn account(name: &str) -> IncomingAccount {
        IncomingAccount {
            id: None,
            name: name.into(),
            protocol: Some(Protocol::Imap),
            host: "imap.example.com".into(),
            port: None,
            credential: Some("helpdesk".into()),
            keep_copy_on_server: true,
            automatic_check: true,
            check_interval_secs: 300,
            enabled: true,
            use_network_connector: false,
            network_connector: None,
            skip_certificate: false,
            use_secure_connection: true,
            secure_connection_type: SecureConnectionType::Ssl,
            ca_file: None,
            max_message_size: 52_428_800,
        }
    }

    #[test]
    fn create_update_conflict_delete() {
        let store = Store::open_in_memory(None).unwrap();
        let a = store.create_incoming_account(account("Helpdesk")).unwrap();
        assert_eq!(a.account.id, Some(a.id));
        let mut changed = a.account.clone();
        changed.port = Some(10993);
        let b = store
            .update_incoming_account(a.id, a.version, changed)
            .unwrap();
        assert_ne!(a.version, b.version);
        assert_eq!(
            store.get_incoming_account(a.id).unwrap().account.port,
            Some(10993)
        );
        // An update based on the old version is a conflict.
        match store.update_incoming_account(a.id, a.version, account("Helpdesk")) {
            Err(MailSettingsError::Conflict { detail }) => assert!(detail.contains("version")),
            other => panic!("{other:?}"),
        }
        store.delete_incoming_account(a.id, b.version).unwrap();
        assert!(matches!(
            store.get_incoming_account(a.id),
            Err(MailSettingsError::NotFound { .. })
        ));
    }

    #[test]
    fn invalid_changes_throw_validation_with_every_result() {
        let store = Store::open_in_memory(None).unwrap();
        store.create_incoming_account(account("Helpdesk")).unwrap();
        let mut dup = account(" helpdesk ");
        dup.port = Some(0);
        match store.create_incoming_account(dup) {
            Err(MailSettingsError::Validation { results, .. }) => {
                assert!(results
                    .iter()
                    .any(|r| r.path == "name" && r.code == ValidationCode::DuplicateName));
                assert!(results
                    .iter()
                    .any(|r| r.path == "port" && r.code == ValidationCode::InvalidPort));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_connector_in_use_cannot_be_deleted() {
        let store = Store::open_in_memory(None).unwrap();
        let c = store
            .create_network_connector(NetworkConnector {
                id: None,
                name: "dc-east".into(),
                kind: Some(crate::model::ConnectorKind::Socks5),
                host: "127.0.0.1".into(),
                port: Some(1080),
                credential: None,
                enabled: true,
            })
            .unwrap();
        let mut a = account("Helpdesk");
        a.use_network_connector = true;
        a.network_connector = Some(c.id);
        store.create_incoming_account(a).unwrap();
        match store.delete_network_connector(c.id, c.version) {
            Err(MailSettingsError::InUse { used_by, .. }) => {
                assert_eq!(used_by.len(), 1);
                assert!(used_by[0].contains("Helpdesk"), "{used_by:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn documents_go_in_and_out() {
        let store = Store::open_in_memory(None).unwrap();
        let doc = SettingsDocument {
            version: 1,
            network_connectors: vec![],
            incoming_accounts: vec![account("A"), account("B")],
            smtp_accounts: vec![],
        };
        let s = store.import_document(doc).unwrap();
        assert_eq!((s.created, s.updated, s.deleted), (2, 0, 0));
        let out = store.export_document().unwrap();
        let names: Vec<_> = out
            .incoming_accounts
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["A", "B"]);
    }

    #[test]
    fn a_file_that_is_not_a_store_is_a_storage_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.db");
        std::fs::write(&path, vec![0x5a_u8; 8192]).unwrap();
        match Store::open(path.to_string_lossy().into_owned(), None) {
            Err(MailSettingsError::Storage { detail }) => assert!(!detail.is_empty()),
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), vec![0x5a_u8; 8192]);
    }
}
