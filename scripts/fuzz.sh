#!/usr/bin/env bash
# Runs every cargo-fuzz target under fuzz/fuzz_targets/ for a time budget each and prints, per
# target, the executions and whether it crashed; ends with "fuzz: N passed, M failed" (a target
# passes when it ran its whole budget without a crash, a leak, a timeout or running out of
# memory).
#
#   scripts/fuzz.sh [SECONDS]     # default 600 s a target
#
# Needs the nightly toolchain (libFuzzer's sanitizer flags); without one it says so and skips
# (exit 0, "fuzz: 0 passed, 0 failed"). Installs cargo-fuzz (`cargo install cargo-fuzz
# --locked`) when missing. All targets are built once, then each runs from its binary. The
# corpus grows in fuzz/corpus/TARGET/ (kept between runs, not committed); a crashing input is
# written to fuzz/artifacts/TARGET/ and named in the output.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never
budget=${1:-600}
case $budget in ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;; esac

targets=()
for f in fuzz/fuzz_targets/*.rs; do
    [ -e "$f" ] && targets+=("$(basename "$f" .rs)")
done
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz: no targets under fuzz/fuzz_targets/"
    echo "fuzz: 0 passed, 0 failed"
    exit 0
fi

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz: SKIPPED: no nightly Rust toolchain (rustup toolchain install nightly); ${#targets[@]} targets not run"
    echo "fuzz: 0 passed, 0 failed"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    if ! cargo install cargo-fuzz --locked --quiet; then
        echo "fuzz: cargo-fuzz could not be installed"
        echo "fuzz: 0 passed, ${#targets[@]} failed"
        exit 1
    fi
fi

triple=$(rustc -vV | sed -n 's/^host: //p')
# The bundled SQLite (C, built by the cc crate) trips AddressSanitizer's one-definition-rule
# check at start-up (a false positive of how its globals are instrumented); every other check
# stays on.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_odr_violation=0"
echo "fuzz: building ${#targets[@]} targets (${targets[*]}) once"
passed=0
failed=0
# Build each on its own (they share the dependencies' build), so that one target that does
# not build fails alone.
mkdir -p fuzz/target
built=()
for t in "${targets[@]}"; do
    if cargo +nightly fuzz build "$t" >"fuzz/target/build-$t.log" 2>&1; then
        built+=("$t")
    else
        echo "fuzz target $t: FAILED to build (log: fuzz/target/build-$t.log)"
        tail -5 "fuzz/target/build-$t.log" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
done

for t in "${built[@]}"; do
    bin="fuzz/target/$triple/release/$t"
    corpus="fuzz/corpus/$t"
    artifacts="fuzz/artifacts/$t/"
    mkdir -p "$corpus" "$artifacts"
    log=$(mktemp)
    start=$(date +%s)
    # FUZZ_SEED (the test command sets 1): the same mutations in the same order on every run,
    # so a commit's fuzz stage does not pass once and fail the next time by chance.
    "$bin" "$corpus" -max_total_time="$budget" -timeout=10 -rss_limit_mb=2048 \
        ${FUZZ_SEED:+-seed="$FUZZ_SEED"} -artifact_prefix="$artifacts" -print_final_stats=1 >"$log" 2>&1
    status=$?
    took=$(($(date +%s) - start))
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)$/\1/p' "$log" | tail -1)
    [ -n "$runs" ] || runs=$(sed -nE 's/^Done ([0-9]+) runs.*/\1/p' "$log" | tail -1)
    runs=${runs:-0}
    if [ "$status" -eq 0 ]; then
        echo "fuzz target $t: $runs executions in ${took}s, 0 crashes"
        passed=$((passed + 1))
    else
        artifact=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -1)
        echo "fuzz target $t: CRASHED after $runs executions in ${took}s (exit $status; input: ${artifact:-none written})"
        grep -E 'panicked at|ERROR: libFuzzer|SUMMARY' "$log" | head -5 | sed 's/^/    /'
        cp "$log" "fuzz/artifacts/$t/last-run.log"
        failed=$((failed + 1))
    fi
    rm -f "$log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
