//! What the command prints is safe for a terminal, and the files it reads are what they say:
//! messages, names and documents holding ESC, OSC, CR, NUL, C1 and bidi overrides never reach
//! stdout or stderr raw; `show --raw` goes to a terminal only with `--force`; a read-only store
//! still lists, reports, exports and shows (without marking read); FIFOs, BOMs, duplicate
//! credential ids; the wording of counts and cut names.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::collector::{
    Collector, CollectorOptions, MailSource, MemoryProtocol, MemoryServer,
};
use mail_settings_core::store::Store;
use mail_settings_core::{IncomingAccount, IncomingAccountForm, Protocol, RecordId};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mail-settings"));
    c.env_remove("MAIL_SETTINGS_DB");
    c
}

fn run(db: &Path, args: &[&str]) -> Output {
    bin()
        .arg("--db")
        .arg(db)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run mail-settings")
}

fn both(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Fails when `o`'s output holds a character that drives a terminal: C0 but LF (and TAB when
/// `tabs`), DEL, C1, bidi overrides and isolates.
fn assert_terminal_safe(o: &Output, what: &str) {
    for (stream, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        for (i, c) in text.char_indices() {
            let bad = (c.is_control() && c != '\n' && c != '\t')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            assert!(
                !bad,
                "{what}: {stream} holds U+{:04X} at byte {i}: {text:?}",
                c as u32
            );
        }
    }
}

/// A message made to take over a terminal: an OSC title and a screen clear in the From name,
/// a CSI clear, C1 CSI and a right-to-left override in the subject (encoded words), and a body
/// with a forged OSC 8 hyperlink, a lone CR, NUL and BEL.
fn hostile_message() -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(b"From: \"Eve \x1b]0;pwned\x07\x1b[2J\" <eve@example.test>\r\n");
    m.extend_from_slice(b"To: desk@example.test\r\n");
    m.extend_from_slice(b"Subject: =?UTF-8?Q?Hi=1B[2J_there_=C2=9B31m_=E2=80=AEgpj.exe?=\r\n");
    m.extend_from_slice(b"Date: 01 Jul 2025 12:00:00 +0000\r\n");
    m.extend_from_slice(b"Message-ID: <hostile-1@example.test>\r\n\r\n");
    m.extend_from_slice(
        b"Dear user,\r\n\tplease \x1b]8;;http://evil.test/\x1b\\click here\x1b]8;;\x1b\\\r\n",
    );
    m.extend_from_slice(b"Invoice total: 100\rInvoice total: 999\r\nNUL:\x00 BEL:\x07 end\r\n");
    m
}

/// A store file with one IMAP account, "Desk", holding `messages` (collected from memory).
fn store_with(dir: &Path, messages: &[Vec<u8>]) -> (PathBuf, RecordId) {
    let db = dir.join("store.sqlite3");
    let store = Arc::new(Store::open(&db).unwrap());
    let form = IncomingAccountForm {
        name: "Desk".into(),
        host: "mail.example.test".into(),
        protocol: Some(Protocol::Imap),
        credential: Some("c".into()),
        ..IncomingAccountForm::default()
    };
    let id = store.create_incoming(&form).unwrap().id;
    let server = MemoryServer::new(MemoryProtocol::Imap);
    for m in messages {
        server.add(m.clone());
    }
    let collector = Collector::with_sources(
        store.clone(),
        Arc::new(move |_: &IncomingAccount| Ok(Box::new(server.source()) as Box<dyn MailSource>)),
        CollectorOptions::default(),
    );
    assert_eq!(
        collector.check_now(id).unwrap().fetched,
        messages.len() as u64
    );
    drop(collector);
    drop(store);
    (db, id)
}

/// The first message id in the store's inbox listing.
fn first_message(db: &Path) -> String {
    let o = run(db, &["inbox", "ALL", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let page: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    page["messages"][0]["id"].to_string()
}

/// Renames an account behind the store's back, as a store written before `invalid_characters`
/// may hold it.
fn rename_raw(db: &Path, id: RecordId, name: &str) {
    let c = rusqlite::Connection::open(db).unwrap();
    let n = c
        .execute(
            "UPDATE incoming_accounts SET name = ?1 WHERE id = ?2",
            rusqlite::params![name, id],
        )
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn messages_and_names_reach_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let (db, account) = store_with(dir.path(), &[hostile_message()]);
    rename_raw(&db, account, "Desk\x1b]0;owned\x07\r\nX\u{9b}2J\u{202e}");
    let id = first_message(&db);

    let o = run(&db, &["inbox", "ALL"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert_terminal_safe(&o, "inbox");
    let out = both(&o);
    assert!(out.contains("Eve \\x1b]0;pwned\\x07"), "{out}");
    assert!(out.contains("Hi\\x1b[2J there"), "{out}");

    let o = run(&db, &["show", &id]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert_terminal_safe(&o, "show");
    let out = both(&o);
    assert!(
        out.contains("Subject: Hi\\x1b[2J there \\u{9b}31m \\u{202e}gpj.exe"),
        "{out}"
    );
    assert!(
        out.contains("\tplease \\x1b]8;;http://evil.test/\\x1b\\click here"),
        "the body keeps its tab and shows the hyperlink escaped: {out}"
    );
    assert!(
        out.contains("Invoice total: 100\\rInvoice total: 999\n"),
        "a lone CR is escaped, CRLF is a line break: {out}"
    );
    assert!(out.contains("NUL:\\x00 BEL:\\x07 end"), "{out}");
    assert!(
        out.contains("in \"Desk\\x1b]0;owned\\x07\\r\\nX\\u{9b}2J\\u{202e}\""),
        "{out}"
    );

    for format in ["text", "json"] {
        let o = run(&db, &["status", "--format", format]);
        assert_eq!(o.status.code(), Some(0), "{}", both(&o));
        assert_terminal_safe(&o, &format!("status --format {format}"));
    }
    let o = run(&db, &["report", "incoming"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert_terminal_safe(&o, "report incoming");
    for format in ["csv", "html"] {
        let o = run(&db, &["report", "incoming", "--format", format]);
        assert_eq!(o.status.code(), Some(0), "{}", both(&o));
        // CSV lines end in CRLF (RFC 4180); no other CR and no other control character.
        let stdout = String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n");
        assert!(
            !stdout
                .chars()
                .any(|c| c.is_control() && c != '\n' || c == '\u{202e}'),
            "report --format {format}: {stdout:?}"
        );
    }
    let o = run(&db, &["inbox", "Desk\x1b[2J"]);
    assert_eq!(o.status.code(), Some(2));
    assert_terminal_safe(&o, "an unknown account named with ESC");
    let o = run(&db, &["inbox", "ALL", "--format", "x\x1b]0;t\x07\x1b[2J"]);
    assert_eq!(o.status.code(), Some(2));
    assert_terminal_safe(&o, "a usage error quoting ESC");
    assert!(both(&o).contains("invalid value"), "{}", both(&o));
}

#[test]
fn json_output_escapes_what_serde_writes_raw_and_keeps_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = store_with(dir.path(), &[hostile_message()]);
    let id = first_message(&db);
    let o = run(&db, &["show", &id, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert_terminal_safe(&o, "show --format json");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["summary"]["subject"], "Hi\u{1b}[2J there \u{9b}31m \u{202e}gpj.exe",
        "the JSON value is unchanged: only its spelling is escaped"
    );
    let o = run(&db, &["inbox", "ALL", "--format", "json"]);
    assert_terminal_safe(&o, "inbox --format json");
}

#[test]
fn raw_bytes_go_to_a_pipe_and_to_a_terminal_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = store_with(dir.path(), &[hostile_message()]);
    let id = first_message(&db);
    // To a pipe: the stored bytes, exactly.
    let o = run(&db, &["show", &id, "--raw"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert_eq!(o.stdout, hostile_message());
    // --force only goes with --raw.
    let o = run(&db, &["show", &id, "--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));

    // To a terminal (a pseudo-terminal from script(1)): refused without --force.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("script(1) is missing: the terminal case is not run");
        return;
    }
    let on_tty = |extra: &str| -> Output {
        let cmd = format!(
            "{} --db {} show {id} --raw {extra}; echo \"exit=$?\"",
            env!("CARGO_BIN_EXE_mail-settings"),
            db.display()
        );
        Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let o = on_tty("");
    let out = both(&o);
    assert!(out.contains("exit=2"), "{out}");
    assert!(out.contains("redirect it to a file or a pipe, or add --force"));
    assert!(!out.contains("Dear user"), "{out}");
    let o = on_tty("--force");
    let out = both(&o);
    assert!(out.contains("exit=0") && out.contains("Dear user"), "{out}");
}

#[test]
fn settings_with_control_characters_are_refused_and_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("hostile.json");
    std::fs::write(
        &doc,
        r#"{"version": 1, "smtp_accounts": [{"name": "Notify\u001b]0;x\u0007", "host": "smtp.example.test",
            "sender_email": "a\u001b[2J@example.test", "use_authentication": true, "credential": "c\r\nd",
            "enable_footer": true, "footer": "Line 1\r\n\tLine 2"}]}"#,
    )
    .unwrap();
    let o = bin().args(["validate"]).arg(&doc).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", both(&o));
    assert_terminal_safe(&o, "validate");
    let out = both(&o);
    for field in ["name", "sender_email", "credential"] {
        assert!(
            out.contains(&format!("smtp_accounts[0].{field}: "))
                && out.contains("[invalid_characters]"),
            "{field}: {out}"
        );
    }
    assert!(
        !out.contains("footer"),
        "a footer may hold CR, LF and TAB: {out}"
    );
    assert!(out.contains("3 errors, 0 warnings"), "{out}");
}

#[test]
fn a_read_only_store_still_reads_and_show_does_not_mark_read() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = store_with(dir.path(), &[hostile_message()]);
    let id = first_message(&db);
    let unread = |db: &Path| -> u64 {
        let o = run(db, &["inbox", "ALL", "--unread", "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{}", both(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["total"].as_u64().unwrap()
    };
    assert_eq!(unread(&db), 1);
    // Root writes any file whatever its mode: the read-only cases run as nobody then.
    let as_user = |args: &[&str]| -> Output {
        let mut c = if is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_mail-settings"));
            c
        } else {
            bin()
        };
        c.env_remove("MAIL_SETTINGS_DB")
            .arg("--db")
            .arg(&db)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    if is_root() && Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("running as root without setpriv(1): the read-only cases are not run");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    // 1. The file is 0444 (its directory writable for root only, readable for all): 2. the
    //    directory is read-only too.
    for case in ["file 0444", "directory 0555"] {
        mode(&db, 0o444).unwrap();
        mode(dir.path(), 0o755).unwrap();
        if case.starts_with("directory") {
            mode(dir.path(), 0o555).unwrap();
        }
        for args in [
            &["export"][..],
            &["export", "--format", "toml"],
            &["report", "incoming"],
            &["report", "smtp", "--format", "csv"],
            &["inbox", "ALL"],
            &["status"],
        ] {
            let o = as_user(args);
            assert_eq!(o.status.code(), Some(0), "{case}: {args:?}: {}", both(&o));
        }
        let o = as_user(&["inbox", "Desk"]);
        assert!(
            both(&o).contains("Hi\\x1b[2J there"),
            "{case}: {}",
            both(&o)
        );
        let o = as_user(&["show", &id]);
        assert_eq!(o.status.code(), Some(0), "{case}: {}", both(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("Dear user"));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("read-only")
                && String::from_utf8_lossy(&o.stderr).contains("not marked read"),
            "{case}: {}",
            both(&o)
        );
        mode(dir.path(), 0o755).unwrap();
        mode(&db, 0o644).unwrap();
        assert_eq!(
            unread(&db),
            1,
            "{case}: show on a read-only store marked it read"
        );
    }
    // Writable again: show marks it read.
    let o = run(&db, &["show", &id]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(!both(&o).contains("not marked read"));
    assert_eq!(unread(&db), 0);
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn documents_with_a_byte_order_mark_are_read_and_fifos_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let helpdesk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/settings/helpdesk.json");
    let text = std::fs::read_to_string(helpdesk).unwrap();
    let with_bom = dir.path().join("bom.json");
    std::fs::write(&with_bom, format!("\u{feff}{text}")).unwrap();
    let o = bin().arg("validate").arg(&with_bom).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let db = dir.path().join("s.sqlite3");
    let o = run(&db, &["import", with_bom.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));

    let fifo = dir.path().join("settings.json");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let o = within_10s(bin().arg("validate").arg(&fifo));
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(both(&o).contains("FIFO"), "{}", both(&o));

    let creds_fifo = dir.path().join("credentials.json");
    assert!(Command::new("mkfifo")
        .args(["-m", "600"])
        .arg(&creds_fifo)
        .status()
        .unwrap()
        .success());
    let o = within_10s(
        bin()
            .arg("--credentials")
            .arg(&creds_fifo)
            .arg("validate")
            .arg(&with_bom),
    );
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(both(&o).contains("FIFO"), "{}", both(&o));
    let o = bin()
        .args(["--credentials", "/dev/null", "validate"])
        .arg(&with_bom)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(both(&o).contains("a device"), "{}", both(&o));
}

/// Runs `c`, killing it (and failing) when it has not ended within 10 s: opening a FIFO used
/// to wait for a writer forever.
fn within_10s(c: &mut Command) -> Output {
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the command hung on a FIFO");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_credentials_file_with_a_repeated_id_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials.json");
    std::fs::write(
        &creds,
        r#"{"helpdesk-mailbox": {"username": "a", "password": "first-S3cret"},
            "helpdesk-mailbox": {"username": "b", "password": "second-S3cret"}}"#,
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = bin()
        .arg("--credentials")
        .arg(&creds)
        .args(["validate", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    let out = both(&o);
    assert!(
        out.contains("duplicate credential id \"helpdesk-mailbox\""),
        "{out}"
    );
    assert!(!out.contains("S3cret"), "{out}");
}

#[test]
fn counts_agree_with_their_number_and_long_names_end_in_an_ellipsis() {
    let dir = tempfile::tempdir().unwrap();
    let (db, account) = store_with(dir.path(), &[hostile_message()]);
    let o = run(&db, &["inbox", "ALL"]);
    assert!(
        both(&o).contains("Page 1 of 1 (1 message; * unread)"),
        "{}",
        both(&o)
    );
    let long = "A very long account name that goes on past forty characters";
    rename_raw(&db, account, long);
    let o = run(&db, &["status"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let cut: String = long.chars().take(39).collect();
    assert!(both(&o).contains(&format!("{cut}… ")), "{}", both(&o));

    let o = bin().arg("--version").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("mail-settings {}", env!("CARGO_PKG_VERSION"))
    );
}
