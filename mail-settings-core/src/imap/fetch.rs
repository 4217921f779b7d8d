//! `UID FETCH`, read by our own reader ([`read_fetch`]) rather than the crate's: each response
//! is handed over as soon as it is complete, bodies are kept up to a limit or drained without
//! being kept, so that memory holds at most one message (and never depends on the batch size).
//!
//! [`ImapSession::uid_fetch_checked`] is what the collector uses: it checks that each body is
//! the message asked for (the UID asked for, once, as many bytes as its `RFC822.SIZE` and the
//! size listed) and protects every UID it cannot vouch for from removal in this session.

use super::response::{io_err, read_err, read_fetch, FetchItem, Keep, ReadError};
use super::session::ImapSession;
use super::{
    protocol, uid_set, FetchedMessage, MessageFlags, MessageSize, FETCH_TAG_PREFIX, MAX_LITERAL,
};
use crate::error::ConnectionError;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{Read, Write};

/// One outcome of [`ImapSession::uid_fetch_checked`].
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fetched {
    /// The message asked for: its UID, once, with as many bytes as its `RFC822.SIZE` and the
    /// size it was listed with.
    Message(FetchedMessage),
    /// Bytes that may not be the message they are labelled as (a UID not asked for, a second
    /// body for one UID, a size that does not match, no UID at all). They may be kept, but the
    /// server must not be changed for `label` nor `asked`: the session already refuses to
    /// remove them.
    Suspect {
        /// The UID the server put on the body, if any.
        label: Option<u32>,
        /// The UID asked for whose place the body took (a size mismatch), if any.
        asked: Option<u32>,
        /// The bytes, as they came.
        raw: Vec<u8>,
        /// Why they are suspect (safe to show).
        reason: String,
    },
    /// A body larger than the limit: drained without being kept.
    TooLarge {
        /// Its UID, if the server gave one.
        uid: Option<u32>,
        /// Its length in bytes.
        size: u64,
    },
    /// A UID asked for that did not come while suspect bodies did (it may have been one of
    /// them): protected too.
    Missing {
        /// The UID asked for.
        uid: u32,
        /// Why (safe to show).
        reason: String,
    },
}

impl fmt::Debug for Fetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fetched::Message(m) => f.debug_tuple("Message").field(m).finish(),
            Fetched::Suspect {
                label,
                asked,
                raw,
                reason,
            } => f
                .debug_struct("Suspect")
                .field("label", label)
                .field("asked", asked)
                .field("bytes", &raw.len())
                .field("reason", reason)
                .finish(),
            Fetched::TooLarge { uid, size } => f
                .debug_struct("TooLarge")
                .field("uid", uid)
                .field("size", size)
                .finish(),
            Fetched::Missing { uid, reason } => f
                .debug_struct("Missing")
                .field("uid", uid)
                .field("reason", reason)
                .finish(),
        }
    }
}

/// Sorted, unique, non-zero.
fn sorted(uids: impl IntoIterator<Item = u32>) -> Vec<u32> {
    uids.into_iter()
        .filter(|u| *u > 0)
        .collect::<BTreeSet<u32>>()
        .into_iter()
        .collect()
}

impl<S: Read + Write> ImapSession<S> {
    /// Sends `UID FETCH {set} {items}` and reads its responses with [`read_fetch`]. A response
    /// that cannot be read to its end abandons the session (see `usable`).
    fn run_fetch(
        &mut self,
        set: &str,
        items: &str,
        keep: Keep,
        doing: &str,
        each: impl FnMut(FetchItem) -> bool,
    ) -> Result<(), ConnectionError> {
        self.usable()?;
        self.fetch_tag = self.fetch_tag.wrapping_add(1);
        let tag = format!("{FETCH_TAG_PREFIX}{}", self.fetch_tag);
        let bound = self.bound;
        let r = {
            let mut shared = self.stream.lock();
            let rd = &mut shared.rd;
            match rd
                .write_all(format!("{tag} UID FETCH {set} {items}\r\n").as_bytes())
                .and_then(|()| rd.flush())
            {
                Ok(()) => read_fetch(rd, tag.as_bytes(), keep, each),
                Err(e) => Err(ReadError::from(e)),
            }
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) => {
                let usable = e.leaves_session_usable();
                let err = match e {
                    ReadError::Io(io) => io_err(io, doing, bound),
                    other => read_err(other, doing, bound),
                };
                if !usable {
                    self.broken = Some(err.message().to_owned());
                }
                Err(err)
            }
        }
    }

    /// Every UID in the selected mailbox (`UID FETCH 1:* (UID)`, read as it comes: a mailbox
    /// of any size fits the line bounds), ascending.
    pub fn uids(&mut self) -> Result<Vec<u32>, ConnectionError> {
        if self.require_selected("UID FETCH")?.exists == 0 {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        self.run_fetch("1:*", "(UID)", Keep::Drop, "listing the messages", |f| {
            out.extend(f.uid);
            true
        })?;
        Ok(sorted(out))
    }

    /// The sizes of the messages with UIDs in `first..=last` (`None`: to the newest), ascending.
    pub fn fetch_sizes(
        &mut self,
        first: u32,
        last: Option<u32>,
    ) -> Result<Vec<MessageSize>, ConnectionError> {
        let info = self.require_selected("UID FETCH")?;
        if info.exists == 0 {
            return Ok(Vec::new());
        }
        let first = first.max(1);
        let range = match last {
            Some(l) if l < first => return Ok(Vec::new()),
            Some(l) => format!("{first}:{l}"),
            None => format!("{first}:*"),
        };
        let mut out: Vec<MessageSize> = Vec::new();
        self.run_fetch(
            &range,
            "(UID RFC822.SIZE)",
            Keep::Drop,
            "fetching message sizes",
            |f| {
                if let (Some(uid), Some(size)) = (f.uid, f.size) {
                    if uid >= first && last.is_none_or(|l| uid <= l) {
                        out.push(MessageSize { uid, size });
                    }
                }
                true
            },
        )?;
        out.sort_unstable_by_key(|m| m.uid);
        out.dedup_by_key(|m| m.uid);
        Ok(out)
    }

    /// The flags of the messages with these UIDs.
    pub fn flags(&mut self, uids: &[u32]) -> Result<Vec<MessageFlags>, ConnectionError> {
        self.require_selected("UID FETCH")?;
        let Some(set) = uid_set(uids) else {
            return Ok(Vec::new());
        };
        let wanted: BTreeSet<u32> = uids.iter().copied().collect();
        let mut out: Vec<MessageFlags> = Vec::new();
        self.run_fetch(&set, "(UID FLAGS)", Keep::Drop, "fetching flags", |f| {
            if let (Some(uid), Some(flags)) = (f.uid.filter(|u| wanted.contains(u)), f.flags) {
                out.push(MessageFlags { uid, flags });
            }
            true
        })?;
        out.sort_unstable_by_key(|m| m.uid);
        out.dedup_by_key(|m| m.uid);
        Ok(out)
    }

    /// The whole messages with these UIDs (`UID FETCH … (UID RFC822.SIZE BODY.PEEK[])`), asked
    /// for [`ImapOptions::fetch_batch`](super::ImapOptions::fetch_batch) at a time; `\Seen` is
    /// not set. UIDs the server no longer has are left out. Ascending by UID.
    pub fn uid_fetch(&mut self, uids: &[u32]) -> Result<Vec<FetchedMessage>, ConnectionError> {
        let mut out = Vec::with_capacity(uids.len());
        self.uid_fetch_each(uids, |m| {
            out.push(m);
            Ok(())
        })?;
        out.sort_unstable_by_key(|m| m.uid);
        Ok(out)
    }

    /// Like [`uid_fetch`](Self::uid_fetch), handing each message to `each` as soon as it has
    /// arrived, so that at most one message is held in memory. Bodies labelled with a UID not
    /// asked for, and second bodies for one UID, are dropped. An error from `each` stops the
    /// fetch (the response is still read to its end, bodies drained). A body larger than
    /// [`MAX_LITERAL`] is drained and is an error once the response is read.
    pub fn uid_fetch_each<F>(&mut self, uids: &[u32], mut each: F) -> Result<(), ConnectionError>
    where
        F: FnMut(FetchedMessage) -> Result<(), ConnectionError>,
    {
        self.require_selected("UID FETCH")?;
        let sorted = sorted(uids.iter().copied());
        for chunk in sorted.chunks(self.fetch_batch.max(1)) {
            let Some(set) = uid_set(chunk) else { continue };
            let wanted: BTreeSet<u32> = chunk.iter().copied().collect();
            let mut seen: BTreeSet<u32> = BTreeSet::new();
            let mut failed: Option<ConnectionError> = None;
            let mut too_large: Option<u64> = None;
            self.run_fetch(
                &set,
                "(UID RFC822.SIZE BODY.PEEK[])",
                Keep::UpTo(MAX_LITERAL as u64),
                "fetching messages",
                |f| {
                    let Some(uid) = f.uid.filter(|u| wanted.contains(u)) else {
                        return true;
                    };
                    if f.body.is_none() {
                        too_large = too_large.or(f.body_len);
                        return true;
                    }
                    if !seen.insert(uid) {
                        return true;
                    }
                    let m = FetchedMessage {
                        uid,
                        size: f.size,
                        raw: f.body.unwrap_or_default(),
                    };
                    match each(m) {
                        Ok(()) => true,
                        Err(e) => {
                            failed = Some(e);
                            false
                        }
                    }
                },
            )?;
            if let Some(e) = failed {
                return Err(e);
            }
            if let Some(n) = too_large {
                return Err(protocol(format!(
                    "the server sent a message of {n} bytes, more than the {MAX_LITERAL} bytes \
                     a fetch keeps; it was not kept"
                )));
            }
        }
        Ok(())
    }

    /// The collector's fetch: the messages `wanted` (UID, and the size it was listed with when
    /// known), [`fetch_batch`](Self::set_fetch_batch) at a time, each outcome handed to `each`
    /// as soon as it has arrived ([`Fetched`]). Bodies larger than `limit` bytes are drained
    /// without being kept ([`Fetched::TooLarge`]); memory holds at most one body of at most
    /// `limit` bytes plus the read buffer, whatever the batch size.
    ///
    /// A body is handed over as [`Fetched::Message`] only when it is what was asked for: a UID
    /// asked for, the first body for it, as many bytes as its `RFC822.SIZE` (when sent) and its
    /// listed size (when given). Anything else is [`Fetched::Suspect`], and then UIDs asked for
    /// that did not come are [`Fetched::Missing`]; the UIDs of both are protected: this session
    /// never marks them `\Deleted` nor expunges them ([`protected_uids`](Self::protected_uids)).
    /// UIDs the server no longer has (no body, nothing suspect) are left out. An error from
    /// `each` stops the fetch (the response is still read to its end, bodies drained).
    pub fn uid_fetch_checked<F>(
        &mut self,
        wanted: &[(u32, Option<u64>)],
        limit: u64,
        mut each: F,
    ) -> Result<(), ConnectionError>
    where
        F: FnMut(Fetched) -> Result<(), ConnectionError>,
    {
        self.require_selected("UID FETCH")?;
        let listed: BTreeMap<u32, Option<u64>> =
            wanted.iter().filter(|(u, _)| *u > 0).copied().collect();
        let uids: Vec<u32> = listed.keys().copied().collect();
        let keep = Keep::UpTo(limit.min(MAX_LITERAL as u64));
        for chunk in uids.chunks(self.fetch_batch.max(1)) {
            let Some(set) = uid_set(chunk) else { continue };
            let asked: BTreeSet<u32> = chunk.iter().copied().collect();
            let mut seen: BTreeSet<u32> = BTreeSet::new();
            let mut protect: BTreeSet<u32> = BTreeSet::new();
            let mut suspect: Option<String> = None;
            let mut failed: Option<ConnectionError> = None;
            let r = self.run_fetch(
                &set,
                "(UID RFC822.SIZE BODY.PEEK[])",
                keep,
                "fetching messages",
                |f| {
                    let Some(len) = f.body_len else {
                        // No body (FLAGS news, NIL): nothing to hand over.
                        return true;
                    };
                    let event = classify(f, len, &asked, &listed, &mut seen);
                    match &event {
                        Fetched::Suspect {
                            label,
                            asked: a,
                            reason,
                            ..
                        } => {
                            protect.extend(label.iter().chain(a.iter()));
                            suspect.get_or_insert_with(|| reason.clone());
                        }
                        Fetched::TooLarge { uid: Some(u), .. } if !asked.contains(u) => {
                            protect.insert(*u);
                        }
                        _ => {}
                    }
                    if failed.is_some() {
                        return false;
                    }
                    match each(event) {
                        Ok(()) => true,
                        Err(e) => {
                            failed = Some(e);
                            false
                        }
                    }
                },
            );
            self.protected.extend(protect);
            if let Some(why) = &suspect {
                for &uid in asked.difference(&seen) {
                    self.protected.insert(uid);
                    if failed.is_none() && r.is_ok() {
                        let reason = format!(
                            "UID {uid} did not come while the server sent something else ({why}); \
                             its server copy is kept"
                        );
                        if let Err(e) = each(Fetched::Missing { uid, reason }) {
                            failed = Some(e);
                        }
                    }
                }
            }
            r?;
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Ok(())
    }
}

/// What a `* n FETCH` with a body of `len` bytes is (see [`ImapSession::uid_fetch_checked`]).
fn classify(
    f: FetchItem,
    len: u64,
    asked: &BTreeSet<u32>,
    listed: &BTreeMap<u32, Option<u64>>,
    seen: &mut BTreeSet<u32>,
) -> Fetched {
    let first_for_asked = f.uid.filter(|u| asked.contains(u) && !seen.contains(u));
    let Some(raw) = f.body else {
        if let Some(u) = first_for_asked {
            seen.insert(u);
        }
        return Fetched::TooLarge {
            uid: f.uid,
            size: len,
        };
    };
    let Some(uid) = first_for_asked else {
        let reason = match f.uid {
            Some(u) if asked.contains(&u) => format!("a second body labelled UID {u}"),
            Some(u) => format!("a body labelled UID {u}, which was not asked for"),
            None => "a body without a UID".to_owned(),
        };
        return Fetched::Suspect {
            label: f.uid,
            asked: None,
            raw,
            reason,
        };
    };
    seen.insert(uid);
    let rfc = f.size.map(u64::from);
    let mismatch = match (rfc, listed.get(&uid).copied().flatten()) {
        (Some(s), _) if s != len => Some(format!(
            "the body of UID {uid} is {len} bytes, its RFC822.SIZE {s}"
        )),
        (_, Some(s)) if s != len => Some(format!(
            "the body of UID {uid} is {len} bytes, but it was listed with {s}"
        )),
        _ => None,
    };
    match mismatch {
        Some(reason) => Fetched::Suspect {
            label: Some(uid),
            asked: Some(uid),
            raw,
            reason,
        },
        None => Fetched::Message(FetchedMessage {
            uid,
            size: f.size,
            raw,
        }),
    }
}
