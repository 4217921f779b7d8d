//! The settings store (one SQLite file, or memory), delegated to the core's store: every
//! change validated in one transaction, optimistic versions, no secrets.
//!
//! Store calls are local disk work and are exported as plain (blocking) functions. They are
//! quick, but a change may wait up to the store's busy timeout (10 s) for another process's
//! transaction: hosts call them off the UI thread (Kotlin `Dispatchers.IO`, a Swift
//! `Task.detached`), as they would any database.

use crate::credentials::{CredentialProvider, HostCredentials};
use crate::error::Result;
use crate::model::{
    IncomingAccountForm, NetworkConnectorForm, Protocol, SecureConnectionType, SettingsDocument,
    SmtpAccountForm,
};
use mail_settings_core as mscore;
use mail_settings_core::report;
use mail_settings_core::store::Stored;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// An incoming account as stored: its id, its version (to base an update or a delete on) and
/// the account with `id` filled in.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct StoredIncomingAccount {
    /// The id the store gave.
    pub id: i64,
    /// Pass it back to update or delete; any change makes a new one.
    pub version: i64,
    /// The account.
    pub account: IncomingAccountForm,
}

/// An SMTP account as stored (see [`StoredIncomingAccount`]).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct StoredSmtpAccount {
    /// The id the store gave.
    pub id: i64,
    /// Pass it back to update or delete; any change makes a new one.
    pub version: i64,
    /// The account.
    pub account: SmtpAccountForm,
}

/// A network connector as stored (see [`StoredIncomingAccount`]).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct StoredNetworkConnector {
    /// The id the store gave.
    pub id: i64,
    /// Pass it back to update or delete; any change makes a new one.
    pub version: i64,
    /// The connector.
    pub connector: NetworkConnectorForm,
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
    #[uniffi::constructor(default(credentials = None))]
    pub fn open(
        path: String,
        credentials: Option<Arc<dyn CredentialProvider>>,
    ) -> Result<Arc<Self>> {
        Ok(Self::new(mscore::store::Store::open(path)?, credentials))
    }

    /// A store in memory, gone when the object is (tests, previews).
    #[uniffi::constructor(default(credentials = None))]
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
    pub fn create_connector(
        &self,
        connector: NetworkConnectorForm,
    ) -> Result<StoredNetworkConnector> {
        stored_connector(self.inner.create_connector(&connector.into())?)
    }

    /// Connector `id`; throws `NotFound`.
    pub fn get_connector(&self, id: i64) -> Result<StoredNetworkConnector> {
        stored_connector(self.inner.get_connector(id)?)
    }

    /// Every connector, by id.
    pub fn list_connectors(&self) -> Result<Vec<StoredNetworkConnector>> {
        self.inner
            .list_connectors()?
            .into_iter()
            .map(stored_connector)
            .collect()
    }

    /// Replaces connector `id` if it is still at `expected_version` (else throws `Conflict`).
    /// Disabling a connector that accounts use throws `InUse`.
    pub fn update_connector(
        &self,
        id: i64,
        expected_version: i64,
        connector: NetworkConnectorForm,
    ) -> Result<StoredNetworkConnector> {
        stored_connector(
            self.inner
                .update_connector(id, expected_version, &connector.into())?,
        )
    }

    /// Deletes connector `id` at `expected_version`; throws `InUse` while accounts use it.
    pub fn delete_connector(&self, id: i64, expected_version: i64) -> Result<()> {
        Ok(self.inner.delete_connector(id, expected_version)?)
    }

    // ----- incoming accounts -----

    /// Adds an incoming account (its `id` is ignored). Throws `Validation` with every result.
    pub fn create_incoming(&self, account: IncomingAccountForm) -> Result<StoredIncomingAccount> {
        stored_incoming(self.inner.create_incoming(&account.into())?)
    }

    /// Incoming account `id`; throws `NotFound`.
    pub fn get_incoming(&self, id: i64) -> Result<StoredIncomingAccount> {
        stored_incoming(self.inner.get_incoming(id)?)
    }

    /// The incoming account named `name` (case-insensitive, trimmed); throws `NotFound`.
    pub fn get_incoming_by_name(&self, name: String) -> Result<StoredIncomingAccount> {
        stored_incoming(self.inner.get_incoming_by_name(&name)?)
    }

    /// Every incoming account, by id (for large stores use the report).
    pub fn list_incoming(&self) -> Result<Vec<StoredIncomingAccount>> {
        self.inner
            .list_incoming()?
            .into_iter()
            .map(stored_incoming)
            .collect()
    }

    /// Replaces incoming account `id` if it is still at `expected_version` (else `Conflict`).
    pub fn update_incoming(
        &self,
        id: i64,
        expected_version: i64,
        account: IncomingAccountForm,
    ) -> Result<StoredIncomingAccount> {
        stored_incoming(
            self.inner
                .update_incoming(id, expected_version, &account.into())?,
        )
    }

    /// Deletes incoming account `id` at `expected_version`.
    pub fn delete_incoming(&self, id: i64, expected_version: i64) -> Result<()> {
        Ok(self.inner.delete_incoming(id, expected_version)?)
    }

    // ----- SMTP accounts -----

    /// Adds an SMTP account (its `id` is ignored); making it the default clears the others.
    pub fn create_smtp(&self, account: SmtpAccountForm) -> Result<StoredSmtpAccount> {
        stored_smtp(self.inner.create_smtp(&account.into())?)
    }

    /// SMTP account `id`; throws `NotFound`.
    pub fn get_smtp(&self, id: i64) -> Result<StoredSmtpAccount> {
        stored_smtp(self.inner.get_smtp(id)?)
    }

    /// The SMTP account named `name` (case-insensitive, trimmed); throws `NotFound`.
    pub fn get_smtp_by_name(&self, name: String) -> Result<StoredSmtpAccount> {
        stored_smtp(self.inner.get_smtp_by_name(&name)?)
    }

    /// Every SMTP account, by id.
    pub fn list_smtp(&self) -> Result<Vec<StoredSmtpAccount>> {
        self.inner
            .list_smtp()?
            .into_iter()
            .map(stored_smtp)
            .collect()
    }

    /// Replaces SMTP account `id` if it is still at `expected_version` (else `Conflict`).
    pub fn update_smtp(
        &self,
        id: i64,
        expected_version: i64,
        account: SmtpAccountForm,
    ) -> Result<StoredSmtpAccount> {
        stored_smtp(
            self.inner
                .update_smtp(id, expected_version, &account.into())?,
        )
    }

    /// Deletes SMTP account `id` at `expected_version`.
    pub fn delete_smtp(&self, id: i64, expected_version: i64) -> Result<()> {
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

// ----- reports (seeds 002 and 003) -----

/// The reports' status filter: enabled or disabled accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum StatusFilter {
    /// Enabled accounts only.
    Enabled,
    /// Disabled accounts only.
    Disabled,
}

/// The language of report labels and yes/no words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ReportLanguage {
    /// English.
    En,
    /// Brazilian Portuguese.
    PtBr,
}

impl From<ReportLanguage> for report::Lang {
    fn from(l: ReportLanguage) -> Self {
        match l {
            ReportLanguage::En => report::Lang::En,
            ReportLanguage::PtBr => report::Lang::PtBr,
        }
    }
}

fn status(s: Option<StatusFilter>) -> Option<report::Status> {
    s.map(|s| match s {
        StatusFilter::Enabled => report::Status::Enabled,
        StatusFilter::Disabled => report::Status::Disabled,
    })
}

/// Filters of the incoming (IMAP/POP3) report; empty means "any". They combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct IncomingReportFilter {
    /// The name contains this text (case-insensitive, literal).
    #[uniffi(default = None)]
    pub name_contains: Option<String>,
    /// Uses a secure connection (SSL or TLS).
    #[uniffi(default = None)]
    pub secure_connection: Option<bool>,
    /// Automatic check is on.
    #[uniffi(default = None)]
    pub automatic_check: Option<bool>,
    /// Keeps a copy on the server.
    #[uniffi(default = None)]
    pub keep_copy: Option<bool>,
    /// Enabled or disabled.
    #[uniffi(default = None)]
    pub status: Option<StatusFilter>,
}

impl From<IncomingReportFilter> for report::IncomingReportFilter {
    fn from(f: IncomingReportFilter) -> Self {
        report::IncomingReportFilter {
            name_contains: f.name_contains,
            secure_connection: f.secure_connection,
            automatic_check: f.automatic_check,
            keep_copy: f.keep_copy,
            status: status(f.status),
            // The authentication method filter comes with the OAuth2 API (helper o2bind).
            auth_method: None,
        }
    }
}

/// Filters of the SMTP report; empty means "any". They combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct SmtpReportFilter {
    /// The name contains this text (case-insensitive, literal).
    #[uniffi(default = None)]
    pub name_contains: Option<String>,
    /// Uses a secure connection (SSL or TLS).
    #[uniffi(default = None)]
    pub secure_connection: Option<bool>,
    /// Enabled or disabled.
    #[uniffi(default = None)]
    pub status: Option<StatusFilter>,
    /// Uses authentication.
    #[uniffi(default = None)]
    pub authentication: Option<bool>,
    /// Is the default account.
    #[uniffi(default = None)]
    pub default_account: Option<bool>,
}

impl From<SmtpReportFilter> for report::SmtpReportFilter {
    fn from(f: SmtpReportFilter) -> Self {
        report::SmtpReportFilter {
            name_contains: f.name_contains,
            secure_connection: f.secure_connection,
            status: status(f.status),
            authentication: f.authentication,
            default_account: f.default_account,
            // The authentication method filter comes with the OAuth2 API (helper o2bind).
            auth_method: None,
        }
    }
}

/// A row of the incoming report: ID, Name, Secure connection, Connection type, Protocol, Port
/// (effective), Automatic check, Keep copy in server, Folders, Archive folder, Push.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct IncomingReportRow {
    /// ID.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Secure connection.
    pub secure_connection: bool,
    /// `SSL` or `TLS`; empty when not secure.
    pub connection_type: Option<SecureConnectionType>,
    /// Protocol.
    pub protocol: Protocol,
    /// The effective port (typed, or SPEC.md's default).
    pub port: u16,
    /// Automatic check.
    pub automatic_check: bool,
    /// Keep copy in server.
    pub keep_copy_on_server: bool,
    /// Folders collected, as the user writes them.
    pub folders: Vec<String>,
    /// The archive folder, if any.
    pub archive_folder: Option<String>,
    /// Push: an IMAP account with `use_push`.
    pub push: bool,
}

/// A row of the SMTP report.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SmtpReportRow {
    /// ID.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Enabled.
    pub enabled: bool,
    /// Sender e-mail.
    pub sender: String,
    /// SMTP host.
    pub host: String,
    /// The effective port.
    pub port: u16,
    /// Secure connection.
    pub secure_connection: bool,
    /// `SSL` or `TLS`; empty when not secure.
    pub connection_type: Option<SecureConnectionType>,
    /// Uses authentication.
    pub authentication: bool,
    /// Is the default account.
    pub default_account: bool,
}

/// One page of the incoming report.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct IncomingReportPage {
    /// The rows, in id order.
    pub rows: Vec<IncomingReportRow>,
    /// The page number (from 1) as served.
    pub page: u32,
    /// The page size as served.
    pub page_size: u32,
    /// Rows matching the filters, over all pages.
    pub total: u64,
    /// Number of pages (0 when nothing matches).
    pub page_count: u64,
}

/// One page of the SMTP report.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SmtpReportPage {
    /// The rows, in id order.
    pub rows: Vec<SmtpReportRow>,
    /// The page number (from 1) as served.
    pub page: u32,
    /// The page size as served.
    pub page_size: u32,
    /// Rows matching the filters, over all pages.
    pub total: u64,
    /// Number of pages (0 when nothing matches).
    pub page_count: u64,
}

fn connection_type(
    t: Option<mscore::SecureConnectionType>,
) -> Result<Option<SecureConnectionType>> {
    t.map(TryInto::try_into).transpose()
}

fn incoming_page(p: report::ReportPage<report::IncomingReportRow>) -> Result<IncomingReportPage> {
    let page_count = p.page_count();
    Ok(IncomingReportPage {
        rows: p
            .rows
            .into_iter()
            .map(|r| {
                Ok(IncomingReportRow {
                    id: r.id,
                    name: r.name,
                    secure_connection: r.secure_connection,
                    connection_type: connection_type(r.connection_type)?,
                    protocol: r.protocol.try_into()?,
                    port: r.port,
                    automatic_check: r.automatic_check,
                    keep_copy_on_server: r.keep_copy_on_server,
                    folders: r.folders,
                    archive_folder: r.archive_folder,
                    push: r.push,
                })
            })
            .collect::<Result<_>>()?,
        page: p.page,
        page_size: p.page_size,
        total: p.total,
        page_count,
    })
}

fn smtp_page(p: report::ReportPage<report::SmtpReportRow>) -> Result<SmtpReportPage> {
    let page_count = p.page_count();
    Ok(SmtpReportPage {
        rows: p
            .rows
            .into_iter()
            .map(|r| {
                Ok(SmtpReportRow {
                    id: r.id,
                    name: r.name,
                    enabled: r.enabled,
                    sender: r.sender,
                    host: r.host,
                    port: r.port,
                    secure_connection: r.secure_connection,
                    connection_type: connection_type(r.connection_type)?,
                    authentication: r.authentication,
                    default_account: r.default_account,
                })
            })
            .collect::<Result<_>>()?,
        page: p.page,
        page_size: p.page_size,
        total: p.total,
        page_count,
    })
}

/// A file to write a report into, created or truncated.
fn report_file(path: &str) -> Result<std::io::BufWriter<std::fs::File>> {
    std::fs::File::create(path)
        .map(std::io::BufWriter::new)
        .map_err(|e| mscore::store::StoreError::Io(e).into())
}

fn page_request(page: u32, page_size: u32) -> report::PageRequest {
    report::PageRequest { page, page_size }
}

#[uniffi::export]
impl Store {
    /// One page of the incoming (IMAP/POP3) report: `page` from 1, `page_size` rows (30 by
    /// default, at most 1000), in id order. A page past the end is empty.
    #[uniffi::method(default(filter = None, page = 1, page_size = 30))]
    pub fn incoming_report(
        &self,
        filter: Option<IncomingReportFilter>,
        page: u32,
        page_size: u32,
    ) -> Result<IncomingReportPage> {
        let filter = filter.unwrap_or_default().into();
        incoming_page(
            self.inner
                .incoming_report(&filter, page_request(page, page_size))?,
        )
    }

    /// One page of the SMTP report (see [`Store::incoming_report`]).
    #[uniffi::method(default(filter = None, page = 1, page_size = 30))]
    pub fn smtp_report(
        &self,
        filter: Option<SmtpReportFilter>,
        page: u32,
        page_size: u32,
    ) -> Result<SmtpReportPage> {
        let filter = filter.unwrap_or_default().into();
        smtp_page(
            self.inner
                .smtp_report(&filter, page_request(page, page_size))?,
        )
    }

    /// "Export CSV": the whole filtered incoming report into the file at `path` (RFC 4180,
    /// UTF-8, labels in `language`). `bom` (false by default) starts the file with the UTF-8
    /// byte-order mark, which Excel on Windows needs to read accents. Returns the number of
    /// rows.
    #[uniffi::method(default(bom = false))]
    pub fn write_incoming_report_csv(
        &self,
        filter: IncomingReportFilter,
        language: ReportLanguage,
        path: String,
        bom: bool,
    ) -> Result<u64> {
        let out = report_file(&path)?;
        Ok(self.inner.write_incoming_csv_with(
            &filter.into(),
            language.into(),
            report::CsvOptions::default().bom(bom),
            out,
        )?)
    }

    /// "Export CSV" of the SMTP report (see [`Store::write_incoming_report_csv`], also for
    /// `bom`).
    #[uniffi::method(default(bom = false))]
    pub fn write_smtp_report_csv(
        &self,
        filter: SmtpReportFilter,
        language: ReportLanguage,
        path: String,
        bom: bool,
    ) -> Result<u64> {
        let out = report_file(&path)?;
        Ok(self.inner.write_smtp_csv_with(
            &filter.into(),
            language.into(),
            report::CsvOptions::default().bom(bom),
            out,
        )?)
    }

    /// "Print report": the whole filtered incoming report as a printable standalone HTML page
    /// in the file at `path`. Returns the number of rows.
    pub fn write_incoming_report_html(
        &self,
        filter: IncomingReportFilter,
        language: ReportLanguage,
        path: String,
    ) -> Result<u64> {
        let out = report_file(&path)?;
        Ok(self.inner.write_incoming_html(
            &filter.into(),
            language.into(),
            SystemTime::now(),
            out,
        )?)
    }

    /// "Print report" of the SMTP report (see [`Store::write_incoming_report_html`]).
    pub fn write_smtp_report_html(
        &self,
        filter: SmtpReportFilter,
        language: ReportLanguage,
        path: String,
    ) -> Result<u64> {
        let out = report_file(&path)?;
        Ok(self
            .inner
            .write_smtp_html(&filter.into(), language.into(), SystemTime::now(), out)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::MailSettingsError;
    use crate::model::{Protocol, SecureConnectionType, ValidationCode};

    fn account(name: &str) -> IncomingAccountForm {
        IncomingAccountForm {
            authentication: None,
            oauth2_client: None,
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
            folders: vec!["INBOX".into()],
            archive_folder: None,
            use_push: true,
        }
    }

    #[test]
    fn create_update_conflict_delete() {
        let store = Store::open_in_memory(None).unwrap();
        let a = store.create_incoming(account("Helpdesk")).unwrap();
        assert_eq!(a.account.id, Some(a.id));
        let mut changed = a.account.clone();
        changed.port = Some(10993);
        let b = store.update_incoming(a.id, a.version, changed).unwrap();
        assert_ne!(a.version, b.version);
        assert_eq!(store.get_incoming(a.id).unwrap().account.port, Some(10993));
        // An update based on the old version is a conflict.
        match store.update_incoming(a.id, a.version, account("Helpdesk")) {
            Err(MailSettingsError::Conflict { detail }) => assert!(detail.contains("version")),
            other => panic!("{other:?}"),
        }
        store.delete_incoming(a.id, b.version).unwrap();
        assert!(matches!(
            store.get_incoming(a.id),
            Err(MailSettingsError::NotFound { .. })
        ));
    }

    #[test]
    fn by_name_gives_the_stored_account_or_not_found() {
        let store = Store::open_in_memory(None).unwrap();
        let a = store.create_incoming(account("Helpdesk")).unwrap();
        assert_eq!(store.get_incoming_by_name(" HELPdesk ".into()).unwrap(), a);
        match store.get_smtp_by_name("Helpdesk".into()) {
            Err(MailSettingsError::NotFound { detail }) => assert!(detail.contains("Helpdesk")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_changes_throw_validation_with_every_result() {
        let store = Store::open_in_memory(None).unwrap();
        store.create_incoming(account("Helpdesk")).unwrap();
        let mut dup = account(" helpdesk ");
        dup.port = Some(0);
        match store.create_incoming(dup) {
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
            .create_connector(NetworkConnectorForm {
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
        store.create_incoming(a).unwrap();
        match store.delete_connector(c.id, c.version) {
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
            oauth2_clients: vec![],
            version: 1,
            network_connectors: vec![],
            incoming_accounts: vec![account("A"), account("B")],
            smtp_accounts: vec![],
            report_schedules: vec![],
            journal_retention_days: None,
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

    #[test]
    fn reports_filter_page_and_export() {
        let store = Store::open_in_memory(None).unwrap();
        for i in 0..35 {
            let mut a = account(&format!("Account {i:02}"));
            a.automatic_check = i % 2 == 0;
            if i == 3 {
                a.use_secure_connection = false;
                a.protocol = Some(Protocol::Pop3);
            }
            store.create_incoming(a).unwrap();
        }
        let first = store.incoming_report(None, 1, 30).unwrap();
        assert_eq!(
            (first.rows.len(), first.total, first.page_count),
            (30, 35, 2)
        );
        let second = store.incoming_report(None, 2, 30).unwrap();
        assert_eq!(second.rows.len(), 5);
        let clear = store
            .incoming_report(
                Some(IncomingReportFilter {
                    secure_connection: Some(false),
                    ..Default::default()
                }),
                1,
                30,
            )
            .unwrap();
        assert_eq!(clear.total, 1);
        let row = &clear.rows[0];
        assert_eq!(
            (row.protocol, row.port, row.connection_type),
            (Protocol::Pop3, 110, None)
        );
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("r.csv");
        let n = store
            .write_incoming_report_csv(
                IncomingReportFilter {
                    automatic_check: Some(true),
                    ..Default::default()
                },
                ReportLanguage::PtBr,
                csv.to_string_lossy().into_owned(),
                false,
            )
            .unwrap();
        assert_eq!(n, 18);
        let text = std::fs::read_to_string(&csv).unwrap();
        assert_eq!(text.lines().count(), 19, "{text}");
        assert!(text.starts_with("ID,Nome,"), "{text}");
        let excel = dir.path().join("excel.csv");
        store
            .write_incoming_report_csv(
                IncomingReportFilter {
                    automatic_check: Some(true),
                    ..Default::default()
                },
                ReportLanguage::PtBr,
                excel.to_string_lossy().into_owned(),
                true,
            )
            .unwrap();
        let excel = std::fs::read(&excel).unwrap();
        assert_eq!(&excel[..3], [0xEF, 0xBB, 0xBF]);
        assert_eq!(&excel[3..], text.as_bytes());
        let html = dir.path().join("r.html");
        store
            .write_incoming_report_html(
                IncomingReportFilter::default(),
                ReportLanguage::En,
                html.to_string_lossy().into_owned(),
            )
            .unwrap();
        assert!(std::fs::read_to_string(&html)
            .unwrap()
            .contains("Account 34"));
    }
}
