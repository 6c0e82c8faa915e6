"""A weather MCP server written against the SDK, with no Lookout in it (run it with `lookout instrument`).

Usage: python weather_server.py stdio | python weather_server.py http PORT
"""

import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("weather")


@server.tool()
def forecast(city: str) -> str:
    """Tomorrow's weather in a city."""
    return f"sunny in {city}"


@server.tool()
def divide(a: float, b: float) -> float:
    """a / b (fails for b = 0)."""
    return a / b


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
