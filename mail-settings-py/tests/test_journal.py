"""The collection journal from Python: entries written by collector runs against the local
Dovecot, filters and pages, CSV and HTML exports, runs, and `journal_retention_days` in
documents."""

from __future__ import annotations

from pathlib import Path

import pytest

import mail_settings as ms
from conftest import Servers, message


def test_journal_of_a_collection(servers: Servers, mailbox: str, creds: ms.Credentials, tmp_path: Path) -> None:
    for i in range(3):
        servers.lmtp_deliver(mailbox, message(f"journal {i}", body=f"text {i}\r\n"))
    store = ms.Store(credentials=creds)
    account = store.create_incoming(servers.imap_account(mailbox))
    collector = ms.Collector(store, timeout=20)
    assert collector.check_now(account.id or 0).fetched == 3

    journal = ms.CollectionJournal(store)
    page = journal.page()
    assert (page["total"], page["page"], page["page_size"]) == (3, 1, 30)
    row = page["rows"][0]
    assert row["outcome"] == "stored" and row["folder"] == "INBOX"
    assert row["server_id"].startswith("UID ") and row["size"] > 0
    assert row["account_name"] == account.name
    assert sorted(r["subject"] for r in page["rows"]) == ["journal 0", "journal 1", "journal 2"]
    assert journal.page(account=account.name, outcome="stored", page_size=2)["rows"].__len__() == 2
    assert journal.page(account=account.id or 0, page=2, page_size=2)["total"] == 3
    assert journal.page(outcome="refused")["total"] == 0
    assert journal.page(since="2999-01-01")["total"] == 0
    assert journal.page(until="2001-01-01T00:00:00Z")["total"] == 0
    assert journal.page(since=0, until=4_000_000_000)["total"] == 3
    with pytest.raises(ValueError):
        journal.page(outcome="lost")
    with pytest.raises(ValueError):
        journal.page(since="yesterday")

    csv = journal.csv(lang="pt-BR")
    assert isinstance(csv, str)
    lines = [line for line in csv.split("\r\n") if line]
    assert len(lines) == 4 and lines[0].startswith("ID,Horário,Conta")
    assert journal.csv(tmp_path / "j.csv", bom=True) == 3
    assert (tmp_path / "j.csv").read_bytes().startswith(b"\xef\xbb\xbfID,Time,Account")
    html = journal.html(outcome="stored")
    assert isinstance(html, str) and "<title>Collection journal</title>" in html
    assert html.count("<tr><td") == 3

    runs = journal.runs(account=account.id)
    assert len(runs) == 1 and runs[0]["stored"] == 3 and runs[0]["error_category"] is None
    assert journal.retention_days() == 90


def test_retention_days_in_documents() -> None:
    store = ms.Store()
    doc = ms.SettingsDocument(journal_retention_days=7)
    assert doc.journal_retention_days == 7
    assert '"journal_retention_days": 7' in doc.to_json()
    store.import_document(doc)
    assert ms.CollectionJournal(store).retention_days() == 7
    assert store.export().journal_retention_days == 7
    doc.journal_retention_days = 0
    assert doc.validate().has_errors
    assert [(r.path, r.code) for r in doc.validate().results] == [("journal_retention_days", "out_of_range")]
    with pytest.raises(ms.ValidationError):
        store.import_document(doc)
    doc.journal_retention_days = None
    store.import_document(doc)
    assert ms.CollectionJournal(store).retention_days() == 90
