"""The dashboard linter and the dashboards' metric contract: clean on what we generate, loud on bad panels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lookout.check.dashboards import check_dashboard_contract, check_dashboards, dashboard_queries
from lookout.config.loader import parse_config
from lookout.stack import DeployTarget, render_stack, write_stack
from lookout.stack.grafana.catalog import SHARED_DASHBOARDS, TENANT_DASHBOARDS
from lookout.stack.grafana.promql import Policy
from lookout.stack.grafana.units import GRAFANA_UNITS

CONFIG = """
version: 1
tenants:
  - name: acme
    targets: [{name: search, url: "http://127.0.0.1:8000/mcp"}]
alerting:
  receivers: [{name: sink, webhook: {url: "http://127.0.0.1:9095/notify"}}]
  routes: {P0: [sink]}
"""
FLEET = "grafana/dashboards/acme/fleet.json"


@pytest.fixture
def stack_dir(tmp_path: Path) -> Path:
    write_stack(render_stack(parse_config(CONFIG), DeployTarget.NATIVE), tmp_path)  # rules included
    return tmp_path


def _plant(stack_dir: Path, **overrides: Any) -> None:
    """Append one panel, good except for ``overrides``, to the fleet dashboard."""
    path = stack_dir / FLEET
    dashboard = json.loads(path.read_text())
    panel: dict[str, Any] = {
        "type": "timeseries",
        "title": "Planted",
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "fieldConfig": {"defaults": {"unit": "reqps"}, "overrides": []},
        "targets": [
            {
                "refId": "A",
                "expr": 'sum(rate(mcp_server_operation_duration_seconds_count{tenant="$tenant"}[$__rate_interval]))',
            }
        ],
    }
    panel.update(overrides)
    dashboard["panels"].append(panel)
    path.write_text(json.dumps(dashboard))


def _messages(stack_dir: Path) -> list[str]:
    return [f.message for f in check_dashboards(stack_dir)]


def test_generated_dashboards_pass_lint_and_contract(stack_dir: Path) -> None:
    assert check_dashboards(stack_dir) == []
    assert check_dashboard_contract(stack_dir) == []


def test_a_good_planted_panel_passes(stack_dir: Path) -> None:
    _plant(stack_dir)
    assert check_dashboards(stack_dir) == []


def test_counter_without_rate_is_rejected(stack_dir: Path) -> None:
    _plant(stack_dir, targets=[{"refId": "A", "expr": 'sum(lookout_mcp_transport_messages_total{tenant="$tenant"})'}])
    assert _messages(stack_dir) == [
        "Planted [A]: counter lookout_mcp_transport_messages_total outside rate()/increase()"
    ]


def test_missing_unit_is_rejected(stack_dir: Path) -> None:
    _plant(stack_dir, fieldConfig={"defaults": {}, "overrides": []})
    assert _messages(stack_dir) == ["Planted: no unit (fieldConfig.defaults.unit)"]


def test_panel_without_datasource_variable_is_rejected(stack_dir: Path) -> None:
    _plant(stack_dir, datasource={"type": "prometheus", "uid": "lookout-prometheus"})
    assert _messages(stack_dir) == [
        "Planted: datasource 'lookout-prometheus' is not a datasource variable of the dashboard"
    ]


def test_fixed_rate_range_untitled_and_targetless_panels_are_rejected(stack_dir: Path) -> None:
    _plant(stack_dir, targets=[{"refId": "A", "expr": "sum(rate(up_total[5m]))"}])
    _plant(stack_dir, title="", targets=[])
    messages = _messages(stack_dir)
    assert "Planted [A]: rate() over a fixed range: use [$__rate_interval]" in messages
    assert "panel without a title" in " ".join(messages)
    assert any(m.endswith("no targets (or a target without an expression)") for m in messages)


def test_unparsable_promql_is_rejected(stack_dir: Path) -> None:
    _plant(stack_dir, targets=[{"refId": "A", "expr": "sum(rate(up[$__rate_interval])"}])
    assert any("PromQL does not parse" in m for m in _messages(stack_dir))


def test_contract_rejects_a_metric_nothing_emits(stack_dir: Path) -> None:
    _plant(stack_dir, targets=[{"refId": "A", "expr": 'made_up_gauge{tenant="$tenant"}'}])
    [finding] = check_dashboard_contract(stack_dir)
    assert "made_up_gauge is emitted by nothing" in finding.message and finding.file == FLEET


def test_contract_accepts_recording_rules_defined_in_the_stack(stack_dir: Path) -> None:
    (stack_dir / "prometheus/rules/extra.yml").write_text(
        "groups:\n- name: x\n  rules:\n  - record: tenant:made_up:ratio\n    expr: up\n"
    )
    _plant(stack_dir, targets=[{"refId": "A", "expr": "tenant:made_up:ratio"}])
    assert check_dashboard_contract(stack_dir) == []


def test_queries_substitute_every_variable(stack_dir: Path) -> None:
    queries = dashboard_queries(stack_dir, service="search", rate_interval="2m")
    assert queries and all("$" not in expr.replace('"$1"', "") for _, expr in queries)
    rate = dict(queries)[f"{FLEET}: Request rate [A]"]
    assert rate == (
        'sum by (service) (rate(mcp_server_operation_duration_seconds_count{tenant="acme", service=~"search", '
        'instance=~".*"}[2m]))'
    )


def _edit_variables(stack_dir: Path, edit: Any) -> None:
    path = stack_dir / FLEET
    dashboard = json.loads(path.read_text())
    dashboard["templating"]["list"] = edit(dashboard["templating"]["list"])
    path.write_text(json.dumps(dashboard))


def test_tenant_dashboard_without_instance_variable_is_rejected(stack_dir: Path) -> None:
    _edit_variables(stack_dir, lambda variables: [v for v in variables if v["name"] != "instance"])
    assert "tenant dashboard without variable(s) instance" in _messages(stack_dir)


def test_contract_covers_variable_queries(stack_dir: Path) -> None:
    def unknown_metric(variables: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for v in variables:
            if v["name"] == "instance":
                v["query"] = 'label_values(made_up_info{tenant="$tenant"}, instance)'
        return variables

    _edit_variables(stack_dir, unknown_metric)
    [finding] = check_dashboard_contract(stack_dir)
    assert finding.message == "variable instance [query]: made_up_info is emitted by nothing the stack deploys"


def test_invented_units_are_rejected(stack_dir: Path) -> None:
    _plant(stack_dir, fieldConfig={"defaults": {"unit": "msgps"}, "overrides": []})
    assert _messages(stack_dir) == [
        "Planted: unit 'msgps' (fieldConfig.defaults.unit) is not a Grafana unit id: use one of GRAFANA_UNITS"
    ]


def test_invented_units_in_overrides_and_heatmap_axes_are_rejected(stack_dir: Path) -> None:
    overrides = [{"matcher": {"id": "byName", "options": "A"}, "properties": [{"id": "unit", "value": "req/s"}]}]
    _plant(
        stack_dir,
        type="heatmap",
        fieldConfig={"defaults": {"unit": "s"}, "overrides": overrides},
        options={"yAxis": {"unit": "seconds"}},
    )
    assert sorted(_messages(stack_dir)) == [
        "Planted: unit 'req/s' (fieldConfig.overrides) is not a Grafana unit id: use one of GRAFANA_UNITS",
        "Planted: unit 'seconds' (options.yAxis.unit) is not a Grafana unit id: use one of GRAFANA_UNITS",
    ]


def test_every_unit_id_is_one_the_pinned_grafana_build_knows() -> None:
    from grafana_foundation_sdk.models import units

    known = {value for name, value in vars(units).items() if isinstance(value, str) and not name.startswith("_")}
    assert GRAFANA_UNITS - known == set()


def test_every_catalog_panel_uses_a_grafana_unit() -> None:
    config = parse_config(CONFIG)
    policy = Policy.from_config(config)
    invented = {
        (dashboard.slug, panel.title, panel.unit)
        for make in (*TENANT_DASHBOARDS, *SHARED_DASHBOARDS)
        for dashboard in [make(policy)]
        for row in dashboard.rows
        for panel in row.panels
        if panel.unit not in GRAFANA_UNITS
    }
    assert invented == set()
