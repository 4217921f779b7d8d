//! Figures for the store and the reports: validations per second, and over a file store with
//! 100 000 incoming accounts the time to fill it (one import, one transaction), to open it,
//! to read a filtered report page and to export the whole report as CSV.
//!
//! Run with `cargo bench -p mail-settings-core --bench store_reports`. It prints figures; it
//! asserts nothing about speed. `MS_BENCH_DB=/some/file.sqlite3` keeps the database there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::report::{IncomingReportFilter, Lang, PageRequest, SmtpReportFilter};
use mail_settings_core::store::Store;
use mail_settings_core::validate::{validate_incoming, validate_smtp, ValidationContext};
use mail_settings_core::{
    ConnectorKind, IncomingAccountForm, NetworkConnectorForm, Protocol, SecureConnectionType,
    SettingsDocument, SmtpAccountForm,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

const ACCOUNTS: usize = 100_000;
const NAMES: [&str; 5] = ["Helpdesk", "Billing", "Support", "Alerts", "Sales"];

fn connector() -> NetworkConnectorForm {
    NetworkConnectorForm {
        id: Some(1),
        name: "dc-east".to_owned(),
        kind: Some(ConnectorKind::Socks5),
        host: "10.0.0.5".to_owned(),
        port: Some(1080),
        credential: Some("proxy-east".to_owned()),
        ..Default::default()
    }
}

fn incoming(i: usize) -> IncomingAccountForm {
    IncomingAccountForm {
        name: format!("{} {i:06}", NAMES[i % NAMES.len()]),
        keep_copy_on_server: i % 3 != 0,
        automatic_check: i % 4 != 0,
        enabled: i % 10 != 0,
        host: format!("imap{}.mail.example.com", i % 50),
        port: (i % 7 == 0).then_some(10993),
        protocol: Some(if i % 2 == 0 {
            Protocol::Imap
        } else {
            Protocol::Pop3
        }),
        use_network_connector: i % 20 == 0,
        network_connector: (i % 20 == 0).then_some(1),
        credential: Some(format!("mailbox-{i}")),
        use_secure_connection: i % 11 != 0,
        secure_connection_type: if i % 3 == 0 {
            SecureConnectionType::Tls
        } else {
            SecureConnectionType::Ssl
        },
        ..Default::default()
    }
}

fn smtp() -> SmtpAccountForm {
    SmtpAccountForm {
        name: "Notifications".to_owned(),
        sender_email: "noreply@example.com".to_owned(),
        reply_to: Some("support@example.com".to_owned()),
        return_path: Some("bounces@example.com".to_owned()),
        confirmation_email: Some("receipts@example.com".to_owned()),
        send_read_receipt: true,
        enable_footer: true,
        footer: Some("-- \nSent by the vault; do not reply.".to_owned()),
        host: "smtp.example.com".to_owned(),
        use_network_connector: true,
        network_connector: Some(1),
        credential: Some("smtp-notify".to_owned()),
        ..Default::default()
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                black_box(f());
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    // Validations per second.
    let connectors = [connector()];
    let ctx = ValidationContext::standalone().with_connectors(&connectors);
    let forms: Vec<IncomingAccountForm> = (0..1000).map(incoming).collect();
    let smtp_form = smtp();
    let rounds = 200;
    let start = Instant::now();
    for _ in 0..rounds {
        for f in &forms {
            black_box(validate_incoming(black_box(f), "", &ctx));
        }
    }
    let incoming_rate = (rounds * forms.len()) as f64 / start.elapsed().as_secs_f64();
    let n_smtp = rounds * forms.len();
    let start = Instant::now();
    for _ in 0..n_smtp {
        black_box(validate_smtp(black_box(&smtp_form), "", &ctx));
    }
    let smtp_rate = n_smtp as f64 / start.elapsed().as_secs_f64();
    println!("validate_incoming: {incoming_rate:>12.0} validations/s");
    println!("validate_smtp:     {smtp_rate:>12.0} validations/s");

    // A file store with 100 000 incoming accounts.
    // MS_BENCH_DB=path keeps the database there (to look at query plans); else a temp dir.
    let dir = tempfile::tempdir().unwrap();
    let path = match std::env::var_os("MS_BENCH_DB") {
        Some(p) => {
            let p = std::path::PathBuf::from(p);
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
            }
            p
        }
        None => dir.path().join("bench.sqlite3"),
    };
    let doc = SettingsDocument {
        network_connectors: vec![connector()],
        incoming_accounts: (0..ACCOUNTS).map(incoming).collect(),
        smtp_accounts: vec![SmtpAccountForm {
            default_account: true,
            ..smtp()
        }],
        ..SettingsDocument::default()
    };
    let store = Store::open(&path).unwrap();
    let start = Instant::now();
    store.import(&doc).unwrap();
    let fill = start.elapsed();
    println!(
        "fill {ACCOUNTS} incoming accounts (one import, one transaction, validation included): {}",
        ms(fill)
    );
    drop(store);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("database file: {:.1} MiB", size as f64 / 1048576.0);

    let open = time(5, || Store::open(&path).unwrap());
    println!(
        "open the 100 000-account store (integrity quick_check included): {} (median of 5)",
        ms(open)
    );
    let store = Store::open(&path).unwrap();

    let filtered = IncomingReportFilter {
        name_contains: Some("support".to_owned()),
        secure_connection: Some(true),
        ..Default::default()
    };
    let page = store
        .incoming_report(&filtered, PageRequest::page(50))
        .unwrap();
    println!(
        "filtered report (name contains \"support\" + secure yes): {} matches, page 50 has {} rows",
        page.total,
        page.rows.len()
    );
    let t = time(21, || {
        store
            .incoming_report(&filtered, PageRequest::page(50))
            .unwrap()
    });
    println!(
        "  page 50 (count + page):             {} (median of 21)",
        ms(t)
    );
    let last = u32::try_from(page.page_count()).unwrap();
    let t = time(21, || {
        store
            .incoming_report(&filtered, PageRequest::page(last))
            .unwrap()
    });
    println!(
        "  last page ({last}):                    {} (median of 21)",
        ms(t)
    );
    let t = time(21, || {
        store
            .incoming_report(&IncomingReportFilter::default(), PageRequest::page(1))
            .unwrap()
    });
    println!(
        "unfiltered report, page 1:            {} (median of 21)",
        ms(t)
    );
    let everything = IncomingReportFilter {
        secure_connection: Some(true),
        automatic_check: Some(true),
        keep_copy: Some(true),
        status: Some(mail_settings_core::report::Status::Enabled),
        name_contains: Some("a".to_owned()),
        ..IncomingReportFilter::default()
    };
    let t = time(21, || {
        store
            .incoming_report(&everything, PageRequest::page(100))
            .unwrap()
    });
    println!(
        "all five filters, page 100:           {} (median of 21)",
        ms(t)
    );

    let mut rows = 0;
    let t = time(5, || {
        rows = store
            .write_incoming_csv(&IncomingReportFilter::default(), Lang::En, std::io::sink())
            .unwrap();
    });
    println!(
        "full CSV export ({rows} rows) to io::sink: {} (median of 5)",
        ms(t)
    );
    let t = time(5, || {
        rows = store
            .write_incoming_csv(&filtered, Lang::PtBr, std::io::sink())
            .unwrap();
    });
    println!(
        "filtered CSV export ({rows} rows):          {} (median of 5)",
        ms(t)
    );
    let t = time(3, || {
        rows = store
            .write_incoming_html(
                &IncomingReportFilter::default(),
                Lang::En,
                std::time::SystemTime::now(),
                std::io::sink(),
            )
            .unwrap()
    });
    println!(
        "full HTML page ({rows} rows) to io::sink: {} (median of 3)",
        ms(t)
    );
    let t = time(21, || {
        store
            .smtp_report(&SmtpReportFilter::default(), PageRequest::default())
            .unwrap()
    });
    println!(
        "SMTP report page (1 account):         {} (median of 21)",
        ms(t)
    );

    let t = time(5, || store.export().unwrap());
    println!(
        "export the whole store as a document: {} (median of 5)",
        ms(t)
    );
    let one = store.get_incoming(50_000).unwrap();
    let mut form = one.record.clone();
    let mut version = one.version;
    let t = time(21, || {
        form.keep_copy_on_server = !form.keep_copy_on_server;
        version = store
            .update_incoming(50_000, version, &form)
            .unwrap()
            .version;
    });
    println!(
        "update one account (synchronous=FULL, WAL): {} (median of 21)",
        ms(t)
    );
}
