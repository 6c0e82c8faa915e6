"""Kubernetes objects validated against the Kubernetes OpenAPI schemas (``kubernetes-validate``, strict:
unknown fields are errors) and the prometheus-operator CRD schemas.

The operator schemas come from ``cloudcoil-models-prometheus-operator`` (pydantic models of the CRDs;
their JSON Schema is closed here, so a misspelt field is an error, as ``kubectl --validate=strict`` would
say). When a directory of the operator's CRD YAMLs is given (``crd_dir``), each object is validated
against its CRD's ``openAPIV3Schema`` as well. Where the native ``alertmanager.yml`` was generated beside the
objects, the Alertmanager's global configuration must equal it as data (templates aside).

Then what a cluster needs beyond valid objects (the settings come from the exporter's lookout.yaml in its
ConfigMap, or the defaults):

- a Namespace object, and every object in it;
- every Service reference resolvable from where it is used: the Probes' prober (run by a Prometheus in
  another namespace) and the Helm values' URLs by ``<service>.<namespace>.svc``, the exporter's targets never
  on loopback (that is the exporter's own pod), and a Service of this base that is named exists;
- one ``service`` label value per target: a Service the ServiceMonitor scrapes is named in the rules or a
  Probe, and an in-cluster target the rules and Probes name is scraped;
- the selector labels on every ServiceMonitor, PodMonitor, ScrapeConfig, Probe and PrometheusRule;
- each PrometheusRule's groups under ``promtool check rules`` (the operator makes a rule file of each);
- every container image is Lookout's (``images.lookout``, built from the repository's Dockerfile);
- ``helm/`` (beside ``k8s/``): the Grafana sidecar honours the dashboards' label, folder annotation and namespace;
  kube-prometheus-stack stores exemplars when a dashboard shows them; prometheus-adapter serves every custom
  metric an autoscaler reads.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import yaml
from ruamel.yaml import YAML

from lookout.check.dashboards import has_exemplar
from lookout.check.findings import CheckSkipped, Finding
from lookout.check.tools import promtool_rules_problem
from lookout.config.loader import ConfigError, parse_config
from lookout.config.model import Config, Images, Kubernetes
from lookout.stack import naming
from lookout.stack.k8s import victoriametrics

CHECK: Final = "k8s"
K8S_DIR: Final = "k8s"
OPERATOR_GROUP: Final = "monitoring.coreos.com"
KUSTOMIZE_KIND: Final = "Kustomization"
CRD_DIR_ENV: Final = "LOOKOUT_OPERATOR_CRDS"
NATIVE_ALERTMANAGER: Final = "alertmanager/alertmanager.yml"
ALERTMANAGER_CONFIG_KEY: Final = "alertmanager.yaml"
HELM_DIR: Final = "helm"
GRAFANA_VALUES: Final = f"{HELM_DIR}/grafana-values.yaml"
KPS_VALUES: Final = f"{HELM_DIR}/kube-prometheus-stack-values.yaml"
ADAPTER_VALUES: Final = f"{HELM_DIR}/prometheus-adapter-values.yaml"
EXPORTER_CONFIG_KEY: Final = "lookout.yaml"
NAME_LABEL: Final = "app.kubernetes.io/name"
SERVICE_LABEL: Final = "service"
DASHBOARD_LABEL: Final = "grafana_dashboard"
FOLDER_ANNOTATION: Final = "grafana_folder"
EXEMPLAR_FEATURE: Final = "exemplar-storage"
CHART_DATASOURCES: Final = frozenset({"Prometheus", "Alertmanager"})
"""Datasources kube-prometheus-stack's Grafana provisions itself (Prometheus the default)."""
SELECTED_KINDS: Final = ("ServiceMonitor", "PodMonitor", "ScrapeConfig", "Probe", "PrometheusRule")
CLUSTER_SCOPED: Final = frozenset({"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"})
LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_SELECTOR = re.compile(r"([A-Za-z_:][\w:]*)?\{([^}]*)\}")
_SERVICE_MATCHER = re.compile(r'(?<![\w])service\s*=\s*"([^"]*)"')
_SVC_HOST = re.compile(r"^(?P<service>[a-z0-9-]+)\.(?P<namespace>[a-z0-9-]+)\.svc(\.cluster\.local)?$")


def _documents(path: Path) -> Iterator[dict[str, Any]]:
    for doc in YAML(typ="safe").load_all(path.read_text(encoding="utf-8")):
        if doc:
            yield doc


class _CrdLoader(yaml.CSafeLoader):
    """The operator's CRDs contain `- =`, which YAML 1.1 resolves to the unsupported `value` tag: keep it a string."""


def _as_string(loader: _CrdLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_CrdLoader.add_constructor("tag:yaml.org,2002:value", _as_string)


def _close(node: Any) -> None:
    """Forbid properties a schema does not name (pydantic's schema leaves objects open)."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close(value)
    elif isinstance(node, list):
        for value in node:
            _close(value)


@functools.cache
def _operator_validator(api_version: str, kind: str) -> Any | None:
    from cloudcoil.models.prometheus_operator import v1, v1alpha1  # heavy: import only when needed

    module = {f"{OPERATOR_GROUP}/v1": v1, f"{OPERATOR_GROUP}/v1alpha1": v1alpha1}.get(api_version)
    model = getattr(module, kind, None) if module else None
    if model is None:
        return None
    schema = model.model_json_schema(by_alias=True)
    _close(schema)
    return jsonschema.Draft202012Validator(schema)


@functools.cache
def _crd_validators(crd_dir: Path) -> dict[tuple[str, str], Any]:
    validators = {}
    for path in sorted(crd_dir.glob("*.yaml")):
        for crd in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_CrdLoader):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = version["schema"]["openAPIV3Schema"]
                validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return validators


def _errors(validator: Any, obj: dict[str, Any]) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(obj)]


def _validate(obj: dict[str, Any], crd_dir: Path | None) -> list[str]:
    api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    if api_version.startswith(f"{OPERATOR_GROUP}/"):
        validator = _operator_validator(api_version, kind)
        if validator is None:
            return [f"no prometheus-operator schema for {api_version} {kind}"]
        problems = _errors(validator, obj)
        crd = _crd_validators(crd_dir).get((api_version, kind)) if crd_dir else None
        if crd_dir and crd is None:
            problems.append(f"no CRD for {api_version} {kind} in {crd_dir}")
        elif crd is not None:
            problems += [f"CRD schema: {p}" for p in _errors(crd, obj)]
        return problems
    try:
        kubernetes_validate.validate(obj, kubernetes_validate.latest_version(), strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(map(str, exc.path)) or '<root>'}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no Kubernetes schema for {api_version} {kind}"]
    return []


def _alertmanager_drift(stack_dir: Path, objects: list[tuple[str, dict[str, Any]]]) -> list[Finding]:
    """The Alertmanager's global configuration must route as the native file does: the same data, templates aside
    (they are read from the operator's mount of the config Secret)."""
    native_file = stack_dir / NATIVE_ALERTMANAGER
    managers = [obj for _, obj in objects if obj.get("kind") == "Alertmanager"]
    if not native_file.is_file() or not managers:
        return []
    native = YAML(typ="safe").load(native_file.read_text(encoding="utf-8")) or {}
    findings = []
    for manager in managers:
        secret_name = (manager.get("spec") or {}).get("configSecret")
        found = [
            (rel, obj)
            for rel, obj in objects
            if obj.get("kind") == "Secret" and (obj.get("metadata") or {}).get("name") == secret_name
        ]
        name = f"Alertmanager/{(manager.get('metadata') or {}).get('name', '?')}"
        if not found:
            findings.append(Finding(CHECK, K8S_DIR, f"{name}: configSecret {secret_name!r} is not among the objects"))
            continue
        rel, secret = found[0]
        text = (secret.get("stringData") or {}).get(ALERTMANAGER_CONFIG_KEY)
        data = YAML(typ="safe").load(text) if text else None
        if not isinstance(data, dict) or {k: v for k, v in data.items() if k != "templates"} != {
            k: v for k, v in native.items() if k != "templates"
        }:
            findings.append(
                Finding(CHECK, rel, f"{name}: {ALERTMANAGER_CONFIG_KEY} differs from {NATIVE_ALERTMANAGER}: regenerate")
            )
    return findings


Objects = list[tuple[str, dict[str, Any]]]


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _ref(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind', '?')}/{_meta(obj).get('name', '?')}"


def _exporter_config(objects: Objects) -> Config | None:
    """lookout.yaml from the exporter's ConfigMap: the settings this base was generated with."""
    for _, obj in objects:
        text = (obj.get("data") or {}).get(EXPORTER_CONFIG_KEY) if obj.get("kind") == "ConfigMap" else None
        if text:
            try:
                return parse_config(text, f"ConfigMap/{_meta(obj).get('name')}")
            except ConfigError:
                return None
    return None


def _load_values(stack_dir: Path, rel: str) -> dict[str, Any] | None:
    path = stack_dir / rel
    if not path.is_file():
        return None
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _namespace_findings(namespace: str | None, objects: Objects) -> list[Finding]:
    if not namespace:
        return [Finding(CHECK, f"{K8S_DIR}/kustomization.yaml", "no namespace: the objects would land in default")]
    findings = []
    if not any(o.get("kind") == "Namespace" and _meta(o).get("name") == namespace for _, o in objects):
        findings.append(Finding(CHECK, K8S_DIR, f"no Namespace object {namespace}: applying the base fails"))
    outside = [
        _ref(obj)
        for _, obj in objects
        if obj.get("kind") not in CLUSTER_SCOPED and _meta(obj).get("namespace") != namespace
    ]
    if outside:
        findings.append(
            Finding(
                CHECK,
                K8S_DIR,
                f"{len(outside)} objects (e.g. {outside[0]}) do not name namespace {namespace}: "
                "`kubectl apply -f` would put them in another",
            )
        )
    return findings


OPERATOR_SERVICES: Final = {"Alertmanager": "alertmanager-operated", "Prometheus": "prometheus-operated"}
"""The Service the operator creates in the namespace of each such object."""


def _services(objects: Objects) -> dict[tuple[str, str], dict[str, Any]]:
    services = {}
    for _, obj in objects:
        namespace = str(_meta(obj).get("namespace", ""))
        if obj.get("kind") == "Service":
            services[(namespace, str(_meta(obj).get("name", "")))] = obj
        elif obj.get("kind") in OPERATOR_SERVICES:
            services[(namespace, OPERATOR_SERVICES[str(obj["kind"])])] = obj
    return services


def _host_finding(
    rel: str,
    what: str,
    host: str,
    namespace: str,
    services: dict[tuple[str, str], dict[str, Any]],
    ours: bool = True,
) -> Finding | None:
    """``ours``: the Service belongs to this base, so it must be among its objects (a target's Service is the
    user's to deploy under the target's name)."""
    if host in LOOPBACK:
        return Finding(CHECK, rel, f"{what}: {host} is the pod itself, not the target: name its Service")
    match = _SVC_HOST.match(host)
    if match is None:
        if "." not in host:
            return Finding(
                CHECK,
                rel,
                f"{what}: {host} resolves only inside the namespace it is used from: write {host}.{namespace}.svc",
            )
        return None
    if ours and match["namespace"] == namespace and (namespace, match["service"]) not in services:
        return Finding(CHECK, rel, f"{what}: no Service {match['service']} in namespace {namespace}")
    return None


def _reference_findings(stack_dir: Path, objects: Objects, namespace: str, config: Config | None) -> list[Finding]:
    services = _services(objects)
    findings: list[Finding | None] = []
    for rel, obj in objects:
        if obj.get("kind") == "Probe":
            prober = str(_dig(obj, "spec", "prober", "url") or "")
            findings.append(_host_finding(rel, f"{_ref(obj)} prober", prober.rsplit(":", 1)[0], namespace, services))
    if config is not None:
        for _, target in config.targets():
            for field, url in (("url", target.url), ("metrics_url", str(target.metrics_url or ""))):
                host = urlsplit(url).hostname if url.startswith("http") else None
                if host:
                    what = f"exporter's lookout.yaml, target {target.name} {field}"
                    findings.append(_host_finding(K8S_DIR, what, host, namespace, services, ours=False))
    for rel in (GRAFANA_VALUES, KPS_VALUES):
        values = _load_values(stack_dir, rel)
        grafana = (values or {}).get("grafana", values) if rel == KPS_VALUES else values
        sources = [
            *(_dig(grafana, "datasources", "lookout.yaml", "datasources") or []),
            *(_dig(grafana, "additionalDataSources") or []),
        ]
        if rel == KPS_VALUES and any(
            source.get("isDefault") or source.get("name") in CHART_DATASOURCES for source in sources
        ):
            findings.append(
                Finding(
                    CHECK,
                    rel,
                    "a datasource that is the default or named as the chart's own "
                    f"({', '.join(sorted(CHART_DATASOURCES))}): Grafana would refuse the provisioning",
                )
            )
        for source in sources:
            host = urlsplit(str(source.get("url", ""))).hostname or ""
            findings.append(_host_finding(rel, f"datasource {source.get('name')}", host, namespace, services))
    return [f for f in findings if f is not None]


def _rule_services(objects: Objects) -> set[str]:
    """``service`` values the rules select or set (the ALERTS selectors of escalations aside)."""
    values = set()
    for _, obj in objects:
        if obj.get("kind") != "PrometheusRule":
            continue
        for group in _dig(obj, "spec", "groups") or []:
            for rule in group.get("rules") or []:
                for metric, matchers in _SELECTOR.findall(str(rule.get("expr", ""))):
                    if metric != "ALERTS":
                        values.update(_SERVICE_MATCHER.findall(matchers))
                label = (rule.get("labels") or {}).get(SERVICE_LABEL)
                if label and "{{" not in str(label):
                    values.add(str(label))
    return values


def _scrapes_mcp_servers(monitor: dict[str, Any]) -> bool:
    """Whether a ServiceMonitor's series are MCP servers' (job ``mcp``), not those of one of Lookout's components."""
    return any(
        relabel.get("targetLabel") == "job" and relabel.get("replacement") == naming.JOB_MCP
        for endpoint in _dig(monitor, "spec", "endpoints") or []
        for relabel in endpoint.get("relabelings") or []
    )


def _scraped_services(objects: Objects) -> dict[str, str]:
    """``service`` value -> the Service whose series carry it, for Services a ServiceMonitor of MCP servers selects."""
    scraped = {}
    for _, monitor in objects:
        if monitor.get("kind") != "ServiceMonitor" or not _scrapes_mcp_servers(monitor):
            continue
        wanted = _dig(monitor, "spec", "selector", "matchLabels") or {}
        sources = [
            label.removeprefix("__meta_kubernetes_service_label_")
            for endpoint in _dig(monitor, "spec", "endpoints") or []
            for relabel in endpoint.get("relabelings") or []
            if relabel.get("targetLabel") == SERVICE_LABEL
            for label in relabel.get("sourceLabels") or []
        ]
        for _, service in objects:
            labels = _meta(service).get("labels") or {}
            if service.get("kind") != "Service" or any(labels.get(k) != v for k, v in wanted.items()):
                continue
            value = next(
                (v for k, v in labels.items() if "".join(c if c.isalnum() else "_" for c in k) in sources),
                _meta(service).get("name"),
            )
            scraped[str(value)] = _ref(service)
    return scraped


def _label_findings(objects: Objects) -> list[Finding]:
    named = _rule_services(objects)
    for _, obj in objects:
        if obj.get("kind") == "Probe":
            value = (_dig(obj, "spec", "targets", "staticConfig", "labels") or {}).get(SERVICE_LABEL)
            if value:
                named.add(str(value))
    scraped = _scraped_services(objects)
    findings = [
        Finding(
            CHECK,
            K8S_DIR,
            f'{ref} is scraped as service="{value}", which no rule or Probe names: '
            "one name per target (its lookout.yaml name)",
        )
        for value, ref in sorted(scraped.items())
        if value not in named
    ]
    for _, obj in objects:
        name = str(_meta(obj).get("name", ""))
        if obj.get("kind") == "Deployment" and name in named and name not in scraped:
            findings.append(
                Finding(
                    CHECK,
                    K8S_DIR,
                    f"{_ref(obj)} stands for target {name}, but no Service the ServiceMonitor "
                    f'scrapes carries service="{name}": its absence alert would fire for ever',
                )
            )
    return findings


def _selector_findings(objects: Objects, config: Config | None) -> list[Finding]:
    wanted = (config.kubernetes if config is not None else Kubernetes()).selector_labels
    findings = []
    for rel, obj in objects:
        if obj.get("kind") not in SELECTED_KINDS:
            continue
        labels = _meta(obj).get("labels") or {}
        missing = {k: v for k, v in wanted.items() if labels.get(k) != v}
        if missing:
            findings.append(
                Finding(
                    CHECK,
                    rel,
                    f"{_ref(obj)}: lacks the selector labels {missing}: the cluster's Prometheus "
                    "would not select it (kubernetes.selector_labels)",
                )
            )
    return findings


def _image_findings(objects: Objects, config: Config | None) -> list[Finding]:
    image = (config.images if config is not None else Images()).lookout
    findings = []
    for rel, obj in objects:
        spec = _dig(obj, "spec", "template", "spec") or {}
        for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
            # The HA topology's long-term store is the one third-party workload, pinned like the compose images.
            if container.get("image") not in (image, victoriametrics.IMAGE):
                findings.append(
                    Finding(
                        CHECK,
                        rel,
                        f"{_ref(obj)}: image {container.get('image')} is not Lookout's image "
                        f"{image} (images.lookout, built from the repository's Dockerfile)",
                    )
                )
    return findings


def _helm_findings(stack_dir: Path, objects: Objects, namespace: str) -> list[Finding]:
    findings = []
    dashboards = [o for _, o in objects if (_meta(o).get("labels") or {}).get(DASHBOARD_LABEL)]
    if dashboards:
        values = _load_values(stack_dir, GRAFANA_VALUES)
        sidecar = _dig(values, "sidecar", "dashboards") or {}
        label_value = str((_meta(dashboards[0]).get("labels") or {}).get(DASHBOARD_LABEL))
        searched = str(sidecar.get("searchNamespace") or "")
        problems = [
            problem
            for problem, ok in (
                ("sidecar.dashboards.enabled", sidecar.get("enabled") is True),
                (f"sidecar.dashboards.label {DASHBOARD_LABEL}", sidecar.get("label") == DASHBOARD_LABEL),
                (f"sidecar.dashboards.labelValue {label_value!r}", str(sidecar.get("labelValue")) == label_value),
                (
                    f"sidecar.dashboards.folderAnnotation {FOLDER_ANNOTATION}",
                    sidecar.get("folderAnnotation") == FOLDER_ANNOTATION,
                ),
                (
                    "sidecar.dashboards.provider.foldersFromFilesStructure",
                    _dig(sidecar, "provider", "foldersFromFilesStructure") is True,
                ),
                (
                    f"sidecar.dashboards.searchNamespace {namespace}",
                    searched == "ALL" or namespace in searched.split(","),
                ),
            )
            if not ok
        ]
        if values is None:
            findings.append(
                Finding(
                    CHECK,
                    GRAFANA_VALUES,
                    "missing: the Grafana chart's defaults ignore the dashboard ConfigMaps' folders",
                )
            )
        elif problems:
            findings.append(Finding(CHECK, GRAFANA_VALUES, "the dashboards need " + ", ".join(problems)))
        wants_exemplars = any(
            has_exemplar(json.loads(text)) for o in dashboards for text in (o.get("data") or {}).values()
        )
        features = _dig(_load_values(stack_dir, KPS_VALUES), "prometheus", "prometheusSpec", "enableFeatures") or []
        if wants_exemplars and EXEMPLAR_FEATURE not in features:
            findings.append(
                Finding(
                    CHECK,
                    KPS_VALUES,
                    f"dashboard panels show exemplars: prometheusSpec.enableFeatures needs {EXEMPLAR_FEATURE}",
                )
            )
    served = {
        str(_dig(rule, "name", "as")) for rule in _dig(_load_values(stack_dir, ADAPTER_VALUES), "rules", "custom") or []
    }
    for rel, obj in objects:
        if obj.get("kind") != "HorizontalPodAutoscaler":
            continue
        for metric in _dig(obj, "spec", "metrics") or []:
            name = _dig(metric, "pods", "metric", "name") or _dig(metric, "object", "metric", "name")
            if name and name not in served:
                findings.append(
                    Finding(
                        CHECK,
                        rel,
                        f"{_ref(obj)}: custom metric {name} is served by no prometheus-adapter "
                        f"rule ({ADAPTER_VALUES}): the autoscaler cannot scale",
                    )
                )
    return findings


def _deployment_findings(stack_dir: Path, namespace: str | None, objects: Objects) -> list[Finding]:
    config = _exporter_config(objects)
    findings = _namespace_findings(namespace, objects)
    ns = namespace or "default"
    findings += _reference_findings(stack_dir, objects, ns, config)
    findings += _label_findings(objects)
    findings += _selector_findings(objects, config)
    findings += _image_findings(objects, config)
    findings += _helm_findings(stack_dir, objects, ns)
    return findings


def check_k8s(stack_dir: Path, crd_dir: Path | None = None) -> list[Finding]:
    """Every object under ``k8s/`` against its schema; the kustomization's resources must exist.

    ``crd_dir`` (default: the directory in ``$LOOKOUT_OPERATOR_CRDS``, if set) holds the operator's CRD YAMLs.
    """
    if crd_dir is None and os.environ.get(CRD_DIR_ENV):
        crd_dir = Path(os.environ[CRD_DIR_ENV])
    base = stack_dir / K8S_DIR
    kustomization = base / "kustomization.yaml"
    if not kustomization.is_file():
        return [Finding(CHECK, f"{K8S_DIR}/kustomization.yaml", "missing: generate the stack with --target k8s")]
    findings = []
    listed = next(_documents(kustomization)).get("resources", [])
    for resource in listed:
        if not (base / resource).is_file():
            findings.append(Finding(CHECK, f"{K8S_DIR}/kustomization.yaml", f"resource {resource} does not exist"))
    objects: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(base.glob("*.yaml")):
        rel = str(path.relative_to(stack_dir))
        if path.name != "kustomization.yaml" and path.name not in listed:
            findings.append(Finding(CHECK, rel, "not listed in kustomization.yaml resources"))
        for obj in _documents(path):
            if obj.get("kind") == KUSTOMIZE_KIND:
                continue
            objects.append((rel, obj))
            name = f"{obj.get('kind', '?')}/{(obj.get('metadata') or {}).get('name', '?')}"
            findings += [Finding(CHECK, rel, f"{name}: {problem}") for problem in _validate(obj, crd_dir)]
    namespace = next(_documents(kustomization)).get("namespace")
    findings += _rule_file_findings(objects)
    return findings + _alertmanager_drift(stack_dir, objects) + _deployment_findings(stack_dir, namespace, objects)


def _rule_file_findings(objects: Objects) -> list[Finding]:
    """Each PrometheusRule's groups under ``promtool check rules``: the operator makes one rule file of each, which
    Prometheus refuses whole (every rule in it) for one bad rule or a group name given twice."""
    findings = []
    with tempfile.TemporaryDirectory() as tmp:
        for rel, obj in objects:
            if obj.get("kind") != "PrometheusRule":
                continue
            rules = Path(tmp) / "rules.yml"
            rules.write_text(json.dumps({"groups": _dig(obj, "spec", "groups") or []}))
            try:
                problem = promtool_rules_problem(rules, Path(tmp))
            except CheckSkipped:  # no promtool: the promtool check says so for the whole stack
                return []
            if problem is not None:
                findings.append(Finding(CHECK, rel, f"PrometheusRule/{_meta(obj).get('name', '?')}: {problem}"))
    return findings
