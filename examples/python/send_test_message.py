#!/usr/bin/env python3
"""Send the "Test configuration" message (or your own) through an SMTP account of the local
test servers, and say what the server answered. Each failure is its own exception class.

    python examples/python/send_test_message.py --to someone@example.test
    python examples/python/send_test_message.py --security SSL --subject Hello --text "It works"
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

import mail_settings as ms
from local_servers import ca_file, credentials, port


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sender", default="notifications@example.test", help="the account's mailbox")
    parser.add_argument("--to", default="someone@example.test")
    parser.add_argument("--security", choices=["SSL", "TLS"], default="TLS")
    parser.add_argument("--subject", help="default: the test message's subject")
    parser.add_argument("--text", help="default: the test message's text")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)

    account = ms.SmtpAccountForm(
        name="Notifications",
        host="localhost",
        port=port("MS_SMTPS_PORT" if args.security == "SSL" else "MS_SMTP_PORT"),
        secure_connection_type="SSL" if args.security == "SSL" else "TLS",
        sender_email=args.sender,
        credential=args.sender,
        ca_file=ca_file(),
        enable_footer=True,
        footer="Sent by examples/python/send_test_message.py",
    )
    try:
        report = ms.send_test(
            account,
            args.to,
            subject=args.subject,
            message=args.text,
            credentials=credentials(args.sender),
            timeout=args.timeout,
        )
    except ms.ValidationError as e:
        # Settings problems come with one result per field; a bad address in the message
        # itself comes as the exception's text.
        for problem in e.errors():
            print(f"invalid {problem['path']}: {problem['message']}", file=sys.stderr)
        if not e.errors():
            print(f"invalid: {e}", file=sys.stderr)
        return 1
    except ms.AuthError as e:
        print(f"the server refused the login: {e}", file=sys.stderr)
        return 1
    except ms.TlsError as e:
        print(f"TLS failed ({e.category}): {e}", file=sys.stderr)
        return 1
    except ms.ConnectionError as e:
        print(f"sending failed ({e.category}): {e}", file=sys.stderr)
        return 1
    print(f"sent {report.message_id} to {', '.join(report.accepted)}: {report.reply_code} {report.reply_text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
