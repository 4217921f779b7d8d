//! The local test PostgreSQL (tests/servers/postgres) for the store's tests: a fresh database
//! per test, dropped when the test is done with it. Without a server (a bare `cargo test`) the
//! PostgreSQL half of a test is skipped with a message; with `MS_REQUIRE_POSTGRES=1` (the test
//! command sets it) it fails instead.
//!
//! Every database a test creates is dropped again: [`TestStore`] and [`TestDatabase`] drop it
//! when they are dropped (`DROP DATABASE … WITH (FORCE)`, which also closes connections a
//! test left open), and the first database a process creates first sweeps away the leftovers
//! of test processes that are gone (killed before they could drop theirs) and older than an
//! hour. The cluster once held thousands of leftovers (2.2 GB).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::store::Store;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Once};

fn ports_env() -> HashMap<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/servers/ports.env");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

struct Server {
    dir: String,
    port: u16,
    user: String,
    password: String,
}

fn server() -> Option<Server> {
    let env = ports_env();
    let dir = std::env::var("MS_SERVERS_DIR")
        .ok()
        .or_else(|| env.get("MS_SERVERS_DIR").cloned())?;
    Some(Server {
        dir,
        port: env.get("MS_POSTGRES_PORT")?.parse().ok()?,
        user: env.get("MS_POSTGRES_USER")?.clone(),
        password: env.get("MS_POSTGRES_PASSWORD")?.clone(),
    })
}

fn admin(s: &Server) -> postgres::Client {
    postgres::Config::new()
        .host("127.0.0.1")
        .port(s.port)
        .user(&s.user)
        .password(&s.password)
        .dbname("postgres")
        .connect_timeout(std::time::Duration::from_secs(5))
        .connect(postgres::NoTls)
        .expect("connect to the test PostgreSQL")
}

/// Drops test database `name`; a failure is reported, not fatal.
fn drop_database(name: &str) {
    let Some(s) = server() else { return };
    let result = admin(&s).batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    if let Err(e) = result {
        eprintln!("could not drop the test database {name}: {e}");
    }
}

/// Drops the test databases (`ms_<test>_<pid>_<n>`) of processes that no longer run, older
/// than an hour (a process of another container could share a pid with one gone here: the
/// age keeps a running test's database safe).
fn sweep_leftovers(client: &mut postgres::Client) {
    let rows = match client.query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'ms\\_%' \
         AND (pg_stat_file('base/' || oid || '/PG_VERSION')).modification < now() - interval '1 hour'",
        &[],
    ) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("could not list leftover test databases: {e}");
            return;
        }
    };
    for row in rows {
        let name: String = row.get(0);
        let pid = name.rsplit('_').nth(1).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if pid.is_some() && !alive {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// A test's database, dropped when this is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL (TLS verified with the test CA, the password from the password file).
    pub url: String,
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        drop_database(&self.name);
    }
}

/// A new, empty database on the test server, or `None` when no server answers.
pub fn fresh_database(test: &str) -> Option<TestDatabase> {
    static N: AtomicU32 = AtomicU32::new(0);
    static SWEEP: Once = Once::new();
    let s = server()?;
    let required = std::env::var("MS_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    if std::net::TcpStream::connect(("127.0.0.1", s.port)).is_err() {
        assert!(
            !required,
            "MS_REQUIRE_POSTGRES=1 but the test PostgreSQL does not answer (bash tests/servers/start.sh)"
        );
        eprintln!("skipped the PostgreSQL half of {test}: no test PostgreSQL (bash tests/servers/start.sh starts one)");
        return None;
    }
    let name = format!(
        "ms_{}_{}_{}",
        test.chars()
            .filter(char::is_ascii_alphanumeric)
            .take(30)
            .collect::<String>()
            .to_ascii_lowercase(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = admin(&s);
    SWEEP.call_once(|| sweep_leftovers(&mut admin));
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    Some(TestDatabase {
        url: format!(
            "postgres://{user}@localhost:{port}/{name}?sslrootcert={dir}/certs/ca.pem&passfile={dir}/postgres/pgpass&connect_timeout=5",
            user = s.user,
            port = s.port,
            dir = s.dir
        ),
        name,
    })
}

/// A store for a test: SQLite, or PostgreSQL whose database is dropped after the store (and
/// every clone of it the test kept) when this is dropped. Derefs to `Arc<Store>`, so
/// `store.clone()` is an `Arc<Store>` and `&store` a `&Store`.
pub struct TestStore {
    store: Option<Arc<Store>>,
    database: Option<TestDatabase>,
    dir: Option<tempfile::TempDir>,
}

impl TestStore {
    /// Which backend, for messages: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        if self.database.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }
}

impl std::ops::Deref for TestStore {
    type Target = Arc<Store>;
    fn deref(&self) -> &Arc<Store> {
        self.store.as_ref().expect("open until dropped")
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        // The store (its pooled connections) first, then the database or the file.
        self.store.take();
        self.database.take();
        self.dir.take();
    }
}

impl From<Store> for TestStore {
    fn from(store: Store) -> Self {
        TestStore {
            store: Some(Arc::new(store)),
            database: None,
            dir: None,
        }
    }
}

/// A store in an SQLite file of a temporary directory (removed with the [`TestStore`]).
pub fn sqlite_file_store() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("settings.db")).unwrap();
    TestStore {
        store: Some(Arc::new(store)),
        database: None,
        dir: Some(dir),
    }
}

/// A PostgreSQL store in a fresh database, or `None` when the test server does not answer.
pub fn postgres_store(test: &str) -> Option<TestStore> {
    let database = fresh_database(test)?;
    let store = Store::open(&database.url).unwrap();
    Some(TestStore {
        store: Some(Arc::new(store)),
        database: Some(database),
        dir: None,
    })
}

/// The URL of a new, empty database, which the caller drops when done ([`drop_url`]);
/// prefer [`fresh_database`], which drops it by itself.
pub fn fresh_url(test: &str) -> Option<String> {
    fresh_database(test).map(|db| {
        let url = db.url.clone();
        std::mem::forget(db);
        url
    })
}

/// Drops the database of a URL [`fresh_url`] gave.
pub fn drop_url(url: &str) {
    if let Some(name) = url
        .rsplit('/')
        .next()
        .and_then(|tail| tail.split('?').next())
    {
        drop_database(name);
    }
}

/// The stores a backend-independent test runs on: SQLite (in memory) and, when the test
/// server answers, a fresh PostgreSQL database (dropped when its [`TestStore`] is).
pub fn stores(test: &str) -> Vec<TestStore> {
    let mut out = vec![TestStore::from(Store::open_in_memory().unwrap())];
    out.extend(postgres_store(test));
    out
}
