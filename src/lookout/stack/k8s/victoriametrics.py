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
from lookout.stack.k8s.security import CERT_KEY, KEY_KEY, TLS_DIR, TLS_SECRET, safe_tls_config
from lookout.stack.k8s.workloads import container_resources
from lookout.stack.prometheus import victoriametrics_flags

NAME: Final = "lookout-victoriametrics"
PORT: Final = 8428
IMAGE: Final = "victoriametrics/victoria-metrics:v1.79.5"
DATA: Final = "/victoria-metrics-data"
STORAGE: Final = "50Gi"


def url(config: Config) -> str:
    return f"{config.security.scheme}://{service_dns(NAME, config.kubernetes.namespace)}:{PORT}"


def remote_write(config: Config) -> list[dict[str, Any]]:
    """kube-prometheus-stack's ``prometheusSpec.remoteWrite``: every replica writes without its replica label."""
    queue: dict[str, Any] = {
        "name": naming.LONG_TERM_REMOTE_WRITE,
        "url": f"{url(config)}{naming.VICTORIAMETRICS_WRITE_PATH}",
        "writeRelabelConfigs": [{"action": "labeldrop", "regex": m.REPLICA}],
    }
    if config.security.tls.enabled:  # the store takes no login, only TLS
        queue["tlsConfig"] = safe_tls_config(config.security)
    return [queue]


def objects(config: Config) -> list[dict[str, Any]]:
    labels = {**PART_OF, "app.kubernetes.io/name": NAME}
    tls = config.security.tls
    # The certificate and key as lookout-tls is mounted (k8s/security.py), not the paths of the local machine.
    mounted = {f"={tls.cert_file}": f"={TLS_DIR}/{CERT_KEY}", f"={tls.key_file}": f"={TLS_DIR}/{KEY_KEY}"}
    flags = []
    for flag in victoriametrics_flags(config, DATA):
        flag = flag.replace(str(config.long_term_storage_address()), f":{PORT}")
        for local, path in mounted.items():
            if tls.enabled and flag.endswith(local):
                flag = flag.removesuffix(local) + path
        flags.append(flag)
    mounts: list[dict[str, Any]] = [{"name": "data", "mountPath": DATA}]
    tls_volumes: list[dict[str, Any]] = []
    if tls.enabled:
        mounts.append({"name": "lookout-tls", "mountPath": TLS_DIR, "readOnly": True})
        tls_volumes.append({"name": "lookout-tls", "secret": {"secretName": TLS_SECRET}})
    resources = config.kubernetes.victoriametrics_resources
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
                            "readinessProbe": {
                                "httpGet": {
                                    "path": "/health",
                                    "port": "http",
                                    **({"scheme": "HTTPS"} if tls.enabled else {}),
                                }
                            },
                            "resources": container_resources(resources.cpu_cores, resources.memory_limit_bytes),
                            "volumeMounts": mounts,
                        }
                    ],
                    **({"volumes": tls_volumes} if tls_volumes else {}),
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
