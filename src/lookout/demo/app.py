"""Run the demo server: MCP over streamable HTTP plus the management port, in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from lookout.demo.faults import FaultInjector
from lookout.demo.management import fault_routes
from lookout.demo.server import build_server
from lookout.instrument import Logs, Tracing, instrument
from lookout.security.auth import ServerSecurity
from lookout.serving import Listener, serve

DRAIN_TIMEOUT = 10.0


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
) -> None:
    """Serve until SIGINT/SIGTERM; on the signal, stop being ready, drain in-flight requests, exit.

    ``service``/``tenant`` name the server in its JSON log lines and spans (the target's name in lookout.yaml,
    so logs and traces join its metrics); ``otlp_endpoint`` turns tracing (and so exemplars) on;
    ``management_security`` puts the management port (metrics, health, faults) behind TLS and credentials.
    """
    injector = FaultInjector()
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
            Listener(mcp_app, host, port, "MCP endpoint, --port", lifespan="on"),
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
