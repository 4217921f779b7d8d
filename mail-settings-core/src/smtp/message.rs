//! Outgoing messages, and the account rules of `docs/SETTINGS.md` applied to them.
//!
//! The MIME structure, transfer encodings (7bit, quoted-printable, base64), RFC 2047 header
//! encoding and line folding come from `lettre`'s message builder, a well-kept crate; this module
//! only decides what goes in:
//!
//! - `From`: the message's own, or the account's `sender_email` when the message has none or
//!   the account has `force_configuration`.
//! - `Reply-To`: the message's own, or the account's `reply_to` when the message has none; with
//!   `force_configuration` always the account's (and none when the account has none).
//! - Envelope sender (SMTP `MAIL FROM`, which the receiving server writes as `Return-Path`): the
//!   message's return path, or the account's `return_path` when the message has none or with
//!   `force_configuration`; when neither gives one, the `From` address.
//! - `Disposition-Notification-To: <confirmation_email>` when the account asks for read
//!   receipts.
//! - The footer, when enabled: after a `-- ` line at the end of the text part, and (escaped)
//!   before `</body>` of the HTML part, or at its end.
//! - `Bcc` recipients are in the envelope only, never in the sent data.
//! - Extra headers only from a safe list (never one that changes addressing, structure or
//!   identity), and never with a line break in their value.

use super::client::{summarize, Envelope};
use crate::error::{ConnectionError, ErrorCategory};
use crate::typed::{EmailAddress, SmtpAccount};
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::Address;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

/// The subject of the test message (docs/SETTINGS.md "Test configuration", seed 004).
pub const TEST_SUBJECT: &str = "MENSAGEM DE TESTE!";
/// The text of the test message (docs/SETTINGS.md "Test configuration", seed 004).
pub const TEST_MESSAGE: &str = "ATENÇÃO: ESTA É UMA MENSAGEM DE TESTE!";

/// Extra headers a message may bring (besides any `X-…` header).
pub const ALLOWED_HEADERS: &[&str] = &[
    "Auto-Submitted",
    "Comments",
    "Content-Language",
    "Importance",
    "In-Reply-To",
    "Keywords",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Organization",
    "Precedence",
    "Priority",
    "References",
    "Sensitivity",
    "Thread-Index",
    "Thread-Topic",
];

/// Whether a message may bring header `name`: `X-…` headers and [`ALLOWED_HEADERS`].
pub fn is_allowed_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    (lower.starts_with("x-") && lower.len() > 2)
        || ALLOWED_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// A file attached to a message.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attachment {
    /// The file name shown to the recipient.
    pub filename: String,
    /// The MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// The content.
    pub content: Vec<u8>,
}

impl Attachment {
    /// An attachment.
    pub fn new(
        filename: impl Into<String>,
        content_type: impl Into<String>,
        content: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            filename: filename.into(),
            content_type: content_type.into(),
            content: content.into(),
        }
    }
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("bytes", &self.content.len())
            .finish()
    }
}

/// A message the application wants to send. Addresses are text: a bare address
/// (`ops@example.com`) or one with a name (`Ops <ops@example.com>`); they are checked when the
/// message is composed. Build it with the methods, or set the fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutgoingMessage {
    /// `To` recipients.
    pub to: Vec<String>,
    /// `Cc` recipients.
    pub cc: Vec<String>,
    /// Blind recipients: in the envelope, never in the headers.
    pub bcc: Vec<String>,
    /// `From`; the account's sender when `None` (or when the account forces its settings).
    pub from: Option<String>,
    /// `Reply-To`; the account's when `None` (or forced).
    pub reply_to: Option<String>,
    /// The envelope sender (bounces); the account's when `None` (or forced).
    pub return_path: Option<String>,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub text: Option<String>,
    /// HTML body.
    pub html: Option<String>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// Extra headers, only those [`is_allowed_header`] accepts.
    pub headers: Vec<(String, String)>,
}

impl OutgoingMessage {
    /// An empty message.
    pub fn new() -> Self {
        Self::default()
    }

    /// The test message of "Test configuration" (seed 004): to `send_to`, with the given
    /// subject and text or the defaults [`TEST_SUBJECT`] and [`TEST_MESSAGE`] (also when blank).
    pub fn test_message(send_to: &str, subject: Option<&str>, message: Option<&str>) -> Self {
        let pick =
            |v: Option<&str>, d: &str| v.filter(|s| !s.trim().is_empty()).unwrap_or(d).to_owned();
        Self::new()
            .to(send_to)
            .subject(pick(subject, TEST_SUBJECT))
            .text(pick(message, TEST_MESSAGE))
    }

    /// Adds a `To` recipient.
    pub fn to(mut self, address: impl Into<String>) -> Self {
        self.to.push(address.into());
        self
    }
    /// Adds a `Cc` recipient.
    pub fn cc(mut self, address: impl Into<String>) -> Self {
        self.cc.push(address.into());
        self
    }
    /// Adds a blind recipient.
    pub fn bcc(mut self, address: impl Into<String>) -> Self {
        self.bcc.push(address.into());
        self
    }
    /// Sets `From`.
    pub fn from(mut self, address: impl Into<String>) -> Self {
        self.from = Some(address.into());
        self
    }
    /// Sets `Reply-To`.
    pub fn reply_to(mut self, address: impl Into<String>) -> Self {
        self.reply_to = Some(address.into());
        self
    }
    /// Sets the envelope sender (bounces).
    pub fn return_path(mut self, address: impl Into<String>) -> Self {
        self.return_path = Some(address.into());
        self
    }
    /// Sets the subject.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = subject.into();
        self
    }
    /// Sets the plain-text body.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }
    /// Sets the HTML body.
    pub fn html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }
    /// Adds an attachment.
    pub fn attachment(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }
    /// Adds an extra header (checked when composed).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A message ready to send: the envelope and the bytes of the message (CRLF line endings, no
/// `Bcc` header).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ComposedMessage {
    /// Envelope sender and every recipient.
    pub envelope: Envelope,
    /// The message, as sent in DATA (before dot-stuffing).
    pub data: Vec<u8>,
    /// Its `Message-ID` header value, `<…>` included.
    pub message_id: String,
}

impl fmt::Debug for ComposedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComposedMessage")
            .field("envelope", &self.envelope)
            .field("bytes", &self.data.len())
            .field("message_id", &self.message_id)
            .finish()
    }
}

fn invalid(message: impl Into<String>) -> ConnectionError {
    ConnectionError::new(ErrorCategory::Validation, message)
}

fn parse_mailbox(text: &str, field: &str) -> Result<Mailbox, ConnectionError> {
    Mailbox::from_str(text.trim()).map_err(|e| {
        invalid(format!(
            "{field}: \"{}\" is not an e-mail address ({e})",
            summarize(text)
        ))
    })
}

fn parse_address(text: &str, field: &str) -> Result<Address, ConnectionError> {
    let t = text.trim();
    let t = t
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(t);
    Address::from_str(t).map_err(|e| {
        invalid(format!(
            "{field}: \"{}\" is not an e-mail address ({e})",
            summarize(text)
        ))
    })
}

fn account_address(a: &EmailAddress, field: &str) -> Result<Address, ConnectionError> {
    parse_address(a.as_str(), field)
}

/// Applies the account's rules to `message` and builds it (see the module docs).
pub fn compose(
    account: &SmtpAccount,
    message: &OutgoingMessage,
) -> Result<ComposedMessage, ConnectionError> {
    let force = account.force_configuration();

    let from = match (&message.from, force) {
        (Some(f), false) => parse_mailbox(f, "from")?,
        _ => Mailbox::new(None, account_address(account.sender(), "sender_email")?),
    };
    let reply_to = match (&message.reply_to, force) {
        (Some(r), false) => Some(parse_mailbox(r, "reply_to")?),
        _ => account
            .reply_to()
            .map(|a| account_address(a, "reply_to").map(|a| Mailbox::new(None, a)))
            .transpose()?,
    };
    let return_path = match (&message.return_path, force) {
        (Some(r), false) => Some(parse_address(r, "return_path")?),
        _ => account
            .return_path()
            .map(|a| account_address(a, "return_path"))
            .transpose()?,
    };
    let envelope_from = return_path.unwrap_or_else(|| from.email.clone());

    let mut builder = lettre::Message::builder().from(from.clone());
    if let Some(r) = reply_to {
        builder = builder.reply_to(r);
    }
    let mut rcpts: Vec<String> = Vec::new();
    let mut add_rcpt = |m: &Mailbox| {
        let a = m.email.to_string();
        if !rcpts.iter().any(|x| x.eq_ignore_ascii_case(&a)) {
            rcpts.push(a);
        }
    };
    for t in &message.to {
        let m = parse_mailbox(t, "to")?;
        add_rcpt(&m);
        builder = builder.to(m);
    }
    for c in &message.cc {
        let m = parse_mailbox(c, "cc")?;
        add_rcpt(&m);
        builder = builder.cc(m);
    }
    for b in &message.bcc {
        // Envelope only: no Bcc header is ever written.
        let m = parse_mailbox(b, "bcc")?;
        add_rcpt(&m);
    }
    if rcpts.is_empty() {
        return Err(invalid("the message has no recipient (to, cc or bcc)"));
    }
    let message_id = new_message_id(from.email.domain());
    builder = builder
        .subject(message.subject.clone())
        .message_id(Some(message_id.clone()));
    if let Some(dnt) = account.read_receipt_to() {
        let a = account_address(dnt, "confirmation_email")?;
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Disposition-Notification-To"),
            format!("<{a}>"),
        ));
    }
    for (name, value) in &message.headers {
        let name = name.trim();
        if !is_allowed_header(name) {
            return Err(invalid(format!(
                "header \"{}\" may not be set by a message (allowed: X-… and {})",
                summarize(name),
                ALLOWED_HEADERS.join(", ")
            )));
        }
        if value.contains(['\r', '\n']) {
            return Err(invalid(format!(
                "header \"{name}\": a value may not contain a line break"
            )));
        }
        let header_name = HeaderName::new_from_ascii(name.to_owned())
            .ok()
            .filter(|_| name.bytes().all(|b| (33..=126).contains(&b)))
            .ok_or_else(|| invalid(format!("\"{}\" is not a header name", summarize(name))))?;
        builder = builder.raw_header(HeaderValue::new(header_name, value.clone()));
    }

    let footer = account.footer();
    let text = match (&message.text, &message.html, footer) {
        (Some(t), _, Some(f)) => Some(text_with_footer(t, f)),
        (Some(t), _, None) => Some(t.clone()),
        (None, None, Some(f)) => Some(text_with_footer("", f)),
        (None, None, None) => Some(String::new()),
        (None, Some(_), _) => None,
    };
    let html = match (&message.html, footer) {
        (Some(h), Some(f)) => Some(html_with_footer(h, f)),
        (Some(h), None) => Some(h.clone()),
        (None, _) => None,
    };
    enum Content {
        Single(SinglePart),
        Multi(MultiPart),
    }
    let body = match (text, html) {
        (Some(t), Some(h)) => Content::Multi(MultiPart::alternative_plain_html(t, h)),
        (Some(t), None) => Content::Single(SinglePart::plain(t)),
        (None, Some(h)) => Content::Single(SinglePart::html(h)),
        (None, None) => Content::Single(SinglePart::plain(String::new())),
    };
    let lettre_envelope = lettre::address::Envelope::new(
        Some(envelope_from.clone()),
        rcpts
            .iter()
            .map(|a| parse_address(a, "recipient"))
            .collect::<Result<Vec<_>, _>>()?,
    )
    .map_err(|e| invalid(format!("the envelope is not valid: {e}")))?;
    builder = builder.envelope(lettre_envelope);
    let built = if message.attachments.is_empty() {
        match body {
            Content::Single(p) => builder.singlepart(p),
            Content::Multi(m) => builder.multipart(m),
        }
    } else {
        let mut mixed = match body {
            Content::Single(p) => MultiPart::mixed().singlepart(p),
            Content::Multi(m) => MultiPart::mixed().multipart(m),
        };
        for a in &message.attachments {
            let ct = ContentType::parse(&a.content_type).map_err(|e| {
                invalid(format!(
                    "attachment \"{}\": \"{}\" is not a content type ({e})",
                    summarize(&a.filename),
                    summarize(&a.content_type)
                ))
            })?;
            // Always base64: the bytes arrive exactly as given (a 7bit part would have its line
            // endings changed to CRLF on the way).
            let body = Body::new_with_encoding(a.content.clone(), ContentTransferEncoding::Base64)
                .map_err(|_| invalid("an attachment cannot be encoded"))?;
            mixed = mixed
                .singlepart(lettre::message::Attachment::new(a.filename.clone()).body(body, ct));
        }
        builder.multipart(mixed)
    };
    let built = built.map_err(|e| invalid(format!("the message cannot be built: {e}")))?;
    Ok(ComposedMessage {
        envelope: Envelope {
            mail_from: Some(envelope_from.to_string()),
            rcpt_to: rcpts,
        },
        data: built.formatted(),
        message_id,
    })
}

/// The text with the footer after a `-- ` signature separator line.
pub fn text_with_footer(text: &str, footer: &str) -> String {
    let mut s = String::with_capacity(text.len() + footer.len() + 8);
    s.push_str(text);
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s.push_str("-- \n");
    s.push_str(footer);
    s
}

/// The HTML with the footer (escaped, line breaks kept) before `</body>`, or at the end.
pub fn html_with_footer(html: &str, footer: &str) -> String {
    let escaped = escape_html(footer)
        .replace("\r\n", "\n")
        .replace('\n', "<br>\n");
    let block = format!("<div class=\"footer\">-- <br>\n{escaped}</div>\n");
    // ASCII lower-casing keeps byte offsets.
    match html.to_ascii_lowercase().rfind("</body>") {
        Some(i) => {
            let mut s = String::with_capacity(html.len() + block.len());
            s.push_str(&html[..i]);
            s.push_str(&block);
            s.push_str(&html[i..]);
            s
        }
        None => {
            let mut s = html.to_owned();
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str(&block);
            s
        }
    }
}

/// `&`, `<`, `>`, `"` and `'` as HTML entities.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A unique `<…@domain>` id: time, process, a counter and a per-process random key.
fn new_message_id(domain: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(nanos);
    h.write_u64(n);
    h.write_u32(std::process::id());
    format!("<{nanos:x}.{n:x}.{:016x}@{domain}>", h.finish())
}
