"""The generated inhibitions on a real Alertmanager: a server that is down silences that server's lesser
alerts (not other servers'), and within a family a higher priority (an escalation) silences the lower."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lookout.config import parse_config
from lookout.stack import render_stack, write_stack
from tests.support import Alertmanager, start_alertmanager, wait_until

pytestmark = pytest.mark.integration

CONFIG = """
version: 1
tenants:
  - name: acme
    targets:
      - {name: api, url: "http://127.0.0.1:18000/mcp", metrics_url: "http://127.0.0.1:18080/metrics"}
      - {name: search, url: "http://127.0.0.1:18001/mcp", metrics_url: "http://127.0.0.1:18081/metrics"}
alerting:
  receivers:
    - {name: sink, webhook: {url: "http://127.0.0.1:9/notify"}}
  routes: {P0: [sink], P1: [sink], P2: [sink], P3: [sink]}
"""


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alertmanager]:
    tmp = tmp_path_factory.mktemp("am")
    write_stack(render_stack(parse_config(CONFIG)), tmp / "stack")
    am = start_alertmanager(tmp / "stack" / "alertmanager" / "alertmanager.yml", tmp)
    try:
        yield am
    finally:
        am.proc.stop()


def _alert(name: str, priority: str, service: str, family: str, **extra: str) -> dict[str, Any]:
    labels = {"alertname": name, "priority": priority, "tenant": "acme", "service": service, "family": family}
    return {"labels": {**labels, **extra}}


def _states(am: Alertmanager) -> dict[tuple[str, str], list[str]]:
    alerts = httpx.get(f"{am.url}/api/v2/alerts", timeout=5).json()
    return {(a["labels"]["alertname"], a["labels"]["service"]): a["status"]["inhibitedBy"] for a in alerts}


def test_server_down_inhibits_its_own_lesser_alerts_only(alertmanager: Alertmanager) -> None:
    alerts = [
        _alert("MCPServerDown", "P0", "api", "availability"),
        _alert("MCPLatencyP99High", "P1", "api", "latency"),
        _alert("MCPCapacityHigh", "P2", "api", "resources"),
        _alert("MCPLatencyP99High", "P1", "search", "latency"),
    ]
    httpx.post(f"{alertmanager.url}/api/v2/alerts", json=alerts, timeout=5).raise_for_status()
    wait_until(lambda: _states(alertmanager)[("MCPLatencyP99High", "api")], 30, what="inhibition to apply")
    states = _states(alertmanager)
    assert states[("MCPLatencyP99High", "api")]
    assert states[("MCPCapacityHigh", "api")]
    assert states[("MCPServerDown", "api")] == []
    assert states[("MCPLatencyP99High", "search")] == [], "another server's alert must not be silenced"


def test_an_escalation_silences_the_alert_it_escalates(alertmanager: Alertmanager) -> None:
    alerts = [
        _alert("MCPToolErrorRatioHigh", "P1", "search", "errors"),
        _alert("LookoutEscalatedP1", "P0", "search", "errors", escalated_from="MCPToolErrorRatioHigh"),
    ]
    httpx.post(f"{alertmanager.url}/api/v2/alerts", json=alerts, timeout=5).raise_for_status()
    wait_until(lambda: _states(alertmanager).get(("MCPToolErrorRatioHigh", "search")), 30, what="family inhibition")
    assert _states(alertmanager)[("LookoutEscalatedP1", "search")] == []
