//! Push: new mail noticed within seconds instead of at the next poll.
//!
//! For every enabled IMAP account with `automatic_check` and `use_push`, the running collector
//! keeps one more connection, its **waiter**: logged in, the account's first folder examined
//! (read-only), waiting in IDLE (RFC 2177, [`ImapSession::idle`]). When the server reports new
//! mail, the waiter asks the scheduler to check the account now (a normal run, with its own
//! connection and deadlines; waiting is part of no run's deadline); a report that comes while
//! a run is in progress makes the scheduler run the account again right after it. The other
//! folders, and every account whose server lacks IDLE, are polled every
//! `check_interval_secs`, which stays the safety net for the first folder too.
//!
//! - IDLE is re-issued every [`CollectorOptions::idle_period`] (default 10 minutes, under the
//!   29 minutes after which RFC 2177 lets a server drop an idle client); the answer to `DONE`
//!   must come within the read timeout, so a dead connection is noticed within
//!   `idle_period + read timeout`, and the waiter reconnects with a backoff (1 s, doubling, at
//!   most 5 minutes or [`CollectorOptions::max_backoff`]).
//! - A server without IDLE: the waiter says so once (log) and ends; the account is polled.
//! - [`Collector::stop`](super::Collector::stop) stops every waiter at once: the read half of
//!   its socket is shut down ([`IdleStop`]), so the blocked read returns, and `DONE` and
//!   `LOGOUT` are sent.
//! - Collectors that share the store ([`CollectorOptions::lease`]): a waiter holds its
//!   account's lease while it waits and renews it; each node waits on at most its fair share of
//!   the push accounts and at most [`CollectorOptions::max_waiting_accounts`]; the rest are
//!   polled. See the `lease` module, "Push across nodes".
//! - Cost: a waiter is one thread (stack [`CollectorOptions::push_stack_size`], default 256 KiB
//!   of address space, of which only the touched pages are memory) blocked in one socket read,
//!   so no CPU while nothing happens; see `tests/benches/push.rs` for figures.

use super::lease::{HeldLease, Lease, Renewer};
use super::{CollectorOptions, Inner};
use crate::credentials::CredentialProvider;
use crate::error::{ConnectionError, ErrorCategory};
use crate::imap::{self, IdleEvent, IdleStop, ImapOptions};
use crate::model::{Protocol, RecordId};
use crate::net::{OpDeadline, Timeouts};
use crate::typed::IncomingAccount;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A running waiter.
pub(super) struct Waiter {
    pub(super) stop: IdleStop,
    pub(super) thread: JoinHandle<()>,
    /// With collectors sharing the store: the account's lease, held while the waiter waits
    /// (this node's runs of the account use it), and what renews it. Dropped after the
    /// thread ended: the lease is then released.
    pub(super) lease: Option<Lease>,
    pub(super) renewer: Option<Renewer>,
}

/// What a waiter needs to connect.
#[derive(Clone)]
pub(super) struct PushNet {
    pub(super) credentials: Arc<dyn CredentialProvider>,
    pub(super) timeouts: Timeouts,
}

/// Why a waiter's session ended.
enum End {
    Stopped,
    NoIdle,
    Ineligible,
}

/// Whether `account` gets a waiter.
pub(super) fn eligible(account: &IncomingAccount) -> bool {
    account.enabled()
        && account.automatic_check()
        && account.use_push()
        && account.protocol() == Protocol::Imap
}

/// Starts a waiter for account `id`.
pub(super) fn spawn(
    inner: Arc<Inner>,
    net: PushNet,
    id: RecordId,
    options: &CollectorOptions,
    held: Option<HeldLease>,
) -> std::io::Result<Waiter> {
    let stop = IdleStop::new();
    let s2 = stop.clone();
    let period = options.idle_period.max(Duration::from_secs(1));
    let max_backoff = options
        .max_backoff
        .min(Duration::from_secs(300))
        .max(Duration::from_secs(1));
    let thread = std::thread::Builder::new()
        .name(format!("mail-push-{id}"))
        .stack_size(options.push_stack_size.max(64 * 1024))
        .spawn(move || waiter(&inner, &net, id, &s2, period, max_backoff, held.as_ref()))?;
    Ok(Waiter {
        stop,
        thread,
        lease: None,
        renewer: None,
    })
}

fn waiter(
    inner: &Inner,
    net: &PushNet,
    id: RecordId,
    stop: &IdleStop,
    period: Duration,
    max_backoff: Duration,
    held: Option<&HeldLease>,
) {
    let mut backoff = Duration::from_secs(1);
    while !stop.is_stopped() {
        let account = match inner.store.incoming_account(id) {
            Ok(a) => a,
            Err(_) => return,
        };
        match session(inner, net, &account, stop, period, &mut backoff, held) {
            Ok(End::Stopped) | Ok(End::Ineligible) => return,
            Ok(End::NoIdle) => {
                tracing::info!(
                    account = id,
                    "the server does not offer IDLE: the account is polled"
                );
                inner.push_unavailable(id);
                return;
            }
            Err(e) => {
                tracing::warn!(account = id, error = %e, wait = ?backoff, "push connection failed; reconnecting");
                // Interruptible sleep (only while failing; never while waiting in IDLE).
                let until = std::time::Instant::now() + backoff;
                while !stop.is_stopped() && std::time::Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(100));
                }
                backoff = (backoff * 2).min(max_backoff);
            }
        }
    }
}

fn session(
    inner: &Inner,
    net: &PushNet,
    account: &IncomingAccount,
    stop: &IdleStop,
    period: Duration,
    backoff: &mut Duration,
    held: Option<&HeldLease>,
) -> Result<End, ConnectionError> {
    if !eligible(account) {
        return Ok(End::Ineligible);
    }
    let id = account.id().unwrap_or_default();
    let mut options = ImapOptions::with_timeouts(net.timeouts);
    // Connecting, logging in and selecting are bounded like a check; waiting is not.
    options.deadline = Some(OpDeadline::after(
        net.timeouts.connect + net.timeouts.read.saturating_mul(4),
        "opening the push connection",
    ));
    // Under a lease, OAuth2 tokens only while it holds (the lease holder refreshes).
    let credentials = match held {
        Some(h) => h.credentials(net.credentials.clone()),
        None => net.credentials.clone(),
    };
    let mut s = imap::connect(account, credentials.as_ref(), &options)?;
    if !s.capabilities()?.has("IDLE") {
        let _ = s.logout();
        return Ok(End::NoIdle);
    }
    let folder = account
        .folders()
        .first()
        .map_or(imap::folders::INBOX, String::as_str);
    let wire = s
        .folder_map()?
        .to_wire(folder)
        .map_err(|e| ConnectionError::new(ErrorCategory::Validation, e.to_string()))?;
    s.examine(&wire)?;
    s.set_deadline(None);
    tracing::debug!(account = id, folder, "waiting for new mail (IDLE)");
    if held.is_some() {
        // Taken over from a node that left (or waiting again after a cut): mail that came
        // while nobody waited is collected now, not at the next poll.
        inner.push_notify(id);
    }
    loop {
        match s.idle(period, stop)? {
            IdleEvent::Changed => {
                *backoff = Duration::from_secs(1);
                tracing::debug!(account = id, "new mail reported: checking now");
                inner.push_notify(id);
            }
            IdleEvent::Timeout => {
                *backoff = Duration::from_secs(1);
                // Settings may have changed meanwhile.
                match inner.store.incoming_account(id) {
                    Ok(a)
                        if eligible(&a)
                            && a.folders().first().map(String::as_str) == Some(folder) => {}
                    _ => {
                        let _ = s.logout();
                        return Ok(End::Ineligible);
                    }
                }
            }
            IdleEvent::Stopped => return Ok(End::Stopped),
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
}
