"""The settings store: create/read/update/delete with versions, conflicts, refusals, documents
in and out, reports with filters and paging, CSV and HTML exports."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path
from typing import List

import pytest

import mail_settings as ms


def incoming(name: str, **kw: object) -> ms.IncomingAccountForm:
    fields = dict(name=name, protocol="IMAP", host="imap.example.com", credential="c")
    fields.update(kw)
    return ms.IncomingAccountForm(**fields)  # type: ignore[arg-type]


def smtp(name: str, **kw: object) -> ms.SmtpAccountForm:
    fields = dict(name=name, host="smtp.example.com", sender_email="n@example.com", credential="c")
    fields.update(kw)
    return ms.SmtpAccountForm(**fields)  # type: ignore[arg-type]


def test_crud_with_versions(tmp_path: Path) -> None:
    store = ms.Store(tmp_path / "settings.db")
    assert store.path == str(tmp_path / "settings.db")
    assert store.schema_version >= 1
    a = store.create_incoming(incoming("Helpdesk"))
    assert a.id is not None and a.version is not None
    assert store.get_incoming(a.id) == a
    a.port = 995
    b = store.update_incoming(a)
    assert b.port == 995 and b.version != a.version
    assert [x.id for x in store.list_incoming()] == [a.id]
    assert b.version is not None
    store.delete_incoming(a.id, b.version)
    assert store.list_incoming() == []
    # reopening the file finds what was stored
    store.create_smtp(smtp("Notify"))
    again = ms.Store.open(str(tmp_path / "settings.db"))
    assert [s.name for s in again.list_smtp()] == ["Notify"]
    assert "settings.db" in repr(again)
    assert repr(ms.Store.in_memory()) == "Store(<in memory>)"


def test_conflict_on_stale_update_and_delete() -> None:
    store = ms.Store()
    first = store.create_smtp(smtp("Notify"))
    mine, theirs = store.get_smtp(first.id or 0), store.get_smtp(first.id or 0)
    theirs.footer = "x"
    store.update_smtp(theirs)
    mine.port = 2525
    with pytest.raises(ms.ConflictError) as e:
        store.update_smtp(mine)
    assert e.value.kind == "SMTP account" and e.value.id == first.id
    assert e.value.expected_version == mine.version and e.value.found_version != mine.version
    assert e.value.category == "conflict"
    with pytest.raises(ms.ConflictError):
        store.delete_smtp(first.id or 0, mine.version or 0)
    with pytest.raises(ValueError, match="did not come from the store"):
        store.update_smtp(smtp("never stored"))


def test_not_found() -> None:
    store = ms.Store()
    with pytest.raises(ms.NotFoundError) as e:
        store.get_incoming(41)
    assert e.value.id == 41 and e.value.kind == "incoming account"
    assert isinstance(e.value, LookupError)
    with pytest.raises(ms.NotFoundError):
        store.delete_connector(3, 1)
    with pytest.raises(ms.NotFoundError) as by_name:
        store.check_incoming("no such account")
    assert by_name.value.name == "no such account"


def test_invalid_accounts_are_refused_with_every_result() -> None:
    store = ms.Store()
    store.create_incoming(incoming("Helpdesk"))
    with pytest.raises(ms.ValidationError) as e:
        store.create_incoming(ms.IncomingAccountForm(name=" helpdesk ", host="bad host", port=0))
    codes = {(d["path"], d["code"]) for d in e.value.errors()}
    assert {("name", "duplicate_name"), ("host", "invalid_host"), ("port", "invalid_port"),
            ("protocol", "required"), ("credential", "credential_required")} <= codes
    assert isinstance(e.value, ValueError)
    assert all(isinstance(r, ms.ValidationResult) for r in e.value.results)
    assert "invalid settings" in str(e.value)


def test_unknown_credentials_are_checked_by_the_stores_provider() -> None:
    store = ms.Store(credentials=ms.Credentials({"c": ("u", "p")}))
    store.create_incoming(incoming("ok"))
    with pytest.raises(ms.ValidationError) as e:
        store.create_incoming(incoming("nope", credential="missing"))
    assert [d["code"] for d in e.value.errors()] == ["unknown_credential"]


def test_connectors_in_use_cannot_go() -> None:
    store = ms.Store()
    c = store.create_connector(ms.NetworkConnectorForm(name="p", kind="HTTP_CONNECT", host="10.0.0.1", port=3128))
    store.create_incoming(incoming("via proxy", use_network_connector=True, network_connector=c.id))
    with pytest.raises(ms.InUseError) as e:
        store.delete_connector(c.id or 0, c.version or 0)
    assert e.value.used_by == ['incoming account 1 "via proxy"']
    assert isinstance(e.value, ms.ConflictError)
    c.enabled = False
    with pytest.raises(ms.InUseError):
        store.update_connector(c)
    assert store.get_connector(c.id or 0).enabled is True
    assert len(store.list_connectors()) == 1


def test_default_smtp_account_moves() -> None:
    store = ms.Store()
    a = store.create_smtp(smtp("a", default_account=True))
    store.create_smtp(smtp("b", default_account=True))
    assert [s.default_account for s in store.list_smtp()] == [False, True]
    assert store.get_smtp(a.id or 0).version != a.version


def test_export_and_import() -> None:
    store = ms.Store()
    store.create_connector(ms.NetworkConnectorForm(name="p", kind="SOCKS5", host="10.0.0.1", port=1080))
    store.create_incoming(incoming("A"))
    store.create_smtp(smtp("S"))
    doc = store.export_document()
    assert [a.name for a in doc.incoming_accounts] == ["A"]
    other = ms.Store()
    assert other.import_document(doc) == {"created": 3, "updated": 0, "unchanged": 0, "deleted": 0}
    assert other.export_document() == doc
    doc.incoming_accounts = []
    doc.smtp_accounts[0].port = 2525
    assert other.import_document(doc) == {"created": 0, "updated": 1, "unchanged": 1, "deleted": 1}
    doc.smtp_accounts[0].sender_email = "broken"
    with pytest.raises(ms.ValidationError) as e:
        other.import_document(doc)
    assert e.value.errors()[0]["path"] == "smtp_accounts[0].sender_email"
    assert other.export_document().smtp_accounts[0].port == 2525  # all or nothing


def test_damaged_file_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ms.StorageError) as e:
        ms.Store(path)
    assert e.value.category == "storage"
    assert path.read_bytes() == b"this is not a database" * 100


def make_report_store() -> ms.Store:
    store = ms.Store()
    for i in range(75):
        store.create_incoming(
            incoming(
                f"Account {i:02}",
                protocol="POP3" if i % 3 == 0 else "IMAP",
                use_secure_connection=i % 2 == 0,
                automatic_check=i % 5 != 0,
                keep_copy_on_server=i % 4 != 0,
                enabled=i % 7 != 0,
            )
        )
    for i in range(5):
        store.create_smtp(smtp(f"Mail {i}", use_authentication=i != 1, credential=None if i == 1 else "c",
                               default_account=i == 2, enabled=i != 3))
    return store


def test_incoming_report_paging_and_filters() -> None:
    store = make_report_store()
    first = store.incoming_report()
    assert (first.page, first.page_size, first.total, first.page_count, len(first)) == (1, 30, 75, 3, 30)
    third = store.incoming_report(page=3)
    assert len(third) == 15 and third[0].name == "Account 60" and third[-1].name == "Account 74"
    assert len(store.incoming_report(page=4)) == 0
    row = first[0]
    assert isinstance(row, ms.IncomingReportRow)
    assert (row.name, row.protocol, row.port, row.secure_connection, row.connection_type) == (
        "Account 00", "POP3", 995, True, "SSL")
    assert first[1].port == 143 and first[1].connection_type is None
    secure = store.incoming_report(secure_connection=True, page_size=100)
    assert secure.total == 38 and all(r.secure_connection for r in secure)
    combined = store.incoming_report(name_contains="account 1", keep_copy=False, status="enabled")
    assert [r.name for r in combined] == ["Account 12", "Account 16"]
    assert store.incoming_report(automatic_check=False).total == 15
    assert store.incoming_report(status="disabled").total == 11
    with pytest.raises(ValueError, match="status"):
        store.incoming_report(status="on")  # type: ignore[arg-type]
    d = first.to_dict()
    assert d["total"] == 75 and d["rows"][0]["name"] == "Account 00"
    assert row.to_dict()["protocol"] == "POP3"
    text = first.to_text()
    assert text.splitlines()[0].startswith("ID") and "Page 1 of 3 (75 rows)" in text
    assert "Página 1 de 3" in first.to_text("pt-BR")
    assert [r.name for r in first][:2] == ["Account 00", "Account 01"]


def test_smtp_report() -> None:
    store = make_report_store()
    page = store.smtp_report()
    assert page.total == 5
    assert [r.name for r in store.smtp_report(authentication=False)] == ["Mail 1"]
    assert [r.name for r in store.smtp_report(default_account=True)] == ["Mail 2"]
    assert [r.name for r in store.smtp_report(status="disabled")] == ["Mail 3"]
    r = page[0]
    assert isinstance(r, ms.SmtpReportRow)
    assert (r.sender, r.host, r.port, r.authentication) == ("n@example.com", "smtp.example.com", 465, True)


def test_csv_and_html_exports(tmp_path: Path) -> None:
    store = make_report_store()
    store.create_incoming(incoming("=HYPERLINK(\"http://evil\")<b>"))
    text = store.incoming_csv()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["ID", "Name", "Secure connection"]
    assert len(rows) == 77
    assert rows[-1][1].startswith("'=")  # formula neutralised
    assert text.count("\r\n") == 77
    assert store.incoming_csv(tmp_path / "r.csv", lang="pt-BR", keep_copy=False) == 19
    assert (tmp_path / "r.csv").read_text(encoding="utf-8").startswith("ID,Nome")
    buf = io.BytesIO()
    assert store.smtp_csv(buf, authentication=True) == 4
    assert buf.getvalue().decode().count("\r\n") == 5
    html = store.incoming_html(name_contains="hyperlink")
    assert html.startswith("<!DOCTYPE html>") and "&lt;b&gt;" in html and "<b>" not in html
    assert store.smtp_html(str(tmp_path / "s.html"), lang="pt-BR") == 5
    assert 'lang="pt-BR"' in (tmp_path / "s.html").read_text()
    with pytest.raises(ValueError, match="lang"):
        store.smtp_csv(lang="fr")  # type: ignore[call-overload]
    with pytest.raises(ms.StorageError):
        store.smtp_csv(tmp_path / "no-such-dir" / "x.csv")


def test_csv_byte_order_mark_only_when_asked(tmp_path: Path) -> None:
    store = ms.Store()
    store.create_incoming(incoming("Conexão São Paulo"))
    store.create_smtp(smtp("Notificações"))
    bom = b"\xef\xbb\xbf"

    assert store.incoming_csv(tmp_path / "plain.csv", lang="pt-BR") == 1
    plain = (tmp_path / "plain.csv").read_bytes()
    assert plain.startswith("ID,Nome,Conexão segura".encode())
    assert store.incoming_csv(tmp_path / "excel.csv", lang="pt-BR", bom=True) == 1
    excel = (tmp_path / "excel.csv").read_bytes()
    assert excel[:3] == bom
    assert excel[3:] == plain
    assert store.incoming_csv(tmp_path / "off.csv", lang="pt-BR", bom=False) == 1
    assert (tmp_path / "off.csv").read_bytes() == plain

    buf = io.BytesIO()
    assert store.smtp_csv(buf, lang="pt-BR", bom=True) == 1
    assert buf.getvalue()[:3] == bom
    assert buf.getvalue()[3:] == store.smtp_csv(lang="pt-BR").encode()
    assert not store.smtp_csv().startswith("\ufeff")
    text = store.incoming_csv(bom=True)
    assert text.startswith("\ufeffID,Name,") and text.count("\ufeff") == 1
    assert "Conexão São Paulo" in text


def test_store_is_shared_between_threads(tmp_path: Path) -> None:
    store = ms.Store(tmp_path / "threads.db")
    errors: List[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                store.create_incoming(incoming(f"t{n}-{i}"))
                store.incoming_report(name_contains=f"t{n}-")
        except BaseException as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.incoming_report().total == 80
