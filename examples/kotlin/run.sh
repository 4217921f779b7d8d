#!/usr/bin/env bash
# Runs the Kotlin example against the local test servers: generates the bindings (and builds
# libmail_settings_ffi.so), starts the servers, compiles and runs example/Example.kt.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash mail-settings-ffi/generate.sh --kotlin >/dev/null
bash tests/servers/start.sh >/dev/null
cd examples/kotlin
mvn -B -q --no-transfer-progress -Dstyle.color=never compile exec:java 2>&1 | sed "s/\x1b\[[0-9;]*m//g"
