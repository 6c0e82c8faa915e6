"""An example MCP server Deployment (the three probes on ``/health/*``), its Service, and an autoscaler on
request rate (HorizontalPodAutoscaler on a per-pod metric served by prometheus-adapter)."""

from __future__ import annotations

from typing import Any, Final

from lookout import __version__
from lookout import metrics as m
from lookout.config.model import Config
from lookout.stack.k8s.monitoring import (
    EXPORTER_PORT,
    MANAGEMENT_PORT_NAME,
    NAME_LABEL,
    PART_OF,
    SCRAPE_LABEL,
    TENANT_LABEL,
)
from lookout.stack.k8s.monitoring import (
    EXPORTER_SERVICE as EXPORTER,
)
from lookout.stack.yamlio import dump_yaml

APP: Final = "mcp-demo-server"
MCP_PORT: Final = 8000
MANAGEMENT_PORT: Final = 8080
REQUESTS_PER_SECOND: Final = "lookout_mcp_requests_per_second"
"""Per-pod custom metric the HPA scales on (prometheus-adapter rule below)."""


def _labels(config: Config) -> dict[str, str]:
    return {NAME_LABEL: APP, TENANT_LABEL: config.tenants[0].name, **PART_OF}


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": MANAGEMENT_PORT_NAME},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def deployment(config: Config) -> dict[str, Any]:
    resources = config.alerting.resources
    cpu = f"{round(resources.cpu_cores * 1000)}m"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": APP, "labels": _labels(config)},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {NAME_LABEL: APP}},
            "template": {
                "metadata": {"labels": _labels(config)},
                "spec": {
                    # Readiness fails first while draining; the grace period covers the drain.
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 65534},
                    "containers": [
                        {
                            "name": "server",
                            "image": f"lookout-demo-server:{__version__}",
                            "args": [
                                "demo-server",
                                "--host=0.0.0.0",
                                f"--port={MCP_PORT}",
                                "--management-host=0.0.0.0",
                                f"--management-port={MANAGEMENT_PORT}",
                            ],
                            "ports": [
                                {"name": "mcp", "containerPort": MCP_PORT},
                                {"name": MANAGEMENT_PORT_NAME, "containerPort": MANAGEMENT_PORT},
                            ],
                            "startupProbe": _probe("/health/startup", 2, 30),
                            "livenessProbe": _probe("/health/live", 10, 3),
                            "readinessProbe": _probe("/health/ready", 5, 2),
                            "resources": {
                                "requests": {"cpu": cpu, "memory": str(resources.memory_limit_bytes)},
                                "limits": {"memory": str(resources.memory_limit_bytes)},
                            },
                            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
                        }
                    ],
                },
            },
        },
    }


def service(config: Config) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": APP, "labels": {**_labels(config), SCRAPE_LABEL: "true"}},
        "spec": {
            "selector": {NAME_LABEL: APP},
            "ports": [
                {"name": "mcp", "port": MCP_PORT, "targetPort": "mcp"},
                {"name": MANAGEMENT_PORT_NAME, "port": MANAGEMENT_PORT, "targetPort": MANAGEMENT_PORT_NAME},
            ],
        },
    }


def autoscaler(config: Config) -> dict[str, Any]:
    """Scale so each pod stays at the utilization threshold of one replica's capacity."""
    resources = config.alerting.resources
    per_pod = resources.capacity_fallback_rps * resources.utilization_threshold
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": APP, "labels": _labels(config)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": APP},
            "minReplicas": 2,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": REQUESTS_PER_SECOND},
                        "target": {"type": "AverageValue", "averageValue": f"{round(per_pod * 1000)}m"},
                    },
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    }


def adapter_rules() -> dict[str, Any]:
    """prometheus-adapter configuration: request rate per pod from the operations histogram."""
    count = f"{m.OPERATION_DURATION.name}_count"
    rules = {
        "rules": [
            {
                "seriesQuery": f'{count}{{namespace!="",pod!=""}}',
                "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
                "name": {"matches": f"^{count}$", "as": REQUESTS_PER_SECOND},
                "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
            }
        ]
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "lookout-prometheus-adapter", "labels": dict(PART_OF)},
        "data": {"config.yaml": dump_yaml(rules)},
    }


CONFIG_MAP: Final = "lookout-config"


def exporter(config: Config) -> list[dict[str, Any]]:
    """The Lookout exporter the Probes go through, reading lookout.yaml from a ConfigMap (it holds no secrets:
    receivers name secret files only)."""
    labels = {NAME_LABEL: EXPORTER, **PART_OF}
    lookout_yaml = dump_yaml(config.model_dump(mode="json", by_alias=True, exclude_defaults=True))
    http_probe = {"httpGet": {"path": "/-/healthy", "port": "http"}, "periodSeconds": 10}
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": CONFIG_MAP, "labels": dict(PART_OF)},
            "data": {"lookout.yaml": lookout_yaml},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": EXPORTER, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {NAME_LABEL: EXPORTER}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534},
                        "containers": [
                            {
                                "name": "exporter",
                                "image": f"{EXPORTER}:{__version__}",  # compose/lookout/Dockerfile
                                "args": [
                                    "exporter",
                                    "--config=/etc/lookout/lookout.yaml",
                                    f"--listen=0.0.0.0:{EXPORTER_PORT}",
                                ],
                                "ports": [{"name": "http", "containerPort": EXPORTER_PORT}],
                                "readinessProbe": http_probe,
                                "livenessProbe": http_probe,
                                "volumeMounts": [{"name": "config", "mountPath": "/etc/lookout", "readOnly": True}],
                                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
                            }
                        ],
                        "volumes": [{"name": "config", "configMap": {"name": CONFIG_MAP}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": EXPORTER, "labels": labels},
            "spec": {
                "selector": {NAME_LABEL: EXPORTER},
                "ports": [{"name": "http", "port": EXPORTER_PORT, "targetPort": "http"}],
            },
        },
    ]
