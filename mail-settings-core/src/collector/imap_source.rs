//! The collector's IMAP source, over [`crate::imap`]: `INBOX`, `EXAMINE` with keep copy
//! (read-only: nothing on the server can change) and `SELECT` without, UIDs under
//! UIDVALIDITY, sizes by `UID FETCH 1:* (UID RFC822.SIZE)`, bodies by `BODY.PEEK[]`
//! (`\Seen` is never set), removal by `UID STORE +FLAGS.SILENT (\Deleted)` and `UID EXPUNGE`
//! (UIDPLUS; without it nothing is removed and the run reports why).

use super::source::{ListedMessage, Listing, MailSource, MessageSink, SourceId};
use crate::credentials::CredentialProvider;
use crate::error::{ConnectionError, ErrorCategory};
use crate::imap::{self, ImapOptions, ImapSession};
use crate::net::{MailStream, Timeouts};
use crate::typed::IncomingAccount;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;

/// The mailbox collected.
pub const MAILBOX: &str = "INBOX";

/// An IMAP session for the collector.
pub struct ImapSource {
    account: IncomingAccount,
    credentials: Arc<dyn CredentialProvider>,
    timeouts: Timeouts,
    session: Option<ImapSession<MailStream>>,
}

impl fmt::Debug for ImapSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapSource")
            .field("account", &self.account.name())
            .field("endpoint", &self.account.connection().endpoint)
            .field("open", &self.session.is_some())
            .finish()
    }
}

impl ImapSource {
    /// A source (not yet connected) for `account`.
    pub fn new(
        account: IncomingAccount,
        credentials: Arc<dyn CredentialProvider>,
        timeouts: Timeouts,
    ) -> Self {
        Self {
            account,
            credentials,
            timeouts,
            session: None,
        }
    }

    fn session(&mut self) -> Result<&mut ImapSession<MailStream>, ConnectionError> {
        self.session.as_mut().ok_or_else(|| {
            ConnectionError::new(ErrorCategory::Protocol, "the IMAP session is not open")
        })
    }
}

/// Marks a fetch the sink asked to stop (not an error).
const STOPPED: &str = "stopped by the collector at a message boundary";

impl MailSource for ImapSource {
    fn describe(&self) -> String {
        format!("IMAP {}", self.account.connection().endpoint)
    }

    fn open(&mut self, read_only: bool) -> Result<Listing, ConnectionError> {
        let options = ImapOptions::with_timeouts(self.timeouts);
        let mut session = imap::connect(&self.account, self.credentials.as_ref(), &options)?;
        let info = if read_only {
            session.examine(MAILBOX)?
        } else {
            session.select(MAILBOX)?
        };
        let sizes = session.fetch_sizes(1, None)?;
        self.session = Some(session);
        Ok(Listing {
            mailbox: Some(MAILBOX.to_owned()),
            uid_validity: info.uid_validity,
            messages: sizes
                .into_iter()
                .map(|m| ListedMessage {
                    id: SourceId::Uid(m.uid),
                    size: u64::from(m.size),
                })
                .collect(),
        })
    }

    fn fetch(
        &mut self,
        messages: &[ListedMessage],
        sink: &mut dyn MessageSink,
    ) -> Result<(), ConnectionError> {
        let uids: Vec<u32> = messages
            .iter()
            .filter_map(|m| match m.id {
                SourceId::Uid(u) => Some(u),
                _ => None,
            })
            .collect();
        if uids.is_empty() {
            return Ok(());
        }
        let limit = self.account.max_message_size();
        let session = self.session()?;
        session.set_fetch_batch(uids.len());
        let mut stopped = false;
        let r = session.uid_fetch_each(&uids, |m| {
            if m.raw.len() as u64 > limit {
                // The server announced less: never store past the account's limit.
                sink.refused(
                    &SourceId::Uid(m.uid),
                    &format!(
                        "the message is {} bytes, larger than the account's limit of {limit} bytes, although the server announced less",
                        m.raw.len()
                    ),
                );
                return Ok(());
            }
            match sink.message_bytes(&SourceId::Uid(m.uid), m.raw) {
                ControlFlow::Continue(()) => Ok(()),
                ControlFlow::Break(()) => {
                    stopped = true;
                    Err(ConnectionError::new(ErrorCategory::Cancelled, STOPPED))
                }
            }
        });
        match r {
            Err(_) if stopped => Ok(()),
            r => r,
        }
    }

    fn delete(&mut self, ids: &[SourceId]) -> Result<(), ConnectionError> {
        let uids: Vec<u32> = ids
            .iter()
            .filter_map(|id| match id {
                SourceId::Uid(u) => Some(*u),
                _ => None,
            })
            .collect();
        if uids.is_empty() {
            return Ok(());
        }
        self.session()?.delete(&uids)
    }

    fn close(&mut self) -> Result<(), ConnectionError> {
        match self.session.take() {
            Some(s) => s.logout(),
            None => Ok(()),
        }
    }
}
