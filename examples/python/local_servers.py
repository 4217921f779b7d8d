"""Where the repository's local test servers are (``tests/servers/ports.env``), for the
examples. A real script would take these from its own configuration instead."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict

import mail_settings as ms

REPO = Path(__file__).resolve().parents[2]


def env() -> Dict[str, str]:
    """``tests/servers/ports.env`` as a dict (``MS_SERVERS_DIR`` may be overridden)."""
    values: Dict[str, str] = {}
    for line in (REPO / "tests" / "servers" / "ports.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().strip('"')
    if "MS_SERVERS_DIR" in os.environ:
        values["MS_SERVERS_DIR"] = os.environ["MS_SERVERS_DIR"]
    return values


def port(key: str) -> int:
    return int(env()[key])


def ca_file() -> str:
    """The test CA that signed the local servers' certificates."""
    return str(Path(env()["MS_SERVERS_DIR"]) / "certs" / "ca.pem")


def credentials(mailbox: str) -> ms.Credentials:
    """A provider whose credential id ``mailbox`` logs in to that mailbox (any local part
    @example.test is a mailbox, with the servers' one password)."""
    return ms.Credentials({mailbox: (mailbox, env()["MS_MAIL_PASSWORD"])})
