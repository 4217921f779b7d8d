//! Sending mail through an SMTP account: the application's notifications and the "Test
//! configuration" message (seed 004).
//!
//! ## Why our own submission client
//! Every connection must be able to go through a network connector (SOCKS5 or HTTP CONNECT),
//! which [`crate::net`] opens and hands over as a [`MailStream`]. `lettre` 0.11's blocking
//! `SmtpTransport` opens its own TCP connection and cannot take a stream; only its async
//! `AsyncSmtpConnection::connect_with_transport` can, which would pull an async runtime (tokio)
//! into a blocking library, and its STARTTLS goes through lettre's own TLS set-up rather than
//! [`MailStream::upgrade_to_tls`] (our certificate classification, CA file and bounded
//! handshake). Submission (RFC 5321/6409) needs few commands, so [`SmtpClient`] is a small
//! synchronous client over any `Read + Write` stream: EHLO, STARTTLS with no fallback, AUTH
//! PLAIN/LOGIN/XOAUTH2, MAIL FROM with SIZE, RCPT TO with refused recipients reported, DATA
//! dot-stuffed and streamed, RSET, NOOP, QUIT. `lettre` is still what *builds* messages
//! ([`compose`]): MIME, encodings and headers come from a well-kept crate.
//!
//! ## Entry points
//! - [`send`], [`send_many`], [`send_test`]: one connection per call.
//! - [`SmtpPool`]: connections kept open per account and reused (RSET between messages).
//! - [`open`] / [`connect`]: the stages, for connection checks (greeting, EHLO extensions,
//!   STARTTLS, then AUTH).
//! - [`resolve_account`]: the named account, or the default one when none is named.
//!
//! A disabled account sends nothing. AUTH exchanges are never logged nor echoed into errors.
//!
//! ## When the outcome is unknown
//! A message is delivered once the server has its final `.`; the client learns it from the
//! reply that follows. When the connection closes, fails or times out between the two (or the
//! reply cannot be read), the message may have been delivered or not: the error then says
//! [`ConnectionError::is_outcome_unknown`] (neither [`ConnectionError::is_transient`] nor
//! [`ConnectionError::is_permanent`]) and names the message's Message-ID. Nothing here sends
//! such a message again — not [`send_many`], not the [`SmtpPool`] — and a host should not
//! either without checking first (a resend may deliver it twice). A failure before the final
//! `.` left is an ordinary error: the server discards an unfinished message.

mod client;
mod message;
mod pool;
mod wire;

pub(crate) use client::summarize as summarize_text;
pub use client::{
    ClientConfig, Envelope, Extensions, RejectedRecipient, Reply, SendReport, SmtpClient,
};
pub use message::{
    compose, escape_html, html_with_footer, is_allowed_header, text_with_footer, Attachment,
    ComposedMessage, OutgoingMessage, ALLOWED_HEADERS, TEST_MESSAGE, TEST_SUBJECT,
};
pub use pool::{PoolConfig, SmtpPool};

use crate::credentials::{Credential, CredentialProvider};
use crate::error::{ConnectionError, ErrorCategory};
use crate::model::Security;
use crate::net::{self, MailStream, OpDeadline, Timeouts, TlsInfo};
use crate::typed::SmtpAccount;
use std::borrow::Cow;

/// A client over a real connection.
pub type SmtpConnection = SmtpClient<MailStream>;

/// How to connect and send.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SmtpOptions {
    /// Bounds of connecting, reading and writing.
    pub timeouts: Timeouts,
    /// The name sent with EHLO.
    pub client_name: String,
    /// Send to the accepted recipients when some are refused (see
    /// [`ClientConfig::partial_delivery`]).
    pub partial_delivery: bool,
}

impl Default for SmtpOptions {
    fn default() -> Self {
        Self {
            timeouts: Timeouts::default(),
            client_name: "localhost".to_owned(),
            partial_delivery: false,
        }
    }
}

impl SmtpOptions {
    /// Defaults with these timeouts.
    pub fn with_timeouts(timeouts: Timeouts) -> Self {
        Self {
            timeouts,
            ..Self::default()
        }
    }

    fn client_config(&self) -> ClientConfig {
        ClientConfig {
            client_name: self.client_name.clone(),
            io_timeout: self.timeouts.read.max(self.timeouts.write),
            partial_delivery: self.partial_delivery,
        }
    }
}

/// Where the default SMTP account comes from when a caller names none: a list of accounts (the
/// one marked default), an `Option`, or a closure (e.g. over `Store::default_smtp_account`).
pub trait DefaultSmtpAccount {
    /// The default account, if there is one.
    fn default_smtp_account(&self) -> Option<SmtpAccount>;
}

impl DefaultSmtpAccount for Option<SmtpAccount> {
    fn default_smtp_account(&self) -> Option<SmtpAccount> {
        self.clone()
    }
}

impl DefaultSmtpAccount for Option<&SmtpAccount> {
    fn default_smtp_account(&self) -> Option<SmtpAccount> {
        self.cloned()
    }
}

impl DefaultSmtpAccount for [SmtpAccount] {
    fn default_smtp_account(&self) -> Option<SmtpAccount> {
        self.iter().find(|a| a.default_account()).cloned()
    }
}

impl DefaultSmtpAccount for Vec<SmtpAccount> {
    fn default_smtp_account(&self) -> Option<SmtpAccount> {
        self.as_slice().default_smtp_account()
    }
}

impl<F: Fn() -> Option<SmtpAccount>> DefaultSmtpAccount for F {
    fn default_smtp_account(&self) -> Option<SmtpAccount> {
        self()
    }
}

/// The account to send with: `named` when given, else the default one;
/// [`AccountError::NoDefault`](crate::app::AccountError::NoDefault) (the error every front end
/// gives for a missing default) when there is neither.
pub fn resolve_account<'a, D: DefaultSmtpAccount + ?Sized>(
    named: Option<&'a SmtpAccount>,
    default: &D,
) -> Result<Cow<'a, SmtpAccount>, crate::app::AccountError> {
    match named {
        Some(a) => Ok(Cow::Borrowed(a)),
        None => default
            .default_smtp_account()
            .map(Cow::Owned)
            .ok_or(crate::app::AccountError::NoDefault),
    }
}

fn label(account: &SmtpAccount) -> String {
    format!("SMTP {}", account.connection().endpoint)
}

fn disabled(account: &SmtpAccount) -> ConnectionError {
    ConnectionError::new(
        ErrorCategory::Validation,
        format!(
            "SMTP account \"{}\" is disabled: a disabled account sends nothing",
            account.name()
        ),
    )
}

fn ensure_enabled(account: &SmtpAccount) -> Result<(), ConnectionError> {
    if account.enabled() {
        Ok(())
    } else {
        Err(disabled(account))
    }
}

/// The account's credential from the provider, when it uses authentication.
pub fn account_credential(
    account: &SmtpAccount,
    creds: &dyn CredentialProvider,
) -> Result<Option<Credential>, ConnectionError> {
    account
        .credential()
        .map(|id| {
            creds
                .credential(id)
                .map_err(|e| ConnectionError::new(e.category(), e.to_string()).with_source(e))
        })
        .transpose()
}

/// Opens a session as the account says, up to and including STARTTLS (and the EHLO after it),
/// without authenticating: for connection checks, which time and report each stage. With
/// `Security::StartTls` a server that does not offer STARTTLS is an [`ErrorCategory::Tls`]
/// error and nothing more is sent.
pub fn open(
    account: &SmtpAccount,
    creds: &dyn CredentialProvider,
    options: &SmtpOptions,
) -> Result<(SmtpConnection, Option<TlsInfo>), ConnectionError> {
    open_until(account, creds, options, None)
}

/// `timeouts` with each step bounded by what is left of `deadline` too.
pub(crate) fn within(timeouts: &Timeouts, deadline: Option<OpDeadline>) -> Timeouts {
    let Some(d) = deadline else {
        return *timeouts;
    };
    let left = d.left().max(std::time::Duration::from_millis(1));
    Timeouts {
        connect: timeouts.connect.min(left),
        read: timeouts.read.min(left),
        write: timeouts.write.min(left),
        ..*timeouts
    }
}

/// [`open`] under an operation's deadline: connecting, the proxy and TLS handshakes and every
/// read and write after them end by `deadline` (a timeout naming the stage and the budget).
fn open_until(
    account: &SmtpAccount,
    creds: &dyn CredentialProvider,
    options: &SmtpOptions,
    deadline: Option<OpDeadline>,
) -> Result<(SmtpConnection, Option<TlsInfo>), ConnectionError> {
    let settings = account.connection();
    let timeouts = within(&options.timeouts, deadline);
    let (mut stream, tls) = net::connect(settings, creds, &timeouts).map_err(|e| {
        let e = e.context("SMTP");
        match deadline {
            Some(d) if e.is_timeout() && d.expired() => {
                d.exceeded().error("connecting").context("SMTP")
            }
            _ => e,
        }
    })?;
    stream.set_deadline(deadline);
    let encrypted = tls.is_some();
    let client = SmtpClient::connect(stream, options.client_config(), encrypted)
        .map_err(|e| e.context(label(account)))?;
    match settings.security {
        Security::StartTls => {
            let mut info = None;
            let client = client
                .starttls(net::starttls_upgrade(settings, &timeouts, &mut info))
                .map_err(|e| e.context(label(account)))?;
            Ok((client, info))
        }
        _ => Ok((client, tls)),
    }
}

/// [`open`], then AUTH when the account uses authentication.
pub fn connect(
    account: &SmtpAccount,
    creds: &dyn CredentialProvider,
    options: &SmtpOptions,
) -> Result<SmtpConnection, ConnectionError> {
    connect_until(account, creds, options, None)
}

/// [`connect`] under an operation's deadline (see [`open_until`]); the deadline stays on the
/// connection.
pub(crate) fn connect_until(
    account: &SmtpAccount,
    creds: &dyn CredentialProvider,
    options: &SmtpOptions,
    deadline: Option<OpDeadline>,
) -> Result<SmtpConnection, ConnectionError> {
    let credential = account_credential(account, creds)?;
    let (mut client, _) = open_until(account, creds, options, deadline)?;
    if let Some(c) = &credential {
        match client.authenticate(c) {
            Ok(()) => {}
            // An OAuth2 token refused: the provider drops it, and one retry gets a fresh one.
            Err(e)
                if e.is_auth() && account.credential().is_some_and(|id| creds.refused(id, c)) =>
            {
                close(client);
                let c =
                    account_credential(account, creds)?.ok_or_else(|| e.context(label(account)))?;
                let (mut again, _) = open_until(account, creds, options, deadline)?;
                again
                    .authenticate(&c)
                    .map_err(|e| e.context(label(account)))?;
                return Ok(again);
            }
            Err(e) => return Err(e.context(label(account))),
        }
    }
    Ok(client)
}

/// Ends a session politely (QUIT) and closes the stream; errors are of no interest then.
pub(crate) fn close(client: SmtpConnection) {
    if let Ok(mut stream) = client.quit() {
        let _ = stream.shutdown();
    }
}

fn send_on(
    client: &mut SmtpConnection,
    account: &SmtpAccount,
    composed: &ComposedMessage,
) -> Result<SendReport, ConnectionError> {
    let mut report = client
        .send(&composed.envelope, &composed.data)
        .map_err(|e| {
            let e = e.context(label(account));
            if e.is_outcome_unknown() {
                // Names the message, so that the host can look for it before resending.
                let id = summarize_text(&composed.message_id);
                e.context(format!("message {id}"))
            } else {
                e
            }
        })?;
    report.message_id = Some(composed.message_id.clone());
    Ok(report)
}

/// Sends one message through the account (see [`compose`] for the account's rules).
pub fn send(
    account: &SmtpAccount,
    creds: &dyn CredentialProvider,
    message: &OutgoingMessage,
    options: &SmtpOptions,
) -> Result<SendReport, ConnectionError> {
    ensure_enabled(account)?;
    let composed = compose(account, message)?;
    send_composed(account, creds, &composed, options)
}

/// Sends a message already composed (or raw bytes with their envelope).
pub fn send_composed(
    account: &SmtpAccount,
    creds: &dyn CredentialProvider,
    composed: &ComposedMessage,
    options: &SmtpOptions,
) -> Result<SendReport, ConnectionError> {
    ensure_enabled(account)?;
    let deadline = options.timeouts.send_deadline(composed.data.len() as u64);
    let mut client = connect_until(account, creds, options, Some(deadline))?;
    let result = send_on(&mut client, account, composed);
    close(client);
    result
}

/// Sends raw message bytes with an explicit envelope (no account rules applied: the bytes go
/// as they are, dot-stuffed).
pub fn send_raw(
    account: &SmtpAccount,
    creds: &dyn CredentialProvider,
    envelope: &Envelope,
    data: &[u8],
    options: &SmtpOptions,
) -> Result<SendReport, ConnectionError> {
    ensure_enabled(account)?;
    let deadline = options.timeouts.send_deadline(data.len() as u64);
    let mut client = connect_until(account, creds, options, Some(deadline))?;
    let result = client
        .send(envelope, data)
        .map_err(|e| e.context(label(account)));
    close(client);
    result
}

/// Sends several messages over one connection, with RSET between them; a connection that
/// breaks is replaced for the messages after it. One result per message, in order.
pub fn send_many(
    account: &SmtpAccount,
    creds: &dyn CredentialProvider,
    messages: &[OutgoingMessage],
    options: &SmtpOptions,
) -> Vec<Result<SendReport, ConnectionError>> {
    if !account.enabled() {
        return messages.iter().map(|_| Err(disabled(account))).collect();
    }
    let mut client: Option<SmtpConnection> = None;
    let mut results = Vec::with_capacity(messages.len());
    for message in messages {
        let composed = match compose(account, message) {
            Ok(c) => c,
            Err(e) => {
                results.push(Err(e));
                continue;
            }
        };
        // Each message has its own budget, from its RSET (or connection) to its final reply.
        let deadline = options.timeouts.send_deadline(composed.data.len() as u64);
        let reused = client.take().and_then(|mut c| {
            c.stream_mut().set_deadline(Some(deadline));
            if c.is_usable() && c.rset().is_ok() {
                Some(c)
            } else {
                None
            }
        });
        let mut current = match reused {
            Some(c) => c,
            None => match connect_until(account, creds, options, Some(deadline)) {
                Ok(c) => c,
                Err(e) => {
                    results.push(Err(e));
                    continue;
                }
            },
        };
        results.push(send_on(&mut current, account, &composed));
        if current.is_usable() {
            current.stream_mut().set_deadline(None);
            client = Some(current);
        }
    }
    if let Some(mut c) = client {
        c.stream_mut()
            .set_deadline(Some(options.timeouts.send_deadline(0)));
        close(c);
    }
    results
}

/// "Test configuration" (seed 004): sends the test message to `send_to`, with `subject` and
/// `message` or the defaults [`TEST_SUBJECT`] and [`TEST_MESSAGE`]. The account's rules apply
/// (sender, Reply-To, Return-Path, read receipt, footer).
pub fn send_test(
    account: &SmtpAccount,
    creds: &dyn CredentialProvider,
    send_to: &str,
    subject: Option<&str>,
    message: Option<&str>,
    options: &SmtpOptions,
) -> Result<SendReport, ConnectionError> {
    send(
        account,
        creds,
        &OutgoingMessage::test_message(send_to, subject, message),
        options,
    )
}

#[cfg(test)]
mod tests;
