"""The issue's end-to-end test on the real binaries: `lookout up` with demo traffic, then
`lookout check --live` passes; then fault injection on the demo server makes MCPServerDown, the error-ratio
alert and the latency alert fire, each reaching the receiver its priority routes to (P0 -> pager, P1 -> chat,
two separate `lookout sink` processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp.client.client import Client

from lookout.runtime.sink import read_notifications
from tests.stack_support import LISTEN, free_ports, lookout_up, sink_webhook, write_demo_config
from tests.support import LOOPBACK, Proc, lookout_argv, start, wait_until

pytestmark = pytest.mark.integration


@dataclass
class Stack:
    up: Proc
    config: Path
    data: Path
    ports: dict[str, int]
    sinks: dict[str, Path]

    @property
    def prometheus(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['prometheus']}"

    @property
    def demo_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['demo']}/mcp"

    @property
    def faults_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['demo_mgmt']}/faults"

    def pids(self) -> dict[str, int]:
        return {p.stem: int(p.read_text()) for p in (self.data / "run").glob("*.pid")}

    def firing(self, receiver: str, alertname: str) -> dict[str, Any] | None:
        for notification in read_notifications(self.sinks[receiver]):
            for alert in notification["alerts"]:
                if alert["labels"].get("alertname") == alertname and alert["status"] == "firing":
                    return dict(alert)
        return None


def write_config(path: Path, ports: dict[str, int]) -> None:
    alerting = f"""
  receivers:
    - {{name: pager, webhook: {sink_webhook(ports, "pager")}}}
    - {{name: chat, webhook: {sink_webhook(ports, "chat")}}}
    - {{name: sink, webhook: {sink_webhook(ports)}}}
  routes: {{P0: [pager], P1: [chat], P2: [sink], P3: [sink]}}
  heartbeat_receiver: sink
  alerts:
    MCPServerDown: {{for: 0s}}
    MCPErrorRatioHigh: {{for: 0s}}
    MCPLatencyP99High: {{for: 0s}}
  slo: {{min_failed_requests: 1}}
  timings:
    P0: {{group_wait: 1s, group_interval: 1s, repeat_interval: 1h}}
    P1: {{group_wait: 1s, group_interval: 1s, repeat_interval: 1h}}
"""
    write_demo_config(path, ports, alerting)
    # A second tenant whose server is only probed (no metrics_url): its server panels have no data, rightly.
    probed = f"""  - name: probed
    targets:
      - name: demo-probed
        url: http://{LOOPBACK}:{ports["demo"]}/mcp
alerting:
"""
    path.write_text(path.read_text().replace("alerting:\n", probed, 1))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("live")
    ports = free_ports(*LISTEN, "pager", "chat")
    write_config(tmp / "lookout.yaml", ports)
    sinks = {"pager": tmp / "pager.jsonl", "chat": tmp / "chat.jsonl", "sink": tmp / "data" / "notifications.jsonl"}
    procs = [
        start(
            lookout_argv("sink", "--listen", f"{LOOPBACK}:{ports[name]}", "--file", str(sinks[name])),
            tmp / f"{name}.log",
        )
        for name in ("pager", "chat")
    ]
    try:
        with lookout_up(tmp, ports) as up:
            yield Stack(up, tmp / "lookout.yaml", tmp / "data", ports, sinks)
    finally:
        for proc in reversed(procs):
            proc.stop(signal.SIGTERM, timeout=30)


async def drive_traffic(url: str, rounds: int) -> None:
    """A bounded mix of demo calls: every tool, a resource, a prompt, and now and then a tool error."""
    async with Client(url) as client:
        for i in range(rounds):
            await client.call_tool("calculate", {"expression": f"{i} * 7"})
            await client.call_tool("echo", {"text": "hello"})
            await client.call_tool("search_docs", {"query": "alerts"})
            await client.call_tool("get_weather", {"city": "lisbon"})
            if i % 10 == 0:
                await client.call_tool("generate_report", {"topic": "slo"})
                await client.call_tool("get_weather", {"city": "atlantis"})  # a tool error (isError)
                await client.read_resource("docs://index")
                await client.get_prompt("summarize", {"text": "t"})


def scraped(stack: Stack, expr: str) -> bool:
    body = httpx.get(f"{stack.prometheus}/api/v1/query", params={"query": expr}, timeout=5).json()
    return bool(body["data"]["result"])


def lookout_check(stack: Stack) -> dict[str, Any]:
    argv = lookout_argv("check", "--config", str(stack.config), "--live", stack.prometheus, "--json")
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 1), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _lines(findings: list[dict[str, str]]) -> str:
    return "\n".join(f"{f['check']}: {f['file']}: {f['message']}" for f in findings)


@pytest.fixture(scope="module")
def live_report(stack: Stack) -> dict[str, Any]:
    """`lookout check --live` once the recording rules had time to evaluate over the demo traffic."""
    # Traffic must land between two scrapes: counters first seen at their final value have no rate. The
    # server creates every tool's series at its first request of a protocol revision, so send one round,
    # wait until Prometheus has scraped those series, and only then the traffic that rate() must see.
    wait_until(lambda: scraped(stack, 'up{job="mcp"} == 1'), 30, what="the demo server's first scrape")
    anyio.run(drive_traffic, stack.demo_url, 1)
    primed = 'count(mcp_server_operation_duration_seconds_count{job="mcp", mcp_method_name="tools/call"}) >= 10'
    wait_until(lambda: scraped(stack, primed), 30, what="every tool's series scraped once")
    anyio.run(drive_traffic, stack.demo_url, 60)
    reports: list[dict[str, Any]] = []

    def rules_have_data() -> bool:
        reports[:] = [lookout_check(stack)]
        return not any(f["file"].startswith("prometheus/") for f in reports[0]["findings"])

    try:
        wait_until(rules_have_data, 90, interval=3, what="every recording rule to have data")
    except pytest.fail.Exception:
        pytest.fail(f"lookout check --live kept failing:\n{_lines(reports[0]['findings'])}")
    return reports[0]


def test_check_live_passes_for_every_recording_rule_and_validator(live_report: dict[str, Any]) -> None:
    assert "live" in live_report["ran"]
    ours = [f for f in live_report["findings"] if f["check"] != "live" or f["file"].startswith("prometheus/")]
    assert not ours, _lines(ours)


def test_check_live_passes_for_every_dashboard_query(live_report: dict[str, Any]) -> None:
    assert not live_report["findings"], _lines(live_report["findings"])
    # Only alert lists may be empty on a healthy stack; every other panel over emitted metrics has data.
    excused = [line for line in live_report["not_checkable"] if "no alert of this scope is firing" in line]
    assert all("Firing alerts" in line for line in excused), excused
    # The probe-only tenant's server panels are not checkable; its probe panels were checked (no finding).
    unprobed = [line for line in live_report["not_checkable"] if "has no instrumented server" in line]
    assert unprobed and all("tenant probed has no instrumented server" in line for line in unprobed), unprobed
    assert not any("/probed/probes.json" in line for line in unprobed), unprobed


async def test_faults_fire_error_ratio_and_latency_alerts_to_p1_then_server_down_to_p0(stack: Stack) -> None:
    httpx.put(f"{stack.faults_url}/echo", json={"error_ratio": 1.0}).raise_for_status()
    httpx.put(f"{stack.faults_url}/generate_report", json={"latency_ms": 300}).raise_for_status()
    await drive_traffic(stack.demo_url, 30)
    async with Client(stack.demo_url) as client:
        with anyio.fail_after(60):
            for _ in range(10):
                await client.call_tool("generate_report", {"topic": "slow"})

    errors = wait_until(lambda: stack.firing("chat", "MCPErrorRatioHigh"), 60, interval=0.5, what="error alert")
    assert errors["labels"]["priority"] == "P1"
    assert errors["labels"]["service"] == "demo-server"
    latency = wait_until(lambda: stack.firing("chat", "MCPLatencyP99High"), 60, interval=0.5, what="latency alert")
    assert latency["labels"]["priority"] == "P1"
    assert stack.firing("pager", "MCPErrorRatioHigh") is None, "a P1 must not page"

    os.kill(stack.pids()["demo-server"], signal.SIGKILL)
    down = wait_until(lambda: stack.firing("pager", "MCPServerDown"), 60, interval=0.5, what="MCPServerDown at pager")
    assert down["labels"]["priority"] == "P0"
    assert down["annotations"]["runbook_url"].endswith("/runbooks/MCPServerDown.md")
    assert stack.firing("chat", "MCPServerDown") is None, "a P0 goes to the P0 receiver only"
    assert json.loads(stack.sinks["pager"].read_text().splitlines()[0])["receiver"] == "pager"
