//! After login: mailboxes, flags, removal, NOOP and LOGOUT through the crate (bounded by
//! [`Tap`]); fetching is in [`super::fetch`].

use super::response::{map_err, Tap};
use super::{clean, protocol, uid_set, ImapCapabilities, MailboxInfo, MailboxName, MailboxStats};
use crate::error::{ConnectionError, ErrorCategory};
use crate::net::{MailStream, OpDeadline};
use std::collections::BTreeSet;
use std::fmt;
use std::io::{Read, Write};
use std::time::Duration;

/// A logged-in IMAP session.
pub struct ImapSession<S: Read + Write> {
    session: ::imap::Session<Tap<S>>,
    /// Our handle on the stream, for the commands whose responses we read ourselves.
    pub(super) stream: Tap<S>,
    /// The number of our last `UID FETCH` tag.
    pub(super) fetch_tag: u32,
    capabilities: Option<ImapCapabilities>,
    selected: Option<MailboxInfo>,
    pub(super) bound: Duration,
    pub(super) fetch_batch: usize,
    /// UIDs whose fetched bytes may not be that message (wrong label, wrong size, missing):
    /// never marked `\Deleted` nor expunged in this session.
    pub(super) protected: BTreeSet<u32>,
    /// Why the session cannot go on (a response could not be read to its end), if so.
    pub(super) broken: Option<String>,
}

impl<S: Read + Write> fmt::Debug for ImapSession<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapSession")
            .field("capabilities", &self.capabilities)
            .field("selected", &self.selected)
            .field("fetch_batch", &self.fetch_batch)
            .field("protected", &self.protected)
            .field("broken", &self.broken.is_some())
            .finish()
    }
}

fn name_attribute(a: &imap_proto::types::NameAttribute<'_>) -> String {
    use imap_proto::types::NameAttribute as N;
    match a {
        N::NoInferiors => "\\Noinferiors".to_owned(),
        N::NoSelect => "\\Noselect".to_owned(),
        N::Marked => "\\Marked".to_owned(),
        N::Unmarked => "\\Unmarked".to_owned(),
        N::All => "\\All".to_owned(),
        N::Archive => "\\Archive".to_owned(),
        N::Drafts => "\\Drafts".to_owned(),
        N::Flagged => "\\Flagged".to_owned(),
        N::Junk => "\\Junk".to_owned(),
        N::Sent => "\\Sent".to_owned(),
        N::Trash => "\\Trash".to_owned(),
        N::Extension(e) => e.to_string(),
        other => format!("{other:?}"),
    }
}

impl<S: Read + Write> ImapSession<S> {
    pub(super) fn new(
        session: ::imap::Session<Tap<S>>,
        stream: Tap<S>,
        bound: Duration,
        fetch_batch: usize,
    ) -> Self {
        Self {
            session,
            stream,
            fetch_tag: 0,
            capabilities: None,
            selected: None,
            bound,
            fetch_batch,
            protected: BTreeSet::new(),
            broken: None,
        }
    }

    /// `Err` once a response could not be read to its end: the stream is no longer in step
    /// with the server, so nothing more is sent (the error names what happened then).
    pub(super) fn usable(&self) -> Result<(), ConnectionError> {
        match &self.broken {
            None => Ok(()),
            Some(why) => Err(ConnectionError::new(
                ErrorCategory::Connect,
                format!("the IMAP session was abandoned after an earlier error: {why}"),
            )),
        }
    }

    /// Maps an error of the crate; one that leaves the stream out of step (anything but a
    /// tagged NO or BAD) ends the session.
    fn crate_error(&mut self, e: ::imap::Error, doing: &str) -> ConnectionError {
        let usable = matches!(e, ::imap::Error::No(_) | ::imap::Error::Bad(_));
        let err = map_err(e, doing, self.bound);
        if !usable {
            self.broken = Some(err.message().to_owned());
        }
        err
    }

    /// UIDs this session will not mark `\Deleted` nor expunge: their fetched bytes may not be
    /// the message (see [`uid_fetch_checked`](Self::uid_fetch_checked)).
    pub fn protected_uids(&self) -> &BTreeSet<u32> {
        &self.protected
    }

    /// `uids` without the protected ones.
    fn unprotected(&self, uids: &[u32]) -> Vec<u32> {
        let kept: Vec<u32> = uids
            .iter()
            .copied()
            .filter(|u| !self.protected.contains(u))
            .collect();
        if kept.len() != uids.len() {
            tracing::warn!(
                kept = uids.len() - kept.len(),
                "messages whose fetched bytes did not match stay on the server"
            );
        }
        kept
    }

    /// Sets how many messages one `UID FETCH` of bodies asks for (at least 1).
    pub fn set_fetch_batch(&mut self, n: usize) {
        self.fetch_batch = n.max(1);
    }

    /// The capabilities after login (servers may list more than before).
    pub fn capabilities(&mut self) -> Result<&ImapCapabilities, ConnectionError> {
        if self.capabilities.is_none() {
            self.usable()?;
            let caps = match self.session.capabilities() {
                Ok(c) => c,
                Err(e) => return Err(self.crate_error(e, "asking for the capabilities")),
            };
            self.capabilities = Some(ImapCapabilities::from_crate(&caps));
            self.drain();
        }
        self.capabilities
            .as_ref()
            .ok_or_else(|| protocol("no capabilities"))
    }

    /// The mailbox selected last, if any.
    pub fn selected(&self) -> Option<&MailboxInfo> {
        self.selected.as_ref()
    }

    /// Unsolicited responses are of no use here; dropping them keeps memory bounded.
    fn drain(&mut self) {
        let _ = self.session.take_all_unsolicited().count();
    }

    /// Every mailbox (`LIST "" "*"`).
    pub fn list_mailboxes(&mut self) -> Result<Vec<MailboxName>, ConnectionError> {
        self.usable()?;
        let names = match self.session.list(Some(""), Some("*")) {
            Ok(n) => n,
            Err(e) => return Err(self.crate_error(e, "listing the mailboxes")),
        };
        let out = names
            .iter()
            .map(|n| MailboxName {
                name: n.name().to_owned(),
                delimiter: n.delimiter().map(str::to_owned),
                attributes: n.attributes().iter().map(name_attribute).collect(),
            })
            .collect();
        self.drain();
        Ok(out)
    }

    fn open_mailbox(
        &mut self,
        mailbox: &str,
        read_only: bool,
    ) -> Result<MailboxInfo, ConnectionError> {
        let doing = format!(
            "{} mailbox \"{}\"",
            if read_only { "examining" } else { "selecting" },
            clean(mailbox)
        );
        self.usable()?;
        let mb = match if read_only {
            self.session.examine(mailbox)
        } else {
            self.session.select(mailbox)
        } {
            Ok(m) => m,
            Err(e) => return Err(self.crate_error(e, &doing)),
        };
        self.drain();
        let info = MailboxInfo {
            name: mailbox.to_owned(),
            exists: mb.exists,
            uid_validity: mb.uid_validity,
            uid_next: mb.uid_next,
            read_only: read_only || mb.is_read_only,
        };
        self.selected = Some(info.clone());
        Ok(info)
    }

    /// SELECT: opens `mailbox` read-write.
    pub fn select(&mut self, mailbox: &str) -> Result<MailboxInfo, ConnectionError> {
        self.open_mailbox(mailbox, false)
    }

    /// EXAMINE: opens `mailbox` read-only (nothing can change, not even `\Recent`).
    pub fn examine(&mut self, mailbox: &str) -> Result<MailboxInfo, ConnectionError> {
        self.open_mailbox(mailbox, true)
    }

    pub(super) fn require_selected(&self, doing: &str) -> Result<&MailboxInfo, ConnectionError> {
        self.selected
            .as_ref()
            .ok_or_else(|| protocol(format!("no mailbox is selected for {doing}")))
    }

    /// Sets `\Deleted` on the messages with these UIDs (`UID STORE … +FLAGS.SILENT (\Deleted)`).
    pub fn uid_store_deleted(&mut self, uids: &[u32]) -> Result<(), ConnectionError> {
        self.require_selected("UID STORE")?;
        self.usable()?;
        let uids = self.unprotected(uids);
        let Some(set) = uid_set(&uids) else {
            return Ok(());
        };
        if let Err(e) = self.session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)") {
            return Err(self.crate_error(e, "marking messages deleted"));
        }
        self.drain();
        Ok(())
    }

    /// Removes the messages with these UIDs that are marked `\Deleted` (`UID EXPUNGE`, RFC 4315),
    /// and only those: other messages marked `\Deleted` stay. Refused with
    /// [`ErrorCategory::Protocol`] when the server lacks UIDPLUS, rather than a plain EXPUNGE.
    pub fn uid_expunge(&mut self, uids: &[u32]) -> Result<(), ConnectionError> {
        self.require_selected("UID EXPUNGE")?;
        self.usable()?;
        let uids = self.unprotected(uids);
        let Some(set) = uid_set(&uids) else {
            return Ok(());
        };
        if !self.capabilities()?.uidplus() {
            return Err(protocol(
                "the server does not offer UIDPLUS, so messages cannot be removed by UID; a \
                 plain EXPUNGE could remove messages other clients marked deleted, so nothing \
                 was removed (keep copies on the server for this account, or use POP3)",
            ));
        }
        if let Err(e) = self.session.uid_expunge(&set) {
            return Err(self.crate_error(e, "expunging messages"));
        }
        self.drain();
        Ok(())
    }

    /// [`uid_store_deleted`](Self::uid_store_deleted) then [`uid_expunge`](Self::uid_expunge);
    /// checks UIDPLUS first, so nothing is marked when it cannot be expunged. Protected UIDs
    /// ([`protected_uids`](Self::protected_uids)) are left alone.
    pub fn delete(&mut self, uids: &[u32]) -> Result<(), ConnectionError> {
        let uids = &self.unprotected(uids)[..];
        if uids.is_empty() {
            return Ok(());
        }
        if !self.capabilities()?.uidplus() {
            return self.uid_expunge(uids);
        }
        self.uid_store_deleted(uids)?;
        self.uid_expunge(uids)
    }

    /// Message count and total size of `mailbox`, opened read-only (EXAMINE).
    pub fn mailbox_stats(&mut self, mailbox: &str) -> Result<MailboxStats, ConnectionError> {
        let info = self.examine(mailbox)?;
        let sizes = self.fetch_sizes(1, None)?;
        Ok(MailboxStats {
            messages: info.exists,
            total_size: sizes.iter().map(|m| u64::from(m.size)).sum(),
        })
    }

    /// NOOP: checks that the server still answers (and lets it report changes).
    pub fn noop(&mut self) -> Result<(), ConnectionError> {
        self.usable()?;
        if let Err(e) = self.session.noop() {
            return Err(self.crate_error(e, "sending NOOP"));
        }
        self.drain();
        Ok(())
    }

    /// LOGOUT. A session abandoned after an error (a response not read to its end) is closed
    /// without a word: the error that ended it was already reported, and reading on would
    /// only misread what the server still sends.
    pub fn logout(mut self) -> Result<(), ConnectionError> {
        if self.broken.is_some() {
            return Ok(());
        }
        self.session
            .logout()
            .map_err(|e| map_err(e, "logging out", self.bound))
    }
}

impl ImapSession<MailStream> {
    /// Sets (or removes) the deadline of the operation under way on the stream (see
    /// [`MailStream::set_deadline`]).
    pub fn set_deadline(&mut self, deadline: Option<OpDeadline>) {
        self.stream.lock().rd.get_mut().set_deadline(deadline);
    }

    /// The deadline set on the stream.
    pub fn deadline(&self) -> Option<OpDeadline> {
        self.stream.lock().rd.get_ref().deadline()
    }
}
