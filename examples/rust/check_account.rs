//! Check an account stage by stage, as an operator would by hand.
//!
//! `cargo run -p mail-settings-core --example check_account -- SETTINGS.json CREDENTIALS.json "Account name"`
//! (`bash scripts/tour.sh` leaves both files in target/tour/ for the local servers.)

use mail_settings_core::check::{check_incoming, check_smtp, CheckOptions};
use mail_settings_core::store::Store;
use mail_settings_core::{CredentialsFile, SettingsDocument};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [settings, credentials, name] = args.as_slice() else {
        eprintln!("usage: check_account SETTINGS.json CREDENTIALS.json ACCOUNT");
        std::process::exit(2);
    };
    let store = Store::open_in_memory()?;
    store.import(&SettingsDocument::from_json(&std::fs::read_to_string(
        settings,
    )?)?)?;
    let vault = CredentialsFile::load(credentials)?;
    let options = CheckOptions::default();
    let report = match store.incoming_account_by_name(name) {
        Ok(account) => check_incoming(&account, &vault, &options),
        Err(_) => check_smtp(&store.smtp_account_by_name(name)?, &vault, &options),
    };
    println!("{report}");
    std::process::exit(if report.ok { 0 } else { 1 });
}
