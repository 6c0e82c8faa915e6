"""An example MCP server Deployment (the three probes on ``/health/*``), its Service, an autoscaler on request
rate (HorizontalPodAutoscaler on a per-pod metric served by prometheus-adapter, whose chart values are generated
here too), and the Lookout exporter the Probes go through.

The example server is the demo server from Lookout's image (``images.lookout``), named after the target it
stands for in lookout.yaml (the demo's loopback target): its ``app.kubernetes.io/name`` becomes the
``service`` label the ServiceMonitor gives its series, the same value the Probes and the rules use.
"""

from __future__ import annotations

from typing import Any, Final

from lookout import metrics as m
from lookout.config.model import Config
from lookout.stack.deployment import cluster_config, config_yaml, demo_target
from lookout.stack.k8s import security as k8s_security
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
from lookout.stack.k8s.security import cluster_security
from lookout.stack.k8s.security import in_cluster as cluster_files
from lookout.stack.k8s.security import volumes as security_volumes
from lookout.stack.yamlio import dump_yaml

IMAGE_UID: Final = 10001
"""The non-root user of Lookout's image (Dockerfile)."""
MCP_PORT: Final = 8000
MANAGEMENT_PORT: Final = 8080
REQUESTS_PER_SECOND: Final = "lookout_mcp_requests_per_second"
"""Per-pod custom metric the HPA scales on (prometheus-adapter rule below)."""


def example_server(config: Config) -> tuple[str, str]:
    """Name and tenant of the example server: the demo's target in lookout.yaml."""
    demo = demo_target(config)
    if demo is None:
        raise ValueError("no target of lookout.yaml is the demo server's: there is no example server")
    tenant, target = demo
    return target.name, tenant.name


def _labels(config: Config) -> dict[str, str]:
    name, tenant = example_server(config)
    return {NAME_LABEL: name, TENANT_LABEL: tenant, **PART_OF}


def _http_check(config: Config, path: str, port: str, open_path: bool) -> dict[str, Any]:
    """The kubelet's check of ``path``: over https under ``security.tls`` (the kubelet does not verify), and a TCP
    connect instead where the path needs a login the kubelet cannot send without the password in the pod spec."""
    security = config.security
    if security.auth and not open_path:
        return {"tcpSocket": {"port": port}}
    return {"httpGet": {"path": path, "port": port, **({"scheme": "HTTPS"} if security.tls.enabled else {})}}


def _probe(config: Config, path: str, period: int, failures: int) -> dict[str, Any]:
    open_path = path in ("/health/live", "/health/ready") and config.security.open_health
    return {
        **_http_check(config, path, MANAGEMENT_PORT_NAME, open_path),
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def _secured_pod(config: Config, container: dict[str, Any], pod: dict[str, Any], config_volume: bool) -> None:
    """Under ``security:``: the container reads lookout.yaml (the ConfigMap, with the files at the mounted paths)
    and the Secrets of k8s/security.py, read-only."""
    if not config.security.enabled:
        return
    volumes, mounts = security_volumes(config)
    if config_volume:
        container["args"] = [*container["args"], "--config=/etc/lookout/lookout.yaml"]
        volumes = [{"name": "config", "configMap": {"name": CONFIG_MAP}}, *volumes]
        mounts = [{"name": "config", "mountPath": "/etc/lookout", "readOnly": True}, *mounts]
    container["volumeMounts"] = [*container.get("volumeMounts", []), *mounts]
    pod["volumes"] = [*pod.get("volumes", []), *volumes]


def container_resources(cores: float, memory: int) -> dict[str, Any]:
    """Requests of ``cores`` and ``memory``, limited to that memory (no CPU limit: throttling would only slow the
    container down, while memory beyond the request is what gets a pod evicted first)."""
    return {
        "requests": {"cpu": f"{round(cores * 1000)}m", "memory": str(memory)},
        "limits": {"memory": str(memory)},
    }


def deployment(config: Config) -> dict[str, Any]:
    name, tenant = example_server(config)
    # What the target's replica may use, as the utilization rules assume it (targets[].resources first).
    cores, memory = config.replica_limits(next(t for _, t in config.targets() if t.name == name))
    out: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": _labels(config)},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {NAME_LABEL: name}},
            "template": {
                "metadata": {"labels": _labels(config)},
                "spec": {
                    # Readiness fails first while draining; the grace period covers the drain.
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": IMAGE_UID},
                    "containers": [
                        {
                            "name": "server",
                            "image": config.images.lookout,
                            "args": [
                                "demo-server",
                                "--host=0.0.0.0",
                                f"--port={MCP_PORT}",
                                "--management-host=0.0.0.0",
                                f"--management-port={MANAGEMENT_PORT}",
                                # JSON lines on stderr, named as lookout.yaml names the target: the
                                # cluster's log collector reads them from the container's output.
                                f"--service={name}",
                                f"--tenant={tenant}",
                                "--json-logs",
                            ],
                            "ports": [
                                {"name": "mcp", "containerPort": MCP_PORT},
                                {"name": MANAGEMENT_PORT_NAME, "containerPort": MANAGEMENT_PORT},
                            ],
                            "startupProbe": _probe(config, "/health/startup", 2, 30),
                            "livenessProbe": _probe(config, "/health/live", 10, 3),
                            "readinessProbe": _probe(config, "/health/ready", 5, 2),
                            "resources": container_resources(cores, memory),
                            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
                        }
                    ],
                },
            },
        },
    }
    pod = out["spec"]["template"]["spec"]
    _secured_pod(config, pod["containers"][0], pod, config_volume=True)
    return out


def service(config: Config) -> dict[str, Any]:
    name, _ = example_server(config)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {**_labels(config), SCRAPE_LABEL: "true"}},
        "spec": {
            "selector": {NAME_LABEL: name},
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
    name, _ = example_server(config)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": _labels(config)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
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


def prometheus_url(config: Config) -> str:
    """``kubernetes.prometheus_url`` as its clients must reach it: under ``security.tls`` the generated
    ``prometheusSpec.web`` makes the cluster's Prometheus serve TLS only, so https whatever scheme was given."""
    url = config.kubernetes.prometheus_url
    return f"{config.security.scheme}://{url.split('://', 1)[1]}"


def _adapter_tls(config: Config) -> dict[str, Any]:
    """Under ``security.tls``: the adapter verifies Prometheus with the CA (and presents the client certificate),
    from ``lookout-tls`` and ``lookout-client-tls`` in its namespace (only the keys it needs)."""
    tls = config.security.tls
    if not tls.enabled:
        return {}
    wanted = [("lookout-ca", k8s_security.TLS_SECRET, k8s_security.TLS_DIR, [k8s_security.CA_KEY])]
    if tls.client_cert_file:
        keys = [k8s_security.CERT_KEY, k8s_security.KEY_KEY]
        wanted.append(("lookout-client-tls", k8s_security.CLIENT_TLS_SECRET, k8s_security.CLIENT_TLS_DIR, keys))
    arguments = [f"--prometheus-ca-file={k8s_security.TLS_DIR}/{k8s_security.CA_KEY}"]
    if tls.client_cert_file:
        arguments += [
            f"--prometheus-client-tls-cert-file={k8s_security.CLIENT_TLS_DIR}/{k8s_security.CERT_KEY}",
            f"--prometheus-client-tls-key-file={k8s_security.CLIENT_TLS_DIR}/{k8s_security.KEY_KEY}",
        ]
    return {
        "extraArguments": arguments,
        "extraVolumes": [
            {"name": name, "secret": {"secretName": secret, "items": [{"key": k, "path": k} for k in keys]}}
            for name, secret, _, keys in wanted
        ],
        "extraVolumeMounts": [{"name": name, "mountPath": path, "readOnly": True} for name, _, path, _ in wanted],
    }


def adapter_values(config: Config) -> dict[str, Any]:
    """Values of the prometheus-adapter Helm chart: the custom metrics API serves the request rate per pod that
    the HorizontalPodAutoscaler scales on (without the adapter the HPA reports FailedGetPodsMetric)."""
    count = f"{m.OPERATION_DURATION.name}_count"
    url = prometheus_url(config)
    scheme_host, _, port = url.rpartition(":")
    return {
        **_adapter_tls(config),
        "prometheus": {"url": scheme_host, "port": int(port)} if port.isdigit() else {"url": url},
        "rules": {
            "default": False,
            "custom": [
                {
                    "seriesQuery": f'{count}{{namespace!="",pod!=""}}',
                    "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
                    "name": {"matches": f"^{count}$", "as": REQUESTS_PER_SECOND},
                    "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
                }
            ],
        },
    }


CONFIG_MAP: Final = "lookout-config"


def exporter(config: Config) -> list[dict[str, Any]]:
    """The Lookout exporter the Probes go through, reading lookout.yaml from a ConfigMap (it holds no secrets:
    receivers name secret files only). That lookout.yaml is rendered for the cluster: a loopback target URL
    names the Service called after the target instead of the exporter's own pod."""
    labels = {NAME_LABEL: EXPORTER, **PART_OF}
    in_cluster = cluster_config(config, config.kubernetes.namespace, f"0.0.0.0:{EXPORTER_PORT}")
    data = config_yaml(in_cluster)
    if config.security.enabled:  # the files of security: where the Secrets are mounted (k8s/security.py)
        data["security"] = cluster_security(config.security)
    probe_paths = k8s_security.probe_paths(config)
    if "probe" in data:  # the modules' token and CA files where a Secret is mounted, not the generating machine's
        data["probe"] = cluster_files(data["probe"], probe_paths)
    lookout_yaml = dump_yaml(data)
    http_probe = {**_http_check(config, "/-/healthy", "http", open_path=False), "periodSeconds": 10}
    container: dict[str, Any] = {
        "name": "exporter",
        "image": config.images.lookout,  # the repository's Dockerfile
        "args": [
            "exporter",
            "--config=/etc/lookout/lookout.yaml",
            f"--listen=0.0.0.0:{EXPORTER_PORT}",
        ],
        "ports": [{"name": "http", "containerPort": EXPORTER_PORT}],
        "readinessProbe": http_probe,
        "livenessProbe": http_probe,
        "resources": container_resources(
            config.kubernetes.exporter_resources.cpu_cores, config.kubernetes.exporter_resources.memory_limit_bytes
        ),
        "volumeMounts": [{"name": "config", "mountPath": "/etc/lookout", "readOnly": True}],
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
    }
    pod: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True, "runAsUser": IMAGE_UID},
        "containers": [container],
        "volumes": [{"name": "config", "configMap": {"name": CONFIG_MAP}}],
    }
    _secured_pod(config, container, pod, config_volume=False)
    if any(path.startswith(f"{k8s_security.PROBE_DIR}/") for path in probe_paths.values()):
        container["volumeMounts"].append({"name": "probe-files", "mountPath": k8s_security.PROBE_DIR, "readOnly": True})
        pod["volumes"].append({"name": "probe-files", "secret": {"secretName": k8s_security.PROBE_SECRET}})
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
                "template": {"metadata": {"labels": labels}, "spec": pod},
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
