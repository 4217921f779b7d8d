//! The settings document: the interchange form of a whole set of settings, as JSON or TOML
//! with the same shape (docs/SETTINGS.md "Settings document"). Secrets are never part of it.
//!
//! Reading never panics; unknown fields and wrong types are [`ParseError`]s with line and
//! column. Values a person could type out of range (a port of 70000) parse, and are then
//! reported by [`crate::validate::validate_document`].

use crate::model::{IncomingAccountForm, NetworkConnectorForm, OAuth2ClientForm, SmtpAccountForm};
use crate::schedule::ReportScheduleForm;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io;
use std::path::Path;

pub(crate) use crate::files::{line_col, read_regular_file};

/// The largest settings document [`SettingsDocument::read_file`] reads (16 MiB: thousands of
/// accounts fit in a few hundred KiB).
pub const MAX_DOCUMENT_BYTES: u64 = 16 << 20;

/// The UTF-8 byte-order mark some editors (Notepad, Excel) put at the start of a file.
const BOM: char = '\u{feff}';

/// The only document version this library reads and writes.
pub const DOCUMENT_VERSION: u32 = 1;

/// A whole set of settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsDocument {
    /// Always [`DOCUMENT_VERSION`].
    pub version: u32,
    /// Network connectors (proxies).
    #[serde(default)]
    pub network_connectors: Vec<NetworkConnectorForm>,
    /// OAuth2 clients (SPEC.md "OAuth2 clients and OAuth2 accounts"); absent from documents
    /// that have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oauth2_clients: Vec<OAuth2ClientForm>,
    /// Incoming (IMAP/POP3) accounts.
    #[serde(default)]
    pub incoming_accounts: Vec<IncomingAccountForm>,
    /// Outgoing (SMTP) accounts.
    #[serde(default)]
    pub smtp_accounts: Vec<SmtpAccountForm>,
    /// Report schedules (SPEC.md "Report schedules"); absent from documents that have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub report_schedules: Vec<ReportScheduleForm>,
    /// Days the collection journal keeps an entry (SPEC.md "Collection journal"), 1–3650;
    /// absent means the default, 90 ([`crate::journal::DEFAULT_RETENTION_DAYS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_retention_days: Option<u32>,
}

impl Default for SettingsDocument {
    fn default() -> Self {
        Self {
            version: DOCUMENT_VERSION,
            network_connectors: Vec::new(),
            oauth2_clients: Vec::new(),
            incoming_accounts: Vec::new(),
            smtp_accounts: Vec::new(),
            report_schedules: Vec::new(),
            journal_retention_days: None,
        }
    }
}

/// JSON or TOML.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// JSON.
    Json,
    /// TOML.
    Toml,
}

impl Format {
    /// By file extension: `.toml` is TOML, anything else JSON.
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("toml") => Format::Toml,
            _ => Format::Json,
        }
    }

    /// `json` or `toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Toml => "toml",
        }
    }
}

/// A document that could not be read. Line and column are 1-based; 0 when unknown.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{format} document, line {line}, column {column}: {message}")]
pub struct ParseError {
    /// `json` or `toml`.
    pub format: &'static str,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Why [`SettingsDocument::read_file`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadFileError {
    /// The file could not be read: missing, not permitted, not a regular file (a FIFO, a
    /// device), too large, not UTF-8.
    #[error("{0}")]
    Io(io::Error),
    /// The file was read but is not a settings document.
    #[error("{0}")]
    Parse(ParseError),
}

impl SettingsDocument {
    /// Reads a document. A UTF-8 byte-order mark at the start is skipped (JSON and TOML).
    pub fn parse(text: &str, format: Format) -> Result<Self, ParseError> {
        let text = text.strip_prefix(BOM).unwrap_or(text);
        let doc: Self = match format {
            Format::Json => serde_json::from_str(text).map_err(|e| ParseError {
                format: "json",
                line: e.line(),
                column: e.column(),
                message: strip_position(&e.to_string()),
            })?,
            Format::Toml => toml::from_str(text).map_err(|e| {
                let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
                ParseError {
                    format: "toml",
                    line,
                    column,
                    message: e.message().to_owned(),
                }
            })?,
        };
        if doc.version != DOCUMENT_VERSION {
            let (line, column) = version_position(text);
            return Err(ParseError {
                format: format.as_str(),
                line,
                column,
                message: format!(
                    "unsupported version {}: this library reads version {DOCUMENT_VERSION}",
                    doc.version
                ),
            });
        }
        Ok(doc)
    }

    /// Reads the document in the file at `path`, in `format` (or by extension, see
    /// [`Format::from_path`]). Only a regular file of at most [`MAX_DOCUMENT_BYTES`] is read: a
    /// FIFO or a device is refused at once instead of blocking or reading forever.
    pub fn read_file(path: &Path, format: Option<Format>) -> Result<Self, ReadFileError> {
        let text = read_regular_file(path, MAX_DOCUMENT_BYTES).map_err(ReadFileError::Io)?;
        Self::parse(&text, format.unwrap_or_else(|| Format::from_path(path)))
            .map_err(ReadFileError::Parse)
    }

    /// Reads a JSON document.
    pub fn from_json(text: &str) -> Result<Self, ParseError> {
        Self::parse(text, Format::Json)
    }

    /// Reads a TOML document.
    pub fn from_toml(text: &str) -> Result<Self, ParseError> {
        Self::parse(text, Format::Toml)
    }

    /// Writes the document (pretty JSON, or TOML).
    pub fn to_string(&self, format: Format) -> String {
        match format {
            Format::Json => serde_json::to_string_pretty(self)
                .unwrap_or_else(|e| unreachable_serialize(e.to_string())),
            Format::Toml => toml::to_string_pretty(self)
                .unwrap_or_else(|e| unreachable_serialize(e.to_string())),
        }
    }

    /// Writes pretty JSON.
    pub fn to_json(&self) -> String {
        self.to_string(Format::Json)
    }

    /// Writes TOML.
    pub fn to_toml(&self) -> String {
        self.to_string(Format::Toml)
    }
}

/// Serializing these plain structs cannot fail (no maps with non-string keys, no NaN); if it
/// ever did, an empty document is safer than a panic in a host application.
fn unreachable_serialize(reason: String) -> String {
    tracing::error!(%reason, "settings document could not be serialized");
    String::new()
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

fn version_position(text: &str) -> (usize, usize) {
    text.find("version").map_or((1, 1), |i| line_col(text, i))
}

impl fmt::Display for SettingsDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "settings document v{}: {} network connectors, {} incoming accounts, {} SMTP accounts",
            self.version,
            self.network_connectors.len(),
            self.incoming_accounts.len(),
            self.smtp_accounts.len()
        )
    }
}
