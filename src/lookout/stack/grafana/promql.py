"""PromQL for the dashboards, built from the metric contract (:mod:`lookout.metrics`) only.

Every selector is scoped by the dashboard's template variables (``$tenant``, ``$service``,
``$instance``); every ``rate`` uses ``$__rate_interval`` so panels stay correct at any zoom level
and scrape interval. Fixed windows appear only where the window *is* the meaning (SLO windows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from lookout import metrics as m
from lookout.config.model import Config
from lookout.stack import naming
from lookout.stack.rules import recording as rec

RATE_INTERVAL: Final = "$__rate_interval"
TENANT_VAR: Final = "$tenant"
SERVICE_VAR: Final = "$service"
INSTANCE_VAR: Final = "$instance"

# Families of third-party emitters the stack deploys (see metrics.THIRD_PARTY); named once here.
UP: Final = "up"
ALERTS: Final = "ALERTS"
PROCESS_CPU: Final = "process_cpu_seconds_total"
PROCESS_RESIDENT_MEMORY: Final = "process_resident_memory_bytes"
PROCESS_VIRTUAL_MEMORY: Final = "process_virtual_memory_bytes"
PROCESS_OPEN_FDS: Final = "process_open_fds"
PROCESS_MAX_FDS: Final = "process_max_fds"
PYTHON_GC_COLLECTIONS: Final = "python_gc_collections_total"
PYTHON_GC_COLLECTED: Final = "python_gc_objects_collected_total"

SLO_WINDOW: Final = "30d"
MCP_JOB: Final = f'{m.JOB}="{naming.JOB_MCP}"'


@dataclass(frozen=True)
class Policy:
    """The thresholds panels are judged by, from ``alerting.slo`` / ``alerting.resources`` (as the alerts)."""

    latency_p99: float
    error_ratio: float
    availability: float
    """Fraction, e.g. 0.9999."""
    latency_objective: float
    latency_threshold: str
    utilization: float

    @property
    def availability_budget(self) -> float:
        return round(1 - self.availability, 10)

    @classmethod
    def from_config(cls, config: Config) -> Policy:
        slo, resources = config.alerting.slo, config.alerting.resources
        return cls(
            latency_p99=slo.latency_p99_threshold,
            error_ratio=slo.error_ratio_threshold,
            availability=slo.availability / 100,
            latency_objective=slo.latency / 100,
            latency_threshold=slo.latency_threshold,
            utilization=resources.utilization_threshold,
        )


def series(spec: m.MetricSpec, suffix: str = "") -> str:
    """The exposed series name of ``spec`` (``_total``, ``_bucket`` ... chosen by ``suffix``)."""
    name = f"{spec.name}_{suffix}" if suffix else spec.series_names[0]
    if name not in spec.series_names:
        raise ValueError(f"{spec.name} ({spec.kind}) exposes no series {name!r}")
    return name


def scope(*extra: str, service: bool = True, instance: bool = True) -> str:
    """Label matchers for the dashboard's variables plus ``extra`` matchers."""
    parts = [f'{m.TENANT}="{TENANT_VAR}"']
    if service:
        parts.append(f'{m.SERVICE}=~"{SERVICE_VAR}"')
    if instance:
        parts.append(f'{m.INSTANCE}=~"{INSTANCE_VAR}"')
    return "{" + ", ".join([*parts, *extra]) + "}"


def by(labels: Sequence[str]) -> str:
    return f" by ({', '.join(labels)})" if labels else ""


def sum_rate(name: str, matchers: str, labels: Sequence[str] = (), window: str = RATE_INTERVAL) -> str:
    return f"sum{by(labels)} (rate({name}{matchers}[{window}]))"


def sum_increase(name: str, matchers: str, window: str, labels: Sequence[str] = ()) -> str:
    return f"sum{by(labels)} (increase({name}{matchers}[{window}]))"


def quantile(q: float, name: str, matchers: str, labels: Sequence[str] = ()) -> str:
    return f"histogram_quantile({q}, {sum_rate(name, matchers, ('le', *labels))})"


def _regex_alternatives(values: Sequence[str]) -> str:
    return "|".join(values)


# ---------------------------------------------------------------- operations (the SLIs)
OPS_COUNT: Final = series(m.OPERATION_DURATION, "count")
OPS_BUCKET: Final = series(m.OPERATION_DURATION, "bucket")
SERVER_ERROR: Final = f'{m.ERROR_TYPE}!~"{_regex_alternatives(rec.NOT_ERRORS)}"'
"""Errors of the error-ratio policy (tool errors included; client errors not), as in the alert rules."""
ANY_ERROR: Final = f'{m.ERROR_TYPE}!=""'


def request_rate(labels: Sequence[str] = (), *extra: str) -> str:
    return sum_rate(OPS_COUNT, scope(*extra), labels)


def error_ratio(labels: Sequence[str] = (), *extra: str) -> str:
    """Share of requests failing by the server's fault, per ``labels``."""
    return f"{sum_rate(OPS_COUNT, scope(SERVER_ERROR, *extra), labels)} / {sum_rate(OPS_COUNT, scope(*extra), labels)}"


def latency(q: float, labels: Sequence[str] = (), *extra: str) -> str:
    return quantile(q, OPS_BUCKET, scope(*extra), labels)


def recorded(name: str) -> str:
    """A recording rule of PART A's rule files, scoped to the dashboard's tenant and services."""
    return f"{name}{scope(instance=False)}"
