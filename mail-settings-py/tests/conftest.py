"""Harness for the Python suite: the real local servers of ``tests/servers/``.

Like the Rust harness (``tests/src/lib.rs``), the ``servers`` fixture runs
``tests/servers/start.sh`` once per session (idempotent; it locks against concurrent callers)
and reads ``tests/servers/ports.env``. Tests name ports by their key there, use mailboxes of
their own (``servers.unique_mailbox``) so that they never see each other's mail, and get the
passwords through a ``mail_settings.Credentials`` provider like any script would.

A test that needs a server fails (never passes, never skips) when the servers cannot start.
"""

from __future__ import annotations

import itertools
import os
import smtplib
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest

import mail_settings as ms

REPO = Path(__file__).resolve().parents[2]
PORTS_ENV = REPO / "tests" / "servers" / "ports.env"


def read_env(path: Path) -> Dict[str, str]:
    env: Dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        env[key.strip()] = value.strip().strip('"')
    if "MS_SERVERS_DIR" in os.environ:
        env["MS_SERVERS_DIR"] = os.environ["MS_SERVERS_DIR"]
    return env


_counter = itertools.count()


class Servers:
    """The running local servers."""

    def __init__(self, env: Dict[str, str]) -> None:
        self.env = env
        self.dir = Path(env["MS_SERVERS_DIR"])

    def port(self, key: str) -> int:
        return int(self.env[key])

    @property
    def ca_file(self) -> str:
        return str(self.dir / "certs" / "ca.pem")

    @property
    def domain(self) -> str:
        return self.env["MS_MAIL_DOMAIN"]

    @property
    def password(self) -> str:
        return self.env["MS_MAIL_PASSWORD"]

    @property
    def proxy_password(self) -> str:
        return self.env["MS_PROXY_PASSWORD"]

    def unique_mailbox(self, prefix: str) -> str:
        n = next(_counter)
        return f"{prefix}-py{os.getpid()}-{n}-{time.time_ns() & 0xFFFFFFFF:x}@{self.domain}"

    def credentials_for(self, mailbox: str) -> ms.Credentials:
        """The mailbox (id = the address), ``wrong-password`` (same mailbox, wrong password),
        ``proxy`` and ``wrong-proxy`` (the proxies' user)."""
        return ms.Credentials(
            {
                mailbox: (mailbox, self.password),
                "wrong-password": (mailbox, "not-the-password-31d9"),
                "proxy": (self.env["MS_PROXY_USER"], self.proxy_password),
                "wrong-proxy": (self.env["MS_PROXY_USER"], "not-the-proxy-password-8e1"),
            }
        )

    def maildir_count(self, mailbox: str) -> int:
        local, domain = mailbox.split("@", 1)
        root = self.dir / "mail" / domain / local / "Maildir"
        return sum(len(list((root / d).iterdir())) for d in ("new", "cur") if (root / d).exists())

    def wait_for_mail(self, mailbox: str, count: int, within: float = 30.0) -> None:
        """Waits until Dovecot stored ``count`` messages for ``mailbox`` (delivery through
        Postfix is asynchronous); fails after ``within`` seconds."""
        deadline = time.monotonic() + within
        while self.maildir_count(mailbox) < count:
            assert time.monotonic() < deadline, f"{mailbox}: {count} message(s) not stored in time"
            time.sleep(0.02)

    def lmtp_deliver(self, mailbox: str, raw: bytes, sender: str = "sender@example.test") -> None:
        """Stores ``raw`` in ``mailbox`` straight through Dovecot's LMTP (synchronous)."""
        with smtplib.LMTP("127.0.0.1", self.port("MS_LMTP_PORT"), timeout=30) as lmtp:
            lmtp.sendmail(sender, [mailbox], raw)

    def imap_account(self, mailbox: str, **overrides: object) -> ms.IncomingAccountForm:
        fields: Dict[str, object] = dict(
            name=f"imap {mailbox}",
            protocol="IMAP",
            host="localhost",
            port=self.port("MS_IMAPS_PORT"),
            secure_connection_type="SSL",
            credential=mailbox,
            ca_file=self.ca_file,
            check_interval_secs=30,
        )
        fields.update(overrides)
        return ms.IncomingAccountForm(**fields)  # type: ignore[arg-type]

    def smtp_account(self, mailbox: str, **overrides: object) -> ms.SmtpAccountForm:
        fields: Dict[str, object] = dict(
            name=f"smtp {mailbox}",
            host="localhost",
            port=self.port("MS_SMTP_PORT"),
            secure_connection_type="TLS",
            sender_email=mailbox,
            credential=mailbox,
            ca_file=self.ca_file,
        )
        fields.update(overrides)
        return ms.SmtpAccountForm(**fields)  # type: ignore[arg-type]


_servers: Optional[Servers] = None


@pytest.fixture(scope="session")
def servers() -> Servers:
    global _servers
    if _servers is None:
        out = subprocess.run(
            ["bash", str(REPO / "tests" / "servers" / "start.sh")],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, f"tests/servers/start.sh failed:\n{out.stdout}\n{out.stderr}"
        _servers = Servers(read_env(PORTS_ENV))
    return _servers


@pytest.fixture
def mailbox(servers: Servers, request: pytest.FixtureRequest) -> str:
    return servers.unique_mailbox(request.node.name[:20].replace("[", "-").strip("-_]"))


@pytest.fixture
def creds(servers: Servers, mailbox: str) -> ms.Credentials:
    return servers.credentials_for(mailbox)


def message(subject: str, body: str = "body\r\n", to: str = "someone@example.test") -> bytes:
    return (
        f"From: Sender <sender@example.test>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{time.time_ns()}.{next(_counter)}@example.test>\r\n"
        f"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n{body}"
    ).encode()


class FakeServer:
    """An in-process TCP server for what a real server will not do: accept and say nothing,
    or run Python code of the test's while a client waits. ``handler(conn)`` runs in a
    thread for each connection."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port: int = self.sock.getsockname()[1]
        self.handler = handler
        self.conns: List[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self.handler, args=(conn,), daemon=True).start()

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


@pytest.fixture
def fake_server() -> Iterator[Callable[[Callable[[socket.socket], None]], FakeServer]]:
    made: List[FakeServer] = []

    def make(handler: Callable[[socket.socket], None]) -> FakeServer:
        s = FakeServer(handler)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()
