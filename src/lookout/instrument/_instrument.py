"""The implementation of :func:`lookout.instrument.instrument` and its :class:`Instrumentation` handle.

It recognises the official SDK 2.x (``MCPServer`` and the lowlevel ``Server``, via their
``middleware`` hook) and FastMCP 4.x (via its own middleware API), installs metrics (the names of
:mod:`lookout.metrics`), span enrichment, the access log and the health lifecycle, and returns an
:class:`Instrumentation` handle: the Prometheus registry, the health checks, the ASGI wrapper for
transport metrics, the management app, drain and uninstrument.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from typing import TYPE_CHECKING, Any, TypeAlias

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from lookout.health.builtin_checks import default_health
from lookout.health.lifecycle import Health
from lookout.instrument._options import Audit, Limits, Logs, Metrics, Tracing
from lookout.instrument.audit import AuditTrail
from lookout.instrument.drops import register_drop_counter
from lookout.instrument.json_logs import AccessLog, JsonLogging, configure_json_logging
from lookout.instrument.recorder import ProcessLimitsCollector, RequestRecorder
from lookout.instrument.registry import LearnedRegistry, MCPServerRegistry, ServerRegistry
from lookout.instrument.transport import CountingReadStream, CountingWriteStream, count_http
from lookout.protocol import Transport

if TYPE_CHECKING:  # FastMCP is not a dependency; the SDK is imported only when a server is instrumented
    from fastmcp import FastMCP
    from mcp.server.lowlevel.server import Server
    from mcp.server.mcpserver import MCPServer

    from lookout.instrument.tracing import TracingSetup  # loads the OpenTelemetry SDK: only when set up

SdkServer: TypeAlias = "MCPServer[Any] | Server[Any]"
"""A server of the official MCP SDK 2.x: ``MCPServer`` or the lowlevel ``Server``."""

InstrumentableServer: TypeAlias = "MCPServer[Any] | Server[Any] | FastMCP[Any]"
"""What :func:`instrument` accepts: an SDK 2.x ``MCPServer`` or lowlevel ``Server``, or a FastMCP 4 server."""

DEFAULT_LIMITS = Limits()
DEFAULT_METRICS = Metrics()
DEFAULT_TRACING = Tracing()
DEFAULT_LOGS = Logs()
DEFAULT_AUDIT = Audit()

_INSTRUMENTED = "_lookout_instrumented"  # marker attribute: a server is instrumented at most once

logger = logging.getLogger(__name__)


def _version_of(dist: str) -> str:
    try:
        return _dist_version(dist)
    except PackageNotFoundError:
        return ""


@dataclass
class Instrumentation:
    """Handle returned by :func:`instrument`."""

    registry: CollectorRegistry
    recorder: RequestRecorder
    health: Health
    middleware: Any
    framework: str
    server_registry: ServerRegistry | None = None
    tracing: TracingSetup | None = None
    logging: JsonLogging | None = None
    _undo: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def wrap_asgi(self, app: ASGIApp, transport: str | None = None) -> ASGIApp:
        """Wrap the server's HTTP app to count bytes, status codes and transport-level rejections."""
        return count_http(app, self.recorder, transport)

    def wrap_streams(
        self, read_stream: Any, write_stream: Any, transport: str = Transport.STDIO.value
    ) -> tuple[Any, Any]:
        """Wrap a stream transport's server-side streams to count bytes and malformed messages."""
        return (
            CountingReadStream(read_stream, self.recorder, transport),
            CountingWriteStream(write_stream, self.recorder, transport),
        )

    async def run_stdio(self, server: SdkServer) -> None:
        """Serve ``server`` (SDK ``MCPServer``/``Server``) over stdio with byte counting."""
        from mcp.server.stdio import stdio_server

        from lookout.instrument.sdk import lowlevel_server

        low: Server[Any] = lowlevel_server(server)
        async with stdio_server() as (read_stream, write_stream):
            counted_read, counted_write = self.wrap_streams(read_stream, write_stream, Transport.STDIO.value)
            await low.run(counted_read, counted_write, low.create_initialization_options())

    def management_routes(self) -> list[BaseRoute]:
        """``/metrics`` and ``/health*``, to mount into the server's own Starlette app."""
        from lookout.health.app import management_routes

        return management_routes(self.registry, self.health)

    def management_app(self, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
        """The management app to serve on its own port (default ``127.0.0.1:8080``)."""
        from lookout.health.app import management_app

        return management_app(self.registry, extra_routes, health=self.health)

    async def serve_management(self, host: str = "127.0.0.1", port: int = 8080) -> None:
        """Serve the management app on its own port until cancelled (stdio servers have no HTTP app); an
        address that cannot be bound (a taken port) is an ``OSError`` naming it."""
        from lookout.health.app import serve_management

        await serve_management(self.management_app(), host, port)

    async def drain(self, grace: float = 30.0) -> bool:
        """Not ready at once, then wait for in-flight requests (True if they finished in time)."""
        return await self.health.drain(grace)

    def uninstrument(self) -> None:
        """Remove the middleware and hooks (collectors stay in the registry)."""
        while self._undo:
            self._undo.pop()()
        if self.tracing is not None:
            self.tracing.shutdown()
        if self.logging is not None:
            self.logging.stop()


def _add_process_collectors(registry: CollectorRegistry) -> None:
    from prometheus_client import GCCollector, PlatformCollector, ProcessCollector

    for collector in (ProcessCollector, PlatformCollector, GCCollector):
        with contextlib.suppress(ValueError):  # already registered (e.g. the default REGISTRY)
            collector(registry=registry)
    with contextlib.suppress(ValueError):
        registry.register(ProcessLimitsCollector())


def _framework_of(server: object) -> str:
    module = type(server).__module__
    if module.startswith("fastmcp"):
        return "fastmcp"
    from mcp.server.lowlevel.server import Server
    from mcp.server.mcpserver import MCPServer

    if isinstance(server, MCPServer):
        return "mcpserver"
    if isinstance(server, Server):
        return "lowlevel"
    raise TypeError(
        f"lookout.instrument: {type(server).__qualname__} is not an MCP SDK 2.x MCPServer/Server "
        "or a FastMCP 4.x server"
    )


_PARAMETER_TYPES: dict[str, tuple[type, ...]] = {
    "registry": (CollectorRegistry, type(None)),
    "health": (Health, type(None)),
    "limits": (Limits,),
    "metrics": (Metrics,),
    "tracing": (Tracing,),
    "logs": (Logs,),
    "audit": (Audit,),
    "service": (str, type(None)),
    "tenant": (str,),
}


def _check_types(**values: object) -> None:
    """A parameter of the wrong type is refused here, naming it, rather than failing deep inside later."""
    for parameter, value in values.items():
        kinds = _PARAMETER_TYPES[parameter]
        if not isinstance(value, kinds):
            expected = " or ".join("None" if k is type(None) else k.__name__ for k in kinds)
            raise TypeError(f"lookout.instrument: {parameter} must be {expected}, not {type(value).__name__}")


def instrument(
    server: InstrumentableServer,
    registry: CollectorRegistry | None = None,
    *,
    service: str | None = None,
    tenant: str = "",
    health: Health | None = None,
    limits: Limits = DEFAULT_LIMITS,
    metrics: Metrics = DEFAULT_METRICS,
    tracing: Tracing = DEFAULT_TRACING,
    logs: Logs = DEFAULT_LOGS,
    audit: Audit = DEFAULT_AUDIT,
) -> Instrumentation:
    """Instrument ``server`` (SDK ``MCPServer``/``Server`` or FastMCP 4) and return the handle.

    - ``registry``: where the collectors go (a new ``CollectorRegistry`` by default).
    - ``service``/``tenant``: the names the JSON log lines and spans carry (default: the server's name).
    - ``health``: the application's own :class:`~lookout.health.Health` (default: one with the built-in
      checks); either way it learns the in-flight count it drains and exports its checks to ``registry``.
    - ``limits``, ``metrics``, ``tracing``, ``logs``, ``audit``: see :class:`Limits`, :class:`Metrics`,
      :class:`Tracing`, :class:`Logs` and :class:`Audit`.

    Raises ``TypeError`` for any other kind of server or a parameter of the wrong type (``logs=True`` for
    ``logs=Logs(...)``) and ``ValueError`` if ``server`` is instrumented already.
    """
    framework = _framework_of(server)
    _check_types(registry=registry, health=health, limits=limits, metrics=metrics, tracing=tracing, logs=logs)
    _check_types(audit=audit, service=service, tenant=tenant)
    if getattr(server, _INSTRUMENTED, False):
        raise ValueError("lookout.instrument: this server is instrumented already; call uninstrument() first")
    registry = registry if registry is not None else CollectorRegistry()
    name = str(getattr(server, "name", "") or "")
    server_version = str(getattr(server, "version", "") or "")
    sdk, sdk_version = ("fastmcp", _version_of("fastmcp")) if framework == "fastmcp" else ("mcp", _version_of("mcp"))
    if metrics.process:
        _add_process_collectors(registry)
    register_drop_counter(registry)  # log lines and spans the process could not deliver
    recorder = RequestRecorder(
        registry,
        max_in_flight=limits.max_in_flight,
        sdk=sdk,
        sdk_version=sdk_version,
        server_name=name,
        server_version=server_version,
    )
    if health is None:
        health = default_health(
            in_flight=lambda: recorder.in_flight_total,
            max_in_flight=limits.max_in_flight,
            memory_limit_bytes=limits.memory_bytes,
        )
    else:
        health.bind_in_flight(lambda: recorder.in_flight_total)
    health.bind_registry(registry)

    tracing_handle = tracing.setup
    if tracing_handle is None and (tracing.export or tracing.otlp_endpoint):
        from lookout.instrument.tracing import configure_tracing  # the OpenTelemetry SDK: only with tracing

        tracing_handle = configure_tracing(
            service=service or name or "mcp-server",
            endpoint=tracing.otlp_endpoint,
            target_per_second=tracing.traces_per_second,
            slow_seconds=tracing.slow_request_seconds,
        )
    logging_handle = None
    if logs.json:
        logging_handle = configure_json_logging(service=service or name, tenant=tenant)
    access = (
        AccessLog(logs.arguments_for, sample_every=logs.access_sample, slow_seconds=tracing.slow_request_seconds)
        if logs.writes_access_log
        else None
    )

    handle = Instrumentation(
        registry=registry,
        recorder=recorder,
        health=health,
        middleware=None,
        framework=framework,
        tracing=tracing_handle,
        logging=logging_handle,
    )
    trail = (
        AuditTrail(audit.path, service=service or name, tenant=tenant, arguments_for=audit.arguments_for)
        if audit.path is not None
        else None
    )
    if trail is not None:
        handle._undo.append(trail.close)
    setattr(server, _INSTRUMENTED, True)
    handle._undo.append(lambda: setattr(server, _INSTRUMENTED, False))
    if framework == "fastmcp":
        from lookout.instrument import fastmcp as _fastmcp

        _fastmcp.install(server, handle, access_log=access, enrich_spans=tracing.enrich_spans, audit=trail)
        return handle

    from lookout.instrument import sdk as _sdk

    low = _sdk.lowlevel_server(server)
    if framework == "mcpserver":
        server_registry: ServerRegistry = MCPServerRegistry(server)
        handle._undo.append(server_registry.restore)  # type: ignore[attr-defined]
        handle._undo.append(_sdk.wrap_call_tool(server, server_registry.has_tool))
    else:
        server_registry = LearnedRegistry(metrics.tools, metrics.prompts)
    recorder.attach_registry(server_registry)
    handle.server_registry = server_registry

    middleware = _sdk.LookoutMiddleware(
        recorder,
        audit=trail,
        access_log=access,
        enrich_spans=tracing.enrich_spans,
        pipe_transport=metrics.pipe_transport,
        keeper=tracing_handle.keeper if tracing_handle is not None else None,
        roots=(
            _sdk.RootSpans(tracing_handle.sampler.sample_root, tracing_handle.provider.id_generator)
            if tracing_handle is not None and tracing_handle.decides_roots()
            else None
        ),
    )
    handle.middleware = middleware
    handle._undo.append(_sdk.take_span_slot(low, middleware))
    handle._undo.append(_sdk.wrap_lifespan(low, health.lifespan_started, health.lifespan_stopped))
    return handle
