"""Kubernetes (kustomize base) for clusters running the prometheus-operator and a Grafana dashboard sidecar.

``k8s/kustomization.yaml`` lists: the Namespace (``kubernetes.namespace``; every object names it, so
``kubectl apply -f`` and ``-k`` agree), the operator objects (ServiceMonitor, PodMonitor, Probes,
PrometheusRule, carrying ``kubernetes.selector_labels``), the Alertmanager with its global configuration
(``alerting.py``), one ConfigMap per Grafana dashboard (label ``grafana_dashboard``, folder annotation
``grafana_folder`` = tenant), the Lookout exporter the Probes go through and, when a target of lookout.yaml
is the demo server's, an example MCP server standing for it (Deployment with the three ``/health/*``
probes, Service, HorizontalPodAutoscaler on request rate).

``helm/`` (beside ``k8s/``) holds the Helm values the objects depend on: the Grafana chart's
(the sidecar ignores the folder annotation and other namespaces by default), kube-prometheus-stack's
(exemplar storage, this Alertmanager, the same Grafana sidecar settings) and prometheus-adapter's (the
custom metric the HPA scales on).
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit

import orjson

from lookout import metrics as m
from lookout.config.model import Config
from lookout.stack import naming
from lookout.stack.deployment import demo_target, service_dns
from lookout.stack.grafana import DASHBOARDS_DIR, dashboards
from lookout.stack.grafana.provisioning import ALERTMANAGER_UID, PROMETHEUS_UID
from lookout.stack.k8s import alerting, monitoring, security, victoriametrics, workloads
from lookout.stack.k8s.monitoring import ALERTMANAGER_SERVICE, PART_OF
from lookout.stack.prometheus import FOR_GRACE_PERIOD_FLAG, remote_write_queues
from lookout.stack.yamlio import dump_yaml

K8S_DIR: Final = "k8s"
HELM_DIR: Final = "helm"
DASHBOARD_LABEL: Final = "grafana_dashboard"
DASHBOARD_LABEL_VALUE: Final = "1"
FOLDER_ANNOTATION: Final = "grafana_folder"
ALERTMANAGER_PORT: Final = 9093
EXEMPLAR_FEATURE: Final = "exemplar-storage"


def _dump(objects: list[dict[str, Any]]) -> str:
    """Several objects in one file, as YAML documents."""
    header = "".join(f"# {line}\n" for line in naming.GENERATED_HEADER.splitlines())
    return header + "---\n".join(dump_yaml(obj) for obj in objects)


def dashboard_config_maps(config: Config) -> list[dict[str, Any]]:
    objects = []
    for path, model in dashboards(config).items():
        folder, file_name = path.removeprefix(f"{DASHBOARDS_DIR}/").split("/")
        slug = file_name.removesuffix(".json")
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": f"grafana-dashboard-{folder.lower()}-{slug}",
                    "labels": {**PART_OF, DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE},
                    "annotations": {FOLDER_ANNOTATION: folder},
                },
                # Compact JSON: ConfigMaps are capped at 1 MiB.
                "data": {file_name: orjson.dumps(model, option=orjson.OPT_SORT_KEYS).decode()},
            }
        )
    return objects


def namespace(config: Config) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": config.kubernetes.namespace, "labels": dict(PART_OF)},
    }


def _in_namespace(obj: dict[str, Any], name: str) -> dict[str, Any]:
    metadata = obj["metadata"]
    return {**obj, "metadata": {"name": metadata["name"], "namespace": name, **metadata}}


def _query_url(config: Config) -> str:
    """The deduplicated long-term store in the HA topology, else the cluster's Prometheus."""
    return victoriametrics.url(config) if config.long_term_storage_address() else workloads.prometheus_url(config)


def _prometheus_topology(config: Config) -> dict[str, Any]:
    """kube-prometheus-stack's replicas and shards (the operator shards by ``hashmod`` of the target address) under
    the ``replica`` label Lookout drops before alerting, and the long-term store they remote-write to."""
    if config.ha is None:
        return {}
    spec: dict[str, Any] = {
        "replicas": config.ha.prometheus_replicas,
        "shards": config.ha.prometheus_shards,
        "replicaExternalLabelName": m.REPLICA,
    }
    return spec


def _operator_queue(queue: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    """A native ``remote_write`` queue as the operator's RemoteWriteSpec; its secret files become keys of the
    Secret ``lookout-remote-write`` (the operator reads no file of the machine that generated the values)."""
    out: dict[str, Any] = {k: queue[k] for k in ("name", "url", "headers") if k in queue}
    if "write_relabel_configs" in queue:
        out["writeRelabelConfigs"] = [
            {"sourceLabels": r["source_labels"], "regex": r["regex"], "action": r["action"]}
            for r in queue["write_relabel_configs"]
        ]
    if authorization := queue.get("authorization"):
        key = keys[authorization["credentials_file"]]
        out["authorization"] = {"type": "Bearer", "credentials": security.remote_write_key(key)}
    if basic := queue.get("basic_auth"):
        key = keys[basic["password_file"]]
        out["basicAuth"] = {
            "username": security.remote_write_key(f"{key}-username"),
            "password": security.remote_write_key(key),
        }
    return out


def _scale_out(config: Config) -> dict[str, Any]:
    """lookout.yaml's external labels and the remote-write queues of the native prometheus.yml (the long-term
    store of the HA topology, then ``prometheus.remote_write``), so the cluster's Prometheus ships the same
    series. Not the single tenant's label: the cluster's Prometheus also alerts on what is not Lookout's."""
    spec: dict[str, Any] = {}
    if config.prometheus.external_labels:
        spec["externalLabels"] = dict(config.prometheus.external_labels)
    queues = remote_write_queues(config)
    files = [q["authorization"]["credentials_file"] for q in queues if "authorization" in q]
    files += [q["basic_auth"]["password_file"] for q in queues if "basic_auth" in q]
    keys = security.secret_file_keys(files)
    remote_write = victoriametrics.remote_write(config) if config.long_term_storage_address() else []
    remote_write += [_operator_queue(queue, keys) for queue in queues]
    if remote_write:
        spec["remoteWrite"] = remote_write
    return spec


def grafana_values(config: Config) -> dict[str, Any]:
    """Values of the Grafana Helm chart: the sidecar loads the dashboard ConfigMaps of this namespace into one
    folder per tenant (chart defaults: sidecar off, folder annotation ignored, own namespace only), and the
    datasources under the uids the dashboards' links use."""
    scheme = config.security.scheme
    alertmanager = f"{scheme}://{service_dns(ALERTMANAGER_SERVICE, config.kubernetes.namespace)}:{ALERTMANAGER_PORT}"
    access, secret_mounts = security.grafana_access(config)

    def secured(source: dict[str, Any]) -> dict[str, Any]:
        if not access:
            return source
        return {**source, **access, "jsonData": {**source["jsonData"], **access["jsonData"]}}

    return {
        "sidecar": {
            "dashboards": {
                "enabled": True,
                "label": DASHBOARD_LABEL,
                "labelValue": DASHBOARD_LABEL_VALUE,
                "searchNamespace": config.kubernetes.namespace,
                "folderAnnotation": FOLDER_ANNOTATION,
                "provider": {"foldersFromFilesStructure": True},
            }
        },
        "datasources": {
            "lookout.yaml": {
                "apiVersion": 1,
                "datasources": [
                    secured(
                        {
                            "name": "Prometheus",
                            "uid": PROMETHEUS_UID,
                            "type": "prometheus",
                            "access": "proxy",
                            "url": _query_url(config),
                            "isDefault": True,
                            "jsonData": {"timeInterval": config.timing.scrape_interval},
                        }
                    ),
                    secured(
                        {
                            "name": "Alertmanager",
                            "uid": ALERTMANAGER_UID,
                            "type": "alertmanager",
                            "access": "proxy",
                            "url": alertmanager,
                            "jsonData": {"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
                        }
                    ),
                ],
            }
        },
        # The Secrets the datasources read their CA, client certificate and password from (k8s/security.py).
        **({"extraSecretMounts": secret_mounts} if secret_mounts else {}),
    }


def _alerting_security(config: Config) -> dict[str, Any]:
    """Prometheus to the Alertmanager under ``security.tls``: https with the CA and client certificate. No login:
    the operator's Alertmanager has no users (alerting.py). Prometheus sends to the pods' addresses: the certificate
    is verified for the Service's name."""
    tls = security.safe_tls_config(config.security, service_dns(ALERTMANAGER_SERVICE, config.kubernetes.namespace))
    return {"scheme": "https", "tlsConfig": tls} if tls else {}


def _operator_arg(flag: str) -> dict[str, str]:
    """A command-line flag as the operator's ``additionalArgs`` entry (name without dashes, value)."""
    name, _, value = flag.removeprefix("--").partition("=")
    return {"name": name, "value": value}


CHART_ALERTMANAGER_PORT: Final = "http-web"
"""The port name of kube-prometheus-stack's own Alertmanager Service (``alertmanager.alertmanagerSpec.portName``)."""


def chart_alertmanager(config: Config) -> tuple[str, str] | None:
    """(namespace, Service) of kube-prometheus-stack's own Alertmanager: the chart names it ``<fullname>-alertmanager``
    beside ``<fullname>-prometheus``, the Service ``kubernetes.prometheus_url`` names; None for another URL."""
    host = (urlsplit(config.kubernetes.prometheus_url).hostname or "").split(".")
    if len(host) < 3 or host[2] != "svc" or not host[0].endswith("-prometheus"):
        return None
    return host[1], host[0].removesuffix("-prometheus") + "-alertmanager"


def _alerting_endpoints(config: Config) -> list[dict[str, Any]]:
    """Lookout's alerts (every one carries a tenant) to Lookout's Alertmanager, and the cluster's own (the chart's
    rules: no tenant) to the chart's Alertmanager, routed as they were before Lookout: in Lookout's they would page
    its P0 receiver, the chart's always-firing Watchdog without end."""
    tenant_alerts = {"sourceLabels": [m.TENANT], "regex": ".+"}
    endpoints = [
        {
            "namespace": config.kubernetes.namespace,
            "name": ALERTMANAGER_SERVICE,
            "port": "web",
            **_alerting_security(config),
            "alertRelabelings": [{**tenant_alerts, "action": "keep"}],
        }
    ]
    if (chart := chart_alertmanager(config)) is not None:
        namespace, name = chart
        endpoints.append(
            {
                "namespace": namespace,
                "name": name,
                "port": CHART_ALERTMANAGER_PORT,
                "alertRelabelings": [{**tenant_alerts, "action": "drop"}],
            }
        )
    return endpoints


def kube_prometheus_stack_values(config: Config) -> dict[str, Any]:
    """Values of kube-prometheus-stack for these objects: exemplar storage (the latency panels show exemplars),
    alerts to the Alertmanager of this base, and its Grafana subchart's sidecar as above. Its default selectors
    (``release: <release>``) are what ``kubernetes.selector_labels`` must match."""
    grafana = grafana_values(config)
    grafana["sidecar"]["dashboards"].pop("enabled")  # the subchart's sidecar is on by default
    # The chart provisions its own default datasources ("Prometheus", "Alertmanager"): these come in beside
    # them under other names, none the default (Grafana refuses two defaults or two equal names).
    sources = grafana.pop("datasources")["lookout.yaml"]["datasources"]
    grafana["additionalDataSources"] = [
        {**source, "name": f"Lookout {source['name']}", "isDefault": False} for source in sources
    ]
    return {
        "prometheus": {
            "prometheusSpec": {
                "enableFeatures": [EXEMPLAR_FEATURE],
                # Restarted, the Prometheus resumes every alert's `for` (stack/prometheus.py).
                "additionalArgs": [_operator_arg(FOR_GRACE_PERIOD_FLAG)],
                "alertingEndpoints": _alerting_endpoints(config),
                **_prometheus_topology(config),
                **_scale_out(config),
                # Serve TLS with lookout-tls, which must exist in the Prometheus' own namespace too.
                **({"web": web} if (web := security.web_tls_config(config.security)) else {}),
            }
        },
        "grafana": grafana,
    }


def render_helm_values(config: Config) -> dict[str, str]:
    return {
        f"{HELM_DIR}/grafana-values.yaml": dump_yaml(grafana_values(config), naming.GENERATED_HEADER),
        f"{HELM_DIR}/kube-prometheus-stack-values.yaml": dump_yaml(
            kube_prometheus_stack_values(config), naming.GENERATED_HEADER
        ),
        f"{HELM_DIR}/prometheus-adapter-values.yaml": dump_yaml(
            workloads.adapter_values(config), naming.GENERATED_HEADER
        ),
    }


def render_k8s(config: Config) -> dict[str, str]:
    ns = config.kubernetes.namespace

    def dump(objects: list[dict[str, Any]]) -> str:
        return _dump([_in_namespace(obj, ns) for obj in objects])

    files = {
        f"{K8S_DIR}/namespace.yaml": _dump([namespace(config)]),
        f"{K8S_DIR}/servicemonitor.yaml": dump(
            [monitoring.service_monitor(config), *monitoring.stack_monitors(config)]
        ),
        f"{K8S_DIR}/podmonitor.yaml": dump([monitoring.pod_monitor(config)]),
        f"{K8S_DIR}/prometheusrule.yaml": dump(monitoring.prometheus_rules(config)),
        f"{K8S_DIR}/alertmanager.yaml": dump([alerting.config_secret(config), alerting.alertmanager(config)]),
        f"{K8S_DIR}/grafana-dashboards.yaml": dump(dashboard_config_maps(config)),
        f"{K8S_DIR}/exporter.yaml": dump(workloads.exporter(config)),
    }
    if config.long_term_storage_address():
        files[f"{K8S_DIR}/victoriametrics.yaml"] = dump(victoriametrics.objects(config))
    if demo_target(config) is not None:  # the example server stands for that target: one name everywhere
        files[f"{K8S_DIR}/example-server.yaml"] = dump(
            [workloads.deployment(config), workloads.service(config), workloads.autoscaler(config)]
        )
    if (external := monitoring.external_scrape_config(config)) is not None:
        files[f"{K8S_DIR}/scrapeconfig.yaml"] = dump([external])
    probes = monitoring.probes(config)
    if probes:
        files[f"{K8S_DIR}/probes.yaml"] = dump(probes)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": ns,
        "resources": sorted(path.removeprefix(f"{K8S_DIR}/") for path in files),
    }
    files[f"{K8S_DIR}/kustomization.yaml"] = dump_yaml(kustomization, naming.GENERATED_HEADER)
    files.update(render_helm_values(config))
    return dict(sorted(files.items()))
