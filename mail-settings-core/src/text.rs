//! Text made safe for a terminal.
//!
//! Servers (greetings, capabilities, replies), messages (subjects, senders, bodies) and even
//! account names are untrusted text. Printed raw, a control character takes over the
//! terminal: `ESC [2J` clears the screen, `ESC ]0;…BEL` retitles the window, `ESC ]8;;…`
//! forges a hyperlink, a lone CR overwrites the start of a line, U+202E (RIGHT-TO-LEFT
//! OVERRIDE) reverses what follows. The functions here show every such character escaped,
//! in Rust's own notation, so nothing reaches the terminal as a command and nothing is lost:
//!
//! | characters | shown as |
//! |---|---|
//! | C0 controls U+0000–U+001F (but the kept ones, below) and DEL U+007F | `\x1b`, `\x00`, `\x7f`… |
//! | C1 controls U+0080–U+009F | `\u{9b}`… |
//! | bidirectional embeddings, overrides and isolates U+202A–U+202E, U+2066–U+2069 | `\u{202e}`… |
//!
//! Which of LF, TAB and CR are kept depends on the kind of text:
//! - [`terminal_safe`]: multi-line text (a report, an error with several lines): LF and TAB
//!   are kept, and CR only as part of a CRLF pair.
//! - [`terminal_safe_line`]: one-line text (names, addresses, subjects, server replies in a
//!   table): LF, CR and TAB are escaped too (`\n`, `\r`, `\t`), so one value stays one line.
//! - [`terminal_safe_body`]: a message body: like [`terminal_safe`], with CRLF turned into LF.
//!
//! Each returns the input borrowed when it needs no change (the usual case). JSON output
//! escapes C0 itself but writes DEL, C1 and bidi controls raw: [`json_safe`] rewrites those as
//! `\uXXXX` escapes, which JSON reads back as the same characters.

use std::borrow::Cow;
use std::fmt::Write as _;

/// What to do with LF, TAB and CR.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// LF, TAB, CR before LF.
    Lines,
    /// Nothing.
    Nothing,
    /// LF, TAB; CRLF becomes LF.
    Body,
}

/// Whether `c` is escaped whatever the kind of text (C0 but LF/TAB/CR, DEL, C1, bidi).
fn always_escaped(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` is a character that [`terminal_safe_line`] would escape: any control character
/// (C0, DEL, C1) or a bidirectional override.
pub fn is_unsafe_char(c: char) -> bool {
    always_escaped(c) || matches!(c, '\n' | '\r' | '\t')
}

fn escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

fn safe(s: &str, keep: Keep) -> Cow<'_, str> {
    let needs = |i: usize, c: char| -> bool {
        match c {
            '\n' | '\t' => keep == Keep::Nothing,
            '\r' => keep != Keep::Lines || s.as_bytes().get(i + 1) != Some(&b'\n'),
            c => always_escaped(c),
        }
    };
    if !s.char_indices().any(|(i, c)| needs(i, c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let bytes = s.as_bytes();
    for (i, c) in s.char_indices() {
        if c == '\r' && keep == Keep::Body && bytes.get(i + 1) == Some(&b'\n') {
            continue; // CRLF -> LF
        }
        if needs(i, c) {
            escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Multi-line text made safe for a terminal: LF and TAB kept, CR kept only before LF, every
/// other control character and bidi override escaped (`\x1b`, `\u{202e}`).
///
/// ```
/// use mail_settings_core::text::terminal_safe;
/// assert_eq!(terminal_safe("a\x1b[2Jb\nc"), "a\\x1b[2Jb\nc");
/// assert_eq!(terminal_safe("plain"), "plain");
/// ```
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    safe(s, Keep::Lines)
}

/// One-line text (a name, an address, a subject, a server reply) made safe for a terminal:
/// LF, CR and TAB are escaped as well (`\n`, `\r`, `\t`), so the value stays on its line.
///
/// ```
/// use mail_settings_core::text::terminal_safe_line;
/// assert_eq!(terminal_safe_line("Bob\r\nX-Forged: 1"), "Bob\\r\\nX-Forged: 1");
/// assert_eq!(terminal_safe_line("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
/// ```
pub fn terminal_safe_line(s: &str) -> Cow<'_, str> {
    safe(s, Keep::Nothing)
}

/// A message body made safe for a terminal: LF and TAB kept, CRLF turned into LF, every other
/// control character (a lone CR too) and bidi override escaped.
///
/// ```
/// use mail_settings_core::text::terminal_safe_body;
/// assert_eq!(terminal_safe_body("Hi\r\n\tthere\x1b]0;x\x07"), "Hi\n\tthere\\x1b]0;x\\x07");
/// ```
pub fn terminal_safe_body(s: &str) -> Cow<'_, str> {
    safe(s, Keep::Body)
}

/// JSON text with DEL, C1 controls and bidi overrides written as `\uXXXX` escapes (JSON
/// serializers escape C0 themselves but write these raw). The JSON value is unchanged: these
/// characters can only occur inside strings, where the escape means the same character.
///
/// ```
/// use mail_settings_core::text::json_safe;
/// assert_eq!(json_safe("{\"s\":\"a\u{9b}2J\u{202e}\"}"), "{\"s\":\"a\\u009b2J\\u202e\"}");
/// ```
pub fn json_safe(json: &str) -> Cow<'_, str> {
    if !json.chars().any(always_escaped) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if always_escaped(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` cut to at most `width` characters, the last one an ellipsis (`…`) when it was cut.
///
/// ```
/// use mail_settings_core::text::ellipsize;
/// assert_eq!(ellipsize("abcdef", 4), "abc…");
/// assert_eq!(ellipsize("abc", 4), "abc");
/// ```
pub fn ellipsize(s: &str, width: usize) -> Cow<'_, str> {
    if s.chars().count() <= width {
        return Cow::Borrowed(s);
    }
    if width == 0 {
        return Cow::Borrowed("");
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_kind() {
        let s = "\u{0}\u{7}\u{1b}[2J\u{7f}\u{85}\u{9b}\u{202a}\u{202e}\u{2066}\u{2069}ok";
        let out = terminal_safe(s);
        assert_eq!(
            out,
            "\\x00\\x07\\x1b[2J\\x7f\\u{85}\\u{9b}\\u{202a}\\u{202e}\\u{2066}\\u{2069}ok"
        );
        assert!(!out.chars().any(is_unsafe_char));
    }

    #[test]
    fn line_kind_escapes_line_breaks_and_tabs() {
        assert_eq!(terminal_safe_line("a\nb\rc\td"), "a\\nb\\rc\\td");
        assert_eq!(terminal_safe("a\nb\r\nc\rd\te"), "a\nb\r\nc\\rd\te");
        assert_eq!(terminal_safe_body("a\r\nb\rc\n\td"), "a\nb\\rc\n\td");
    }

    #[test]
    fn unchanged_text_is_borrowed() {
        for s in ["", "Olá, mundo — ✓", "tab\there\nline"] {
            assert!(matches!(terminal_safe(s), Cow::Borrowed(_)));
            assert!(matches!(terminal_safe_body(s), Cow::Borrowed(_)));
        }
        assert!(matches!(terminal_safe_line("Olá"), Cow::Borrowed(_)));
        assert!(matches!(json_safe("{\"a\":1}"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_stays_the_same_value() {
        let v = serde_json::json!({"s": "a\u{1b}\u{7f}\u{9b}\u{202e}b"});
        let text = serde_json::to_string(&v).unwrap();
        let safe = json_safe(&text);
        assert!(!safe.chars().any(is_unsafe_char));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn ellipsize_counts_characters() {
        assert_eq!(ellipsize("ããããã", 3), "ãã…");
        assert_eq!(ellipsize("ããã", 3), "ããã");
        assert_eq!(ellipsize("abc", 0), "");
    }
}
