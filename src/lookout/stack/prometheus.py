"""``prometheus.yml``: scrape jobs for instrumented servers, the prober and the stack itself; external
labels; optional remote_write per tenant; rules; alerting."""

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


def prober_scrape_configs(config: Config, *, include_exporter: bool = True) -> list[dict[str, Any]]:
    """Scrape configs for every module used by a target with ``probe: true`` (plus the exporter's /metrics).

    One job per module in use, with blackbox_exporter's relabelling: the target name becomes
    ``__param_target`` and ``instance``, and the exporter's address becomes ``__address__``.
    Deterministic: modules in ``probe.modules`` order, targets in file order.
    """
    exporter = config.listen.exporter
    static: dict[str, list[dict[str, Any]]] = {}
    for tenant, target in config.targets():
        if not target.probe:
            continue
        labels = {**tenant.labels, **target.labels, m.TENANT: tenant.name, m.SERVICE: target.name}
        for module in config.probe.modules_for(target.name):
            static.setdefault(module, []).append({"targets": [target.name], "labels": labels})
    jobs: list[dict[str, Any]] = [
        {
            "job_name": naming.probe_job_name(module),
            "metrics_path": "/probe",
            "params": {m.PROBE_PARAM_MODULE: [module]},
            "static_configs": static[module],
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": f"__param_{m.PROBE_PARAM_TARGET}"},
                {"source_labels": [f"__param_{m.PROBE_PARAM_TARGET}"], "target_label": m.INSTANCE},
                {"target_label": "__address__", "replacement": exporter},
            ],
        }
        for module in config.probe.modules
        if module in static
    ]
    if include_exporter:
        jobs.append({"job_name": naming.JOB_EXPORTER, "static_configs": [{"targets": [exporter]}]})
    return jobs


def _external_labels(config: Config) -> dict[str, str]:
    labels = {**config.prometheus.external_labels, m.REPLICA: config.prometheus.replica}
    if len(config.tenants) == 1:  # a per-tenant Prometheus: every series it ships belongs to that tenant
        labels[m.TENANT] = config.tenants[0].name
    return dict(sorted(labels.items()))


def _remote_write(config: Config) -> list[dict[str, Any]]:
    out = []
    for rw in config.prometheus.remote_write:
        base: dict[str, Any] = {"url": str(rw.url)}
        if rw.bearer_token_file:
            base["authorization"] = {"credentials_file": rw.bearer_token_file}
        if rw.basic_auth_username:
            base["basic_auth"] = {"username": rw.basic_auth_username, "password_file": rw.basic_auth_password_file}
        if not rw.per_tenant:
            out.append({**base, **({"headers": dict(rw.headers)} if rw.headers else {})})
            continue
        for tenant in config.tenants:
            # One queue per tenant: only its series, tagged with the backend's tenant header (X-Scope-OrgID).
            out.append(
                {
                    **base,
                    "name": f"{tenant.name}",
                    "headers": {**rw.headers, rw.tenant_header: tenant.name},
                    "write_relabel_configs": [
                        {"source_labels": [m.TENANT], "regex": tenant.name, "action": "keep"},
                    ],
                }
            )
    return out


def prometheus_config(config: Config, alertmanager: str | None = None) -> dict[str, Any]:
    """The Prometheus configuration as data. ``alertmanager`` overrides ``listen.alertmanager``."""
    scrape_configs: list[dict[str, Any]] = [
        {"job_name": naming.JOB_MCP, "static_configs": _instrumented_targets(config)},
        *prober_scrape_configs(config),
        {"job_name": naming.JOB_PROMETHEUS, "static_configs": [{"targets": [config.listen.prometheus]}]},
        {"job_name": naming.JOB_ALERTMANAGER, "static_configs": [{"targets": [config.listen.alertmanager]}]},
        # Host metrics where the deployment runs node-exporter: the compose output mounts its target
        # over the empty native file, so one prometheus.yml serves both.
        {
            "job_name": naming.JOB_NODE,
            "file_sd_configs": [{"files": [naming.NODE_TARGETS_FILE.removeprefix("prometheus/")]}],
        },
        # `lookout bench` pushes its capacity result here; honor_labels keeps the pushed `target` label.
        {
            "job_name": naming.JOB_PUSHGATEWAY,
            "honor_labels": True,
            "static_configs": [{"targets": [config.listen.pushgateway]}],
        },
    ]
    data: dict[str, Any] = {
        "global": {
            "scrape_interval": config.timing.scrape_interval,
            "evaluation_interval": config.timing.evaluation_interval,
            "external_labels": _external_labels(config),
        },
        "rule_files": ["rules/*.yml"],
        "alerting": {
            # HA replicas send identical alerts; without the replica label Alertmanager deduplicates them.
            "alert_relabel_configs": [{"action": "labeldrop", "regex": m.REPLICA}],
            "alertmanagers": [{"static_configs": [{"targets": [alertmanager or config.listen.alertmanager]}]}],
        },
        "scrape_configs": scrape_configs,
    }
    remote_write = _remote_write(config)
    if remote_write:
        data["remote_write"] = remote_write
    return data


def render_prometheus(config: Config) -> str:
    return dump_yaml(prometheus_config(config), naming.GENERATED_HEADER)
