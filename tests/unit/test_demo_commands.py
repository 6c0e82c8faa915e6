"""`lookout demo fault|clear|faults` find the demo server of the `lookout up` running from this directory."""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from typer.testing import CliRunner

from lookout.cli import app
from lookout.demo.faults import FaultInjector
from lookout.demo.management import fault_routes
from lookout.demo.server import build_server
from lookout.runtime.state import StackState
from tests.support import http_server

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lookout.yaml"


class _Faults(BaseHTTPRequestHandler):
    """A demo server's /faults, recording what it was asked."""

    asked: ClassVar[list[str]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        _Faults.asked.append(f"{self.command} {self.path}")
        body = json.dumps({"faults": {}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


def test_without_url_the_commands_reach_the_demo_server_of_the_running_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lookout up --demo-management-port P`: the demo commands used to try :8080 whatever P was."""
    monkeypatch.chdir(tmp_path)
    _Faults.asked.clear()
    with http_server(_Faults) as url:
        StackState(os.getpid(), str(EXAMPLE), str(tmp_path / ".lookout"), None, url).write()
        runner = CliRunner()
        for args in (["fault", "echo", "--error-ratio", "0.5"], ["faults"], ["clear"]):
            result = runner.invoke(app, ["demo", *args])
            assert result.exit_code == 0, result.output
    assert _Faults.asked == ["PUT /faults/echo", "GET /faults", "DELETE /faults"]


def test_the_commands_reach_the_demo_server_of_a_stack_with_another_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lookout up --data-dir stack`: the demo commands used to look in .lookout only and then try :8080, which
    may be another stack's demo server."""
    monkeypatch.chdir(tmp_path)
    _Faults.asked.clear()
    with http_server(_Faults) as url:
        StackState(os.getpid(), str(EXAMPLE), str(tmp_path / "stack"), None, url).write()
        runner = CliRunner()
        for args in (["fault", "echo", "--error-ratio", "0.5"], ["faults"], ["clear"]):
            result = runner.invoke(app, ["demo", *args, "--data-dir", "stack"])
            assert result.exit_code == 0, result.output
    assert _Faults.asked == ["PUT /faults/echo", "GET /faults", "DELETE /faults"]


def test_a_fault_for_a_tool_the_demo_server_lacks_is_refused() -> None:
    # A typo would inject nothing, and the alert it was meant to fire would never come.
    injector = FaultInjector()
    build_server(injector)
    client = TestClient(Starlette(routes=fault_routes(injector)))
    refused = client.put("/faults/calcualte", json={"error_ratio": 0.5})
    assert refused.status_code == 400
    assert "no tool 'calcualte': use one of calculate, echo, " in refused.json()["error"]
    assert client.get("/faults").json() == {}
    for tool in ("calculate", "*"):
        assert client.put(f"/faults/{tool}", json={"error_ratio": 0.5}).status_code == 200
    assert sorted(client.get("/faults").json()) == ["*", "calculate"]
