"""Authentication and roles on Lookout's own HTTP endpoints: an ASGI middleware every server gets through
:mod:`lookout.serving` when ``security:`` has users or tokens, and the TLS settings uvicorn serves with.

Basic credentials are checked against bcrypt hashes (a verified pair is remembered by its SHA-256, so a
scrape every 15 s costs one bcrypt check per process, not one per request), bearer tokens in constant time. A
bcrypt check (tens of milliseconds of CPU) runs in a worker thread, so the server keeps answering meanwhile, and a
client address that keeps sending passwords that need one and fail is refused (429) for a while
(:class:`LoginThrottle`): guessing is slowed down, and bad logins cannot load the server.
Reading (GET, HEAD) needs ``viewer``; every other method needs ``operator`` (silences, demo faults, the
exporter's reload). ``/health/live`` and ``/health/ready`` stay open when ``security.open_health`` says so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import ssl
import time
from collections import deque
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import anyio.to_thread

from lookout.config.security import BCRYPT_MAX_BYTES, ClientCertificates, Role, Security
from lookout.security import SecurityError
from lookout.security.files import Principal, principals, users_file_principals

OPEN_HEALTH_PATHS = frozenset({"/health/live", "/health/ready"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PRINCIPAL_SCOPE_KEY = "lookout.principal"
"""Where the middleware leaves the authenticated principal's name in the ASGI scope (audit records read it)."""
_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1}
FAILED_LOGINS_ALLOWED: Final = 10
"""Password checks that failed, per client address, within :data:`FAILED_LOGIN_WINDOW_SECONDS`; then 429."""
FAILED_LOGIN_WINDOW_SECONDS: Final = 60.0
_THROTTLED_ADDRESSES: Final = 10_000  # addresses remembered at most (memory stays bounded whoever calls)


class _NeedsHash:
    """:meth:`ServerSecurity.known` of Basic credentials only a bcrypt check can judge."""


NEEDS_HASH: Final = _NeedsHash()


@dataclass(frozen=True)
class ServerSecurity:
    """What one server enforces: who may call, with which role, and the TLS it serves."""

    principals: Sequence[Principal] = ()
    open_paths: frozenset[str] = OPEN_HEALTH_PATHS
    read_posts: frozenset[str] = frozenset()
    """Paths whose POST only reads (e.g. a query form): a viewer may send them."""
    cert_file: str | None = None
    key_file: str | None = None
    ca_file: str | None = None
    client_certificates: ClientCertificates = ClientCertificates.OFF
    _verified: dict[bytes, Principal] = field(default_factory=dict, compare=False, repr=False)
    _decoy: list[bytes] = field(default_factory=list, compare=False, repr=False)
    """A hash of nothing at the users' bcrypt cost, made at the first unknown name (see :meth:`authenticate`)."""

    @classmethod
    def from_config(cls, security: Security, read_posts: frozenset[str] = frozenset()) -> ServerSecurity:
        tls = security.tls
        return cls(
            principals=principals(security),
            open_paths=OPEN_HEALTH_PATHS if security.open_health else frozenset(),
            read_posts=read_posts,
            cert_file=tls.cert_file if tls.enabled else None,
            key_file=tls.key_file if tls.enabled else None,
            ca_file=tls.ca_file if tls.enabled else None,
            client_certificates=tls.client_certificates,
        )

    def uvicorn_ssl(self) -> dict[str, Any]:
        """uvicorn's ``ssl_*`` settings (empty without TLS)."""
        if self.cert_file is None:
            return {}
        reqs = {
            ClientCertificates.OFF: ssl.CERT_NONE,
            ClientCertificates.REQUEST: ssl.CERT_OPTIONAL,
            ClientCertificates.REQUIRE: ssl.CERT_REQUIRED,
        }[self.client_certificates]
        return {
            "ssl_certfile": self.cert_file,
            "ssl_keyfile": self.key_file,
            "ssl_ca_certs": self.ca_file,
            "ssl_cert_reqs": reqs,
        }

    def authenticate(self, authorization: str) -> Principal | None:
        """Who ``authorization`` (the header's value) names, or None; may take a bcrypt check (see :meth:`known`)."""
        known = self.known(authorization)
        return self._check_password(authorization) if isinstance(known, _NeedsHash) else known

    def known(self, authorization: str) -> Principal | _NeedsHash | None:
        """What is known of ``authorization`` without a bcrypt check: a token's principal, a remembered user, None for
        credentials that cannot match, or :data:`NEEDS_HASH`."""
        scheme, _, value = authorization.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            found = None
            for principal in self.principals:
                # Compare against every token (no early exit): the time taken says nothing about which matched.
                if principal.token is not None and hmac.compare_digest(principal.token.encode(), value.encode()):
                    found = principal
            return found
        if scheme.lower() != "basic":
            return None
        try:
            name, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        remembered = self._verified.get(hashlib.sha256(f"{name}\0{password}".encode()).digest())
        if remembered is not None:
            return remembered
        if len(password.encode()) > BCRYPT_MAX_BYTES:  # no hash matches it, and bcrypt raises rather than say so
            return None
        return NEEDS_HASH

    def _check_password(self, authorization: str) -> Principal | None:
        """The bcrypt check of Basic credentials :meth:`known` could not judge."""
        import bcrypt

        value = authorization.partition(" ")[2].strip()
        name, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        digest = hashlib.sha256(f"{name}\0{password}".encode()).digest()
        named = [(p, p.password_hash) for p in self.principals if p.name == name and p.password_hash is not None]
        for principal, hashed in named:
            if bcrypt.checkpw(password.encode(), hashed):
                if len(self._verified) < 1024:
                    self._verified[digest] = principal
                return principal
        if not named:
            # As much bcrypt work as a known name costs: how long a refusal takes does not tell who exists.
            bcrypt.checkpw(password.encode(), self._decoy_hash(bcrypt))
        return None

    def _decoy_hash(self, bcrypt: Any) -> bytes:
        if not self._decoy:
            fields = [p.password_hash.split(b"$") for p in self.principals if p.password_hash is not None]
            costs = [int(f[2]) for f in fields if len(f) > 2 and f[2].isdigit() and 4 <= int(f[2]) <= 31]
            self._decoy.append(bcrypt.hashpw(b"", bcrypt.gensalt(max(costs, default=12))))
        return self._decoy[0]

    def required_role(self, method: str, path: str) -> Role | None:
        if path in self.open_paths:
            return None
        if method in READ_METHODS or (method == "POST" and path in self.read_posts):
            return Role.VIEWER
        return Role.OPERATOR


class LoginThrottle:
    """Password checks that failed, per client address: after :data:`FAILED_LOGINS_ALLOWED` within
    :data:`FAILED_LOGIN_WINDOW_SECONDS`, the address's next logins that need a check are refused until the oldest
    failure leaves the window. Logins that need none (tokens, a user already verified: Prometheus' scrapes) pass
    whatever the address did, so a guesser on the same host does not lock Lookout's own clients out."""

    def __init__(
        self,
        allowed: int = FAILED_LOGINS_ALLOWED,
        window: float = FAILED_LOGIN_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allowed, self.window, self._clock = allowed, window, clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, address: str) -> float:
        """Seconds until ``address`` may try a password again (0: now)."""
        failures = self._failures.get(address)
        if failures is None:
            return 0.0
        now = self._clock()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return 0.0
        return failures[0] + self.window - now if len(failures) >= self.allowed else 0.0

    def failed(self, address: str) -> None:
        if address not in self._failures and len(self._failures) >= _THROTTLED_ADDRESSES:
            del self._failures[next(iter(self._failures))]  # the address that failed first, long ago
        self._failures.setdefault(address, deque(maxlen=self.allowed)).append(self._clock())

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)


class AuthMiddleware:
    """401 without valid credentials, 403 when the principal's role is too low, 429 for an address that keeps
    failing password checks (:class:`LoginThrottle`); the principal's name in the scope."""

    def __init__(self, app: Any, security: ServerSecurity, throttle: LoginThrottle | None = None) -> None:
        self.app = app
        self.security = security
        self.throttle = throttle if throttle is not None else LoginThrottle()

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        needed = self.security.required_role(scope["method"], scope["path"])
        if needed is None:
            await self.app(scope, receive, send)
            return
        authorization = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), "")
        principal = self.security.known(authorization) if authorization else None
        if isinstance(principal, _NeedsHash):
            address = (scope.get("client") or ("",))[0]
            wait = self.throttle.retry_after(address)
            if wait > 0:
                retry = str(math.ceil(wait))
                await _plain(
                    send, 429, f"too many failed logins from {address}: retry in {retry} s\n".encode(),
                    [(b"retry-after", retry.encode())],
                )  # fmt: skip
                return
            # In a worker thread: a bcrypt check takes tens of milliseconds the event loop spends on other requests.
            principal = await anyio.to_thread.run_sync(self.security.authenticate, authorization)
            if principal is None:
                self.throttle.failed(address)
            else:
                self.throttle.succeeded(address)
        if not isinstance(principal, Principal):
            await _plain(send, 401, b"authentication required\n", [(b"www-authenticate", b'Basic realm="lookout"')])
            return
        if _RANK[principal.role] < _RANK[needed]:
            await _plain(send, 403, f"{principal.name} ({principal.role}) may not do this: needs {needed}\n".encode())
            return
        scope[PRINCIPAL_SCOPE_KEY] = principal.name
        await self.app(scope, receive, send)


async def _plain(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def server_security(security: Security, read_posts: frozenset[str] = frozenset()) -> ServerSecurity | None:
    """What a Lookout server enforces under ``security:``; None when TLS and authentication are both off."""
    if not security.enabled:
        return None
    return ServerSecurity.from_config(security, read_posts)


@dataclass(frozen=True)
class ManagementFiles:
    """What a management port serves with, by file only (``lookout instrument``'s options): the certificate and
    key it serves TLS with, the CA client certificates must come from, the htpasswd-style users file, and
    whether the kubelet's health paths stay open. ``fields`` names each file the way the user set it."""

    cert_file: str | None = None
    key_file: str | None = None
    client_ca_file: str | None = None
    users_file: str | None = None
    open_health: bool = True
    fields: tuple[str, str, str, str] = ("cert_file", "key_file", "client_ca_file", "users_file")

    def server_security(self) -> ServerSecurity | None:
        """The :class:`ServerSecurity` of these files (None when none is given); :class:`SecurityError` naming
        the field when a file is missing, unreadable or not what it should be."""
        cert_field, key_field, ca_field, users_field = self.fields
        if not (self.cert_file or self.key_file or self.client_ca_file or self.users_file):
            return None
        if bool(self.cert_file) != bool(self.key_file):
            raise SecurityError(f"{cert_field} and {key_field} go together: give both to serve TLS, or neither")
        if self.client_ca_file and not self.cert_file:
            raise SecurityError(f"{ca_field} checks client certificates, which needs TLS: give {cert_field} too")
        if self.cert_file and self.key_file:
            try:
                ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(self.cert_file, self.key_file)
            except (OSError, ssl.SSLError) as exc:
                raise SecurityError(
                    f"{cert_field}, {key_field}: cannot serve TLS with {self.cert_file} and {self.key_file} ({exc}): "
                    "name a PEM certificate and its unencrypted key"
                ) from None
        if self.client_ca_file:
            try:
                ssl.create_default_context(cafile=self.client_ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise SecurityError(f"{ca_field}: {self.client_ca_file} is not a PEM CA ({exc})") from None
        users = users_file_principals(self.users_file, users_field) if self.users_file else []
        return ServerSecurity(
            principals=users,
            open_paths=OPEN_HEALTH_PATHS if self.open_health else frozenset(),
            cert_file=self.cert_file,
            key_file=self.key_file,
            ca_file=self.client_ca_file,
            client_certificates=ClientCertificates.REQUIRE if self.client_ca_file else ClientCertificates.OFF,
        )
