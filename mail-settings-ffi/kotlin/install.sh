#!/usr/bin/env bash
# Builds the Maven artifact mailsettings:mail-settings-kotlin (mail-settings-ffi/kotlin/pom.xml)
# and installs it into the local Maven repository (~/.m2), ready for a project that depends on
# it by its coordinates (examples/kotlin-sample).
#
#   bash mail-settings-ffi/kotlin/install.sh            the debug library (what the tests use)
#   bash mail-settings-ffi/kotlin/install.sh release    cargo build --release first, and use it
#
# Steps: generate the Kotlin sources from the built library (mail-settings-ffi/generate.sh
# --kotlin), copy the library without its debug information into
# target/kotlin-native/linux-x86-64/ (the JNA resource path), `mvn install`. Prints the jar's
# path and the native library's size.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
profile=${1:-debug}
case "$profile" in
    debug | release) ;;
    *) echo "usage: $0 [debug | release]" >&2; exit 2 ;;
esac

target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bash mail-settings-ffi/generate.sh --kotlin >/dev/null
if [ "$profile" = release ]; then
    cargo build --quiet --release -p mail-settings-ffi
fi
lib="$target_dir/$profile/libmail_settings_ffi.so"
native="$target_dir/kotlin-native/linux-x86-64"
rm -rf "$target_dir/kotlin-native"
mkdir -p "$native"
# The debug library is mostly DWARF; the jar carries the code only.
objcopy --strip-debug "$lib" "$native/libmail_settings_ffi.so"
echo "kotlin: native library $(du -k "$native/libmail_settings_ffi.so" | cut -f1) KiB (from $lib)"

cd mail-settings-ffi/kotlin
mvn -B -q --no-transfer-progress -Dstyle.color=never \
    -Dworkspace.target="$target_dir" clean install 2>&1 | sed "s/\x1b\[[0-9;]*m//g"
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "kotlin: mvn install failed" >&2; exit 1; }
jar=$(ls "$HOME"/.m2/repository/mailsettings/mail-settings-kotlin/0.1.0/mail-settings-kotlin-0.1.0.jar)
echo "kotlin: installed $jar ($(du -k "$jar" | cut -f1) KiB)"
