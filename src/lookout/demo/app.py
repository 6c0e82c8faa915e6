"""Run the demo server: MCP over streamable HTTP plus the management port, in one process.

Under ``security:`` the MCP endpoint is a protected MCP server: TLS with the stack's certificate, and the MCP
SDK's own bearer authentication (``MCPServer(token_verifier=..., auth=...)``: 401 with ``WWW-Authenticate:
Bearer``) accepting the tokens of ``security.tokens``. The tokens are handed out beforehand (no authorization
server, so no protected-resource metadata). The token's name is the caller's ``enduser.id`` on the spans.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from prometheus_client import CollectorRegistry

from lookout.config.security import ClientCertificates
from lookout.demo.faults import FaultInjector
from lookout.demo.management import fault_routes
from lookout.demo.server import build_server
from lookout.instrument import Logs, Tracing, instrument
from lookout.security.auth import ServerSecurity
from lookout.serving import Listener, serve

DRAIN_TIMEOUT = 10.0


class ConfiguredTokens:
    """The MCP SDK's ``TokenVerifier`` over the bearer tokens of ``security.tokens`` (compared in constant time by
    :meth:`ServerSecurity.authenticate`); any role may use the MCP endpoint. Basic logins are not bearer tokens."""

    def __init__(self, security: ServerSecurity) -> None:
        self.security = security

    async def verify_token(self, token: str) -> AccessToken | None:
        principal = self.security.authenticate(f"Bearer {token}")
        if principal is None or principal.token is None:
            return None
        return AccessToken(token=token, client_id=principal.name, scopes=[principal.role.value])


def mcp_listener_security(security: ServerSecurity | None) -> ServerSecurity | None:
    """TLS of the MCP endpoint (authentication is the SDK's, in the app): a client certificate is verified when
    presented but never required there, since MCP clients (the prober's modules, the traffic) carry none."""
    if security is None or security.cert_file is None:
        return None
    certificates = min(security.client_certificates, ClientCertificates.REQUEST, key=_strictness)
    return replace(security, principals=(), client_certificates=certificates)


def _strictness(value: ClientCertificates) -> int:
    return [ClientCertificates.OFF, ClientCertificates.REQUEST, ClientCertificates.REQUIRE].index(value)


def plain_console_logging() -> None:
    """Plain log lines on stderr, set before the SDK's server is built: its default console handler renders
    rich tracebacks in the event loop, hundreds of milliseconds per failed call on a busy host, so every
    injected error was a latency fault too (a drill of the error alerts paged the latency ones). A logging
    configuration already in place (or ``json_logs``, which replaces the handlers) is kept."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


async def serve_demo(
    host: str,
    port: int,
    management_host: str,
    management_port: int,
    path: str = "/mcp",
    *,
    service: str = "lookout-demo",
    tenant: str = "",
    json_logs: bool = False,
    otlp_endpoint: str | None = None,
    management_security: ServerSecurity | None = None,
    mcp_security: ServerSecurity | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; on the signal, stop being ready, drain in-flight requests, exit.

    ``service``/``tenant`` name the server in its JSON log lines and spans (the target's name in lookout.yaml,
    so logs and traces join its metrics); ``otlp_endpoint`` turns tracing (and so exemplars) on;
    ``management_security`` puts the management port (metrics, health, faults) behind TLS and credentials;
    ``mcp_security`` the MCP endpoint behind TLS and its bearer tokens (see the module docstring).
    """
    plain_console_logging()
    injector = FaultInjector()
    if mcp_security is not None and any(p.token is not None for p in mcp_security.principals):
        scheme = "https" if mcp_security.cert_file else "http"
        shown = f"[{host}]" if ":" in host else host
        server = build_server(
            injector,
            token_verifier=ConfiguredTokens(mcp_security),
            # The SDK requires an issuer; without resource_server_url it is never advertised.
            auth=AuthSettings(issuer_url=f"{scheme}://{shown}:{port}", resource_server_url=None),
        )
    else:
        server = build_server(injector)
    handle = instrument(
        server,
        CollectorRegistry(),
        service=service,
        tenant=tenant,
        tracing=Tracing(otlp_endpoint=otlp_endpoint),
        logs=Logs(json=json_logs),
    )
    mcp_app = handle.wrap_asgi(server.streamable_http_app(streamable_http_path=path, host=host))
    mgmt_app = handle.management_app(extra_routes=fault_routes(injector))

    async def drain() -> None:
        await handle.drain(DRAIN_TIMEOUT)

    await serve(
        [
            Listener(
                mcp_app, host, port, "MCP endpoint, --port", lifespan="on", security=mcp_listener_security(mcp_security)
            ),
            Listener(
                mgmt_app,
                management_host,
                management_port,
                "management, --management-port",
                security=management_security,
            ),
        ],
        on_signal=drain,
    )
