//! The settings of SPEC.md "Incoming account: folders, archive, push": `folders`,
//! `archive_folder`, `use_push`, their validation codes, typed accessors and documents.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::document::SettingsDocument;
use mail_settings_core::validate::{validate_incoming, Code, Severity, ValidationContext};
use mail_settings_core::{IncomingAccount, IncomingAccountForm, Protocol};

fn imap() -> IncomingAccountForm {
    IncomingAccountForm {
        name: "Help desk".into(),
        host: "imap.example.com".into(),
        protocol: Some(Protocol::Imap),
        credential: Some("helpdesk".into()),
        ..IncomingAccountForm::default()
    }
}

fn codes(form: &IncomingAccountForm) -> Vec<(String, Code, Severity)> {
    validate_incoming(form, "", &ValidationContext::standalone())
        .results()
        .iter()
        .map(|r| (r.path.clone(), r.code, r.severity))
        .collect()
}

#[test]
fn defaults_are_inbox_no_archive_and_push() {
    let f = IncomingAccountForm::default();
    assert_eq!(f.folders, vec!["INBOX".to_owned()]);
    assert_eq!(f.archive_folder, None);
    assert!(f.use_push);
    assert!(codes(&imap()).is_empty());
}

#[test]
fn folder_rules() {
    let mut f = imap();
    f.folders = vec![
        "INBOX".into(),
        "Support/Tier 2".into(),
        "Atendimento/São Paulo".into(),
    ];
    assert!(codes(&f).is_empty(), "{:?}", codes(&f));
    for bad in [
        vec![],
        vec!["".to_owned()],
        vec!["a\nb".to_owned()],
        vec!["a//b".to_owned()],
        vec!["/a".to_owned()],
        vec!["x".repeat(256)],
        vec!["INBOX".to_owned(), "inbox".to_owned()],
        vec!["A".to_owned(), "A".to_owned()],
        (0..51).map(|i| format!("f{i}")).collect(),
    ] {
        f.folders = bad.clone();
        assert_eq!(
            codes(&f),
            vec![("folders".to_owned(), Code::InvalidFolder, Severity::Error)],
            "{bad:?}"
        );
    }
    // Case matters except for INBOX.
    f.folders = vec!["A".into(), "a".into()];
    assert!(codes(&f).is_empty());
}

#[test]
fn pop3_has_neither_folders_nor_archive() {
    let mut f = imap();
    f.protocol = Some(Protocol::Pop3);
    f.keep_copy_on_server = false;
    assert!(codes(&f).is_empty());
    f.folders = vec!["inbox".into()];
    assert!(codes(&f).is_empty(), "INBOX in any case is the default");
    f.folders = vec!["INBOX".into(), "Other".into()];
    f.archive_folder = Some("Archive".into());
    assert_eq!(
        codes(&f),
        vec![
            (
                "folders".to_owned(),
                Code::FoldersNotAllowed,
                Severity::Error
            ),
            (
                "archive_folder".to_owned(),
                Code::ArchiveFolderNotAllowed,
                Severity::Error
            ),
        ]
    );
}

#[test]
fn archive_rules() {
    let mut f = imap();
    f.keep_copy_on_server = false;
    f.archive_folder = Some("Arquivo/Concluídos".into());
    assert!(codes(&f).is_empty());
    f.archive_folder = Some("inbox".into());
    assert_eq!(
        codes(&f),
        vec![(
            "archive_folder".to_owned(),
            Code::ArchiveFolderCollected,
            Severity::Error
        )]
    );
    f.archive_folder = Some("a\tb".into());
    assert_eq!(
        codes(&f),
        vec![(
            "archive_folder".to_owned(),
            Code::InvalidFolder,
            Severity::Error
        )]
    );
    f.archive_folder = Some("Archive".into());
    f.keep_copy_on_server = true;
    let c = codes(&f);
    assert_eq!(
        c,
        vec![(
            "archive_folder".to_owned(),
            Code::ArchiveFolderUnused,
            Severity::Warning
        )]
    );
    // A warning: the account still builds.
    let a = IncomingAccount::from_form(&f, &ValidationContext::standalone()).unwrap();
    assert_eq!(a.archive_folder(), Some("Archive"));
}

#[test]
fn typed_accessors_and_pop3_defaults() {
    let mut f = imap();
    f.folders = vec!["INBOX".into(), "Support".into()];
    f.use_push = false;
    let a = IncomingAccount::from_form(&f, &ValidationContext::standalone()).unwrap();
    assert_eq!(a.folders(), ["INBOX", "Support"]);
    assert!(!a.use_push());
    let mut p = imap();
    p.protocol = Some(Protocol::Pop3);
    let a = IncomingAccount::from_form(&p, &ValidationContext::standalone()).unwrap();
    assert!(!a.use_push(), "push is IMAP only");
    assert_eq!(a.folders(), ["INBOX"]);
}

#[test]
fn documents_without_the_fields_read_as_before_and_defaults_are_not_written() {
    let old = r#"{"version":1,"incoming_accounts":[{"name":"Help desk","host":"imap.example.com",
        "protocol":"IMAP","credential":"helpdesk"}]}"#;
    let doc = SettingsDocument::from_json(old).unwrap();
    let a = &doc.incoming_accounts[0];
    assert_eq!(
        (a.folders.clone(), a.archive_folder.clone(), a.use_push),
        (vec!["INBOX".to_owned()], None, true)
    );
    let json = doc.to_json();
    assert!(
        !json.contains("folders") && !json.contains("use_push") && !json.contains("archive"),
        "{json}"
    );
    // Set, they round-trip in JSON and TOML.
    let mut doc = doc;
    doc.incoming_accounts[0].folders = vec!["INBOX".into(), "Atendimento/São Paulo".into()];
    doc.incoming_accounts[0].archive_folder = Some("Arquivo".into());
    doc.incoming_accounts[0].use_push = false;
    assert_eq!(SettingsDocument::from_json(&doc.to_json()).unwrap(), doc);
    assert_eq!(SettingsDocument::from_toml(&doc.to_toml()).unwrap(), doc);
}

#[test]
fn every_new_code_has_its_word() {
    let words: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    for w in [
        "folders_not_allowed",
        "invalid_folder",
        "archive_folder_not_allowed",
        "archive_folder_collected",
        "archive_folder_unused",
    ] {
        assert!(words.contains(&w), "{w}");
    }
    assert_eq!(Code::ArchiveFolderUnused.severity(), Severity::Warning);
}
