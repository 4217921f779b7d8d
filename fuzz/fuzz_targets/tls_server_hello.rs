//! Feeds arbitrary bytes, as a server's first TLS records, to the ServerHello reader that the
//! connection check uses for the negotiated version and cipher suite. Nothing may panic.
//!
//! Run: `cargo +nightly fuzz run tls_server_hello -- -max_total_time=60` from the repository
//! root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mail_settings_core::net::tls::fuzz_server_hello;
use mail_settings_core::net::TlsVersion;

fuzz_target!(|data: &[u8]| {
    if let Some((version, suite)) = fuzz_server_hello(data) {
        let _ = TlsVersion::from_wire(version).as_str();
        let _ = mail_settings_core::net::tls::cipher_suite_name(suite);
    }
});
