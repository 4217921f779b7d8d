#!/usr/bin/env bash
# Runs every test of the project: Rust (unit, integration against the real local servers,
# CLI), then the Python and Kotlin suites when their stages exist. Does all set-up itself on a
# fresh Debian machine (root): build dependencies, the mail servers and proxies
# (tests/servers/), the build. Prints each runner's summary lines and a final tally.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

start=$(date +%s)
step() { printf '\n=== %s (%ss)\n' "$*" "$(($(date +%s) - start))"; }

step "build dependencies"
bash scripts/deps.sh

step "local mail servers and proxies"
bash tests/servers/start.sh

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "Rust tests"
mkdir -p target
set +e
cargo test --workspace --no-fail-fast 2>&1 | tee target/rust-tests.log
rust_status=${PIPESTATUS[0]}
set -e

step "tally"
passed=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed' target/rust-tests.log | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' target/rust-tests.log | awk '{s+=$1} END {print s+0}')
echo "rust: ${passed} passed, ${failed} failed"
echo "took $(($(date +%s) - start))s"
exit "$rust_status"
