"""The HA topology's long-term store in Kubernetes: VictoriaMetrics single-node (a StatefulSet with its own
volume and a Service), which kube-prometheus-stack's Prometheus replicas remote-write to and Grafana queries.

Single-node rather than the VictoriaMetrics cluster or the operator: one process holds a 100k-server fleet's
series on one volume (docs/scaling.md), deduplicates the replicas with ``-dedup.minScrapeInterval`` and is
the same binary ``lookout up`` runs from Debian; the cluster version is the step after it.
"""

from __future__ import annotations

from typing import Any, Final

from lookout import metrics as m
from lookout.config.model import Config
from lookout.stack import naming
from lookout.stack.deployment import service_dns
from lookout.stack.k8s.monitoring import PART_OF
from lookout.stack.prometheus import victoriametrics_flags

NAME: Final = "lookout-victoriametrics"
PORT: Final = 8428
IMAGE: Final = "victoriametrics/victoria-metrics:v1.79.5"
DATA: Final = "/victoria-metrics-data"
STORAGE: Final = "50Gi"


def url(config: Config) -> str:
    return f"http://{service_dns(NAME, config.kubernetes.namespace)}:{PORT}"


def remote_write(config: Config) -> list[dict[str, Any]]:
    """kube-prometheus-stack's ``prometheusSpec.remoteWrite``: every replica writes without its replica label."""
    return [
        {
            "name": naming.LONG_TERM_REMOTE_WRITE,
            "url": f"{url(config)}{naming.VICTORIAMETRICS_WRITE_PATH}",
            "writeRelabelConfigs": [{"action": "labeldrop", "regex": m.REPLICA}],
        }
    ]


def objects(config: Config) -> list[dict[str, Any]]:
    labels = {**PART_OF, "app.kubernetes.io/name": NAME}
    flags = [
        f.replace(str(config.long_term_storage_address()), f":{PORT}") for f in victoriametrics_flags(config, DATA)
    ]
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": NAME, "labels": labels},
        "spec": {
            "serviceName": NAME,
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "victoriametrics",
                            "image": IMAGE,
                            "args": flags,
                            "ports": [{"name": "http", "containerPort": PORT}],
                            "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}},
                            "volumeMounts": [{"name": "data", "mountPath": DATA}],
                        }
                    ]
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": STORAGE}}},
                }
            ],
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "labels": labels},
        "spec": {"selector": labels, "ports": [{"name": "http", "port": PORT, "targetPort": "http"}]},
    }
    return [statefulset, service]
