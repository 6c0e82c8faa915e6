"""Another conventional emitter drives Lookout's rules and dashboards unchanged.

The OpenTelemetry Python SDK (its Prometheus exporter; interop/otel_emitter.py, a process of its own that imports
nothing of Lookout) records ``mcp.server.operation.duration`` with the convention's attributes. A real Prometheus
scrapes it as a target of the generated stack and runs the generated recording rules: the request rate, the error
ratio, the availability SLI (from the histogram's ``error_type``, since ``lookout_mcp_operation_errors_total`` is
absent) and the p99 come out as the emitter's fixed traffic mix says, and the dashboard queries over what such a
server exports return data.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lookout import metrics as m
from lookout.check.dashboards import analyse, dashboard_queries, iter_targets, recording_rule_names
from lookout.config.loader import parse_config
from lookout.config.types import duration_seconds
from lookout.stack import DeployTarget, render_stack, write_stack
from lookout.stack.grafana import promql
from lookout.stack.rules import recording
from tests.support import LOOPBACK, Proc, Prometheus, free_port, http_ok, start, start_prometheus, wait_until

pytestmark = pytest.mark.integration

EMITTER = Path(__file__).parent / "interop" / "otel_emitter.py"
TENANT = "acme"
SERVICE = "weather-go"
# The emitter's mix per 100 ms: 7 successes, 1 tool error, 1 server failure, 1 client error, each 30 ms.
REQUESTS_PER_SECOND = 100.0
ERROR_RATIO = 0.2  # tool error + server failure: what a user sees fail
AVAILABILITY_ERROR_RATIO = 0.1  # the server failure only (tool errors are answers, client errors the caller's)
P99 = 0.02 + (0.05 - 0.02) * 0.99  # every request in the (0.02, 0.05] bucket: linear interpolation inside it


def _config(metrics_url: str, prometheus_port: int) -> str:
    return f"""
version: 1
tenants:
  - name: {TENANT}
    targets:
      - name: {SERVICE}
        url: http://{LOOPBACK}:{free_port()}/mcp
        metrics_url: {metrics_url}
alerting:
  receivers: [{{name: sink, webhook: {{url: "http://{LOOPBACK}:{free_port()}/notify"}}}}]
  routes: {{P0: [sink]}}
listen:
  prometheus: {LOOPBACK}:{prometheus_port}
  alertmanager: {LOOPBACK}:{free_port()}
  exporter: {LOOPBACK}:{free_port()}
  pushgateway: {LOOPBACK}:{free_port()}
timing: {{scrape_interval: 1s, evaluation_interval: 1s}}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Prometheus]]:
    tmp = tmp_path_factory.mktemp("interop")
    procs: list[Proc] = []
    try:
        emitter_port, prometheus_port = free_port(), free_port()
        procs.append(start([sys.executable, str(EMITTER), str(emitter_port)], tmp / "emitter.log"))
        metrics_url = f"http://{LOOPBACK}:{emitter_port}/metrics"
        config = parse_config(_config(metrics_url, prometheus_port))
        write_stack(render_stack(config, DeployTarget.ALL), tmp / "stack")
        wait_until(lambda: http_ok(metrics_url), 30, what="the OpenTelemetry emitter's /metrics")
        prom = start_prometheus(tmp / "stack/prometheus/prometheus.yml", tmp, prometheus_port)
        procs.append(prom.proc)
        yield tmp / "stack", prom
    finally:
        for proc in reversed(procs):
            proc.stop()


def _service_value(prom: Prometheus, record: str) -> float | None:
    result = prom.query(f'{record}{{{m.TENANT}="{TENANT}", {m.SERVICE}="{SERVICE}"}}')
    if len(result) != 1:
        return None
    value = result[0]["value"]
    assert isinstance(value, list)
    return float(value[1])


def _settled(prom: Prometheus, record: str, expected: float, tolerance: float) -> float:
    """The rule's value once it is within ``tolerance`` (relative) of ``expected``; the test fails otherwise."""
    seen: list[float | None] = []

    def close() -> bool:
        value = _service_value(prom, record)
        seen.append(value)
        return value is not None and abs(value - expected) <= tolerance * expected

    wait_until(close, 60, interval=0.5, what=f"{record} near {expected} (last values {seen[-3:]})")
    value = seen[-1]
    assert value is not None
    return value


def test_recording_rules_consume_another_emitters_histogram(stack: tuple[Path, Prometheus]) -> None:
    _, prom = stack
    # The emitter does not export Lookout's primed error counter: the rules fall back to the histogram.
    assert prom.query(f'{recording.ERRORS_TOTAL}{{{m.TENANT}="{TENANT}"}}') == []
    # rate() over a window longer than the series has existed divides by the whole window: the emitter's rate
    # shows scaled by the share of the window its samples cover (Prometheus extrapolates by up to half a scrape
    # interval at each end).
    window = duration_seconds(recording.WINDOWS[0])

    def covered_rate() -> float:
        samples = prom.query(
            f'{recording.OPS_COUNT}{{{m.TENANT}="{TENANT}", {m.ERROR_TYPE}=""}}[{recording.WINDOWS[0]}]'
        )
        values = samples[0]["values"]
        assert isinstance(values, list)
        stamps = [float(t) for t, _ in values]
        interval = (stamps[-1] - stamps[0]) / max(1, len(stamps) - 1)
        return REQUESTS_PER_SECOND * min(window, stamps[-1] - stamps[0] + interval) / window

    # At least 30 s of samples, so that the rule's evaluation lagging this query by a second is a small error.
    requests = _settled(prom, recording.REQUESTS_RATE, REQUESTS_PER_SECOND * 0.2, 0.5)
    expected = covered_rate()
    assert abs(requests - expected) <= 0.1 * expected, (requests, expected)
    _settled(prom, recording.ERROR_RATIO, ERROR_RATIO, 0.05)
    _settled(prom, recording.TOOL_ERROR_RATIO, ERROR_RATIO, 0.05)
    _settled(prom, recording.availability_error_ratio(recording.WINDOWS[0]), AVAILABILITY_ERROR_RATIO, 0.05)
    _settled(prom, recording.LATENCY_P99, P99, 0.01)


def test_dashboard_queries_over_what_the_emitter_exports_return_data(stack: tuple[Path, Prometheus]) -> None:
    stack_dir, prom = stack
    wait_until(lambda: _service_value(prom, recording.LATENCY_P99), 60, what="the recording rules' first values")
    exported = {
        series["__name__"]
        for series in httpx.get(
            f"{prom.url}/api/v1/series", params={"match[]": f'{{{m.TENANT}="{TENANT}"}}'}, timeout=10
        ).json()["data"]
    }
    with_data = {name for name in recording_rule_names(stack_dir) if prom.query(f'{name}{{{m.TENANT}="{TENANT}"}}')}
    available = (exported | with_data) - {promql.ALERTS}  # whether an alert fires yet depends on `for:` timing
    names = {t.reference: analyse(t.expr, t.variables)[1] for t in iter_targets(stack_dir) if t.expr}
    queries = dashboard_queries(stack_dir, tenant=TENANT, service=SERVICE, rate_interval="1m", range_="1h")
    required = [(ref, expr) for ref, expr in queries if names[ref] and set(names[ref]) <= available]
    # The core panels: request rate and latency from the histogram itself, error ratio from the recording rules.
    for name in (recording.OPS_COUNT, recording.OPS_BUCKET, recording.ERROR_RATIO):
        assert any(name in names[ref] for ref, _ in required), name
    missing: list[str] = []

    def all_have_data() -> bool:
        missing[:] = [f"{ref}: {expr}" for ref, expr in required if not prom.query(expr)]
        return not missing

    try:
        wait_until(all_have_data, 60, interval=0.5, what="data for every query over what the emitter exports")
    except pytest.fail.Exception:
        pytest.fail("queries without data:\n" + "\n".join(missing))
