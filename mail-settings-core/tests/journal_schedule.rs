//! `COLLECTION_JOURNAL` schedules: the journal report goes out with the schedule's account and
//! outcome filters over the period's range (entries since the previous period), as the journal
//! exports it; the sender captures (the real send through Postfix is exercised by the schedule
//! tests for the account reports, with the same code path).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::{SignedDuration, Timestamp};
use mail_settings_core::collector::{
    Collector, CollectorOptions, MailSource, MemoryProtocol, MemoryServer,
};
use mail_settings_core::error::ConnectionError;
use mail_settings_core::journal;
use mail_settings_core::report::{CsvOptions, Lang};
use mail_settings_core::schedule::{
    journal_filters, Frequency, ManualClock, ReportSchedule, ReportScheduleForm, ReportSender,
    RunResult, ScheduleFilters, ScheduleFormat, ScheduleRunner, ScheduledReport,
};
use mail_settings_core::smtp::OutgoingMessage;
use mail_settings_core::store::Store;
use mail_settings_core::{
    IncomingAccount, IncomingAccountForm, Protocol, SmtpAccount, SmtpAccountForm,
};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

#[derive(Default)]
struct Capture(Mutex<Vec<OutgoingMessage>>);

impl ReportSender for Capture {
    fn send(
        &self,
        _: &SmtpAccount,
        m: &OutgoingMessage,
    ) -> Result<Option<String>, ConnectionError> {
        self.0.lock().unwrap().push(m.clone());
        Ok(None)
    }
}

fn message(i: usize) -> Vec<u8> {
    format!("From: a@example.test\r\nSubject: T{i}\r\nMessage-ID: <s{i}@example.test>\r\n\r\nB\r\n")
        .into_bytes()
}

/// Two accounts collected once: "Help desk" 3 stored + 1 refused, "Sales" 2 stored + 1 refused.
fn store() -> Arc<Store> {
    let store = Arc::new(Store::open_in_memory().unwrap());
    store
        .create_smtp(&SmtpAccountForm {
            name: "Default".into(),
            host: "smtp.example.com".into(),
            sender_email: "noreply@example.com".into(),
            credential: Some("smtp".into()),
            default_account: true,
            ..SmtpAccountForm::default()
        })
        .unwrap();
    for (k, (name, n)) in [("Help desk", 3), ("Sales", 2)].into_iter().enumerate() {
        let account = store
            .create_incoming(&IncomingAccountForm {
                name: name.into(),
                host: "mail.example.test".into(),
                protocol: Some(Protocol::Imap),
                credential: Some("c".into()),
                keep_copy_on_server: true,
                ..IncomingAccountForm::default()
            })
            .unwrap()
            .id;
        let server = MemoryServer::new(MemoryProtocol::Imap);
        for i in 0..n {
            server.add(message(k * 10 + i));
        }
        let bad = server.add(message(k * 10 + 9));
        server.refuse(bad);
        let s2 = server.clone();
        Collector::with_sources(
            store.clone(),
            Arc::new(move |_: &IncomingAccount| Ok(Box::new(s2.source()) as Box<dyn MailSource>)),
            CollectorOptions::default(),
        )
        .check_now(account)
        .unwrap();
    }
    store
}

fn form(filters: ScheduleFilters, format: ScheduleFormat) -> ReportScheduleForm {
    ReportScheduleForm {
        name: "Journal".into(),
        report: Some(ScheduledReport::CollectionJournal),
        recipients: vec!["ops@example.com".into()],
        frequency: Some(Frequency::Daily),
        time_of_day: "00:00".into(),
        time_zone: "UTC".into(),
        filters,
        format,
        ..ReportScheduleForm::default()
    }
}

#[test]
fn a_journal_schedule_sends_the_filtered_journal_of_its_period() {
    let store = store();
    let f = form(
        ScheduleFilters {
            account: Some("help desk".into()),
            outcome: Some("refused".into()),
            ..ScheduleFilters::default()
        },
        ScheduleFormat::Csv,
    );
    store.create_schedule(&f).unwrap();
    let cap = Arc::new(Capture::default());
    let now = Timestamp::now();
    let clock = Arc::new(ManualClock::new(now));
    let runner = ScheduleRunner::new(store.clone(), cap.clone()).with_clock(clock.clone());

    let out = runner.run_due().unwrap();
    assert_eq!(out.len(), 1, "{out:?}");
    match &out[0].result {
        RunResult::Sent { rows, .. } => assert_eq!(*rows, 1),
        other => panic!("{other:?}"),
    }
    let sent = cap.0.lock().unwrap().clone();
    let msg = &sent[0];
    assert!(
        msg.subject.contains("Collection journal"),
        "{}",
        msg.subject
    );
    let body = msg.text.as_deref().unwrap();
    assert!(
        body.contains("Rows: 1") && body.contains("Outcome: refused"),
        "{body}"
    );
    let att = &msg.attachments[0];
    assert!(att.filename.starts_with("collection-journal-") && att.filename.ends_with(".csv"));
    // The attachment is the journal's own export with the same filters.
    let schedule = ReportSchedule::from_form(&f, None).unwrap();
    let filters = journal_filters(&schedule, SystemTime::from(now)).unwrap();
    let mut expected = Vec::new();
    journal::write_csv(
        &store,
        &filters,
        Lang::En,
        CsvOptions::default(),
        &mut expected,
    )
    .unwrap();
    assert_eq!(att.content, expected);
    let csv = String::from_utf8(att.content.clone()).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("Help desk") && csv.contains("refused") && !csv.contains("Sales"));
    // The range: since the previous period (yesterday 00:00 UTC) up to the send.
    let since = filters.since.unwrap();
    let today = now.as_second() - now.as_second().rem_euclid(86_400);
    assert_eq!(since, today - 86_400);

    // Three days later the period's range holds none of these entries.
    clock.set(now + SignedDuration::from_hours(72));
    let out = runner.run_due().unwrap();
    match &out[0].result {
        RunResult::Sent { rows, .. } => assert_eq!(*rows, 0),
        other => panic!("{other:?}"),
    }
}

#[test]
fn html_journal_schedule_without_filters_and_a_bad_outcome_word() {
    let store = store();
    let id = store
        .create_schedule(&form(ScheduleFilters::default(), ScheduleFormat::Html))
        .unwrap()
        .id;
    let cap = Arc::new(Capture::default());
    let runner = ScheduleRunner::new(store.clone(), cap.clone())
        .with_clock(Arc::new(ManualClock::new(Timestamp::now())));
    match runner.run_now(id).unwrap().result {
        RunResult::Sent { rows, .. } => assert_eq!(rows, 7),
        other => panic!("{other:?}"),
    }
    let att = cap.0.lock().unwrap()[0].attachments[0].clone();
    assert!(att.content_type.starts_with("text/html"));
    let html = String::from_utf8(att.content).unwrap();
    assert!(html.contains("<title>Collection journal</title>"));
    assert_eq!(html.matches("<tr><td").count(), 7);

    let bad = store
        .create_schedule(&ReportScheduleForm {
            name: "Bad".into(),
            ..form(
                ScheduleFilters {
                    outcome: Some("lost".into()),
                    ..ScheduleFilters::default()
                },
                ScheduleFormat::Csv,
            )
        })
        .unwrap()
        .id;
    match runner.run_now(bad).unwrap().result {
        RunResult::Failed { message, .. } => assert!(message.contains("outcome"), "{message}"),
        other => panic!("{other:?}"),
    }
}
