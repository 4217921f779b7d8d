//! Feeds arbitrary bytes, as a SOCKS5 proxy's replies, through the client side of the
//! handshake (method choice, user/password status, CONNECT reply with its bound address).
//! Nothing may panic, and the handshake never reads past the proxy's reply.
//!
//! Run: `cargo +nightly fuzz run socks5_reply -- -max_total_time=60` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mail_settings_core::net::proxy::fuzz_handshake;

fuzz_target!(|data: &[u8]| {
    let Some((&first, reply)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first >> 1).max(1);
    let (ok, left) = fuzz_handshake(false, reply, chunk, first & 1 == 1);
    assert!(left <= reply.len());
    if ok {
        // A tunnel opens only after a whole reply: the method choice (2 bytes) and a CONNECT
        // reply of at least 4 + 1 + 2 bytes (a domain-name BND.ADDR of length 0).
        assert!(reply.len() - left >= 2 + 7);
    }
});
