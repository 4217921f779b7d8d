//! Before login: the greeting, CAPABILITY, STARTTLS and the login itself.

use super::response::{io_err, map_err, Tap};
use super::session::ImapSession;
use super::{clean, protocol, ImapCapabilities, ImapOptions, MAX_LINE, STARTTLS_TAG};
use crate::credentials::{Credential, Secret};
use crate::error::{ConnectionError, ErrorCategory};
use crate::net::{BoundedReader, MailStream, OpDeadline};
use crate::oauth2::sasl::OAuth2Mechanism;
use std::cell::Cell;
use std::fmt;
use std::io::{Read, Write};
use std::time::Duration;

/// An IMAP connection before login: greeting read, capabilities known on demand.
pub struct ImapClient<S: Read + Write> {
    client: ::imap::Client<Tap<S>>,
    /// Our handle on the stream the crate reads through.
    stream: Tap<S>,
    greeting: String,
    capabilities: Option<ImapCapabilities>,
    encrypted: bool,
    bound: Duration,
}

impl<S: Read + Write> fmt::Debug for ImapClient<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapClient")
            .field("greeting", &self.greeting)
            .field("capabilities", &self.capabilities)
            .field("encrypted", &self.encrypted)
            .finish()
    }
}

impl<S: Read + Write> ImapClient<S> {
    /// Reads the greeting. `encrypted` tells whether `stream` is already TLS; `bound` is the
    /// stream's read timeout, named in timeout errors. A `* BYE` greeting is refused.
    pub fn new(stream: S, encrypted: bool, bound: Duration) -> Result<Self, ConnectionError> {
        let stream = Tap::new(stream);
        let mut client = ::imap::Client::new(stream.clone());
        let raw = client
            .read_greeting()
            .map_err(|e| map_err(e, "reading the greeting", bound))?;
        let greeting = String::from_utf8_lossy(&raw).trim_end().to_owned();
        tracing::debug!(greeting = %clean(&greeting), "IMAP greeting");
        let upper = greeting.to_ascii_uppercase();
        if upper.starts_with("* BYE") {
            return Err(protocol(format!(
                "the server refused the session: {}",
                clean(&greeting)
            )));
        }
        if !(upper.starts_with("* OK") || upper.starts_with("* PREAUTH")) {
            return Err(protocol(format!(
                "the server did not greet as an IMAP server: \"{}\"",
                clean(&greeting)
            )));
        }
        Ok(Self {
            client,
            stream,
            greeting,
            capabilities: None,
            encrypted,
            bound,
        })
    }

    /// The greeting line (`* OK … ready.`).
    pub fn greeting(&self) -> &str {
        &self.greeting
    }

    /// Whether the stream is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// The capabilities (asked once with CAPABILITY, then remembered).
    pub fn capabilities(&mut self) -> Result<&ImapCapabilities, ConnectionError> {
        if self.capabilities.is_none() {
            let caps = self
                .client
                .capabilities()
                .map_err(|e| map_err(e, "asking for the capabilities", self.bound))?;
            self.capabilities = Some(ImapCapabilities::from_crate(&caps));
        }
        self.capabilities
            .as_ref()
            .ok_or_else(|| protocol("no capabilities"))
    }

    /// STARTTLS (RFC 3501 §6.2.1): fails with [`ErrorCategory::Tls`] when the server does not
    /// offer it (nothing else is sent), or when it sends anything between its OK and the
    /// handshake. `upgrade` runs the TLS handshake on the stream. Capabilities are asked again
    /// after TLS.
    pub fn starttls<T, F>(mut self, upgrade: F) -> Result<ImapClient<T>, ConnectionError>
    where
        T: Read + Write,
        F: FnOnce(S) -> Result<T, ConnectionError>,
    {
        if self.encrypted {
            return Err(ConnectionError::new(
                ErrorCategory::Tls,
                "the connection is already encrypted: STARTTLS cannot be done twice",
            ));
        }
        if !self.capabilities()?.starttls() {
            return Err(ConnectionError::new(
                ErrorCategory::Tls,
                "the server does not offer STARTTLS; the connection was not continued in clear \
                 text: use a port with implicit TLS (SSL), or turn the secure connection off only \
                 if clear text is acceptable",
            ));
        }
        let bound = self.bound;
        let tap = self
            .client
            .into_inner()
            .map_err(|e| map_err(e, "asking for STARTTLS", bound))?;
        drop(self.stream);
        let stream = tap.into_inner().ok_or_else(|| {
            ConnectionError::new(
                ErrorCategory::Tls,
                "the server sent data before STARTTLS was asked for; the connection was dropped",
            )
        })?;
        let mut wire = BoundedReader::with_capacity(stream, MAX_LINE);
        let doing = "asking for STARTTLS";
        wire.write_all(format!("{STARTTLS_TAG} STARTTLS\r\n").as_bytes())
            .and_then(|()| wire.flush())
            .map_err(|e| io_err(e, doing, bound))?;
        loop {
            let line = wire
                .read_line(MAX_LINE)
                .map_err(|e| e.into_connection_error(doing, bound))?;
            let line = String::from_utf8_lossy(&line).into_owned();
            if line.starts_with("* ") {
                continue;
            }
            let tagged = format!("{STARTTLS_TAG} ");
            match line.strip_prefix(&tagged) {
                Some(rest) if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case("OK") => break,
                Some(_) => {
                    return Err(ConnectionError::new(
                        ErrorCategory::Tls,
                        format!("the server refused STARTTLS: {}", clean(&line)),
                    ))
                }
                None => {
                    return Err(protocol(format!(
                        "unexpected reply to STARTTLS: \"{}\"",
                        clean(&line)
                    )))
                }
            }
        }
        let stream = wire
            .into_inner()
            .map_err(|_| crate::net::starttls_injected("STARTTLS"))?;
        let tls = Tap::new(upgrade(stream)?);
        let mut client = ::imap::Client::new(tls.clone());
        // The greeting came before STARTTLS; there is none after it.
        client.greeting_read = true;
        Ok(ImapClient {
            client,
            stream: tls,
            greeting: self.greeting,
            capabilities: None,
            encrypted: true,
            bound,
        })
    }

    /// Logs in: `LOGIN` for a password (`AUTHENTICATE PLAIN` when the server has LOGINDISABLED
    /// but offers AUTH=PLAIN), `AUTHENTICATE XOAUTH2` or `OAUTHBEARER` (whichever the server
    /// offers, XOAUTH2 first) for an OAuth2 token. A NO or BAD answer is [`ErrorCategory::Auth`].
    pub fn login(self, credential: &Credential) -> Result<ImapSession<S>, ConnectionError> {
        self.login_with(credential, None)
    }

    /// [`login`](Self::login) with an OAuth2 token through the given SASL mechanism (an error
    /// if the server does not offer it).
    pub fn login_oauth2(
        self,
        credential: &Credential,
        mechanism: OAuth2Mechanism,
    ) -> Result<ImapSession<S>, ConnectionError> {
        self.login_with(credential, Some(mechanism))
    }

    fn login_with(
        mut self,
        credential: &Credential,
        forced: Option<OAuth2Mechanism>,
    ) -> Result<ImapSession<S>, ConnectionError> {
        let bound = self.bound;
        let caps = self.capabilities()?.clone();
        let user = credential.username.clone();
        let secret = credential.secret.expose().to_owned();
        let offers = |m: &str| caps.auth_mechanisms().iter().any(|x| x == m);
        let mut bearer_auth = None;
        let (mechanism, result) = match &credential.secret {
            Secret::OAuth2Token(_) => {
                let mech = match forced {
                    Some(m) if offers(m.name()) => Some(m),
                    Some(_) => None,
                    None => OAuth2Mechanism::choose(offers),
                };
                let Some(mech) = mech else {
                    return Err(protocol(format!(
                        "the credential is an OAuth2 token but the server does not offer \
                         AUTHENTICATE {} (it offers: {})",
                        forced.map_or("XOAUTH2 or OAUTHBEARER", |m| m.name()),
                        offered(&caps)
                    )));
                };
                let auth = bearer_auth.insert(SaslOnce::new(
                    mech.initial_response(&user, &secret),
                    mech.error_ack(),
                ));
                let name = match mech {
                    OAuth2Mechanism::OAuthBearer => "AUTHENTICATE OAUTHBEARER",
                    _ => "AUTHENTICATE XOAUTH2",
                };
                (name, self.client.authenticate(mech.name(), &*auth))
            }
            _ if caps.login_disabled() => {
                if !caps.auth_mechanisms().iter().any(|m| m == "PLAIN") {
                    return Err(protocol(format!(
                        "the server refuses LOGIN (LOGINDISABLED){} and offers no AUTH=PLAIN",
                        if self.encrypted {
                            ""
                        } else {
                            ": it may accept it over TLS, use a secure connection"
                        }
                    )));
                }
                let auth = SaslOnce::new(format!("\0{user}\0{secret}"), b"");
                (
                    "AUTHENTICATE PLAIN",
                    self.client.authenticate("PLAIN", &auth),
                )
            }
            _ => ("LOGIN", self.client.login(&user, &secret)),
        };
        match result {
            Ok(session) => {
                tracing::debug!(mechanism, "IMAP login accepted");
                Ok(ImapSession::new(
                    session,
                    self.stream,
                    bound,
                    ImapOptions::default().fetch_batch,
                ))
            }
            Err((e, _client)) => {
                let e = login_error(e, mechanism, &[&user, &secret], bound);
                // OAUTHBEARER/XOAUTH2 say why in a JSON challenge: its status.
                match bearer_auth.and_then(|a| a.error_status()) {
                    Some(status) if e.is_auth() => Err(ConnectionError::new(
                        ErrorCategory::Auth,
                        format!("{} (the server's status: {status})", e.message()),
                    )),
                    _ => Err(e),
                }
            }
        }
    }
}

fn offered(caps: &ImapCapabilities) -> String {
    let m = caps.auth_mechanisms();
    if m.is_empty() {
        "no AUTH= mechanism".to_owned()
    } else {
        m.join(" ")
    }
}

/// A login failure, without anything we sent.
fn login_error(
    e: ::imap::Error,
    mechanism: &str,
    sent: &[&str],
    bound: Duration,
) -> ConnectionError {
    let (text, category) = match &e {
        ::imap::Error::No(no) => (no.information.clone(), ErrorCategory::Auth),
        ::imap::Error::Bad(bad) => (bad.information.clone(), ErrorCategory::Auth),
        _ => return map_err(e, "logging in", bound),
    };
    let echoes = sent.iter().any(|s| !s.is_empty() && text.contains(s));
    let shown = if echoes {
        String::new()
    } else {
        format!(": {}", clean(&text))
    };
    ConnectionError::new(
        category,
        format!(
            "the server rejected the credentials ({mechanism}){shown}; check the user name and \
             secret of the account's credential"
        ),
    )
}

/// A SASL exchange of one message: the first challenge gets it, any later one (an error
/// report, as XOAUTH2 sends) gets an empty answer, which ends the exchange.
struct SaslOnce {
    message: String,
    ack: &'static [u8],
    sent: Cell<bool>,
    error: std::cell::RefCell<Option<Vec<u8>>>,
}

impl SaslOnce {
    fn new(message: String, ack: &'static [u8]) -> Self {
        Self {
            message,
            ack,
            sent: Cell::new(false),
            error: std::cell::RefCell::new(None),
        }
    }

    /// The `status` of the error report the server sent after our message, if any.
    fn error_status(&self) -> Option<String> {
        let e = self.error.borrow();
        crate::oauth2::sasl::error_status(e.as_deref()?)
    }
}

impl ::imap::Authenticator for SaslOnce {
    type Response = Vec<u8>;
    fn process(&self, challenge: &[u8]) -> Self::Response {
        if self.sent.replace(true) {
            // Bounded: the imap crate already read the line; keep at most 4 KiB of it.
            let keep = challenge.len().min(4096);
            *self.error.borrow_mut() = Some(challenge[..keep].to_vec());
            self.ack.to_vec()
        } else {
            self.message.as_bytes().to_vec()
        }
    }
}

impl ImapClient<MailStream> {
    /// Sets (or removes) the deadline of the operation under way on the stream (see
    /// [`MailStream::set_deadline`]).
    pub fn set_deadline(&mut self, deadline: Option<OpDeadline>) {
        self.stream.lock().rd.get_mut().set_deadline(deadline);
    }
}
