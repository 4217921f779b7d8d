//! Runs the built `mail-settings` binary: exit codes, formats, the store, and no secret in any
//! output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SECRET: &str = "CLI-planted-S3cret-91ab";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mail-settings"));
    c.env_remove("MAIL_SETTINGS_DB");
    c
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/settings")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run mail-settings")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn credentials_file(dir: &Path) -> PathBuf {
    let p = dir.join("credentials.json");
    let ids = [
        "proxy-east",
        "helpdesk-mailbox",
        "alerts-mailbox",
        "scanner-mailbox",
        "smtp-notify",
    ];
    let body: Vec<String> = ids
        .iter()
        .map(|id| format!("\"{id}\": {{\"username\": \"user-{id}\", \"password\": \"{SECRET}\"}}"))
        .collect();
    std::fs::write(&p, format!("{{{}}}", body.join(","))).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    p
}

#[test]
fn validate_exit_codes() {
    let good = examples().join("helpdesk.json");
    let o = run(&["validate", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("0 errors, 1 warning"), "{}", text(&o));

    let broken = examples().join("broken.toml");
    let o = run(&["validate", broken.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("invalid_port"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"version\": 1,\n  \"smtp_accounts\": [{\"nmae\": 1}]}",
    )
    .unwrap();
    let o = run(&["validate", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("line 2"), "{}", text(&o));
    let o = run(&[
        "validate",
        dir.path().join("missing.json").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn validate_json_and_portuguese() {
    let broken = examples().join("broken.toml");
    let o = run(&["validate", broken.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let first = &v.as_array().unwrap()[0];
    for key in ["path", "code", "severity", "message", "message_pt_br"] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["code"] == "duplicate_name"));
    let o = run(&["--lang", "pt-BR", "validate", broken.to_str().unwrap()]);
    assert!(
        text(&o).contains("Porta deve estar entre 1 e 65535."),
        "{}",
        text(&o)
    );
}

#[test]
fn credentials_are_checked_when_given_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let creds = credentials_file(dir.path());
    let good = examples().join("helpdesk.json");
    let o = run(&[
        "validate",
        good.to_str().unwrap(),
        "--credentials",
        creds.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A provider that lacks an id makes it an error.
    std::fs::write(
        &creds,
        format!("{{\"smtp-notify\": {{\"username\": \"u\", \"password\": \"{SECRET}\"}}}}"),
    )
    .unwrap();
    let o = run(&[
        "validate",
        good.to_str().unwrap(),
        "--credentials",
        creds.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("unknown_credential"));
    assert!(!text(&o).contains(SECRET));
    let db = dir.path().join("s.sqlite3");
    let o = run(&[
        "--db",
        db.to_str().unwrap(),
        "--credentials",
        creds.to_str().unwrap(),
        "import",
        good.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!text(&o).contains(SECRET));
}

#[test]
fn credentials_file_readable_by_others_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let creds = credentials_file(dir.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o644)).unwrap();
        let good = examples().join("helpdesk.json");
        let o = run(&[
            "validate",
            good.to_str().unwrap(),
            "--credentials",
            creds.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2));
        assert!(text(&o).contains("chmod 600"));
    }
}

#[test]
fn usage_errors_print_help_and_exit_2() {
    for args in [
        &["validate"][..],
        &["frobnicate"],
        &["report", "nothing"],
        &[],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("Usage:"), "{args:?}: {}", text(&o));
    }
    let o = run(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    for sub in ["validate", "import", "export", "report"] {
        assert!(text(&o).contains(sub), "help lists {sub}");
    }
}

/// A store in a temporary directory with `examples/settings/helpdesk.json` imported (its six
/// records created); the directory lives as long as the first value.
fn imported_store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("settings.sqlite3");
    let db = db.to_str().unwrap().to_owned();
    let good = examples().join("helpdesk.json");
    let o = run(&["--db", &db, "import", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("6 created"), "{}", text(&o));
    (dir, db)
}

#[test]
fn import_export_round_trip_and_reports() {
    let (dir, db) = imported_store();
    let db = db.as_str();

    let o = run(&["--db", db, "export", "--format", "toml"]);
    assert_eq!(o.status.code(), Some(0));
    let exported = dir.path().join("exported.toml");
    std::fs::write(&exported, &o.stdout).unwrap();
    let o = run(&["--db", db, "import", exported.to_str().unwrap()]);
    assert!(
        text(&o).contains("0 created, 0 updated, 6 unchanged, 0 deleted"),
        "{}",
        text(&o)
    );

    let o = run(&[
        "--db",
        db,
        "report",
        "incoming",
        "--format",
        "json",
        "--secure",
        "yes",
        "--page-size",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let page: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["rows"].as_array().unwrap().len(), 1);
    assert_eq!(page["rows"][0]["port"], 993);

    let o = run(&[
        "--db", db, "report", "smtp", "--format", "csv", "--lang", "pt-BR",
    ]);
    let csv = String::from_utf8(o.stdout).unwrap();
    assert!(csv.starts_with("ID,Nome,Ativo,Remetente"), "{csv}");
    assert_eq!(csv.matches("\r\n").count(), 3);

    let o = run(&[
        "--db", db, "report", "incoming", "--format", "html", "--name", "help",
    ]);
    let html = String::from_utf8(o.stdout).unwrap();
    assert!(html.contains("<table") && html.contains("Helpdesk") && !html.contains("Legacy"));

    let o = run(&["--db", db, "report", "incoming", "--status", "disabled"]);
    assert!(text(&o).contains("Legacy scanner inbox") && !text(&o).contains("Helpdesk"));

    let o = run(&["--db", db, "report", "smtp", "--keep-copy", "yes"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn csv_byte_order_mark_only_with_bom() {
    let (_dir, db) = imported_store();
    let db = db.as_str();

    for kind in ["incoming", "smtp"] {
        let csv = [
            "--db", db, "--lang", "pt-BR", "report", kind, "--format", "csv",
        ];
        let plain = run(&csv);
        assert_eq!(plain.status.code(), Some(0), "{}", text(&plain));
        assert!(plain.stdout.starts_with(b"ID,Nome,"), "{}", text(&plain));
        let with_bom = run(&[&csv[..], &["--bom"]].concat());
        assert_eq!(with_bom.status.code(), Some(0), "{}", text(&with_bom));
        assert!(
            with_bom.stdout.starts_with(&[0xEF, 0xBB, 0xBF]),
            "{kind}: {:?}",
            &with_bom.stdout[..with_bom.stdout.len().min(8)]
        );
        assert_eq!(&with_bom.stdout[3..], &plain.stdout[..], "{kind}");
    }

    for format in ["text", "json", "html"] {
        let o = run(&[
            "--db", db, "report", "incoming", "--format", format, "--bom",
        ]);
        assert_eq!(o.status.code(), Some(2), "{format}: {}", text(&o));
        assert!(text(&o).contains("--bom"), "{format}: {}", text(&o));
        assert!(o.stdout.is_empty(), "{format}: {}", text(&o));
    }
    let o = run(&["report", "--help"]);
    assert!(text(&o).contains("--bom"), "{}", text(&o));
}

#[test]
fn an_invalid_document_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("settings.sqlite3");
    let db = db.to_str().unwrap();
    let good = examples().join("helpdesk.json");
    assert_eq!(
        run(&["--db", db, "import", good.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    let before = run(&["--db", db, "export"]).stdout;
    let broken = examples().join("broken.toml");
    let o = run(&["--db", db, "import", broken.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("nothing was written"));
    assert_eq!(run(&["--db", db, "export"]).stdout, before);
}

#[test]
fn a_damaged_store_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("damaged.sqlite3");
    std::fs::write(
        &db,
        b"this is not a database, it is a text file of some length....",
    )
    .unwrap();
    let o = run(&["--db", db.to_str().unwrap(), "export"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("not a usable mail-settings database"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains("panicked"));
}

/// ACCOUNT is an id when it is a number, a name otherwise; `--default` is the default SMTP
/// account; what does not resolve is a usage error (exit 2) that names what was asked, before
/// anything goes on the network.
#[test]
fn accounts_are_named_by_id_by_name_or_default_with_one_error() {
    let (dir, db) = imported_store();
    let db = db.as_str();
    let creds = credentials_file(dir.path());
    let creds = creds.to_str().unwrap();

    let o = run(&["--db", db, "--credentials", creds, "check", "ghost"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("there is no account with \"ghost\""),
        "{}",
        text(&o)
    );
    // Id 1 is an incoming and an SMTP account.
    let o = run(&["--db", db, "--credentials", creds, "check", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("id 1 is an incoming and an SMTP account"),
        "{}",
        text(&o)
    );
    let o = run(&[
        "--db",
        db,
        "--credentials",
        creds,
        "test-smtp",
        "99",
        "--to",
        "a@example.com",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("there is no SMTP account with id 99"),
        "{}",
        text(&o)
    );
    // ACCOUNT or --default, not both, not neither.
    let o = run(&["--db", db, "--credentials", creds, "check"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = run(&[
        "--db",
        db,
        "--credentials",
        creds,
        "check",
        "x",
        "--default",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // The inbox by id and by name (case-insensitive); a wrong name is refused.
    let o = run(&["--db", db, "inbox", "1", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&["--db", db, "inbox", "HELPDESK", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&["--db", db, "inbox", "Ghost"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("there is no incoming account with \"Ghost\""),
        "{}",
        text(&o)
    );
    let o = run(&[
        "--db",
        db,
        "--credentials",
        creds,
        "collect",
        "--once",
        "Ghost",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("\"Ghost\""), "{}", text(&o));

    // No default SMTP account in an empty store.
    let empty = dir.path().join("empty.sqlite3");
    let o = run(&[
        "--db",
        empty.to_str().unwrap(),
        "--credentials",
        creds,
        "test-smtp",
        "--default",
        "--to",
        "a@example.com",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("no SMTP account is the default account"),
        "{}",
        text(&o)
    );
}

/// `status` shows an account whose server needs expunging (its collector status, as a run on
/// a server with neither MOVE nor UIDPLUS leaves it: tests/tests/imap_folders.rs makes one for
/// real), in text and JSON; the incoming report has the Folders, Archive folder and Push
/// columns.
#[test]
fn status_shows_needs_expunging_and_the_report_the_folder_columns() {
    let (_dir, db) = imported_store();
    let db = db.as_str();
    let o = run(&["--db", db, "status", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|s| s["needs_expunging"] == false),
        "{v}"
    );
    let id = v[0]["account_id"].as_i64().unwrap();
    {
        let c = rusqlite::Connection::open(db).unwrap();
        c.execute(
            "INSERT INTO collector_needs_expunging (account_id, since) VALUES (?1, 0)",
            [id],
        )
        .unwrap();
    }
    let o = run(&["--db", db, "status", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["needs_expunging"], true, "{v}");
    assert_eq!(v[1]["needs_expunging"], false, "{v}");
    let o = run(&["--db", db, "status"]);
    let out = text(&o);
    assert_eq!(out.matches("needs expunging").count(), 1, "{out}");
    assert!(out.contains("neither MOVE nor UIDPLUS"), "{out}");

    let o = run(&["--db", db, "report", "incoming", "--lang", "pt-BR"]);
    let out = text(&o);
    assert!(
        out.contains("Pastas") && out.contains("Pasta de arquivo") && out.contains("Push"),
        "{out}"
    );
}

/// A reader that goes away (`| head`, `| grep -q`) ends the command quietly with status 0: no
/// panic, no backtrace (std's `println!` panics on a closed pipe).
#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let db = db.to_str().unwrap();
    let good = examples().join("helpdesk.json");
    assert!(run(&["--db", db, "import", good.to_str().unwrap()])
        .status
        .success());
    for args in [
        vec!["--db", db, "export"],
        vec!["--db", db, "report", "incoming"],
    ] {
        let mut child = bin()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the command writes anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}
