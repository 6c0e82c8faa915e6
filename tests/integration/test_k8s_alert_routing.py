"""The kube-prometheus-stack values' alerting endpoints on the real Prometheus and two real Alertmanagers: Lookout's
alerts (they carry a tenant) reach Lookout's Alertmanager only, the cluster's own (the chart's rules, no tenant:
its always-firing Watchdog among them) the chart's Alertmanager only. The operator turns each endpoint's
``alertRelabelings`` into that Alertmanager's own ``alert_relabel_configs`` (Prometheus 2.51 and later, as the
chart runs); Debian's Prometheus 2.42 has only the global ones, so each endpoint gets a Prometheus of its own here,
whose global relabelling is that endpoint's: the same rules applied to the same alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from lookout.config.loader import parse_config
from lookout.stack.k8s import kube_prometheus_stack_values
from lookout.stack.yamlio import dump_yaml
from tests.support import start_alertmanager, start_prometheus, wait_until

pytestmark = pytest.mark.integration

CONFIG = (Path(__file__).resolve().parents[2] / "examples" / "lookout.yaml").read_text()
RULES = {
    "groups": [
        {
            "name": "both",
            "rules": [
                {"alert": "MCPServerDown", "expr": "vector(1)", "labels": {"tenant": "demo", "priority": "P0"}},
                {"alert": "Watchdog", "expr": "vector(1)", "labels": {"severity": "none"}},  # the chart's
                {"alert": "KubePodCrashLooping", "expr": "vector(1)", "labels": {"severity": "warning"}},
            ],
        }
    ]
}


def _relabel(operator: dict[str, Any]) -> dict[str, Any]:
    """An operator RelabelConfig as Prometheus writes it."""
    names = {"sourceLabels": "source_labels", "targetLabel": "target_label"}
    return {names.get(key, key): value for key, value in operator.items()}


def _alert_names(url: str) -> list[str]:
    return sorted(a["labels"]["alertname"] for a in httpx.get(f"{url}/api/v2/alerts", timeout=5).json())


def test_lookouts_alerts_reach_lookouts_alertmanager_and_the_clusters_the_charts(tmp_path: Path) -> None:
    endpoints = kube_prometheus_stack_values(parse_config(CONFIG))["prometheus"]["prometheusSpec"]["alertingEndpoints"]
    assert [e["name"] for e in endpoints] == ["alertmanager-operated", "kube-prometheus-stack-alertmanager"]
    (tmp_path / "am.yml").write_text(dump_yaml({"route": {"receiver": "none"}, "receivers": [{"name": "none"}]}))
    (tmp_path / "rules.yml").write_text(dump_yaml(RULES))
    running: list[Any] = []
    try:
        urls = []
        for name, endpoint in zip(("lookout", "chart"), endpoints, strict=True):
            (tmp_path / name).mkdir()
            manager = start_alertmanager(tmp_path / "am.yml", tmp_path / name)
            running.append(manager)
            urls.append(manager.url)
            config = {
                "global": {"evaluation_interval": "1s"},
                "rule_files": [str(tmp_path / "rules.yml")],
                "alerting": {
                    "alert_relabel_configs": [_relabel(r) for r in endpoint["alertRelabelings"]],
                    "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{manager.port}"]}]}],
                },
            }
            (tmp_path / name / "prometheus.yml").write_text(dump_yaml(config))
            # Alerts evaluated before the Alertmanager is discovered are dropped; re-sent every second, not minute.
            prometheus = start_prometheus(
                tmp_path / name / "prometheus.yml", tmp_path / name, extra_args=["--rules.alert.resend-delay=1s"]
            )
            running.append(prometheus)
        lookout, chart = urls
        wait_until(lambda: len(_alert_names(lookout)) + len(_alert_names(chart)) == 3, 60, what="three alerts")
        assert _alert_names(lookout) == ["MCPServerDown"]
        assert _alert_names(chart) == ["KubePodCrashLooping", "Watchdog"]
    finally:
        for process in reversed(running):
            process.proc.stop()
