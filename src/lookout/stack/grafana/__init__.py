"""Grafana as code: provisioning (datasources, dashboard provider) and one folder of dashboards per tenant.

Files (relative to the stack dir):
``grafana/provisioning/datasources/lookout.yaml`` (native endpoints: the ``listen`` addresses),
``grafana/provisioning/dashboards/lookout.yaml``, ``grafana/dashboards/<tenant>/<slug>.json`` and
``grafana/dashboards/Lookout/benchmarks.json`` (fleet-wide). Container targets render their own
datasources file with service names (:func:`render_datasources` with other :class:`Endpoints`).

Dashboards are data (:func:`dashboards`: Grafana's JSON models); the stack's writer serializes them
(:func:`lookout.stack.yamlio.serialize`). Each dashboard is one module of :mod:`.dashboards`, listed in
:mod:`.catalog`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from lookout.config.model import Config
from lookout.stack.grafana import catalog
from lookout.stack.grafana.promql import Policy
from lookout.stack.grafana.provisioning import (
    Endpoints,
    render_dashboard_provider,
    render_datasources,
    upstream_access,
)
from lookout.stack.grafana.render import dashboard_json
from lookout.stack.rules.inputs import Inputs
from lookout.stack.yamlio import Document, serialize

GRAFANA_DIR: Final = "grafana"
DASHBOARDS_DIR: Final = f"{GRAFANA_DIR}/dashboards"
DATASOURCES_FILE: Final = f"{GRAFANA_DIR}/provisioning/datasources/lookout.yaml"
PROVIDER_FILE: Final = f"{GRAFANA_DIR}/provisioning/dashboards/lookout.yaml"
SHARED_FOLDER: Final = "Lookout"
"""Folder of fleet-wide dashboards; capitalised so it can never collide with a (lower-case) tenant name."""
NATIVE_LOKI: Final = "http://127.0.0.1:3100"
NATIVE_JAEGER: Final = "http://127.0.0.1:16686"


def native_endpoints(config: Config) -> Endpoints:
    return Endpoints(
        prometheus=config.query_url(),  # the deduplicated long-term store in the HA topology
        alertmanager=f"{config.security.scheme}://{config.listen.alertmanager}",
        loki=NATIVE_LOKI,
        jaeger=NATIVE_JAEGER,
    )


def dashboards(config: Config) -> dict[str, dict[str, Any]]:
    """``{relative path: JSON model}`` of every dashboard: one folder per tenant plus the shared folder."""
    models = {}
    policy = Policy.from_config(config)
    inputs = Inputs.of(config)
    for tenant in config.tenants:
        for make in catalog.TENANT_DASHBOARDS:
            spec = make(policy)
            models[f"{DASHBOARDS_DIR}/{tenant.name}/{spec.slug}.json"] = dashboard_json(
                spec, tenant.name, tenant.name, inputs
            )
    for make in catalog.SHARED_DASHBOARDS:
        spec = make(policy)
        models[f"{DASHBOARDS_DIR}/{SHARED_FOLDER}/{spec.slug}.json"] = dashboard_json(spec, SHARED_FOLDER, None, inputs)
    return models


def grafana_documents(config: Config) -> Mapping[str, Document]:
    """The native stack's Grafana files: provisioning and every dashboard (as data)."""
    return {
        DATASOURCES_FILE: render_datasources(
            native_endpoints(config), config.timing.scrape_interval, upstream_access(config.security)
        ),
        PROVIDER_FILE: render_dashboard_provider(),
        **dashboards(config),
    }


def render_dashboards(config: Config) -> dict[str, str]:
    """``{relative path: JSON text}`` of every dashboard, as the stack's writer writes them."""
    return {path: serialize(path, model) for path, model in dashboards(config).items()}


def render_grafana(config: Config) -> dict[str, str]:
    """The text of :func:`grafana_documents`' files."""
    return {path: serialize(path, document) for path, document in grafana_documents(config).items()}


__all__ = [
    "DASHBOARDS_DIR",
    "Endpoints",
    "dashboards",
    "grafana_documents",
    "render_dashboards",
    "render_datasources",
    "render_grafana",
]
