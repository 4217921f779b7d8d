//! Sending mail through the store's SMTP accounts: the application's notifications and the
//! "Test configuration" message (seed 004), delegated to the core's SMTP client.
//!
//! Every send is an `async` function (Kotlin `suspend`, Swift `async`): the blocking core call
//! runs on a thread of its own, bounded by the mailer's timeouts.

use crate::blocking::run_blocking;
use crate::credentials::{CredentialProvider, HostCredentials};
use crate::error::{MailSettingsError, Result};
use crate::store::Store;
use mail_settings_core as mscore;
use mail_settings_core::net::Timeouts;
use mail_settings_core::smtp::{self, SmtpOptions};
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
            }
        }
    }
}

/// The account `account_id`, or the default SMTP account when it is empty.
pub(crate) fn smtp_account(
    store: &mscore::store::Store,
    account_id: Option<i64>,
) -> Result<mscore::SmtpAccount> {
    match account_id {
        Some(id) => Ok(store.smtp_account(id)?),
        None => store
            .default_smtp_account()?
            .ok_or_else(|| MailSettingsError::NotFound {
                detail: "no SMTP account was named and no SMTP account is the default account"
                    .to_owned(),
            }),
    }
}

/// Sends mail through the store's SMTP accounts, with credentials from the host's provider.
#[derive(uniffi::Object)]
pub struct Mailer {
    store: Arc<mscore::store::Store>,
    credentials: Arc<dyn mscore::CredentialProvider>,
    options: SmtpOptions,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("store", &self.store)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    async fn run<T: Send + 'static>(
        &self,
        name: &str,
        work: impl FnOnce(
                &mscore::store::Store,
                &dyn mscore::CredentialProvider,
                &SmtpOptions,
            ) -> Result<T>
            + Send
            + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        let creds = self.credentials.clone();
        let options = self.options.clone();
        run_blocking(name, move || work(&store, creds.as_ref(), &options)).await
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
            store: store.inner.clone(),
            credentials: HostCredentials::wrap(credentials),
            options: SmtpOptions::with_timeouts(self::timeouts(timeouts)),
        })
    }

    /// "Test configuration" (seed 004): sends the test message to `send_to` through account
    /// `account_id` (the default SMTP account when empty), with `subject` and `message` or the
    /// defaults `MENSAGEM DE TESTE!` and `ATENÇÃO: ESTA É UMA MENSAGEM DE TESTE!`. Throws
    /// `Auth`, `Tls`, `Certificate`, `Connect`, `Proxy`, `Timeout`, `Protocol`, `NotFound`...
    #[uniffi::method(default(account_id = None, subject = None, message = None))]
    pub async fn send_test(
        &self,
        send_to: String,
        account_id: Option<i64>,
        subject: Option<String>,
        message: Option<String>,
    ) -> Result<SendReport> {
        self.run("send-test", move |store, creds, options| {
            let account = smtp_account(store, account_id)?;
            let report = smtp::send_test(
                &account,
                creds,
                &send_to,
                subject.as_deref(),
                message.as_deref(),
                options,
            )?;
            Ok(report.into())
        })
        .await
    }

    /// Sends `message` through account `account_id` (the default SMTP account when empty).
    #[uniffi::method(default(account_id = None))]
    pub async fn send(
        &self,
        message: OutgoingMessage,
        account_id: Option<i64>,
    ) -> Result<SendReport> {
        self.run("send", move |store, creds, options| {
            let account = smtp_account(store, account_id)?;
            Ok(smtp::send(&account, creds, &message.into(), options)?.into())
        })
        .await
    }
}
