//! The connection check: what an operator does by hand when an account does not work, as one
//! call. Each stage is timed and reported, and the first failure stops the check with a
//! category and a message that says what to change.
//!
//! Stages, in order (those that do not apply are left out):
//! 0. `settings`: only when it fails: a disabled account is refused, never contacted.
//! 1. `resolve`: the server's host name (or, through a connector, the proxy's).
//! 2. `connect`: TCP to the server (or to the proxy).
//! 3. `proxy`: the SOCKS5 / HTTP CONNECT handshake; the proxy resolves the server's name.
//! 4. `tls`: implicit TLS (`SSL`) right after connecting, or STARTTLS (`TLS`) after the
//!    greeting: protocol version, certificate subject, issuer, expiry, verification result.
//! 5. `greeting`: the server's first words.
//! 6. `capabilities`: what the server offers (IMAP CAPABILITY, POP3 CAPA, SMTP EHLO). With
//!    STARTTLS it appears twice: before the upgrade, and again after it (what the server offers
//!    over TLS, which the rest of the check goes by: AUTH often appears only then).
//! 7. `mechanisms`: whether a login mechanism fits the credential (password or OAuth2 token).
//! 8. `authentication`: logging in with the account's credential.
//! 9. `mailbox` (IMAP, POP3): what collecting asks first, with the same driver calls, so that
//!    a server that passes the check is not one the collector then fails on. IMAP: for each
//!    folder collected (INBOX) and for [`CheckOptions::mailbox`] when it is another, EXAMINE
//!    and the sizes by `UID FETCH 1:* (UID RFC822.SIZE)`, one stage each. POP3: STAT, LIST and
//!    UIDL (a missing or unreadable UIDL passes, noted: the collector then recognises messages by
//!    their content; a UIDL that leaves out a listed message fails, as it fails collecting).
//!    `extensions` (SMTP): the EHLO extensions, SIZE among them.
//!
//! Advice ("what to change") names a cause only when it is known: the error's own advice when
//! the code that raised it knew the precise cause (a response injected before TLS, a proxy
//! that is not the kind configured, a reply too large), else by category and stage.
//!
//! The whole check has one budget, [`Timeouts::check`] (default 120 s): every step (resolving,
//! connecting, the proxy and TLS handshakes) is bounded by what is left of it, and the stream
//! carries it as an operation deadline ([`crate::net::MailStream::set_deadline`]), so a server
//! that drips its greeting one line at a time, or never stops listing, ends the check at the
//! budget with category `timeout` at the stage it reached ("timed out while reading the
//! greeting: the check took longer than its 5 s budget"). The CLI's `check --timeout N` sets
//! both each step's bound and this budget to N seconds.
//!
//! Nothing here changes the server: IMAP opens folders with EXAMINE (read-only), POP3 ends with
//! QUIT without DELE, SMTP ends with QUIT without MAIL.

use crate::credentials::{Credential, CredentialProvider};
use crate::error::{ConnectionError, ErrorCategory, ProxyHop};
use crate::imap::ImapClient;
use crate::model::{Protocol, Security};
use crate::net::tls::{self, TlsInfo};
use crate::net::{self, proxy, MailStream, OpDeadline, Timeouts};
use crate::pop3::Pop3Client;
use crate::smtp::{ClientConfig, SmtpClient};
use crate::typed::{ConnectionSettings, CredentialId, IncomingAccount, Route, SmtpAccount};
use serde::Serialize;
use std::fmt;
use std::time::Instant;

/// Options of a check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Bounds of every network operation.
    pub timeouts: Timeouts,
    /// The name sent with SMTP EHLO.
    pub client_name: String,
    /// The IMAP mailbox whose size is reported (`report.mailbox`); checked besides the folders
    /// the collector collects when it is another one.
    pub mailbox: String,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            timeouts: Timeouts::default(),
            client_name: "localhost".to_owned(),
            mailbox: "INBOX".to_owned(),
        }
    }
}

/// The stages of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StageName {
    /// The account's own settings (a disabled account is never contacted).
    Settings,
    /// Name resolution.
    Resolve,
    /// TCP connection.
    Connect,
    /// Proxy handshake.
    Proxy,
    /// TLS handshake (implicit or STARTTLS).
    Tls,
    /// The server's greeting.
    Greeting,
    /// Capabilities / EHLO.
    Capabilities,
    /// Login mechanisms offered.
    Mechanisms,
    /// An OAuth2 access token obtained or refreshed (only for credentials bound to an OAuth2
    /// client): a failure carries the server's error code (`invalid_grant`: category
    /// `needs_sign_in`).
    Token,
    /// Authentication.
    Authentication,
    /// Mailbox size (IMAP, POP3).
    Mailbox,
    /// The server's folders, and the account's folders and archive folder among them (IMAP).
    Folders,
    /// EHLO extensions (SMTP).
    Extensions,
}

impl StageName {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            StageName::Settings => "settings",
            StageName::Resolve => "resolve",
            StageName::Connect => "connect",
            StageName::Proxy => "proxy",
            StageName::Tls => "tls",
            StageName::Greeting => "greeting",
            StageName::Capabilities => "capabilities",
            StageName::Mechanisms => "mechanisms",
            StageName::Token => "token",
            StageName::Authentication => "authentication",
            StageName::Mailbox => "mailbox",
            StageName::Folders => "folders",
            StageName::Extensions => "extensions",
        }
    }
}

/// One stage's outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stage {
    /// Which stage.
    pub name: StageName,
    /// Whether it succeeded.
    pub ok: bool,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
    /// What was found (on success) or what went wrong (on failure).
    pub detail: String,
    /// On failure: the category (dns, connect, proxy, tls, certificate, auth, protocol, timeout…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<ErrorCategory>,
    /// On failure, for proxies: which hop failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop: Option<ProxyHop>,
    /// On failure caused by an SMTP reply: its code (`535`), as
    /// [`ConnectionError::reply_code`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_code: Option<u16>,
    /// On failure caused by an SMTP reply that had one: its enhanced status code (`5.7.8`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enhanced_code: Option<String>,
    /// On failure: what to change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
}

/// The TLS facts of the connection, for the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TlsSummary {
    /// `TLS 1.3`, `TLS 1.2`…
    pub version: Option<String>,
    /// The cipher suite's IANA name, when known.
    pub cipher_suite: Option<String>,
    /// Certificate subject.
    pub subject: Option<String>,
    /// Certificate issuer.
    pub issuer: Option<String>,
    /// Certificate expiry (UTC).
    pub not_after: Option<String>,
    /// Whether chain and host name were verified.
    pub verified: bool,
}

impl From<&TlsInfo> for TlsSummary {
    fn from(info: &TlsInfo) -> Self {
        Self {
            version: info.version.as_ref().map(|v| v.as_str()),
            cipher_suite: info.cipher_suite_name().map(str::to_owned),
            subject: info.certificate.as_ref().map(|c| c.subject.clone()),
            issuer: info.certificate.as_ref().map(|c| c.issuer.clone()),
            not_after: info.certificate.as_ref().map(|c| c.not_after_utc()),
            verified: info.verified,
        }
    }
}

impl fmt::Display for TlsSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            self.version.as_deref().unwrap_or("TLS (version not seen)")
        )?;
        if let Some(c) = &self.cipher_suite {
            write!(f, ", {c}")?;
        }
        if let Some(s) = &self.subject {
            write!(f, "; certificate {s}")?;
        }
        if let Some(i) = &self.issuer {
            write!(f, " issued by {i}")?;
        }
        if let Some(n) = &self.not_after {
            write!(f, ", valid until {n}")?;
        }
        f.write_str(if self.verified {
            "; verified"
        } else {
            "; NOT verified (certificate check skipped)"
        })
    }
}

/// Mailbox facts (IMAP, POP3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MailboxSummary {
    /// Messages.
    pub messages: u64,
    /// Total size in bytes.
    pub size: u64,
}

/// A folder the server lists (IMAP), as the check reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FolderInfo {
    /// The name as a user writes it (UTF-8, `/` between levels, relative to the personal
    /// namespace), or `None` when it cannot be written so (outside the personal namespace,
    /// say): then only `wire` names it.
    pub name: Option<String>,
    /// The name as the server spells it (made safe for a terminal).
    pub wire: String,
    /// Its attributes: special use (RFC 6154: `\Archive`, `\Sent`, `\Trash`, `\Junk`,
    /// `\Drafts`, `\All`, `\Flagged`) and others (`\Noselect`, `\HasChildren`…).
    pub attributes: Vec<String>,
    /// Whether it can be selected.
    pub selectable: bool,
    /// Whether the account collects it.
    pub collected: bool,
    /// Whether it is the account's archive folder.
    pub archive: bool,
}

/// The whole check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckReport {
    /// The account's name.
    pub account: String,
    /// `IMAP`, `POP3` or `SMTP`.
    pub protocol: &'static str,
    /// `host:port`.
    pub server: String,
    /// `clear`, `implicit_tls` or `start_tls`.
    pub security: Security,
    /// `direct`, or the connector.
    pub route: String,
    /// Whether every stage succeeded.
    pub ok: bool,
    /// The stages run, in order; the last one failed when `ok` is false.
    pub stages: Vec<Stage>,
    /// TLS facts, when TLS was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSummary>,
    /// What the server offered (capabilities / EHLO keywords).
    pub capabilities: Vec<String>,
    /// Login mechanisms offered.
    pub mechanisms: Vec<String>,
    /// Mailbox facts (IMAP, POP3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<MailboxSummary>,
    /// SMTP SIZE limit in bytes (`Some(0)`: SIZE without a limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<u64>,
    /// The server's folders (IMAP), in its order, with their special-use attributes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<FolderInfo>,
}

impl CheckReport {
    /// The failed stage, if any.
    pub fn failure(&self) -> Option<&Stage> {
        self.stages.iter().find(|s| !s.ok)
    }

    /// The failed stage as the error the same failure raises outside a check: its category,
    /// hop and SMTP reply, and a message naming the server and the stage, followed by what to
    /// change. `None` when every stage passed.
    pub fn failure_error(&self) -> Option<ConnectionError> {
        let stage = self.failure()?;
        let mut message = format!(
            "{} {} ({} stage): {}",
            self.protocol,
            self.server,
            stage.name.as_str(),
            stage.detail
        );
        if let Some(advice) = &stage.advice {
            message.push(' ');
            message.push_str(advice);
        }
        let err = match (stage.hop, stage.category) {
            (Some(hop), _) => ConnectionError::proxy(hop, message),
            (None, category) => {
                ConnectionError::new(category.unwrap_or(ErrorCategory::Protocol), message)
            }
        };
        Some(match stage.reply_code {
            Some(code) => err.with_reply(code, stage.enhanced_code.as_deref()),
            None => err,
        })
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} account \"{}\": {} ({}, {})",
            self.protocol,
            self.account,
            self.server,
            security_words(self.security),
            self.route
        )?;
        for s in &self.stages {
            let mark = if s.ok { "ok  " } else { "FAIL" };
            writeln!(
                f,
                "  {mark} {:<14} {:>8.1} ms  {}",
                s.name.as_str(),
                s.duration_ms,
                s.detail
            )?;
            if let Some(category) = s.category {
                match (s.reply_code, &s.enhanced_code) {
                    (Some(code), Some(enhanced)) => {
                        writeln!(f, "       category: {category} (reply {code} {enhanced})")?
                    }
                    (Some(code), None) => {
                        writeln!(f, "       category: {category} (reply {code})")?
                    }
                    _ => writeln!(f, "       category: {category}")?,
                }
            }
            if let Some(advice) = &s.advice {
                writeln!(f, "       what to change: {advice}")?;
            }
        }
        if !self.folders.is_empty() {
            writeln!(f, "  folders on the server:")?;
            for x in self.folders.iter().take(50) {
                let mut marks = Vec::new();
                if x.collected {
                    marks.push("collected");
                }
                if x.archive {
                    marks.push("archive");
                }
                if !x.selectable {
                    marks.push("not selectable");
                }
                writeln!(
                    f,
                    "       {}{}{}",
                    x.name
                        .as_deref()
                        .map_or_else(|| format!("({})", x.wire), crate::smtp::summarize_text),
                    if x.attributes.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", x.attributes.join(" "))
                    },
                    if marks.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", marks.join(", "))
                    }
                )?;
            }
            if self.folders.len() > 50 {
                writeln!(f, "       … and {} more", self.folders.len() - 50)?;
            }
        }
        write!(
            f,
            "{}",
            if self.ok {
                "check passed"
            } else {
                "check FAILED"
            }
        )
    }
}

fn security_words(s: Security) -> &'static str {
    match s {
        Security::Clear => "clear text",
        Security::ImplicitTls => "SSL: implicit TLS",
        Security::StartTls => "TLS: STARTTLS",
    }
}

/// What to change. The error's own advice when the code that raised it knew the precise cause
/// ([`ConnectionError::advice`]: a STARTTLS injection, a proxy that is not SOCKS5, an outcome
/// left unknown); else by category, for this kind of connection and the stage that failed. A
/// text names a cause only when the category and stage prove it; otherwise it points at the
/// detail above it.
fn advice(e: &ConnectionError, ctx: &Ctx<'_>, stage: StageName) -> String {
    if let Some(a) = e.advice() {
        return a.to_owned();
    }
    let port = ctx.settings.endpoint.port;
    let stage_name = stage.as_str();
    // Stages before the server has said anything of its protocol.
    let opening = matches!(
        stage,
        StageName::Resolve
            | StageName::Connect
            | StageName::Proxy
            | StageName::Tls
            | StageName::Greeting
    );
    match e.category() {
        ErrorCategory::Dns => "check the host name (Address / SMTP host): it does not resolve from this machine".to_owned(),
        ErrorCategory::Connect if matches!(stage, StageName::Resolve | StageName::Connect) => format!(
            "check the host and port {port}, that the server runs and that no firewall is in the way; through a connector, check that the proxy may reach it"
        ),
        ErrorCategory::Connect => format!(
            "the connection was opened, then lost during the {stage_name} stage (see above): the server may refuse this client (too many connections, a block list) or port {port} may speak another protocol; check the server's log"
        ),
        ErrorCategory::Proxy => match e.hop() {
            Some(ProxyHop::ProxyUnreachable) => "check the Network Connector's host and port, and that the proxy runs".to_owned(),
            Some(ProxyHop::ProxyAuth) => "check the Network Connector's credential (user name and password)".to_owned(),
            Some(ProxyHop::ProxyRefused) => "the proxy refused the tunnel to the server (see above): if its rules forbid this destination, allow the server's host and port on the proxy; its log says which rule".to_owned(),
            Some(ProxyHop::TargetUnreachable) => format!("the proxy cannot reach the server: check the host and port {port} as seen from the proxy"),
            _ => "check the Network Connector".to_owned(),
        },
        ErrorCategory::Certificate => "the server's certificate was rejected: fix the server's certificate, or trust its CA with ca_file; turn on Skip certificate only as a last resort".to_owned(),
        ErrorCategory::Tls if stage == StageName::Mechanisms => {
            "the server accepts no password on a connection without TLS: turn on the secure connection (SSL or TLS)".to_owned()
        }
        ErrorCategory::Tls => match ctx.settings.security {
            Security::StartTls => format!("STARTTLS on port {port} did not succeed (see above): if the server does not offer it, choose SSL (implicit TLS) and its port; if the handshake failed, check the server's TLS set-up"),
            Security::ImplicitTls => format!("the TLS handshake on port {port} failed (see above): if it is a STARTTLS port, choose TLS instead of SSL"),
            Security::Clear => "check the Secure connection settings".to_owned(),
        },
        ErrorCategory::Auth if stage == StageName::Mechanisms => format!(
            "no login mechanism the server offers here fits credential \"{}\" (see above): use the kind of credential it accepts (password or OAuth2 token), or turn on TLS if it offers more over TLS",
            ctx.credential.map(CredentialId::as_str).unwrap_or("?")
        ),
        ErrorCategory::Auth => format!(
            "the server refused the login: check the user name and secret of credential \"{}\"",
            ctx.credential.map(CredentialId::as_str).unwrap_or("?")
        ),
        ErrorCategory::Credential => "the credential provider could not give the credential: check the credential id and the vault".to_owned(),
        ErrorCategory::Timeout if opening => format!(
            "the server did not answer in time: check the port {port} and the security setting (SSL on a STARTTLS port, or the reverse, waits forever)"
        ),
        ErrorCategory::Timeout => format!(
            "the server stopped answering in time during the {stage_name} stage: it may be overloaded or the mailbox very large; try again, or allow a longer timeout"
        ),
        ErrorCategory::Protocol if opening || stage == StageName::Capabilities => format!("the server did not answer as {} should: check the protocol and port", ctx.protocol),
        ErrorCategory::Protocol => format!(
            "the server refused or garbled its answer during the {stage_name} stage (see above): the collector would fail the same way; check the server's log"
        ),
        ErrorCategory::Validation => "enable the account (Enabled = Yes) to check it".to_owned(),
        _ => e.message().to_owned(),
    }
}

struct Ctx<'a> {
    settings: &'a ConnectionSettings,
    credential: Option<&'a CredentialId>,
    protocol: &'static str,
}

struct Recorder<'a> {
    ctx: Ctx<'a>,
    report: CheckReport,
    /// The whole check ends by then ([`Timeouts::check`]).
    deadline: OpDeadline,
}

impl Recorder<'_> {
    /// Runs a stage; records it; `None` (and the report failed) on error.
    fn stage<T>(
        &mut self,
        name: StageName,
        f: impl FnOnce() -> Result<(T, String), ConnectionError>,
    ) -> Option<T> {
        let started = Instant::now();
        let result = if self.deadline.expired() {
            Err(self
                .deadline
                .exceeded()
                .error(&format!("starting the {} stage", name.as_str())))
        } else {
            f()
        };
        let result = result.map_err(|e| {
            if e.is_timeout() && self.deadline.expired() && e.advice().is_none() {
                let budget = self.deadline.budget().as_secs_f64();
                e.with_advice(format!(
                    "the whole check has a budget of {budget:.0} s (the command's --timeout) and \
                     the server used it up by the {} stage, answering too slowly or without end; \
                     check the server, or allow more time if it is only slow",
                    name.as_str()
                ))
            } else {
                e
            }
        });
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok((value, detail)) => {
                self.report.stages.push(Stage {
                    name,
                    ok: true,
                    duration_ms,
                    detail,
                    category: None,
                    hop: None,
                    reply_code: None,
                    enhanced_code: None,
                    advice: None,
                });
                Some(value)
            }
            Err(e) => {
                tracing::debug!(stage = name.as_str(), category = %e.category(), "check stage failed");
                let advice = advice(&e, &self.ctx, name);
                self.report.stages.push(Stage {
                    name,
                    ok: false,
                    duration_ms,
                    detail: e.message().to_owned(),
                    category: Some(e.category()),
                    hop: e.hop(),
                    reply_code: e.reply_code(),
                    enhanced_code: e.enhanced_code().map(str::to_owned),
                    advice: Some(advice),
                });
                self.report.ok = false;
                None
            }
        }
    }

    fn note_tls(&mut self, info: &TlsInfo) -> String {
        let summary = TlsSummary::from(info);
        let text = summary.to_string();
        self.report.tls = Some(summary);
        text
    }

    /// resolve, connect, proxy, and implicit TLS: the stream the protocol starts on.
    fn transport(
        &mut self,
        creds: &dyn CredentialProvider,
        timeouts: &Timeouts,
    ) -> Option<MailStream> {
        let mut stream = self.transport_steps(creds, timeouts)?;
        // Every read and write from here on, STARTTLS included, ends by the check's deadline.
        stream.set_deadline(Some(self.deadline));
        Some(stream)
    }

    /// `timeouts` with each step bounded by what is left of the check's budget.
    fn left(&self, timeouts: &Timeouts) -> Timeouts {
        crate::smtp::within(timeouts, Some(self.deadline))
    }

    fn transport_steps(
        &mut self,
        creds: &dyn CredentialProvider,
        timeouts: &Timeouts,
    ) -> Option<MailStream> {
        let settings = self.ctx.settings;
        let tcp = match &settings.route {
            Route::Direct => {
                let t = self.left(timeouts);
                let addrs = self.stage(StageName::Resolve, || {
                    let a = net::resolve(&settings.endpoint, &t)?;
                    let text = a
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ");
                    Ok((a, text))
                })?;
                let t = self.left(timeouts);
                self.stage(StageName::Connect, || {
                    let tcp = net::connect_tcp(&addrs, &t)?;
                    let peer = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
                    Ok((tcp, format!("connected to {peer}")))
                })?
            }
            Route::Proxy(connector) => {
                let t = self.left(timeouts);
                let addrs = self.stage(StageName::Resolve, || {
                    let a = proxy::resolve_proxy(connector, &t)?;
                    let text = a
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ");
                    Ok((a, format!("{}: {text}", proxy::describe(connector))))
                })?;
                let t = self.left(timeouts);
                let mut tcp = self.stage(StageName::Connect, || {
                    let tcp = proxy::connect_proxy(connector, &addrs, &t)?;
                    Ok((tcp, format!("connected to {}", proxy::describe(connector))))
                })?;
                let t = self.left(timeouts);
                self.stage(StageName::Proxy, || {
                    proxy::handshake(&mut tcp, connector, &settings.endpoint, creds, &t)?;
                    Ok(((), format!("tunnel to {} open", settings.endpoint)))
                })?;
                tcp
            }
        };
        if settings.security == Security::ImplicitTls {
            let t = self.left(timeouts);
            let (stream, info) = self.stage(StageName::Tls, || {
                let (s, info) = tls::handshake(tcp, &settings.endpoint.host, &settings.tls, &t)?;
                Ok(((s, info), String::new()))
            })?;
            let text = self.note_tls(&info);
            if let Some(last) = self.report.stages.last_mut() {
                last.detail = text;
            }
            Some(MailStream::tls(stream))
        } else {
            Some(MailStream::plain(tcp))
        }
    }

    fn credential(&mut self, creds: &dyn CredentialProvider) -> Option<Credential> {
        let id = self.ctx.credential?;
        if creds.mints_tokens(id) {
            return self.stage(StageName::Token, || {
                let c = creds
                    .credential(id)
                    .map_err(|e| ConnectionError::new(e.category(), e.to_string()))?;
                let detail = format!("an OAuth2 access token for {}", c.username);
                Ok((c, detail))
            });
        }
        match creds.credential(id) {
            Ok(c) => Some(c),
            Err(e) => {
                let err = ConnectionError::new(e.category(), e.to_string());
                self.stage::<()>(StageName::Authentication, || Err(err));
                None
            }
        }
    }

    /// Refuses a disabled account before anything is sent: docs/SETTINGS.md says a disabled account is
    /// never contacted. `true` when the account may be checked.
    fn enabled(&mut self, enabled: bool) -> bool {
        if !enabled {
            self.stage::<()>(StageName::Settings, || {
                Err(ConnectionError::new(
                    ErrorCategory::Validation,
                    "the account is disabled, and a disabled account is never contacted",
                ))
            });
        }
        enabled
    }

    fn finish(mut self) -> CheckReport {
        self.report.ok = self.report.stages.iter().all(|s| s.ok);
        self.report
    }
}

fn route_words(route: &Route) -> String {
    match route {
        Route::Direct => "direct".to_owned(),
        Route::Proxy(c) => format!("through {}", proxy::describe(c)),
    }
}

fn recorder<'a>(
    name: &str,
    protocol: &'static str,
    settings: &'a ConnectionSettings,
    credential: Option<&'a CredentialId>,
    timeouts: &Timeouts,
) -> Recorder<'a> {
    Recorder {
        deadline: timeouts.check_deadline(),
        ctx: Ctx {
            settings,
            credential,
            protocol,
        },
        report: CheckReport {
            account: name.to_owned(),
            protocol,
            server: settings.endpoint.to_string(),
            security: settings.security,
            route: route_words(&settings.route),
            ok: true,
            stages: Vec::new(),
            tls: None,
            capabilities: Vec::new(),
            mechanisms: Vec::new(),
            mailbox: None,
            size_limit: None,
            folders: Vec::new(),
        },
    }
}

/// Checks an incoming (IMAP or POP3) account, stage by stage. Never changes the server.
pub fn check_incoming(
    account: &IncomingAccount,
    creds: &dyn CredentialProvider,
    options: &CheckOptions,
) -> CheckReport {
    let settings = account.connection();
    let protocol = account.protocol().as_str();
    let mut r = recorder(
        account.name(),
        protocol,
        settings,
        Some(account.credential()),
        &options.timeouts,
    );
    if !r.enabled(account.enabled()) {
        return r.finish();
    }
    if let Some(stream) = r.transport(creds, &options.timeouts) {
        match account.protocol() {
            Protocol::Pop3 => check_pop3(&mut r, stream, creds, options),
            _ => check_imap(&mut r, stream, creds, options, account),
        }
    }
    r.finish()
}

fn check_imap(
    r: &mut Recorder<'_>,
    stream: MailStream,
    creds: &dyn CredentialProvider,
    options: &CheckOptions,
    account: &IncomingAccount,
) {
    let settings = r.ctx.settings;
    let t = &options.timeouts;
    let encrypted = stream.is_tls();
    let bound = t.read.max(t.write);
    let Some(mut client) = r.stage(StageName::Greeting, || {
        let c = ImapClient::new(stream, encrypted, bound)?;
        let g = c.greeting().to_owned();
        Ok((c, g))
    }) else {
        return;
    };
    let Some(words) = r.stage(StageName::Capabilities, || {
        let caps = client.capabilities()?;
        let words: Vec<String> = caps.iter().map(str::to_owned).collect();
        let text = words.join(" ");
        Ok((words, text))
    }) else {
        return;
    };
    r.report.capabilities = words;
    if settings.security == Security::StartTls {
        let mut info = None;
        let Some(c) = r.stage(StageName::Tls, || {
            let c = client.starttls(net::starttls_upgrade(settings, t, &mut info))?;
            Ok((c, String::new()))
        }) else {
            return;
        };
        client = c;
        if let Some(info) = info {
            let text = r.note_tls(&info);
            if let Some(last) = r.report.stages.last_mut() {
                last.detail = format!("STARTTLS: {text}");
            }
        }
        // The capabilities over TLS, which the rest of the check goes by.
        let Some(words) = r.stage(StageName::Capabilities, || {
            let words: Vec<String> = client.capabilities()?.iter().map(str::to_owned).collect();
            let text = format!("after STARTTLS: {}", words.join(" "));
            Ok((words, text))
        }) else {
            return;
        };
        r.report.capabilities = words;
    }
    let Some(credential) = r.credential(creds) else {
        return;
    };
    let Some(mechanisms) = r.stage(StageName::Mechanisms, || {
        let caps = client.capabilities()?;
        let mechanisms = caps.auth_mechanisms();
        let ok = if credential.secret.is_oauth2() {
            mechanisms.iter().any(|m| m.eq_ignore_ascii_case("XOAUTH2"))
        } else {
            !caps.login_disabled()
        };
        let mut shown = mechanisms.clone();
        if !caps.login_disabled() {
            shown.insert(0, "LOGIN (command)".to_owned());
        }
        let text = shown.join(", ");
        if ok {
            Ok((mechanisms, text))
        } else if credential.secret.is_oauth2() {
            Err(ConnectionError::new(
                ErrorCategory::Auth,
                format!(
                    "the server does not offer AUTH=XOAUTH2 for an OAuth2 token (offers: {text})"
                ),
            ))
        } else {
            Err(ConnectionError::new(
                ErrorCategory::Tls,
                "the server has LOGINDISABLED: it accepts no password on this connection (use TLS)",
            ))
        }
    }) else {
        return;
    };
    r.report.mechanisms = mechanisms;
    let Some(mut session) = r.stage(StageName::Authentication, || {
        let s = client.login(&credential)?;
        Ok((s, format!("logged in as {}", credential.username)))
    }) else {
        return;
    };
    // The server's folders, with the account's folders and archive folder found among them
    // (named as the user writes them, mapped as the collector maps them).
    let mut listed_folders: Vec<FolderInfo> = Vec::new();
    let Some((map, wires)) = r.stage(StageName::Folders, || {
        let map = session.folder_map()?;
        let listed = session.list_mailboxes()?;
        let mut wires: Vec<(String, String)> = Vec::new();
        let mut missing: Vec<String> = Vec::new();
        let mut unnamable: Vec<String> = Vec::new();
        let wanted = account
            .folders()
            .iter()
            .map(|f| (f.as_str(), false))
            .chain(account.archive_folder().map(|a| (a, true)));
        for (folder, is_archive) in wanted {
            let what = if is_archive {
                "archive folder"
            } else {
                "folder"
            };
            match map.to_wire(folder) {
                Ok(wire) => {
                    let found = listed.iter().any(|m| {
                        m.selectable()
                            && (m.name == wire
                                || (wire == "INBOX" && m.name.eq_ignore_ascii_case("INBOX")))
                    });
                    if !found {
                        missing.push(format!("{what} \"{}\"", folder.escape_debug()));
                    }
                    if !is_archive {
                        wires.push((folder.to_owned(), wire));
                    }
                }
                Err(e) => unnamable.push(format!("{what}: {e}")),
            }
        }
        let same = |a: &str, b: &str| {
            a == b || (a.eq_ignore_ascii_case("INBOX") && b.eq_ignore_ascii_case("INBOX"))
        };
        let infos: Vec<FolderInfo> = listed
            .iter()
            .take(MAX_FOLDERS_REPORTED)
            .map(|m| {
                let name = map.to_user(&m.name);
                let named = |f: &str| name.as_deref().is_some_and(|n| same(n, f));
                FolderInfo {
                    collected: account.folders().iter().any(|f| named(f)),
                    archive: account.archive_folder().is_some_and(named),
                    name,
                    wire: crate::smtp::summarize_text(&m.name),
                    attributes: m.attributes.clone(),
                    selectable: m.selectable(),
                }
            })
            .collect();
        let special: Vec<String> = infos
            .iter()
            .filter_map(|f| {
                let uses: Vec<&str> = f
                    .attributes
                    .iter()
                    .map(String::as_str)
                    .filter(|a| SPECIAL_USE.iter().any(|s| s.eq_ignore_ascii_case(a)))
                    .collect();
                (!uses.is_empty()).then(|| {
                    format!(
                        "{} {}",
                        f.name.as_deref().unwrap_or(&f.wire),
                        uses.join(" ")
                    )
                })
            })
            .collect();
        listed_folders.clone_from(&infos);
        if !missing.is_empty() || !unnamable.is_empty() {
            let mut problems = Vec::new();
            if !missing.is_empty() {
                problems.push(format!("{} not on the server", missing.join(", ")));
            }
            problems.extend(unnamable);
            return Err(ConnectionError::new(
                ErrorCategory::Validation,
                format!(
                    "{}; the server has {} folder(s): {}",
                    problems.join("; "),
                    infos.len(),
                    infos
                        .iter()
                        .take(20)
                        .map(|f| f.name.clone().unwrap_or_else(|| f.wire.clone()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let detail = format!(
            "{} folder(s) on the server (separator {}, prefix \"{}\", names in {}){}",
            infos.len(),
            map.delimiter()
                .map_or_else(|| "none".to_owned(), |d| format!("\"{d}\"")),
            map.prefix(),
            if map.utf8() {
                "UTF-8"
            } else {
                "modified UTF-7"
            },
            if special.is_empty() {
                String::new()
            } else {
                format!("; special use: {}", special.join(", "))
            }
        );
        Ok(((map, wires), detail))
    }) else {
        r.report.folders = listed_folders;
        let _ = session.logout();
        return;
    };
    r.report.folders = listed_folders;
    // Every folder the collector collects, then the one asked for if it is another: opened and
    // sized with the driver calls the collector makes (EXAMINE, `UID FETCH 1:* (UID
    // RFC822.SIZE)`), so a server the collector would fail on fails here the same way.
    let mut folders = wires;
    if !folders
        .iter()
        .any(|(f, _)| crate::validate::same_folder(f, &options.mailbox))
    {
        match map.to_wire(&options.mailbox) {
            Ok(w) => folders.push((options.mailbox.clone(), w)),
            Err(_) => folders.push((options.mailbox.clone(), options.mailbox.clone())),
        }
    }
    for (folder, wire) in folders {
        let Some(stats) = r.stage(StageName::Mailbox, || {
            let s = session.mailbox_stats(&wire)?;
            Ok((
                s,
                format!(
                    "{folder}: {} {}, {} bytes (sizes by UID FETCH 1:* RFC822.SIZE, as \
                     collecting does)",
                    s.messages,
                    if s.messages == 1 {
                        "message"
                    } else {
                        "messages"
                    },
                    s.total_size
                ),
            ))
        }) else {
            break;
        };
        if crate::validate::same_folder(&folder, &options.mailbox) {
            r.report.mailbox = Some(MailboxSummary {
                messages: u64::from(stats.messages),
                size: stats.total_size,
            });
        }
    }
    let _ = session.logout();
}

/// Most folders a check report lists (a server may have thousands).
const MAX_FOLDERS_REPORTED: usize = 1000;

/// The special-use attributes of RFC 6154.
const SPECIAL_USE: &[&str] = &[
    "\\All",
    "\\Archive",
    "\\Drafts",
    "\\Flagged",
    "\\Junk",
    "\\Sent",
    "\\Trash",
];

/// What the collector asks a POP3 server before fetching (see
/// [`crate::collector::pop3_source`]), with the same driver calls and the same tolerance: `LIST`
/// must be read whole, a line of it that is not "number size" is named and costs only its own
/// message; `UIDL` may be missing or unreadable (the collector then recognises
/// messages by their content), but when it answers it must name every listed message.
fn pop3_listing(client: &mut Pop3Client<MailStream>) -> Result<String, ConnectionError> {
    // A LIST line that is not "number size" (GreenMail answers `3 -1` for an empty message)
    // costs the collector that message alone, which it leaves on the server and reports as
    // `refused`: the check passes and names the line.
    let (sizes, bad): (Vec<_>, Vec<_>) =
        client.list_lenient()?.into_iter().partition(Result::is_ok);
    let sizes: Vec<_> = sizes.into_iter().filter_map(Result::ok).collect();
    let bad_note = match bad.into_iter().filter_map(Result::err).collect::<Vec<_>>() {
        bad if bad.is_empty() => String::new(),
        bad => format!(
            "; {} LIST {} the collector cannot read, so it leaves {} on the server, reported as refused: {}",
            bad.len(),
            if bad.len() == 1 { "line" } else { "lines" },
            if bad.len() == 1 { "that message" } else { "those messages" },
            bad.iter()
                .take(3)
                .map(|b| format!("\"{}\"", b.line))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let uid_note = match client.uidl() {
        Ok(uids) => {
            let numbers: std::collections::HashSet<u32> = uids.iter().map(|u| u.number).collect();
            if let Some(m) = sizes.iter().find(|m| !numbers.contains(&m.number)) {
                return Err(ConnectionError::new(
                    ErrorCategory::Protocol,
                    format!(
                        "the server's UIDL answer has no entry for message {}",
                        m.number
                    ),
                ));
            }
            format!("UIDL: {} ids", uids.len())
        }
        Err(e) if e.is_protocol() && client.is_usable() => format!(
            "no usable UIDL ({}): messages will be recognised by their content",
            e.message()
        ),
        Err(e) => return Err(e),
    };
    Ok(format!("LIST: {} sizes; {uid_note}{bad_note}", sizes.len()))
}

fn check_pop3(
    r: &mut Recorder<'_>,
    stream: MailStream,
    creds: &dyn CredentialProvider,
    options: &CheckOptions,
) {
    let settings = r.ctx.settings;
    let Some(mut client) = r.stage(StageName::Greeting, || {
        let c = Pop3Client::new(stream, options.timeouts)?;
        let g = c.greeting().to_owned();
        Ok((c, g))
    }) else {
        return;
    };
    let Some(names) = r.stage(StageName::Capabilities, || {
        let caps = client.capa()?;
        let names: Vec<String> = caps.names().map(str::to_owned).collect();
        let text = names.join(" ");
        Ok((names, text))
    }) else {
        return;
    };
    r.report.capabilities = names;
    if settings.security == Security::StartTls {
        let Some(c) = r.stage(StageName::Tls, || {
            Ok((
                client.stls(&settings.endpoint.host, &settings.tls)?,
                String::new(),
            ))
        }) else {
            return;
        };
        client = c;
        if let Some(info) = client.tls_info().cloned() {
            let text = r.note_tls(&info);
            if let Some(last) = r.report.stages.last_mut() {
                last.detail = format!("STLS: {text}");
            }
        }
        if let Ok(caps) = client.capabilities() {
            let names: Vec<String> = caps.names().map(str::to_owned).collect();
            let text = format!("after STLS: {}", names.join(" "));
            r.stage(StageName::Capabilities, || Ok(((), text)));
            r.report.capabilities = names;
        }
    }
    let Some(credential) = r.credential(creds) else {
        return;
    };
    let Some(mechanisms) = r.stage(StageName::Mechanisms, || {
        let caps = client.capabilities()?;
        let sasl: Vec<String> = caps
            .args("SASL")
            .map(<[String]>::to_vec)
            .unwrap_or_default();
        let user = caps.user();
        let ok = if credential.secret.is_oauth2() {
            caps.has_sasl("XOAUTH2")
        } else {
            user || caps.has_sasl("PLAIN") || caps.names().next().is_none()
        };
        let mut shown = sasl.clone();
        if user {
            shown.insert(0, "USER/PASS".to_owned());
        }
        let text = shown.join(", ");
        if ok {
            Ok((sasl, text))
        } else {
            Err(ConnectionError::new(
                ErrorCategory::Auth,
                format!("no login mechanism fits the credential (offers: {text})"),
            ))
        }
    }) else {
        return;
    };
    r.report.mechanisms = mechanisms;
    let Some(()) = r.stage(StageName::Authentication, || {
        let m = client.login(&credential)?;
        Ok(((), format!("logged in as {} ({m:?})", credential.username)))
    }) else {
        return;
    };
    if let Some(stat) = r.stage(StageName::Mailbox, || {
        let s = client.stat()?;
        let listing = pop3_listing(&mut client)?;
        Ok((
            s,
            format!(
                "{} {}, {} bytes; {listing}",
                s.count,
                if s.count == 1 { "message" } else { "messages" },
                s.size
            ),
        ))
    }) {
        r.report.mailbox = Some(MailboxSummary {
            messages: u64::from(stat.count),
            size: stat.size,
        });
    }
    let _ = client.quit();
}

/// Checks an SMTP account, stage by stage. Sends no message.
pub fn check_smtp(
    account: &SmtpAccount,
    creds: &dyn CredentialProvider,
    options: &CheckOptions,
) -> CheckReport {
    let settings = account.connection();
    let mut r = recorder(
        account.name(),
        "SMTP",
        settings,
        account.credential(),
        &options.timeouts,
    );
    if !r.enabled(account.enabled()) {
        return r.finish();
    }
    let t = &options.timeouts;
    let Some(stream) = r.transport(creds, t) else {
        return r.finish();
    };
    let config = ClientConfig {
        client_name: options.client_name.clone(),
        io_timeout: t.read.max(t.write),
        partial_delivery: false,
    };
    let encrypted = stream.is_tls();
    let started = Instant::now();
    let connected = SmtpClient::connect(stream, config, encrypted);
    let mut client = match connected {
        Ok(c) => {
            let greeting = c.greeting().summary();
            r.stage(StageName::Greeting, || Ok(((), greeting)));
            if let Some(last) = r.report.stages.last_mut() {
                last.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            }
            c
        }
        Err(e) => {
            r.stage::<()>(StageName::Greeting, || Err(e));
            return r.finish();
        }
    };
    let keywords = |c: &SmtpClient<MailStream>| -> Vec<String> {
        c.extensions()
            .iter()
            .map(|(k, p)| {
                if p.is_empty() {
                    k.to_owned()
                } else {
                    format!("{k} {}", p.join(" "))
                }
            })
            .collect()
    };
    let words = keywords(&client);
    let text = words.join(", ");
    let before = if settings.security == Security::StartTls {
        " (before STARTTLS)"
    } else {
        ""
    };
    r.stage(StageName::Capabilities, || {
        Ok(((), format!("EHLO{before}: {text}")))
    });
    r.report.capabilities = words;
    if settings.security == Security::StartTls {
        let mut info = None;
        let Some(c) = r.stage(StageName::Tls, || {
            Ok((
                client.starttls(net::starttls_upgrade(settings, t, &mut info))?,
                String::new(),
            ))
        }) else {
            return r.finish();
        };
        client = c;
        if let Some(info) = info {
            let text = r.note_tls(&info);
            if let Some(last) = r.report.stages.last_mut() {
                last.detail = format!("STARTTLS: {text}");
            }
        }
        // What counts is what the server offers over TLS (AUTH often appears only then, and
        // STARTTLS no longer): the EHLO said again after the handshake.
        let words = keywords(&client);
        let text = words.join(", ");
        r.stage(StageName::Capabilities, || {
            Ok(((), format!("EHLO after STARTTLS: {text}")))
        });
        r.report.capabilities = words;
    }
    let mechanisms = client.extensions().auth_mechanisms();
    r.report.mechanisms = mechanisms.clone();
    if account.credential().is_some() {
        let Some(credential) = r.credential(creds) else {
            return r.finish();
        };
        let offered = mechanisms.join(", ");
        let oauth = credential.secret.is_oauth2();
        let fits = if oauth {
            mechanisms.iter().any(|m| m.eq_ignore_ascii_case("XOAUTH2"))
        } else {
            mechanisms
                .iter()
                .any(|m| m.eq_ignore_ascii_case("PLAIN") || m.eq_ignore_ascii_case("LOGIN"))
        };
        let Some(()) = r.stage(StageName::Mechanisms, || {
            if fits {
                Ok(((), offered.clone()))
            } else if mechanisms.is_empty() {
                Err(ConnectionError::new(ErrorCategory::Auth, "the server offers no AUTH here (some servers offer it only after STARTTLS): turn on TLS, or turn off Use authentication"))
            } else {
                Err(ConnectionError::new(ErrorCategory::Auth, format!("no AUTH mechanism fits the credential (offers: {offered})")))
            }
        }) else {
            return r.finish();
        };
        let Some(()) = r.stage(StageName::Authentication, || {
            client.authenticate(&credential)?;
            Ok(((), format!("authenticated as {}", credential.username)))
        }) else {
            return r.finish();
        };
    }
    let size = client.extensions().size_limit();
    r.report.size_limit = size.map(|s| s.unwrap_or(0));
    let size_text = match size {
        Some(Some(n)) => format!("SIZE {n} bytes"),
        Some(None) => "SIZE without a limit".to_owned(),
        None => "no SIZE extension".to_owned(),
    };
    let features: Vec<String> = [
        "PIPELINING",
        "8BITMIME",
        "SMTPUTF8",
        "CHUNKING",
        "ENHANCEDSTATUSCODES",
        "DSN",
    ]
    .into_iter()
    .filter(|k| client.extensions().has(k))
    .map(str::to_owned)
    .collect();
    r.stage(StageName::Extensions, || {
        Ok(((), format!("{size_text}; {}", features.join(" "))))
    });
    let _ = client.quit();
    r.finish()
}
