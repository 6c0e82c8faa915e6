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
from lookout.stack.rules import alert_rules
from lookout.stack.rules.recording import recording_names

CRD_DIR = Path(__file__).resolve().parents[1] / "schemas/prometheus-operator-v0.93.0"
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


def test_operator_objects_validate_against_the_upstream_crds(stack_dir: Path) -> None:
    findings = check_k8s(stack_dir, CRD_DIR)
    # The CRD set kept here has no Alertmanager CRD; that object is validated against the operator's models above.
    if not (CRD_DIR / "monitoring.coreos.com_alertmanagers.yaml").is_file():
        assert [f.message for f in findings] == [
            f"Alertmanager/lookout: no CRD for monitoring.coreos.com/v1 Alertmanager in {CRD_DIR}"
        ]
    else:
        assert findings == []


def test_a_metrics_url_outside_the_cluster_is_scraped_by_a_scrape_config(tmp_path: Path) -> None:
    """No Service or Pod label selects a server at 10.0.0.5, yet LookoutScrapeTargetAbsent expects its `up`: a
    ScrapeConfig scrapes it as prometheus.yml does (job mcp, its tenant/service labels, path and scheme). Loopback
    URLs and Services' DNS names stay with the ServiceMonitor (no second scrape of the same server)."""
    config = parse_config(
        CONFIG.replace(
            '      - {name: weather, url: "http://127.0.0.1:8001/mcp", probe: false}\n',
            '      - {name: weather, url: "http://127.0.0.1:8001/mcp", probe: false}\n'
            '      - {name: vm, url: "http://10.0.0.5:8000/mcp", metrics_url: "https://10.0.0.5:8080/internal/metrics",'
            " labels: {zone: b}}\n"
            '      - {name: incluster, url: "http://maps.apps.svc:8000/mcp",'
            ' metrics_url: "http://maps.apps.svc.cluster.local:8080/metrics"}\n',
        )
    )
    write_stack(render_stack(config, DeployTarget.K8S), tmp_path)
    assert "scrapeconfig.yaml" in (tmp_path / "k8s/kustomization.yaml").read_text()
    findings = [f.message for f in check_k8s(tmp_path, CRD_DIR)]
    assert not [message for message in findings if "ScrapeConfig" in message]
    [scrape] = _by_kind(tmp_path)["ScrapeConfig"]
    assert scrape["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert scrape["spec"]["jobName"] == "mcp"
    assert scrape["spec"]["staticConfigs"] == [
        {
            "targets": ["10.0.0.5:8080"],
            "labels": {
                "__metrics_path__": "/internal/metrics",
                "__scheme__": "https",
                "service": "vm",
                "tenant": "globex",
                "zone": "b",
            },
        }
    ]
    absent = next(
        r["expr"]
        for rule in _by_kind(tmp_path)["PrometheusRule"]
        for g in rule["spec"]["groups"]
        for r in g["rules"]
        if r.get("alert") == "LookoutScrapeTargetAbsent"
    )
    assert 'service="vm"' in absent
    # Every metrics_url in the cluster: no ScrapeConfig at all.
    write_stack(render_stack(parse_config(CONFIG), DeployTarget.K8S), tmp_path / "in-cluster")
    assert not (tmp_path / "in-cluster/k8s/scrapeconfig.yaml").exists()


def test_schema_violations_are_reported(stack_dir: Path) -> None:
    monitor = stack_dir / "k8s/servicemonitor.yaml"
    monitor.write_text(monitor.read_text().replace("  - port: management\n", "  - port: management\n    prot: x\n"))
    server = stack_dir / "k8s/example-server.yaml"
    server.write_text(server.read_text().replace("  replicas: 2\n", "  replicas: two\n"))
    messages = [f.message for f in check_k8s(stack_dir)]
    assert any("ServiceMonitor/lookout-mcp-servers" in m and "'prot' was unexpected" in m for m in messages)
    assert any("Deployment/search: spec.replicas" in m for m in messages)


def test_a_prometheus_rule_prometheus_would_refuse_is_reported(stack_dir: Path) -> None:
    """The operator makes one rule file of each PrometheusRule, which Prometheus refuses whole (every rule of it)
    for a group name given twice or one broken expression."""
    path = stack_dir / "k8s/prometheusrule.yaml"
    rules = _objects(stack_dir, "prometheusrule.yaml")
    first = rules[0]
    name = first["spec"]["groups"][0]["name"]
    first["spec"]["groups"].append(dict(first["spec"]["groups"][0]))
    path.write_text("\n---\n".join(json.dumps(rule) for rule in rules))
    messages = [f.message for f in check_k8s(stack_dir)]
    assert any(
        m.startswith(f"PrometheusRule/{name}: ") and f'groupname: "{name}" is repeated' in m for m in messages
    ), messages


def test_no_prometheus_rule_outgrows_what_kubectl_apply_stores(tmp_path: Path) -> None:
    """kubectl's client-side apply keeps the whole object in an annotation of at most 256 KiB: the rules of 1,000
    targets across 50 tenants (~800 KB) go into PrometheusRules under it, each holding one group."""
    tenants = "".join(
        f"  - name: t{t}\n    targets:\n"
        + "".join(f'      - {{name: s{t}-{i}, url: "http://10.0.{t}.{i}:8000/mcp"}}\n' for i in range(20))
        for t in range(50)
    )
    text = CONFIG.split("tenants:\n")[0] + "tenants:\n" + tenants + "alerting:" + CONFIG.split("alerting:")[1]
    write_stack(render_stack(parse_config(text), DeployTarget.K8S), tmp_path)
    rules = _objects(tmp_path, "prometheusrule.yaml")
    sizes = {r["metadata"]["name"]: len(json.dumps(r, separators=(",", ":"))) for r in rules}
    assert sum(sizes.values()) > 4 * 262144 // 2 and max(sizes.values()) < 262144, sizes
    assert {"lookout-limits-1", "lookout-limits-4"} <= set(sizes) and "lookout-limits-5" not in sizes


def test_unlisted_and_missing_resources_are_reported(stack_dir: Path) -> None:
    (stack_dir / "k8s/stray.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stray}\n")
    (stack_dir / "k8s/podmonitor.yaml").unlink()
    messages = [f.message for f in check_k8s(stack_dir)]
    assert "not listed in kustomization.yaml resources" in messages
    assert "resource podmonitor.yaml does not exist" in messages


def test_deployment_wires_the_three_probes_to_health_endpoints(stack_dir: Path) -> None:
    deployment = next(d for d in _by_kind(stack_dir)["Deployment"] if d["metadata"]["name"] == "search")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    port_names = {p["name"] for p in container["ports"]}
    for probe, path in (
        ("startupProbe", "/health/startup"),
        ("livenessProbe", "/health/live"),
        ("readinessProbe", "/health/ready"),
    ):
        assert container[probe]["httpGet"]["path"] == path
        assert container[probe]["httpGet"]["port"] in port_names


def test_the_example_server_gets_what_its_target_states_one_replica_may_use(tmp_path: Path) -> None:
    """targets[].resources, which the utilization alerts divide by, is what the pod requests and is limited to."""
    config = parse_config(
        CONFIG.replace(
            'metrics_url: "http://127.0.0.1:8080/metrics"}',
            'metrics_url: "http://127.0.0.1:8080/metrics", resources: {cpu_cores: 2, memory_limit_bytes: 2147483648}}',
        )
    )
    write_stack(render_stack(config, DeployTarget.K8S), tmp_path)
    deployment = next(d for d in _by_kind(tmp_path)["Deployment"] if d["metadata"]["name"] == "search")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == {
        "requests": {"cpu": "2000m", "memory": "2147483648"},
        "limits": {"memory": "2147483648"},
    }


def test_the_exporter_the_long_term_store_and_alertmanager_get_requests_and_a_memory_limit(tmp_path: Path) -> None:
    """Without requests a pod is BestEffort, the first the kubelet evicts under memory pressure: the exporter,
    VictoriaMetrics and the operator's Alertmanagers request kubernetes.*_resources and are limited to that memory,
    like the example server."""
    config = parse_config(
        CONFIG
        + """
ha: {prometheus_replicas: 2, long_term_storage: victoriametrics}
kubernetes:
  exporter_resources: {cpu_cores: 0.25, memory_limit_bytes: 268435456}
  victoriametrics_resources: {cpu_cores: 4, memory_limit_bytes: 17179869184}
  alertmanager_resources: {cpu_cores: 0.2, memory_limit_bytes: 536870912}
"""
    )
    write_stack(render_stack(config, DeployTarget.K8S), tmp_path)
    assert check_k8s(tmp_path) == []
    workloads = {
        obj["metadata"]["name"]: obj for kind in ("Deployment", "StatefulSet") for obj in _by_kind(tmp_path)[kind]
    }
    assert set(workloads) == {"lookout-exporter", "lookout-victoriametrics", "search"}
    expected = {
        "lookout-exporter": {"requests": {"cpu": "250m", "memory": "268435456"}, "limits": {"memory": "268435456"}},
        "lookout-victoriametrics": {
            "requests": {"cpu": "4000m", "memory": "17179869184"},
            "limits": {"memory": "17179869184"},
        },
    }
    for name, resources in expected.items():
        [container] = workloads[name]["spec"]["template"]["spec"]["containers"]
        assert container["resources"] == resources
    [alertmanager] = _by_kind(tmp_path)["Alertmanager"]
    assert alertmanager["spec"]["resources"] == {
        "requests": {"cpu": "200m", "memory": "536870912"},
        "limits": {"memory": "536870912"},
    }
    # Every container of the base, with the defaults too.
    write_stack(render_stack(parse_config(CONFIG + "ha: {prometheus_replicas: 2}\n"), DeployTarget.K8S), tmp_path)
    for kind in ("Deployment", "StatefulSet"):
        for obj in _by_kind(tmp_path)[kind]:
            for container in obj["spec"]["template"]["spec"]["containers"]:
                assert set(container["resources"]) == {"requests", "limits"}, obj["metadata"]["name"]


def test_autoscaler_scales_on_the_request_rate_the_adapter_serves(stack_dir: Path, config: Config) -> None:
    [hpa] = _by_kind(stack_dir)["HorizontalPodAutoscaler"]
    [metric] = hpa["spec"]["metrics"]
    [rule] = YAML(typ="safe").load((stack_dir / "helm/prometheus-adapter-values.yaml").read_text())["rules"]["custom"]
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
    # One PrometheusRule per group, named after it: every recording and alert rule, each once.
    rules = kinds["PrometheusRule"]
    assert all([g["name"] for g in r["spec"]["groups"]] == [r["metadata"]["name"]] for r in rules)
    every = [x for r in rules for g in r["spec"]["groups"] for x in g["rules"]]
    assert sorted(x["record"] for x in every if "record" in x) == sorted(recording_names(config))
    assert sorted(x["alert"] for x in every if "alert" in x) == sorted(
        x["alert"] for g in alert_rules(config)["groups"] for x in g["rules"]
    )
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
    [monitor] = [m for m in kinds["ServiceMonitor"] if m["metadata"]["name"] == "lookout-mcp-servers"]
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
    # The Prometheus running the Probes lives in another namespace: the exporter by its cluster DNS name.
    assert all(p["spec"]["prober"]["url"] == f"lookout-exporter.lookout.svc:{port}" for p in kinds["Probe"])
    config_map = next(c for c in kinds["ConfigMap"] if c["metadata"]["name"] == "lookout-config")
    in_cluster = parse_config(config_map["data"]["lookout.yaml"])
    # Loopback targets name the Service called after the target, not the exporter's own pod.
    urls = {t.name: (t.url, str(t.metrics_url) if t.metrics_url else None) for _, t in in_cluster.targets()}
    assert urls == {
        "search": ("http://search.lookout.svc:8000/mcp", "http://search.lookout.svc:8080/metrics"),
        "weather": ("http://weather.lookout.svc:8001/mcp", None),
    }
    assert in_cluster.alerting == config.alerting and in_cluster.probe == config.probe


def test_alertmanager_configuration_drifting_from_the_native_file_is_reported(stack_dir: Path) -> None:
    objects = stack_dir / "k8s/alertmanager.yaml"
    objects.write_text(objects.read_text().replace("    resolve_timeout: 5m\n", "    resolve_timeout: 9m\n", 1))
    messages = [f.message for f in check_k8s(stack_dir)]
    assert messages == [
        "Alertmanager/lookout: alertmanager.yaml differs from alertmanager/alertmanager.yml: regenerate"
    ]


# --- What a cluster needs beyond valid objects: each class of mistake is reported. ---------------------------


def _edit(stack_dir: Path, name: str, change: Any) -> None:
    """Rewrite the objects of ``k8s/<name>`` through ``change(obj)`` (which edits in place)."""
    import yaml

    objects = _objects(stack_dir, name)
    for obj in objects:
        change(obj)
    (stack_dir / "k8s" / name).write_text(yaml.safe_dump_all(objects, sort_keys=False))


def _messages(stack_dir: Path) -> list[str]:
    return [f.message for f in check_k8s(stack_dir)]


def test_the_base_creates_its_namespace_and_puts_every_object_in_it(stack_dir: Path) -> None:
    [namespace] = _objects(stack_dir, "namespace.yaml")
    assert namespace["kind"] == "Namespace" and namespace["metadata"]["name"] == "lookout"
    for path in sorted((stack_dir / "k8s").glob("*.yaml")):
        for obj in _objects(stack_dir, path.name):
            if obj["kind"] not in {"Namespace", "Kustomization"}:
                assert obj["metadata"]["namespace"] == "lookout", obj["metadata"]["name"]
    (stack_dir / "k8s/namespace.yaml").unlink()
    _edit(stack_dir, "exporter.yaml", lambda o: o["metadata"].pop("namespace"))
    messages = _messages(stack_dir)
    assert "no Namespace object lookout: applying the base fails" in messages
    assert any(
        m.startswith("3 objects (e.g. ConfigMap/lookout-config) do not name namespace lookout") for m in messages
    )


def test_a_prober_named_by_its_short_service_name_is_reported(stack_dir: Path) -> None:
    _edit(stack_dir, "probes.yaml", lambda o: o["spec"]["prober"].update(url="lookout-exporter:9115"))
    assert any(
        "prober: lookout-exporter resolves only inside the namespace it is used from" in m for m in _messages(stack_dir)
    )


def test_an_exporter_probing_loopback_in_its_own_pod_is_reported(stack_dir: Path, config: Config) -> None:
    from lookout.stack.yamlio import dump_yaml

    local = dump_yaml(config.model_dump(mode="json", by_alias=True, exclude_defaults=True))
    _edit(
        stack_dir,
        "exporter.yaml",
        lambda o: o.get("data", {}).get("lookout.yaml") and o["data"].update({"lookout.yaml": local}),
    )
    messages = _messages(stack_dir)
    assert (
        "exporter's lookout.yaml, target search url: 127.0.0.1 is the pod itself, not the target: name its Service"
        in messages
    )


def test_one_service_label_value_per_target(stack_dir: Path) -> None:
    [service] = [s for s in _by_kind(stack_dir)["Service"] if s["metadata"]["name"] == "search"]
    # The ServiceMonitor turns app.kubernetes.io/name into `service`: the rules and Probes say `search`.
    assert service["metadata"]["labels"]["app.kubernetes.io/name"] == "search"
    assert service["metadata"]["labels"]["lookout.dev/tenant"] == "acme"

    def rename(obj: dict[str, Any]) -> None:
        if obj["kind"] == "Service":
            obj["metadata"]["labels"]["app.kubernetes.io/name"] = "mcp-demo-server"

    _edit(stack_dir, "example-server.yaml", rename)
    messages = _messages(stack_dir)
    assert any(
        'Service/search is scraped as service="mcp-demo-server", which no rule or Probe names' in m for m in messages
    )
    assert any("Deployment/search stands for target search, but no Service" in m for m in messages)


def test_objects_the_prometheus_does_not_select_are_reported(stack_dir: Path) -> None:
    for name in ("servicemonitor.yaml", "podmonitor.yaml", "probes.yaml", "prometheusrule.yaml"):
        for obj in _objects(stack_dir, name):
            assert obj["metadata"]["labels"]["release"] == "kube-prometheus-stack"  # the chart's default selector
    _edit(stack_dir, "probes.yaml", lambda o: o["metadata"]["labels"].pop("release"))
    assert any(
        m.startswith("Probe/lookout-search-discover: lacks the selector labels {'release': 'kube-prometheus-stack'}")
        for m in _messages(stack_dir)
    )


def test_namespace_and_selector_labels_come_from_the_config(tmp_path: Path) -> None:
    config = parse_config(CONFIG + "kubernetes: {namespace: mon, selector_labels: {release: prom}}\n")
    write_stack(render_stack(config, DeployTarget.K8S), tmp_path)
    assert check_k8s(tmp_path) == []
    kinds = _by_kind(tmp_path)
    assert {p["spec"]["prober"]["url"] for p in kinds["Probe"]} == {"lookout-exporter.mon.svc:9115"}
    assert kinds["ServiceMonitor"][0]["metadata"]["labels"]["release"] == "prom"
    assert kinds["Namespace"][0]["metadata"]["name"] == "mon"


def test_images_other_than_lookouts_own_are_reported(stack_dir: Path) -> None:
    [deployment] = [d for d in _by_kind(stack_dir)["Deployment"] if d["metadata"]["name"] == "lookout-exporter"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "lookout:0.1.0"

    def retag(obj: dict[str, Any]) -> None:
        if obj["kind"] == "Deployment":
            obj["spec"]["template"]["spec"]["containers"][0]["image"] = "lookout-exporter:0.1.0"

    _edit(stack_dir, "exporter.yaml", retag)
    assert any("image lookout-exporter:0.1.0 is not Lookout's image lookout:0.1.0" in m for m in _messages(stack_dir))


def test_helm_values_make_folders_exemplars_and_autoscaling_work(stack_dir: Path) -> None:
    grafana = YAML(typ="safe").load((stack_dir / "helm/grafana-values.yaml").read_text())
    sidecar = grafana["sidecar"]["dashboards"]
    assert sidecar["folderAnnotation"] == "grafana_folder" and sidecar["provider"]["foldersFromFilesStructure"]
    assert sidecar["searchNamespace"] == "lookout"
    (stack_dir / "helm/grafana-values.yaml").write_text(
        "sidecar: {dashboards: {enabled: true, label: grafana_dashboard}}\n"
    )
    (stack_dir / "helm/kube-prometheus-stack-values.yaml").write_text("prometheus: {prometheusSpec: {}}\n")
    (stack_dir / "helm/prometheus-adapter-values.yaml").unlink()
    messages = _messages(stack_dir)
    assert any("sidecar.dashboards.folderAnnotation grafana_folder" in m for m in messages)
    assert "dashboard panels show exemplars: prometheusSpec.enableFeatures needs exemplar-storage" in messages
    assert any(
        "custom metric lookout_mcp_requests_per_second is served by no prometheus-adapter rule" in m for m in messages
    )


def test_a_config_without_the_demo_target_gets_no_example_server(tmp_path: Path) -> None:
    config = parse_config(CONFIG.replace("127.0.0.1:8000", "127.0.0.1:8100"))
    write_stack(render_stack(config, DeployTarget.K8S), tmp_path)
    assert not (tmp_path / "k8s/example-server.yaml").exists()
    assert check_k8s(tmp_path) == []


def test_kube_prometheus_stack_grafana_gets_datasources_beside_its_own(stack_dir: Path) -> None:
    path = stack_dir / "helm/kube-prometheus-stack-values.yaml"
    values = YAML(typ="safe").load(path.read_text())
    sources = values["grafana"]["additionalDataSources"]
    assert {s["name"] for s in sources} == {"Lookout Prometheus", "Lookout Alertmanager"}
    assert not any(s["isDefault"] for s in sources)
    assert values["prometheus"]["prometheusSpec"]["enableFeatures"] == ["exemplar-storage"]
    # Restarted, the cluster's Prometheus resumes every alert's `for` instead of paging a 5m alert anew.
    assert {"name": "rules.alert.for-grace-period", "value": "0s"} in values["prometheus"]["prometheusSpec"][
        "additionalArgs"
    ]
    sources[0].update(name="Prometheus", isDefault=True)  # as the chart's own default: Grafana refuses it
    import yaml

    path.write_text(yaml.safe_dump(values))
    assert any("named as the chart's own" in m for m in _messages(stack_dir))


def test_the_clusters_prometheus_ships_lookout_yamls_remote_write_and_external_labels(tmp_path: Path) -> None:
    """prometheus.remote_write (Mimir per tenant, Thanos shared) reaches kube-prometheus-stack like prometheus.yml,
    its secret files as keys of lookout-remote-write, never as paths of the generating machine."""
    config = parse_config(
        CONFIG
        + """
prometheus:
  external_labels: {region: eu-west-1}
  remote_write:
    - {url: "https://mimir.example/api/v1/push", bearer_token_file: /etc/lookout/secrets/mimir}
    - url: https://thanos.example/api/v1/receive
      per_tenant: false
      basic_auth_username: lookout
      basic_auth_password_file: /etc/lookout/secrets/thanos
"""
    )
    write_stack(render_stack(config, DeployTarget.K8S), tmp_path)
    spec = YAML(typ="safe").load((tmp_path / "helm/kube-prometheus-stack-values.yaml").read_text())["prometheus"][
        "prometheusSpec"
    ]
    assert spec["externalLabels"] == {"region": "eu-west-1"}
    secret = "lookout-remote-write"
    assert spec["remoteWrite"] == [
        {
            "name": tenant,
            "url": "https://mimir.example/api/v1/push",
            "headers": {"X-Scope-OrgID": tenant},
            "writeRelabelConfigs": [{"sourceLabels": ["tenant"], "regex": tenant, "action": "keep"}],
            "authorization": {"type": "Bearer", "credentials": {"name": secret, "key": "mimir"}},
        }
        for tenant in ("acme", "globex")
    ] + [
        {
            "url": "https://thanos.example/api/v1/receive",
            "basicAuth": {
                "username": {"name": secret, "key": "thanos-username"},
                "password": {"name": secret, "key": "thanos"},
            },
        }
    ]
    assert check_k8s(tmp_path) == []


def test_the_exporter_reads_the_probe_modules_files_from_the_lookout_probe_secret(tmp_path: Path) -> None:
    """Without security: too: the token and CA a probe module names are keys of lookout-probe, mounted read-only
    where the exporter's lookout.yaml says (the machine's paths do not exist in the pod)."""
    config = parse_config(
        CONFIG
        + """probe:
  modules:
    discover: {credentials: {bearer_token_file: /etc/lookout/secrets/probe-token}, tls: {ca_file: /etc/ca/x.crt}}
"""
    )
    write_stack(render_stack(config, DeployTarget.K8S), tmp_path)
    config_map, deployment, _ = _objects(tmp_path, "exporter.yaml")
    module = YAML(typ="safe").load(config_map["data"]["lookout.yaml"])["probe"]["modules"]["discover"]
    assert module["credentials"]["bearer_token_file"] == "/var/run/secrets/lookout/probe/probe-token"
    assert module["tls"]["ca_file"] == "/var/run/secrets/lookout/probe/x.crt"
    pod = deployment["spec"]["template"]["spec"]
    assert {"name": "probe-files", "secret": {"secretName": "lookout-probe"}} in pod["volumes"]
    assert {"name": "probe-files", "mountPath": "/var/run/secrets/lookout/probe", "readOnly": True} in pod[
        "containers"
    ][0]["volumeMounts"]
    assert check_k8s(tmp_path) == []


def test_the_exporter_and_alertmanager_are_scraped_under_the_jobs_the_self_monitoring_rules_select(
    stack_dir: Path, config: Config
) -> None:
    """Without these, the exporter down (every Probe blind) or failing notifications page no one in a cluster."""
    rules = json.dumps(alert_rules(config))
    monitors = {m["metadata"]["name"]: m for m in _by_kind(stack_dir)["ServiceMonitor"]}
    [exporter_service] = [s for s in _by_kind(stack_dir)["Service"] if s["metadata"]["name"] == "lookout-exporter"]
    for name, job, selected in (
        ("lookout-exporter", "lookout-exporter", exporter_service["metadata"]["labels"]),
        # The operator's alertmanager-operated Service carries this label (it is not in the base).
        ("lookout-alertmanager", "alertmanager", {"operated-alertmanager": "true"}),
    ):
        assert job in rules  # LookoutStackComponentDown's selector
        spec = monitors[name]["spec"]
        assert spec["namespaceSelector"] == {"matchNames": ["lookout"]}
        assert spec["selector"]["matchLabels"].items() <= selected.items()
        [endpoint] = spec["endpoints"]
        assert {"targetLabel": "job", "replacement": job, "action": "replace"} in endpoint["relabelings"]
        assert monitors[name]["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert check_k8s(stack_dir) == []
