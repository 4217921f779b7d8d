//! The collector's POP3 source, over [`crate::pop3`]: `LIST` for sizes, `UIDL` for stable
//! ids (a server without it falls back to message numbers, and the collector to content
//! hashes), one pipelined `RETR` stream per batch (each message handed
//! over as soon as it is read), `DELE` (applied by `QUIT` only).

use super::source::{ListedMessage, Listing, MailSource, MessageSink, SourceId};
use crate::credentials::CredentialProvider;
use crate::error::{ConnectionError, ErrorCategory};
use crate::net::{MailStream, Timeouts};
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
        let mut client =
            Pop3Client::connect(&self.account, self.credentials.as_ref(), &self.timeouts)?;
        let sizes = client.list()?;
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
        let messages = match uids {
            Some(uids) => {
                let by_number: HashMap<u32, String> =
                    uids.into_iter().map(|u| (u.number, u.uid)).collect();
                let mut out = Vec::with_capacity(sizes.len());
                for s in sizes {
                    let Some(uid) = by_number.get(&s.number) else {
                        return Err(ConnectionError::new(
                            ErrorCategory::Protocol,
                            format!(
                                "the server's UIDL answer has no entry for message {}",
                                s.number
                            ),
                        ));
                    };
                    self.numbers.insert(uid.clone(), s.number);
                    out.push(ListedMessage {
                        id: SourceId::Uidl(uid.clone()),
                        size: s.size,
                    });
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
        let client = self.client()?;
        // One pipeline over the whole batch; each message goes to the sink as soon as it is
        // read, so only the one being read is held here.
        let numbers: Vec<u32> = wanted.iter().map(|(n, _)| *n).collect();
        client.retr_each(
            &numbers,
            |i| Bounded {
                buf: Vec::with_capacity(
                    usize::try_from(wanted[i].1.size.min(limit).min(64 << 20) + 1024).unwrap_or(0),
                ),
                limit,
            },
            |i, raw, result| {
                let id = &wanted[i].1.id;
                match result {
                    Ok(_) => sink.message_bytes(id, raw.buf),
                    Err(e) => {
                        sink.refused(id, e.message());
                        ControlFlow::Continue(())
                    }
                }
            },
        )
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
}

/// A message buffer that refuses to grow past the account's size limit.
struct Bounded {
    buf: Vec<u8>,
    limit: u64,
}

impl std::io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() as u64 + data.len() as u64 > self.limit {
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
