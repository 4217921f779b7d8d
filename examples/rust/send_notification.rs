//! Send a notification through the default SMTP account: the account's sender, Reply-To,
//! Return-Path, read receipt and footer apply; then send a few more over one pooled connection.
//!
//! `cargo run -p mail-settings-core --example send_notification -- SETTINGS.json CREDENTIALS.json TO`

use mail_settings_core::smtp::{self, OutgoingMessage, PoolConfig, SmtpOptions, SmtpPool};
use mail_settings_core::store::Store;
use mail_settings_core::{CredentialProvider, CredentialsFile, SettingsDocument};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [settings, credentials, to] = args.as_slice() else {
        eprintln!("usage: send_notification SETTINGS.json CREDENTIALS.json TO");
        std::process::exit(2);
    };
    let store = Store::open_in_memory()?;
    store.import(&SettingsDocument::from_json(&std::fs::read_to_string(
        settings,
    )?)?)?;
    let vault: Arc<dyn CredentialProvider> = Arc::new(CredentialsFile::load(credentials)?);
    let account = store
        .default_smtp_account()?
        .ok_or("no default SMTP account")?;

    let message = OutgoingMessage::new()
        .to(to.as_str())
        .subject("Ticket #4711 was updated")
        .text("The technician answered your ticket.")
        .html("<p>The technician answered your <b>ticket</b>.</p>");
    let sent = smtp::send(&account, vault.as_ref(), &message, &SmtpOptions::default())?;
    println!("sent {:?}: {}", sent.message_id, sent.reply.summary());

    let pool = SmtpPool::new(
        account,
        vault,
        SmtpOptions::default(),
        PoolConfig::default(),
    )?;
    for n in 1..=3 {
        let m = OutgoingMessage::new()
            .to(to.as_str())
            .subject(format!("Digest {n}"))
            .text("...");
        pool.send(&m)?;
    }
    println!(
        "3 more over {} connection(s), {} reuse(s)",
        pool.connections_opened(),
        pool.connections_reused()
    );
    Ok(())
}
