//! Report schedules: the record (validation, documents, store), periods across daylight-saving
//! changes, and the runner's once-per-period rule, with a clock the tests set and a sender that
//! captures (the real send to the local Postfix is in `tests/tests/schedule_smtp.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::civil::date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use mail_settings_core::error::ConnectionError;
use mail_settings_core::report::{IncomingReportFilter, Lang, SmtpReportFilter};
use mail_settings_core::schedule::{
    validate_schedule, Frequency, ManualClock, PeriodStatus, ReportSchedule, ReportScheduleForm,
    ReportSender, RunResult, ScheduleFilters, ScheduleFormat, ScheduleRunner, ScheduledReport,
    Weekday, CLAIM_LEASE, RETRY_AFTER,
};
use mail_settings_core::smtp::OutgoingMessage;
use mail_settings_core::store::{Store, StoreError};
use mail_settings_core::{
    Code, IncomingAccountForm, Protocol, SettingsDocument, SmtpAccount, SmtpAccountForm,
};
use proptest::prelude::*;
use std::sync::{Arc, Barrier, Mutex};

// ---------- helpers ----------

fn daily(name: &str) -> ReportScheduleForm {
    ReportScheduleForm {
        name: name.into(),
        report: Some(ScheduledReport::IncomingAccounts),
        recipients: vec!["ops@example.com".into()],
        frequency: Some(Frequency::Daily),
        ..ReportScheduleForm::default()
    }
}

fn smtp_form(name: &str) -> SmtpAccountForm {
    SmtpAccountForm {
        name: name.into(),
        host: "smtp.example.com".into(),
        sender_email: "noreply@example.com".into(),
        credential: Some("smtp".into()),
        ..SmtpAccountForm::default()
    }
}

fn store_with_accounts(store: &Store) {
    store
        .create_incoming(&IncomingAccountForm {
            name: "Conexão São Paulo".into(),
            host: "imap.example.com".into(),
            protocol: Some(Protocol::Imap),
            credential: Some("mailbox".into()),
            ..IncomingAccountForm::default()
        })
        .unwrap();
    store
        .create_smtp(&SmtpAccountForm {
            default_account: true,
            ..smtp_form("Default")
        })
        .unwrap();
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn typed(form: &ReportScheduleForm) -> ReportSchedule {
    ReportSchedule::from_form(form, None).unwrap()
}

/// Captures what would be sent.
#[derive(Default)]
struct Capture {
    sent: Mutex<Vec<(String, OutgoingMessage)>>,
    fail: Mutex<bool>,
    panic: Mutex<bool>,
}

impl Capture {
    fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

impl ReportSender for Capture {
    fn send(
        &self,
        account: &SmtpAccount,
        message: &OutgoingMessage,
    ) -> Result<Option<String>, ConnectionError> {
        if *self.panic.lock().unwrap() {
            panic!("the process dies after the server accepted the message");
        }
        if *self.fail.lock().unwrap() {
            return Err(ConnectionError::new(
                mail_settings_core::ErrorCategory::Connect,
                "SMTP smtp.example.com:465: connection refused",
            ));
        }
        self.sent
            .lock()
            .unwrap()
            .push((account.name().to_owned(), message.clone()));
        Ok(Some("<test@example.com>".into()))
    }
}

fn runner(store: &Arc<Store>, capture: &Arc<Capture>, clock: &Arc<ManualClock>) -> ScheduleRunner {
    ScheduleRunner::new(store.clone(), capture.clone()).with_clock(clock.clone())
}

// ---------- the record ----------

#[test]
fn every_schedule_code_at_its_path() {
    let accounts = vec![
        SmtpAccountForm {
            id: Some(1),
            ..smtp_form("on")
        },
        SmtpAccountForm {
            id: Some(2),
            enabled: false,
            ..smtp_form("off")
        },
    ];
    let bad = ReportScheduleForm {
        name: "  ".into(),
        report: None,
        recipients: vec!["ok@example.com".into(), "not an address".into()],
        smtp_account: Some(9),
        frequency: None,
        time_of_day: "24:00".into(),
        day_of_month: 29,
        time_zone: "Mars/Olympus".into(),
        ..ReportScheduleForm::default()
    };
    let v = validate_schedule(&bad, "report_schedules[0]", Some(&accounts));
    for (path, code) in [
        ("name", Code::Required),
        ("report", Code::Required),
        ("recipients[1]", Code::InvalidEmail),
        ("smtp_account", Code::UnknownSmtpAccount),
        ("frequency", Code::Required),
        ("time_of_day", Code::InvalidTime),
        ("day_of_month", Code::OutOfRange),
        ("time_zone", Code::InvalidTimeZone),
    ] {
        assert!(
            v.contains(&format!("report_schedules[0].{path}"), code),
            "{path} {code}: {v}"
        );
    }
    assert!(!v.contains("report_schedules[0].recipients[0]", Code::InvalidEmail));
    let disabled = ReportScheduleForm {
        smtp_account: Some(2),
        ..daily("x")
    };
    assert!(validate_schedule(&disabled, "", Some(&accounts))
        .contains("smtp_account", Code::SmtpAccountDisabled));
    let none = ReportScheduleForm {
        recipients: vec![],
        ..daily("x")
    };
    assert!(validate_schedule(&none, "", None).contains("recipients", Code::Required));
    let many = ReportScheduleForm {
        recipients: (0..51).map(|i| format!("r{i}@example.com")).collect(),
        ..daily("x")
    };
    assert!(validate_schedule(&many, "", None).contains("recipients", Code::OutOfRange));
    let fifty = ReportScheduleForm {
        recipients: (0..50).map(|i| format!("r{i}@example.com")).collect(),
        ..daily("x")
    };
    assert!(validate_schedule(&fifty, "", None).is_empty());
    for good in ["00:00", "23:59", "07:30"] {
        let f = ReportScheduleForm {
            time_of_day: good.into(),
            ..daily("x")
        };
        assert!(validate_schedule(&f, "", None).is_empty(), "{good}");
    }
    for bad in ["7:30", "07:60", "0730", "", " 07:30", "07:3a", "-1:00"] {
        let f = ReportScheduleForm {
            time_of_day: bad.into(),
            ..daily("x")
        };
        assert!(
            validate_schedule(&f, "", None).contains("time_of_day", Code::InvalidTime),
            "{bad:?}"
        );
    }
    // Messages in both languages.
    let r = &validate_schedule(&bad, "", None).into_results()[0];
    assert!(!r.message.is_empty() && !r.message_pt_br.is_empty());
    let tz = validate_schedule(
        &ReportScheduleForm {
            time_zone: "Nowhere/City".into(),
            ..daily("x")
        },
        "",
        None,
    );
    assert!(
        tz.results()[0].message_pt_br.contains("fuso horário"),
        "{tz}"
    );
}

#[test]
fn defaults_and_documents() {
    let json = r#"{"version": 1, "report_schedules": [
        {"name": "Daily", "report": "SMTP_ACCOUNTS", "recipients": ["a@example.com"], "frequency": "DAILY"}
    ]}"#;
    let doc = SettingsDocument::from_json(json).unwrap();
    let s = &doc.report_schedules[0];
    assert_eq!(s.format, ScheduleFormat::Csv);
    assert_eq!(s.language, Lang::En);
    assert_eq!(s.time_of_day, "08:00");
    assert_eq!(s.weekday, Weekday::Monday);
    assert_eq!(s.day_of_month, 1);
    assert_eq!(s.time_zone, "UTC");
    assert!(s.enabled);
    assert_eq!(s.smtp_account, None);
    // TOML round trip, with every field set.
    let mut full = doc.clone();
    full.report_schedules[0] = ReportScheduleForm {
        id: Some(4),
        format: ScheduleFormat::Html,
        language: Lang::PtBr,
        frequency: Some(Frequency::Monthly),
        time_of_day: "07:30".into(),
        weekday: Weekday::Friday,
        day_of_month: 28,
        time_zone: "America/Sao_Paulo".into(),
        filters: ScheduleFilters {
            name_contains: Some("x".into()),
            authentication: Some(true),
            ..ScheduleFilters::default()
        },
        ..full.report_schedules[0].clone()
    };
    let toml = full.to_toml();
    assert_eq!(SettingsDocument::from_toml(&toml).unwrap(), full);
    assert_eq!(SettingsDocument::from_json(&full.to_json()).unwrap(), full);
    // A document without schedules reads as before and writes no key.
    let plain = SettingsDocument::from_json(r#"{"version": 1}"#).unwrap();
    assert!(plain.report_schedules.is_empty());
    assert!(!plain.to_json().contains("report_schedules"));
    assert!(!plain.to_toml().contains("report_schedules"));
    // Unknown fields are refused with a position.
    let e = SettingsDocument::from_json(
        r#"{"version": 1, "report_schedules": [{"name": "x", "hour": 3}]}"#,
    )
    .unwrap_err();
    assert!(e.message.contains("hour") && e.line == 1, "{e}");
    // Document rules: duplicate names, SMTP account references.
    let two = SettingsDocument::from_json(
        r#"{"version": 1, "smtp_accounts": [{"id": 3, "name": "s", "host": "h.example", "sender_email": "a@example.com", "credential": "c", "enabled": false}],
        "report_schedules": [
        {"name": "Same", "report": "SMTP_ACCOUNTS", "recipients": ["a@example.com"], "frequency": "DAILY", "smtp_account": 3},
        {"name": " same ", "report": "SMTP_ACCOUNTS", "recipients": ["a@example.com"], "frequency": "DAILY", "smtp_account": 8}
    ]}"#,
    )
    .unwrap();
    let v = mail_settings_core::validate::validate_document(&two, None);
    assert!(
        v.contains("report_schedules[1].name", Code::DuplicateName),
        "{v}"
    );
    assert!(
        v.contains(
            "report_schedules[0].smtp_account",
            Code::SmtpAccountDisabled
        ),
        "{v}"
    );
    assert!(
        v.contains("report_schedules[1].smtp_account", Code::UnknownSmtpAccount),
        "{v}"
    );
}

// ---------- the store ----------

#[test]
fn store_crud_versions_and_references() {
    let store = Store::open_in_memory().unwrap();
    let smtp = store.create_smtp(&smtp_form("Notify")).unwrap();
    let off = store
        .create_smtp(&SmtpAccountForm {
            enabled: false,
            ..smtp_form("Off")
        })
        .unwrap();
    let s = store
        .create_schedule(&ReportScheduleForm {
            smtp_account: Some(smtp.id),
            ..daily("Daily accounts")
        })
        .unwrap();
    assert_eq!(store.get_schedule(s.id).unwrap(), s);
    assert_eq!(store.get_schedule_by_name(" DAILY accounts").unwrap(), s);
    assert_eq!(store.list_schedules().unwrap(), vec![s.clone()]);
    // Duplicate name.
    match store.create_schedule(&daily("daily ACCOUNTS")) {
        Err(StoreError::Invalid(v)) => assert!(v.contains("name", Code::DuplicateName), "{v}"),
        other => panic!("{other:?}"),
    }
    // References.
    for (id, code) in [
        (999, Code::UnknownSmtpAccount),
        (off.id, Code::SmtpAccountDisabled),
    ] {
        match store.create_schedule(&ReportScheduleForm {
            smtp_account: Some(id),
            ..daily("other")
        }) {
            Err(StoreError::Invalid(v)) => assert!(v.contains("smtp_account", code), "{v}"),
            other => panic!("{other:?}"),
        }
    }
    // Optimistic versions.
    let changed = store
        .update_schedule(
            s.id,
            s.version,
            &ReportScheduleForm {
                time_of_day: "07:30".into(),
                ..s.record.clone()
            },
        )
        .unwrap();
    assert_ne!(changed.version, s.version);
    assert!(matches!(
        store.update_schedule(s.id, s.version, &s.record),
        Err(StoreError::Conflict { .. })
    ));
    // The SMTP account it sends through can be neither deleted nor disabled.
    let smtp_now = store.get_smtp(smtp.id).unwrap();
    match store.delete_smtp(smtp.id, smtp_now.version) {
        Err(e @ StoreError::UsedBySchedules { .. }) => {
            assert!(e.to_string().contains("Daily accounts"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.update_smtp(
            smtp.id,
            smtp_now.version,
            &SmtpAccountForm {
                enabled: false,
                ..smtp_now.record.clone()
            }
        ),
        Err(StoreError::UsedBySchedules { .. })
    ));
    // Delete.
    assert!(matches!(
        store.delete_schedule(s.id, s.version),
        Err(StoreError::Conflict { .. })
    ));
    store.delete_schedule(s.id, changed.version).unwrap();
    assert!(store.list_schedules().unwrap().is_empty());
    store.delete_smtp(smtp.id, smtp_now.version).unwrap();
}

#[test]
fn import_and_export_all_or_nothing() {
    let store = Store::open_in_memory().unwrap();
    let doc = SettingsDocument::from_json(
        r#"{"version": 1, "smtp_accounts": [{"id": 3, "name": "s", "host": "h.example", "sender_email": "a@example.com", "credential": "c"}],
        "report_schedules": [
        {"id": 7, "name": "Weekly", "report": "INCOMING_ACCOUNTS", "recipients": ["a@example.com"], "frequency": "WEEKLY", "weekday": "FRIDAY", "smtp_account": 3, "time_zone": "Europe/Berlin", "language": "pt-BR", "format": "HTML", "filters": {"automatic_check": true}}
    ]}"#,
    )
    .unwrap();
    let summary = store.import(&doc).unwrap();
    assert_eq!(summary.created, 2);
    let exported = store.export().unwrap();
    assert_eq!(exported, doc);
    // Again: unchanged.
    assert_eq!(store.import(&doc).unwrap().unchanged, 2);
    // A document with an invalid schedule changes nothing, not even its valid records.
    let mut bad = doc.clone();
    bad.smtp_accounts[0].name = "renamed".into();
    bad.report_schedules[0].time_zone = "Europe/Nowhere".into();
    match store.import(&bad) {
        Err(StoreError::Invalid(v)) => {
            assert!(
                v.contains("report_schedules[0].time_zone", Code::InvalidTimeZone),
                "{v}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.export().unwrap(), doc);
    // A document that leaves the schedule out deletes it.
    let mut without = doc.clone();
    without.report_schedules.clear();
    assert_eq!(store.import(&without).unwrap().deleted, 1);
    assert!(store.list_schedules().unwrap().is_empty());
}

// ---------- periods ----------

/// Zone, local date (year, month, day), time of day, the instant it runs.
type Case = (&'static str, (i16, i8, i8), &'static str, &'static str);

const DST_TABLE: &[Case] = &[
    // Berlin, spring: 02:00 → 03:00. 02:30 does not exist: the next valid minute, 03:00 CEST.
    (
        "Europe/Berlin",
        (2026, 3, 29),
        "02:30",
        "2026-03-29T01:00:00Z",
    ),
    (
        "Europe/Berlin",
        (2026, 3, 29),
        "02:00",
        "2026-03-29T01:00:00Z",
    ),
    (
        "Europe/Berlin",
        (2026, 3, 29),
        "01:59",
        "2026-03-29T00:59:00Z",
    ),
    (
        "Europe/Berlin",
        (2026, 3, 29),
        "03:00",
        "2026-03-29T01:00:00Z",
    ),
    // Berlin, autumn: 03:00 → 02:00. 02:30 happens twice: the first (CEST).
    (
        "Europe/Berlin",
        (2026, 10, 25),
        "02:30",
        "2026-10-25T00:30:00Z",
    ),
    (
        "Europe/Berlin",
        (2026, 10, 25),
        "03:00",
        "2026-10-25T02:00:00Z",
    ),
    // São Paulo's past rules: clocks jumped 00:00 → 01:00 (2018-11-04)…
    (
        "America/Sao_Paulo",
        (2018, 11, 4),
        "00:30",
        "2018-11-04T03:00:00Z",
    ),
    (
        "America/Sao_Paulo",
        (2018, 11, 4),
        "00:00",
        "2018-11-04T03:00:00Z",
    ),
    (
        "America/Sao_Paulo",
        (2018, 11, 4),
        "08:00",
        "2018-11-04T10:00:00Z",
    ),
    // …and back 00:00 → 23:00 (2019-02-17): 23:30 on the 16th happened twice: the first.
    (
        "America/Sao_Paulo",
        (2019, 2, 16),
        "23:30",
        "2019-02-17T01:30:00Z",
    ),
    // No daylight saving since 2019.
    (
        "America/Sao_Paulo",
        (2026, 11, 1),
        "00:30",
        "2026-11-01T03:30:00Z",
    ),
    // New York: 02:00 → 03:00 (2026-03-08), 02:00 → 01:00 (2026-11-01).
    (
        "America/New_York",
        (2026, 3, 8),
        "02:30",
        "2026-03-08T07:00:00Z",
    ),
    (
        "America/New_York",
        (2026, 11, 1),
        "01:30",
        "2026-11-01T05:30:00Z",
    ),
];

#[test]
fn daylight_saving_table() {
    for &(zone, (y, m, d), time, expected) in DST_TABLE {
        let s = typed(&ReportScheduleForm {
            time_of_day: time.into(),
            time_zone: zone.into(),
            ..daily("x")
        });
        let p = s.occurrence_on(date(y, m, d)).unwrap();
        assert_eq!(p.due_at, ts(expected), "{zone} {y}-{m}-{d} {time}");
        assert_eq!(p.key, date(y, m, d).to_string());
        // It is the current period from that instant on, and not a second before.
        assert_eq!(s.current_period(p.due_at).unwrap(), p);
        let before = s
            .current_period(p.due_at - SignedDuration::from_secs(1))
            .unwrap();
        assert_ne!(before.key, p.key, "{zone} {time}");
    }
}

#[test]
fn weekly_and_monthly_periods() {
    let weekly = typed(&ReportScheduleForm {
        frequency: Some(Frequency::Weekly),
        weekday: Weekday::Wednesday,
        time_of_day: "09:15".into(),
        time_zone: "America/Sao_Paulo".into(),
        day_of_month: 5, // ignored
        ..daily("x")
    });
    // 2026-12-06 is a Sunday: the last Wednesday is 12-02, the next 12-09.
    let now = ts("2026-12-06T15:00:00Z");
    assert_eq!(weekly.current_period(now).unwrap().key, "2026-12-02");
    let next = weekly.next_period(now).unwrap();
    assert_eq!(next.key, "2026-12-09");
    assert_eq!(next.due_at, ts("2026-12-09T12:15:00Z"));
    let monthly = typed(&ReportScheduleForm {
        frequency: Some(Frequency::Monthly),
        day_of_month: 28,
        time_zone: "Europe/Berlin".into(),
        weekday: Weekday::Sunday, // ignored
        ..daily("x")
    });
    assert_eq!(monthly.current_period(now).unwrap().key, "2026-11-28");
    assert_eq!(monthly.next_period(now).unwrap().key, "2026-12-28");
    assert_eq!(
        monthly
            .current_period(ts("2027-03-01T00:00:00Z"))
            .unwrap()
            .key,
        "2027-02-28"
    );
}

const ZONES: &[&str] = &[
    "Europe/Berlin",
    "America/Sao_Paulo",
    "America/New_York",
    "UTC",
    "Australia/Lord_Howe",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever the instant: the current period has begun, the next has not, and nothing lies
    /// between them.
    #[test]
    fn current_and_next_periods_meet(
        secs in 1_420_070_400i64..1_893_456_000, // 2015..2030
        zone in 0usize..ZONES.len(),
        hour in 0i8..24,
        minute in 0i8..60,
        freq in 0usize..3,
    ) {
        let now = Timestamp::from_second(secs).unwrap();
        let s = typed(&ReportScheduleForm {
            time_of_day: format!("{hour:02}:{minute:02}"),
            time_zone: ZONES[zone].into(),
            frequency: Some([Frequency::Daily, Frequency::Weekly, Frequency::Monthly][freq]),
            weekday: Weekday::Sunday,
            day_of_month: 15,
            ..daily("x")
        });
        let cur = s.current_period(now).unwrap();
        let next = s.next_period(now).unwrap();
        prop_assert!(cur.due_at <= now && now < next.due_at);
        prop_assert!(cur.key < next.key);
        prop_assert_eq!(s.current_period(next.due_at).unwrap(), next.clone());
        prop_assert_eq!(s.current_period(next.due_at - SignedDuration::from_secs(1)).unwrap(), cur);
    }
}

/// Over two years in every zone, a daily schedule at every half hour of the night falls once
/// on every local date: never twice on a day that repeats an hour, never skipped on a day
/// that loses one.
#[test]
fn once_a_day_across_every_transition() {
    for zone in ZONES {
        let tz = TimeZone::get(zone).unwrap();
        for time in [
            "00:00", "00:30", "01:30", "02:00", "02:30", "03:00", "23:30",
        ] {
            let s = typed(&ReportScheduleForm {
                time_of_day: time.into(),
                time_zone: (*zone).into(),
                ..daily("x")
            });
            let mut now = ts("2017-01-01T00:00:00Z");
            let mut last = s.current_period(now).unwrap();
            let mut day = last.key.parse::<jiff::civil::Date>().unwrap();
            for _ in 0..730 {
                let next = s.next_period(now).unwrap();
                day = day.tomorrow().unwrap();
                assert_eq!(next.key, day.to_string(), "{zone} {time}");
                assert!(next.due_at > last.due_at);
                // It runs on its date or, past a skipped night, just after it.
                let local = next.due_at.to_zoned(tz.clone()).date();
                assert!(
                    local == day || local == day.tomorrow().unwrap(),
                    "{zone} {time} {next}"
                );
                now = next.due_at;
                last = next;
            }
        }
    }
}

// ---------- the runner ----------

fn setup(form: ReportScheduleForm, at: &str) -> (Arc<Store>, Arc<Capture>, Arc<ManualClock>, i64) {
    let store = Arc::new(Store::open_in_memory().unwrap());
    store_with_accounts(&store);
    let id = store.create_schedule(&form).unwrap().id;
    (
        store,
        Arc::new(Capture::default()),
        Arc::new(ManualClock::new(ts(at))),
        id,
    )
}

#[test]
fn once_per_period_and_what_is_sent() {
    let (store, cap, clock, id) = setup(
        ReportScheduleForm {
            time_of_day: "07:30".into(),
            time_zone: "America/Sao_Paulo".into(),
            language: Lang::PtBr,
            recipients: vec!["ops@example.com".into(), " boss@example.com ".into()],
            ..daily("Diário")
        },
        "2026-12-07T10:00:00Z", // 07:00 in São Paulo
    );
    let r = runner(&store, &cap, &clock);
    // Due at 2026-12-06 07:30 already (created after): that period is sent at the first run.
    let first = r.run_due().unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].period.as_deref(), Some("2026-12-06"));
    assert!(r.run_due().unwrap().is_empty());
    clock.set(ts("2026-12-07T10:29:59Z"));
    assert!(r.run_due().unwrap().is_empty());
    clock.set(ts("2026-12-07T10:30:00Z"));
    let out = r.run_due().unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].schedule_id, id);
    assert_eq!(out[0].period.as_deref(), Some("2026-12-07"));
    match &out[0].result {
        RunResult::Sent {
            recipients, rows, ..
        } => {
            assert_eq!(recipients, &["ops@example.com", "boss@example.com"]);
            assert_eq!(*rows, 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(r.run_due().unwrap().is_empty());
    assert_eq!(cap.count(), 2);
    // What went out: through the default account, in Portuguese, the CSV the store exports.
    let sent = cap.sent.lock().unwrap();
    let (account, msg) = &sent[1];
    assert_eq!(account, "Default");
    assert_eq!(msg.to, vec!["ops@example.com", "boss@example.com"]);
    assert!(
        msg.subject.contains("Configuração IMAP/POP3"),
        "{}",
        msg.subject
    );
    assert!(msg.subject.contains("Diário"));
    let body = msg.text.as_deref().unwrap();
    assert!(
        body.contains("Registros: 1") && body.contains("Filtros: nenhum"),
        "{body}"
    );
    let att = &msg.attachments[0];
    assert_eq!(att.filename, "imap-pop3-settings-2026-12-07.csv");
    assert!(att.content_type.starts_with("text/csv"));
    let mut expected = Vec::new();
    store
        .write_incoming_csv(&IncomingReportFilter::default(), Lang::PtBr, &mut expected)
        .unwrap();
    assert_eq!(att.content, expected);
    drop(sent);
    let periods = store.schedule_periods(id).unwrap();
    assert_eq!(periods.len(), 2);
    assert!(periods
        .iter()
        .all(|p| p.status == PeriodStatus::Sent
            && p.message_id.as_deref() == Some("<test@example.com>")));
}

#[test]
fn html_with_filters_and_a_named_account() {
    let store = Arc::new(Store::open_in_memory().unwrap());
    store_with_accounts(&store);
    let named = store.create_smtp(&smtp_form("Reports")).unwrap();
    store
        .create_schedule(&ReportScheduleForm {
            report: Some(ScheduledReport::SmtpAccounts),
            format: ScheduleFormat::Html,
            smtp_account: Some(named.id),
            filters: ScheduleFilters {
                default_account: Some(false),
                keep_copy: Some(true), // not an SMTP report filter: ignored
                ..ScheduleFilters::default()
            },
            ..daily("SMTP weekly")
        })
        .unwrap();
    let cap = Arc::new(Capture::default());
    let clock = Arc::new(ManualClock::new(ts("2026-12-07T09:00:00Z")));
    runner(&store, &cap, &clock).run_due().unwrap();
    let sent = cap.sent.lock().unwrap();
    let (account, msg) = &sent[0];
    assert_eq!(account, "Reports");
    let att = &msg.attachments[0];
    assert_eq!(att.filename, "smtp-settings-2026-12-07.html");
    let filter = SmtpReportFilter {
        default_account: Some(false),
        ..SmtpReportFilter::default()
    };
    let mut expected = Vec::new();
    store
        .write_smtp_html(&filter, Lang::En, clock.now_system(), &mut expected)
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&att.content),
        String::from_utf8_lossy(&expected)
    );
    let html = String::from_utf8_lossy(&att.content);
    assert!(
        html.contains("<td>Reports</td>") && !html.contains("<td>Default</td>"),
        "{html}"
    );
}

trait NowSystem {
    fn now_system(&self) -> std::time::SystemTime;
}
impl NowSystem for ManualClock {
    fn now_system(&self) -> std::time::SystemTime {
        use mail_settings_core::schedule::Clock;
        self.now().into()
    }
}

#[test]
fn a_restart_does_not_resend() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    {
        let store = Store::open(&path).unwrap();
        store_with_accounts(&store);
        store.create_schedule(&daily("Daily")).unwrap();
    }
    let clock = Arc::new(ManualClock::new(ts("2026-12-07T08:05:00Z")));
    let cap = Arc::new(Capture::default());
    for _ in 0..3 {
        // A new process each time: a fresh store on the same file.
        let store = Arc::new(Store::open(&path).unwrap());
        runner(&store, &cap, &clock).run_due().unwrap();
    }
    assert_eq!(cap.count(), 1);
}

#[test]
fn two_runners_on_one_store_send_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    {
        let store = Store::open(&path).unwrap();
        store_with_accounts(&store);
        for i in 0..5 {
            store
                .create_schedule(&daily(&format!("Daily {i}")))
                .unwrap();
        }
    }
    let clock = Arc::new(ManualClock::new(ts("2026-12-07T08:05:00Z")));
    let cap = Arc::new(Capture::default());
    // Ten days; each day both runners race on all five schedules.
    for day in 1..=10 {
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (path, clock, cap, barrier) =
                    (path.clone(), clock.clone(), cap.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let store = Arc::new(Store::open(&path).unwrap());
                    barrier.wait();
                    runner(&store, &cap, &clock).run_due().unwrap().len()
                })
            })
            .collect();
        let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, 5, "day {day}");
        assert_eq!(cap.count(), 5 * day);
        clock.advance(SignedDuration::from_hours(24));
    }
}

#[test]
fn three_missed_days_send_once() {
    let (store, cap, clock, id) = setup(daily("Daily"), "2026-12-01T09:00:00Z");
    let r = runner(&store, &cap, &clock);
    assert_eq!(r.run_due().unwrap().len(), 1);
    // Nothing runs for three days and a bit.
    clock.set(ts("2026-12-04T10:00:00Z"));
    let out = r.run_due().unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].period.as_deref(), Some("2026-12-04"));
    assert!(r.run_due().unwrap().is_empty());
    assert_eq!(cap.count(), 2);
    let keys: Vec<String> = store
        .schedule_periods(id)
        .unwrap()
        .into_iter()
        .map(|p| p.period)
        .collect();
    assert_eq!(keys, ["2026-12-04", "2026-12-01"]);
}

#[test]
fn run_now_does_not_use_up_the_period() {
    let (store, cap, clock, id) = setup(daily("Daily"), "2026-12-07T07:00:00Z");
    let r = runner(&store, &cap, &clock);
    // The 12-06 period is due: send it, so that only 12-07 is left.
    r.run_due().unwrap();
    let now = r.run_now(id).unwrap();
    assert!(now.result.is_sent() && now.period.is_none());
    assert!(r.run_due().unwrap().is_empty());
    clock.set(ts("2026-12-07T08:00:00Z"));
    assert_eq!(r.run_due().unwrap().len(), 1);
    assert_eq!(cap.count(), 3);
}

#[test]
fn across_berlins_spring_change() {
    let (store, cap, clock, _) = setup(
        ReportScheduleForm {
            time_of_day: "02:30".into(),
            time_zone: "Europe/Berlin".into(),
            ..daily("Night")
        },
        "2026-03-28T00:00:00Z",
    );
    let r = runner(&store, &cap, &clock);
    r.run_due().unwrap(); // the 27th's
    let mut sent_at = Vec::new();
    // Every minute for three days.
    for _ in 0..(3 * 24 * 60) {
        clock.advance(SignedDuration::from_mins(1));
        for o in r.run_due().unwrap() {
            use mail_settings_core::schedule::Clock;
            sent_at.push((o.period.unwrap(), clock.now()));
        }
    }
    assert_eq!(
        sent_at,
        vec![
            ("2026-03-28".to_owned(), ts("2026-03-28T01:30:00Z")),
            ("2026-03-29".to_owned(), ts("2026-03-29T01:00:00Z")), // 03:00 CEST
            ("2026-03-30".to_owned(), ts("2026-03-30T00:30:00Z")),
        ]
    );
}

#[test]
fn a_failed_send_is_tried_again_later() {
    let (store, cap, clock, id) = setup(daily("Daily"), "2026-12-07T08:00:00Z");
    *cap.fail.lock().unwrap() = true;
    let r = runner(&store, &cap, &clock);
    let out = r.run_due().unwrap();
    assert!(
        matches!(&out[0].result, RunResult::Failed { message, .. } if message.contains("connection refused"))
    );
    let p = &store.schedule_periods(id).unwrap()[0];
    assert_eq!(p.status, PeriodStatus::Failed);
    assert!(p.error.as_deref().unwrap().contains("connection refused"));
    *cap.fail.lock().unwrap() = false;
    clock.advance(SignedDuration::try_from(RETRY_AFTER).unwrap() - SignedDuration::from_secs(1));
    assert!(r.run_due().unwrap().is_empty());
    clock.advance(SignedDuration::from_secs(1));
    assert!(r.run_due().unwrap()[0].result.is_sent());
    let p = &store.schedule_periods(id).unwrap()[0];
    assert_eq!((p.status, p.attempts), (PeriodStatus::Sent, 2));
    assert_eq!(cap.count(), 1);
}

/// The documented window: a run that dies after the server accepted and before the record
/// leaves a claim; after the lease another run sends again.
#[test]
fn a_run_that_died_mid_send_is_taken_over_after_the_lease() {
    let (store, cap, clock, id) = setup(daily("Daily"), "2026-12-07T08:00:00Z");
    *cap.panic.lock().unwrap() = true;
    let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runner(&store, &cap, &clock).run_due()
    }));
    assert!(died.is_err());
    *cap.panic.lock().unwrap() = false;
    assert_eq!(
        store.schedule_periods(id).unwrap()[0].status,
        PeriodStatus::Claimed
    );
    clock.advance(SignedDuration::try_from(CLAIM_LEASE).unwrap() - SignedDuration::from_secs(1));
    assert!(runner(&store, &cap, &clock).run_due().unwrap().is_empty());
    clock.advance(SignedDuration::from_secs(1));
    assert_eq!(runner(&store, &cap, &clock).run_due().unwrap().len(), 1);
    assert_eq!(cap.count(), 1);
}

#[test]
fn disabled_schedules_wait_and_run_now_sends_them() {
    let (store, cap, clock, id) = setup(
        ReportScheduleForm {
            enabled: false,
            ..daily("Off")
        },
        "2026-12-07T09:00:00Z",
    );
    let r = runner(&store, &cap, &clock);
    assert!(r.run_due().unwrap().is_empty());
    assert!(r.run_now(id).unwrap().result.is_sent());
    assert_eq!(cap.count(), 1);
}

#[test]
fn no_default_account_is_a_clear_failure() {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let id = store.create_schedule(&daily("Daily")).unwrap().id;
    let cap = Arc::new(Capture::default());
    let clock = Arc::new(ManualClock::new(ts("2026-12-07T09:00:00Z")));
    match runner(&store, &cap, &clock).run_now(id).unwrap().result {
        RunResult::Failed { message, .. } => {
            assert!(message.contains("default account"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

/// A store of the previous schema (3: no schedule tables) gains them when opened, keeping
/// everything else.
#[test]
fn a_store_of_the_previous_schema_gains_the_schedule_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.sqlite3");
    {
        let store = Store::open(&path).unwrap();
        store_with_accounts(&store);
    }
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "DROP TABLE report_schedule_periods; DROP TABLE report_schedules;
             DROP TABLE IF EXISTS collector_lease_log; DROP TABLE IF EXISTS collector_leases;
             DROP TABLE journal_entries; DROP TABLE journal_runs; DROP TABLE store_settings;

             ALTER TABLE incoming_accounts DROP COLUMN folders;
             ALTER TABLE incoming_accounts DROP COLUMN archive_folder;
             ALTER TABLE incoming_accounts DROP COLUMN use_push;
             DROP INDEX incoming_accounts_oauth2_client; DROP INDEX smtp_accounts_oauth2_client;
             ALTER TABLE incoming_accounts DROP COLUMN oauth2_client;
             ALTER TABLE incoming_accounts DROP COLUMN authentication;
             ALTER TABLE smtp_accounts DROP COLUMN oauth2_client;
             ALTER TABLE smtp_accounts DROP COLUMN authentication;
             DROP TABLE oauth2_clients;",
        )
        .unwrap();
        c.pragma_update(None, "user_version", 3).unwrap();
    }
    let store = Arc::new(Store::open(&path).unwrap());
    assert_eq!(
        store.schema_version().unwrap(),
        mail_settings_core::store::SCHEMA_VERSION
    );
    assert_eq!(store.list_incoming().unwrap().len(), 1);
    let id = store
        .create_schedule(&daily("After the upgrade"))
        .unwrap()
        .id;
    let cap = Arc::new(Capture::default());
    let clock = Arc::new(ManualClock::new(ts("2026-12-07T09:00:00Z")));
    assert_eq!(
        runner(&store, &cap, &clock).run_due().unwrap()[0].schedule_id,
        id
    );
}
