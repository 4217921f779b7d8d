//! OAuth2 clients in the store (SPEC.md "OAuth2 clients and OAuth2 accounts"): the
//! `oauth2_clients` table, the accounts' `authentication` and `oauth2_client` columns, and
//! create/read/update/delete under the same optimistic versions as connectors. A client that
//! accounts use can be neither deleted nor disabled ([`StoreError::InUse`]), as for
//! connectors: an account may only use an enabled client, so the store stays exportable as a
//! valid document.

use super::backend::{Sql, SqlExt, SqlRow};
use super::records::Record;
use super::{by_name, get_row, list_rows, Store, StoreError, Stored};
use crate::model::{OAuth2ClientForm, OAuth2Grant, OAuth2ProviderKind, RecordId};
use crate::oauth2::OAuth2Client;
use crate::validate::{validate_oauth2_client, Field, Validation, ValidationContext};
use rusqlite::types::Value;

/// The migration that adds the table and the two account columns.
pub(crate) const DESCRIPTION: &str = "OAuth2 clients, and the accounts' authentication method";

/// Its SQL (the portable subset SQLite and PostgreSQL share). `grant` is an SQL keyword: the
/// column is `grant_type`. The accounts' `oauth2_client` has no `REFERENCES` clause (SQLite can
/// add one with `ALTER TABLE` but never drop the column again): the store keeps the references
/// whole itself, as validation checks every write and every import (`unknown_oauth2_client`)
/// and a client in use is never deleted.
pub(crate) const SQL: &str = r#"
CREATE TABLE oauth2_clients (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    provider TEXT NOT NULL CHECK (provider IN ('MICROSOFT', 'GOOGLE', 'CUSTOM')),
    tenant TEXT,
    client_id TEXT NOT NULL,
    client_secret_credential TEXT,
    grant_type TEXT NOT NULL CHECK (grant_type IN ('REFRESH_TOKEN', 'CLIENT_CREDENTIALS')),
    token_url TEXT,
    device_authorization_url TEXT,
    authorization_url TEXT,
    scopes TEXT NOT NULL
);
CREATE UNIQUE INDEX oauth2_clients_name_key ON oauth2_clients (name_key);

ALTER TABLE incoming_accounts ADD COLUMN authentication TEXT NOT NULL DEFAULT 'PASSWORD' CHECK (authentication IN ('PASSWORD', 'OAUTH2'));
ALTER TABLE incoming_accounts ADD COLUMN oauth2_client INTEGER;
CREATE INDEX incoming_accounts_oauth2_client ON incoming_accounts (oauth2_client);
ALTER TABLE smtp_accounts ADD COLUMN authentication TEXT NOT NULL DEFAULT 'PASSWORD' CHECK (authentication IN ('PASSWORD', 'OAUTH2'));
ALTER TABLE smtp_accounts ADD COLUMN oauth2_client INTEGER;
CREATE INDEX smtp_accounts_oauth2_client ON smtp_accounts (oauth2_client);
"#;

/// `KIND` of an OAuth2 client, for messages.
pub(crate) const KIND: &str = "OAuth2 client";

fn bad(column: &str, what: String) -> StoreError {
    StoreError::NotADatabase {
        path: std::path::PathBuf::new(),
        reason: format!("column {column} holds {what}"),
    }
}

fn opt_t(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::Text(s.to_owned()))
}

/// `PASSWORD` or `OAUTH2` from the accounts' column.
pub(crate) fn authentication_from(
    s: &str,
) -> Result<crate::model::AuthenticationMethod, StoreError> {
    crate::model::AuthenticationMethod::parse(s)
        .ok_or_else(|| bad("authentication", format!("{s:?}")))
}

impl Record for OAuth2ClientForm {
    const TABLE: &'static str = "oauth2_clients";
    const KIND: &'static str = KIND;
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "enabled",
        "provider",
        "tenant",
        "client_id",
        "client_secret_credential",
        "grant_type",
        "token_url",
        "device_authorization_url",
        "authorization_url",
        "scopes",
    ];
    const NAME_FIELD: Field = Field::OAuth2ClientName;

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
            Value::Text(self.name.clone()),
            Value::Integer(i64::from(self.enabled)),
            // Validated before any write: the provider is present.
            opt_t(self.provider.map(OAuth2ProviderKind::as_str)),
            opt_t(self.tenant.as_deref()),
            Value::Text(self.client_id.clone()),
            opt_t(self.client_secret_credential.as_deref()),
            Value::Text(self.grant.as_str().to_owned()),
            opt_t(self.token_url.as_deref()),
            opt_t(self.device_authorization_url.as_deref()),
            opt_t(self.authorization_url.as_deref()),
            Value::Text(serde_json::to_string(&self.scopes).unwrap_or_else(|_| "[]".to_owned())),
        ]
    }
    fn from_row(row: &SqlRow) -> Result<Self, StoreError> {
        let provider = row.get::<_, String>(4)?;
        let grant = row.get::<_, String>(8)?;
        let scopes = row.get::<_, String>(12)?;
        Ok(Self {
            id: Some(row.get(0)?),
            name: row.get(2)?,
            enabled: row.get::<_, i64>(3)? != 0,
            provider: Some(match provider.as_str() {
                "MICROSOFT" => OAuth2ProviderKind::Microsoft,
                "GOOGLE" => OAuth2ProviderKind::Google,
                "CUSTOM" => OAuth2ProviderKind::Custom,
                other => return Err(bad("provider", format!("{other:?}"))),
            }),
            tenant: row.get(5)?,
            client_id: row.get(6)?,
            client_secret_credential: row.get(7)?,
            grant: match grant.as_str() {
                "REFRESH_TOKEN" => OAuth2Grant::RefreshToken,
                "CLIENT_CREDENTIALS" => OAuth2Grant::ClientCredentials,
                other => return Err(bad("grant_type", format!("{other:?}"))),
            },
            token_url: row.get(9)?,
            device_authorization_url: row.get(10)?,
            authorization_url: row.get(11)?,
            scopes: serde_json::from_str(&scopes)
                .map_err(|_| bad("scopes", "not a JSON list of scopes".to_owned()))?,
        })
    }
    fn validate(&self, ctx: &ValidationContext<'_>) -> Validation {
        validate_oauth2_client(self, "", ctx)
    }
}

/// Every OAuth2 client, as the context account validation needs.
pub(crate) fn client_forms(c: &mut dyn Sql) -> Result<Vec<OAuth2ClientForm>, StoreError> {
    Ok(list_rows::<OAuth2ClientForm>(c)?
        .into_iter()
        .map(|s| s.record)
        .collect())
}

/// Refuses when accounts use OAuth2 client `id`.
fn refuse_if_used(c: &mut dyn Sql, id: RecordId) -> Result<(), StoreError> {
    let used_by = c
        .rows(
            "SELECT 'incoming account', id, name FROM incoming_accounts WHERE oauth2_client = ?1
             UNION ALL
             SELECT 'SMTP account', id, name FROM smtp_accounts WHERE oauth2_client = ?1
             ORDER BY 1, 2",
            &[id.into()],
        )?
        .iter()
        .map(|r| {
            Ok(format!(
                "{} {} \"{}\"",
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?.trim()
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    if used_by.is_empty() {
        Ok(())
    } else {
        Err(StoreError::InUse {
            kind: KIND,
            id,
            used_by,
        })
    }
}

impl Store {
    // ----- OAuth2 clients -----

    /// Creates an OAuth2 client. The store gives the id unless `form.id` is set (and free).
    pub fn create_oauth2_client(
        &self,
        form: &OAuth2ClientForm,
    ) -> Result<Stored<OAuth2ClientForm>, StoreError> {
        self.create(form, |_, _, _| Ok(()))
    }

    /// The OAuth2 client `id`, as a form.
    pub fn get_oauth2_client(&self, id: RecordId) -> Result<Stored<OAuth2ClientForm>, StoreError> {
        self.get(id)
    }

    /// The OAuth2 client named `name` (compared case-insensitively, trimmed);
    /// [`StoreError::NameNotFound`] when there is none.
    pub fn get_oauth2_client_by_name(
        &self,
        name: &str,
    ) -> Result<Stored<OAuth2ClientForm>, StoreError> {
        self.read_sql(|c| by_name(c, name))
    }

    /// Every OAuth2 client, by id.
    pub fn list_oauth2_clients(&self) -> Result<Vec<Stored<OAuth2ClientForm>>, StoreError> {
        self.list()
    }

    /// Replaces OAuth2 client `id` with `form` (whose `id` is ignored) if it is still at
    /// `expected_version`. Disabling a client that accounts use is refused
    /// ([`StoreError::InUse`]).
    pub fn update_oauth2_client(
        &self,
        id: RecordId,
        expected_version: i64,
        form: &OAuth2ClientForm,
    ) -> Result<Stored<OAuth2ClientForm>, StoreError> {
        self.update(id, expected_version, form, |c, _, form| {
            if form.enabled {
                Ok(())
            } else {
                refuse_if_used(c, id)
            }
        })
    }

    /// Deletes OAuth2 client `id` if it is still at `expected_version` and no account uses it.
    pub fn delete_oauth2_client(
        &self,
        id: RecordId,
        expected_version: i64,
    ) -> Result<(), StoreError> {
        self.delete::<OAuth2ClientForm>(id, expected_version, |c| refuse_if_used(c, id))
    }

    /// OAuth2 client `id`, validated into what the token manager takes, with whether it is
    /// enabled.
    pub fn oauth2_client(&self, id: RecordId) -> crate::Result<(OAuth2Client, bool)> {
        let form = self.read_sql(|c| {
            Ok(get_row::<OAuth2ClientForm>(c, id)?
                .ok_or(StoreError::NotFound { kind: KIND, id })?
                .record)
        })?;
        let client = OAuth2Client::from_form(&form).map_err(crate::Error::Validation)?;
        Ok((client, form.enabled))
    }
}

/// What the application layer binds a credential with: the OAuth2 client of the `OAUTH2`
/// account (incoming first, then SMTP) whose credential is `credential`, and that account's
/// network connector, if it uses one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuth2Binding {
    /// The client, as stored.
    pub client: OAuth2ClientForm,
    /// The account's connector, when it uses one.
    pub connector: Option<crate::model::NetworkConnectorForm>,
}

/// An `OAUTH2` account: (kind word, id, name, credential, client id).
#[cfg_attr(
    not(all(feature = "oauth2", feature = "check", feature = "collector")),
    allow(dead_code)
)]
pub(crate) type OAuth2AccountRow = (&'static str, RecordId, String, String, RecordId);

impl Store {
    /// The OAuth2 client (and connector) the `OAUTH2` account with `credential` signs in
    /// with; `None` when no `OAUTH2` account uses the credential.
    pub fn oauth2_binding(&self, credential: &str) -> Result<Option<OAuth2Binding>, StoreError> {
        self.read_sql(|c| {
            let row = c.row(
                "SELECT oauth2_client, network_connector FROM incoming_accounts \
                 WHERE credential = ?1 AND authentication = 'OAUTH2' AND oauth2_client IS NOT NULL \
                 UNION ALL \
                 SELECT oauth2_client, network_connector FROM smtp_accounts \
                 WHERE credential = ?1 AND authentication = 'OAUTH2' AND oauth2_client IS NOT NULL \
                 AND use_authentication = 1",
                &[credential.into()],
            )?;
            let Some(row) = row else { return Ok(None) };
            let client_id: RecordId = row.get(0)?;
            let connector_id: Option<RecordId> = row.get(1)?;
            let Some(client) = get_row::<OAuth2ClientForm>(c, client_id)? else {
                return Ok(None);
            };
            let connector = match connector_id {
                Some(id) => get_row::<crate::model::NetworkConnectorForm>(c, id)?.map(|s| s.record),
                None => None,
            };
            Ok(Some(OAuth2Binding {
                client: client.record,
                connector,
            }))
        })
    }

    /// Every `OAUTH2` account: (kind word, id, name, credential, client id), incoming first.
    #[cfg_attr(
        not(all(feature = "oauth2", feature = "check", feature = "collector")),
        allow(dead_code)
    )]
    pub(crate) fn oauth2_accounts(&self) -> Result<Vec<OAuth2AccountRow>, StoreError> {
        self.read_sql(|c| {
            c.rows(
                "SELECT 'incoming', id, name, credential, oauth2_client FROM incoming_accounts \
                 WHERE authentication = 'OAUTH2' AND oauth2_client IS NOT NULL \
                 UNION ALL \
                 SELECT 'smtp', id, name, credential, oauth2_client FROM smtp_accounts \
                 WHERE authentication = 'OAUTH2' AND oauth2_client IS NOT NULL \
                 AND use_authentication = 1 ORDER BY 1, 2",
                &[],
            )?
            .iter()
            .map(|r| {
                let kind: String = r.get(0)?;
                Ok((
                    if kind == "incoming" {
                        "incoming"
                    } else {
                        "smtp"
                    },
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    r.get(4)?,
                ))
            })
            .collect()
        })
    }
}
