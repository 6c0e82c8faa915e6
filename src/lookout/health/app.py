"""The management ASGI app: ``/metrics`` (Prometheus exposition) and ``/health``."""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from lookout import __version__


def management_app(registry: CollectorRegistry, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    started = time.monotonic()

    async def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(registry), media_type=content_type)

    async def health(request: Request) -> Response:
        return JSONResponse(
            {"status": "healthy", "version": __version__, "uptime_seconds": round(time.monotonic() - started, 3)}
        )

    routes: list[BaseRoute] = [
        Route("/metrics", metrics),
        Route("/health", health),
        Route("/health/live", health),
        Route("/health/ready", health),
        Route("/health/startup", health),
        *extra_routes,
    ]
    return Starlette(routes=routes)
