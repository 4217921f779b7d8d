//! How each kind of record maps to its table: one [`Record`] impl per form, so the create,
//! read, update and delete code in `mod.rs` is written once.
//!
//! Forms are stored exactly as typed (names and hosts untrimmed), so that an export gives back
//! what was imported; `name_key` beside the name is what uniqueness is checked on.

use super::backend::{SqlRow as Row, Value as SeamValue};
use super::oauth2_clients::authentication_from;
use super::StoreError;
use crate::model::{
    ConnectorKind, IncomingAccountForm, NetworkConnectorForm, Protocol, RecordId,
    SecureConnectionType, SmtpAccountForm,
};
use crate::validate::{
    validate_connector, validate_incoming, validate_smtp, Field, Validation, ValidationContext,
};
use rusqlite::types::Value;
use std::path::{Path, PathBuf};

/// A form the store keeps in a table of its own.
pub(crate) trait Record: Clone + PartialEq + Sized {
    /// The table.
    const TABLE: &'static str;
    /// Words for messages: `incoming account`, `SMTP account`, `network connector`.
    const KIND: &'static str;
    /// The columns after `id`, `version`, `name_key`, in the order of [`Record::values`] and
    /// [`Record::from_row`].
    const COLUMNS: &'static [&'static str];
    /// The name field, for `duplicate_name` messages.
    const NAME_FIELD: Field;

    /// The form's id.
    fn id(&self) -> Option<RecordId>;
    /// Sets the form's id.
    fn set_id(&mut self, id: Option<RecordId>);
    /// The name as typed.
    fn name(&self) -> &str;
    /// The values of [`Record::COLUMNS`].
    fn values(&self) -> Vec<Value>;
    /// Reads a form from a row of `SELECT id, version, COLUMNS…` (so the columns start at 2).
    fn from_row(row: &Row) -> Result<Self, StoreError>;
    /// docs/SETTINGS.md's single-record rules.
    fn validate(&self, ctx: &ValidationContext<'_>) -> Validation;
}

/// `SELECT id, version, <columns> FROM <table>`.
pub(crate) fn select_sql<R: Record>() -> String {
    format!(
        "SELECT id, version, {} FROM {}",
        R::COLUMNS.join(", "),
        R::TABLE
    )
}

/// `INSERT INTO <table> (id, version, name_key, <columns>) VALUES (?, …) RETURNING id`.
pub(crate) fn insert_sql<R: Record>() -> String {
    let marks = vec!["?"; R::COLUMNS.len() + 3].join(", ");
    format!(
        "INSERT INTO {} (id, version, name_key, {}) VALUES ({marks}) RETURNING id",
        R::TABLE,
        R::COLUMNS.join(", ")
    )
}

/// The same without `id`, for the database to give one (PostgreSQL's identity columns refuse
/// an explicit NULL).
pub(crate) fn insert_new_sql<R: Record>() -> String {
    let marks = vec!["?"; R::COLUMNS.len() + 2].join(", ");
    format!(
        "INSERT INTO {} (version, name_key, {}) VALUES ({marks}) RETURNING id",
        R::TABLE,
        R::COLUMNS.join(", ")
    )
}

/// `UPDATE <table> SET version = ?, name_key = ?, <column> = ?… WHERE id = ?`.
pub(crate) fn update_sql<R: Record>() -> String {
    let sets: Vec<String> = R::COLUMNS.iter().map(|c| format!("{c} = ?")).collect();
    format!(
        "UPDATE {} SET version = ?, name_key = ?, {} WHERE id = ?",
        R::TABLE,
        sets.join(", ")
    )
}

fn b(v: bool) -> Value {
    Value::Integer(i64::from(v))
}
fn t(s: &str) -> Value {
    Value::Text(s.to_owned())
}
fn opt_t(s: Option<&str>) -> Value {
    s.map_or(Value::Null, t)
}
fn opt_i(n: Option<i64>) -> Value {
    n.map_or(Value::Null, Value::Integer)
}

/// A path as text when it is UTF-8, else (on Unix) its bytes, so that no path is altered.
fn path_value(p: Option<&Path>) -> Value {
    let Some(p) = p else { return Value::Null };
    match p.to_str() {
        Some(s) => t(s),
        None => {
            #[cfg(unix)]
            {
                use std::os::unix::ffi::OsStrExt;
                Value::Blob(p.as_os_str().as_bytes().to_vec())
            }
            #[cfg(not(unix))]
            {
                t(&p.to_string_lossy())
            }
        }
    }
}

fn path_at(row: &Row, i: usize) -> Result<Option<PathBuf>, StoreError> {
    Ok(match row.value(i) {
        SeamValue::Null => None,
        SeamValue::Text(text) => Some(PathBuf::from(text)),
        SeamValue::Blob(bytes) => {
            #[cfg(unix)]
            {
                use std::os::unix::ffi::OsStrExt;
                Some(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
            }
            #[cfg(not(unix))]
            {
                Some(PathBuf::from(String::from_utf8_lossy(bytes).into_owned()))
            }
        }
        SeamValue::Int(_) => return Err(bad_value("ca_file", "a number where a path belongs")),
    })
}

fn bad_value(column: &str, what: &str) -> StoreError {
    StoreError::NotADatabase {
        path: PathBuf::new(),
        reason: format!("column {column} holds {what}"),
    }
}

fn bool_at(row: &Row, i: usize) -> Result<bool, StoreError> {
    Ok(row.get::<_, i64>(i)? != 0)
}

/// `folders`, a JSON array of names.
fn folders_from(s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|_| bad_value("folders", "not a JSON list of folder names"))
}

pub(crate) fn protocol_from(s: &str) -> Result<Protocol, StoreError> {
    match s {
        "IMAP" => Ok(Protocol::Imap),
        "POP3" => Ok(Protocol::Pop3),
        other => Err(bad_value(
            "protocol",
            &format!("an unknown protocol {other:?}"),
        )),
    }
}

pub(crate) fn secure_type_from(s: &str) -> Result<SecureConnectionType, StoreError> {
    match s {
        "SSL" => Ok(SecureConnectionType::Ssl),
        "TLS" => Ok(SecureConnectionType::Tls),
        other => Err(bad_value(
            "secure_connection_type",
            &format!("an unknown connection type {other:?}"),
        )),
    }
}

fn kind_from(s: &str) -> Result<ConnectorKind, StoreError> {
    match s {
        "SOCKS5" => Ok(ConnectorKind::Socks5),
        "HTTP_CONNECT" => Ok(ConnectorKind::HttpConnect),
        other => Err(bad_value("kind", &format!("an unknown kind {other:?}"))),
    }
}

impl Record for NetworkConnectorForm {
    const TABLE: &'static str = "network_connectors";
    const KIND: &'static str = "network connector";
    const COLUMNS: &'static [&'static str] =
        &["name", "enabled", "kind", "host", "port", "credential"];
    const NAME_FIELD: Field = Field::ConnectorName;

    fn id(&self) -> Option<RecordId> {
        self.id
    }
    fn set_id(&mut self, id: Option<RecordId>) {
        self.id = id;
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn values(&self) -> Vec<Value> {
        vec![
            t(&self.name),
            b(self.enabled),
            // Validated before any write: kind and port are present.
            opt_t(self.kind.map(ConnectorKind::as_str)),
            t(&self.host),
            opt_i(self.port),
            opt_t(self.credential.as_deref()),
        ]
    }
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(Self {
            id: Some(row.get(0)?),
            name: row.get(2)?,
            enabled: bool_at(row, 3)?,
            kind: Some(kind_from(&row.get::<_, String>(4)?)?),
            host: row.get(5)?,
            port: Some(row.get(6)?),
            credential: row.get(7)?,
        })
    }
    fn validate(&self, ctx: &ValidationContext<'_>) -> Validation {
        validate_connector(self, "", ctx)
    }
}

impl Record for IncomingAccountForm {
    const TABLE: &'static str = "incoming_accounts";
    const KIND: &'static str = "incoming account";
    const NAME_FIELD: Field = Field::Name;
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "keep_copy_on_server",
        "automatic_check",
        "check_interval_secs",
        "enabled",
        "host",
        "port",
        "protocol",
        "use_network_connector",
        "network_connector",
        "credential",
        "skip_certificate",
        "use_secure_connection",
        "secure_connection_type",
        "ca_file",
        "max_message_size",
        "folders",
        "archive_folder",
        "use_push",
        "authentication",
        "oauth2_client",
    ];

    fn id(&self) -> Option<RecordId> {
        self.id
    }
    fn set_id(&mut self, id: Option<RecordId>) {
        self.id = id;
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn values(&self) -> Vec<Value> {
        vec![
            t(&self.name),
            b(self.keep_copy_on_server),
            b(self.automatic_check),
            Value::Integer(self.check_interval_secs),
            b(self.enabled),
            t(&self.host),
            opt_i(self.port),
            opt_t(self.protocol.map(Protocol::as_str)),
            b(self.use_network_connector),
            opt_i(self.network_connector),
            opt_t(self.credential.as_deref()),
            b(self.skip_certificate),
            b(self.use_secure_connection),
            t(self.secure_connection_type.as_str()),
            path_value(self.ca_file.as_deref()),
            Value::Integer(self.max_message_size),
            t(&serde_json::to_string(&self.folders).unwrap_or_else(|_| "[]".to_owned())),
            opt_t(self.archive_folder.as_deref()),
            b(self.use_push),
            t(self.authentication.as_str()),
            opt_i(self.oauth2_client),
        ]
    }
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(Self {
            id: Some(row.get(0)?),
            name: row.get(2)?,
            keep_copy_on_server: bool_at(row, 3)?,
            automatic_check: bool_at(row, 4)?,
            check_interval_secs: row.get(5)?,
            enabled: bool_at(row, 6)?,
            host: row.get(7)?,
            port: row.get(8)?,
            protocol: Some(protocol_from(&row.get::<_, String>(9)?)?),
            use_network_connector: bool_at(row, 10)?,
            network_connector: row.get(11)?,
            credential: row.get(12)?,
            skip_certificate: bool_at(row, 13)?,
            use_secure_connection: bool_at(row, 14)?,
            secure_connection_type: secure_type_from(&row.get::<_, String>(15)?)?,
            ca_file: path_at(row, 16)?,
            max_message_size: row.get(17)?,
            folders: folders_from(&row.get::<_, String>(18)?)?,
            archive_folder: row.get(19)?,
            use_push: bool_at(row, 20)?,
            authentication: authentication_from(&row.get::<_, String>(21)?)?,
            oauth2_client: row.get(22)?,
        })
    }
    fn validate(&self, ctx: &ValidationContext<'_>) -> Validation {
        validate_incoming(self, "", ctx)
    }
}

impl Record for SmtpAccountForm {
    const TABLE: &'static str = "smtp_accounts";
    const KIND: &'static str = "SMTP account";
    const NAME_FIELD: Field = Field::Name;
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "enabled",
        "sender_email",
        "reply_to",
        "return_path",
        "confirmation_email",
        "default_account",
        "send_read_receipt",
        "force_configuration",
        "enable_footer",
        "footer",
        "host",
        "port",
        "use_secure_connection",
        "secure_connection_type",
        "use_authentication",
        "skip_certificate_errors",
        "use_network_connector",
        "network_connector",
        "credential",
        "ca_file",
        "authentication",
        "oauth2_client",
    ];

    fn id(&self) -> Option<RecordId> {
        self.id
    }
    fn set_id(&mut self, id: Option<RecordId>) {
        self.id = id;
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn values(&self) -> Vec<Value> {
        vec![
            t(&self.name),
            b(self.enabled),
            t(&self.sender_email),
            opt_t(self.reply_to.as_deref()),
            opt_t(self.return_path.as_deref()),
            opt_t(self.confirmation_email.as_deref()),
            b(self.default_account),
            b(self.send_read_receipt),
            b(self.force_configuration),
            b(self.enable_footer),
            opt_t(self.footer.as_deref()),
            t(&self.host),
            opt_i(self.port),
            b(self.use_secure_connection),
            t(self.secure_connection_type.as_str()),
            b(self.use_authentication),
            b(self.skip_certificate_errors),
            b(self.use_network_connector),
            opt_i(self.network_connector),
            opt_t(self.credential.as_deref()),
            path_value(self.ca_file.as_deref()),
            t(self.authentication.as_str()),
            opt_i(self.oauth2_client),
        ]
    }
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(Self {
            id: Some(row.get(0)?),
            name: row.get(2)?,
            enabled: bool_at(row, 3)?,
            sender_email: row.get(4)?,
            reply_to: row.get(5)?,
            return_path: row.get(6)?,
            confirmation_email: row.get(7)?,
            default_account: bool_at(row, 8)?,
            send_read_receipt: bool_at(row, 9)?,
            force_configuration: bool_at(row, 10)?,
            enable_footer: bool_at(row, 11)?,
            footer: row.get(12)?,
            host: row.get(13)?,
            port: row.get(14)?,
            use_secure_connection: bool_at(row, 15)?,
            secure_connection_type: secure_type_from(&row.get::<_, String>(16)?)?,
            use_authentication: bool_at(row, 17)?,
            skip_certificate_errors: bool_at(row, 18)?,
            use_network_connector: bool_at(row, 19)?,
            network_connector: row.get(20)?,
            credential: row.get(21)?,
            ca_file: path_at(row, 22)?,
            authentication: authentication_from(&row.get::<_, String>(23)?)?,
            oauth2_client: row.get(24)?,
        })
    }
    fn validate(&self, ctx: &ValidationContext<'_>) -> Validation {
        validate_smtp(self, "", ctx)
    }
}
