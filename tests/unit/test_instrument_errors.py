"""Who is responsible for a failed request: a crash inside a tool (the server), a deliberate ToolError (the
tool), bad arguments or an unknown tool (the client); and lookout_mcp_operation_errors, primed at zero."""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pytest
from mcp.client.client import Client
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.shared.exceptions import MCPError
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from lookout import metrics as m
from lookout.instrument import instrument
from lookout.instrument.recorder import ERROR_PRIMED_METHODS
from tests.instrument_support import operation_counts, samples, value

MODERN = "2026-07-28"
ERRORS = f"{m.OPERATION_ERRORS.name}_total"


def build() -> MCPServer:
    server = MCPServer(name="errors")

    @server.tool()
    def divide(a: int, b: int) -> float:
        return a / b

    @server.tool()
    def get_weather(city: str) -> str:
        raise ToolError(f"unknown city {city!r}")

    @server.tool()
    async def relay(ctx: Context) -> Any:  # a tool that calls a crashing tool in turn
        return await ctx.mcp_server.call_tool("divide", {"a": 1, "b": 0})

    return server


def errors(registry: CollectorRegistry) -> dict[tuple[str, str, str], float]:
    """``{(method, tool, error_class): value}`` of every lookout_mcp_operation_errors series."""
    out: dict[tuple[str, str, str], float] = {}
    for labels, v in samples(registry, ERRORS).items():
        d = dict(labels)
        out[(d[m.MCP_METHOD], d[m.TOOL_NAME], d[m.ERROR_CLASS])] = v
    return out


async def test_a_crash_inside_a_tool_is_the_servers_fault_under_its_own_class() -> None:
    server = build()
    handle = instrument(server, CollectorRegistry())
    key = ("tools/call", "divide", m.ERROR_CLASS_SERVER)
    assert errors(handle.registry)[key] == 0
    async with Client(server, mode=MODERN) as client:
        result = await client.call_tool("divide", {"a": 1, "b": 0})
    assert result.is_error
    calls = operation_counts(handle.registry)
    assert calls == {("tools/call", "divide", "", "ZeroDivisionError", MODERN, "inproc"): 1}
    assert m.error_class("ZeroDivisionError") == m.ERROR_CLASS_SERVER
    assert {k: v for k, v in errors(handle.registry).items() if v} == {key: 1}


async def test_a_crash_in_a_tool_another_tool_calls_is_still_the_crash() -> None:
    server = build()
    handle = instrument(server, CollectorRegistry())
    async with Client(server, mode=MODERN) as client:
        assert (await client.call_tool("relay", {})).is_error
    assert ("tools/call", "relay", "", "ZeroDivisionError", MODERN, "inproc") in operation_counts(handle.registry)
    assert {k: v for k, v in errors(handle.registry).items() if v} == {("tools/call", "relay", "server"): 1}


async def test_deliberate_tool_errors_bad_arguments_and_unknown_tools() -> None:
    server = build()
    handle = instrument(server, CollectorRegistry())
    async with Client(server, mode=MODERN) as client:
        assert (await client.call_tool("get_weather", {"city": "atlantis"})).is_error
        assert (await client.call_tool("divide", {"a": "one", "b": 2})).is_error  # fails the input schema
        assert (await client.call_tool("divide", {"a": 1})).is_error  # a required argument missing
        assert (await client.call_tool("no_such_tool", {})).is_error
    calls = {k: v for k, v in operation_counts(handle.registry).items() if k[0] == "tools/call"}
    assert calls == {
        ("tools/call", "get_weather", "", m.TOOL_ERROR, MODERN, "inproc"): 1,
        ("tools/call", "divide", "", "-32602", MODERN, "inproc"): 2,
        ("tools/call", m.OTHER, "", "-32602", MODERN, "inproc"): 1,
    }
    assert {k: v for k, v in errors(handle.registry).items() if v} == {
        ("tools/call", "get_weather", m.ERROR_CLASS_TOOL): 1,
        ("tools/call", "divide", m.ERROR_CLASS_CLIENT): 2,
        ("tools/call", m.OTHER, m.ERROR_CLASS_CLIENT): 1,
    }


async def test_the_client_receives_exactly_what_it_would_without_lookout() -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("divide", {"a": 1, "b": 0}),
        ("get_weather", {"city": "atlantis"}),
        ("divide", {"a": "one", "b": 2}),
        ("no_such_tool", {}),
        ("relay", {}),
        ("divide", {"a": 6, "b": 3}),
    ]

    async def answers(server: MCPServer) -> list[types.CallToolResult]:
        async with Client(server, mode=MODERN) as client:
            return [await client.call_tool(name, arguments) for name, arguments in calls]

    plain = await answers(build())
    server = build()
    instrument(server, CollectorRegistry())
    assert await answers(server) == plain


async def test_every_error_series_exists_at_zero_and_the_first_failure_moves_one_to_one() -> None:
    server = build()
    handle = instrument(server, CollectorRegistry())
    before = errors(handle.registry)
    tools = ("divide", "get_weather", "relay", m.OTHER)
    expected = {("tools/call", tool, c) for tool in tools for c in m.ERROR_CLASSES}
    expected |= {(method, "", c) for method in ERROR_PRIMED_METHODS for c in m.ERROR_CLASSES}
    assert set(before) == expected and not any(before.values())
    assert {"initialize", "tools/list", "prompts/get", "resources/read", m.OTHER} <= set(ERROR_PRIMED_METHODS)

    def late() -> str:
        return "x"

    server.add_tool(late)  # registered later: primed as it appears
    assert all(errors(handle.registry)[("tools/call", "late", c)] == 0 for c in m.ERROR_CLASSES)
    async with Client(server, mode=MODERN) as client:
        await client.call_tool("divide", {"a": 1, "b": 0})
    after = errors(handle.registry)
    assert {k: (before.get(k), v) for k, v in after.items() if v != before.get(k, 0)} == {
        ("tools/call", "divide", m.ERROR_CLASS_SERVER): (0, 1)
    }


async def test_a_lowlevel_handler_that_raises_or_returns_is_error() -> None:
    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        tools = [types.Tool(name=n, input_schema={"type": "object"}) for n in ("crash", "refuse")]
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        if params.name == "crash":
            raise RuntimeError("bug")
        return types.CallToolResult(content=[types.TextContent(type="text", text="no")], is_error=True)

    server: Server[Any] = Server("low", on_list_tools=list_tools, on_call_tool=call_tool)
    handle = instrument(server, CollectorRegistry())
    crash_server = {m.MCP_METHOD: "tools/call", m.TOOL_NAME: "crash", m.ERROR_CLASS: m.ERROR_CLASS_SERVER}
    assert value(handle.registry, ERRORS, **crash_server) is None  # not listed yet: not a label value
    async with Client(server, mode=MODERN) as client:
        await client.list_tools()  # the first listing teaches the names: primed now
        assert errors(handle.registry)[("tools/call", "crash", m.ERROR_CLASS_SERVER)] == 0
        with pytest.raises(MCPError):  # the lowlevel server answers a raising handler with a JSON-RPC error
            await client.call_tool("crash", {})
        assert (await client.call_tool("refuse", {})).is_error
    calls = operation_counts(handle.registry)
    assert calls[("tools/call", "crash", "", "RuntimeError", MODERN, "inproc")] == 1
    assert calls[("tools/call", "refuse", "", m.TOOL_ERROR, MODERN, "inproc")] == 1
    moved = {k: v for k, v in errors(handle.registry).items() if v}
    assert moved == {("tools/call", "crash", m.ERROR_CLASS_SERVER): 1, ("tools/call", "refuse", m.ERROR_CLASS_TOOL): 1}


async def test_pins_the_sdk_internals_it_relies_on() -> None:
    """``MCPServer``'s ``tools/call`` handler reaches ``call_tool`` through the instance attribute, and
    ``call_tool`` raises a crash as ``UnexpectedToolError`` (the crash as ``__cause__``), arguments failing
    the input schema as ``ToolError`` caused by a ``ValidationError``, an unknown tool as a plain
    ``ToolError``."""
    server = build()
    seen: list[str] = []
    original = server.call_tool

    async def spy(name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        seen.append(name)
        return await original(name, arguments, context)

    server.call_tool = spy  # type: ignore[method-assign]
    async with Client(server, mode=MODERN) as client:
        await client.call_tool("divide", {"a": 4, "b": 2})
    assert seen == ["divide"]

    raised: dict[str, BaseException] = {}
    for name, arguments in (("divide", {"a": 1, "b": 0}), ("divide", {"a": "x"}), ("nope", {})):
        try:
            await original(name, arguments)
        except ToolError as exc:
            raised[f"{name}{sorted(arguments.items())}"] = exc
    crash, invalid, unknown = raised.values()
    assert isinstance(crash, UnexpectedToolError) and isinstance(crash.__cause__, ZeroDivisionError)
    assert not isinstance(invalid, UnexpectedToolError) and isinstance(invalid.__cause__, ValidationError)
    assert not isinstance(unknown, UnexpectedToolError) and unknown.__cause__ is None


async def test_malformed_calls_only_move_primed_series() -> None:
    server = build()
    handle = instrument(server, CollectorRegistry())
    before = errors(handle.registry)
    async with Client(server, mode=MODERN) as client:
        malformed: tuple[dict[str, Any] | None, ...] = (None, {"arguments": {}}, {"name": 5})
        for params in malformed:
            with pytest.raises(MCPError) as err:
                await client.session.send_request(
                    types.Request[Any, Any](method="tools/call", params=params), types.CallToolResult
                )
            assert err.value.error.code == -32602
    after = errors(handle.registry)
    assert set(after) == set(before)
    assert after[("tools/call", m.OTHER, m.ERROR_CLASS_CLIENT)] == 3


async def test_an_unknown_prompt_or_a_missing_prompt_argument_is_the_clients_fault() -> None:
    """``MCPServer.get_prompt`` raises a plain ``ValueError`` for both; a prompt failing to render stays the
    server's fault under its class name."""
    server = MCPServer(name="prompts")

    @server.prompt()
    def ask(topic: str) -> str:
        return topic

    @server.prompt()
    def broken(topic: str) -> str:
        raise ValueError("bug")

    handle = instrument(server, CollectorRegistry())
    async with Client(server, mode=MODERN) as client:
        for name, arguments in (("nope", {}), ("ask", {}), ("broken", {"topic": "x"})):
            with pytest.raises(MCPError):
                await client.get_prompt(name, arguments)
        await client.get_prompt("ask", {"topic": "x"})
    calls = {k: v for k, v in operation_counts(handle.registry).items() if k[0] == "prompts/get"}
    assert calls == {
        ("prompts/get", "", m.OTHER, "-32602", MODERN, "inproc"): 1,
        ("prompts/get", "", "ask", "-32602", MODERN, "inproc"): 1,
        ("prompts/get", "", "broken", "ValueError", MODERN, "inproc"): 1,
        ("prompts/get", "", "ask", "", MODERN, "inproc"): 1,
    }
    assert {k: v for k, v in errors(handle.registry).items() if v and k[0] == "prompts/get"} == {
        ("prompts/get", "", m.ERROR_CLASS_CLIENT): 2,
        ("prompts/get", "", m.ERROR_CLASS_SERVER): 1,
    }
