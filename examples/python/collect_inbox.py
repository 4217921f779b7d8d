#!/usr/bin/env python3
"""Collect a mailbox of the local test servers into a settings store's inbox, with a progress
line per message (Ctrl-C cancels cleanly at a message boundary), then list the inbox.

    python examples/python/collect_inbox.py --mailbox helpdesk@example.test
    python examples/python/collect_inbox.py --store /tmp/settings.db --protocol POP3 --unread
"""

from __future__ import annotations

import argparse
import datetime
import signal
import sys
from types import FrameType
from typing import List, Optional

import mail_settings as ms
from local_servers import ca_file, credentials, port


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailbox", default="helpdesk@example.test")
    parser.add_argument("--store", help="a store file (default: in memory)")
    parser.add_argument("--protocol", choices=["IMAP", "POP3"], default="IMAP")
    parser.add_argument("--unread", action="store_true", help="list only unread messages")
    parser.add_argument("--page-size", type=int, default=30)
    args = parser.parse_args(argv)

    store = ms.Store(args.store, credentials=credentials(args.mailbox))
    name = f"{args.protocol} {args.mailbox}"
    try:
        account = store.get_incoming(store.incoming_report(name_contains=name, page_size=1)[0].id)
    except IndexError:
        account = store.create_incoming(
            ms.IncomingAccountForm(
                name=name,
                protocol="IMAP" if args.protocol == "IMAP" else "POP3",
                host="localhost",
                port=port("MS_IMAPS_PORT" if args.protocol == "IMAP" else "MS_POP3S_PORT"),
                credential=args.mailbox,
                ca_file=ca_file(),
            )
        )
    assert account.id is not None

    cancel = ms.CancelToken()

    def on_signal(signum: int, frame: Optional[FrameType]) -> None:
        print("cancelling at the next message boundary...", file=sys.stderr)
        cancel.cancel()

    signal.signal(signal.SIGINT, on_signal)

    def on_progress(p: ms.Progress) -> None:
        if p.total:
            print(f"  {p.account_name}: {p.done}/{p.total} messages, {p.bytes}/{p.total_bytes} bytes")

    with ms.Collector(store, timeout=30) as collector:
        try:
            report = collector.check_now(account.id, on_progress=on_progress, cancel=cancel)
        except ms.ConnectionError as e:
            print(f"collecting failed ({e.category}): {e}", file=sys.stderr)
            return 1
    print(
        f"{report.account_name}: {report.listed} on the server, {report.fetched} new, "
        f"{report.already_stored} already stored, {report.skipped} skipped"
        + (" (cancelled)" if report.cancelled else "")
    )

    page = store.inbox.list(account=account.id, unread_only=args.unread, page_size=args.page_size)
    print(f"inbox: {page.total} messages (page {page.page} of {max(page.pages, 1)})")
    for m in page:
        when = datetime.datetime.fromtimestamp(m.date or m.stored_at, tz=datetime.timezone.utc)
        mark = " " if m.read else "*"
        print(f"{mark} {m.id:5}  {when:%Y-%m-%d %H:%M}  {m.from_[:30]:30}  {m.subject or '(no subject)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
