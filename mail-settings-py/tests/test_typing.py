"""The package is typed: the hand-kept stub matches the native module exactly (mypy's
stubtest), every public name is exported, and the examples pass ``mypy --strict``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mail_settings
import mail_settings._native as native

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def test_stub_matches_the_native_module() -> None:
    out = subprocess.run(
        [
            sys.executable, "-m", "mypy.stubtest", "mail_settings",
            "--ignore-disjoint-bases", "--ignore-positional-only",
            "--allowlist", str(HERE.parent / "stubtest-allowlist.txt"),
        ],
        capture_output=True,
        text=True,
        cwd=str(REPO / "target"),
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_public_name_is_exported() -> None:
    public = {n for n in dir(native) if not n.startswith("_")}
    assert public <= set(mail_settings.__all__), public - set(mail_settings.__all__)
    for name in mail_settings.__all__:
        assert hasattr(mail_settings, name), name
    assert mail_settings.__version__ == native.__version__


def test_typed_marker_is_installed() -> None:
    package = Path(mail_settings.__file__).parent
    assert (package / "py.typed").exists()
    assert (package / "_native.pyi").exists()


def test_examples_pass_mypy_strict() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(REPO / "examples" / "python")],
        capture_output=True,
        text=True,
        cwd=str(REPO / "target"),
    )
    assert out.returncode == 0, out.stdout + out.stderr
