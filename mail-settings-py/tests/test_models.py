"""Accounts, connectors and validation results: keyword constructors with SPEC.md's names and
defaults, properties, equality, copies, dicts, and validation."""

from __future__ import annotations

import copy
import pickle
from typing import Any, Dict

import pytest

import mail_settings as ms


def test_incoming_defaults_are_specs() -> None:
    a = ms.IncomingAccountForm()
    assert a.id is None and a.version is None
    assert a.name == "" and a.host == ""
    assert a.keep_copy_on_server is True
    assert a.automatic_check is True
    assert a.check_interval_secs == 300
    assert a.enabled is True
    assert a.port is None
    assert a.protocol is None
    assert a.use_network_connector is False
    assert a.network_connector is None
    assert a.credential is None
    assert a.skip_certificate is False
    assert a.use_secure_connection is True
    assert a.secure_connection_type == "SSL"
    assert a.ca_file is None
    assert a.max_message_size == 50 * 1024 * 1024


def test_smtp_defaults_are_specs() -> None:
    s = ms.SmtpAccountForm()
    assert s.enabled is True
    assert s.sender_email == ""
    assert s.reply_to is None and s.return_path is None and s.confirmation_email is None
    assert s.default_account is False
    assert s.send_read_receipt is False
    assert s.force_configuration is False
    assert s.enable_footer is False and s.footer is None
    assert s.port is None
    assert s.use_secure_connection is True
    assert s.secure_connection_type == "SSL"
    assert s.use_authentication is True
    assert s.skip_certificate_errors is False
    assert s.use_network_connector is False and s.network_connector is None
    assert s.credential is None


def test_connector_defaults() -> None:
    c = ms.NetworkConnectorForm()
    assert c.enabled is True
    assert c.kind is None and c.port is None and c.credential is None


@pytest.mark.parametrize(
    "protocol,secure,kind,port",
    [
        ("IMAP", True, "SSL", 993),
        ("IMAP", True, "TLS", 143),
        ("IMAP", False, "SSL", 143),
        ("POP3", True, "SSL", 995),
        ("POP3", True, "TLS", 110),
        ("POP3", False, "TLS", 110),
    ],
)
def test_effective_port_follows_spec_table(protocol: Any, secure: bool, kind: Any, port: int) -> None:
    a = ms.IncomingAccountForm(protocol=protocol, use_secure_connection=secure, secure_connection_type=kind)
    assert a.effective_port == port
    a.port = 2525
    assert a.effective_port == 2525


def test_smtp_effective_port() -> None:
    assert ms.SmtpAccountForm().effective_port == 465
    assert ms.SmtpAccountForm(secure_connection_type="TLS").effective_port == 587
    assert ms.SmtpAccountForm(use_secure_connection=False).effective_port == 587
    assert ms.SmtpAccountForm(port=70000).effective_port is None


def test_properties_read_and_write() -> None:
    a = ms.IncomingAccountForm(name="Helpdesk", protocol="IMAP", host="imap.example.com", credential="hd")
    a.name = "Support"
    a.protocol = "POP3"
    a.port = 995
    a.secure_connection_type = "TLS"
    a.ca_file = "/etc/ssl/extra.pem"
    a.credential = None
    assert (a.name, a.protocol, a.port, a.secure_connection_type) == ("Support", "POP3", 995, "TLS")
    assert a.ca_file == "/etc/ssl/extra.pem"
    assert a.credential is None
    a.protocol = None
    assert a.protocol is None


def test_path_like_ca_file() -> None:
    from pathlib import Path

    a = ms.IncomingAccountForm(ca_file=Path("/tmp/ca.pem"))
    assert a.ca_file == "/tmp/ca.pem"


def test_wrong_types_and_words_are_refused() -> None:
    a = ms.IncomingAccountForm()
    with pytest.raises(TypeError, match="port must be int"):
        a.port = "993"  # type: ignore[assignment]
    with pytest.raises(TypeError, match="enabled must be bool"):
        a.enabled = 1  # type: ignore[assignment]
    with pytest.raises(TypeError, match="check_interval_secs must be int"):
        a.check_interval_secs = True
    with pytest.raises(ValueError, match="'IMAP', 'POP3'"):
        a.protocol = "imap"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="'SSL', 'TLS'"):
        a.secure_connection_type = "STARTTLS"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="SOCKS5"):
        ms.NetworkConnectorForm(kind="SOCKS4")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected keyword argument 'hostname'"):
        ms.IncomingAccountForm(hostname="x")  # type: ignore[call-arg]
    with pytest.raises(AttributeError):
        a.id = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        a.version = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del a.name


def test_out_of_range_values_are_validation_results_not_errors() -> None:
    a = ms.IncomingAccountForm(port=70000, check_interval_secs=5)
    v = a.validate()
    assert v.contains("port", "invalid_port")
    assert v.contains("check_interval_secs", "out_of_range")


def test_equality_copy_and_hash() -> None:
    a = ms.SmtpAccountForm(name="n", host="h", sender_email="a@example.com", credential="c")
    b = ms.SmtpAccountForm(name="n", host="h", sender_email="a@example.com", credential="c")
    assert a == b
    assert not (a != b)
    b.port = 2525
    assert a != b
    assert a != "n"
    c = a.copy()
    assert c == a and c is not a
    c.name = "other"
    assert a.name == "n"
    assert copy.copy(a) == a
    assert copy.deepcopy(a) == a
    with pytest.raises(TypeError):
        hash(a)


@pytest.mark.parametrize("cls", [ms.IncomingAccountForm, ms.SmtpAccountForm, ms.NetworkConnectorForm])
def test_dict_round_trip(cls: Any) -> None:
    obj = cls(id=7, name="x")
    d = obj.to_dict()
    assert d["id"] == 7 and d["name"] == "x"
    assert cls.from_dict(d) == obj
    # every field is in the dict, and the dict is what the constructor takes
    assert cls(**d) == obj


def test_to_dict_has_every_field() -> None:
    d: Dict[str, Any] = ms.IncomingAccountForm().to_dict()
    assert list(d) == [
        "id", "name", "keep_copy_on_server", "automatic_check", "check_interval_secs", "enabled",
        "host", "port", "protocol", "use_network_connector", "network_connector", "credential",
        "skip_certificate", "use_secure_connection", "secure_connection_type", "ca_file",
        "max_message_size", "folders", "archive_folder", "use_push", "authentication",
        "oauth2_client",
    ]


def test_from_dict_takes_documents_shape_and_defaults() -> None:
    a = ms.IncomingAccountForm.from_dict({"name": "Helpdesk", "protocol": "IMAP", "host": "h"})
    assert a.keep_copy_on_server is True and a.check_interval_secs == 300
    with pytest.raises(ms.ParseError, match="unknown field `hots`") as e:
        ms.IncomingAccountForm.from_dict({"hots": "h"})
    assert e.value.format == "dict" and isinstance(e.value, ValueError)
    with pytest.raises(ms.ParseError, match="invalid type"):
        ms.SmtpAccountForm.from_dict({"port": "25"})
    with pytest.raises(TypeError):
        ms.SmtpAccountForm.from_dict([("port", 25)])  # type: ignore[arg-type]


def test_to_json_is_documents_shape() -> None:
    import json

    a = ms.IncomingAccountForm(name="H", protocol="POP3", host="h", credential="c")
    data = json.loads(a.to_json())
    assert data["protocol"] == "POP3" and "id" not in data
    assert ms.IncomingAccountForm.from_dict(data) == a


def test_repr_shows_fields() -> None:
    a = ms.IncomingAccountForm(name="Helpdesk", protocol="IMAP", host="imap.example.com")
    r = repr(a)
    assert r.startswith("IncomingAccountForm(id=None, name='Helpdesk'")
    assert "protocol='IMAP'" in r and "version" not in r


def test_validation_reports_everything_at_once() -> None:
    s = ms.SmtpAccountForm(
        name=" ",
        host="smtp://x",
        sender_email="not-an-address",
        send_read_receipt=True,
        enable_footer=True,
        use_authentication=False,
        credential="c",
        skip_certificate_errors=True,
    )
    v = s.validate()
    codes = {(r.path, r.code) for r in v}
    assert codes == {
        ("name", "required"),
        ("host", "invalid_host"),
        ("sender_email", "invalid_email"),
        ("confirmation_email", "confirmation_email_required"),
        ("footer", "footer_required"),
        ("credential", "credential_not_allowed"),
        ("skip_certificate_errors", "certificate_check_disabled"),
    }
    assert v.has_errors and not v.is_valid
    assert [w.code for w in v.warnings] == ["certificate_check_disabled"]
    assert all(r.severity == "error" for r in v.errors)
    assert len(v) == 7 and v[0] == v.results[0] and v[-1] == v.results[6]
    with pytest.raises(IndexError):
        v[7]
    first = v[0]
    assert first.message and first.message_pt_br and first.message != first.message_pt_br
    assert first.to_dict() == {
        "path": first.path,
        "code": first.code,
        "severity": first.severity,
        "message": first.message,
        "message_pt_br": first.message_pt_br,
    }
    assert v.to_list()[0] == first.to_dict()
    assert "invalid_host" in str(v)


def test_valid_account_has_no_errors_but_may_warn() -> None:
    a = ms.IncomingAccountForm(
        name="H", protocol="IMAP", host="imap.example.com", credential="c", use_secure_connection=False
    )
    v = a.validate()
    assert v.is_valid and not v.has_errors
    assert [r.code for r in v] == ["cleartext_credentials"]
    assert str(ms.IncomingAccountForm(name="H", protocol="IMAP", host="h", credential="c").validate()) == "no problems"


def test_validate_against_connectors_and_credentials() -> None:
    proxy = ms.NetworkConnectorForm(id=4, name="p", kind="SOCKS5", host="10.0.0.1", port=1080, enabled=False)
    a = ms.IncomingAccountForm(
        name="H", protocol="IMAP", host="h", credential="nope", use_network_connector=True, network_connector=4
    )
    creds = ms.Credentials({"yes": ("u", "p")})
    v = a.validate(connectors=[proxy], credentials=creds)
    assert v.contains("network_connector", "network_connector_disabled")
    assert v.contains("credential", "unknown_credential")
    assert a.validate(connectors=[]).contains("network_connector", "unknown_network_connector")
    # without a list, connector existence is not checked
    assert not a.validate().has_errors
    bad = ms.NetworkConnectorForm(name="", host="x y")
    assert {r.code for r in bad.validate()} == {"required", "invalid_host"}
    assert bad.validate(credentials=creds).contains("kind", "required")


def test_validation_result_equality_and_pickling_of_errors() -> None:
    v1 = ms.IncomingAccountForm().validate()
    v2 = ms.IncomingAccountForm().validate()
    assert v1 == v2 and v1[0] == v2[0]
    e = ms.ValidationError("invalid", results=list(v1))
    e2 = pickle.loads(pickle.dumps(ms.ConflictError("c", kind="k", id=1, expected_version=2, found_version=3)))
    assert e2.found_version == 3 and e2.category == "conflict" and str(e2) == "c"
    assert [d["code"] for d in e.errors()] == [r.code for r in v1]


def test_folders_archive_and_push_fields() -> None:
    a = ms.IncomingAccount(name="Help desk", host="imap.example.com", protocol="IMAP", credential="c")
    assert a.folders == ["INBOX"] and a.archive_folder is None and a.use_push is True
    a.folders = ["INBOX", "Support/Tier 2", "Atendimento/São Paulo"]
    a.archive_folder = "Arquivo"
    a.keep_copy_on_server = False
    a.use_push = False
    assert not a.validate()
    b = ms.IncomingAccount.from_dict(a.to_dict())
    assert b == a and b.folders[2] == "Atendimento/São Paulo"
    a.keep_copy_on_server = True
    assert [(r.path, r.code, r.severity) for r in a.validate()] == [("archive_folder", "archive_folder_unused", "warning")]
    a.folders = ["INBOX", "inbox"]
    assert [r.code for r in a.validate().errors] == ["invalid_folder"]
    pop = ms.IncomingAccount(name="p", host="pop.example.com", protocol="POP3", credential="c",
                             folders=["Other"], archive_folder="Archive")
    assert [r.code for r in pop.validate().errors] == ["folders_not_allowed", "archive_folder_not_allowed"]
    with pytest.raises(TypeError):
        ms.IncomingAccount(folders="INBOX")
