//! Connections to one SMTP account, kept open and reused.
//!
//! Opening a submission session costs a TCP (and maybe proxy) connection, a TLS handshake and
//! AUTH; an application that sends many notifications should pay that once. An [`SmtpPool`]
//! keeps up to [`PoolConfig::max_idle`] authenticated sessions between messages. Before a
//! session is reused it is reset (RSET): one that fails is dropped and replaced by a new one, so
//! a connection the server closed meanwhile costs nothing but a reconnect. Sessions idle longer
//! than [`PoolConfig::idle_timeout`] are closed rather than reused (servers close idle clients
//! after a few minutes). The pool is `Send + Sync`: threads share it; each message takes a
//! session of its own, opening one when none is idle, and never more than
//! [`PoolConfig::max_open`] at once (servers limit connections per client: Postfix answers
//! `421` past 50 by default, many providers far sooner). A message that finds every session in
//! use waits for one, at most [`PoolConfig::wait_timeout`].

use super::{
    close, compose, connect_until, ensure_enabled, label, send_on, ComposedMessage,
    OutgoingMessage, SendReport, SmtpConnection, SmtpOptions,
};
use crate::credentials::CredentialProvider;
use crate::error::{ConnectionError, ErrorCategory};
use crate::net::OpDeadline;
use crate::typed::SmtpAccount;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Limits of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Most sessions kept open between messages (default 4).
    pub max_idle: usize,
    /// A session idle longer than this is closed instead of reused (default 60 s).
    pub idle_timeout: Duration,
    /// Most sessions open at once, in use or idle (default 10, as lettre's pool; 0 is taken
    /// as 1).
    pub max_open: usize,
    /// How long a message waits for a session when `max_open` are in use; then it fails with
    /// category `timeout` (default 60 s).
    pub wait_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_idle: 4,
            idle_timeout: Duration::from_secs(60),
            max_open: 10,
            wait_timeout: Duration::from_secs(60),
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

    /// These limits with at most `max_open` sessions open at once.
    pub fn max_open(self, max_open: usize) -> Self {
        Self { max_open, ..self }
    }

    /// These limits with messages waiting at most `wait_timeout` for a session.
    pub fn wait_timeout(self, wait_timeout: Duration) -> Self {
        Self {
            wait_timeout,
            ..self
        }
    }
}

struct Idle {
    client: SmtpConnection,
    since: Instant,
}

/// The sessions: those waiting for a message, and how many are open in all.
#[derive(Default)]
struct Sessions {
    idle: Vec<Idle>,
    /// Idle, in use, or being opened.
    open: usize,
}

/// Reusable sessions to one SMTP account.
pub struct SmtpPool {
    account: SmtpAccount,
    creds: Arc<dyn CredentialProvider>,
    options: SmtpOptions,
    config: PoolConfig,
    sessions: Mutex<Sessions>,
    /// Signalled when a session goes back idle or a place to open one frees up.
    released: Condvar,
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
            .field("open", &self.open_connections())
            .field("opened", &self.connections_opened())
            .finish()
    }
}

/// A session taken from the pool for one message. Handed back with [`Lease::finish`]; dropped
/// otherwise (a panic while sending), its connection is dropped (no QUIT: the session is in an
/// unknown state, and a slow server must not hold up the unwinding) and its place freed.
struct Lease<'a> {
    pool: &'a SmtpPool,
    client: Option<SmtpConnection>,
}

impl Lease<'_> {
    fn client(&mut self) -> &mut SmtpConnection {
        self.client
            .as_mut()
            .unwrap_or_else(|| unreachable!("a lease holds its session until it is finished"))
    }

    fn finish(mut self) {
        if let Some(client) = self.client.take() {
            self.pool.checkin(client);
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(client);
            self.pool.free_place();
        }
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
            config: PoolConfig {
                max_open: config.max_open.max(1),
                ..config
            },
            sessions: Mutex::default(),
            released: Condvar::new(),
            opened: AtomicU64::new(0),
            reused: AtomicU64::new(0),
        })
    }

    /// The account.
    pub fn account(&self) -> &SmtpAccount {
        &self.account
    }

    /// The limits in force (`max_open` at least 1).
    pub fn config(&self) -> PoolConfig {
        self.config
    }

    /// Sessions open and waiting for a message.
    pub fn idle_connections(&self) -> usize {
        self.lock().idle.len()
    }

    /// Sessions open now: idle, in use, or being opened (at most `max_open`).
    pub fn open_connections(&self) -> usize {
        self.lock().open
    }

    /// Sessions opened since the pool was made.
    pub fn connections_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Times an idle session was reused.
    pub fn connections_reused(&self) -> u64 {
        self.reused.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Sessions> {
        // Nothing panics while holding this lock; if something did, the counts are still whole.
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One session fewer is open (it was closed, or never opened): a waiting message may open
    /// one.
    fn free_place(&self) {
        self.free_places(1);
    }

    fn free_places(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut s = self.lock();
        s.open = s.open.saturating_sub(n);
        drop(s);
        self.released.notify_all();
    }

    /// An idle session that answers RSET, or a new one; waits while `max_open` are in use.
    /// The session gets the send's deadline for a message of `size` bytes (see
    /// [`crate::net::Timeouts::send_budget`]) once it is taken, after any wait.
    fn checkout(&self, size: u64) -> Result<Lease<'_>, ConnectionError> {
        let deadline = Instant::now() + self.config.wait_timeout;
        loop {
            let idle = {
                let mut s = self.lock();
                loop {
                    if let Some(idle) = s.idle.pop() {
                        break Some(idle);
                    }
                    if s.open < self.config.max_open {
                        // This place is ours: the session is opened outside the lock.
                        s.open += 1;
                        break None;
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(ConnectionError::new(
                            ErrorCategory::Timeout,
                            format!(
                                "{}: all {} sessions of the pool were in use for {:.1} s",
                                self.label(),
                                self.config.max_open,
                                self.config.wait_timeout.as_secs_f64()
                            ),
                        ));
                    }
                    s = self
                        .released
                        .wait_timeout(s, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            };
            let deadline: OpDeadline = self.options.timeouts.send_deadline(size);
            let Some(idle) = idle else {
                return match connect_until(
                    &self.account,
                    self.creds.as_ref(),
                    &self.options,
                    Some(deadline),
                ) {
                    Ok(client) => {
                        self.opened.fetch_add(1, Ordering::Relaxed);
                        Ok(Lease {
                            pool: self,
                            client: Some(client),
                        })
                    }
                    Err(e) => {
                        self.free_place();
                        Err(e)
                    }
                };
            };
            let mut client = idle.client;
            if idle.since.elapsed() > self.config.idle_timeout {
                close(client);
                self.free_place();
                continue;
            }
            client.stream_mut().set_deadline(Some(deadline));
            match client.rset() {
                Ok(()) => {
                    self.reused.fetch_add(1, Ordering::Relaxed);
                    return Ok(Lease {
                        pool: self,
                        client: Some(client),
                    });
                }
                Err(e) => {
                    tracing::debug!(error = %e, "idle SMTP session failed RSET; replacing it");
                    close(client);
                    self.free_place();
                }
            }
        }
    }

    fn checkin(&self, mut client: SmtpConnection) {
        // Idle, the session has no operation under way.
        client.stream_mut().set_deadline(None);
        if !client.is_usable() {
            drop(client);
            self.free_place();
            return;
        }
        let mut s = self.lock();
        if s.idle.len() < self.config.max_idle {
            s.idle.push(Idle {
                client,
                since: Instant::now(),
            });
            drop(s);
            self.released.notify_all();
        } else {
            drop(s);
            close(client);
            self.free_place();
        }
    }

    /// Sends one message (the account's rules applied, see [`compose`]).
    pub fn send(&self, message: &OutgoingMessage) -> Result<SendReport, ConnectionError> {
        let composed = compose(&self.account, message)?;
        self.send_composed(&composed)
    }

    /// Sends a composed message.
    pub fn send_composed(&self, composed: &ComposedMessage) -> Result<SendReport, ConnectionError> {
        // One budget per message, from taking a session (RSET or connecting) to the final reply;
        // the wait for a free session has its own bound (`wait_timeout`).
        let size = composed.data.len() as u64;
        let mut lease = self.checkout(size)?;
        let result = send_on(lease.client(), &self.account, composed);
        lease.finish();
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
        let taken: Vec<Idle> = std::mem::take(&mut self.lock().idle);
        let mut kept = Vec::with_capacity(taken.len());
        let mut closed = 0;
        for mut i in taken {
            if i.since.elapsed() <= self.config.idle_timeout && i.client.noop().is_ok() {
                kept.push(i);
            } else {
                close(i.client);
                closed += 1;
            }
        }
        let mut s = self.lock();
        s.idle.extend(kept);
        let left = s.idle.len();
        drop(s);
        self.released.notify_all();
        self.free_places(closed);
        left
    }

    /// Closes every idle session (QUIT). Sessions in use are closed when they come back only
    /// if the pool is full; the pool stays usable.
    pub fn close_idle(&self) {
        let taken: Vec<Idle> = std::mem::take(&mut self.lock().idle);
        let closed = taken.len();
        for i in taken {
            // Do not wait long for a server that no longer answers.
            let short = self.options.timeouts.read.min(Duration::from_secs(2));
            let _ = i.client.stream().set_read_timeout(Some(short));
            close(i.client);
        }
        self.free_places(closed);
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
