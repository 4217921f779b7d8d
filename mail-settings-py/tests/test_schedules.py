"""Report schedules from Python: the record as a dict (validation codes, defaults), the store
(CRUD, versions, references), and sending through the local Postfix once per period."""

from __future__ import annotations

import pytest

import mail_settings as ms
from conftest import Servers


def daily(name: str, to: str, **extra: object) -> dict:
    d = {"name": name, "report": "INCOMING_ACCOUNTS", "recipients": [to], "frequency": "DAILY"}
    d.update(extra)
    return d


def test_validation_codes_and_defaults() -> None:
    v = ms.validate_schedule(
        {"name": "", "recipients": [], "time_of_day": "24:00", "time_zone": "Mars/Base", "day_of_month": 31}
    )
    codes = {(r.path, r.code) for r in v.results}
    assert ("name", "required") in codes and ("report", "required") in codes
    assert ("recipients", "required") in codes and ("frequency", "required") in codes
    assert ("time_of_day", "invalid_time") in codes and ("time_zone", "invalid_time_zone") in codes
    assert ("day_of_month", "out_of_range") in codes
    off = ms.SmtpAccountForm(id=3, name="off", host="h.example", sender_email="a@example.com", credential="c", enabled=False)
    v = ms.validate_schedule(daily("x", "a@example.com", smtp_account=3), [off])
    assert [(r.path, r.code) for r in v.results] == [("smtp_account", "smtp_account_disabled")]
    assert ms.validate_schedule(daily("x", "a@example.com", smtp_account=4), [off]).has_errors
    with pytest.raises(ms.ParseError):
        ms.validate_schedule({"name": "x", "hour": 3})


def test_store_crud_versions_and_references() -> None:
    store = ms.Store()
    schedules = ms.ReportSchedules(store)
    s = schedules.create(daily("Diário", "ops@example.com", time_zone="America/Sao_Paulo"))
    assert s["id"] and s["version"] and s["time_of_day"] == "08:00" and s["format"] == "CSV"
    assert schedules.get("diário") == s and schedules.list() == [s]
    with pytest.raises(ms.ValidationError):
        schedules.create(daily("DIÁRIO", "ops@example.com"))
    with pytest.raises(ms.ValidationError):
        schedules.create(daily("other", "ops@example.com", smtp_account=99))
    changed = schedules.update(s["id"], s["version"], dict(s, time_of_day="07:30"))
    assert changed["time_of_day"] == "07:30"
    with pytest.raises(ms.ConflictError):
        schedules.update(s["id"], s["version"], s)
    account = store.create_smtp(ms.SmtpAccountForm(name="n", host="h.example", sender_email="a@example.com", credential="c"))
    used = schedules.create(daily("uses n", "ops@example.com", smtp_account=account.id))
    with pytest.raises(ms.InUseError):
        store.delete_smtp(account.id or 0, account.version or 0)
    # Documents carry the schedules: export then import changes nothing.
    doc = store.export_document()
    assert [d["name"] for d in doc.report_schedules] == ["Diário", "uses n"]
    assert ms.SettingsDocument.from_json(doc.to_json()).report_schedules == doc.report_schedules
    assert store.import_document(doc)["unchanged"] == 3
    assert len(schedules.list()) == 2
    schedules.delete(used["id"], used["version"])
    schedules.delete(changed["id"], changed["version"])
    assert schedules.list() == []


def test_run_due_sends_once_and_run_now_again(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    store = ms.Store(credentials=creds)
    store.create_smtp(servers.smtp_account(mailbox, default_account=True))
    store.create_incoming(servers.imap_account(mailbox))
    schedules = ms.ReportSchedules(store)
    # 00:00 UTC has always passed today: due at once.
    s = schedules.create(daily("Daily", mailbox, time_of_day="00:00", format="HTML", language="pt-BR"))
    out = schedules.run_due(timeout=20)
    assert [o["result"]["status"] for o in out] == ["sent"]
    assert out[0]["result"]["rows"] == 1
    assert schedules.run_due(timeout=20) == []
    [period] = schedules.periods(s["id"])
    assert period["status"] == "sent" and period["attempts"] == 1
    now = schedules.run_now("Daily", timeout=20)
    assert now["result"]["status"] == "sent" and now["period"] is None
    assert len(schedules.periods("Daily")) == 1
    servers.wait_for_mail(mailbox, 2)
    account = store.list_incoming()[0]
    ms.Collector(store, timeout=20).check_now(account.id or 0)
    subjects = [m.subject for m in store.inbox.list()]
    assert subjects == ["Configuração IMAP/POP3 — Daily"] * 2
    journal = schedules.create(daily("Journal", mailbox, report="COLLECTION_JOURNAL"))
    sent = schedules.run_now(journal["id"], timeout=20)
    # The collection journal of the period: the two reports just collected.
    assert sent["result"]["status"] == "sent" and sent["result"]["rows"] == 2


def test_the_inbox_report_exports_like_the_account_reports(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    ms.send_test(servers.smtp_account(mailbox), mailbox, subject="=1+1 chamado", credentials=creds, timeout=20)
    servers.wait_for_mail(mailbox, 1)
    store = ms.Store(credentials=creds)
    account = store.create_incoming(servers.imap_account(mailbox))
    ms.Collector(store, timeout=20).check_now(account.id or 0)
    text = store.inbox.csv(lang="pt-BR", bom=True, account=account.id)
    assert text.startswith("\ufeffID,Conta,Data,De,Assunto,Tamanho,Anexos,Lida\r\n")
    assert ",'=1+1 chamado," in text and text.count("\r\n") == 2
    page = store.inbox.html(account=account.id)
    assert "<h1>Inbox</h1>" in page and "Rows: 1" in page
