"""Grafana provisioning and dashboards as code: structure, variables, folders, datasource links."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from lookout.config.loader import parse_config
from lookout.config.model import Config
from lookout.stack.grafana import DATASOURCES_FILE, PROVIDER_FILE, render_grafana
from lookout.stack.grafana.provisioning import JAEGER_UID, LOKI_UID, PROMETHEUS_UID

CONFIG = """
version: 1
tenants:
  - name: acme
    targets:
      - {name: search, url: "http://127.0.0.1:8000/mcp", metrics_url: "http://127.0.0.1:8080/metrics"}
  - name: a-tenant-with-a-rather-long-name-that-overflows-grafana-uids
    targets:
      - {name: weather, url: "http://127.0.0.1:8001/mcp"}
alerting:
  receivers: [{name: sink, webhook: {url: "http://127.0.0.1:9095/notify"}}]
  routes: {P0: [sink]}
"""
TENANT_DASHBOARDS = {"fleet", "server", "tools", "probes", "slo", "infra", "capacity", "logs"}


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(CONFIG)


@pytest.fixture(scope="module")
def files(config: Config) -> dict[str, str]:
    return render_grafana(config)


def _dashboards(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {path: json.loads(text) for path, text in files.items() if path.endswith(".json")}


def test_rendering_is_deterministic(config: Config, files: dict[str, str]) -> None:
    assert render_grafana(config) == files


def test_one_folder_per_tenant_with_every_dashboard_plus_the_shared_folder(
    config: Config, files: dict[str, str]
) -> None:
    folders: dict[str, set[str]] = {}
    for path in _dashboards(files):
        _, _, folder, name = path.split("/")
        folders.setdefault(folder, set()).add(name.removesuffix(".json"))
    assert folders == {
        **{t.name: TENANT_DASHBOARDS for t in config.tenants},
        "Lookout": {"benchmarks", "lookout-stack"},
    }
    provider = YAML(typ="safe").load(files[PROVIDER_FILE])["providers"][0]
    assert provider["options"]["foldersFromFilesStructure"] is True


def test_dashboards_are_modern_unique_and_scoped_to_their_tenant(files: dict[str, str]) -> None:
    dashboards = _dashboards(files)
    uids = [d["uid"] for d in dashboards.values()]
    assert len(set(uids)) == len(uids) and all(len(uid) <= 40 for uid in uids)
    for path, dashboard in dashboards.items():
        assert dashboard["schemaVersion"] >= 41, path
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        folder = path.split("/")[2]
        if folder == "Lookout":
            continue
        assert {"tenant", "service", "instance"} <= set(variables), path
        assert variables["tenant"]["current"]["value"] == folder
        exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
        assert exprs and all('tenant="$tenant"' in e for e in exprs), path


def test_every_panel_has_a_unit_and_a_datasource_variable(files: dict[str, str]) -> None:
    for path, dashboard in _dashboards(files).items():
        for panel in dashboard["panels"]:
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] in ("${datasource}", "${loki}"), (path, panel["title"])
            if panel["type"] != "logs":
                assert panel["fieldConfig"]["defaults"]["unit"], (path, panel["title"])


def test_p99_panel_draws_the_latency_policy_line(files: dict[str, str]) -> None:
    fleet = json.loads(files["grafana/dashboards/acme/fleet.json"])
    panel = next(p for p in fleet["panels"] if p["title"] == "p99 latency against the policy")
    assert "histogram_quantile(0.99" in panel["targets"][0]["expr"]
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1] == {"color": "red", "value": 0.1}
    assert panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "dashed"


def test_datasources_link_exemplars_and_logs_to_traces_and_traces_to_logs(files: dict[str, str]) -> None:
    provisioned = YAML(typ="safe").load(files[DATASOURCES_FILE])["datasources"]
    by_uid = {d["uid"]: d for d in provisioned}
    assert {d["type"] for d in provisioned} == {"prometheus", "alertmanager", "loki", "jaeger"}
    prom = by_uid[PROMETHEUS_UID]["jsonData"]
    assert prom["exemplarTraceIdDestinations"][0]["datasourceUid"] == JAEGER_UID
    assert prom["timeInterval"] == "15s"
    derived = by_uid[LOKI_UID]["jsonData"]["derivedFields"][0]
    assert derived["datasourceUid"] == JAEGER_UID and derived["url"] == "$${__value.raw}"
    assert by_uid[JAEGER_UID]["jsonData"]["tracesToLogsV2"]["datasourceUid"] == LOKI_UID
    referenced = {derived["datasourceUid"], by_uid[JAEGER_UID]["jsonData"]["tracesToMetrics"]["datasourceUid"]}
    assert referenced <= set(by_uid)
    assert by_uid[PROMETHEUS_UID]["url"] == "http://127.0.0.1:9090"


def test_written_files_are_what_was_rendered(tmp_path: Path, files: dict[str, str]) -> None:
    from lookout.stack import write_stack

    write_stack(files, tmp_path)
    assert (tmp_path / "grafana/dashboards/acme/fleet.json").read_text() == files["grafana/dashboards/acme/fleet.json"]


def test_latency_panels_ask_for_exemplars_and_the_heatmap_is_in_seconds(files: dict[str, str]) -> None:
    server = json.loads(files["grafana/dashboards/acme/server.json"])
    panels = {p["title"]: p for p in server["panels"]}
    heatmap = panels["Latency heatmap"]
    assert heatmap["options"]["yAxis"]["unit"] == "s" and heatmap["targets"][0]["format"] == "heatmap"
    assert heatmap["targets"][0]["exemplar"] is True
    assert all(t["exemplar"] is True for t in panels["Latency quantiles"]["targets"])
    assert "exemplar" not in panels["Requests by method"]["targets"][0]


def test_a_span_links_to_its_services_metrics() -> None:
    """Jaeger's traces-to-metrics links need queries: each runs over metrics Lookout emits, for the span's service."""
    from lookout import metrics as m
    from lookout.check.contract import metric_names
    from lookout.stack.grafana.provisioning import Endpoints, datasources

    endpoints = Endpoints("http://p", "http://a", "http://l", "http://j")
    [jaeger] = [d for d in datasources(endpoints, "15s")["datasources"] if d["uid"] == JAEGER_UID]
    links = jaeger["jsonData"]["tracesToMetrics"]
    assert links["datasourceUid"] == PROMETHEUS_UID
    assert links["tags"] == [{"key": "service.name", "value": m.SERVICE}]
    assert {q["name"] for q in links["queries"]} == {"Request rate", "Error rate", "p99 latency"}
    for query in links["queries"]:
        assert "{$__tags}" in query["query"]
        names = metric_names(query["query"].replace("$__tags", 'service="search"'))
        assert names and all(m.is_known(name) for name in names), query
