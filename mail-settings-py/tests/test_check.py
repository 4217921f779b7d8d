"""Connection checks against the real local servers: every stage, the report objects, and the
exception each failure raises through ``raise_for_failure``."""

from __future__ import annotations

import json
import socket
from typing import Type

import pytest

import mail_settings as ms
from conftest import Servers


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def test_imap_check_passes(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    servers.lmtp_deliver(mailbox, b"Subject: one\r\n\r\nbody\r\n")
    report = ms.check_incoming(servers.imap_account(mailbox), credentials=creds, timeout=20)
    assert report.ok and bool(report)
    assert report.failure is None
    assert [s.name for s in report.stages] == [
        "resolve", "connect", "tls", "greeting", "capabilities", "mechanisms", "authentication", "folders", "mailbox",
    ]
    assert all(s.ok and s.duration_ms >= 0 and s.category is None for s in report.stages)
    assert report.protocol == "IMAP" and report.security == "implicit_tls" and report.route == "direct"
    assert report.server == f"localhost:{servers.port('MS_IMAPS_PORT')}"
    assert report.mailbox is not None and report.mailbox["messages"] == 1
    assert report.tls is not None and report.tls["verified"] is True
    assert "IMAP4REV1" in report.capabilities and report.mechanisms
    report.raise_for_failure()  # nothing to raise
    data = report.to_dict()
    assert data["ok"] is True and data["stages"][0]["name"] == "resolve"
    assert json.loads(report.to_json()) == data
    assert "check passed" in str(report)
    assert repr(report).startswith("CheckReport(protocol='IMAP'")


def test_pop3_starttls_check(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    account = servers.imap_account(
        mailbox, protocol="POP3", port=servers.port("MS_POP3_PORT"), secure_connection_type="TLS"
    )
    report = ms.check_incoming(account, credentials=creds, timeout=20)
    assert report.ok, str(report)
    assert report.security == "start_tls" and report.protocol == "POP3"
    assert report.mailbox == {"messages": 0, "size": 0}


def test_smtp_check_passes(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    report = ms.check_smtp(servers.smtp_account(mailbox), credentials=creds, timeout=20)
    assert report.ok, str(report)
    assert report.stages[-1].name == "extensions"
    assert report.size_limit is not None
    assert "8BITMIME" in report.capabilities
    assert any(c.startswith("AUTH ") and "PLAIN" in c for c in report.capabilities)


def test_skip_certificate_passes_unverified(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    account = servers.imap_account(
        mailbox, port=servers.port("MS_IMAPS_SELFSIGNED_PORT"), skip_certificate=True, ca_file=None
    )
    report = ms.check_incoming(account, credentials=creds, timeout=20)
    assert report.ok and report.tls is not None and report.tls["verified"] is False


@pytest.mark.parametrize(
    "port_key,exc,category",
    [
        ("MS_IMAPS_SELFSIGNED_PORT", ms.CertificateError, "certificate"),
        ("MS_IMAPS_EXPIRED_PORT", ms.CertificateError, "certificate"),
        ("MS_IMAPS_WRONGHOST_PORT", ms.CertificateError, "certificate"),
    ],
)
def test_bad_certificates(
    servers: Servers, mailbox: str, creds: ms.Credentials, port_key: str, exc: Type[Exception], category: str
) -> None:
    report = ms.check_incoming(servers.imap_account(mailbox, port=servers.port(port_key)), credentials=creds, timeout=20)
    assert not report.ok
    assert report.failure is not None and report.failure.name == "tls"
    assert report.failure.category == category and report.failure.advice
    with pytest.raises(exc) as e:
        report.raise_for_failure()
    assert isinstance(e.value, ms.TlsError) and isinstance(e.value, ms.ConnectionError)
    assert e.value.category == category and "tls stage" in str(e.value)


def test_starttls_not_offered_is_tls_error(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    account = servers.imap_account(mailbox, port=servers.port("MS_IMAP_NOTLS_PORT"), secure_connection_type="TLS")
    report = ms.check_incoming(account, credentials=creds, timeout=20)
    assert report.failure is not None and report.failure.category == "tls"
    with pytest.raises(ms.TlsError) as e:
        report.raise_for_failure()
    assert not isinstance(e.value, ms.CertificateError)


def test_wrong_password_is_auth_error(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    report = ms.check_incoming(servers.imap_account(mailbox, credential="wrong-password"), credentials=creds, timeout=20)
    assert report.failure is not None and report.failure.name == "authentication"
    with pytest.raises(ms.AuthError) as e:
        report.raise_for_failure()
    assert e.value.category == "auth" and e.value.hop is None
    assert e.value.reply_code is None  # IMAP has no reply codes
    smtp = ms.check_smtp(servers.smtp_account(mailbox, credential="wrong-password"), credentials=creds, timeout=20)
    failure = smtp.failure
    assert failure is not None and failure.name == "authentication"
    # Postfix's refusal, kept by the report as by the exception it raises.
    assert failure.reply_code == 535 and failure.enhanced_code == "5.7.8"
    assert failure.to_dict()["reply_code"] == 535
    with pytest.raises(ms.AuthError) as smtp_e:
        smtp.raise_for_failure()
    assert smtp_e.value.reply_code == 535 and smtp_e.value.is_permanent


def test_closed_port_is_connect_error(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    report = ms.check_incoming(servers.imap_account(mailbox, port=closed_port()), credentials=creds, timeout=20)
    assert report.failure is not None and report.failure.name == "connect"
    with pytest.raises(ms.ConnectError):
        report.raise_for_failure()


def test_through_socks5_with_auth(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    proxy = ms.NetworkConnectorForm(id=1, name="socks", kind="SOCKS5", host="127.0.0.1",
                                port=servers.port("MS_SOCKS5_AUTH_PORT"), credential="proxy")
    account = servers.imap_account(mailbox, use_network_connector=True, network_connector=1)
    report = ms.check_incoming(account, credentials=creds, connectors=[proxy], timeout=20)
    assert report.ok, str(report)
    assert "proxy" in [s.name for s in report.stages] and "socks" in report.route


@pytest.mark.parametrize(
    "kind,port_key,credential,target,hop",
    [
        ("SOCKS5", "MS_SOCKS5_PORT", None, "MS_PROXY_BLOCKED_PORT", "proxy_refused"),
        ("HTTP_CONNECT", "MS_HTTP_PROXY_PORT", None, "MS_PROXY_BLOCKED_PORT", "proxy_refused"),
        ("SOCKS5", "MS_SOCKS5_AUTH_PORT", "wrong-proxy", "MS_IMAPS_PORT", "proxy_auth"),
        ("HTTP_CONNECT", "MS_HTTP_PROXY_AUTH_PORT", "wrong-proxy", "MS_IMAPS_PORT", "proxy_auth"),
    ],
)
def test_proxy_failures_name_the_hop(
    servers: Servers, mailbox: str, creds: ms.Credentials, kind: str, port_key: str,
    credential: str, target: str, hop: str,
) -> None:
    proxy = ms.NetworkConnectorForm(id=2, name="p", kind=kind, host="127.0.0.1",  # type: ignore[arg-type]
                                port=servers.port(port_key), credential=credential)
    account = servers.imap_account(mailbox, port=servers.port(target), use_network_connector=True, network_connector=2)
    report = ms.check_incoming(account, credentials=creds, connectors=[proxy], timeout=20)
    assert report.failure is not None and report.failure.hop == hop
    with pytest.raises(ms.ProxyError) as e:
        report.raise_for_failure()
    assert e.value.hop == hop and e.value.category == "proxy"


def test_proxy_unreachable(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    proxy = ms.NetworkConnectorForm(id=3, name="gone", kind="SOCKS5", host="127.0.0.1", port=closed_port())
    account = servers.imap_account(mailbox, use_network_connector=True, network_connector=3)
    report = ms.check_incoming(account, credentials=creds, connectors=[proxy], timeout=20)
    with pytest.raises(ms.ProxyError) as e:
        report.raise_for_failure()
    assert e.value.hop == "proxy_unreachable"


def test_invalid_account_raises_before_any_connection(servers: Servers) -> None:
    with pytest.raises(ms.ValidationError) as e:
        ms.check_incoming(ms.IncomingAccountForm(name="x", host="bad host"))
    assert {d["code"] for d in e.value.errors()} >= {"invalid_host", "required", "credential_required"}
    account = servers.imap_account("a@example.test", use_network_connector=True, network_connector=9)
    with pytest.raises(ms.ValidationError) as missing:
        ms.check_incoming(account, connectors=[])
    assert missing.value.errors()[0]["code"] == "unknown_network_connector"


def test_store_checks_by_id_name_and_default(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    store = ms.Store(credentials=creds)
    a = store.create_incoming(servers.imap_account(mailbox, name="Helpdesk"))
    store.create_smtp(servers.smtp_account(mailbox, name="Notify", default_account=True))
    assert store.check_incoming(a.id or 0, timeout=20).ok
    assert store.check_incoming("helpdesk", timeout=20).account == "Helpdesk"
    assert store.check_smtp(timeout=20).ok
    assert store.check_smtp("Notify", timeout=20).ok
    other = ms.Credentials({mailbox: (mailbox, "wrong")})
    with pytest.raises(ms.AuthError):
        store.check_incoming(a.id or 0, credentials=other, timeout=20).raise_for_failure()


def test_imap_check_lists_folders_and_names_a_missing_archive(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    servers.lmtp_deliver(mailbox, b"Subject: one\r\n\r\nbody\r\n")
    account = servers.imap_account(mailbox, keep_copy_on_server=False, archive_folder="Arquivo/Concluídos")
    report = ms.check_incoming(account, credentials=creds, timeout=20)
    assert not report.ok
    assert report.failure is not None and report.failure.name == "folders"
    assert 'archive folder "Arquivo/Concluídos" not on the server' in report.failure.detail
    inbox = [f for f in report.folders if f["name"] == "INBOX"]
    assert inbox and inbox[0]["collected"] is True and inbox[0]["archive"] is False
    assert isinstance(inbox[0]["attributes"], list) and inbox[0]["selectable"] is True
