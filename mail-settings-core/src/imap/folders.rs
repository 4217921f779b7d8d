//! Folder names: from the user's spelling to the server's and back.
//!
//! A user writes a folder as it looks in a mail program: UTF-8, levels separated by `/`,
//! relative to the server's personal namespace (`INBOX`, `Support/Tier 2`, `Atendimento/São
//! Paulo`). On the wire a server wants its own spelling ([`FolderMap`]):
//!
//! - its **hierarchy separator** (`/` on Dovecot with its default layout, `.` on Courier, Cyrus
//!   and Dovecot with Maildir++), learnt from `NAMESPACE` (RFC 2342) or, without it, from
//!   `LIST "" ""`;
//! - its **personal namespace prefix**: Courier (and Cyrus without `altnamespace`) keep every
//!   folder under `INBOX.`, so `Support/Tier 2` is `INBOX.Support.Tier 2` there and
//!   `Support/Tier 2` on Dovecot; `INBOX` itself is always `INBOX`;
//! - **modified UTF-7** (RFC 3501 §5.1.3) for non-ASCII names, or UTF-8 as it is where the
//!   server offers `UTF8=ACCEPT` and accepted `ENABLE UTF8=ACCEPT` (RFC 6855).
//!
//! A level that holds the server's separator (`v1.2` on a server separating with `.`) cannot be
//! named there: [`FolderMap::to_wire`] refuses it rather than address another folder.
//!
//! Modified UTF-7 is written here (≈100 lines, strict both ways: a name that does not decode,
//! or decodes to something that would have been written otherwise, is refused) rather than
//! taken from `utf7-imap`, whose decoder accepts malformed input silently and which has not
//! been released since 2021.

use std::fmt;

/// The modified-BASE64 alphabet of RFC 3501 §5.1.3 (`,` instead of `/`).
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// The name of the inbox, on every server.
pub const INBOX: &str = "INBOX";

/// Encodes `name` in modified UTF-7 (RFC 3501 §5.1.3).
pub fn encode_modified_utf7(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |out: &mut String, pending: &mut Vec<u16>| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let chars = chunk.len() + 1;
            for i in 0..chars {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut pending);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut out, &mut pending);
    out
}

/// Decodes a modified UTF-7 name; `None` when it is not one (raw 8-bit bytes, a bad base64
/// run, unpaired surrogates, printable ASCII written encoded, or a run that does not end).
pub fn decode_modified_utf7(wire: &str) -> Option<String> {
    let mut out = String::with_capacity(wire.len());
    let bytes = wire.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if !(0x20..=0x7e).contains(&c) {
            return None;
        }
        if c != b'&' {
            out.push(c as char);
            i += 1;
            continue;
        }
        let end = i + 1 + bytes[i + 1..].iter().position(|b| *b == b'-')?;
        let run = &bytes[i + 1..end];
        i = end + 1;
        if run.is_empty() {
            out.push('&');
            continue;
        }
        let mut bits: u32 = 0;
        let mut nbits = 0;
        let mut units: Vec<u16> = Vec::new();
        let mut byte_buf: Vec<u8> = Vec::new();
        for &ch in run {
            let v = B64.iter().position(|b| *b == ch)? as u32;
            bits = (bits << 6) | v;
            nbits += 6;
            if nbits >= 8 {
                nbits -= 8;
                byte_buf.push((bits >> nbits) as u8);
                bits &= (1 << nbits) - 1;
            }
        }
        // Leftover bits must be zero padding, fewer than 6 of them.
        if nbits >= 6 || bits != 0 || byte_buf.len() % 2 != 0 {
            return None;
        }
        for pair in byte_buf.chunks(2) {
            units.push(u16::from_be_bytes([pair[0], pair[1]]));
        }
        let decoded = String::from_utf16(&units).ok()?;
        // Printable ASCII must be written as itself: an encoded one is not modified UTF-7.
        if decoded.chars().any(|c| (' '..='~').contains(&c)) {
            return None;
        }
        out.push_str(&decoded);
    }
    Some(out)
}

/// Why a folder name cannot be written for a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderNameError {
    /// The name as the user wrote it.
    pub name: String,
    /// Why, in words.
    pub reason: String,
}

impl fmt::Display for FolderNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "folder \"{}\": {}",
            self.name.escape_debug(),
            self.reason
        )
    }
}

impl std::error::Error for FolderNameError {}

/// How one server spells folder names: its personal namespace's prefix and separator, and
/// whether names travel as UTF-8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderMap {
    prefix: String,
    delimiter: Option<char>,
    utf8: bool,
}

impl Default for FolderMap {
    /// No prefix, `/` between levels, modified UTF-7 (Dovecot's default layout).
    fn default() -> Self {
        Self::new("", Some('/'), false)
    }
}

impl FolderMap {
    /// A map with this personal-namespace `prefix` (e.g. `INBOX.`), hierarchy `delimiter`
    /// (`None`: a flat server) and UTF-8 names (`true` once `ENABLE UTF8=ACCEPT` succeeded).
    pub fn new(prefix: &str, delimiter: Option<char>, utf8: bool) -> Self {
        Self {
            prefix: prefix.to_owned(),
            delimiter,
            utf8,
        }
    }

    /// From a `NAMESPACE` response (RFC 2342): its first personal namespace. `None` when the
    /// response has none (`* NAMESPACE NIL …`) or cannot be read.
    pub fn from_namespace(response: &str, utf8: bool) -> Option<Self> {
        let (prefix, delimiter) = personal_namespace(response)?;
        let prefix = if utf8 {
            prefix
        } else {
            decode_modified_utf7(&prefix).unwrap_or(prefix)
        };
        Some(Self::new(&prefix, delimiter, utf8))
    }

    /// The namespace prefix (`""`, `INBOX.`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The hierarchy separator, if the server has levels.
    pub fn delimiter(&self) -> Option<char> {
        self.delimiter
    }

    /// Whether names travel as UTF-8 (RFC 6855) rather than modified UTF-7.
    pub fn utf8(&self) -> bool {
        self.utf8
    }

    /// The prefix without its trailing separator, when it is `INBOX` (Courier, Cyrus).
    fn prefix_is_inbox(&self) -> bool {
        let p = match self.delimiter {
            Some(d) => self.prefix.strip_suffix(d).unwrap_or(&self.prefix),
            None => &self.prefix,
        };
        p.eq_ignore_ascii_case(INBOX)
    }

    /// The server's spelling of `name` (the user's: UTF-8, `/` between levels, relative to the
    /// personal namespace). `INBOX` (any case) is `INBOX`; on a server whose prefix is `INBOX.`,
    /// a name starting with the level `INBOX` is taken as already under it.
    pub fn to_wire(&self, name: &str) -> Result<String, FolderNameError> {
        let err = |reason: String| FolderNameError {
            name: name.to_owned(),
            reason,
        };
        if name.eq_ignore_ascii_case(INBOX) {
            return Ok(INBOX.to_owned());
        }
        let mut levels: Vec<&str> = name.split('/').collect();
        if levels.iter().any(|l| l.is_empty()) {
            return Err(err("it has an empty level".to_owned()));
        }
        let mut prefix = self.prefix.as_str();
        if levels[0].eq_ignore_ascii_case(INBOX) {
            levels[0] = INBOX;
            if self.prefix_is_inbox() {
                prefix = "";
            }
        }
        let joined = match self.delimiter {
            Some(d) => {
                if let Some(l) = levels.iter().find(|l| l.contains(d)) {
                    return Err(err(format!(
                        "the level \"{}\" holds \"{d}\", which separates levels on this server",
                        l.escape_debug()
                    )));
                }
                levels.join(&d.to_string())
            }
            None if levels.len() > 1 => {
                return Err(err(
                    "this server has no folder levels (it announces no separator)".to_owned(),
                ))
            }
            None => levels[0].to_owned(),
        };
        let full = format!("{prefix}{joined}");
        Ok(if self.utf8 {
            full
        } else {
            encode_modified_utf7(&full)
        })
    }

    /// The user's spelling of a name the server listed, or `None` when it cannot be written
    /// so (it is outside the personal namespace, does not decode, or a level holds `/`).
    pub fn to_user(&self, wire: &str) -> Option<String> {
        let name = if self.utf8 {
            wire.to_owned()
        } else {
            decode_modified_utf7(wire)?
        };
        if name.eq_ignore_ascii_case(INBOX) {
            return Some(INBOX.to_owned());
        }
        let rest = if self.prefix.is_empty() {
            name.as_str()
        } else if name.len() >= self.prefix.len()
            && name.is_char_boundary(self.prefix.len())
            && name[..self.prefix.len()].eq_ignore_ascii_case(&self.prefix)
        {
            &name[self.prefix.len()..]
        } else {
            return None;
        };
        if rest.is_empty() {
            return None;
        }
        match self.delimiter {
            Some(d) => {
                let levels: Vec<&str> = rest.split(d).collect();
                if levels
                    .iter()
                    .any(|l| l.is_empty() || (d != '/' && l.contains('/')))
                {
                    return None;
                }
                Some(levels.join("/"))
            }
            None if rest.contains('/') => None,
            None => Some(rest.to_owned()),
        }
    }
}

/// One token of a `NAMESPACE` response.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Nil,
    Str(String),
}

fn tokens(s: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\r' | '\n' => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '"' => {
                chars.next();
                let mut v = String::new();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => v.push(chars.next()?),
                        c => v.push(c),
                    }
                }
                out.push(Token::Str(v));
            }
            _ => {
                let mut atom = String::new();
                while let Some(&c) = chars.peek() {
                    if matches!(c, ' ' | '(' | ')' | '"' | '\r' | '\n') {
                        break;
                    }
                    atom.push(c);
                    chars.next();
                }
                if atom.eq_ignore_ascii_case("NIL") {
                    out.push(Token::Nil);
                } else {
                    // An extension atom inside a namespace description: not needed here.
                    out.push(Token::Str(atom));
                }
            }
        }
    }
    Some(out)
}

/// The first personal namespace (prefix, separator) of a `* NAMESPACE` response.
fn personal_namespace(response: &str) -> Option<(String, Option<char>)> {
    let line = response.lines().find_map(|l| {
        let l = l.trim_start();
        let rest = l.strip_prefix("* ")?;
        (rest.len() >= 9 && rest[..9].eq_ignore_ascii_case("NAMESPACE")).then(|| &rest[9..])
    })?;
    let t = tokens(line)?;
    match t.as_slice() {
        [Token::Open, Token::Open, Token::Str(prefix), sep, ..] => {
            let delimiter = match sep {
                Token::Str(s) => {
                    let mut c = s.chars();
                    let d = c.next()?;
                    if c.next().is_some() {
                        return None;
                    }
                    Some(d)
                }
                Token::Nil => None,
                _ => return None,
            };
            Some((prefix.clone(), delimiter))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modified_utf7_matches_rfc3501_examples() {
        // RFC 3501 §5.1.3's example, and the usual ones.
        assert_eq!(
            encode_modified_utf7("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(
            decode_modified_utf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-").as_deref(),
            Some("~peter/mail/台北/日本語")
        );
        assert_eq!(encode_modified_utf7("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(encode_modified_utf7("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(encode_modified_utf7("São Paulo"), "S&AOM-o Paulo");
        assert_eq!(
            decode_modified_utf7("S&AOM-o Paulo").as_deref(),
            Some("São Paulo")
        );
        // Astral plane (a surrogate pair).
        let s = "Tickets 🎫";
        assert_eq!(
            decode_modified_utf7(&encode_modified_utf7(s)).as_deref(),
            Some(s)
        );
    }

    #[test]
    fn modified_utf7_refuses_what_is_not() {
        for bad in [
            "S\u{e3}o", // raw 8-bit
            "&AOM",     // run without end
            "&AGE-",    // "a" written encoded
            "&2D0-",    // an unpaired surrogate
            "&A/M-",    // '/' is not in the alphabet
            "&AO-",     // odd number of bytes
        ] {
            assert_eq!(decode_modified_utf7(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn roundtrips() {
        for s in [
            "INBOX",
            "a&b",
            "日本語 & ünï",
            "x&y&",
            "Ω",
            "Support/Tier 2",
        ] {
            assert_eq!(
                decode_modified_utf7(&encode_modified_utf7(s)).as_deref(),
                Some(s)
            );
        }
    }

    #[test]
    fn dovecot_slash_no_prefix() {
        let m = FolderMap::from_namespace("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n", false).unwrap();
        assert_eq!(m.to_wire("Support/Tier 2").unwrap(), "Support/Tier 2");
        assert_eq!(m.to_wire("inbox").unwrap(), "INBOX");
        assert_eq!(
            m.to_wire("Atendimento/São Paulo").unwrap(),
            "Atendimento/S&AOM-o Paulo"
        );
        assert_eq!(
            m.to_user("Atendimento/S&AOM-o Paulo").as_deref(),
            Some("Atendimento/São Paulo")
        );
        assert_eq!(m.to_user("INBOX").as_deref(), Some("INBOX"));
    }

    #[test]
    fn courier_inbox_dot_namespace() {
        let resp = "* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"#shared.\" \".\")(\"shared.\" \".\"))\r\na3 OK NAMESPACE completed\r\n";
        let m = FolderMap::from_namespace(resp, false).unwrap();
        assert_eq!((m.prefix(), m.delimiter()), ("INBOX.", Some('.')));
        assert_eq!(m.to_wire("Support/Tier 2").unwrap(), "INBOX.Support.Tier 2");
        assert_eq!(m.to_wire("INBOX").unwrap(), "INBOX");
        // Already under INBOX: not prefixed twice.
        assert_eq!(m.to_wire("INBOX/Archive").unwrap(), "INBOX.Archive");
        assert_eq!(m.to_wire("Pastas/Ação").unwrap(), "INBOX.Pastas.A&AOcA4w-o");
        assert_eq!(
            m.to_user("INBOX.Support.Tier 2").as_deref(),
            Some("Support/Tier 2")
        );
        assert_eq!(
            m.to_user("INBOX.Pastas.A&AOcA4w-o").as_deref(),
            Some("Pastas/Ação")
        );
        assert_eq!(m.to_user("INBOX").as_deref(), Some("INBOX"));
        // Outside the personal namespace.
        assert_eq!(m.to_user("shared.Team"), None);
        // A level holding the separator cannot be named there.
        let e = m.to_wire("Releases/v1.2").unwrap_err();
        assert!(e.reason.contains("separates levels"), "{e}");
    }

    #[test]
    fn cyrus_dot_separator() {
        // Cyrus without altnamespace: personal folders under INBOX., other users under user.
        let resp = "* NAMESPACE ((\"INBOX.\" \".\")) ((\"user.\" \".\")) ((\"\" \".\"))\r\n";
        let m = FolderMap::from_namespace(resp, false).unwrap();
        assert_eq!(m.to_wire("Support/Tier 2").unwrap(), "INBOX.Support.Tier 2");
        // Cyrus with altnamespace: no prefix, "." still separates.
        let alt = "* NAMESPACE ((\"\" \".\")) ((\"Other Users.\" \".\")) ((\"Shared Folders.\" \".\"))\r\n";
        let m = FolderMap::from_namespace(alt, false).unwrap();
        assert_eq!(m.to_wire("Support/Tier 2").unwrap(), "Support.Tier 2");
        assert_eq!(
            m.to_user("Support.Tier 2").as_deref(),
            Some("Support/Tier 2")
        );
        // A wire name holding "/" cannot be written with "/" between levels.
        assert_eq!(m.to_user("a/b.c"), None);
    }

    #[test]
    fn utf8_accept_sends_utf8() {
        let m = FolderMap::from_namespace("* NAMESPACE ((\"\" \"/\")) NIL NIL", true).unwrap();
        assert_eq!(
            m.to_wire("Atendimento/São Paulo").unwrap(),
            "Atendimento/São Paulo"
        );
        assert_eq!(
            m.to_user("Atendimento/São Paulo").as_deref(),
            Some("Atendimento/São Paulo")
        );
        // And "&" stays "&".
        assert_eq!(m.to_wire("R&D").unwrap(), "R&D");
    }

    #[test]
    fn namespace_edge_cases() {
        assert_eq!(
            FolderMap::from_namespace("* NAMESPACE NIL NIL NIL", false),
            None
        );
        let m = FolderMap::from_namespace("* NAMESPACE ((\"\" NIL)) NIL NIL", false).unwrap();
        assert_eq!(m.delimiter(), None);
        assert!(m.to_wire("a/b").is_err());
        assert_eq!(m.to_wire("a").unwrap(), "a");
        let m = FolderMap::from_namespace("* namespace ((\"\" \"\\\\\")) NIL NIL", false).unwrap();
        assert_eq!(m.delimiter(), Some('\\'));
        assert_eq!(m.to_wire("a/b").unwrap(), "a\\b");
        assert_eq!(FolderMap::from_namespace("* NAMESPACE ((\"x", false), None);
    }
}
