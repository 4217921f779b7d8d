#!/usr/bin/env bash
# Runs the sample against the local test servers, with the artifact taken from the local Maven
# repository: install it first with `bash mail-settings-ffi/kotlin/install.sh`. Fails unless the
# program succeeds and JNA loaded the native library out of the artifact's jar.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tests/servers/start.sh >/dev/null
cd examples/kotlin-sample
out=$(mktemp)
trap 'rm -f "$out"' EXIT
mvn -B -q --no-transfer-progress -Dstyle.color=never compile exec:exec 2>&1 | sed "s/\x1b\[[0-9;]*m//g" >"$out"
[ "${PIPESTATUS[0]}" -eq 0 ] || { cat "$out"; exit 1; }
# The program's own lines (JNA's java.util.logging lines are a header and an "INFO: " line each).
grep -v -E 'INFO: |com\.sun\.jna\.' "$out" || true
if grep -q 'Found library resource at jar:file:.*mail-settings-kotlin-0\.1\.0\.jar!/linux-x86-64/libmail_settings_ffi\.so' "$out"; then
    echo "sample: the native library was loaded from the artifact's jar"
else
    grep -i 'library' "$out" | head -20
    echo "sample: FAILED: the native library did not come from mail-settings-kotlin-0.1.0.jar"
    exit 1
fi
