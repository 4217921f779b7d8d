//! Feeds arbitrary bytes, as a server's replies, through every reading path of the SMTP client
//! (greeting, EHLO and the HELO fallback, STARTTLS and the injection guard, AUTH PLAIN/LOGIN
//! exchanges, MAIL/RCPT/DATA and the final reply, RSET, NOOP, QUIT). Nothing may panic, and
//! memory stays bounded (reply lines and line counts are limited).
//!
//! Run: `cargo +nightly fuzz run smtp_reply -- -max_total_time=60` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mail_settings_core::smtp::{ClientConfig, Envelope, SmtpClient};
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
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first >> 2).max(1) * 5;
    let starttls = first & 1 == 1;
    let login = first & 2 == 2;
    let stream = Mem { input, chunk };
    let Ok(client) = SmtpClient::connect(stream, ClientConfig::default(), false) else {
        return;
    };
    let _ = client.extensions().size_limit();
    let _ = client.extensions().auth_mechanisms();
    let mut client = if starttls {
        // The "handshake" hands the same stream back: what follows is read as if over TLS.
        match client.starttls(Ok) {
            Ok(c) => c,
            Err(_) => return,
        }
    } else {
        client
    };
    let credential = if login {
        Credential::password("user", "fuzz-Secret")
    } else {
        Credential::oauth2("user", "fuzz-token")
    };
    let _ = client.authenticate(&credential);
    let envelope = Envelope {
        mail_from: Some("from@example.test".to_owned()),
        rcpt_to: vec!["a@example.test".to_owned(), "b@example.test".to_owned()],
    };
    if let Ok(report) = client.send(&envelope, b"Subject: x\r\n\r\n.body\r\n") {
        assert!(!report.accepted.is_empty());
    }
    let _ = client.rset();
    let _ = client.noop();
    let _ = client.quit();
});
