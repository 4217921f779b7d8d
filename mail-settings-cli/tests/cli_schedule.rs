//! `mail-settings schedule` against the real local servers: a report schedule's report is
//! delivered through the local Postfix, collected back from Dovecot, and its attachment is
//! byte for byte the report the `report` command exports; once per period across processes;
//! `collect --once` sends none, the running collector sends what is due.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_parser::MimeHeaders;
use mail_settings_tests::{maildir_count, servers, unique_mailbox};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn run(db: &Path, creds: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mail-settings"))
        .arg("--db")
        .arg(db)
        .arg("--credentials")
        .arg(creds)
        .args(args)
        .output()
        .expect("run mail-settings")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn setup(dir: &Path) -> (PathBuf, PathBuf, String) {
    let s = servers();
    let mailbox = unique_mailbox("sched");
    let doc = serde_json::json!({
        "version": 1,
        "incoming_accounts": [{"name": "Caixa São Paulo", "protocol": "IMAP", "host": "localhost",
            "port": s.port("MS_IMAPS_PORT"), "credential": "mbox", "ca_file": s.ca_file()},
            {"name": "=Fórmula", "protocol": "POP3", "host": "localhost", "automatic_check": false,
            "port": s.port("MS_POP3S_PORT"), "credential": "mbox", "ca_file": s.ca_file()}],
        "smtp_accounts": [{"name": "Out", "host": "localhost", "port": s.port("MS_SMTPS_PORT"),
            "sender_email": mailbox, "credential": "mbox", "ca_file": s.ca_file(), "default_account": true}]
    });
    let doc_path = dir.join("settings.json");
    std::fs::write(&doc_path, doc.to_string()).unwrap();
    let creds = dir.join("credentials.json");
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
    let db = dir.join("store.sqlite3");
    let o = run(&db, &creds, &["import", doc_path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    (db, creds, mailbox)
}

fn wait_for_mail(mailbox: &str, n: usize) {
    let started = Instant::now();
    while maildir_count(mailbox) < n {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{mailbox}: {} of {n} messages arrived",
            maildir_count(mailbox)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Collects the mailbox into the inbox and returns the raw messages, oldest first.
fn collected(db: &Path, creds: &Path) -> Vec<Vec<u8>> {
    let o = run(db, creds, &["collect", "--once", "Caixa São Paulo"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let page = json(&run(
        db,
        creds,
        &["inbox", "Caixa São Paulo", "--format", "json"],
    ));
    let mut ids: Vec<i64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids.iter()
        .map(|id| {
            let o = run(db, creds, &["show", &id.to_string(), "--raw"]);
            assert_eq!(o.status.code(), Some(0), "{}", text(&o));
            o.stdout
        })
        .collect()
}

fn attachment(raw: &[u8]) -> (String, String, Vec<u8>, String) {
    let m = mail_parser::MessageParser::default().parse(raw).unwrap();
    let a = m.attachment(0).expect("an attachment");
    (
        m.subject().unwrap_or_default().to_owned(),
        a.attachment_name().unwrap_or_default().to_owned(),
        a.contents().to_vec(),
        m.body_text(0).unwrap_or_default().into_owned(),
    )
}

fn schedule_periods(db: &Path, creds: &Path, name: &str) -> Vec<serde_json::Value> {
    json(&run(
        db,
        creds,
        &["schedule", "show", name, "--format", "json"],
    ))["periods"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_scheduled_report_arrives_and_matches_the_command_export() {
    let dir = tempfile::tempdir().unwrap();
    let (db, creds, mailbox) = setup(dir.path());

    // Validation through the command: codes, exit 1, nothing written.
    let o = run(
        &db,
        &creds,
        &[
            "schedule",
            "add",
            "--name",
            "Bad",
            "--report",
            "INCOMING_ACCOUNTS",
            "--recipients",
            &mailbox,
            "--frequency",
            "DAILY",
            "--time-of-day",
            "25:00",
            "--time-zone",
            "Mars/Base",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("invalid_time") && text(&o).contains("invalid_time_zone"));
    let o = run(
        &db,
        &creds,
        &[
            "schedule",
            "add",
            "--name",
            "x",
            "--report",
            "NOPE",
            "--recipients",
            &mailbox,
            "--frequency",
            "DAILY",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // 00:00 in São Paulo has always passed today: the period is due at once.
    let o = run(
        &db,
        &creds,
        &[
            "schedule",
            "add",
            "--name",
            "Contas diárias",
            "--report",
            "incoming_accounts",
            "--recipients",
            &mailbox,
            "--frequency",
            "DAILY",
            "--time-of-day",
            "00:00",
            "--time-zone",
            "America/Sao_Paulo",
            "--language",
            "pt-BR",
            "--smtp-account",
            "Out",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let list = json(&run(&db, &creds, &["schedule", "list", "--format", "json"]));
    assert_eq!(list[0]["schedule"]["time_zone"], "America/Sao_Paulo");
    assert!(list[0]["next_run"].is_string(), "{list}");

    // `collect --once` sends none.
    let o = run(&db, &creds, &["collect", "--once", "Caixa São Paulo"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(schedule_periods(&db, &creds, "Contas diárias").is_empty());

    // run-due sends it, once; a second process finds it sent.
    let out = json(&run(
        &db,
        &creds,
        &["schedule", "run-due", "--format", "json"],
    ));
    assert_eq!(out.as_array().unwrap().len(), 1, "{out}");
    assert_eq!(out[0]["result"]["status"], "sent", "{out}");
    let again = json(&run(
        &db,
        &creds,
        &["schedule", "run-due", "--format", "json"],
    ));
    assert_eq!(again.as_array().unwrap().len(), 0, "{again}");
    let periods = schedule_periods(&db, &creds, "Contas diárias");
    assert_eq!(periods.len(), 1);
    assert_eq!(periods[0]["status"], "sent");

    // Delivered by Postfix to Dovecot, collected back: the attachment is the command's export.
    wait_for_mail(&mailbox, 1);
    let raw = collected(&db, &creds);
    assert_eq!(raw.len(), 1);
    let (subject, filename, content, body) = attachment(&raw[0]);
    assert!(
        subject.contains("Configuração IMAP/POP3") && subject.contains("Contas diárias"),
        "{subject}"
    );
    assert!(
        filename.starts_with("imap-pop3-settings-") && filename.ends_with(".csv"),
        "{filename}"
    );
    assert!(body.contains("Registros: 2"), "{body}");
    let export = run(
        &db,
        &creds,
        &["--lang", "pt-BR", "report", "incoming", "--format", "csv"],
    );
    assert_eq!(export.status.code(), Some(0), "{}", text(&export));
    assert_eq!(
        String::from_utf8_lossy(&content),
        String::from_utf8_lossy(&export.stdout)
    );
    assert!(String::from_utf8_lossy(&content).contains("'=Fórmula"));

    // run-now sends again at once, and does not touch the periods.
    let o = run(&db, &creds, &["schedule", "run-now", "Contas diárias"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("sent"), "{}", text(&o));
    assert_eq!(schedule_periods(&db, &creds, "Contas diárias").len(), 1);
    wait_for_mail(&mailbox, 2);

    // An HTML schedule, sent by the running collector (not --once).
    let o = run(
        &db,
        &creds,
        &[
            "schedule",
            "add",
            "--name",
            "Weekly SMTP",
            "--report",
            "SMTP_ACCOUNTS",
            "--format",
            "HTML",
            "--recipients",
            &mailbox,
            "--frequency",
            "WEEKLY",
            "--weekday",
            "MONDAY",
            "--time-of-day",
            "00:00",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut child = Command::new(env!("CARGO_BIN_EXE_mail-settings"))
        .arg("--db")
        .arg(&db)
        .arg("--credentials")
        .arg(&creds)
        .arg("collect")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let sent = loop {
        let p = schedule_periods(&db, &creds, "Weekly SMTP");
        if p.first().is_some_and(|p| p["status"] == "sent") {
            break true;
        }
        if started.elapsed() > Duration::from_secs(60) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(sent, "the running collector did not send the due schedule");
    wait_for_mail(&mailbox, 3);
    let raw = collected(&db, &creds);
    let html = raw
        .iter()
        .map(|r| attachment(r))
        .find(|a| a.1.ends_with(".html"))
        .expect("the HTML report");
    let page = String::from_utf8_lossy(&html.2);
    assert!(
        page.starts_with("<!DOCTYPE html>") && page.contains("<td>Out</td>"),
        "{page}"
    );
    // And the daily one was not sent a second time by the collector.
    assert_eq!(schedule_periods(&db, &creds, "Contas diárias").len(), 1);
    assert_eq!(
        schedule_periods(&db, &creds, "Contas diárias")[0]["attempts"],
        1
    );

    // The inbox report: the listing of what was collected, as CSV and HTML.
    let o = run(
        &db,
        &creds,
        &[
            "--lang",
            "pt-BR",
            "inbox",
            "Caixa São Paulo",
            "--format",
            "csv",
            "--bom",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let csv = String::from_utf8(o.stdout).unwrap();
    assert!(
        csv.starts_with("\u{FEFF}ID,Conta,Data,De,Assunto,Tamanho,Anexos,Lida\r\n"),
        "{csv}"
    );
    assert_eq!(csv.matches("\r\n").count(), 1 + raw.len(), "{csv}");
    assert!(
        csv.contains("Contas diárias") && csv.contains("Weekly SMTP"),
        "{csv}"
    );
    let o = run(
        &db,
        &creds,
        &["inbox", "Caixa São Paulo", "--format", "html"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let page = String::from_utf8(o.stdout).unwrap();
    assert!(
        page.contains("<h1>Inbox</h1>") && page.contains("Account: Caixa São Paulo"),
        "{page}"
    );
    assert!(page.contains(&format!("Rows: {}", raw.len())), "{page}");
    let o = run(&db, &creds, &["inbox", "ALL", "--format", "html", "--bom"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
