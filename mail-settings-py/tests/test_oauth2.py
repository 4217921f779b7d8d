"""OAuth2 from Python against the real authorization server (npm's oidc-provider,
``tests/servers/oauth2/``: access tokens live ``MS_OAUTH2_ACCESS_TTL`` seconds, refresh tokens
rotate on every use) and the real Dovecot and Postfix, which take its tokens: device sign-in,
check, send and collect over OAuth2, a rotated refresh token handed to the script's
``TokenStore``, a refused refresh token (``NeedsSignInError``), and no token in any repr."""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
from typing import Dict, List, Optional

import pytest

import mail_settings as ms
from conftest import Servers


def issuer(servers: Servers) -> str:
    return f"http://127.0.0.1:{servers.port('MS_OAUTH2_SERVER_PORT')}"


def client(servers: Servers) -> ms.OAuth2Client:
    base = issuer(servers)
    return ms.OAuth2Client(
        "py-public",
        "ms-public",
        token_url=f"{base}/token",
        device_authorization_url=f"{base}/device/auth",
        authorization_url=f"{base}/auth",
        scopes=["openid", "offline_access", "mail"],
    )


class Vault(ms.TokenStore):
    """The script's token vault, recording every refresh token it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: Dict[str, ms.SignIn] = {}
        self.saved: List[str] = []

    def load(self, credential_id: str) -> Optional[ms.SignIn]:
        return self.kept.get(credential_id)

    def save(self, credential_id: str, sign_in: ms.SignIn) -> None:
        assert sign_in.refresh_token is not None
        self.kept[credential_id] = sign_in
        self.saved.append(sign_in.refresh_token)


def approve(servers: Servers, user_code: str, account: str) -> None:
    """The person at the verification page approves the code as ``account``."""
    body = urllib.parse.urlencode({"user_code": user_code, "account": account}).encode()
    with urllib.request.urlopen(f"{issuer(servers)}/test/approve-device", data=body, timeout=10) as r:
        assert r.status == 200


def test_device_sign_in_check_send_collect_and_rotation(servers: Servers, mailbox: str) -> None:
    vault = Vault()
    manager = ms.TokenManager(ms.Credentials(), token_store=vault)
    device = manager.start_device_sign_in(client(servers))
    assert device.verification_uri.startswith(issuer(servers))
    assert device.user_code and device.interval > 0 and device.expires_in > 0
    approve(servers, device.user_code, mailbox)
    manager.finish_device_sign_in(client(servers), device, mailbox, mailbox, timeout=30)
    assert len(vault.saved) == 1 and vault.kept[mailbox].username == mailbox
    first = vault.saved[0]

    creds = manager.credential_provider()
    assert creds.kind == "oauth2" and mailbox in creds
    report = ms.check_incoming(servers.imap_account(mailbox), credentials=creds, timeout=20)
    assert report.ok, str(report)
    report = ms.check_incoming(
        servers.imap_account(mailbox, protocol="POP3", port=servers.port("MS_POP3S_PORT")),
        credentials=creds,
        timeout=20,
    )
    assert report.ok, str(report)
    ms.send(
        servers.smtp_account(mailbox),
        ms.OutgoingMessage(to=[mailbox], subject="OAuth2 from Python", text="sent with a token\n"),
        credentials=creds,
        timeout=20,
    )
    servers.wait_for_mail(mailbox, 1)
    store = ms.Store(credentials=creds)
    account = store.create_incoming(servers.imap_account(mailbox))
    run = ms.Collector(store, timeout=20).check_now(account.id or 0)
    assert run.fetched == 1, run

    (status,) = [s for s in manager.status() if s.credential == mailbox]
    assert status.state == "signed_in" and status.client == "py-public"
    assert status.valid_until is not None and status.valid_until > time.time() - 60

    # Past the access token's lifetime the next credential is a refresh; the server rotates the
    # refresh token and the new one is in the script's store before it is used.
    time.sleep(int(servers.env["MS_OAUTH2_ACCESS_TTL"]) + 1)
    before = len(vault.saved)
    token = creds.get(mailbox)
    assert token.kind == "oauth2_token"
    assert len(vault.saved) > before
    assert vault.saved[-1] != first and vault.kept[mailbox].refresh_token == vault.saved[-1]

    texts = [
        repr(vault.kept[mailbox]),
        str(vault.kept[mailbox]),
        repr(device),
        repr(status),
        repr(manager),
        repr(creds),
        repr(token),
        repr(client(servers)),
    ]
    for text in texts:
        for secret in vault.saved + [token.expose_secret()]:
            assert secret not in text, text


def test_a_refused_refresh_token_needs_sign_in(servers: Servers, mailbox: str) -> None:
    vault = Vault()
    vault.kept[mailbox] = ms.SignIn(mailbox, "not-a-refresh-token-py-canary")
    manager = ms.TokenManager(ms.Credentials(), token_store=vault)
    manager.bind(mailbox, client(servers))
    with pytest.raises(ms.NeedsSignInError) as e:
        manager.credential_provider().get(mailbox)
    assert isinstance(e.value, ms.AuthError)
    assert "invalid_grant" in str(e.value) and "py-canary" not in str(e.value)
    report = ms.check_incoming(servers.imap_account(mailbox), credentials=manager.credential_provider(), timeout=20)
    assert not report.ok and report.failure is not None
    assert report.failure.category == "needs_sign_in", str(report)
    (status,) = [s for s in manager.status() if s.credential == mailbox]
    assert status.state == "needs_sign_in" and status.reason and "invalid_grant" in status.reason
    assert manager.needs_sign_in(mailbox) is not None
    # The refresh token grant without a token store is refused when it is bound.
    with pytest.raises(ms.ValidationError, match="no token store"):
        ms.TokenManager(ms.Credentials()).bind("x", client(servers))


def test_base_token_store_must_be_overridden_and_repr_hides_tokens() -> None:
    with pytest.raises(NotImplementedError):
        ms.TokenStore().load("x")
    s = ms.SignIn("bob@example.test", "rt-canary-py-9a2c")
    assert "rt-canary-py-9a2c" not in repr(s) and "bob@example.test" in repr(s)
    assert s.refresh_token == "rt-canary-py-9a2c"
    with pytest.raises(ValueError):
        ms.OAuth2Client("x", "id", provider="yahoo")  # type: ignore[arg-type]


def test_oauth2_clients_round_trip_through_the_store_and_accounts_name_them() -> None:
    store = ms.Store(credentials=ms.Credentials({"m365": ("app", "s3cret")}))
    form = ms.OAuth2ClientForm(
        name="Contoso",
        provider="MICROSOFT",
        tenant="contoso.example",
        client_id="00000000-1111-2222-3333-444444444444",
        scopes=["https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"],
    )
    created = store.create_oauth2_client(form)
    assert created.id is not None and created.version is not None
    assert created.to_dict() == {**form.to_dict(), "id": created.id}
    assert store.get_oauth2_client(created.id) == created
    assert store.list_oauth2_clients() == [created]
    assert ms.OAuth2ClientForm.from_dict(created.to_dict()) == created
    created.tenant = "fabrikam.example"
    updated = store.update_oauth2_client(created)
    assert updated.tenant == "fabrikam.example" and updated.version != created.version

    account = ms.IncomingAccountForm(
        name="OAuth2 IMAP", protocol="IMAP", host="imap.example.test", credential="m365",
        authentication="OAUTH2", oauth2_client=updated.id,
    )
    stored = store.create_incoming(account)
    assert stored.authentication == "OAUTH2" and stored.oauth2_client == updated.id
    assert stored.to_dict()["authentication"] == "OAUTH2"
    with pytest.raises(ms.InUseError):
        store.delete_oauth2_client(updated.id or 0, updated.version or 0)
    # OAUTH2 without a client: oauth2_client_required.
    with pytest.raises(ms.ValidationError) as e:
        store.create_incoming(
            ms.IncomingAccountForm(
                name="no client", protocol="IMAP", host="imap.example.test", credential="m365",
                authentication="OAUTH2",
            )
        )
    assert "oauth2_client_required" in [r.code for r in e.value.results]
    with pytest.raises(ValueError):
        ms.IncomingAccountForm(authentication="KERBEROS")
    # Google has no client credentials grant: grant_not_supported.
    v = ms.OAuth2ClientForm(
        name="g", provider="GOOGLE", client_id="id", grant="CLIENT_CREDENTIALS",
        client_secret_credential="x",
    ).validate()
    assert "grant_not_supported" in [r.code for r in v.results]
