"""Accounts named one way (an id, a name, or None for the default SMTP account; a string that
is a number is an id), one error that names what was asked, and the deprecated names."""

from __future__ import annotations

import warnings

import pytest

import mail_settings as ms


def _store() -> ms.Store:
    store = ms.Store.in_memory(credentials=ms.Credentials({"c": ("user", "pw")}))
    store.create_incoming(
        ms.IncomingAccountForm(
            name="Helpdesk", protocol="IMAP", host="127.0.0.1", port=1, credential="c",
            use_secure_connection=False,
        )
    )
    store.create_smtp(
        ms.SmtpAccountForm(
            name="Relay", host="127.0.0.1", port=1, sender_email="noreply@example.com",
            credential="c", use_secure_connection=False,
        )
    )
    return store


def test_a_missing_account_names_what_was_asked() -> None:
    store = _store()
    with pytest.raises(ms.AccountNotFoundError) as e:
        store.send_test("a@example.com", account="ghost", timeout=2)
    assert e.value.kind == "SMTP account" and e.value.name == "ghost" and e.value.id is None
    assert isinstance(e.value, ms.NotFoundError) and '"ghost"' in str(e.value)
    # A string that is a number is an id, as on the command line.
    with pytest.raises(ms.AccountNotFoundError) as e:
        store.check_incoming("99", timeout=2)
    assert e.value.kind == "incoming account" and e.value.id == 99 and e.value.name is None


def test_no_default_account_is_its_own_error() -> None:
    store = _store()
    with pytest.raises(ms.NoDefaultAccountError) as e:
        store.send_test("a@example.com", timeout=2)
    assert isinstance(e.value, ms.AccountNotFoundError) and e.value.kind == "SMTP account"
    with pytest.raises(ms.NoDefaultAccountError):
        store.check_smtp(timeout=2)


def test_accounts_resolve_by_id_and_by_name_case_insensitively() -> None:
    store = _store()
    helpdesk = store.list_incoming()[0]
    for ref in (helpdesk.id, str(helpdesk.id), "  HELPDESK "):
        report = store.check_incoming(ref, timeout=2)
        assert report.account == "Helpdesk" and not report.ok
    report = store.check_smtp("relay", timeout=2)
    assert report.account == "Relay" and not report.ok
    collector = ms.Collector(store)
    with pytest.raises(ms.AccountNotFoundError) as e:
        collector.check_now("ghost")
    assert e.value.name == "ghost"


def test_old_names_warn_and_still_work() -> None:
    with pytest.warns(DeprecationWarning, match="IncomingAccountForm"):
        old = ms.IncomingAccount  # type: ignore[attr-defined]
    assert old is ms.IncomingAccountForm
    with pytest.warns(DeprecationWarning, match="SmtpAccountForm"):
        assert ms.SmtpAccount is ms.SmtpAccountForm  # type: ignore[attr-defined]
    with pytest.warns(DeprecationWarning, match="NetworkConnectorForm"):
        assert ms.NetworkConnector is ms.NetworkConnectorForm  # type: ignore[attr-defined]
    store = _store()
    with pytest.warns(DeprecationWarning, match="export_document"):
        assert store.export() == store.export_document()
    token = ms.CancelToken()
    token.cancel()
    assert token.is_cancelled()
    with pytest.warns(DeprecationWarning, match="is_cancelled"):
        assert token.cancelled
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ms.IncomingAccountForm(name="x")  # the new names do not warn
    with pytest.raises(AttributeError):
        ms.NoSuchThing  # type: ignore[attr-defined]


def test_an_account_of_either_kind_and_the_errors_of_each_way_it_does_not_resolve() -> None:
    store = _store()
    # One name, one kind: `check` finds it without being told which kind.
    assert store.check("helpdesk", timeout=2).account == "Helpdesk"
    assert store.check("RELAY", timeout=2).account == "Relay"
    with pytest.raises(ms.NoDefaultAccountError):
        store.check(timeout=2)
    with pytest.raises(ms.AccountNotFoundError):
        store.check("nobody", timeout=2)
    # The same name for an SMTP account too: say which kind.
    store.create_smtp(
        ms.SmtpAccountForm(
            name="helpdesk", host="127.0.0.1", port=1, sender_email="noreply@example.com",
            credential="c", use_secure_connection=False,
        )
    )
    with pytest.raises(ms.AmbiguousAccountError) as e:
        store.check("Helpdesk", timeout=2)
    assert isinstance(e.value, ms.ValidationError) and e.value.name == "Helpdesk"
    assert e.value.category == "validation" and '"Helpdesk"' in str(e.value)
    assert store.check_smtp("Helpdesk", timeout=2).account == "helpdesk"
    # Incoming accounts have no default.
    with pytest.raises(ms.NoDefaultForError) as d:
        store.check_incoming(None, timeout=2)  # type: ignore[arg-type]
    assert d.value.kind == "incoming account" and isinstance(d.value, ms.ValidationError)


def test_the_inbox_and_the_pool_take_an_account_by_name() -> None:
    store = _store()
    helpdesk = store.list_incoming()[0]
    # The inbox resolves the account through the application layer: by id or by name.
    assert store.inbox.list(account="HELPDESK").total == 0
    assert store.inbox.list(account=helpdesk.id).total == 0
    assert store.inbox.count("helpdesk") == 0
    with pytest.raises(ms.AccountNotFoundError) as e:
        store.inbox.list(account="ghost")
    assert e.value.kind == "incoming account" and e.value.name == "ghost"
    with pytest.raises(ms.AccountNotFoundError):
        store.inbox.csv(account="ghost")
    # A pool through a stored account (nothing is opened before the first message).
    pool = store.smtp_pool("relay", timeout=2)
    assert isinstance(pool, ms.SmtpPool) and pool.open_connections == 0
    with pytest.raises(ms.NoDefaultAccountError):
        store.smtp_pool()
    with pytest.raises(ms.AccountNotFoundError):
        store.smtp_pool(42)
    with pytest.raises(ValueError, match="max_open"):
        store.smtp_pool("relay", max_open=0)


def test_get_takes_an_id_or_a_name() -> None:
    store = _store()
    helpdesk = store.list_incoming()[0]
    assert store.get_incoming(" helpdesk ") == helpdesk == store.get_incoming(helpdesk.id or 0)
    assert store.get_incoming(str(helpdesk.id)) == helpdesk
    assert store.get_smtp("RELAY").name == "Relay"
    with pytest.raises(ms.AccountNotFoundError) as e:
        store.get_smtp("Helpdesk")
    assert e.value.kind == "SMTP account" and e.value.name == "Helpdesk"
    assert isinstance(e.value, ms.NotFoundError)
