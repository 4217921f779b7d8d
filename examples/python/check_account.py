#!/usr/bin/env python3
"""Check an account of the local test servers stage by stage (resolve, connect, proxy, TLS,
greeting, capabilities, mechanisms, authentication, mailbox), print the report, and exit 1 with
the failed stage's exception when one fails.

    python examples/python/check_account.py --protocol IMAP
    python examples/python/check_account.py --protocol POP3 --security TLS --json
    python examples/python/check_account.py --protocol SMTP --via-proxy
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Literal, Optional

import mail_settings as ms
from local_servers import ca_file, credentials, port

PORTS = {
    ("IMAP", "SSL"): "MS_IMAPS_PORT",
    ("IMAP", "TLS"): "MS_IMAP_PORT",
    ("POP3", "SSL"): "MS_POP3S_PORT",
    ("POP3", "TLS"): "MS_POP3_PORT",
    ("SMTP", "SSL"): "MS_SMTPS_PORT",
    ("SMTP", "TLS"): "MS_SMTP_PORT",
}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=["IMAP", "POP3", "SMTP"], default="IMAP")
    parser.add_argument("--security", choices=["SSL", "TLS"], default="SSL")
    parser.add_argument("--mailbox", default="helpdesk@example.test")
    parser.add_argument("--via-proxy", action="store_true", help="through the local SOCKS5 proxy")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)

    security: Literal["SSL", "TLS"] = "SSL" if args.security == "SSL" else "TLS"
    server_port = port(PORTS[(args.protocol, args.security)])
    proxy = ms.NetworkConnectorForm(id=1, name="local socks", kind="SOCKS5", host="127.0.0.1", port=port("MS_SOCKS5_PORT"))
    connector_id = proxy.id if args.via_proxy else None
    creds = credentials(args.mailbox)
    report: ms.CheckReport
    if args.protocol == "SMTP":
        smtp = ms.SmtpAccountForm(
            name="Notifications",
            host="localhost",
            port=server_port,
            secure_connection_type=security,
            sender_email=args.mailbox,
            credential=args.mailbox,
            ca_file=ca_file(),
            use_network_connector=args.via_proxy,
            network_connector=connector_id,
        )
        report = ms.check_smtp(smtp, credentials=creds, connectors=[proxy], timeout=30)
    else:
        incoming = ms.IncomingAccountForm(
            name="Helpdesk",
            protocol="IMAP" if args.protocol == "IMAP" else "POP3",
            host="localhost",
            port=server_port,
            secure_connection_type=security,
            credential=args.mailbox,
            ca_file=ca_file(),
            use_network_connector=args.via_proxy,
            network_connector=connector_id,
        )
        report = ms.check_incoming(incoming, credentials=creds, connectors=[proxy], timeout=30)

    print(report.to_json() if args.json else report)
    try:
        report.raise_for_failure()
    except ms.ProxyError as e:
        print(f"the network connector failed at {e.hop}: {e}", file=sys.stderr)
        return 1
    except ms.MailSettingsError as e:
        print(f"{type(e).__name__} ({e.category}): {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
