//! Feeds arbitrary text through the settings document reader, as JSON and as TOML, then
//! through validation. Nothing may panic; whatever reads as a document must write out and read
//! back as the same document in both formats, a UTF-8 byte-order mark in front must not change
//! what is read, and the terminal-safe forms of the text must hold no control character.
//!
//! Run: `cargo +nightly fuzz run settings_document -- -max_total_time=60` from the repository
//! root, or `scripts/fuzz.sh`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mail_settings_core::text::{is_unsafe_char, terminal_safe, terminal_safe_line};
use mail_settings_core::validate::validate_document;
use mail_settings_core::{Format, SettingsDocument};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [Format::Json, Format::Toml] {
        let parsed = SettingsDocument::parse(text, format);
        // One byte-order mark in front is skipped (a second one is text, and an error).
        if !text.starts_with('\u{feff}') {
            let with_bom = SettingsDocument::parse(&format!("\u{feff}{text}"), format);
            assert_eq!(parsed.is_ok(), with_bom.is_ok(), "a BOM changed the result");
            if let (Ok(a), Ok(b)) = (&parsed, &with_bom) {
                assert_eq!(a, b, "a BOM changed the document");
            }
        }
        let Ok(doc) = parsed else {
            continue;
        };
        let v = validate_document(&doc, None);
        for r in v.results() {
            assert!(!r.message.is_empty() && !r.message_pt_br.is_empty());
        }
        for out in [Format::Json, Format::Toml] {
            let written = doc.to_string(out);
            let back = SettingsDocument::parse(&written, out)
                .unwrap_or_else(|e| panic!("own {out:?} output does not read back: {e}"));
            assert_eq!(back, doc, "{out:?} round trip changed the document");
        }
    }
    assert!(!terminal_safe_line(text).chars().any(is_unsafe_char));
    assert!(!terminal_safe(text)
        .chars()
        .any(|c| is_unsafe_char(c) && c != '\n' && c != '\t' && c != '\r'));
});
