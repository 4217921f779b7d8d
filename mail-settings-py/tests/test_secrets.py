"""Secrets (passwords, tokens, proxy passwords) never appear in a repr, a str, an exception's
text or arguments, a dict, or anything serialized, even when the server refuses them."""

from __future__ import annotations

import pickle
from typing import Any, List

import pytest

import mail_settings as ms
from conftest import Servers

WRONG = "Wr0ng-Secret-Pa55-4c1e"
WRONG_PROXY = "Wr0ng-Proxy-Pa55-77ab"
TOKEN = "ya29.Secret-Token-0d3f"


def texts(obj: Any) -> List[str]:
    out = [repr(obj), str(obj)]
    for method in ("to_dict", "to_json", "to_list", "errors", "to_text"):
        f = getattr(obj, method, None)
        if callable(f):
            out.append(repr(f()))
    if isinstance(obj, BaseException):
        out.append(repr(obj.args))
        out.append(repr(vars(obj)))
        out.append(repr(pickle.dumps(obj)) if not isinstance(obj, ms.ValidationError) else "")
    return out


def assert_clean(objs: List[Any], secrets: List[str]) -> None:
    for obj in objs:
        for text in texts(obj):
            for secret in secrets:
                assert secret not in text, f"{secret!r} leaked through {type(obj).__name__}: {text[:200]}"


def test_no_secret_anywhere(servers: Servers, mailbox: str) -> None:
    real = servers.password
    proxy_real = servers.proxy_password
    creds = ms.Credentials(
        {
            mailbox: (mailbox, real),
            "wrong": (mailbox, WRONG),
            "token": ms.Credential(mailbox, oauth2_token=TOKEN),
            "proxy": ("msproxy", proxy_real),
            "wrong-proxy": ("msproxy", WRONG_PROXY),
        }
    )
    secrets = [real, proxy_real, WRONG, WRONG_PROXY, TOKEN]
    objs: List[Any] = [creds, creds.get(mailbox), creds.get("token"), creds.get("wrong-proxy")]

    store = ms.Store(credentials=creds)
    proxy = store.create_connector(ms.NetworkConnectorForm(name="socks", kind="SOCKS5", host="127.0.0.1",
                                                       port=servers.port("MS_SOCKS5_AUTH_PORT"), credential="proxy"))
    bad_proxy = store.create_connector(ms.NetworkConnectorForm(name="socks-bad", kind="SOCKS5", host="127.0.0.1",
                                                           port=servers.port("MS_SOCKS5_AUTH_PORT"), credential="wrong-proxy"))
    good = store.create_incoming(servers.imap_account(mailbox, name="good", use_network_connector=True,
                                                      network_connector=proxy.id))
    wrong = store.create_incoming(servers.imap_account(mailbox, name="wrong", credential="wrong"))
    via_bad_proxy = store.create_incoming(servers.imap_account(mailbox, name="bad proxy", use_network_connector=True,
                                                               network_connector=bad_proxy.id))
    token = store.create_incoming(servers.imap_account(mailbox, name="token", credential="token"))
    smtp = store.create_smtp(servers.smtp_account(mailbox, name="smtp", credential="wrong", default_account=True))
    objs += [proxy, good, wrong, smtp, store, store.export_document(), store.export_document().to_json(), store.export_document().to_toml()]
    objs += [store.incoming_report(), store.incoming_csv(), store.incoming_html(), store.smtp_csv()]

    for account in (good, wrong, via_bad_proxy, token):
        report = store.check_incoming(account.id or 0, timeout=20)
        objs += [report, *report.stages]
        try:
            report.raise_for_failure()
        except ms.MailSettingsError as e:
            objs.append(e)
    assert not store.check_incoming(wrong.id or 0, timeout=20).ok

    collector = ms.Collector(store, timeout=20)
    for account in (wrong, via_bad_proxy, token):
        with pytest.raises(ms.MailSettingsError) as e:
            collector.check_now(account.id or 0)
        objs.append(e.value)
        objs.append(collector.status(account.id or 0))
    with pytest.raises(ms.AuthError) as auth:
        store.send_test(mailbox, timeout=20)
    objs.append(auth.value)
    objs += collector.collect_once()

    def failing_vault(credential_id: str) -> None:
        raise RuntimeError("vault locked")

    with pytest.raises(ms.CredentialError) as vault_error:
        ms.send_test(servers.smtp_account(mailbox, name="v", credential="x"), mailbox,
                     credentials=ms.Credentials.from_callable(failing_vault), timeout=20)
    objs.append(vault_error.value)

    assert_clean(objs, secrets)
    # and the exceptions are the ones a script branches on
    kinds = {type(o).__name__ for o in objs if isinstance(o, BaseException)}
    assert {"AuthError", "ProxyError", "CredentialError"} <= kinds
