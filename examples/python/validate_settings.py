#!/usr/bin/env python3
"""Validate a settings document (JSON or TOML): every problem at once, in English or Brazilian
Portuguese. Exits 1 when the document has errors (warnings never block), 2 when it cannot be
read.

    python examples/python/validate_settings.py examples/settings/broken.toml
    python examples/python/validate_settings.py settings.json --credentials creds.json --lang pt-BR
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

import mail_settings as ms


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("document", help="a settings document (.json or .toml)")
    parser.add_argument("--credentials", help="a credentials file: also check that credential ids exist")
    parser.add_argument("--lang", choices=["en", "pt-BR"], default="en")
    args = parser.parse_args(argv)

    try:
        document = ms.SettingsDocument.load(args.document)
        credentials = ms.Credentials.from_file(args.credentials) if args.credentials else None
    except ms.ParseError as e:
        print(f"{args.document}: cannot read it: {e} (line {e.line}, column {e.column})", file=sys.stderr)
        return 2
    except (ms.CredentialError, OSError) as e:
        print(f"cannot read it: {e}", file=sys.stderr)
        return 2

    validation = document.validate(credentials=credentials)
    for result in validation:
        message = result.message if args.lang == "en" else result.message_pt_br
        print(f"{result.severity:7} {result.path}: {message} [{result.code}]")
    counts = (
        f"{len(document.network_connectors)} network connectors, "
        f"{len(document.incoming_accounts)} incoming accounts, {len(document.smtp_accounts)} SMTP accounts"
    )
    print(f"{args.document}: {counts}; {len(validation.errors)} errors, {len(validation.warnings)} warnings")
    return 1 if validation.has_errors else 0


if __name__ == "__main__":
    sys.exit(main())
