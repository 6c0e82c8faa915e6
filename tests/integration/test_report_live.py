"""`lookout report sla|capacity|cost` against `lookout up` with its demo traffic on free loopback ports: each report
exits 0 and writes its HTML and JSON, and its figures agree with what the live Prometheus answers at the report's
end: the requests counted against the demo server's own counter, availability 100 % with no fault injected, the
capacity from lookout.yaml, the active series against the TSDB head, the tool-definition footprint against the
probe's series."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from lookout import metrics as m
from lookout.config import load_config
from lookout.report.period import WINDOW
from lookout.stack.rules import recording as rec
from tests.stack_support import free_ports, lookout_up, sink_alerting, write_demo_config
from tests.support import LOOPBACK, instant_query, lookout_argv, wait_until

STARTUP_S = 90
"""Until the demo server's recorded request rate is non-zero."""
WINDOW_S = int(WINDOW.total_seconds())
TRAFFIC_S = 30
# The module's stack is set up inside its first test, and waiting for a whole 5-minute window to close over
# TRAFFIC_S of traffic alone takes up to WINDOW_S + TRAFFIC_S: the default 300 s limit is too short for it.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(STARTUP_S + WINDOW_S + 240)]

SERVICE = 'tenant="acme",service="demo-server"'
REQUESTS_TOLERANCE = 0.1
"""Rates over 5-minute windows extrapolate to the windows' edges: their sum is within this of the counter's rise."""
SERIES_TOLERANCE = 0.1
"""The head also holds series that went stale before the report's end (probe and scrape churn of a young stack)."""


@dataclass
class Stack:
    config: Path
    prometheus: str
    out: Path

    def query(self, expr: str, at: float) -> float:
        result = instant_query(self.prometheus, expr, at)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])

    def report(self, kind: str, fmt: str) -> dict[str, Any] | None:
        """Run the report into out/<kind>-<fmt>/; the JSON body for --format json."""
        out = self.out / f"{kind}-{fmt}"
        argv = lookout_argv("report", kind, "--config", str(self.config), "--format", fmt, "--out", str(out))
        done = subprocess.run(argv, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        assert (out / f"{kind}.{fmt}").stat().st_size > 0
        return json.loads((out / f"{kind}.json").read_text()) if fmt == "json" else None


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("report-live")
    ports = free_ports("prometheus", "alertmanager", "sink", "exporter", "pushgateway")
    write_demo_config(tmp / "lookout.yaml", ports, sink_alerting(ports))
    with lookout_up(tmp, ports) as up:
        s = Stack(tmp / "lookout.yaml", f"http://{LOOPBACK}:{ports['prometheus']}", tmp / "reports")
        recorded = f"{rec.REQUESTS_RATE}{{{SERVICE}}} > 0"
        wait_until(lambda: bool(instant_query(s.prometheus, recorded)), STARTUP_S, what=f"{recorded} ({up.output()})")
        # The reports end at the last whole 5-minute window: wait for one to close over half a minute of traffic.
        closed = ((time.time() + TRAFFIC_S) // WINDOW_S + 1) * WINDOW_S + 5
        wait_until(lambda: time.time() > closed, WINDOW_S + TRAFFIC_S + 10, what="a 5-minute window to close")
        yield s


def _end(body: dict[str, Any], key: str = "period") -> float:
    value = body[key]["end"] if key == "period" else body[key]
    return datetime.fromisoformat(value).timestamp()


def test_sla_counts_the_demo_servers_requests_and_no_failure(stack: Stack) -> None:
    body = stack.report("sla", "json")
    assert body is not None
    (service,) = body["services"]
    assert (service["tenant"], service["service"], service["traffic"]) == ("acme", "demo-server", True)
    # What Prometheus saw the server count: its counters' rise from their first scrape to the report's end.
    counter = f"{rec.OPS_COUNT}{{{rec.MCP_SELECTOR},{SERVICE}}}"
    counted = stack.query(f"sum({counter}) - sum(min_over_time({counter}[1h]))", _end(body))
    assert counted > 0
    assert service["requests"] == pytest.approx(counted, rel=REQUESTS_TOLERANCE)
    assert (service["failed"], service["availability"], service["budget_consumed"]) == (0, 1.0, 0.0)
    assert service["incidents"] == []
    assert len(body["images"]) == 3 and all((stack.out / "sla-json" / name).exists() for name in body["images"])
    stack.report("sla", "html")
    page = (stack.out / "sla-html" / "sla.html").read_text()
    assert "acme / demo-server" in page and page.count('<img src="data:image/png;base64,') == 3


def test_capacity_reads_the_configured_capacity_and_the_live_peak(stack: Stack) -> None:
    body = stack.report("capacity", "json")
    assert body is not None
    (service,) = body["services"]
    config = load_config(stack.config)
    assert service["capacity_rps"] == config.alerting.resources.capacity_fallback_rps
    assert service["replicas"] == 1
    end = _end(body)
    peak = stack.query(f"max_over_time({rec.REQUESTS_RATE}{{{SERVICE}}}[1d])", end)
    assert service["requests"]["latest"] == pytest.approx(peak) and peak > 0
    stack.report("capacity", "html")
    assert "acme / demo-server" in (stack.out / "capacity-html" / "capacity.html").read_text()


def test_cost_counts_the_head_series_and_the_demo_servers_tool_footprint(stack: Stack) -> None:
    body = stack.report("cost", "json")
    assert body is not None
    at = _end(body, "at")
    head = stack.query(f"max({m.PROMETHEUS_HEAD_SERIES})", at)
    assert body["total_series"] == pytest.approx(head, rel=SERIES_TOLERANCE)
    assert body["samples_per_second"] > 0
    (server,) = body["tool_footprint"]["servers"]
    measured = stack.query(f"max({m.PROBE_TOOLS_DEFINITION_BYTES.name}{{{SERVICE}}})", at)
    assert (server["service"], server["bytes"]) == ("demo-server", measured) and server["tokens"] > 0
    stack.report("cost", "html")
    page = (stack.out / "cost-html" / "cost.html").read_text()
    assert "Tool-definition footprint" in page and "demo-server" in page
