//! Keep settings in the embedded store, change one with optimistic versions, and print a
//! report page and the CSV export.
//!
//! `cargo run -p mail-settings-core --example store_and_report`

use mail_settings_core::report::{render_text, IncomingReportFilter, Lang, PageRequest};
use mail_settings_core::store::{Store, StoreError};
use mail_settings_core::{IncomingAccountForm, Protocol, SecureConnectionType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("mail-settings-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Store::open(dir.join("settings.sqlite3"))?;

    let helpdesk = store.create_incoming(&IncomingAccountForm {
        name: "Helpdesk".into(),
        protocol: Some(Protocol::Imap),
        host: "imap.example.com".into(),
        credential: Some("helpdesk-mailbox".into()),
        ..Default::default()
    })?;
    store.create_incoming(&IncomingAccountForm {
        name: "Alerts".into(),
        protocol: Some(Protocol::Pop3),
        host: "pop.example.com".into(),
        secure_connection_type: SecureConnectionType::Tls,
        keep_copy_on_server: false,
        credential: Some("alerts-mailbox".into()),
        ..Default::default()
    })?;

    // Two people edit the same account: the second, based on an old version, is refused.
    let mut first = helpdesk.record.clone();
    first.check_interval_secs = 120;
    store.update_incoming(helpdesk.id, helpdesk.version, &first)?;
    let mut second = helpdesk.record.clone();
    second.automatic_check = false;
    match store.update_incoming(helpdesk.id, helpdesk.version, &second) {
        Err(e @ StoreError::Conflict { .. }) => println!("refused, as it should be: {e}\n"),
        other => println!("unexpected: {other:?}"),
    }

    let page = store.incoming_report(&IncomingReportFilter::default(), PageRequest::default())?;
    print!("{}", render_text(&page, Lang::En));
    println!();
    store.write_incoming_csv(
        &IncomingReportFilter::default(),
        Lang::PtBr,
        std::io::stdout(),
    )?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
