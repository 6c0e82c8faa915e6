"""A Prometheus that `lookout up` restarts (its data kept) resumes the `for` of its alerts: an alert pending or firing
before the restart keeps the time it became active, instead of waiting its whole `for` again — which, for a `for`
longer than Alertmanager's hold of an alert (4 resend delays), sends a resolve and a second page."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import yaml

from lookout.config import parse_config
from lookout.runtime.topology import prometheus_children
from lookout.stack import naming
from tests.support import LOOPBACK, free_port, require_binary, start_ready, wait_until

pytestmark = pytest.mark.integration

HELD = "HeldForFiveMinutes"
"""A rule whose `for` (5m, as MCPErrorRatioHigh's) is shorter than Prometheus' default grace period (10m)."""


def _config(port: int) -> str:
    return f"""
version: 1
tenants:
  - name: acme
    targets:
      - {{name: api, url: "http://127.0.0.1:18000/mcp", metrics_url: "http://127.0.0.1:18080/metrics"}}
alerting:
  receivers:
    - {{name: sink, webhook: {{url: "http://127.0.0.1:9/notify"}}}}
  routes: {{P0: [sink], P1: [sink], P2: [sink], P3: [sink]}}
listen:
  prometheus: {LOOPBACK}:{port}
"""


def _active_since(url: str) -> float | None:
    """When the rule's alert became active, as Prometheus' rule manager holds it (not ALERTS_FOR_STATE, whose last
    sample from before a restart stays visible)."""
    alerts = httpx.get(f"{url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    held = [a for a in alerts if a["labels"]["alertname"] == HELD]
    if not held:
        return None
    # Prometheus writes nanoseconds; fromisoformat takes at most microseconds.
    active_at = re.sub(r"(\.\d{6})\d*", r"\1", held[0]["activeAt"]).replace("Z", "+00:00")
    return datetime.fromisoformat(active_at).timestamp()


def test_a_restarted_prometheus_keeps_the_pending_time_of_its_alerts(tmp_path: Path) -> None:
    port = free_port()
    config = parse_config(_config(port))
    stack = tmp_path / "stack"
    (stack / "prometheus").mkdir(parents=True)
    (stack / "prometheus" / "held.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "held", "rules": [{"alert": HELD, "expr": "vector(1)", "for": "5m"}]}]})
    )
    (stack / naming.prometheus_file(0)).write_text(
        yaml.safe_dump({"global": {"evaluation_interval": "1s"}, "rule_files": ["held.yml"]})
    )
    [spec] = prometheus_children(config, require_binary("prometheus"), tmp_path, stack)
    assert spec.ready_url is not None
    url = f"http://{LOOPBACK}:{port}"

    first = start_ready(spec.argv, tmp_path / "first.log", spec.ready_url, "prometheus /-/ready")
    try:
        # Long enough pending that the restart takes less: a restored alert is then active since before it.
        wait_until(lambda: time.time() - (_active_since(url) or time.time()) > 15, 45, 0.5, what=f"{HELD} pending")
    finally:
        first.stop()
    stopped_at = time.time()

    second = start_ready(spec.argv, tmp_path / "second.log", spec.ready_url, "prometheus /-/ready")
    try:
        # Restored: active since before the restart, so it fires when its 5m are up, not 5m after the restart.
        wait_until(lambda: (_active_since(url) or stopped_at) < stopped_at, 30, 0.5, what=f"{HELD}'s `for` restored")
    finally:
        second.stop()
