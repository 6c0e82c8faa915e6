"""On-call scenarios on a real Alertmanager with the generated alertmanager.yml (fleet.yaml): which
notifications reach which webhook when alerts are posted to its v2 API — one incident, one page; a replica's
alert never silences the healthy replicas'; and `amtool config routes test` for alerts no route names."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from lookout.check.tools import routed_receivers
from lookout.config import parse_config
from lookout.stack import render_stack, write_stack
from tests.support import LOOPBACK, Alertmanager, start_alertmanager, wait_until

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
FAST = "{group_wait: 1s, group_interval: 1s, repeat_interval: 1h}"


class Sink:
    """Webhook receiver: every notification body, by the path (= receiver) it was sent to."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    received.append((self.path.strip("/"), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def firing(self, service: str) -> set[tuple[str, str, str]]:
        """(receiver, alertname, instance) of every firing alert notified for ``service``."""
        return {
            (receiver, a["labels"]["alertname"], a["labels"].get("instance", ""))
            for receiver, body in list(self.received)
            for a in body["alerts"]
            if a["status"] == "firing" and a["labels"].get("service") == service
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _fleet(sink_port: int) -> str:
    text = (HERE / "fleet.yaml").read_text().replace("127.0.0.1:9/", f"{LOOPBACK}:{sink_port}/")
    timings = "\n".join(f"    {p}: {FAST}" for p in ("P0", "P1", "P2", "P3"))
    return text.replace("  business_hours: null\n", f"  business_hours: null\n  timings:\n{timings}\n")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Alertmanager, Sink, Path]]:
    tmp = tmp_path_factory.mktemp("am")
    sink = Sink()
    write_stack(render_stack(parse_config(_fleet(sink.port))), tmp / "stack")
    am = start_alertmanager(tmp / "stack" / "alertmanager" / "alertmanager.yml", tmp)
    try:
        yield am, sink, tmp / "stack"
    finally:
        am.proc.stop()
        sink.stop()


def _alert(name: str, priority: str, tenant: str, service: str, family: str, **extra: str) -> dict[str, Any]:
    labels = {"alertname": name, "priority": priority, "tenant": tenant, "service": service, "family": family}
    return {"labels": {**labels, **extra}}


def _inhibited(am: Alertmanager, service: str) -> set[tuple[str, str]]:
    alerts = httpx.get(f"{am.url}/api/v2/alerts", timeout=5).json()
    return {
        (a["labels"]["alertname"], a["labels"].get("instance", ""))
        for a in alerts
        if a["labels"].get("service") == service and a["status"]["inhibitedBy"]
    }


def _post_and_collect(
    stack: tuple[Alertmanager, Sink, Path],
    alerts: list[dict[str, Any]],
    service: str,
    notified: set[tuple[str, str, str]],
    inhibited: set[tuple[str, str]],
) -> None:
    am, sink, _ = stack
    httpx.post(f"{am.url}/api/v2/alerts", json=alerts, timeout=5).raise_for_status()
    wait_until(lambda: notified <= sink.firing(service), 60, interval=0.2, what=f"notifications {notified}")
    wait_until(lambda: _inhibited(am, service) == inhibited, 30, interval=0.2, what=f"inhibitions {inhibited}")
    assert sink.firing(service) == notified


def test_one_replica_down_silences_only_that_replica(stack: tuple[Alertmanager, Sink, Path]) -> None:
    alerts = [
        _alert("MCPServerInstanceDown", "P1", "acme", "api", "availability", instance="10.0.0.1:8080"),
        _alert("MCPCPUUtilizationHigh", "P2", "acme", "api", "resources", instance="10.0.0.1:8080"),
        _alert("MCPCPUUtilizationHigh", "P2", "acme", "api", "resources", instance="10.0.0.2:8080"),
        _alert("MCPLatencyP99High", "P1", "acme", "api", "latency"),
    ]
    notified = {
        ("chat", "MCPServerInstanceDown", "10.0.0.1:8080"),
        ("tickets", "MCPCPUUtilizationHigh", "10.0.0.2:8080"),
        ("chat", "MCPLatencyP99High", ""),
    }
    _post_and_collect(stack, alerts, "api", notified, {("MCPCPUUtilizationHigh", "10.0.0.1:8080")})


def test_server_down_is_the_one_page_of_its_service(stack: tuple[Alertmanager, Sink, Path]) -> None:
    alerts = [
        _alert("MCPServerDown", "P0", "acme", "search", "availability"),
        _alert("MCPProbeFailing", "P0", "acme", "search", "availability", job="lookout-probe-discover"),
        _alert("MCPServerInstanceDown", "P1", "acme", "search", "availability", instance="10.0.1.1:8080"),
        _alert("MCPErrorRatioHigh", "P1", "acme", "search", "errors"),
    ]
    inhibited = {("MCPProbeFailing", ""), ("MCPServerInstanceDown", "10.0.1.1:8080"), ("MCPErrorRatioHigh", "")}
    _post_and_collect(stack, alerts, "search", {("pager", "MCPServerDown", "")}, inhibited)


def test_burn_rate_page_silences_the_error_ratio_pages(stack: tuple[Alertmanager, Sink, Path]) -> None:
    alerts = [
        _alert("MCPErrorBudgetBurnFast", "P0", "beta", "solo", "errors"),
        _alert("MCPErrorRatioHigh", "P1", "beta", "solo", "errors"),
        _alert("MCPToolErrorRatioHigh", "P1", "beta", "solo", "errors", gen_ai_tool_name="lookup"),
        _alert("MCPLatencyP99High", "P1", "beta", "solo", "latency"),
    ]
    notified = {("beta-pager", "MCPErrorBudgetBurnFast", ""), ("beta-chat", "MCPLatencyP99High", "")}
    _post_and_collect(stack, alerts, "solo", notified, {("MCPErrorRatioHigh", ""), ("MCPToolErrorRatioHigh", "")})


def test_an_unroutable_alert_still_pages_the_default_receiver(stack: tuple[Alertmanager, Sink, Path]) -> None:
    alerts = [{"labels": {"alertname": "HandWritten", "tenant": "gamma", "service": "legacy", "severity": "critical"}}]
    _post_and_collect(stack, alerts, "legacy", {("pager", "HandWritten", "")}, set())


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        ({"tenant": "gamma", "priority": "P0"}, ["pager"]),
        ({"priority": "P1"}, ["pager"]),
        ({"tenant": "acme"}, ["pager"]),
        ({"tenant": "acme", "priority": "p0"}, ["pager"]),
        ({"tenant": "acme", "priority": "P9"}, ["pager"]),
        ({"severity": "critical"}, ["pager"]),
        ({"tenant": "beta", "priority": "p1"}, ["beta-chat"]),
        # beta sends P3 nowhere on purpose: that is not a fallback case.
        ({"tenant": "beta", "priority": "P3"}, ["lookout-null"]),
        ({"tenant": "_lookout", "priority": "P2"}, ["tickets"]),
    ],
)
def test_routes_of_alerts_no_tenant_route_names(
    stack: tuple[Alertmanager, Sink, Path], labels: dict[str, str], receivers: list[str]
) -> None:
    assert routed_receivers(stack[2], {"alertname": "Scenario", **labels}) == receivers
