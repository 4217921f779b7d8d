//! Collect every enabled incoming account once, with a progress callback, then list the inbox.
//!
//! `cargo run -p mail-settings-core --example collect_inbox -- SETTINGS.json CREDENTIALS.json STORE.sqlite3`

use mail_settings_core::collector::{Collector, Progress, RunControl};
use mail_settings_core::inbox::{Inbox, InboxQuery};
use mail_settings_core::store::Store;
use mail_settings_core::{CredentialProvider, CredentialsFile, SettingsDocument};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [settings, credentials, db] = args.as_slice() else {
        eprintln!("usage: collect_inbox SETTINGS.json CREDENTIALS.json STORE.sqlite3");
        std::process::exit(2);
    };
    let store = Arc::new(Store::open(db)?);
    store.import(&SettingsDocument::from_json(&std::fs::read_to_string(
        settings,
    )?)?)?;
    let vault: Arc<dyn CredentialProvider> = Arc::new(CredentialsFile::load(credentials)?);
    let collector = Collector::new(store.clone(), vault);

    let control = RunControl {
        progress: Some(Arc::new(|p: &Progress| {
            println!(
                "  {}: {}/{} messages, {} bytes",
                p.account_name, p.done, p.total, p.bytes
            )
        })),
        ..RunControl::default()
    };
    for (id, result) in collector.collect_once(&[], &control)? {
        match result {
            Ok(r) => println!(
                "account {id}: {} fetched, {} already stored",
                r.fetched, r.already_stored
            ),
            Err(e) => println!("account {id}: failed ({}): {e}", e.category()),
        }
    }
    let page = Inbox::new(store).list(&InboxQuery::default())?;
    println!("inbox: {} messages", page.total);
    for m in page.messages {
        println!("  #{} {} — {}", m.id, m.from, m.subject.unwrap_or_default());
    }
    Ok(())
}
