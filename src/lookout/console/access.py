"""The console under ``security:`` (docs/security.md): the TLS and credentials it reaches Prometheus and
Alertmanager with, and what it enforces itself — a viewer reads every page and runs the panels' queries (POSTs
that only read), creating or expiring a silence needs an operator."""

from __future__ import annotations

import ssl
from typing import Final

from lookout.config.security import Security
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
