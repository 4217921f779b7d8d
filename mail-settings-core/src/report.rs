//! The IMAP/POP3 and SMTP account reports of seeds 002 and 003: filtered, paged, and exported
//! as CSV, as a printable HTML page, or as a text table for the CLI.
//!
//! Why it reads SQL rather than forms: a store may hold 100 000 accounts, so filtering, counting
//! and paging happen in SQLite (over the report indexes of the store's schema) and only one
//! page of rows is built. Exports go through the whole filtered report in chunks of
//! [`EXPORT_CHUNK`] rows, in id order, written as they are read: memory stays flat and the
//! store is not held while a slow writer drains (so an export is not one snapshot: a row
//! changed during a long export appears as it was when its chunk was read).
//!
//! Reports never show a secret, nor even a credential id: only the columns below.
//!
//! - Incoming report columns: ID, Name, Secure connection, Connection type (`SSL`/`TLS`,
//!   empty when not secure), Protocol, Port (the effective port: the typed one or docs/SETTINGS.md's
//!   default for the protocol and security), Automatic check, Keep copy in server, Folders (the
//!   names as the user writes them, `, ` between them), Archive folder (empty when none), Push
//!   (Yes for an IMAP account with `use_push`; POP3 has no push).
//! - SMTP report columns: ID, Name, Enabled, Sender, Host, Port (effective), Secure connection,
//!   Connection type, Authentication (`use_authentication`), Default.
//! - Both end with "Authentication method" (`PASSWORD`/`OAUTH2`, SPEC.md "OAuth2 clients and
//!   OAuth2 accounts"), filtered with `auth_method`.
//!
//! CSV is RFC 4180 in UTF-8 with CRLF line ends and a header line of labels in the chosen
//! language. It has no byte-order mark unless [`CsvOptions`] asks for one
//! (`CsvOptions::default().bom(true)`, with [`Store::write_incoming_csv_with`] and
//! [`Store::write_smtp_csv_with`]): Excel on Windows needs the mark to read the file as UTF-8
//! (without it, "Conexão" shows as mojibake), while pipelines and most other tools do not want it.
//!
//! Filters combine with AND; "name contains" is case-insensitive over the trimmed name and
//! takes its text literally (no wildcard: `%` and `_` match themselves). Rows are in id order;
//! pages are numbered from 1, [`DEFAULT_PAGE_SIZE`] rows by default, and a page past the end is
//! empty, not an error.

// The CSV and HTML writers serve the store's reports and the inbox's (feature `store`).
#![cfg_attr(not(feature = "store"), allow(dead_code))]
#[cfg(feature = "store")]
use crate::model::{default_port, Security, Service};
use crate::model::{AuthenticationMethod, Protocol, RecordId, SecureConnectionType};
#[cfg(feature = "store")]
use crate::store::backend::{Sql, SqlExt, SqlRow, Value};
#[cfg(feature = "store")]
use crate::store::records::{protocol_from, secure_type_from};
#[cfg(feature = "store")]
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::io::{self, Write};
#[cfg(feature = "store")]
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// Rows a page holds unless asked otherwise (the seeds' 30 records per screen).
pub const DEFAULT_PAGE_SIZE: u32 = 30;
/// The largest page a report gives.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Rows an export reads from the store at a time.
pub const EXPORT_CHUNK: u32 = 500;

/// The UTF-8 byte-order mark (U+FEFF), written first when [`CsvOptions::bom`] is on.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How a CSV export is written. The default is plain RFC 4180 UTF-8 with no byte-order mark;
/// set options with the builder methods:
///
/// ```
/// use mail_settings_core::report::CsvOptions;
///
/// let excel = CsvOptions::default().bom(true); // for Excel on Windows
/// assert!(excel.bom && !CsvOptions::default().bom);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CsvOptions {
    /// Start the file with the UTF-8 byte-order mark (EF BB BF), once, before the header line.
    /// Excel on Windows reads the file as UTF-8 only with it. Off by default: pipelines and
    /// most other tools do not want it.
    pub bom: bool,
}

impl CsvOptions {
    /// These options with the byte-order mark on or off (see the `bom` field).
    #[must_use]
    pub fn bom(mut self, bom: bool) -> Self {
        self.bom = bom;
        self
    }
}

/// The language of labels and yes/no words.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Lang {
    /// English.
    #[default]
    #[serde(rename = "en")]
    En,
    /// Brazilian Portuguese.
    #[serde(rename = "pt-BR")]
    PtBr,
}

impl Lang {
    /// `en` or `pt-BR` (also the HTML `lang`).
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::PtBr => "pt-BR",
        }
    }

    /// `Yes`/`No`, `Sim`/`Não`.
    pub fn yes_no(self, value: bool) -> &'static str {
        match (self, value) {
            (Lang::En, true) => "Yes",
            (Lang::En, false) => "No",
            (Lang::PtBr, true) => "Sim",
            (Lang::PtBr, false) => "Não",
        }
    }

    pub(crate) fn pick(self, en: &'static str, pt: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::PtBr => pt,
        }
    }
}

/// The status filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Status {
    /// Enabled accounts only.
    Enabled,
    /// Disabled accounts only.
    Disabled,
}

impl Status {
    fn label(self, lang: Lang) -> &'static str {
        match self {
            Status::Enabled => lang.pick("Enabled", "Ativo"),
            Status::Disabled => lang.pick("Disabled", "Inativo"),
        }
    }
}

/// Filters of the incoming (IMAP/POP3) report; `None` means "any". They combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomingReportFilter {
    /// The name contains this text (case-insensitive, literal). Blank means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_contains: Option<String>,
    /// Uses a secure connection (SSL or TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_connection: Option<bool>,
    /// Automatic check is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic_check: Option<bool>,
    /// Keeps a copy on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_copy: Option<bool>,
    /// Enabled or disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Authentication method: `PASSWORD` or `OAUTH2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<AuthenticationMethod>,
}

/// Filters of the SMTP report; `None` means "any". They combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpReportFilter {
    /// The name contains this text (case-insensitive, literal). Blank means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_contains: Option<String>,
    /// Uses a secure connection (SSL or TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_connection: Option<bool>,
    /// Enabled or disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Uses authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<bool>,
    /// Is the default account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_account: Option<bool>,
    /// Authentication method: `PASSWORD` or `OAUTH2` (`authentication` above keeps meaning
    /// `use_authentication`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<AuthenticationMethod>,
}

/// Which page to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// Page number, from 1 (0 reads as 1).
    pub page: u32,
    /// Rows a page, 1 to [`MAX_PAGE_SIZE`] (out-of-range values are brought into it).
    pub page_size: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl PageRequest {
    /// Page `page` of [`DEFAULT_PAGE_SIZE`] rows.
    pub fn page(page: u32) -> Self {
        Self {
            page,
            ..Self::default()
        }
    }

    /// The request as it is served: page at least 1, size within 1..=[`MAX_PAGE_SIZE`].
    pub fn normalized(self) -> Self {
        Self {
            page: self.page.max(1),
            page_size: self.page_size.clamp(1, MAX_PAGE_SIZE),
        }
    }

    fn offset(self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.page_size)
    }
}

/// One page of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportPage<Row> {
    /// The rows, in id order.
    pub rows: Vec<Row>,
    /// The page number (from 1) as served.
    pub page: u32,
    /// The page size as served.
    pub page_size: u32,
    /// Rows matching the filters, over all pages.
    pub total: u64,
}

impl<Row> ReportPage<Row> {
    /// Number of pages (0 when nothing matches).
    pub fn page_count(&self) -> u64 {
        self.total.div_ceil(u64::from(self.page_size.max(1)))
    }
}

/// A row of the incoming (IMAP/POP3) report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingReportRow {
    /// ID.
    pub id: RecordId,
    /// Name (trimmed).
    pub name: String,
    /// Secure connection.
    pub secure_connection: bool,
    /// Connection type: `SSL` or `TLS`; `None` when not secure.
    pub connection_type: Option<SecureConnectionType>,
    /// Protocol.
    pub protocol: Protocol,
    /// The effective port.
    pub port: u16,
    /// Automatic check.
    pub automatic_check: bool,
    /// Keep copy in server.
    pub keep_copy_on_server: bool,
    /// Folders collected, as the user writes them.
    pub folders: Vec<String>,
    /// The archive folder, if any.
    pub archive_folder: Option<String>,
    /// Push: an IMAP account with `use_push` (POP3 accounts have none).
    pub push: bool,
    /// Authentication method: `PASSWORD` or `OAUTH2`.
    pub authentication_method: AuthenticationMethod,
}

/// A row of the SMTP report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpReportRow {
    /// ID.
    pub id: RecordId,
    /// Name (trimmed).
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
    /// Connection type: `SSL` or `TLS`; `None` when not secure.
    pub connection_type: Option<SecureConnectionType>,
    /// Uses authentication.
    pub authentication: bool,
    /// Is the default account.
    pub default_account: bool,
    /// Authentication method: `PASSWORD` or `OAUTH2`.
    pub authentication_method: AuthenticationMethod,
}

/// A report row as the renderers see it: labels and cells in a language.
pub trait ReportRow {
    /// The report's title.
    fn title(lang: Lang) -> &'static str;
    /// Column labels.
    fn labels(lang: Lang) -> &'static [&'static str];
    /// Which columns are numbers (right-aligned in text).
    const NUMERIC: &'static [bool];
    /// The cells, in the order of [`ReportRow::labels`].
    fn cells(&self, lang: Lang) -> Vec<String>;
}

fn connection_type_cell(t: Option<SecureConnectionType>) -> String {
    t.map(|t| t.as_str().to_owned()).unwrap_or_default()
}

impl ReportRow for IncomingReportRow {
    fn title(lang: Lang) -> &'static str {
        lang.pick("IMAP/POP3 settings", "Configuração IMAP/POP3")
    }
    fn labels(lang: Lang) -> &'static [&'static str] {
        match lang {
            Lang::En => &[
                "ID",
                "Name",
                "Secure connection",
                "Connection type",
                "Protocol",
                "Port",
                "Automatic check",
                "Keep copy in server",
                "Folders",
                "Archive folder",
                "Push",
                "Authentication method",
            ],
            Lang::PtBr => &[
                "ID",
                "Nome",
                "Conexão segura",
                "Tipo de conexão",
                "Protocolo",
                "Porta",
                "Verificação automática",
                "Manter cópia no servidor",
                "Pastas",
                "Pasta de arquivo",
                "Push",
                "Método de autenticação",
            ],
        }
    }
    const NUMERIC: &'static [bool] = &[
        true, false, false, false, false, true, false, false, // folders, archive, push, auth:
        false, false, false, false,
    ];
    fn cells(&self, lang: Lang) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            lang.yes_no(self.secure_connection).to_owned(),
            connection_type_cell(self.connection_type),
            self.protocol.as_str().to_owned(),
            self.port.to_string(),
            lang.yes_no(self.automatic_check).to_owned(),
            lang.yes_no(self.keep_copy_on_server).to_owned(),
            self.folders.join(", "),
            self.archive_folder.clone().unwrap_or_default(),
            lang.yes_no(self.push).to_owned(),
            self.authentication_method.as_str().to_owned(),
        ]
    }
}

impl ReportRow for SmtpReportRow {
    fn title(lang: Lang) -> &'static str {
        lang.pick("SMTP settings", "Configuração SMTP")
    }
    fn labels(lang: Lang) -> &'static [&'static str] {
        match lang {
            Lang::En => &[
                "ID",
                "Name",
                "Enabled",
                "Sender",
                "Host",
                "Port",
                "Secure connection",
                "Connection type",
                "Authentication",
                "Default",
                "Authentication method",
            ],
            Lang::PtBr => &[
                "ID",
                "Nome",
                "Ativo",
                "Remetente",
                "Host",
                "Porta",
                "Conexão segura",
                "Tipo de conexão",
                "Autenticação",
                "Padrão",
                "Método de autenticação",
            ],
        }
    }
    const NUMERIC: &'static [bool] = &[
        true, false, false, false, false, true, false, false, false, false, false,
    ];
    fn cells(&self, lang: Lang) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            lang.yes_no(self.enabled).to_owned(),
            self.sender.clone(),
            self.host.clone(),
            self.port.to_string(),
            lang.yes_no(self.secure_connection).to_owned(),
            connection_type_cell(self.connection_type),
            lang.yes_no(self.authentication).to_owned(),
            lang.yes_no(self.default_account).to_owned(),
            self.authentication_method.as_str().to_owned(),
        ]
    }
}

#[cfg(feature = "store")]
/// The SQL side of a report: implemented by the two filters.
trait ReportQuery {
    type Row: ReportRow;
    const TABLE: &'static str;
    /// Columns read for a row.
    const COLUMNS: &'static str;
    /// The filters as `(label, value)` in a language, for the HTML page.
    fn describe(&self, lang: Lang) -> Vec<(&'static str, String)>;
    /// `AND`-joined conditions (without `WHERE`) and their parameters.
    fn conditions(&self) -> (Vec<&'static str>, Vec<Value>);
    /// A row from `SELECT COLUMNS`.
    fn row(r: &SqlRow) -> Result<Self::Row, StoreError>;
}

#[cfg(feature = "store")]
fn push_flag(
    conds: &mut Vec<&'static str>,
    params: &mut Vec<Value>,
    value: Option<bool>,
    sql: &'static str,
) {
    if let Some(v) = value {
        conds.push(sql);
        params.push(Value::Int(i64::from(v)));
    }
}

#[cfg(feature = "store")]
fn push_name(conds: &mut Vec<&'static str>, params: &mut Vec<Value>, needle: Option<&str>) {
    // name_key is the trimmed, lower-cased name (`validate::name_key`); instr() compares text
    // literally, so `%`, `_` and `\` in the needle need no escaping.
    let needle = needle.map(crate::validate::name_key).unwrap_or_default();
    if !needle.is_empty() {
        conds.push("instr(name_key, ?) > 0");
        params.push(Value::Text(needle));
    }
}

#[cfg(feature = "store")]
fn yes_no_filter(
    out: &mut Vec<(&'static str, String)>,
    lang: Lang,
    label: &'static str,
    v: Option<bool>,
) {
    if let Some(v) = v {
        out.push((label, lang.yes_no(v).to_owned()));
    }
}

#[cfg(feature = "store")]
fn name_filter(out: &mut Vec<(&'static str, String)>, lang: Lang, v: Option<&str>) {
    if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) {
        out.push((lang.pick("Name", "Nome"), v.to_owned()));
    }
}

#[cfg(feature = "store")]
fn port_at(r: &SqlRow, i: usize, default: u16) -> Result<u16, StoreError> {
    match r.get::<_, Option<i64>>(i)? {
        None => Ok(default),
        Some(p) => {
            u16::try_from(p)
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| StoreError::NotADatabase {
                    path: PathBuf::new(),
                    reason: format!("a stored port is out of range: {p}"),
                })
        }
    }
}

#[cfg(feature = "store")]
impl ReportQuery for IncomingReportFilter {
    type Row = IncomingReportRow;
    const TABLE: &'static str = "incoming_accounts";
    const COLUMNS: &'static str = "id, name, use_secure_connection, secure_connection_type, \
         protocol, port, automatic_check, keep_copy_on_server, folders, archive_folder, use_push, authentication";

    fn describe(&self, lang: Lang) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        name_filter(&mut out, lang, self.name_contains.as_deref());
        let l = |en, pt| lang.pick(en, pt);
        yes_no_filter(
            &mut out,
            lang,
            l("Secure connection", "Conexão segura"),
            self.secure_connection,
        );
        yes_no_filter(
            &mut out,
            lang,
            l("Automatic check", "Verificação automática"),
            self.automatic_check,
        );
        yes_no_filter(
            &mut out,
            lang,
            l("Keep copy", "Manter cópia"),
            self.keep_copy,
        );
        if let Some(s) = self.status {
            out.push(("Status", s.label(lang).to_owned()));
        }
        auth_method_filter(&mut out, lang, self.auth_method);
        out
    }

    fn conditions(&self) -> (Vec<&'static str>, Vec<Value>) {
        let (mut c, mut p) = (Vec::new(), Vec::new());
        push_name(&mut c, &mut p, self.name_contains.as_deref());
        push_flag(
            &mut c,
            &mut p,
            self.secure_connection,
            "use_secure_connection = ?",
        );
        push_flag(&mut c, &mut p, self.automatic_check, "automatic_check = ?");
        push_flag(&mut c, &mut p, self.keep_copy, "keep_copy_on_server = ?");
        push_flag(
            &mut c,
            &mut p,
            self.status.map(|s| s == Status::Enabled),
            "enabled = ?",
        );
        push_auth_method(&mut c, &mut p, self.auth_method);
        (c, p)
    }

    fn row(r: &SqlRow) -> Result<IncomingReportRow, StoreError> {
        let secure: bool = r.get::<_, i64>(2)? != 0;
        let kind = secure_type_from(&r.get::<_, String>(3)?)?;
        let security = Security::from_form(secure, kind);
        let protocol = protocol_from(&r.get::<_, String>(4)?)?;
        Ok(IncomingReportRow {
            id: r.get(0)?,
            name: r.get::<_, String>(1)?.trim().to_owned(),
            secure_connection: secure,
            connection_type: security.connection_type(),
            protocol,
            port: port_at(r, 5, default_port(protocol.into(), security))?,
            automatic_check: r.get::<_, i64>(6)? != 0,
            keep_copy_on_server: r.get::<_, i64>(7)? != 0,
            // Written by the store as a JSON array; an unreadable one shows as it is stored.
            folders: {
                let raw: String = r.get(8)?;
                serde_json::from_str::<Vec<String>>(&raw).unwrap_or_else(|_| vec![raw])
            },
            archive_folder: r.get(9)?,
            push: protocol == Protocol::Imap && r.get::<_, i64>(10)? != 0,
            authentication_method: auth_method_at(r, 11)?,
        })
    }
}

#[cfg(feature = "store")]
impl ReportQuery for SmtpReportFilter {
    type Row = SmtpReportRow;
    const TABLE: &'static str = "smtp_accounts";
    const COLUMNS: &'static str = "id, name, enabled, sender_email, host, port, \
         use_secure_connection, secure_connection_type, use_authentication, default_account, \
         authentication";

    fn describe(&self, lang: Lang) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        name_filter(&mut out, lang, self.name_contains.as_deref());
        let l = |en, pt| lang.pick(en, pt);
        yes_no_filter(
            &mut out,
            lang,
            l("Secure connection", "Conexão segura"),
            self.secure_connection,
        );
        if let Some(s) = self.status {
            out.push(("Status", s.label(lang).to_owned()));
        }
        yes_no_filter(
            &mut out,
            lang,
            l("Authentication", "Autenticação"),
            self.authentication,
        );
        yes_no_filter(&mut out, lang, l("Default", "Padrão"), self.default_account);
        auth_method_filter(&mut out, lang, self.auth_method);
        out
    }

    fn conditions(&self) -> (Vec<&'static str>, Vec<Value>) {
        let (mut c, mut p) = (Vec::new(), Vec::new());
        push_name(&mut c, &mut p, self.name_contains.as_deref());
        push_flag(
            &mut c,
            &mut p,
            self.secure_connection,
            "use_secure_connection = ?",
        );
        push_flag(
            &mut c,
            &mut p,
            self.status.map(|s| s == Status::Enabled),
            "enabled = ?",
        );
        push_flag(
            &mut c,
            &mut p,
            self.authentication,
            "use_authentication = ?",
        );
        push_flag(&mut c, &mut p, self.default_account, "default_account = ?");
        push_auth_method(&mut c, &mut p, self.auth_method);
        (c, p)
    }

    fn row(r: &SqlRow) -> Result<SmtpReportRow, StoreError> {
        let secure: bool = r.get::<_, i64>(6)? != 0;
        let kind = secure_type_from(&r.get::<_, String>(7)?)?;
        let security = Security::from_form(secure, kind);
        Ok(SmtpReportRow {
            id: r.get(0)?,
            name: r.get::<_, String>(1)?.trim().to_owned(),
            enabled: r.get::<_, i64>(2)? != 0,
            sender: r.get::<_, String>(3)?.trim().to_owned(),
            host: r.get::<_, String>(4)?.trim().to_owned(),
            port: port_at(r, 5, default_port(Service::Smtp, security))?,
            secure_connection: secure,
            connection_type: security.connection_type(),
            authentication: r.get::<_, i64>(8)? != 0,
            default_account: r.get::<_, i64>(9)? != 0,
            authentication_method: auth_method_at(r, 10)?,
        })
    }
}

// ----- authentication method (SPEC.md "OAuth2 clients and OAuth2 accounts") -----

#[cfg(feature = "store")]
fn push_auth_method(
    conds: &mut Vec<&'static str>,
    params: &mut Vec<Value>,
    method: Option<AuthenticationMethod>,
) {
    if let Some(m) = method {
        conds.push("authentication = ?");
        params.push(Value::Text(m.as_str().to_owned()));
    }
}

#[cfg(feature = "store")]
fn auth_method_filter(
    out: &mut Vec<(&'static str, String)>,
    lang: Lang,
    method: Option<AuthenticationMethod>,
) {
    if let Some(m) = method {
        out.push((
            lang.pick("Authentication method", "Método de autenticação"),
            m.as_str().to_owned(),
        ));
    }
}

#[cfg(feature = "store")]
fn auth_method_at(r: &SqlRow, i: usize) -> Result<AuthenticationMethod, StoreError> {
    let word = r.get::<_, String>(i)?;
    AuthenticationMethod::parse(&word).ok_or_else(|| StoreError::NotADatabase {
        path: PathBuf::new(),
        reason: format!("column authentication holds {word:?}"),
    })
}

// ----- end of authentication method -----

#[cfg(feature = "store")]
fn where_sql(conds: &[&str]) -> String {
    if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    }
}

#[cfg(feature = "store")]
fn page<Q: ReportQuery>(
    c: &mut dyn Sql,
    filter: &Q,
    request: PageRequest,
) -> Result<ReportPage<Q::Row>, StoreError> {
    let request = request.normalized();
    let (conds, params) = filter.conditions();
    let filter_sql = where_sql(&conds);
    let total: i64 = c
        .row(
            &format!("SELECT count(*) FROM {}{filter_sql}", Q::TABLE),
            &params,
        )?
        .map_or(Ok(0), |r| r.get(0))?;
    let mut page_params = params;
    page_params.push(Value::Int(i64::from(request.page_size)));
    page_params.push(Value::Int(request.offset()));
    let sql = format!(
        "SELECT {} FROM {}{filter_sql} ORDER BY id LIMIT ? OFFSET ?",
        Q::COLUMNS,
        Q::TABLE
    );
    let out = c
        .rows(&sql, &page_params)?
        .iter()
        .map(Q::row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ReportPage {
        rows: out,
        page: request.page,
        page_size: request.page_size,
        total: u64::try_from(total).unwrap_or(0),
    })
}

#[cfg(feature = "store")]
/// Calls `each` for every row of the filtered report, in id order, reading [`EXPORT_CHUNK`]
/// rows at a time and releasing the store between chunks.
fn for_each_row<Q: ReportQuery>(
    store: &Store,
    filter: &Q,
    mut each: impl FnMut(&Q::Row) -> io::Result<()>,
) -> Result<u64, StoreError> {
    let (mut conds, params) = filter.conditions();
    conds.push("id > ?");
    let sql = format!(
        "SELECT {} FROM {}{} ORDER BY id LIMIT {EXPORT_CHUNK}",
        Q::COLUMNS,
        Q::TABLE,
        where_sql(&conds)
    );
    let mut after: RecordId = i64::MIN;
    let mut count = 0u64;
    loop {
        let chunk = store.read_sql(|c| {
            let mut p = params.clone();
            p.push(Value::Int(after));
            c.rows(&sql, &p)?
                .iter()
                .map(|r| Ok((r.get::<_, RecordId>(0)?, Q::row(r)?)))
                .collect::<Result<Vec<_>, StoreError>>()
        })?;
        let Some((last, _)) = chunk.last() else { break };
        after = *last;
        let full = chunk.len() == EXPORT_CHUNK as usize;
        for (_, row) in &chunk {
            each(row)?;
            count += 1;
        }
        if !full {
            break;
        }
    }
    Ok(count)
}

/// Whether a spreadsheet would read `cell` as a formula (or strip its start).
fn formula_like(cell: &str) -> bool {
    matches!(
        cell.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r')
    )
}

/// Appends `cell` to `line` as an RFC 4180 field, neutralised against formula injection.
fn csv_cell(line: &mut String, cell: &str) {
    let neutral = formula_like(cell);
    let quote = cell.contains(['"', ',', '\r', '\n']);
    if quote {
        line.push('"');
    }
    if neutral {
        line.push('\'');
    }
    if quote {
        line.push_str(&cell.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(cell);
    }
}

fn csv_line<'a>(line: &mut String, cells: impl IntoIterator<Item = &'a str>) {
    line.clear();
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        csv_cell(line, cell);
    }
    line.push_str("\r\n");
}

#[cfg(feature = "store")]
fn write_csv<Q: ReportQuery>(
    store: &Store,
    filter: &Q,
    lang: Lang,
    options: CsvOptions,
    writer: impl Write,
) -> Result<u64, StoreError> {
    let mut w = io::BufWriter::new(writer);
    if options.bom {
        w.write_all(UTF8_BOM)?;
    }
    let mut line = String::new();
    csv_line(&mut line, Q::Row::labels(lang).iter().copied());
    w.write_all(line.as_bytes())?;
    let n = for_each_row(store, filter, |row| {
        let cells = row.cells(lang);
        csv_line(&mut line, cells.iter().map(String::as_str));
        w.write_all(line.as_bytes())
    })?;
    w.flush()?;
    Ok(n)
}

/// `&`, `<`, `>`, `"` and `'` as entities.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const HTML_STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:2em;color:#111}\
h1{font-size:1.4em;margin:0 0 .3em}\
p.meta{margin:.2em 0;color:#444;font-size:.9em}\
table{border-collapse:collapse;width:100%;margin-top:1em;font-size:.9em}\
th,td{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}\
th{background:#eee}\
td.num{text-align:right;font-variant-numeric:tabular-nums}\
tbody tr:nth-child(even){background:#f7f7f7}\
@media print{body{margin:0;font-size:10pt}thead{display:table-header-group}\
tr{break-inside:avoid;page-break-inside:avoid}tbody tr:nth-child(even){background:none}\
th{background:none;border-bottom:2px solid #000}}";

#[cfg(feature = "store")]
fn write_html<Q: ReportQuery>(
    store: &Store,
    filter: &Q,
    lang: Lang,
    generated_at: SystemTime,
    writer: impl Write,
) -> Result<u64, StoreError> {
    let mut w = io::BufWriter::new(writer);
    let title = html_escape(Q::Row::title(lang));
    let filters = filter.describe(lang);
    let filters_text = if filters.is_empty() {
        lang.pick("none", "nenhum").to_owned()
    } else {
        filters
            .iter()
            .map(|(label, value)| format!("{}: {}", html_escape(label), html_escape(value)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut head = String::new();
    let _ = write!(
        head,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n<style>{HTML_STYLE}</style>\n</head>\n<body>\n\
         <h1>{title}</h1>\n<p class=\"meta filters\">{}: {filters_text}</p>\n\
         <p class=\"meta generated\">{}: {}</p>\n<table>\n<thead><tr>",
        lang.as_str(),
        lang.pick("Filters", "Filtros"),
        lang.pick("Generated", "Gerado em"),
        format_utc(generated_at),
    );
    for label in Q::Row::labels(lang) {
        let _ = write!(head, "<th scope=\"col\">{}</th>", html_escape(label));
    }
    head.push_str("</tr></thead>\n<tbody>\n");
    w.write_all(head.as_bytes())?;
    let mut line = String::new();
    let n = for_each_row(store, filter, |row| {
        line.clear();
        line.push_str("<tr>");
        for (cell, numeric) in row.cells(lang).iter().zip(Q::Row::NUMERIC) {
            let class = if *numeric { " class=\"num\"" } else { "" };
            let _ = write!(line, "<td{class}>{}</td>", html_escape(cell));
        }
        line.push_str("</tr>\n");
        w.write_all(line.as_bytes())
    })?;
    let tail = format!(
        "</tbody>\n</table>\n<p class=\"meta total\">{}: {n}</p>\n</body>\n</html>\n",
        lang.pick("Rows", "Registros")
    );
    w.write_all(tail.as_bytes())?;
    w.flush()?;
    Ok(n)
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_utc(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Days to civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A page as an aligned text table for a terminal: header, rule, rows, and a line with the
/// page number and the total.
pub fn render_text<R: ReportRow>(page: &ReportPage<R>, lang: Lang) -> String {
    let labels = R::labels(lang);
    let rows: Vec<Vec<String>> = page.rows.iter().map(|r| r.cells(lang)).collect();
    // Control characters would break the table (a name with a newline): show them as spaces.
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    };
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| clean(c)).collect())
        .collect();
    let mut widths: Vec<usize> = labels.iter().map(|l| l.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let pad = width.saturating_sub(cell.chars().count());
            if R::NUMERIC.get(i).copied().unwrap_or(false) {
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut out, labels);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(
        &mut out,
        &rule.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    for r in &rows {
        line(&mut out, &r.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let _ = writeln!(
        out,
        "{} {} {} {} ({} {})",
        lang.pick("Page", "Página"),
        page.page,
        lang.pick("of", "de"),
        page.page_count().max(1),
        page.total,
        if page.total == 1 {
            lang.pick("row", "registro")
        } else {
            lang.pick("rows", "registros")
        },
    );
    out
}

#[cfg(feature = "store")]
impl Store {
    /// One page of the incoming (IMAP/POP3) report.
    pub fn incoming_report(
        &self,
        filter: &IncomingReportFilter,
        page_request: PageRequest,
    ) -> Result<ReportPage<IncomingReportRow>, StoreError> {
        self.read_sql(|c| page(c, filter, page_request))
    }

    /// One page of the SMTP report.
    pub fn smtp_report(
        &self,
        filter: &SmtpReportFilter,
        page_request: PageRequest,
    ) -> Result<ReportPage<SmtpReportRow>, StoreError> {
        self.read_sql(|c| page(c, filter, page_request))
    }

    /// The whole filtered incoming report as CSV (RFC 4180, UTF-8 without a byte-order mark,
    /// CRLF, a header of labels in `lang`, formula-like cells prefixed with `'`), streamed to
    /// `writer`. Returns the number of rows. Same as [`Store::write_incoming_csv_with`] with
    /// the default [`CsvOptions`].
    pub fn write_incoming_csv(
        &self,
        filter: &IncomingReportFilter,
        lang: Lang,
        writer: impl Write,
    ) -> Result<u64, StoreError> {
        self.write_incoming_csv_with(filter, lang, CsvOptions::default(), writer)
    }

    /// The whole filtered incoming report as CSV (see [`Store::write_incoming_csv`]), written
    /// as `options` say: `CsvOptions::default().bom(true)` starts it with the UTF-8
    /// byte-order mark, for Excel on Windows. Returns the number of rows.
    pub fn write_incoming_csv_with(
        &self,
        filter: &IncomingReportFilter,
        lang: Lang,
        options: CsvOptions,
        writer: impl Write,
    ) -> Result<u64, StoreError> {
        write_csv(self, filter, lang, options, writer)
    }

    /// The whole filtered SMTP report as CSV (see [`Store::write_incoming_csv`]), without a
    /// byte-order mark.
    pub fn write_smtp_csv(
        &self,
        filter: &SmtpReportFilter,
        lang: Lang,
        writer: impl Write,
    ) -> Result<u64, StoreError> {
        self.write_smtp_csv_with(filter, lang, CsvOptions::default(), writer)
    }

    /// The whole filtered SMTP report as CSV, written as `options` say (see
    /// [`Store::write_incoming_csv_with`]).
    pub fn write_smtp_csv_with(
        &self,
        filter: &SmtpReportFilter,
        lang: Lang,
        options: CsvOptions,
        writer: impl Write,
    ) -> Result<u64, StoreError> {
        write_csv(self, filter, lang, options, writer)
    }

    /// The whole filtered incoming report as a printable standalone HTML page (inline CSS with
    /// print rules, title, the filters applied, the table, `generated_at`), streamed to
    /// `writer`. Every text is HTML-escaped. Returns the number of rows.
    pub fn write_incoming_html(
        &self,
        filter: &IncomingReportFilter,
        lang: Lang,
        generated_at: SystemTime,
        writer: impl Write,
    ) -> Result<u64, StoreError> {
        write_html(self, filter, lang, generated_at, writer)
    }

    /// The whole filtered SMTP report as a printable HTML page (see
    /// [`Store::write_incoming_html`]).
    pub fn write_smtp_html(
        &self,
        filter: &SmtpReportFilter,
        lang: Lang,
        generated_at: SystemTime,
        writer: impl Write,
    ) -> Result<u64, StoreError> {
        write_html(self, filter, lang, generated_at, writer)
    }
}

// ----- for report schedules (crate::schedule) -----

#[cfg(feature = "store")]
impl IncomingReportFilter {
    /// The filters set, as (label, value) pairs in `lang`, as the HTML page lists them.
    pub fn describe_filters(&self, lang: Lang) -> Vec<(&'static str, String)> {
        ReportQuery::describe(self, lang)
    }
}

#[cfg(feature = "store")]
impl SmtpReportFilter {
    /// The filters set, as (label, value) pairs in `lang`, as the HTML page lists them.
    pub fn describe_filters(&self, lang: Lang) -> Vec<(&'static str, String)> {
        ReportQuery::describe(self, lang)
    }
}

// ----- end of report schedules -----

// ----- shared with the inbox report (crate::inbox::report) -----

/// A CSV export written row by row, exactly as the account reports write theirs (RFC 4180,
/// CRLF, formula-like cells neutralised, the optional byte-order mark).
pub(crate) struct CsvTable<W: Write> {
    w: io::BufWriter<W>,
    line: String,
}

impl<W: Write> CsvTable<W> {
    pub(crate) fn start(writer: W, options: CsvOptions, labels: &[&str]) -> io::Result<Self> {
        let mut w = io::BufWriter::new(writer);
        if options.bom {
            w.write_all(UTF8_BOM)?;
        }
        let mut line = String::new();
        csv_line(&mut line, labels.iter().copied());
        w.write_all(line.as_bytes())?;
        Ok(Self { w, line })
    }

    pub(crate) fn row(&mut self, cells: &[String]) -> io::Result<()> {
        csv_line(&mut self.line, cells.iter().map(String::as_str));
        self.w.write_all(self.line.as_bytes())
    }

    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// A printable HTML page written row by row, as the account reports write theirs.
pub(crate) struct HtmlTable<W: Write> {
    w: io::BufWriter<W>,
    lang: Lang,
    numeric: &'static [bool],
    line: String,
}

impl<W: Write> HtmlTable<W> {
    pub(crate) fn start(
        writer: W,
        lang: Lang,
        title: &str,
        filters: &[(&str, String)],
        generated_at: SystemTime,
        labels: &[&str],
        numeric: &'static [bool],
    ) -> io::Result<Self> {
        let mut w = io::BufWriter::new(writer);
        let title = html_escape(title);
        let filters_text = if filters.is_empty() {
            lang.pick("none", "nenhum").to_owned()
        } else {
            filters
                .iter()
                .map(|(label, value)| format!("{}: {}", html_escape(label), html_escape(value)))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let mut head = String::new();
        let _ = write!(
            head,
            "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>{title}</title>\n<style>{HTML_STYLE}</style>\n</head>\n<body>\n\
             <h1>{title}</h1>\n<p class=\"meta filters\">{}: {filters_text}</p>\n\
             <p class=\"meta generated\">{}: {}</p>\n<table>\n<thead><tr>",
            lang.as_str(),
            lang.pick("Filters", "Filtros"),
            lang.pick("Generated", "Gerado em"),
            format_utc(generated_at),
        );
        for label in labels {
            let _ = write!(head, "<th scope=\"col\">{}</th>", html_escape(label));
        }
        head.push_str("</tr></thead>\n<tbody>\n");
        w.write_all(head.as_bytes())?;
        Ok(Self {
            w,
            lang,
            numeric,
            line: String::new(),
        })
    }

    pub(crate) fn row(&mut self, cells: &[String]) -> io::Result<()> {
        self.line.clear();
        self.line.push_str("<tr>");
        for (i, cell) in cells.iter().enumerate() {
            let numeric = self.numeric.get(i).copied().unwrap_or(false);
            let class = if numeric { " class=\"num\"" } else { "" };
            let _ = write!(self.line, "<td{class}>{}</td>", html_escape(cell));
        }
        self.line.push_str("</tr>\n");
        self.w.write_all(self.line.as_bytes())
    }

    pub(crate) fn finish(mut self, rows: u64) -> io::Result<()> {
        let tail = format!(
            "</tbody>\n</table>\n<p class=\"meta total\">{}: {rows}</p>\n</body>\n</html>\n",
            self.lang.pick("Rows", "Registros")
        );
        self.w.write_all(tail.as_bytes())?;
        self.w.flush()
    }
}

// ----- end of the inbox report's share -----

#[cfg(test)]
#[cfg(feature = "store")]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3661); // 2000-02-29 01:01:01
        assert_eq!(format_utc(t), "2000-02-29 01:01:01 UTC");
        let t = UNIX_EPOCH + Duration::from_secs(1_763_779_680); // 2025-11-22 02:48:00
        assert_eq!(format_utc(t), "2025-11-22 02:48:00 UTC");
    }

    #[test]
    fn csv_cells() {
        let mut l = String::new();
        csv_line(
            &mut l,
            [
                "a",
                "b,c",
                "say \"hi\"",
                "=1+1",
                "-2",
                "@x",
                "\tt",
                "x\ny",
                "+\"q\"",
            ],
        );
        assert_eq!(
            l,
            "a,\"b,c\",\"say \"\"hi\"\"\",'=1+1,'-2,'@x,'\tt,\"x\ny\",\"'+\"\"q\"\"\"\r\n"
        );
    }

    /// A store with one incoming and one SMTP account whose names need UTF-8.
    fn accented_store() -> Store {
        use crate::model::{IncomingAccountForm, SmtpAccountForm};
        let store = Store::open_in_memory().unwrap();
        store
            .create_incoming(&IncomingAccountForm {
                name: "Conexão São Paulo".into(),
                host: "imap.example.com".into(),
                protocol: Some(Protocol::Imap),
                credential: Some("mailbox".into()),
                ..IncomingAccountForm::default()
            })
            .unwrap();
        store
            .create_smtp(&SmtpAccountForm {
                name: "Notificações".into(),
                host: "smtp.example.com".into(),
                sender_email: "noreply@example.com".into(),
                credential: Some("smtp-notify".into()),
                ..SmtpAccountForm::default()
            })
            .unwrap();
        store
    }

    #[test]
    fn csv_options_default_has_no_bom() {
        assert!(!CsvOptions::default().bom);
        assert!(CsvOptions::default().bom(true).bom);
        assert!(!CsvOptions::default().bom(true).bom(false).bom);
    }

    #[test]
    fn csv_bom_is_written_once_before_the_header() {
        let store = accented_store();
        let f = IncomingReportFilter::default();
        let mut plain = Vec::new();
        let mut default = Vec::new();
        let mut bom = Vec::new();
        assert_eq!(
            store
                .write_incoming_csv(&f, Lang::PtBr, &mut plain)
                .unwrap(),
            1
        );
        store
            .write_incoming_csv_with(&f, Lang::PtBr, CsvOptions::default(), &mut default)
            .unwrap();
        assert_eq!(
            store
                .write_incoming_csv_with(&f, Lang::PtBr, CsvOptions::default().bom(true), &mut bom)
                .unwrap(),
            1
        );
        assert!(
            plain.starts_with(b"ID,Nome,Conex\xC3\xA3o segura"),
            "{plain:?}"
        );
        assert_eq!(default, plain);
        assert_eq!(&bom[..3], [0xEF, 0xBB, 0xBF]);
        assert_eq!(&bom[3..], &plain[..]);
        let text = String::from_utf8(bom).unwrap();
        assert_eq!(text.matches('\u{FEFF}').count(), 1);
        assert!(text.contains("Conexão São Paulo"));
    }

    #[test]
    fn smtp_csv_bom_only_when_asked() {
        let store = accented_store();
        let f = SmtpReportFilter::default();
        let mut plain = Vec::new();
        let mut bom = Vec::new();
        store.write_smtp_csv(&f, Lang::PtBr, &mut plain).unwrap();
        store
            .write_smtp_csv_with(&f, Lang::PtBr, CsvOptions::default().bom(true), &mut bom)
            .unwrap();
        assert!(plain.starts_with(b"ID,Nome,Ativo"), "{plain:?}");
        assert_eq!(&bom[..3], UTF8_BOM);
        assert_eq!(&bom[3..], &plain[..]);
        assert!(String::from_utf8(plain).unwrap().contains("Notificações"));
    }
}
