"""A server built with FastMCP (4.x, on mcp 2.x), for the prober's interoperability test.

``python fastmcp_server.py http PORT`` (streamable HTTP at /mcp) or ``python fastmcp_server.py stdio``.
"""

import sys

from fastmcp import FastMCP

server = FastMCP("fastmcp-probe-target", version="9.9.9")


@server.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.resource("memo://hello")
def hello() -> str:
    """A greeting."""
    return "hello from FastMCP"


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        server.run("stdio", show_banner=False)
    else:
        server.run("http", host="127.0.0.1", port=int(sys.argv[2]), path="/mcp", show_banner=False)
