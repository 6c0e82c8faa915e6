from __future__ import annotations

import httpx
from mcp.client.client import Client

from tests.support import DemoServer


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
