"""Credential providers: a dict, a credentials file, any Python callable."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

import mail_settings as ms

SECRET = "s3cr3t-Pa55-word-e8a1"
TOKEN = "ya29.token-9f7c2b"


def test_from_dict_in_all_shapes() -> None:
    creds = ms.Credentials(
        {
            "tuple": ("alice@example.com", SECRET),
            "object": ms.Credential("bob@example.com", SECRET),
            "token": ms.Credential("carol@example.com", oauth2_token=TOKEN),
            "dict": {"username": "dave@example.com", "password": SECRET},
            "dict-token": {"username": "erin@example.com", "oauth2_token": TOKEN},
        }
    )
    assert creds.kind == "memory"
    assert "tuple" in creds and "missing" not in creds
    assert creds.get("tuple").username == "alice@example.com"
    assert creds.get("token").kind == "oauth2_token"
    assert creds.get("dict-token").expose_secret() == TOKEN
    assert creds.get(" object ").expose_secret() == SECRET  # ids are trimmed
    assert ms.Credentials.from_dict({"x": ("u", "p")}).get("x").kind == "password"


def test_bad_credential_shapes() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ms.Credential("u")
    with pytest.raises(ValueError, match="exactly one"):
        ms.Credential("u", "p", oauth2_token="t")
    with pytest.raises(TypeError):
        ms.Credentials({"x": ("u",)})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="unknown credential field"):
        ms.Credentials({"x": {"username": "u", "pass": "p"}})
    with pytest.raises(TypeError):
        ms.Credentials([("x", ("u", "p"))])  # type: ignore[arg-type]


def test_insert_and_remove() -> None:
    creds = ms.Credentials()
    creds.insert("a", ("u", "p"))
    assert "a" in creds
    creds.remove("a")
    assert "a" not in creds
    with pytest.raises(ms.CredentialError) as e:
        creds.get("a")
    assert e.value.credential_id == "a" and e.value.category == "credential"


def test_credentials_file(tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"mailbox": {"username": "u@example.com", "password": SECRET}}))
    os.chmod(path, 0o600)
    creds = ms.Credentials.from_file(path)
    assert creds.kind == "file"
    assert creds.get("mailbox").expose_secret() == SECRET
    assert str(path) in repr(creds)
    with pytest.raises(TypeError, match="in-memory"):
        creds.insert("x", ("u", "p"))

    toml = tmp_path / "creds.toml"
    toml.write_text(f'[smtp]\nusername = "n@example.com"\noauth2_token = "{TOKEN}"\n')
    os.chmod(toml, 0o600)
    assert ms.Credentials.from_file(str(toml)).get("smtp").kind == "oauth2_token"


def test_credentials_file_refusals_never_echo_secrets(tmp_path: Path) -> None:
    open_file = tmp_path / "open.json"
    open_file.write_text(json.dumps({"m": {"username": "u", "password": SECRET}}))
    os.chmod(open_file, 0o644)
    with pytest.raises(ms.CredentialError, match="chmod 600") as e:
        ms.Credentials.from_file(open_file)
    assert e.value.path == str(open_file)

    broken = tmp_path / "broken.json"
    broken.write_text('{"m": {"username": "u", "password": "' + SECRET + '",}}')
    os.chmod(broken, 0o600)
    with pytest.raises(ms.CredentialError, match="line 1") as e2:
        ms.Credentials.from_file(broken)
    assert SECRET not in str(e2.value) and SECRET not in repr(e2.value)

    with pytest.raises(ms.CredentialError):
        ms.Credentials.from_file(tmp_path / "missing.json")


def test_credentials_file_repeated_id_fifo_and_bom(tmp_path: Path) -> None:
    repeated = tmp_path / "repeated.json"
    repeated.write_text(
        '{"m": {"username": "u", "password": "' + SECRET + '"},'
        ' "m": {"username": "v", "password": "' + SECRET + '"}}'
    )
    os.chmod(repeated, 0o600)
    with pytest.raises(ms.CredentialError, match='duplicate credential id "m"') as e:
        ms.Credentials.from_file(repeated)
    assert SECRET not in str(e.value)

    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(ms.CredentialError, match="FIFO"):
        ms.Credentials.from_file(fifo)

    bom = tmp_path / "bom.json"
    bom.write_text("\ufeff" + json.dumps({"m": {"username": "u", "password": SECRET}}), encoding="utf-8")
    os.chmod(bom, 0o600)
    assert ms.Credentials.from_file(bom).get("m").username == "u"


def test_callable_provider() -> None:
    asked: List[str] = []

    def vault(credential_id: str) -> Optional[Tuple[str, str]]:
        asked.append(credential_id)
        if credential_id == "known":
            return ("user@example.com", SECRET)
        if credential_id == "raises-keyerror":
            raise KeyError(credential_id)
        if credential_id == "locked":
            raise RuntimeError("vault is locked")
        if credential_id == "garbage":
            return 42  # type: ignore[return-value]
        return None

    creds = ms.Credentials.from_callable(vault)
    assert creds.kind == "callable"
    assert creds.get("known").username == "user@example.com"
    assert "known" in creds and "unknown" not in creds and "raises-keyerror" not in creds
    with pytest.raises(ms.CredentialError, match="not known") as unknown:
        creds.get("unknown")
    assert unknown.value.credential_id == "unknown"
    with pytest.raises(ms.CredentialError, match="RuntimeError: vault is locked") as locked:
        creds.get("locked")
    assert locked.value.credential_id == "locked"
    with pytest.raises(ms.CredentialError, match="TypeError"):
        creds.get("garbage")
    assert asked[:2] == ["known", "known"]
    with pytest.raises(TypeError):
        ms.Credentials.from_callable("not callable")  # type: ignore[arg-type]


def test_callable_provider_is_used_by_validation() -> None:
    creds = ms.Credentials.from_callable(lambda i: ("u", "p") if i == "ok" else None)
    ok = ms.IncomingAccountForm(name="a", protocol="IMAP", host="h", credential="ok")
    bad = ms.IncomingAccountForm(name="a", protocol="IMAP", host="h", credential="nope")
    assert not ok.validate(credentials=creds).has_errors
    assert bad.validate(credentials=creds).contains("credential", "unknown_credential")


def test_no_repr_shows_a_secret() -> None:
    cred = ms.Credential("alice@example.com", SECRET)
    token = ms.Credential("alice@example.com", oauth2_token=TOKEN)
    creds = ms.Credentials({"a": cred, "b": token})
    for obj in (cred, token, creds, creds.get("a"), creds.get("b")):
        for text in (repr(obj), str(obj)):
            assert SECRET not in text and TOKEN not in text
    assert repr(cred) == "Credential(username='alice@example.com', password=<redacted>)"
    assert repr(token) == "Credential(username='alice@example.com', oauth2_token=<redacted>)"
