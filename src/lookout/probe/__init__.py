"""Blackbox prober for MCP servers: a lean JSON-RPC client, probe modules, Prometheus exposition, the exporter.

Reusable client (also used for load generation)::

    from lookout.probe import McpSession

    async with McpSession.open("http://127.0.0.1:8000/mcp") as session:
        tools = await session.list_tools()
        result = await session.call_tool("echo", {"text": "hi"})
"""

from lookout.probe.errors import ProbeFailure
from lookout.probe.protocol import McpSession

__all__ = ["McpSession", "ProbeFailure"]
