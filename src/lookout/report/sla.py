"""The SLA report: per service, availability against the objective, downtime, error budget, latency compliance,
error ratio against the policy, and the incidents of the period.

Every figure is a sum over the 5-minute windows of the recording rules, read at the end of each window that tiles
the period: failed requests from the availability SLI's 5-minute increase, requests from the 5-minute request
rate, errors from the 5-minute error rate, p99 from the 5-minute p99. The SLI itself is never rewritten here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from lookout import metrics as m
from lookout.config.model import SHORTEST_RATE_WINDOW, Config, duration_seconds
from lookout.report.period import WINDOW, Period
from lookout.report.prom import FloatArray, PromClient
from lookout.report.scope import ServiceKey, key_of, on_grid, selector
from lookout.stack.rules import recording as r

WINDOW_S = WINDOW.total_seconds()
FAILED_5M = r.availability_errors_increase(SHORTEST_RATE_WINDOW)
RULES = (r.REQUESTS_RATE, FAILED_5M, r.ERRORS_RATE, r.LATENCY_P99)
"""The recording rules this report reads."""
DAY_S = 86400.0


@dataclass(frozen=True)
class Incident:
    alert: str
    priority: str
    tenant: str
    service: str
    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


@dataclass
class ServiceSla:
    key: ServiceKey
    requests: float
    failed: float
    errors: float
    objective: float
    """Availability objective as a share (0.9999)."""
    period_minutes: float
    latency_windows: int = 0
    latency_compliant: int = 0
    error_windows_above: int = 0
    incidents: list[Incident] = field(default_factory=list)
    window_ends: FloatArray = field(default_factory=lambda: np.zeros(0))
    window_requests: FloatArray = field(default_factory=lambda: np.zeros(0))
    window_failed: FloatArray = field(default_factory=lambda: np.zeros(0))
    window_p99: FloatArray = field(default_factory=lambda: np.zeros(0))

    @property
    def has_traffic(self) -> bool:
        return self.requests > 0

    @property
    def availability(self) -> float:
        return 1 - self.failed / self.requests if self.requests else 1.0

    @property
    def downtime_minutes(self) -> float:
        """The failed share of requests as minutes of full outage in the period."""
        return (1 - self.availability) * self.period_minutes

    @property
    def budget(self) -> float:
        """The share of requests allowed to fail."""
        return 1 - self.objective

    @property
    def budget_minutes(self) -> float:
        return self.budget * self.period_minutes

    @property
    def budget_consumed(self) -> float:
        return (1 - self.availability) / self.budget

    @property
    def budget_remaining(self) -> float:
        return 1 - self.budget_consumed

    @property
    def latency_compliance(self) -> float | None:
        return self.latency_compliant / self.latency_windows if self.latency_windows else None

    @property
    def error_ratio(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def daily_availability(self, start: float) -> tuple[FloatArray, FloatArray]:
        """(day starts, availability per day) over the days with traffic."""
        day = np.floor((self.window_ends - WINDOW_S - start) / DAY_S)
        days, index = np.unique(day, return_inverse=True)
        requests = np.bincount(index, weights=self.window_requests, minlength=days.size)
        failed = np.bincount(index, weights=self.window_failed, minlength=days.size)
        seen = requests > 0
        return start + days[seen] * DAY_S, 1 - failed[seen] / requests[seen]

    def budget_burn(self) -> FloatArray:
        """Error budget left after each window, as a share of the period's budget."""
        allowed = self.budget * self.requests
        return np.asarray(1 - np.cumsum(self.window_failed) / allowed, dtype=np.float64)


@dataclass
class SlaReport:
    period: Period
    services: list[ServiceSla]
    latency_p99_threshold: float
    error_ratio_threshold: float
    availability_objective: float
    queries: int = 0


def _window_ends(period: Period) -> FloatArray:
    start = period.start.timestamp() + WINDOW_S
    return np.arange(start, period.end.timestamp() + 1, WINDOW_S, dtype=np.float64)


def _incidents(client: PromClient, config: Config, period: Period, keys: list[ServiceKey]) -> list[Incident]:
    """Firing intervals of the ``ALERTS`` series: a gap longer than two evaluations ends an incident."""
    alerts = selector(m.ALERTS, keys).replace("{", f'{{{m.ALERT_STATE}="firing",', 1)
    evaluation = duration_seconds(config.timing.evaluation_interval)
    incidents = []
    for series in client.samples(alerts, period.start, period.end):
        times = series.times
        if times.size == 0:
            continue
        spacing = float(np.median(np.diff(times))) if times.size > 1 else evaluation
        breaks = np.flatnonzero(np.diff(times) > 2 * max(spacing, evaluation))
        firsts = np.concatenate(([0], breaks + 1))
        lasts = np.concatenate((breaks, [times.size - 1]))
        key = key_of(series)
        for first, last in zip(firsts, lasts, strict=True):
            incidents.append(
                Incident(
                    series.label(m.ALERT_NAME),
                    series.label(m.PRIORITY),
                    key.tenant,
                    key.service,
                    datetime.fromtimestamp(float(times[first]), UTC),
                    datetime.fromtimestamp(float(times[last]), UTC),
                )
            )
    return sorted(incidents, key=lambda i: (i.start, i.alert))


def sla_report(client: PromClient, config: Config, period: Period, keys: list[ServiceKey]) -> SlaReport:
    slo = config.alerting.slo
    grid = _window_ends(period)
    start, end = datetime.fromtimestamp(grid[0], UTC), datetime.fromtimestamp(grid[-1], UTC)
    before = client.queries

    def windows(rule: str) -> dict[ServiceKey, FloatArray]:
        return on_grid(client.range(selector(rule, keys), start, end, WINDOW_S), grid, keys)

    rates, failed, errors, p99 = (windows(rule) for rule in RULES)
    incidents = _incidents(client, config, period, keys)
    services = []
    for key in keys:
        requests = np.nan_to_num(rates.get(key, np.zeros(grid.shape))) * WINDOW_S
        failures = np.nan_to_num(failed.get(key, np.zeros(grid.shape)))
        wrong = np.nan_to_num(errors.get(key, np.zeros(grid.shape))) * WINDOW_S
        latency = p99.get(key, np.full(grid.shape, np.nan))
        with_traffic = requests > 0
        total = float(requests.sum())
        ratio = np.divide(wrong, requests, out=np.zeros(grid.shape), where=with_traffic)
        measured = ~np.isnan(latency)
        services.append(
            ServiceSla(
                key,
                requests=total,
                failed=float(failures.sum()),
                errors=float(wrong.sum()),
                objective=slo.availability / 100,
                period_minutes=period.minutes,
                latency_windows=int(measured.sum()),
                latency_compliant=int((latency[measured] <= slo.latency_p99_threshold).sum()),
                error_windows_above=int((ratio > slo.error_ratio_threshold).sum()),
                incidents=[i for i in incidents if ServiceKey(i.tenant, i.service) == key],
                window_ends=grid,
                window_requests=requests,
                window_failed=failures,
                window_p99=latency,
            )
        )
    return SlaReport(
        period,
        services,
        slo.latency_p99_threshold,
        slo.error_ratio_threshold,
        slo.availability / 100,
        client.queries - before,
    )
