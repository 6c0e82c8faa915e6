"""Wire transports for the lean MCP client: streamable HTTP, legacy HTTP+SSE, stdio.

Each moves JSON-RPC messages (plain dicts) and nothing else; :mod:`lookout.probe.protocol` speaks MCP on top.
"""

from lookout.probe.transports.base import MessageTransport, WireStats

__all__ = ["MessageTransport", "WireStats"]
