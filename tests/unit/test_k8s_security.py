"""The Kubernetes base under security: the operator's objects serve and scrape over TLS with the client user, all by
Secret references that validate against the operator's schemas (and the vendored CRDs); Lookout's pods mount the
Secrets read-only and read them at the paths their lookout.yaml names; no secret is in a generated file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from lookout.check.k8s import _errors, _operator_validator, check_k8s
from lookout.config.loader import parse_config
from lookout.config.model import Config
from lookout.security.certs import write_certs
from lookout.stack import DeployTarget, render_stack, write_stack
from lookout.stack.k8s import security as k8s_security
from tests.stack_support import SecurityBlock

CRD_DIR = Path(__file__).resolve().parents[1] / "schemas/prometheus-operator-v0.93.0"
TOKEN = "planted-token-8d2b6c4f"


def _config(secrets: Path) -> Config:
    return parse_config(
        f"""
version: 1
tenants:
  - name: acme
    targets:
      - {{name: search, url: "http://127.0.0.1:8000/mcp", metrics_url: "https://127.0.0.1:8080/metrics"}}
      - {{name: vm, url: "https://10.0.0.5:8000/mcp", metrics_url: "https://10.0.0.5:8080/metrics", probe: false}}
alerting:
  receivers: [{{name: oncall, pagerduty: {{routing_key_file: /etc/lookout/secrets/pagerduty}}}}]
  routes: {{P0: [oncall]}}
probe:
  modules:
    discover: {{credentials: {{bearer_token_file: {secrets}/ci.token}}, tls: {{ca_file: {secrets}/ca.crt}}}}
"""
        + SecurityBlock(secrets, require_client_certificates=True, tokens={"ci": "viewer"}).as_yaml()
        + "ha: {prometheus_replicas: 2, alertmanager_replicas: 2, long_term_storage: victoriametrics}\n"
    )


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path, list[str]]:
    tmp = tmp_path_factory.mktemp("k8s-security")
    secrets = tmp / "secrets"
    secrets.mkdir(mode=0o700)
    (secrets / "ci.token").write_text(TOKEN)
    config = _config(secrets)
    write_certs(config)
    stack = tmp / "stack"
    write_stack(render_stack(config, DeployTarget.K8S), stack)
    planted = [TOKEN, *((secrets / f"{u}.password").read_text().strip() for u in ("lookout", "viewer"))]
    planted.append((secrets / "server.key").read_text().splitlines()[1])
    return config, stack, planted


def _objects(stack: Path) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((stack / "k8s").glob("*.yaml")):
        for obj in YAML(typ="safe").load_all(path.read_text()):
            if obj:
                kinds.setdefault(obj["kind"], []).append(obj)
    return kinds


def _named(kinds: dict[str, list[dict[str, Any]]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in kinds[kind] if o["metadata"]["name"] == name)


CA = {"secret": {"name": k8s_security.TLS_SECRET, "key": "ca.crt"}}
LOGIN = {
    "username": {"name": k8s_security.CLIENT_AUTH_SECRET, "key": "username"},
    "password": {"name": k8s_security.CLIENT_AUTH_SECRET, "key": "password"},
}


def test_the_secure_base_validates_against_the_operator_schemas(secure: tuple[Config, Path, list[str]]) -> None:
    _, stack, _ = secure
    assert check_k8s(stack) == []
    crd = [f.message for f in check_k8s(stack, CRD_DIR)]
    assert all("no CRD for monitoring.coreos.com/v1 Alertmanager" in m for m in crd), crd  # the set has none


def test_scrapes_and_probes_use_tls_and_the_client_user_by_secret_reference(
    secure: tuple[Config, Path, list[str]],
) -> None:
    _, stack, _ = secure
    kinds = _objects(stack)
    endpoints = [
        *kinds["ServiceMonitor"][0]["spec"]["endpoints"],
        *kinds["PodMonitor"][0]["spec"]["podMetricsEndpoints"],
    ]
    # Lookout's exporter checks the login too; the operator's Alertmanager has none (TLS only).
    monitors = {m["metadata"]["name"]: m["spec"]["endpoints"][0] for m in kinds["ServiceMonitor"]}
    endpoints.append(monitors["lookout-exporter"])
    alertmanager = monitors["lookout-alertmanager"]
    assert (alertmanager["scheme"], alertmanager["tlsConfig"]["ca"]) == ("https", CA)
    assert "basicAuth" not in alertmanager
    for endpoint in endpoints:
        assert endpoint["scheme"] == "https"
        assert endpoint["tlsConfig"]["ca"] == CA
        assert endpoint["tlsConfig"]["keySecret"] == {"name": k8s_security.CLIENT_TLS_SECRET, "key": "tls.key"}
        assert endpoint["basicAuth"] == LOGIN
    for probe in kinds["Probe"]:
        assert probe["spec"]["prober"]["scheme"] == "https"
        assert probe["spec"]["tlsConfig"]["ca"] == CA and probe["spec"]["basicAuth"] == LOGIN


def test_alertmanager_and_prometheus_serve_tls_from_the_secret(secure: tuple[Config, Path, list[str]]) -> None:
    _, stack, _ = secure
    alertmanager = _objects(stack)["Alertmanager"][0]["spec"]["web"]["tlsConfig"]
    assert alertmanager["cert"] == {"secret": {"name": k8s_security.TLS_SECRET, "key": "tls.crt"}}
    assert alertmanager["keySecret"] == {"name": k8s_security.TLS_SECRET, "key": "tls.key"}
    assert alertmanager["clientAuthType"] == "RequireAndVerifyClientCert" and alertmanager["client_ca"] == CA
    values = yaml.safe_load((stack / "helm/kube-prometheus-stack-values.yaml").read_text())
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["web"]["tlsConfig"] == alertmanager
    assert spec["alertingEndpoints"][0]["scheme"] == "https" and spec["alertingEndpoints"][0]["tlsConfig"]["ca"] == CA
    [store] = spec["remoteWrite"]
    assert store["url"].startswith("https://") and store["tlsConfig"]["ca"] == CA
    # The chart hands prometheusSpec to the Prometheus object (alertingEndpoints as spec.alerting.alertmanagers):
    # the operator's schema validates it.
    crd_spec = {k: v for k, v in spec.items() if k != "alertingEndpoints"}
    crd_spec["alerting"] = {"alertmanagers": spec["alertingEndpoints"]}
    prometheus = {"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "p"}}
    validator = _operator_validator("monitoring.coreos.com/v1", "Prometheus")
    assert _errors(validator, {**prometheus, "spec": crd_spec}) == []
    for source in values["grafana"]["additionalDataSources"]:
        assert source["url"].startswith("https://")
        assert source["secureJsonData"]["tlsCACert"] == f"$__file{{{k8s_security.TLS_DIR}/ca.crt}}"
    mounted = {m["mountPath"]: m["secretName"] for m in values["grafana"]["extraSecretMounts"]}
    assert mounted[k8s_security.TLS_DIR] == k8s_security.TLS_SECRET
    assert mounted[k8s_security.CLIENT_AUTH_DIR] == k8s_security.CLIENT_AUTH_SECRET


def test_clients_reaching_pod_addresses_verify_the_certificate_for_the_services_name(
    secure: tuple[Config, Path, list[str]],
) -> None:
    """The certificate names the Services (*.<namespace>.svc), but Prometheus alerts the Alertmanagers and a
    ServiceMonitor scrapes at the pods' IP addresses: without serverName every notification fails on x509."""
    _, stack, _ = secure
    values = yaml.safe_load((stack / "helm/kube-prometheus-stack-values.yaml").read_text())
    alerting = values["prometheus"]["prometheusSpec"]["alertingEndpoints"][0]  # Lookout's Alertmanager
    assert alerting["tlsConfig"]["serverName"] == "alertmanager-operated.lookout.svc"
    monitors = {m["metadata"]["name"]: m["spec"]["endpoints"][0] for m in _objects(stack)["ServiceMonitor"]}
    assert monitors["lookout-alertmanager"]["tlsConfig"]["serverName"] == "alertmanager-operated.lookout.svc"
    assert monitors["lookout-exporter"]["tlsConfig"]["serverName"] == "lookout-exporter.lookout.svc"


def test_grafana_and_the_adapter_reach_the_clusters_prometheus_over_the_tls_it_serves(
    secure: tuple[Config, Path, list[str]],
) -> None:
    """prometheusSpec.web makes the cluster's Prometheus serve TLS only: a plain-http client gets 400."""
    config, stack, _ = secure
    assert config.kubernetes.prometheus_url.startswith("http://")  # the default, as lookout.yaml leaves it
    host = config.kubernetes.prometheus_url.removeprefix("http://")
    adapter = yaml.safe_load((stack / "helm/prometheus-adapter-values.yaml").read_text())
    assert f"{adapter['prometheus']['url']}:{adapter['prometheus']['port']}" == f"https://{host}"
    assert f"--prometheus-ca-file={k8s_security.TLS_DIR}/ca.crt" in adapter["extraArguments"]
    assert f"--prometheus-client-tls-key-file={k8s_security.CLIENT_TLS_DIR}/tls.key" in adapter["extraArguments"]
    volumes = {v["name"]: v["secret"] for v in adapter["extraVolumes"]}
    mounts = {m["name"]: m["mountPath"] for m in adapter["extraVolumeMounts"]}
    assert volumes["lookout-ca"] == {
        "secretName": k8s_security.TLS_SECRET,
        "items": [{"key": "ca.crt", "path": "ca.crt"}],
    }
    assert mounts == {"lookout-ca": k8s_security.TLS_DIR, "lookout-client-tls": k8s_security.CLIENT_TLS_DIR}
    grafana = yaml.safe_load((stack / "helm/grafana-values.yaml").read_text())
    [prometheus] = [d for d in grafana["datasources"]["lookout.yaml"]["datasources"] if d["name"] == "Prometheus"]
    assert prometheus["url"].startswith("https://")


def test_lookouts_pods_read_the_secrets_where_they_are_mounted(secure: tuple[Config, Path, list[str]]) -> None:
    _, stack, _ = secure
    kinds = _objects(stack)
    config_map = _named(kinds, "ConfigMap", "lookout-config")
    cluster_config = parse_config(config_map["data"]["lookout.yaml"])
    in_cluster = cluster_config.security
    # The prober's module names the stack's own token and CA: read where the Secrets are mounted too.
    discover = cluster_config.probe.modules["discover"]
    assert discover.credentials.bearer_token_file == f"{k8s_security.USERS_DIR}/ci"
    assert discover.tls.ca_file == f"{k8s_security.TLS_DIR}/ca.crt"
    files = [
        in_cluster.tls.ca_file,
        in_cluster.tls.cert_file,
        in_cluster.tls.key_file,
        in_cluster.tls.client_cert_file,
        in_cluster.tls.client_key_file,
        *(u.password_file for u in in_cluster.users),
        *(t.token_file for t in in_cluster.tokens),
    ]
    for name in ("lookout-exporter", "search"):  # the example server is named after the demo's target
        pod = _named(kinds, "Deployment", name)["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert "--config=/etc/lookout/lookout.yaml" in container["args"]
        secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        mounts = {m["mountPath"]: m for m in container["volumeMounts"] if m["name"] in secrets}
        assert all(m["readOnly"] for m in mounts.values())
        for path in files:
            assert any(str(path).startswith(f"{directory}/") for directory in mounts), f"{name}: {path} not mounted"
    exporter = _named(kinds, "Deployment", "lookout-exporter")["spec"]["template"]["spec"]["containers"][0]
    assert "tcpSocket" in exporter["readinessProbe"]  # /-/healthy needs a login the kubelet does not have
    demo = _named(kinds, "Deployment", "search")["spec"]["template"]["spec"]["containers"][0]
    assert demo["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"  # /health/ready stays open (open_health)
    store = _named(kinds, "StatefulSet", "lookout-victoriametrics")["spec"]["template"]["spec"]["containers"][0]
    assert {
        "-tls",
        f"-tlsCertFile={k8s_security.TLS_DIR}/tls.crt",
        f"-tlsKeyFile={k8s_security.TLS_DIR}/tls.key",
    } <= set(store["args"])
    assert store["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"


def test_only_references_no_secret_material(secure: tuple[Config, Path, list[str]]) -> None:
    config, stack, planted = secure
    for path in stack.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not [s for s in planted if s in text], f"{path} holds a secret"
            in_cluster = (
                path.parent.name in ("k8s", "helm") and path.name != "alertmanager.yaml"
            )  # receivers: alerting.py
            assert not (in_cluster and str(Path(str(config.security.tls.ca_file)).parent) in text), path
    generated_secrets = {o["metadata"]["name"] for o in _objects(stack).get("Secret", [])}
    assert generated_secrets == {"alertmanager-lookout"}  # the routing tree; lookout-tls & co. are the user's


def test_probe_files_named_relative_to_the_working_directory_reach_the_exporters_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/lookout-secure.yaml names the prober's token and CA relative to the working directory, as it does
    security:'s: in the cluster they are the mounted Secrets, in compose absolute paths mounted as named."""
    monkeypatch.chdir(tmp_path)
    config = parse_config((Path(__file__).resolve().parents[2] / "examples/lookout-secure.yaml").read_text())
    files = render_stack(config, DeployTarget.ALL)
    config_map = next(d for d in yaml.safe_load_all(files["k8s/exporter.yaml"]) if d and d["kind"] == "ConfigMap")
    module = yaml.safe_load(config_map["data"]["lookout.yaml"])["probe"]["modules"]["discover"]
    assert module["credentials"]["bearer_token_file"] == f"{k8s_security.USERS_DIR}/demo-client"
    assert module["tls"]["ca_file"] == f"{k8s_security.TLS_DIR}/{k8s_security.CA_KEY}"
    token = str(tmp_path / ".lookout/secrets/demo-client.token")
    compose_module = yaml.safe_load(files["lookout/lookout.yaml"])["probe"]["modules"]["discover"]
    assert compose_module["credentials"]["bearer_token_file"] == token
    exporter = yaml.safe_load(files["docker-compose.monitoring.yml"])["services"]["exporter"]
    assert f"{token}:{token}:ro" in exporter["volumes"]


def test_a_server_outside_the_cluster_is_scraped_over_tls_with_the_client_user(
    secure: tuple[Config, Path, list[str]],
) -> None:
    """The ScrapeConfig of a metrics_url outside the cluster logs in as the ServiceMonitor does, by Secret reference;
    the scheme is each target's own (its labels), so the object validates against the operator's models too."""
    _, stack, _ = secure
    scrape = _named(_objects(stack), "ScrapeConfig", "lookout-mcp-external")
    assert scrape["spec"]["tlsConfig"]["ca"] == CA
    assert scrape["spec"]["basicAuth"] == LOGIN
    assert "scheme" not in scrape["spec"]
    assert scrape["spec"]["staticConfigs"][0]["labels"]["__scheme__"] == "https"
    assert _errors(_operator_validator(scrape["apiVersion"], "ScrapeConfig"), scrape) == []
