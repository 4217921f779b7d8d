//! The session: `CAPA`, login (USER/PASS, SASL PLAIN, XOAUTH2), `UTF8`; connecting and `STLS`.

use super::*;
use crate::oauth2::sasl::OAuth2Mechanism;

impl<S: Read + Write> Pop3Client<S> {
    /// `CAPA`, fresh from the server (and remembered). A server without CAPA (`-ERR`) gives
    /// empty capabilities with `supported == false`.
    pub fn capa(&mut self) -> Result<&Capabilities, ConnectionError> {
        self.send("CAPA")?;
        let s = self.read_status("waiting for the answer to CAPA")?;
        let caps = if s.ok {
            let lines = self.read_listing("reading the CAPA list")?;
            let text: Vec<String> = lines.iter().map(|l| printable(l)).collect();
            Capabilities::from_lines(text.iter().map(String::as_str))
        } else {
            Capabilities::default()
        };
        Ok(self.capabilities.insert(caps))
    }

    /// The capabilities, asking `CAPA` the first time.
    pub fn capabilities(&mut self) -> Result<&Capabilities, ConnectionError> {
        if self.capabilities.is_none() {
            self.capa()?;
        }
        match &self.capabilities {
            Some(c) => Ok(c),
            None => Err(protocol("CAPA gave no result")),
        }
    }

    /// Logs in: an OAuth2 token with `AUTH XOAUTH2` (an error if the server does not offer
    /// it); a password with `AUTH PLAIN` when the server lists SASL PLAIN, else `USER`/`PASS`.
    /// A rejection is [`ErrorCategory::Auth`] with the server's text.
    pub fn login(&mut self, credential: &Credential) -> Result<LoginMethod, ConnectionError> {
        let caps = self.capabilities()?.clone();
        let user = credential.username.as_str();
        if user.is_empty() || user.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(ConnectionError::new(
                ErrorCategory::Credential,
                "the user name is empty or holds a line break",
            ));
        }
        // RFC 6856 §2: UTF8 is valid in the AUTHORIZATION state only, so it goes before the
        // login (after STLS and CAPA); a server that offers it and refuses it is no failure.
        if caps.has("UTF8") {
            self.utf8()?;
        }
        let method = match &credential.secret {
            Secret::OAuth2Token(_) => match OAuth2Mechanism::choose(|m| caps.has_sasl(m)) {
                Some(OAuth2Mechanism::OAuthBearer) => {
                    self.auth_oauthbearer(user, credential.secret.expose())?;
                    LoginMethod::OAuthBearer
                }
                Some(_) => {
                    self.auth_xoauth2(user, credential.secret.expose())?;
                    LoginMethod::XOAuth2
                }
                None => {
                    return Err(ConnectionError::new(
                        ErrorCategory::Auth,
                        "the POP3 server offers neither SASL XOAUTH2 nor OAUTHBEARER: an \
                             OAuth2 token cannot be used with it",
                    ))
                }
            },
            _ => {
                if caps.has_sasl("PLAIN") {
                    self.auth_plain(user, credential.secret.expose())?;
                    LoginMethod::AuthPlain
                } else {
                    self.user_pass(user, credential.secret.expose())?;
                    LoginMethod::UserPass
                }
            }
        };
        tracing::debug!(method = ?method, "POP3 logged in");
        Ok(method)
    }

    /// `UTF8` (RFC 6856), sent by [`Pop3Client::login`] before it authenticates (the RFC allows it
    /// in the AUTHORIZATION state only) when CAPA offers it: the server then
    /// hands over messages with raw UTF-8 headers as they are (Courier otherwise replaces
    /// them with a "Cannot display Unicode content" wrapper). A refusal (`-ERR`) is logged
    /// and the session goes on as before; returns whether the server accepted it.
    pub fn utf8(&mut self) -> Result<bool, ConnectionError> {
        self.send("UTF8")?;
        let s = self.read_status("waiting for the answer to UTF8")?;
        if !s.ok {
            tracing::info!(reply = %s.text, "the POP3 server offers UTF8 but refused it");
        }
        self.utf8 = s.ok;
        Ok(s.ok)
    }

    /// Whether UTF-8 mode is on (the server accepted `UTF8`).
    pub fn is_utf8(&self) -> bool {
        self.utf8
    }

    pub(super) fn auth_rejected(
        &self,
        command: &str,
        s: &Status,
        secrets: &[&str],
    ) -> ConnectionError {
        let mut text = s.text.clone();
        for secret in secrets.iter().filter(|s| s.len() >= 3) {
            if text.contains(secret) {
                text = text.replace(secret, "[redacted]");
            }
        }
        // RFC 3206: [SYS/…] and [IN-USE] are not about the credentials.
        let upper = text.to_ascii_uppercase();
        if upper.starts_with("[SYS") || upper.starts_with("[IN-USE]") {
            return protocol(format!(
                "the POP3 server could not log in now ({command}): -ERR {text}"
            ));
        }
        ConnectionError::new(
            ErrorCategory::Auth,
            format!("the POP3 server rejected the credentials ({command}): -ERR {text}"),
        )
    }

    /// `USER` then `PASS`.
    pub fn user_pass(&mut self, user: &str, password: &str) -> Result<(), ConnectionError> {
        self.send(&format!("USER {user}"))?;
        let s = self.read_status("waiting for the answer to USER")?;
        if !s.ok {
            return Err(self.auth_rejected("USER", &s, &[password]));
        }
        let mut line = b"PASS ".to_vec();
        line.extend_from_slice(password.as_bytes());
        self.send_secret(line, "PASS")?;
        let s = self.read_status("waiting for the answer to PASS")?;
        if !s.ok {
            return Err(self.auth_rejected("PASS", &s, &[password]));
        }
        self.logged_in = true;
        Ok(())
    }

    /// `AUTH PLAIN` (RFC 4616), with an initial response when it fits the 255-octet line.
    pub fn auth_plain(&mut self, user: &str, password: &str) -> Result<(), ConnectionError> {
        let mut raw = Vec::with_capacity(user.len() * 2 + password.len() + 2);
        raw.push(0);
        raw.extend_from_slice(user.as_bytes());
        raw.push(0);
        raw.extend_from_slice(password.as_bytes());
        let mut encoded = base64::engine::general_purpose::STANDARD.encode(&raw);
        raw.zeroize();
        let r = self.sasl("PLAIN", &encoded);
        let result = r.and_then(|s| match s {
            Some(s) => Err(self.auth_rejected("AUTH PLAIN", &s, &[password, &encoded])),
            None => Ok(()),
        });
        encoded.zeroize();
        result
    }

    /// `AUTH XOAUTH2` with an OAuth2 access token.
    pub fn auth_xoauth2(&mut self, user: &str, token: &str) -> Result<(), ConnectionError> {
        let mut raw = format!("user={user}\x01auth=Bearer {token}\x01\x01");
        let mut encoded = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
        raw.zeroize();
        let r = self.sasl_with_ack("XOAUTH2", &encoded, "");
        let result = r.and_then(|s| match s {
            Some((s, status)) => Err(with_server_status(
                self.auth_rejected("AUTH XOAUTH2", &s, &[token, &encoded]),
                status,
                &[token, &encoded],
            )),
            None => Ok(()),
        });
        encoded.zeroize();
        result
    }

    /// `AUTH OAUTHBEARER` (RFC 7628) with an OAuth2 access token; an error report challenge is
    /// answered with `%x01` as the RFC says, and its `status` (e.g. `invalid_token`) is named in
    /// the error (as for `AUTH XOAUTH2`).
    pub fn auth_oauthbearer(&mut self, user: &str, token: &str) -> Result<(), ConnectionError> {
        let mech = OAuth2Mechanism::OAuthBearer;
        let mut raw = mech.initial_response(user, token);
        let mut encoded = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
        raw.zeroize();
        let ack = base64::engine::general_purpose::STANDARD.encode(mech.error_ack());
        let r = self.sasl_with_ack("OAUTHBEARER", &encoded, &ack);
        let result = r.and_then(|s| match s {
            Some((s, status)) => Err(with_server_status(
                self.auth_rejected("AUTH OAUTHBEARER", &s, &[token, &encoded]),
                status,
                &[token, &encoded],
            )),
            None => Ok(()),
        });
        encoded.zeroize();
        result
    }

    /// Runs a one-step SASL exchange. `Ok(None)` when logged in, `Ok(Some(status))` with the
    /// `-ERR` when rejected.
    pub(super) fn sasl(
        &mut self,
        mech: &str,
        response: &str,
    ) -> Result<Option<Status>, ConnectionError> {
        Ok(self.sasl_with_ack(mech, response, "")?.map(|(s, _)| s))
    }

    /// [`sasl`](Self::sasl), answering an error challenge with `ack`; a rejection comes with
    /// the `status` of the error challenge when there was one (OAUTHBEARER/XOAUTH2's JSON).
    fn sasl_with_ack(
        &mut self,
        mech: &str,
        response: &str,
        ack: &str,
    ) -> Result<Option<(Status, Option<String>)>, ConnectionError> {
        let command = format!("AUTH {mech}");
        // RFC 5034: the initial response may be used when the command fits in 255 octets.
        if command.len() + 1 + response.len() + 2 <= 255 {
            let mut line = format!("{command} {response}").into_bytes();
            self.send_secret_owned(&mut line, &command)?;
        } else {
            self.send(&command)?;
            let line = self.read_line(&format!("waiting for the answer to {command}"))?;
            let body = &line[..];
            if !(body == b"+" || body.starts_with(b"+ ")) {
                return match parse_status(body) {
                    Some(s) if !s.ok => Ok(Some((s, None))),
                    _ => {
                        let e = protocol(format!(
                            "the server did not continue {command}: \"{}\"",
                            printable(body)
                        ));
                        Err(self.broken(e))
                    }
                };
            }
            let mut line = response.as_bytes().to_vec();
            self.send_secret_owned(&mut line, &command)?;
        }
        let doing = format!("waiting for the answer to {command}");
        let line = self.read_line(&doing)?;
        let body = &line[..];
        if body == b"+" || body.starts_with(b"+ ") {
            // A challenge after our response is an error report (XOAUTH2 sends JSON here):
            // answer with an empty line (OAUTHBEARER: %x01), then the server's -ERR follows.
            // Its `status` says why (e.g. `invalid_token`).
            let status = body.get(2..).and_then(crate::oauth2::sasl::error_status);
            self.send(ack)?;
            let s = self.read_status(&doing)?;
            if s.ok {
                self.logged_in = true;
                return Ok(None);
            }
            return Ok(Some((s, status)));
        }
        match parse_status(body) {
            Some(s) if s.ok => {
                self.logged_in = true;
                Ok(None)
            }
            Some(s) => Ok(Some((s, None))),
            None => {
                let e = protocol(format!(
                    "the server answered something that is not +OK or -ERR while {doing}"
                ));
                Err(self.broken(e))
            }
        }
    }

    pub(super) fn send_secret_owned(
        &mut self,
        line: &mut Vec<u8>,
        what: &str,
    ) -> Result<(), ConnectionError> {
        let taken = std::mem::take(line);
        self.send_secret(taken, what)
    }
}

/// An OAuth2 rejection with the server's `status` from the SASL error challenge named in it
/// (left out when it would repeat anything we sent).
fn with_server_status(
    e: ConnectionError,
    status: Option<String>,
    sent: &[&str],
) -> ConnectionError {
    match status {
        Some(status) if e.is_auth() && !sent.iter().any(|x| x.len() >= 3 && status.contains(x)) => {
            ConnectionError::new(
                ErrorCategory::Auth,
                format!("{} (the server's status: {status})", e.message()),
            )
        }
        _ => e,
    }
}

impl Pop3Client<MailStream> {
    /// Connects as the account says (route, implicit TLS), reads the greeting, does `STLS` when
    /// the security is STARTTLS (failing with [`ErrorCategory::Tls`] before any credential is
    /// sent when the server does not offer it) and logs in with the account's credential.
    pub fn connect(
        account: &IncomingAccount,
        creds: &dyn CredentialProvider,
        timeouts: &Timeouts,
    ) -> Result<Self, ConnectionError> {
        Self::connect_within(account, creds, timeouts, None)
    }

    /// [`Pop3Client::connect`] with the whole of it (greeting, `STLS`, `CAPA`, login, `UTF8`)
    /// bounded by `deadline`, which stays set on the stream afterwards (change it with
    /// [`Pop3Client::get_mut`] and [`MailStream::set_deadline`]).
    pub fn connect_within(
        account: &IncomingAccount,
        creds: &dyn CredentialProvider,
        timeouts: &Timeouts,
        deadline: Option<net::OpDeadline>,
    ) -> Result<Self, ConnectionError> {
        let settings = account.connection();
        let ctx = format!("POP3 {}", settings.endpoint);
        if account.protocol() != Protocol::Pop3 {
            return Err(protocol(format!(
                "account \"{}\" is {}, not POP3",
                account.name(),
                account.protocol()
            )));
        }
        let get = || {
            creds
                .credential(account.credential())
                .map_err(|e| ConnectionError::new(e.category(), e.to_string()).with_source(e))
        };
        let credential = get()?;
        let mut client = Self::open_within(account, creds, timeouts, deadline)?;
        match client.login(&credential) {
            Ok(_) => Ok(client),
            // An OAuth2 token refused: the provider drops it, and one retry gets a fresh one.
            Err(e) if e.is_auth() && creds.refused(account.credential(), &credential) => {
                let credential = get()?;
                let mut client = Self::open_within(account, creds, timeouts, deadline)?;
                client.login(&credential).map_err(|e| e.context(&ctx))?;
                Ok(client)
            }
            Err(e) => Err(e.context(&ctx)),
        }
    }

    /// Connects, reads the greeting and does `STLS` when the account's security is STARTTLS;
    /// does not log in (for connection checks that time each stage, use the [`net`] stages
    /// with [`Pop3Client::new`] and [`Pop3Client::stls`] instead).
    pub fn open(
        account: &IncomingAccount,
        creds: &dyn CredentialProvider,
        timeouts: &Timeouts,
    ) -> Result<Self, ConnectionError> {
        Self::open_within(account, creds, timeouts, None)
    }

    /// [`Pop3Client::open`] bounded by `deadline` from the greeting on.
    pub fn open_within(
        account: &IncomingAccount,
        creds: &dyn CredentialProvider,
        timeouts: &Timeouts,
        deadline: Option<net::OpDeadline>,
    ) -> Result<Self, ConnectionError> {
        let settings = account.connection();
        let ctx = format!("POP3 {}", settings.endpoint);
        let (mut stream, tls_info) =
            net::connect(settings, creds, timeouts).map_err(|e| e.context("POP3"))?;
        stream.set_deadline(deadline);
        let mut client = Self::new(stream, *timeouts).map_err(|e| e.context(&ctx))?;
        client.tls_info = tls_info;
        if matches!(settings.security, Security::StartTls) {
            client = client
                .stls(&settings.endpoint.host, &settings.tls)
                .map_err(|e| e.context(&ctx))?;
        } else {
            client.capa().map_err(|e| e.context(&ctx))?;
        }
        Ok(client)
    }

    /// `STLS`: upgrades the session to TLS, then asks `CAPA` again (RFC 2595). Fails with
    /// [`ErrorCategory::Tls`] when the server does not offer or refuses it, or sends anything
    /// before the handshake.
    pub fn stls(mut self, host: &Host, options: &TlsOptions) -> Result<Self, ConnectionError> {
        if self.reader.get_ref().is_tls() {
            return Err(ConnectionError::new(
                ErrorCategory::Tls,
                "the POP3 session is already TLS",
            ));
        }
        if !self.capabilities()?.stls() {
            return Err(ConnectionError::new(
                ErrorCategory::Tls,
                "the server does not offer STLS (STARTTLS): not continuing in clear text; use SSL, or a server with STLS",
            ));
        }
        self.send("STLS")?;
        let s = self.read_status("waiting for the answer to STLS")?;
        if !s.ok {
            return Err(ConnectionError::new(
                ErrorCategory::Tls,
                format!("the server refused STLS: -ERR {}", s.text),
            ));
        }
        if self.reader.has_buffered() {
            return Err(net::starttls_injected("STLS"));
        }
        let Pop3Client {
            reader,
            greeting,
            timeouts,
            ..
        } = self;
        let Ok(stream) = reader.into_inner() else {
            return Err(net::starttls_injected("STLS"));
        };
        let (stream, info) = stream.upgrade_to_tls(host, options, &timeouts)?;
        let mut client = Pop3Client {
            reader: BoundedReader::with_capacity(stream, BUFFER),
            greeting,
            capabilities: None,
            tls_info: Some(info),
            timeouts,
            broken: false,
            logged_in: false,
            utf8: false,
        };
        client.capa()?;
        Ok(client)
    }
}
