"""In-process instrumentation of Python MCP servers: one call, :func:`instrument`.

``instrument(server, service="search")`` recognises the official SDK 2.x (``MCPServer``, lowlevel
``Server``) or FastMCP 4, installs metrics, span enrichment, the access log and the health lifecycle, and
returns an :class:`Instrumentation` handle. Options beyond the names come grouped: :class:`Limits`,
:class:`Metrics`, :class:`Tracing`, :class:`Logs` and :class:`Audit`.
"""

from lookout.instrument._instrument import InstrumentableServer, Instrumentation, SdkServer, instrument
from lookout.instrument._options import Audit, Limits, Logs, Metrics, Tracing
from lookout.instrument.json_logs import JsonLogging, configure_json_logging
from lookout.instrument.tracing import TracingSetup, configure_tracing

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
