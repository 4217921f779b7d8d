//! The settings store (the behaviour tests on both backends: SQLite, and PostgreSQL when the
//! test server runs, through `support::postgres::stores`) and on real SQLite files: CRUD, ids, versions and conflicts, the rules across
//! records, import/export, damaged and foreign files, migrations, persistence, concurrency and
//! the absence of secrets in the file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::store::{Store, StoreError, APPLICATION_ID, SCHEMA_VERSION};
use mail_settings_core::typed::Route;
use mail_settings_core::{
    Code, ConnectorKind, Credential, ErrorCategory, InMemoryCredentials, IncomingAccountForm,
    NetworkConnectorForm, Protocol, SecureConnectionType, SettingsDocument, SmtpAccountForm,
};
use proptest::prelude::*;

mod support {
    pub mod postgres;
}
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

fn incoming(name: &str) -> IncomingAccountForm {
    IncomingAccountForm {
        name: name.to_owned(),
        host: "imap.example.com".to_owned(),
        protocol: Some(Protocol::Imap),
        credential: Some("mailbox".to_owned()),
        ..Default::default()
    }
}

fn smtp(name: &str) -> SmtpAccountForm {
    SmtpAccountForm {
        name: name.to_owned(),
        host: "smtp.example.com".to_owned(),
        sender_email: "noreply@example.com".to_owned(),
        credential: Some("smtp-notify".to_owned()),
        ..Default::default()
    }
}

fn connector(name: &str) -> NetworkConnectorForm {
    NetworkConnectorForm {
        name: name.to_owned(),
        kind: Some(ConnectorKind::Socks5),
        host: "10.0.0.5".to_owned(),
        port: Some(1080),
        ..Default::default()
    }
}

fn file_store(dir: &tempfile::TempDir) -> (Store, PathBuf) {
    let path = dir.path().join("settings.sqlite3");
    (Store::open(&path).unwrap(), path)
}

fn invalid(e: StoreError) -> mail_settings_core::Validation {
    match e {
        StoreError::Invalid(v) => v,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Store>();
}

#[test]
fn incoming_crud_with_versions_and_conflicts() {
    for store in support::postgres::stores("incoming_crud_with_versions_and_conflicts") {
        let a = store.create_incoming(&incoming("Helpdesk")).unwrap();
        let b = store.create_incoming(&incoming("Billing")).unwrap();
        assert_eq!(a.record.id, Some(a.id));
        assert!(b.id > a.id);
        assert_eq!(store.get_incoming(a.id).unwrap(), a);
        let ids: Vec<_> = store
            .list_incoming()
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, vec![a.id, b.id]);

        let mut changed = a.record.clone();
        changed.keep_copy_on_server = false;
        changed.port = Some(10993);
        let a2 = store.update_incoming(a.id, a.version, &changed).unwrap();
        assert_ne!(a2.version, a.version);
        assert_eq!(store.get_incoming(a.id).unwrap().record, changed);

        // A second editor still holding the first version is refused, and nothing is overwritten.
        let mut stale = a.record.clone();
        stale.name = "Overwritten".to_owned();
        match store.update_incoming(a.id, a.version, &stale).unwrap_err() {
            StoreError::Conflict {
                id,
                expected,
                found,
                ..
            } => {
                assert_eq!((id, expected, found), (a.id, a.version, a2.version));
            }
            other => panic!("expected Conflict, got {other:?}"),
        }
        assert_eq!(store.get_incoming(a.id).unwrap(), a2);
        let e = store.delete_incoming(a.id, a.version).unwrap_err();
        assert_eq!(e.category(), ErrorCategory::Conflict);
        assert!(store.get_incoming(a.id).is_ok());

        store.delete_incoming(a.id, a2.version).unwrap();
        let e = store.get_incoming(a.id).unwrap_err();
        assert!(
            matches!(e, StoreError::NotFound { id, .. } if id == a.id),
            "{e:?}"
        );
        let e = store
            .update_incoming(a.id, a2.version, &changed)
            .unwrap_err();
        assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
        assert_eq!(store.list_incoming().unwrap().len(), 1);
    }
}

#[test]
fn connector_and_smtp_crud() {
    for store in support::postgres::stores("connector_and_smtp_crud") {
        let c = store.create_connector(&connector("dc-east")).unwrap();
        let mut c_form = c.record.clone();
        c_form.port = Some(1081);
        let c2 = store.update_connector(c.id, c.version, &c_form).unwrap();
        assert_eq!(store.list_connectors().unwrap(), vec![c2.clone()]);
        store.delete_connector(c.id, c2.version).unwrap();
        assert!(store.list_connectors().unwrap().is_empty());

        let s = store.create_smtp(&smtp("Notifications")).unwrap();
        let mut s_form = s.record.clone();
        s_form.reply_to = Some("support@example.com".to_owned());
        let s2 = store.update_smtp(s.id, s.version, &s_form).unwrap();
        assert_eq!(store.get_smtp(s.id).unwrap(), s2);
        assert!(matches!(
            store.delete_smtp(s.id, s.version).unwrap_err(),
            StoreError::Conflict { .. }
        ));
        store.delete_smtp(s.id, s2.version).unwrap();
        assert!(store.list_smtp().unwrap().is_empty());
    }
}

#[test]
fn ids_given_kept_and_never_reused() {
    for store in support::postgres::stores("ids_given_kept_and_never_reused") {
        let mut with_id = incoming("Kept");
        with_id.id = Some(42);
        let kept = store.create_incoming(&with_id).unwrap();
        assert_eq!(kept.id, 42);
        let next = store.create_incoming(&incoming("Next")).unwrap();
        assert_eq!(next.id, 43);

        let mut clash = incoming("Clash");
        clash.id = Some(42);
        let v = invalid(store.create_incoming(&clash).unwrap_err());
        assert!(v.contains("id", Code::DuplicateId), "{v}");

        // The last id, deleted, is not given again.
        store.delete_incoming(next.id, next.version).unwrap();
        assert_eq!(store.create_incoming(&incoming("Later")).unwrap().id, 44);
    }
}

#[test]
fn invalid_records_are_refused_with_spec_paths_and_nothing_is_written() {
    for store in support::postgres::stores(
        "invalid_records_are_refused_with_spec_paths_and_nothing_is_written",
    ) {
        let mut bad = incoming("  ");
        bad.host = "imap://example.com:993".to_owned();
        bad.port = Some(70000);
        bad.protocol = None;
        let v = invalid(store.create_incoming(&bad).unwrap_err());
        for (path, code) in [
            ("name", Code::Required),
            ("host", Code::InvalidHost),
            ("port", Code::InvalidPort),
            ("protocol", Code::Required),
        ] {
            assert!(v.contains(path, code), "{path} {code}: {v}");
        }
        assert!(store.list_incoming().unwrap().is_empty());

        let good = store.create_incoming(&incoming("Good")).unwrap();
        let mut broken = good.record.clone();
        broken.check_interval_secs = 5;
        let v = invalid(
            store
                .update_incoming(good.id, good.version, &broken)
                .unwrap_err(),
        );
        assert!(v.contains("check_interval_secs", Code::OutOfRange), "{v}");
        assert_eq!(store.get_incoming(good.id).unwrap(), good);

        // Warnings never block.
        let mut warned = incoming("Warned");
        warned.skip_certificate = true;
        store.create_incoming(&warned).unwrap();
    }
}

#[test]
fn names_are_unique_per_kind_case_insensitive_and_trimmed() {
    for store in support::postgres::stores("names_are_unique_per_kind_case_insensitive_and_trimmed")
    {
        let a = store.create_incoming(&incoming("Helpdesk")).unwrap();
        let v = invalid(store.create_incoming(&incoming("  HELPDESK ")).unwrap_err());
        assert!(v.contains("name", Code::DuplicateName), "{v}");
        assert_eq!(v.errors().count(), 1);
        // Another kind may use the name.
        store.create_smtp(&smtp("Helpdesk")).unwrap();
        store.create_connector(&connector("Helpdesk")).unwrap();
        // A record may keep (or re-case) its own name.
        let mut recased = a.record.clone();
        recased.name = "HELPDESK".to_owned();
        store.update_incoming(a.id, a.version, &recased).unwrap();
        // Renaming onto another record's name is refused.
        let b = store.create_incoming(&incoming("Billing")).unwrap();
        let mut onto = b.record.clone();
        onto.name = "helpdesk".to_owned();
        let v = invalid(store.update_incoming(b.id, b.version, &onto).unwrap_err());
        assert!(v.contains("name", Code::DuplicateName), "{v}");
        let v = invalid(store.create_connector(&connector("helpdesk")).unwrap_err());
        assert!(v.contains("name", Code::DuplicateName), "{v}");
    }
}

#[test]
fn one_default_smtp_account() {
    for store in support::postgres::stores("one_default_smtp_account") {
        assert!(store.default_smtp_account().unwrap().is_none());
        let mut form = smtp("First");
        form.default_account = true;
        let first = store.create_smtp(&form).unwrap();
        assert_eq!(
            store.default_smtp_account().unwrap().unwrap().id(),
            Some(first.id)
        );

        let mut form = smtp("Second");
        form.default_account = true;
        let second = store.create_smtp(&form).unwrap();
        let first_now = store.get_smtp(first.id).unwrap();
        assert!(!first_now.record.default_account);
        assert_ne!(
            first_now.version, first.version,
            "clearing the flag is a change"
        );
        assert_eq!(
            store.default_smtp_account().unwrap().unwrap().name(),
            "Second"
        );

        // Whoever still holds the first account's old version must reload.
        assert!(matches!(
            store
                .update_smtp(first.id, first.version, &first.record)
                .unwrap_err(),
            StoreError::Conflict { .. }
        ));
        let mut again = first_now.record.clone();
        again.default_account = true;
        store
            .update_smtp(first.id, first_now.version, &again)
            .unwrap();
        assert!(!store.get_smtp(second.id).unwrap().record.default_account);
        let defaults: Vec<_> = store
            .list_smtp()
            .unwrap()
            .into_iter()
            .filter(|s| s.record.default_account)
            .map(|s| s.id)
            .collect();
        assert_eq!(defaults, vec![first.id]);

        let current = store.get_smtp(first.id).unwrap();
        store.delete_smtp(first.id, current.version).unwrap();
        assert!(store.default_smtp_account().unwrap().is_none());
    }
}

#[test]
fn a_used_connector_can_be_neither_deleted_nor_disabled() {
    for store in support::postgres::stores("a_used_connector_can_be_neither_deleted_nor_disabled") {
        let c = store.create_connector(&connector("dc-east")).unwrap();
        let mut via = incoming("Via proxy");
        via.use_network_connector = true;
        via.network_connector = Some(c.id);
        let a = store.create_incoming(&via).unwrap();
        let mut s_form = smtp("Alerts");
        s_form.use_network_connector = true;
        s_form.network_connector = Some(c.id);
        let s = store.create_smtp(&s_form).unwrap();

        let e = store.delete_connector(c.id, c.version).unwrap_err();
        let text = e.to_string();
        match &e {
            StoreError::InUse { id, used_by, .. } => {
                assert_eq!(*id, c.id);
                assert_eq!(used_by.len(), 2);
            }
            other => panic!("expected InUse, got {other:?}"),
        }
        assert!(
            text.contains("\"Via proxy\"") && text.contains("\"Alerts\""),
            "{text}"
        );
        assert_eq!(e.category(), ErrorCategory::Validation);

        let mut off = c.record.clone();
        off.enabled = false;
        assert!(matches!(
            store.update_connector(c.id, c.version, &off).unwrap_err(),
            StoreError::InUse { .. }
        ));
        assert!(store.get_connector(c.id).unwrap().record.enabled);

        // Other changes to a used connector are fine, and the accounts follow them.
        let mut moved = c.record.clone();
        moved.port = Some(1085);
        let c2 = store.update_connector(c.id, c.version, &moved).unwrap();
        let typed = store.incoming_account(a.id).unwrap();
        match &typed.connection().route {
            Route::Proxy(p) => assert_eq!(p.endpoint().port, 1085),
            other => panic!("expected a proxy route, got {other:?}"),
        }

        // Once no account uses it, it can go.
        let mut direct = a.record.clone();
        direct.use_network_connector = false;
        direct.network_connector = None;
        store.update_incoming(a.id, a.version, &direct).unwrap();
        store.delete_smtp(s.id, s.version).unwrap();
        store.delete_connector(c.id, c2.version).unwrap();
    }
}

#[test]
fn accounts_may_only_name_existing_enabled_connectors() {
    for store in support::postgres::stores("accounts_may_only_name_existing_enabled_connectors") {
        let mut off = connector("off");
        off.enabled = false;
        let off = store.create_connector(&off).unwrap();
        let mut form = incoming("Proxied");
        form.use_network_connector = true;
        form.network_connector = Some(999);
        let v = invalid(store.create_incoming(&form).unwrap_err());
        assert!(
            v.contains("network_connector", Code::UnknownNetworkConnector),
            "{v}"
        );
        form.network_connector = Some(off.id);
        let v = invalid(store.create_incoming(&form).unwrap_err());
        assert!(
            v.contains("network_connector", Code::NetworkConnectorDisabled),
            "{v}"
        );
    }
}

#[test]
fn unknown_credentials_are_refused_when_a_provider_is_given() {
    let creds = InMemoryCredentials::new().with("mailbox", Credential::password("u", "p"));
    let store = Store::open_in_memory()
        .unwrap()
        .with_credentials(Arc::new(creds));
    store.create_incoming(&incoming("Known")).unwrap();
    let mut form = incoming("Unknown");
    form.credential = Some("nobody".to_owned());
    let v = invalid(store.create_incoming(&form).unwrap_err());
    assert!(v.contains("credential", Code::UnknownCredential), "{v}");
    let mut c = connector("c");
    c.credential = Some("nobody".to_owned());
    let v = invalid(store.create_connector(&c).unwrap_err());
    assert!(v.contains("credential", Code::UnknownCredential), "{v}");
    // Without a provider, ids are not checked.
    let plain = Store::open_in_memory().unwrap();
    plain.create_incoming(&form).unwrap();
}

#[test]
fn typed_access_for_drivers() {
    for store in support::postgres::stores("typed_access_for_drivers") {
        let c = store.create_connector(&connector("dc-east")).unwrap();
        let mut form = incoming("Helpdesk");
        form.protocol = Some(Protocol::Pop3);
        form.secure_connection_type = SecureConnectionType::Tls;
        form.use_network_connector = true;
        form.network_connector = Some(c.id);
        let a = store.create_incoming(&form).unwrap();

        let typed = store.incoming_account(a.id).unwrap();
        assert_eq!(typed.id(), Some(a.id));
        assert_eq!(typed.protocol(), Protocol::Pop3);
        assert_eq!(typed.connection().endpoint.port, 110);
        assert!(matches!(typed.connection().route, Route::Proxy(_)));
        let by_name = store.incoming_account_by_name("  helpDESK ").unwrap();
        assert_eq!(by_name, typed);

        let s = store.create_smtp(&smtp("Notifications")).unwrap();
        let typed = store.smtp_account(s.id).unwrap();
        assert_eq!(typed.connection().endpoint.port, 465);
        assert_eq!(
            store.smtp_account_by_name("NOTIFICATIONS").unwrap().id(),
            Some(s.id)
        );

        let e = store.incoming_account(9999).unwrap_err();
        assert_eq!(e.category(), ErrorCategory::NotFound);
        let e = store.smtp_account_by_name("nope").unwrap_err();
        assert_eq!(e.category(), ErrorCategory::NotFound);
        assert!(e.to_string().contains("nope"), "{e}");
    }
}

#[test]
fn stored_forms_by_name_ignore_case_and_surrounding_spaces() {
    for store in
        support::postgres::stores("stored_forms_by_name_ignore_case_and_surrounding_spaces")
    {
        store.create_incoming(&incoming("Other")).unwrap();
        let a = store.create_incoming(&incoming("Helpdesk")).unwrap();
        let a = store.update_incoming(a.id, a.version, &a.record).unwrap();
        let found = store.get_incoming_by_name("  helpDESK ").unwrap();
        assert_eq!(found, store.get_incoming(a.id).unwrap());
        assert_eq!((found.id, found.version), (a.id, a.version));
        assert_eq!(found.record.name, "Helpdesk");

        store.create_smtp(&smtp("Other")).unwrap();
        let s = store.create_smtp(&smtp("Notifications")).unwrap();
        let found = store.get_smtp_by_name("\tNOTIFICATIONS  ").unwrap();
        assert_eq!(found, store.get_smtp(s.id).unwrap());
        assert_eq!((found.id, found.version), (s.id, s.version));

        // Each kind has its own names.
        assert!(matches!(
            store.get_smtp_by_name("helpdesk"),
            Err(StoreError::NameNotFound { .. })
        ));
        match store.get_incoming_by_name(" nope ").unwrap_err() {
            StoreError::NameNotFound { kind, name } => {
                assert_eq!(kind, "incoming account");
                assert_eq!(name, "nope");
            }
            other => panic!("expected NameNotFound, got {other:?}"),
        }
        let e = store.get_smtp_by_name("nope").unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::NameNotFound {
                    kind: "SMTP account",
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.category(), ErrorCategory::NotFound);
    }
}

fn sample_document() -> SettingsDocument {
    SettingsDocument::from_json(
        r#"{
  "version": 1,
  "network_connectors": [
    {"id": 1, "name": "dc-east", "enabled": true, "kind": "SOCKS5",
     "host": "10.0.0.5", "port": 1080, "credential": "proxy-east"}
  ],
  "incoming_accounts": [
    {"id": 1, "name": "Helpdesk", "protocol": "IMAP", "host": "imap.example.com",
     "credential": "helpdesk-mailbox", "keep_copy_on_server": false},
    {"id": 7, "name": "Via proxy", "protocol": "POP3", "host": "pop.example.com",
     "credential": "pop", "use_network_connector": true, "network_connector": 1,
     "ca_file": "/etc/mail/ca.pem"},
    {"name": "No id", "protocol": "IMAP", "host": "[::1]", "port": 1143,
     "credential": "x", "use_secure_connection": false}
  ],
  "smtp_accounts": [
    {"id": 1, "name": "Notifications", "host": "smtp.example.com",
     "sender_email": "noreply@example.com", "credential": "smtp-notify",
     "default_account": true, "enable_footer": true, "footer": "-- \nsent by the vault"},
    {"id": 2, "name": "Plain", "host": "smtp.example.com", "sender_email": "a@example.com",
     "use_authentication": false, "use_secure_connection": false}
  ]
}"#,
    )
    .unwrap()
}

#[test]
fn import_keeps_ids_assigns_the_rest_and_round_trips() {
    for store in support::postgres::stores("import_keeps_ids_assigns_the_rest_and_round_trips") {
        let doc = sample_document();
        let summary = store.import(&doc).unwrap();
        assert_eq!(summary.created, 6);

        let out = store.export().unwrap();
        let ids: Vec<_> = out.incoming_accounts.iter().map(|a| a.id).collect();
        assert_eq!(ids, vec![Some(1), Some(7), Some(8)]);
        let mut expected = doc.clone();
        expected.incoming_accounts[2].id = Some(8);
        assert_eq!(out, expected);

        // Export, import elsewhere, export again: the same document.
        let other = Store::open_in_memory().unwrap();
        other.import(&out).unwrap();
        assert_eq!(other.export().unwrap(), out);

        // Importing the same document again changes nothing, not even versions.
        let before = store.list_incoming().unwrap();
        let again = store.import(&out).unwrap();
        assert_eq!(again.unchanged, 6);
        assert_eq!((again.created, again.updated, again.deleted), (0, 0, 0));
        assert_eq!(store.list_incoming().unwrap(), before);
    }
}

#[test]
fn import_gives_ids_that_no_record_of_the_document_claims() {
    for store in support::postgres::stores("import_gives_ids_that_no_record_of_the_document_claims")
    {
        let mut doc = SettingsDocument::default();
        doc.incoming_accounts.push(incoming("No id, listed first"));
        let mut one = incoming("Claims id 1");
        one.id = Some(1);
        doc.incoming_accounts.push(one);
        store.import(&doc).unwrap();
        let names: Vec<_> = store
            .list_incoming()
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s.record.name))
            .collect();
        assert_eq!(
            names,
            vec![
                (1, "Claims id 1".to_owned()),
                (2, "No id, listed first".to_owned())
            ]
        );
    }
}

/// An import larger than one statement's batch (PostgreSQL writes the rows of records with
/// ids many to a statement): every row written as given, ids kept, and the ids the store gives
/// afterwards are new.
#[test]
fn a_large_import_keeps_every_row_and_id() {
    for store in support::postgres::stores("a_large_import_keeps_every_row_and_id") {
        let forms: Vec<IncomingAccountForm> = (0..1_500)
            .map(|i| IncomingAccountForm {
                id: Some(10 + 3 * i),
                keep_copy_on_server: i % 2 == 0,
                ..incoming(&format!("Desk {i:05}"))
            })
            .collect();
        let doc = SettingsDocument {
            incoming_accounts: forms.clone(),
            ..SettingsDocument::default()
        };
        let summary = store.import(&doc).unwrap();
        assert_eq!(summary.created, 1_500);
        let back = store.export().unwrap().incoming_accounts;
        assert_eq!(back, forms);
        let next = store.create_incoming(&incoming("After")).unwrap();
        assert!(next.id > 10 + 3 * 1_499, "{}", next.id);
    }
}

#[test]
fn import_replaces_the_whole_set() {
    for store in support::postgres::stores("import_replaces_the_whole_set") {
        store.import(&sample_document()).unwrap();
        let kept_before = store.get_incoming(1).unwrap();
        let extra = store
            .create_incoming(&incoming("Not in the document"))
            .unwrap();

        // Names and the default flag move between records; one record goes; one is new.
        let mut doc = store.export().unwrap();
        doc.incoming_accounts.retain(|a| a.id != Some(extra.id));
        doc.incoming_accounts[1].name = "Helpdesk".to_owned();
        doc.incoming_accounts[0].name = "Via proxy".to_owned();
        doc.smtp_accounts[0].default_account = false;
        doc.smtp_accounts[1].default_account = true;
        doc.smtp_accounts.push(smtp("Brand new"));
        let summary = store.import(&doc).unwrap();
        assert_eq!(summary.deleted, 1);
        assert_eq!(summary.created, 1);
        assert_eq!(summary.updated, 4);

        assert!(matches!(
            store.get_incoming(extra.id).unwrap_err(),
            StoreError::NotFound { .. }
        ));
        let swapped = store.get_incoming(1).unwrap();
        assert_eq!(swapped.record.name, "Via proxy");
        assert_ne!(swapped.version, kept_before.version);
        assert_eq!(store.default_smtp_account().unwrap().unwrap().id(), Some(2));
        let mut want = doc.clone();
        want.smtp_accounts[2].id = Some(3);
        assert_eq!(store.export().unwrap(), want);

        // An empty document empties the store.
        store.import(&SettingsDocument::default()).unwrap();
        assert_eq!(store.export().unwrap(), SettingsDocument::default());
    }
}

#[test]
fn import_with_one_invalid_record_changes_nothing() {
    for store in support::postgres::stores("import_with_one_invalid_record_changes_nothing") {
        store.import(&sample_document()).unwrap();
        let before = (
            store.list_connectors().unwrap(),
            store.list_incoming().unwrap(),
            store.list_smtp().unwrap(),
        );

        let mut doc = SettingsDocument::default();
        doc.incoming_accounts.push(incoming("Fine"));
        let mut bad = incoming("Broken");
        bad.host = "not a host".to_owned();
        doc.incoming_accounts.push(bad);
        let v = invalid(store.import(&doc).unwrap_err());
        assert!(
            v.contains("incoming_accounts[1].host", Code::InvalidHost),
            "{v}"
        );

        let mut dup = sample_document();
        dup.smtp_accounts[1].default_account = true;
        let v = invalid(store.import(&dup).unwrap_err());
        assert!(
            v.contains(
                "smtp_accounts[1].default_account",
                Code::MultipleDefaultAccounts
            ),
            "{v}"
        );

        let after = (
            store.list_connectors().unwrap(),
            store.list_incoming().unwrap(),
            store.list_smtp().unwrap(),
        );
        assert_eq!(after, before);
    }
}

#[test]
fn import_failing_midway_rolls_everything_back() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = file_store(&dir);
    store.import(&sample_document()).unwrap();
    let before = store.export().unwrap();
    // Make the very last write of an import fail, as a full disk or a crash would.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TRIGGER boom BEFORE INSERT ON smtp_accounts WHEN NEW.name = 'Boom'
             BEGIN SELECT RAISE(ABORT, 'boom'); END;",
        )
        .unwrap();
    }
    let mut doc = SettingsDocument::default();
    doc.network_connectors.push(connector("fresh"));
    doc.incoming_accounts.push(incoming("Fresh"));
    doc.smtp_accounts.push(smtp("Boom"));
    let e = store.import(&doc).unwrap_err();
    assert!(matches!(e, StoreError::Sqlite(_)), "{e:?}");
    assert_eq!(store.export().unwrap(), before);
}

#[test]
fn persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.sqlite3");
    let (a, s) = {
        let store = Store::open(&path).unwrap();
        let a = store.create_incoming(&incoming("Helpdesk")).unwrap();
        let mut form = smtp("Notifications");
        form.default_account = true;
        (a, store.create_smtp(&form).unwrap())
    };
    let store = Store::open(&path).unwrap();
    assert_eq!(store.get_incoming(a.id).unwrap(), a);
    assert_eq!(store.get_smtp(s.id).unwrap(), s);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    // The version counter survives too: a new change never repeats an old version.
    let b = store.create_incoming(&incoming("Billing")).unwrap();
    assert!(b.version > s.version);
}

fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn random_bytes_are_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noise.sqlite3");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let noise: Vec<u8> = (0..8192)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(&path, &noise).unwrap();
    let e = Store::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::NotADatabase { .. }), "{e:?}");
    assert_eq!(e.category(), ErrorCategory::Storage);
    assert_eq!(file_bytes(&path), noise, "the file is left alone");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just some text, not SQLite at all\n".repeat(50)).unwrap();
    assert!(matches!(
        Store::open(&text).unwrap_err(),
        StoreError::NotADatabase { .. }
    ));
}

#[test]
fn a_truncated_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.sqlite3");
    {
        let store = Store::open(&path).unwrap();
        let mut doc = SettingsDocument::default();
        for i in 0..400 {
            doc.incoming_accounts
                .push(incoming(&format!("account {i}")));
        }
        store.import(&doc).unwrap();
    }
    // Closing the last connection checkpointed the WAL into the file.
    let full = file_bytes(&path);
    assert!(full.len() > 8 * 4096, "{}", full.len());
    for cut in [full.len() / 2, 4096 + 100, 50] {
        let damaged = dir.path().join(format!("cut-{cut}.sqlite3"));
        std::fs::write(&damaged, &full[..cut]).unwrap();
        let e = Store::open(&damaged).unwrap_err();
        assert!(
            matches!(e, StoreError::NotADatabase { .. }),
            "cut at {cut}: {e:?}"
        );
    }
    // Same size, but pages in the middle overwritten: found when the file is opened.
    let mut scribbled = full.clone();
    // The page size is in the header (bytes 16-17, big-endian; 1 means 65536).
    let page = match u16::from_be_bytes([full[16], full[17]]) {
        1 => 65_536,
        n => usize::from(n),
    };
    // The pages holding account rows (where the middle of the file falls depends on how
    // many tables the schema has, and empty mail tables are not checked on open).
    let at = full
        .windows(11)
        .position(|w| w == b"account 200")
        .expect("the rows are in the file");
    let middle = (at / page * page).max(page);
    let end = (middle + page).min(full.len());
    assert!(end > middle, "the store file has more than one page");
    for (i, b) in scribbled[middle..end].iter_mut().enumerate() {
        *b = (i * 7 + 13) as u8;
    }
    let damaged = dir.path().join("scribbled.sqlite3");
    std::fs::write(&damaged, &scribbled).unwrap();
    let e = Store::open(&damaged).unwrap_err();
    assert!(matches!(e, StoreError::NotADatabase { .. }), "{e:?}");
    assert!(e.to_string().contains("scribbled.sqlite3"), "{e}");
}

#[test]
fn another_applications_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.sqlite3");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('hello');").unwrap();
    }
    let before = file_bytes(&path);
    let e = Store::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::NotADatabase { .. }), "{e:?}");
    assert!(e.to_string().contains("another application"), "{e}");
    assert_eq!(file_bytes(&path), before);

    let path = dir.path().join("other-id.sqlite3");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "application_id", 0x1234_5678)
            .unwrap();
    }
    let e = Store::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::NotADatabase { .. }), "{e:?}");
    assert!(e.to_string().contains("0x12345678"), "{e}");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.sqlite3");
    drop(Store::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    match Store::open(&path).unwrap_err() {
        StoreError::SchemaTooNew { found, supported } => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn an_empty_file_becomes_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.sqlite3");
    std::fs::write(&path, b"").unwrap();
    let store = Store::open(&path).unwrap();
    store.create_incoming(&incoming("First")).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let app: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    assert_eq!(app, APPLICATION_ID);
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// Schema version 1 exactly as it was released: the file an older library left behind.
const SCHEMA_V1: &str = r#"
CREATE TABLE store_sequence (id INTEGER PRIMARY KEY CHECK (id = 1), last_version INTEGER NOT NULL);
INSERT INTO store_sequence (id, last_version) VALUES (1, 0);
CREATE TABLE network_connectors (
    id INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER NOT NULL, name_key TEXT NOT NULL,
    name TEXT NOT NULL, enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    kind TEXT NOT NULL CHECK (kind IN ('SOCKS5', 'HTTP_CONNECT')), host TEXT NOT NULL,
    port INTEGER NOT NULL, credential TEXT);
CREATE UNIQUE INDEX network_connectors_name_key ON network_connectors (name_key);
CREATE TABLE incoming_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER NOT NULL, name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    keep_copy_on_server INTEGER NOT NULL CHECK (keep_copy_on_server IN (0, 1)),
    automatic_check INTEGER NOT NULL CHECK (automatic_check IN (0, 1)),
    check_interval_secs INTEGER NOT NULL, enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    host TEXT NOT NULL, port INTEGER, protocol TEXT NOT NULL CHECK (protocol IN ('IMAP', 'POP3')),
    use_network_connector INTEGER NOT NULL CHECK (use_network_connector IN (0, 1)),
    network_connector INTEGER REFERENCES network_connectors (id), credential TEXT,
    skip_certificate INTEGER NOT NULL CHECK (skip_certificate IN (0, 1)),
    use_secure_connection INTEGER NOT NULL CHECK (use_secure_connection IN (0, 1)),
    secure_connection_type TEXT NOT NULL CHECK (secure_connection_type IN ('SSL', 'TLS')),
    ca_file, max_message_size INTEGER NOT NULL);
CREATE UNIQUE INDEX incoming_accounts_name_key ON incoming_accounts (name_key);
CREATE INDEX incoming_accounts_network_connector ON incoming_accounts (network_connector);
CREATE TABLE smtp_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER NOT NULL, name_key TEXT NOT NULL,
    name TEXT NOT NULL, enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    sender_email TEXT NOT NULL, reply_to TEXT, return_path TEXT, confirmation_email TEXT,
    default_account INTEGER NOT NULL CHECK (default_account IN (0, 1)),
    send_read_receipt INTEGER NOT NULL CHECK (send_read_receipt IN (0, 1)),
    force_configuration INTEGER NOT NULL CHECK (force_configuration IN (0, 1)),
    enable_footer INTEGER NOT NULL CHECK (enable_footer IN (0, 1)), footer TEXT,
    host TEXT NOT NULL, port INTEGER,
    use_secure_connection INTEGER NOT NULL CHECK (use_secure_connection IN (0, 1)),
    secure_connection_type TEXT NOT NULL CHECK (secure_connection_type IN ('SSL', 'TLS')),
    use_authentication INTEGER NOT NULL CHECK (use_authentication IN (0, 1)),
    skip_certificate_errors INTEGER NOT NULL CHECK (skip_certificate_errors IN (0, 1)),
    use_network_connector INTEGER NOT NULL CHECK (use_network_connector IN (0, 1)),
    network_connector INTEGER REFERENCES network_connectors (id), credential TEXT, ca_file);
CREATE UNIQUE INDEX smtp_accounts_name_key ON smtp_accounts (name_key);
CREATE INDEX smtp_accounts_network_connector ON smtp_accounts (network_connector);
CREATE UNIQUE INDEX smtp_accounts_one_default ON smtp_accounts (default_account) WHERE default_account = 1;
INSERT INTO incoming_accounts VALUES (5, 3, 'legacy', 'Legacy', 0, 1, 600, 1, 'imap.example.com',
    NULL, 'IMAP', 0, NULL, 'legacy-box', 0, 1, 'TLS', NULL, 1048576);
UPDATE store_sequence SET last_version = 3;
"#;

fn build_v1(path: &Path, extra_sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(SCHEMA_V1).unwrap();
    conn.execute_batch(extra_sql).unwrap();
    conn.pragma_update(None, "application_id", APPLICATION_ID)
        .unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
}

fn user_version(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

#[test]
fn an_older_schema_is_migrated_keeping_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.sqlite3");
    build_v1(&path, "");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let legacy = store.get_incoming(5).unwrap();
    assert_eq!(legacy.version, 3);
    assert_eq!(legacy.record.name, "Legacy");
    assert_eq!(
        legacy.record.secure_connection_type,
        SecureConnectionType::Tls
    );
    assert_eq!(legacy.record.check_interval_secs, 600);
    // The report index of version 2 exists and the store works on.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'incoming_accounts_report'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    let next = store.create_incoming(&incoming("New")).unwrap();
    assert_eq!(next.id, 6);
    assert!(next.version > 3);
}

#[test]
fn a_failing_migration_leaves_the_file_at_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1-blocked.sqlite3");
    // An object with the name migration 2 wants to create makes it fail half-way.
    build_v1(&path, "CREATE TABLE smtp_accounts_report (x);");
    match Store::open(&path).unwrap_err() {
        StoreError::Migration { version, .. } => assert_eq!(version, 2),
        other => panic!("expected Migration, got {other:?}"),
    }
    assert_eq!(user_version(&path), 1);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'incoming_accounts_report'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        n, 0,
        "the first statement of the failed migration was rolled back"
    );
}

#[test]
fn two_editors_of_one_record_one_wins() {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let a = store.create_incoming(&incoming("Shared")).unwrap();
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|i| {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            let a = a.clone();
            std::thread::spawn(move || {
                let mut form = a.record.clone();
                form.name = format!("Edited by {i}");
                barrier.wait();
                store.update_incoming(a.id, a.version, &form)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let wins: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(wins.len(), 1, "{results:?}");
    assert!(results
        .iter()
        .any(|r| matches!(r, Err(StoreError::Conflict { .. }))));
    assert_eq!(store.get_incoming(a.id).unwrap(), *wins[0]);
}

#[test]
fn two_stores_on_one_file_from_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.sqlite3");
    drop(Store::open(&path).unwrap());
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = Store::open(&path).unwrap();
                (0..40)
                    .map(|i| {
                        store
                            .create_incoming(&incoming(&format!("t{t}-{i}")))
                            .unwrap()
                            .id
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ids: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 80);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.list_incoming().unwrap().len(), 80);
}

#[test]
fn the_file_never_holds_a_secret() {
    const SECRET: &str = "Planted-S3cret-7f3a9c";
    const TOKEN: &str = "ya29.planted-oauth-token-c0ffee";
    let creds = InMemoryCredentials::new()
        .with(
            "mailbox",
            Credential::password("helpdesk@example.com", SECRET),
        )
        .with(
            "smtp-notify",
            Credential::oauth2("noreply@example.com", TOKEN),
        )
        .with("proxy", Credential::password("proxy-user", SECRET));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.sqlite3");
    let store = Store::open(&path)
        .unwrap()
        .with_credentials(Arc::new(creds));
    let mut c = connector("dc-east");
    c.credential = Some("proxy".to_owned());
    let c = store.create_connector(&c).unwrap();
    let mut a = incoming("Helpdesk");
    a.use_network_connector = true;
    a.network_connector = Some(c.id);
    let a = store.create_incoming(&a).unwrap();
    store.create_smtp(&smtp("Notifications")).unwrap();
    store.incoming_account(a.id).unwrap();

    let debug = format!("{store:?}");
    let exported = store.export().unwrap().to_json();
    let mut files = vec![path.clone()];
    for suffix in ["-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        if p.exists() {
            files.push(p);
        }
    }
    let mut bytes: Vec<u8> = files.iter().flat_map(|p| file_bytes(p)).collect();
    drop(store);
    bytes.extend(file_bytes(&path));
    for secret in [SECRET, TOKEN] {
        let needle = secret.as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "secret found in the database files"
        );
        assert!(!debug.contains(secret) && !exported.contains(secret));
    }
    // The credential ids are there, of course.
    assert!(bytes.windows(7).any(|w| w == b"mailbox"));
}

// ----- export/import round trip over generated valid documents -----

const HOSTS: &[&str] = &[
    "imap.example.com",
    "mail.example.org",
    "10.1.2.3",
    "::1",
    "[2001:db8::5]",
    "xn--bcher-kva.example",
    "Mail.Example.COM.",
];

fn name_strategy(prefix: &'static str) -> impl Strategy<Value = String> {
    ("[A-Za-z0-9 _%'\"<>&,=+@-]{0,12}", " {0,2}")
        .prop_map(move |(s, pad)| format!("{pad}{prefix}{s}"))
}

fn connector_strategy() -> impl Strategy<Value = NetworkConnectorForm> {
    (
        name_strategy("c"),
        any::<bool>(),
        prop_oneof![
            Just(ConnectorKind::Socks5),
            Just(ConnectorKind::HttpConnect)
        ],
        prop::sample::select(HOSTS),
        1i64..=65535,
        prop::option::of("[a-z-]{1,10}"),
    )
        .prop_map(
            |(name, enabled, kind, host, port, credential)| NetworkConnectorForm {
                id: None,
                name,
                enabled,
                kind: Some(kind),
                host: host.to_owned(),
                port: Some(port),
                credential,
            },
        )
}

fn incoming_strategy() -> impl Strategy<Value = IncomingAccountForm> {
    (
        (name_strategy("i"), any::<[bool; 6]>(), 30i64..=86_400),
        (
            prop::sample::select(HOSTS),
            prop::option::of(1i64..=65535),
            prop_oneof![Just(Protocol::Imap), Just(Protocol::Pop3)],
            "[a-z.@-]{1,20}",
            prop_oneof![
                Just(SecureConnectionType::Ssl),
                Just(SecureConnectionType::Tls)
            ],
            prop::option::of("/etc/ca/[a-z]{1,6}\\.pem"),
            1024i64..=1_073_741_824,
        ),
    )
        .prop_map(
            |((name, f, interval), (host, port, protocol, credential, kind, ca, max))| {
                IncomingAccountForm {
                    id: None,
                    name,
                    keep_copy_on_server: f[0],
                    automatic_check: f[1],
                    check_interval_secs: interval,
                    enabled: f[2],
                    host: host.to_owned(),
                    port,
                    protocol: Some(protocol),
                    use_network_connector: f[3],
                    network_connector: None,
                    credential: Some(credential),
                    skip_certificate: f[4],
                    use_secure_connection: f[5],
                    secure_connection_type: kind,
                    ca_file: ca.map(PathBuf::from),
                    max_message_size: max,
                    folders: if protocol == Protocol::Imap && f[1] {
                        vec!["INBOX".into(), "Support/Tier 2".into(), "Ação".into()]
                    } else {
                        vec!["INBOX".into()]
                    },
                    archive_folder: (protocol == Protocol::Imap && !f[0])
                        .then(|| "Arquivo/Concluídos".to_owned()),
                    use_push: f[5],
                    authentication: Default::default(),
                    oauth2_client: None,
                }
            },
        )
}

fn smtp_strategy() -> impl Strategy<Value = SmtpAccountForm> {
    (
        (name_strategy("s"), any::<[bool; 9]>(), "[a-z]{1,8}"),
        (
            prop::sample::select(HOSTS),
            prop::option::of(1i64..=65535),
            prop_oneof![
                Just(SecureConnectionType::Ssl),
                Just(SecureConnectionType::Tls)
            ],
            "[a-z-]{1,10}",
            // Printable, and never blank: a blank footer with enable_footer is invalid.
            "[!-~][ -~]{0,39}",
        ),
    )
        .prop_map(
            |((name, f, local), (host, port, kind, credential, footer))| SmtpAccountForm {
                id: None,
                name,
                enabled: f[0],
                sender_email: format!("{local}@example.com"),
                reply_to: f[1].then(|| format!("reply-{local}@example.com")),
                return_path: f[2].then(|| format!("bounce-{local}@example.com")),
                confirmation_email: f[3].then(|| format!("read-{local}@example.com")),
                default_account: false,
                send_read_receipt: f[3] && f[4],
                force_configuration: f[5],
                enable_footer: f[6],
                footer: f[6].then_some(footer),
                host: host.to_owned(),
                port,
                use_secure_connection: f[7],
                secure_connection_type: kind,
                use_authentication: f[8],
                skip_certificate_errors: f[7] && f[4],
                use_network_connector: false,
                network_connector: None,
                credential: f[8].then_some(credential),
                ca_file: None,
                authentication: Default::default(),
                oauth2_client: None,
            },
        )
}

/// Makes names unique per kind (by numbering them), wires connector references, picks at most
/// one default, and gives some records explicit ids.
fn document_strategy() -> impl Strategy<Value = SettingsDocument> {
    (
        prop::collection::vec(connector_strategy(), 0..4),
        prop::collection::vec(incoming_strategy(), 0..8),
        prop::collection::vec(smtp_strategy(), 0..6),
        prop::option::of(0usize..6),
        any::<u64>(),
    )
        .prop_map(|(mut conns, mut inc, mut out, default, seed)| {
            let mut bits = seed;
            let mut flip = || {
                bits = bits.rotate_left(1);
                bits & 1 == 1
            };
            for (i, c) in conns.iter_mut().enumerate() {
                c.name = format!("{}#{i}", c.name);
                c.id = Some(i as i64 * 3 + 2);
            }
            let usable: Vec<i64> = conns
                .iter()
                .filter(|c| c.enabled)
                .filter_map(|c| c.id)
                .collect();
            for (i, a) in inc.iter_mut().enumerate() {
                a.name = format!("{}#{i}", a.name);
                if a.use_network_connector && !usable.is_empty() {
                    a.network_connector = Some(usable[i % usable.len()]);
                } else {
                    a.use_network_connector = false;
                }
                if flip() {
                    a.id = Some(i as i64 * 5 + 1);
                }
                // Some accounts sign in with the document's OAuth2 client (id 7).
                if flip() {
                    a.authentication = mail_settings_core::AuthenticationMethod::OAuth2;
                    a.oauth2_client = Some(7);
                }
            }
            let n = out.len();
            for (i, s) in out.iter_mut().enumerate() {
                s.name = format!("{}#{i}", s.name);
                s.default_account = default.is_some_and(|d| d % n.max(1) == i);
                if !usable.is_empty() && flip() {
                    s.use_network_connector = true;
                    s.network_connector = Some(usable[i % usable.len()]);
                }
                if flip() {
                    s.id = Some(100 - i as i64);
                }
                if s.use_authentication && flip() {
                    s.authentication = mail_settings_core::AuthenticationMethod::OAuth2;
                    s.oauth2_client = Some(7);
                }
            }
            let clients = vec![mail_settings_core::OAuth2ClientForm {
                id: Some(7),
                name: "Microsoft 365".into(),
                provider: Some(mail_settings_core::OAuth2ProviderKind::Microsoft),
                tenant: (seed % 3 == 0).then(|| "contoso.onmicrosoft.com".to_owned()),
                client_id: format!("app-{seed}"),
                ..Default::default()
            }];
            SettingsDocument {
                oauth2_clients: clients,
                network_connectors: conns,
                incoming_accounts: inc,
                smtp_accounts: out,
                ..SettingsDocument::default()
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn export_then_import_round_trips_exactly(doc in document_strategy()) {
        let v = mail_settings_core::validate::validate_document(&doc, None);
        prop_assert!(!v.has_errors(), "generator made an invalid document: {}", v);

        let first = Store::open_in_memory().unwrap();
        first.import(&doc).unwrap();
        let exported = first.export().unwrap();
        // Everything the document said is kept; ids the document gave are kept.
        prop_assert_eq!(exported.incoming_accounts.len(), doc.incoming_accounts.len());
        for (got, want) in exported.incoming_accounts.iter().zip(
            sorted_by_given_id(&doc.incoming_accounts, |a| a.id).iter()
        ) {
            let mut want = (*want).clone();
            want.id = got.id;
            prop_assert_eq!(got, &want);
        }

        let second = Store::open_in_memory().unwrap();
        second.import(&exported).unwrap();
        prop_assert_eq!(second.export().unwrap(), exported.clone());
        let json = SettingsDocument::from_json(&exported.to_json()).unwrap();
        prop_assert_eq!(json, exported.clone());

        let again = first.import(&exported).unwrap();
        let total = doc.network_connectors.len() + doc.oauth2_clients.len()
            + doc.incoming_accounts.len() + doc.smtp_accounts.len();
        prop_assert_eq!(again.unchanged, total);
    }
}

/// The order an export lists records in: records with a given id first by id (the store assigns
/// ids above every id it has seen), then the others in document order.
fn sorted_by_given_id<T>(items: &[T], id: impl Fn(&T) -> Option<i64>) -> Vec<&T> {
    let mut with: Vec<&T> = items.iter().filter(|t| id(t).is_some()).collect();
    with.sort_by_key(|t| id(t));
    with.extend(items.iter().filter(|t| id(t).is_none()));
    with
}

#[test]
fn a_new_store_file_uses_64_kib_pages_and_an_old_one_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.sqlite3");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let size: i64 = conn
        .pragma_query_value(None, "page_size", |r| r.get(0))
        .unwrap();
    assert_eq!(size, mail_settings_core::store::PAGE_SIZE);
    drop(conn);
    // Reopening (and any file made before this setting) keeps the file's page size.
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        mail_settings_core::store::SCHEMA_VERSION
    );
}

/// PostgreSQL: nodes with their own connections edit one record at once (the version check
/// holds across connections: one wins, the others get a conflict), and create records at once
/// (every id distinct, the one default SMTP account kept).
#[test]
fn postgres_nodes_editing_at_once() {
    let Some(db) = support::postgres::fresh_database("postgres_nodes_editing_at_once") else {
        return;
    };
    let url = db.url.clone();
    let first = Store::open(&url).unwrap();
    let a = first.create_incoming(&incoming("Shared")).unwrap();
    let nodes = 4;
    let barrier = Arc::new(Barrier::new(nodes));
    let handles: Vec<_> = (0..nodes)
        .map(|i| {
            let (url, barrier, a) = (url.clone(), Arc::clone(&barrier), a.clone());
            std::thread::spawn(move || {
                let store = Store::open(&url).unwrap();
                let mut form = a.record.clone();
                form.name = format!("Edited by {i}");
                barrier.wait();
                let edit = store.update_incoming(a.id, a.version, &form);
                let created: Vec<_> = (0..10)
                    .map(|j| {
                        let mut s = smtp(&format!("n{i}-{j}"));
                        s.default_account = j % 3 == 0;
                        store.create_smtp(&s).unwrap()
                    })
                    .collect();
                (edit, created)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let wins: Vec<_> = results
        .iter()
        .filter_map(|(r, _)| r.as_ref().ok())
        .collect();
    assert_eq!(wins.len(), 1, "one editor wins");
    assert_eq!(
        results
            .iter()
            .filter(|(r, _)| matches!(r, Err(StoreError::Conflict { .. })))
            .count(),
        nodes - 1
    );
    assert_eq!(first.get_incoming(a.id).unwrap(), *wins[0]);
    let mut ids: Vec<_> = results
        .iter()
        .flat_map(|(_, c)| c.iter().map(|s| s.id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), nodes * 10);
    let all = first.list_smtp().unwrap();
    assert_eq!(all.len(), nodes * 10);
    assert_eq!(all.iter().filter(|s| s.record.default_account).count(), 1);
}
