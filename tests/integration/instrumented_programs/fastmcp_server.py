"""A FastMCP 4 server written as anyone would, with no Lookout in it.

Usage: python fastmcp_server.py stdio | python fastmcp_server.py http PORT
"""

import sys

from fastmcp import FastMCP

mcp = FastMCP("notes")


@mcp.tool
def word_count(text: str) -> int:
    """Number of words in a text."""
    return len(text.split())


@mcp.tool
def crash() -> str:
    """Always fails."""
    raise RuntimeError("disk on fire")


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        mcp.run(transport="http", host="127.0.0.1", port=int(sys.argv[2]), show_banner=False)
    else:
        mcp.run(show_banner=False)
