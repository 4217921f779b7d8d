"""The exceptions of :mod:`mail_settings`.

They are plain Python classes so that scripts can subclass, pickle and catch them like any other
exception. The native module raises them through one function (``errors.rs`` in the crate), which
maps the core library's error categories onto these classes; every instance carries
``category`` (the core's snake_case category word) and the details a script needs to decide what
to do. No exception ever carries a password, token or proxy password.

Hierarchy::

    MailSettingsError
    ├── ValidationError (also ValueError)       invalid settings: .errors(), .results
    │   ├── AmbiguousAccountError               an id or name that is an incoming and an
    │   │                                       SMTP account: .id, .name
    │   └── NoDefaultForError                   a default asked of a kind that has none: .kind
    ├── ParseError (also ValueError)            unreadable document: .format, .line, .column
    ├── CredentialError                         the provider could not give a credential
    ├── ConflictError                           changed since read: .kind, .id, .expected_version
    │   └── InUseError                          connector used by accounts: .used_by
    ├── NotFoundError (also LookupError)        no such record: .kind, .id, .name
    │   └── AccountNotFoundError                no account has the id or name asked for
    │       └── NoDefaultAccountError           no SMTP account is the default account
    ├── StorageError                            the local store failed
    ├── CancelledError                          the work was cancelled
    └── ConnectionError                         on the wire: .hop (proxy only), .reply_code,
                                                .enhanced_code (SMTP replies)
        ├── AuthError                           the server rejected the credentials
        │   └── NeedsSignInError                OAuth2: the refresh token was refused
        ├── TlsError                            TLS failed (incl. STARTTLS not offered)
        │   └── CertificateError                the certificate was rejected
        ├── TimeoutError (also builtins.TimeoutError)
        ├── ConnectError                        TCP connection failed
        │   └── DnsError                        the name does not resolve
        ├── ProxyError                          the network connector failed: .hop
        └── ProtocolError                       the server said no / something unexpected
"""

from __future__ import annotations

import builtins
import typing
from typing import Dict, List, Optional

# Every name the annotations use exists in the module at runtime (none only under
# TYPE_CHECKING), and `Sequence` is reached through `typing`, not imported: mypy's stubtest
# checks this module against the runtime on every CPython from 3.9 on (on 3.9 it reported the
# TYPE_CHECKING-only names as missing and the imported `Sequence` alias as "not a type").
from ._native import RunReport, ValidationResult

__all__ = [
    "MailSettingsError",
    "ValidationError",
    "ParseError",
    "CredentialError",
    "ConflictError",
    "InUseError",
    "NotFoundError",
    "AccountNotFoundError",
    "NoDefaultAccountError",
    "AmbiguousAccountError",
    "NoDefaultForError",
    "StorageError",
    "CancelledError",
    "ConnectionError",
    "AuthError",
    "NeedsSignInError",
    "TlsError",
    "CertificateError",
    "TimeoutError",
    "ConnectError",
    "DnsError",
    "ProxyError",
    "ProtocolError",
]


class MailSettingsError(Exception):
    """Base of every exception this package raises on purpose.

    ``category`` is the core library's category word (``auth``, ``tls``, ``certificate``,
    ``timeout``, ``connect``, ``dns``, ``proxy``, ``protocol``, ``credential``, ``cancelled``,
    ``validation``, ``conflict``, ``not_found``, ``storage``, ``parse``); ``message`` is the
    text, which never holds a secret.
    """

    category: str
    message: str
    #: For a collector run that failed part-way: what it did before (a ``RunReport``).
    report: Optional["RunReport"] = None

    def __init__(self, message: str, *, category: str = "unknown") -> None:
        super().__init__(message)
        self.message = message
        self.category = category

    def __str__(self) -> str:
        return self.message



class ValidationError(MailSettingsError, ValueError):
    """Settings are invalid: every result of the validation is inside.

    Raised when an invalid account, connector or document is *used* (stored, imported,
    checked, sent with, collected); ``validate()`` methods return results instead of raising.
    """

    results: List["ValidationResult"]

    def __init__(
        self,
        message: str,
        *,
        category: str = "validation",
        results: typing.Sequence["ValidationResult"] = (),
    ) -> None:
        super().__init__(message, category=category)
        self.results = list(results)

    def errors(self) -> List[Dict[str, str]]:
        """Every result (errors and warnings) as a dict with ``path``, ``code``,
        ``severity``, ``message`` and ``message_pt_br``."""
        return [r.to_dict() for r in self.results]


class AmbiguousAccountError(ValidationError):
    """The ``id`` or ``name`` asked for is an incoming and an SMTP account: say which kind
    (``check_incoming`` / ``check_smtp``)."""

    id: Optional[int]
    name: Optional[str]

    def __init__(
        self,
        message: str,
        *,
        category: str = "validation",
        id: Optional[int] = None,
        name: Optional[str] = None,
    ) -> None:
        super().__init__(message, category=category)
        self.id = id
        self.name = name


class NoDefaultForError(ValidationError):
    """The default was asked for where there is none to take: only SMTP accounts have a
    default (``kind``: ``incoming account``, ``report schedule``)."""

    kind: str

    def __init__(self, message: str, *, category: str = "validation", kind: str = "") -> None:
        super().__init__(message, category=category)
        self.kind = kind


class ParseError(MailSettingsError, ValueError):
    """A settings document (or dict) could not be read. ``line`` and ``column`` are 1-based,
    0 when unknown (dicts)."""

    format: str
    line: int
    column: int

    def __init__(
        self,
        message: str,
        *,
        category: str = "parse",
        format: str = "json",
        line: int = 0,
        column: int = 0,
    ) -> None:
        super().__init__(message, category=category)
        self.format = format
        self.line = line
        self.column = column


class CredentialError(MailSettingsError):
    """The credential provider could not give a credential. ``credential_id`` names it when
    known; ``path`` is set for a credentials file that could not be used."""

    credential_id: Optional[str]
    path: Optional[str]

    def __init__(
        self,
        message: str,
        *,
        category: str = "credential",
        credential_id: Optional[str] = None,
        path: Optional[str] = None,
    ) -> None:
        super().__init__(message, category=category)
        self.credential_id = credential_id
        self.path = path


class ConflictError(MailSettingsError):
    """The record changed since it was read (optimistic versions): reload it and apply the
    change again. ``expected_version`` is the version the change was based on,
    ``found_version`` the one in the store."""

    kind: str
    id: Optional[int]
    expected_version: Optional[int]
    found_version: Optional[int]

    def __init__(
        self,
        message: str,
        *,
        category: str = "conflict",
        kind: str = "",
        id: Optional[int] = None,
        expected_version: Optional[int] = None,
        found_version: Optional[int] = None,
    ) -> None:
        super().__init__(message, category=category)
        self.kind = kind
        self.id = id
        self.expected_version = expected_version
        self.found_version = found_version


class InUseError(ConflictError):
    """A network connector cannot be deleted or disabled while accounts use it; ``used_by``
    names them (e.g. ``incoming account 3 "Helpdesk"``)."""

    used_by: List[str]

    def __init__(
        self,
        message: str,
        *,
        category: str = "validation",
        kind: str = "",
        id: Optional[int] = None,
        used_by: typing.Sequence[str] = (),
    ) -> None:
        super().__init__(message, category=category, kind=kind, id=id)
        self.used_by = list(used_by)


class NotFoundError(MailSettingsError, LookupError):
    """No record has the id (``id``) or name (``name``) asked for."""

    kind: str
    id: Optional[int]
    name: Optional[str]

    def __init__(
        self,
        message: str,
        *,
        category: str = "not_found",
        kind: str = "",
        id: Optional[int] = None,
        name: Optional[str] = None,
    ) -> None:
        super().__init__(message, category=category)
        self.kind = kind
        self.id = id
        self.name = name


class AccountNotFoundError(NotFoundError):
    """No account of ``kind`` has the ``id`` or ``name`` asked for (an account named by id,
    by name, or as the default)."""


class NoDefaultAccountError(AccountNotFoundError):
    """No account was named and no SMTP account is the default account."""


class StorageError(MailSettingsError):
    """The local store failed: a damaged or foreign file, a newer schema, SQLite, disk."""

    def __init__(self, message: str, *, category: str = "storage") -> None:
        super().__init__(message, category=category)


class CancelledError(MailSettingsError):
    """The work was cancelled (a collector run, a check)."""

    def __init__(self, message: str, *, category: str = "cancelled") -> None:
        super().__init__(message, category=category)


class ConnectionError(MailSettingsError):
    """Something on the wire failed. ``category`` says what; ``hop`` says which hop of a
    proxied connection failed (``proxy_unreachable``, ``proxy_auth``, ``proxy_refused``,
    ``target_unreachable``) and is ``None`` otherwise.

    When an SMTP server's reply caused the error, ``reply_code`` is its code (e.g. ``550``) and
    ``enhanced_code`` its enhanced status code (RFC 3463, e.g. ``"5.1.1"``) when the reply had
    one; both are ``None`` otherwise (timeouts, refused connections, TLS). A 4xx code means the
    server asks to try again later, a 5xx code that trying again will fail again.

    ``is_outcome_unknown`` is true when a message was sent whole and the connection closed (or
    timed out) before the server's final reply: it may have been delivered. Such a message is
    neither transient nor permanent; do not resend it blindly (it may arrive twice)."""

    hop: Optional[str]
    reply_code: Optional[int]
    enhanced_code: Optional[str]
    outcome_unknown: bool

    def __init__(
        self,
        message: str,
        *,
        category: str = "connect",
        hop: Optional[str] = None,
        reply_code: Optional[int] = None,
        enhanced_code: Optional[str] = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message, category=category)
        self.hop = hop
        self.reply_code = reply_code
        self.enhanced_code = enhanced_code
        self.outcome_unknown = outcome_unknown

    @property
    def is_outcome_unknown(self) -> bool:
        """The message may or may not have been delivered: it was sent whole and no final reply
        came (as the core's ``ConnectionError::is_outcome_unknown``). Neither transient nor
        permanent: check before sending it again."""
        return self.outcome_unknown

    @property
    def is_transient(self) -> bool:
        """The server answered 4xx: the same request may succeed later (as the core's
        ``ConnectionError::is_transient``). ``False`` when no reply caused the error."""
        return self.reply_code is not None and 400 <= self.reply_code < 500

    @property
    def is_permanent(self) -> bool:
        """The server answered 5xx: trying the same request again will fail again."""
        return self.reply_code is not None and 500 <= self.reply_code < 600


class AuthError(ConnectionError):
    """The server rejected the credentials. Change the credential, not the connection."""


class NeedsSignInError(AuthError):
    """OAuth2: the authorization server refused the refresh token (``invalid_grant``: revoked,
    expired, password changed). A person must sign in again; until then the credential is not
    tried again. Category ``needs_sign_in``."""


class TlsError(ConnectionError):
    """TLS failed: the handshake, or STARTTLS not offered (never a fallback to clear text)."""


class CertificateError(TlsError):
    """The server's certificate was rejected (untrusted, expired, wrong host name)."""


class TimeoutError(ConnectionError, builtins.TimeoutError):
    """An operation took longer than its bound. Also a :class:`builtins.TimeoutError`."""


class ConnectError(ConnectionError):
    """The TCP connection failed (refused, unreachable)."""


class DnsError(ConnectError):
    """The host name does not resolve."""


class ProxyError(ConnectionError):
    """The network connector (proxy) failed; ``hop`` says which hop."""


class ProtocolError(ConnectionError):
    """The server said something unexpected, or refused a command."""
