//! After login: mailboxes, flags, removal, NOOP and LOGOUT through the crate (bounded by
//! [`Tap`]); fetching is in [`super::fetch`].

use super::folders::FolderMap;
use super::response::{map_err, Tap};
use super::simple::Status;
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
    /// How this server spells folder names, once asked ([`folder_map`](Self::folder_map)).
    folder_map: Option<FolderMap>,
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
            folder_map: None,
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

    /// Whether names travel as UTF-8 in this session (`ENABLE UTF8=ACCEPT` succeeded).
    fn utf8_names(&self) -> bool {
        self.folder_map.as_ref().is_some_and(FolderMap::utf8)
    }

    /// `LIST "" pattern` read by us: once `ENABLE UTF8=ACCEPT` succeeded the server sends
    /// names as UTF-8 in quoted strings (RFC 6855; Courier does), which the crate's parser
    /// refuses (it takes 7-bit quoted strings only). A name sent as a literal is left out
    /// (logged); servers quote names.
    fn list_utf8(&mut self, pattern: &str) -> Result<Vec<MailboxName>, ConnectionError> {
        let command = format!("LIST \"\" {}", quote(pattern)?);
        match self.simple_command(&command, "listing the mailboxes")? {
            Status::Ok(lines) => Ok(lines
                .iter()
                .filter_map(|l| {
                    let m = parse_list_line(l);
                    if m.is_none()
                        && l.trim_start()
                            .get(..6)
                            .is_some_and(|p| p.eq_ignore_ascii_case("* LIST"))
                    {
                        tracing::debug!(line = %clean(l), "a LIST line not understood: left out");
                    }
                    m
                })
                .collect()),
            Status::Refused(why) => Err(ConnectionError::new(
                ErrorCategory::Protocol,
                format!("the server refused LIST: {why}"),
            )),
        }
    }

    /// Every mailbox (`LIST "" "*"`).
    pub fn list_mailboxes(&mut self) -> Result<Vec<MailboxName>, ConnectionError> {
        self.usable()?;
        if self.utf8_names() {
            return self.list_utf8("*");
        }
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

    /// How this server spells folder names (asked once per session): with `UTF8=ACCEPT`
    /// offered, `ENABLE UTF8=ACCEPT` is sent and names then travel as UTF-8; the personal
    /// namespace comes from `NAMESPACE` (RFC 2342) where offered, otherwise the separator from
    /// `LIST "" ""` and no prefix.
    pub fn folder_map(&mut self) -> Result<FolderMap, ConnectionError> {
        if let Some(m) = &self.folder_map {
            return Ok(m.clone());
        }
        let caps = self.capabilities()?.clone();
        let mut utf8 = false;
        if caps.has("UTF8=ACCEPT") {
            match self.simple_command("ENABLE UTF8=ACCEPT", "enabling UTF8=ACCEPT")? {
                Status::Ok(lines) => {
                    utf8 = lines.iter().any(|l| {
                        let l = l.to_ascii_uppercase();
                        l.starts_with("* ENABLED") && l.contains("UTF8=ACCEPT")
                    });
                }
                Status::Refused(why) => {
                    tracing::debug!(why, "ENABLE UTF8=ACCEPT refused: modified UTF-7");
                }
            }
        }
        let mut map = None;
        if caps.has("NAMESPACE") {
            match self.simple_command("NAMESPACE", "asking for the namespaces")? {
                Status::Ok(lines) => map = FolderMap::from_namespace(&lines.join("\r\n"), utf8),
                Status::Refused(why) => tracing::debug!(why, "NAMESPACE refused"),
            }
        }
        let map = match map {
            Some(m) => m,
            None => {
                let names = match self.session.list(Some(""), None) {
                    Ok(n) => n,
                    Err(e) => return Err(self.crate_error(e, "asking for the folder separator")),
                };
                let delimiter = names
                    .iter()
                    .find_map(|n| n.delimiter().and_then(|d| d.chars().next()));
                self.drain();
                FolderMap::new("", delimiter, utf8)
            }
        };
        self.folder_map = Some(map.clone());
        Ok(map)
    }

    /// CREATE: makes a mailbox of this wire name (see [`folder_map`](Self::folder_map) for the
    /// spelling). For set-up tools and tests; the collector never creates folders.
    pub fn create_mailbox(&mut self, wire: &str) -> Result<(), ConnectionError> {
        self.usable()?;
        let quoted = quote(wire)?;
        if let Err(e) = self
            .session
            .run_command_and_check_ok(format!("CREATE {quoted}"))
        {
            return Err(self.crate_error(e, "creating a mailbox"));
        }
        self.drain();
        Ok(())
    }

    /// Whether a mailbox of exactly this wire name exists and can be selected (`LIST "" name`).
    pub fn mailbox_exists(&mut self, wire: &str) -> Result<bool, ConnectionError> {
        self.usable()?;
        if self.utf8_names() {
            let same = |n: &str| {
                n == wire || (n.eq_ignore_ascii_case("INBOX") && wire.eq_ignore_ascii_case("INBOX"))
            };
            return Ok(self
                .list_utf8(wire)?
                .iter()
                .any(|m| same(&m.name) && m.selectable()));
        }
        let pattern = quote(wire)?;
        let names = match self.session.list(Some(""), Some(&pattern)) {
            Ok(n) => n,
            Err(e) => return Err(self.crate_error(e, "looking for a mailbox")),
        };
        let found = names.iter().any(|n| {
            let same = n.name() == wire
                || (n.name().eq_ignore_ascii_case("INBOX") && wire.eq_ignore_ascii_case("INBOX"));
            same && !n.attributes().iter().any(|a| {
                matches!(a, imap_proto::types::NameAttribute::NoSelect)
                    || name_attribute(a).eq_ignore_ascii_case("\\NonExistent")
            })
        });
        self.drain();
        Ok(found)
    }

    /// Moves the messages with these UIDs to `target` (a wire name): `UID MOVE` (RFC 6851)
    /// where offered; else `UID COPY`, `\Deleted` and `UID EXPUNGE` of those UIDs (UIDPLUS);
    /// else `UID COPY` and `\Deleted` only, never a plain EXPUNGE (the result is then
    /// [`Moved::MarkedOnly`]: the server needs expunging). Messages already marked `\Deleted`
    /// are not copied again in that last mode (an earlier run copied them). Protected UIDs are
    /// left alone. A refused COPY or MOVE (a missing folder) is an error and nothing is marked.
    pub fn uid_move(&mut self, uids: &[u32], target: &str) -> Result<Moved, ConnectionError> {
        self.require_selected("UID MOVE")?;
        self.usable()?;
        let mut uids = self.unprotected(uids);
        if uid_set(&uids).is_none() {
            return Ok(Moved::Moved);
        }
        let quoted = quote(target)?;
        let caps = self.capabilities()?.clone();
        if caps.has("MOVE") {
            let set = uid_set(&uids).unwrap_or_default();
            if let Err(e) = self
                .session
                .run_command_and_check_ok(format!("UID MOVE {set} {quoted}"))
            {
                return Err(self.crate_error(e, "moving messages to the archive folder"));
            }
            self.drain();
            return Ok(Moved::Moved);
        }
        if !caps.uidplus() {
            // Copied and marked earlier, not expunged since (no one may expunge for us).
            let flags = self.flags(&uids)?;
            uids.retain(|u| !flags.iter().any(|f| f.uid == *u && f.has("\\Deleted")));
        }
        if let Some(set) = uid_set(&uids) {
            if let Err(e) = self
                .session
                .run_command_and_check_ok(format!("UID COPY {set} {quoted}"))
            {
                return Err(self.crate_error(e, "copying messages to the archive folder"));
            }
            self.drain();
            self.uid_store_deleted(&uids)?;
        }
        if caps.uidplus() {
            self.uid_expunge(&uids)?;
            Ok(Moved::Moved)
        } else {
            Ok(Moved::MarkedOnly)
        }
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

/// What [`ImapSession::uid_move`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Moved {
    /// The messages are in the target folder and gone from the selected one.
    Moved,
    /// Copied to the target and marked `\Deleted`, not expunged: the server offers neither
    /// MOVE nor UIDPLUS, and a plain EXPUNGE would remove what other clients marked.
    MarkedOnly,
}

/// One `* LIST (attributes) delimiter name` line (names quoted, possibly UTF-8, or atoms;
/// `None` for anything else, a name sent as a literal included). Extended data after the name
/// (LIST-EXTENDED) is ignored.
fn parse_list_line(line: &str) -> Option<MailboxName> {
    let line = line.trim_end_matches(['\r', '\n']);
    let rest = line.strip_prefix("* ")?;
    if !rest.get(..5)?.eq_ignore_ascii_case("LIST ") {
        return None;
    }
    let rest = rest[5..].trim_start().strip_prefix('(')?;
    let (attrs, rest) = rest.split_once(')')?;
    let attributes = attrs.split_whitespace().map(str::to_owned).collect();
    let rest = rest.trim_start();
    // A quoted string (with `\` escapes): the value and what follows it.
    let quoted = |s: &str| -> Option<(String, usize)> {
        let mut out = String::new();
        let mut chars = s.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Some((out, i + 1)),
                '\\' => out.push(chars.next()?.1),
                c => out.push(c),
            }
        }
        None
    };
    let (delimiter, rest) = if rest.starts_with('"') {
        let (d, used) = quoted(rest)?;
        (Some(d), &rest[used..])
    } else if rest.get(..3).is_some_and(|n| n.eq_ignore_ascii_case("NIL")) {
        (None, &rest[3..])
    } else {
        return None;
    };
    let rest = rest.trim_start();
    let name = if rest.starts_with('"') {
        quoted(rest)?.0
    } else if rest.starts_with('{') || rest.is_empty() {
        return None;
    } else {
        rest.split_whitespace().next()?.to_owned()
    };
    let name = if name.eq_ignore_ascii_case("INBOX") {
        "INBOX".to_owned()
    } else {
        name
    };
    Some(MailboxName {
        name,
        delimiter,
        attributes,
    })
}

/// A mailbox name as an IMAP quoted string.
fn quote(name: &str) -> Result<String, ConnectionError> {
    if name.contains(['\r', '\n', '\0']) {
        return Err(protocol("a folder name with a line break cannot be sent"));
    }
    Ok(format!(
        "\"{}\"",
        name.replace('\\', "\\\\").replace('"', "\\\"")
    ))
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

#[cfg(test)]
mod tests {
    use super::parse_list_line;

    #[test]
    fn list_lines_with_utf8_names() {
        let m = parse_list_line("* LIST (\\HasNoChildren) \".\" \"INBOX.Suporte.Atenção\"\r\n")
            .unwrap();
        assert_eq!(m.name, "INBOX.Suporte.Atenção");
        assert_eq!(m.delimiter.as_deref(), Some("."));
        assert_eq!(m.attributes, vec!["\\HasNoChildren".to_owned()]);
        assert!(m.selectable());
        let m =
            parse_list_line("* LIST (\\Noselect \\HasChildren) \".\" \"INBOX.Suporte\"").unwrap();
        assert!(!m.selectable());
        let m = parse_list_line("* list (\\Marked) \"/\" inbox").unwrap();
        assert_eq!(m.name, "INBOX");
        let m = parse_list_line(
            "* LIST () NIL \"a \\\"q\\\" \\\\ b\" (\"CHILDINFO\" (\"SUBSCRIBED\"))",
        )
        .unwrap();
        assert_eq!((m.name.as_str(), m.delimiter), ("a \"q\" \\ b", None));
        let m = parse_list_line("* LIST () \"\\\\\" Work\\Team").unwrap();
        assert_eq!(
            (m.name.as_str(), m.delimiter.as_deref()),
            ("Work\\Team", Some("\\"))
        );
        for bad in [
            "* LIST (\\HasNoChildren) \".\" {12}",
            "* LSUB () \".\" a",
            "* LIST (\\x \".\" a",
            "* LIST () \".\" \"unterminated",
            "* LIST () . a",
        ] {
            assert_eq!(parse_list_line(bad), None, "{bad}");
        }
    }
}
