"""The capacity report: per service, the daily peak request rate, its trend and forecast, the date the trend
reaches the utilization policy of the benchmarked per-replica capacity, the replicas the forecast peak needs,
and the CPU and memory utilization trends against the same policy.

Daily peaks are ``max_over_time`` of the recorded 5-minute request rate; capacity is the recording rule that
prefers the pushed ``lookout bench`` result to the configured fallback; utilization is the recorded per-replica
utilization, the busiest replica per day."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from lookout.config.model import Config
from lookout.report.forecast import LinearFit, fit_line
from lookout.report.period import Period
from lookout.report.prom import FloatArray, PromClient
from lookout.report.scope import ServiceKey, key_of_labels, on_grid, require_recorded_traffic, selector
from lookout.stack.rules import recording as r

DAY = timedelta(days=1)
MAX_HORIZON_DAYS = 3650
"""Ten years: a straight line says nothing further out, and dates past it approach the end of the calendar."""
RULES = (r.REQUESTS_RATE, r.CAPACITY, r.INSTANCE_REQUESTS_RATE, r.CPU_UTILIZATION, r.MEMORY_UTILIZATION)
"""The recording rules this report reads."""


@dataclass(frozen=True)
class Trend:
    """Daily values, the fitted line (day 0 = the period's start) and where it meets a threshold."""

    days: FloatArray
    values: FloatArray
    fit: LinearFit | None
    threshold: float | None
    """None: no capacity is known to compare with."""
    crossing_day: float | None
    earliest_crossing_day: float | None

    @property
    def latest(self) -> float | None:
        finite = self.values[np.isfinite(self.values)]
        return float(finite[-1]) if finite.size else None


@dataclass(frozen=True)
class ServiceCapacity:
    key: ServiceKey
    capacity_rps: float | None
    replicas: int
    requests: Trend
    cpu: Trend
    memory: Trend
    horizon_day: float
    utilization_threshold: float

    @property
    def has_traffic(self) -> bool:
        return bool(np.isfinite(self.requests.values).any() and np.nanmax(self.requests.values) > 0)

    def forecast_peak(self) -> tuple[float, float | None] | None:
        """(trend, upper prediction bound) of the request rate at the end of the horizon; the bound is None with
        peaks on two days only (no interval)."""
        fit = self.requests.fit
        if fit is None:
            return None
        at = np.array([self.horizon_day])
        central = float(fit.predict(at)[0])
        return central, central + float(fit.margin(at)[0]) if fit.has_interval else None

    def replicas_needed(self) -> int | None:
        """Replicas that keep the upper forecast peak (the trend without an interval) within the policy share of
        the per-replica capacity."""
        peak = self.forecast_peak()
        if peak is None or not self.capacity_rps:
            return None
        sized = peak[0] if peak[1] is None else peak[1]
        return max(1, math.ceil(sized / (self.capacity_rps * self.utilization_threshold)))


@dataclass
class CapacityReport:
    period: Period
    horizon: timedelta
    services: list[ServiceCapacity]
    utilization_threshold: float
    queries: int = 0

    def date_of(self, day: float | None) -> datetime | None:
        return None if day is None else self.period.start + timedelta(days=day)


def _trend(days: FloatArray, values: FloatArray, threshold: float | None, last_day: float, horizon_day: float) -> Trend:
    fit = fit_line(days, values)
    if fit is None or threshold is None:  # without a threshold the line still is the trend and the forecast
        return Trend(days, values, fit, threshold, None, None)
    crossing = fit.crossing(threshold, last_day)
    earliest = fit.upper_crossing(threshold, last_day, horizon_day)
    return Trend(days, values, fit, threshold, crossing, earliest)


def capacity_report(
    client: PromClient, config: Config, period: Period, keys: list[ServiceKey], horizon: timedelta
) -> CapacityReport:
    policy = config.alerting.resources.utilization_threshold
    before = client.queries
    first, end = period.start + DAY, period.end
    grid = np.arange(first.timestamp(), end.timestamp() + 1, DAY.total_seconds(), dtype=np.float64)
    days = (grid - period.start.timestamp()) / DAY.total_seconds()
    last_day = period.seconds / DAY.total_seconds()
    horizon_day = last_day + horizon / DAY

    def daily(expr: str) -> dict[ServiceKey, FloatArray]:
        return on_grid(client.range(expr, first, end, DAY.total_seconds()), grid, keys)

    by = ", ".join(r.SERVICE_LABELS)
    peaks = daily(f"max_over_time({selector(r.REQUESTS_RATE, keys)}[1d])")
    cpu = daily(f"max by ({by}) (max_over_time({selector(r.CPU_UTILIZATION, keys)}[1d]))")
    memory = daily(f"max by ({by}) (max_over_time({selector(r.MEMORY_UTILIZATION, keys)}[1d]))")
    # The last value in the period, not an instant at its end: a period ending after the stack stopped (or a
    # --to between two evaluations) still knows the capacity and the replicas.
    seconds = int(period.seconds)
    last_capacity = f"last_over_time({selector(r.CAPACITY, keys)}[{seconds}s])"
    capacity = {key_of_labels(labels): value for labels, value in client.instant(last_capacity, end)}
    # Replicas as last counted, not every instance seen in the period: pods renamed by each rollout would add up.
    count = f"last_over_time((count by ({by}) ({selector(r.INSTANCE_REQUESTS_RATE, keys)}))[{seconds}s:5m])"
    replicas = {key_of_labels(labels): int(value) for labels, value in client.instant(count, end)}
    missing = np.full(grid.shape, np.nan)
    services = []
    for key in keys:
        per_replica = capacity.get(key)
        fleet = replicas.get(key, 1)
        limit = None if per_replica is None else per_replica * fleet * policy
        services.append(
            ServiceCapacity(
                key,
                per_replica,
                fleet,
                _trend(days, peaks.get(key, missing), limit, last_day, horizon_day),
                _trend(days, cpu.get(key, missing), policy, last_day, horizon_day),
                _trend(days, memory.get(key, missing), policy, last_day, horizon_day),
                horizon_day,
                policy,
            )
        )
    if not any(service.has_traffic for service in services):
        require_recorded_traffic(client, period)
    return CapacityReport(period, horizon, services, policy, client.queries - before)
