"""The ``security:`` section of ``lookout.yaml``: TLS, users with roles, bearer tokens, redaction, audit.

One block that every generator and ``lookout up`` read (docs/security.md). Secrets are only ever named by
file (a password file, a token file, a key file); a user's bcrypt hash may stand in the config itself since it is
not a secret. Files are checked when they are used (``lookout up``, ``lookout check --controls``), not at parse
time: ``lookout certs`` writes them after the config exists.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Final, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from lookout.config.types import Duration, Name, check_regexes
from lookout.config.types import FrozenModel as _Model
from lookout.config.types import absolute_path as _absolute

BCRYPT_HASH = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")
BCRYPT_MAX_BYTES = 72
"""The longest password bcrypt hashes or checks (UTF-8 bytes); the bcrypt module refuses a longer one."""


class Role(StrEnum):
    """What a principal may do on Lookout's own HTTP endpoints."""

    VIEWER = "viewer"  # read dashboards, metrics, alerts, health
    OPERATOR = "operator"  # also: create and expire silences, change demo faults, reload the exporter


class ClientCertificates(StrEnum):
    OFF = "off"
    REQUEST = "request"  # verified when presented
    REQUIRE = "require"  # every client must present one from the CA


class Tls(_Model):
    enabled: bool = Field(default=False, description="Serve every endpoint over TLS and connect to them over TLS.")
    ca_file: str | None = Field(default=None, description="PEM CA that signed the certificates (clients trust it).")
    cert_file: str | None = Field(default=None, description="PEM server certificate (SANs: every listen host).")
    key_file: str | None = Field(default=None, description="PEM private key of cert_file.")
    client_cert_file: str | None = Field(
        default=None, description="PEM client certificate Lookout's own clients present (Prometheus, console)."
    )
    client_key_file: str | None = Field(default=None, description="PEM private key of client_cert_file.")
    client_certificates: ClientCertificates = Field(
        default=ClientCertificates.OFF, description="Ask clients for a certificate signed by ca_file."
    )
    certificate_validity: Duration = Field(default="90d", description="Lifetime of certificates `lookout certs` makes.")

    _files_absolute = field_validator("ca_file", "cert_file", "key_file", "client_cert_file", "client_key_file")(
        lambda v: _absolute(v)
    )

    @model_validator(mode="after")
    def _files_when_enabled(self) -> Self:
        if self.enabled:
            for name in ("ca_file", "cert_file", "key_file"):
                if not getattr(self, name):
                    raise ValueError(
                        f"tls.{name} is required when tls.enabled is true: run `lookout certs` and name it"
                    )
        if self.client_certificates is not ClientCertificates.OFF and not (
            self.client_cert_file and self.client_key_file
        ):
            raise ValueError(
                "tls.client_certificates needs tls.client_cert_file and tls.client_key_file for Lookout's own clients"
            )
        return self


class User(_Model):
    name: Name
    role: Role = Role.VIEWER
    password_file: str | None = Field(default=None, description="File holding the password (Lookout hashes it).")
    password_hash: str | None = Field(default=None, description="bcrypt hash of the password ($2b$...).")

    _file_absolute = field_validator("password_file")(lambda v: _absolute(v))

    @field_validator("password_hash")
    @classmethod
    def _bcrypt(cls, value: str | None) -> str | None:
        if value is not None and not BCRYPT_HASH.match(value):
            raise ValueError("password_hash is not a bcrypt hash: write one with `lookout certs --hash-password`")
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if self.password_file is None and self.password_hash is None:
            raise ValueError(f"user {self.name!r} has no password: set password_file or password_hash (bcrypt)")
        return self


class Token(_Model):
    name: Name
    role: Role = Role.VIEWER
    token_file: str = Field(description="File holding the bearer token.")

    _file_absolute = field_validator("token_file")(lambda v: _absolute(v))


class Redaction(_Model):
    enabled: bool = Field(default=True, description="Redact secrets and personal data from logs, spans and errors.")
    patterns: list[str] = Field(default_factory=list, description="Extra regexes whose matches are redacted.")

    @field_validator("patterns")
    @classmethod
    def _compile(cls, patterns: list[str]) -> list[str]:
        return check_regexes("redaction.patterns", patterns)


class AuditSettings(_Model):
    enabled: bool = Field(
        default=True, description="Ship the audit trail of tool calls (instrument(..., audit=Audit(path=...)))."
    )
    files: str = Field(
        default="/var/log/lookout/audit/*.jsonl", description="Glob of the audit files Alloy ships as stream=audit."
    )
    retention: Duration = Field(default="400d", description="How long Loki keeps the audit stream.")


class Security(_Model):
    """The ``security:`` section."""

    profile: Literal["open", "secure"] = Field(
        default="open",
        description="secure: TLS and authentication are required, and every non-loopback listener needs both.",
    )
    tls: Tls = Field(default_factory=Tls)
    users: list[User] = Field(default_factory=list, description="Who may call Lookout's endpoints, with a role.")
    tokens: list[Token] = Field(default_factory=list, description="Bearer tokens, by file, with a role.")
    client_user: str | None = Field(
        default=None,
        description="The user (with a password_file) Lookout's own clients log in as: Prometheus scrapes and "
        "alerts, Alertmanager's notifications, the console. Defaults to the first operator with a password_file.",
    )
    open_health: bool = Field(
        default=True, description="/health/live and /health/ready answer without credentials (the kubelet's probes)."
    )
    redaction: Redaction = Field(default_factory=Redaction)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    max_log_retention: Duration = Field(
        default="30d",
        description="The longest any tenant's logs (which may hold personal data) may be kept: "
        "`lookout check --controls` fails a tenant above it.",
    )

    @property
    def auth(self) -> bool:
        return bool(self.users or self.tokens)

    @property
    def enabled(self) -> bool:
        """Whether ``security:`` is switched on: TLS is enabled, or any user or token is configured. Lookout's
        servers and clients then use its certificates and credentials. Redaction and audit do not count: they
        apply either way."""
        return self.tls.enabled or self.auth

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.profile == "secure" and not (self.tls.enabled and self.auth):
            raise ValueError("profile secure needs tls.enabled: true and at least one user or token")
        names = [u.name for u in self.users] + [t.name for t in self.tokens]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"principal {name!r} is defined twice: give each user and token its own name")
        # Tokens alone are no login for Prometheus, Alertmanager and the Pushgateway (the exporter-toolkit takes
        # users only), and Lookout's own clients (scrapes, alerts, the console) log in with a user's password.
        if self.auth and self.client() is None:
            raise ValueError(
                "no user Lookout's own clients can log in as: give an operator a password_file, or set client_user"
                + (
                    "; tokens alone would leave Prometheus, Alertmanager and the Pushgateway without a login"
                    if not self.users
                    else ""
                )
            )
        return self

    def client(self) -> User | None:
        """The user Lookout's clients log in as (None without users)."""
        if self.client_user is not None:
            for user in self.users:
                if user.name == self.client_user:
                    if user.password_file is None:
                        raise ValueError(f"client_user {user.name!r} needs a password_file (clients send the password)")
                    if user.role is not Role.OPERATOR:
                        raise ValueError(
                            f"client_user {user.name!r} is a {user.role}: Alertmanager's notifications to the sink and "
                            "`lookout drill`'s faults are writes, which need an operator: name an operator"
                        )
                    return user
            raise ValueError(f"client_user {self.client_user!r} is not one of security.users")
        return next((u for u in self.users if u.role is Role.OPERATOR and u.password_file), None)

    @property
    def scheme(self) -> str:
        return "https" if self.tls.enabled else "http"

    def mcp_token(self) -> Token | None:
        """The bearer token Lookout's own MCP clients (the demo's traffic) send: the first of ``tokens``. The demo's
        MCP endpoint takes bearer tokens only, as MCP clients authenticate (docs/security.md)."""
        return self.tokens[0] if self.tokens else None


NO_MCP_TOKEN = (
    "security.tokens: the demo's MCP endpoint takes bearer tokens, and security: has users only: add a token, "
    "e.g. {name: demo-client, role: viewer, token_file: .lookout/secrets/demo-client.token} (`lookout certs` "
    "writes the file), or run without the demo (--no-demo)"
)
"""Why the demo cannot run under ``security:`` with users but no token (``lookout up``, ``lookout demo-server``)."""


def loopback_host(host: str | None) -> bool:
    """Whether a host name or address names only this machine's loopback: ``localhost`` (and ``*.localhost``,
    which resolvers and browsers keep on loopback), ``127.0.0.0/8`` or ``::1``."""
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # another name: it may resolve to anything


def is_loopback(address: str) -> bool:
    """Whether ``host:port`` (a listen address, or a request's ``Host``: a port and ``[::1]`` are optional) binds
    or names only loopback."""
    try:
        return loopback_host(urlsplit("//" + address).hostname)
    except ValueError:
        return False


NO_LOGIN_LISTENERS: Final = {
    "ha.victoriametrics": "without a login (VictoriaMetrics takes none, whatever security: says)",
    "ha.alertmanager_cluster": "without TLS or a login (Alertmanager's gossip takes neither, whatever security: says)",
}
"""Listeners of the stack that ``security:`` cannot put behind a login, by field (without its index)."""


def unguarded(field: str, security: Security) -> str | None:
    """Why whoever reaches the listener ``field`` may use it, or None when TLS and authentication guard it."""
    own = NO_LOGIN_LISTENERS.get(field.partition("[")[0])
    if own is not None:
        return own
    return None if security.tls.enabled and security.auth else "without TLS and authentication"


def exposure_warnings(addresses: list[tuple[str, str]], security: Security) -> list[str]:
    """One line per listener beyond loopback, saying what protects it (or that nothing does)."""
    out = []
    for field, address in addresses:
        if is_loopback(address):
            continue
        why = unguarded(field, security)
        if why is None:
            out.append(f"{field}: {address} listens beyond loopback (TLS and authentication are on)")
        elif field.partition("[")[0] in NO_LOGIN_LISTENERS:
            out.append(
                f"{field}: {address} listens beyond loopback {why}: anyone who can reach it can read and change "
                "its data; keep it on 127.0.0.1 (docs/security.md)"
            )
        else:
            out.append(
                f"{field}: {address} listens beyond loopback without TLS and authentication: anyone who can reach "
                "it can read and change the stack; use 127.0.0.1, or set security.profile: secure (docs/security.md)"
            )
    return out
