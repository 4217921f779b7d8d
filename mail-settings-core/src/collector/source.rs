//! The collector's view of a mail server: a small trait, [`MailSource`], with an IMAP and a
//! POP3 implementation over the drivers ([`super::imap_source`], [`super::pop3_source`]) and
//! an in-memory one ([`MemoryServer`]) for tests.
//!
//! Why a trait of its own: the exactly-once logic (what to fetch, when to commit, when the
//! server may be changed) is the same for both protocols and must be testable without a
//! network, including the failures a real server will not produce on demand. The trait says
//! only what that logic needs: list the messages with their sizes, fetch some of them (each
//! handed over as it arrives), remove some, end the session.

use crate::error::{ConnectionError, ErrorCategory};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Where a message is on its server.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SourceId {
    /// IMAP UID, in the listing's mailbox and UIDVALIDITY.
    Uid(u32),
    /// POP3 unique id (`UIDL`), stable across sessions.
    Uidl(String),
    /// POP3 message number, for a server without `UIDL`: valid for one session only, so the
    /// collector recognises such a message by its content hash after fetching it.
    Number(u32),
}

impl SourceId {
    /// The key the ledger keeps for it, when it has a stable one.
    pub(crate) fn ledger_key(&self) -> Option<String> {
        match self {
            SourceId::Uid(u) => Some(u.to_string()),
            SourceId::Uidl(s) => Some(s.clone()),
            SourceId::Number(_) => None,
        }
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceId::Uid(u) => write!(f, "UID {u}"),
            SourceId::Uidl(s) => write!(f, "UIDL {s}"),
            SourceId::Number(n) => write!(f, "message {n}"),
        }
    }
}

/// A message as the server lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedMessage {
    /// Where it is.
    pub id: SourceId,
    /// Its size as the server announces it (IMAP `RFC822.SIZE`, POP3 `LIST`), in bytes.
    pub size: u64,
}

/// What a session found on the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// The IMAP mailbox (`INBOX`); `None` for POP3.
    pub mailbox: Option<String>,
    /// The mailbox's UIDVALIDITY (IMAP only).
    pub uid_validity: Option<u32>,
    /// Every message, in the server's order.
    pub messages: Vec<ListedMessage>,
}

/// A message the server listed but did not describe usably (a `LIST` line that is not
/// "number size", say): the collector leaves it on the server and reports it as `refused`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnusableListing {
    /// Where it is, when the line said that much.
    pub id: Option<SourceId>,
    /// Why, quoting the line (made safe: control characters escaped).
    pub reason: String,
}

/// Receives fetched messages, one at a time, as they arrive.
pub trait MessageSink {
    /// Message `id` arrived: `body` yields its raw bytes, exactly. Return
    /// [`ControlFlow::Break`] to stop fetching (cancel, or a failure the sink keeps): the
    /// source then stops at this message boundary and must leave the session usable for
    /// [`MailSource::delete`] and [`MailSource::close`]. An `Err` is a failure reading `body`
    /// (the connection): the source returns it as a connection error.
    fn message(
        &mut self,
        id: &SourceId,
        size: u64,
        body: &mut dyn Read,
    ) -> io::Result<ControlFlow<()>>;

    /// Message `id` arrived whole, already in memory (a source that buffers its replies):
    /// the same as [`message`](Self::message) without another copy of the bytes.
    fn message_bytes(&mut self, id: &SourceId, raw: Vec<u8>) -> ControlFlow<()> {
        let size = raw.len() as u64;
        self.message(id, size, &mut raw.as_slice())
            .unwrap_or(ControlFlow::Break(()))
    }

    /// The server refused this one message (IMAP `NO` for it alone, POP3 `-ERR` to its
    /// `RETR`) and the session goes on.
    fn refused(&mut self, id: &SourceId, reason: &str);

    /// This message turned out larger than the account's limit while it was read (the server
    /// announced less): it was read and dropped, the session goes on, and it stays on the
    /// server. By default a refusal.
    fn too_large(&mut self, id: &SourceId, reason: &str) {
        self.refused(id, reason);
    }
}

/// A mail server session, as the collector drives it. Implementations need not be
/// thread-safe beyond `Send`: one run uses one source from one thread.
pub trait MailSource: Send {
    /// What it is, e.g. `IMAP localhost:993`, for messages.
    fn describe(&self) -> String;

    /// Connects, logs in and lists the messages. `read_only` (keep copy on the server) means
    /// the session must not change anything on the server (IMAP `EXAMINE`).
    fn open(&mut self, read_only: bool) -> Result<Listing, ConnectionError>;

    /// Fetches `messages` (a batch the collector bounded by size), handing each to `sink` as
    /// it arrives; messages the server no longer has are left out. Never sets `\Seen`.
    fn fetch(
        &mut self,
        messages: &[ListedMessage],
        sink: &mut dyn MessageSink,
    ) -> Result<(), ConnectionError>;

    /// Removes messages from the server: IMAP `UID STORE +FLAGS (\Deleted)` and
    /// `UID EXPUNGE`; POP3 `DELE` (applied by [`close`](Self::close)). Called only for
    /// messages already committed to the inbox, and never in a read-only session.
    fn delete(&mut self, ids: &[SourceId]) -> Result<(), ConnectionError>;

    /// Ends the session (IMAP `LOGOUT`, POP3 `QUIT`, which applies `DELE`).
    fn close(&mut self) -> Result<(), ConnectionError>;

    /// Whether the message `id`, once committed, may be removed from the server: `false` when
    /// the stored bytes may not be what the server holds under that id (an IMAP body labelled
    /// with a UID not asked for, or of another size than announced, stored under a
    /// [`SourceId::Number`]), so that the collector neither asks for its removal nor counts it
    /// removed. `true` by default.
    fn removable(&self, id: &SourceId) -> bool {
        let _ = id;
        true
    }

    /// Which folder the next [`open`](Self::open) reads, as the user names it (`INBOX`,
    /// `Support/Tier 2`): the collector calls it before each folder of an account's `folders`.
    /// Sources without folders (POP3, the in-memory one) ignore it.
    fn set_folder(&mut self, folder: &str) {
        let _ = folder;
    }

    /// After [`open`](Self::open): messages the server listed but did not describe usably
    /// (left out of the listing; the collector reports them and leaves them on the server).
    fn unusable(&self) -> Vec<UnusableListing> {
        Vec::new()
    }

    /// After [`open`](Self::open): what the source noticed about the server's listing and
    /// handled, for the run report (e.g. ids that are not unique).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }

    /// After [`open`](Self::open): whether removing messages will only mark them (an archive
    /// folder on a server with neither MOVE nor UIDPLUS): the server then needs expunging.
    fn needs_expunging(&self) -> bool {
        false
    }
}

// ------------------------------------------------------------------------------------------
// In memory
// ------------------------------------------------------------------------------------------

/// Which protocol a [`MemoryServer`] behaves like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemoryProtocol {
    /// IMAP: UIDs and UIDVALIDITY, deletions immediate.
    Imap,
    /// POP3 with `UIDL`: deletions applied only by a successful close (`QUIT`).
    Pop3,
    /// POP3 without `UIDL`: message numbers only.
    Pop3NoUidl,
}

/// A failure a [`MemoryServer`] injects.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemoryFault {
    /// Opening fails (connection refused).
    Open,
    /// The connection breaks after this many messages were delivered in one session, in
    /// the middle of the next one.
    AfterMessages(usize),
    /// Deleting fails (the connection breaks before the server applies it).
    Delete,
    /// Closing fails (the connection breaks before `QUIT` is answered; POP3 deletions are
    /// then not applied).
    Close,
}

#[derive(Debug, Default)]
struct MemoryState {
    next_uid: u32,
    uid_validity: u32,
    messages: BTreeMap<u32, Vec<u8>>,
    faults: Vec<MemoryFault>,
    refuse: Vec<u32>,
    poison: Vec<u32>,
    fetches: BTreeMap<u32, u32>,
    changes: u32,
    sessions: u32,
}

/// An in-memory mail server for tests: add messages, inject faults, inspect what the
/// collector fetched and deleted. Cheap to clone (shared state); [`MemoryServer::source`]
/// opens a session on it.
#[derive(Clone)]
pub struct MemoryServer {
    protocol: MemoryProtocol,
    state: Arc<Mutex<MemoryState>>,
}

impl fmt::Debug for MemoryServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.lock();
        f.debug_struct("MemoryServer")
            .field("protocol", &self.protocol)
            .field("messages", &s.messages.len())
            .finish()
    }
}

impl MemoryServer {
    /// An empty server (UIDVALIDITY 1).
    pub fn new(protocol: MemoryProtocol) -> Self {
        Self {
            protocol,
            state: Arc::new(Mutex::new(MemoryState {
                next_uid: 1,
                uid_validity: 1,
                ..MemoryState::default()
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a message; returns its UID.
    pub fn add(&self, raw: impl Into<Vec<u8>>) -> u32 {
        let mut s = self.lock();
        let uid = s.next_uid;
        s.next_uid += 1;
        s.messages.insert(uid, raw.into());
        uid
    }

    /// The messages on the server, by UID.
    pub fn messages(&self) -> Vec<(u32, Vec<u8>)> {
        self.lock()
            .messages
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    /// Number of messages on the server.
    pub fn len(&self) -> usize {
        self.lock().messages.len()
    }

    /// Whether the server has no message.
    pub fn is_empty(&self) -> bool {
        self.lock().messages.is_empty()
    }

    /// Injects a fault (each is used once, in order of kind).
    pub fn inject(&self, fault: MemoryFault) {
        self.lock().faults.push(fault);
    }

    /// Makes the server refuse to deliver message `uid` (until [`MemoryServer::allow`]).
    pub fn refuse(&self, uid: u32) {
        self.lock().refuse.push(uid);
    }

    /// Makes every delivery of message `uid` break the connection half-way through it (a
    /// message that crashes the server, say).
    pub fn poison(&self, uid: u32) {
        self.lock().poison.push(uid);
    }

    /// Delivers message `uid` again.
    pub fn allow(&self, uid: u32) {
        self.lock().refuse.retain(|u| *u != uid);
    }

    /// Renumbers every message (a new UIDVALIDITY, new UIDs), as a server rebuilding its
    /// index does.
    pub fn renumber(&self) {
        let mut s = self.lock();
        s.uid_validity += 1;
        let old = std::mem::take(&mut s.messages);
        for (_, raw) in old {
            let uid = s.next_uid;
            s.next_uid += 1;
            s.messages.insert(uid, raw);
        }
    }

    /// How many times message `uid` was delivered.
    pub fn fetch_count(&self, uid: u32) -> u32 {
        self.lock().fetches.get(&uid).copied().unwrap_or(0)
    }

    /// How many changes (deletions applied) the server saw.
    pub fn changes(&self) -> u32 {
        self.lock().changes
    }

    /// How many sessions were opened.
    pub fn sessions(&self) -> u32 {
        self.lock().sessions
    }

    /// A new session on this server.
    pub fn source(&self) -> MemorySource {
        MemorySource {
            server: self.clone(),
            open: false,
            read_only: true,
            numbers: Vec::new(),
            pending_deletes: Vec::new(),
            delivered: 0,
        }
    }

    fn take_fault(&self, pred: impl Fn(&MemoryFault) -> bool) -> Option<MemoryFault> {
        let mut s = self.lock();
        let i = s.faults.iter().position(pred)?;
        Some(s.faults.remove(i))
    }
}

/// A session on a [`MemoryServer`].
#[derive(Debug)]
pub struct MemorySource {
    server: MemoryServer,
    open: bool,
    read_only: bool,
    /// POP3: message number → UID, fixed for the session.
    numbers: Vec<u32>,
    pending_deletes: Vec<u32>,
    delivered: usize,
}

fn cut(doing: &str) -> ConnectionError {
    ConnectionError::new(
        ErrorCategory::Connect,
        format!("the server closed the connection while {doing}"),
    )
}

impl MemorySource {
    fn uid_of(&self, id: &SourceId) -> Option<u32> {
        match id {
            SourceId::Uid(u) => Some(*u),
            SourceId::Uidl(s) => s.strip_prefix("uidl-").and_then(|n| n.parse().ok()),
            SourceId::Number(n) => {
                let i = usize::try_from(*n).ok()?.checked_sub(1)?;
                self.numbers.get(i).copied()
            }
        }
    }
}

impl MailSource for MemorySource {
    fn describe(&self) -> String {
        format!("{:?} in memory", self.server.protocol)
    }

    fn open(&mut self, read_only: bool) -> Result<Listing, ConnectionError> {
        if self
            .server
            .take_fault(|f| matches!(f, MemoryFault::Open))
            .is_some()
        {
            return Err(ConnectionError::new(
                ErrorCategory::Connect,
                "connection refused (injected)",
            ));
        }
        let mut s = self.server.lock();
        s.sessions += 1;
        self.open = true;
        self.read_only = read_only;
        self.delivered = 0;
        self.pending_deletes.clear();
        self.numbers = s.messages.keys().copied().collect();
        let messages = s
            .messages
            .iter()
            .enumerate()
            .map(|(i, (uid, raw))| ListedMessage {
                id: match self.server.protocol {
                    MemoryProtocol::Imap => SourceId::Uid(*uid),
                    MemoryProtocol::Pop3 => SourceId::Uidl(format!("uidl-{uid}")),
                    MemoryProtocol::Pop3NoUidl => SourceId::Number(i as u32 + 1),
                },
                size: raw.len() as u64,
            })
            .collect();
        Ok(Listing {
            mailbox: (self.server.protocol == MemoryProtocol::Imap).then(|| "INBOX".to_owned()),
            uid_validity: (self.server.protocol == MemoryProtocol::Imap).then_some(s.uid_validity),
            messages,
        })
    }

    fn fetch(
        &mut self,
        messages: &[ListedMessage],
        sink: &mut dyn MessageSink,
    ) -> Result<(), ConnectionError> {
        if !self.open {
            return Err(cut("fetching (not open)"));
        }
        for m in messages {
            let Some(uid) = self.uid_of(&m.id) else {
                continue;
            };
            let (raw, refused) = {
                let s = self.server.lock();
                (s.messages.get(&uid).cloned(), s.refuse.contains(&uid))
            };
            let Some(raw) = raw else { continue };
            if refused {
                sink.refused(&m.id, "the server refused to deliver it (injected)");
                continue;
            }
            let (limit, poisoned) = {
                let s = self.server.lock();
                let limit = s.faults.iter().find_map(|f| match f {
                    MemoryFault::AfterMessages(n) => Some(*n),
                    _ => None,
                });
                (limit, s.poison.contains(&uid))
            };
            if poisoned || limit == Some(self.delivered) {
                if !poisoned {
                    self.server
                        .take_fault(|f| matches!(f, MemoryFault::AfterMessages(_)));
                }
                self.open = false;
                // Half of the message arrives, then the connection breaks.
                let half = &raw[..raw.len() / 2];
                let mut body = half.chain(FailingReader);
                return match sink.message(&m.id, m.size, &mut body) {
                    Err(e) => Err(cut(&format!("fetching {} ({e})", m.id))),
                    Ok(_) => Err(cut(&format!("fetching {}", m.id))),
                };
            }
            *self.server.lock().fetches.entry(uid).or_default() += 1;
            self.delivered += 1;
            let flow = sink
                .message(&m.id, m.size, &mut raw.as_slice())
                .map_err(|e| cut(&format!("fetching {} ({e})", m.id)))?;
            if flow.is_break() {
                break;
            }
        }
        Ok(())
    }

    fn delete(&mut self, ids: &[SourceId]) -> Result<(), ConnectionError> {
        if self.read_only {
            return Err(ConnectionError::new(
                ErrorCategory::Protocol,
                "the mailbox is read-only (keep copy): nothing may be deleted",
            ));
        }
        if !self.open {
            return Err(cut("deleting (not open)"));
        }
        if self
            .server
            .take_fault(|f| matches!(f, MemoryFault::Delete))
            .is_some()
        {
            self.open = false;
            return Err(cut("deleting"));
        }
        let uids: Vec<u32> = ids.iter().filter_map(|id| self.uid_of(id)).collect();
        match self.server.protocol {
            MemoryProtocol::Imap => {
                let mut s = self.server.lock();
                for uid in uids {
                    if s.messages.remove(&uid).is_some() {
                        s.changes += 1;
                    }
                }
            }
            MemoryProtocol::Pop3 | MemoryProtocol::Pop3NoUidl => {
                self.pending_deletes.extend(uids);
            }
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), ConnectionError> {
        if !self.open {
            return Err(cut("closing (not open)"));
        }
        self.open = false;
        if self
            .server
            .take_fault(|f| matches!(f, MemoryFault::Close))
            .is_some()
        {
            self.pending_deletes.clear();
            return Err(cut("waiting for the answer to QUIT"));
        }
        let mut s = self.server.lock();
        for uid in self.pending_deletes.drain(..) {
            if s.messages.remove(&uid).is_some() {
                s.changes += 1;
            }
        }
        Ok(())
    }
}

struct FailingReader;

impl Read for FailingReader {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection reset (injected)",
        ))
    }
}
