"""``prometheus.yml``: scrape jobs for instrumented servers and the stack itself, rules, alerting."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from lookout import metrics as m
from lookout.config.model import Config
from lookout.stack import naming
from lookout.stack.yamlio import dump_yaml


def _instrumented_targets(config: Config) -> list[dict[str, Any]]:
    """One static config per target, carrying tenant/service labels and its own path and scheme."""
    groups = []
    for tenant, target in config.targets():
        if target.metrics_url is None:
            continue
        url = urlsplit(str(target.metrics_url))
        labels = {
            **tenant.labels,
            **target.labels,
            m.TENANT: tenant.name,
            m.SERVICE: target.name,
            # Per-target path and scheme keep every instrumented server in the single `mcp` job.
            "__metrics_path__": url.path or "/metrics",
            "__scheme__": url.scheme,
        }
        groups.append({"targets": [url.netloc], "labels": dict(sorted(labels.items()))})
    return groups


def prometheus_config(config: Config, alertmanager: str | None = None) -> dict[str, Any]:
    """The Prometheus configuration as data. ``alertmanager`` overrides ``listen.alertmanager``."""
    scrape_configs: list[dict[str, Any]] = [
        {"job_name": naming.JOB_MCP, "static_configs": _instrumented_targets(config)},
        {"job_name": naming.JOB_PROMETHEUS, "static_configs": [{"targets": [config.listen.prometheus]}]},
        {"job_name": naming.JOB_ALERTMANAGER, "static_configs": [{"targets": [config.listen.alertmanager]}]},
    ]
    return {
        "global": {
            "scrape_interval": config.timing.scrape_interval,
            "evaluation_interval": config.timing.evaluation_interval,
        },
        "rule_files": ["rules/*.yml"],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [alertmanager or config.listen.alertmanager]}]}]
        },
        "scrape_configs": scrape_configs,
    }


def render_prometheus(config: Config) -> str:
    return dump_yaml(prometheus_config(config), naming.GENERATED_HEADER)
