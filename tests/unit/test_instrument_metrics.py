"""Metrics through real SDK clients over the in-memory transport, both protocol revisions."""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp.client.client import Client
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest

from lookout import __version__
from lookout import metrics as m
from lookout.demo.faults import Fault, FaultInjector
from lookout.demo.server import build_server
from lookout.instrument import Limits, Metrics, instrument
from tests.instrument_support import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Otel,
    eventually,
    operation_counts,
    otel,
    samples,
    value,
)

LEGACY = "2025-11-25"  # what the SDK client negotiates on the handshake path
MODERN = "2026-07-28"


@pytest.fixture
def tracing() -> Iterator[Otel]:
    o = otel()
    o.reset(ALWAYS_ON)
    yield o
    o.reset(ALWAYS_OFF)


async def invalid_params(client: Client) -> None:
    """A tools/call whose params fail the SDK's surface validation: JSON-RPC -32602."""
    request = types.Request[Any, Any](method="tools/call", params={"name": "echo", "arguments": 5})
    with pytest.raises(MCPError) as err:
        await client.session.send_request(request, types.CallToolResult)
    assert err.value.error.code == -32602


async def scripted_sequence(client: Client) -> None:
    await client.list_tools()
    assert not (await client.call_tool("calculate", {"expression": "1+1"})).is_error
    assert not (await client.call_tool("calculate", {"expression": "2*3"})).is_error
    assert (await client.call_tool("get_weather", {"city": "atlantis"})).is_error  # tool error
    await invalid_params(client)
    assert (await client.call_tool("no_such_tool", {})).is_error  # unknown tool -> -32602, _OTHER
    assert not (await client.call_tool("generate_report", {"topic": "x", "pages": 4})).is_error  # slow
    await client.get_prompt("summarize", {"text": "hello"})


def expected_series(version: str, transport: str, opening: str) -> dict[tuple[str, ...], float]:
    return {
        (opening, "", "", "", version, transport): 1,
        ("tools/list", "", "", "", version, transport): 1,
        ("tools/call", "calculate", "", "", version, transport): 2,
        ("tools/call", "get_weather", "", m.TOOL_ERROR, version, transport): 1,
        ("tools/call", "echo", "", "-32602", version, transport): 1,
        ("tools/call", m.OTHER, "", "-32602", version, transport): 1,
        ("tools/call", "generate_report", "", "", version, transport): 1,
        ("prompts/get", "", "summarize", "", version, transport): 1,
    }


async def test_exact_series_over_the_handshake_revision() -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    async with Client(server, mode="legacy") as client:
        await scripted_sequence(client)
    assert operation_counts(handle.registry) == expected_series(LEGACY, "pipe", "initialize")
    # The slow call lands above the 10 ms bucket; the fast ones below it.
    bucket = f"{m.OPERATION_DURATION.name}_bucket"
    slow = {"mcp_method_name": "tools/call", "gen_ai_tool_name": "generate_report", "gen_ai_prompt_name": ""}
    labels = {**slow, "error_type": "", "mcp_protocol_version": LEGACY, "network_transport": "pipe"}
    assert value(handle.registry, bucket, **labels, le="0.01") == 0
    assert value(handle.registry, bucket, **labels, le="0.05") == 1


async def test_exact_series_over_the_sessionless_revision() -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    async with Client(server, mode="auto") as client:  # in-process: 2026-07-28, server/discover first
        assert client.protocol_version == MODERN
        await scripted_sequence(client)
    assert operation_counts(handle.registry) == expected_series(MODERN, "inproc", "server/discover")
    # Sessionless: no session opened, none counted.
    assert samples(handle.registry, m.SESSIONS_ACTIVE.name) == {}
    assert samples(handle.registry, f"{m.SESSION_DURATION.name}_count") == {}


async def test_no_session_id_request_id_or_uri_on_any_metric() -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    async with Client(server, mode="legacy") as client:
        await client.read_resource("docs://pages/slo")
        await scripted_sequence(client)
    forbidden = {"mcp_session_id", "jsonrpc_request_id", "mcp_resource_uri", "session_id", "request_id", "uri"}
    for family in handle.registry.collect():
        for s in family.samples:
            assert not forbidden & set(s.labels), s
            assert "docs://" not in "".join(s.labels.values()), s


async def test_ten_thousand_unknown_tool_names_keep_the_series_count_bounded() -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    rng = random.Random(7)
    async with Client(server, mode=MODERN) as client:
        await client.call_tool("echo", {"text": "warm up"})
        before = handle.recorder.series_count()
        for _ in range(10_000):
            name = "".join(rng.choices(string.ascii_letters, k=12))
            await client.call_tool(name, {})
    after = handle.recorder.series_count()
    calls = operation_counts(handle.registry)
    assert calls[("tools/call", m.OTHER, "", "-32602", MODERN, "inproc")] == 10_000
    # One new histogram series family (buckets + sum + count + created) for _OTHER, nothing per name.
    assert after - before <= len(m.OPERATION_BUCKETS) + 4
    assert not any(key[1] not in ("echo", m.OTHER) for key in calls if key[0] == "tools/call")


async def test_unknown_methods_and_versions_are_other() -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    async with Client(server, mode="legacy") as client:
        with pytest.raises(MCPError) as err:
            await client.session.send_request(
                types.Request[Any, Any](method="x/made-up-method", params={}), types.EmptyResult
            )
        assert err.value.error.code == -32601
    assert ("_OTHER", "", "", "-32601", LEGACY, "pipe") in operation_counts(handle.registry)


async def test_sessions_open_five_close_two_leaves_three() -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    gauge = m.SESSIONS_ACTIVE.name
    async with anyio.create_task_group() as tg:
        closers: list[anyio.Event] = []
        opened = anyio.Semaphore(0)

        async def session(close: anyio.Event) -> None:
            async with Client(server, mode="legacy") as client:
                await client.list_tools()
                opened.release()
                await close.wait()

        for _ in range(5):
            closers.append(anyio.Event())
            tg.start_soon(session, closers[-1])
        for _ in range(5):
            await opened.acquire()
        assert value(handle.registry, gauge, network_transport="pipe") == 5
        closers[0].set()
        closers[1].set()
        await eventually(lambda: value(handle.registry, gauge, network_transport="pipe") == 3)
        assert value(handle.registry, f"{m.SESSION_DURATION.name}_count", **_session_labels()) == 2
        for c in closers[2:]:
            c.set()
    assert value(handle.registry, gauge, network_transport="pipe") == 0
    assert value(handle.registry, f"{m.SESSION_DURATION.name}_count", **_session_labels()) == 5


def _session_labels() -> dict[str, str]:
    return {"mcp_protocol_version": LEGACY, "network_transport": "pipe", "error_type": ""}


async def test_in_flight_gauge_and_the_concurrency_limit() -> None:
    faults = FaultInjector()
    server = build_server(faults)
    handle = instrument(server, CollectorRegistry(), limits=Limits(max_in_flight=2))
    assert value(handle.registry, m.REQUESTS_IN_FLIGHT_LIMIT.name) == 2
    faults.set("echo", Fault(hang=True))
    async with Client(server, mode=MODERN) as client, anyio.create_task_group() as tg:
        for _ in range(2):
            tg.start_soon(client.call_tool, "echo", {"text": "x"})
        await eventually(lambda: value(handle.registry, m.REQUESTS_IN_FLIGHT.name, mcp_method_name="tools/call") == 2)
        with pytest.raises(MCPError) as err:
            await client.call_tool("calculate", {"expression": "1"})
        assert err.value.error.code == -32000
        assert value(handle.registry, f"{m.REQUESTS_REJECTED.name}_total", reason="concurrency_limit") == 1
        assert ("tools/call", "calculate", "", "-32000", MODERN, "inproc") in operation_counts(handle.registry)
        tg.cancel_scope.cancel()
    await eventually(lambda: handle.recorder.in_flight_total == 0)
    assert value(handle.registry, m.REQUESTS_IN_FLIGHT.name, mcp_method_name="tools/call") == 0


async def test_registry_gauges_and_changes_follow_the_server() -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    items = m.REGISTRY_ITEMS.name
    changes = f"{m.REGISTRY_CHANGES.name}_total"
    assert value(handle.registry, items, kind="tools") == 5
    assert value(handle.registry, items, kind="resources") == 2
    assert value(handle.registry, items, kind="resource_templates") == 1
    assert value(handle.registry, items, kind="prompts") == 2
    assert value(handle.registry, changes, kind="tools") == 0

    def late_tool(x: int) -> int:
        return x

    server.add_tool(late_tool)
    assert value(handle.registry, items, kind="tools") == 6
    async with Client(server, mode=MODERN) as client:
        await client.call_tool("late_tool", {"x": 1})  # registered now, so it is a label value
        server.remove_tool("late_tool")
        await client.call_tool("late_tool", {"x": 1})  # gone again: _OTHER
    assert value(handle.registry, changes, kind="tools") == 2
    assert value(handle.registry, items, kind="tools") == 5
    calls = operation_counts(handle.registry)
    assert ("tools/call", "late_tool", "", "", MODERN, "inproc") in calls
    assert ("tools/call", m.OTHER, "", "-32602", MODERN, "inproc") in calls


async def test_server_info() -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    info = samples(handle.registry, f"{m.SERVER_INFO.name}_info")
    assert len(info) == 1
    labels = dict(next(iter(info)))
    assert labels["lookout_version"] == __version__
    assert labels["sdk"] == "mcp" and labels["sdk_version"].startswith("2.")
    assert labels["server_name"] == "lookout-demo" and labels["server_version"] == __version__


async def test_exemplars_carry_the_trace_id_of_sampled_requests(tracing: Otel) -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    async with Client(server, mode=MODERN) as client:
        await client.call_tool("echo", {"text": "x"})
    spans = [s for s in tracing.exporter.get_finished_spans() if s.name == "tools/call echo"]
    assert len(spans) == 1
    trace_id = format(spans[0].context.trace_id, "032x")
    exposition = openmetrics_latest(handle.registry).decode()
    lines = [line for line in exposition.splitlines() if 'gen_ai_tool_name="echo"' in line and "# {" in line]
    assert lines and all(f'trace_id="{trace_id}"' in line for line in lines)


async def test_no_exemplar_when_the_span_is_not_sampled(tracing: Otel) -> None:
    tracing.reset(ALWAYS_OFF)
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    async with Client(server, mode=MODERN) as client:
        await client.call_tool("echo", {"text": "x"})
    assert "trace_id" not in openmetrics_latest(handle.registry).decode()


async def test_lowlevel_server_learns_names_from_its_own_listing() -> None:
    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool(name="add", input_schema={"type": "object"})])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        if params.name != "add":
            raise ToolError("unknown")
        return types.CallToolResult(content=[types.TextContent(type="text", text="2")])

    server: Server[Any] = Server("low", version="1.0", on_list_tools=list_tools, on_call_tool=call_tool)
    handle = instrument(server, CollectorRegistry(), metrics=Metrics(prompts=["greet"]))
    async with Client(server, mode=MODERN) as client:
        await client.call_tool("add", {})  # not listed yet: _OTHER
        await client.list_tools()
        await client.call_tool("add", {})
        with pytest.raises(MCPError):
            await client.call_tool("nope", {})
    calls = operation_counts(handle.registry)
    assert calls[("tools/call", m.OTHER, "", "", MODERN, "inproc")] == 1
    assert calls[("tools/call", "add", "", "", MODERN, "inproc")] == 1
    assert calls[("tools/call", m.OTHER, "", "ToolError", MODERN, "inproc")] == 1
    assert value(handle.registry, m.REGISTRY_ITEMS.name, kind="tools") == 1
    assert value(handle.registry, m.REGISTRY_ITEMS.name, kind="prompts") == 1
    info = dict(next(iter(samples(handle.registry, f"{m.SERVER_INFO.name}_info"))))
    assert info["server_name"] == "low" and info["server_version"] == "1.0"


async def test_notifications_are_messages_not_operations() -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    async with Client(server, mode="legacy") as client:
        await client.list_tools()
    ops = operation_counts(handle.registry)
    assert not any(k[0].startswith("notifications/") for k in ops)
    messages_in = value(handle.registry, f"{m.TRANSPORT_MESSAGES.name}_total", mcp_transport="stdio", direction="in")
    messages_out = value(handle.registry, f"{m.TRANSPORT_MESSAGES.name}_total", mcp_transport="stdio", direction="out")
    # initialize + notifications/initialized + tools/list in; two responses out.
    assert (messages_in, messages_out) == (3, 2)


async def test_uninstrument_removes_the_middleware() -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    handle.uninstrument()
    async with Client(server, mode=MODERN) as client:
        await client.call_tool("echo", {"text": "x"})
    assert operation_counts(handle.registry) == {}
    assert isinstance(server, MCPServer)


async def test_a_failing_recorder_never_fails_a_request(monkeypatch: pytest.MonkeyPatch) -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("recorder bug")

    monkeypatch.setattr(handle.recorder, "observe_operation", broken)
    async with Client(server, mode=MODERN) as client:
        assert not (await client.call_tool("echo", {"text": "x"})).is_error
    assert handle.recorder.in_flight_total == 0


def test_instrumenting_twice_is_refused_until_uninstrumented() -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    with pytest.raises(ValueError, match="instrumented already"):
        instrument(server, CollectorRegistry())
    handle.uninstrument()
    instrument(server, CollectorRegistry()).uninstrument()


async def test_registered_names_get_zero_series_so_rate_sees_the_first_calls() -> None:
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    async with Client(server, mode=MODERN) as client:
        await client.list_tools()

        def late_tool() -> str:
            return "x"

        server.add_tool(late_tool)  # registered while serving: primed too
    everything = operation_counts(handle.registry, zeros=True)
    tools = {"search_docs", "get_weather", "calculate", "generate_report", "echo", "late_tool"}
    for tool in tools:
        assert everything[("tools/call", tool, "", "", MODERN, "inproc")] == 0
        assert everything[("tools/call", tool, "", m.TOOL_ERROR, MODERN, "inproc")] == 0
    for prompt in ("summarize", "code_review"):
        assert everything[("prompts/get", "", prompt, "", MODERN, "inproc")] == 0
    assert not any(key[1] == m.OTHER for key in everything)  # nothing primed for unknown names
