#!/usr/bin/env bash
# Installs what building the workspace needs on a fresh Debian machine (root): a C toolchain,
# pkg-config and OpenSSL headers (native-tls), and a Rust toolchain when none is on PATH.
# Quick when everything is already there. The mail servers' packages are installed by
# tests/servers/install.sh. cargo-hack (the test command checks each Cargo feature of the core
# on its own) is installed from crates.io into ~/.cargo/bin once; later runs find it there.
set -euo pipefail

need=()
command -v cc >/dev/null 2>&1 || need+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
dpkg -s ca-certificates >/dev/null 2>&1 || need+=(ca-certificates)
command -v curl >/dev/null 2>&1 || need+=(curl)
if ((${#need[@]})); then
    echo "deps: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "deps: no Rust toolchain; installing Debian's cargo and rustc" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq cargo rustc >/dev/null
    fi
fi

# cargo-hack: `cargo hack check --each-feature` in the test command's lint step. Built once
# (about two minutes on two cores), then cached in ~/.cargo/bin.
if ! command -v cargo-hack >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo-hack" ]; then
    echo "deps: installing cargo-hack (once)"
    cargo install cargo-hack --locked --quiet
fi
