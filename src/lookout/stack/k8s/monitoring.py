"""prometheus-operator objects: ServiceMonitor, PodMonitor, ScrapeConfig, Probe, PrometheusRule (Alertmanager:
``alerting.py``).

In-cluster MCP servers opt in with the label ``lookout.dev/scrape: "true"`` on their Service (or Pod),
name their tenant with ``lookout.dev/tenant`` and their service with ``app.kubernetes.io/name``; the
relabelings turn those into the same ``job``/``tenant``/``service`` labels the native stack uses, so the
rules and dashboards work unchanged. A target whose ``metrics_url`` is outside the cluster is scraped at that
URL by a ScrapeConfig, with the labels prometheus.yml gives it.

Every object carries ``kubernetes.selector_labels`` (kube-prometheus-stack's Prometheus selects
``release: <release>`` by default), and the Probes reach the exporter by its cluster DNS name: the
Prometheus that runs them lives in another namespace.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit

from lookout import metrics as m
from lookout.config.model import Config
from lookout.stack import naming
from lookout.stack.deployment import loopback_url, service_dns
from lookout.stack.k8s.security import scrape_endpoint
from lookout.stack.prometheus import instrumented_target
from lookout.stack.rules import alert_rules, recording_rules

API: Final = "monitoring.coreos.com/v1"
API_V1ALPHA1: Final = "monitoring.coreos.com/v1alpha1"
SCRAPE_LABEL: Final = "lookout.dev/scrape"
TENANT_LABEL: Final = "lookout.dev/tenant"
NAME_LABEL: Final = "app.kubernetes.io/name"
PART_OF: Final = {"app.kubernetes.io/part-of": "mcp-lookout"}
MANAGEMENT_PORT_NAME: Final = "management"
EXPORTER_SERVICE: Final = "lookout-exporter"
EXPORTER_PORT: Final = 9115
ALERTMANAGER_SERVICE: Final = "alertmanager-operated"
"""The Service the operator creates for every Alertmanager in its namespace (port ``web``)."""
ALERTMANAGER_SERVICE_LABELS: Final = {"operated-alertmanager": "true"}
"""The labels of the ``alertmanager-operated`` Service the operator creates for the Alertmanagers of a namespace."""
ALERTMANAGER_PORT_NAME: Final = "web"


def _meta(config: Config, name: str) -> dict[str, Any]:
    """Name and labels of an object the cluster's Prometheus must select."""
    return {"name": name, "labels": {**PART_OF, **config.kubernetes.selector_labels}}


def exporter_address(config: Config) -> str:
    """The exporter's Service as Prometheus reaches it from any namespace."""
    return f"{service_dns(EXPORTER_SERVICE, config.kubernetes.namespace)}:{EXPORTER_PORT}"


def _meta_label(prefix: str, label: str) -> str:
    """Prometheus' discovery label for a Kubernetes label (non-alphanumerics become underscores)."""
    return f"__meta_kubernetes_{prefix}_label_" + "".join(c if c.isalnum() else "_" for c in label)


def _relabelings(kind: str) -> list[dict[str, Any]]:
    return [
        {"targetLabel": m.JOB, "replacement": naming.JOB_MCP, "action": "replace"},
        {"sourceLabels": [_meta_label(kind, TENANT_LABEL)], "targetLabel": m.TENANT, "action": "replace"},
        {"sourceLabels": [_meta_label(kind, NAME_LABEL)], "targetLabel": m.SERVICE, "action": "replace"},
    ]


def _endpoint(kind: str, config: Config) -> dict[str, Any]:
    """The management port's /metrics, over TLS with the client user under ``security:`` (Secret references)."""
    return {
        "port": MANAGEMENT_PORT_NAME,
        "path": "/metrics",
        "interval": config.timing.scrape_interval,
        "relabelings": _relabelings(kind),
        **scrape_endpoint(config.security),
    }


def service_monitor(config: Config) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "ServiceMonitor",
        "metadata": _meta(config, "lookout-mcp-servers"),
        "spec": {
            "selector": {"matchLabels": {SCRAPE_LABEL: "true"}},
            "namespaceSelector": {"any": True},
            "endpoints": [_endpoint("service", config)],
        },
    }


def pod_monitor(config: Config) -> dict[str, Any]:
    """For servers without a Service (e.g. stdio servers behind a sidecar): the pod's management port."""
    return {
        "apiVersion": API,
        "kind": "PodMonitor",
        "metadata": _meta(config, "lookout-mcp-pods"),
        "spec": {
            "selector": {"matchLabels": {SCRAPE_LABEL: "pod"}},
            "namespaceSelector": {"any": True},
            "podMetricsEndpoints": [_endpoint("pod", config)],
        },
    }


def _stack_endpoint(config: Config, service: str, port: str, job: str, *, login: bool) -> dict[str, Any]:
    """An endpoint of one of Lookout's own components, under the job the self-monitoring rules select. Scraped at
    the pods' addresses, it verifies the certificate for the Service's name."""
    secure = scrape_endpoint(config.security, service_dns(service, config.kubernetes.namespace))
    if not login:  # the operator's Alertmanager has no users (alerting.py): TLS only
        secure.pop("basicAuth", None)
    return {
        "port": port,
        "path": "/metrics",
        "interval": config.timing.scrape_interval,
        "relabelings": [{"targetLabel": m.JOB, "replacement": job, "action": "replace"}],
        **secure,
    }


def stack_monitors(config: Config) -> list[dict[str, Any]]:
    """Lookout's exporter and Alertmanager, scraped as prometheus.yml's ``lookout-exporter`` and ``alertmanager`` jobs:
    without them no rule sees the exporter down (every Probe blind, ``LookoutStackComponentDown``) or notifications
    failing (``LookoutReceiverNotificationsFailing``). The cluster's Prometheus scrapes itself under its chart's job."""
    own_namespace = {"matchNames": [config.kubernetes.namespace]}
    return [
        {
            "apiVersion": API,
            "kind": "ServiceMonitor",
            "metadata": _meta(config, "lookout-exporter"),
            "spec": {
                "selector": {"matchLabels": {NAME_LABEL: EXPORTER_SERVICE}},
                "namespaceSelector": own_namespace,
                "endpoints": [_stack_endpoint(config, EXPORTER_SERVICE, "http", naming.JOB_EXPORTER, login=True)],
            },
        },
        {
            "apiVersion": API,
            "kind": "ServiceMonitor",
            "metadata": _meta(config, "lookout-alertmanager"),
            "spec": {
                "selector": {"matchLabels": dict(ALERTMANAGER_SERVICE_LABELS)},
                "namespaceSelector": own_namespace,
                "endpoints": [
                    _stack_endpoint(
                        config, ALERTMANAGER_SERVICE, ALERTMANAGER_PORT_NAME, naming.JOB_ALERTMANAGER, login=False
                    )
                ],
            },
        },
    ]


def in_cluster_service(url: str) -> bool:
    """Whether a ``metrics_url`` is scraped through the ServiceMonitor or PodMonitor labels: a loopback URL (in the
    cluster it names the Service called after the target, deployment.py) or a Service's DNS name
    (``<service>.<namespace>.svc[.<cluster domain>]``)."""
    host = urlsplit(url).hostname or ""
    return loopback_url(url) or "svc" in host.split(".")


def external_scrape_config(config: Config) -> dict[str, Any] | None:
    """The instrumented targets whose ``metrics_url`` is outside the cluster (e.g. a VM at 10.0.0.5), which no
    Service or Pod label can select: the ``mcp`` job's static configs of prometheus.yml, as a ScrapeConfig."""
    groups = [
        instrumented_target(tenant, target)
        for tenant, target in config.targets()
        if target.metrics_url is not None and not in_cluster_service(str(target.metrics_url))
    ]
    if not groups:
        return None
    secure = scrape_endpoint(config.security)
    secure.pop("scheme", None)  # each target's own, on its labels (a plain-http one is warned about on load)
    return {
        "apiVersion": API_V1ALPHA1,
        "kind": "ScrapeConfig",
        "metadata": _meta(config, "lookout-mcp-external"),
        "spec": {
            "jobName": naming.JOB_MCP,
            "scrapeInterval": config.timing.scrape_interval,
            # Each target's own path and scheme ride on its labels, as in prometheus.yml.
            "staticConfigs": groups,
            **secure,
        },
    }


def probes(config: Config) -> list[dict[str, Any]]:
    """One Probe per target and module: the Lookout exporter probes the target by its lookout.yaml name."""
    objects = []
    # Under security: the exporter serves TLS and wants the client user (Secret references).
    secure = scrape_endpoint(config.security)
    prober = {
        "url": exporter_address(config),
        "path": "/probe",
        **({"scheme": secure.pop("scheme")} if "scheme" in secure else {}),
    }
    for tenant, target in config.targets():
        if not target.probe:
            continue
        for module in config.probe.modules_for(target.name):
            labels = {**tenant.labels, **target.labels, m.TENANT: tenant.name, m.SERVICE: target.name}
            objects.append(
                {
                    "apiVersion": API,
                    "kind": "Probe",
                    "metadata": _meta(config, f"lookout-{target.name}-{module}"[:253]),
                    "spec": {
                        "jobName": naming.probe_job_name(module),
                        "module": module,
                        "interval": config.timing.scrape_interval,
                        "prober": prober,  # workloads.exporter
                        "targets": {"staticConfig": {"static": [target.name], "labels": dict(sorted(labels.items()))}},
                        **secure,
                    },
                }
            )
    return objects


def prometheus_rules(config: Config) -> list[dict[str, Any]]:
    """The recording and alert rules as the operator wants them: one PrometheusRule per group, named after it (group
    names are unique across both files), so that no object outgrows what `kubectl apply` stores of it (256 KiB; the
    rules that grow with the fleet are split into groups, recording.py's ``lookout-limits``)."""
    groups = [*recording_rules(config)["groups"], *alert_rules(config)["groups"]]
    return [
        {
            "apiVersion": API,
            "kind": "PrometheusRule",
            "metadata": _meta(config, group["name"]),
            "spec": {"groups": [group]},
        }
        for group in groups
    ]
