//! Connections to one SMTP account, kept open and reused.
//!
//! Opening a submission session costs a TCP (and maybe proxy) connection, a TLS handshake and
//! AUTH; an application that sends many notifications should pay that once. An [`SmtpPool`]
//! keeps up to [`PoolConfig::max_idle`] authenticated sessions between messages. Before a
//! session is reused it is reset (RSET): one that fails is dropped and replaced by a new one, so
//! a connection the server closed meanwhile costs nothing but a reconnect. Sessions idle longer
//! than [`PoolConfig::idle_timeout`] are closed rather than reused (servers close idle clients
//! after a few minutes). The pool is `Send + Sync`: threads share it; each message takes a
//! session of its own, opening one when none is idle.

use super::{
    close, compose, connect, ensure_enabled, label, send_on, ComposedMessage, OutgoingMessage,
    SendReport, SmtpConnection, SmtpOptions,
};
use crate::credentials::CredentialProvider;
use crate::error::ConnectionError;
use crate::typed::SmtpAccount;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Limits of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Most sessions kept open between messages (default 4).
    pub max_idle: usize,
    /// A session idle longer than this is closed instead of reused (default 60 s).
    pub idle_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_idle: 4,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

impl PoolConfig {
    /// Defaults with at most `max_idle` idle sessions.
    pub fn with_max_idle(max_idle: usize) -> Self {
        Self {
            max_idle,
            ..Self::default()
        }
    }
}

struct Idle {
    client: SmtpConnection,
    since: Instant,
}

/// Reusable sessions to one SMTP account.
pub struct SmtpPool {
    account: SmtpAccount,
    creds: Arc<dyn CredentialProvider>,
    options: SmtpOptions,
    config: PoolConfig,
    idle: Mutex<Vec<Idle>>,
    opened: AtomicU64,
    reused: AtomicU64,
}

impl fmt::Debug for SmtpPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpPool")
            .field("account", &self.account.name())
            .field("endpoint", &self.account.connection().endpoint)
            .field("config", &self.config)
            .field("idle", &self.idle_connections())
            .field("opened", &self.connections_opened())
            .finish()
    }
}

impl SmtpPool {
    /// A pool for `account`; nothing is opened until the first message. A disabled account is
    /// refused.
    pub fn new(
        account: SmtpAccount,
        creds: Arc<dyn CredentialProvider>,
        options: SmtpOptions,
        config: PoolConfig,
    ) -> Result<Self, ConnectionError> {
        ensure_enabled(&account)?;
        Ok(Self {
            account,
            creds,
            options,
            config,
            idle: Mutex::new(Vec::new()),
            opened: AtomicU64::new(0),
            reused: AtomicU64::new(0),
        })
    }

    /// The account.
    pub fn account(&self) -> &SmtpAccount {
        &self.account
    }

    /// Sessions open and waiting for a message.
    pub fn idle_connections(&self) -> usize {
        self.lock().len()
    }

    /// Sessions opened since the pool was made.
    pub fn connections_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Times an idle session was reused.
    pub fn connections_reused(&self) -> u64 {
        self.reused.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Idle>> {
        match self.idle.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// An idle session that answers RSET, or a new one.
    fn checkout(&self) -> Result<SmtpConnection, ConnectionError> {
        loop {
            let next = self.lock().pop();
            let Some(idle) = next else { break };
            let mut client = idle.client;
            if idle.since.elapsed() > self.config.idle_timeout {
                close(client);
                continue;
            }
            match client.rset() {
                Ok(()) => {
                    self.reused.fetch_add(1, Ordering::Relaxed);
                    return Ok(client);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "idle SMTP session failed RSET; replacing it");
                    if let Ok(mut s) = client.quit() {
                        let _ = s.shutdown();
                    }
                }
            }
        }
        let client = connect(&self.account, self.creds.as_ref(), &self.options)?;
        self.opened.fetch_add(1, Ordering::Relaxed);
        Ok(client)
    }

    fn checkin(&self, client: SmtpConnection) {
        if !client.is_usable() {
            return;
        }
        let mut idle = self.lock();
        if idle.len() < self.config.max_idle {
            idle.push(Idle {
                client,
                since: Instant::now(),
            });
        } else {
            drop(idle);
            close(client);
        }
    }

    /// Sends one message (the account's rules applied, see [`compose`]).
    pub fn send(&self, message: &OutgoingMessage) -> Result<SendReport, ConnectionError> {
        let composed = compose(&self.account, message)?;
        self.send_composed(&composed)
    }

    /// Sends a composed message.
    pub fn send_composed(&self, composed: &ComposedMessage) -> Result<SendReport, ConnectionError> {
        let mut client = self.checkout()?;
        let result = send_on(&mut client, &self.account, composed);
        self.checkin(client);
        result
    }

    /// Sends several messages, one after the other; one result per message, in order.
    pub fn send_many(
        &self,
        messages: &[OutgoingMessage],
    ) -> Vec<Result<SendReport, ConnectionError>> {
        messages.iter().map(|m| self.send(m)).collect()
    }

    /// Checks the idle sessions with NOOP, dropping those that fail; returns how many are left.
    pub fn check_idle(&self) -> usize {
        let taken: Vec<Idle> = std::mem::take(&mut *self.lock());
        let mut kept = Vec::with_capacity(taken.len());
        for mut i in taken {
            if i.since.elapsed() <= self.config.idle_timeout && i.client.noop().is_ok() {
                kept.push(i);
            } else {
                close(i.client);
            }
        }
        let mut idle = self.lock();
        idle.extend(kept);
        idle.len()
    }

    /// Closes every idle session (QUIT). Sessions in use are closed when they come back only
    /// if the pool is full; the pool stays usable.
    pub fn close_idle(&self) {
        let taken: Vec<Idle> = std::mem::take(&mut *self.lock());
        for i in taken {
            // Do not wait long for a server that no longer answers.
            let short = self.options.timeouts.read.min(Duration::from_secs(2));
            let _ = i.client.stream().set_read_timeout(Some(short));
            close(i.client);
        }
    }

    /// `"SMTP host:port"`, for messages.
    pub fn label(&self) -> String {
        label(&self.account)
    }
}

impl Drop for SmtpPool {
    fn drop(&mut self) {
        self.close_idle();
    }
}
