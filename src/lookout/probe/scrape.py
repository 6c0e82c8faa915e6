"""Prometheus scrape jobs for the prober (a pure function; the stack generator writes them out).

One job per module in use, with blackbox_exporter's relabelling: the target name becomes
``__param_target`` and ``instance``, and the exporter's address becomes ``__address__``.
"""

from __future__ import annotations

from typing import Any

from lookout import metrics
from lookout.config import Config

PROBE_JOB_PREFIX = "lookout-probe-"
EXPORTER_JOB = "lookout-exporter"


def probe_job_name(module: str) -> str:
    return f"{PROBE_JOB_PREFIX}{module}"


def prober_scrape_configs(config: Config, *, include_exporter: bool = True) -> list[dict[str, Any]]:
    """Scrape configs for every module used by a target with ``probe: true`` (plus the exporter's /metrics).

    Deterministic: modules in ``probe.modules`` order, targets in file order.
    """
    exporter = config.listen.exporter
    static: dict[str, list[dict[str, Any]]] = {}
    for tenant, target in config.targets():
        if not target.probe:
            continue
        labels = {**tenant.labels, **target.labels, metrics.TENANT: tenant.name, metrics.SERVICE: target.name}
        for module in config.probe.modules_for(target.name):
            static.setdefault(module, []).append({"targets": [target.name], "labels": labels})
    jobs: list[dict[str, Any]] = [
        {
            "job_name": probe_job_name(module),
            "metrics_path": "/probe",
            "params": {"module": [module]},
            "static_configs": static[module],
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": "__param_target"},
                {"source_labels": ["__param_target"], "target_label": metrics.INSTANCE},
                {"target_label": "__address__", "replacement": exporter},
            ],
        }
        for module in config.probe.modules
        if module in static
    ]
    if include_exporter:
        jobs.append({"job_name": EXPORTER_JOB, "static_configs": [{"targets": [exporter]}]})
    return jobs
