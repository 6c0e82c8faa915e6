"""Every dashboard query runs on a real Prometheus that scrapes the demo server after some traffic.

The demo server is scraped (instrumentation) and probed by the real Lookout exporter (probe_*); benchmark
results are pushed to a real Pushgateway as `lookout bench` pushes them. Queries over
metric names that have series of the test's tenant (and over the recording rules) must return data; queries
over names nothing in this test emits (firing ALERTS, probe_ssl_* without TLS, and process_*/
python_gc_*, which the demo server's registry does not collect) are checked for parse-validity by the real
Prometheus only (the query must succeed; empty is fine).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp.client.client import Client
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from lookout import metrics as m
from lookout.bench import export as bench_export
from lookout.bench.capacity import Capacity
from lookout.check.dashboards import analyse, dashboard_queries, iter_targets, recording_rule_names
from lookout.config.loader import parse_config
from lookout.stack import DeployTarget, render_stack, write_stack
from lookout.stack.grafana import promql
from tests.support import (
    LOOPBACK,
    DemoServer,
    Proc,
    Prometheus,
    free_port,
    http_ok,
    lookout_argv,
    require_binary,
    start,
    start_prometheus,
    wait_until,
)

pytestmark = pytest.mark.integration
TENANT = "acme"
SERVICE = "demo"


def _config(demo: DemoServer, prometheus_port: int, exporter_port: int, pushgateway_port: int) -> str:
    return f"""
version: 1
tenants:
  - name: {TENANT}
    targets:
      - name: {SERVICE}
        url: {demo.url}
        metrics_url: {demo.metrics_url}
alerting:
  receivers: [{{name: sink, webhook: {{url: "http://127.0.0.1:{free_port()}/notify"}}}}]
  routes: {{P0: [sink]}}
listen:
  prometheus: 127.0.0.1:{prometheus_port}
  alertmanager: 127.0.0.1:{free_port()}
  exporter: 127.0.0.1:{exporter_port}
  pushgateway: 127.0.0.1:{pushgateway_port}
timing: {{scrape_interval: 1s, evaluation_interval: 1s}}
"""


async def _traffic(demo: DemoServer) -> None:
    """Successes, a tool error (counts against the SLI) and a client error (does not)."""
    async with Client(demo.url) as client:
        await client.list_tools()
        for i in range(5):
            await client.call_tool("calculate", {"expression": f"{i} * 7"})
            await client.call_tool("get_weather", {"city": "atlantis"})  # tool_error
        with contextlib.suppress(Exception):
            await client.call_tool("calculate", {"wrong": "params"})


def _metric_names(prom: Prometheus, selector: str) -> frozenset[str]:
    body = httpx.get(f"{prom.url}/api/v1/series", params={"match[]": selector}, timeout=10).json()
    return frozenset(series["__name__"] for series in body["data"])


def _push_bench_results(gateway: str) -> None:
    """What `lookout bench --push` sends: a run's results and the target's capacity (lookout.bench.export)."""
    results = CollectorRegistry()
    labels = {"target": SERVICE, "scenario": "smoke"}
    for spec, value in ((m.BENCH_THROUGHPUT, 120.0), (m.BENCH_ERROR_RATIO, 0.0)):
        Gauge(spec.name, spec.help, spec.labels, registry=results).labels(**labels).set(value)
    latency = Gauge(m.BENCH_LATENCY.name, m.BENCH_LATENCY.help, m.BENCH_LATENCY.labels, registry=results)
    for quantile in bench_export.EXPORTED_QUANTILES:
        latency.labels(quantile=quantile, **labels).set(0.01)
    push_to_gateway(gateway, job=bench_export.JOB, registry=results, grouping_key=labels)
    capacity = Capacity(
        target=SERVICE, capacity_rps=150.0, run_id=1, measured_at="2026-01-01T00:00:00Z", scenario="smoke"
    )
    push_to_gateway(gateway, job=bench_export.CAPACITY_JOB, registry=bench_export.capacity_registry(capacity))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Prometheus, frozenset[str]]]:
    tmp = tmp_path_factory.mktemp("dashboards")
    procs: list[Proc] = []
    try:
        # Every process starts at once, then each is awaited: the set-up costs the slowest start, not the sum.
        demo_port, management_port = free_port(), free_port()
        port, exporter_port, pushgateway_port = free_port(), free_port(), free_port()
        demo_argv = lookout_argv("demo-server", "--port", str(demo_port), "--management-port", str(management_port))
        procs.append(start(demo_argv, tmp / "demo.log"))
        demo = DemoServer(procs[0], demo_port, management_port)
        config_file = tmp / "lookout.yaml"
        config_file.write_text(_config(demo, port, exporter_port, pushgateway_port))
        write_stack(render_stack(parse_config(config_file.read_text()), DeployTarget.ALL), tmp / "stack")
        exporter_argv = lookout_argv(
            "exporter", "--config", str(config_file), "--listen", f"{LOOPBACK}:{exporter_port}"
        )
        procs.append(start(exporter_argv, tmp / "exporter.log"))
        gateway = f"{LOOPBACK}:{pushgateway_port}"
        pushgateway_argv = [require_binary("prometheus-pushgateway"), f"--web.listen-address={gateway}"]
        procs.append(start(pushgateway_argv, tmp / "pushgateway.log"))
        prom = start_prometheus(tmp / "stack/prometheus/prometheus.yml", tmp, port)
        procs.append(prom.proc)
        wait_until(lambda: http_ok(f"{demo.management_url}/health"), 30, what="demo server /health")
        wait_until(lambda: http_ok(f"http://{LOOPBACK}:{exporter_port}/-/healthy"), 30, what="exporter")
        wait_until(lambda: http_ok(f"http://{gateway}/-/ready"), 30, what="pushgateway")
        _push_bench_results(gateway)
        # Two rounds around a scrape: a counter series is first seen at its running total, and only
        # increments after that show up in rate() (and in the recording rules' `requests > 0` guards).
        asyncio.run(_traffic(demo))
        ops = f'{promql.OPS_COUNT}{{{m.TENANT}="{TENANT}", {m.ERROR_TYPE}="tool_error"}}'
        wait_until(lambda: prom.query(ops), 30, what="first scrape of the demo server's operations")
        asyncio.run(_traffic(demo))
        probe = f'{m.PROBE_SUCCESS.name}{{{m.TENANT}="{TENANT}"}} == 1'
        wait_until(lambda: prom.query(probe), 30, what="a successful probe of the demo server, scraped")
        wait_until(lambda: prom.query(m.BENCH_CAPACITY.name), 30, what="the pushed benchmark results, scraped")
        # The generated recording rules run on this Prometheus too (evaluated every second), over the same traffic.
        # Whether an alert is firing yet (rather than pending) depends on `for:` timing: ALERTS is parse-only.
        tenant_names = _metric_names(prom, f'{{{m.TENANT}="{TENANT}"}}')
        bench_names = _metric_names(prom, '{__name__=~"lookout_bench_.*"}')
        emitted = (tenant_names | bench_names | recording_rule_names(tmp / "stack")) - {promql.ALERTS}
        yield tmp / "stack", prom, emitted
    finally:
        for proc in reversed(procs):
            proc.stop()


def _names_by_reference(stack_dir: Path) -> dict[str, list[str]]:
    return {t.reference: analyse(t.expr, t.variables)[1] for t in iter_targets(stack_dir) if t.expr}


def test_every_dashboard_query_runs_and_those_over_emitted_metrics_return_data(
    stack: tuple[Path, Prometheus, frozenset[str]],
) -> None:
    stack_dir, prom, emitted = stack
    queries = dashboard_queries(stack_dir, rate_interval="1m", range_="1h")
    names = _names_by_reference(stack_dir)
    required = [(ref, expr) for ref, expr in queries if set(names[ref]) <= emitted]
    # The core of every dashboard (operations histogram) must be among the data-checked queries.
    assert len(required) >= 50, f"only {len(required)} of {len(queries)} queries are checked for data"
    for family in (m.OPERATION_DURATION.name, m.PROBE_SUCCESS.name, m.PROBE_PHASE_DURATION.name, m.BENCH_LATENCY.name):
        assert any(family in expr for _, expr in required), family

    errors = []  # parse and evaluation errors, with or without data
    for ref, expr in queries:
        body = httpx.get(f"{prom.url}/api/v1/query", params={"query": expr}, timeout=10).json()
        if body["status"] != "success":
            errors.append(f"{ref}: {body.get('error')}")
    assert errors == []

    missing: list[str] = []

    def all_have_data() -> bool:
        missing[:] = [f"{ref}: {expr}" for ref, expr in required if not prom.query(expr)]
        return not missing

    try:
        wait_until(all_have_data, 60, interval=0.5, what="data for every query over emitted metrics")
    except pytest.fail.Exception:
        pytest.fail("queries without data:\n" + "\n".join(missing))


def test_template_variables_select_the_tenant_and_service(stack: tuple[Path, Prometheus, frozenset[str]]) -> None:
    stack_dir, prom, _ = stack
    rate = next(
        expr
        for ref, expr in dashboard_queries(stack_dir, service=SERVICE)
        if ref.endswith("fleet.json: Request rate [A]")
    )
    assert f'{m.TENANT}="{TENANT}"' in rate and f'{m.SERVICE}=~"{SERVICE}"' in rate
    wait_until(lambda: prom.query(rate), 30, what="request rate of the demo service")
    other = next(
        expr
        for ref, expr in dashboard_queries(stack_dir, service="no-such-service")
        if ref.endswith("fleet.json: Request rate [A]")
    )
    assert prom.query(other) == []
