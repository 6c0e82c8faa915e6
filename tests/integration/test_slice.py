"""The Foundation slice, end to end on the real binaries: `lookout up` runs the demo server,
Prometheus, Alertmanager and the sink; the demo server is scraped; when it dies, MCPServerDown fires
in Prometheus, Alertmanager routes it, and the sink receives it with priority P0. Stopping
`lookout up` leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.client.client import Client

from lookout.runtime.children import pid_alive
from tests.support import LOOPBACK, Proc, free_port, lookout_argv, start, wait_until

pytestmark = pytest.mark.integration


@dataclass
class Stack:
    proc: Proc
    data: Path
    prometheus: str
    demo_url: str
    ports: dict[str, int]

    def pids(self) -> dict[str, int]:
        return {p.stem: int(p.read_text()) for p in (self.data / "run").glob("*.pid")}

    def query(self, expr: str) -> list[dict[str, Any]]:
        body = httpx.get(f"{self.prometheus}/api/v1/query", params={"query": expr}, timeout=5).json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def notifications(self) -> list[dict[str, Any]]:
        path = self.data / "notifications.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_config(path: Path, ports: dict[str, int]) -> None:
    path.write_text(
        f"""
version: 1
tenants:
  - name: acme
    targets:
      - name: demo-server
        url: http://{LOOPBACK}:{ports["demo"]}/mcp
        metrics_url: http://{LOOPBACK}:{ports["demo_mgmt"]}/metrics
alerting:
  receivers:
    - name: sink
      webhook: {{url: "http://{LOOPBACK}:{ports["sink"]}/notify"}}
  routes: {{P0: [sink], P1: [sink], P2: [sink], P3: [sink]}}
  alerts:
    MCPServerDown: {{for: 0s}}
  timings:
    P0: {{group_wait: 1s, group_interval: 1s, repeat_interval: 1h}}
listen:
  prometheus: {LOOPBACK}:{ports["prometheus"]}
  alertmanager: {LOOPBACK}:{ports["alertmanager"]}
  sink: {LOOPBACK}:{ports["sink"]}
  exporter: {LOOPBACK}:{ports["exporter"]}
  pushgateway: {LOOPBACK}:{ports["pushgateway"]}
timing: {{scrape_interval: 1s, evaluation_interval: 1s}}
"""
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("slice")
    ports = {
        k: free_port() for k in ("demo", "demo_mgmt", "prometheus", "alertmanager", "sink", "exporter", "pushgateway")
    }
    write_config(tmp / "lookout.yaml", ports)
    argv = lookout_argv(
        "up",
        "--config",
        str(tmp / "lookout.yaml"),
        "--data-dir",
        str(tmp / "data"),
        "--demo-port",
        str(ports["demo"]),
        "--demo-management-port",
        str(ports["demo_mgmt"]),
    )
    proc = start(argv, tmp / "up.log")
    s = Stack(
        proc, tmp / "data", f"http://{LOOPBACK}:{ports['prometheus']}", f"http://{LOOPBACK}:{ports['demo']}/mcp", ports
    )
    try:
        wait_until(lambda: "Lookout is up" in proc.output() or not proc.alive(), 90, what="lookout up")
        assert proc.alive(), proc.output()
        yield s
    finally:
        proc.stop(signal.SIGTERM, timeout=30)


async def test_demo_server_is_scraped_and_its_metric_is_queryable(stack: Stack) -> None:
    async with Client(stack.demo_url) as client:
        await client.call_tool("calculate", {"expression": "6 * 7"})
    wait_until(lambda: stack.query('up{job="mcp", tenant="acme", service="demo-server"} == 1'), 30, what="up == 1")
    series = wait_until(
        lambda: stack.query('mcp_server_operation_duration_seconds_count{gen_ai_tool_name="calculate"}'),
        30,
        what="the demo's request metric in Prometheus",
    )
    assert series[0]["metric"]["tenant"] == "acme"


def test_the_prober_exporter_started_by_up_probes_the_demo_server(stack: Stack) -> None:
    probes = wait_until(
        lambda: stack.query('probe_success{tenant="acme", service="demo-server"} == 1'), 30, what="probe_success 1"
    )
    assert probes[0]["metric"]["instance"] == "demo-server"


def test_server_down_fires_routes_and_reaches_the_sink_as_p0(stack: Stack) -> None:
    demo_pid = stack.pids()["demo-server"]
    os.kill(demo_pid, signal.SIGKILL)

    def down_notification() -> dict[str, Any] | None:
        for notification in stack.notifications():
            for alert in notification["alerts"]:
                if alert["labels"].get("alertname") == "MCPServerDown" and alert["status"] == "firing":
                    return dict(alert)
        return None

    alert = wait_until(down_notification, 60, interval=0.5, what="MCPServerDown at the sink")
    assert alert["labels"]["priority"] == "P0"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["tenant"] == "acme"
    assert alert["labels"]["service"] == "demo-server"
    assert alert["annotations"]["runbook_url"].endswith("/runbooks/MCPServerDown.md")
    assert "MCPServerDown" in stack.proc.output(), "the sink prints each notification as a line"
    assert stack.proc.alive(), "the watched server dying must not stop the stack"


def test_stopping_lookout_up_leaves_no_process_behind(stack: Stack) -> None:
    pids = stack.pids()
    assert {"prometheus", "alertmanager", "sink", "exporter", "pushgateway"} <= set(pids)
    code = stack.proc.stop(signal.SIGTERM, timeout=30)
    assert code == 0, stack.proc.output()
    leftovers = {name: pid for name, pid in pids.items() if pid_alive(pid)}
    assert not leftovers, f"still running after lookout up stopped: {leftovers}"
    assert not list((stack.data / "run").glob("*.pid"))
    assert (stack.data / "prometheus").is_dir(), "TSDB data is kept between runs"
