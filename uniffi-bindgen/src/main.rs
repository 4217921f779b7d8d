//! The workspace's `uniffi-bindgen`: generates the Kotlin and Swift bindings (and the Swift
//! header and module map) from the built `mail-settings-ffi` library, in library mode.
//!
//! It is a crate of its own, pinned to the same UniFFI version as `mail-settings-ffi`, so that
//! the generator and the scaffolding always agree and so that building the bindings library
//! never pulls in the generator. Use it through `bash mail-settings-ffi/generate.sh`.

fn main() {
    uniffi::uniffi_bindgen_main();
}
