//! Feeds arbitrary bytes, as a server's responses, through every reading path of the IMAP
//! client: the greeting, CAPABILITY, LOGIN, SELECT, LIST (read by the `imap` crate through our
//! bounded `Tap`), and our own FETCH reader (sizes, flags, the UID list, bodies, the checked
//! fetch with a limit), NOOP and LOGOUT. Nothing may panic, no body handed over may be larger
//! than the limit asked for, and memory stays bounded (a fixed read buffer, line and response
//! budgets).
//!
//! Run: `cargo +nightly fuzz run imap_response -- -max_total_time=60` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mail_settings_core::imap::{Fetched, ImapClient};
use mail_settings_core::Credential;
use std::io::{self, Read, Write};
use std::time::Duration;

/// The server's bytes in (in chunks of a size taken from the input), the client's out.
struct Mem<'a> {
    input: &'a [u8],
    chunk: usize,
}

impl Read for Mem<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl Write for Mem<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const LIMIT: u64 = 64;

fuzz_target!(|data: &[u8]| {
    let (chunk, input) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c).max(1) * 7, rest),
        None => return,
    };
    let Ok(mut c) = ImapClient::new(Mem { input, chunk }, true, Duration::from_secs(1)) else {
        return;
    };
    let _ = c.capabilities();
    let Ok(mut s) = c.login(&Credential::password("user", "password")) else {
        return;
    };
    let _ = s.capabilities();
    let _ = s.list_mailboxes();
    let _ = s.select("INBOX");
    let _ = s.uids();
    let _ = s.fetch_sizes(1, None);
    let _ = s.flags(&[1, 2, 3]);
    s.set_fetch_batch(2);
    let _ = s.uid_fetch_checked(&[(1, Some(10)), (2, None), (3, Some(5))], LIMIT, |f| {
        match f {
            Fetched::Message(m) => assert!(m.raw.len() as u64 <= LIMIT),
            Fetched::Suspect { raw, .. } => assert!(raw.len() as u64 <= LIMIT),
            _ => {}
        }
        Ok(())
    });
    let _ = s.uid_fetch(&[1, 2]);
    let _ = s.delete(&[1, 2, 3]);
    let _ = s.noop();
    let _ = s.logout();
});
