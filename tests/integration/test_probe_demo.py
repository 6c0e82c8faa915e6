"""The prober against the demo server: both protocol eras, all three transports, every module kind, the CLI."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lookout import metrics
from lookout.config.probe import Module
from lookout.probe.modules import ProbeTarget, run_probe
from lookout.probe.result import ProbeResult
from lookout.probe.result_exposition import render
from lookout.protocol import Transport
from tests.integration.probe_support import server_argv, start_server
from tests.support import LOOPBACK, DemoServer, Proc, free_port, lookout_argv

pytestmark = pytest.mark.integration

DEMO_TOOLS = ["calculate", "echo", "generate_report", "get_weather", "search_docs"]
STDIO_COMMAND = " ".join(server_argv("stdio_demo.py"))


@pytest.fixture(scope="module")
def sse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    proc: Proc = start_server(server_argv("sse_demo.py", str(port)), tmp_path_factory.mktemp("sse") / "sse.log", port)
    try:
        yield f"http://{LOOPBACK}:{port}/sse"
    finally:
        proc.stop()


async def probe(target: ProbeTarget, **module: Any) -> ProbeResult:
    result = await run_probe(target, "test", Module.model_validate(module))
    assert result.success == (result.error is None), result.log.text()
    return result


def samples(result: ProbeResult) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(render(result).decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


@pytest.mark.parametrize(
    ("transport", "protocol", "negotiated"),
    [
        ("streamable-http", "auto", "2026-07-28"),
        ("streamable-http", "2026-07-28", "2026-07-28"),
        ("streamable-http", "2025-06-18", "2025-06-18"),
        ("stdio", "auto", "2026-07-28"),
        ("stdio", "2025-06-18", "2025-06-18"),
        ("sse", "auto", "2025-11-25"),
        ("sse", "2025-06-18", "2025-06-18"),
    ],
)
async def test_discover_on_every_transport_and_revision(
    shared_demo_server: DemoServer, sse_server: str, transport: str, protocol: str, negotiated: str
) -> None:
    address = {"streamable-http": shared_demo_server.url, "stdio": STDIO_COMMAND, "sse": sse_server}[transport]
    result = await probe(ProbeTarget("demo", address, Transport(transport)), protocol=protocol)
    assert result.success, result.log.text()
    assert result.protocol_version == negotiated
    assert (result.server_name, result.tools) == ("lookout-demo", DEMO_TOOLS)
    assert {"tools", "resources", "prompts"} <= set(result.capabilities)
    assert result.resources == 2 and result.prompts == 2
    expected_phases = {"handshake", "list_tools", "list_resources", "list_prompts"}
    if negotiated != "2026-07-28":
        expected_phases.add("ping")
    assert expected_phases <= set(result.phases)
    found = samples(result)
    assert found[(metrics.PROBE_SUCCESS.name, ())] == 1
    assert found[(metrics.PROBE_TOOLS.name, ())] == len(DEMO_TOOLS)
    assert found[(metrics.PROBE_PROTOCOL_VERSION.name, (("version", negotiated),))] == 1
    assert (
        found[(metrics.PROBE_SERVER_INFO.name, (("name", "lookout-demo"), ("version", result.server_version or "")))]
        == 1
    )
    assert found[(metrics.PROBE_TOOLS_HASH.name, ())] == result.tools_hash
    assert ((metrics.PROBE_HTTP_STATUS.name, ()) in found) == (transport != "stdio")


async def test_tools_hash_is_the_same_for_both_revisions(shared_demo_server: DemoServer) -> None:
    target = ProbeTarget("demo", shared_demo_server.url)
    legacy = await probe(target, protocol="2025-06-18")
    modern = await probe(target, protocol="2026-07-28")
    assert legacy.tools_hash == modern.tools_hash
    assert legacy.tools_hash is not None and 0 < legacy.tools_hash < 2**48


async def test_tool_call_assertions(shared_demo_server: DemoServer) -> None:
    target = ProbeTarget("demo", shared_demo_server.url)
    call = {"name": "echo", "arguments": {"text": "hello"}}
    passing = {
        **call,
        "expect_text_regex": "^hel+o$",
        "expect_json": [{"path": "structuredContent.result", "equals": "hello"}],
    }
    ok = await probe(target, kind="tool_call", tool_call=passing)
    assert ok.success and "call" in ok.phases, ok.log.text()
    mismatch = await probe(target, kind="tool_call", tool_call={**call, "expect_text_regex": "^bye$"})
    assert mismatch.error is not None and "does not match /^bye$/" in mismatch.error
    wrong_value = await probe(
        target, kind="tool_call", tool_call={**call, "expect_json": [{"path": "content.0.text", "equals": "nope"}]}
    )
    assert wrong_value.error is not None and "content.0.text is 'hello', expected 'nope'" in wrong_value.error
    tool_error = await probe(target, kind="tool_call", tool_call={"name": "get_weather", "arguments": {"city": "x"}})
    assert tool_error.error is not None and "isError" in tool_error.error and "unknown city" in tool_error.error


async def test_resource_read(shared_demo_server: DemoServer) -> None:
    target = ProbeTarget("demo", shared_demo_server.url)
    ok = await probe(target, kind="resource_read", resource_read={"uri": "docs://index", "expect_text_regex": "alerts"})
    assert ok.success and "read" in ok.phases, ok.log.text()
    missing = await probe(target, kind="resource_read", resource_read={"uri": "docs://pages/nope"})
    assert not missing.success and missing.jsonrpc_error_code is not None


async def test_failure_conditions(shared_demo_server: DemoServer) -> None:
    target = ProbeTarget("demo", shared_demo_server.url)
    missing = await probe(target, expected_tools=["echo", "launch_rockets"])
    assert missing.error == "expected tools missing: launch_rockets"
    old = await probe(target, protocol="2025-06-18", min_protocol_version="2025-11-25")
    assert old.error == "protocol version 2025-06-18 is older than the minimum 2025-11-25"
    small = await probe(target, max_response_bytes=500)
    assert small.error is not None and "max_response_bytes" in small.error


def test_cli_probe_exit_codes(shared_demo_server: DemoServer, tmp_path: Path) -> None:
    def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
        # In an empty directory: no ./lookout.yaml is picked up.
        return subprocess.run(lookout_argv("probe", *args), capture_output=True, text=True, timeout=60, cwd=tmp_path)

    ok = run_cli(shared_demo_server.url)
    assert ok.returncode == 0, ok.stderr
    assert "result        OK" in ok.stdout and "protocol      2026-07-28" in ok.stdout
    assert "lookout-demo" in ok.stdout and "echo" in ok.stdout
    as_json = run_cli(shared_demo_server.url, "--json", "--module", "discover")
    data = json.loads(as_json.stdout)
    assert data["success"] is True and data["tools"] == DEMO_TOOLS and "handshake" in data["phases"]
    down = run_cli(f"http://{LOOPBACK}:{free_port()}/mcp", "--timeout", "5")
    assert down.returncode == 1 and "FAILED: cannot connect" in down.stdout
    unknown = run_cli("no-such-target")
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1 and "unknown target" in unknown.stderr
    bad_module = run_cli(shared_demo_server.url, "--module", "nope")
    assert bad_module.returncode == 2 and "no such module" in bad_module.stderr


def _wire_tools(url: str) -> list[dict[str, Any]]:
    """The demo's tools/list result as it comes off the wire (plain HTTP, none of the prober's code)."""
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}

    def answer(response: httpx.Response) -> dict[str, Any]:
        response.raise_for_status()
        if response.headers["content-type"].startswith("text/event-stream"):
            data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
            return dict(json.loads(data[-1]))
        return dict(response.json())

    with httpx.Client(timeout=10) as client:
        init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}
        opened = client.post(
            url, headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}
        )
        answer(opened)
        session = {**headers, "Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"}
        client.post(url, headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        listed = answer(client.post(url, headers=session, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        client.delete(url, headers=session)
    assert "nextCursor" not in listed["result"]
    return list(listed["result"]["tools"])


async def test_tool_definition_footprint_counts_the_listed_bytes(shared_demo_server: DemoServer) -> None:
    wire = _wire_tools(shared_demo_server.url)
    fields = ("name", "description", "inputSchema", "outputSchema")
    expected = {
        tool["name"]: len(
            json.dumps({k: tool[k] for k in fields if k in tool}, separators=(",", ":"), ensure_ascii=False).encode()
        )
        for tool in wire
    }
    assert sorted(expected) == DEMO_TOOLS
    result = await probe(ProbeTarget("demo", shared_demo_server.url))
    found = samples(result)
    assert found[(metrics.PROBE_TOOLS_DEFINITION_BYTES.name, ())] == sum(expected.values())
    per_tool = {
        dict(labels)[metrics.TOOL_NAME]: value
        for (name, labels), value in found.items()
        if name == metrics.PROBE_TOOL_DEFINITION_BYTES.name
    }
    assert per_tool == expected
    tokens = found[(metrics.PROBE_TOOLS_DEFINITION_TOKENS.name, ())]
    assert sum(expected.values()) / 6 < tokens < sum(expected.values()) / 3  # JSON schema runs 4-5 bytes a token
    bounded = samples(await probe(ProbeTarget("demo", shared_demo_server.url), max_tool_series=2))
    largest = sorted(expected.items(), key=lambda item: (-item[1], item[0]))
    assert {
        dict(labels)[metrics.TOOL_NAME]: value
        for (name, labels), value in bounded.items()
        if name == metrics.PROBE_TOOL_DEFINITION_BYTES.name
    } == {**dict(largest[:2]), metrics.OTHER: sum(v for _, v in largest[2:])}
    call = samples(
        await probe(
            ProbeTarget("demo", shared_demo_server.url),
            kind="tool_call",
            tool_call={"name": "echo", "arguments": {"text": "x"}},
        )
    )
    assert (metrics.PROBE_TOOLS_DEFINITION_BYTES.name, ()) not in call  # one footprint per target: discover's
