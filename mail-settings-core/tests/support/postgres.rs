//! The local test PostgreSQL (tests/servers/postgres) for the store's tests: a fresh database
//! per test. Without a server (a bare `cargo test`) the PostgreSQL half of a test is skipped
//! with a message; with `MS_REQUIRE_POSTGRES=1` (the test command sets it) it fails instead.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::store::Store;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

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

/// The URL of a new, empty database on the test server (TLS verified with the test CA, the
/// password from the server's password file), or `None` when no server answers.
pub fn fresh_url(test: &str) -> Option<String> {
    static N: AtomicU32 = AtomicU32::new(0);
    let env = ports_env();
    let dir = std::env::var("MS_SERVERS_DIR")
        .ok()
        .or_else(|| env.get("MS_SERVERS_DIR").cloned())?;
    let port: u16 = env.get("MS_POSTGRES_PORT")?.parse().ok()?;
    let user = env.get("MS_POSTGRES_USER")?;
    let password = env.get("MS_POSTGRES_PASSWORD")?;
    let required = std::env::var("MS_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
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
    let mut admin = postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user(user)
        .password(password)
        .dbname("postgres")
        .connect(postgres::NoTls)
        .expect("connect to the test PostgreSQL");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    Some(format!(
        "postgres://{user}@localhost:{port}/{name}?sslrootcert={dir}/certs/ca.pem&passfile={dir}/postgres/pgpass&connect_timeout=5"
    ))
}

/// The stores a backend-independent test runs on: SQLite (in memory) and, when the test
/// server answers, a fresh PostgreSQL database.
pub fn stores(test: &str) -> Vec<Store> {
    let mut out = vec![Store::open_in_memory().unwrap()];
    if let Some(url) = fresh_url(test) {
        out.push(Store::open(&url).unwrap());
    }
    out
}
