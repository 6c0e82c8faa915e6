"""In-process instrumentation of Python MCP servers.

``instrument(server)`` adds a middleware that records every MCP request under the metric
contract of :mod:`lookout.metrics`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from prometheus_client import CollectorRegistry, Histogram

from lookout import metrics as m


@dataclass
class Instrumentation:
    """Handle returned by :func:`instrument`."""

    registry: CollectorRegistry
    middleware: Any


def instrument(server: MCPServer, registry: CollectorRegistry | None = None) -> Instrumentation:
    """Record every request ``server`` handles into ``registry`` (a new one by default)."""
    registry = registry or CollectorRegistry()
    spec = m.OPERATION_DURATION
    histogram = Histogram(spec.name, spec.help, spec.labels, registry=registry, buckets=spec.buckets)

    async def record(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.request_id is None:  # notifications are not operations
            return await call_next(ctx)
        start = time.perf_counter()
        error = ""
        try:
            result = await call_next(ctx)
        except MCPError as exc:
            error = str(exc.error.code)
            raise
        except Exception as exc:
            error = type(exc).__qualname__
            raise
        finally:
            name = ctx.params.get("name") if ctx.params else None
            histogram.labels(
                ctx.method,
                name if ctx.method == "tools/call" and isinstance(name, str) else "",
                name if ctx.method == "prompts/get" and isinstance(name, str) else "",
                error,
                ctx.protocol_version or "",
                "",
            ).observe(time.perf_counter() - start)
        return result

    server.middleware.append(record)
    return Instrumentation(registry=registry, middleware=record)
