#!/usr/bin/env bash
# The Python package's test stage, from scratch: a fresh virtual environment under target/,
# the abi3 wheel built with maturin (debug profile, sharing the workspace's target dir),
# `pip install` of that wheel, pytest against the real local servers (tests/servers/), and
# `mypy --strict` on examples/python. Ends with "python: N passed, M failed".
# Needs python3 (3.9 or later) with venv, and PyPI for maturin, pytest and mypy.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONDONTWRITEBYTECODE=1
venv=target/python-venv
log=target/python-tests.log
status=0

if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "python: installing python3-venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi

fail() { echo "python: $*" >&2; echo "python: 0 passed, 1 failed"; exit 1; }

rm -rf "$venv"
python3 -m venv "$venv" || fail "cannot create a virtual environment"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.5,<2" "pytest>=7" "mypy>=1.10" \
    || fail "cannot install maturin, pytest and mypy"

rm -f target/wheels/mail_settings-*.whl
"$venv/bin/maturin" build -m mail-settings-py/Cargo.toml --out target/wheels \
    || fail "the wheel did not build"
wheel=$(ls target/wheels/mail_settings-*-cp39-abi3-*.whl 2>/dev/null | head -1)
[ -n "$wheel" ] || fail "no cp39-abi3 wheel in target/wheels"
echo "python: built $wheel"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall "$wheel" \
    || fail "pip install of the wheel failed"

# From target/, so that `import mail_settings` is the installed wheel, never the source tree.
(cd target && "../$venv/bin/python" -m pytest ../mail-settings-py/tests -q -p no:cacheprovider) 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

passed=$(tail -1 "$log" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+' || true)
failed=$(tail -1 "$log" | grep -Eo '[0-9]+ (failed|errors?)' | awk '{s+=$1} END {print s+0}')
passed=${passed:-0}
failed=${failed:-0}

echo "python: mypy --strict examples/python"
if "$venv/bin/mypy" --strict --cache-dir target/python-mypy-cache examples/python; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    status=1
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "python: ${passed} passed, ${failed} failed"
exit "$status"
