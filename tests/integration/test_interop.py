"""Another conventional emitter drives Lookout's rules and dashboards unchanged.

The OpenTelemetry Python SDK (its Prometheus exporter; interop/otel_emitter.py, a process of its own that imports
nothing of Lookout) records ``mcp.server.operation.duration`` with the convention's attributes. A real Prometheus
scrapes it as a target of the generated stack and runs the generated recording rules: the request rate, the error
ratio, the availability SLI (from the histogram's ``error_type``, since ``lookout_mcp_operation_errors_total`` is
absent) and the p99 come out as the emitter's fixed traffic mix says, and the dashboard queries over what such a
server exports return data.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lookout import metrics as m
from lookout.check.dashboards import analyse, dashboard_queries, iter_targets, recording_rule_names
from lookout.config import load_config
from lookout.config.loader import parse_config
from lookout.config.types import duration_seconds
from lookout.console.dashboards import load_dashboards
from lookout.stack import DeployTarget, naming, render_stack, write_stack
from lookout.stack.grafana import promql
from lookout.stack.rules import recording
from tests.stack_support import scraped_target_config
from tests.support import (
    LOOPBACK,
    Proc,
    Prometheus,
    free_port,
    http_ok,
    lookout_argv,
    start,
    start_prometheus,
    wait_until,
)

pytestmark = pytest.mark.integration

EMITTER = Path(__file__).parent / "interop" / "otel_emitter.py"
CONFIG_FILE = "lookout.yaml"
"""Beside the generated stack directory: the console reads it."""
CHROMIUM = "/usr/bin/chromium"
TENANT = "acme"
SERVICE = "weather-go"
# The emitter's mix per 100 ms: 7 successes, 1 tool error, 1 server failure, 1 client error, each 30 ms.
REQUESTS_PER_SECOND = 100.0
ERROR_RATIO = 0.2  # tool error + server failure: what a user sees fail
AVAILABILITY_ERROR_RATIO = 0.1  # the server failure only (tool errors are answers, client errors the caller's)
P99 = 0.02 + (0.05 - 0.02) * 0.99  # every request in the (0.02, 0.05] bucket: linear interpolation inside it


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Prometheus]]:
    tmp = tmp_path_factory.mktemp("interop")
    procs: list[Proc] = []
    try:
        emitter_port, prometheus_port = free_port(), free_port()
        procs.append(start([sys.executable, str(EMITTER), str(emitter_port)], tmp / "emitter.log"))
        metrics_url = f"http://{LOOPBACK}:{emitter_port}/metrics"
        text = scraped_target_config(
            TENANT, SERVICE, f"http://{LOOPBACK}:{free_port()}/mcp", metrics_url, prometheus_port
        )
        (tmp / CONFIG_FILE).write_text(text)
        config = parse_config(text)
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


def test_console_says_what_a_panel_of_lookout_series_needs(stack: tuple[Path, Prometheus], tmp_path: Path) -> None:
    """The emitter exports the convention's histogram only: the server dashboard's panels over it draw charts, and
    every panel that needs a Lookout extension series shows what it needs instead of an empty chart."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the dev extra installs playwright")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    stack_dir, prom = stack
    wait_until(lambda: _service_value(prom, recording.LATENCY_P99), 60, what="the recording rules' first values")
    exported = httpx.get(f"{prom.url}/api/v1/label/__name__/values", timeout=10).json()["data"]
    assert not [name for name in exported if m.is_extension(name)], "the emitter exports convention series only"
    config = stack_dir.parent / CONFIG_FILE
    server = next(d for d in load_dashboards(load_config(config)).values() if d.slug == naming.SERVICE_DASHBOARD)
    needs = {p["title"]: p["noValue"] for p in server.panels if p["type"] != "row"}
    assert needs["Requests in flight"] and not needs["Requests by method"]

    port = free_port()
    argv = lookout_argv(
        "console", "--config", str(config), "--listen", f"{LOOPBACK}:{port}", "--prometheus", prom.url,
        "--alertmanager", f"http://{LOOPBACK}:{free_port()}", "--data-dir", str(tmp_path),
    )  # fmt: skip
    console = start(argv, tmp_path / "console.log")
    try:
        wait_until(lambda: http_ok(f"http://{LOOPBACK}:{port}/-/healthy"), 30, what="the console")
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.goto(f"http://{LOOPBACK}:{port}/d/{server.uid}?from=now-15m&to=now")
                page.wait_for_selector("body[data-rendered]", timeout=30_000)
                panels = {
                    panel["title"]: panel
                    for panel in page.eval_on_selector_all(
                        ".panel",
                        "els => els.map(e => ({title: e.dataset.title, state: e.dataset.state,"
                        " note: e.querySelector('.panel-note').textContent,"
                        " chart: !!e.querySelector('.panel-body .uplot')}))",
                    )
                }
            finally:
                browser.close()
    finally:
        console.stop(signal.SIGTERM, timeout=10)
    by_method = panels["Requests by method"]
    assert (by_method["state"], by_method["chart"], by_method["note"]) == ("data", True, "")
    for title, explanation in needs.items():
        if explanation:
            panel = panels[title]
            assert (panel["state"], panel["chart"], panel["note"]) == ("nodata", False, explanation), title
