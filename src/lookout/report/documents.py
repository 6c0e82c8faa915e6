"""Each report's figures as a :class:`Document`: the summary tables, the per-service sections and the plots."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from lookout.report.capacity import CapacityReport, ServiceCapacity, Trend
from lookout.report.cost import CostReport
from lookout.report.document import Document, Section, Table, number, pct, setting_pct, share_pct, size
from lookout.report.forecast import METHOD
from lookout.report.plots import Band, Line, Plot, Threshold, render
from lookout.report.scope import ServiceKey
from lookout.report.sla import ServiceSla, SlaReport

_TIME = "%Y-%m-%d %H:%M"


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else f"{moment:{_TIME}} UTC"


def _slug(key: ServiceKey) -> str:
    """The service's part of its image names, one per service: acme-eu/api and acme/eu-api must not share (and
    overwrite) files. Names hold no dot, so a tenant with a hyphen is followed by one; others keep `tenant-service`."""
    return f"{key.tenant}{'.' if '-' in key.tenant else '-'}{key.service}"


def _period_line(kind: str, report: Any) -> str:
    period = report.period
    line = f"{kind} for {period.label}: {period.start:{_TIME}} to {period.end:{_TIME}} UTC"
    return line + " (the period reaches past now; it ends now)" if period.truncated else line


# ---------------------------------------------------------------------------------------------- SLA
def _sla_row(s: ServiceSla) -> tuple[str, ...]:
    if not s.has_traffic:  # a server down all period has no traffic too: its incidents still count
        return (s.key.tenant, s.key.service, "no traffic", "", "", "", "", "", str(len(s.incidents)))
    latency = "—" if s.latency_compliance is None else share_pct(s.latency_compliance, 2)
    return (
        s.key.tenant,
        s.key.service,
        share_pct(s.availability),
        number(s.downtime_minutes, 1),
        pct(s.budget_consumed, 1),
        pct(s.budget_remaining, 1),
        latency,
        pct(s.error_ratio, 3),
        str(len(s.incidents)),
    )


def _with_plots(
    parts: list[tuple[Section, list[Plot]]], image_format: str, workers: int | None, reuse: bool
) -> list[Section]:
    """The sections with their plots drawn in one batch (spread over the cores when there are many)."""
    images = iter(render([plot for _, plots in parts for plot in plots], image_format, workers, reuse))
    for section, plots in parts:
        section.images += [next(images) for _ in plots]
    return [section for section, _ in parts]


def _coverage(s: ServiceSla) -> str:
    start = "" if s.first_window is None else f"Data from {s.first_window:{_TIME}} UTC: "
    return (
        f"{start}{s.windows:,} of {s.period_windows:,} five-minute windows of the period hold the service's request "
        "rate; downtime and budget minutes count those windows."
    )


def _add_incidents(section: Section, s: ServiceSla) -> None:
    if s.incidents:
        rows = tuple((i.alert, i.priority, _when(i.start), _when(i.end), number(i.minutes, 0)) for i in s.incidents)
        section.tables.append(Table(("alert", "priority", "start", "end", "minutes"), rows))
    else:
        section.paragraphs.append("No alerts fired in the period.")


def _incidents_data(s: ServiceSla) -> list[dict[str, Any]]:
    return [
        {"alert": i.alert, "priority": i.priority, "start": i.start, "end": i.end, "minutes": i.minutes}
        for i in s.incidents
    ]


def _sla_section(report: SlaReport, s: ServiceSla) -> tuple[Section, list[Plot]]:
    section = Section(f"{s.key.tenant} / {s.key.service}")
    if not s.has_traffic:
        section.paragraphs.append("No traffic in the period: no request reached this service, so there is no SLI.")
        _add_incidents(section, s)
        return section, []
    met = "met" if s.availability >= s.objective else "missed"
    section.paragraphs += [
        f"Availability {share_pct(s.availability)} against the objective {setting_pct(s.objective)} ({met}): "
        f"{number(s.failed, 0)} of {number(s.requests, 0)} requests failed on the server's side, "
        f"{number(s.downtime_minutes, 1)} minutes of full outage out of a budget of "
        f"{number(s.budget_minutes, 1)} minutes.",
        _coverage(s),
        f"Error budget consumed {pct(s.budget_consumed, 1)}, remaining {pct(s.budget_remaining, 1)}.",
        f"Latency: p99 at or under {report.latency_p99_threshold * 1000:g} ms in {s.latency_compliant} of "
        f"{s.latency_windows} five-minute windows with traffic"
        + ("." if s.latency_compliance is None else f" ({share_pct(s.latency_compliance, 2)})."),
        f"Error ratio {pct(s.error_ratio, 3)} against the policy {pct(report.error_ratio_threshold, 1)}; "
        f"{s.error_windows_above} five-minute windows above it.",
    ]
    _add_incidents(section, s)
    start = report.period.start.timestamp()
    days, daily = s.daily_availability()
    name = _slug(s.key)
    plots = [
        Plot(
            f"{name}-availability",
            f"{s.key}: availability per day",
            "availability",
            [Line("availability", days, daily, marker="o")],
            [Threshold(f"objective {setting_pct(s.objective)}", s.objective)],
            percent=True,
        ),
        Plot(
            f"{name}-budget",
            f"{s.key}: error budget remaining",
            "budget left",
            [
                Line("remaining", s.hour_ends, s.budget_burn()),
                Line("even burn to the objective", [start, report.period.end.timestamp()], [1.0, 0.0], style="--"),
            ],
            [Threshold("budget exhausted", 0.0)],
            percent=True,
        ),
        Plot(
            f"{name}-p99",
            f"{s.key}: p99 latency, the worst 5-minute window of each hour",
            "seconds",
            [Line("p99", s.hour_ends, s.hourly_p99)],
            [Threshold(f"policy {report.latency_p99_threshold:g} s", report.latency_p99_threshold)],
        ),
    ]
    return section, plots


def sla_document(
    report: SlaReport, image_format: str = "png", workers: int | None = None, reuse: bool = True
) -> Document:
    """``workers`` and ``reuse``: how the plots are drawn (:func:`lookout.report.plots.render`)."""
    headers = (
        "tenant", "service", "availability", "downtime min", "budget consumed", "budget remaining",
        "p99 windows in policy", "error ratio", "incidents",
    )  # fmt: skip
    summary = Section(
        "Summary",
        [
            f"Objective: availability {setting_pct(report.availability_objective)}; p99 at most "
            f"{report.latency_p99_threshold:g} s; error ratio at most {pct(report.error_ratio_threshold, 1)}.",
            "Downtime is the failed share of requests expressed as minutes of full outage in the five-minute windows "
            "of the period that hold data.",
        ],
        [Table(headers, tuple(_sla_row(s) for s in report.services))],
    )
    data = {
        "period": {"start": report.period.start, "end": report.period.end, "label": report.period.label},
        "objective": {
            "availability": report.availability_objective,
            "latency_p99_seconds": report.latency_p99_threshold,
            "error_ratio": report.error_ratio_threshold,
        },
        "queries": report.queries,
        "services": [_sla_data(s) for s in report.services],
    }
    sections = [summary, *_with_plots([_sla_section(report, s) for s in report.services], image_format, workers, reuse)]
    return Document("sla", "Service level report", _period_line("SLA", report), sections, data)


def _sla_data(s: ServiceSla) -> dict[str, Any]:
    data: dict[str, Any] = {"tenant": s.key.tenant, "service": s.key.service, "traffic": s.has_traffic}
    if not s.has_traffic:  # a probe-only target, or a server down all period: no SLI, but its incidents happened
        return data | {"incidents": _incidents_data(s)}
    return data | {
        "requests": s.requests,
        "failed": s.failed,
        "availability": s.availability,
        "downtime_minutes": s.downtime_minutes,
        "budget_minutes": s.budget_minutes,
        "windows": s.windows,
        "period_windows": s.period_windows,
        "data_from": s.first_window,
        "budget_consumed": s.budget_consumed,
        "budget_remaining": s.budget_remaining,
        "latency_windows": s.latency_windows,
        "latency_windows_in_policy": s.latency_compliant,
        "latency_compliance": s.latency_compliance,
        "error_ratio": s.error_ratio,
        "error_windows_above_policy": s.error_windows_above,
        "incidents": _incidents_data(s),
    }


# ---------------------------------------------------------------------------------------------- capacity
def _day(report: CapacityReport, day: float | None) -> str:
    moment = report.date_of(day)
    return "not within the horizon" if moment is None else f"{moment:%Y-%m-%d}"


def _crossing(report: CapacityReport, trend: Trend, horizon_day: float) -> str:
    if trend.fit is None:
        return "peaks on one day only" if np.isfinite(trend.values).any() else "no data"
    if trend.threshold is None:
        return "unknown: no capacity series"
    if trend.crossing_day is None or trend.crossing_day > horizon_day:
        return "not within the horizon"
    return _day(report, trend.crossing_day)


_NO_INTERVAL = "no prediction interval yet: it needs daily peaks on at least three days of the period."
_TOO_YOUNG = "No trend or forecast yet: they need daily peaks on at least two days of the period."


def _capacity_section(report: CapacityReport, s: ServiceCapacity) -> tuple[Section, list[Plot]]:
    section = Section(f"{s.key.tenant} / {s.key.service}")
    if not s.has_traffic:
        section.paragraphs.append("No traffic in the period: there is no request-rate trend to forecast.")
        return section, []
    capacity = "unknown (no capacity series)" if s.capacity_rps is None else f"{number(s.capacity_rps)} req/s"
    limit_text = "unknown" if s.requests.threshold is None else number(s.requests.threshold)
    fit = s.requests.fit
    peak = s.forecast_peak()
    if fit is None or peak is None:  # peaks on one day only, or none: a young stack
        section.paragraphs.append(
            f"Daily peak request rate {number(s.requests.latest or 0.0)} req/s against per-replica capacity "
            f"{capacity} x {s.replicas} replica(s) x policy {pct(s.utilization_threshold, 0)} = {limit_text} req/s. "
            f"{_TOO_YOUNG}"
        )
    else:
        section.paragraphs += [
            f"Daily peak request rate now {number(s.requests.latest or 0.0)} req/s, trend {fit.slope:+.3f} req/s per "
            f"day. Per-replica capacity {capacity} x {s.replicas} replica(s) x policy "
            f"{pct(s.utilization_threshold, 0)} = {limit_text} req/s.",
            (
                "Reaches it: unknown, no capacity series in the period (push a `lookout bench` result or set "
                "alerting.resources.capacity_fallback_rps)."
                if s.requests.threshold is None
                else f"Reaches it: {_crossing(report, s.requests, s.horizon_day)} by the trend, "
                f"{_day(report, s.requests.earliest_crossing_day)} by the upper 95 % bound."
                if peak[1] is not None
                else f"Reaches it: {_crossing(report, s.requests, s.horizon_day)} by the trend; {_NO_INTERVAL}"
            ),
            f"Forecast peak at the end of the horizon {number(peak[0])} req/s (upper bound {number(peak[1])}): "
            f"{s.replicas_needed() or '—'} replica(s) needed."
            if peak[1] is not None
            else f"Forecast peak at the end of the horizon {number(peak[0])} req/s: {s.replicas_needed() or '—'} "
            "replica(s) needed, sized on the trend.",
        ]
    for name, trend in (("CPU", s.cpu), ("Memory", s.memory)):
        if trend.fit is None:
            measured = np.isfinite(trend.values).any()
            section.paragraphs.append(f"{name} utilization: {'peaks on one day only' if measured else 'no data'}.")
            continue
        section.paragraphs.append(
            f"{name} utilization (busiest replica, daily peak) now {pct(trend.latest or 0.0, 1)}, trend "
            f"{trend.fit.slope * 100:+.2f} points per day; reaches the policy {pct(s.utilization_threshold, 0)}: "
            f"{_crossing(report, trend, s.horizon_day)}."
        )
    start = report.period.start.timestamp()
    name = _slug(s.key)
    limit = (
        []
        if s.requests.threshold is None
        else [Threshold(f"{pct(s.utilization_threshold, 0)} of capacity", s.requests.threshold)]
    )
    peaks = Line("daily peak", start + s.requests.days * 86400, s.requests.values, style="", marker="o")
    if fit is None:
        plots = [Plot(f"{name}-forecast", f"{s.key}: daily peak request rate", "req/s", [peaks], limit)]
    else:
        future = np.linspace(float(s.requests.days[0]), s.horizon_day, 200)
        seconds = start + future * 86400
        margin = fit.margin(future)
        predicted = fit.predict(future)
        band = (
            Band("95 % prediction interval", seconds, predicted - margin, predicted + margin)
            if fit.has_interval
            else None
        )
        title = f"{s.key}: daily peak request rate and forecast"
        plots = [
            Plot(
                f"{name}-forecast",
                title,
                "req/s",
                [peaks, Line("trend", seconds, predicted, style="--")],
                limit,
                band,
                legend="best",
            )
        ]
    lines = [
        Line(label, start + trend.days * 86400, trend.values, marker="o")
        for label, trend in (("CPU", s.cpu), ("memory", s.memory))
        if trend.fit is not None
    ]
    if lines:
        plots.append(
            Plot(
                f"{name}-utilization",
                f"{s.key}: CPU and memory utilization (busiest replica, daily peak)",
                "utilization",
                lines,
                [Threshold(f"policy {pct(s.utilization_threshold, 0)}", s.utilization_threshold)],
                percent=True,
            )
        )
    return section, plots


def capacity_document(
    report: CapacityReport, image_format: str = "png", workers: int | None = None, reuse: bool = True
) -> Document:
    """``workers`` and ``reuse``: how the plots are drawn (:func:`lookout.report.plots.render`)."""
    rows = []
    for s in report.services:
        if not s.has_traffic:
            rows.append((s.key.tenant, s.key.service, "no traffic", "", "", "", ""))
            continue
        peak = s.forecast_peak()
        rows.append(
            (
                s.key.tenant,
                s.key.service,
                number(s.requests.latest or 0.0),
                "—" if s.capacity_rps is None else number(s.capacity_rps),
                _crossing(report, s.requests, s.horizon_day),
                "—" if peak is None else f"{number(peak[0])} ({'—' if peak[1] is None else number(peak[1])})",
                f"{s.replicas} → {s.replicas_needed() or '—'}",
            )
        )
    headers = ("tenant", "service", "peak req/s", "capacity req/s per replica", "reaches policy",
               "forecast peak (upper)", "replicas")  # fmt: skip
    summary = Section(
        "Summary",
        [
            f"Forecast method: {METHOD}, over a horizon of {report.horizon.days} days after the period. "
            f"Policy: utilization at most {pct(report.utilization_threshold, 0)} of the benchmarked per-replica "
            "capacity (the `lookout bench` result, else alerting.resources.capacity_fallback_rps).",
        ],
        [Table(headers, tuple(rows))],
    )
    data = {
        "period": {"start": report.period.start, "end": report.period.end},
        "horizon_days": report.horizon / timedelta(days=1),
        "method": METHOD,
        "utilization_threshold": report.utilization_threshold,
        "queries": report.queries,
        "services": [_capacity_data(report, s) for s in report.services],
    }
    sections = [
        summary,
        *_with_plots([_capacity_section(report, s) for s in report.services], image_format, workers, reuse),
    ]
    return Document("capacity", "Capacity report", _period_line("Capacity", report), sections, data)


def _trend_data(report: CapacityReport, trend: Trend, horizon_day: float) -> dict[str, Any]:
    # A nearly flat trend meets the threshold millions of days away, past any date: beyond the horizon is null.
    crossing = trend.crossing_day if trend.crossing_day is not None and trend.crossing_day <= horizon_day else None
    return {
        "latest": trend.latest,
        "slope_per_day": None if trend.fit is None else trend.fit.slope,
        "threshold": trend.threshold,
        "crossing": report.date_of(crossing),
        "earliest_crossing": report.date_of(trend.earliest_crossing_day),
    }


def _capacity_data(report: CapacityReport, s: ServiceCapacity) -> dict[str, Any]:
    peak = s.forecast_peak()
    return {
        "tenant": s.key.tenant,
        "service": s.key.service,
        "traffic": s.has_traffic,
        "capacity_rps": s.capacity_rps,
        "replicas": s.replicas,
        "requests": _trend_data(report, s.requests, s.horizon_day),
        "forecast_peak_rps": None if peak is None else peak[0],
        "forecast_peak_upper_rps": None if peak is None else peak[1],
        "replicas_needed": s.replicas_needed(),
        "cpu": _trend_data(report, s.cpu, s.horizon_day),
        "memory": _trend_data(report, s.memory, s.horizon_day),
    }


# ---------------------------------------------------------------------------------------------- cost
def cost_document(report: CostReport, top: int = 20) -> Document:
    def maybe(value: float | None, render: Any) -> str:
        return "not measured" if value is None else str(render(value))

    usage = Section(
        "Storage",
        [
            f"Active series at {report.at:{_TIME}} UTC: {report.total_series}.",
            f"Samples ingested: {maybe(report.samples_per_second, lambda v: number(v, 1))} per second "
            "(average over the five-minute windows of the period that hold samples).",
            f"Disk: {maybe(report.bytes_per_day, size)} of blocks per day (growth of the persisted blocks); "
            f"WAL {maybe(report.wal_bytes, size)}.",
            f"Retention {report.retention_days:g} days needs {maybe(report.retention_bytes, size)} "
            "(blocks per day x retention + WAL).",
        ],
    )
    families = Section(
        "Active series by tenant, service and metric family",
        tables=[
            Table(
                ("tenant", "service", "family", "series"),
                tuple((f.tenant or "—", f.service or "—", f.family, str(f.series)) for f in report.families[:top]),
            )
        ],
    )
    if len(report.families) > top:
        families.paragraphs.append(f"The {top} largest of {len(report.families)} rows.")
    labels = Section(
        "Labels with the most values over the period",
        tables=[Table(("label", "values"), tuple((c.label, str(c.values)) for c in report.labels))],
    )
    head = report.head.get("headStats", {})
    if head.get("numSeries"):
        top_head = report.head.get("labelValueCountByLabelName", [])[:5]
        listed = ", ".join(f"{item['name']} ({item['value']})" for item in top_head)
        labels.paragraphs.append(f"TSDB head now: {head['numSeries']} series; most label values: {listed}.")
    histograms = Section(
        "Histograms",
        tables=[
            Table(
                ("family", "buckets", "series"),
                tuple((h.family, str(h.buckets), str(h.series)) for h in report.histograms),
            )
        ],
    )
    footprint = Section(
        "Tool-definition footprint",
        [
            "What every model context that loads a server's tools pays on every request: the tool definitions "
            "(names, descriptions, schemas) as the last discover probe of the period measured them; tokens are an "
            "offline estimate."
        ],
    )
    if report.footprints:
        footprint.tables.append(
            Table(
                ("tenant", "service", "tools", "bytes", "tokens (estimate)"),
                tuple(
                    (s.tenant, s.service, "—" if s.tools is None else str(s.tools), str(s.bytes), str(s.tokens))
                    for s in report.footprints
                ),
            )
        )
        footprint.tables.append(
            Table(
                ("tenant", "service", "tool", "bytes"),
                tuple((t.tenant, t.service, t.tool, str(t.bytes)) for t in report.largest_tools),
            )
        )
    else:
        footprint.paragraphs.append("No discover probe measured a server in the period.")
    advice = report.recommendations()
    recommendations = Section("Recommendations", advice or ["Nothing stands out: no label or histogram to trim."])
    data = {
        "period": {"start": report.period.start, "end": report.period.end},
        "at": report.at,
        "total_series": report.total_series,
        "samples_per_second": report.samples_per_second,
        "bytes_per_day": report.bytes_per_day,
        "wal_bytes": report.wal_bytes,
        "retention_days": report.retention_days,
        "retention_bytes": report.retention_bytes,
        "families": [vars(f) for f in report.families],
        "labels": [{"label": c.label, "values": c.values, "families": dict(c.families)} for c in report.labels],
        "histograms": [vars(h) for h in report.histograms],
        "recommendations": advice,
        "queries": report.queries,
        "tool_footprint": {
            "budget_tokens": report.footprint_budget_tokens,
            "servers": [vars(s) for s in report.footprints],
            "largest_tools": [vars(t) for t in report.largest_tools],
        },
    }
    sections = [usage, recommendations, families, labels, histograms, footprint]
    return Document("cost", "Metrics cost report", _period_line("Cost", report), sections, data)
