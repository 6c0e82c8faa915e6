"""Wire transports for the lean MCP client: streamable HTTP, legacy HTTP+SSE, stdio.

Each moves JSON-RPC messages (plain dicts) and nothing else; :mod:`lookout.probe.protocol` speaks MCP on top.
"""

from lookout.probe.transports.base import Transport, WireStats

__all__ = ["Transport", "WireStats"]
