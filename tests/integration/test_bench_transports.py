"""`lookout bench` over the prober's other transports: stdio (a child process per session) and HTTP+SSE."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.integration.probe_support import server_argv, start_server
from tests.support import free_port, lookout_argv

pytestmark = pytest.mark.integration

BOUNDED = ["-c", "2", "--requests", "30", "--warmup", "0s", "--timeout", "20s", "--no-save", "--json"]


def bench_json(*args: str) -> dict[str, object]:
    done = subprocess.run(lookout_argv("bench", *args), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    document: dict[str, object] = json.loads(done.stdout)
    return document


def assert_all_ok(result: dict[str, object], requests: int) -> None:
    overall = result["overall"]
    assert isinstance(overall, dict)
    assert (overall["requests"], overall["ok"], overall["errors"]) == (requests, requests, {})


def test_bench_over_stdio() -> None:
    command = shlex.join(server_argv("stdio_demo.py"))
    assert_all_ok(bench_json(command, "--transport", "stdio", *BOUNDED), 30)


def test_bench_over_http_sse(tmp_path: Path) -> None:
    port = free_port()
    server = start_server(server_argv("sse_demo.py", str(port)), tmp_path / "sse.log", port)
    try:
        assert_all_ok(bench_json(f"http://127.0.0.1:{port}/sse", "--transport", "sse", *BOUNDED), 30)
    finally:
        server.stop()
