"""Folders, the archive folder and push through the binding, against the local Dovecot (issue
15): folders created the way a mail program does (Dovecot here separates levels with "." and
has no namespace prefix; non-ASCII names in modified UTF-7), two folders collected (one
non-ASCII, two levels), messages archived after they are stored, and a message delivered
through Postfix arriving by push while the collector waits with a one-hour poll interval."""

from __future__ import annotations

import imaplib
import time
from typing import Dict, List

import mail_settings as ms
from conftest import Servers, message

# "Suporte/Atenção" and "Arquivo/Concluídos" as Dovecot spells them (ç ã = &AOcA4w-, í = &AO0-).
SUPORTE = "Suporte.Aten&AOcA4w-o"
ARQUIVO = "Arquivo.Conclu&AO0-dos"


def imap(servers: Servers, mailbox: str) -> imaplib.IMAP4:
    """The test's own session (clear text on loopback, which Dovecot allows here)."""
    c = imaplib.IMAP4("127.0.0.1", servers.port("MS_IMAP_PORT"), timeout=20)
    c.login(mailbox, servers.password)
    return c


def put(c: imaplib.IMAP4, folder: str, raw: bytes) -> None:
    typ, data = c.append(f'"{folder}"', "", None, raw)  # type: ignore[arg-type]
    assert typ == "OK", data


def subjects_in(c: imaplib.IMAP4, folder: str) -> List[str]:
    typ, data = c.select(f'"{folder}"', readonly=True)
    assert typ == "OK", data
    typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])") if int(data[0] or 0) else ("OK", [])
    assert typ == "OK", data
    out = []
    for item in data:
        if isinstance(item, tuple):
            out.append(item[1].decode().split(":", 1)[1].strip())
    return sorted(out)


def test_folders_and_archive(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    c = imap(servers, mailbox)
    for folder in ("Clientes", "Suporte", SUPORTE, "Arquivo", ARQUIVO):
        typ, data = c.create(f'"{folder}"')
        assert typ == "OK", data
    put(c, "INBOX", message("not collected"))
    for i in range(2):
        put(c, "Clientes", message(f"clientes {i}"))
        put(c, SUPORTE, message(f"suporte {i}"))

    store = ms.Store(credentials=creds)
    account = store.create_incoming(
        servers.imap_account(
            mailbox,
            folders=["Clientes", "Suporte/Atenção"],
            archive_folder="Arquivo/Concluídos",
            keep_copy_on_server=False,
        )
    )
    assert account.folders == ["Clientes", "Suporte/Atenção"]
    collector = ms.Collector(store, timeout=20)
    report = collector.check_now(account.id or 0)
    assert (report.listed, report.fetched, report.deleted_on_server) == (4, 4, 4)
    assert report.needs_expunging is False and report.notes == []
    assert sorted(m.subject or "" for m in store.inbox.list()) == [
        "clientes 0", "clientes 1", "suporte 0", "suporte 1"]
    # Archived: gone from both folders, each once in the archive; INBOX untouched.
    assert subjects_in(c, "Clientes") == [] and subjects_in(c, SUPORTE) == []
    assert subjects_in(c, ARQUIVO) == ["clientes 0", "clientes 1", "suporte 0", "suporte 1"]
    assert subjects_in(c, "INBOX") == ["not collected"]
    again = collector.check_now(account.id or 0)
    assert (again.listed, again.fetched) == (0, 0)
    assert collector.status(account.id or 0).needs_expunging is False

    # The report shows the account's folders, archive folder and push.
    [row] = store.incoming_report().rows
    assert (row.folders, row.archive_folder, row.push) == (
        ["Clientes", "Suporte/Atenção"], "Arquivo/Concluídos", True)

    # The check lists the server's folders as the user writes them.
    check = ms.check_incoming(servers.imap_account(mailbox, folders=["Suporte/Atenção", "Nope"]),
                              credentials=creds, timeout=20)
    assert not check.ok
    names: Dict[str, bool] = {f["name"]: f["collected"] for f in check.folders if f["name"]}
    assert names.get("Suporte/Atenção") is True and names.get("Clientes") is False, names
    assert any("Nope" in s["detail"] for s in check.to_dict()["stages"])
    c.logout()


def test_push_brings_a_message_delivered_through_postfix(servers: Servers, mailbox: str,
                                                         creds: ms.Credentials) -> None:
    servers.lmtp_deliver(mailbox, message("before"))
    store = ms.Store(credentials=creds)
    account = store.create_incoming(servers.imap_account(
        mailbox, use_push=True, automatic_check=True, check_interval_secs=3600))
    with ms.Collector(store, timeout=20) as collector:
        collector.start()
        deadline = time.monotonic() + 30
        while store.inbox.count() < 1:
            assert time.monotonic() < deadline, "no first run"
            time.sleep(0.05)
        time.sleep(1.0)  # the waiter logs in and enters IDLE
        started = time.monotonic()
        ms.send(servers.smtp_account(mailbox),
                ms.OutgoingMessage(to=[mailbox], subject="pushed", text="by push"),
                credentials=creds, timeout=20)
        while store.inbox.count() < 2:
            assert time.monotonic() - started < 20, "the message did not arrive by push within 20 s"
            time.sleep(0.05)
        print(f"push: in the inbox {time.monotonic() - started:.2f} s after the send began")
        # The run that stored it records its end a moment after the commit.
        while collector.status(account.id or 0).runs < 2:
            assert time.monotonic() - started < 30, "no second run recorded"
            time.sleep(0.05)
        assert sorted(m.subject or "" for m in store.inbox.list()) == ["before", "pushed"]
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 5, "stopping ended IDLE promptly"
