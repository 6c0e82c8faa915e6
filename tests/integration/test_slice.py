"""The Foundation slice, end to end on the real binaries: `lookout up` runs the demo server,
Prometheus, Alertmanager and the sink; the demo server is scraped; when it dies, MCPServerDown fires
in Prometheus, Alertmanager routes it, and the sink receives it with priority P0. Stopping
`lookout up` leaves no process behind."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp.client.client import Client

from lookout.runtime.children import pid_alive
from lookout.runtime.sink import read_notifications
from tests.stack_support import LISTEN, free_ports, lookout_up, sink_alerting, write_demo_config
from tests.support import LOOPBACK, Proc, instant_query, wait_until

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
        return instant_query(self.prometheus, expr)

    def notifications(self) -> list[dict[str, Any]]:
        return read_notifications(self.data / "notifications.jsonl")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("slice")
    ports = free_ports(*LISTEN)
    write_demo_config(tmp / "lookout.yaml", ports, sink_alerting(ports))
    with lookout_up(tmp, ports) as proc:
        yield Stack(
            proc,
            tmp / "data",
            f"http://{LOOPBACK}:{ports['prometheus']}",
            f"http://{LOOPBACK}:{ports['demo']}/mcp",
            ports,
        )


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
