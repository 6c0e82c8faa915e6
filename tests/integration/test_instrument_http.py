"""Instrumentation over streamable HTTP (uvicorn in the test's loop, loopback only) and stdio."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from lookout import metrics as m
from lookout.demo.server import build_server
from lookout.instrument import Instrumentation, instrument
from tests.instrument_support import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Otel,
    eventually,
    operation_counts,
    otel,
    serve_http,
    value,
)

pytestmark = pytest.mark.integration

LEGACY = "2025-11-25"
MODERN = "2026-07-28"
INIT_BODY = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


@pytest.fixture
def tracing() -> Iterator[Otel]:
    o = otel()
    o.reset(ALWAYS_ON)
    yield o
    o.reset(ALWAYS_OFF)


def http_app(idle_timeout: float | None = 1800) -> tuple[Any, Instrumentation]:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    app = handle.wrap_asgi(server.streamable_http_app(session_idle_timeout=idle_timeout))
    return app, handle


async def scripted(client: Client) -> None:
    assert not (await client.call_tool("calculate", {"expression": "1+1"})).is_error
    assert (await client.call_tool("get_weather", {"city": "atlantis"})).is_error
    with pytest.raises(MCPError) as err:
        await client.session.send_request(
            types.Request[Any, Any](method="tools/call", params={"name": "echo", "arguments": 5}),
            types.CallToolResult,
        )
    assert err.value.error.code == -32602
    assert (await client.call_tool("no_such_tool", {})).is_error
    assert not (await client.call_tool("generate_report", {"topic": "t", "pages": 3})).is_error


def expected(version: str, opening: str) -> dict[tuple[str, ...], float]:
    return {
        (opening, "", "", "", version, "tcp"): 1,
        ("tools/list", "", "", "", version, "tcp"): 1,  # the client lists tools to learn their schemas
        ("tools/call", "calculate", "", "", version, "tcp"): 1,
        ("tools/call", "get_weather", "", m.TOOL_ERROR, version, "tcp"): 1,
        ("tools/call", "echo", "", "-32602", version, "tcp"): 1,
        ("tools/call", m.OTHER, "", "-32602", version, "tcp"): 1,  # unknown tool: the caller's fault
        ("tools/call", "generate_report", "", "", version, "tcp"): 1,
    }


async def test_streamable_http_handshake_revision_exact_series_and_transport_counters() -> None:
    app, handle = http_app()
    async with serve_http(app) as base:
        async with Client(f"{base}/mcp", mode="legacy") as client:
            await scripted(client)
            assert value(handle.registry, m.SESSIONS_ACTIVE.name, network_transport="tcp") == 1
        await eventually(lambda: value(handle.registry, m.SESSIONS_ACTIVE.name, network_transport="tcp") == 0)
    assert operation_counts(handle.registry) == expected(LEGACY, "initialize")
    reg = handle.registry
    session = {"mcp_protocol_version": LEGACY, "network_transport": "tcp", "error_type": ""}
    assert value(reg, f"{m.SESSION_DURATION.name}_count", **session) == 1
    ok = value(reg, f"{m.HTTP_RESPONSES.name}_total", mcp_transport="streamable-http", http_response_status_code="200")
    assert ok is not None and ok >= 6
    for direction in ("in", "out"):
        sent = value(reg, f"{m.TRANSPORT_BYTES.name}_total", mcp_transport="streamable-http", direction=direction)
        assert sent is not None and sent > 100
    assert value(reg, f"{m.TRANSPORT_MESSAGES.name}_total", mcp_transport="streamable-http", direction="in")


async def test_streamable_http_sessionless_revision_exact_series() -> None:
    app, handle = http_app()
    async with serve_http(app) as base, Client(f"{base}/mcp") as client:
        assert client.protocol_version == MODERN
        await scripted(client)
    assert operation_counts(handle.registry) == expected(MODERN, "server/discover")
    assert value(handle.registry, m.SESSIONS_ACTIVE.name, network_transport="tcp") in (None, 0)
    assert (
        value(
            handle.registry,
            f"{m.SESSION_DURATION.name}_count",
            **{"mcp_protocol_version": MODERN, "network_transport": "tcp", "error_type": ""},
        )
        is None
    )


async def test_sessions_five_open_two_closed_and_idle_expired_sessions_leave_the_gauge() -> None:
    app, handle = http_app(idle_timeout=1.0)
    gauge = m.SESSIONS_ACTIVE.name
    async with serve_http(app) as base, httpx.AsyncClient(base_url=base, headers=HEADERS) as http:
        ids = []
        for _ in range(5):
            r = await http.post("/mcp", json=INIT_BODY)
            assert r.status_code == 200, r.text
            ids.append(r.headers["mcp-session-id"])
        assert value(handle.registry, gauge, network_transport="tcp") == 5
        for sid in ids[:2]:
            r = await http.delete("/mcp", headers={"mcp-session-id": sid, "mcp-protocol-version": "2025-06-18"})
            assert r.status_code == 200
        await eventually(lambda: value(handle.registry, gauge, network_transport="tcp") == 3, 5)
        # Nobody touches the other three: the SDK expires them after the idle timeout.
        await eventually(lambda: value(handle.registry, gauge, network_transport="tcp") == 0, 15)
        r = await http.post("/mcp", json=INIT_BODY | {"id": 2}, headers={"mcp-session-id": ids[4]})
        assert r.status_code == 404
    count = value(
        handle.registry,
        f"{m.SESSION_DURATION.name}_count",
        mcp_protocol_version="2025-06-18",
        network_transport="tcp",
        error_type="",
    )
    assert count == 5
    assert (
        value(
            handle.registry,
            f"{m.HTTP_RESPONSES.name}_total",
            mcp_transport="streamable-http",
            http_response_status_code="404",
        )
        == 1
    )


async def test_http_span_is_enriched_not_duplicated(tracing: Otel) -> None:
    app, _ = http_app()
    async with serve_http(app) as base:
        port = int(base.rsplit(":", 1)[1])
        async with Client(f"{base}/mcp", mode="legacy") as client:
            await client.call_tool("echo", {"text": "x"})
    spans = [s for s in tracing.exporter.get_finished_spans() if s.name == "tools/call echo"]
    assert len(spans) == 1, [s.name for s in tracing.exporter.get_finished_spans()]
    attrs = dict(spans[0].attributes or {})
    assert attrs["mcp.method.name"] == "tools/call" and attrs["gen_ai.tool.name"] == "echo"
    assert attrs["network.transport"] == "tcp" and attrs["network.protocol.name"] == "http"
    assert attrs["server.address"] == "127.0.0.1" and attrs["server.port"] == port
    assert isinstance(attrs["mcp.session.id"], str) and len(attrs["mcp.session.id"]) >= 16
    assert attrs["client.address"] == "127.0.0.1"


async def test_body_too_large_is_a_rejection() -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    app = handle.wrap_asgi(server.streamable_http_app(max_request_body_size=1024))
    async with serve_http(app) as base, httpx.AsyncClient(base_url=base, headers=HEADERS) as http:
        big = INIT_BODY | {"params": {**INIT_BODY["params"], "pad": "x" * 4096}}  # type: ignore[dict-item]
        r = await http.post("/mcp", content=json.dumps(big))
        assert r.status_code == 413
    assert value(handle.registry, f"{m.REQUESTS_REJECTED.name}_total", reason="body_too_large") == 1
    assert (
        value(
            handle.registry,
            f"{m.HTTP_RESPONSES.name}_total",
            mcp_transport="streamable-http",
            http_response_status_code="413",
        )
        == 1
    )


STDIO_SERVER = """
import sys
import anyio
from prometheus_client import CollectorRegistry, generate_latest
from lookout.demo.server import build_server
from lookout.instrument import instrument

server = build_server()
handle = instrument(server, CollectorRegistry())
try:
    anyio.run(handle.run_stdio, server)
finally:
    open(sys.argv[1], "wb").write(generate_latest(handle.registry))
"""


async def test_stdio_exact_series(tmp_path: Path) -> None:
    script = tmp_path / "stdio_server.py"
    script.write_text(STDIO_SERVER)
    out = tmp_path / "metrics.txt"
    params = StdioServerParameters(command=sys.executable, args=[str(script), str(out)], cwd=str(Path.cwd()))
    async with Client(params, mode="legacy") as client:
        await scripted(client)
    await eventually(lambda: out.exists() and out.read_text(), 20, "the stdio server's metrics dump")

    text = out.read_text()
    counts: dict[tuple[str, ...], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == f"{m.OPERATION_DURATION.name}_count" and s.value:  # zero series: registered names
                counts[tuple(s.labels[label] for label in m.OPERATION_DURATION.labels)] = s.value
    want = {(*k[:5], "pipe"): v for k, v in expected(LEGACY, "initialize").items()}
    assert counts == want
    assert 'lookout_mcp_sessions_active{network_transport="pipe"} 0.0' in text
    sent = re.search(r'lookout_mcp_transport_bytes_total\{direction="in",mcp_transport="stdio"\} (\S+)', text)
    received = re.search(r'lookout_mcp_transport_bytes_total\{direction="out",mcp_transport="stdio"\} (\S+)', text)
    assert sent and float(sent.group(1)) > 100 and received and float(received.group(1)) > 100, text


async def test_sse_transport_is_told_apart_from_streamable_http() -> None:
    from mcp.client.sse import sse_client

    server = build_server()
    handle = instrument(server, CollectorRegistry())
    app = handle.wrap_asgi(server.sse_app())
    async with serve_http(app) as base:
        async with Client(sse_client(f"{base}/sse"), mode="legacy") as client:
            assert not (await client.call_tool("calculate", {"expression": "1+1"})).is_error
            assert value(handle.registry, m.SESSIONS_ACTIVE.name, network_transport="tcp") == 1
        await eventually(lambda: value(handle.registry, m.SESSIONS_ACTIVE.name, network_transport="tcp") == 0)
    assert ("tools/call", "calculate", "", "", LEGACY, "tcp") in operation_counts(handle.registry)
    reg = handle.registry
    assert value(reg, f"{m.TRANSPORT_MESSAGES.name}_total", mcp_transport="sse", direction="in")
    accepted = value(reg, f"{m.HTTP_RESPONSES.name}_total", mcp_transport="sse", http_response_status_code="202")
    assert accepted is not None and accepted >= 2  # each JSON-RPC message POSTed to /messages/
    assert value(reg, f"{m.TRANSPORT_BYTES.name}_total", mcp_transport="sse", direction="out")


async def test_stateless_streamable_http_counts_no_session() -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    app = handle.wrap_asgi(server.streamable_http_app(stateless_http=True))
    async with serve_http(app) as base, Client(f"{base}/mcp", mode="legacy") as client:
        assert not (await client.call_tool("echo", {"text": "x"})).is_error
        assert value(handle.registry, m.SESSIONS_ACTIVE.name, network_transport="tcp") is None
    assert ("tools/call", "echo", "", "", LEGACY, "tcp") in operation_counts(handle.registry)
