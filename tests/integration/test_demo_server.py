from __future__ import annotations

import json

import httpx
import pytest
from mcp.client.client import Client
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from lookout import metrics as m
from lookout.cli import app
from tests.support import DemoServer, wait_until

pytestmark = pytest.mark.integration


async def test_demo_server_serves_mcp_and_counts_requests(demo_server: DemoServer) -> None:
    async with Client(demo_server.url) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"search_docs", "get_weather", "calculate", "generate_report", "echo"} <= tools
        result = await client.call_tool("calculate", {"expression": "(2 + 3) * 4"})
        assert not result.is_error
    metrics = httpx.get(demo_server.metrics_url).text
    assert "mcp_server_operation_duration_seconds_count{" in metrics
    assert 'gen_ai_tool_name="calculate"' in metrics


async def test_fault_injection_makes_a_tool_fail_at_runtime(demo_server: DemoServer) -> None:
    r = httpx.put(f"{demo_server.management_url}/faults/echo", json={"error_ratio": 1.0})
    assert r.status_code == 200 and r.json()["echo"]["error_ratio"] == 1.0
    async with Client(demo_server.url) as client:
        assert (await client.call_tool("echo", {"text": "x"})).is_error
        assert not (await client.call_tool("calculate", {"expression": "1+1"})).is_error
        httpx.delete(f"{demo_server.management_url}/faults")
        assert not (await client.call_tool("echo", {"text": "x"})).is_error


def test_fault_endpoint_rejects_bad_values(demo_server: DemoServer) -> None:
    r = httpx.put(f"{demo_server.management_url}/faults/echo", json={"error_ratio": 2})
    assert r.status_code == 400
    assert "error_ratio" in r.json()["error"]


def _scrape(demo_server: DemoServer) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """``{sample name: {sorted labels: value}}`` of the demo server's /metrics."""
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(httpx.get(demo_server.metrics_url).text):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def _errors(scrape: dict[str, dict[tuple[tuple[str, str], ...], float]], tool: str, error_class: str) -> float:
    key = tuple(sorted({m.MCP_METHOD: "tools/call", m.TOOL_NAME: tool, m.ERROR_CLASS: error_class}.items()))
    return scrape[f"{m.OPERATION_ERRORS.name}_total"][key]


async def test_fault_kinds_a_crash_is_the_servers_fault_a_tool_error_the_tools(demo_server: DemoServer) -> None:
    faults = f"{demo_server.management_url}/faults"
    r = httpx.put(f"{faults}/echo", json={"error_ratio": 1.0})  # no kind: an unexpected exception
    assert r.status_code == 200 and r.json()["echo"]["kind"] == "exception"
    r = httpx.put(f"{faults}/calculate", json={"error_ratio": 1.0, "kind": "tool_error"})
    assert r.status_code == 200 and r.json()["calculate"]["kind"] == "tool_error"
    before = _scrape(demo_server)
    for tool in ("echo", "calculate"):
        for error_class in m.ERROR_CLASSES:
            assert _errors(before, tool, error_class) == 0  # primed before the first failure
    async with Client(demo_server.url) as client:
        crashed = await client.call_tool("echo", {"text": "x"})
        refused = await client.call_tool("calculate", {"expression": "1+1"})
    assert crashed.is_error and "injected" not in str(crashed.content)  # the SDK withholds a crash's text
    assert refused.is_error and "injected fault in calculate" in str(refused.content)
    after = _scrape(demo_server)
    assert _errors(after, "echo", m.ERROR_CLASS_SERVER) == 1
    assert _errors(after, "calculate", m.ERROR_CLASS_TOOL) == 1
    assert _errors(after, "echo", m.ERROR_CLASS_TOOL) == _errors(after, "calculate", m.ERROR_CLASS_SERVER) == 0
    counts = {
        (labels[m.TOOL_NAME], labels[m.ERROR_TYPE]): v
        for labels, v in ((dict(k), v) for k, v in after[f"{m.OPERATION_DURATION.name}_count"].items())
        if v and labels[m.MCP_METHOD] == "tools/call"
    }
    assert counts == {("echo", "RuntimeError"): 1, ("calculate", m.TOOL_ERROR): 1}


def test_fault_endpoint_rejects_an_unknown_kind(demo_server: DemoServer) -> None:
    r = httpx.put(f"{demo_server.management_url}/faults/echo", json={"error_ratio": 1, "kind": "meteor"})
    assert r.status_code == 400 and r.json()["error"].startswith("kind:")


def test_demo_fault_command_sets_the_kind(demo_server: DemoServer) -> None:
    runner = CliRunner()
    url = demo_server.management_url
    ok = runner.invoke(app, ["demo", "fault", "echo", "--error-ratio", "0.5", "--kind", "tool-error", "--url", url])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["echo"] == {"error_ratio": 0.5, "latency_ms": 0.0, "hang": False, "kind": "tool_error"}
    default = runner.invoke(app, ["demo", "fault", "calculate", "--error-ratio", "1", "--url", url])
    assert default.exit_code == 0 and json.loads(default.stdout)["calculate"]["kind"] == "exception"
    bad = runner.invoke(app, ["demo", "fault", "echo", "--kind", "meteor", "--url", url])
    assert bad.exit_code == 2 and bad.stderr.strip() == "lookout: --kind 'meteor': use one of exception, tool-error"


async def test_a_crash_is_logged_as_plain_lines_not_a_rich_traceback(demo_server: DemoServer) -> None:
    """The SDK's console handler rendered each crash as a rich traceback in the event loop, hundreds of ms per
    failed call on a busy host: every injected error was a latency fault too. The demo logs plain lines."""
    httpx.put(f"{demo_server.management_url}/faults/echo", json={"error_ratio": 1.0, "kind": "exception"})
    async with Client(demo_server.url) as client:
        assert (await client.call_tool("echo", {"text": "x"})).is_error
    wait_until(lambda: "UnexpectedToolError" in demo_server.proc.output(), 30, what="the crash's log")
    log = demo_server.proc.output()
    assert "╭" not in log and "│" not in log, log[-2000:]
