"""The demo MCP server over stdio, for the prober's stdio tests: ``python stdio_demo.py``."""

from lookout.demo.server import build_server

if __name__ == "__main__":
    build_server().run("stdio")
