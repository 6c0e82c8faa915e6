"""Push a run's results (and the target's capacity) to a Prometheus Pushgateway."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from lookout import metrics
from lookout.bench.capacity import Capacity
from lookout.bench.results import RunResult

JOB = "lookout_bench"
CAPACITY_JOB = "lookout_bench_capacity"
EXPORTED_QUANTILES = {"0.5": "p50", "0.9": "p90", "0.99": "p99", "0.999": "p999", "1": "max"}


class ExportError(Exception):
    """The Pushgateway did not take the results; one line for the user."""


def _gauge(spec: metrics.MetricSpec, registry: CollectorRegistry) -> Gauge:
    return Gauge(spec.name, spec.help, spec.labels, registry=registry)


def results_registry(result: RunResult) -> CollectorRegistry:
    registry = CollectorRegistry()
    labels = {metrics.TARGET: result.target, metrics.SCENARIO: result.scenario}
    _gauge(metrics.BENCH_THROUGHPUT, registry).labels(**labels).set(result.overall.throughput_rps)
    _gauge(metrics.BENCH_ERROR_RATIO, registry).labels(**labels).set(result.overall.error_ratio)
    latency = _gauge(metrics.BENCH_LATENCY, registry)
    summary = result.overall.response_time
    for quantile, field in EXPORTED_QUANTILES.items():
        latency.labels(**{metrics.QUANTILE: quantile}, **labels).set(getattr(summary, field))
    return registry


def capacity_registry(capacity: Capacity) -> CollectorRegistry:
    registry = CollectorRegistry()
    _gauge(metrics.BENCH_CAPACITY, registry).labels(capacity.target).set(capacity.capacity_rps)
    return registry


def push(gateway: str, result: RunResult, capacity: Capacity | None, timeout: float = 10.0) -> None:
    """Replace this target+scenario's group (and the target's capacity group) on the Pushgateway."""
    try:
        push_to_gateway(
            gateway,
            job=JOB,
            registry=results_registry(result),
            grouping_key={metrics.TARGET: result.target, metrics.SCENARIO: result.scenario},
            timeout=timeout,
        )
        if capacity is not None:
            push_to_gateway(
                gateway,
                job=CAPACITY_JOB,
                registry=capacity_registry(capacity),
                grouping_key={metrics.TARGET: capacity.target},
                timeout=timeout,
            )
    except (OSError, ValueError) as exc:  # ValueError: a URL the command line did not check (library use)
        raise ExportError(f"cannot push to the Pushgateway at {gateway}: {exc}") from None
