"""Settings documents from and to JSON/TOML strings, files and dicts; validation across
records; parse errors with line and column."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import mail_settings as ms

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "settings" / "helpdesk.json"

DOC = """{
  "version": 1,
  "network_connectors": [
    {"id": 1, "name": "dc-east", "kind": "SOCKS5", "host": "10.0.0.5", "port": 1080, "credential": "proxy-east"}
  ],
  "incoming_accounts": [
    {"id": 1, "name": "Helpdesk", "protocol": "IMAP", "host": "imap.example.com",
     "credential": "helpdesk-mailbox", "keep_copy_on_server": false,
     "use_network_connector": true, "network_connector": 1}
  ],
  "smtp_accounts": [
    {"id": 1, "name": "Notifications", "host": "smtp.example.com",
     "sender_email": "noreply@example.com", "credential": "smtp-notify", "default_account": true}
  ]
}"""


def test_parse_json_and_read_fields() -> None:
    doc = ms.SettingsDocument.from_json(DOC)
    assert ms.SettingsDocument.VERSION == 1
    [c] = doc.network_connectors
    [a] = doc.incoming_accounts
    [s] = doc.smtp_accounts
    assert (c.kind, c.port) == ("SOCKS5", 1080)
    assert (a.name, a.keep_copy_on_server, a.check_interval_secs) == ("Helpdesk", False, 300)
    assert s.default_account is True
    assert not doc.validate().has_errors
    assert repr(doc) == "SettingsDocument(network_connectors=<1>, incoming_accounts=<1>, smtp_accounts=<1>)"


def test_document_holds_the_objects_themselves() -> None:
    doc = ms.SettingsDocument.from_json(DOC)
    doc.incoming_accounts[0].port = 70000
    assert doc.validate().contains("incoming_accounts[0].port", "invalid_port")
    extra = ms.SmtpAccountForm(name="notifications", host="h", sender_email="x@example.com", credential="c")
    doc.smtp_accounts = [*doc.smtp_accounts, extra]
    v = doc.validate()
    assert v.contains("smtp_accounts[1].name", "duplicate_name")
    with pytest.raises(TypeError, match="SmtpAccountForm"):
        doc.smtp_accounts = [ms.IncomingAccountForm()]  # type: ignore[list-item]


def test_json_toml_dict_round_trips(tmp_path: Path) -> None:
    doc = ms.SettingsDocument.from_json(DOC)
    assert ms.SettingsDocument.from_json(doc.to_json()) == doc
    assert ms.SettingsDocument.from_toml(doc.to_toml()) == doc
    assert ms.SettingsDocument.from_dict(doc.to_dict()) == doc
    assert ms.SettingsDocument.from_dict(json.loads(DOC)) == doc
    for name in ("settings.json", "settings.toml"):
        path = tmp_path / name
        doc.save(path)
        text = path.read_text()
        assert text.lstrip().startswith("{") == name.endswith(".json")
        assert ms.SettingsDocument.load(path) == doc
    odd = tmp_path / "settings.conf"
    doc.save(str(odd), format="toml")
    assert ms.SettingsDocument.load(odd, format="toml") == doc
    with pytest.raises(ValueError, match="format"):
        doc.save(odd, format="yaml")  # type: ignore[arg-type]


def test_documents_never_hold_secrets() -> None:
    doc = ms.SettingsDocument.from_json(DOC)
    for text in (doc.to_json(), doc.to_toml(), repr(doc.to_dict())):
        assert "password" not in text


def test_example_document_loads_with_its_warning() -> None:
    doc = ms.SettingsDocument.load(EXAMPLE)
    v = doc.validate()
    assert not v.has_errors
    assert [r.code for r in v.warnings] == ["cleartext_credentials"]


def test_parse_errors_have_line_and_column() -> None:
    text = '{\n  "version": 1,\n  "incoming_accounts": [{"name": "x", "hots": "h"}]\n}'
    with pytest.raises(ms.ParseError) as e:
        ms.SettingsDocument.from_json(text)
    assert e.value.format == "json" and e.value.line == 3 and e.value.column > 1
    assert "hots" in str(e.value) and e.value.category == "parse"
    assert isinstance(e.value, ValueError) and isinstance(e.value, ms.MailSettingsError)
    with pytest.raises(ms.ParseError) as t:
        ms.SettingsDocument.from_toml('version = 1\n\n[[smtp_accounts]]\nport = "x"\n')
    assert t.value.format == "toml" and t.value.line == 4
    with pytest.raises(ms.ParseError, match="unsupported version 2"):
        ms.SettingsDocument.from_json('{"version": 2}')
    with pytest.raises(ms.ParseError, match="unknown field"):
        ms.SettingsDocument.from_dict({"version": 1, "extra": []})


def test_broken_example_lists_every_mistake() -> None:
    v = ms.SettingsDocument.load(REPO / "examples" / "settings" / "broken.toml").validate()
    assert v.contains("incoming_accounts[0].host", "invalid_host")
    assert v.contains("incoming_accounts[0].port", "invalid_port")
    assert v.contains("incoming_accounts[0].check_interval_secs", "out_of_range")
    assert v.contains("smtp_accounts[0].sender_email", "invalid_email")
    assert v.contains("smtp_accounts[1].name", "duplicate_name")
    assert len(v.errors) >= 8


def test_missing_file_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ms.SettingsDocument.load(tmp_path / "nope.json")


def test_byte_order_mark_and_fifo(tmp_path: Path) -> None:
    with_bom = tmp_path / "bom.json"
    with_bom.write_text("\ufeff" + '{"version": 1}', encoding="utf-8")
    assert ms.SettingsDocument.load(with_bom).to_dict()["version"] == 1
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="FIFO"):
        ms.SettingsDocument.load(fifo)


def test_control_characters_are_invalid_characters() -> None:
    doc = ms.SettingsDocument.from_json(
        '{"version": 1, "incoming_accounts": [{"name": "Desk\\u001b[2J", "host": "imap.example.com",'
        ' "protocol": "IMAP", "credential": "a\\r\\nb"}]}'
    )
    v = doc.validate()
    assert v.contains("incoming_accounts[0].name", "invalid_characters")
    assert v.contains("incoming_accounts[0].credential", "invalid_characters")
    r = next(r for r in v.errors if r.code == "invalid_characters")
    assert "control characters" in r.message and "caracteres de controle" in r.message_pt_br


def test_document_validation_with_credentials() -> None:
    doc = ms.SettingsDocument.from_json(DOC)
    creds = ms.Credentials({"helpdesk-mailbox": ("u", "p"), "proxy-east": ("p", "q")})
    v = doc.validate(credentials=creds)
    assert [(r.path, r.code) for r in v.errors] == [("smtp_accounts[0].credential", "unknown_credential")]


def test_constructed_document() -> None:
    a = ms.IncomingAccountForm(name="A", protocol="IMAP", host="h", credential="c")
    b = ms.IncomingAccountForm(name="a", protocol="POP3", host="h", credential="c")
    s1 = ms.SmtpAccountForm(name="s1", host="h", sender_email="a@b.example", credential="c", default_account=True)
    s2 = ms.SmtpAccountForm(name="s2", host="h", sender_email="a@b.example", credential="c", default_account=True)
    doc = ms.SettingsDocument(incoming_accounts=[a, b], smtp_accounts=(s1, s2))
    v = doc.validate()
    assert v.contains("incoming_accounts[1].name", "duplicate_name")
    assert v.contains("smtp_accounts[0].default_account", "multiple_default_accounts")
    assert v.contains("smtp_accounts[1].default_account", "multiple_default_accounts")
    assert ms.SettingsDocument().to_dict() == {
        "version": 1,
        "network_connectors": [],
        "incoming_accounts": [],
        "smtp_accounts": [],
    }
