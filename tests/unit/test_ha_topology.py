"""The ``ha`` block of lookout.yaml: what it generates for every target, and bad HA input as one line, exit 2."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from lookout.config.loader import ConfigError, parse_config
from lookout.config.model import Config
from lookout.runtime.topology import alertmanager_children, endpoints, port_checks, prometheus_children
from lookout.stack import DeployTarget, naming, render_stack
from lookout.stack.compose import compose_config
from lookout.stack.k8s import kube_prometheus_stack_values
from lookout.stack.k8s.alerting import alertmanager
from lookout.stack.prometheus import prometheus_config
from lookout.stack.rules import alert_rules
from tests.support import lookout_argv

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "examples" / "lookout.yaml").read_text()
HA = "\nha:\n  prometheus_replicas: 2\n  alertmanager_replicas: 3\n  long_term_storage: victoriametrics\n"


def _config(extra: str = "") -> Config:
    return parse_config(GOOD + extra)


def _alert_names(config: Config) -> set[str]:
    return {rule["alert"] for group in alert_rules(config)["groups"] for rule in group["rules"]}


def test_the_default_topology_is_one_of_each_without_gossip() -> None:
    config = _config()
    assert config.prometheus_addresses() == [config.listen.prometheus]
    assert config.alertmanager_addresses() == [config.listen.alertmanager]
    assert config.query_url() == f"http://{config.listen.prometheus}"
    [am] = alertmanager_children(config, "am", Path("/d"), Path("/s"))
    assert "--cluster.listen-address=" in am.argv
    assert not any(arg.startswith("--cluster.peer") for arg in am.argv)
    assert "remote_write" not in prometheus_config(config)
    files = render_stack(config, DeployTarget.NATIVE)
    assert [p for p in files if p.startswith("prometheus/prometheus")] == [naming.PROMETHEUS_FILE]


def test_replicas_differ_only_by_the_replica_label_and_alert_every_alertmanager() -> None:
    config = _config(HA)
    first, second = (prometheus_config(config, instance=i) for i in range(2))
    assert first["global"]["external_labels"]["replica"] != second["global"]["external_labels"]["replica"]
    for data in (first, second):
        data["global"]["external_labels"].pop("replica")
    assert first == second  # same targets, same rules, same Alertmanagers
    alerting = first["alerting"]
    assert alerting["alert_relabel_configs"] == [{"action": "labeldrop", "regex": "replica"}]
    assert alerting["alertmanagers"][0]["static_configs"][0]["targets"] == config.alertmanager_addresses()
    [write] = first["remote_write"]
    assert write["url"] == f"http://{config.long_term_storage_address()}/api/v1/write"
    assert write["write_relabel_configs"] == [{"action": "labeldrop", "regex": "replica"}]
    assert config.query_url() == "http://127.0.0.1:8428"


def test_alertmanager_peers_gossip_with_each_other_on_loopback() -> None:
    config = _config(HA)
    peers = config.alertmanager_cluster_addresses()
    assert len(peers) == 3 and len(set(peers)) == 3
    for i, child in enumerate(alertmanager_children(config, "am", Path("/d"), Path("/s"))):
        assert f"--cluster.listen-address={peers[i]}" in child.argv
        assert sorted(a.split("=", 1)[1] for a in child.argv if a.startswith("--cluster.peer=")) == sorted(
            p for p in peers if p != peers[i]
        )
    assert len(prometheus_children(config, "prom", Path("/d"), Path("/s"))) == 2


def test_every_endpoint_and_gossip_port_is_listed_once() -> None:
    config = _config(HA)
    listed = [address for _, address in port_checks(config)]
    assert len(listed) == len(set(listed))
    children = {e.child for e in endpoints(config)}
    assert {"prometheus", "prometheus-1", "alertmanager", "alertmanager-2", "victoriametrics", "console"} <= children


def test_shards_split_targets_by_service_and_leave_out_fleet_wide_rules() -> None:
    sharded = _config(HA + "  prometheus_shards: 2\n")
    assert len(sharded.prometheus_addresses()) == 4
    shard_of = [prometheus_config(sharded, instance=i) for i in range(4)]
    relabel = shard_of[2]["scrape_configs"][0]["relabel_configs"]
    assert relabel[0] == {
        "source_labels": ["service"],
        "modulus": 2,
        "target_label": relabel[0]["target_label"],
        "action": "hashmod",
    }
    assert relabel[1]["regex"] == "1" and relabel[1]["action"] == "keep"
    assert shard_of[2]["global"]["external_labels"]["shard"] == "1"
    assert _alert_names(_config(HA)) - _alert_names(sharded) == {"MCPTenantDown", "LookoutScrapeTargetAbsent"}


def test_compose_and_kubernetes_express_the_same_topology() -> None:
    config = _config(HA + "  prometheus_shards: 2\n")
    services = compose_config(config)["services"]
    assert {"prometheus", "prometheus-3", "alertmanager", "alertmanager-2", "victoriametrics"} <= set(services)
    assert "--config.file=/etc/prometheus/prometheus-3.yml" in services["prometheus-3"]["command"]
    assert any(a.startswith("--cluster.peer=") for a in services["alertmanager-1"]["command"])
    spec: dict[str, Any] = kube_prometheus_stack_values(config)["prometheus"]["prometheusSpec"]
    assert (spec["replicas"], spec["shards"], spec["replicaExternalLabelName"]) == (2, 2, "replica")
    assert spec["remoteWrite"][0]["url"].endswith("/api/v1/write")
    assert alertmanager(config)["spec"]["replicas"] == 3
    assert "replicas" not in alertmanager(_config())["spec"]
    files = render_stack(config, DeployTarget.K8S)
    assert "k8s/victoriametrics.yaml" in files
    datasources = YAML(typ="safe").load(files["helm/grafana-values.yaml"])["datasources"]["lookout.yaml"]
    assert datasources["datasources"][0]["url"].startswith("http://lookout-victoriametrics.")


BAD_HA = {
    "no Prometheus": ("  prometheus_replicas: 0\n", ["ha.prometheus_replicas", "greater than or equal to 1"]),
    "no Alertmanager": ("  alertmanager_replicas: 0\n", ["ha.alertmanager_replicas"]),
    "sharding without a long-term store": (
        "  prometheus_shards: 2\n  long_term_storage: null\n",
        ["ha.prometheus_shards: more than one shard needs long_term_storage"],
    ),
    "the store on Prometheus' port": ('  victoriametrics: "127.0.0.1:9090"\n', ["both take port 9090"]),
    "a derived port on another's": ("  port_step: 1\n", ["(127.0.0.1:9091)", "both take port 9091", "own port"]),
    "a derived port past 65535": (
        "  port_step: 30000\n",
        ["ha.alertmanager_listen[2] would be 127.0.0.1:69093, past port 65535: lower listen's ports or ha.port_step"],
    ),
    "a peer list of the wrong length": (
        '  alertmanager_listen: ["127.0.0.1:9093"]\n',
        ["ha.alertmanager_listen: lists 1 addresses: list 3"],
    ),
}


@pytest.mark.parametrize(
    ("prometheus", "alertmanager", "message"),
    [
        ("127.0.0.1:19090", "localhost:19090", "both take port 19090"),
        ("0.0.0.0:19090", "127.0.0.1:19090", "both take port 19090"),
        ("127.0.0.1:19090", "127.0.0.2:19090", None),  # two loopback addresses
    ],
)
def test_listeners_clash_on_a_port_whatever_the_host_is_called(
    prometheus: str, alertmanager: str, message: str | None
) -> None:
    block = "listen:\n  prometheus: 127.0.0.1:9090\n  alertmanager: 127.0.0.1:9093\n"
    assert block in GOOD
    text = GOOD.replace(block, f"listen:\n  prometheus: {prometheus}\n  alertmanager: {alertmanager}\n")
    if message is None:
        parse_config(text)
        return
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


@pytest.mark.parametrize("case", sorted(BAD_HA))
def test_bad_ha_config_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    extra, expected = BAD_HA[case]
    base = HA.replace("  prometheus_replicas: 2\n", "") if "prometheus_replicas" in extra else HA
    base = base.replace("  alertmanager_replicas: 3\n", "") if "alertmanager_replicas" in extra else base
    base = base.replace("  long_term_storage: victoriametrics\n", "") if "long_term_storage" in extra else base
    path = tmp_path / "lookout.yaml"
    path.write_text(GOOD + base + extra)
    result = subprocess.run(lookout_argv("config", "validate", str(path)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in expected:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("extra", ["", HA])
def test_alert_links_name_the_address_each_child_listens_on(extra: str) -> None:
    """generatorURL and externalURL in notifications: the listen address, not the hostname (which a loopback
    listener need not answer on)."""
    config = _config(extra)
    children = [
        *zip(prometheus_children(config, "prom", Path("/d"), Path("/s")), config.prometheus_addresses(), strict=True),
        *zip(alertmanager_children(config, "am", Path("/d"), Path("/s")), config.alertmanager_addresses(), strict=True),
    ]
    for child, address in children:
        assert f"--web.external-url=http://{address}" in child.argv
