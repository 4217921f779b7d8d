//! The SMTP submission client (RFC 5321, RFC 6409) over any `Read + Write` stream.
//!
//! It is generic so that it runs the same over a [`MailStream`](crate::net::MailStream) (clear,
//! implicit TLS, or upgraded by STARTTLS, directly or through a network connector) and over an
//! in-memory stream in tests. Every read and write is bounded by the stream's own timeouts; the
//! client only names the bound in its errors.

use super::wire::{DotStuffer, BUF_SIZE};
use crate::credentials::{Credential, Secret};
use crate::error::{ConnectionError, ErrorCategory};
use crate::net::reader::BoundedReader;
use crate::oauth2::sasl::OAuth2Mechanism;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::time::Duration;

/// Longest reply line accepted (RFC 5321 §4.5.3.1.5 says 512; some servers send more).
pub const MAX_LINE: usize = 4096;
/// Most lines in one reply (an EHLO reply has one per extension).
pub const MAX_REPLY_LINES: usize = 256;
/// Most bytes in one reply, all its lines together (an EHLO reply is a few hundred bytes).
pub const MAX_REPLY_BYTES: usize = 64 * 1024;
/// Longest piece of server text kept in an error message.
const MAX_ERROR_TEXT: usize = 400;

/// One SMTP reply: a three-digit code and its text lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    /// A reply (for fakes and tests).
    pub fn new(code: u16, lines: Vec<String>) -> Self {
        Self { code, lines }
    }

    /// The reply code (e.g. 250).
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The text of each line, after the code and its separator.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The enhanced status code (RFC 3463, e.g. `5.1.1`) at the start of the first line, if any.
    pub fn enhanced_code(&self) -> Option<&str> {
        let first = self.lines.first()?;
        let word = first.split_whitespace().next()?;
        let mut parts = word.split('.');
        let class = parts.next()?;
        let subject = parts.next()?;
        let detail = parts.next()?;
        let ok = matches!(class, "2" | "4" | "5")
            && (1..=3).contains(&subject.len())
            && (1..=3).contains(&detail.len())
            && subject.bytes().all(|b| b.is_ascii_digit())
            && detail.bytes().all(|b| b.is_ascii_digit())
            && parts.next().is_none();
        ok.then_some(word)
    }

    /// All lines joined with spaces.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }

    /// 2xx.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 3xx (the server waits for more: DATA content, an AUTH response).
    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    /// 4xx: a temporary failure, trying later may work.
    pub fn is_transient(&self) -> bool {
        crate::error::is_transient_reply(self.code)
    }

    /// 5xx: a permanent failure.
    pub fn is_permanent(&self) -> bool {
        crate::error::is_permanent_reply(self.code)
    }

    /// Code and text on one line, with control characters removed and the text shortened, for
    /// messages.
    pub fn summary(&self) -> String {
        summarize(&format!("{} {}", self.code, self.text()))
    }

    /// The code and enhanced code only (for AUTH replies, whose text is not trusted to be free
    /// of what we sent).
    fn code_only(&self) -> String {
        match self.enhanced_code() {
            Some(e) => format!("{} {e}", self.code),
            None => self.code.to_string(),
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

/// Server text made safe for a message: printable, one line, bounded.
pub(crate) fn summarize(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if out.chars().count() > MAX_ERROR_TEXT {
        out = out.chars().take(MAX_ERROR_TEXT).collect();
        out.push('…');
    }
    out
}

/// The extensions a server listed in its EHLO reply (keywords upper-cased, with parameters).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    keywords: BTreeMap<String, Vec<String>>,
}

impl Extensions {
    /// Parses the lines of an EHLO reply (the first line is the server's name).
    pub fn parse(reply: &Reply) -> Self {
        let mut keywords: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in reply.lines.iter().skip(1) {
            // Some old servers write `AUTH=PLAIN LOGIN`.
            let line = line.trim();
            let (kw, rest) = match line.find([' ', '=']) {
                Some(i) => (&line[..i], &line[i + 1..]),
                None => (line, ""),
            };
            if kw.is_empty() {
                continue;
            }
            let params = keywords.entry(kw.to_ascii_uppercase()).or_default();
            for p in rest.split_whitespace() {
                if !params.iter().any(|q| q.eq_ignore_ascii_case(p)) {
                    params.push(p.to_owned());
                }
            }
        }
        Self { keywords }
    }

    /// Whether the server listed `keyword` (case-insensitive).
    pub fn has(&self, keyword: &str) -> bool {
        self.keywords.contains_key(&keyword.to_ascii_uppercase())
    }

    /// The parameters of `keyword`.
    pub fn params(&self, keyword: &str) -> Option<&[String]> {
        self.keywords
            .get(&keyword.to_ascii_uppercase())
            .map(Vec::as_slice)
    }

    /// Whether STARTTLS is offered.
    pub fn starttls(&self) -> bool {
        self.has("STARTTLS")
    }

    /// The SASL mechanisms of `AUTH`, upper-cased; empty when AUTH is not offered.
    pub fn auth_mechanisms(&self) -> Vec<String> {
        self.params("AUTH")
            .map(|p| p.iter().map(|m| m.to_ascii_uppercase()).collect())
            .unwrap_or_default()
    }

    /// `SIZE`: `None` when not offered, `Some(None)` when offered without a limit (or 0),
    /// `Some(Some(n))` for a limit of `n` bytes.
    pub fn size_limit(&self) -> Option<Option<u64>> {
        let p = self.params("SIZE")?;
        let limit = p
            .first()
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|n| *n > 0);
        Some(limit)
    }

    /// Every keyword with its parameters, as the server listed them (keywords upper-cased).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.keywords
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

/// The SMTP envelope: who bounces go to (MAIL FROM) and who receives (RCPT TO).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The envelope sender (Return-Path); `None` is the null sender `<>`.
    pub mail_from: Option<String>,
    /// Every recipient (To, Cc and Bcc).
    pub rcpt_to: Vec<String>,
}

/// A recipient the server refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedRecipient {
    /// The address.
    pub address: String,
    /// The server's reply to its RCPT TO.
    pub reply: Reply,
}

impl fmt::Display for RejectedRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>: {}", self.address, self.reply)
    }
}

/// What happened to one message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendReport {
    /// Recipients the server accepted.
    pub accepted: Vec<String>,
    /// Recipients the server refused (only ever non-empty with partial delivery allowed).
    pub rejected: Vec<RejectedRecipient>,
    /// The server's reply to the end of DATA (usually holds its queue id).
    pub reply: Reply,
    /// The Message-ID header of the message, when it was built by this library.
    pub message_id: Option<String>,
}

/// How the client behaves; the defaults suit submission to a relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// The name sent with EHLO (a host name or an address literal such as `[127.0.0.1]`).
    pub client_name: String,
    /// The read bound of the stream, named in timeout errors.
    pub io_timeout: Duration,
    /// Send to the accepted recipients when some are refused (they are listed in
    /// [`SendReport::rejected`]). Off by default: one refused recipient fails the message and
    /// nothing is sent.
    pub partial_delivery: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            client_name: "localhost".to_owned(),
            io_timeout: Duration::from_secs(60),
            partial_delivery: false,
        }
    }
}

/// A connected SMTP client, past the greeting and EHLO.
pub struct SmtpClient<S> {
    wire: BoundedReader<S>,
    config: ClientConfig,
    greeting: Reply,
    ehlo: Option<Reply>,
    extensions: Extensions,
    encrypted: bool,
    authenticated: bool,
    broken: bool,
}

impl<S> fmt::Debug for SmtpClient<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpClient")
            .field("greeting", &self.greeting.summary())
            .field("extensions", &self.extensions)
            .field("encrypted", &self.encrypted)
            .field("authenticated", &self.authenticated)
            .field("broken", &self.broken)
            .finish()
    }
}

fn protocol(message: impl Into<String>) -> ConnectionError {
    ConnectionError::new(ErrorCategory::Protocol, message)
}

/// An error caused by `reply`: it carries the reply's code and enhanced status code.
fn from_reply(
    category: ErrorCategory,
    reply: &Reply,
    message: impl Into<String>,
) -> ConnectionError {
    ConnectionError::new(category, message).with_reply(reply.code, reply.enhanced_code())
}

/// An [`ErrorCategory::Protocol`] error caused by `reply`.
fn refused(reply: &Reply, message: impl Into<String>) -> ConnectionError {
    from_reply(ErrorCategory::Protocol, reply, message)
}

/// The message was sent whole and no final reply came (the connection closed, failed or timed
/// out): the server may have delivered it. Keeps the category (connect, timeout), adds the
/// outcome-unknown mark and says not to resend blindly.
fn outcome_unknown(e: ConnectionError) -> ConnectionError {
    let message = format!(
        "{}; the whole message had been sent, so it may have been delivered: the outcome is \
         unknown, do not resend it blindly (a resend may deliver it twice)",
        e.message()
    );
    let mut out = ConnectionError::new(e.category(), message).with_outcome_unknown();
    out = out.with_advice(
        "check whether the message arrived (the recipient's mailbox, the server's log) before \
         sending it again",
    );
    out.with_source(e)
}

/// Maps an I/O error on an open connection: a line too long is [`ErrorCategory::Protocol`],
/// a socket timeout [`ErrorCategory::Timeout`], anything else [`ErrorCategory::Connect`] (the
/// connection was lost), as `net::io_error` does.
pub(crate) fn io_err(e: io::Error, doing: &str, bound: Duration) -> ConnectionError {
    match e.kind() {
        io::ErrorKind::InvalidData => protocol(format!("{e} while {doing}")).with_source(e),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            ConnectionError::timeout(doing, bound).with_source(e)
        }
        io::ErrorKind::UnexpectedEof => ConnectionError::new(
            ErrorCategory::Connect,
            format!("the server closed the connection while {doing}"),
        )
        .with_source(e),
        _ => ConnectionError::new(
            ErrorCategory::Connect,
            format!("the connection failed while {doing}: {e}"),
        )
        .with_source(e),
    }
}

impl<S: Read + Write> SmtpClient<S> {
    /// Reads the greeting (220) and says EHLO (HELO when the server does not know EHLO).
    /// `encrypted` tells whether `stream` is already TLS (implicit TLS).
    pub fn connect(
        stream: S,
        config: ClientConfig,
        encrypted: bool,
    ) -> Result<Self, ConnectionError> {
        let mut wire = BoundedReader::with_capacity(stream, BUF_SIZE);
        let greeting = read_reply(&mut wire, "reading the greeting", config.io_timeout)?;
        tracing::debug!(code = greeting.code, "SMTP greeting");
        if greeting.code != 220 {
            return Err(refused(
                &greeting,
                format!("the server refused the session: {}", greeting.summary()),
            ));
        }
        let mut client = Self {
            wire,
            config,
            greeting,
            ehlo: None,
            extensions: Extensions::default(),
            encrypted,
            authenticated: false,
            broken: false,
        };
        client.hello()?;
        Ok(client)
    }

    fn hello(&mut self) -> Result<(), ConnectionError> {
        let name = self.config.client_name.clone();
        let reply = self.command(&format!("EHLO {name}"), "saying EHLO")?;
        if reply.is_positive() {
            self.extensions = Extensions::parse(&reply);
            self.ehlo = Some(reply);
            return Ok(());
        }
        if matches!(reply.code, 500 | 502) {
            let reply = self.command(&format!("HELO {name}"), "saying HELO")?;
            if reply.is_positive() {
                self.extensions = Extensions::default();
                self.ehlo = Some(reply);
                return Ok(());
            }
            return Err(refused(
                &reply,
                format!("the server refused HELO: {}", reply.summary()),
            ));
        }
        Err(refused(
            &reply,
            format!("the server refused EHLO: {}", reply.summary()),
        ))
    }

    /// The greeting.
    pub fn greeting(&self) -> &Reply {
        &self.greeting
    }

    /// The reply to the last EHLO (or HELO).
    pub fn ehlo_reply(&self) -> Option<&Reply> {
        self.ehlo.as_ref()
    }

    /// The extensions of the last EHLO (after STARTTLS, those offered over TLS).
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Whether the stream is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// Whether AUTH succeeded.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Whether the connection can still be used: no I/O error, no reply out of step.
    pub fn is_usable(&self) -> bool {
        !self.broken
    }

    /// The stream.
    pub fn stream(&self) -> &S {
        self.wire.get_ref()
    }

    /// The stream, mutably (e.g. to set an operation's deadline on a
    /// [`MailStream`](crate::net::MailStream)). Reading from it directly would skip the buffer.
    pub fn stream_mut(&mut self) -> &mut S {
        self.wire.get_mut()
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// STARTTLS (RFC 3207): fails with [`ErrorCategory::Tls`] when the server does not offer
    /// it, before anything else is sent, so that nothing (above all no credential) ever goes in
    /// clear text. `upgrade` runs the TLS handshake on the stream; EHLO is said again over TLS.
    pub fn starttls<T, F>(mut self, upgrade: F) -> Result<SmtpClient<T>, ConnectionError>
    where
        T: Read + Write,
        F: FnOnce(S) -> Result<T, ConnectionError>,
    {
        if self.encrypted {
            return Err(ConnectionError::new(
                ErrorCategory::Tls,
                "the connection is already encrypted: STARTTLS cannot be done twice",
            ));
        }
        if !self.extensions.starttls() {
            return Err(ConnectionError::new(
                ErrorCategory::Tls,
                "the server does not offer STARTTLS; the connection was not continued in clear \
                 text: use a port with implicit TLS (SSL), or turn the secure connection off only \
                 if clear text is acceptable",
            ));
        }
        let reply = self.command("STARTTLS", "asking for STARTTLS")?;
        if reply.code != 220 {
            return Err(from_reply(
                ErrorCategory::Tls,
                &reply,
                format!("the server refused STARTTLS: {}", reply.summary()),
            ));
        }
        let config = self.config.clone();
        let greeting = self.greeting.clone();
        let stream = self
            .wire
            .into_inner()
            .map_err(|_| crate::net::starttls_injected("STARTTLS"))?;
        let tls = upgrade(stream)?;
        let mut client = SmtpClient {
            wire: BoundedReader::with_capacity(tls, BUF_SIZE),
            config,
            greeting,
            ehlo: None,
            extensions: Extensions::default(),
            encrypted: true,
            authenticated: false,
            broken: false,
        };
        client.hello()?;
        Ok(client)
    }

    /// AUTH with the credential: XOAUTH2 (else OAUTHBEARER) for an OAuth2 token; PLAIN, else LOGIN, for a password,
    /// as the server offers them. Refused credentials (535, 534, 530, 538, 454) are
    /// [`ErrorCategory::Auth`]. The exchange is never logged, and the server's text is left out
    /// of errors when it repeats anything we sent.
    pub fn authenticate(&mut self, credential: &Credential) -> Result<(), ConnectionError> {
        self.authenticate_with(credential, None)
    }

    /// [`authenticate`](Self::authenticate) with an OAuth2 token through the given SASL
    /// mechanism (an error when the server does not offer it).
    pub fn authenticate_oauth2(
        &mut self,
        credential: &Credential,
        mechanism: OAuth2Mechanism,
    ) -> Result<(), ConnectionError> {
        self.authenticate_with(credential, Some(mechanism))
    }

    fn authenticate_with(
        &mut self,
        credential: &Credential,
        forced: Option<OAuth2Mechanism>,
    ) -> Result<(), ConnectionError> {
        let mechanisms = self.extensions.auth_mechanisms();
        let offered = if mechanisms.is_empty() {
            "none".to_owned()
        } else {
            mechanisms.join(" ")
        };
        let has = |m: &str| mechanisms.iter().any(|x| x == m);
        let user = credential.username.as_str();
        let secret = credential.secret.expose();
        let result = match &credential.secret {
            Secret::OAuth2Token(_) => {
                let mech = match forced {
                    Some(m) => has(m.name()).then_some(m),
                    None => OAuth2Mechanism::choose(has),
                };
                let Some(mech) = mech else {
                    return Err(protocol(format!(
                        "the credential is an OAuth2 token but the server does not offer AUTH {} \
                         (it offers: {offered})",
                        forced.map_or("XOAUTH2 or OAUTHBEARER", |m| m.name())
                    )));
                };
                let payload = B64.encode(mech.initial_response(user, secret));
                // OAUTHBEARER's error challenge is answered with %x01 (RFC 7628 §3.2.3).
                let ack = B64.encode(mech.error_ack());
                let acks: &[&str] = match mech {
                    OAuth2Mechanism::OAuthBearer => &[&ack],
                    _ => &[],
                };
                self.auth_exchange(mech.name(), Some(&payload), acks, &[&payload, user, secret])
            }
            _ => {
                if has("PLAIN") {
                    let payload = B64.encode(format!("\0{user}\0{secret}"));
                    self.auth_exchange("PLAIN", Some(&payload), &[], &[&payload, user, secret])
                } else if has("LOGIN") {
                    let u = B64.encode(user);
                    let p = B64.encode(secret);
                    self.auth_exchange("LOGIN", None, &[&u, &p], &[&u, &p, user, secret])
                } else if mechanisms.is_empty() {
                    return Err(protocol(if self.encrypted {
                        "the server does not offer authentication (no AUTH in its EHLO reply): \
                         turn authentication off for this account, or check the server"
                            .to_owned()
                    } else {
                        "the server does not offer authentication over clear text (no AUTH in \
                         its EHLO reply); it may offer it after STARTTLS: use a secure connection"
                            .to_owned()
                    }));
                } else {
                    return Err(protocol(format!(
                        "the server offers no password mechanism we support (PLAIN, LOGIN); it \
                         offers: {offered}"
                    )));
                }
            }
        };
        if result.is_ok() {
            self.authenticated = true;
            tracing::debug!("SMTP AUTH accepted");
        }
        result
    }

    /// Runs `AUTH mech [initial]`, answering each 334 challenge with the next of `responses`
    /// (an empty line once they run out, which cancels or ends the exchange).
    fn auth_exchange(
        &mut self,
        mech: &str,
        initial: Option<&str>,
        responses: &[&str],
        sent: &[&str],
    ) -> Result<(), ConnectionError> {
        let doing = "authenticating";
        let line = match initial {
            Some(ir) => format!("AUTH {mech} {ir}\r\n"),
            None => format!("AUTH {mech}\r\n"),
        };
        tracing::trace!(mechanism = mech, "C: AUTH [redacted]");
        self.write_flush(line.as_bytes(), doing)?;
        let mut pending = responses.iter();
        let mut rounds = 0;
        // OAUTHBEARER/XOAUTH2 say why they refuse in a JSON challenge (after the initial
        // response): its `status`, e.g. `invalid_token`.
        let bearer = matches!(mech, "XOAUTH2" | "OAUTHBEARER");
        let mut status = None;
        let reply = loop {
            let reply = self.read(doing)?;
            if reply.code != 334 {
                break reply;
            }
            if bearer && initial.is_some() {
                status = status
                    .or_else(|| crate::oauth2::sasl::error_status(reply.text().trim().as_bytes()));
            }
            rounds += 1;
            if rounds > 4 {
                self.broken = true;
                return Err(refused(
                    &reply,
                    "the server kept asking for more during AUTH; the exchange was abandoned",
                ));
            }
            let next = pending.next().copied().unwrap_or("");
            self.write_flush(format!("{next}\r\n").as_bytes(), doing)?;
        };
        if reply.is_positive() {
            return Ok(());
        }
        let text = reply.text();
        let echoes = sent.iter().any(|s| !s.is_empty() && text.contains(s));
        let shown = if echoes {
            reply.code_only()
        } else {
            reply.summary()
        };
        let category = match reply.code {
            535 | 534 | 530 | 538 | 454 => ErrorCategory::Auth,
            _ => ErrorCategory::Protocol,
        };
        let status = status
            .filter(|st| !sent.iter().any(|s| s.len() >= 3 && st.contains(s)))
            .map(|st| format!(" (the server's status: {st})"))
            .unwrap_or_default();
        let message = match category {
            ErrorCategory::Auth => format!(
                "the server rejected the credentials (AUTH {mech}): {shown}{status}; check the \
                 user name and secret of the account's credential"
            ),
            _ => format!("AUTH {mech} failed: {shown}"),
        };
        // The codes only: the enhanced code is digits and dots, never text we sent.
        Err(from_reply(category, &reply, message))
    }

    /// Sends one message: MAIL FROM (with SIZE when offered), RCPT TO for every recipient, DATA
    /// with the content dot-stuffed and streamed. A refused recipient fails the message (nothing
    /// is sent) unless [`ClientConfig::partial_delivery`]; the error is
    /// [`ErrorCategory::Protocol`] with each address and the server's reply, and carries the
    /// code of the first permanent (5xx) refusal, else of the first refusal
    /// ([`ConnectionError::reply_code`]). A 421 (the server is closing) ends the transaction at
    /// once. After a refusal the transaction is reset, so the connection can send the next
    /// message.
    pub fn send(
        &mut self,
        envelope: &Envelope,
        data: &[u8],
    ) -> Result<SendReport, ConnectionError> {
        if self.broken {
            return Err(protocol("the connection is no longer usable"));
        }
        if envelope.rcpt_to.is_empty() {
            return Err(ConnectionError::new(
                ErrorCategory::Validation,
                "the message has no recipient",
            ));
        }
        for a in envelope.mail_from.iter().chain(&envelope.rcpt_to) {
            if a.is_empty() || a.contains(['<', '>', '\r', '\n', ' ']) {
                return Err(ConnectionError::new(
                    ErrorCategory::Validation,
                    format!("\"{}\" is not a plain address", summarize(a)),
                ));
            }
        }
        let mut params = String::new();
        if let Some(limit) = self.extensions.size_limit() {
            if let Some(max) = limit {
                if data.len() as u64 > max {
                    return Err(protocol(format!(
                        "the message is {} bytes and the server accepts at most {max}",
                        data.len()
                    )));
                }
            }
            params.push_str(&format!(" SIZE={}", data.len()));
        }
        if data.iter().any(|b| *b >= 0x80) && self.extensions.has("8BITMIME") {
            params.push_str(" BODY=8BITMIME");
        }
        let needs_utf8 = envelope
            .mail_from
            .iter()
            .chain(&envelope.rcpt_to)
            .any(|a| !a.is_ascii());
        if needs_utf8 {
            if !self.extensions.has("SMTPUTF8") {
                return Err(protocol(
                    "an address is not ASCII and the server does not offer SMTPUTF8",
                ));
            }
            params.push_str(" SMTPUTF8");
        }
        let from = envelope.mail_from.as_deref().unwrap_or("");
        let reply = self.command(&format!("MAIL FROM:<{from}>{params}"), "sending MAIL FROM")?;
        if !reply.is_positive() {
            self.reset_after_failure();
            return Err(refused(
                &reply,
                format!(
                    "the server refused the sender <{from}>: {}",
                    reply.summary()
                ),
            ));
        }
        let mut accepted = Vec::new();
        let mut rejected = Vec::new();
        let mut closing = false;
        for rcpt in &envelope.rcpt_to {
            let reply = self.command(&format!("RCPT TO:<{rcpt}>"), "sending RCPT TO")?;
            if reply.is_positive() {
                accepted.push(rcpt.clone());
            } else {
                // 421: the server is closing the connection; asking on would only lose its
                // reply to a read error.
                closing = reply.code == 421;
                rejected.push(RejectedRecipient {
                    address: rcpt.clone(),
                    reply,
                });
                if closing {
                    break;
                }
            }
        }
        if closing || accepted.is_empty() || (!rejected.is_empty() && !self.config.partial_delivery)
        {
            self.reset_after_failure();
            let list = rejected
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            let what = if accepted.is_empty() {
                "the server refused every recipient"
            } else {
                "the server refused some recipients and the message was not sent"
            };
            // The reply an application decides on: a permanent refusal outweighs a temporary one
            // (trying later cannot help that recipient).
            let cause = rejected
                .iter()
                .map(|r| &r.reply)
                .find(|r| r.is_permanent())
                .or_else(|| rejected.first().map(|r| &r.reply));
            let e = protocol(format!("{what}: {list}"));
            return Err(match cause {
                Some(r) => e.with_reply(r.code, r.enhanced_code()),
                None => e,
            });
        }
        let reply = self.command("DATA", "sending DATA")?;
        if reply.code != 354 {
            self.reset_after_failure();
            return Err(refused(
                &reply,
                format!("the server refused DATA: {}", reply.summary()),
            ));
        }
        let bound = self.config.io_timeout;
        let written = {
            let mut stuffer = DotStuffer::new(self.wire.get_mut());
            // Until `finish`, the end-of-data line has not been written: a failure leaves the
            // message undelivered. A failure in `finish` may come after the final `.` left.
            match stuffer.write(data) {
                Ok(()) => stuffer.finish().map_err(|e| (e, true)),
                Err(e) => Err((e, false)),
            }
        };
        if let Err((e, maybe_whole)) = written {
            self.broken = true;
            let e = io_err(e, "sending the message content", bound);
            return Err(if maybe_whole { outcome_unknown(e) } else { e });
        }
        let reply = match self.read("waiting for the server to accept the message") {
            Ok(reply) => reply,
            // The whole message went out and no reply (or no readable one) says what became of
            // it: a lost connection, a timeout, a garbled or oversized reply.
            Err(e) => return Err(outcome_unknown(e)),
        };
        if !reply.is_positive() {
            return Err(refused(
                &reply,
                format!("the server did not accept the message: {}", reply.summary()),
            ));
        }
        tracing::debug!(
            recipients = accepted.len(),
            refused = rejected.len(),
            bytes = data.len(),
            "SMTP message accepted"
        );
        Ok(SendReport {
            accepted,
            rejected,
            reply,
            message_id: None,
        })
    }

    fn reset_after_failure(&mut self) {
        // A connection already known broken (a 421, a cut) gets no RSET: the server has gone
        // or is going, and the write would only fail.
        if self.broken || self.rset().is_err() {
            self.broken = true;
        }
    }

    /// RSET: ends any transaction; fails when the connection is no longer usable.
    pub fn rset(&mut self) -> Result<(), ConnectionError> {
        let reply = self.command("RSET", "sending RSET")?;
        if reply.is_positive() {
            Ok(())
        } else {
            self.broken = true;
            Err(refused(
                &reply,
                format!("the server refused RSET: {}", reply.summary()),
            ))
        }
    }

    /// NOOP: checks that the server still answers.
    pub fn noop(&mut self) -> Result<(), ConnectionError> {
        let reply = self.command("NOOP", "sending NOOP")?;
        if reply.is_positive() {
            Ok(())
        } else {
            self.broken = true;
            Err(refused(
                &reply,
                format!("the server refused NOOP: {}", reply.summary()),
            ))
        }
    }

    /// QUIT, and waits for the server's 221. The stream is handed back for shutting down.
    pub fn quit(mut self) -> Result<S, ConnectionError> {
        let reply = self.command("QUIT", "sending QUIT")?;
        if reply.code != 221 {
            return Err(refused(
                &reply,
                format!("unexpected reply to QUIT: {}", reply.summary()),
            ));
        }
        Ok(self.wire.into_stream())
    }

    /// Sends a command line (never an AUTH line: see [`Self::auth_exchange`]) and reads the
    /// reply.
    fn command(&mut self, line: &str, doing: &str) -> Result<Reply, ConnectionError> {
        tracing::trace!("C: {line}");
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.write_flush(&bytes, doing)?;
        self.read(doing)
    }

    fn write_flush(&mut self, bytes: &[u8], doing: &str) -> Result<(), ConnectionError> {
        let bound = self.config.io_timeout;
        let r = self.wire.write_all(bytes).and_then(|()| self.wire.flush());
        r.map_err(|e| {
            self.broken = true;
            io_err(e, doing, bound)
        })
    }

    fn read(&mut self, doing: &str) -> Result<Reply, ConnectionError> {
        let r = read_reply(&mut self.wire, doing, self.config.io_timeout);
        match &r {
            Ok(reply) => {
                tracing::trace!(code = reply.code, "S: reply");
                // 421: the server is closing the connection.
                if reply.code == 421 {
                    self.broken = true;
                }
            }
            Err(_) => self.broken = true,
        }
        r
    }
}

/// Reads one (possibly multi-line) reply through the shared bounded reader: each line at most
/// [`MAX_LINE`] bytes, at most [`MAX_REPLY_LINES`] lines and [`MAX_REPLY_BYTES`] in all; a
/// reply past a bound is [`ErrorCategory::Protocol`] and nothing more of it is read.
fn read_reply<S: Read>(
    wire: &mut BoundedReader<S>,
    doing: &str,
    bound: Duration,
) -> Result<Reply, ConnectionError> {
    let mut code: Option<u16> = None;
    let mut lines = Vec::new();
    let mut raw = Vec::new();
    let mut total = 0usize;
    loop {
        wire.read_line_into(&mut raw, MAX_LINE)
            .map_err(|e| e.into_connection_error(doing, bound))?;
        total += raw.len() + 2;
        if total > MAX_REPLY_BYTES {
            return Err(protocol(format!(
                "the server sent a reply of more than {MAX_REPLY_BYTES} bytes while {doing}"
            )));
        }
        let line = String::from_utf8_lossy(&raw);
        let bytes = line.as_bytes();
        let valid = bytes.len() >= 3
            && bytes[..3].iter().all(u8::is_ascii_digit)
            && (bytes.len() == 3 || bytes[3] == b' ' || bytes[3] == b'-');
        if !valid {
            return Err(protocol(format!(
                "the server sent something that is not an SMTP reply while {doing}: \"{}\"",
                summarize(&line)
            )));
        }
        let this: u16 = line[..3].parse().unwrap_or(0);
        if !(200..600).contains(&this) {
            return Err(protocol(format!(
                "the server sent an invalid reply code {this} while {doing}"
            )));
        }
        if let Some(c) = code {
            if c != this {
                return Err(protocol(format!(
                    "the server mixed reply codes {c} and {this} in one reply while {doing}"
                )));
            }
        }
        code = Some(this);
        let more = bytes.len() > 3 && bytes[3] == b'-';
        lines.push(if bytes.len() > 4 {
            line[4..].to_owned()
        } else {
            String::new()
        });
        if !more {
            return Ok(Reply { code: this, lines });
        }
        if lines.len() >= MAX_REPLY_LINES {
            return Err(protocol(format!(
                "the server sent a reply of more than {MAX_REPLY_LINES} lines while {doing}"
            )));
        }
    }
}
