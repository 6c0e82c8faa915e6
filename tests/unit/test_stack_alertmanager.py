"""alertmanager.yml under amtool 0.25: valid, and `amtool config routes test` sends every tenant's every
priority (and the Watchdog) to the receivers lookout.yaml names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from lookout.check.tools import check_amtool_config, check_routes, expected_routes, routed_receivers
from lookout.config import load_config, parse_config
from lookout.stack import render_stack, write_stack

pytestmark = pytest.mark.tools

ROUTING = load_config(Path(__file__).resolve().parents[1] / "rules" / "routing.yaml")


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stack")
    write_stack(render_stack(ROUTING), out)
    return out


def _config(stack_dir: Path) -> Any:
    return YAML(typ="safe", pure=True).load((stack_dir / "alertmanager/alertmanager.yml").read_text())


def test_amtool_accepts_the_config(stack_dir: Path) -> None:
    assert check_amtool_config(stack_dir) == []


# The documented priority mapping, written out by hand: the oracle does not come from the generator.
ROUTES = [
    ("acme", "P0", ["pagerduty-P0", "slack-incidents"]),
    ("acme", "P1", ["pagerduty-P1", "slack"]),
    ("acme", "P2", ["slack", "email"]),
    ("acme", "P3", ["email", "ticket"]),
    ("beta", "P0", ["pagerduty-P0", "slack"]),
    ("beta", "P1", ["slack"]),
    ("beta", "P2", ["slack"]),
    ("beta", "P3", ["ticket"]),
    ("_lookout", "P0", ["pagerduty-P0", "slack-incidents"]),
    ("_lookout", "P1", ["pagerduty-P1", "slack"]),
    ("_lookout", "P2", ["slack", "email"]),
    ("_lookout", "P3", ["email", "ticket"]),
    # What no tenant/priority route matches reaches the default receiver (the first P0 receiver), not nobody.
    ("unknown-tenant", "P0", ["pagerduty-P0"]),
    ("unknown-tenant", "P3", ["pagerduty-P0"]),
    # Priorities match case-insensitively.
    ("acme", "p0", ["pagerduty-P0", "slack-incidents"]),
    ("beta", "p3", ["ticket"]),
    ("acme", "P7", ["pagerduty-P0"]),
]


@pytest.mark.parametrize(("tenant", "priority", "receivers"), ROUTES)
def test_amtool_routes_each_tenant_and_priority(
    stack_dir: Path, tenant: str, priority: str, receivers: list[str]
) -> None:
    labels = {"alertname": "MCPErrorRatioHigh", "tenant": tenant, "service": "api", "priority": priority}
    assert routed_receivers(stack_dir, labels) == receivers


@pytest.mark.parametrize(
    "labels",
    [
        {"alertname": "NoTenant", "service": "api", "priority": "P1"},
        {"alertname": "NoPriority", "tenant": "acme", "service": "api"},
        {"alertname": "SeverityOnly", "severity": "critical"},
        {"alertname": "StackNoPriority", "tenant": "_lookout", "service": "prometheus"},
    ],
)
def test_unroutable_alerts_reach_the_default_receiver(stack_dir: Path, labels: dict[str, str]) -> None:
    assert routed_receivers(stack_dir, labels) == ["pagerduty-P0"]


def test_a_configured_default_receiver_takes_the_unroutable(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[1] / "rules" / "routing.yaml").read_text()
    config = parse_config(
        text.replace("  heartbeat_receiver: heartbeat", "  heartbeat_receiver: heartbeat\n  default_receiver: email")
    )
    write_stack(render_stack(config), tmp_path)
    assert routed_receivers(tmp_path, {"alertname": "X", "tenant": "nobody", "priority": "P0"}) == ["email"]


def test_watchdog_goes_to_the_heartbeat_receiver_only(stack_dir: Path) -> None:
    labels = {"alertname": "Watchdog", "tenant": "_lookout", "service": "watchdog", "priority": "P3"}
    assert routed_receivers(stack_dir, labels) == ["heartbeat"]


def test_check_routes_agrees_with_lookout_yaml(stack_dir: Path) -> None:
    assert len(expected_routes(ROUTING)) == 3 * 4 + 1
    assert check_routes(stack_dir, ROUTING) == []


def test_check_routes_reports_a_route_to_the_wrong_receiver(tmp_path: Path) -> None:
    write_stack(render_stack(ROUTING), tmp_path)
    am = tmp_path / "alertmanager/alertmanager.yml"
    am.write_text(am.read_text().replace("- receiver: ticket", "- receiver: email", 1))
    findings = check_routes(tmp_path, ROUTING)
    assert findings and all(f.check == "routes" for f in findings)
    assert any("priority=P3" in f.message and "ticket" in f.message for f in findings)


def test_pagerduty_urgency_follows_priority(stack_dir: Path) -> None:
    receivers = {r["name"]: r for r in _config(stack_dir)["receivers"]}
    assert receivers["pagerduty-P0"]["pagerduty_configs"][0]["severity"] == "critical"
    assert receivers["pagerduty-P1"]["pagerduty_configs"][0]["severity"] == "warning"


def test_p3_only_in_business_hours(stack_dir: Path) -> None:
    config = _config(stack_dir)
    assert config["time_intervals"][0]["name"] == "business-hours"
    assert config["time_intervals"][0]["time_intervals"][0]["weekdays"] == ["monday:friday"]
    for tenant_route in config["route"]["routes"][1:]:
        for route in tenant_route["routes"]:
            is_p3 = route["matchers"] == ['priority=~"(?i)P3"']
            assert ("active_time_intervals" in route) == is_p3


def test_secrets_are_only_file_references(stack_dir: Path) -> None:
    text = (stack_dir / "alertmanager/alertmanager.yml").read_text()
    for secret_field in ("api_url:", "routing_key:", "auth_password:", "credentials:", "service_key:"):
        assert secret_field not in text
    for file_field in ("api_url_file", "routing_key_file", "auth_password_file", "credentials_file"):
        assert file_field in text


def test_inhibitions(stack_dir: Path) -> None:
    rules = _config(stack_dir)["inhibit_rules"]
    assert {
        "source_matchers": ['alertname="MCPServerDown"'],
        "target_matchers": ['priority=~"(?i)P1|P2|P3"'],
        "equal": ["tenant", "service"],
    } in rules
    same_family = [r for r in rules if r["equal"] == ["tenant", "service", "family"]]
    assert [r["source_matchers"][0] for r in same_family] == [f'priority=~"(?i){p}"' for p in ("P0", "P1", "P2")]
    # A per-replica source only silences alerts of its own replica.
    for rule in rules:
        if 'instance!=""' in rule["source_matchers"] or rule["source_matchers"] == [
            'alertname="MCPServerInstanceDown"'
        ]:
            assert "instance" in rule["equal"]
