"""The management ASGI app: ``/metrics`` (Prometheus exposition, OpenMetrics on request so exemplars
show) and the health endpoints with Kubernetes semantics (see :mod:`lookout.health.lifecycle`).

Serve it on its own port (default ``127.0.0.1:8080``) or mount its routes into the server's Starlette
app with :func:`management_routes`.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from lookout import registry_exposition
from lookout.health.lifecycle import Health, Status

if TYPE_CHECKING:
    from lookout.security.auth import ServerSecurity

DEFAULT_HOST = "127.0.0.1"
"""Where the management app listens by default: loopback, so /metrics is not exposed by accident."""
DEFAULT_PORT = 8080
"""The management app's default port."""


def _probe(ok: bool, body: dict[str, object]) -> Response:
    return JSONResponse(body, status_code=200 if ok else 503, headers={"Cache-Control": "no-store"})


def management_routes(registry: CollectorRegistry, health: Health | None = None) -> list[BaseRoute]:
    """The ``/metrics`` and ``/health*`` routes, to serve alone or mount into another Starlette app."""
    if health is None:  # a process with no instrumented server: ready as soon as it serves
        health = Health()
        health.mark_ready()
    h = health

    async def metrics(request: Request) -> Response:
        body, content_type = registry_exposition.render(registry, request.headers.get("accept", ""))
        return Response(body, media_type=content_type)

    async def aggregate(request: Request) -> Response:
        await h.evaluate_all()
        report = h.report()
        return _probe(report["status"] != Status.UNHEALTHY.value, report)

    async def live(request: Request) -> Response:
        # Never evaluates a check: liveness must not depend on anything downstream.
        return _probe(h.live(), {"status": "alive" if h.live() else "stopped", "phase": h.phase.value})

    async def ready(request: Request) -> Response:
        await h.evaluate_all()
        ok = h.ready()
        failing = sorted(c.name for c in h.checks.values() if c.critical and c.status is Status.UNHEALTHY)
        return _probe(ok, {"ready": ok, "phase": h.phase.value, "failing_critical_checks": failing})

    async def startup(request: Request) -> Response:
        return _probe(h.started(), {"started": h.started(), "phase": h.phase.value})

    return [
        Route("/metrics", metrics),
        Route("/health", aggregate),
        Route("/health/live", live),
        Route("/health/ready", ready),
        Route("/health/startup", startup),
    ]


async def serve_management(
    app: Starlette, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, security: ServerSecurity | None = None
) -> None:
    """Serve the management app on its own port until cancelled (for servers without an HTTP app of
    their own, e.g. stdio); an address that cannot be bound (a taken port) is an ``OSError`` naming it.
    Signals stay with the application. The server has the same bounds against slow and hostile clients as
    Lookout's own (:class:`lookout.serving.ServerLimits`)."""
    import contextlib

    import uvicorn

    from lookout.serving import ServerLimits, uvicorn_config

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    # Bound here, not by uvicorn: uvicorn answers a taken port with SystemExit, which would end the whole
    # program from inside its task group; an OSError is the caller's to handle.
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise OSError(f"management address {host}:{port} is not available: {exc.strerror or exc}") from None
    try:
        config = uvicorn_config(app, ServerLimits(), lifespan="off", security=security, host=host, port=port)
        await _Server(config).serve(sockets=[sock])
    finally:
        sock.close()


def bind(host: str, port: int) -> socket.socket:
    """The management socket, bound now so a taken port is reported before anything is served."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def management_app(
    registry: CollectorRegistry, extra_routes: Sequence[BaseRoute] = (), health: Health | None = None
) -> Starlette:
    """The management app. ``health`` comes from ``instrument(...).health``; without it the health
    endpoints answer ready as soon as the app serves."""
    return Starlette(routes=[*management_routes(registry, health), *extra_routes])
