"""Option values of the wrong type or out of range are refused where they are given, in one line naming the
option, rather than failing every request or deep inside later."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from lookout.cli import app
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
        # Without a scheme every export fails: refused here, not counted as dropped spans for ever after.
        (Tracing, "otlp_endpoint", "collector:4318", ValueError, r"Tracing\(otlp_endpoint=...\) must be an http://"),
        (Tracing, "otlp_endpoint", "grpc://collector:4317", ValueError, r"must be an http:// or https:// URL"),
        # Before: a raw comparison error or an unnamed "target_per_second" at instrument(), or accepted (NaN, and a
        # negative slow_request_seconds that keeps every request's span as slow).
        (Tracing, "traces_per_second", "10", TypeError, r"Tracing\(traces_per_second=...\) must be a number"),
        (Tracing, "traces_per_second", -1, ValueError, r"Tracing\(traces_per_second=...\) must be above 0"),
        (Tracing, "traces_per_second", float("nan"), ValueError, r"Tracing\(traces_per_second=...\) must be above"),
        (Tracing, "slow_request_seconds", -1, ValueError, r"Tracing\(slow_request_seconds=...\) must be above 0"),
        (Tracing, "slow_request_seconds", True, TypeError, r"Tracing\(slow_request_seconds=...\) must be a number"),
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
    assert Tracing(otlp_endpoint="https://collector:4318/v1/traces").otlp_endpoint == "https://collector:4318/v1/traces"


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


def test_the_demo_server_refuses_an_otlp_endpoint_without_a_scheme() -> None:
    # Port 9: nothing is served, the endpoint is refused before the server starts.
    argv = ["demo-server", "--port", "9", "--management-port", "9", "--otlp-endpoint", "localhost:4318"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert "--otlp-endpoint must be an http:// or https:// URL" in result.output and "Traceback" not in result.output
