#!/usr/bin/env python3
"""Validations per second from Python, beside the same work in Rust.

The work is the one of ``mail-settings-core/benches/store_reports.rs``: 1000 incoming account
forms (mixed IMAP/POP3, security, one in twenty through a connector) validated against a
connector list, 200 rounds; then one full SMTP form the same number of times. Python adds the
cost of crossing into the native module for every call.

    python mail-settings-py/bench/bench_validate.py            # Python figures
    python mail-settings-py/bench/bench_validate.py --rust     # and the Rust ones (cargo bench)

Prints figures; asserts nothing. Use a release wheel (``maturin build --release``) for figures
worth comparing: the test command's wheel is a debug build.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, List

import mail_settings as ms

REPO = Path(__file__).resolve().parents[2]
NAMES = ["Helpdesk", "Billing", "Support", "Alerts", "Sales"]


def incoming(i: int) -> ms.IncomingAccount:
    return ms.IncomingAccount(
        name=f"{NAMES[i % len(NAMES)]} {i:06}",
        keep_copy_on_server=i % 3 != 0,
        automatic_check=i % 4 != 0,
        enabled=i % 10 != 0,
        host=f"imap{i % 50}.mail.example.com",
        port=10993 if i % 7 == 0 else None,
        protocol="IMAP" if i % 2 == 0 else "POP3",
        use_network_connector=i % 20 == 0,
        network_connector=1 if i % 20 == 0 else None,
        credential=f"mailbox-{i}",
        use_secure_connection=i % 11 != 0,
        secure_connection_type="TLS" if i % 3 == 0 else "SSL",
    )


def smtp() -> ms.SmtpAccount:
    return ms.SmtpAccount(
        name="Notifications",
        sender_email="noreply@example.com",
        reply_to="support@example.com",
        return_path="bounces@example.com",
        confirmation_email="receipts@example.com",
        send_read_receipt=True,
        enable_footer=True,
        footer="-- \nSent by the vault; do not reply.",
        host="smtp.example.com",
        use_network_connector=True,
        network_connector=1,
        credential="smtp-notify",
    )


def rate(n: int, f: Callable[[], None]) -> float:
    start = time.perf_counter()
    f()
    return n / (time.perf_counter() - start)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description="validations per second, Python and Rust")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--rust", action="store_true", help="also run the Rust bench (cargo bench)")
    args = parser.parse_args(argv)

    connectors = [ms.NetworkConnector(id=1, name="dc-east", kind="SOCKS5", host="10.0.0.5", port=1080,
                                      credential="proxy-east")]
    forms = [incoming(i) for i in range(1000)]
    smtp_form = smtp()
    rounds = args.rounds
    assert not any(f.validate(connectors=connectors).has_errors for f in forms)

    def incoming_loop() -> None:
        for _ in range(rounds):
            for f in forms:
                f.validate(connectors=connectors)

    def smtp_loop() -> None:
        for _ in range(rounds * len(forms)):
            smtp_form.validate(connectors=connectors)

    def standalone_loop() -> None:
        for _ in range(rounds):
            for f in forms:
                f.validate()

    document = ms.SettingsDocument(network_connectors=connectors, incoming_accounts=forms, smtp_accounts=[smtp_form])

    def document_loop() -> None:
        for _ in range(max(1, rounds // 20)):
            document.validate()

    n = rounds * len(forms)
    print(f"python {sys.version.split()[0]}, mail_settings {ms.__version__}")
    print(f"python IncomingAccount.validate(connectors=...): {rate(n, incoming_loop):>12,.0f} validations/s")
    print(f"python SmtpAccount.validate(connectors=...):     {rate(n, smtp_loop):>12,.0f} validations/s")
    print(f"python IncomingAccount.validate():               {rate(n, standalone_loop):>12,.0f} validations/s")
    docs = max(1, rounds // 20)
    print(f"python SettingsDocument.validate() (1001 records): {rate(docs * 1001, document_loop):>10,.0f} records/s")

    if args.rust:
        out = subprocess.run(
            ["cargo", "bench", "-p", "mail-settings-core", "--bench", "store_reports"],
            cwd=REPO, capture_output=True, text=True,
        )
        lines = [line for line in out.stdout.splitlines() if re.match(r"validate_(incoming|smtp):", line)]
        if out.returncode != 0 or not lines:
            print(out.stdout + out.stderr, file=sys.stderr)
            return 1
        for line in lines:
            print(f"rust   {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
