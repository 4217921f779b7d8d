//! Interop: the same checks, collections and sends against every server family the test servers
//! run (issue 15): Dovecot, Cyrus IMAP and Courier for IMAP/POP3; Postfix and Exim for SMTP
//! submission. Each family is one row of [`INCOMING`] or [`OUTGOING`]; a case runs over every
//! row, so a family (or, later, a folder/archive/push case) is added by listing it.
//!
//! Dovecot and Postfix are the main test servers ([`servers()`]). Cyrus, Courier and Exim run
//! in chroots (`tests/servers/families/`), started when `MS_FAMILIES=1` (the test command sets
//! it): without it and without those servers running, their rows are skipped with a message;
//! with it, a family that is down fails the test.
//!
//! The accounts are the fixed names of `MS_FAMILY_USERS` (ports.env): Cyrus and Courier only
//! know listed users. Each case uses its own name and empties its mailbox first, over a plain
//! IMAP session of the test's own ([`Plain`]); that session also puts the messages in (APPEND),
//! the same way for every family. The product under test always talks TLS, verified against
//! the test CA.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod collector_support;

use collector_support::fault_proxy::{Cut, Direction, FaultProxy};
use collector_support::{assert_exactly_once, assert_none_lost, collector, inbox_ids, message_id};
use mail_settings_core::check::{check_incoming, check_smtp, CheckOptions, StageName};
use mail_settings_core::imap::{self, FetchedMessage, ImapOptions};
use mail_settings_core::inbox::{Inbox, InboxQuery};
use mail_settings_core::net::Timeouts;
use mail_settings_core::smtp::{self, OutgoingMessage, SmtpOptions};
use mail_settings_core::store::Store;
use mail_settings_core::{
    ErrorCategory, IncomingAccount, IncomingAccountForm, Protocol, SecureConnectionType,
    SmtpAccount, SmtpAccountForm, ValidationContext,
};
use mail_settings_tests::{incoming_form, servers, Cert, Via};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SSL: Option<SecureConnectionType> = Some(SecureConnectionType::Ssl);
const TLS: Option<SecureConnectionType> = Some(SecureConnectionType::Tls);

/// What a server does with a header holding raw UTF-8 (no RFC 2047 encoding) in a message put
/// in over IMAP APPEND without `ENABLE UTF8=ACCEPT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EightBit {
    /// Stores the bytes as they came.
    Kept,
    /// Stores the message with every 8-bit byte of the header replaced by `X` (Cyrus's
    /// `munge8bit`).
    Munged,
}

/// An IMAP/POP3 server family: ports.env keys of its ports and what it is known to do.
struct IncomingFamily {
    name: &'static str,
    /// Runs in a chroot of `tests/servers/families/` (else: the main test servers).
    chroot: bool,
    imap: &'static str,
    imaps: &'static str,
    pop3: &'static str,
    pop3s: &'static str,
    eight_bit: EightBit,
    /// Prefix and separator of the personal namespace (RFC 2342), as NAMESPACE answers.
    personal_namespace: (&'static str, &'static str),
    /// Offers MOVE (RFC 6851) after login.
    has_move: bool,
    /// What a POP3 UIDL looks like for the n-th message (a pattern: `#` is a hex digit, `9` a
    /// decimal one, repeated any number of times; other characters as they are).
    uidl: &'static str,
}

const INCOMING: [IncomingFamily; 3] = [
    IncomingFamily {
        name: "Dovecot",
        chroot: false,
        imap: "MS_IMAP_PORT",
        imaps: "MS_IMAPS_PORT",
        pop3: "MS_POP3_PORT",
        pop3s: "MS_POP3S_PORT",
        eight_bit: EightBit::Kept,
        personal_namespace: ("", "."),
        has_move: true,
        // pop3_uidl_format = %08Xu%08Xv (tests/servers/start.sh)
        uidl: "#",
    },
    IncomingFamily {
        name: "Cyrus",
        chroot: true,
        imap: "MS_CYRUS_IMAP_PORT",
        imaps: "MS_CYRUS_IMAPS_PORT",
        pop3: "MS_CYRUS_POP3_PORT",
        pop3s: "MS_CYRUS_POP3S_PORT",
        eight_bit: EightBit::Munged,
        personal_namespace: ("INBOX.", "."),
        has_move: true,
        // UIDVALIDITY.UID
        uidl: "9.9",
    },
    IncomingFamily {
        name: "Courier",
        chroot: true,
        imap: "MS_COURIER_IMAP_PORT",
        imaps: "MS_COURIER_IMAPS_PORT",
        pop3: "MS_COURIER_POP3_PORT",
        pop3s: "MS_COURIER_POP3S_PORT",
        eight_bit: EightBit::Kept,
        personal_namespace: ("INBOX.", "."),
        has_move: false,
        // UID<uid>-<uidvalidity>
        uidl: "UID9-9",
    },
];

/// An SMTP submission family, and the IMAP family its mail is delivered into (read back there).
struct OutgoingFamily {
    name: &'static str,
    chroot: bool,
    smtp: &'static str,
    smtps: &'static str,
    /// `name` of the [`INCOMING`] row that stores what it delivers.
    delivers_to: &'static str,
}

const OUTGOING: [OutgoingFamily; 2] = [
    OutgoingFamily {
        name: "Postfix",
        chroot: false,
        smtp: "MS_SMTP_PORT",
        smtps: "MS_SMTPS_PORT",
        delivers_to: "Dovecot",
    },
    OutgoingFamily {
        name: "Exim",
        chroot: true,
        smtp: "MS_EXIM_SMTP_PORT",
        smtps: "MS_EXIM_SMTPS_PORT",
        delivers_to: "Cyrus",
    },
];

fn incoming_family(name: &str) -> &'static IncomingFamily {
    INCOMING.iter().find(|f| f.name == name).unwrap()
}

/// Whether the chroot families run. `MS_FAMILIES=1` makes `servers()` start them (through
/// start.sh) and makes their absence a failure; otherwise they are used when running.
fn families_up() -> bool {
    let s = servers();
    let required = std::env::var("MS_FAMILIES").is_ok_and(|v| v == "1");
    let up = s.dir.join("families.env").exists()
        && [
            "MS_CYRUS_IMAPS_PORT",
            "MS_COURIER_IMAPS_PORT",
            "MS_EXIM_SMTPS_PORT",
        ]
        .iter()
        .all(|k| TcpStream::connect(("127.0.0.1", s.port(k))).is_ok());
    assert!(
        up || !required,
        "MS_FAMILIES=1 but the server families do not run: see tests/servers/families/start.sh"
    );
    up
}

/// Whether a row runs; prints why not when it is skipped.
fn runs(name: &str, chroot: bool, case: &str) -> bool {
    if !chroot || families_up() {
        return true;
    }
    eprintln!(
        "interop {case}: {name} skipped: the server families do not run \
         (MS_FAMILIES=1 or tests/servers/families/start.sh starts them)"
    );
    false
}

/// A fixed account of `MS_FAMILY_USERS`.
fn user(local: &str) -> String {
    let s = servers();
    assert!(
        s.value("MS_FAMILY_USERS")
            .split_whitespace()
            .any(|u| u == local),
        "{local} is not in MS_FAMILY_USERS (ports.env)"
    );
    format!("{local}@{}", s.domain())
}

fn timeouts() -> Timeouts {
    Timeouts::uniform(Duration::from_secs(15))
}

fn check_options() -> CheckOptions {
    CheckOptions {
        timeouts: timeouts(),
        ..CheckOptions::default()
    }
}

// --- the test's own plain IMAP session: set-up only (empty a mailbox, put messages in) ---------

/// A clear-text IMAP session (LOGIN on the STARTTLS port, which every family allows from
/// 127.0.0.1) for preparing mailboxes. Lines are bounded; every read has a timeout.
struct Plain {
    r: BufReader<TcpStream>,
    w: TcpStream,
    tag: u32,
    family: &'static str,
}

impl Plain {
    fn login(family: &IncomingFamily, address: &str) -> Plain {
        let tcp = TcpStream::connect(("127.0.0.1", servers().port(family.imap))).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        tcp.set_write_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let mut p = Plain {
            w: tcp.try_clone().unwrap(),
            r: BufReader::new(tcp),
            tag: 0,
            family: family.name,
        };
        let greeting = p.line();
        assert!(greeting.starts_with("* OK"), "{}: {greeting}", p.family);
        let pw = servers().mail_password().to_owned();
        p.ok(&format!("LOGIN \"{address}\" \"{pw}\""));
        p
    }

    fn line(&mut self) -> String {
        let mut buf = Vec::new();
        let n = (&mut self.r)
            .take(64 * 1024)
            .read_until(b'\n', &mut buf)
            .unwrap();
        assert!(n > 0, "{}: the server closed the connection", self.family);
        String::from_utf8_lossy(&buf).trim_end().to_owned()
    }

    /// Sends a command; returns the untagged lines, or the tagged line when it is not OK.
    fn run(&mut self, command: &str) -> Result<Vec<String>, String> {
        self.tag += 1;
        let tag = format!("p{}", self.tag);
        self.w
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .unwrap();
        self.finish(&tag)
    }

    fn finish(&mut self, tag: &str) -> Result<Vec<String>, String> {
        let mut untagged = Vec::new();
        loop {
            let l = self.line();
            if let Some(rest) = l.strip_prefix(&format!("{tag} ")) {
                return if rest.starts_with("OK") {
                    Ok(untagged)
                } else {
                    Err(l)
                };
            }
            untagged.push(l);
        }
    }

    fn ok(&mut self, command: &str) -> Vec<String> {
        let family = self.family;
        self.run(command)
            .unwrap_or_else(|e| panic!("{family}: {command:.20}: {e}"))
    }

    /// Messages in INBOX.
    fn count(&mut self) -> u32 {
        self.count_in("INBOX")
    }

    /// Messages in the folder of this wire name (selected read-write afterwards).
    fn count_in(&mut self, wire: &str) -> u32 {
        let lines = self.ok(&format!("SELECT \"{wire}\""));
        lines
            .iter()
            .find_map(|l| {
                l.strip_prefix("* ")
                    .and_then(|r| r.strip_suffix(" EXISTS"))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or_else(|| panic!("{}: no EXISTS in {lines:?}", self.family))
    }

    /// Message-IDs of the messages in INBOX, with counts.
    fn ids(&mut self) -> BTreeMap<String, usize> {
        self.ids_in("INBOX")
    }

    /// Message-IDs of the messages in the folder of this wire name, with counts.
    fn ids_in(&mut self, wire: &str) -> BTreeMap<String, usize> {
        if self.count_in(wire) == 0 {
            return BTreeMap::new();
        }
        self.tag += 1;
        let tag = format!("p{}", self.tag);
        self.w
            .write_all(
                format!("{tag} UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])\r\n")
                    .as_bytes(),
            )
            .unwrap();
        let mut out = BTreeMap::new();
        loop {
            let l = self.line();
            if let Some(rest) = l.strip_prefix(&format!("{tag} ")) {
                assert!(rest.starts_with("OK"), "{}: {l}", self.family);
                return out;
            }
            // `* n FETCH (... {len}` then `len` bytes of header, then the rest of the line.
            let Some(len) = l
                .strip_suffix('}')
                .and_then(|h| h.rsplit_once('{'))
                .and_then(|(_, n)| n.parse::<usize>().ok())
            else {
                continue;
            };
            assert!(len <= 64 * 1024, "{}: a {len}-byte header", self.family);
            let mut header = vec![0; len];
            self.r.read_exact(&mut header).unwrap();
            let text = String::from_utf8_lossy(&header);
            if let Some(id) = text.lines().find_map(|h| {
                let (name, value) = h.split_once(':')?;
                name.eq_ignore_ascii_case("message-id")
                    .then(|| value.trim().trim_matches(['<', '>']).to_owned())
            }) {
                *out.entry(id).or_insert(0) += 1;
            }
            self.line();
        }
    }

    /// Removes every message from INBOX.
    fn clear(&mut self) {
        if self.count() > 0 {
            self.ok("STORE 1:* +FLAGS.SILENT (\\Deleted)");
            self.ok("EXPUNGE");
        }
        assert_eq!(self.count(), 0, "{}: INBOX not emptied", self.family);
    }

    /// APPENDs `raw` (CRLF line ends) to INBOX; `Err` with the server's answer when refused.
    fn append(&mut self, raw: &[u8]) -> Result<(), String> {
        self.append_to("INBOX", raw)
    }

    /// APPENDs `raw` to the folder of this wire name.
    fn append_to(&mut self, wire: &str, raw: &[u8]) -> Result<(), String> {
        self.tag += 1;
        let tag = format!("p{}", self.tag);
        self.w
            .write_all(format!("{tag} APPEND \"{wire}\" {{{}}}\r\n", raw.len()).as_bytes())
            .unwrap();
        let l = self.line();
        if !l.starts_with('+') {
            return Err(l);
        }
        self.w.write_all(raw).unwrap();
        self.w.write_all(b"\r\n").unwrap();
        self.finish(&tag).map(drop)
    }

    /// Deletes these folders (wire names, children first) where they exist, then creates
    /// them again, empty (as a user's mail program would: CREATE with the server's own
    /// namespace prefix, separator and modified UTF-7).
    fn recreate(&mut self, wires: &[&str]) {
        for w in wires {
            let _ = self.run(&format!("DELETE \"{w}\""));
        }
        for w in wires.iter().rev() {
            // A parent may exist already (created with its child, or not deleted because it
            // still has children).
            if let Err(e) = self.run(&format!("CREATE \"{w}\"")) {
                let listed = self.ok(&format!("LIST \"\" \"{w}\""));
                assert!(!listed.is_empty(), "{}: CREATE {w}: {e}", self.family);
            }
        }
    }

    fn logout(mut self) {
        let _ = self.run("LOGOUT");
    }
}

/// Empties `address`'s INBOX on `family` and puts `messages` in.
fn prepare(family: &IncomingFamily, address: &str, messages: &[Vec<u8>]) {
    let mut p = Plain::login(family, address);
    p.clear();
    for m in messages {
        p.append(m)
            .unwrap_or_else(|e| panic!("{}: APPEND refused: {e}", family.name));
    }
    assert_eq!(p.count() as usize, messages.len(), "{}", family.name);
    p.logout();
}

/// Message-IDs in `address`'s INBOX on `family`, read by the test's own session.
fn server_ids(family: &IncomingFamily, address: &str) -> BTreeMap<String, usize> {
    let mut p = Plain::login(family, address);
    let ids = p.ids();
    p.logout();
    ids
}

/// Messages in `address`'s INBOX on `family`, counted by the test's own session.
fn server_count(family: &IncomingFamily, address: &str) -> u32 {
    let mut p = Plain::login(family, address);
    let n = p.count();
    p.logout();
    n
}

/// A test message with Message-ID `<{tag}-{i}@collector.test>`: an RFC 2047 subject with
/// non-ASCII letters, a non-ASCII display name, an 8-bit UTF-8 body.
fn message(tag: &str, i: usize) -> Vec<u8> {
    format!(
        "From: =?UTF-8?Q?Jos=C3=A9_Mu=C3=B1oz?= <jose@example.test>\r\n\
         To: helpdesk@example.test\r\n\
         Subject: =?UTF-8?B?{}?=\r\n\
         Date: Wed, 2 Jul 2025 09:00:{i:02} +0000\r\n\
         Message-ID: <{tag}-{i}@collector.test>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\
         \r\n\
         Olá, mensagem {i}: ação, 日本語, Grüße.\r\n",
        base64_encode(subject(tag, i).as_bytes())
    )
    .into_bytes()
}

fn subject(tag: &str, i: usize) -> String {
    format!("Pedido {tag} nº {i} — ação 日本語")
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// An incoming account form for `address` on `family` (test CA, valid certificate).
fn incoming(
    family: &IncomingFamily,
    protocol: Protocol,
    address: &str,
    security: Option<SecureConnectionType>,
) -> IncomingAccountForm {
    let (mut form, _) = incoming_form(protocol, address, security, Cert::Valid, Via::Direct);
    let key = match (protocol, security) {
        (Protocol::Pop3, SSL) => family.pop3s,
        (Protocol::Pop3, _) => family.pop3,
        (_, SSL) => family.imaps,
        _ => family.imap,
    };
    form.name = format!("{} {protocol} {security:?}", family.name);
    form.port = Some(i64::from(servers().port(key)));
    form
}

// --- check ------------------------------------------------------------------------------------

#[test]
fn check_passes_on_every_family_and_a_wrong_password_is_auth() {
    let address = user("ia-check");
    let creds = servers().credentials_for(&address);
    for family in &INCOMING {
        if !runs(family.name, family.chroot, "check") {
            continue;
        }
        prepare(
            family,
            &address,
            &[message("check", 0), message("check", 1)],
        );
        for protocol in [Protocol::Imap, Protocol::Pop3] {
            for security in [TLS, SSL] {
                let form = incoming(family, protocol, &address, security);
                let a =
                    IncomingAccount::from_form(&form, &ValidationContext::standalone()).unwrap();
                let r = check_incoming(&a, &creds, &check_options());
                assert!(r.ok, "{}: {r}", family.name);
                assert!(r.tls.is_some(), "{}: {r}", family.name);
                let mb = r.mailbox.as_ref().unwrap();
                assert_eq!(mb.messages, 2, "{}: {r}", family.name);

                // A wrong password: once per protocol (IMAP with STARTTLS, POP3 with implicit
                // TLS), as Cyrus and Courier take seconds to refuse one.
                if (protocol == Protocol::Imap) == (security == SSL) {
                    continue;
                }
                let mut bad = form.clone();
                bad.credential = Some("wrong-password".into());
                let a = IncomingAccount::from_form(&bad, &ValidationContext::standalone()).unwrap();
                let started = Instant::now();
                let r = check_incoming(&a, &creds, &check_options());
                let took = started.elapsed();
                assert!(!r.ok, "{}: {r}", family.name);
                let f = r.failure().unwrap();
                assert_eq!(
                    (f.name, f.category),
                    (StageName::Authentication, Some(ErrorCategory::Auth)),
                    "{}: {r}",
                    family.name
                );
                assert!(!r.to_string().contains(servers().mail_password()));
                eprintln!(
                    "interop check: {} {protocol} {security:?}: wrong password refused in {} ms",
                    family.name,
                    took.as_millis()
                );
            }
        }
    }
}

// --- collection -------------------------------------------------------------------------------

/// Collects `address` on every family with keep copy on or off: messages placed first, each
/// stored once, the server holding them all (keep) or none (delete) afterwards, a second run
/// fetching nothing, later messages fetched once, non-ASCII subjects and names decoded.
fn collect_series(protocol: Protocol, keep: bool, local: &str) {
    let address = user(local);
    for family in &INCOMING {
        if !runs(family.name, family.chroot, local) {
            continue;
        }
        let context = format!("{} {protocol} keep={keep}", family.name);
        let tag = format!("{}-{}", family.name.to_lowercase(), local);
        let first: Vec<Vec<u8>> = (0..3).map(|i| message(&tag, i)).collect();
        prepare(family, &address, &first);

        let store = Arc::new(Store::open_in_memory().unwrap());
        // Keep copy over STARTTLS, delete over implicit TLS: both paths on every family.
        let security = if keep { TLS } else { SSL };
        let mut form = incoming(family, protocol, &address, security);
        form.keep_copy_on_server = keep;
        let account = store.create_incoming(&form).unwrap().id;
        let c = collector(&store, &address);

        let r = c.check_now(account).unwrap();
        assert_eq!(
            (r.listed, r.fetched, r.duplicates),
            (3, 3, 0),
            "{context}: {r:?}"
        );
        let mut expected: Vec<String> = (0..3).map(|i| message_id(&tag, i)).collect();
        assert_exactly_once(&inbox_ids(&store, account), &expected, &context);
        let on_server = server_count(family, &address);
        if keep {
            assert_eq!((on_server, r.deleted_on_server), (3, 0), "{context}");
        } else {
            assert_eq!((on_server, r.deleted_on_server), (0, 3), "{context}");
        }

        let r = c.check_now(account).unwrap();
        assert_eq!((r.fetched, r.duplicates), (0, 0), "{context}: {r:?}");

        // Two more between runs: fetched once, nothing twice.
        let mut p = Plain::login(family, &address);
        for i in 3..5 {
            p.append(&message(&tag, i)).unwrap();
            expected.push(message_id(&tag, i));
        }
        p.logout();
        let r = c.check_now(account).unwrap();
        assert_eq!(r.fetched, 2, "{context}: {r:?}");
        assert_exactly_once(&inbox_ids(&store, account), &expected, &context);
        assert_eq!(
            server_count(family, &address),
            if keep { 5 } else { 0 },
            "{context}"
        );

        // Non-ASCII subject and sender name decoded; the body bytes are the server's.
        let inbox = Inbox::new(store.clone());
        let page = inbox.list(&InboxQuery::account(account)).unwrap();
        let m = page
            .messages
            .iter()
            .find(|m| m.message_id.as_deref() == Some(message_id(&tag, 1).as_str()))
            .unwrap();
        assert_eq!(
            m.subject.as_deref(),
            Some(subject(&tag, 1).as_str()),
            "{context}"
        );
        assert!(m.from.starts_with("José Muñoz"), "{context}: {}", m.from);
        let raw = inbox.raw(m.id).unwrap();
        let needle = "ação, 日本語, Grüße".as_bytes();
        assert!(
            raw.windows(needle.len()).any(|w| w == needle),
            "{context}: the 8-bit body survives"
        );
        let st = c.status(account).unwrap();
        assert_eq!(st.fetched, 5, "{context}");
        assert!(st.last_error.is_none(), "{context}");
    }
}

#[test]
fn imap_collect_keep_on_every_family() {
    collect_series(Protocol::Imap, true, "ia-imap-keep");
}

#[test]
fn imap_collect_delete_on_every_family() {
    collect_series(Protocol::Imap, false, "ia-imap-del");
}

#[test]
fn pop3_collect_keep_on_every_family() {
    collect_series(Protocol::Pop3, true, "ia-pop3-keep");
}

#[test]
fn pop3_collect_delete_on_every_family() {
    collect_series(Protocol::Pop3, false, "ia-pop3-del");
}

// --- folders, archive, push ---------------------------------------------------------------------

/// A folder's wire name on `family`, written by hand the way a mail program creates it there:
/// the personal namespace prefix, the server's separator, levels already in modified UTF-7.
fn wire_of(family: &IncomingFamily, levels: &[&str]) -> String {
    let (prefix, sep) = family.personal_namespace;
    format!("{prefix}{}", levels.join(sep))
}

/// `Suporte/Atenção` (two levels, non-ASCII) and `Clientes`, as the user writes them and as the
/// family spells them (modified UTF-7: `ç` `ã` are `&AOcA4w-`).
const SUPORTE: &str = "Suporte/Atenção";
const CLIENTES: &str = "Clientes";

fn folder_wires(family: &IncomingFamily) -> [String; 3] {
    [
        wire_of(family, &["Suporte", "Aten&AOcA4w-o"]),
        wire_of(family, &["Suporte"]),
        wire_of(family, &["Clientes"]),
    ]
}

/// On every family: `check` lists the folders the test created (named as the user writes them)
/// and names a configured folder the server lacks; two folders, one non-ASCII at two levels,
/// are collected, each message stored once (INBOX, not configured, is left alone); a second run
/// stores nothing; a later message in one folder is the only one fetched.
#[test]
fn imap_folders_on_every_family() {
    let address = user("ia-folders");
    let creds = servers().credentials_for(&address);
    for family in &INCOMING {
        if !runs(family.name, family.chroot, "folders") {
            continue;
        }
        let context = format!("{} folders", family.name);
        let tag = format!("{}-folders", family.name.to_lowercase());
        let [suporte, parent, clientes] = folder_wires(family);
        let mut p = Plain::login(family, &address);
        p.clear();
        p.recreate(&[&suporte, &parent, &clientes]);
        p.append(&message(&tag, 99)).unwrap();
        let mut expected = Vec::new();
        for (i, wire) in [(0, &clientes), (1, &clientes), (2, &suporte), (3, &suporte)] {
            p.append_to(wire, &message(&tag, i)).unwrap();
            expected.push(message_id(&tag, i));
        }
        p.logout();

        let mut form = incoming(family, Protocol::Imap, &address, TLS);
        form.keep_copy_on_server = true;
        form.folders = vec![CLIENTES.into(), SUPORTE.into(), "Suporte/Não existe".into()];
        let a = IncomingAccount::from_form(&form, &ValidationContext::standalone()).unwrap();
        let r = check_incoming(&a, &creds, &check_options());
        assert!(!r.ok, "{context}: {r}");
        let f = r.failure().unwrap();
        assert_eq!(f.name, StageName::Folders, "{context}: {r}");
        assert!(
            f.detail
                .contains("folder \"Suporte/Não existe\" not on the server"),
            "{context}: {}",
            f.detail
        );
        let listed: BTreeMap<String, (String, bool)> = r
            .folders
            .iter()
            .filter_map(|f| Some((f.name.clone()?, (f.wire.clone(), f.collected))))
            .collect();
        assert_eq!(
            listed.get(SUPORTE).map(|(_, c)| *c),
            Some(true),
            "{context}: {listed:?}"
        );
        assert_eq!(
            listed.get(CLIENTES).map(|(_, c)| *c),
            Some(true),
            "{context}: {listed:?}"
        );
        assert_eq!(listed.get("INBOX").map(|(_, c)| *c), Some(false));
        eprintln!(
            "interop folders: {}: the check lists {:?}",
            family.name,
            r.folders
                .iter()
                .map(|f| (f.name.as_deref().unwrap_or("-"), f.wire.as_str()))
                .collect::<Vec<_>>()
        );

        form.folders.pop();
        let a = IncomingAccount::from_form(&form, &ValidationContext::standalone()).unwrap();
        let r = check_incoming(&a, &creds, &check_options());
        assert!(r.ok, "{context}: {r}");

        let store = Arc::new(Store::open_in_memory().unwrap());
        let account = store.create_incoming(&form).unwrap().id;
        let c = collector(&store, &address);
        let r = c.check_now(account).unwrap();
        assert_eq!(
            (r.listed, r.fetched, r.duplicates),
            (4, 4, 0),
            "{context}: {r:?}"
        );
        assert_exactly_once(&inbox_ids(&store, account), &expected, &context);
        let r = c.check_now(account).unwrap();
        assert_eq!((r.fetched, r.already_stored), (0, 4), "{context}: {r:?}");

        let mut p = Plain::login(family, &address);
        p.append_to(&suporte, &message(&tag, 4)).unwrap();
        expected.push(message_id(&tag, 4));
        p.logout();
        let r = c.check_now(account).unwrap();
        assert_eq!((r.fetched, r.already_stored), (1, 4), "{context}: {r:?}");
        assert_exactly_once(&inbox_ids(&store, account), &expected, &context);
        // Keep copy: everything is still where it was.
        let mut p = Plain::login(family, &address);
        assert_eq!(
            (p.count_in(&clientes), p.count_in(&suporte), p.count()),
            (2, 3, 1),
            "{context}"
        );
        p.logout();
    }
}

/// On every family, without keep copy and with an archive folder (`Arquivo/Concluídos`, made by
/// the test as a user would): collected messages are stored once and then moved there, by the
/// way the family offers (MOVE; else COPY, `\Deleted` and UID EXPUNGE), seen on the wire
/// through a proxy; none stays in INBOX, each is in the archive once; a second run changes
/// nothing.
#[test]
fn imap_archive_on_every_family() {
    let address = user("ia-archive");
    for family in &INCOMING {
        if !runs(family.name, family.chroot, "archive") {
            continue;
        }
        let context = format!("{} archive", family.name);
        let tag = format!("{}-archive", family.name.to_lowercase());
        let archive = wire_of(family, &["Arquivo", "Conclu&AO0-dos"]);
        let mut p = Plain::login(family, &address);
        p.clear();
        p.recreate(&[&archive, &wire_of(family, &["Arquivo"])]);
        let mut expected = Vec::new();
        for i in 0..3 {
            p.append(&message(&tag, i)).unwrap();
            expected.push(message_id(&tag, i));
        }
        p.logout();

        // Clear text through a proxy that records the verbs (every family allows a plain
        // LOGIN from 127.0.0.1).
        let proxy = FaultProxy::start(servers().port(family.imap));
        let store = Arc::new(Store::open_in_memory().unwrap());
        let mut form = incoming(family, Protocol::Imap, &address, None);
        form.port = Some(i64::from(proxy.port));
        form.keep_copy_on_server = false;
        form.archive_folder = Some("Arquivo/Concluídos".into());
        let account = store.create_incoming(&form).unwrap().id;
        let c = collector(&store, &address);
        let r = c.check_now(account).unwrap();
        assert_eq!((r.fetched, r.deleted_on_server), (3, 3), "{context}: {r:?}");
        assert!(r.notes.is_empty(), "{context}: {:?}", r.notes);
        assert_exactly_once(&inbox_ids(&store, account), &expected, &context);
        let mut verbs: BTreeMap<String, usize> = BTreeMap::new();
        for conn in proxy.connections() {
            for (v, n) in conn.verbs {
                *verbs.entry(v).or_insert(0) += n;
            }
        }
        let sent = |v: &str| verbs.get(v).copied().unwrap_or(0);
        if family.has_move {
            assert_eq!(
                (sent("UID MOVE"), sent("UID COPY"), sent("UID EXPUNGE")),
                (1, 0, 0),
                "{context}: {verbs:?}"
            );
        } else {
            assert_eq!(
                (
                    sent("UID MOVE"),
                    sent("UID COPY"),
                    sent("UID STORE"),
                    sent("UID EXPUNGE")
                ),
                (0, 1, 1, 1),
                "{context}: {verbs:?}"
            );
        }
        assert_eq!(sent("EXPUNGE"), 0, "{context}: never a plain EXPUNGE");
        eprintln!(
            "interop archive: {}: moved with {}",
            family.name,
            if family.has_move {
                "UID MOVE"
            } else {
                "UID COPY + UID STORE \\Deleted + UID EXPUNGE"
            }
        );
        let mut p = Plain::login(family, &address);
        assert_eq!(p.count(), 0, "{context}: left in INBOX");
        let archived = p.ids_in(&archive);
        p.logout();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(
            archived.keys().cloned().collect::<Vec<_>>(),
            want,
            "{context}"
        );
        assert!(
            archived.values().all(|n| *n == 1),
            "{context}: {archived:?}"
        );

        let r = c.check_now(account).unwrap();
        assert_eq!(
            (r.listed, r.fetched, r.deleted_on_server),
            (0, 0, 0),
            "{context}: {r:?}"
        );
    }
}

/// On every family, with `use_push` and a one-hour poll interval: after the first run, a
/// message delivered the family's own way (Postfix into Dovecot, Exim into Cyrus; APPEND from
/// another connection on Courier, which has no delivery agent here) arrives within 20 s.
#[test]
fn imap_push_on_every_family() {
    use mail_settings_core::collector::{Collector, CollectorOptions};
    let address = user("ia-push");
    let creds = servers().credentials_for(&address);
    for family in &INCOMING {
        if !runs(family.name, family.chroot, "push") {
            continue;
        }
        let context = format!("{} push", family.name);
        let tag = format!("{}-push", family.name.to_lowercase());
        prepare(family, &address, &[message(&tag, 0)]);
        let store = Arc::new(Store::open_in_memory().unwrap());
        let mut form = incoming(family, Protocol::Imap, &address, SSL);
        form.keep_copy_on_server = true;
        form.automatic_check = true;
        form.use_push = true;
        form.check_interval_secs = 3600;
        let account = store.create_incoming(&form).unwrap().id;
        let mut o = CollectorOptions::default();
        o.timeouts = timeouts();
        let c = Collector::with_options(
            store.clone(),
            Arc::new(servers().credentials_for(&address)),
            o,
        );
        c.start().unwrap();
        let t = Instant::now();
        while inbox_ids(&store, account).is_empty() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "{context}: no first run"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The waiter logs in and enters IDLE.
        std::thread::sleep(Duration::from_millis(1000));
        let outgoing = OUTGOING.iter().find(|o| o.delivers_to == family.name);
        let t = Instant::now();
        let how = match outgoing {
            Some(o) => {
                let a = smtp_account(o, &address, TLS, &address);
                let m = OutgoingMessage::new()
                    .to(&address)
                    .subject(format!("{context}: ação"))
                    .text("pushed");
                let sent =
                    smtp::send(&a, &creds, &m, &SmtpOptions::with_timeouts(timeouts())).unwrap();
                assert_eq!(sent.accepted.len(), 1, "{context}");
                o.name
            }
            None => {
                let mut p = Plain::login(family, &address);
                p.append(&message(&tag, 1)).unwrap();
                p.logout();
                "APPEND"
            }
        };
        while inbox_ids(&store, account).len() < 2 {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "{context}: the message did not arrive by push within 20 s (poll: 1 h)"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!(
            "interop push: {}: delivered through {how}, in the inbox after {} ms",
            family.name,
            t.elapsed().as_millis()
        );
        // The run that stored it records its end a moment after the commit.
        let t = Instant::now();
        while c.status(account).unwrap().runs < 2 {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "{context}: a second run"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let t = Instant::now();
        c.stop();
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{context}: stop took {:?}",
            t.elapsed()
        );
    }
}

// --- deleted only after the commit: connection cuts ------------------------------------------

/// Collection without keep copy in clear text through a fault proxy, the connection cut in each
/// command that fetches or deletes and in its answer: after every cut, no message is missing
/// from both the inbox and the server; clean runs then leave every message in the inbox once
/// and none on the server. (Clear text so that the proxy sees the commands; every family
/// allows a plain LOGIN from 127.0.0.1.)
fn cut_series(protocol: Protocol, local: &str) {
    let address = user(local);
    let cuts: &[(&str, usize, Direction)] = match protocol {
        Protocol::Imap => &[
            ("UID FETCH", 1, Direction::Down),
            ("UID STORE", 1, Direction::Up),
            ("UID STORE", 1, Direction::Down),
            ("UID EXPUNGE", 1, Direction::Up),
            ("UID EXPUNGE", 1, Direction::Down),
        ],
        _ => &[
            ("RETR", 2, Direction::Down),
            ("DELE", 1, Direction::Up),
            ("DELE", 2, Direction::Down),
            ("QUIT", 1, Direction::Up),
            ("QUIT", 1, Direction::Down),
        ],
    };
    for family in &INCOMING {
        if !runs(family.name, family.chroot, local) {
            continue;
        }
        let context = format!("{} {protocol} cuts", family.name);
        let tag = format!("{}-{}", family.name.to_lowercase(), local);
        prepare(family, &address, &[]);
        let key = if protocol == Protocol::Imap {
            family.imap
        } else {
            family.pop3
        };
        let proxy = FaultProxy::start(servers().port(key));
        let store = Arc::new(Store::open_in_memory().unwrap());
        let mut form = incoming(family, protocol, &address, None);
        form.port = Some(i64::from(proxy.port));
        form.keep_copy_on_server = false;
        let account = store.create_incoming(&form).unwrap().id;
        let c = collector(&store, &address);
        let mut expected = Vec::new();
        for (verb, nth, direction) in cuts {
            let mut p = Plain::login(family, &address);
            for _ in 0..3 {
                let i = expected.len();
                p.append(&message(&tag, i)).unwrap();
                expected.push(message_id(&tag, i));
            }
            p.logout();
            let before = proxy.connections().len();
            proxy.cut_next(Cut::During {
                verb: (*verb).to_owned(),
                nth: *nth,
                direction: *direction,
                after: 0,
            });
            let result = c.check_now(account);
            proxy.clear();
            let conns = proxy.connections();
            assert!(
                conns[before..].iter().any(|c| c.cut),
                "{context}: no {verb} #{nth} to cut ({result:?}); sent {:?}",
                conns[before..].iter().map(|c| &c.verbs).collect::<Vec<_>>()
            );
            assert_none_lost(
                &inbox_ids(&store, account),
                &server_ids(family, &address),
                &expected,
                &format!("{context}: after a cut {direction:?} in {verb} #{nth}"),
            );
        }
        // Clean runs finish the job (a POP3 maildrop may stay locked a moment after a cut).
        let started = Instant::now();
        loop {
            match c.check_now(account) {
                Ok(r) if r.pending == 0 && server_count(family, &address) == 0 => break,
                r => assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "{context}: clean runs did not finish: {r:?}"
                ),
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        assert_exactly_once(&inbox_ids(&store, account), &expected, &context);
    }
}

#[test]
fn imap_cuts_lose_nothing_on_every_family() {
    cut_series(Protocol::Imap, "ia-imap-cut");
}

#[test]
fn pop3_cuts_lose_nothing_on_every_family() {
    cut_series(Protocol::Pop3, "ia-pop3-cut");
}

// --- 8-bit headers ------------------------------------------------------------------------------

/// Reads every message of `address`'s INBOX on `family` over IMAPS with our driver, waiting
/// (at most 30 s) until there are `n`.
fn read_back(family: &IncomingFamily, address: &str, n: usize) -> Vec<FetchedMessage> {
    let form = incoming(family, Protocol::Imap, address, SSL);
    let a = IncomingAccount::from_form(&form, &ValidationContext::standalone()).unwrap();
    let creds = servers().credentials_for(address);
    let opts = ImapOptions::with_timeouts(timeouts());
    let started = Instant::now();
    loop {
        let mut s = imap::connect(&a, &creds, &opts).unwrap();
        let info = s.examine("INBOX").unwrap();
        if info.exists as usize >= n {
            let uids = s.uids().unwrap();
            let m = s.uid_fetch(&uids).unwrap();
            s.logout().unwrap();
            assert_eq!(m.len(), n, "{}: more messages than expected", family.name);
            return m;
        }
        s.logout().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{}: {} of {n} messages arrived within 30 s",
            family.name,
            info.exists
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn raw_utf8_headers_as_each_family_stores_them() {
    let address = user("ia-8bit");
    let raw_subject = "Ação urgente — 日本語";
    let msg = format!(
        "From: helpdesk@example.test\r\nTo: {address}\r\nSubject: {raw_subject}\r\n\
         Message-ID: <eight-bit@interop.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n"
    );
    for family in &INCOMING {
        if !runs(family.name, family.chroot, "8bit") {
            continue;
        }
        prepare(family, &address, &[msg.clone().into_bytes()]);
        let got = read_back(family, &address, 1);
        let p = mail_parser::MessageParser::default()
            .parse(&got[0].raw)
            .unwrap();
        let stored = p.subject().unwrap_or_default().to_owned();
        let expected: String = match family.eight_bit {
            EightBit::Kept => raw_subject.to_owned(),
            // Every byte over 0x7f became 'X'; the ASCII ones stayed.
            EightBit::Munged => raw_subject
                .bytes()
                .map(|b| if b > 0x7f { 'X' } else { char::from(b) })
                .collect(),
        };
        assert_eq!(stored, expected, "{}", family.name);
        eprintln!(
            "interop 8bit: {}: a raw UTF-8 Subject is stored as {stored:?}",
            family.name
        );
    }
}

// --- what the families say about themselves ---------------------------------------------------

/// Whether `uidl` matches `pattern` (see [`IncomingFamily::uidl`]).
fn uidl_matches(pattern: &str, uidl: &str) -> bool {
    let mut u = uidl.chars().peekable();
    for c in pattern.chars() {
        let class: fn(&char) -> bool = match c {
            '#' => |c| c.is_ascii_hexdigit(),
            '9' => |c| c.is_ascii_digit(),
            _ => {
                if u.next() != Some(c) {
                    return false;
                }
                continue;
            }
        };
        if !u.peek().is_some_and(class) {
            return false;
        }
        while u.peek().is_some_and(class) {
            u.next();
        }
    }
    u.next().is_none()
}

/// The POP3 UIDLs of `address`'s maildrop, over a clear-text USER/PASS session.
fn pop3_uidls(family: &IncomingFamily, address: &str) -> Vec<String> {
    let tcp = TcpStream::connect(("127.0.0.1", servers().port(family.pop3))).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut w = tcp.try_clone().unwrap();
    let mut r = BufReader::new(tcp);
    let mut line = || {
        let mut buf = Vec::new();
        (&mut r).take(4096).read_until(b'\n', &mut buf).unwrap();
        String::from_utf8_lossy(&buf).trim_end().to_owned()
    };
    let mut out = Vec::new();
    assert!(line().starts_with("+OK"), "{}", family.name);
    let pw = servers().mail_password().to_owned();
    for cmd in [
        format!("USER {address}"),
        format!("PASS {pw}"),
        "UIDL".into(),
    ] {
        w.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
        let l = line();
        assert!(l.starts_with("+OK"), "{}: {l}", family.name);
    }
    loop {
        let l = line();
        if l == "." {
            break;
        }
        out.push(l.split_once(' ').unwrap().1.to_owned());
    }
    w.write_all(b"QUIT\r\n").unwrap();
    out
}

/// The namespace, MOVE and UIDL facts of each row hold (future folder and archive cases rely on
/// them: Cyrus and Courier put a user's folders under `INBOX.`).
#[test]
fn namespace_capabilities_and_uidls_as_each_family_has_them() {
    let address = user("ia-check");
    for family in &INCOMING {
        if !runs(family.name, family.chroot, "namespace") {
            continue;
        }
        prepare(family, &address, &[message("ns", 0), message("ns", 1)]);
        let mut p = Plain::login(family, &address);
        let ns = p.ok("NAMESPACE");
        let (prefix, sep) = family.personal_namespace;
        let want = format!("* NAMESPACE ((\"{prefix}\" \"{sep}\"))");
        assert!(
            ns.iter().any(|l| l.starts_with(&want)),
            "{}: {ns:?}, expected {want}",
            family.name
        );
        let caps = p.ok("CAPABILITY").join(" ");
        assert_eq!(
            caps.split_whitespace().any(|c| c == "MOVE"),
            family.has_move,
            "{}: {caps}",
            family.name
        );
        assert!(
            caps.split_whitespace().any(|c| c == "UIDPLUS"),
            "{}: {caps}",
            family.name
        );
        p.logout();
        let uidls = pop3_uidls(family, &address);
        assert_eq!(uidls.len(), 2, "{}", family.name);
        for u in &uidls {
            assert!(
                uidl_matches(family.uidl, u),
                "{}: UIDL {u:?} is not like {:?}",
                family.name,
                family.uidl
            );
        }
        eprintln!("interop namespace: {}: UIDLs {uidls:?}", family.name);
    }
}

#[test]
fn uidl_patterns() {
    assert!(uidl_matches("#", "000000036b15fe40"));
    assert!(uidl_matches("9.9", "1796603327.3"));
    assert!(uidl_matches("UID9-9", "UID3-1796603483"));
    assert!(!uidl_matches("9.9", "1796603327"));
    assert!(!uidl_matches("UID9-9", "UID3-"));
    assert!(!uidl_matches("#", "00zz"));
}

// --- sending ------------------------------------------------------------------------------------

fn smtp_account(
    family: &OutgoingFamily,
    sender: &str,
    security: Option<SecureConnectionType>,
    credential: &str,
) -> SmtpAccount {
    let key = if security == SSL {
        family.smtps
    } else {
        family.smtp
    };
    let form = SmtpAccountForm {
        name: format!("{} {security:?}", family.name),
        sender_email: sender.to_owned(),
        host: "localhost".into(),
        port: Some(i64::from(servers().port(key))),
        use_secure_connection: true,
        secure_connection_type: security.unwrap(),
        credential: Some(credential.to_owned()),
        ca_file: Some(servers().ca_file()),
        ..SmtpAccountForm::default()
    };
    SmtpAccount::from_form(&form, &ValidationContext::standalone()).unwrap()
}

#[test]
fn send_through_every_smtp_family_and_read_it_back() {
    let address = user("ia-send");
    let creds = servers().credentials_for(&address);
    let opts = SmtpOptions::with_timeouts(timeouts());
    for family in &OUTGOING {
        if !runs(family.name, family.chroot, "send") {
            continue;
        }
        let store_family = incoming_family(family.delivers_to);
        prepare(store_family, &address, &[]);
        let mut ids = Vec::new();
        for security in [TLS, SSL] {
            let a = smtp_account(family, &address, security, &address);
            let r = check_smtp(&a, &creds, &check_options());
            assert!(r.ok, "{}: {r}", family.name);
            assert_eq!(r.size_limit, Some(52_428_800), "{}: {r}", family.name);
            assert!(
                r.mechanisms.iter().any(|m| m == "PLAIN"),
                "{}: {r}",
                family.name
            );

            let bad = smtp_account(family, &address, security, "wrong-password");
            let started = Instant::now();
            let r = check_smtp(&bad, &creds, &check_options());
            eprintln!(
                "interop send: {} {security:?}: wrong password refused in {} ms",
                family.name,
                started.elapsed().as_millis()
            );
            let f = r.failure().unwrap();
            assert_eq!(
                (f.name, f.category),
                (StageName::Authentication, Some(ErrorCategory::Auth)),
                "{}: {r}",
                family.name
            );

            let m = OutgoingMessage::new()
                .to(&address)
                .subject(format!("{} {security:?}: ação — 日本語 ✓", family.name))
                .text("Olá! Grüße, 日本語.\n.a line starting with a dot")
                .header("X-Ticket", "Ação-42");
            let report = smtp::send(&a, &creds, &m, &opts).unwrap();
            assert_eq!(report.accepted.len(), 1, "{}", family.name);
            ids.push((security, report.message_id.unwrap()));
        }
        let got = read_back(store_family, &address, 2);
        for (security, id) in ids {
            let m = got
                .iter()
                .map(|m| mail_parser::MessageParser::default().parse(&m.raw).unwrap())
                .find(|p| p.message_id() == Some(id.trim_matches(['<', '>'])))
                .unwrap_or_else(|| panic!("{}: {id} was not delivered", family.name));
            assert_eq!(
                m.subject(),
                Some(format!("{} {security:?}: ação — 日本語 ✓", family.name).as_str()),
                "{}",
                family.name
            );
            // The header arrives RFC 2047-encoded; decoded, it is what was given.
            let ticket = m.header_raw("X-Ticket").unwrap().trim().to_owned();
            let decoded = mail_parser::MessageParser::default()
                .parse(format!("Subject: {ticket}\r\n\r\n").as_bytes())
                .and_then(|p| p.subject().map(str::to_owned));
            assert_eq!(decoded.as_deref(), Some("Ação-42"), "{}", family.name);
            let text = m.body_text(0).unwrap().replace("\r\n", "\n");
            assert_eq!(
                text.trim_end(),
                "Olá! Grüße, 日本語.\n.a line starting with a dot",
                "{}",
                family.name
            );
        }
    }
}
