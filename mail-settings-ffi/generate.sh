#!/usr/bin/env bash
# Generates the Kotlin and Swift bindings of mail-settings-ffi with the workspace's
# uniffi-bindgen, from the built library (UniFFI library mode: no UDL).
#
#   bash mail-settings-ffi/generate.sh           build (debug), then generate:
#       Kotlin -> target/uniffi/kotlin/mailsettings/mail_settings.kt  (not committed; the Maven
#                 projects mail-settings-ffi/kotlin-tests and examples/kotlin compile it)
#       Swift  -> mail-settings-ffi/swift/Sources/MailSettings/MailSettings.swift
#                 mail-settings-ffi/swift/Sources/MailSettingsFFI/include/MailSettingsFFI.h
#                 mail-settings-ffi/swift/Sources/MailSettingsFFI/include/module.modulemap
#                 (committed: the Swift package a host adds)
#   bash mail-settings-ffi/generate.sh --check   build, generate Kotlin, and generate Swift into
#       a temporary directory; fail (exit 1, with the diff) when the committed Swift files are
#       not what the current Rust code generates.
#   bash mail-settings-ffi/generate.sh --kotlin  build and generate Kotlin only.
#
# Output is left unformatted (--no-format) so that it does not depend on whether ktlint or
# swift-format happen to be installed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

check=false
swift=true
case "${1:-}" in
    --check) check=true ;;
    --kotlin) swift=false ;;
    "") ;;
    *) echo "usage: $0 [--check | --kotlin]" >&2; exit 2 ;;
esac

target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
cargo build --quiet -p mail-settings-ffi -p uniffi-bindgen
lib="$target_dir/debug/libmail_settings_ffi.so"
case "$(uname -s)" in
    Darwin) lib="$target_dir/debug/libmail_settings_ffi.dylib" ;;
esac
bindgen="$target_dir/debug/uniffi-bindgen"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Kotlin (one file, package "mailsettings", see uniffi.toml).
"$bindgen" generate --no-format --language kotlin --out-dir "$tmp/kotlin" "$lib" >/dev/null
rm -rf "$target_dir/uniffi/kotlin"
mkdir -p "$target_dir/uniffi"
cp -r "$tmp/kotlin" "$target_dir/uniffi/kotlin"
echo "kotlin: $target_dir/uniffi/kotlin/mailsettings/mail_settings.kt"
if ! $swift; then
    exit 0
fi

# Swift: sources, the C header and the module map, laid out as the package's targets.
"$bindgen" generate --no-format --language swift --out-dir "$tmp/swift-raw" "$lib" >/dev/null
layout="$tmp/swift"
mkdir -p "$layout/Sources/MailSettings" "$layout/Sources/MailSettingsFFI/include"
cp "$tmp/swift-raw/MailSettings.swift" "$layout/Sources/MailSettings/MailSettings.swift"
cp "$tmp/swift-raw/MailSettingsFFI.h" "$layout/Sources/MailSettingsFFI/include/MailSettingsFFI.h"
cp "$tmp/swift-raw/MailSettingsFFI.modulemap" "$layout/Sources/MailSettingsFFI/include/module.modulemap"

generated=(
    Sources/MailSettings/MailSettings.swift
    Sources/MailSettingsFFI/include/MailSettingsFFI.h
    Sources/MailSettingsFFI/include/module.modulemap
)
package=mail-settings-ffi/swift
if $check; then
    stale=0
    for f in "${generated[@]}"; do
        if ! diff -u "$package/$f" "$layout/$f" >"$tmp/diff" 2>&1; then
            echo "swift: $package/$f is stale (run: bash mail-settings-ffi/generate.sh)" >&2
            head -40 "$tmp/diff" >&2
            stale=1
        fi
    done
    if [ "$stale" -ne 0 ]; then
        exit 1
    fi
    echo "swift: the committed package's generated files are current"
else
    for f in "${generated[@]}"; do
        mkdir -p "$(dirname "$package/$f")"
        cp "$layout/$f" "$package/$f"
    done
    echo "swift: $package (${generated[*]})"
fi
