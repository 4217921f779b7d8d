//! The collector's IMAP source, over [`crate::imap`]: one folder at a time (`INBOX` by default;
//! [`MailSource::set_folder`] picks another, named as the user writes it and mapped to the
//! server's spelling by [`crate::imap::FolderMap`]), `EXAMINE` with keep copy
//! (read-only: nothing on the server can change) and `SELECT` without, UIDs under
//! UIDVALIDITY, sizes by `UID FETCH 1:* (UID RFC822.SIZE)`, bodies by `BODY.PEEK[]`
//! (`\Seen` is never set), removal by `UID STORE +FLAGS.SILENT (\Deleted)` and `UID EXPUNGE`
//! (UIDPLUS; without it nothing is removed and the run reports why).
//!
//! With an archive folder (and without keep copy), "removal" is a move there instead
//! ([`ImapSession::uid_move`]: `UID MOVE`, else `UID COPY` + `\Deleted` + `UID EXPUNGE`, else
//! copy and `\Deleted` only, and the run's notes say the server needs expunging). The archive
//! folder is looked up before anything is fetched: a missing one fails the run, nothing moved
//! and nothing deleted.
//!
//! Bounds: the session runs under the run's deadline ([`Timeouts::run_deadline`]); each fetch
//! request under the sum of its messages' budgets ([`Timeouts::message_budget`], each growing
//! with its size), never past the run's. Bodies larger than the account's `max_message_size` are
//! drained without being kept, and each body is handed to the collector as soon as it has
//! arrived: memory holds one message, whatever the batch size.
//!
//! A body that is not what was asked for (a UID not asked for, a second body for a UID, a size
//! other than its `RFC822.SIZE` or its listed size) is stored as it came, but under a
//! [`SourceId::Number`] (so the ledger knows it by its content, never by that UID), and the UID
//! asked for is reported [`MessageSink::refused`] with the reason: the collector then never
//! removes it, and [`ImapSession::uid_fetch_checked`] protects it in the session as well (its
//! UID is never marked `\Deleted` nor expunged).

use super::source::{ListedMessage, Listing, MailSource, MessageSink, SourceId};
use crate::credentials::CredentialProvider;
use crate::error::{ConnectionError, ErrorCategory};
use crate::imap::{self, Fetched, ImapOptions, ImapSession};
use crate::net::{MailStream, OpDeadline, Timeouts};
use crate::typed::IncomingAccount;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

/// The mailbox collected by default.
pub const MAILBOX: &str = "INBOX";

/// An IMAP session for the collector.
pub struct ImapSource {
    account: IncomingAccount,
    credentials: Arc<dyn CredentialProvider>,
    timeouts: Timeouts,
    session: Option<ImapSession<MailStream>>,
    /// The run's deadline, from [`MailSource::open`].
    run_deadline: Option<OpDeadline>,
    /// The folder read, as the user names it (the ledger's mailbox).
    folder: String,
    /// The archive folder's wire name, once checked in a read-write session.
    archive: Option<String>,
    /// What the run should know about the server (e.g. it needs expunging).
    notes: Vec<String>,
    /// Archiving here only copies and marks (neither MOVE nor UIDPLUS).
    needs_expunging: bool,
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
            run_deadline: None,
            folder: MAILBOX.to_owned(),
            archive: None,
            notes: Vec::new(),
            needs_expunging: false,
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

/// Hands a body to the sink; a stop becomes the [`STOPPED`] error (and `stopped`).
fn hand(
    sink: &mut dyn MessageSink,
    id: SourceId,
    raw: Vec<u8>,
    stopped: &mut bool,
) -> Result<(), ConnectionError> {
    match sink.message_bytes(&id, raw) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => {
            *stopped = true;
            Err(ConnectionError::new(ErrorCategory::Cancelled, STOPPED))
        }
    }
}

impl MailSource for ImapSource {
    fn describe(&self) -> String {
        format!("IMAP {}", self.account.connection().endpoint)
    }

    fn open(&mut self, read_only: bool) -> Result<Listing, ConnectionError> {
        let mut options = ImapOptions::with_timeouts(self.timeouts);
        let run = self.timeouts.run_deadline();
        self.run_deadline = Some(run);
        options.deadline = Some(run);
        self.archive = None;
        self.notes.clear();
        self.needs_expunging = false;
        let mut session = imap::connect(&self.account, self.credentials.as_ref(), &options)?;
        // INBOX alone, without an archive folder, needs no mapping: no NAMESPACE round trip.
        let archiving = !read_only && self.account.archive_folder().is_some();
        let map = if archiving || !self.folder.eq_ignore_ascii_case(MAILBOX) {
            session.folder_map()?
        } else {
            imap::FolderMap::default()
        };
        let named = |e: imap::FolderNameError| {
            ConnectionError::new(
                ErrorCategory::Validation,
                format!("{e}; nothing was fetched"),
            )
        };
        let wire = map.to_wire(&self.folder).map_err(named)?;
        if !read_only {
            if let Some(archive) = self.account.archive_folder() {
                // Checked before anything is fetched: a missing archive folder is a failed run,
                // never a delete.
                let target = map.to_wire(archive).map_err(named)?;
                if !session.mailbox_exists(&target)? {
                    return Err(ConnectionError::new(
                        ErrorCategory::Validation,
                        format!(
                            "the archive folder \"{}\" does not exist on the server (as \"{}\"): \
                             create it, or change the account's archive folder; nothing was \
                             fetched, moved or deleted",
                            archive.escape_debug(),
                            crate::smtp::summarize_text(&target)
                        ),
                    ));
                }
                let caps = session.capabilities()?;
                if !caps.has("MOVE") && !caps.uidplus() {
                    self.needs_expunging = true;
                    self.notes.push(format!(
                        "the server offers neither MOVE nor UIDPLUS: collected messages are copied \
                         to \"{}\" and marked \\Deleted in \"{}\", and the server needs expunging \
                         (the collector never expunges what it did not mark)",
                        archive.escape_debug(),
                        self.folder.escape_debug()
                    ));
                }
                self.archive = Some(target);
            }
        }
        let info = if read_only {
            session.examine(&wire)?
        } else {
            session.select(&wire)?
        };
        let sizes = session.fetch_sizes(1, None)?;
        self.session = Some(session);
        Ok(Listing {
            mailbox: Some(self.folder.clone()),
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
        let wanted: Vec<(u32, Option<u64>)> = messages
            .iter()
            .filter_map(|m| match m.id {
                SourceId::Uid(u) => Some((u, Some(m.size))),
                _ => None,
            })
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let limit = self.account.max_message_size();
        // Each message's budget grows with its size; the request's is their sum, never past
        // the run's deadline.
        let total: Duration = wanted
            .iter()
            .map(|(_, s)| self.timeouts.message_budget(s.unwrap_or(0)))
            .fold(Duration::ZERO, Duration::saturating_add);
        let own = OpDeadline::after(total, "the fetch of these messages");
        let budget = match self.run_deadline {
            Some(run) => own.earlier(run),
            None => own,
        };
        let run_deadline = self.run_deadline;
        let session = self.session()?;
        session.set_fetch_batch(wanted.len());
        session.set_deadline(Some(budget));
        let mut stopped = false;
        let r = session.uid_fetch_checked(&wanted, limit, |event| match event {
            Fetched::Message(m) => hand(sink, SourceId::Uid(m.uid), m.raw, &mut stopped),
            Fetched::Suspect {
                label,
                asked,
                raw,
                reason,
            } => {
                // Stored as it came, known by its content: never by a UID it may not be.
                let kept = hand(
                    sink,
                    SourceId::Number(label.or(asked).unwrap_or(0)),
                    raw,
                    &mut stopped,
                );
                if let Some(uid) = asked {
                    sink.refused(
                        &SourceId::Uid(uid),
                        &format!(
                            "{reason}: what came was stored as it is, the server copy is kept"
                        ),
                    );
                }
                kept
            }
            Fetched::TooLarge { uid, size } => {
                if let Some(uid) = uid {
                    sink.refused(
                        &SourceId::Uid(uid),
                        &format!(
                            "the message is {size} bytes, larger than the account's limit of \
                             {limit} bytes, although the server announced less; it was not kept"
                        ),
                    );
                }
                Ok(())
            }
            Fetched::Missing { uid, reason } => {
                sink.refused(&SourceId::Uid(uid), &reason);
                Ok(())
            }
        });
        session.set_deadline(run_deadline);
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
        match self.archive.clone() {
            Some(target) => self.session()?.uid_move(&uids, &target).map(|_| ()),
            None => self.session()?.delete(&uids),
        }
    }

    fn set_folder(&mut self, folder: &str) {
        folder.clone_into(&mut self.folder);
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    fn needs_expunging(&self) -> bool {
        self.needs_expunging
    }

    fn removable(&self, id: &SourceId) -> bool {
        match id {
            SourceId::Uid(u) => self
                .session
                .as_ref()
                .is_none_or(|s| !s.protected_uids().contains(u)),
            // A suspect body, stored by its content: never removed by a UID it may not be.
            _ => false,
        }
    }

    fn close(&mut self) -> Result<(), ConnectionError> {
        match self.session.take() {
            Some(s) => s.logout(),
            None => Ok(()),
        }
    }
}
