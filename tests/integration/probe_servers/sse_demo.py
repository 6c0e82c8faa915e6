"""The demo MCP server over legacy HTTP+SSE, for the prober's SSE tests: ``python sse_demo.py PORT``."""

import sys

import uvicorn

from lookout.demo.server import build_server

if __name__ == "__main__":
    app = build_server().sse_app(host="127.0.0.1")
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
