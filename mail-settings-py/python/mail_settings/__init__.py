"""mail_settings: an application's e-mail account settings, from Python.

Incoming IMAP/POP3 accounts read by a mail collector, outgoing SMTP accounts sending
notifications, and the network connectors (proxies) they reach their servers through: kept in
a settings store, validated with the rules of the settings reference (docs/SETTINGS.md),
exported as reports, checked against their servers, used to send and to collect mail.

Everything here is a thin layer over the Rust library ``mail-settings-core`` (the native module
``mail_settings._native``); the exceptions are in :mod:`mail_settings._errors` and re-exported
here. Network and disk work releases the GIL, and every object may be shared between threads.
"""

import atexit as _atexit
import weakref as _weakref

from ._errors import (
    AccountNotFoundError,
    AmbiguousAccountError,
    AuthError,
    NeedsSignInError,
    CancelledError,
    CertificateError,
    ConflictError,
    ConnectError,
    ConnectionError,
    CredentialError,
    DnsError,
    InUseError,
    MailSettingsError,
    NoDefaultAccountError,
    NoDefaultForError,
    NotFoundError,
    ParseError,
    ProtocolError,
    ProxyError,
    StorageError,
    TimeoutError,
    TlsError,
    ValidationError,
)
from ._native import (
    AccountStatus,
    Attachment,
    CancelToken,
    CheckReport,
    CheckStage,
    CollectionJournal,
    Collector,
    ComposedMessage,
    Credential,
    Credentials,
    Inbox,
    InboxPage,
    IncomingAccountForm,
    IncomingReportRow,
    MessageSummary,
    MessageView,
    NetworkConnectorForm,
    OutgoingMessage,
    # OAuth2
    BrowserSignIn,
    DeviceSignIn,
    OAuth2Client,
    OAuth2ClientForm,
    SignIn,
    TokenManager,
    TokenStatus,
    TokenStore,
    # more
    Progress,
    ReportPage,
    ReportSchedules,
    RunReport,
    SendReport,
    SettingsDocument,
    SmtpAccountForm,
    SmtpPool,
    SmtpReportRow,
    Store,
    Validation,
    ValidationResult,
    __version__,
    check_incoming,
    check_smtp,
    compose,
    send,
    send_many,
    send_test,
    validate_schedule,
)

__all__ = [
    "__version__",
    # settings
    "IncomingAccountForm",
    "SmtpAccountForm",
    "NetworkConnectorForm",
    "SettingsDocument",
    "Validation",
    "ValidationResult",
    # credentials
    "Credential",
    "Credentials",
    # store and reports
    "Store",
    "ReportPage",
    "IncomingReportRow",
    "SmtpReportRow",
    "ReportSchedules",
    "validate_schedule",
    "CollectionJournal",
    # connection checks
    "check_incoming",
    "check_smtp",
    "CheckReport",
    "CheckStage",
    # sending
    "OutgoingMessage",
    "Attachment",
    "ComposedMessage",
    "SendReport",
    "SmtpPool",
    "compose",
    "send",
    "send_many",
    "send_test",
    # collector and inbox
    "Collector",
    "CancelToken",
    "Progress",
    "RunReport",
    "AccountStatus",
    "Inbox",
    "InboxPage",
    "MessageSummary",
    "MessageView",
    # OAuth2 sign-in
    "OAuth2ClientForm",
    "OAuth2Client",
    "TokenManager",
    "TokenStore",
    "SignIn",
    "DeviceSignIn",
    "BrowserSignIn",
    "TokenStatus",
    # exceptions
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

# Names kept one release for scripts written before 0.2: they warn `DeprecationWarning`.
_DEPRECATED_NAMES = {
    "IncomingAccount": "IncomingAccountForm",
    "SmtpAccount": "SmtpAccountForm",
    "NetworkConnector": "NetworkConnectorForm",
}


def __getattr__(name: str) -> object:
    new = _DEPRECATED_NAMES.get(name)
    if new is None:
        raise AttributeError(f"module 'mail_settings' has no attribute {name!r}")
    import warnings

    warnings.warn(
        f"mail_settings.{name} is deprecated: use mail_settings.{new}",
        DeprecationWarning,
        stacklevel=2,
    )
    return globals()[new]


# Collectors that were started, so that their threads stop before the interpreter does.
_running_collectors: "_weakref.WeakSet[Collector]" = _weakref.WeakSet()


@_atexit.register
def _stop_collectors() -> None:
    for collector in list(_running_collectors):
        collector.stop()
