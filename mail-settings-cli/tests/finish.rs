//! The command's finish: completions and the man page from the clap definitions, and
//! progress that draws only on a terminal (a pipe sees plain lines, no escape codes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_tests::{lmtp_deliver, servers, unique_mailbox};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mail-settings"))
}

#[test]
fn completions_for_each_shell_and_the_man_page_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let o = bin().args(["completions", shell]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(out.len() > 1000, "{shell}: {} bytes", out.len());
        assert!(
            out.contains("test-smtp") && out.contains("collect"),
            "{shell}"
        );
    }
    let o = bin().arg("man").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains(".TH mail-settings 1"), "{out}");
    assert!(out.contains("mail\\-settings\\-collect"), "{out}");
    // Hidden: not in the help a person reads.
    let o = bin().arg("--help").output().unwrap();
    let help = String::from_utf8(o.stdout).unwrap();
    assert!(!help.contains("completions"), "{help}");
    // An unknown shell is a usage error.
    let o = bin().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn collect_through_a_pipe_prints_plain_progress_lines_without_escape_codes() {
    if std::env::var("MS_SERVERS").as_deref() != Ok("1") {
        eprintln!("skipped: needs the local mail servers; run with MS_SERVERS=1");
        return;
    }
    let s = servers();
    let dir = tempfile::tempdir().unwrap();
    let mailbox = unique_mailbox("cli-progress");
    let doc = serde_json::json!({
        "version": 1,
        "incoming_accounts": [{"name": "Progress POP3", "protocol": "POP3", "host": "localhost",
            "port": s.port("MS_POP3S_PORT"), "credential": "mbox", "keep_copy_on_server": false,
            "ca_file": s.ca_file()}],
    });
    let doc_path = dir.path().join("settings.json");
    std::fs::write(&doc_path, doc.to_string()).unwrap();
    let creds = dir.path().join("credentials.json");
    std::fs::write(
        &creds,
        serde_json::json!({"mbox": {"username": mailbox, "password": s.mail_password()}})
            .to_string(),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let db = dir.path().join("store.sqlite3");
    let run = |args: &[&str]| {
        bin()
            .arg("--db")
            .arg(&db)
            .arg("--credentials")
            .arg(&creds)
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&["import", doc_path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    for i in 0..2 {
        let msg = format!("From: a@example.test\r\nTo: {mailbox}\r\nSubject: P{i}\r\n\r\nbody\r\n");
        lmtp_deliver("a@example.test", &mailbox, msg.as_bytes());
    }
    let o = run(&["collect", "--once"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains("Progress POP3: 2/2 messages, 0.0 MB\n"),
        "{stderr}"
    );
    for out in [&stdout, &stderr] {
        assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
    }
}
