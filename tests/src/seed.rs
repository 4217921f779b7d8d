//! Filling a mailbox of the local Dovecot with many messages, fast, for benchmarks.
//!
//! Delivering 2,000 messages (about 100 MB) through SMTP or LMTP takes minutes and loads the
//! very servers a benchmark then measures. Dovecot keeps mail as Maildir
//! (`mail_location = maildir:~/Maildir`, home `$MS_SERVERS_DIR/mail/<domain>/<local part>`,
//! owned by the system user `mstest`; see `tests/servers/README.md`), and Maildir is made to
//! be written by other programs: a file written in `tmp/` and renamed into `new/` is a
//! delivered message. Dovecot finds new files when a client next opens the mailbox (IMAP
//! SELECT, POP3 login), moves them to `cur/` and gives them UIDs. So [`seed_mailbox`] writes
//! the files directly, the way Dovecot's own delivery would: LF line ends (Dovecot's default
//! `mail_save_crlf = no`) and file names carrying the stored size and the CRLF size
//! (`,S=…,W=…`), so Dovecot need not read every file to answer `RFC822.SIZE`, `LIST` or `STAT`.
//! 2,000 messages take about a second.
//!
//! The messages are valid RFC 5322 (Message-ID unique to the mailbox, seed and index; Date;
//! MIME); their sizes come from a fixed, seeded mix ([`mixed_sizes`]): many small
//! notifications (2–20 KB, text), some 100 KB–1 MB and a few 2–5 MB messages (multipart with a
//! base64 attachment). Bodies hold the lines that transfer protocols must handle with care:
//! lines starting with a dot, and lines that are only a dot.
//!
//! [`remove_mailbox`] deletes a mailbox's whole home (Maildir and Dovecot's index files): a
//! benchmark cleans up with it, and it also removes mailboxes filled through SMTP.

use crate::servers;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The sizes (in bytes, CRLF form) of `count` messages drawn from the fixed mix: 95 % small
/// (2–20 KB), 4.6 % medium (100 KB–1 MB), 0.4 % large (2–5 MB), shuffled. The same `seed`
/// always gives the same sizes. For 2,000 messages the total is about 100 MB (1,900 small, 92
/// medium, 8 large); a mix of 250 or more has at least one large message.
pub fn mixed_sizes(count: usize, seed: u64) -> Vec<usize> {
    const KB: usize = 1024;
    const MB: usize = 1024 * 1024;
    let large = count * 4 / 1000;
    let medium = count * 46 / 1000;
    let small = count - large - medium;
    let mut rng = Rng::new(seed ^ 0x05EE_D0F5_12E5);
    let mut sizes = Vec::with_capacity(count);
    for _ in 0..small {
        sizes.push(rng.range(2 * KB, 20 * KB));
    }
    for _ in 0..medium {
        sizes.push(rng.range(100 * KB, MB));
    }
    for _ in 0..large {
        sizes.push(rng.range(2 * MB, 5 * MB));
    }
    // Fisher–Yates, so the big ones are spread through the mailbox.
    for i in (1..sizes.len()).rev() {
        let j = rng.range(0, i);
        sizes.swap(i, j);
    }
    sizes
}

/// One seeded message for `mailbox`, number `index`, of about `size` bytes, with CRLF line
/// ends (as it travels over SMTP, IMAP and POP3). Deterministic: the same arguments give the
/// same bytes.
pub fn message(mailbox: &str, index: usize, size: usize, seed: u64) -> Vec<u8> {
    build(mailbox, index, size, seed, b"\r\n").bytes
}

/// What [`seed_mailbox`] stored.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SeededMailbox {
    /// The mailbox address.
    pub mailbox: String,
    /// The size of each message in CRLF form (what IMAP `RFC822.SIZE` and POP3 `LIST` say),
    /// in the order they were written.
    pub sizes: Vec<u64>,
    /// Their `Message-ID`s (`<…>` included), in the same order.
    pub message_ids: Vec<String>,
    /// Bytes written to disk (LF line ends).
    pub stored_bytes: u64,
}

impl SeededMailbox {
    /// How many messages were written.
    pub fn messages(&self) -> usize {
        self.sizes.len()
    }

    /// The total in CRLF form: what a client that downloads every message receives.
    pub fn wire_bytes(&self) -> u64 {
        self.sizes.iter().sum()
    }
}

/// The home directory Dovecot uses for `mailbox` (`local@domain`):
/// `$MS_SERVERS_DIR/mail/<domain>/<local>`, lower-cased as Dovecot does. Its Maildir is
/// `Maildir/` inside.
pub fn mailbox_home(mailbox: &str) -> io::Result<PathBuf> {
    let lower = mailbox.to_ascii_lowercase();
    let (local, domain) = lower
        .split_once('@')
        .ok_or_else(|| invalid(format!("{mailbox:?} is not local@domain")))?;
    let safe = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && !s.contains('/')
            && !s.contains('\0')
            && !s.chars().any(char::is_whitespace)
    };
    if !safe(local) || !safe(domain) {
        return Err(invalid(format!("{mailbox:?} cannot name a directory")));
    }
    Ok(servers().dir.join("mail").join(domain).join(local))
}

/// Writes `count` messages of the [`mixed_sizes`] mix (seeded by `seed`) into `mailbox`'s
/// INBOX, creating the mailbox if needed. See [`seed_mailbox_with_sizes`].
pub fn seed_mailbox(mailbox: &str, count: usize, seed: u64) -> io::Result<SeededMailbox> {
    seed_mailbox_with_sizes(mailbox, &mixed_sizes(count, seed), seed)
}

/// Writes messages into one mailbox's INBOX as Dovecot's own Maildir files: each goes to
/// `tmp/` and is renamed into `new/`, owned by the mail owner (`mstest`) when this process may
/// change owners (it runs as root like the servers). Dovecot sees them the next time a client
/// opens the mailbox (the first open indexes them, which a benchmark should do before timing).
#[derive(Debug)]
pub struct MaildirWriter {
    maildir: PathBuf,
    owner: Option<(u32, u32)>,
    now: std::time::Duration,
    written: usize,
}

impl MaildirWriter {
    /// Creates the mailbox's home and Maildir folders (all the owner's) when missing; adds to
    /// what the mailbox already holds.
    pub fn open(mailbox: &str) -> io::Result<Self> {
        let home = mailbox_home(mailbox)?;
        let maildir = home.join("Maildir");
        let owner = mail_owner();
        // The domain directory, the home, the Maildir and its three folders, all the owner's.
        let domain_dir = home.parent().map(Path::to_path_buf);
        for dir in domain_dir
            .iter()
            .cloned()
            .chain([home.clone(), maildir.clone()])
            .chain(["tmp", "new", "cur"].map(|d| maildir.join(d)))
        {
            if !dir.exists() {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&dir)?;
                chown(&dir, owner)?;
            }
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Ok(Self {
            maildir,
            owner,
            now,
            written: 0,
        })
    }

    /// Writes one message as it is stored (`bytes`); `wire_len` is its size in CRLF form when
    /// that differs (Dovecot's `W=`). Returns the stored size.
    pub fn add(&mut self, bytes: &[u8], wire_len: Option<usize>) -> io::Result<u64> {
        let stored = bytes.len();
        let wire = wire_len.map(|w| format!(",W={w}")).unwrap_or_default();
        // Dovecot's own Maildir names: <secs>.M<usecs>P<pid>Q<n>.<host>,S=<size>,W=<vsize>.
        let name = format!(
            "{}.M{}P{}Q{}.seed,S={stored}{wire}",
            self.now.as_secs(),
            self.now.subsec_micros(),
            std::process::id(),
            self.written
        );
        let tmp = self.maildir.join("tmp").join(&name);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        drop(f);
        chown(&tmp, self.owner)?;
        fs::rename(&tmp, self.maildir.join("new").join(&name))?;
        self.written += 1;
        Ok(stored as u64)
    }
}

/// Writes one message per entry of `sizes` (bytes, CRLF form) into `mailbox`'s INBOX with a
/// [`MaildirWriter`]; adds to what the mailbox already holds.
pub fn seed_mailbox_with_sizes(
    mailbox: &str,
    sizes: &[usize],
    seed: u64,
) -> io::Result<SeededMailbox> {
    let mut writer = MaildirWriter::open(mailbox)?;
    let mut seeded = SeededMailbox {
        mailbox: mailbox.to_owned(),
        sizes: Vec::with_capacity(sizes.len()),
        message_ids: Vec::with_capacity(sizes.len()),
        stored_bytes: 0,
    };
    for (index, &size) in sizes.iter().enumerate() {
        let built = build(mailbox, index, size, seed, b"\n");
        seeded.stored_bytes += writer.add(&built.bytes, Some(built.wire_len))?;
        seeded.sizes.push(built.wire_len as u64);
        seeded.message_ids.push(built.message_id);
    }
    Ok(seeded)
}

/// Deletes `mailbox`'s whole home (Maildir, Dovecot's indexes): every message in it is gone.
/// A mailbox that does not exist is not an error. Log every client out of it and let pending
/// deliveries finish first; a file that appears meanwhile (Dovecot finishing an index write, a
/// late delivery) is retried for up to a second.
pub fn remove_mailbox(mailbox: &str) -> io::Result<()> {
    let home = mailbox_home(mailbox)?;
    let mut attempt = 0;
    loop {
        match fs::remove_dir_all(&home) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty && attempt < 20 => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// uid and gid of `mstest` from /etc/passwd, when this process may hand files over (root).
fn mail_owner() -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("mstest:"))?;
    let mut fields = line.split(':').skip(2);
    let uid = fields.next()?.parse().ok()?;
    let gid = fields.next()?.parse().ok()?;
    let me = fs::read_to_string("/proc/self/status").ok()?;
    let root = me
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        == Some("0");
    root.then_some((uid, gid))
}

fn chown(path: &Path, owner: Option<(u32, u32)>) -> io::Result<()> {
    match owner {
        Some((uid, gid)) => std::os::unix::fs::chown(path, Some(uid), Some(gid)),
        None => Ok(()),
    }
}

/// splitmix64: small, fast, good enough for filler text; no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        let span = (hi - lo) as u64 + 1;
        lo + (self.next() % span) as usize
    }
}

struct Built {
    bytes: Vec<u8>,
    /// The length with CRLF line ends.
    wire_len: usize,
    message_id: String,
}

/// Lines with a chosen line end, counting the CRLF length as it goes.
struct Lines<'a> {
    bytes: Vec<u8>,
    eol: &'a [u8],
    wire_len: usize,
}

impl Lines<'_> {
    fn line(&mut self, text: &[u8]) {
        self.bytes.extend_from_slice(text);
        self.bytes.extend_from_slice(self.eol);
        self.wire_len += text.len() + 2;
    }
}

const WORDS: &[&str] = &[
    "account",
    "alert",
    "backup",
    "server",
    "session",
    "password",
    "vault",
    "rotation",
    "request",
    "approved",
    "denied",
    "policy",
    "access",
    "target",
    "credential",
    "report",
    "schedule",
    "connector",
    "proxy",
    "ticket",
    "the",
    "a",
    "of",
    "to",
    "and",
    "was",
    "for",
    "on",
    "by",
    "with",
    "não",
    "é",
    "sessão",
    "relatório",
    "verificação",
    "aprovação",
];

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Days since 1970-01-01 to (year, month, day) (H. Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// An RFC 5322 date for a Unix time (UTC).
fn rfc5322_date(t: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    format!(
        "{}, {d} {} {y} {:02}:{:02}:{:02} +0000",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A line of words, at most 72 characters.
fn text_line(rng: &mut Rng, out: &mut Vec<u8>) {
    out.clear();
    loop {
        let w = WORDS[rng.range(0, WORDS.len() - 1)].as_bytes();
        if out.len() + w.len() + 1 > 72 {
            break;
        }
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(w);
    }
}

fn build(mailbox: &str, index: usize, size: usize, seed: u64, eol: &[u8]) -> Built {
    let mut rng = Rng::new(seed.wrapping_mul(0x1000_0001).wrapping_add(index as u64));
    let local = mailbox.split('@').next().unwrap_or("mailbox");
    let message_id = format!("<seed-{seed:x}-{index}.{local}@bench.example.test>");
    let mut w = Lines {
        bytes: Vec::with_capacity(size + size / 70 + 256),
        eol,
        wire_len: 0,
    };
    let sender = index % 37;
    let date = rfc5322_date(1_704_067_200 + (index as i64) * 97);
    w.line(format!("Message-ID: {message_id}").as_bytes());
    w.line(format!("Date: {date}").as_bytes());
    w.line(format!("From: \"Sender {sender}\" <sender{sender}@example.test>").as_bytes());
    w.line(format!("To: <{mailbox}>").as_bytes());
    w.line(format!("Subject: Seeded message {index} ({size} bytes)").as_bytes());
    w.line(b"MIME-Version: 1.0");
    let multipart = size > 64 * 1024;
    let boundary = format!("=_seed_{seed:x}_{index}");
    if multipart {
        w.line(format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"").as_bytes());
        w.line(b"");
        w.line(b"This is a multi-part message in MIME format.");
        w.line(format!("--{boundary}").as_bytes());
    }
    w.line(b"Content-Type: text/plain; charset=utf-8");
    w.line(b"Content-Transfer-Encoding: 8bit");
    w.line(b"");
    // Text: the whole body of a small message, about 1 KB before a large one's attachment.
    let closing = if multipart { boundary.len() + 6 } else { 0 };
    let text_until = if multipart {
        w.wire_len + 1024
    } else {
        size.saturating_sub(closing)
    };
    let mut line = Vec::with_capacity(80);
    let mut n = 0usize;
    while w.wire_len < text_until {
        n += 1;
        text_line(&mut rng, &mut line);
        if n % 41 == 0 {
            // A line that starts with a dot: dot-stuffed on the wire.
            line.insert(0, b'.');
        }
        if n % 211 == 0 {
            line.clear();
            line.push(b'.');
        }
        let room = text_until - w.wire_len;
        if line.len() + 2 > room {
            line.truncate(room.saturating_sub(2));
            while line.last() == Some(&b' ') {
                line.pop();
            }
        }
        w.line(&line);
    }
    if multipart {
        w.line(format!("--{boundary}").as_bytes());
        w.line(b"Content-Type: application/octet-stream");
        w.line(
            format!("Content-Disposition: attachment; filename=\"data-{index}.bin\"").as_bytes(),
        );
        w.line(b"Content-Transfer-Encoding: base64");
        w.line(b"");
        let until = size.saturating_sub(closing);
        let mut b64 = [0u8; 76];
        while w.wire_len < until {
            // Any run of base64 letters whose length is a multiple of 4 decodes.
            let room = (until - w.wire_len).saturating_sub(2);
            let len = (room.min(76) / 4 * 4).max(4);
            let mut bits = 0u64;
            for (i, c) in b64[..len].iter_mut().enumerate() {
                if i % 10 == 0 {
                    bits = rng.next();
                }
                *c = BASE64[(bits & 63) as usize];
                bits >>= 6;
            }
            w.line(&b64[..len]);
        }
        w.line(format!("--{boundary}--").as_bytes());
    }
    Built {
        wire_len: w.wire_len,
        bytes: w.bytes,
        message_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_fixed_and_about_100_mb_for_2000() {
        let a = mixed_sizes(2000, 7);
        assert_eq!(a, mixed_sizes(2000, 7));
        assert_ne!(a, mixed_sizes(2000, 8));
        let total: usize = a.iter().sum();
        assert!((90_000_000..115_000_000).contains(&total), "{total}");
        assert_eq!(a.iter().filter(|&&s| s >= 2 << 20).count(), 8);
        assert_eq!(
            a.iter()
                .filter(|&&s| (100 << 10..=1 << 20).contains(&s))
                .count(),
            92
        );
    }

    #[test]
    fn messages_are_valid_rfc5322_of_the_asked_size() {
        for (i, size) in [2048usize, 20_000, 300_000, 3_000_000]
            .into_iter()
            .enumerate()
        {
            let crlf = message("bench@example.test", i, size, 1);
            let lf = build("bench@example.test", i, size, 1, b"\n");
            assert_eq!(lf.wire_len, crlf.len());
            assert_eq!(
                lf.bytes.iter().filter(|&&b| b == b'\n').count() + lf.bytes.len(),
                crlf.len()
            );
            assert!(crlf.len().abs_diff(size) < 100, "{} vs {size}", crlf.len());
            let parsed = mail_parser::MessageParser::default().parse(&crlf).unwrap();
            assert_eq!(
                parsed.message_id(),
                Some(format!("seed-1-{i}.bench@bench.example.test").as_str())
            );
            assert!(parsed.date().is_some());
            assert!(crlf.windows(3).all(|w| w != b"\r\r\n"));
            assert!(!crlf.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
            if size > 64 * 1024 {
                assert_eq!(parsed.attachment_count(), 1);
            }
        }
    }

    /// Against the real Dovecot: IMAP and POP3 serve every seeded message byte for byte, with
    /// the sizes the file names announce; removing the mailbox empties it.
    #[test]
    fn dovecot_serves_the_seeded_messages_byte_for_byte() {
        use mail_settings_core::{imap, pop3, Protocol, SecureConnectionType};
        let mailbox = crate::unique_mailbox("seed-test");
        let sizes = [2048usize, 20_000, 300_000, 5_000, 1_200_000, 2_500_000];
        let seeded = seed_mailbox_with_sizes(&mailbox, &sizes, 11).unwrap();
        assert_eq!(seeded.messages(), sizes.len());
        assert_eq!(crate::maildir_count(&mailbox), sizes.len());
        let creds = servers().credentials_for(&mailbox);
        let account = |protocol| {
            crate::incoming_account(
                protocol,
                &mailbox,
                Some(SecureConnectionType::Ssl),
                crate::Cert::Valid,
                crate::Via::Direct,
                true,
            )
        };

        let mut s = imap::connect(&account(Protocol::Imap), &creds, &Default::default()).unwrap();
        s.select("INBOX").unwrap();
        let uids = s.uids().unwrap();
        let fetched = s.uid_fetch(&uids).unwrap();
        s.logout().unwrap();
        assert_eq!(fetched.len(), sizes.len());
        let mut seen = vec![false; sizes.len()];
        for m in &fetched {
            let parsed = mail_parser::MessageParser::default().parse(&m.raw).unwrap();
            let id = format!("<{}>", parsed.message_id().unwrap());
            let i = seeded.message_ids.iter().position(|x| *x == id).unwrap();
            assert!(!seen[i], "{id} served twice");
            seen[i] = true;
            assert_eq!(m.raw, message(&mailbox, i, sizes[i], 11), "message {i}");
            assert_eq!(m.size.map(u64::from), Some(seeded.sizes[i]));
        }

        let mut p =
            pop3::Pop3Client::connect(&account(Protocol::Pop3), &creds, &Default::default())
                .unwrap();
        let stat = p.stat().unwrap();
        p.quit().unwrap();
        assert_eq!(
            (stat.count as usize, stat.size),
            (sizes.len(), seeded.wire_bytes())
        );

        remove_mailbox(&mailbox).unwrap();
        assert!(!mailbox_home(&mailbox).unwrap().exists());
        assert_eq!(crate::maildir_count(&mailbox), 0);
        remove_mailbox(&mailbox).unwrap();
    }

    #[test]
    fn a_mailbox_that_cannot_name_a_directory_is_refused() {
        for bad in [
            "no-at-sign",
            "../x@example.test",
            "a/b@example.test",
            "x@..",
            " @x",
        ] {
            assert!(mailbox_home(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_are_right() {
        assert_eq!(rfc5322_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_704_067_200 + 86_400 * 59 + 3661),
            "Thu, 29 Feb 2024 01:01:01 +0000"
        );
    }
}
