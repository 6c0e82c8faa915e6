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
from lookout.config.model import Config, duration_seconds
from lookout.stack import naming

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
REMOTE_HIGHEST_TIMESTAMP: Final = "prometheus_remote_storage_highest_timestamp_in_seconds"
REMOTE_SENT_TIMESTAMP: Final = "prometheus_remote_storage_queue_highest_sent_timestamp_seconds"
REMOTE_PENDING: Final = "prometheus_remote_storage_samples_pending"
REMOTE_RETRIED: Final = "prometheus_remote_storage_samples_retried_total"
REMOTE_FAILED: Final = "prometheus_remote_storage_samples_failed_total"

SLO_WINDOW: Final = "30d"
MCP_JOB: Final = f'{m.JOB}="{naming.JOB_MCP}"'


@dataclass(frozen=True)
class Policy:
    """The thresholds panels are judged by, from ``alerting.slo`` / ``alerting.resources`` / ``alerting`` (as the
    alerts)."""

    latency_p99: float
    error_ratio: float
    availability: float
    """Fraction, e.g. 0.9999."""
    latency_objective: float
    latency_threshold: str
    utilization: float
    forecast_horizon: str
    """How far ahead the exhaustion forecasts look, e.g. ``4h``."""
    certificate_expiry_warning: float
    """Seconds before a certificate's expiry that it is reported."""
    remote_write_max_lag: float
    """Seconds a remote-write queue may fall behind (LookoutRemoteWriteBehind)."""
    tool_footprint_tokens: float
    """Estimated tokens of a server's tool definitions above which it is reported."""

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
            forecast_horizon=resources.forecast_horizon,
            certificate_expiry_warning=duration_seconds(config.alerting.certificate_expiry_warning),
            remote_write_max_lag=duration_seconds(config.prometheus.remote_write_max_lag),
            tool_footprint_tokens=config.alerting.tool_footprint.max_tokens,
        )

    @property
    def forecast_seconds(self) -> int:
        return int(duration_seconds(self.forecast_horizon))


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


# ---------------------------------------------------------------- operations (the SLIs)
OPS_COUNT: Final = series(m.OPERATION_DURATION, "count")
OPS_BUCKET: Final = series(m.OPERATION_DURATION, "bucket")
ANY_ERROR: Final = f'{m.ERROR_TYPE}!=""'
"""Breakdowns by error type only; which errors count against a policy is the recording rules' business."""


def request_rate(labels: Sequence[str] = (), *extra: str) -> str:
    return sum_rate(OPS_COUNT, scope(*extra), labels)


def latency(q: float, labels: Sequence[str] = (), *extra: str) -> str:
    return quantile(q, OPS_BUCKET, scope(*extra), labels)


def recorded(name: str, instance: bool = False) -> str:
    """A recording rule of the rule files, scoped to the dashboard's tenant and services (and instances, for the
    per-instance rules). Error ratios come only from these rules, so a panel and its alert count the same errors
    and a service without traffic has no ratio series rather than a NaN one."""
    return f"{name}{scope(instance=instance)}"
