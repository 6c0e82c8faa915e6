"""In-process instrumentation of Python MCP servers: one call, :func:`instrument`.

``instrument(server, service="search")`` recognises the official SDK 2.x (``MCPServer``, lowlevel
``Server``) or FastMCP 4, installs metrics, span enrichment, the access log and the health lifecycle, and
returns an :class:`Instrumentation` handle. Options beyond the names come grouped: :class:`Limits`,
:class:`Metrics`, :class:`Tracing`, :class:`Logs` and :class:`Audit`.
"""

from typing import TYPE_CHECKING, Any

from lookout.instrument._instrument import InstrumentableServer, Instrumentation, SdkServer, instrument
from lookout.instrument._options import Audit, Limits, Logs, Metrics, Tracing
from lookout.instrument.json_logs import JsonLogging, configure_json_logging

if TYPE_CHECKING:
    from lookout.instrument.tracing import TracingSetup, configure_tracing


def __getattr__(name: str) -> Any:
    """``TracingSetup`` and ``configure_tracing`` load the OpenTelemetry SDK: only when asked for, so that a
    server instrumented without tracing of its own never loads it."""
    if name in ("TracingSetup", "configure_tracing"):
        from lookout.instrument import tracing

        return getattr(tracing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Audit",
    "InstrumentableServer",
    "Instrumentation",
    "JsonLogging",
    "Limits",
    "Logs",
    "Metrics",
    "SdkServer",
    "Tracing",
    "TracingSetup",
    "configure_json_logging",
    "configure_tracing",
    "instrument",
]
