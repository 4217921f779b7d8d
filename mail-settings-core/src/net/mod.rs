//! The transport under every driver: a TCP connection to an [`Endpoint`], directly or through a
//! network connector (SOCKS5 or HTTP CONNECT, [`proxy`]), optionally wrapped in TLS ([`tls`]),
//! with every step bounded by [`Timeouts`].
//!
//! ## Why our own code
//! The drivers are blocking, and every network operation must have a bound and a precise error
//! category (DNS, connect, proxy hop, certificate, TLS, timeout). The crates on offer did not
//! give that together: `socks` (blocking SOCKS4/5) offers no connect timeout and no bound on the
//! handshake and reports failures as plain `io::Error`s; `fast-socks5`, `tokio-socks`,
//! `async-socks5`, `socks5x` and `async-http-proxy` are async-only (tokio), which would pull a
//! runtime into a blocking library; no maintained blocking crate does HTTP CONNECT on its own.
//! Both handshakes are a few dozen lines (RFC 1928/1929, RFC 9110 §9.3.6), so they live here,
//! with the reply codes mapped to [`ProxyHop`](crate::error::ProxyHop)s.
//!
//! ## Stages
//! A connection check times each stage, so each is callable on its own:
//! [`resolve`] → [`connect_tcp`] → [`proxy::handshake`] (through a connector) →
//! [`tls::handshake`] (implicit TLS, or STARTTLS through [`MailStream::upgrade_to_tls`]).
//! [`open`] does the first three, [`connect`] all of them.
//!
//! Every socket has `TCP_NODELAY` (an implicit-TLS connection to Postfix otherwise stalls about
//! 40 ms on Nagle's algorithm) and read and write timeouts. A handshake (proxy or TLS) as a whole
//! must finish within [`Timeouts::read`], not only each of its reads.

pub mod deadline;
pub mod proxy;
pub mod reader;
pub mod tls;

use deadline::Clock;
pub use deadline::{deadline_exceeded, DeadlineExceeded, OpDeadline};
pub use reader::{BoundedReader, ReadError};

pub use tls::{CertificateInfo, TlsInfo, TlsVersion, Transport};

use crate::credentials::CredentialProvider;
use crate::error::{ConnectionError, ErrorCategory};
use crate::model::Security;
use crate::typed::{ConnectionSettings, Endpoint, Host, Route, TlsOptions};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Bounds of every network operation: each step (connect, read, write), and whole operations
/// (a connection check, one SMTP send, a collector run and each message in it), so that a
/// server that keeps sending slowly, or without end, cannot hold an operation open: a
/// [`MailStream`] given an [`OpDeadline`] ([`MailStream::set_deadline`]) ends with
/// [`ErrorCategory::Timeout`] naming the stage and the budget.
///
/// | field | default | bounds |
/// |---|---|---|
/// | `connect` | 15 s | resolving the host name; each TCP connect |
/// | `read` | 60 s | each read; a whole proxy or TLS handshake |
/// | `write` | 60 s | each write |
/// | `check` | 120 s | a whole connection check |
/// | `send` | 300 s | one SMTP send, plus `size / min_rate` ([`send_budget`](Self::send_budget)) |
/// | `run` | 3600 s | a whole collector run |
/// | `message` | 60 s | one message of a run, plus `size / min_rate` ([`message_budget`](Self::message_budget)) |
/// | `min_rate` | 32 KiB/s | the slowest transfer rate a budget allows for |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Resolving the host name, and opening each TCP connection (per address tried).
    pub connect: Duration,
    /// Each read; also the whole of a proxy or TLS handshake.
    pub read: Duration,
    /// Each write.
    pub write: Duration,
    /// A whole connection check, from resolving the host to the last reply.
    pub check: Duration,
    /// One SMTP send (connect to the final reply), before the allowance for its size.
    pub send: Duration,
    /// A whole collector run (every mailbox of an account).
    pub run: Duration,
    /// One message of a collector run, before the allowance for its size.
    pub message: Duration,
    /// The slowest rate, in bytes per second, a size-dependent budget allows for (at least 1).
    pub min_rate: u64,
}

impl Default for Timeouts {
    /// Connect 15 s, read and write 60 s; a check 120 s, a send 300 s, a run 3600 s, a message
    /// 60 s, the last two plus their size at 32 KiB/s.
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(15),
            read: Duration::from_secs(60),
            write: Duration::from_secs(60),
            check: Duration::from_secs(120),
            send: Duration::from_secs(300),
            run: Duration::from_secs(3600),
            message: Duration::from_secs(60),
            min_rate: 32 * 1024,
        }
    }
}

impl Timeouts {
    /// The same bound for each step (tests, quick checks); the check's budget is twice that
    /// (it has several steps); the send, run and message budgets keep their defaults but are
    /// never shorter than `d`.
    pub fn uniform(d: Duration) -> Self {
        let base = Self::default();
        Self {
            connect: d,
            read: d,
            write: d,
            check: d.saturating_mul(2),
            send: base.send.max(d),
            run: base.run.max(d),
            message: base.message.max(d),
            min_rate: base.min_rate,
        }
    }

    /// `size` bytes at [`min_rate`](Self::min_rate).
    pub fn transfer_allowance(&self, size: u64) -> Duration {
        Duration::from_secs(size / self.min_rate.max(1))
    }

    /// The budget of one SMTP send of a message of `size` bytes: `send + size / min_rate`.
    pub fn send_budget(&self, size: u64) -> Duration {
        self.send.saturating_add(self.transfer_allowance(size))
    }

    /// The budget of one message of `size` bytes in a collector run:
    /// `message + size / min_rate`.
    pub fn message_budget(&self, size: u64) -> Duration {
        self.message.saturating_add(self.transfer_allowance(size))
    }

    /// A connection check's deadline, from now.
    pub fn check_deadline(&self) -> OpDeadline {
        OpDeadline::after(self.check, "the check")
    }

    /// One send's deadline, from now.
    pub fn send_deadline(&self, size: u64) -> OpDeadline {
        OpDeadline::after(self.send_budget(size), "the send")
    }

    /// A collector run's deadline, from now.
    pub fn run_deadline(&self) -> OpDeadline {
        OpDeadline::after(self.run, "the collector run")
    }

    /// One message's deadline, from now, never later than `run` (the run's deadline).
    pub fn message_deadline(&self, size: u64, run: Option<OpDeadline>) -> OpDeadline {
        let own = OpDeadline::after(self.message_budget(size), "this message");
        match run {
            Some(r) => own.earlier(r),
            None => own,
        }
    }
}

/// Sockets refuse a zero timeout; the smallest bound we set is 1 ms.
pub(crate) fn nonzero(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}

/// Whether an I/O error is a socket timeout (`SO_RCVTIMEO`/`SO_SNDTIMEO` give `WouldBlock` on
/// Unix, `TimedOut` on Windows).
pub fn is_timeout_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Maps an I/O error that happened while `doing` something on an open connection: an
/// operation's deadline ([`DeadlineExceeded`]) becomes [`ErrorCategory::Timeout`] naming the
/// budget, other socket timeouts become [`ErrorCategory::Timeout`] (after `bound`), anything else
/// [`ErrorCategory::Connect`] (the connection was lost). For drivers.
pub fn io_error(e: io::Error, doing: &str, bound: Duration) -> ConnectionError {
    if let Some(d) = deadline_exceeded(&e) {
        return d.error(doing).with_source(e);
    }
    if is_timeout_error(&e) {
        return ConnectionError::timeout(doing, bound).with_source(e);
    }
    let what = match e.kind() {
        io::ErrorKind::UnexpectedEof => "the server closed the connection".to_owned(),
        io::ErrorKind::ConnectionReset => "the server reset the connection".to_owned(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionAborted => {
            "the connection was closed".to_owned()
        }
        _ => format!("I/O error: {e}"),
    };
    ConnectionError::new(ErrorCategory::Connect, format!("{what} while {doing}")).with_source(e)
}

/// Resolves an endpoint to socket addresses. IP literals need no lookup; a host name is looked
/// up by the system resolver on a helper thread, bounded by [`Timeouts::connect`] (the system
/// call itself has no timeout we can set). Failure is [`ErrorCategory::Dns`].
pub fn resolve(
    endpoint: &Endpoint,
    timeouts: &Timeouts,
) -> Result<Vec<SocketAddr>, ConnectionError> {
    let name = match &endpoint.host {
        Host::Ipv4(a) => return Ok(vec![SocketAddr::new(IpAddr::V4(*a), endpoint.port)]),
        Host::Ipv6(a) => return Ok(vec![SocketAddr::new(IpAddr::V6(*a), endpoint.port)]),
        Host::Domain(d) => d.clone(),
    };
    let port = endpoint.port;
    let (tx, rx) = mpsc::channel();
    let lookup = name.clone();
    let spawned = std::thread::Builder::new()
        .name("mail-settings-resolve".to_owned())
        .spawn(move || {
            let r = (lookup.as_str(), port)
                .to_socket_addrs()
                .map(|it| it.collect::<Vec<_>>());
            // The receiver may have given up (timeout): nothing to do then.
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        return Err(ConnectionError::new(
            ErrorCategory::Dns,
            format!("cannot resolve host name \"{name}\": no thread for the lookup ({e})"),
        ));
    }
    match rx.recv_timeout(nonzero(timeouts.connect)) {
        Ok(Ok(addrs)) if !addrs.is_empty() => {
            tracing::debug!(host = %name, addresses = addrs.len(), "resolved");
            Ok(addrs)
        }
        Ok(Ok(_)) => Err(ConnectionError::new(
            ErrorCategory::Dns,
            format!("host name \"{name}\" has no address: check the host"),
        )),
        Ok(Err(e)) => Err(ConnectionError::new(
            ErrorCategory::Dns,
            format!("cannot resolve host name \"{name}\": check the host ({e})"),
        )
        .with_source(e)),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(ConnectionError::timeout(
            &format!("resolving host name \"{name}\""),
            timeouts.connect,
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(ConnectionError::new(
            ErrorCategory::Dns,
            format!("cannot resolve host name \"{name}\": the lookup failed"),
        )),
    }
}

/// Applies `TCP_NODELAY` and the read/write timeouts to a socket.
pub(crate) fn configure(tcp: &TcpStream, timeouts: &Timeouts) -> io::Result<()> {
    tcp.set_nodelay(true)?;
    quickack(tcp);
    tcp.set_read_timeout(Some(nonzero(timeouts.read)))?;
    tcp.set_write_timeout(Some(nonzero(timeouts.write)))?;
    Ok(())
}

/// Asks Linux to acknowledge at once instead of delaying ACKs (`TCP_QUICKACK`). After an
/// implicit-TLS handshake, Postfix holds its greeting (Nagle, on its side) until our ACK of its
/// last handshake record, which a delayed ACK holds back ~40 ms: a new connection per message
/// paid that every time (measured by the wire benchmark; smtplib pays it too). The kernel
/// leaves quick-ack mode by itself, so it is asked again before every read from the socket (one
/// `setsockopt`, cheap beside the read; reads are buffered). Elsewhere a no-op; a failure
/// only costs that delay.
pub(crate) fn quickack(tcp: &TcpStream) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if let Err(e) = socket2::SockRef::from(tcp).set_tcp_quickack(true) {
            tracing::debug!(error = %e, "TCP_QUICKACK not set");
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = tcp;
}

/// Opens a TCP connection to the first of `addrs` that accepts, each tried with
/// [`Timeouts::connect`]; sets `TCP_NODELAY` and the read/write timeouts. When all fail the
/// error is [`ErrorCategory::Timeout`] if every attempt timed out, else
/// [`ErrorCategory::Connect`], with every attempt in the message.
pub fn connect_tcp(
    addrs: &[SocketAddr],
    timeouts: &Timeouts,
) -> Result<TcpStream, ConnectionError> {
    let mut failures: Vec<(SocketAddr, io::Error)> = Vec::new();
    for addr in addrs {
        match TcpStream::connect_timeout(addr, nonzero(timeouts.connect)) {
            Ok(tcp) => {
                configure(&tcp, timeouts).map_err(|e| {
                    ConnectionError::new(
                        ErrorCategory::Connect,
                        format!("cannot set socket options on the connection to {addr}: {e}"),
                    )
                    .with_source(e)
                })?;
                tracing::debug!(%addr, "TCP connected");
                return Ok(tcp);
            }
            Err(e) => {
                tracing::debug!(%addr, error = %e, "TCP connect failed");
                failures.push((*addr, e));
            }
        }
    }
    if failures.is_empty() {
        return Err(ConnectionError::new(
            ErrorCategory::Connect,
            "no address to connect to",
        ));
    }
    let all_timed_out = failures.iter().all(|(_, e)| is_timeout_error(e));
    let detail = failures
        .iter()
        .map(|(a, e)| format!("{a}: {}", describe_connect_error(e)))
        .collect::<Vec<_>>()
        .join("; ");
    let source = failures.pop().map(|(_, e)| e);
    let err = if all_timed_out {
        ConnectionError::new(
            ErrorCategory::Timeout,
            format!(
                "timed out after {} ms while connecting ({detail})",
                timeouts.connect.as_millis()
            ),
        )
    } else {
        ConnectionError::new(ErrorCategory::Connect, format!("cannot connect ({detail})"))
    };
    Err(match source {
        Some(e) => err.with_source(e),
        None => err,
    })
}

fn describe_connect_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => {
            "connection refused (nothing listens on that port, or a firewall rejects it)".to_owned()
        }
        k if is_timeout_error(e) || k == io::ErrorKind::TimedOut => "no answer".to_owned(),
        _ => e.to_string(),
    }
}

/// Resolves and connects directly to `endpoint`; errors name the endpoint.
fn open_direct(endpoint: &Endpoint, timeouts: &Timeouts) -> Result<TcpStream, ConnectionError> {
    let addrs = resolve(endpoint, timeouts)?;
    connect_tcp(&addrs, timeouts).map_err(|e| e.context(endpoint))
}

/// Opens a TCP connection to `endpoint` through `route`: directly, or to the connector and then
/// the proxy handshake (the proxy resolves host names). Credentials of the connector come from
/// `creds`.
pub fn open(
    endpoint: &Endpoint,
    route: &Route,
    creds: &dyn CredentialProvider,
    timeouts: &Timeouts,
) -> Result<TcpStream, ConnectionError> {
    match route {
        Route::Direct => open_direct(endpoint, timeouts),
        Route::Proxy(connector) => proxy::open(connector, endpoint, creds, timeouts),
    }
}

/// Opens a connection as `settings` say: route, then the TLS handshake when the security is
/// implicit TLS (`SSL`). For clear text and STARTTLS (`TLS`) the stream is plain: the protocol
/// driver sends its STARTTLS command and calls [`MailStream::upgrade_to_tls`], and must fail
/// with a TLS error, never go on in clear text, when the server does not offer it.
pub fn connect(
    settings: &ConnectionSettings,
    creds: &dyn CredentialProvider,
    timeouts: &Timeouts,
) -> Result<(MailStream, Option<TlsInfo>), ConnectionError> {
    let tcp = open(&settings.endpoint, &settings.route, creds, timeouts)?;
    match settings.security {
        Security::ImplicitTls => {
            let (tls, info) = tls::handshake(tcp, &settings.endpoint.host, &settings.tls, timeouts)
                .map_err(|e| e.context(&settings.endpoint))?;
            Ok((MailStream::tls(tls), Some(info)))
        }
        _ => Ok((MailStream::plain(tcp), None)),
    }
}

/// The error for bytes that followed the server's "go ahead" to STARTTLS (`command`: SMTP
/// `STARTTLS`, IMAP `STARTTLS`, POP3 `STLS`) before the TLS handshake: a sign of command
/// injection (CVE-2011-0411), a possible attack, never "the server does not do STARTTLS". One
/// text and one piece of advice for the three protocols.
pub fn starttls_injected(command: &str) -> ConnectionError {
    ConnectionError::new(
        ErrorCategory::Tls,
        format!(
            "a response was injected before TLS: bytes followed the server's answer to {command} \
             before the TLS handshake (a sign of command injection, a possible attack); the \
             connection was refused and nothing was sent"
        ),
    )
    .with_advice(format!(
        "something between this machine and the server (or the server itself) injected a \
         response before TLS: this is a possible attack, not a missing {command}; check the \
         network path (proxy, middlebox) and the server, and do not turn security off"
    ))
}

/// The STARTTLS step for a protocol client's `starttls(upgrade)`: upgrades the plain stream as
/// `settings` say (host name, certificate options) and keeps the handshake's facts in `info`.
/// One place for what IMAP, SMTP and the connection check all do after their STARTTLS command.
pub fn starttls_upgrade<'a>(
    settings: &'a ConnectionSettings,
    timeouts: &'a Timeouts,
    info: &'a mut Option<TlsInfo>,
) -> impl FnOnce(MailStream) -> Result<MailStream, ConnectionError> + 'a {
    move |plain| {
        let (tls, i) = plain.upgrade_to_tls(&settings.endpoint.host, &settings.tls, timeouts)?;
        *info = Some(i);
        Ok(tls)
    }
}

/// A connection to a mail server: clear TCP, or TLS over TCP, with an optional operation
/// deadline ([`set_deadline`](Self::set_deadline)) that every read and write honours.
pub struct MailStream {
    inner: Inner,
}

enum Inner {
    /// Clear text (before STARTTLS, or `use_secure_connection = false`).
    Plain(TcpStream, Clock),
    /// TLS (implicit, or after STARTTLS); the clock lives in the transport.
    Tls(Box<native_tls::TlsStream<Transport>>),
}

impl fmt::Debug for MailStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let peer = self.tcp().peer_addr().ok();
        f.debug_struct("MailStream")
            .field("tls", &self.is_tls())
            .field("peer", &peer)
            .field("deadline", &self.deadline())
            .finish()
    }
}

impl MailStream {
    /// A clear-text stream over `tcp` (whose timeouts stay the per-read and per-write bounds).
    pub fn plain(tcp: TcpStream) -> Self {
        let clock = Clock::for_socket(&tcp);
        Self {
            inner: Inner::Plain(tcp, clock),
        }
    }

    /// A TLS stream from [`tls::handshake`].
    pub fn tls(stream: native_tls::TlsStream<Transport>) -> Self {
        Self {
            inner: Inner::Tls(Box::new(stream)),
        }
    }

    /// Whether the stream is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self.inner, Inner::Tls(_))
    }

    /// The TCP socket under the stream (to the server, or to the proxy when proxied).
    pub fn tcp(&self) -> &TcpStream {
        match &self.inner {
            Inner::Plain(t, _) => t,
            Inner::Tls(t) => t.get_ref().tcp(),
        }
    }

    fn clock(&self) -> &Clock {
        match &self.inner {
            Inner::Plain(_, c) => c,
            Inner::Tls(t) => t.get_ref().clock(),
        }
    }

    /// Sets (or, with `None`, removes) the deadline of the operation under way: from now on
    /// each read and write is bounded by `min(its own timeout, time left)`, and once the time is
    /// up they fail with a [`DeadlineExceeded`] (kind `TimedOut`), which [`io_error`] and
    /// [`ReadError`] turn into [`ErrorCategory::Timeout`] naming the stage and the budget. Kept
    /// across [`upgrade_to_tls`](Self::upgrade_to_tls), which it also bounds.
    pub fn set_deadline(&mut self, deadline: Option<OpDeadline>) {
        match &mut self.inner {
            Inner::Plain(_, c) => c.set_deadline(deadline),
            Inner::Tls(t) => t.get_mut().clock_mut().set_deadline(deadline),
        }
    }

    /// The deadline set with [`set_deadline`](Self::set_deadline).
    pub fn deadline(&self) -> Option<OpDeadline> {
        self.clock().deadline()
    }

    /// Changes the bound of each read (e.g. longer for a large RETR/FETCH, shorter for NOOP).
    /// `None` means no bound: do not use it for network reads. A deadline still applies.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.clock()
            .set_read_timeout(self.tcp(), timeout.map(nonzero))
    }

    /// Changes the bound of each write. A deadline still applies.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.clock()
            .set_write_timeout(self.tcp(), timeout.map(nonzero))
    }

    /// STARTTLS: runs the TLS handshake on this clear connection, after the protocol's
    /// STARTTLS/STLS command was accepted. The caller must have read nothing past that reply
    /// (bytes a server sends before the handshake are an injection attempt). Refuses a stream
    /// that is already TLS. The handshake is bounded by [`Timeouts::read`] and by the deadline,
    /// which the TLS stream keeps.
    pub fn upgrade_to_tls(
        self,
        host: &Host,
        options: &TlsOptions,
        timeouts: &Timeouts,
    ) -> Result<(MailStream, TlsInfo), ConnectionError> {
        match self.inner {
            Inner::Tls(_) => Err(ConnectionError::new(
                ErrorCategory::Tls,
                "the connection is already TLS: STARTTLS cannot be done twice",
            )),
            Inner::Plain(tcp, clock) => {
                let deadline = clock.deadline();
                let (tls, info) = tls::handshake_within(tcp, host, options, timeouts, deadline)?;
                let mut stream = MailStream::tls(tls);
                stream.set_deadline(deadline);
                Ok((stream, info))
            }
        }
    }

    /// Closes the connection: TLS `close_notify` (best effort), then TCP shutdown.
    pub fn shutdown(&mut self) -> io::Result<()> {
        if let Inner::Tls(t) = &mut self.inner {
            let _ = t.shutdown();
        }
        self.tcp().shutdown(std::net::Shutdown::Both)
    }
}

impl Read for MailStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(t, clock) => {
                clock.before_read(t)?;
                quickack(t);
                t.read(buf).map_err(|e| clock.read_error(e))
            }
            // The TLS transport arms its socket before each of its reads (OpenSSL may read
            // several times for one record) and asks for quick ACKs on its own.
            Inner::Tls(t) => t.read(buf).map_err(|e| t.get_ref().clock().read_error(e)),
        }
    }
}

impl Write for MailStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(t, clock) => {
                clock.before_write(t)?;
                t.write(buf).map_err(|e| clock.write_error(e))
            }
            Inner::Tls(t) => t.write(buf).map_err(|e| t.get_ref().clock().write_error(e)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Plain(t, _) => t.flush(),
            Inner::Tls(t) => t.flush(),
        }
    }
}

/// A point in time by which a multi-step exchange (a handshake) must be over.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    end: Instant,
    per_read: Duration,
}

impl Deadline {
    /// Now + `total`; each read also bounded by `per_read`.
    pub(crate) fn after(total: Duration, per_read: Duration) -> Self {
        Self {
            end: Instant::now() + total,
            per_read,
        }
    }

    /// Sets the socket's read timeout to what is left (at most `per_read`); `TimedOut` when
    /// nothing is left.
    pub(crate) fn arm(&self, tcp: &TcpStream) -> io::Result<()> {
        let left = self.end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the handshake took longer than its bound",
            ));
        }
        tcp.set_read_timeout(Some(nonzero(left.min(self.per_read))))
    }
}
