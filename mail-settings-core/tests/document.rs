//! The settings document: JSON and TOML, positions in errors, never a panic, round trips.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::validate::validate_document;
use mail_settings_core::{Code, Format, Protocol, SettingsDocument};
use proptest::prelude::*;

const SPEC_EXAMPLE: &str = r#"{
  "version": 1,
  "network_connectors": [
    {"id": 1, "name": "dc-east", "enabled": true, "kind": "SOCKS5",
     "host": "10.0.0.5", "port": 1080, "credential": "proxy-east"}
  ],
  "incoming_accounts": [
    {"id": 1, "name": "Helpdesk", "protocol": "IMAP", "host": "imap.example.com",
     "credential": "helpdesk-mailbox", "keep_copy_on_server": false}
  ],
  "smtp_accounts": [
    {"id": 1, "name": "Notifications", "host": "smtp.example.com",
     "sender_email": "noreply@example.com", "credential": "smtp-notify",
     "default_account": true}
  ]
}"#;

#[test]
fn spec_example_reads_and_is_valid() {
    let doc = SettingsDocument::from_json(SPEC_EXAMPLE).unwrap();
    assert_eq!(doc.network_connectors.len(), 1);
    assert_eq!(doc.incoming_accounts[0].protocol, Some(Protocol::Imap));
    assert!(!doc.incoming_accounts[0].keep_copy_on_server);
    assert!(doc.smtp_accounts[0].default_account);
    assert!(validate_document(&doc, None).is_empty());
}

#[test]
fn json_and_toml_round_trip() {
    let doc = SettingsDocument::from_json(SPEC_EXAMPLE).unwrap();
    let json = doc.to_json();
    assert_eq!(SettingsDocument::from_json(&json).unwrap(), doc);
    let toml = doc.to_toml();
    assert!(toml.contains("[[incoming_accounts]]"), "{toml}");
    assert_eq!(SettingsDocument::from_toml(&toml).unwrap(), doc);
}

#[test]
fn unknown_field_has_line_and_column() {
    let text = "{\n  \"version\": 1,\n  \"incoming_accounts\": [\n    {\"name\": \"a\", \"hots\": \"x\"}\n  ]\n}";
    let err = SettingsDocument::from_json(text).unwrap_err();
    assert_eq!(err.line, 4);
    assert!(err.column > 1);
    assert!(err.message.contains("hots"), "{err}");
    let err = SettingsDocument::from_toml(
        "version = 1\n\n[[smtp_accounts]]\nname = \"a\"\nsender = \"x\"\n",
    )
    .unwrap_err();
    assert_eq!(err.line, 5, "{err}");
    assert!(err.message.contains("sender"), "{err}");
    assert!(err.to_string().contains("line 5"));
}

#[test]
fn type_errors_have_line_and_column() {
    let err = SettingsDocument::from_json(
        "{\"version\": 1,\n\"incoming_accounts\": [{\"port\": \"993\"}]}",
    )
    .unwrap_err();
    assert_eq!(err.line, 2);
    let err = SettingsDocument::from_json(
        "{\"version\": 1, \"incoming_accounts\": [{\"protocol\": \"SMTP\"}]}",
    )
    .unwrap_err();
    assert!(err.message.contains("SMTP"), "{err}");
    let err =
        SettingsDocument::from_toml("version = 1\nincoming_accounts = [{ enabled = \"yes\" }]\n")
            .unwrap_err();
    assert_eq!(err.line, 2);
}

#[test]
fn version_is_required_and_checked() {
    let err = SettingsDocument::from_json("{\"version\": 2}").unwrap_err();
    assert!(err.message.contains("unsupported version 2"), "{err}");
    assert!(SettingsDocument::from_json("{}").is_err());
    assert!(SettingsDocument::from_json("{\"version\": 1}").is_ok());
}

#[test]
fn out_of_range_numbers_are_validation_results_not_parse_errors() {
    let doc = SettingsDocument::from_json(
        r#"{"version":1,"incoming_accounts":[{"name":"a","protocol":"IMAP","host":"h","credential":"c","port":70000,"check_interval_secs":5}]}"#,
    )
    .unwrap();
    let v = validate_document(&doc, None);
    assert!(v.contains("incoming_accounts[0].port", Code::InvalidPort));
    assert!(v.contains("incoming_accounts[0].check_interval_secs", Code::OutOfRange));
}

#[test]
fn format_from_path() {
    assert_eq!(Format::from_path("a/b.TOML".as_ref()), Format::Toml);
    assert_eq!(Format::from_path("a/b.json".as_ref()), Format::Json);
    assert_eq!(Format::from_path("settings".as_ref()), Format::Json);
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-zA-Z0-9 @.:_-]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let keys = prop_oneof![
            Just("version".to_owned()),
            Just("incoming_accounts".to_owned()),
            Just("smtp_accounts".to_owned()),
            Just("network_connectors".to_owned()),
            Just("name".to_owned()),
            Just("host".to_owned()),
            Just("port".to_owned()),
            Just("protocol".to_owned()),
            "[a-z_]{1,10}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn reading_never_panics_on_any_text(text in ".{0,400}") {
        let _ = SettingsDocument::from_json(&text);
        let _ = SettingsDocument::from_toml(&text);
    }

    #[test]
    fn reading_and_validating_never_panic_on_document_shaped_json(value in arb_json()) {
        let text = value.to_string();
        if let Ok(doc) = SettingsDocument::from_json(&text) {
            let _ = validate_document(&doc, None);
            let again = SettingsDocument::from_json(&doc.to_json()).unwrap();
            prop_assert_eq!(again, doc);
        }
    }
}

#[test]
fn a_byte_order_mark_is_skipped_in_json_and_toml() {
    let doc =
        SettingsDocument::from_json(include_str!("../../examples/settings/helpdesk.json")).unwrap();
    for format in [Format::Json, Format::Toml] {
        let text = format!("\u{feff}{}", doc.to_string(format));
        assert_eq!(
            SettingsDocument::parse(&text, format).unwrap(),
            doc,
            "{format:?}"
        );
    }
    // Only at the start: a BOM elsewhere is still an error with its position.
    let e = SettingsDocument::from_json("{\"version\": 1,\u{feff} }").unwrap_err();
    assert_eq!((e.line, e.format), (1, "json"));
}

#[cfg(unix)]
#[test]
fn read_file_takes_regular_files_only() {
    use mail_settings_core::document::ReadFileError;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    std::fs::write(&p, "\u{feff}{\"version\": 1}").unwrap();
    assert_eq!(
        SettingsDocument::read_file(&p, None).unwrap(),
        SettingsDocument::default()
    );
    let fifo = dir.path().join("fifo.toml");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let (tx, rx) = std::sync::mpsc::channel();
    let f = fifo.clone();
    std::thread::spawn(move || {
        tx.send(
            SettingsDocument::read_file(&f, None)
                .map(Box::new)
                .map_err(|e| e.to_string()),
        )
    });
    let err = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("reading a FIFO hung")
        .unwrap_err();
    assert!(err.contains("FIFO"), "{err}");
    match SettingsDocument::read_file(std::path::Path::new("/dev/zero"), Some(Format::Json)) {
        Err(ReadFileError::Io(e)) => assert!(e.to_string().contains("a device"), "{e}"),
        other => panic!("{other:?}"),
    }
    match SettingsDocument::read_file(&dir.path().join("missing.json"), None) {
        Err(ReadFileError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
        other => panic!("{other:?}"),
    }
    std::fs::write(&p, b"{\"version\": 1, \"x\": \"\xff\"}").unwrap();
    assert!(SettingsDocument::read_file(&p, None)
        .unwrap_err()
        .to_string()
        .contains("not UTF-8"));
    std::fs::write(&p, "{\"version\": 2}").unwrap();
    assert!(matches!(
        SettingsDocument::read_file(&p, None),
        Err(ReadFileError::Parse(_))
    ));
}
