"""Grafana provisioning: the datasources (with trace <-> logs and exemplar links) and the dashboard provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from lookout import metrics as m
from lookout.config.security import Security
from lookout.stack import naming
from lookout.stack.yamlio import dump_yaml

PROMETHEUS_UID: Final = "lookout-prometheus"
ALERTMANAGER_UID: Final = "lookout-alertmanager"
LOKI_UID: Final = "lookout-loki"
JAEGER_UID: Final = "lookout-jaeger"
DASHBOARDS_MOUNT: Final = "/var/lib/grafana/dashboards"
"""Where Grafana reads the dashboard JSON; one sub-directory per folder (one folder per tenant)."""
TRACE_ID_FIELD: Final = "trace_id"
"""JSON key of the trace id in Lookout's logs, and the exemplar label of its histograms."""


def traces_to_metrics_queries() -> list[dict[str, str]]:
    """What a span links to in Prometheus: its service's request rate, errors and p99 (``$__tags`` is the span's
    ``service`` tag; the window matches the shortest rule window)."""
    duration = m.OPERATION_DURATION.name
    errors = f"{m.OPERATION_ERRORS.name}_total"
    by = f"sum by ({m.SERVICE})"
    return [
        {"name": "Request rate", "query": f"{by} (rate({duration}_count{{$__tags}}[5m]))"},
        {"name": "Error rate", "query": f"{by} (rate({errors}{{$__tags}}[5m]))"},
        {
            "name": "p99 latency",
            "query": f"histogram_quantile(0.99, sum by ({m.SERVICE}, le) (rate({duration}_bucket{{$__tags}}[5m])))",
        },
    ]


@dataclass(frozen=True)
class Endpoints:
    """Base URLs Grafana uses to reach each backend (loopback for native, service names in containers)."""

    prometheus: str
    alertmanager: str
    loki: str
    jaeger: str


def upstream_access(security: Security) -> dict[str, Any]:
    """What a datasource of an endpoint Lookout serves or starts (Prometheus, VictoriaMetrics, Alertmanager) needs
    under ``security:``: the stack's CA and client certificate, and the client user's password, all read from
    their files when Grafana provisions (``$__file{...}``): no secret in the provisioning file itself."""
    tls, user = security.tls, security.client()
    out: dict[str, Any] = {"jsonData": {}, "secureJsonData": {}}
    if tls.enabled:
        out["jsonData"]["tlsAuthWithCACert"] = True
        out["secureJsonData"]["tlsCACert"] = f"$__file{{{tls.ca_file}}}"
        if tls.client_cert_file and tls.client_key_file:
            out["jsonData"]["tlsAuth"] = True
            out["secureJsonData"] |= {
                "tlsClientCert": f"$__file{{{tls.client_cert_file}}}",
                "tlsClientKey": f"$__file{{{tls.client_key_file}}}",
            }
    if user is not None:
        out |= {"basicAuth": True, "basicAuthUser": user.name}
        out["secureJsonData"]["basicAuthPassword"] = f"$__file{{{user.password_file}}}"
    return out if out["secureJsonData"] else {}


def _with_access(source: dict[str, Any], access: dict[str, Any]) -> dict[str, Any]:
    if not access:
        return source
    return {**source, **access, "jsonData": {**source["jsonData"], **access["jsonData"]}}


def datasources(endpoints: Endpoints, scrape_interval: str, access: dict[str, Any] | None = None) -> dict[str, Any]:
    """``access``: :func:`upstream_access` for the Prometheus and Alertmanager datasources under ``security:``."""
    access = access or {}
    sources = _datasources(endpoints, scrape_interval)
    for source in sources["datasources"]:
        if source["uid"] in (PROMETHEUS_UID, ALERTMANAGER_UID):
            source.update(_with_access(source, access))
    return sources


def _datasources(endpoints: Endpoints, scrape_interval: str) -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": PROMETHEUS_UID,
                "type": "prometheus",
                "access": "proxy",
                "url": endpoints.prometheus,
                "isDefault": True,
                "editable": False,
                "jsonData": {
                    "httpMethod": "POST",
                    # $__rate_interval is at least four scrape intervals: Grafana must know the interval.
                    "timeInterval": scrape_interval,
                    "exemplarTraceIdDestinations": [{"name": TRACE_ID_FIELD, "datasourceUid": JAEGER_UID}],
                },
            },
            {
                "name": "Alertmanager",
                "uid": ALERTMANAGER_UID,
                "type": "alertmanager",
                "access": "proxy",
                "url": endpoints.alertmanager,
                "editable": False,
                "jsonData": {"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
            },
            {
                "name": "Loki",
                "uid": LOKI_UID,
                "type": "loki",
                "access": "proxy",
                "url": endpoints.loki,
                "editable": False,
                "jsonData": {
                    "maxLines": 1000,
                    "derivedFields": [
                        {
                            "name": "TraceID",
                            "matcherType": "regex",
                            "matcherRegex": f'"{TRACE_ID_FIELD}":\\s*"(\\w+)"',
                            # `$$` escapes Grafana's environment-variable expansion in provisioning files.
                            "url": "$${__value.raw}",
                            "datasourceUid": JAEGER_UID,
                        }
                    ],
                },
            },
            {
                "name": "Jaeger",
                "uid": JAEGER_UID,
                "type": "jaeger",
                "access": "proxy",
                "url": endpoints.jaeger,
                "editable": False,
                "jsonData": {
                    "tracesToLogsV2": {
                        "datasourceUid": LOKI_UID,
                        "spanStartTimeShift": "-5m",
                        "spanEndTimeShift": "5m",
                        "filterByTraceID": True,
                        "filterBySpanID": False,
                        "tags": [{"key": "service.name", "value": "service"}],
                    },
                    "tracesToMetrics": {
                        "datasourceUid": PROMETHEUS_UID,
                        "spanStartTimeShift": "-5m",
                        "spanEndTimeShift": "5m",
                        "tags": [{"key": "service.name", "value": m.SERVICE}],
                        "queries": traces_to_metrics_queries(),
                    },
                    "nodeGraph": {"enabled": True},
                },
            },
        ],
    }


def dashboard_provider() -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "lookout",
                "orgId": 1,
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                # One directory per tenant becomes one Grafana folder per tenant.
                "options": {"path": DASHBOARDS_MOUNT, "foldersFromFilesStructure": True},
            }
        ],
    }


def render_datasources(endpoints: Endpoints, scrape_interval: str, access: dict[str, Any] | None = None) -> str:
    return dump_yaml(datasources(endpoints, scrape_interval, access), naming.GENERATED_HEADER)


def render_dashboard_provider() -> str:
    return dump_yaml(dashboard_provider(), naming.GENERATED_HEADER)
