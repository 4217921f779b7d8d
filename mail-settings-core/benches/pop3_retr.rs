//! POP3 reply parsing throughput: a 20 MB RETR (dot-stuffed lines, streamed into a counting
//! sink) and a 100 000-line UIDL, from memory, so that only the parser is measured.
//! Prints figures; asserts nothing about speed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::net::Timeouts;
use mail_settings_core::pop3::Pop3Client;
use std::io::{self, Read, Write};
use std::time::Instant;

struct Mem {
    input: io::Cursor<Vec<u8>>,
}
impl Read for Mem {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}
impl Write for Mem {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Count(u64);
impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn main() {
    // RETR: 20 MB of 78-octet lines, every 100th stuffed with a leading dot.
    let mut wire = b"+OK ready\r\n+OK message follows\r\n".to_vec();
    let mut i = 0u64;
    while wire.len() < 20_000_000 {
        if i % 100 == 0 {
            wire.extend_from_slice(b"..");
        }
        wire.extend_from_slice(format!("{i:012}").as_bytes());
        wire.extend_from_slice(&[b'x'; 64]);
        wire.extend_from_slice(b"\r\n");
        i += 1;
    }
    wire.extend_from_slice(b".\r\n");
    let size = wire.len();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let mut c = Pop3Client::new(
            Mem {
                input: io::Cursor::new(wire.clone()),
            },
            Timeouts::default(),
        )
        .unwrap();
        let mut sink = Count(0);
        let t = Instant::now();
        c.retr(1, &mut sink).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "pop3 RETR parse: {:.1} MB in {:.1} ms best of 5 = {:.0} MB/s",
        size as f64 / 1e6,
        best * 1e3,
        size as f64 / 1e6 / best
    );

    // UIDL: 100 000 entries.
    let mut wire = b"+OK ready\r\n+OK\r\n".to_vec();
    for n in 1..=100_000u32 {
        wire.extend_from_slice(format!("{n} {:08X}{:08X}\r\n", n, 1_700_000_000u32).as_bytes());
    }
    wire.extend_from_slice(b".\r\n");
    let mut best = f64::MAX;
    for _ in 0..5 {
        let mut c = Pop3Client::new(
            Mem {
                input: io::Cursor::new(wire.clone()),
            },
            Timeouts::default(),
        )
        .unwrap();
        let t = Instant::now();
        let uids = c.uidl().unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!(uids.len(), 100_000);
    }
    println!(
        "pop3 UIDL parse: 100000 entries in {:.1} ms best of 5 = {:.0} ns/entry",
        best * 1e3,
        best * 1e9 / 100_000.0
    );
}
