"""The collector and the inbox against the local Dovecot: checks, the progress callback and
cancel, the schedule, statuses, failures as exceptions, and the inbox's operations."""

from __future__ import annotations

import datetime
import sys
import threading
from pathlib import Path
from typing import Any, List

import pytest

import mail_settings as ms
from conftest import Servers, message


def setup(servers: Servers, mailbox: str, creds: ms.Credentials, **kw: Any) -> "tuple[ms.Store, ms.IncomingAccountForm]":
    store = ms.Store(credentials=creds)
    account = store.create_incoming(servers.imap_account(mailbox, **kw))
    return store, account


def test_check_now_fills_the_inbox(servers: Servers, mailbox: str, creds: ms.Credentials, tmp_path: Path) -> None:
    for i in range(3):
        servers.lmtp_deliver(mailbox, message(f"ticket {i}", body=f"text {i}\r\n"))
    store, account = setup(servers, mailbox, creds)
    collector = ms.Collector(store, timeout=20)
    report = collector.check_now(account.id or 0)
    assert (report.listed, report.fetched, report.pending, report.cancelled) == (3, 3, 0, False)
    assert report.account_name == account.name and report.bytes > 0
    assert report.to_dict()["fetched"] == 3
    again = collector.check_now(account.name)
    assert (again.fetched, again.already_stored) == (0, 3)

    inbox = collector.inbox
    page = inbox.list(account=account.id)
    assert (page.total, page.pages, len(page)) == (3, 1, 3)
    assert sorted(m.subject or "" for m in page) == ["ticket 0", "ticket 1", "ticket 2"]
    first = page[0]
    assert first.from_ == "Sender <sender@example.test>" and first.read is False
    assert first.date == int(datetime.datetime(2024, 1, 1, 10, tzinfo=datetime.timezone.utc).timestamp())
    assert first.source.startswith("IMAP INBOX")
    view = inbox.read_message(first.id)
    assert view.summary == first and view.text is not None and view.text.startswith("text ")
    assert view.attachments == [] and view.parse_error is None
    assert inbox.raw(first.id).startswith(b"Return-Path") or b"Subject:" in inbox.raw(first.id)
    assert inbox.save_raw(first.id, tmp_path / "m.eml") == first.size
    inbox.mark_read(first.id)
    assert inbox.message(first.id).read is True
    assert inbox.list(unread_only=True).total == 2
    inbox.mark_read(first.id, read=False)
    assert inbox.list(unread_only=True).total == 3
    assert inbox.list(subject_contains="TICKET 1").total == 1
    assert inbox.list(text_contains="sender@").total == 3
    assert inbox.list(since=datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)).total == 0
    assert inbox.list(until=2_000_000_000, page_size=2).pages == 2
    inbox.delete(first.id)
    assert inbox.count() == 2 and inbox.count(account.id) == 2
    with pytest.raises(ms.NotFoundError):
        inbox.message(first.id)
    # a message deleted locally is not collected again
    assert collector.check_now(account.id or 0).fetched == 0
    assert store.inbox.count() == 2 and ms.Inbox(store).count() == 2

    status = collector.status(account.id or 0)
    assert (status.runs, status.fetched, status.inbox_messages, status.last_error) == (3, 3, 2, None)
    assert status.last_success is not None and status.running is False
    assert [s.account_id for s in collector.statuses()] == [account.id]


def test_progress_callback_and_cancel(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    for i in range(5):
        servers.lmtp_deliver(mailbox, message(f"m{i}"))
    store, account = setup(servers, mailbox, creds)
    collector = ms.Collector(store, timeout=20)
    seen: List[ms.Progress] = []
    token = ms.CancelToken()

    def on_progress(p: ms.Progress) -> None:
        seen.append(p)
        if p.done >= 2:
            token.cancel()

    report = collector.check_now(account.id or 0, on_progress=on_progress, cancel=token)
    assert token.is_cancelled() and report.cancelled
    assert (report.fetched, report.pending) == (2, 3)
    assert seen[0].done == 0 and seen[0].total == 5 and seen[0].account_id == account.id
    dones = [p.done for p in seen]
    assert dones == sorted(dones) and max(dones) == 2
    assert seen[-1].bytes > 0 and seen[-1].total_bytes >= seen[-1].bytes
    # the next run picks up the rest; listeners added to the collector hear it
    heard: List[int] = []
    collector.add_listener(lambda p: heard.append(p.done))
    rest = collector.check_now(account.id or 0)
    assert rest.fetched == 3 and not rest.cancelled and heard[-1] == 3
    assert store.inbox.count() == 5


def test_a_failing_callback_does_not_stop_the_run(
    servers: Servers, mailbox: str, creds: ms.Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    servers.lmtp_deliver(mailbox, message("one"))
    store, account = setup(servers, mailbox, creds)
    unraisable: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def broken(p: ms.Progress) -> None:
        raise RuntimeError("callback bug")

    report = ms.Collector(store, timeout=20).check_now(account.id or 0, on_progress=broken)
    assert report.fetched == 1
    assert unraisable and isinstance(unraisable[0].exc_value, RuntimeError)


def test_schedule_start_and_stop(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    servers.lmtp_deliver(mailbox, message("scheduled"))
    store, account = setup(servers, mailbox, creds)
    done = threading.Event()

    def on_progress(p: ms.Progress) -> None:
        if p.total and p.done == p.total:
            done.set()

    with ms.Collector(store, timeout=20, on_progress=on_progress) as collector:
        collector.start()
        collector.start()  # idempotent
        assert collector.is_running
        assert done.wait(60), "the scheduled run did not happen"
        assert "running=True" in repr(collector)
    assert not collector.is_running
    assert store.inbox.count() == 1
    assert collector.status(account.id or 0).runs >= 1
    collector.stop()  # idempotent


def test_failures_raise_and_are_recorded(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    store, account = setup(servers, mailbox, creds, credential="wrong-password")
    collector = ms.Collector(store, timeout=20)
    with pytest.raises(ms.AuthError) as e:
        collector.check_now(account.id or 0)
    assert e.value.category == "auth" and e.value.report is None
    status = collector.status(account.id or 0)
    assert status.last_error is not None and status.last_error["category"] == "auth"
    assert status.consecutive_failures == 1

    bad_cert = store.create_incoming(
        servers.imap_account(mailbox, name="selfsigned", port=servers.port("MS_IMAPS_SELFSIGNED_PORT"))
    )
    with pytest.raises(ms.CertificateError):
        collector.check_now(bad_cert.id or 0)
    with pytest.raises(ms.NotFoundError):
        collector.check_now("no such account")
    disabled = store.create_incoming(servers.imap_account(mailbox, name="off", enabled=False))
    with pytest.raises(ms.ValidationError, match="disabled"):
        collector.check_now(disabled.id or 0)


def test_collect_once(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    servers.lmtp_deliver(mailbox, message("x"))
    store, good = setup(servers, mailbox, creds)
    bad = store.create_incoming(servers.imap_account(mailbox, name="bad", credential="wrong-password"))
    collector = ms.Collector(store, timeout=20)
    results = collector.collect_once()
    assert isinstance(results[0], ms.RunReport) and results[0].fetched == 1
    assert isinstance(results[1], ms.AuthError)
    token = ms.CancelToken()
    token.cancel()
    cancelled = collector.collect_once([good.id or 0, "bad"], cancel=token)
    assert all(isinstance(r, ms.CancelledError) for r in cancelled)
    assert collector.cancel(good.id or 0) is False
    assert collector.skipped(good.id or 0) == [] and collector.retry_skipped(good.id or 0) == 0


def test_pop3_without_keep_copy_deletes_after_storing(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    for i in range(2):
        servers.lmtp_deliver(mailbox, message(f"pop {i}"))
    store, account = setup(
        servers, mailbox, creds, protocol="POP3", port=servers.port("MS_POP3S_PORT"), keep_copy_on_server=False
    )
    report = ms.Collector(store, timeout=20).check_now(account.id or 0)
    assert (report.fetched, report.deleted_on_server) == (2, 2)
    assert servers.maildir_count(mailbox) == 0
    assert store.inbox.count() == 2


def test_too_large_messages_are_skipped(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    servers.lmtp_deliver(mailbox, message("big", body="x" * 3000 + "\r\n"))
    store, account = setup(servers, mailbox, creds, max_message_size=1024)
    collector = ms.Collector(store, timeout=20)
    report = collector.check_now(account.id or 0)
    assert (report.fetched, report.skipped) == (0, 1)
    [skipped] = collector.skipped(account.id or 0)
    assert skipped["too_large"] is True and skipped["size"] > 1024
    # The refusal is visible in the report and the status, with its outcome word and reason.
    assert report.skipped_too_large == 1
    [problem] = report.problems
    assert problem["outcome"] == "skipped_too_large" and problem["size"] > 1024
    assert "larger than the account's limit of 1024 bytes" in problem["reason"]
    assert report.to_dict()["problems"] == report.problems and report.notes == []
    [recorded] = collector.status(account.id or 0).problems
    assert recorded["outcome"] == "skipped_too_large" and recorded["reason"] == problem["reason"]
    # Every later run reports it again while it is on the server.
    again = collector.check_now(account.id or 0)
    assert again.skipped_too_large == 1 and again.problems[0]["outcome"] == "skipped_too_large"


def test_result_objects_as_dicts(servers: Servers, mailbox: str, creds: ms.Credentials) -> None:
    servers.lmtp_deliver(mailbox, message("dict"))
    store, account = setup(servers, mailbox, creds)
    seen: List[ms.Progress] = []
    collector = ms.Collector(store, timeout=20)
    collector.check_now(account.id or 0, on_progress=seen.append)
    assert seen[-1].to_dict() == {
        "account_id": account.id, "account_name": account.name, "done": 1, "total": 1,
        "bytes": seen[-1].bytes, "total_bytes": seen[-1].total_bytes,
    }
    assert seen[0] != seen[-1] and seen[-1] == seen[-1]
    page = store.inbox.list()
    d = page.to_dict()
    assert d["total"] == 1 and d["messages"][0]["subject"] == "dict"
    assert page[0].to_dict()["from"] == "Sender <sender@example.test>"
    view = store.inbox.read_message(page[0].id)
    assert view.to_dict()["summary"]["id"] == page[0].id
    assert collector.status(account.id or 0).to_dict()["runs"] == 1
    assert "InboxPage(page=1 of 1" in repr(page) and "MessageView(id=" in repr(view)
    assert "MessageSummary(id=" in repr(page[0]) and "AccountStatus(" in repr(collector.status(account.id or 0))
