"""Import-and-validate smoke test of an installed mail_settings wheel.

Run by mail-settings-py/test.sh in a fresh virtual environment of each CPython it finds (3.9 to
3.13), from outside the source tree, with the settings document to read as its argument. Exits
0 and prints one "smoke ok" line when the installed module validates a form and reads a
document as the core does; any difference is an AssertionError (exit 1).
"""

import sys

import mail_settings as ms

assert ms.__file__ and "site-packages" in ms.__file__, f"not the installed wheel: {ms.__file__}"

# A form with two mistakes: every problem comes back at once, with the core's codes.
account = ms.IncomingAccountForm(name="Helpdesk", protocol="IMAP", host="imap://x", credential="c")
account.port = 70000
codes = {(r.path, r.code) for r in account.validate()}
assert ("host", "invalid_host") in codes, codes
assert ("port", "invalid_port") in codes, codes

# A valid one: the default port of implicit TLS, no errors.
account = ms.IncomingAccountForm(name="Helpdesk", protocol="IMAP", host="imap.example.com", credential="c")
assert account.effective_port == 993, account.effective_port
assert not account.validate().has_errors

# A document read from a file, written and read back as TOML.
doc = ms.SettingsDocument.load(sys.argv[1])
assert [a.name for a in doc.smtp_accounts][:1] == ["Notifications"], doc.smtp_accounts
assert not doc.validate().has_errors, doc.validate().to_list()
assert ms.SettingsDocument.from_toml(doc.to_toml()) == doc

print(f"smoke ok: mail_settings {ms.__version__} on Python {sys.version.split()[0]}")
