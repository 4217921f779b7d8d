"""Sending through SMTP accounts against the local Postfix: messages, the test message, pools,
the account's rules, and every failure raised as its exception class."""

from __future__ import annotations

import socket
from typing import Callable, List, Type

import pytest

import mail_settings as ms
from conftest import FakeServer, Servers


def collected_subjects(servers: Servers, mailbox: str, creds: ms.Credentials) -> list:
    store = ms.Store(credentials=creds)
    account = store.create_incoming(servers.imap_account(mailbox))
    ms.Collector(store, timeout=20).check_now(account.id or 0)
    return [m.subject for m in store.inbox.list(page_size=100)]


def plain_account(server: FakeServer, name: str, mailbox: str) -> ms.SmtpAccountForm:
    """An account for a fake server on loopback: clear text, no login."""
    return ms.SmtpAccountForm(name=name, host="127.0.0.1", port=server.port, sender_email=mailbox,
                          use_secure_connection=False, use_authentication=False)


def test_send_test_message_arrives(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    report = ms.send_test(servers.smtp_account(mailbox), mailbox, credentials=creds, timeout=20)
    assert report.accepted == [mailbox] and report.rejected == []
    assert report.reply_code == 250 and "queued" in report.reply_text
    assert report.message_id and report.message_id.startswith("<")
    assert report.to_dict()["accepted"] == [mailbox]
    servers.wait_for_mail(mailbox, 1)
    assert collected_subjects(servers, mailbox, creds) == ["MENSAGEM DE TESTE!"]


def test_send_over_implicit_tls_with_attachment(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    account = servers.smtp_account(mailbox, port=servers.port("MS_SMTPS_PORT"), secure_connection_type="SSL")
    msg = ms.OutgoingMessage(
        to=[mailbox],
        subject="Report attached",
        text="see attachment",
        attachments=[ms.Attachment("report.csv", "text/csv", b"a,b\r\n1,2\r\n")],
        headers={"X-Ticket": "42"},
    )
    assert ms.send(account, msg, credentials=creds, timeout=20).accepted == [mailbox]
    servers.wait_for_mail(mailbox, 1)
    store = ms.Store(credentials=creds)
    acc = store.create_incoming(servers.imap_account(mailbox))
    ms.Collector(store, timeout=20).check_now(acc.id or 0)
    [summary] = store.inbox.list()
    view = store.inbox.read_message(summary.id)
    assert view.text is not None and view.text.strip() == "see attachment"
    assert view.attachments == [{"name": "report.csv", "content_type": "text/csv", "size": 10}]
    assert b"X-Ticket: 42" in store.inbox.raw(summary.id)


def test_compose_applies_the_accounts_rules(servers: Servers) -> None:
    account = ms.SmtpAccountForm(
        name="n", host="h", sender_email="noreply@example.com", credential="c",
        reply_to="help@example.com", return_path="bounces@example.com",
        send_read_receipt=True, confirmation_email="receipts@example.com",
        enable_footer=True, footer="-- sent by the help desk", force_configuration=True,
    )
    msg = ms.OutgoingMessage(to=["a@example.com"], bcc=["hidden@example.com"], from_="other@example.com",
                             subject="Hi", text="Hello")
    composed = ms.compose(account, msg)
    data = composed.data.decode()
    assert composed.mail_from == "bounces@example.com"
    assert composed.rcpt_to == ["a@example.com", "hidden@example.com"]
    assert "From: noreply@example.com" in data and "other@example.com" not in data
    assert "Reply-To: help@example.com" in data
    assert "Disposition-Notification-To: <receipts@example.com>" in data
    assert "hidden@example.com" not in data
    assert "-- sent by the help desk" in data
    assert composed.message_id in data
    with pytest.raises(ms.ValidationError, match="to"):
        ms.compose(account, ms.OutgoingMessage(to=["not an address"], subject="x", text="y"))


def test_message_properties() -> None:
    m = ms.OutgoingMessage()
    m.to = ["a@example.com"]
    m.cc = ("b@example.com",)  # type: ignore[assignment]
    m.from_ = "Me <me@example.com>"
    m.subject = "s"
    m.html = "<p>x</p>"
    m.headers = [("X-A", "1")]
    m.attachments = [ms.Attachment("a.txt", "text/plain", b"x")]
    assert (m.to, m.cc, m.from_, m.headers) == (["a@example.com"], ["b@example.com"], "Me <me@example.com>", [("X-A", "1")])
    assert m.attachments[0].content == b"x" and "1 bytes" in repr(m.attachments[0])
    with pytest.raises(TypeError):
        m.to = "a@example.com"  # type: ignore[assignment]
    t = ms.OutgoingMessage.test_message("x@example.com")
    assert t.subject == "MENSAGEM DE TESTE!" and t.text == "ATENÇÃO: ESTA É UMA MENSAGEM DE TESTE!"
    assert t == ms.OutgoingMessage.test_message("x@example.com", subject=" ")


def test_send_many_and_pool(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    account = servers.smtp_account(mailbox)
    msgs = [ms.OutgoingMessage(to=[mailbox], subject=f"m{i}", text="x") for i in range(3)]
    msgs.insert(1, ms.OutgoingMessage(to=["broken address"], subject="bad", text="x"))
    results = ms.send_many(account, msgs, credentials=creds, timeout=20)
    assert [type(r).__name__ for r in results] == ["SendReport", "ValidationError", "SendReport", "SendReport"]
    with ms.SmtpPool(account, credentials=creds, timeout=20, max_idle=2) as pool:
        pool.send(ms.OutgoingMessage(to=[mailbox], subject="p1", text="x"))
        pool.send(ms.OutgoingMessage(to=[mailbox], subject="p2", text="x"))
        out = pool.send_many([ms.OutgoingMessage(to=[mailbox], subject="p3", text="x")])
        assert isinstance(out[0], ms.SendReport)
        assert pool.connections_opened == 1 and pool.connections_reused == 2
        assert pool.idle_connections == 1 and pool.check_idle() == 1
    assert pool.idle_connections == 0
    servers.wait_for_mail(mailbox, 6)


def test_pool_bounds_open_sessions(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    import threading

    account = servers.smtp_account(mailbox)
    with pytest.raises(ValueError, match="max_open"):
        ms.SmtpPool(account, credentials=creds, max_open=0)
    with pytest.raises(ValueError, match="wait_timeout"):
        ms.SmtpPool(account, credentials=creds, wait_timeout=-1)
    with ms.SmtpPool(account, credentials=creds, timeout=20, max_open=1, wait_timeout=30) as pool:
        errors: list = []

        def send(t: int) -> None:
            try:
                for i in range(2):
                    pool.send(ms.OutgoingMessage(to=[mailbox], subject=f"b{t}-{i}", text="x"))
            except Exception as e:  # pragma: no cover - reported by the assert below
                errors.append(e)

        threads = [threading.Thread(target=send, args=(t,)) for t in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        # One session for all six messages: the threads waited for it instead of opening more.
        assert pool.connections_opened == 1 and pool.connections_reused == 5
        assert pool.open_connections == 1
    assert pool.open_connections == 0
    servers.wait_for_mail(mailbox, 6)


def test_store_send_uses_default_account(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    store = ms.Store(credentials=creds)
    with pytest.raises(ms.NotFoundError):
        store.send_test(mailbox, timeout=20)
    store.create_smtp(servers.smtp_account(mailbox, name="Default", default_account=True))
    assert store.send(ms.OutgoingMessage(to=[mailbox], subject="via default", text="x"), timeout=20).accepted
    assert store.send_test(mailbox, account="default", subject="named", timeout=20).accepted
    servers.wait_for_mail(mailbox, 2)
    assert sorted(collected_subjects(servers, mailbox, creds)) == ["named", "via default"]


@pytest.mark.parametrize(
    "port_key,security,exc",
    [
        ("MS_SMTPS_SELFSIGNED_PORT", "SSL", ms.CertificateError),
        ("MS_SMTPS_EXPIRED_PORT", "SSL", ms.CertificateError),
        ("MS_SMTPS_WRONGHOST_PORT", "SSL", ms.CertificateError),
        ("MS_SMTP_SELFSIGNED_PORT", "TLS", ms.CertificateError),
        ("MS_SMTP_NOTLS_PORT", "TLS", ms.TlsError),
    ],
)
def test_tls_failures(servers: Servers, mailbox: str, creds: ms.Credentials, port_key: str, security: str,
                      exc: Type[Exception]) -> None:
    account = servers.smtp_account(mailbox, port=servers.port(port_key), secure_connection_type=security)
    with pytest.raises(exc) as e:
        ms.send_test(account, mailbox, credentials=creds, timeout=20)
    assert isinstance(e.value, ms.TlsError)
    if exc is ms.TlsError:
        assert "STARTTLS" in str(e.value) and not isinstance(e.value, ms.CertificateError)


def test_wrong_password(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    with pytest.raises(ms.AuthError) as e:
        ms.send_test(servers.smtp_account(mailbox, credential="wrong-password"), mailbox, credentials=creds, timeout=20)
    assert e.value.category == "auth" and "not-the-password" not in str(e.value)
    # Postfix's reply: a refusal for good, never worth retrying.
    assert e.value.reply_code == 535 and e.value.enhanced_code == "5.7.8"
    assert e.value.is_permanent and not e.value.is_transient


def test_unknown_credential_is_credential_error(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    with pytest.raises(ms.CredentialError):
        ms.send_test(servers.smtp_account(mailbox, credential="nobody"), mailbox, credentials=creds, timeout=20)


def test_closed_port_and_unknown_host(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ms.ConnectError) as e:
        ms.send_test(servers.smtp_account(mailbox, port=port), mailbox, credentials=creds, timeout=20)
    assert e.value.category == "connect"
    assert e.value.reply_code is None and e.value.enhanced_code is None
    assert not e.value.is_transient and not e.value.is_permanent  # no reply to judge by
    with pytest.raises(ms.ConnectError) as dns:
        ms.send_test(servers.smtp_account(mailbox, host="no-such-host.invalid"), mailbox, credentials=creds, timeout=20)
    assert isinstance(dns.value, ms.DnsError) and dns.value.category == "dns"


def test_proxy_refusal(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    proxy = ms.NetworkConnectorForm(id=1, name="http", kind="HTTP_CONNECT", host="127.0.0.1",
                                port=servers.port("MS_HTTP_PROXY_PORT"))
    account = servers.smtp_account(mailbox, port=servers.port("MS_PROXY_BLOCKED_PORT"),
                                   use_network_connector=True, network_connector=1)
    with pytest.raises(ms.ProxyError) as e:
        ms.send_test(account, mailbox, credentials=creds, connectors=[proxy], timeout=20)
    assert e.value.hop == "proxy_refused"
    ok = servers.smtp_account(mailbox, use_network_connector=True, network_connector=1)
    assert ms.send_test(ok, mailbox, credentials=creds, connectors=[proxy], timeout=20).accepted == [mailbox]


def test_silent_server_times_out(fake_server: type, creds: ms.Credentials, mailbox: str) -> None:
    server: FakeServer = fake_server(lambda conn: None)  # accepts, never speaks
    account = plain_account(server, "silent", mailbox)
    with pytest.raises(ms.TimeoutError) as e:
        ms.send_test(account, mailbox, timeout=0.5)
    assert isinstance(e.value, TimeoutError)  # the builtin one too
    assert e.value.category == "timeout" and e.value.reply_code is None


def test_garbage_greeting_is_protocol_error(fake_server: type, mailbox: str) -> None:
    def garbage(conn: socket.socket) -> None:
        conn.sendall(b"HELLO I AM NOT SMTP\r\n")
        conn.close()

    server: FakeServer = fake_server(garbage)
    account = plain_account(server, "odd", mailbox)
    with pytest.raises(ms.ProtocolError) as e:
        ms.send_test(account, mailbox, timeout=5)
    assert e.value.reply_code is None  # not a reply at all


def test_busy_greeting_is_transient(fake_server: type, mailbox: str) -> None:
    def busy(conn: socket.socket) -> None:
        conn.sendall(b"421 4.3.2 Too many connections, try again later\r\n")
        conn.close()

    server: FakeServer = fake_server(busy)
    account = plain_account(server, "busy", mailbox)
    with pytest.raises(ms.ProtocolError) as e:
        ms.send_test(account, mailbox, timeout=5)
    assert e.value.category == "protocol"
    assert e.value.reply_code == 421 and e.value.enhanced_code == "4.3.2"
    assert e.value.is_transient and not e.value.is_permanent
    assert "421 4.3.2" in str(e.value)


def test_disabled_and_invalid_accounts(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    with pytest.raises(ms.ValidationError, match="disabled"):
        ms.send_test(servers.smtp_account(mailbox, enabled=False), mailbox, credentials=creds)
    with pytest.raises(ms.ValidationError) as e:
        ms.send_test(ms.SmtpAccountForm(name="x", host="h", sender_email="bad"), mailbox)
    assert {d["code"] for d in e.value.errors()} == {"invalid_email", "credential_required"}
    with pytest.raises(ms.ValidationError):
        ms.SmtpPool(servers.smtp_account(mailbox, enabled=False), credentials=creds)


def _closes_after_the_content(first_only: List[bool]) -> Callable[[socket.socket], None]:
    """A submission server that accepts everything, except that its first session closes once
    it has the whole message, before its final reply (the message may have been delivered)."""

    def handler(conn: socket.socket) -> None:
        drop = first_only.pop(0) if first_only else False
        f = conn.makefile("rb")
        conn.sendall(b"220 fake ESMTP\r\n")
        in_data = False
        while True:
            line = f.readline()
            if not line:
                return
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    if drop:
                        conn.close()
                        return
                    conn.sendall(b"250 2.0.0 Ok: queued\r\n")
                continue
            cmd = line.strip().upper()
            rcpts.append(line.strip().decode())
            if cmd.startswith(b"EHLO"):
                conn.sendall(b"250-fake\r\n250 8BITMIME\r\n")
            elif cmd == b"DATA":
                in_data = True
                conn.sendall(b"354 go on\r\n")
            elif cmd == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                conn.close()
                return
            else:
                conn.sendall(b"250 2.0.0 Ok\r\n")

    rcpts: List[str] = []
    handler.rcpts = rcpts  # type: ignore[attr-defined]
    return handler


def test_a_message_without_a_final_reply_has_an_unknown_outcome(fake_server: type, mailbox: str) -> None:
    handler = _closes_after_the_content([True])
    server: FakeServer = fake_server(handler)
    account = plain_account(server, "unknown", mailbox)
    with pytest.raises(ms.ConnectionError) as e:
        ms.send_test(account, mailbox, timeout=5)
    assert e.value.is_outcome_unknown
    assert not e.value.is_transient and not e.value.is_permanent
    assert "may have been delivered" in str(e.value)
    # An ordinary failure is not one.
    with pytest.raises(ms.ConnectionError) as closed:
        ms.send_test(ms.SmtpAccountForm(name="c", host="127.0.0.1", port=1, sender_email=mailbox,
                                    use_secure_connection=False, use_authentication=False),
                     mailbox, timeout=5)
    assert not closed.value.is_outcome_unknown


def test_send_many_reports_an_unknown_outcome_and_does_not_resend(fake_server: type, mailbox: str) -> None:
    handler = _closes_after_the_content([True, False])
    server: FakeServer = fake_server(handler)
    account = plain_account(server, "unknown-many", mailbox)
    first = ms.OutgoingMessage(to=["one@example.test"], subject="1", text="one")
    second = ms.OutgoingMessage(to=["two@example.test"], subject="2", text="two")
    results = ms.send_many(account, [first, second], timeout=5)
    assert isinstance(results[0], ms.ConnectionError) and results[0].is_outcome_unknown
    assert isinstance(results[1], ms.SendReport)
    rcpts: List[str] = handler.rcpts  # type: ignore[attr-defined]
    assert [r for r in rcpts if "one@example.test" in r and r.upper().startswith("RCPT")] == [
        "RCPT TO:<one@example.test>"
    ]
