"""Kubernetes (kustomize base) for clusters running the prometheus-operator and a Grafana dashboard sidecar.

``k8s/kustomization.yaml`` lists: the operator objects (ServiceMonitor, PodMonitor, Probes,
PrometheusRule), the Alertmanager with its global configuration (``alerting.py``), one ConfigMap per
Grafana dashboard (label ``grafana_dashboard``, folder annotation ``grafana_folder`` = tenant, as the
Grafana Helm chart's sidecar expects), and an example MCP server (Deployment with the three ``/health/*``
probes, Service, HorizontalPodAutoscaler on request rate, prometheus-adapter rule) and the Lookout
exporter the Probes go through.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from lookout.config.model import Config
from lookout.stack import naming
from lookout.stack.grafana import DASHBOARDS_DIR, render_dashboards
from lookout.stack.k8s import alerting, monitoring, workloads
from lookout.stack.k8s.monitoring import PART_OF
from lookout.stack.yamlio import dump_yaml

K8S_DIR: Final = "k8s"
NAMESPACE: Final = "lookout"
DASHBOARD_LABEL: Final = "grafana_dashboard"
FOLDER_ANNOTATION: Final = "grafana_folder"


def _dump(objects: list[dict[str, Any]]) -> str:
    """Several objects in one file, as YAML documents."""
    header = "".join(f"# {line}\n" for line in naming.GENERATED_HEADER.splitlines())
    return header + "---\n".join(dump_yaml(obj) for obj in objects)


def dashboard_config_maps(config: Config) -> list[dict[str, Any]]:
    objects = []
    for path, text in render_dashboards(config).items():
        folder, file_name = path.removeprefix(f"{DASHBOARDS_DIR}/").split("/")
        slug = file_name.removesuffix(".json")
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": f"grafana-dashboard-{folder.lower()}-{slug}",
                    "labels": {**PART_OF, DASHBOARD_LABEL: "1"},
                    "annotations": {FOLDER_ANNOTATION: folder},
                },
                # Compact JSON: ConfigMaps are capped at 1 MiB.
                "data": {file_name: orjson.dumps(orjson.loads(text), option=orjson.OPT_SORT_KEYS).decode()},
            }
        )
    return objects


def render_k8s(config: Config) -> dict[str, str]:
    files = {
        f"{K8S_DIR}/servicemonitor.yaml": _dump([monitoring.service_monitor(config)]),
        f"{K8S_DIR}/podmonitor.yaml": _dump([monitoring.pod_monitor(config)]),
        f"{K8S_DIR}/prometheusrule.yaml": _dump([monitoring.prometheus_rule(config)]),
        f"{K8S_DIR}/alertmanager.yaml": _dump([alerting.config_secret(config), alerting.alertmanager(config)]),
        f"{K8S_DIR}/grafana-dashboards.yaml": _dump(dashboard_config_maps(config)),
        f"{K8S_DIR}/example-server.yaml": _dump(
            [workloads.deployment(config), workloads.service(config), workloads.autoscaler(config)]
        ),
        f"{K8S_DIR}/prometheus-adapter.yaml": _dump([workloads.adapter_rules()]),
        f"{K8S_DIR}/exporter.yaml": _dump(workloads.exporter(config)),
    }
    probes = monitoring.probes(config)
    if probes:
        files[f"{K8S_DIR}/probes.yaml"] = _dump(probes)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": NAMESPACE,
        "resources": sorted(path.removeprefix(f"{K8S_DIR}/") for path in files),
    }
    files[f"{K8S_DIR}/kustomization.yaml"] = dump_yaml(kustomization, naming.GENERATED_HEADER)
    return dict(sorted(files.items()))
