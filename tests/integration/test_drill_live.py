"""Alerting proven live: `lookout up` on the drill profile (examples/lookout-drill.yaml) on free ports drives
traffic to the demo server by itself, `lookout drill` makes alerts of every priority fire, reach the sink and
resolve, and the README's fault command makes an alert reach the sink with no other step."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from lookout.runtime.children import pid_alive
from lookout.runtime.sink import read_notifications
from tests.stack_support import free_ports, lookout_up
from tests.support import LOOPBACK, Proc, instant_query, lookout_argv, start, wait_until

pytestmark = pytest.mark.integration

PROFILE = Path(__file__).parents[2] / "examples" / "lookout-drill.yaml"
DRILL_TIMEOUT = 600.0
LISTEN = ("prometheus", "alertmanager", "sink", "exporter", "pushgateway", "grafana")


@dataclass
class LiveStack:
    proc: Proc
    tmp: Path
    data: Path
    ports: dict[str, int]

    @property
    def management_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['demo_mgmt']}"

    def query(self, expr: str) -> list[dict[str, Any]]:
        return instant_query(f"http://{LOOPBACK}:{self.ports['prometheus']}", expr, timeout=10)

    def notifications(self) -> list[dict[str, Any]]:
        return read_notifications(self.data / "notifications.jsonl")

    def pids(self) -> dict[str, int]:
        return {p.stem: int(p.read_text()) for p in (self.data / "run").glob("*.pid")}

    def drill(self, name: str, *alerts: str) -> Proc:
        args = [a for alert in alerts for a in ("--alert", alert)]
        return start(lookout_argv("drill", "--data-dir", str(self.data), "--json", *args), self.tmp / f"{name}.log")


def drill_profile_on(ports: dict[str, int]) -> dict[str, Any]:
    """The drill profile itself, only its addresses moved to free ports."""
    config: dict[str, Any] = yaml.safe_load(PROFILE.read_text())
    target = config["tenants"][0]["targets"][0]
    target["url"] = f"http://{LOOPBACK}:{ports['demo']}/mcp"
    target["metrics_url"] = f"http://{LOOPBACK}:{ports['demo_mgmt']}/metrics"
    config["alerting"]["receivers"][0]["webhook"]["url"] = f"http://{LOOPBACK}:{ports['sink']}/notify"
    config["listen"] = {k: f"{LOOPBACK}:{ports[k]}" for k in LISTEN}
    return config


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    tmp = tmp_path_factory.mktemp("drill")
    ports = free_ports(*LISTEN)
    (tmp / "lookout.yaml").write_text(yaml.safe_dump(drill_profile_on(ports)))
    with lookout_up(tmp, ports) as proc:
        yield LiveStack(proc, tmp, tmp / "data", ports)


def finished(proc: Proc, timeout: float) -> dict[str, Any]:
    wait_until(lambda: not proc.alive(), timeout, interval=1, what=f"lookout drill ({proc.log.name})")
    output = proc.output()
    report: dict[str, Any] = json.loads(output[output.index("{") : output.rindex("}") + 1])
    assert proc.popen.returncode == 0, output
    return report


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {a["alert"]: a["status"] for a in report["alerts"]}


def test_up_drives_traffic_to_every_demo_tool_with_no_other_step(stack: LiveStack) -> None:
    wait_until(
        lambda: stack.query('rate(mcp_server_operation_duration_seconds_count{gen_ai_tool_name="calculate"}[1m]) > 0'),
        90,
        interval=1,
        what="traffic to calculate in Prometheus",
    )
    tools = {"search_docs", "get_weather", "calculate", "generate_report", "echo"}
    methods = {"tools/list", "resources/list", "resources/read"}
    ok = 'mcp_server_operation_duration_seconds_count{error_type=""}'

    def seen(label: str) -> set[str]:
        return {s["metric"].get(label, "") for s in stack.query(f"sum by ({label}) ({ok}) > 0")}

    wait_until(lambda: seen("gen_ai_tool_name") >= tools, 60, interval=1, what=f"successful calls of {tools}")
    wait_until(lambda: seen("mcp_method_name") >= methods, 60, interval=1, what=f"successful {methods}")


@pytest.mark.timeout(DRILL_TIMEOUT + 60)
def test_drill_the_demo_server_going_down(stack: LiveStack) -> None:
    down = ("MCPServerInstanceDown", "MCPProbeFailing", "MCPServerDown", "MCPTenantDown")
    report = finished(stack.drill("drill-down", *down), DRILL_TIMEOUT)
    assert statuses(report) == dict.fromkeys(down, "passed"), report
    for result in report["alerts"]:
        assert result["receiver"] == "local-sink", result
        assert result["fired_after_s"] is not None and result["resolved_after_s"] is not None
    assert stack.proc.alive(), "a demo server that stops answering must not stop the stack"
    assert pid_alive(stack.pids()["demo-traffic"]), "the traffic keeps going while the demo server is down"


@pytest.mark.timeout(DRILL_TIMEOUT + 60)  # the error and latency alerts resolve only once their 5m window is clean
def test_drill_every_priority_errors_latency_and_the_stack(stack: LiveStack) -> None:
    # Faults on different tools and components, so the three drills run side by side: each family waits for
    # its 5-minute window once.
    drills = {
        "drill-latency": ("MCPToolLatencyP99High",),
        "drill-errors": ("MCPErrorBudgetBurnFast",),
        "drill-stack": ("Watchdog", "LookoutAuxiliaryComponentDown", "LookoutStackComponentDown", "MCPCapacityHigh"),
    }
    procs = {name: stack.drill(name, *alerts) for name, alerts in drills.items()}
    try:
        reports = {name: finished(proc, DRILL_TIMEOUT) for name, proc in procs.items()}
    finally:
        for proc in procs.values():
            proc.stop(signal.SIGTERM, timeout=30)  # a drill stopped early still clears its fault
    seen: dict[str, str] = {}
    for name, alerts in drills.items():
        assert statuses(reports[name]) == dict.fromkeys(alerts, "passed"), reports[name]
        seen |= {a["alert"]: a["priority"] for a in reports[name]["alerts"]}
    assert set(seen.values()) >= {"P0", "P1", "P2", "P3"}


def test_the_readme_fault_command_makes_an_alert_reach_the_sink(stack: LiveStack) -> None:
    before = len(stack.notifications())
    fault = start(
        lookout_argv("demo", "fault", "calculate", "--error-ratio", "0.5", "--url", stack.management_url),
        stack.tmp / "fault.log",
    )
    wait_until(lambda: not fault.alive(), 30, what="lookout demo fault")
    assert fault.popen.returncode == 0, fault.output()
    errors = {"MCPErrorBudgetBurnFast", "MCPErrorRatioHigh", "MCPToolErrorRatioHigh"}

    def error_alert_at_the_sink() -> dict[str, Any] | None:
        for notification in stack.notifications()[before:]:
            for alert in notification["alerts"]:
                if alert["status"] == "firing" and alert["labels"]["alertname"] in errors:
                    return dict(alert["labels"])
        return None

    labels = wait_until(error_alert_at_the_sink, 120, interval=1, what="an error alert at the sink")
    assert labels["service"] == "demo-server"
    clear = start(lookout_argv("demo", "clear", "--url", stack.management_url), stack.tmp / "clear.log")
    wait_until(lambda: not clear.alive(), 30, what="lookout demo clear")


def test_stopping_up_stops_the_traffic_and_removes_the_state_file(stack: LiveStack) -> None:
    pids = stack.pids()
    assert "demo-traffic" in pids and (stack.data / "run" / "stack.json").exists()
    assert stack.proc.stop(signal.SIGTERM, timeout=30) == 0, stack.proc.output()
    assert not {name: pid for name, pid in pids.items() if pid_alive(pid)}
    assert not (stack.data / "run" / "stack.json").exists()
