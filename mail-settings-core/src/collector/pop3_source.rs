//! The collector's POP3 source, over [`crate::pop3`]: `LIST` for sizes, `UIDL` for stable
//! ids (a server without it falls back to message numbers, and the collector to content
//! hashes), one pipelined `RETR` stream per batch (each message handed
//! over as soon as it is read), `DELE` (applied by `QUIT` only).
//!
//! What a misbehaving server cannot make it do:
//! - **ids listed more than once** (a server answering `UIDL` with the same id for several
//!   messages): those messages are handled by their content, like on a server without UIDL
//!   (fetched by number, stored under their content hash, removed only after their own bytes
//!   are stored), never under the shared id; the run report notes it;
//! - **a bad `LIST` line** (GreenMail 2.1 answers `3 -1` for an empty message): that message
//!   alone is left on the server and reported as `refused`, quoting the line made safe;
//! - **a message larger than announced**: never held past the account's limit; it is read
//!   and dropped, left on the server and reported as `skipped_too_large`;
//! - **time without end** (a greeting dripped a byte at a time, an endless `RETR` body): the
//!   session's opening (greeting to listing) is bounded by [`Timeouts::check`], each message by
//!   [`Timeouts::message_budget`] of its announced size, everything by the run's
//!   [`Timeouts::run`]; passing one ends the run with [`ErrorCategory::Timeout`] naming the
//!   stage.

use super::source::{ListedMessage, Listing, MailSource, MessageSink, SourceId, UnusableListing};
use crate::credentials::CredentialProvider;
use crate::error::{ConnectionError, ErrorCategory};
use crate::net::{MailStream, OpDeadline, Timeouts};
use crate::pop3::Pop3Client;
use crate::typed::IncomingAccount;
use std::collections::HashMap;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;

/// A POP3 session for the collector.
pub struct Pop3Source {
    account: IncomingAccount,
    credentials: Arc<dyn CredentialProvider>,
    timeouts: Timeouts,
    client: Option<Pop3Client<MailStream>>,
    numbers: HashMap<String, u32>,
    unusable: Vec<UnusableListing>,
    notes: Vec<String>,
    /// The run's deadline, from the first `open`.
    run: Option<OpDeadline>,
}

impl fmt::Debug for Pop3Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pop3Source")
            .field("account", &self.account.name())
            .field("endpoint", &self.account.connection().endpoint)
            .field("open", &self.client.is_some())
            .finish()
    }
}

impl Pop3Source {
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
            client: None,
            numbers: HashMap::new(),
            unusable: Vec::new(),
            notes: Vec::new(),
            run: None,
        }
    }

    fn client(&mut self) -> Result<&mut Pop3Client<MailStream>, ConnectionError> {
        self.client.as_mut().ok_or_else(|| {
            ConnectionError::new(ErrorCategory::Protocol, "the POP3 session is not open")
        })
    }

    fn number(&self, id: &SourceId) -> Option<u32> {
        match id {
            SourceId::Number(n) => Some(*n),
            SourceId::Uidl(u) => self.numbers.get(u).copied(),
            _ => None,
        }
    }
}

impl MailSource for Pop3Source {
    fn describe(&self) -> String {
        format!("POP3 {}", self.account.connection().endpoint)
    }

    fn open(&mut self, _read_only: bool) -> Result<Listing, ConnectionError> {
        let run = *self.run.get_or_insert_with(|| self.timeouts.run_deadline());
        let opening =
            OpDeadline::after(self.timeouts.check, "opening the POP3 session").earlier(run);
        let mut client = Pop3Client::connect_within(
            &self.account,
            self.credentials.as_ref(),
            &self.timeouts,
            Some(opening),
        )?;
        self.unusable.clear();
        self.notes.clear();
        let mut bad_lines = Vec::new();
        let sizes: Vec<_> = client
            .list_lenient()?
            .into_iter()
            .filter_map(|l| l.map_err(|bad| bad_lines.push(bad)).ok())
            .collect();
        let advertised = client
            .capabilities()
            .map(|c| c.has("UIDL"))
            .unwrap_or(false);
        let uids = match client.uidl() {
            Ok(u) => Some(u),
            Err(e) if e.is_protocol() && client.is_usable() => {
                tracing::info!(
                    account = self.account.name(),
                    advertised,
                    error = %e,
                    "the POP3 server has no UIDL: messages are recognised by their content"
                );
                None
            }
            Err(e) => return Err(e),
        };
        self.numbers.clear();
        let by_number: HashMap<u32, String> = uids
            .iter()
            .flatten()
            .map(|u| (u.number, u.uid.clone()))
            .collect();
        for bad in bad_lines {
            let id = bad.number.map(|n| match by_number.get(&n) {
                Some(uid) => SourceId::Uidl(uid.clone()),
                None => SourceId::Number(n),
            });
            self.unusable.push(UnusableListing {
                id,
                reason: format!("{bad}: this message is left on the server"),
            });
        }
        let messages = match uids {
            Some(_) => {
                // An id shared by several messages proves nothing about any of them: those
                // are handled by their number and content, like on a server without UIDL.
                let mut times: HashMap<&str, u32> = HashMap::new();
                for s in &sizes {
                    if let Some(uid) = by_number.get(&s.number) {
                        *times.entry(uid.as_str()).or_default() += 1;
                    }
                }
                let mut shared: Vec<(&str, u32)> = times
                    .iter()
                    .filter(|(_, n)| **n > 1)
                    .map(|(u, n)| (*u, *n))
                    .collect();
                shared.sort_unstable();
                for (uid, n) in &shared {
                    self.notes.push(format!(
                        "the server lists {n} messages under the same UIDL \"{}\": they are recognised by their content and removed from the server only after their own bytes are stored",
                        crate::pop3::escaped(uid.as_bytes())
                    ));
                }
                let mut out = Vec::with_capacity(sizes.len());
                for s in &sizes {
                    let Some(uid) = by_number.get(&s.number) else {
                        return Err(ConnectionError::new(
                            ErrorCategory::Protocol,
                            format!(
                                "the server's UIDL answer has no entry for message {}",
                                s.number
                            ),
                        ));
                    };
                    let id = if times.get(uid.as_str()).copied().unwrap_or(1) > 1 {
                        SourceId::Number(s.number)
                    } else {
                        self.numbers.insert(uid.clone(), s.number);
                        SourceId::Uidl(uid.clone())
                    };
                    out.push(ListedMessage { id, size: s.size });
                }
                out
            }
            None => sizes
                .into_iter()
                .map(|s| ListedMessage {
                    id: SourceId::Number(s.number),
                    size: s.size,
                })
                .collect(),
        };
        client.get_mut().set_deadline(Some(run));
        self.client = Some(client);
        Ok(Listing {
            mailbox: None,
            uid_validity: None,
            messages,
        })
    }

    fn fetch(
        &mut self,
        messages: &[ListedMessage],
        sink: &mut dyn MessageSink,
    ) -> Result<(), ConnectionError> {
        let wanted: Vec<(u32, &ListedMessage)> = messages
            .iter()
            .filter_map(|m| self.number(&m.id).map(|n| (n, m)))
            .collect();
        // A server may send more than it announced: never hold more than the account's limit.
        let limit = self.account.max_message_size();
        let timeouts = self.timeouts;
        let run = self.run;
        let client = self.client()?;
        // One pipeline over the whole batch; each message goes to the sink as soon as it is
        // read, so only the one being read is held here.
        let numbers: Vec<u32> = wanted.iter().map(|(n, _)| *n).collect();
        let result = client.retr_each_with(
            &numbers,
            // Each message has its own budget, growing with its announced size.
            |stream, i| stream.set_deadline(Some(timeouts.message_deadline(wanted[i].1.size, run))),
            |i| Bounded {
                buf: Vec::with_capacity(
                    usize::try_from(wanted[i].1.size.min(limit).min(64 << 20) + 1024).unwrap_or(0),
                ),
                limit,
                over: false,
            },
            |i, raw, result| {
                let id = &wanted[i].1.id;
                match result {
                    Ok(_) => sink.message_bytes(id, raw.buf),
                    Err(_) if raw.over => {
                        sink.too_large(
                            id,
                            &format!(
                                "more than the account's limit of {limit} bytes arrived (the server announced {} bytes): left on the server",
                                wanted[i].1.size
                            ),
                        );
                        ControlFlow::Continue(())
                    }
                    Err(e) => {
                        sink.refused(id, e.message());
                        ControlFlow::Continue(())
                    }
                }
            },
        );
        if let Some(c) = self.client.as_mut() {
            c.get_mut().set_deadline(run);
        }
        result
    }

    fn delete(&mut self, ids: &[SourceId]) -> Result<(), ConnectionError> {
        let numbers: Vec<u32> = ids.iter().filter_map(|id| self.number(id)).collect();
        if numbers.is_empty() {
            return Ok(());
        }
        let results = self.client()?.dele_many(&numbers)?;
        for (n, r) in numbers.iter().zip(results) {
            if let Err(e) = r {
                // Stays on the server and in the ledger: the next run tries again.
                tracing::warn!(account = self.account.name(), message = n, error = %e, "DELE refused");
            }
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), ConnectionError> {
        match self.client.take() {
            Some(c) => c.quit(),
            None => Ok(()),
        }
    }

    fn unusable(&self) -> Vec<UnusableListing> {
        self.unusable.clone()
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}

/// A message buffer that refuses to grow past the account's size limit.
struct Bounded {
    buf: Vec<u8>,
    limit: u64,
    /// The limit was passed (the rest of the message is read and dropped).
    over: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() as u64 + data.len() as u64 > self.limit {
            self.over = true;
            self.buf = Vec::new();
            return Err(std::io::Error::other(format!(
                "the message is larger than the account's limit of {} bytes, although the server announced less",
                self.limit
            )));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
