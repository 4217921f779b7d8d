#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::collector::RunControl;
use crate::model::{IncomingAccountForm, Protocol, SmtpAccountForm};
use crate::{Error, ErrorCategory, InMemoryCredentials};

fn incoming(name: &str) -> IncomingAccountForm {
    IncomingAccountForm {
        name: name.into(),
        host: "127.0.0.1".into(),
        port: Some(1),
        protocol: Some(Protocol::Imap),
        credential: Some("c".into()),
        ..IncomingAccountForm::default()
    }
}

fn smtp(name: &str) -> SmtpAccountForm {
    SmtpAccountForm {
        name: name.to_owned(),
        host: "127.0.0.1".to_owned(),
        port: Some(1),
        sender_email: "noreply@example.com".to_owned(),
        credential: Some("c".to_owned()),
        ..Default::default()
    }
}

fn app(store: Store) -> MailSettings {
    let mut options =
        AppOptions::with_timeouts(Timeouts::uniform(std::time::Duration::from_secs(2)));
    options.collector.max_concurrent_accounts = 1;
    MailSettings::new(
        Arc::new(store),
        Arc::new(InMemoryCredentials::new()),
        options,
    )
}

fn account_error(r: crate::Result<impl std::fmt::Debug>) -> AccountError {
    match r {
        Err(Error::Account(e)) => e,
        other => panic!("expected an account error, got {other:?}"),
    }
}

#[test]
fn a_number_is_an_id_anything_else_a_name() {
    assert_eq!(AccountRef::parse("42"), AccountRef::Id(42));
    assert_eq!(AccountRef::parse(" 7 "), AccountRef::Id(7));
    assert_eq!(
        AccountRef::parse("Help desk"),
        AccountRef::Name("Help desk".into())
    );
    assert_eq!(AccountRef::parse("4a"), AccountRef::Name("4a".into()));
    assert_eq!(AccountRef::parse(""), AccountRef::Name(String::new()));
    assert_eq!("12".parse::<AccountRef>().unwrap(), AccountRef::Id(12));
    assert_eq!(AccountRef::parse_or_default(None), AccountRef::Default);
    assert_eq!(
        AccountRef::parse_or_default(Some("x")),
        AccountRef::Name("x".into())
    );
    assert_eq!(AccountRef::from(3), AccountRef::Id(3));
}

#[test]
fn the_error_names_what_was_asked_with_control_characters_escaped() {
    let e = AccountError::NotFound {
        kind: Some(AccountKind::Smtp),
        wanted: AccountRef::Name("Bad\x1b[2Jname".into()),
    };
    let text = e.to_string();
    assert_eq!(text, "there is no SMTP account with \"Bad\\u{1b}[2Jname\"");
    assert!(!text.contains('\x1b'));
    let e = AccountError::NotFound {
        kind: None,
        wanted: AccountRef::Id(9),
    };
    assert_eq!(e.to_string(), "there is no account with id 9");
    assert_eq!(e.category(), ErrorCategory::NotFound);
    assert_eq!(AccountError::NoDefault.category(), ErrorCategory::NotFound);
    assert_eq!(
        Error::from(AccountError::Ambiguous {
            wanted: AccountRef::Id(1)
        })
        .category(),
        ErrorCategory::Validation
    );
}

#[test]
fn accounts_resolve_by_id_by_name_case_insensitively_and_by_default() {
    let store = Store::open_in_memory().unwrap();
    let desk = store.create_incoming(&incoming("Helpdesk")).unwrap();
    let relay = store.create_smtp(&smtp("Relay")).unwrap();
    let notify = store
        .create_smtp(&SmtpAccountForm {
            default_account: true,
            ..smtp("Notifications")
        })
        .unwrap();
    let app = app(store);

    let a = app.incoming_account(&AccountRef::Id(desk.id)).unwrap();
    assert_eq!(a.name(), "Helpdesk");
    let a = app
        .incoming_account(&AccountRef::parse("  hElPdEsK "))
        .unwrap();
    assert_eq!(a.id(), Some(desk.id));
    assert_eq!(
        app.smtp_account(&AccountRef::parse("relay"))
            .unwrap()
            .name(),
        "Relay"
    );
    assert_eq!(
        app.smtp_account(&AccountRef::Default).unwrap().name(),
        "Notifications"
    );
    assert_eq!(
        app.account_id(AccountKind::Smtp, &AccountRef::Default)
            .unwrap(),
        notify.id
    );
    assert_eq!(
        app.account_id(AccountKind::Smtp, &AccountRef::parse("RELAY"))
            .unwrap(),
        relay.id
    );
    // Either kind: the name finds the only account that has it.
    match app.account(&AccountRef::parse("helpdesk"), None).unwrap() {
        Account::Incoming(a) => assert_eq!(a.name(), "Helpdesk"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        app.account(&AccountRef::Default, None).unwrap().kind(),
        AccountKind::Smtp
    );
}

#[test]
fn missing_accounts_ambiguous_ones_and_no_default_are_typed_errors() {
    let store = Store::open_in_memory().unwrap();
    let desk = store.create_incoming(&incoming("Shared")).unwrap();
    store.create_smtp(&smtp("Shared")).unwrap();
    let app = app(store);

    assert_eq!(
        account_error(app.smtp_account(&AccountRef::parse("nobody"))),
        AccountError::NotFound {
            kind: Some(AccountKind::Smtp),
            wanted: AccountRef::Name("nobody".into())
        }
    );
    assert_eq!(
        account_error(app.incoming_account(&AccountRef::Id(999))),
        AccountError::NotFound {
            kind: Some(AccountKind::Incoming),
            wanted: AccountRef::Id(999)
        }
    );
    assert_eq!(
        account_error(app.account_id(AccountKind::Incoming, &AccountRef::parse("x"))),
        AccountError::NotFound {
            kind: Some(AccountKind::Incoming),
            wanted: AccountRef::Name("x".into())
        }
    );
    assert_eq!(
        account_error(app.account(&AccountRef::parse("nobody"), None)),
        AccountError::NotFound {
            kind: None,
            wanted: AccountRef::Name("nobody".into())
        }
    );
    // The same name in both kinds: ambiguous unless the kind is given.
    assert_eq!(
        account_error(app.account(&AccountRef::parse("shared"), None)),
        AccountError::Ambiguous {
            wanted: AccountRef::Name("shared".into())
        }
    );
    assert_eq!(
        app.account(&AccountRef::parse("shared"), Some(AccountKind::Incoming))
            .unwrap()
            .kind(),
        AccountKind::Incoming
    );
    // Ids overlap too (both kinds count from 1).
    assert_eq!(
        account_error(app.account(&AccountRef::Id(desk.id), None)),
        AccountError::Ambiguous {
            wanted: AccountRef::Id(desk.id)
        }
    );
    // No SMTP account is the default; incoming accounts never have one.
    assert_eq!(
        account_error(app.smtp_account(&AccountRef::Default)),
        AccountError::NoDefault
    );
    assert_eq!(
        account_error(app.account_id(AccountKind::Smtp, &AccountRef::Default)),
        AccountError::NoDefault
    );
    assert!(matches!(
        account_error(app.incoming_account(&AccountRef::Default)),
        AccountError::NoDefaultFor {
            kind: "incoming account"
        }
    ));
}

#[test]
fn send_and_the_test_message_refuse_a_missing_default_before_connecting() {
    let app = app(Store::open_in_memory().unwrap());
    let message = OutgoingMessage::test_message("a@example.com", None, None);
    assert_eq!(
        account_error(app.send(&AccountRef::Default, &message)),
        AccountError::NoDefault
    );
    assert_eq!(
        account_error(app.send_test(&AccountRef::parse("7"), "a@example.com", None, None)),
        AccountError::NotFound {
            kind: Some(AccountKind::Smtp),
            wanted: AccountRef::Id(7)
        }
    );
    assert!(matches!(
        app.smtp_pool(&AccountRef::Default, PoolConfig::default()),
        Err(Error::Account(AccountError::NoDefault))
    ));
    assert_eq!(
        account_error(app.send_many(&AccountRef::Default, std::slice::from_ref(&message))),
        AccountError::NoDefault
    );
    assert_eq!(
        account_error(app.send_many(&AccountRef::Name("Ghost".into()), &[])),
        AccountError::NotFound {
            kind: Some(AccountKind::Smtp),
            wanted: AccountRef::Name("Ghost".into())
        }
    );
}

#[test]
fn the_check_resolves_then_reports_the_failing_stage() {
    let store = Store::open_in_memory().unwrap();
    store
        .create_smtp(&SmtpAccountForm {
            default_account: true,
            use_secure_connection: false,
            ..smtp("Closed")
        })
        .unwrap();
    let app = app(store);
    // Port 1 on loopback refuses: the report fails at a stage; the resolution did not.
    let report = app.check(&AccountRef::Default, None).unwrap();
    assert!(!report.ok);
    assert!(report.failure().is_some());
    assert_eq!(
        account_error(app.check(&AccountRef::parse("other"), Some(AccountKind::Smtp))),
        AccountError::NotFound {
            kind: Some(AccountKind::Smtp),
            wanted: AccountRef::Name("other".into())
        }
    );
}

#[test]
fn collect_once_resolves_every_name_before_running_any() {
    let store = Store::open_in_memory().unwrap();
    store.create_incoming(&incoming("Desk")).unwrap();
    let app = app(store);
    let collector = app.collector();
    let err = app
        .collect_once(
            &collector,
            &[AccountRef::parse("desk"), AccountRef::parse("ghost")],
            &RunControl::default(),
        )
        .unwrap_err();
    match err {
        CollectOnceError::Account(Error::Account(AccountError::NotFound { wanted, .. })) => {
            assert_eq!(wanted, AccountRef::Name("ghost".into()))
        }
        other => panic!("{other:?}"),
    }
    // Nothing ran: no status was written for Desk.
    let statuses = crate::collector::account_statuses(app.store()).unwrap();
    assert!(
        statuses.iter().all(|s| s.last_check.is_none()),
        "{statuses:?}"
    );
}

#[test]
fn the_inbox_page_takes_an_account_by_name_and_the_document_round_trips() {
    let store = Store::open_in_memory().unwrap();
    let desk = store.create_incoming(&incoming("Desk")).unwrap();
    let app = app(store);
    let page = app
        .inbox_page(Some(&AccountRef::parse("DESK")), InboxQuery::account(999))
        .unwrap();
    assert_eq!(page.total, 0);
    assert!(matches!(
        app.inbox_page(Some(&AccountRef::parse("nope")), InboxQuery::default()),
        Err(Error::Account(AccountError::NotFound { .. }))
    ));
    let doc = app.export_document().unwrap();
    assert_eq!(doc.incoming_accounts.len(), 1);
    assert_eq!(doc.incoming_accounts[0].id, Some(desk.id));
    let summary = app.import_document(&doc).unwrap();
    assert_eq!(summary.unchanged, 1);
    assert!(matches!(
        app.schedule(&AccountRef::Default),
        Err(Error::Account(AccountError::NoDefaultFor {
            kind: "report schedule"
        }))
    ));
}

#[test]
fn schedules_resolve_by_id_or_name_and_the_runner_sends_through_the_app() {
    use crate::schedule::{Frequency, ReportScheduleForm, ScheduledReport};
    let store = Store::open_in_memory().unwrap();
    store
        .create_smtp(&SmtpAccountForm {
            default_account: true,
            use_secure_connection: false,
            ..smtp("Closed")
        })
        .unwrap();
    let s = store
        .create_schedule(&ReportScheduleForm {
            name: "Daily accounts".into(),
            report: Some(ScheduledReport::IncomingAccounts),
            recipients: vec!["ops@example.com".into()],
            frequency: Some(Frequency::Daily),
            ..ReportScheduleForm::default()
        })
        .unwrap();
    let app = app(store);
    assert_eq!(
        app.schedule(&AccountRef::parse("DAILY ACCOUNTS"))
            .unwrap()
            .id,
        s.id
    );
    assert_eq!(app.schedule(&AccountRef::Id(s.id)).unwrap().id, s.id);
    assert!(matches!(
        app.schedule(&AccountRef::parse("weekly")),
        Err(Error::Store(crate::store::StoreError::NameNotFound { .. }))
    ));
    // Sending now goes through the default account with the app's credentials and bounds:
    // port 1 refuses, so the outcome is a failure, recorded, not an error.
    let outcome = app.schedule_runner().run_now(s.id).unwrap();
    assert!(!outcome.result.is_sent(), "{outcome:?}");
}
