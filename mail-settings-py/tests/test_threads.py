"""Network work releases the GIL, and objects are shared safely between threads."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import pytest

import mail_settings as ms
from conftest import FakeServer, Servers, message


def busy_python() -> int:
    # Pure Python: it cannot run unless this thread holds the GIL.
    return sum(i * i for i in range(100_000))


def test_another_thread_runs_during_a_slow_network_call(
    fake_server: Callable[[Callable[[socket.socket], None]], FakeServer], mailbox: str
) -> None:
    """The server is a Python thread. After accepting, it runs Python code and only then
    answers. If the call held the GIL while waiting for the greeting, that thread could not run
    until the call gave up (a timeout); with the GIL released it answers at once, and the call
    fails on the answer (a protocol error), while still in progress."""
    call_returned = threading.Event()
    ran_during_call: List[bool] = []

    def handler(conn: socket.socket) -> None:
        busy_python()
        ran_during_call.append(not call_returned.is_set())
        conn.sendall(b"554 no service for you\r\n")
        conn.close()

    server = fake_server(handler)
    account = ms.SmtpAccountForm(name="slow", host="127.0.0.1", port=server.port, sender_email=mailbox,
                             use_secure_connection=False, use_authentication=False)
    with pytest.raises(ms.ProtocolError):
        ms.send_test(account, mailbox, timeout=60)
    call_returned.set()
    assert ran_during_call == [True]


def test_check_releases_the_gil_too(
    fake_server: Callable[[Callable[[socket.socket], None]], FakeServer],
) -> None:
    call_returned = threading.Event()
    ran_during_call: List[bool] = []

    def handler(conn: socket.socket) -> None:
        busy_python()
        ran_during_call.append(not call_returned.is_set())
        conn.sendall(b"* BYE not today\r\n")
        conn.close()

    server = fake_server(handler)
    account = ms.IncomingAccountForm(name="slow", protocol="IMAP", host="127.0.0.1", port=server.port,
                                 use_secure_connection=False, credential="c")
    report = ms.check_incoming(account, credentials=ms.Credentials({"c": ("u", "p")}), timeout=60)
    call_returned.set()
    assert report.failure is not None and report.failure.category != "timeout"
    assert ran_during_call == [True]


def test_callable_provider_called_from_inside_released_calls(
    servers: Servers, mailbox: str
) -> None:
    asked: List[Tuple[str, str]] = []

    def vault(credential_id: str) -> Optional[Tuple[str, str]]:
        asked.append((credential_id, threading.current_thread().name))
        return (mailbox, servers.password) if credential_id == "vault-id" else None

    creds = ms.Credentials.from_callable(vault)
    account = servers.smtp_account(mailbox, credential="vault-id")
    assert ms.send_test(account, mailbox, credentials=creds, timeout=20).accepted == [mailbox]
    servers.wait_for_mail(mailbox, 1)
    store = ms.Store(credentials=creds)
    incoming = store.create_incoming(servers.imap_account(mailbox, credential="vault-id"))
    with ms.Collector(store, timeout=20) as collector:
        assert collector.check_now(incoming.id or 0).fetched == 1
    assert {a[0] for a in asked} == {"vault-id"}


def test_objects_shared_between_threads(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    for i in range(4):
        servers.lmtp_deliver(mailbox, message(f"t{i}"))
    account = servers.smtp_account(mailbox)
    store = ms.Store(credentials=creds)
    incoming = store.create_incoming(servers.imap_account(mailbox))
    collector = ms.Collector(store, timeout=20)
    results: List[object] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            r1: object = ms.check_smtp(account, credentials=creds, timeout=20).ok
            try:
                r2: object = collector.check_now(incoming.id or 0).fetched
            except ms.ConflictError:
                r2 = "busy"  # another thread's run of the same account is in progress
            out = (r1, r2)
        except BaseException as e:  # noqa: BLE001 - collected for the assertion
            out = (e, e)
        with lock:
            results.append(out)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r[0] is True for r in results), results
    fetched = [r[1] for r in results if isinstance(r[1], int)]
    assert sum(fetched) == 4  # exactly once, whatever the interleaving
    assert all(isinstance(r[1], int) or r[1] == "busy" for r in results)
    assert store.inbox.count() == 4


def test_objects_can_change_while_a_call_uses_them(
    fake_server: Callable[[Callable[[socket.socket], None]], FakeServer], mailbox: str
) -> None:
    """A call copies its arguments before releasing the GIL: another thread may change the
    account, the message and the document meanwhile (no "Already borrowed")."""
    account = ms.SmtpAccountForm(name="slow", host="127.0.0.1", sender_email=mailbox,
                             use_secure_connection=False, use_authentication=False)
    msg = ms.OutgoingMessage(to=[mailbox], subject="s", text="t")
    document = ms.SettingsDocument(smtp_accounts=[account])
    changed: List[str] = []

    def handler(conn: socket.socket) -> None:
        account.name = "changed while in use"
        msg.subject = "changed too"
        document.smtp_accounts = []
        changed.append(account.name)
        conn.sendall(b"554 go away\r\n")
        conn.close()

    server = fake_server(handler)
    account.port = server.port
    with pytest.raises(ms.ProtocolError):
        ms.send(account, msg, timeout=60)
    assert changed == ["changed while in use"] and msg.subject == "changed too"


def test_interpreter_exit_with_a_running_collector(servers: Servers, mailbox: str, tmp_path: "Path") -> None:
    """A script that starts a collector and ends without stopping it exits cleanly: the
    package stops running collectors at exit, before the interpreter goes away."""
    import subprocess
    import sys

    script = tmp_path / "exit.py"
    script.write_text(
        "import mail_settings as ms\n"
        f"store = ms.Store(credentials=ms.Credentials({{{mailbox!r}: ({mailbox!r}, {servers.password!r})}}))\n"
        f"store.create_incoming(ms.IncomingAccountForm(name='a', protocol='IMAP', host='localhost', "
        f"port={servers.port('MS_IMAPS_PORT')}, credential={mailbox!r}, ca_file={servers.ca_file!r}))\n"
        "def progress(p):\n    print('progress', p.done, flush=True)\n"
        "c = ms.Collector(store, timeout=20, on_progress=progress)\n"
        "c.start()\n"
        "print('started', flush=True)\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("started") and "Fatal" not in out.stderr
