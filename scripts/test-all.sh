#!/usr/bin/env bash
# Runs every test of the project: Rust (unit, integration against the real local servers,
# CLI), then the Python and Kotlin suites when their stages exist, then every fuzz target briefly. Does all set-up itself on a
# fresh Debian machine (root): build dependencies, the mail servers and proxies
# (tests/servers/), the build. Prints each runner's summary lines and a final tally.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never
# The servers are started below: tests that need them run (mail-settings-cli/tests/cli_servers.rs).
export MS_SERVERS=1
# The other server families (Cyrus, Courier, Exim in chroots: tests/servers/families/) are
# started too: their interop tests (tests/tests/interop.rs) run instead of skipping.
export MS_FAMILIES=1
# The PostgreSQL halves of the store tests must run here (a bare `cargo test` skips them
# when no test PostgreSQL answers).
export MS_REQUIRE_POSTGRES=1

start=$(date +%s)
step() { printf '\n=== %s (%ss)\n' "$*" "$(($(date +%s) - start))"; }

step "build dependencies"
# The server families' roots (mmdebstrap, cached under /var/cache/mail-settings/roots) build in
# the background meanwhile: about 90 s cold on 2 cores, nothing when cached.
mkdir -p target
bash tests/servers/families/install.sh --tool
bash tests/servers/families/install.sh >target/families-install.log 2>&1 &
families_pid=$!
bash scripts/deps.sh

step "local mail servers and proxies"
# Not fatal: without the roots, start.sh says so and the interop tests fail; the rest runs.
if ! wait "$families_pid"; then
  echo "test-all: building the server families' roots failed:" >&2
fi
cat target/families-install.log
bash tests/servers/start.sh

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The core's Cargo features: the library with none of them (validation and documents, no
# SQLite, no OpenSSL), and with each one alone (cargo-hack, from scripts/deps.sh).
# `vendored-openssl` (OpenSSL compiled from source, minutes) is left to the Python stage, whose
# wheel is built with it; so is the --all-features run (= default + vendored-openssl).
cargo check -p mail-settings-core --no-default-features --quiet
cargo hack check -p mail-settings-core --each-feature --no-dev-deps --quiet \
    --exclude-features vendored-openssl --exclude-all-features
# The API docs build without broken or private links.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "Rust tests"
mkdir -p target
set +e
cargo test --workspace --no-fail-fast 2>&1 | tee target/rust-tests.log
rust_status=${PIPESTATUS[0]}
set -e

step "Python package (mail-settings-py)"
# mail-settings-py/test.sh: fresh venv under target/, the abi3 wheel built with maturin and
# pip-installed, pytest against the local servers, mypy --strict on examples/python; ends with
# "python: N passed, M failed".
set +e
bash mail-settings-py/test.sh 2>&1 | tee target/python-stage.log
py_status=${PIPESTATUS[0]}
set -e
py_passed=$(sed -nE 's/^python: ([0-9]+) passed, ([0-9]+) failed$/\1/p' target/python-stage.log | tail -1)
py_failed=$(sed -nE 's/^python: ([0-9]+) passed, ([0-9]+) failed$/\2/p' target/python-stage.log | tail -1)
py_passed=${py_passed:-0}
py_failed=${py_failed:-0}
if [ "$py_status" -ne 0 ] && [ "$py_failed" -eq 0 ]; then py_failed=1; fi

step "Kotlin and Swift bindings (UniFFI)"
# mail-settings-ffi/test.sh: Swift package current, Kotlin tests (Maven) against the local
# servers, the Kotlin example; ends with "ffi: N passed, M failed".
set +e
bash mail-settings-ffi/test.sh 2>&1 | tee target/ffi-tests.log
ffi_status=${PIPESTATUS[0]}
set -e
ffi_passed=$(sed -nE 's/^ffi: ([0-9]+) passed, ([0-9]+) failed$/\1/p' target/ffi-tests.log | tail -1)
ffi_failed=$(sed -nE 's/^ffi: ([0-9]+) passed, ([0-9]+) failed$/\2/p' target/ffi-tests.log | tail -1)
ffi_passed=${ffi_passed:-0}
ffi_failed=${ffi_failed:-0}
if [ "$ffi_status" -ne 0 ] && [ "$ffi_failed" -eq 0 ]; then ffi_failed=1; fi

step "fuzzing (cargo-fuzz, nightly)"
# scripts/fuzz.sh: every target under fuzz/fuzz_targets/ built once, then run about 20 s each;
# each target counts as one test; says so and counts none when no nightly toolchain is here;
# ends with "fuzz: N passed, M failed".
set +e
FUZZ_SEED=${FUZZ_SEED:-1} bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}" 2>&1 | tee target/fuzz-stage.log
fuzz_status=${PIPESTATUS[0]}
set -e
fuzz_passed=$(sed -nE 's/^fuzz: ([0-9]+) passed, ([0-9]+) failed$/\1/p' target/fuzz-stage.log | tail -1)
fuzz_failed=$(sed -nE 's/^fuzz: ([0-9]+) passed, ([0-9]+) failed$/\2/p' target/fuzz-stage.log | tail -1)
fuzz_passed=${fuzz_passed:-0}
fuzz_failed=${fuzz_failed:-0}
if [ "$fuzz_status" -ne 0 ] && [ "$fuzz_failed" -eq 0 ]; then fuzz_failed=1; fi

step "tally"
passed=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed' target/rust-tests.log | awk '{s+=$4} END {print s+0}')
failed=$(grep -E '^test result:' target/rust-tests.log | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
echo "rust: ${passed} passed, ${failed} failed"
echo "python: ${py_passed} passed, ${py_failed} failed"
echo "kotlin/swift: ${ffi_passed} passed, ${ffi_failed} failed"
echo "fuzz: ${fuzz_passed} passed, ${fuzz_failed} failed"
echo "took $(($(date +%s) - start))s"
echo "total: $((passed + py_passed + ffi_passed + fuzz_passed)) passed, $((failed + py_failed + ffi_failed + fuzz_failed)) failed"
if [ "$rust_status" -ne 0 ] || [ "$py_status" -ne 0 ] || [ "$ffi_status" -ne 0 ] || [ "$fuzz_status" -ne 0 ]; then exit 1; fi
exit 0
