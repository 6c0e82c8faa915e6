"""The console under ``security:`` (docs/security.md): the TLS and credentials it reaches Prometheus and
Alertmanager with, and what it enforces itself — a viewer reads every page and runs the panels' queries (POSTs
that only read), creating or expiring a silence needs an operator."""

from __future__ import annotations

import ssl
from typing import Final

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from lookout.config.security import Security, is_loopback
from lookout.console.clients import UpstreamAccess
from lookout.security import SecurityError
from lookout.security.auth import ServerSecurity, server_security
from lookout.security.files import client_password

READ_ONLY_POSTS: Final = frozenset({"/api/prom/query", "/api/prom/query_range"})


def upstream_access(security: Security) -> UpstreamAccess:
    verify: ssl.SSLContext | bool = True
    tls = security.tls
    if tls.enabled:
        try:
            context = ssl.create_default_context(cafile=tls.ca_file)
            if tls.client_cert_file:
                context.load_cert_chain(tls.client_cert_file, tls.client_key_file)
        except (OSError, ssl.SSLError) as exc:
            raise SecurityError(f"security.tls: the console cannot load its CA or client certificate: {exc}") from None
        verify = context
    return UpstreamAccess(verify, client_password(security) if security.auth else None)


def console_security(security: Security) -> ServerSecurity | None:
    return server_security(security, read_posts=READ_ONLY_POSTS)


def scheme_of(security: Security, url: str) -> str:
    """A default upstream URL (``http://host:port``) in the scheme the stack serves."""
    return "https://" + url.removeprefix("http://") if security.tls.enabled and url.startswith("http://") else url


class LoopbackHostsOnly:
    """A console listening on loopback answers only requests that name a loopback host. Without it, any web page
    could point a name of its own at 127.0.0.1 (DNS rebinding) and then, as the same origin, read the console and
    post its silence forms; those requests carry that page's name in ``Host``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if not is_loopback(host):
                refused = PlainTextResponse(
                    f"Host {host!r} refused: this console listens on loopback only; open it as "
                    "http://127.0.0.1:<port> or http://localhost:<port>",
                    status_code=403,
                )
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)
