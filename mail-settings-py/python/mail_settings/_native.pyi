"""Type stubs of the native module ``mail_settings._native`` (PyO3).

Kept by hand, complete: ``tests/test_typing.py`` checks that every public name and attribute
of the module is declared here, and the examples pass ``mypy --strict`` against it.
"""

import datetime
import os
from typing import (
    IO,
    Any,
    Callable,
    ClassVar,
    Dict,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
    final,
    overload,
)

from ._errors import MailSettingsError

__version__: str

Protocol = Literal["IMAP", "POP3"]
SecureConnectionType = Literal["SSL", "TLS"]
ConnectorKind = Literal["SOCKS5", "HTTP_CONNECT"]
Severity = Literal["error", "warning"]
Lang = Literal["en", "pt-BR"]
Status = Literal["enabled", "disabled"]
SecurityWord = Literal["clear", "implicit_tls", "start_tls"]
StrPath = Union[str, "os.PathLike[str]"]
#: What a credentials dict or callable may give: a ``Credential``, ``(username, password)``,
#: or ``{"username": ..., "password" | "oauth2_token": ...}``.
CredentialLike = Union["Credential", Tuple[str, str], Mapping[str, Optional[str]]]
#: Unix seconds or a datetime.
Instant = Union[int, datetime.datetime]


# ----- settings -------------------------------------------------------------------------------

@final
class IncomingAccountForm:
    """An incoming (IMAP/POP3) account: docs/SETTINGS.md "Incoming account"."""

    def __new__(
        cls,
        *,
        id: Optional[int] = None,
        name: str = "",
        keep_copy_on_server: bool = True,
        automatic_check: bool = True,
        check_interval_secs: int = 300,
        enabled: bool = True,
        host: str = "",
        port: Optional[int] = None,
        protocol: Optional[Protocol] = None,
        use_network_connector: bool = False,
        network_connector: Optional[int] = None,
        credential: Optional[str] = None,
        skip_certificate: bool = False,
        use_secure_connection: bool = True,
        secure_connection_type: SecureConnectionType = "SSL",
        ca_file: Optional[StrPath] = None,
        max_message_size: int = 52428800,
        folders: List[str] = ["INBOX"],
        archive_folder: Optional[str] = None,
        use_push: bool = True,
        authentication: Literal["PASSWORD", "OAUTH2"] = "PASSWORD",
        oauth2_client: Optional[int] = None,
    ) -> "IncomingAccountForm": ...
    @property
    def id(self) -> Optional[int]: ...
    @property
    def version(self) -> Optional[int]: ...
    name: str
    keep_copy_on_server: bool
    automatic_check: bool
    check_interval_secs: int
    enabled: bool
    host: str
    port: Optional[int]
    protocol: Optional[Protocol]
    use_network_connector: bool
    network_connector: Optional[int]
    credential: Optional[str]
    skip_certificate: bool
    use_secure_connection: bool
    secure_connection_type: SecureConnectionType
    @property
    def ca_file(self) -> Optional[str]: ...
    @ca_file.setter
    def ca_file(self, value: Optional[StrPath]) -> None: ...
    max_message_size: int
    folders: List[str]
    archive_folder: Optional[str]
    use_push: bool
    authentication: Literal["PASSWORD", "OAUTH2"]
    oauth2_client: Optional[int]
    @property
    def effective_port(self) -> Optional[int]: ...
    def validate(
        self,
        *,
        connectors: Optional[Sequence["NetworkConnectorForm"]] = None,
        credentials: Optional["Credentials"] = None,
    ) -> "Validation": ...
    def to_dict(self) -> Dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "IncomingAccountForm": ...
    def to_json(self) -> str: ...
    def copy(self) -> "IncomingAccountForm": ...
    def __copy__(self) -> "IncomingAccountForm": ...
    def __deepcopy__(self, memo: Any) -> "IncomingAccountForm": ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class SmtpAccountForm:
    """An outgoing (SMTP) account: docs/SETTINGS.md "Outgoing account"."""

    def __new__(
        cls,
        *,
        id: Optional[int] = None,
        name: str = "",
        enabled: bool = True,
        sender_email: str = "",
        reply_to: Optional[str] = None,
        return_path: Optional[str] = None,
        confirmation_email: Optional[str] = None,
        default_account: bool = False,
        send_read_receipt: bool = False,
        force_configuration: bool = False,
        enable_footer: bool = False,
        footer: Optional[str] = None,
        host: str = "",
        port: Optional[int] = None,
        use_secure_connection: bool = True,
        secure_connection_type: SecureConnectionType = "SSL",
        use_authentication: bool = True,
        skip_certificate_errors: bool = False,
        use_network_connector: bool = False,
        network_connector: Optional[int] = None,
        credential: Optional[str] = None,
        ca_file: Optional[StrPath] = None,
        authentication: Literal["PASSWORD", "OAUTH2"] = "PASSWORD",
        oauth2_client: Optional[int] = None,
    ) -> "SmtpAccountForm": ...
    @property
    def id(self) -> Optional[int]: ...
    @property
    def version(self) -> Optional[int]: ...
    name: str
    enabled: bool
    sender_email: str
    reply_to: Optional[str]
    return_path: Optional[str]
    confirmation_email: Optional[str]
    default_account: bool
    send_read_receipt: bool
    force_configuration: bool
    enable_footer: bool
    footer: Optional[str]
    host: str
    port: Optional[int]
    use_secure_connection: bool
    secure_connection_type: SecureConnectionType
    use_authentication: bool
    skip_certificate_errors: bool
    use_network_connector: bool
    network_connector: Optional[int]
    credential: Optional[str]
    @property
    def ca_file(self) -> Optional[str]: ...
    @ca_file.setter
    def ca_file(self, value: Optional[StrPath]) -> None: ...
    authentication: Literal["PASSWORD", "OAUTH2"]
    oauth2_client: Optional[int]
    @property
    def effective_port(self) -> Optional[int]: ...
    def validate(
        self,
        *,
        connectors: Optional[Sequence["NetworkConnectorForm"]] = None,
        credentials: Optional["Credentials"] = None,
    ) -> "Validation": ...
    def to_dict(self) -> Dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SmtpAccountForm": ...
    def to_json(self) -> str: ...
    def copy(self) -> "SmtpAccountForm": ...
    def __copy__(self) -> "SmtpAccountForm": ...
    def __deepcopy__(self, memo: Any) -> "SmtpAccountForm": ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class NetworkConnectorForm:
    """A network connector (SOCKS5 or HTTP CONNECT proxy) accounts may connect through."""

    def __new__(
        cls,
        *,
        id: Optional[int] = None,
        name: str = "",
        enabled: bool = True,
        kind: Optional[ConnectorKind] = None,
        host: str = "",
        port: Optional[int] = None,
        credential: Optional[str] = None,
    ) -> "NetworkConnectorForm": ...
    @property
    def id(self) -> Optional[int]: ...
    @property
    def version(self) -> Optional[int]: ...
    name: str
    enabled: bool
    kind: Optional[ConnectorKind]
    host: str
    port: Optional[int]
    credential: Optional[str]
    def validate(self, *, credentials: Optional["Credentials"] = None) -> "Validation": ...
    def to_dict(self) -> Dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "NetworkConnectorForm": ...
    def to_json(self) -> str: ...
    def copy(self) -> "NetworkConnectorForm": ...
    def __copy__(self) -> "NetworkConnectorForm": ...
    def __deepcopy__(self, memo: Any) -> "NetworkConnectorForm": ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class ValidationResult:
    """One validation result."""

    @property
    def path(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def message(self) -> str: ...
    @property
    def message_pt_br(self) -> str: ...
    @property
    def is_error(self) -> bool: ...
    def to_dict(self) -> Dict[str, str]: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class Validation:
    """Every result of one validation, in the order the fields were checked."""

    @property
    def has_errors(self) -> bool: ...
    @property
    def is_valid(self) -> bool: ...
    @property
    def results(self) -> List[ValidationResult]: ...
    @property
    def errors(self) -> List[ValidationResult]: ...
    @property
    def warnings(self) -> List[ValidationResult]: ...
    def contains(self, path: str, code: str) -> bool: ...
    def to_list(self) -> List[Dict[str, str]]: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> ValidationResult: ...
    def __iter__(self) -> Iterator[ValidationResult]: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class SettingsDocument:
    """A whole set of settings: network connectors, incoming and SMTP accounts."""

    VERSION: ClassVar[int]
    def __new__(
        cls,
        *,
        network_connectors: Optional[Sequence[NetworkConnectorForm]] = None,
        incoming_accounts: Optional[Sequence[IncomingAccountForm]] = None,
        smtp_accounts: Optional[Sequence[SmtpAccountForm]] = None,
        report_schedules: Optional[Sequence[Dict[str, Any]]] = None,
        journal_retention_days: Optional[int] = None,
    ) -> "SettingsDocument": ...
    @property
    def report_schedules(self) -> List[Dict[str, Any]]: ...
    @property
    def journal_retention_days(self) -> Optional[int]:
        """Days the collection journal keeps an entry (1-3650); None means 90."""
    @journal_retention_days.setter
    def journal_retention_days(self, value: Optional[int]) -> None: ...
    @property
    def network_connectors(self) -> List[NetworkConnectorForm]: ...
    @network_connectors.setter
    def network_connectors(self, value: Sequence[NetworkConnectorForm]) -> None: ...
    @property
    def incoming_accounts(self) -> List[IncomingAccountForm]: ...
    @incoming_accounts.setter
    def incoming_accounts(self, value: Sequence[IncomingAccountForm]) -> None: ...
    @property
    def smtp_accounts(self) -> List[SmtpAccountForm]: ...
    @smtp_accounts.setter
    def smtp_accounts(self, value: Sequence[SmtpAccountForm]) -> None: ...
    @staticmethod
    def from_json(text: str) -> "SettingsDocument": ...
    @staticmethod
    def from_toml(text: str) -> "SettingsDocument": ...
    @staticmethod
    def load(path: StrPath, *, format: Optional[Literal["json", "toml"]] = None) -> "SettingsDocument": ...
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SettingsDocument": ...
    def to_json(self) -> str: ...
    def to_toml(self) -> str: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def save(self, path: StrPath, *, format: Optional[Literal["json", "toml"]] = None) -> None: ...
    def validate(self, *, credentials: Optional["Credentials"] = None) -> Validation: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

# ----- credentials ----------------------------------------------------------------------------

@final
class Credential:
    """A user name and a secret (password or OAuth2 access token). Its repr hides the secret."""

    def __new__(
        cls, username: str, password: Optional[str] = None, *, oauth2_token: Optional[str] = None
    ) -> "Credential": ...
    @property
    def username(self) -> str: ...
    @property
    def kind(self) -> Literal["password", "oauth2_token"]: ...
    def expose_secret(self) -> str: ...

@final
class Credentials:
    """A credential provider: in memory, from a credentials file, or from a callable."""

    def __new__(cls, mapping: Optional[Mapping[str, CredentialLike]] = None) -> "Credentials": ...
    @staticmethod
    def from_dict(mapping: Mapping[str, CredentialLike]) -> "Credentials": ...
    @staticmethod
    def from_file(path: StrPath) -> "Credentials": ...
    @staticmethod
    def from_callable(func: Callable[[str], Optional[CredentialLike]]) -> "Credentials": ...
    @property
    def kind(self) -> Literal["memory", "file", "callable", "oauth2"]: ...
    def insert(self, id: str, credential: CredentialLike) -> None: ...
    def remove(self, id: str) -> None: ...
    def get(self, id: str) -> Credential: ...
    def __contains__(self, id: str) -> bool: ...

# ----- store and reports ----------------------------------------------------------------------

@final
class IncomingReportRow:
    """A row of the incoming (IMAP/POP3) report."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def secure_connection(self) -> bool: ...
    @property
    def connection_type(self) -> Optional[SecureConnectionType]: ...
    @property
    def protocol(self) -> Protocol: ...
    @property
    def port(self) -> int: ...
    @property
    def automatic_check(self) -> bool: ...
    @property
    def keep_copy_on_server(self) -> bool: ...
    @property
    def folders(self) -> List[str]: ...
    @property
    def archive_folder(self) -> Optional[str]: ...
    @property
    def push(self) -> bool: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class SmtpReportRow:
    """A row of the SMTP report."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def sender(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def secure_connection(self) -> bool: ...
    @property
    def connection_type(self) -> Optional[SecureConnectionType]: ...
    @property
    def authentication(self) -> bool: ...
    @property
    def default_account(self) -> bool: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

ReportRow = Union[IncomingReportRow, SmtpReportRow]

@final
class ReportPage:
    """One page of a report (``Store.incoming_report`` rows are ``IncomingReportRow``,
    ``Store.smtp_report`` rows ``SmtpReportRow``)."""

    @property
    def rows(self) -> List[ReportRow]: ...
    @property
    def page(self) -> int: ...
    @property
    def page_size(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def page_count(self) -> int: ...
    def to_text(self, lang: Lang = "en") -> str: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> ReportRow: ...
    def __iter__(self) -> Iterator[ReportRow]: ...

#: Where an export goes: a path, or a binary file object.
ExportDestination = Union[StrPath, IO[bytes]]

@final
class Store:
    """The settings store: SQLite in one file, a PostgreSQL database (``path`` a
    ``postgres://`` URL; the password from ``PGPASSWORD`` or a password file), or in memory
    (``path=None``)."""

    def __new__(
        cls, path: Optional[StrPath] = None, *, credentials: Optional[Credentials] = None
    ) -> "Store": ...
    @staticmethod
    def open(path: StrPath, *, credentials: Optional[Credentials] = None) -> "Store": ...
    @staticmethod
    def in_memory(*, credentials: Optional[Credentials] = None) -> "Store": ...
    @property
    def path(self) -> Optional[str]: ...
    @property
    def schema_version(self) -> int: ...
    @property
    def inbox(self) -> "Inbox": ...
    # network connectors
    def create_connector(self, connector: NetworkConnectorForm) -> NetworkConnectorForm: ...
    def get_connector(self, id: int) -> NetworkConnectorForm: ...
    def list_connectors(self) -> List[NetworkConnectorForm]: ...
    def update_connector(self, connector: NetworkConnectorForm) -> NetworkConnectorForm: ...
    def delete_connector(self, id: int, version: int) -> None: ...
    # OAuth2 clients
    def create_oauth2_client(self, client: OAuth2ClientForm) -> OAuth2ClientForm: ...
    def get_oauth2_client(self, id: int) -> OAuth2ClientForm: ...
    def list_oauth2_clients(self) -> List[OAuth2ClientForm]: ...
    def update_oauth2_client(self, client: OAuth2ClientForm) -> OAuth2ClientForm: ...
    def delete_oauth2_client(self, id: int, version: int) -> None: ...
    # incoming accounts
    def create_incoming(self, account: IncomingAccountForm) -> IncomingAccountForm: ...
    def get_incoming(self, account: Union[int, str]) -> IncomingAccountForm: ...
    def list_incoming(self) -> List[IncomingAccountForm]: ...
    def update_incoming(self, account: IncomingAccountForm) -> IncomingAccountForm: ...
    def delete_incoming(self, id: int, version: int) -> None: ...
    # SMTP accounts
    def create_smtp(self, account: SmtpAccountForm) -> SmtpAccountForm: ...
    def get_smtp(self, account: Union[int, str]) -> SmtpAccountForm: ...
    def list_smtp(self) -> List[SmtpAccountForm]: ...
    def update_smtp(self, account: SmtpAccountForm) -> SmtpAccountForm: ...
    def delete_smtp(self, id: int, version: int) -> None: ...
    # documents
    def export_document(self) -> SettingsDocument: ...
    def export(self) -> SettingsDocument:
        """Deprecated: use ``export_document()`` (warns ``DeprecationWarning``)."""
        ...
    def import_document(self, document: SettingsDocument) -> Dict[str, int]: ...
    # sending and checking the store's accounts
    def send(
        self,
        message: "OutgoingMessage",
        *,
        account: Union[int, str, None] = None,
        credentials: Optional[Credentials] = None,
        timeout: Optional[float] = None,
        partial_delivery: bool = False,
    ) -> "SendReport": ...
    def send_test(
        self,
        send_to: str,
        *,
        account: Union[int, str, None] = None,
        subject: Optional[str] = None,
        message: Optional[str] = None,
        credentials: Optional[Credentials] = None,
        timeout: Optional[float] = None,
    ) -> "SendReport": ...
    def check_incoming(
        self,
        account: Union[int, str],
        *,
        credentials: Optional[Credentials] = None,
        timeout: Optional[float] = None,
        mailbox: Optional[str] = None,
    ) -> "CheckReport": ...
    def check_smtp(
        self,
        account: Union[int, str, None] = None,
        *,
        credentials: Optional[Credentials] = None,
        timeout: Optional[float] = None,
    ) -> "CheckReport": ...
    def check(
        self,
        account: Union[int, str, None] = None,
        *,
        credentials: Optional[Credentials] = None,
        timeout: Optional[float] = None,
    ) -> "CheckReport": ...
    # pools
    def smtp_pool(
        self,
        account: Union[int, str, None] = None,
        *,
        credentials: Optional[Credentials] = None,
        timeout: Optional[float] = None,
        max_idle: int = 4,
        idle_timeout: float = 60.0,
        max_open: int = 10,
        wait_timeout: float = 60.0,
    ) -> "SmtpPool": ...
    # reports
    def incoming_report(
        self,
        *,
        name_contains: Optional[str] = None,
        secure_connection: Optional[bool] = None,
        automatic_check: Optional[bool] = None,
        keep_copy: Optional[bool] = None,
        status: Optional[Status] = None,
        page: int = 1,
        page_size: int = 30,
    ) -> ReportPage: ...
    def smtp_report(
        self,
        *,
        name_contains: Optional[str] = None,
        secure_connection: Optional[bool] = None,
        status: Optional[Status] = None,
        authentication: Optional[bool] = None,
        default_account: Optional[bool] = None,
        page: int = 1,
        page_size: int = 30,
    ) -> ReportPage: ...
    @overload
    def incoming_csv(
        self,
        dest: None = None,
        *,
        lang: Lang = "en",
        bom: bool = False,
        name_contains: Optional[str] = None,
        secure_connection: Optional[bool] = None,
        automatic_check: Optional[bool] = None,
        keep_copy: Optional[bool] = None,
        status: Optional[Status] = None,
    ) -> str: ...
    @overload
    def incoming_csv(
        self,
        dest: ExportDestination,
        *,
        lang: Lang = "en",
        bom: bool = False,
        name_contains: Optional[str] = None,
        secure_connection: Optional[bool] = None,
        automatic_check: Optional[bool] = None,
        keep_copy: Optional[bool] = None,
        status: Optional[Status] = None,
    ) -> int: ...
    @overload
    def incoming_html(
        self,
        dest: None = None,
        *,
        lang: Lang = "en",
        name_contains: Optional[str] = None,
        secure_connection: Optional[bool] = None,
        automatic_check: Optional[bool] = None,
        keep_copy: Optional[bool] = None,
        status: Optional[Status] = None,
    ) -> str: ...
    @overload
    def incoming_html(
        self,
        dest: ExportDestination,
        *,
        lang: Lang = "en",
        name_contains: Optional[str] = None,
        secure_connection: Optional[bool] = None,
        automatic_check: Optional[bool] = None,
        keep_copy: Optional[bool] = None,
        status: Optional[Status] = None,
    ) -> int: ...
    @overload
    def smtp_csv(
        self,
        dest: None = None,
        *,
        lang: Lang = "en",
        bom: bool = False,
        name_contains: Optional[str] = None,
        secure_connection: Optional[bool] = None,
        status: Optional[Status] = None,
        authentication: Optional[bool] = None,
        default_account: Optional[bool] = None,
    ) -> str: ...
    @overload
    def smtp_csv(
        self,
        dest: ExportDestination,
        *,
        lang: Lang = "en",
        bom: bool = False,
        name_contains: Optional[str] = None,
        secure_connection: Optional[bool] = None,
        status: Optional[Status] = None,
        authentication: Optional[bool] = None,
        default_account: Optional[bool] = None,
    ) -> int: ...
    @overload
    def smtp_html(
        self,
        dest: None = None,
        *,
        lang: Lang = "en",
        name_contains: Optional[str] = None,
        secure_connection: Optional[bool] = None,
        status: Optional[Status] = None,
        authentication: Optional[bool] = None,
        default_account: Optional[bool] = None,
    ) -> str: ...
    @overload
    def smtp_html(
        self,
        dest: ExportDestination,
        *,
        lang: Lang = "en",
        name_contains: Optional[str] = None,
        secure_connection: Optional[bool] = None,
        status: Optional[Status] = None,
        authentication: Optional[bool] = None,
        default_account: Optional[bool] = None,
    ) -> int: ...

# ----- connection checks ----------------------------------------------------------------------

StageName = Literal[
    "resolve",
    "connect",
    "proxy",
    "tls",
    "greeting",
    "capabilities",
    "mechanisms",
    "authentication",
    "mailbox",
    "folders",
    "extensions",
]
Hop = Literal["proxy_unreachable", "proxy_auth", "proxy_refused", "target_unreachable"]

@final
class CheckStage:
    """One stage of a connection check."""

    @property
    def name(self) -> StageName: ...
    @property
    def ok(self) -> bool: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def detail(self) -> str: ...
    @property
    def category(self) -> Optional[str]: ...
    @property
    def hop(self) -> Optional[Hop]: ...
    @property
    def reply_code(self) -> Optional[int]:
        """On a failure an SMTP reply caused: its code (``535``)."""
    @property
    def enhanced_code(self) -> Optional[str]:
        """On a failure an SMTP reply caused, when it had one: ``"5.7.8"``."""
    @property
    def advice(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class CheckReport:
    """The result of a connection check (returned, not raised; see ``raise_for_failure``)."""

    @property
    def ok(self) -> bool: ...
    @property
    def account(self) -> str: ...
    @property
    def protocol(self) -> Literal["IMAP", "POP3", "SMTP"]: ...
    @property
    def server(self) -> str: ...
    @property
    def security(self) -> SecurityWord: ...
    @property
    def route(self) -> str: ...
    @property
    def stages(self) -> List[CheckStage]: ...
    @property
    def failure(self) -> Optional[CheckStage]: ...
    @property
    def tls(self) -> Optional[Dict[str, Any]]: ...
    @property
    def capabilities(self) -> List[str]: ...
    @property
    def mechanisms(self) -> List[str]: ...
    @property
    def mailbox(self) -> Optional[Dict[str, int]]: ...
    @property
    def folders(self) -> List[Dict[str, Any]]:
        """IMAP: the server's folders (``name``, ``wire``, ``attributes``, ``selectable``,
        ``collected``, ``archive``)."""
    @property
    def size_limit(self) -> Optional[int]: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def to_json(self) -> str: ...
    def raise_for_failure(self) -> None: ...
    def __bool__(self) -> bool: ...

def check_incoming(
    account: IncomingAccountForm,
    *,
    credentials: Optional[Credentials] = None,
    connectors: Optional[Sequence[NetworkConnectorForm]] = None,
    timeout: Optional[float] = None,
    mailbox: Optional[str] = None,
) -> CheckReport: ...
def check_smtp(
    account: SmtpAccountForm,
    *,
    credentials: Optional[Credentials] = None,
    connectors: Optional[Sequence[NetworkConnectorForm]] = None,
    timeout: Optional[float] = None,
) -> CheckReport: ...

# ----- sending --------------------------------------------------------------------------------

@final
class Attachment:
    """A file attached to a message."""

    def __new__(cls, filename: str, content_type: str, content: bytes) -> "Attachment": ...
    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def content(self) -> bytes: ...

@final
class OutgoingMessage:
    """A message to send; addresses are ``a@b`` or ``Name <a@b>``."""

    def __new__(
        cls,
        *,
        to: Optional[Sequence[str]] = None,
        cc: Optional[Sequence[str]] = None,
        bcc: Optional[Sequence[str]] = None,
        from_: Optional[str] = None,
        reply_to: Optional[str] = None,
        return_path: Optional[str] = None,
        subject: Optional[str] = None,
        text: Optional[str] = None,
        html: Optional[str] = None,
        attachments: Optional[Sequence[Attachment]] = None,
        headers: Union[Sequence[Tuple[str, str]], Mapping[str, str], None] = None,
    ) -> "OutgoingMessage": ...
    @property
    def to(self) -> List[str]: ...
    @to.setter
    def to(self, value: Sequence[str]) -> None: ...
    @property
    def cc(self) -> List[str]: ...
    @cc.setter
    def cc(self, value: Sequence[str]) -> None: ...
    @property
    def bcc(self) -> List[str]: ...
    @bcc.setter
    def bcc(self, value: Sequence[str]) -> None: ...
    from_: Optional[str]
    reply_to: Optional[str]
    return_path: Optional[str]
    subject: str
    text: Optional[str]
    html: Optional[str]
    @property
    def attachments(self) -> List[Attachment]: ...
    @attachments.setter
    def attachments(self, value: Sequence[Attachment]) -> None: ...
    @property
    def headers(self) -> List[Tuple[str, str]]: ...
    @headers.setter
    def headers(self, value: Union[Sequence[Tuple[str, str]], Mapping[str, str]]) -> None: ...
    @staticmethod
    def test_message(
        send_to: str, *, subject: Optional[str] = None, message: Optional[str] = None
    ) -> "OutgoingMessage": ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class SendReport:
    """What happened to one message."""

    @property
    def accepted(self) -> List[str]: ...
    @property
    def rejected(self) -> List[Dict[str, Any]]: ...
    @property
    def reply_code(self) -> int: ...
    @property
    def reply_text(self) -> str: ...
    @property
    def message_id(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class ComposedMessage:
    """A message with the account's rules applied: envelope and bytes."""

    @property
    def mail_from(self) -> Optional[str]: ...
    @property
    def rcpt_to(self) -> List[str]: ...
    @property
    def data(self) -> bytes: ...
    @property
    def message_id(self) -> str: ...

def send(
    account: SmtpAccountForm,
    message: OutgoingMessage,
    *,
    credentials: Optional[Credentials] = None,
    connectors: Optional[Sequence[NetworkConnectorForm]] = None,
    timeout: Optional[float] = None,
    partial_delivery: bool = False,
) -> SendReport: ...
def send_many(
    account: SmtpAccountForm,
    messages: Sequence[OutgoingMessage],
    *,
    credentials: Optional[Credentials] = None,
    connectors: Optional[Sequence[NetworkConnectorForm]] = None,
    timeout: Optional[float] = None,
    partial_delivery: bool = False,
) -> List[Union[SendReport, MailSettingsError]]:
    """Per message: its ``SendReport`` (sent), or the exception it failed with. An exception
    whose ``is_outcome_unknown`` is true means the message was sent whole and no final reply
    came: it may have been delivered, and it is not resent."""
def send_test(
    account: SmtpAccountForm,
    send_to: str,
    *,
    subject: Optional[str] = None,
    message: Optional[str] = None,
    credentials: Optional[Credentials] = None,
    connectors: Optional[Sequence[NetworkConnectorForm]] = None,
    timeout: Optional[float] = None,
) -> SendReport: ...
def compose(
    account: SmtpAccountForm,
    message: OutgoingMessage,
    *,
    connectors: Optional[Sequence[NetworkConnectorForm]] = None,
) -> ComposedMessage: ...

@final
class SmtpPool:
    """Sessions to one SMTP account, kept open and reused; shareable between threads."""

    def __new__(
        cls,
        account: SmtpAccountForm,
        *,
        credentials: Optional[Credentials] = None,
        connectors: Optional[Sequence[NetworkConnectorForm]] = None,
        timeout: Optional[float] = None,
        max_idle: int = 4,
        idle_timeout: float = 60.0,
        max_open: int = 10,
        wait_timeout: float = 60.0,
    ) -> "SmtpPool": ...
    def send(self, message: OutgoingMessage) -> SendReport: ...
    def send_many(
        self, messages: Sequence[OutgoingMessage]
    ) -> List[Union[SendReport, MailSettingsError]]:
        """As the module's ``send_many``: a message whose outcome is unknown (an exception with
        ``is_outcome_unknown``) is never resent on a fresh connection."""
    def check_idle(self) -> int: ...
    def close_idle(self) -> None: ...
    @property
    def idle_connections(self) -> int: ...
    @property
    def open_connections(self) -> int: ...
    @property
    def connections_opened(self) -> int: ...
    @property
    def connections_reused(self) -> int: ...
    def __enter__(self) -> "SmtpPool": ...
    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool: ...

# ----- collector and inbox --------------------------------------------------------------------

@final
class Progress:
    """Where a collector run is."""

    @property
    def account_id(self) -> int: ...
    @property
    def account_name(self) -> str: ...
    @property
    def done(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def bytes(self) -> int: ...
    @property
    def total_bytes(self) -> int: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class RunReport:
    """What one collector run did."""

    @property
    def account_id(self) -> int: ...
    @property
    def account_name(self) -> str: ...
    @property
    def listed(self) -> int: ...
    @property
    def fetched(self) -> int: ...
    @property
    def duplicates(self) -> int: ...
    @property
    def already_stored(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def refused(self) -> int: ...
    @property
    def deleted_on_server(self) -> int: ...
    @property
    def pending(self) -> int: ...
    @property
    def bytes(self) -> int: ...
    @property
    def cancelled(self) -> bool: ...
    @property
    def resynced(self) -> bool: ...
    @property
    def skipped_too_large(self) -> int: ...
    @property
    def problems(self) -> List[Dict[str, Any]]:
        """Messages listed and not stored: ``message``, ``outcome`` (``skipped_too_large``,
        ``refused``, ``failed``), ``category``, ``size``, ``reason``, ``attempts``."""
    @property
    def notes(self) -> List[str]: ...
    @property
    def needs_expunging(self) -> bool: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class AccountStatus:
    """Where an account stands with the collector."""

    @property
    def account_id(self) -> int: ...
    @property
    def account_name(self) -> str: ...
    @property
    def running(self) -> bool: ...
    @property
    def last_check(self) -> Optional[int]: ...
    @property
    def last_success(self) -> Optional[int]: ...
    @property
    def last_error(self) -> Optional[Dict[str, str]]: ...
    @property
    def consecutive_failures(self) -> int: ...
    @property
    def runs(self) -> int: ...
    @property
    def fetched(self) -> int: ...
    @property
    def duplicates(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def pending(self) -> int: ...
    @property
    def last_run_fetched(self) -> int: ...
    @property
    def inbox_messages(self) -> int: ...
    @property
    def problems(self) -> List[Dict[str, Any]]: ...
    @property
    def next_check(self) -> Optional[int]: ...
    @property
    def needs_expunging(self) -> bool: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class CancelToken:
    """Stops a collector run at the next message boundary."""

    def __new__(cls) -> "CancelToken": ...
    def cancel(self) -> None: ...
    def is_cancelled(self) -> bool: ...
    @property
    def cancelled(self) -> bool:
        """Deprecated: use ``is_cancelled()`` (warns ``DeprecationWarning``)."""
        ...

AccountRef = Union[int, str]

@final
class Collector:
    """The mail collector over a store's incoming accounts; shareable between threads."""

    def __new__(
        cls,
        store: Store,
        *,
        credentials: Optional[Credentials] = None,
        timeout: Optional[float] = None,
        max_concurrent_accounts: int = 4,
        max_backoff: float = 3600.0,
        rescan_interval: float = 30.0,
        on_progress: Optional[Callable[[Progress], object]] = None,
    ) -> "Collector": ...
    def add_listener(self, callback: Callable[[Progress], object]) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    @property
    def is_running(self) -> bool: ...
    def check_now(
        self,
        account: AccountRef,
        *,
        on_progress: Optional[Callable[[Progress], object]] = None,
        cancel: Optional[CancelToken] = None,
    ) -> RunReport: ...
    def collect_once(
        self,
        accounts: Optional[Sequence[AccountRef]] = None,
        *,
        on_progress: Optional[Callable[[Progress], object]] = None,
        cancel: Optional[CancelToken] = None,
    ) -> List[Union[RunReport, MailSettingsError]]: ...
    def cancel(self, account: AccountRef) -> bool: ...
    def status(self, account: AccountRef) -> AccountStatus: ...
    def statuses(self) -> List[AccountStatus]: ...
    def skipped(self, account: AccountRef) -> List[Dict[str, Any]]: ...
    def retry_skipped(self, account: AccountRef) -> int: ...
    @property
    def inbox(self) -> "Inbox": ...
    def __enter__(self) -> "Collector": ...
    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool: ...

@final
class MessageSummary:
    """One message of an inbox listing."""

    @property
    def id(self) -> int: ...
    @property
    def account_id(self) -> int: ...
    @property
    def account_name(self) -> str: ...
    @property
    def subject(self) -> Optional[str]: ...
    @property
    def from_(self) -> str: ...
    @property
    def to(self) -> str: ...
    @property
    def cc(self) -> str: ...
    @property
    def date(self) -> Optional[int]: ...
    @property
    def stored_at(self) -> int: ...
    @property
    def message_id(self) -> Optional[str]: ...
    @property
    def size(self) -> int: ...
    @property
    def attachment_count(self) -> int: ...
    @property
    def read(self) -> bool: ...
    @property
    def duplicates(self) -> int: ...
    @property
    def source(self) -> str: ...
    @property
    def parse_error(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class MessageView:
    """A message as a person reads it."""

    @property
    def summary(self) -> MessageSummary: ...
    @property
    def text(self) -> Optional[str]: ...
    @property
    def html(self) -> Optional[str]: ...
    @property
    def attachments(self) -> List[Dict[str, Any]]: ...
    @property
    def parse_error(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class InboxPage:
    """One page of an inbox listing, newest first."""

    @property
    def messages(self) -> List[MessageSummary]: ...
    @property
    def page(self) -> int: ...
    @property
    def page_size(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def pages(self) -> int: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> MessageSummary: ...
    def __iter__(self) -> Iterator[MessageSummary]: ...

@final
class Inbox:
    """The messages the collector stored, in the store's file."""

    def __new__(cls, store: Store) -> "Inbox": ...
    def list(
        self,
        *,
        account: Union[int, str, None] = None,
        from_contains: Optional[str] = None,
        subject_contains: Optional[str] = None,
        text_contains: Optional[str] = None,
        since: Optional[Instant] = None,
        until: Optional[Instant] = None,
        unread_only: bool = False,
        page: int = 1,
        page_size: int = 30,
    ) -> InboxPage: ...
    @overload
    def csv(
        self,
        dest: None = None,
        *,
        lang: Lang = "en",
        bom: bool = False,
        account: Union[int, str, None] = None,
        text_contains: Optional[str] = None,
        unread_only: bool = False,
    ) -> str: ...
    @overload
    def csv(
        self,
        dest: ExportDestination,
        *,
        lang: Lang = "en",
        bom: bool = False,
        account: Union[int, str, None] = None,
        text_contains: Optional[str] = None,
        unread_only: bool = False,
    ) -> int: ...
    @overload
    def html(
        self,
        dest: None = None,
        *,
        lang: Lang = "en",
        account: Union[int, str, None] = None,
        text_contains: Optional[str] = None,
        unread_only: bool = False,
    ) -> str: ...
    @overload
    def html(
        self,
        dest: ExportDestination,
        *,
        lang: Lang = "en",
        account: Union[int, str, None] = None,
        text_contains: Optional[str] = None,
        unread_only: bool = False,
    ) -> int: ...
    def count(self, account: Union[int, str, None] = None) -> int: ...
    def message(self, id: int) -> MessageSummary: ...
    def read_message(self, id: int) -> MessageView: ...
    def raw(self, id: int) -> bytes: ...
    def save_raw(self, id: int, path: StrPath) -> int: ...
    def mark_read(self, id: int, read: bool = True) -> None: ...
    def delete(self, id: int) -> None: ...


# ----- report schedules -----

#: A report schedule as a dict with SPEC.md's field names (``name``, ``enabled``, ``report``,
#: ``filters``, ``format``, ``language``, ``recipients``, ``smtp_account``, ``frequency``,
#: ``time_of_day``, ``weekday``, ``day_of_month``, ``time_zone``); from the store also ``id``
#: and ``version``.
ScheduleDict = Dict[str, Any]

@final
class ReportSchedules:
    """The report schedules of a store: CRUD with optimistic versions, and sending."""

    def __new__(cls, store: Store) -> "ReportSchedules": ...
    def create(self, schedule: ScheduleDict) -> ScheduleDict: ...
    def get(self, schedule: Union[int, str]) -> ScheduleDict: ...
    def list(self) -> List[ScheduleDict]: ...
    def update(self, id: int, version: int, schedule: ScheduleDict) -> ScheduleDict: ...
    def delete(self, id: int, version: int) -> None: ...
    def periods(self, schedule: Union[int, str]) -> List[Dict[str, Any]]: ...
    def run_due(
        self, *, credentials: Optional[Credentials] = None, timeout: Optional[float] = None
    ) -> List[Dict[str, Any]]: ...
    def run_now(
        self,
        schedule: Union[int, str],
        *,
        credentials: Optional[Credentials] = None,
        timeout: Optional[float] = None,
    ) -> Dict[str, Any]: ...

def validate_schedule(
    schedule: ScheduleDict, smtp_accounts: Optional[Sequence[SmtpAccountForm]] = None
) -> Validation: ...


# ----- collection journal -----

#: A time filter: RFC 3339 (``"2026-12-06T10:00:00Z"``), a date (``"2026-12-06"``, UTC; as
#: ``until`` the whole day is in), or Unix seconds.
JournalTime = Union[str, int]

@final
class CollectionJournal:
    """The collection journal of a store: every collector run and message outcome."""

    def __new__(cls, store: Store) -> "CollectionJournal": ...
    def page(
        self,
        *,
        account: Optional[Union[int, str]] = None,
        outcome: Optional[str] = None,
        since: Optional[JournalTime] = None,
        until: Optional[JournalTime] = None,
        page: int = 1,
        page_size: int = 30,
    ) -> Dict[str, Any]: ...
    def csv(
        self,
        dest: Optional[ExportDestination] = None,
        *,
        lang: Lang = "en",
        bom: bool = False,
        account: Optional[Union[int, str]] = None,
        outcome: Optional[str] = None,
        since: Optional[JournalTime] = None,
        until: Optional[JournalTime] = None,
    ) -> Union[str, int]: ...
    def html(
        self,
        dest: Optional[ExportDestination] = None,
        *,
        lang: Lang = "en",
        account: Optional[Union[int, str]] = None,
        outcome: Optional[str] = None,
        since: Optional[JournalTime] = None,
        until: Optional[JournalTime] = None,
    ) -> Union[str, int]: ...
    def runs(self, *, account: Optional[int] = None, limit: int = 100) -> List[Dict[str, Any]]: ...
    def retention_days(self) -> int: ...

# ----- OAuth2 ---------------------------------------------------------------------------------

@final
class OAuth2ClientForm:
    """An OAuth2 client (application registration) as a settings record: docs/SETTINGS.md
    "OAuth2 clients". Holds no secret."""

    def __new__(
        cls,
        *,
        id: Optional[int] = None,
        name: str = "",
        enabled: bool = True,
        provider: Optional[Literal["MICROSOFT", "GOOGLE", "CUSTOM"]] = None,
        tenant: Optional[str] = None,
        client_id: str = "",
        client_secret_credential: Optional[str] = None,
        grant: Literal["REFRESH_TOKEN", "CLIENT_CREDENTIALS"] = "REFRESH_TOKEN",
        token_url: Optional[str] = None,
        device_authorization_url: Optional[str] = None,
        authorization_url: Optional[str] = None,
        scopes: List[str] = [],
    ) -> "OAuth2ClientForm": ...
    @property
    def id(self) -> Optional[int]: ...
    @property
    def version(self) -> Optional[int]: ...
    name: str
    enabled: bool
    provider: Optional[Literal["MICROSOFT", "GOOGLE", "CUSTOM"]]
    tenant: Optional[str]
    client_id: str
    client_secret_credential: Optional[str]
    grant: Literal["REFRESH_TOKEN", "CLIENT_CREDENTIALS"]
    token_url: Optional[str]
    device_authorization_url: Optional[str]
    authorization_url: Optional[str]
    scopes: List[str]
    def validate(self) -> "Validation": ...
    def to_dict(self) -> Dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "OAuth2ClientForm": ...
    def to_json(self) -> str: ...
    def copy(self) -> "OAuth2ClientForm": ...
    def __copy__(self) -> "OAuth2ClientForm": ...
    def __deepcopy__(self, memo: Any) -> "OAuth2ClientForm": ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class OAuth2Client:
    """An OAuth2 client (application registration). Holds no secret: the client secret is the
    credential ``client_secret_credential``."""

    def __new__(
        cls,
        name: str,
        client_id: str,
        *,
        provider: Literal["custom", "microsoft", "google"] = "custom",
        tenant: Optional[str] = None,
        client_secret_credential: Optional[str] = None,
        grant: Literal["refresh_token", "client_credentials"] = "refresh_token",
        token_url: Optional[str] = None,
        device_authorization_url: Optional[str] = None,
        authorization_url: Optional[str] = None,
        scopes: Optional[Sequence[str]] = None,
    ) -> "OAuth2Client": ...
    @property
    def name(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def provider(self) -> Literal["custom", "microsoft", "google"]: ...

@final
class SignIn:
    """A user name and a refresh token as the vault keeps them. Its repr hides the token."""

    def __new__(cls, username: str, refresh_token: Optional[str] = None) -> "SignIn": ...
    @property
    def username(self) -> str: ...
    @property
    def refresh_token(self) -> Optional[str]: ...

class TokenStore:
    """Subclass it over your vault: ``load`` and ``save`` sign-ins by credential id. ``save``
    must be durable when it returns (a rotated refresh token replaces the old one)."""

    def __new__(cls, *_args: Any, **_kwargs: Any) -> "TokenStore": ...
    def load(self, credential_id: str) -> Optional[SignIn]: ...
    def save(self, credential_id: str, sign_in: SignIn) -> None: ...

@final
class DeviceSignIn:
    """A device sign-in under way: show ``verification_uri`` and ``user_code``."""

    @property
    def verification_uri(self) -> str: ...
    @property
    def verification_uri_complete(self) -> Optional[str]: ...
    @property
    def user_code(self) -> str: ...
    @property
    def interval(self) -> float: ...
    @property
    def expires_in(self) -> float: ...

@final
class BrowserSignIn:
    """A browser sign-in under way: open ``authorize_url``."""

    @property
    def authorize_url(self) -> str: ...
    @property
    def redirect_uri(self) -> str: ...

@final
class TokenStatus:
    """One credential's OAuth2 state."""

    @property
    def credential(self) -> str: ...
    @property
    def client(self) -> str: ...
    @property
    def state(self) -> Literal["signed_in", "not_yet_used", "needs_sign_in", "client_refused"]: ...
    @property
    def valid_until(self) -> Optional[float]: ...
    @property
    def reason(self) -> Optional[str]: ...

@final
class TokenManager:
    """Obtains, caches and refreshes OAuth2 access tokens; signs people in."""

    def __new__(
        cls,
        credentials: Credentials,
        token_store: Optional[Union[TokenStore, Credentials]] = None,
        store: Optional[Store] = None,
    ) -> "TokenManager": ...
    def bind(self, credential_id: str, client: OAuth2Client) -> None: ...
    def credential_provider(self) -> Credentials: ...
    def start_device_sign_in(self, client: OAuth2Client) -> DeviceSignIn: ...
    def finish_device_sign_in(
        self,
        client: OAuth2Client,
        device: DeviceSignIn,
        credential_id: str,
        username: str,
        timeout: float = 300.0,
    ) -> None: ...
    def start_browser_sign_in(
        self, client: OAuth2Client, login_hint: Optional[str] = None
    ) -> BrowserSignIn: ...
    def finish_browser_sign_in(
        self,
        client: OAuth2Client,
        sign_in: BrowserSignIn,
        credential_id: str,
        username: str,
        timeout: float = 300.0,
    ) -> None: ...
    def status(self) -> List[TokenStatus]: ...
    def needs_sign_in(self, credential_id: str) -> Optional[str]: ...
    @property
    def token_requests(self) -> int: ...
