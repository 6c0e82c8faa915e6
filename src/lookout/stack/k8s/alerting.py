"""Alertmanager under the prometheus-operator, routing exactly as the native ``alertmanager.yml``.

The operator offers two ways in: namespaced ``AlertmanagerConfig`` objects, which it rewrites so that they
only see alerts whose ``namespace`` label matches their own (Lookout's fleet-wide alerts have none), and a
global configuration. Lookout uses the global one, as a Secret ``alertmanager-<name>`` named by the
``Alertmanager`` object's ``spec.configSecret``: its ``alertmanager.yaml`` is the data
:func:`lookout.stack.alertmanager.alertmanager_config` returns for the native stack, so every tenant route,
priority timing, inhibition, business-hours interval and the Watchdog's heartbeat route are the same.
``spec.alertmanagerConfiguration`` was not chosen: it takes an ``AlertmanagerConfig``, which cannot name
secret files and would be a second routing tree to keep equal.

Two things differ from the native files, both by where the operator puts them:

- ``templates`` name the operator's mount of the config Secret (``/etc/alertmanager/config/``), since the
  Secret carries the template file next to ``alertmanager.yaml``;
- the receivers' secrets stay ``*_file`` paths, identical to lookout.yaml's. A path under
  ``/etc/alertmanager/secrets/<secret>/`` is the operator's own mount of a Secret listed in ``spec.secrets``;
  any other path is mounted from the Secret ``lookout-alerting`` (key: the file's base name, as
  ``kubectl create secret generic lookout-alerting --from-file=<path>`` names it), one read-only volume per
  directory, so a rotated secret reaches the pod without a restart. Neither Secret is generated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, Final

from lookout.config.model import Config
from lookout.stack.alertmanager import TEMPLATES, alertmanager_config
from lookout.stack.k8s.monitoring import API, PART_OF
from lookout.stack.k8s.security import secret_file_keys, web_tls_config
from lookout.stack.k8s.workloads import container_resources
from lookout.stack.yamlio import dump_yaml

ALERTMANAGER_NAME: Final = "lookout"
CONFIG_SECRET: Final = f"alertmanager-{ALERTMANAGER_NAME}"
CONFIG_KEY: Final = "alertmanager.yaml"
TEMPLATE_KEY: Final = "lookout.tmpl"
OPERATOR_CONFIG_DIR: Final = "/etc/alertmanager/config"
"""Where the operator mounts every key of the config Secret."""
OPERATOR_SECRETS_DIR: Final = PurePosixPath("/etc/alertmanager/secrets")
"""Where the operator mounts each Secret of ``spec.secrets`` (one directory per Secret)."""
ALERTING_SECRET: Final = "lookout-alerting"
"""Secret holding the receivers' files that lie outside the operator's secrets directory (never generated)."""


def operator_alertmanager_config(config: Config) -> dict[str, Any]:
    """The native Alertmanager configuration, templates read from the operator's mount of the config Secret."""
    return {**alertmanager_config(config), "templates": [f"{OPERATOR_CONFIG_DIR}/*.tmpl"]}


def _file_fields(node: Any) -> Iterator[str]:
    """Every ``*_file`` value of an Alertmanager configuration: the files Alertmanager reads secrets from."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and key.endswith("_file") and isinstance(value, str):
                yield value
            else:
                yield from _file_fields(value)
    elif isinstance(node, list):
        for value in node:
            yield from _file_fields(value)


def secret_files(config: Config) -> list[str]:
    return sorted(set(_file_fields(alertmanager_config(config))))


def _operator_secret(path: PurePosixPath) -> str | None:
    """The Secret ``spec.secrets`` mounts at ``path``'s directory, if the path lies in the operator's directory."""
    return path.parent.name if path.parent.parent == OPERATOR_SECRETS_DIR else None


def secret_keys(config: Config) -> dict[str, str]:
    """``{file path: key in lookout-alerting}`` for the files the operator's own mounts do not cover."""
    return secret_file_keys([p for p in secret_files(config) if _operator_secret(PurePosixPath(p)) is None])


def _secret_mounts(config: Config) -> dict[str, Any]:
    listed = sorted({s for p in secret_files(config) if (s := _operator_secret(PurePosixPath(p))) is not None})
    by_dir: dict[str, list[tuple[str, str]]] = {}
    for path, key in secret_keys(config).items():
        by_dir.setdefault(str(PurePosixPath(path).parent), []).append((key, PurePosixPath(path).name))
    volumes, mounts = [], []
    for i, (directory, items) in enumerate(sorted(by_dir.items())):
        name = f"receiver-secrets-{i}"
        volumes.append(
            {
                "name": name,
                "secret": {
                    "secretName": ALERTING_SECRET,
                    "items": [{"key": key, "path": file_name} for key, file_name in sorted(items)],
                },
            }
        )
        mounts.append({"name": name, "mountPath": directory, "readOnly": True})
    spec: dict[str, Any] = {}
    if listed:
        spec["secrets"] = listed
    if volumes:
        spec["volumes"] = volumes
        spec["volumeMounts"] = mounts
    return spec


def config_secret(config: Config) -> dict[str, Any]:
    """No credentials in it (only ``*_file`` paths), so it can be generated and committed."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": CONFIG_SECRET, "labels": dict(PART_OF)},
        "type": "Opaque",
        "stringData": {CONFIG_KEY: dump_yaml(operator_alertmanager_config(config)), TEMPLATE_KEY: TEMPLATES},
    }


def _replicas(config: Config) -> dict[str, Any]:
    """HA: several replicas that the operator wires into one gossip cluster, deduplicating notifications."""
    return {} if config.ha is None else {"replicas": config.ha.alertmanager_replicas}


def _web(config: Config) -> dict[str, Any]:
    """Under ``security.tls``: serve TLS with the ``lookout-tls`` Secret (k8s/security.py). The operator's web
    settings have no users: the login of ``security.users`` guards the compose and native Alertmanager only."""
    web = web_tls_config(config.security)
    return {"web": web} if web else {}


def alertmanager(config: Config) -> dict[str, Any]:
    """No ``alertmanagerConfigSelector``: no AlertmanagerConfig object is merged into the routing tree."""
    return {
        "apiVersion": API,
        "kind": "Alertmanager",
        "metadata": {"name": ALERTMANAGER_NAME, "labels": dict(PART_OF)},
        "spec": {
            "configSecret": CONFIG_SECRET,
            # Requests and a memory limit, as every container of the base: without them the pods are BestEffort,
            # evicted first under memory pressure, and alert delivery goes with them.
            "resources": container_resources(
                config.kubernetes.alertmanager_resources.cpu_cores,
                config.kubernetes.alertmanager_resources.memory_limit_bytes,
            ),
            **_replicas(config),
            **_secret_mounts(config),
            **_web(config),
        },
    }
