"""FastMCP 4.x: the same series through FastMCP's own middleware API and its own client."""

# mypy: disable-error-code="untyped-decorator"

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

from lookout import metrics as m
from lookout.instrument import instrument
from tests.instrument_support import ALWAYS_OFF, ALWAYS_ON, Otel, operation_counts, otel, samples, value

if TYPE_CHECKING:
    from fastmcp import FastMCP

fastmcp = pytest.importorskip("fastmcp")
MODERN = "2026-07-28"


@pytest.fixture
def tracing() -> Iterator[Otel]:
    o = otel()
    o.reset(ALWAYS_ON)
    yield o
    o.reset(ALWAYS_OFF)


def build() -> FastMCP[Any]:
    from fastmcp.exceptions import ToolError

    server: FastMCP[Any] = fastmcp.FastMCP("fm", version="1.2")

    @server.tool
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool
    def boom() -> int:
        raise ToolError("nope")

    @server.tool
    def divide(a: int) -> float:
        return 1 / a

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
        await client.call_tool("divide", {"a": 0}, raise_on_error=False)  # a crash: the server's fault
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
        ("tools/call", "divide", "", "ZeroDivisionError", MODERN, transport): 1,
        ("tools/call", "add", "", "-32602", MODERN, transport): 1,
        ("tools/call", m.OTHER, "", "-32602", MODERN, transport): 1,
        ("prompts/get", "", "hello", "", MODERN, transport): 1,
        ("prompts/get", "", m.OTHER, "-32602", MODERN, transport): 1,
    }
    assert value(handle.registry, m.REGISTRY_ITEMS.name, kind="tools") == 3
    assert value(handle.registry, m.REGISTRY_ITEMS.name, kind="prompts") == 1

    @server.tool
    def late() -> int:
        return 1

    assert value(handle.registry, m.REGISTRY_ITEMS.name, kind="tools") == 4
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


async def test_fastmcp_error_classes_are_primed_and_the_first_failure_of_each_moves_one() -> None:
    server = build()
    handle = instrument(server, CollectorRegistry())
    series = f"{m.OPERATION_ERRORS.name}_total"
    tools = ("add", "boom", "divide", m.OTHER)
    for tool in tools:
        for error_class in m.ERROR_CLASSES:
            labels = {m.MCP_METHOD: "tools/call", m.TOOL_NAME: tool, m.ERROR_CLASS: error_class}
            assert value(handle.registry, series, **labels) == 0, labels
    async with fastmcp.Client(server) as client:
        crashed = await client.call_tool("divide", {"a": 0}, raise_on_error=False)
        await client.call_tool("boom", {}, raise_on_error=False)
        await client.call_tool("add", {"a": "x"}, raise_on_error=False)
        await client.call_tool("missing", {}, raise_on_error=False)
    assert crashed.is_error and "division by zero" in crashed.content[0].text  # FastMCP's answer, unchanged
    moved = {
        (labels[m.TOOL_NAME], labels[m.ERROR_CLASS]): v
        for labels, v in ((dict(k), v) for k, v in samples(handle.registry, series).items())
        if v and labels[m.MCP_METHOD] == "tools/call"
    }
    assert moved == {
        ("divide", m.ERROR_CLASS_SERVER): 1,
        ("boom", m.ERROR_CLASS_TOOL): 1,
        ("add", m.ERROR_CLASS_CLIENT): 1,
        (m.OTHER, m.ERROR_CLASS_CLIENT): 1,
    }


async def test_pins_the_fastmcp_internals_it_relies_on() -> None:
    """FastMCP re-raises a crash as a ``ToolError`` from its own ``call_tool`` (the crash as ``__cause__``)
    and lets a tool's own ``ToolError`` through unchanged; Lookout tells them apart by where they were
    raised."""
    from fastmcp.exceptions import NotFoundError, ToolError
    from fastmcp.exceptions import ValidationError as ArgumentsError

    from lookout.instrument.fastmcp import tool_exception_type

    server = build()

    @server.tool
    def lookup(key: str) -> str:
        try:
            return {"a": "1"}[key]
        except KeyError as exc:
            raise ToolError(f"no key {key!r}") from exc  # on purpose, with a cause of its own

    for name, arguments, raised, cause, error_type in (
        ("divide", {"a": 0}, ToolError, ZeroDivisionError, "ZeroDivisionError"),
        ("boom", {}, ToolError, type(None), m.TOOL_ERROR),
        ("lookup", {"key": "b"}, ToolError, KeyError, m.TOOL_ERROR),
        ("add", {"a": "x"}, ArgumentsError, object, "-32602"),
        ("missing", {}, NotFoundError, type(None), "-32602"),
    ):
        with pytest.raises(raised) as err:
            await server.call_tool(name, arguments)
        assert isinstance(err.value.__cause__, cause), name
        assert tool_exception_type(err.value) == error_type, name
