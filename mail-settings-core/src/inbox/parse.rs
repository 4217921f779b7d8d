//! Reading a raw message with `mail-parser`: the summary stored beside the raw bytes (from the
//! message's headers and MIME structure, never decoding a body: see [`summarize`]), and the
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
///
/// Headers and MIME structure only: `mail-parser` reads the message's
/// [skeleton](super::skeleton), so the base64 attachments are never decoded (decoding them
/// was most of the CPU a collection spent storing a message). The fields, the attachment count
/// included, are those of the whole message; full parsing is [`parse_body`]'s, for a person
/// opening the message.
pub(crate) fn summarize(raw: &[u8]) -> Summary {
    summary_of(&super::skeleton::skeleton(raw))
}

/// The summary of `raw`, parsed as it is (whole, or a skeleton).
fn summary_of(raw: &[u8]) -> Summary {
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

    /// Deterministic pseudo-random numbers (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
    }

    fn base64(bytes: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Base64 of `n` pseudo-random bytes in lines of 76, sometimes broken (a stray byte, `=`
    /// in the middle, `--` that is no boundary, the boundary itself, a short line).
    fn base64_body(rng: &mut Rng, n: usize, eol: &str, boundary: Option<&str>) -> String {
        let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        let text = base64(&bytes);
        let mut lines: Vec<String> = text
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        if !lines.is_empty() && rng.chance(15) {
            let i = rng.below(lines.len());
            let broken = match rng.below(6) {
                0 => "*".to_owned(),
                1 => "=".to_owned(),
                2 => "--x".to_owned(),
                3 => format!("--{}", boundary.unwrap_or("zz")),
                4 => String::new(),
                _ => "AB=CD".to_owned(),
            };
            let at = rng.below(lines[i].len() + 1);
            lines[i].insert_str(at, &broken);
        }
        if !lines.is_empty() && rng.chance(10) {
            // A line of an odd length: the letter count modulo 4 matters.
            let i = rng.below(lines.len());
            let cut = rng.below(lines[i].len());
            lines[i].truncate(cut.max(1));
        }
        lines.iter().map(|l| format!("{l}{eol}")).collect()
    }

    /// Text: plain words (lines a skeleton may leave out) or, half the time, with `=3D` and
    /// `--` among them (lines it keeps).
    fn words(rng: &mut Rng, n: usize, eol: &str) -> String {
        let plain = rng.chance(50);
        const W: [&str; 10] = [
            "the ", "printer ", "does ", "not ", "print ", "Monday ", "please ", "=3D ", "-- ",
            "ok ",
        ];
        let mut s = String::new();
        for i in 0..n {
            s.push_str(W[rng.below(if plain { 7 } else { W.len() })]);
            if i % 9 == 8 {
                s.push_str(eol);
            }
        }
        s.push_str(eol);
        s
    }

    /// One MIME part (headers, empty line, body) of a real-world shape, `depth` levels deep at
    /// most.
    fn part(rng: &mut Rng, depth: usize, eol: &str, next_id: &mut usize, parent: &str) -> String {
        *next_id += 1;
        let id = *next_id;
        let kind = if depth == 0 {
            4 + rng.below(8)
        } else {
            rng.below(12)
        };
        match kind {
            0..=2 => {
                let sub = ["mixed", "alternative", "related", "digest"][rng.below(4)];
                let boundary = if rng.chance(50) {
                    format!("=_b{id}")
                } else {
                    format!("b{id}")
                };
                let mut s =
                    format!("Content-Type: multipart/{sub}; boundary=\"{boundary}\"{eol}{eol}");
                if rng.chance(30) {
                    s.push_str(&format!("This is a multi-part message.{eol}"));
                    if rng.chance(50) {
                        s.push_str(&base64_body(rng, 4000, eol, None));
                    }
                }
                for _ in 0..1 + rng.below(4) {
                    s.push_str(&format!("--{boundary}{eol}"));
                    s.push_str(&part(rng, depth - 1, eol, next_id, &boundary));
                }
                if !rng.chance(10) {
                    s.push_str(&format!("--{boundary}--{eol}"));
                    if rng.chance(20) {
                        s.push_str(&format!("epilogue{eol}"));
                        s.push_str(&base64_body(rng, 5000, eol, None));
                    }
                }
                s
            }
            3 => {
                // message/rfc822: plain, or base64 of a whole nested message.
                let inner = message_text(rng, depth - 1, eol, next_id);
                if rng.chance(70) {
                    format!("Content-Type: message/rfc822{eol}{eol}{inner}")
                } else {
                    format!(
                        "Content-Type: message/rfc822{eol}Content-Transfer-Encoding: base64{eol}{eol}{}",
                        base64(inner.as_bytes())
                            .as_bytes()
                            .chunks(76)
                            .map(|c| format!("{}{eol}", String::from_utf8_lossy(c)))
                            .collect::<String>()
                    )
                }
            }
            4 | 5 => {
                // Text, plain or HTML, maybe sent as an attachment.
                let sub = if rng.chance(60) { "plain" } else { "html" };
                let mut h = format!("Content-Type: text/{sub}");
                if rng.chance(60) {
                    h.push_str("; charset=utf-8");
                }
                if rng.chance(15) {
                    h.push_str(&format!("; name=\"notes{id}.txt\""));
                }
                h.push_str(eol);
                if rng.chance(20) {
                    h.push_str(&format!(
                        "Content-Disposition: attachment; filename=\"notes{id}.txt\"{eol}"
                    ));
                } else if rng.chance(10) {
                    h.push_str(&format!("Content-Disposition: inline{eol}"));
                }
                match rng.below(3) {
                    0 => {
                        h.push_str(&format!("Content-Transfer-Encoding: base64{eol}{eol}"));
                        let n = [50, 3000, 9000][rng.below(3)];
                        h + &base64_body(rng, n, eol, Some(parent))
                    }
                    1 => {
                        h.push_str(&format!(
                            "Content-Transfer-Encoding: quoted-printable{eol}{eol}"
                        ));
                        let n = [200, 1500][rng.below(2)];
                        let mut body = words(rng, n, eol);
                        if rng.chance(10) {
                            body.push_str(&format!("=ZZ{eol}"));
                        }
                        h + &body
                    }
                    _ => {
                        h.push_str(eol);
                        let n = [20, 300, 1500][rng.below(3)] + rng.below(100);
                        h + &words(rng, n, eol)
                    }
                }
            }
            6 | 7 => {
                // An inline image (in multipart/related, with a Content-ID).
                let mut h = format!("Content-Type: image/png; name=\"logo{id}.png\"{eol}");
                if rng.chance(60) {
                    h.push_str(&format!("Content-ID: <logo{id}@example.test>{eol}"));
                }
                if rng.chance(50) {
                    h.push_str(&format!("Content-Disposition: inline{eol}"));
                }
                h.push_str(&format!("Content-Transfer-Encoding: base64{eol}{eol}"));
                let n = [200, 6000, 20000][rng.below(3)];
                h + &base64_body(rng, n, eol, Some(parent))
            }
            8 | 9 => {
                // An attachment.
                let (ct, ext) =
                    [("application/pdf", "pdf"), ("application/zip", "zip")][rng.below(2)];
                let mut h = format!("Content-Type: {ct}; name=\"report{id}.{ext}\"{eol}");
                if rng.chance(80) {
                    h.push_str(&format!(
                        "Content-Disposition: attachment; filename=\"report{id}.{ext}\"{eol}"
                    ));
                }
                h.push_str(&format!("Content-Transfer-Encoding: base64{eol}{eol}"));
                let n = [0, 1000, 8000, 30000][rng.below(4)];
                h + &base64_body(rng, n, eol, Some(parent))
            }
            10 => {
                // No Content-Type: text/plain by default (message/rfc822 in a digest).
                let n = 10 + rng.below(100);
                format!("Content-Disposition: inline{eol}{eol}") + &words(rng, n, eol)
            }
            _ => {
                // Base64 letters sent as 7bit in an octet stream, or a header line of letters.
                let mut h = "Content-Type: application/octet-stream".to_owned();
                h.push_str(eol);
                if rng.chance(50) {
                    h.push_str(&format!("X-Letters{eol}"));
                }
                h.push_str(eol);
                h + &base64_body(rng, 6000, eol, Some(parent))
            }
        }
    }

    fn message_text(rng: &mut Rng, depth: usize, eol: &str, next_id: &mut usize) -> String {
        let n = *next_id;
        let mut s = format!(
            "From: =?UTF-8?Q?Jos=C3=A9_{n}?= <jose{n}@example.test>{eol}\
             To: a@example.test, \"B\" <b@example.test>{eol}"
        );
        if rng.chance(30) {
            s.push_str(&format!("Cc: c{n}@example.test{eol}"));
        }
        if rng.chance(90) {
            s.push_str(&format!(
                "Subject: =?UTF-8?B?{}?={eol}",
                base64(format!("Olá {n}").as_bytes())
            ));
        }
        if rng.chance(90) {
            s.push_str(&format!(
                "Date: Tue, 1 Jul 2025 10:{:02}:00 +0000{eol}",
                n % 60
            ));
        }
        if rng.chance(90) {
            s.push_str(&format!("Message-ID: <m{n}@example.test>{eol}"));
        }
        s.push_str(&format!("MIME-Version: 1.0{eol}"));
        s + &part(rng, depth, eol, next_id, "")
    }

    /// A message of the corpus: real-world shaped, sometimes broken further (cut short, or a
    /// few bytes of MIME syntax dropped in).
    fn corpus_message(rng: &mut Rng) -> Vec<u8> {
        let eol = if rng.chance(80) { "\r\n" } else { "\n" };
        let mut next_id = 0;
        let mut raw = message_text(rng, 3, eol, &mut next_id).into_bytes();
        if rng.chance(10) {
            let at = rng.below(raw.len());
            raw.truncate(at);
        }
        if rng.chance(15) {
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(raw.len() + 1);
                let junk = ["--", "=", "\r\n\r\n", "\n", "-", "A", ":"][rng.below(7)];
                raw.splice(at..at, junk.bytes());
            }
        }
        raw
    }

    #[test]
    fn the_summary_never_decodes_yet_equals_the_whole_parse_over_a_corpus() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let (mut shortened, mut attachments, mut broken, mut compared) = (0, 0, 0, 0);
        const N: usize = 1500;
        for i in 0..N {
            let raw = corpus_message(&mut rng);
            let whole = summary_of(&raw);
            let fast = summarize(&raw);
            if fast != whole {
                let path = std::env::temp_dir().join(format!("summary-mismatch-{i}.eml"));
                std::fs::write(&path, &raw).unwrap();
                panic!("message {i} ({}): {fast:?} != {whole:?}", path.display());
            }
            // The count `show` lists (when mail-parser does not fail reading the bodies).
            let body = parse_body(&raw);
            if body.parse_error.is_none() {
                assert_eq!(
                    fast.attachment_count as usize,
                    body.attachments.len(),
                    "message {i}"
                );
                compared += 1;
            }
            attachments += fast.attachment_count as usize;
            if matches!(
                crate::inbox::skeleton::skeleton(&raw),
                std::borrow::Cow::Owned(_)
            ) {
                shortened += 1;
            }
            if with_parsed(&raw, |m| m.parts.iter().any(|p| p.is_encoding_problem)).unwrap_or(true)
            {
                broken += 1;
            }
        }
        // The corpus exercises what it is for: many messages shortened, many attachments,
        // and broken MIME.
        assert!(shortened > N / 3, "only {shortened} of {N} shortened");
        assert!(attachments > N, "only {attachments} attachments");
        assert!(broken > N / 10, "only {broken} broken messages");
        assert!(
            compared > N * 9 / 10,
            "only {compared} compared with parse_body"
        );
    }

    #[test]
    fn a_large_attachment_is_counted_without_being_decoded() {
        let mut raw = MULTIPART[..MULTIPART.len() - b"AAECAw==\r\n--b1--\r\n".len()].to_vec();
        let b = base64(&vec![7u8; 3 << 20]);
        for line in b.as_bytes().chunks(76) {
            raw.extend_from_slice(line);
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"--b1--\r\n");
        let skeleton = crate::inbox::skeleton::skeleton(&raw);
        assert!(skeleton.len() < 2000, "{} bytes left", skeleton.len());
        let s = summarize(&raw);
        assert_eq!(s.attachment_count, 1);
        assert_eq!(s, summary_of(&raw));
        assert_eq!(parse_body(&raw).attachments[0].size, 3 << 20);
    }

    #[test]
    fn hash_is_sha256() {
        let h = content_hash(b"abc");
        assert_eq!(h[0], 0xba);
        assert_eq!(h[31], 0xad);
    }
}
