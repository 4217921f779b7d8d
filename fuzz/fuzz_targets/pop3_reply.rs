//! Feeds arbitrary bytes, as a server's replies, through every reading path of the POP3
//! client (greeting, CAPA, login, UTF8, STAT, LIST (strict and lenient), UIDL, RETR, TOP, pipelined RETR/DELE, QUIT).
//! Nothing may panic, and memory stays bounded (the client's read buffer is fixed).
//!
//! Run: `cargo +nightly fuzz run pop3_reply -- -max_total_time=60` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mail_settings_core::net::Timeouts;
use mail_settings_core::pop3::Pop3Client;
use mail_settings_core::Credential;
use std::io::{self, Read, Write};

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

fuzz_target!(|data: &[u8]| {
    let (chunk, input) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c).max(1) * 7, rest),
        None => return,
    };
    let Ok(mut c) = Pop3Client::new(Mem { input, chunk }, Timeouts::default()) else {
        return;
    };
    let _ = c.capa();
    let _ = c.login(&Credential::password("user", "password"));
    let _ = c.stat();
    let _ = c.list();
    if let Ok(entries) = c.list_lenient() {
        for bad in entries.iter().filter_map(|e| e.as_ref().err()) {
            // A quoted line is made safe: no control character reaches a terminal.
            assert!(!bad.line.chars().any(char::is_control));
        }
    }
    let _ = c.utf8();
    let _ = c.list_one(1);
    let _ = c.uidl();
    let _ = c.uidl_one(1);
    let mut sink = Vec::new();
    let _ = c.retr(1, &mut sink);
    assert!(sink.len() <= input.len());
    let _ = c.top(1, 10, &mut io::sink());
    let mut sinks = [Vec::new(), Vec::new(), Vec::new()];
    let _ = c.retr_many(&[1, 2, 3], &mut sinks);
    let _ = c.dele_many(&[1, 2]);
    let _ = c.noop();
    let _ = c.quit();
});
