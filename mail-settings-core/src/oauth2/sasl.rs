//! SASL messages for OAuth2 access tokens: XOAUTH2 (Google's and Microsoft's) and OAUTHBEARER
//! (RFC 7628), and reading OAUTHBEARER's error report (a JSON object whose `status` says why).

/// An OAuth2 SASL mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OAuth2Mechanism {
    /// `XOAUTH2`.
    XOAuth2,
    /// `OAUTHBEARER` (RFC 7628).
    OAuthBearer,
}

impl OAuth2Mechanism {
    /// The mechanism's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            OAuth2Mechanism::XOAuth2 => "XOAUTH2",
            OAuth2Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// Whichever the server offers (`offers` tells, by upper-case name): XOAUTH2 first (what
    /// Microsoft 365 and Gmail advertise), else OAUTHBEARER.
    pub fn choose(offers: impl Fn(&str) -> bool) -> Option<Self> {
        if offers("XOAUTH2") {
            Some(OAuth2Mechanism::XOAuth2)
        } else if offers("OAUTHBEARER") {
            Some(OAuth2Mechanism::OAuthBearer)
        } else {
            None
        }
    }

    /// The client's first message (before base64) for `user` and `token`.
    pub fn initial_response(self, user: &str, token: &str) -> String {
        match self {
            OAuth2Mechanism::XOAuth2 => format!("user={user}\x01auth=Bearer {token}\x01\x01"),
            OAuth2Mechanism::OAuthBearer => {
                // RFC 5801 gs2 header: "," and "=" in the authzid are escaped.
                let a = user.replace('=', "=3D").replace(',', "=2C");
                format!("n,a={a},\x01auth=Bearer {token}\x01\x01")
            }
        }
    }

    /// What the client answers to an error challenge: OAUTHBEARER a single `%x01` (RFC 7628
    /// §3.2.3), XOAUTH2 an empty line.
    pub fn error_ack(self) -> &'static [u8] {
        match self {
            OAuth2Mechanism::XOAuth2 => b"",
            OAuth2Mechanism::OAuthBearer => b"\x01",
        }
    }
}

/// The `status` of an OAUTHBEARER/XOAUTH2 error challenge (JSON, possibly still in base64),
/// made safe for a terminal; `None` when it is not such a report.
pub fn error_status(challenge: &[u8]) -> Option<String> {
    use base64::Engine as _;
    let decoded;
    let json = if challenge.first() == Some(&b'{') {
        challenge
    } else {
        decoded = base64::engine::general_purpose::STANDARD
            .decode(challenge.trim_ascii())
            .ok()?;
        &decoded[..]
    };
    let v: serde_json::Value = serde_json::from_slice(json).ok()?;
    let status = v.get("status")?.as_str()?;
    Some(crate::text::terminal_safe_line(status).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_error_reports() {
        assert_eq!(
            OAuth2Mechanism::OAuthBearer.initial_response("a,b=c@x", "T"),
            "n,a=a=2Cb=3Dc@x,\x01auth=Bearer T\x01\x01"
        );
        assert_eq!(
            OAuth2Mechanism::XOAuth2.initial_response("u@x", "T"),
            "user=u@x\x01auth=Bearer T\x01\x01"
        );
        assert_eq!(
            error_status(b"eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=").as_deref(),
            Some("invalid_token")
        );
        assert_eq!(
            error_status(br#"{"status":"401","schemes":"bearer"}"#).as_deref(),
            Some("401")
        );
        assert_eq!(error_status(b"not json"), None);
        assert_eq!(
            OAuth2Mechanism::choose(|m| m == "OAUTHBEARER"),
            Some(OAuth2Mechanism::OAuthBearer)
        );
        assert_eq!(
            OAuth2Mechanism::choose(|_| true),
            Some(OAuth2Mechanism::XOAuth2)
        );
        assert_eq!(OAuth2Mechanism::choose(|_| false), None);
    }
}
