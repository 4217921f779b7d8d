//! The seam between the store's SQL and the database that runs it: SQLite (rusqlite) or
//! PostgreSQL (the `postgres` crate).
//!
//! Code that must run on both backends talks to a [`Sql`] — one open transaction — with
//! SQL written once in the subset both dialects share, `?1`, `?2`… placeholders and
//! [`Value`]s (64-bit integers, text, bytes, NULL). The PostgreSQL side rewrites the
//! placeholders to `$1`, `$2`… ([`to_postgres_placeholders`]); column types follow the
//! schema translation in [`postgres_schema`] (`INTEGER` → `BIGINT`, `BLOB` → `BYTEA`,
//! `INTEGER PRIMARY KEY AUTOINCREMENT` → an identity column).
//!
//! What both dialects share and this seam relies on: `INSERT … ON CONFLICT (…) DO NOTHING` /
//! `DO UPDATE SET … WHERE …`, `RETURNING`, `count(*)`, partial unique indexes
//! (`CREATE UNIQUE INDEX … WHERE …`). What it avoids: `INSERT OR IGNORE`, `AUTOINCREMENT`
//! outside `CREATE TABLE`, `WITHOUT ROWID` (dropped for PostgreSQL), SQLite date functions
//! (time comes from [`Sql::now_ms`]), SQLite's `IS`/`IS NOT` between two values (write
//! `IS NOT DISTINCT FROM`, which the bundled SQLite, 3.46, has too). SQLite's
//! `instr(haystack, needle)` is translated to `strpos` (see [`to_postgres_placeholders`]).
//!
//! Writes that only touch the inbox and the collector's state (the collector's group commit,
//! its run and status records) go through `Store::write_data`: on SQLite the same
//! `BEGIN IMMEDIATE` as every write; on PostgreSQL a READ COMMITTED transaction *without* the
//! settings writers' lock, so that collectors on many nodes commit side by side. What keeps
//! them correct there is in the rows themselves: the ledger's primary key, the lease fence
//! (read `FOR SHARE` in the same transaction) and the inbox's foreign keys. A commit is
//! durable when it returns: every session runs with `synchronous_commit = on`.

use super::StoreError;
use std::borrow::Cow;

/// A value passed to or read from SQL, the same on both backends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// SQL NULL.
    Null,
    /// `INTEGER` (SQLite) / `BIGINT` (PostgreSQL); booleans are 0/1.
    Int(i64),
    /// `TEXT`.
    Text(String),
    /// `BLOB` (SQLite) / `BYTEA` (PostgreSQL).
    Blob(Vec<u8>),
}

impl Value {
    /// The integer, if it is one.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The text, if it is text.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<rusqlite::types::Value> for Value {
    fn from(v: rusqlite::types::Value) -> Self {
        use rusqlite::types::Value as V;
        match v {
            V::Null => Value::Null,
            V::Integer(i) => Value::Int(i),
            V::Real(f) => Value::Int(f as i64),
            V::Text(t) => Value::Text(t),
            V::Blob(b) => Value::Blob(b),
        }
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// A row read through the seam, with rusqlite's `row.get(i)` / `row.get::<_, T>(i)` shape,
/// so code reading rows reads the same on both backends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SqlRow(pub(crate) Vec<Value>);

/// A column index (only `usize`: the literal in `row.get(0)` infers to it).
pub(crate) trait RowIndex {
    /// The index.
    fn index(self) -> usize;
}

impl RowIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// A Rust value read from a column.
pub(crate) trait FromValue: Sized {
    /// The value, or why it cannot be one.
    fn from_value(v: &Value) -> Result<Self, String>;
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Result<Self, String> {
        v.as_i64()
            .ok_or_else(|| format!("{v:?} where an integer belongs"))
    }
}

macro_rules! narrow_int {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: &Value) -> Result<Self, String> {
                let n = i64::from_value(v)?;
                <$t>::try_from(n).map_err(|_| format!("{n} is out of range"))
            }
        }
    )*};
}
narrow_int!(i32, u32, u16, u64);

impl FromValue for bool {
    fn from_value(v: &Value) -> Result<Self, String> {
        Ok(i64::from_value(v)? != 0)
    }
}

impl FromValue for String {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            other => Err(format!("{other:?} where text belongs")),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            other => Err(format!("{other:?} where bytes belong")),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl SqlRow {
    /// Column `i` as a `T`.
    pub(crate) fn get<I: RowIndex, T: FromValue>(&self, i: I) -> Result<T, StoreError> {
        let i = i.index();
        let v = self.0.get(i).unwrap_or(&Value::Null);
        T::from_value(v).map_err(|why| StoreError::NotADatabase {
            path: std::path::PathBuf::new(),
            reason: format!("column {i} holds {why}"),
        })
    }

    /// Column `i` as it is.
    pub(crate) fn value(&self, i: usize) -> &Value {
        self.0.get(i).unwrap_or(&Value::Null)
    }
}

/// Rows and single rows, read as [`SqlRow`]s.
pub(crate) trait SqlExt: Sql {
    /// Every row.
    fn rows(&mut self, sql: &str, params: &[Value]) -> Result<Vec<SqlRow>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().map(SqlRow).collect())
    }
    /// The first row, if any.
    fn row(&mut self, sql: &str, params: &[Value]) -> Result<Option<SqlRow>, StoreError> {
        Ok(self.query_opt(sql, params)?.map(SqlRow))
    }
}

impl<S: Sql + ?Sized> SqlExt for S {}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}

/// Which SQL dialect a [`Sql`] speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite through rusqlite.
    Sqlite,
    /// PostgreSQL through the `postgres` crate.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres,
}

/// One open transaction on either backend.
pub(crate) trait Sql {
    /// The dialect, for the rare statement that must differ.
    fn dialect(&self) -> Dialect;
    /// Runs a statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError>;
    /// Runs a query; every row, as values in column order.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, StoreError>;
    /// The first row of a query, if any.
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Vec<Value>>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
    /// The database's clock in milliseconds since the Unix epoch. PostgreSQL answers with the
    /// server's clock (one clock for every node); SQLite, which only ever has the nodes of
    /// one machine, with the machine's.
    #[cfg_attr(not(feature = "collector"), allow(dead_code))]
    fn now_ms(&mut self) -> Result<i64, StoreError>;
}

/// The host's clock in milliseconds since the Unix epoch.
#[cfg_attr(not(feature = "collector"), allow(dead_code))]
pub(crate) fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

// ----- SQLite -----

impl Sql for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        sqlite_execute(self, sql, params)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, StoreError> {
        sqlite_query(self, sql, params)
    }

    fn now_ms(&mut self) -> Result<i64, StoreError> {
        Ok(system_now_ms())
    }
}

/// A rusqlite connection borrowed for the length of a transaction the caller opened (the
/// store's `read`/`write` closures hand out `&Connection`).
pub(crate) struct SqliteTx<'c>(pub(crate) &'c rusqlite::Connection);

impl Sql for SqliteTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        sqlite_execute(self.0, sql, params)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, StoreError> {
        sqlite_query(self.0, sql, params)
    }

    fn now_ms(&mut self) -> Result<i64, StoreError> {
        Ok(system_now_ms())
    }
}

fn to_sqlite(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match v {
        Value::Null => V::Null,
        Value::Int(i) => V::Integer(*i),
        Value::Text(s) => V::Text(s.clone()),
        Value::Blob(b) => V::Blob(b.clone()),
    }
}

fn sqlite_execute(
    c: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> Result<u64, StoreError> {
    let mut stmt = c.prepare_cached(sql)?;
    let params = rusqlite::params_from_iter(params.iter().map(to_sqlite));
    if stmt.column_count() > 0 {
        // A statement with RETURNING: run it as a query, count its rows.
        let mut rows = stmt.query(params)?;
        let mut n = 0;
        while rows.next()?.is_some() {
            n += 1;
        }
        return Ok(n);
    }
    Ok(stmt.execute(params)? as u64)
}

fn sqlite_query(
    c: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Vec<Value>>, StoreError> {
    use rusqlite::types::ValueRef;
    let mut stmt = c.prepare_cached(sql)?;
    let width = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter().map(to_sqlite)))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::Int(n),
                // Not in the schema; read as the integer part.
                ValueRef::Real(f) => Value::Int(f as i64),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        out.push(values);
    }
    Ok(out)
}

// ----- PostgreSQL -----

#[cfg(feature = "postgres")]
/// SQL NULL for a parameter of any type (the `postgres` crate checks a parameter's Rust type
/// against the column's; `Option<i64>::None` would be refused for a TEXT column).
#[derive(Debug)]
struct Null;

#[cfg(feature = "postgres")]
impl postgres::types::ToSql for Null {
    fn to_sql(
        &self,
        _: &postgres::types::Type,
        _: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(postgres::types::IsNull::Yes)
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

#[cfg(feature = "postgres")]
/// An integer parameter for any integer column (INT2/INT4/INT8, and BOOL as 0/1), checked
/// for range rather than refused for its width.
#[derive(Debug)]
struct Int(i64);

#[cfg(feature = "postgres")]
impl postgres::types::ToSql for Int {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::Type;
        match *ty {
            Type::INT2 => i16::try_from(self.0)?.to_sql(ty, out),
            Type::INT4 => i32::try_from(self.0)?.to_sql(ty, out),
            Type::BOOL => (self.0 != 0).to_sql(ty, out),
            _ => self.0.to_sql(ty, out),
        }
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        use postgres::types::Type;
        matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8 | Type::BOOL)
    }

    postgres::types::to_sql_checked!();
}

#[cfg(feature = "postgres")]
fn pg_params(params: &[Value]) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    params
        .iter()
        .map(|v| -> Box<dyn postgres::types::ToSql + Sync> {
            match v {
                Value::Null => Box::new(Null),
                Value::Int(i) => Box::new(Int(*i)),
                Value::Text(s) => Box::new(s.clone()),
                Value::Blob(b) => Box::new(b.clone()),
            }
        })
        .collect()
}

#[cfg(feature = "postgres")]
fn pg_row(row: &postgres::Row) -> Result<Vec<Value>, StoreError> {
    use postgres::types::Type;
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let v = match *col.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)?
                .map(|n| Value::Int(n.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)?
                .map(|n| Value::Int(n.into())),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)?
                .map(|b| Value::Int(b.into())),
            Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob),
            _ => row.try_get::<_, Option<String>>(i)?.map(Value::Text),
        };
        out.push(v.unwrap_or(Value::Null));
    }
    Ok(out)
}

/// Statements prepared on one PostgreSQL connection, by their SQL text (portable form), kept
/// with the connection in the pool: preparing is a round trip of its own, and the collector's
/// commit runs the same few statements for every message. Bounded: when full it is emptied.
#[cfg(feature = "postgres")]
#[derive(Default)]
pub(crate) struct StatementCache(std::collections::HashMap<String, postgres::Statement>);

/// Statements a connection keeps prepared at most.
#[cfg(feature = "postgres")]
const STATEMENT_CACHE: usize = 128;

/// One PostgreSQL transaction with its connection's prepared statements.
#[cfg(feature = "postgres")]
pub(crate) struct PgTx<'a> {
    pub(crate) tx: postgres::Transaction<'a>,
    pub(crate) statements: &'a mut StatementCache,
}

#[cfg(feature = "postgres")]
impl PgTx<'_> {
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, StoreError> {
        if let Some(s) = self.statements.0.get(sql) {
            return Ok(s.clone());
        }
        let stmt = self.tx.prepare(&to_postgres_placeholders(sql))?;
        if self.statements.0.len() >= STATEMENT_CACHE {
            self.statements.0.clear();
        }
        self.statements.0.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }
}

#[cfg(feature = "postgres")]
impl Sql for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let stmt = self.statement(sql)?;
        let boxed = pg_params(params);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            boxed.iter().map(|b| b.as_ref()).collect();
        Ok(self.tx.execute(&stmt, &refs)?)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, StoreError> {
        let stmt = self.statement(sql)?;
        let boxed = pg_params(params);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            boxed.iter().map(|b| b.as_ref()).collect();
        self.tx.query(&stmt, &refs)?.iter().map(pg_row).collect()
    }

    fn now_ms(&mut self) -> Result<i64, StoreError> {
        // clock_timestamp(), not now(): the time of the call, not of the transaction's start.
        let row = self.tx.query_one(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
            &[],
        )?;
        Ok(row.try_get(0)?)
    }
}

#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
/// A statement's portable SQL as PostgreSQL runs it: `?N` placeholders → `$N`, and SQLite's
/// `instr(haystack, needle)` → PostgreSQL's `strpos(haystack, needle)` (same arguments, same
/// answer: the 1-based position, 0 when absent), both outside string literals and quoted
/// identifiers. A bare `?` takes the next number after the largest so far, as in SQLite.
pub(crate) fn to_postgres_placeholders(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') && !sql.contains("instr(") {
        return Cow::Borrowed(sql);
    }
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.char_indices().peekable();
    let mut largest = 0u32;
    let mut prev: Option<char> = None;
    while let Some((at, ch)) = chars.next() {
        match quote {
            Some(q) => {
                out.push(ch);
                if ch == q {
                    quote = None;
                }
            }
            None if ch == '\'' || ch == '"' => {
                quote = Some(ch);
                out.push(ch);
            }
            None if ch == '?' => {
                let mut digits = String::new();
                while let Some((_, d)) = chars.peek().copied().filter(|(_, c)| c.is_ascii_digit()) {
                    digits.push(d);
                    chars.next();
                }
                let n = match digits.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => largest + 1,
                };
                largest = largest.max(n);
                out.push('$');
                out.push_str(&n.to_string());
            }
            None if ch == 'i' && sql[at..].starts_with("instr(") && !prev.is_some_and(ident) => {
                out.push_str("strpos(");
                for _ in 0.."nstr(".len() {
                    chars.next();
                }
            }
            None => out.push(ch),
        }
        prev = Some(ch);
    }
    Cow::Owned(out)
}

#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
/// A migration's portable SQL as PostgreSQL runs it:
/// - `INTEGER PRIMARY KEY AUTOINCREMENT`, and a column `id INTEGER PRIMARY KEY` (SQLite's
///   rowid alias), become `BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY`;
/// - every other `INTEGER` becomes `BIGINT` (SQLite integers are 64-bit);
/// - `BLOB` becomes `BYTEA`;
/// - `WITHOUT ROWID` is dropped (PostgreSQL tables have no rowid to drop);
/// - a column declared without a type (SQLite allows it; migration 1's `ca_file`) gets `TEXT`;
/// - a column's `REFERENCES …` clause (the rest of its line) gets `DEFERRABLE INITIALLY
///   IMMEDIATE`, so an import can defer the checks to its commit as SQLite's
///   `defer_foreign_keys` does.
///
/// Anything else passes through unchanged, so new migrations should keep to the shared
/// subset described in this module's docs; one that cannot gets its own PostgreSQL text in
/// `migrations::POSTGRES_OVERRIDES`.
pub(crate) fn postgres_schema(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 256);
    let mut in_table = false;
    for line in sql.lines() {
        let trimmed = line.trim();
        let upper = trimmed.to_ascii_uppercase();
        if upper.starts_with("CREATE TABLE") {
            in_table = true;
        }
        let mut line = line.to_owned();
        if in_table {
            // A bare column name: `name,` or `name` before the closing parenthesis.
            let bare = trimmed.trim_end_matches(',');
            if !bare.is_empty()
                && bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !upper.starts_with("CREATE")
            {
                line = line.replacen(bare, &format!("{bare} TEXT"), 1);
            }
        }
        if trimmed.starts_with(')') {
            in_table = false;
        }
        // References may be checked at commit (an import writes kinds in any order).
        if upper.contains(" REFERENCES ") {
            let (body, comma) = match line.strip_suffix(',') {
                Some(b) => (b.to_owned(), ","),
                None => (line.clone(), ""),
            };
            line = format!("{body} DEFERRABLE INITIALLY IMMEDIATE{comma}");
        }
        out.push_str(&line);
        out.push('\n');
    }
    let mut s = replace_word(
        &out,
        "INTEGER PRIMARY KEY AUTOINCREMENT",
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    );
    s = s.replace(
        " id INTEGER PRIMARY KEY,",
        " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,",
    );
    s = replace_word(&s, "INTEGER", "BIGINT");
    s = replace_word(&s, "BLOB", "BYTEA");
    s = s.replace(") WITHOUT ROWID;", ");");
    s
}

#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
/// Replaces `word` where it stands as a whole word (not inside an identifier).
fn replace_word(s: &str, word: &str, with: &str) -> String {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(word) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + word.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(ident) || after.is_some_and(ident) {
            out.push_str(word);
        } else {
            out.push_str(with);
        }
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_outside_quotes_only() {
        assert_eq!(
            to_postgres_placeholders("SELECT '?1', \"a?2\" FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT '?1', \"a?2\" FROM t WHERE a = $1 AND b = $12"
        );
        assert_eq!(to_postgres_placeholders("SELECT 1"), "SELECT 1");
        assert_eq!(
            to_postgres_placeholders("SELECT 'instr(' WHERE instr(a, ?1) > 0 AND xinstr(b) = 1"),
            "SELECT 'instr(' WHERE strpos(a, $1) > 0 AND xinstr(b) = 1"
        );
        assert_eq!(
            to_postgres_placeholders("VALUES (?, ?, ?)"),
            "VALUES ($1, $2, $3)"
        );
    }

    #[test]
    fn schema_translation() {
        let sql = "CREATE TABLE t (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,\n    n INTEGER NOT NULL,\n    b BLOB NOT NULL,\n    ca_file,\n    big_integer_col TEXT\n);\nCREATE TABLE u (\n    id INTEGER PRIMARY KEY,\n    k TEXT,\n    PRIMARY KEY (id, k)\n) WITHOUT ROWID;\n";
        let pg = postgres_schema(sql);
        assert!(
            pg.contains(
                "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n    n BIGINT NOT NULL"
            ),
            "{pg}"
        );
        assert!(pg.contains("b BYTEA NOT NULL"), "{pg}");
        assert!(pg.contains("ca_file TEXT,"), "{pg}");
        assert!(pg.contains("big_integer_col TEXT"), "{pg}");
        assert!(pg.contains("PRIMARY KEY (id, k)\n);"), "{pg}");
        assert!(!pg.contains("INTEGER"), "{pg}");
    }
}
