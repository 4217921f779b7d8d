//! Feeds arbitrary bytes, as an HTTP proxy's answer to CONNECT, through the client side of the
//! handshake (the response head, read up to its empty line and not one byte further, then the
//! status line). Nothing may panic, and the head read stays bounded.
//!
//! Run: `cargo +nightly fuzz run http_connect_reply -- -max_total_time=60` from the repository
//! root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mail_settings_core::net::proxy::{fuzz_handshake, MAX_HTTP_RESPONSE_HEAD};

fuzz_target!(|data: &[u8]| {
    let Some((&first, reply)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first >> 1).max(1) * 3;
    let (ok, left) = fuzz_handshake(true, reply, chunk, first & 1 == 1);
    assert!(left <= reply.len());
    let consumed = reply.len() - left;
    // Never more than the bounded head (and what one read may add to it).
    assert!(consumed <= MAX_HTTP_RESPONSE_HEAD + 1024, "{consumed}");
    if ok {
        // The bytes consumed are exactly the head: they end with its empty line (CRLF or a bare
        // LF, after a line that may itself have ended either way).
        let head = &reply[..consumed];
        assert!(head.ends_with(b"\n\r\n") || head.ends_with(b"\n\n"));
    }
});
