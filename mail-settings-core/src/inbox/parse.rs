//! Reading a raw message with `mail-parser`: the summary stored beside the raw bytes, and the
//! parsed view shown when a person opens a message.
//!
//! Why `mail-parser`: it is maintained (Stalwart Labs), fuzzed, has no unsafe code, decodes
//! RFC 2047 words, charsets and transfer encodings, and never needs the message twice (it
//! borrows from the raw bytes). It is lenient, so almost anything parses; when it does not
//! (or if it were ever to panic), the message is still stored raw, with the reason in
//! `parse_error` and an empty summary.

use mail_parser::{Address, MessageParser, MimeHeaders};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Longest text kept for one summary field (subject, from, to, cc), in characters.
const FIELD_LIMIT: usize = 2000;

/// What the inbox keeps about a message besides its raw bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) subject: Option<String>,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) cc: String,
    pub(crate) date: Option<i64>,
    pub(crate) message_id: Option<String>,
    pub(crate) attachment_count: u32,
    pub(crate) parse_error: Option<String>,
}

/// One attachment of a parsed message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    /// The file name the message gives, if any.
    pub name: Option<String>,
    /// The MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// Decoded size in bytes.
    pub size: u64,
}

/// The bodies and attachments of a message, as a person reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedBody {
    /// The plain-text body (the first text part, decoded), if any.
    pub text: Option<String>,
    /// The HTML body (the first HTML part, decoded), if any.
    pub html: Option<String>,
    /// Attachments, in message order.
    pub attachments: Vec<AttachmentInfo>,
    /// Why the message could not be parsed, when it could not.
    pub parse_error: Option<String>,
}

/// SHA-256 of the raw bytes.
pub(crate) fn content_hash(raw: &[u8]) -> [u8; 32] {
    Sha256::digest(raw).into()
}

fn clip(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(FIELD_LIMIT) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

/// `Name <addr>, addr2` — how an address header is shown.
fn addresses(a: Option<&Address<'_>>) -> String {
    let Some(a) = a else {
        return String::new();
    };
    let shown: Vec<String> = a
        .iter()
        .map(|addr| {
            let name = addr
                .name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty());
            let address = addr
                .address
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty());
            match (name, address) {
                (Some(n), Some(a)) => format!("{n} <{a}>"),
                (Some(n), None) => n.to_owned(),
                (None, Some(a)) => a.to_owned(),
                (None, None) => String::new(),
            }
        })
        .filter(|s| !s.is_empty())
        .collect();
    clip(&shown.join(", "))
}

/// Parses `raw` with the panic of a parser bug turned into a parse error.
fn with_parsed<R>(raw: &[u8], f: impl FnOnce(&mail_parser::Message<'_>) -> R) -> Result<R, String> {
    let run = std::panic::AssertUnwindSafe(|| {
        MessageParser::default()
            .parse(raw)
            .map(|m| f(&m))
            .ok_or_else(|| "not an Internet message (no header could be read)".to_owned())
    });
    match std::panic::catch_unwind(run) {
        Ok(r) => r,
        Err(_) => Err("the MIME parser failed on this message".to_owned()),
    }
}

/// The summary of `raw`; never fails (a parse failure is inside).
pub(crate) fn summarize(raw: &[u8]) -> Summary {
    let parsed = with_parsed(raw, |m| Summary {
        subject: m.subject().map(clip),
        from: addresses(m.from()),
        to: addresses(m.to()),
        cc: addresses(m.cc()),
        date: m.date().map(|d| d.to_timestamp()),
        message_id: m.message_id().map(clip).filter(|s| !s.is_empty()),
        attachment_count: u32::try_from(m.attachment_count()).unwrap_or(u32::MAX),
        parse_error: None,
    });
    match parsed {
        Ok(s) => s,
        Err(reason) => Summary {
            parse_error: Some(reason),
            ..Summary::default()
        },
    }
}

/// The parsed view of `raw`; never fails (a parse failure is inside).
pub(crate) fn parse_body(raw: &[u8]) -> ParsedBody {
    let parsed = with_parsed(raw, |m| ParsedBody {
        text: m.body_text(0).map(|t| t.into_owned()),
        html: m.body_html(0).map(|t| t.into_owned()),
        attachments: m
            .attachments()
            .map(|part| AttachmentInfo {
                name: part.attachment_name().map(str::to_owned),
                content_type: part
                    .content_type()
                    .map(|ct| match ct.subtype() {
                        Some(sub) => format!("{}/{}", ct.ctype(), sub),
                        None => ct.ctype().to_owned(),
                    })
                    .unwrap_or_else(|| "application/octet-stream".to_owned())
                    .to_ascii_lowercase(),
                size: part.len() as u64,
            })
            .collect(),
        parse_error: None,
    });
    match parsed {
        Ok(p) => p,
        Err(reason) => ParsedBody {
            parse_error: Some(reason),
            ..ParsedBody::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MULTIPART: &[u8] = b"From: =?UTF-8?Q?Jos=C3=A9_Silva?= <jose@example.test>\r\n\
To: a@example.test, \"B\" <b@example.test>\r\n\
Cc: c@example.test\r\n\
Subject: =?UTF-8?B?T2zDoSBtdW5kbw==?=\r\n\
Date: Tue, 1 Jul 2025 10:00:00 +0000\r\n\
Message-ID: <m1@example.test>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
hello\r\n\
--b1\r\n\
Content-Type: application/pdf; name=\"r.pdf\"\r\n\
Content-Disposition: attachment; filename=\"r.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
AAECAw==\r\n\
--b1--\r\n";

    #[test]
    fn summary_decodes_headers_and_counts_attachments() {
        let s = summarize(MULTIPART);
        assert_eq!(s.subject.as_deref(), Some("Olá mundo"));
        assert_eq!(s.from, "José Silva <jose@example.test>");
        assert_eq!(s.to, "a@example.test, B <b@example.test>");
        assert_eq!(s.cc, "c@example.test");
        assert_eq!(s.date, Some(1_751_364_000));
        assert_eq!(s.message_id.as_deref(), Some("m1@example.test"));
        assert_eq!(s.attachment_count, 1);
        assert_eq!(s.parse_error, None);
    }

    #[test]
    fn body_has_text_and_attachment_details() {
        let p = parse_body(MULTIPART);
        assert_eq!(p.text.as_deref().map(str::trim), Some("hello"));
        assert_eq!(p.html, p.html.clone());
        assert_eq!(
            p.attachments,
            vec![AttachmentInfo {
                name: Some("r.pdf".into()),
                content_type: "application/pdf".into(),
                size: 4
            }]
        );
    }

    #[test]
    fn empty_input_is_a_parse_error_not_a_panic() {
        let s = summarize(b"");
        assert!(s.parse_error.is_some());
        assert_eq!(s.subject, None);
        let p = parse_body(b"");
        assert!(p.parse_error.is_some());
    }

    #[test]
    fn garbage_never_panics() {
        for raw in [
            &b"\xff\xfe\x00garbage"[..],
            b"Subject",
            b"\r\n\r\n",
            b"--b1--",
        ] {
            let _ = summarize(raw);
            let _ = parse_body(raw);
        }
    }

    #[test]
    fn hash_is_sha256() {
        let h = content_hash(b"abc");
        assert_eq!(h[0], 0xba);
        assert_eq!(h[31], 0xad);
    }
}
