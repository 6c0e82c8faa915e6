"""The SLA report: per service, availability against the objective, downtime, error budget, latency compliance,
error ratio against the policy, and the incidents of the period.

Every figure is a sum or count over the 5-minute windows of the recording rules, read at the end of each window
that tiles the period (a ``[period:5m]`` subquery, so Prometheus does the sums and sends one number per service):
failed requests from the availability SLI's 5-minute increase, requests from the 5-minute request rate, errors from
the 5-minute error rate, windows over the policies from the 5-minute p99 and error ratio. The SLI itself is never
rewritten here. The plots read the same sums per day and per hour.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from lookout import metrics as m
from lookout.config.model import SHORTEST_RATE_WINDOW, Config, duration_seconds
from lookout.report.period import WINDOW, Period
from lookout.report.prom import FloatArray, PromClient
from lookout.report.scope import ServiceKey, key_of, key_of_labels, on_grid, require_recorded_traffic, selector
from lookout.stack.rules import recording as r

WINDOW_S = WINDOW.total_seconds()
FAILED_5M = r.availability_errors_increase(SHORTEST_RATE_WINDOW)
RULES = (r.REQUESTS_RATE, FAILED_5M, r.ERRORS_RATE, r.LATENCY_P99, r.ERROR_RATIO)
"""The recording rules this report reads."""
DAY_S = 86400.0
HOUR_S = 3600.0


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
    windows: int = 0
    """The 5-minute windows of the period in which Prometheus holds the service's request rate."""
    first_window: datetime | None = None
    """The start of the first of them."""
    latency_windows: int = 0
    latency_compliant: int = 0
    error_windows_above: int = 0
    incidents: list[Incident] = field(default_factory=list)
    day_ends: FloatArray = field(default_factory=lambda: np.zeros(0))
    daily_requests: FloatArray = field(default_factory=lambda: np.zeros(0))
    daily_failed: FloatArray = field(default_factory=lambda: np.zeros(0))
    hour_ends: FloatArray = field(default_factory=lambda: np.zeros(0))
    hourly_failed: FloatArray = field(default_factory=lambda: np.zeros(0))
    hourly_p99: FloatArray = field(default_factory=lambda: np.zeros(0))
    """The worst 5-minute p99 of each hour."""

    @property
    def period_windows(self) -> int:
        return round(self.period_minutes * 60 / WINDOW_S)

    @property
    def has_traffic(self) -> bool:
        return self.requests > 0

    @property
    def availability(self) -> float:
        return 1 - self.failed / self.requests if self.requests else 1.0

    @property
    def covered_minutes(self) -> float:
        """Minutes of the period with data: a period reaching before the history must not dilute the outage."""
        return self.windows * WINDOW_S / 60

    @property
    def downtime_minutes(self) -> float:
        """The failed share of requests as minutes of full outage in the part of the period with data."""
        return (1 - self.availability) * self.covered_minutes

    @property
    def budget(self) -> float:
        """The share of requests allowed to fail."""
        return 1 - self.objective

    @property
    def budget_minutes(self) -> float:
        return self.budget * self.covered_minutes

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

    def daily_availability(self) -> tuple[FloatArray, FloatArray]:
        """(day starts, availability per day) over the days with traffic."""
        seen = self.daily_requests > 0
        return self.day_ends[seen] - DAY_S, 1 - self.daily_failed[seen] / self.daily_requests[seen]

    def budget_burn(self) -> FloatArray:
        """Error budget left at the end of each hour, as a share of the period's budget."""
        allowed = self.budget * self.requests
        return np.asarray(1 - np.cumsum(self.hourly_failed) / allowed, dtype=np.float64)


@dataclass
class SlaReport:
    period: Period
    services: list[ServiceSla]
    latency_p99_threshold: float
    error_ratio_threshold: float
    availability_objective: float
    queries: int = 0


def concerns(incident: Incident, key: ServiceKey) -> bool:
    """Whether ``incident`` is one of service ``key``'s: an alert about it, or about its whole tenant."""
    return incident.tenant == key.tenant and incident.service in (key.service, m.TENANT_WIDE)


def _incidents(client: PromClient, config: Config, period: Period, keys: list[ServiceKey]) -> list[Incident]:
    """Firing intervals of the ``ALERTS`` series: a gap longer than two evaluations ends an incident. An alert about
    a whole tenant (MCPTenantDown) is one of each of its services' incidents (:func:`concerns`)."""
    tenant_wide = [ServiceKey(tenant, m.TENANT_WIDE) for tenant in sorted({k.tenant for k in keys})]
    alerts = selector(m.ALERTS, [*keys, *tenant_wide]).replace("{", f'{{{m.ALERT_STATE}="firing",', 1)
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
    before = client.queries
    step = f"{int(WINDOW_S)}s"

    def windows(expr: str, seconds: float, func: str = "sum_over_time") -> str:
        # One second short: Prometheus 2 includes a subquery's first step, which belongs to the window before.
        return f"{func}(({expr})[{int(seconds) - 1}s:{step}])"

    def totals(expr: str) -> dict[ServiceKey, float]:
        return {key_of_labels(labels): value for labels, value in client.instant(expr, period.end)}

    def series(expr: str, every: float) -> tuple[FloatArray, dict[ServiceKey, FloatArray]]:
        grid = np.arange(period.start.timestamp() + every, period.end.timestamp() + 1, every, dtype=np.float64)
        if grid.size == 0:
            return grid, {}
        start, end = datetime.fromtimestamp(grid[0], UTC), datetime.fromtimestamp(grid[-1], UTC)
        return grid, on_grid(client.range(expr, start, end, every), grid, keys)

    span = period.seconds
    requests, failed, errors, p99, error_ratio = (selector(rule, keys) for rule in RULES)
    # Independent queries: Prometheus evaluates them side by side.
    with ThreadPoolExecutor(max_workers=4) as pool:
        sums = [
            pool.submit(totals, f"{windows(requests, span)} * {WINDOW_S:g}"),
            pool.submit(totals, windows(failed, span)),
            pool.submit(totals, f"{windows(errors, span)} * {WINDOW_S:g}"),
            pool.submit(totals, windows(p99, span, "count_over_time")),
            pool.submit(totals, windows(requests, span, "count_over_time")),
            pool.submit(totals, windows(f"0 * {requests} + time()", span, "min_over_time")),
            pool.submit(totals, windows(f"{p99} <= {slo.latency_p99_threshold}", span, "count_over_time")),
            pool.submit(totals, windows(f"{error_ratio} > {slo.error_ratio_threshold}", span, "count_over_time")),
        ]
        plotted = [
            pool.submit(series, f"{windows(requests, DAY_S)} * {WINDOW_S:g}", DAY_S),
            pool.submit(series, windows(failed, DAY_S), DAY_S),
            pool.submit(series, windows(failed, HOUR_S), HOUR_S),
            pool.submit(series, windows(p99, HOUR_S, "max_over_time"), HOUR_S),
        ]
        found = pool.submit(_incidents, client, config, period, keys)
        total_requests, total_failed, total_errors, measured, covered, first, within, above = (s.result() for s in sums)
        (days, daily_requests), (_, daily_failed), (hours, hourly_failed), (_, hourly_p99) = (
            s.result() for s in plotted
        )
        incidents = found.result()

    def zeros(found: dict[ServiceKey, FloatArray], key: ServiceKey, grid: FloatArray) -> FloatArray:
        return np.nan_to_num(found.get(key, np.zeros(grid.shape)))

    services = [
        ServiceSla(
            key,
            requests=total_requests.get(key, 0.0),
            failed=total_failed.get(key, 0.0),
            errors=total_errors.get(key, 0.0),
            objective=slo.availability / 100,
            period_minutes=period.minutes,
            windows=int(covered.get(key, 0)),
            first_window=datetime.fromtimestamp(first[key] - WINDOW_S, UTC) if key in first else None,
            latency_windows=int(measured.get(key, 0)),
            latency_compliant=int(within.get(key, 0)),
            error_windows_above=int(above.get(key, 0)),
            incidents=[i for i in incidents if concerns(i, key)],
            day_ends=days,
            daily_requests=zeros(daily_requests, key, days),
            daily_failed=zeros(daily_failed, key, days),
            hour_ends=hours,
            hourly_failed=zeros(hourly_failed, key, hours),
            hourly_p99=hourly_p99.get(key, np.full(hours.shape, np.nan)),
        )
        for key in keys
    ]
    if not any(service.has_traffic for service in services):
        require_recorded_traffic(client, period)
    return SlaReport(
        period,
        services,
        slo.latency_p99_threshold,
        slo.error_ratio_threshold,
        slo.availability / 100,
        client.queries - before,
    )
