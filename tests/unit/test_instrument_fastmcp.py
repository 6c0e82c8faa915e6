"""FastMCP 4.x: the same series through FastMCP's own middleware API and its own client."""

# mypy: disable-error-code="untyped-decorator"

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

from lookout import metrics as m
from lookout.instrument import instrument
from tests.instrument_support import ALWAYS_OFF, ALWAYS_ON, Otel, operation_counts, otel, samples, value

fastmcp = pytest.importorskip("fastmcp")
MODERN = "2026-07-28"


@pytest.fixture
def tracing() -> Iterator[Otel]:
    o = otel()
    o.reset(ALWAYS_ON)
    yield o
    o.reset(ALWAYS_OFF)


def build() -> object:
    from fastmcp.exceptions import ToolError

    server = fastmcp.FastMCP("fm", version="1.2")

    @server.tool
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool
    def boom() -> int:
        raise ToolError("nope")

    @server.prompt
    def hello(name: str) -> str:
        return f"hi {name}"

    return server


async def test_fastmcp_exact_series_and_registry() -> None:
    server = build()
    handle = instrument(server, CollectorRegistry())
    assert handle.framework == "fastmcp"
    async with fastmcp.Client(server) as client:
        await client.call_tool("add", {"a": 1, "b": 2})
        await client.call_tool("boom", {}, raise_on_error=False)  # tool error
        await client.call_tool("add", {"a": "x"}, raise_on_error=False)  # invalid arguments
        await client.call_tool("no_such_tool", {}, raise_on_error=False)  # unknown tool
        await client.get_prompt("hello", {"name": "x"})
        with pytest.raises(Exception, match="Unknown prompt"):
            await client.get_prompt("missing", {})
    calls = {k: v for k, v in operation_counts(handle.registry).items() if k[0] != "tools/list"}
    transport = "pipe"  # FastMCP's in-memory client runs over memory streams
    assert calls == {
        ("server/discover", "", "", "", MODERN, transport): 1,
        ("tools/call", "add", "", "", MODERN, transport): 1,
        ("tools/call", "boom", "", m.TOOL_ERROR, MODERN, transport): 1,
        ("tools/call", "add", "", m.TOOL_ERROR, MODERN, transport): 1,
        ("tools/call", m.OTHER, "", m.TOOL_ERROR, MODERN, transport): 1,
        ("prompts/get", "", "hello", "", MODERN, transport): 1,
        ("prompts/get", "", m.OTHER, "-32602", MODERN, transport): 1,
    }
    assert value(handle.registry, m.REGISTRY_ITEMS.name, kind="tools") == 2
    assert value(handle.registry, m.REGISTRY_ITEMS.name, kind="prompts") == 1

    @server.tool  # type: ignore[attr-defined]
    def late() -> int:
        return 1

    assert value(handle.registry, m.REGISTRY_ITEMS.name, kind="tools") == 3
    assert value(handle.registry, f"{m.REGISTRY_CHANGES.name}_total", kind="tools") == 1
    info = dict(next(iter(samples(handle.registry, f"{m.SERVER_INFO.name}_info"))))
    assert info["sdk"] == "fastmcp" and info["sdk_version"].startswith("4.") and info["server_version"] == "1.2"


async def test_fastmcp_span_is_enriched_not_duplicated(tracing: Otel) -> None:
    server = build()
    instrument(server, CollectorRegistry())
    async with fastmcp.Client(server) as client:
        await client.call_tool("add", {"a": 1, "b": 2})
    server_spans = [s for s in tracing.exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    calls = [s for s in server_spans if s.name.startswith("tools/call")]
    assert len(calls) == 1, [s.name for s in server_spans]
    assert dict(calls[0].attributes or {})["network.transport"] == "pipe"


async def test_fastmcp_uninstrument() -> None:
    server = build()
    handle = instrument(server, CollectorRegistry())
    handle.uninstrument()
    async with fastmcp.Client(server) as client:
        await client.call_tool("add", {"a": 1, "b": 2})
    assert operation_counts(handle.registry) == {}
