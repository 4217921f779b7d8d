//! Validate a settings document and print every result, in English and Portuguese.
//!
//! `cargo run -p mail-settings-core --example validate_settings -- examples/settings/broken.toml`

use mail_settings_core::validate::validate_document;
use mail_settings_core::{Format, SettingsDocument};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/settings/helpdesk.json".into());
    let text = std::fs::read_to_string(&path)?;
    // A document that does not parse says where: line and column.
    let doc = SettingsDocument::parse(&text, Format::from_path(path.as_ref()))?;
    let results = validate_document(&doc, None);
    for r in results.results() {
        println!(
            "{} {} [{}]\n    en: {}\n    pt-BR: {}",
            r.severity, r.path, r.code, r.message, r.message_pt_br
        );
    }
    println!(
        "{} error(s), {} warning(s)",
        results.errors().count(),
        results.warnings().count()
    );
    if results.has_errors() {
        std::process::exit(1);
    }
    Ok(())
}
