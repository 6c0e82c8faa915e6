"""Panels judged by a policy show what the alerts compute: their queries, taken out of the generated dashboards,
are evaluated by the real ``promtool test rules`` over the generated recording rules; and every policy line is a
number of lookout.yaml."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lookout.check.dashboards import dashboard_queries
from lookout.config.loader import parse_config
from lookout.config.model import Config
from lookout.stack import DeployTarget, render_stack, write_stack
from lookout.stack.grafana.catalog import LIMIT, PAGE_BURN_RATE, SHARED_DASHBOARDS, TENANT_DASHBOARDS
from lookout.stack.grafana.promql import Policy
from lookout.stack.yamlio import dump_yaml
from tests.support import require_binary

pytestmark = pytest.mark.tools

CONFIG = """
version: 1
tenants:
  - name: acme
    targets: [{name: search, url: "http://127.0.0.1:8000/mcp"}]
alerting:
  receivers: [{name: sink, webhook: {url: "http://127.0.0.1:9095/notify"}}]
  routes: {P0: [sink]}
  slo: {error_ratio_threshold: 0.0123, latency_p99_threshold: 0.456, availability: 99.5, latency: 97.5}
  resources: {capacity_fallback_rps: 50, utilization_threshold: 0.65, forecast_horizon: 3h, cpu_cores: 2}
  certificate_expiry_warning: 9d
"""
REPLICAS = ("10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080")
SERIES = (
    'mcp_server_operation_duration_seconds_count{{job="mcp", tenant="acme", service="search", instance="{instance}", '
    'mcp_method_name="tools/call", gen_ai_tool_name="lookup", error_type="{error_type}"}}'
)


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(CONFIG)


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory, config: Config) -> Path:
    out = tmp_path_factory.mktemp("stack")
    write_stack(render_stack(config, DeployTarget.NATIVE), out)
    return out


def _query(stack_dir: Path, dashboard: str, title: str) -> str:
    """The one query of the panel titled ``title`` (``...`` at the end: a prefix), variables at their defaults."""
    file = f"grafana/dashboards/acme/{dashboard}.json"
    found = [
        expr
        for reference, expr in dashboard_queries(stack_dir)
        if reference.startswith(f"{file}: ")
        and (
            reference.removeprefix(f"{file}: ").startswith(title.removesuffix("..."))
            if title.endswith("...")
            else reference.removeprefix(f"{file}: ").rsplit(" [", 1)[0] == title
        )
    ]
    assert len(found) == 1, f"{dashboard}: {title}: {found}"
    return found[0]


def _promtool(stack_dir: Path, input_series: list[dict[str, str]], cases: list[dict[str, object]]) -> None:
    test = {
        "rule_files": ["prometheus/rules/recording.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": input_series, "promql_expr_test": cases}],
    }
    (stack_dir / "panels.test.yml").write_text(dump_yaml(test))
    argv = [require_binary("promtool"), "test", "rules", "panels.test.yml"]
    result = subprocess.run(argv, cwd=stack_dir, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("per_replica_rps", [20, 40])
def test_utilization_is_per_replica_as_the_capacity_alert_computes_it(stack_dir: Path, per_replica_rps: int) -> None:
    # Three replicas at `per_replica_rps` each; one replica handles 50 req/s (the fallback capacity).
    per_minute = per_replica_rps * 60
    series = [{"series": SERIES.format(instance=i, error_type=""), "values": f"0+{per_minute}x30"} for i in REPLICAS]
    expected = [
        {"labels": f'{{tenant="acme", service="search", instance="{i}"}}', "value": per_replica_rps / 50}
        for i in REPLICAS
    ]
    query = _query(stack_dir, "capacity", "Utilization of measured capacity...")
    _promtool(stack_dir, series, [{"expr": query, "eval_time": "20m", "exp_samples": expected}])


def test_cpu_utilization_is_the_share_of_the_replica_limit_the_alert_compares(stack_dir: Path) -> None:
    # Half a core busy on each replica; a replica may use 2 cores (alerting.resources.cpu_cores).
    labels = 'job="mcp", tenant="acme", service="search", instance="{instance}"'
    series = [
        {"series": f"process_cpu_seconds_total{{{labels.format(instance=i)}}}", "values": "0+30x30"} for i in REPLICAS
    ]
    # The panel is the recorded series the alert compares, so the series keeps its name.
    recorded = "tenant_service_instance:process_cpu_utilization:ratio_rate15m"
    expected = [
        {"labels": f'{recorded}{{tenant="acme", service="search", instance="{i}"}}', "value": 0.25} for i in REPLICAS
    ]
    query = _query(stack_dir, "infra", "CPU utilization...")
    _promtool(stack_dir, series, [{"expr": query, "eval_time": "20m", "exp_samples": expected}])


ERROR_RATIO_PANELS = [
    ("fleet", "Error ratio (worst service)"),
    ("fleet", "Error ratio"),
    ("server", "Error ratio by method"),
    ("tools", "Error ratio by tool"),
]


@pytest.mark.parametrize(("dashboard", "title"), ERROR_RATIO_PANELS)
def test_error_ratio_panels_show_no_nan_at_zero_traffic(stack_dir: Path, dashboard: str, title: str) -> None:
    # Every replica has served requests and failed some, long ago: counters exist but do not move.
    series = [
        {"series": SERIES.format(instance=i, error_type=error_type), "values": "100+0x30"}
        for i in REPLICAS
        for error_type in ("", "internal_error", "tool_error")
    ]
    query = _query(stack_dir, dashboard, title)
    _promtool(stack_dir, series, [{"expr": query, "eval_time": "20m", "exp_samples": []}])


def test_error_ratio_panels_count_the_errors_the_recording_rules_count(stack_dir: Path) -> None:
    # 10 req/s per replica, 1 of them failing by the server; client errors are not the server's failures.
    ok, failed, client = 9 * 60, 1 * 60, 2 * 60
    series = [
        {"series": SERIES.format(instance=i, error_type=error_type), "values": f"0+{per_minute}x30"}
        for i in REPLICAS
        for error_type, per_minute in (("", ok), ("internal_error", failed), ("-32602", client))
    ]
    query = _query(stack_dir, "fleet", "Error ratio (worst service)")
    _promtool(stack_dir, series, [{"expr": query, "eval_time": "20m", "exp_samples": [{"value": 1 / 12}]}])


def test_every_policy_line_is_a_number_of_lookout_yaml(config: Config) -> None:
    policy = Policy.from_config(config)
    policy_numbers = {
        policy.latency_p99,
        policy.error_ratio,
        policy.availability,
        policy.latency_objective,
        policy.utilization,
        policy.certificate_expiry_warning,
        policy.remote_write_max_lag,
        policy.tool_footprint_tokens,
    }
    lines = {
        (dashboard.slug, panel.title): panel.policy_line
        for make in (*TENANT_DASHBOARDS, *SHARED_DASHBOARDS)
        for dashboard in [make(policy)]
        for row in dashboard.rows
        for panel in row.panels
        if panel.policy_line is not None
    }
    # The budget lines (0 left) and the counts and shares of a limit (1) are definitions, not policies; the paging
    # burn rate is the alert catalog's own constant, not a number of lookout.yaml.
    definitions = {0, LIMIT, PAGE_BURN_RATE}
    literals = {where: line for where, line in lines.items() if line not in policy_numbers | definitions}
    assert literals == {}
