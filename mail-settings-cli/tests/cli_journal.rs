//! `mail-settings journal`: filters, pages, formats and terminal safety, over a journal written
//! by real collector runs (against the in-memory server, for its refusal on cue).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::collector::{
    Collector, CollectorOptions, MailSource, MemoryProtocol, MemoryServer,
};
use mail_settings_core::store::Store;
use mail_settings_core::{IncomingAccount, IncomingAccountForm, Protocol};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

fn run(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mail-settings"))
        .env_remove("MAIL_SETTINGS_DB")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn message(i: usize, subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.test\r\nSubject: {subject}\r\nMessage-ID: <c{i}@example.test>\r\n\r\nBody {i}\r\n"
    )
    .into_bytes()
}

/// A store with two accounts: "Help desk" (5 stored, 1 refused, one subject holding an escape
/// sequence) and "Sales" (2 stored).
fn journal_store(db: &Path) {
    let store = Arc::new(Store::open(db).unwrap());
    for (name, count, refuse) in [("Help desk", 5, true), ("Sales", 2, false)] {
        let account = store
            .create_incoming(&IncomingAccountForm {
                name: name.to_owned(),
                host: "mail.example.test".to_owned(),
                protocol: Some(Protocol::Imap),
                credential: Some("c".to_owned()),
                keep_copy_on_server: true,
                ..IncomingAccountForm::default()
            })
            .unwrap()
            .id;
        let server = MemoryServer::new(MemoryProtocol::Imap);
        for i in 0..count {
            let subject = if i == 0 {
                "Evil \u{1b}[2J subject".to_owned()
            } else {
                format!("{name} ticket {i}")
            };
            server.add(message(i + 100 * account as usize, &subject));
        }
        if refuse {
            let uid = server.add(message(99, "never delivered"));
            server.refuse(uid);
        }
        let s2 = server.clone();
        let c = Collector::with_sources(
            store.clone(),
            Arc::new(move |_: &IncomingAccount| Ok(Box::new(s2.source()) as Box<dyn MailSource>)),
            CollectorOptions::default(),
        );
        c.check_now(account).unwrap();
    }
}

#[test]
fn journal_filters_pages_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("j.sqlite3");
    journal_store(&db);

    let o = run(&db, &["journal", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["total"], 8);

    let o = run(
        &db,
        &["journal", "--account", "help desk", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["total"], 6);
    let o = run(
        &db,
        &[
            "journal",
            "--account",
            "help desk",
            "--outcome",
            "refused",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["total"], 1);
    assert_eq!(v["rows"][0]["outcome"], "refused");
    assert_eq!(v["rows"][0]["category"], "protocol");

    // Pages: 3 rows a page, page 3 holds the last 2; no row twice.
    let mut seen = Vec::new();
    for page in ["1", "2", "3"] {
        let o = run(
            &db,
            &[
                "journal",
                "--page",
                page,
                "--page-size",
                "3",
                "--format",
                "json",
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let rows = v["rows"].as_array().unwrap();
        assert_eq!(rows.len(), if page == "3" { 2 } else { 3 });
        seen.extend(rows.iter().map(|r| r["id"].as_i64().unwrap()));
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 8);

    // Date range: today is in, a past day and a future day are not.
    let today =
        mail_settings_core::report::format_utc(std::time::SystemTime::now())[..10].to_owned();
    let o = run(
        &db,
        &[
            "journal", "--since", &today, "--until", &today, "--format", "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["total"], 8, "{today}");
    let o = run(
        &db,
        &[
            "journal",
            "--until",
            "2001-01-01T00:00:00Z",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["total"], 0);
    let o = run(
        &db,
        &["journal", "--since", "2999-01-01", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["total"], 0);

    // CSV: the whole filtered journal, labels in the language asked for.
    let o = run(
        &db,
        &[
            "journal",
            "--account",
            "Sales",
            "--format",
            "csv",
            "--language",
            "pt-BR",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let csv = stdout(&o);
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[0].starts_with("ID,Horário,Conta,Pasta,Id no servidor,Resultado"),
        "{csv}"
    );
    assert!(
        lines[1].contains(",Sales,INBOX,UID ") && lines[1].contains(",armazenada,"),
        "{csv}"
    );

    // Text and HTML: the escape sequence of a subject never reaches the terminal.
    let o = run(&db, &["journal", "--account", "1"]);
    let text = stdout(&o);
    assert!(text.contains("Page 1 of 1 (6 rows)"), "{text}");
    assert!(text.contains("refused") && text.contains("Evil"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
    let o = run(&db, &["journal", "--format", "html"]);
    let html = stdout(&o);
    assert!(html.contains("<title>Collection journal</title>"));
    assert!(!html.contains('\u{1b}'));

    // Usage errors.
    for bad in [
        &["journal", "--outcome", "lost"][..],
        &["journal", "--since", "yesterday"],
        &["journal", "--page", "0"],
        &["journal", "--bom"],
    ] {
        let o = run(&db, bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {o:?}");
    }
}

#[test]
fn a_journal_schedule_takes_account_and_outcome_filters() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.sqlite3");
    let add = |extra: &[&str]| {
        let mut args = vec![
            "schedule",
            "add",
            "--name",
            "Journal",
            "--report",
            "COLLECTION_JOURNAL",
            "--recipients",
            "ops@example.com",
            "--frequency",
            "DAILY",
        ];
        args.extend_from_slice(extra);
        run(&db, &args)
    };
    let o = add(&["--outcome", "lost"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let o = add(&["--account", "Help desk", "--outcome", "REFUSED"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = run(&db, &["schedule", "show", "Journal", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["schedule"]["filters"]["account"], "Help desk", "{v}");
    assert_eq!(v["schedule"]["filters"]["outcome"], "refused", "{v}");
}
