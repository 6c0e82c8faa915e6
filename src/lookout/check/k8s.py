"""Kubernetes objects validated against the Kubernetes OpenAPI schemas (``kubernetes-validate``, strict:
unknown fields are errors) and the prometheus-operator CRD schemas.

The operator schemas come from ``cloudcoil-models-prometheus-operator`` (pydantic models of the CRDs;
their JSON Schema is closed here, so a misspelt field is an error, as ``kubectl --validate=strict`` would
say). When a directory of the operator's CRD YAMLs is given (``crd_dir``), each object is validated
against its CRD's ``openAPIV3Schema`` as well. Where the native ``alertmanager.yml`` was generated beside the
objects, the Alertmanager's global configuration must equal it as data (templates aside).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import yaml
from ruamel.yaml import YAML

from lookout.check.findings import Finding

CHECK: Final = "k8s"
K8S_DIR: Final = "k8s"
OPERATOR_GROUP: Final = "monitoring.coreos.com"
KUSTOMIZE_KIND: Final = "Kustomization"
CRD_DIR_ENV: Final = "LOOKOUT_OPERATOR_CRDS"
NATIVE_ALERTMANAGER: Final = "alertmanager/alertmanager.yml"
ALERTMANAGER_CONFIG_KEY: Final = "alertmanager.yaml"


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
    return findings + _alertmanager_drift(stack_dir, objects)
