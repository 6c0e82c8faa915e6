"""The README's instrumentation example as a real process: the example's code as written, two tools,
and one of the ways the README says to serve it. Used by the tests that read what such a process
writes (JSON lines) and that stop it with a signal while nobody reads its stderr."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from tests.support import LOOPBACK, free_port

README = Path(__file__).resolve().parents[2] / "README.md"

Serving = Literal["uvicorn.run", "uvicorn.run log_config=None", "app dictConfig, uvicorn.run", "lookout.serving"]

APP_LOGGING = """
import logging.config
logging.config.dictConfig({  # an application's own logging set-up after instrument()
    "version": 1,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stdout"}},
    "root": {"handlers": ["console"], "level": "INFO"},
})
"""

SERVE = {
    "uvicorn.run": 'uvicorn.run(app, host="{host}", port={port})',
    "uvicorn.run log_config=None": 'uvicorn.run(app, host="{host}", port={port}, log_config=None)',
    "app dictConfig, uvicorn.run": APP_LOGGING + 'uvicorn.run(app, host="{host}", port={port})',
    "lookout.serving": """
import anyio
from lookout.serving import Listener, serve
anyio.run(serve, [Listener(app, "{host}", {port}, "MCP endpoint"), Listener(mgmt, "{host}", {mport}, "management")],
          lambda: handle.drain(grace=5))
""",
}

SCRIPT = """
import logging
import uvicorn

class _DB:
    async def ping(self) -> bool:
        return True

db = _DB()
{example}

@server.tool()
async def lookup(city: str) -> str:
    logging.getLogger("search.app").info("looking up %s", city)
    return city

@server.tool()
async def chatter(lines: int) -> int:
    log = logging.getLogger("search.app")
    for i in range(lines):
        log.info("chatter %d %s", i, "x" * 200)
    return lines

{serve}
"""


def readme_example() -> str:
    section = README.read_text().split("## Instrument a Python MCP server", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert example is not None, "README: no python example under 'Instrument a Python MCP server'"
    return example.group(1)


@dataclass
class Served:
    popen: subprocess.Popen[bytes]
    port: int
    management_port: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/mcp"

    @property
    def metrics_url(self) -> str:
        return f"http://{LOOPBACK}:{self.management_port}/metrics"

    def answers(self) -> bool:
        """The MCP endpoint accepts HTTP (any status: a bare GET is not an MCP request)."""
        if self.popen.poll() is not None:
            raise AssertionError(f"the served example exited with {self.popen.returncode}")
        try:
            httpx.get(self.url, timeout=2)
        except httpx.HTTPError:
            return False
        return True


@contextlib.contextmanager
def served(tmp: Path, serving: Serving, stderr: Any, otlp_endpoint: str) -> Iterator[Served]:
    """Run the example (stdout to a file, stderr to ``stderr``); always stopped and reaped by PID."""
    port, mport = free_port(), free_port()
    script = tmp / "served_example.py"
    serve = SERVE[serving].replace("{host}", LOOPBACK).replace("{port}", str(port)).replace("{mport}", str(mport))
    script.write_text(SCRIPT.replace("{example}", readme_example()).replace("{serve}", serve))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        # tracing=True exports to the OTEL_EXPORTER_OTLP_* endpoint: a loopback one the test chooses
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": otlp_endpoint,
    }
    with (tmp / "stdout.log").open("wb") as out:
        popen = subprocess.Popen([sys.executable, str(script)], stdout=out, stderr=stderr, env=env, cwd=tmp)
    try:
        yield Served(popen, port, mport)
    finally:
        if popen.poll() is None:
            popen.kill()
            popen.wait(10)


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects among ``text``'s lines (uvicorn's own configured handlers write plain text)."""
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                out.append(json.loads(line))
    return out
