//! Reading an IMAP mailbox: what the mail collector and the connection check need, behind our
//! own small interface.
//!
//! ## Why a wrapper
//! The protocol work is done by the `imap` crate, pinned at `=3.0.0-alpha.15` with its default
//! features off (it then has no TLS of its own). Only this module touches it, through
//! [`ImapClient`] (before login) and [`ImapSession`] (after), which speak in our own types
//! ([`ImapCapabilities`], [`MailboxInfo`], [`FetchedMessage`], [`ConnectionError`]), so the
//! crate can be replaced without touching the collector or the connection check.
//!
//! ## What this module does itself
//! - **STARTTLS**: with its TLS features off the crate has no STARTTLS, and its command runner
//!   is private before login. We read the greeting and ask CAPABILITY through the crate, take
//!   the stream back, send `STARTTLS` ourselves and check that the server sent nothing more
//!   before the handshake (bytes sent then would be read as if they came over TLS), then
//!   upgrade with [`MailStream::upgrade_to_tls`] and give the TLS stream to a new crate client.
//!   A server that does not offer STARTTLS fails the connection with [`ErrorCategory::Tls`]
//!   before any credential is sent: never a fallback to clear text.
//! - **UIDs only**: messages are addressed by UID (`UID FETCH`, `UID STORE`, `UID EXPUNGE`),
//!   never by sequence number, which changes when other clients expunge. Bodies are fetched with
//!   `BODY.PEEK[]`, which does not set `\Seen`.
//! - **Fetching** (`UID FETCH`, for bodies, sizes, flags and the UID list) is read by our own
//!   reader (the `fetch` module): each `* n FETCH` is handed over as soon as it is complete,
//!   bodies are kept up to a limit (the account's `max_message_size` for the collector,
//!   [`MAX_LITERAL`] otherwise) or drained without being kept, untagged responses nobody asked
//!   for are dropped as they are read. Memory holds one message, whatever the batch size. The
//!   crate's parser would instead read a literal line by line, parse the response again after
//!   each line and keep the whole response.
//! - **Checked fetch**: [`ImapSession::uid_fetch_checked`] hands a body over as the message
//!   only when it carries a UID asked for, once, with as many bytes as its `RFC822.SIZE` and
//!   its listed size; every UID it cannot vouch for is protected: the session never marks it
//!   `\Deleted` nor expunges it.
//! - **A session out of step is abandoned**: when a response cannot be read to its end (a
//!   malformed literal, a line too long, the deadline), nothing more is sent; later calls fail
//!   naming that first error, and [`ImapSession::logout`] closes without a word, so a run ends
//!   with what happened, not with "connection failed while logging out".
//! - **No blind EXPUNGE**: [`ImapSession::uid_expunge`] needs UIDPLUS (RFC 4315); without it the
//!   call is refused, since a plain EXPUNGE would also remove messages another client marked
//!   `\Deleted`. [`ImapSession::uid_move`] (the archive folder) uses `UID MOVE` (RFC 6851),
//!   else `UID COPY` + `\Deleted` + `UID EXPUNGE`, else copy and `\Deleted` only.
//! - **Folder names** ([`folders`]): users write `Support/Tier 2`; [`ImapSession::folder_map`]
//!   asks the server for its personal namespace (`NAMESPACE`, RFC 2342) and, where offered,
//!   enables `UTF8=ACCEPT` (RFC 6855); [`FolderMap`] then writes the server's spelling
//!   (separator, prefix such as Courier's `INBOX.`, modified UTF-7). `NAMESPACE` and `ENABLE`,
//!   which the crate cannot parse, are read by our own bounded reader.
//! - **IDLE** (RFC 2177, [`ImapSession::idle`]) on our own reader too: one blocking read until
//!   the server reports new mail or the period ends, `DONE` as keepalive, and an [`IdleStop`]
//!   that ends the wait from another thread at once (see the `idle` module).
//!
//!
//! ## Bounds
//! Everything the server sends is read through one [`BoundedReader`](crate::net::BoundedReader)
//! (64 KiB buffer), shared by the crate and our fetch reader:
//! - a line handed to the crate is at most [`MAX_CRATE_LINE`] (64 KiB), and everything it is
//!   handed in answer to one command (or as the greeting) at most [`MAX_CRATE_RESPONSE`]
//!   (8 MiB): a 200 MB greeting without a line end, or an endless flood of untagged responses
//!   during SELECT, is refused there ([`ErrorCategory::Protocol`]);
//! - a piece of response line read by our fetch reader is at most [`MAX_RESPONSE_LINE`]
//!   (64 KiB), a body kept at most the caller's limit; larger bodies are drained;
//! - every read and write is bounded by the stream's timeouts ([`Timeouts`]) and by the
//!   operation's deadline ([`ImapOptions::deadline`], [`ImapSession::set_deadline`]): an
//!   endless but slow stream ends with [`ErrorCategory::Timeout`] naming the stage and budget.
//!
//! ## Why the `imap` crate stays
//! The project's guide chose it, and bounding it proved possible: it only ever reads through
//! our `Tap` (one line per read, line and response budgets above, the deadline on
//! the stream), and the session drains its queue of unsolicited responses after every command,
//! so what it holds is bounded by one response budget. What it cannot do within bounds (bodies,
//! and answers whose size grows with the mailbox: the UID list, sizes, flags) goes through our
//! own fetch reader instead; `UID SEARCH`, whose answer is one line of any length, is not used.
//!
//! Credentials are never logged nor echoed in errors.

mod client;
mod fetch;
pub mod folders;
mod idle;
mod response;
mod session;
mod simple;
#[cfg(test)]
mod tests;

pub use client::ImapClient;
pub use fetch::Fetched;
pub use folders::{FolderMap, FolderNameError};
pub use idle::{IdleEvent, IdleStop};
pub use response::{MAX_CRATE_LINE, MAX_CRATE_RESPONSE};
pub use session::{ImapSession, Moved};

use crate::credentials::CredentialProvider;
use crate::error::{ConnectionError, ErrorCategory};
use crate::model::{Protocol, Security};
use crate::net::{self, MailStream, OpDeadline, Timeouts, TlsInfo};
use crate::typed::IncomingAccount;
use std::collections::BTreeSet;
use std::fmt;

/// Longest line accepted during our STARTTLS exchange.
const MAX_LINE: usize = 8192;
/// The tag of our own STARTTLS command (the crate numbers its tags `a1`, `a2`, …).
const STARTTLS_TAG: &str = "ms1";
/// The prefix of the tags of our own `UID FETCH` commands (`msf1`, `msf2`, …).
const FETCH_TAG_PREFIX: &str = "msf";
/// Longest piece of a response line (between literals) our fetch reader accepts.
pub const MAX_RESPONSE_LINE: usize = 64 * 1024;
/// Largest literal (a message body) [`ImapSession::uid_fetch`] keeps; the collector keeps at
/// most the account's `max_message_size` and drains anything larger without keeping it.
pub const MAX_LITERAL: usize = 1 << 30;
/// Deepest nesting of parenthesised lists skipped in a FETCH response.
const MAX_DEPTH: usize = 32;

/// How to connect and fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImapOptions {
    /// Bounds of connecting, reading and writing.
    pub timeouts: Timeouts,
    /// Most messages asked for in one `UID FETCH` of bodies (default 20). Memory does not
    /// depend on it: each message is handed over as soon as it has arrived.
    pub fetch_batch: usize,
    /// The deadline of the whole operation (a check, a collector run), set on the stream as soon
    /// as it is open, so that the greeting and everything after it are bounded by it.
    pub deadline: Option<OpDeadline>,
}

impl Default for ImapOptions {
    fn default() -> Self {
        Self {
            timeouts: Timeouts::default(),
            fetch_batch: 20,
            deadline: None,
        }
    }
}

impl ImapOptions {
    /// Defaults with these timeouts.
    pub fn with_timeouts(timeouts: Timeouts) -> Self {
        Self {
            timeouts,
            ..Self::default()
        }
    }
}

/// What the server says it can do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImapCapabilities {
    /// Upper-cased, e.g. `IMAP4REV1`, `STARTTLS`, `AUTH=PLAIN`, `UIDPLUS`.
    items: Vec<String>,
}

impl ImapCapabilities {
    /// From capability words (for fakes and tests).
    pub fn from_words<I: IntoIterator<Item = S>, S: AsRef<str>>(words: I) -> Self {
        let mut items: Vec<String> = Vec::new();
        for w in words {
            let w = w.as_ref().to_ascii_uppercase();
            if !w.is_empty() && !items.contains(&w) {
                items.push(w);
            }
        }
        Self { items }
    }

    fn from_crate(caps: &::imap::types::Capabilities) -> Self {
        Self::from_words(caps.iter().map(|c| match c {
            imap_proto::types::Capability::Imap4rev1 => "IMAP4rev1".to_owned(),
            imap_proto::types::Capability::Auth(m) => format!("AUTH={m}"),
            imap_proto::types::Capability::Atom(a) => a.to_string(),
            #[allow(unreachable_patterns)]
            other => format!("{other:?}"),
        }))
    }

    /// Whether `word` is listed (case-insensitive), e.g. `has("UIDPLUS")`.
    pub fn has(&self, word: &str) -> bool {
        self.items.iter().any(|i| i.eq_ignore_ascii_case(word))
    }

    /// STARTTLS offered.
    pub fn starttls(&self) -> bool {
        self.has("STARTTLS")
    }

    /// LOGINDISABLED: the server refuses LOGIN (usually until STARTTLS).
    pub fn login_disabled(&self) -> bool {
        self.has("LOGINDISABLED")
    }

    /// UIDPLUS (RFC 4315): `UID EXPUNGE` is available.
    pub fn uidplus(&self) -> bool {
        self.has("UIDPLUS")
    }

    /// The SASL mechanisms of the `AUTH=` capabilities, upper-cased.
    pub fn auth_mechanisms(&self) -> Vec<String> {
        self.items
            .iter()
            .filter_map(|i| i.strip_prefix("AUTH=").map(str::to_owned))
            .collect()
    }

    /// Every capability, upper-cased, in the server's order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(String::as_str)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// None at all.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A mailbox in the server's list.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxName {
    /// Its name, as the server spells it (modified UTF-7 for non-ASCII names).
    pub name: String,
    /// The hierarchy delimiter, if any.
    pub delimiter: Option<String>,
    /// Attributes such as `\Noselect`, `\HasChildren`, `\Sent`.
    pub attributes: Vec<String>,
}

impl MailboxName {
    /// Whether it can be selected (no `\Noselect`).
    pub fn selectable(&self) -> bool {
        !self.attributes.iter().any(|a| {
            a.eq_ignore_ascii_case("\\Noselect") || a.eq_ignore_ascii_case("\\NonExistent")
        })
    }
}

/// A selected mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxInfo {
    /// The name it was selected by.
    pub name: String,
    /// Messages in it.
    pub exists: u32,
    /// UIDVALIDITY: when it changes, every UID seen before is meaningless.
    pub uid_validity: Option<u32>,
    /// The UID the next message will get (at least).
    pub uid_next: Option<u32>,
    /// Selected read-only (EXAMINE, or the server said so).
    pub read_only: bool,
}

/// A message's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageSize {
    /// Its UID.
    pub uid: u32,
    /// RFC822.SIZE in bytes.
    pub size: u32,
}

/// A message's flags.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageFlags {
    /// Its UID.
    pub uid: u32,
    /// Flags such as `\Seen`, `\Deleted`.
    pub flags: Vec<String>,
}

impl MessageFlags {
    /// Whether `flag` (e.g. `\Seen`) is set.
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f.eq_ignore_ascii_case(flag))
    }
}

/// A fetched message.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchedMessage {
    /// Its UID.
    pub uid: u32,
    /// RFC822.SIZE as the server reported it.
    pub size: Option<u32>,
    /// The whole message as stored (`BODY[]`), byte for byte.
    pub raw: Vec<u8>,
}

impl fmt::Debug for FetchedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchedMessage")
            .field("uid", &self.uid)
            .field("size", &self.size)
            .field("bytes", &self.raw.len())
            .finish()
    }
}

/// Count and total size of a mailbox, for connection checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxStats {
    /// Messages.
    pub messages: u32,
    /// Sum of their RFC822.SIZE, in bytes.
    pub total_size: u64,
}

fn protocol(message: impl Into<String>) -> ConnectionError {
    ConnectionError::new(ErrorCategory::Protocol, message)
}

/// Server text made safe for a message.
fn clean(text: &str) -> String {
    crate::smtp::summarize_text(text)
}

/// A compact UID set (`1:5,7,9:10`) from UIDs in any order; `None` when empty.
pub(crate) fn uid_set(uids: &[u32]) -> Option<String> {
    let sorted: BTreeSet<u32> = uids.iter().copied().filter(|u| *u > 0).collect();
    let mut out = String::new();
    let mut iter = sorted.into_iter();
    let first = iter.next()?;
    let (mut start, mut end) = (first, first);
    let push = |out: &mut String, s: u32, e: u32| {
        if !out.is_empty() {
            out.push(',');
        }
        if s == e {
            out.push_str(&s.to_string());
        } else {
            out.push_str(&format!("{s}:{e}"));
        }
    };
    for u in iter {
        if end.checked_add(1) == Some(u) {
            end = u;
        } else {
            push(&mut out, start, end);
            start = u;
            end = u;
        }
    }
    push(&mut out, start, end);
    Some(out)
}

fn label(account: &IncomingAccount) -> String {
    format!("IMAP {}", account.connection().endpoint)
}

fn ensure_imap(account: &IncomingAccount) -> Result<(), ConnectionError> {
    if account.protocol() == Protocol::Imap {
        Ok(())
    } else {
        Err(ConnectionError::new(
            ErrorCategory::Validation,
            format!("account \"{}\" is not an IMAP account", account.name()),
        ))
    }
}

/// Opens a connection as the account says, up to and including STARTTLS: greeting read, not
/// logged in. For connection checks, which report each stage. With `Security::StartTls` a
/// server without STARTTLS is an [`ErrorCategory::Tls`] error and nothing more is sent.
pub fn open(
    account: &IncomingAccount,
    creds: &dyn CredentialProvider,
    options: &ImapOptions,
) -> Result<(ImapClient<MailStream>, Option<TlsInfo>), ConnectionError> {
    ensure_imap(account)?;
    let settings = account.connection();
    let (mut stream, tls) =
        net::connect(settings, creds, &options.timeouts).map_err(|e| e.context("IMAP"))?;
    stream.set_deadline(options.deadline);
    let bound = options.timeouts.read.max(options.timeouts.write);
    let client =
        ImapClient::new(stream, tls.is_some(), bound).map_err(|e| e.context(label(account)))?;
    match settings.security {
        Security::StartTls => {
            let mut info = None;
            let client = client
                .starttls(net::starttls_upgrade(
                    settings,
                    &options.timeouts,
                    &mut info,
                ))
                .map_err(|e| e.context(label(account)))?;
            Ok((client, info))
        }
        _ => Ok((client, tls)),
    }
}

/// [`open`], then login with the account's credential. A disabled account is refused
/// (it is never contacted).
pub fn connect(
    account: &IncomingAccount,
    creds: &dyn CredentialProvider,
    options: &ImapOptions,
) -> Result<ImapSession<MailStream>, ConnectionError> {
    if !account.enabled() {
        return Err(ConnectionError::new(
            ErrorCategory::Validation,
            format!(
                "account \"{}\" is disabled: a disabled account is never contacted",
                account.name()
            ),
        ));
    }
    ensure_imap(account)?;
    let get = || {
        creds
            .credential(account.credential())
            .map_err(|e| ConnectionError::new(e.category(), e.to_string()).with_source(e))
    };
    let credential = get()?;
    let (client, _) = open(account, creds, options)?;
    let mut session = match client.login(&credential) {
        Ok(s) => s,
        // An OAuth2 token refused: the provider drops it, and one retry gets a fresh one.
        Err(e) if e.is_auth() && creds.refused(account.credential(), &credential) => {
            let credential = get()?;
            let (client, _) = open(account, creds, options)?;
            client
                .login(&credential)
                .map_err(|e| e.context(label(account)))?
        }
        Err(e) => return Err(e.context(label(account))),
    };
    session.set_fetch_batch(options.fetch_batch);
    Ok(session)
}
