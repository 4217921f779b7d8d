"""The examples in ``examples/python`` run against the local servers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import List

from conftest import Servers

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "python"


def run(script: str, args: List[str]) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, timeout=300
    )


def test_validate_settings() -> None:
    bad = run("validate_settings.py", [str(REPO / "examples" / "settings" / "broken.toml")])
    assert bad.returncode == 1
    assert "[invalid_host]" in bad.stdout and "12 errors, 1 warnings" in bad.stdout
    pt = run("validate_settings.py", [str(REPO / "examples" / "settings" / "broken.toml"), "--lang", "pt-BR"])
    assert "é obrigatório" in pt.stdout
    good = run("validate_settings.py", [str(REPO / "examples" / "settings" / "helpdesk.json")])
    assert good.returncode == 0 and "0 errors, 1 warnings" in good.stdout


def test_validate_unreadable(tmp_path: Path) -> None:
    broken = tmp_path / "x.json"
    broken.write_text('{"version": 1,\n "bogus": 1}')
    out = run("validate_settings.py", [str(broken)])
    assert out.returncode == 2 and "line 2" in out.stderr


def test_send_check_and_collect(servers: Servers, mailbox: str) -> None:
    sender = servers.unique_mailbox("example-sender")
    sent = run("send_test_message.py", ["--sender", sender, "--to", mailbox, "--security", "SSL"])
    assert sent.returncode == 0, sent.stderr
    assert f"to {mailbox}: 250" in sent.stdout
    servers.wait_for_mail(mailbox, 1)

    for args in (["--protocol", "IMAP"], ["--protocol", "POP3", "--security", "TLS"], ["--protocol", "SMTP", "--via-proxy"]):
        checked = run("check_account.py", [*args, "--mailbox", mailbox])
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "check passed" in checked.stdout
    as_json = run("check_account.py", ["--mailbox", mailbox, "--json"])
    assert json.loads(as_json.stdout)["mailbox"]["messages"] == 1

    collected = run("collect_inbox.py", ["--mailbox", mailbox, "--store", str(Path(servers.dir) / f"{mailbox}.db")])
    assert collected.returncode == 0, collected.stderr
    assert "1 new" in collected.stdout and "MENSAGEM DE TESTE!" in collected.stdout
    again = run("collect_inbox.py", ["--mailbox", mailbox, "--store", str(Path(servers.dir) / f"{mailbox}.db")])
    assert "0 new, 1 already stored" in again.stdout


def test_failures_exit_nonzero(servers: Servers, mailbox: str) -> None:
    refused = run("send_test_message.py", ["--sender", mailbox, "--to", "not an address"])
    assert refused.returncode == 1 and refused.stderr

