"""Option values of the wrong type or out of range are refused where they are given, in one line naming the
option, rather than failing every request or deep inside later."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from prometheus_client import CollectorRegistry

from lookout.instrument import Audit, Limits, Logs, Metrics, Tracing, instrument


@pytest.mark.parametrize(
    ("options", "option", "value", "error", "message"),
    [
        (Limits, "max_in_flight", "10", TypeError, r"Limits\(max_in_flight=...\) must be an int, not str"),
        (Limits, "max_in_flight", 1.5, TypeError, r"Limits\(max_in_flight=...\) must be an int"),
        (Limits, "max_in_flight", -1, ValueError, r"Limits\(max_in_flight=...\) must be at least 0, not -1"),
        (Limits, "memory_bytes", -5, ValueError, r"Limits\(memory_bytes=...\) must be at least 1, not -5"),
        (Limits, "memory_bytes", 0, ValueError, r"Limits\(memory_bytes=...\) must be at least 1"),
        (Limits, "memory_bytes", "1G", TypeError, r"Limits\(memory_bytes=...\) must be an int"),
        (Metrics, "tools", "search", TypeError, r"Metrics\(tools=...\) must be a collection of names"),
        (Metrics, "prompts", ["ask", 3], TypeError, r"Metrics\(prompts=...\) must hold names"),
        (Logs, "arguments_for", "echo", TypeError, r"Logs\(arguments_for=...\) must be a collection"),
        (Logs, "access_sample", "2", TypeError, r"Logs\(access_sample=...\) must be an int"),
        (Audit, "arguments_for", "echo", TypeError, r"Audit\(arguments_for=...\) must be a collection"),
    ],
)
def test_an_option_value_of_the_wrong_type_or_range_is_refused(
    options: type[Any], option: str, value: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as raised:
        options(**{option: value})
    assert "\n" not in str(raised.value)


def test_valid_option_values_are_kept() -> None:
    assert Limits(max_in_flight=0, memory_bytes=None) == Limits()
    assert Limits(max_in_flight=10, memory_bytes=1 << 30).max_in_flight == 10
    assert Metrics(tools=["search"], prompts={"ask"}).tools == ("search",)
    assert Logs(arguments_for=("echo",)).arguments_for == ("echo",)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"limits": {"max_in_flight": 10}}, "limits must be Limits, not dict"),
        ({"logs": True}, "logs must be Logs, not bool"),
        ({"tracing": {"export": True}}, "tracing must be Tracing, not dict"),
        ({"metrics": None}, "metrics must be Metrics, not NoneType"),
        ({"audit": "/tmp/audit.jsonl"}, "audit must be Audit, not str"),
        ({"registry": {}}, "registry must be CollectorRegistry or None, not dict"),
        ({"health": object()}, "health must be Health or None, not object"),
        ({"service": 3}, "service must be str or None, not int"),
    ],
)
def test_instrument_names_a_parameter_of_the_wrong_type(parameters: dict[str, Any], message: str) -> None:
    server = MCPServer("options")
    with pytest.raises(TypeError, match=f"^lookout.instrument: {message}$"):
        instrument(server, **parameters)
    instrument(server, CollectorRegistry(), tracing=Tracing())  # nothing was left half-instrumented
