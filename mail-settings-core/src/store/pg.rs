//! The PostgreSQL side of the store: connecting (TLS through native-tls, the password from
//! the environment or a password file), a small connection pool, and the schema migrations
//! with a version table.
//!
//! The schema is the one the SQLite file has: every migration in `migrations.rs`, turned into
//! PostgreSQL by `backend::postgres_schema` (or taken from
//! `migrations::POSTGRES_OVERRIDES`). The version lives in the table `mail_settings_schema`
//! (`application_id`, `version`): a database with tables of its own and without that table is
//! another application's, and is refused untouched. Migrations run one transaction each under
//! a transaction-level advisory lock, so nodes starting at once migrate once.
//!
//! Transactions run at READ COMMITTED with explicit row locks where a read decides a write
//! (the leases' `FOR UPDATE`, the schedules' claim by primary key), the equivalent of SQLite's
//! `BEGIN IMMEDIATE` for the rows that matter without serialising every writer.
//!
//! Each pooled connection keeps the statements it prepared (`backend::StatementCache`, up to
//! 128), so a statement run again — the collector's commit runs the same few for every
//! message — costs one round trip, not two.
//!
//! Every session gets `statement_timeout` and `lock_timeout` (30 s and 10 s), so no call
//! waits without end on the server; connecting is bounded by the URL's `connect_timeout`.
//! Every session also sets `synchronous_commit = on` whatever the server's default: a commit
//! has returned only once its WAL record is flushed, which is what the collector relies on
//! before it removes a message from the mail server.

use super::backend::{postgres_schema, PgTx, Sql, StatementCache};
use super::location::{PgTls, PostgresLocation};
use super::migrations::{self, APPLICATION_ID, SCHEMA_VERSION};
use super::StoreError;
use secrecy::ExposeSecret;
use std::sync::{Mutex, PoisonError};

/// How many idle connections the pool keeps.
const POOL_IDLE: usize = 8;

/// Largest CA file read for `sslrootcert=`.
const MAX_CA_FILE: u64 = 1024 * 1024;

/// A PostgreSQL database holding a mail-settings store: its location and a small pool of
/// connections. `Send + Sync`; each `PostgresDb::transaction` takes one connection.
pub struct PostgresDb {
    location: PostgresLocation,
    config: postgres::Config,
    tls: Option<postgres_native_tls::MakeTlsConnector>,
    idle: Mutex<Vec<(postgres::Client, StatementCache)>>,
}

impl std::fmt::Debug for PostgresDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresDb")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl PostgresDb {
    /// Connects to the database at `location` and brings its schema to [`SCHEMA_VERSION`]
    /// (creating it in an empty database). Refuses another application's database
    /// ([`StoreError::NotADatabase`]) and a newer schema ([`StoreError::SchemaTooNew`]).
    pub fn open(location: &PostgresLocation) -> Result<Self, StoreError> {
        let mut config = postgres::Config::new();
        config
            .host(&location.host)
            .port(location.port)
            .user(&location.user)
            .dbname(&location.dbname)
            .application_name(&location.application_name)
            .connect_timeout(location.connect_timeout)
            .options("-c statement_timeout=30000 -c lock_timeout=10000 -c synchronous_commit=on");
        if let Some(p) = location.password() {
            config.password(p.expose_secret());
        }
        let tls = match location.tls {
            PgTls::Disable => {
                config.ssl_mode(postgres::config::SslMode::Disable);
                None
            }
            PgTls::Require => {
                config.ssl_mode(postgres::config::SslMode::Require);
                let mut builder = native_tls::TlsConnector::builder();
                if let Some(ca) = &location.root_cert {
                    use std::io::Read;
                    let mut pem = Vec::new();
                    std::fs::File::open(ca)?
                        .take(MAX_CA_FILE)
                        .read_to_end(&mut pem)?;
                    let cert = native_tls::Certificate::from_pem(&pem).map_err(|e| {
                        StoreError::Io(std::io::Error::other(format!(
                            "sslrootcert {}: {e}",
                            ca.display()
                        )))
                    })?;
                    builder.add_root_certificate(cert);
                }
                let connector = builder
                    .build()
                    .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?;
                Some(postgres_native_tls::MakeTlsConnector::new(connector))
            }
        };
        let db = PostgresDb {
            location: location.clone(),
            config,
            tls,
            idle: Mutex::new(Vec::new()),
        };
        let mut client = db.connect()?;
        migrate(&mut client, &db.location)?;
        db.put_back((client, StatementCache::default()));
        tracing::debug!(location = %db.location, schema = SCHEMA_VERSION, "store open (PostgreSQL)");
        Ok(db)
    }

    /// The location, whose `Display` hides the password.
    pub fn location(&self) -> &PostgresLocation {
        &self.location
    }

    fn connect(&self) -> Result<postgres::Client, StoreError> {
        let client = match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(postgres::NoTls),
        };
        client.map_err(|e| StoreError::PostgresConnect {
            location: self.location.redacted(),
            source: e,
        })
    }

    fn take(&self) -> Result<(postgres::Client, StatementCache), StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(c) if !c.0.is_closed() => Ok(c),
            _ => Ok((self.connect()?, StatementCache::default())),
        }
    }

    fn put_back(&self, client: (postgres::Client, StatementCache)) {
        if client.0.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < POOL_IDLE {
            idle.push(client);
        }
    }

    /// Runs `f` in one transaction (READ COMMITTED), committed only if `f` succeeds. A broken
    /// connection is dropped, not pooled.
    pub(crate) fn transaction<R>(
        &self,
        f: impl FnOnce(&mut dyn Sql) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let (mut client, mut statements) = self.take()?;
        let result = (|| {
            let mut tx = PgTx {
                tx: client.transaction()?,
                statements: &mut statements,
            };
            let r = f(&mut tx)?;
            tx.tx.commit()?;
            Ok(r)
        })();
        self.put_back((client, statements));
        result
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.transaction(|tx| {
            Ok(tx
                .query_opt("SELECT version FROM mail_settings_schema", &[])?
                .and_then(|r| r.first().and_then(|v| v.as_i64()))
                .unwrap_or(0))
        })
    }
}

/// Applies every migration newer than the database's version, each in its own transaction
/// under an advisory lock.
fn migrate(client: &mut postgres::Client, location: &PostgresLocation) -> Result<(), StoreError> {
    let shown = || std::path::PathBuf::from(location.redacted());
    {
        let mut tx = client.transaction()?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&i64::from(APPLICATION_ID)],
        )?;
        let has_table: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'mail_settings_schema')",
                &[],
            )?
            .try_get(0)?;
        if !has_table {
            let others: i64 = tx
                .query_one(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
                    &[],
                )?
                .try_get(0)?;
            if others > 0 {
                return Err(StoreError::NotADatabase {
                    path: shown(),
                    reason: "it is another application's database (it has tables but no mail_settings_schema)".into(),
                });
            }
            tx.batch_execute(
                "CREATE TABLE mail_settings_schema (
                    application_id BIGINT NOT NULL,
                    version BIGINT NOT NULL
                 )",
            )?;
            tx.execute(
                "INSERT INTO mail_settings_schema (application_id, version) VALUES ($1, 0)",
                &[&i64::from(APPLICATION_ID)],
            )?;
        }
        let row = tx.query_one(
            "SELECT application_id, version FROM mail_settings_schema",
            &[],
        )?;
        let (app, version): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        if app != i64::from(APPLICATION_ID) {
            return Err(StoreError::NotADatabase {
                path: shown(),
                reason: format!("its mail_settings_schema names application {app:#010x}"),
            });
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        tx.commit()?;
    }
    for m in migrations::MIGRATIONS {
        let fail = |e: StoreError| StoreError::MigrationFailed {
            version: m.version,
            description: m.description,
            reason: e.to_string(),
        };
        let run = |client: &mut postgres::Client| -> Result<bool, StoreError> {
            let mut tx = client.transaction()?;
            tx.execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[&i64::from(APPLICATION_ID)],
            )?;
            let current: i64 = tx
                .query_one("SELECT version FROM mail_settings_schema", &[])?
                .try_get(0)?;
            if current >= m.version {
                return Ok(false);
            }
            let sql = migrations::postgres_sql(m).unwrap_or_else(|| postgres_schema(m.sql));
            tx.batch_execute(&sql)?;
            tx.execute(
                "UPDATE mail_settings_schema SET version = $1",
                &[&m.version],
            )?;
            tx.commit()?;
            Ok(true)
        };
        if run(client).map_err(fail)? {
            tracing::info!(
                version = m.version,
                description = m.description,
                "store schema migrated (PostgreSQL)"
            );
        }
    }
    Ok(())
}

/// A fresh PostgreSQL database per test on the local test server (tests/servers/postgres),
/// or `None` with a message when no server answers (a bare `cargo test`). With
/// `MS_REQUIRE_POSTGRES=1` (the test command sets it) a missing server fails the test.
#[cfg(test)]
pub(crate) mod test_support {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    impl PostgresDb {
        /// A clear-text connection's config to `loc` (test set-up only).
        pub(crate) fn open_config_for_test(loc: &PostgresLocation) -> postgres::Config {
            let mut c = postgres::Config::new();
            c.host(&loc.host)
                .port(loc.port)
                .user(&loc.user)
                .dbname(&loc.dbname)
                .password(loc.password().unwrap().expose_secret())
                .ssl_mode(postgres::config::SslMode::Disable);
            c
        }
    }

    fn ports_env() -> std::collections::HashMap<String, String> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/servers/ports.env");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect()
    }

    /// The URL of database `db` on the test server (password from its password file).
    pub(crate) fn url(db: &str) -> Option<String> {
        let env = ports_env();
        let dir = std::env::var("MS_SERVERS_DIR")
            .ok()
            .or_else(|| env.get("MS_SERVERS_DIR").cloned())?;
        let port = env.get("MS_POSTGRES_PORT")?;
        let user = env.get("MS_POSTGRES_USER")?;
        Some(format!(
            "postgres://{user}@localhost:{port}/{db}?sslrootcert={dir}/certs/ca.pem&passfile={dir}/postgres/pgpass&connect_timeout=5"
        ))
    }

    /// A test database: dropped (with `WITH (FORCE)`, closing what still holds it) when this
    /// is dropped, so test runs leave nothing behind on the cluster.
    pub(crate) struct TestDb {
        location: PostgresLocation,
        admin: PostgresLocation,
    }

    impl std::ops::Deref for TestDb {
        type Target = PostgresLocation;
        fn deref(&self) -> &PostgresLocation {
            &self.location
        }
    }

    impl Drop for TestDb {
        fn drop(&mut self) {
            drop_database(&self.admin, &self.location.dbname);
        }
    }

    /// A test database opened as a store; the database is dropped after the store.
    pub(crate) struct TestPg {
        db: Option<PostgresDb>,
        _guard: TestDb,
    }

    impl std::ops::Deref for TestPg {
        type Target = PostgresDb;
        fn deref(&self) -> &PostgresDb {
            self.db.as_ref().expect("open until dropped")
        }
    }

    impl Drop for TestPg {
        fn drop(&mut self) {
            // The pool's connections close first; the guard then drops the database.
            self.db.take();
        }
    }

    fn admin_db(admin: &PostgresLocation) -> PostgresDb {
        PostgresDb {
            location: admin.clone(),
            config: PostgresDb::open_config_for_test(admin),
            tls: None,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Drops database `name` (a test's); a failure is only reported (a test's result does not
    /// depend on it).
    pub(crate) fn drop_database(admin: &PostgresLocation, name: &str) {
        let dropped = admin_db(admin).connect().and_then(|mut c| {
            c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .map_err(StoreError::from)
        });
        if let Err(e) = dropped {
            eprintln!("could not drop the test database {name}: {e}");
        }
    }

    /// A new, empty database, opened as a store (migrated); `None` when there is no server.
    pub(crate) fn fresh(test: &str) -> Option<TestPg> {
        fresh_location(test).map(|loc| TestPg {
            db: Some(PostgresDb::open(&loc).expect("open the test database")),
            _guard: loc,
        })
    }

    /// A new, empty database's location (not opened), dropped when the [`TestDb`] is.
    pub(crate) fn fresh_location(test: &str) -> Option<TestDb> {
        static N: AtomicU32 = AtomicU32::new(0);
        let required = std::env::var("MS_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
        let admin = url("postgres").map(|u| PostgresLocation::parse(&u).unwrap());
        let reachable = admin
            .as_ref()
            .is_some_and(|a| std::net::TcpStream::connect(("127.0.0.1", a.port)).is_ok());
        if !reachable {
            assert!(
                !required,
                "MS_REQUIRE_POSTGRES=1 but the test PostgreSQL does not answer (bash tests/servers/start.sh)"
            );
            eprintln!(
                "skipped {test}: no test PostgreSQL (bash tests/servers/start.sh starts one)"
            );
            return None;
        }
        let admin = admin.unwrap();
        let name = format!(
            "ms_{}_{}_{}",
            test.chars()
                .filter(char::is_ascii_alphanumeric)
                .take(24)
                .collect::<String>()
                .to_ascii_lowercase(),
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut client = admin_db(&admin)
            .connect()
            .expect("connect to the test PostgreSQL");
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .expect("drop a leftover test database");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test database");
        Some(TestDb {
            location: PostgresLocation::parse(&url(&name).unwrap()).unwrap(),
            admin,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::test_support::{fresh, fresh_location, url};
    use super::*;
    use crate::model::SmtpAccountForm;
    use crate::store::backend::Value;
    use crate::store::records::{self, Record};
    use crate::validate::name_key;

    /// Inserts an SMTP account row with the store's own INSERT (through the seam).
    fn insert_smtp(
        tx: &mut dyn Sql,
        id: i64,
        name: &str,
        default: bool,
    ) -> Result<u64, StoreError> {
        let form = SmtpAccountForm {
            name: name.into(),
            sender_email: "a@example.test".into(),
            host: "smtp.example.test".into(),
            default_account: default,
            ..SmtpAccountForm::default()
        };
        let mut values: Vec<Value> = vec![id.into(), 1.into(), name_key(name).into()];
        values.extend(form.values().into_iter().map(Value::from));
        tx.execute(&records::insert_sql::<SmtpAccountForm>(), &values)
    }

    #[test]
    fn an_empty_database_is_migrated_through_every_migration_once() {
        let Some(loc) = fresh_location("migrate") else {
            return;
        };
        // Nodes starting at once: each opens, the advisory lock makes one migrate.
        let opened: Vec<_> = (0..4)
            .map(|_| {
                let loc = loc.clone();
                std::thread::spawn(move || PostgresDb::open(&loc).map(|db| db.schema_version()))
            })
            .collect();
        for t in opened {
            assert_eq!(t.join().unwrap().unwrap().unwrap(), SCHEMA_VERSION);
        }
        let db = PostgresDb::open(&loc).unwrap();
        assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
        let tables = db
            .transaction(|tx| {
                tx.query(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1",
                    &[],
                )
            })
            .unwrap();
        let names: Vec<_> = tables
            .iter()
            .map(|r| r[0].as_str().unwrap().to_owned())
            .collect();
        for t in [
            "incoming_accounts",
            "smtp_accounts",
            "network_connectors",
            "inbox_messages",
            "inbox_chunks",
            "report_schedule_periods",
            "collector_leases",
            "collector_lease_log",
            "mail_settings_schema",
        ] {
            assert!(names.iter().any(|n| n == t), "{t} missing: {names:?}");
        }
    }

    #[test]
    fn at_most_one_default_smtp_account_is_held_by_the_database() {
        let Some(db) = fresh("onedefault") else {
            return;
        };
        db.transaction(|tx| insert_smtp(tx, 1, "First", true))
            .unwrap();
        db.transaction(|tx| insert_smtp(tx, 2, "Second", false))
            .unwrap();
        let err = db
            .transaction(|tx| insert_smtp(tx, 3, "Third", true))
            .unwrap_err();
        assert!(
            err.to_string().contains("smtp_accounts_one_default"),
            "{err}"
        );
        // Duplicate names too (the UNIQUE name_key index).
        let err = db
            .transaction(|tx| insert_smtp(tx, 4, " first ", false))
            .unwrap_err();
        assert!(err.to_string().contains("smtp_accounts_name_key"), "{err}");
        // The failed transactions left nothing behind; the rows read back through the seam.
        let rows = db
            .transaction(|tx| {
                tx.query(
                    "SELECT id, default_account, name FROM smtp_accounts WHERE id >= ?1 ORDER BY id",
                    &[1.into()],
                )
            })
            .unwrap();
        assert_eq!(
            rows,
            vec![
                vec![Value::Int(1), Value::Int(1), Value::Text("First".into())],
                vec![Value::Int(2), Value::Int(0), Value::Text("Second".into())],
            ]
        );
    }

    #[test]
    fn another_applications_database_is_refused_untouched() {
        let Some(loc) = fresh_location("otherapp") else {
            return;
        };
        let admin = PostgresDb {
            location: loc.clone(),
            config: PostgresDb::open_config_for_test(&loc),
            tls: None,
            idle: Mutex::new(Vec::new()),
        };
        // (`loc` is the test's database; `admin` here connects to it, not to `postgres`.)
        admin
            .connect()
            .unwrap()
            .batch_execute("CREATE TABLE customers (id BIGINT)")
            .unwrap();
        let err = PostgresDb::open(&loc).unwrap_err();
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
        let n: i64 = admin
            .connect()
            .unwrap()
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "nothing was created");
    }

    #[test]
    fn tls_is_verified_and_the_password_never_shows() {
        let Some(loc) = fresh_location("tls") else {
            return;
        };
        // Without the test CA the server's certificate is not trusted: refused, no fallback.
        let mut untrusted = loc.clone();
        untrusted.root_cert = None;
        let err = PostgresDb::open(&untrusted).unwrap_err();
        assert!(matches!(err, StoreError::PostgresConnect { .. }), "{err}");
        // A wrong password: refused, and neither password is in the message.
        let text = url(&loc.dbname)
            .unwrap()
            .replace("postgres://mspg@", "postgres://mspg:Wrong-Secret-1@");
        let wrong = PostgresLocation::parse(&text).unwrap();
        let err = PostgresDb::open(&wrong).unwrap_err().to_string();
        assert!(!err.contains("Wrong-Secret-1"), "{err}");
        assert!(err.contains("postgres://mspg@localhost"), "{err}");
        let right = loc.password().unwrap();
        assert!(!err.contains(right.expose_secret()), "{err}");
        // With the CA, over TLS: the session is encrypted.
        let db = PostgresDb::open(&loc).unwrap();
        let ssl = db
            .transaction(|tx| {
                tx.query_opt(
                    "SELECT ssl::int FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
            })
            .unwrap();
        assert_eq!(ssl, Some(vec![Value::Int(1)]));
    }
}
