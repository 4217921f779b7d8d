//! The naming table (`docs/NAMES.md`) holds across the core, the bindings and the command:
//! every name in every row exists where the row says. Hermetic: it reads sources and the
//! committed Swift package, and runs the built command's `--help`.
//!
//! Where each column is looked up:
//! - Rust: the core's sources (`mail-settings-core/src`): `pub struct|enum|trait|type|fn NAME`;
//!   `Type::member` needs the type and a `pub fn member` (or a `pub member:` field);
//!   `Type::Variant` a variant of `pub enum Type`.
//! - Python: `_native.pyi` (classes, functions, aliases, and `def`/property members inside a
//!   class) or `_errors.py` (exception classes); a top-level class or function must also be in
//!   `__init__.py`'s `__all__`.
//! - Kotlin/Swift: the committed Swift package (UniFFI gives Kotlin and Swift the same names;
//!   Kotlin's `MailSettingsException` is Swift's `MailSettingsError`): a type, `func member(` in
//!   an object's protocol, a field of a record, a case of an enum, a top-level `func`.
//! - command: `mail-settings [SUBCOMMAND…] --help` must exist and show every flag or argument
//!   name of the cell.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every `.rs` file under `dir`, concatenated.
fn rust_sources(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
                out.push('\n');
            }
        }
    }
    out
}

/// The names of one cell: the backticked parts; none for `—`.
fn names(cell: &str) -> Vec<String> {
    cell.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `text` holds `needle` followed by something that is not part of a name.
fn has_word(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(i, _)| {
        text[i + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !is_word_char(c))
    })
}

/// The block that starts at the first line containing `header` and ends at the first line
/// that is only `}` at the same indentation (Rust, Swift).
fn block<'a>(text: &'a str, header: &str) -> Option<&'a str> {
    let start = text
        .match_indices(header)
        .find(|(i, _)| {
            text[i + header.len()..]
                .chars()
                .next()
                .is_none_or(|c| !is_word_char(c))
        })?
        .0;
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = text[line_start..]
        .chars()
        .take_while(|c| *c == ' ')
        .collect();
    let end_marker = format!("\n{indent}}}");
    let end = text[start..]
        .find(&end_marker)
        .map_or(text.len(), |e| start + e);
    Some(&text[start..end])
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

struct Sources {
    rust: String,
    pyi: String,
    py_errors: String,
    py_all: Vec<String>,
    swift: String,
}

impl Sources {
    fn load() -> Self {
        let init = read("mail-settings-py/python/mail_settings/__init__.py");
        let all = init
            .split("__all__ = [")
            .nth(1)
            .and_then(|s| s.split(']').next())
            .expect("__all__ in __init__.py");
        let py_all = all
            .lines()
            .filter_map(|l| l.trim().strip_prefix('"'))
            .filter_map(|l| l.split('"').next())
            .map(str::to_owned)
            .collect();
        Self {
            rust: rust_sources(&repo().join("mail-settings-core/src")),
            pyi: read("mail-settings-py/python/mail_settings/_native.pyi"),
            py_errors: read("mail-settings-py/python/mail_settings/_errors.py"),
            py_all,
            swift: read("mail-settings-ffi/swift/Sources/MailSettings/MailSettings.swift"),
        }
    }

    fn rust_type(&self, name: &str) -> bool {
        ["struct", "enum", "trait", "type", "fn"]
            .iter()
            .any(|k| has_word(&self.rust, &format!("pub {k} {name}")))
    }

    fn rust(&self, name: &str) -> Result<(), String> {
        let Some((ty, member)) = name.split_once("::") else {
            return self
                .rust_type(name)
                .then_some(())
                .ok_or_else(|| format!("no `pub struct|enum|trait|type|fn {name}` in the core"));
        };
        if !self.rust_type(ty) {
            return Err(format!("no type `{ty}` in the core"));
        }
        if member.starts_with(char::is_uppercase) {
            let body = block(&self.rust, &format!("pub enum {ty}"))
                .ok_or_else(|| format!("`{ty}` is not a `pub enum`"))?;
            let found = body.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with(member)
                    && l[member.len()..]
                        .chars()
                        .next()
                        .is_some_and(|c| matches!(c, ',' | ' ' | '(' | '{'))
            });
            return found
                .then_some(())
                .ok_or_else(|| format!("no variant `{member}` in `pub enum {ty}`"));
        }
        let found = has_word(&self.rust, &format!("pub fn {member}"))
            || self.rust.contains(&format!("pub {member}: "));
        found
            .then_some(())
            .ok_or_else(|| format!("no `pub fn {member}` (or field) for `{ty}` in the core"))
    }

    fn python(&self, name: &str) -> Result<(), String> {
        if let Some((ty, member)) = name.split_once('.') {
            let body = block(&self.pyi, &format!("\nclass {ty}"))
                .map(|b| b.split("\n@final").next().unwrap_or(b))
                .ok_or_else(|| format!("no `class {ty}` in _native.pyi"))?;
            // A class ends at the next top-level line.
            let body: String = body
                .lines()
                .enumerate()
                .take_while(|(i, l)| *i < 2 || l.is_empty() || l.starts_with(' '))
                .map(|(_, l)| format!("{l}\n"))
                .collect();
            return (has_word(&body, &format!("def {member}"))
                || body.contains(&format!("    {member}: ")))
            .then_some(())
            .ok_or_else(|| format!("no `def {member}` in `class {ty}` of _native.pyi"));
        }
        let alias = self.pyi.contains(&format!("\n{name} = "));
        let defined = alias
            || has_word(&self.pyi, &format!("\nclass {name}"))
            || has_word(&self.pyi, &format!("\ndef {name}"))
            || has_word(&self.py_errors, &format!("\nclass {name}"));
        if !defined {
            return Err(format!("`{name}` is not in _native.pyi or _errors.py"));
        }
        if !alias && !self.py_all.iter().any(|n| n == name) {
            return Err(format!("`{name}` is not in __init__.py's __all__"));
        }
        Ok(())
    }

    fn swift_type(&self, name: &str) -> Option<&str> {
        [
            "public protocol",
            "open class",
            "public struct",
            "public enum",
            "enum",
        ]
        .iter()
        .find_map(|k| block(&self.swift, &format!("\n{k} {name}")))
    }

    fn kotlin(&self, name: &str) -> Result<(), String> {
        let name = name.replace("MailSettingsException", "MailSettingsError");
        let Some((ty, member)) = name.split_once('.') else {
            if name.starts_with(char::is_lowercase) {
                return self
                    .swift
                    .contains(&format!("\npublic func {name}("))
                    .then_some(())
                    .ok_or_else(|| format!("no top-level `func {name}` in the Swift package"));
            }
            return self
                .swift_type(&name)
                .map(|_| ())
                .ok_or_else(|| format!("no type `{name}` in the Swift package"));
        };
        if member.starts_with(char::is_uppercase) {
            let body = self
                .swift_type(ty)
                .ok_or_else(|| format!("no type `{ty}` in the Swift package"))?;
            let found = [member.to_owned(), lower_first(member)].iter().any(|m| {
                body.lines().any(|l| {
                    // Swift escapes keywords: case `default`.
                    let l = l.trim_start().replace('`', "");
                    l.strip_prefix("case ").is_some_and(|rest| {
                        rest.starts_with(m.as_str())
                            && rest[m.len()..]
                                .chars()
                                .next()
                                .is_none_or(|c| !is_word_char(c))
                    })
                })
            });
            return found
                .then_some(())
                .ok_or_else(|| format!("no case `{member}` in Swift `{ty}`"));
        }
        // An object: its protocol lists the methods; a record: its fields.
        let body = block(&self.swift, &format!("\npublic protocol {ty}Protocol"))
            .or_else(|| self.swift_type(ty))
            .ok_or_else(|| format!("no type `{ty}` in the Swift package"))?;
        (has_word(body, &format!("func {member}")) || body.contains(&format!("var {member}: ")))
            .then_some(())
            .ok_or_else(|| format!("no `func {member}` in Swift `{ty}`"))
    }
}

/// `check --kind` → runs `mail-settings check --help` and looks for `--kind`.
fn command(cell: &str) -> Result<(), String> {
    let words: Vec<&str> = cell.split_whitespace().collect();
    let subcommands: Vec<&str> = words
        .iter()
        .take_while(|w| w.starts_with(|c: char| c.is_ascii_lowercase()))
        .copied()
        .collect();
    let wanted = &words[subcommands.len()..];
    let out = Command::new(env!("CARGO_BIN_EXE_mail-settings"))
        .args(&subcommands)
        .arg("--help")
        .output()
        .expect("run mail-settings");
    if !out.status.success() {
        return Err(format!(
            "`mail-settings {} --help` failed: {}",
            subcommands.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let help = String::from_utf8_lossy(&out.stdout);
    for w in wanted {
        if !has_word(&help, w) {
            return Err(format!(
                "`mail-settings {} --help` does not show `{w}`",
                subcommands.join(" ")
            ));
        }
    }
    Ok(())
}

/// The table rows of docs/NAMES.md: (concept, rust, python, kotlin, command).
fn rows(table: &str) -> Vec<[String; 5]> {
    let section = table
        .split("| concept | Rust | Python | Kotlin/Swift | command |")
        .nth(1)
        .expect("the naming table in docs/NAMES.md");
    section
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<String> = l
                .trim()
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned())
                .collect();
            assert_eq!(cells.len(), 5, "a row of five cells: {l}");
            [
                cells[0].clone(),
                cells[1].clone(),
                cells[2].clone(),
                cells[3].clone(),
                cells[4].clone(),
            ]
        })
        .collect()
}

fn check_table(table: &str, sources: &Sources) -> Vec<String> {
    let mut problems = Vec::new();
    for [concept, rust, python, kotlin, cli] in rows(table) {
        let mut note = |r: Result<(), String>| {
            if let Err(e) = r {
                problems.push(format!("{concept}: {e}"));
            }
        };
        for n in names(&rust) {
            note(sources.rust(&n));
        }
        for n in names(&python) {
            note(sources.python(&n));
        }
        for n in names(&kotlin) {
            note(sources.kotlin(&n));
        }
        for n in names(&cli) {
            note(command(&n));
        }
    }
    problems
}

#[test]
fn the_naming_table_holds_across_the_core_the_bindings_and_the_command() {
    let table = read("docs/NAMES.md");
    let sources = Sources::load();
    assert!(rows(&table).len() >= 40, "the table lost its rows");
    let problems = check_table(&table, &sources);
    assert!(
        problems.is_empty(),
        "docs/NAMES.md does not hold:\n{}",
        problems.join("\n")
    );
}

/// The other way round: every exception Python exports and every case of the bindings' error
/// type is in the table, so a binding cannot grow an error (or rename one) the table does not
/// name, and each way an account fails to resolve has its own name in each language.
#[test]
fn every_exported_error_is_in_the_table() {
    let table = read("docs/NAMES.md");
    let sources = Sources::load();
    let rows = rows(&table);
    let python: Vec<String> = rows.iter().flat_map(|r| names(&r[2])).collect();
    let kotlin: Vec<String> = rows.iter().flat_map(|r| names(&r[3])).collect();
    let mut missing = Vec::new();
    let errors_all = sources
        .py_errors
        .split("__all__ = [")
        .nth(1)
        .and_then(|s| s.split(']').next())
        .expect("__all__ in _errors.py");
    for name in errors_all
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"'))
        .filter_map(|l| l.split('"').next())
    {
        if !python.iter().any(|n| n == name) {
            missing.push(format!("Python `{name}`"));
        }
    }
    let swift_error = sources
        .swift_type("MailSettingsError")
        .expect("the bindings' error in the Swift package");
    let cases: Vec<&str> = swift_error
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("case "))
        .filter_map(|rest| rest.split(|c: char| !is_word_char(c)).next())
        .collect();
    assert!(cases.len() >= 15, "the error lost its cases: {cases:?}");
    for case in cases {
        let name = format!("MailSettingsException.{case}");
        if !kotlin.contains(&name) {
            missing.push(format!("Kotlin/Swift `{name}`"));
        }
    }
    assert!(
        missing.is_empty(),
        "exported but not in docs/NAMES.md: {}",
        missing.join(", ")
    );
    // Each AccountError variant has its own exception in both bindings (not one NotFound).
    for row in rows.iter().filter(|r| r[1].starts_with("`AccountError::")) {
        assert!(
            names(&row[2]).len() == 1 && names(&row[3]).len() == 1,
            "one exception per language for {}: {row:?}",
            row[1]
        );
    }
    let account_rows: Vec<&[String; 5]> = rows
        .iter()
        .filter(|r| r[1].starts_with("`AccountError::"))
        .collect();
    let kotlin_names: std::collections::HashSet<String> =
        account_rows.iter().flat_map(|r| names(&r[3])).collect();
    assert_eq!(kotlin_names.len(), account_rows.len(), "{account_rows:?}");
    assert_eq!(
        account_rows.len(),
        4,
        "NotFound, NoDefault, Ambiguous, NoDefaultFor"
    );
}

/// The checker itself: a name that drifts in any column is found.
#[test]
fn a_drifted_name_in_any_column_fails() {
    let sources = Sources::load();
    let header = "| concept | Rust | Python | Kotlin/Swift | command |\n|---|---|---|---|---|\n";
    for row in [
        "| x | `MailSettings::export_documents` | — | — | — |",
        "| x | `AccountError::Missing` | — | — | — |",
        "| x | — | `Store.export_documents` | — | — |",
        "| x | — | `IncomingAccount` | — | — |",
        "| x | — | — | `Store.exportDocuments` | — |",
        "| x | — | — | `AccountRef.Ids` | — |",
        "| x | — | — | `Inbox.writeRaw` | — |",
        "| x | `MailSettings::send_manys` | — | — | — |",
        "| x | — | `AmbiguousError` | — | — |",
        "| x | — | — | `MailSettingsException.NoDefaults` | — |",
        "| x | — | — | `Collector.collectOnceIds` | — |",
        "| x | — | — | — | `check --defaults` |",
        "| x | — | — | — | `exports` |",
    ] {
        let table = format!("{header}{row}\n");
        assert_eq!(check_table(&table, &sources).len(), 1, "not caught: {row}");
    }
    // And the same rows with the right names pass.
    let table = format!(
        "{header}| x | `MailSettings::export_document` | `Store.export_document` | `Store.exportDocument` | `export` |\n"
    );
    assert_eq!(check_table(&table, &sources), Vec::<String>::new());
}
