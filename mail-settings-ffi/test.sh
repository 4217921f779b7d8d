#!/usr/bin/env bash
# The Kotlin and Swift binding tests (scripts/test-all.sh runs this after the Rust tests):
#   1. Java and Maven (installed from Debian's packages when missing);
#   2. the local servers (tests/servers/start.sh, idempotent);
#   3. bindings generated from the built library (generate.sh --check): the Kotlin sources for
#      the Maven projects, and a check that the committed Swift package is current;
#   4. the Kotlin tests (mail-settings-ffi/kotlin-tests, Maven + JUnit 5) against the servers;
#   5. the Kotlin example (examples/kotlin) run against the servers;
#   6. the Maven artifact mailsettings:mail-settings-kotlin built and `mvn install`ed into the
#      local repository (mail-settings-ffi/kotlin/install.sh), its jar checked for the compiled
#      Kotlin and linux-x86-64/libmail_settings_ffi.so;
#   7. the sample project (examples/kotlin-sample), which depends on the artifact by its
#      coordinates only, run against the servers; it must load the library out of the jar.
# Prints Surefire's summary line, then one tally line "ffi: N passed, M failed"; exits non-zero
# when anything failed. The Swift package is generated but not compiled here: there is no Swift
# toolchain on this machine.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
mkdir -p target
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ffi: ok: $*"; }
fail() { failed=$((failed + 1)); echo "ffi: FAILED: $*"; }

if ! command -v mvn >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
    echo "ffi: installing a JDK and Maven"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends default-jdk-headless maven >/dev/null
fi

if ! bash tests/servers/start.sh >target/ffi-servers.log 2>&1; then
    cat target/ffi-servers.log
    fail "tests/servers/start.sh"
fi

if bash mail-settings-ffi/generate.sh --check; then
    pass "the Swift package's generated files are current"
else
    fail "the Swift package's generated files are stale, or generation failed"
fi

mvn_log=target/ffi-kotlin-tests.log
if [ -f target/uniffi/kotlin/mailsettings/mail_settings.kt ]; then
    (cd mail-settings-ffi/kotlin-tests && mvn -B --no-transfer-progress -Dstyle.color=never clean test) >"$mvn_log" 2>&1
    mvn_status=$?
    # Surefire's per-class lines, failures, and its summary line.
    grep -E '^\[(INFO|ERROR|WARNING)\] (Tests run:|  |Failures:|Errors:)|COMPILATION ERROR|^e: ' "$mvn_log"
    summary=$(grep -E '^\[(INFO|ERROR|WARNING)\] Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+, Skipped: [0-9]+$' "$mvn_log" | tail -1)
    if [ -n "$summary" ]; then
        run=$(sed -E 's/.*Tests run: ([0-9]+).*/\1/' <<<"$summary")
        bad=$(sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2/' <<<"$summary" | awk '{print $1 + $2}')
        skipped=$(sed -E 's/.*Skipped: ([0-9]+).*/\1/' <<<"$summary")
        passed=$((passed + run - bad - skipped))
        failed=$((failed + bad))
    fi
    if [ "$mvn_status" -ne 0 ] && { [ -z "$summary" ] || [ "${bad:-0}" -eq 0 ]; }; then
        tail -40 "$mvn_log"
        fail "mvn test in mail-settings-ffi/kotlin-tests (see $mvn_log)"
    fi
else
    fail "no generated Kotlin sources"
fi

example_log=target/ffi-kotlin-example.log
if [ -f examples/kotlin/pom.xml ]; then
    if bash examples/kotlin/run.sh >"$example_log" 2>&1; then
        tail -5 "$example_log"
        pass "examples/kotlin"
    else
        tail -40 "$example_log"
        fail "examples/kotlin (see $example_log)"
    fi
fi

artifact_log=target/ffi-kotlin-artifact.log
if bash mail-settings-ffi/kotlin/install.sh >"$artifact_log" 2>&1; then
    cat "$artifact_log"
    pass "mvn install of mailsettings:mail-settings-kotlin:0.1.0"
    jar="$HOME/.m2/repository/mailsettings/mail-settings-kotlin/0.1.0/mail-settings-kotlin-0.1.0.jar"
    pom="${jar%.jar}.pom"
    listing=$(unzip -l "$jar" 2>/dev/null)
    if grep -q ' linux-x86-64/libmail_settings_ffi\.so$' <<<"$listing" \
        && grep -q ' mailsettings/ConnectionChecker\.class$' <<<"$listing" \
        && grep -q '<artifactId>kotlin-stdlib</artifactId>' "$pom" \
        && grep -q '<artifactId>jna</artifactId>' "$pom" \
        && grep -q '<artifactId>kotlinx-coroutines-core-jvm</artifactId>' "$pom"; then
        pass "the jar holds the compiled Kotlin and linux-x86-64/libmail_settings_ffi.so; the POM names kotlin-stdlib, jna, kotlinx-coroutines"
    else
        fail "the installed jar or POM misses the classes, the native library or a dependency"
    fi
    sample_log=target/ffi-kotlin-sample.log
    if bash examples/kotlin-sample/run.sh >"$sample_log" 2>&1; then
        cat "$sample_log"
        pass "examples/kotlin-sample (the artifact by its coordinates) against the servers"
    else
        tail -40 "$sample_log"
        fail "examples/kotlin-sample (see $sample_log)"
    fi
else
    tail -40 "$artifact_log"
    fail "building or installing the Maven artifact (see $artifact_log)"
fi

echo "ffi: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
