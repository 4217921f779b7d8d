//! Sending mail through the store's SMTP accounts: the application's notifications and the
//! "Test configuration" message (seed 004), delegated to the core's SMTP client.
//!
//! Every send is an `async` function (Kotlin `suspend`, Swift `async`): the blocking core call
//! runs on a thread of its own, bounded by the mailer's timeouts.
//!
//! [`Mailer`] opens a session per call (`send_many`: one session for the whole list).
//! [`SmtpPool`] keeps sessions to one account open between calls and shares them between
//! coroutines or tasks, as the core's `smtp::SmtpPool` (which it wraps) does between threads.

use crate::account::{core_ref, AccountRef};
use crate::blocking::run_blocking;
use crate::credentials::{CredentialProvider, HostCredentials};
use crate::error::{MailSettingsError, Result};
use crate::store::Store;
use mail_settings_core as mscore;
use mail_settings_core::app::{AppOptions, MailSettings};
use mail_settings_core::net::Timeouts;
use mail_settings_core::smtp::{self, PoolConfig};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A header line of an outgoing message (only the headers the core allows are sent).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MessageHeader {
    /// The header name, e.g. `X-Ticket`.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// A file attached to an outgoing message.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MessageAttachment {
    /// The file name shown to the recipient.
    pub filename: String,
    /// The MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// The content.
    pub content: Vec<u8>,
}

/// A message to send. The account's rules apply: its sender, Reply-To and Return-Path fill
/// what is left empty (or replace everything when it forces its configuration), its footer is
/// appended, its read receipt asked for.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct OutgoingMessage {
    /// `To` recipients.
    pub to: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    #[uniffi(default = None)]
    pub text: Option<String>,
    /// HTML body.
    #[uniffi(default = None)]
    pub html: Option<String>,
    /// `Cc` recipients.
    #[uniffi(default = [])]
    pub cc: Vec<String>,
    /// Blind recipients: in the envelope, never in the headers.
    #[uniffi(default = [])]
    pub bcc: Vec<String>,
    /// `From`; the account's sender when empty.
    #[uniffi(default = None)]
    pub from: Option<String>,
    /// `Reply-To`; the account's when empty.
    #[uniffi(default = None)]
    pub reply_to: Option<String>,
    /// The envelope sender (bounces); the account's when empty.
    #[uniffi(default = None)]
    pub return_path: Option<String>,
    /// Attachments.
    #[uniffi(default = [])]
    pub attachments: Vec<MessageAttachment>,
    /// Extra headers.
    #[uniffi(default = [])]
    pub headers: Vec<MessageHeader>,
}

impl From<OutgoingMessage> for smtp::OutgoingMessage {
    fn from(m: OutgoingMessage) -> Self {
        let mut out = smtp::OutgoingMessage::new();
        out.to = m.to;
        out.cc = m.cc;
        out.bcc = m.bcc;
        out.from = m.from;
        out.reply_to = m.reply_to;
        out.return_path = m.return_path;
        out.subject = m.subject;
        out.text = m.text;
        out.html = m.html;
        out.attachments = m
            .attachments
            .into_iter()
            .map(|a| smtp::Attachment::new(a.filename, a.content_type, a.content))
            .collect();
        out.headers = m.headers.into_iter().map(|h| (h.name, h.value)).collect();
        out
    }
}

/// A recipient the server refused.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct RejectedRecipient {
    /// The address.
    pub address: String,
    /// The server's reply to its RCPT TO (code and text).
    pub reply: String,
}

/// What happened to a message the server took.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SendReport {
    /// Recipients the server accepted.
    pub accepted: Vec<String>,
    /// Recipients the server refused.
    pub rejected: Vec<RejectedRecipient>,
    /// The server's reply to the end of DATA (usually with its queue id).
    pub server_reply: String,
    /// The message's `Message-ID` header.
    pub message_id: Option<String>,
}

impl From<smtp::SendReport> for SendReport {
    fn from(r: smtp::SendReport) -> Self {
        SendReport {
            accepted: r.accepted,
            rejected: r
                .rejected
                .into_iter()
                .map(|x| RejectedRecipient {
                    address: x.address,
                    reply: x.reply.to_string(),
                })
                .collect(),
            server_reply: r.reply.to_string(),
            message_id: r.message_id,
        }
    }
}

/// What happened to one message of a list: sent, or the error that stopped it (the others are
/// sent all the same).
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum SendOutcome {
    /// The server took the message.
    Sent { report: SendReport },
    /// The message was not sent; `error` says why (`Auth`, `Protocol` with the server's
    /// `replyCode`, `Timeout`...).
    Failed { error: MailSettingsError },
    /// The message was sent whole and no final reply came: it may have been delivered. It is
    /// not resent (neither here nor by the pool); do not resend it blindly either. `error` is
    /// the `OutcomeUnknown` error, naming the server and the Message-ID.
    Unknown { error: MailSettingsError },
}

fn outcomes(results: Vec<Result<smtp::SendReport, mscore::ConnectionError>>) -> Vec<SendOutcome> {
    results
        .into_iter()
        .map(|r| match r {
            Ok(report) => SendOutcome::Sent {
                report: report.into(),
            },
            Err(e) if e.is_outcome_unknown() => SendOutcome::Unknown { error: e.into() },
            Err(e) => SendOutcome::Failed { error: e.into() },
        })
        .collect()
}

/// Timeouts for a connection: `connect_secs` bounds name resolution and each TCP connect,
/// `io_secs` each read and write (and a whole proxy or TLS handshake).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
pub struct NetworkTimeouts {
    /// Seconds to resolve and connect (default 15).
    #[uniffi(default = 15)]
    pub connect_secs: u32,
    /// Seconds for each read or write (default 60).
    #[uniffi(default = 60)]
    pub io_secs: u32,
}

/// The core's timeouts for `t`, or its defaults.
pub(crate) fn timeouts(t: Option<NetworkTimeouts>) -> Timeouts {
    match t {
        None => Timeouts::default(),
        Some(t) => {
            let io = Duration::from_secs(u64::from(t.io_secs.max(1)));
            Timeouts {
                connect: Duration::from_secs(u64::from(t.connect_secs.max(1))),
                read: io,
                write: io,
                ..Timeouts::default()
            }
        }
    }
}

/// The core's application layer over `store` with the host's `credentials` and `timeouts`:
/// every use case of these bindings goes through it.
pub(crate) fn app(
    store: &Store,
    credentials: Arc<dyn CredentialProvider>,
    timeouts: Option<NetworkTimeouts>,
) -> MailSettings {
    MailSettings::new(
        store.inner.clone(),
        HostCredentials::wrap(credentials),
        AppOptions::with_timeouts(self::timeouts(timeouts)),
    )
}

/// Sends mail through the store's SMTP accounts, with credentials from the host's provider.
#[derive(Debug, uniffi::Object)]
pub struct Mailer {
    app: MailSettings,
}

impl Mailer {
    async fn run<T: Send + 'static>(
        &self,
        name: &str,
        work: impl FnOnce(&MailSettings) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let app = self.app.clone();
        run_blocking(name, move || work(&app)).await
    }
}

#[uniffi::export]
impl Mailer {
    /// A mailer over `store`'s SMTP accounts. `timeouts` bound every network step (default:
    /// connect 15 s, read and write 60 s).
    #[uniffi::constructor(default(timeouts = None))]
    pub fn new(
        store: Arc<Store>,
        credentials: Arc<dyn CredentialProvider>,
        timeouts: Option<NetworkTimeouts>,
    ) -> Arc<Self> {
        Arc::new(Self {
            app: app(&store, credentials, timeouts),
        })
    }

    /// "Test configuration" (seed 004): sends the test message to `send_to` through
    /// `account` (the default SMTP account when empty), with `subject` and `message` or the
    /// defaults `MENSAGEM DE TESTE!` and `ATENÇÃO: ESTA É UMA MENSAGEM DE TESTE!`. Throws
    /// `Auth`, `Tls`, `Certificate`, `Connect`, `Proxy`, `Timeout`, `Protocol`, `NotFound`,
    /// `NoDefault`...
    #[uniffi::method(default(account = None, subject = None, message = None))]
    pub async fn send_test(
        &self,
        send_to: String,
        account: Option<AccountRef>,
        subject: Option<String>,
        message: Option<String>,
    ) -> Result<SendReport> {
        self.run("send-test", move |app| {
            let (_, report) = app.send_test(
                &core_ref(account),
                &send_to,
                subject.as_deref(),
                message.as_deref(),
            )?;
            Ok(report.into())
        })
        .await
    }

    /// Sends `message` through `account` (the default SMTP account when empty).
    #[uniffi::method(default(account = None))]
    pub async fn send(
        &self,
        message: OutgoingMessage,
        account: Option<AccountRef>,
    ) -> Result<SendReport> {
        self.run("send", move |app| {
            Ok(app.send(&core_ref(account), &message.into())?.into())
        })
        .await
    }

    /// Sends `messages` over one session (RSET between them; a session that breaks is
    /// replaced for the messages after it) through `account` (the default SMTP account when
    /// empty). One outcome per message, in order. Throws only when the account
    /// cannot be resolved (`NotFound`, `NoDefault`).
    #[uniffi::method(default(account = None))]
    pub async fn send_many(
        &self,
        messages: Vec<OutgoingMessage>,
        account: Option<AccountRef>,
    ) -> Result<Vec<SendOutcome>> {
        self.run("send-many", move |app| {
            let messages: Vec<smtp::OutgoingMessage> =
                messages.into_iter().map(Into::into).collect();
            Ok(outcomes(app.send_many(&core_ref(account), &messages)?))
        })
        .await
    }
}

/// Limits of an [`SmtpPool`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PoolLimits {
    /// Most sessions kept open between messages (default 4).
    #[uniffi(default = 4)]
    pub max_idle: u32,
    /// Seconds a session may stay idle and still be reused (default 60).
    #[uniffi(default = 60)]
    pub idle_timeout_secs: u32,
    /// Most sessions open at once, in use or idle (default 10; 0 is taken as 1).
    #[uniffi(default = 10)]
    pub max_open: u32,
    /// Seconds a message waits for a session when `max_open` are in use; then it throws
    /// `Timeout` (default 60).
    #[uniffi(default = 60)]
    pub wait_timeout_secs: u32,
}

impl From<PoolLimits> for PoolConfig {
    fn from(l: PoolLimits) -> Self {
        let mut config = PoolConfig::with_max_idle(l.max_idle as usize)
            .max_open(l.max_open as usize)
            .wait_timeout(Duration::from_secs(u64::from(l.wait_timeout_secs)));
        config.idle_timeout = Duration::from_secs(u64::from(l.idle_timeout_secs));
        config
    }
}

/// Sessions to one SMTP account, kept open and reused (RSET between messages), shared by every
/// coroutine or task that holds it: an application that sends many notifications keeps one per
/// account. The account is read from the store when the pool is made; make a new pool after
/// the account is edited.
#[derive(uniffi::Object)]
pub struct SmtpPool {
    inner: Arc<smtp::SmtpPool>,
}

impl fmt::Debug for SmtpPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl SmtpPool {
    async fn run<T: Send + 'static>(
        &self,
        name: &str,
        work: impl FnOnce(&smtp::SmtpPool) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let pool = self.inner.clone();
        run_blocking(name, move || work(&pool)).await
    }
}

#[uniffi::export]
impl SmtpPool {
    /// A pool for `account` of `store` (the default SMTP account when empty).
    /// Nothing is opened until the first message. Throws `NotFound` for an unknown account and
    /// `Protocol` for a disabled one.
    #[uniffi::constructor(default(account = None, timeouts = None, limits = None))]
    pub fn new(
        store: Arc<Store>,
        credentials: Arc<dyn CredentialProvider>,
        account: Option<AccountRef>,
        timeouts: Option<NetworkTimeouts>,
        limits: Option<PoolLimits>,
    ) -> Result<Arc<Self>> {
        let config = limits.map(PoolConfig::from).unwrap_or_default();
        let pool = app(&store, credentials, timeouts).smtp_pool(&core_ref(account), config)?;
        Ok(Arc::new(Self {
            inner: Arc::new(pool),
        }))
    }

    /// Sends `message` over an idle session, or a new one.
    pub async fn send(&self, message: OutgoingMessage) -> Result<SendReport> {
        self.run("pool-send", move |pool| {
            Ok(pool.send(&message.into())?.into())
        })
        .await
    }

    /// Sends `messages` one after another over the pool's sessions. One outcome per message,
    /// in order.
    pub async fn send_many(&self, messages: Vec<OutgoingMessage>) -> Vec<SendOutcome> {
        self.run("pool-send-many", move |pool| {
            let messages: Vec<smtp::OutgoingMessage> =
                messages.into_iter().map(Into::into).collect();
            Ok(outcomes(pool.send_many(&messages)))
        })
        .await
        .unwrap_or_else(|e| vec![SendOutcome::Failed { error: e }])
    }

    /// Asks every idle session for NOOP and closes those that do not answer or have been idle
    /// too long; returns how many are left.
    pub async fn check_idle(&self) -> u64 {
        self.run("pool-check-idle", |pool| Ok(pool.check_idle() as u64))
            .await
            .unwrap_or(0)
    }

    /// Closes the idle sessions (QUIT, waiting at most 2 s for each answer); the pool stays
    /// usable and opens new sessions as messages need them.
    pub async fn close_idle(&self) {
        let _ = self
            .run("pool-close-idle", |pool| {
                pool.close_idle();
                Ok(())
            })
            .await;
    }

    /// Sessions open and waiting for a message.
    pub fn idle_connections(&self) -> u64 {
        self.inner.idle_connections() as u64
    }

    /// Sessions open, in use or idle (at most `maxOpen`).
    pub fn open_connections(&self) -> u64 {
        self.inner.open_connections() as u64
    }

    /// Sessions opened since the pool was made.
    pub fn connections_opened(&self) -> u64 {
        self.inner.connections_opened()
    }

    /// Messages sent over a session that was already open.
    pub fn connections_reused(&self) -> u64 {
        self.inner.connections_reused()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_limits_become_the_core_config() {
        let c = PoolConfig::from(PoolLimits {
            max_idle: 2,
            idle_timeout_secs: 30,
            max_open: 3,
            wait_timeout_secs: 5,
        });
        assert_eq!(c.max_idle, 2);
        assert_eq!(c.idle_timeout, Duration::from_secs(30));
        assert_eq!(c.max_open, 3);
        assert_eq!(c.wait_timeout, Duration::from_secs(5));
    }

    #[test]
    fn each_result_becomes_its_outcome_in_order() {
        let refused = mscore::ConnectionError::new(mscore::ErrorCategory::Protocol, "refused")
            .with_reply(550, Some("5.1.1"));
        let out = outcomes(vec![Err(refused)]);
        match &out[..] {
            [SendOutcome::Failed {
                error:
                    MailSettingsError::Protocol {
                        reply_code,
                        enhanced_code,
                        ..
                    },
            }] => {
                assert_eq!(*reply_code, Some(550));
                assert_eq!(enhanced_code.as_deref(), Some("5.1.1"));
            }
            other => panic!("{other:?}"),
        }
    }
}
