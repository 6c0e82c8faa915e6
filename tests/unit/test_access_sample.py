"""Access lines: ``Logs(access_sample=N)`` keeps every failed or slow request's line and one in N fast
successes; redaction skips only the fields Lookout computes itself."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from mcp.client.client import Client
from prometheus_client import CollectorRegistry

from lookout.demo.server import build_server
from lookout.instrument import Logs, instrument
from lookout.instrument.json_logs import AccessLog, JsonFormatter, JsonLogging, configure_json_logging
from tests.instrument_support import operation_counts


@pytest.fixture
def json_logs() -> Iterator[tuple[JsonLogging, io.StringIO]]:
    buf = io.StringIO()
    handle = configure_json_logging(service="search", stream=buf)
    yield handle, buf
    handle.stop()


def test_one_in_n_fast_successes_and_every_failure_or_slow_request() -> None:
    access = AccessLog(sample_every=3, slow_seconds=1.0)
    assert [access.wanted("", 0.001) for _ in range(6)] == [False, False, True, False, False, True]
    assert all(access.wanted("ZeroDivisionError", 0.001) for _ in range(5))
    assert all(access.wanted("", 1.5) for _ in range(5))
    every = AccessLog()
    assert all(every.wanted("", 0.001) for _ in range(5))


def test_access_sample_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="access_sample"):
        Logs(access_sample=0)


async def test_sampled_access_log_over_real_calls(json_logs: tuple[JsonLogging, io.StringIO]) -> None:
    handle, buf = json_logs
    server = build_server()
    instrumentation = instrument(server, CollectorRegistry(), logs=Logs(access_log=True, access_sample=2))
    async with Client(server, mode="2026-07-28") as client:
        for i in range(4):
            await client.call_tool("calculate", {"expression": f"{i} + 1"})
        await client.call_tool("get_weather", {"city": "atlantis"})  # a tool error: always logged
    handle.flush()
    records = [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]
    lines = [r for r in records if r["logger"] == "lookout.access"]
    assert [(r["target"], r["error_type"]) for r in lines if r["outcome"] == "error"] == [("get_weather", "tool_error")]
    successes = [r for r in lines if r["outcome"] == "ok"]
    assert successes and all(r["access_sample"] == 2 for r in successes)
    # One line for every second fast success, whatever its method; the metrics still count every request.
    counts = operation_counts(instrumentation.registry)
    ok_requests = sum(v for k, v in counts.items() if k[3] == "")
    assert sum(v for k, v in counts.items() if k[0] == "tools/call") == 5
    assert len(successes) == ok_requests // 2


def test_client_input_in_an_access_line_is_redacted_and_lookouts_own_fields_are_kept() -> None:
    secret_tool = "lookup password=hunter2"
    fields = {
        "mcp_method": "tools/call",
        "duration_ms": 1.5,
        "outcome": "error",
        "target": secret_tool,
        "mcp_tool": secret_tool,
        "error_type": "ZeroDivisionError",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
    }
    line = json.loads(JsonFormatter("search").format_fields(0.0, "info", "lookout.access", "mcp request", fields))
    assert "hunter2" not in json.dumps(line)
    assert line["target"] == line["mcp_tool"] == "lookup password=[REDACTED:secret]"
    assert (line["outcome"], line["error_type"]) == ("error", "ZeroDivisionError")
    assert (line["trace_id"], line["span_id"]) == (fields["trace_id"], fields["span_id"])
