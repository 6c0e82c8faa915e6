"""prometheus.yml and the rule files as data: external labels, remote_write per tenant, jobs, overrides."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from lookout.config import ConfigError, parse_config
from lookout.stack import render_stack, write_stack
from lookout.stack.prometheus import prometheus_config
from lookout.stack.rules import render_alert_rules, render_recording_rules
from tests.support import require_binary

pytestmark = pytest.mark.tools

BASE = """
version: 1
tenants:
  - name: acme
    targets:
      - {name: api, url: "http://127.0.0.1:18000/mcp", metrics_url: "http://127.0.0.1:18080/metrics"}
alerting:
  receivers:
    - {name: sink, webhook: {url: "http://127.0.0.1:9095/notify"}}
  routes: {P0: [sink]}
"""
REMOTE_WRITE = """
prometheus:
  replica: prom-a
  external_labels: {cluster: eu-1}
  remote_write:
    - url: https://mimir.example/api/v1/push
      bearer_token_file: /etc/lookout/secrets/mimir
      headers: {X-Source: lookout}
    - url: https://vm.example/api/v1/write
      per_tenant: false
"""


def _two_tenants(extra: str = "") -> str:
    # tenants is the first list in BASE: insert the second tenant right after acme's targets
    head, tail = BASE.split("alerting:")
    beta = (
        '  - name: beta\n    targets:\n      - {name: solo, url: "http://127.0.0.1:18002/mcp", '
        'metrics_url: "https://solo.beta.example:8443/internal/metrics"}\n'
    )
    return head + beta + "alerting:" + tail + extra


def test_external_labels_carry_replica_and_the_single_tenant() -> None:
    one = prometheus_config(parse_config(BASE))
    assert one["global"]["external_labels"] == {"replica": "local", "tenant": "acme"}
    many = prometheus_config(parse_config(_two_tenants(REMOTE_WRITE)))
    assert many["global"]["external_labels"] == {"cluster": "eu-1", "replica": "prom-a"}
    assert many["alerting"]["alert_relabel_configs"] == [{"action": "labeldrop", "regex": "replica"}]


def test_remote_write_one_queue_per_tenant_with_its_header_and_only_its_series() -> None:
    rw = prometheus_config(parse_config(_two_tenants(REMOTE_WRITE)))["remote_write"]
    assert [q["url"] for q in rw] == ["https://mimir.example/api/v1/push"] * 2 + ["https://vm.example/api/v1/write"]
    acme, beta, shared = rw
    assert acme["headers"] == {"X-Source": "lookout", "X-Scope-OrgID": "acme"}
    assert beta["headers"]["X-Scope-OrgID"] == "beta"
    assert acme["write_relabel_configs"] == [{"source_labels": ["tenant"], "regex": "acme", "action": "keep"}]
    assert acme["authorization"] == {"credentials_file": "/etc/lookout/secrets/mimir"}
    assert "write_relabel_configs" not in shared and "headers" not in shared


def test_each_instrumented_target_keeps_its_path_scheme_and_labels() -> None:
    job = prometheus_config(parse_config(_two_tenants()))["scrape_configs"][0]
    assert job["job_name"] == "mcp"
    solo = job["static_configs"][1]
    assert solo["targets"] == ["solo.beta.example:8443"]
    assert solo["labels"]["__metrics_path__"] == "/internal/metrics"
    assert solo["labels"]["__scheme__"] == "https"
    assert (solo["labels"]["tenant"], solo["labels"]["service"]) == ("beta", "solo")


def test_pushgateway_job_honors_pushed_labels() -> None:
    jobs = {j["job_name"]: j for j in prometheus_config(parse_config(BASE))["scrape_configs"]}
    assert jobs["pushgateway"]["honor_labels"] is True
    assert {"prometheus", "alertmanager"} <= set(jobs)


@pytest.mark.parametrize(
    ("remote", "message"),
    [
        ('{url: "https://m.example/push", headers: {Authorization: "Bearer s3"}}', "header 'Authorization' carries"),
        ('{url: "https://u:pw@m.example/push"}', "the remote_write url carries credentials"),
        ('{url: "https://m.example/push?token=s3"}', "the remote_write url carries credentials"),
    ],
)
def test_remote_write_takes_no_secret_inline(remote: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(BASE + f"prometheus:\n  remote_write: [{remote}]\n")


def test_promtool_accepts_the_config_with_remote_write(tmp_path: Path) -> None:
    write_stack(render_stack(parse_config(_two_tenants(REMOTE_WRITE))), tmp_path)
    argv = [require_binary("promtool"), "check", "config", str(tmp_path / "prometheus/prometheus.yml")]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_two_per_tenant_backends_give_every_queue_its_own_name(tmp_path: Path) -> None:
    """Mimir and a second tenant-aware store, both per tenant: Prometheus refuses two queues of one name, so each
    tenant's queue to each backend is named apart, and promtool (as Prometheus under `lookout up`) accepts it."""
    second = "    - {url: https://thanos.example/api/v1/receive, tenant_header: THANOS-TENANT}\n"
    config = parse_config(_two_tenants(REMOTE_WRITE + second))
    rw = prometheus_config(config)["remote_write"]
    per_tenant = [(q["name"], q["url"], q["headers"]) for q in rw if "name" in q]
    assert [name for name, _, _ in per_tenant] == ["acme-0", "beta-0", "acme-2", "beta-2"]
    assert per_tenant[3][1:] == ("https://thanos.example/api/v1/receive", {"THANOS-TENANT": "beta"})
    write_stack(render_stack(config), tmp_path)
    argv = [require_binary("promtool"), "check", "config", str(tmp_path / "prometheus/prometheus.yml")]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_tenant_named_like_the_long_term_queue_gets_its_own_queue_name(tmp_path: Path) -> None:
    """In the HA topology every Prometheus writes to the queue `long-term`; a tenant of that name must not take it."""
    text = BASE.replace("name: acme", "name: long-term") + (
        "ha: {prometheus_replicas: 1, alertmanager_replicas: 1}\n"
        "prometheus:\n  remote_write: [{url: https://mimir.example/api/v1/push}]\n"
    )
    config = parse_config(text)
    names = [q["name"] for q in prometheus_config(config)["remote_write"]]
    assert names == ["long-term", "long-term-0"]
    write_stack(render_stack(config), tmp_path)
    argv = [require_binary("promtool"), "check", "config", str(tmp_path / "prometheus/prometheus.yml")]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def _rules(text: str) -> dict[str, Any]:
    data = YAML(typ="safe", pure=True).load(text)
    return {rule["alert"]: rule for group in data["groups"] for rule in group["rules"]}


def test_per_alert_overrides_change_for_and_disable() -> None:
    overrides = BASE + "  alerts:\n    MCPServerDown: {for: 0s}\n    MCPSessionLeak: {enabled: false}\n"
    rules = _rules(render_alert_rules(parse_config(overrides)))
    assert rules["MCPServerDown"]["for"] == "0s"
    assert rules["MCPServerDown"]["expr"].startswith('max by (tenant, service) (up{job="mcp"}) == 0 or ')
    assert rules["MCPServerDown"]["labels"] == {
        "priority": "P0",
        "severity": "critical",
        "family": "availability",
    }
    assert "MCPSessionLeak" not in rules
    assert _rules(render_alert_rules(parse_config(BASE)))["MCPServerDown"]["for"] == "1m"


def test_thresholds_come_from_lookout_yaml() -> None:
    tuned = BASE + "  slo: {availability: 99.9, min_failed_requests: 5}\n  resources: {cpu_cores: 4}\n"
    config = parse_config(tuned)
    rules = _rules(render_alert_rules(config))
    assert "> 0.0144 and" in rules["MCPErrorBudgetBurnFast"]["expr"]  # 14.4 x (1 - 99.9 %)
    assert "tenant_service:mcp_availability_errors:increase1h >= 5" in rules["MCPErrorBudgetBurnFast"]["expr"]
    assert "vector(4.0)" in render_recording_rules(config)
