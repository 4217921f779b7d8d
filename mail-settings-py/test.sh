#!/usr/bin/env bash
# The Python package's test stage, from scratch, as a user gets the package:
#   1. a fresh virtual environment under target/ with maturin, ziglang (maturin's zig linker),
#      auditwheel, pytest and mypy from PyPI;
#   2. the sdist (`maturin sdist`), unpacked into target/python-sdist/, and the wheel built FROM
#      IT (debug profile, target dir target/python-wheel-build/) with
#      `maturin build --zig --compatibility manylinux2014`: OpenSSL vendored (built from source
#      and linked in, the core's `vendored-openssl`), glibc 2.17's symbols through zig. Counted:
#      "the sdist builds a wheel";
#   3. `auditwheel show` of that wheel: it must name the manylinux2014 tag and the module must
#      need no libssl/libcrypto (counted);
#   4. on each CPython 3.9-3.13 installed under pyenv but the one of step 5: a fresh venv, the
#      wheel installed with `pip --no-index --only-binary :all:` (nothing downloaded, nothing
#      compiled), smoke.py run from outside the tree with a PATH holding no Rust toolchain
#      (each counted), then pytest and mypy (from PyPI) and the full suite, its static typing
#      checks (test_typing.py) included, against the real local servers, timed (each
#      version's suite counted once);
#   5. on python3 (the pyenv 3.11 here): the wheel installed the same way, the full pytest suite
#      against the real local servers (tests/servers/, each test counted), and `mypy --strict`
#      on examples/python.
# PY_FULL_SUITES=0 runs only the smoke on the other versions (the full suite takes about a
# minute each).
# Ends with "python: N passed, M failed". Needs python3 (3.9 or later) with venv, PyPI for the
# tools, a C compiler, perl and make (OpenSSL's build); no OpenSSL headers.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PYTHONDONTWRITEBYTECODE=1
venv=target/python-venv
log=target/python-tests.log
wheels=target/wheels
stage_start=$(date +%s)
status=0
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "python: ok: $*"; }
failure() { failed=$((failed + 1)); status=1; echo "python: FAILED: $*"; }
finish() {
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
    echo "python: stage took $(($(date +%s) - stage_start))s"
    echo "python: ${passed} passed, ${failed} failed"
    exit "$status"
}
fatal() { echo "python: $*" >&2; failed=$((failed + 1)); status=1; finish; }

if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "python: installing python3-venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi

rm -rf "$venv"
python3 -m venv "$venv" || fatal "cannot create a virtual environment"
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "maturin>=1.5,<2" "ziglang>=0.11" "auditwheel>=6" "pytest>=7" "mypy>=1.10" \
    || fatal "cannot install maturin, ziglang, auditwheel, pytest and mypy"
export PATH="$root/$venv/bin:$PATH"

# 2. The sdist, and the wheel built from it.
rm -rf "$wheels" target/python-sdist
mkdir -p "$wheels" target/python-sdist
maturin sdist -m mail-settings-py/Cargo.toml --out "$wheels" || fatal "maturin sdist failed"
sdist=$(ls "$wheels"/mail_settings-*.tar.gz 2>/dev/null | head -1)
[ -n "$sdist" ] || fatal "no sdist in $wheels"
echo "python: built $sdist"
# -m: the files get the time of unpacking, not the sdist's fixed 2006 timestamp, so that cargo
# rebuilds this crate and the core from them (a warm target/python-wheel-build keeps the rest).
tar -xzmf "$sdist" -C target/python-sdist || fatal "cannot unpack $sdist"
unpacked=$(ls -d target/python-sdist/mail_settings-*/ | head -1)
build_start=$(date +%s)
if (cd "$unpacked" && CARGO_TARGET_DIR="$root/target/python-wheel-build" \
    maturin build --zig --compatibility manylinux2014 --out "$root/$wheels"); then
    pass "the sdist builds a manylinux2014 wheel (zig, vendored OpenSSL) in $(($(date +%s) - build_start))s"
else
    failure "building a wheel from the sdist"
    finish
fi
wheel=$(ls "$wheels"/mail_settings-*-cp39-abi3-manylinux*.whl 2>/dev/null | head -1)
[ -n "$wheel" ] || fatal "no cp39-abi3 manylinux wheel in $wheels"
echo "python: built $wheel ($(du -k "$wheel" | cut -f1) KiB)"

# 3. What the wheel needs from the system.
audit=$(auditwheel show "$wheel" 2>&1)
echo "$audit" | sed 's/^/    /'
module=$(mktemp -d)
(cd "$module" && python3 -m zipfile -e "$root/$wheel" .)
needed=$(readelf -d "$module"/mail_settings/_native*.so 2>/dev/null | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p' | tr '\n' ' ')
rm -rf "$module"
echo "python: the module needs: $needed"
if grep -q 'manylinux_2_17_x86_64' <<<"$audit" && [ -n "$needed" ] && ! grep -Eq 'libssl|libcrypto' <<<"$needed"; then
    pass "auditwheel: manylinux2014 (glibc 2.17), no libssl/libcrypto needed"
else
    failure "auditwheel: not manylinux2014, or the module needs the system's OpenSSL"
fi

# 4. Every other CPython under pyenv: fresh venv, install the wheel offline, smoke.
main_version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
smoke_home=$(mktemp -d)
for version in 3.9 3.10 3.11 3.12 3.13; do
    [ "$version" = "$main_version" ] && continue
    python=$(ls -d "$pyenv_root"/versions/"$version".*/bin/python 2>/dev/null | sort -V | tail -1)
    if [ -z "$python" ]; then
        echo "python: no CPython $version under $pyenv_root (not counted)"
        continue
    fi
    smoke_venv="$root/target/python-smoke-$version"
    rm -rf "$smoke_venv"
    if "$python" -m venv "$smoke_venv" \
        && "$smoke_venv/bin/python" -m pip install -q --disable-pip-version-check --no-index \
            --only-binary :all: "$wheel" \
        && (cd "$smoke_home" && env -i HOME="$smoke_home" PATH=/usr/bin:/bin \
            "$smoke_venv/bin/python" "$root/mail-settings-py/smoke.py" "$root/examples/settings/helpdesk.json"); then
        pass "CPython $("$python" -c 'import sys; print(sys.version.split()[0])'): install and smoke"
    else
        failure "CPython $version: install or smoke"
        continue
    fi
    [ "${PY_FULL_SUITES:-1}" = 1 ] || continue
    # The full suite on this version too, from target/ (the installed wheel, not the tree).
    suite_start=$(date +%s)
    suite_log="$root/target/python-tests-$version.log"
    # Every test, test_typing.py included (mypy's stubtest of the .pyi stub and of _errors.py
    # against this interpreter's runtime, and mypy --strict on the examples): the verdict of
    # a static check depends on the interpreter mypy runs under, so it runs on each version.
    if "$smoke_venv/bin/python" -m pip install -q --disable-pip-version-check "pytest>=7" "mypy>=1.10" \
        && (cd target && "$smoke_venv/bin/python" -m pytest ../mail-settings-py/tests -q \
            -p no:cacheprovider) >"$suite_log" 2>&1; then
        pass "CPython $version: full suite, $(tail -1 "$suite_log" | grep -Eo '[0-9]+ passed') in $(($(date +%s) - suite_start))s"
    else
        tail -30 "$suite_log"
        failure "CPython $version: full suite ($(tail -1 "$suite_log")) in $(($(date +%s) - suite_start))s"
    fi
done
rm -rf "$smoke_home"

# 5. The full suite on python3.
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-index --only-binary :all: \
    --force-reinstall "$wheel" || fatal "pip install of the wheel failed"
# From target/, so that `import mail_settings` is the installed wheel, never the source tree.
suite_start=$(date +%s)
(cd target && "../$venv/bin/python" -m pytest ../mail-settings-py/tests -q -p no:cacheprovider) 2>&1 | tee "$log"
echo "python: the full suite on $main_version took $(($(date +%s) - suite_start))s"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
suite_passed=$(tail -1 "$log" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+' || true)
suite_failed=$(tail -1 "$log" | grep -Eo '[0-9]+ (failed|errors?)' | awk '{s+=$1} END {print s+0}')
passed=$((passed + ${suite_passed:-0}))
failed=$((failed + ${suite_failed:-0}))

echo "python: mypy --strict examples/python"
if "$venv/bin/mypy" --strict --cache-dir target/python-mypy-cache examples/python; then
    pass "mypy --strict examples/python"
else
    failure "mypy --strict examples/python"
fi
finish
