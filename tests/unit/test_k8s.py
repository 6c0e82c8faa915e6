"""Kubernetes base: every object validates against the Kubernetes and prometheus-operator schemas, and the
objects carry what a deployment needs (probes on /health/*, autoscaling on request rate, dashboards per tenant)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from lookout.check.k8s import check_k8s
from lookout.config.loader import parse_config
from lookout.config.model import Config
from lookout.stack import DeployTarget, render_stack, write_stack
from lookout.stack.alertmanager import alertmanager_config
from lookout.stack.grafana import render_dashboards
from lookout.stack.rules.recording import recording_names

CRD_DIR = Path(__file__).resolve().parents[3] / "shared/schemas/prometheus-operator-v0.93.0"
CONFIG = """
version: 1
tenants:
  - name: acme
    targets:
      - {name: search, url: "http://127.0.0.1:8000/mcp", metrics_url: "http://127.0.0.1:8080/metrics"}
  - name: globex
    targets:
      - {name: weather, url: "http://127.0.0.1:8001/mcp", probe: false}
alerting:
  receivers:
    - {name: sink, webhook: {url: "http://127.0.0.1:9095/notify", bearer_token_file: /run/secrets/sink-token}}
    - {name: oncall, pagerduty: {routing_key_file: /etc/lookout/secrets/pagerduty}}
    - {name: chat, slack: {api_url_file: /etc/lookout/secrets/slack, channel: "#alerts"}}
  routes: {P0: [oncall, sink], P2: [chat]}
"""


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(CONFIG)


@pytest.fixture(scope="module")
def files(config: Config) -> dict[str, str]:
    return render_stack(config, DeployTarget.K8S)


@pytest.fixture
def stack_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    write_stack(files, tmp_path)
    return tmp_path


def _objects(stack_dir: Path, name: str) -> list[dict[str, Any]]:
    return [d for d in YAML(typ="safe").load_all((stack_dir / "k8s" / name).read_text()) if d]


def _by_kind(stack_dir: Path) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((stack_dir / "k8s").glob("*.yaml")):
        for obj in _objects(stack_dir, path.name):
            kinds.setdefault(obj["kind"], []).append(obj)
    return kinds


def test_every_object_validates_against_kubernetes_and_operator_schemas(stack_dir: Path) -> None:
    assert check_k8s(stack_dir) == []
    kinds = set(_by_kind(stack_dir))
    assert {
        "ServiceMonitor",
        "PodMonitor",
        "Probe",
        "PrometheusRule",
        "Alertmanager",
        "Secret",
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "Kustomization",
    } <= kinds


@pytest.mark.skipif(not CRD_DIR.is_dir(), reason=f"prometheus-operator CRD YAMLs not present at {CRD_DIR}")
def test_operator_objects_validate_against_the_upstream_crds(stack_dir: Path) -> None:
    findings = check_k8s(stack_dir, CRD_DIR)
    # The CRD set kept here has no Alertmanager CRD; that object is validated against the operator's models above.
    if not (CRD_DIR / "monitoring.coreos.com_alertmanagers.yaml").is_file():
        assert [f.message for f in findings] == [
            f"Alertmanager/lookout: no CRD for monitoring.coreos.com/v1 Alertmanager in {CRD_DIR}"
        ]
    else:
        assert findings == []


def test_schema_violations_are_reported(stack_dir: Path) -> None:
    monitor = stack_dir / "k8s/servicemonitor.yaml"
    monitor.write_text(monitor.read_text().replace("  - port: management\n", "  - port: management\n    prot: x\n"))
    server = stack_dir / "k8s/example-server.yaml"
    server.write_text(server.read_text().replace("  replicas: 2\n", "  replicas: two\n"))
    messages = [f.message for f in check_k8s(stack_dir)]
    assert any("ServiceMonitor/lookout-mcp-servers" in m and "'prot' was unexpected" in m for m in messages)
    assert any("Deployment/mcp-demo-server: spec.replicas" in m for m in messages)


def test_unlisted_and_missing_resources_are_reported(stack_dir: Path) -> None:
    (stack_dir / "k8s/stray.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stray}\n")
    (stack_dir / "k8s/podmonitor.yaml").unlink()
    messages = [f.message for f in check_k8s(stack_dir)]
    assert "not listed in kustomization.yaml resources" in messages
    assert "resource podmonitor.yaml does not exist" in messages


def test_deployment_wires_the_three_probes_to_health_endpoints(stack_dir: Path) -> None:
    deployment = next(d for d in _by_kind(stack_dir)["Deployment"] if d["metadata"]["name"] == "mcp-demo-server")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    port_names = {p["name"] for p in container["ports"]}
    for probe, path in (
        ("startupProbe", "/health/startup"),
        ("livenessProbe", "/health/live"),
        ("readinessProbe", "/health/ready"),
    ):
        assert container[probe]["httpGet"]["path"] == path
        assert container[probe]["httpGet"]["port"] in port_names


def test_autoscaler_scales_on_the_request_rate_the_adapter_serves(stack_dir: Path, config: Config) -> None:
    [hpa] = _by_kind(stack_dir)["HorizontalPodAutoscaler"]
    [metric] = hpa["spec"]["metrics"]
    adapter = next(c for c in _by_kind(stack_dir)["ConfigMap"] if c["metadata"]["name"] == "lookout-prometheus-adapter")
    [rule] = YAML(typ="safe").load(adapter["data"]["config.yaml"])["rules"]
    assert metric["pods"]["metric"]["name"] == rule["name"]["as"]
    assert "mcp_server_operation_duration_seconds_count" in rule["seriesQuery"] and "rate(" in rule["metricsQuery"]
    resources = config.alerting.resources
    expected = resources.capacity_fallback_rps * resources.utilization_threshold
    assert metric["pods"]["target"]["averageValue"] == f"{round(expected * 1000)}m"


def test_one_dashboard_config_map_per_dashboard_in_its_tenant_folder(stack_dir: Path, config: Config) -> None:
    maps = [c for c in _by_kind(stack_dir)["ConfigMap"] if c["metadata"]["labels"].get("grafana_dashboard") == "1"]
    rendered = render_dashboards(config)
    assert len(maps) == len(rendered)
    for cm in maps:
        [(file_name, text)] = cm["data"].items()
        folder = cm["metadata"]["annotations"]["grafana_folder"]
        assert json.loads(text) == json.loads(rendered[f"grafana/dashboards/{folder}/{file_name}"])


def test_probes_rules_and_routing(stack_dir: Path, config: Config) -> None:
    kinds = _by_kind(stack_dir)
    probes = kinds["Probe"]
    assert {p["spec"]["targets"]["staticConfig"]["static"][0] for p in probes} == {"search"}  # weather: probe false
    assert all(p["spec"]["targets"]["staticConfig"]["labels"]["tenant"] == "acme" for p in probes)
    [rule] = kinds["PrometheusRule"]
    recorded = {r["record"] for g in rule["spec"]["groups"] for r in g["rules"] if "record" in r}
    assert recorded == set(recording_names(config))
    assert any("alert" in r for g in rule["spec"]["groups"] for r in g["rules"])
    [secret] = [s for s in kinds["Secret"] if s["metadata"]["name"] == "alertmanager-lookout"]
    [alertmanager] = kinds["Alertmanager"]
    assert alertmanager["spec"]["configSecret"] == "alertmanager-lookout"
    routing = YAML(typ="safe").load(secret["stringData"]["alertmanager.yaml"])
    assert {k: v for k, v in routing.items() if k != "templates"} == {
        k: v for k, v in alertmanager_config(config).items() if k != "templates"
    }
    # Secrets stay files: the Secret only names them, and the Alertmanager pod mounts them at those paths.
    mounts = {m["mountPath"] for m in alertmanager["spec"]["volumeMounts"]}
    assert mounts == {"/run/secrets", "/etc/lookout/secrets"}
    assert "routing_key_file: /etc/lookout/secrets/pagerduty" in secret["stringData"]["alertmanager.yaml"]
    [monitor] = kinds["ServiceMonitor"]
    targets = {r["targetLabel"] for r in monitor["spec"]["endpoints"][0]["relabelings"]}
    assert {"job", "tenant", "service"} <= targets


def test_crd_directory_from_the_environment_is_used(stack_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOKOUT_OPERATOR_CRDS", str(stack_dir / "no-crds-here"))
    messages = [f.message for f in check_k8s(stack_dir)]
    assert any("no CRD for monitoring.coreos.com/v1 ServiceMonitor" in m for m in messages)


def test_probes_go_through_an_exporter_deployed_with_this_lookout_yaml(stack_dir: Path, config: Config) -> None:
    kinds = _by_kind(stack_dir)
    service = next(s for s in kinds["Service"] if s["metadata"]["name"] == "lookout-exporter")
    port = service["spec"]["ports"][0]["port"]
    assert all(p["spec"]["prober"]["url"] == f"lookout-exporter:{port}" for p in kinds["Probe"])
    config_map = next(c for c in kinds["ConfigMap"] if c["metadata"]["name"] == "lookout-config")
    assert parse_config(config_map["data"]["lookout.yaml"]) == config


def test_alertmanager_configuration_drifting_from_the_native_file_is_reported(stack_dir: Path) -> None:
    objects = stack_dir / "k8s/alertmanager.yaml"
    objects.write_text(objects.read_text().replace("    resolve_timeout: 5m\n", "    resolve_timeout: 9m\n", 1))
    messages = [f.message for f in check_k8s(stack_dir)]
    assert messages == [
        "Alertmanager/lookout: alertmanager.yaml differs from alertmanager/alertmanager.yml: regenerate"
    ]
