"""The cost report: what the fleet's metrics cost Prometheus — active series per tenant, service and metric
family, the labels with the most values, samples ingested per second, bytes on disk per day measured from the
TSDB, the disk the configured retention needs — and concrete ways to spend less; and what the servers' tool
definitions cost every model context that loads them (the discover probes' footprint), ranked."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from lookout import metrics as m
from lookout.config.model import Config, duration_seconds
from lookout.report.errors import ReportError
from lookout.report.period import Period
from lookout.report.prom import PromClient

LABEL_VALUES_LIMIT = 100
"""A label with more values than this over the period is a candidate to drop (ids, paths, user names)."""
HISTOGRAM_BUCKETS_LIMIT = len(m.OPERATION_BUCKETS) + 1
"""Lookout's own latency histogram (its boundaries plus +Inf) resolves the p99 policy; more is a candidate to trim."""
STRUCTURAL_LABELS = frozenset({"__name__", "le", "quantile", m.INSTANCE, m.JOB, m.TENANT, m.SERVICE})
"""Labels a report never recommends dropping: they identify where a series comes from or a histogram's shape."""
_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created", "_info")
_FAMILY_OF = {series: spec.name for spec in m.ALL for series in spec.series_names}


def family_of(series_name: str) -> str:
    """The metric family a series name belongs to (``x_bucket`` → ``x``)."""
    if series_name in _FAMILY_OF:
        return _FAMILY_OF[series_name]
    for suffix in _SUFFIXES:
        if series_name.endswith(suffix):
            return series_name.removesuffix(suffix)
    return series_name


@dataclass(frozen=True)
class FamilySeries:
    tenant: str
    service: str
    family: str
    series: int


@dataclass(frozen=True)
class LabelCardinality:
    label: str
    values: int
    families: tuple[tuple[str, int], ...] = ()
    """(family, series carrying the label) at the report's end, most first."""


@dataclass(frozen=True)
class Histogram:
    family: str
    buckets: int
    series: int


@dataclass(frozen=True)
class ServerFootprint:
    """A server's tool definitions, as its discover probes last measured them in the period."""

    tenant: str
    service: str
    bytes: int
    tokens: int
    tools: int | None


@dataclass(frozen=True)
class ToolDefinitionSize:
    tenant: str
    service: str
    tool: str
    """A tool's name, or ``_OTHER`` for the tools beyond the discover module's ``max_tool_series``."""
    bytes: int


def _last(spec: m.MetricSpec, by: str, seconds: int) -> str:
    return f'max by ({by}) (last_over_time({spec.name}{{{m.SERVICE}!=""}}[{seconds}s]))'


def footprint_ranking(
    client: PromClient, at: datetime, seconds: int, top: int = 10
) -> tuple[list[ServerFootprint], list[ToolDefinitionSize]]:
    """Servers by the tokens of their tool definitions (largest first) and the ``top`` largest tool definitions,
    from the last discover probe within ``seconds`` before ``at``."""
    by = f"{m.TENANT}, {m.SERVICE}"

    def per_server(spec: m.MetricSpec) -> dict[tuple[str, str], float]:
        return {(s.get(m.TENANT, ""), s.get(m.SERVICE, "")): v for s, v in client.instant(_last(spec, by, seconds), at)}

    sizes = per_server(m.PROBE_TOOLS_DEFINITION_BYTES)
    tokens = per_server(m.PROBE_TOOLS_DEFINITION_TOKENS)
    counts = per_server(m.PROBE_TOOLS)
    servers = sorted(
        (
            ServerFootprint(
                tenant,
                service,
                int(size),
                int(tokens.get((tenant, service), 0)),
                int(counts[(tenant, service)]) if (tenant, service) in counts else None,
            )
            for (tenant, service), size in sizes.items()
        ),
        key=lambda s: (-s.tokens, -s.bytes, s.tenant, s.service),
    )
    largest = client.instant(
        f"topk({top}, {_last(m.PROBE_TOOL_DEFINITION_BYTES, f'{by}, {m.TOOL_NAME}', seconds)})", at
    )
    tools = sorted(
        (
            ToolDefinitionSize(s.get(m.TENANT, ""), s.get(m.SERVICE, ""), s.get(m.TOOL_NAME, ""), int(v))
            for s, v in largest
        ),
        key=lambda t: (-t.bytes, t.tenant, t.service, t.tool),
    )
    return servers, tools


@dataclass
class CostReport:
    period: Period
    at: datetime
    families: list[FamilySeries]
    labels: list[LabelCardinality]
    histograms: list[Histogram]
    samples_per_second: float | None
    bytes_per_day: float | None
    wal_bytes: float | None
    retention_days: float
    head: dict[str, Any] = field(default_factory=dict)
    queries: int = 0
    footprints: list[ServerFootprint] = field(default_factory=list)
    largest_tools: list[ToolDefinitionSize] = field(default_factory=list)
    footprint_budget_tokens: int = 0
    """``alerting.tool_footprint.max_tokens``: servers above it are worth shortening."""

    @property
    def total_series(self) -> int:
        return sum(f.series for f in self.families)

    @property
    def retention_bytes(self) -> float | None:
        if self.bytes_per_day is None:
            return None
        return self.bytes_per_day * self.retention_days + (self.wal_bytes or 0.0)

    def recommendations(self) -> list[str]:
        advice = []
        for label in self.labels:
            if label.values <= LABEL_VALUES_LIMIT or label.label in STRUCTURAL_LABELS:
                continue
            for family, series in label.families:
                advice.append(
                    f"Drop label {label.label!r} from {family} ({label.values} values over the period, {series} "
                    f"active series): a labeldrop in its scrape job's metric_relabel_configs, or stop setting it."
                )
        for histogram in self.histograms:
            if histogram.buckets > HISTOGRAM_BUCKETS_LIMIT:
                saved = histogram.series - histogram.series * HISTOGRAM_BUCKETS_LIMIT // histogram.buckets
                advice.append(
                    f"Trim the buckets of histogram {histogram.family}: {histogram.buckets} buckets in "
                    f"{histogram.series} series; {HISTOGRAM_BUCKETS_LIMIT} (Lookout's latency histogram) would save "
                    f"about {saved} series."
                )
        for server in self.footprints:
            if self.footprint_budget_tokens and server.tokens > self.footprint_budget_tokens:
                advice.append(
                    f"Shorten the tool definitions of {server.tenant}/{server.service}: about {server.tokens} tokens "
                    f"in every model context that loads them, above the {self.footprint_budget_tokens} of "
                    "alerting.tool_footprint.max_tokens (runbook MCPToolDefinitionsFootprintHigh)."
                )
        return advice


def _sum_at(client: PromClient, expr: str, at: datetime) -> float | None:
    result = client.instant(expr, at)
    return result[0][1] if result else None


def _growth_per_day(client: PromClient, period: Period) -> float | None:
    """Bytes the persisted blocks grew per day over the period (first to last sample of their size)."""
    series = client.range(f"sum({m.PROMETHEUS_BLOCKS_BYTES})", period.start, period.end, 3600)
    if not series or series[0].times.size < 2:
        return None
    times, values = series[0].times, series[0].values
    growth = float(values[-1] - values[0]) / float(times[-1] - times[0]) * 86400
    if growth > 0:
        return growth
    # Retention already deletes as much as compaction adds: the blocks hold the whole retention.
    covered = min(period.seconds, float(times[-1] - times[0])) / 86400
    return float(np.max(values)) / covered if covered else None


def cost_report(client: PromClient, config: Config, period: Period, top: int = 10) -> CostReport:
    before = client.queries
    at = period.end
    by = f"__name__, {m.TENANT}, {m.SERVICE}"
    counted: dict[tuple[str, str, str], int] = defaultdict(int)
    for labels, value in client.instant(f'count by ({by}) ({{__name__=~".+"}})', at):
        family = family_of(labels.get("__name__", ""))
        counted[(labels.get(m.TENANT, ""), labels.get(m.SERVICE, ""), family)] += int(value)
    families = sorted(
        (FamilySeries(t, s, f, n) for (t, s, f), n in counted.items()),
        key=lambda f: (-f.series, f.tenant, f.service, f.family),
    )
    seconds = int(period.seconds)
    # The mean of the 5-minute rates over the windows that hold samples: a rate over the whole period would spread
    # the appends over the part of it before the history (or after the stack stopped). The subquery is one second
    # short: Prometheus 2 includes its first step, which belongs to the window before.
    samples_rate = f"rate({m.PROMETHEUS_SAMPLES_APPENDED}[5m])"
    samples = _sum_at(client, f"sum(avg_over_time({samples_rate}[{seconds - 1}s:5m]))", at)
    if samples is None and not families:
        raise ReportError(
            f"no data: Prometheus at {client.url} recorded no {m.PROMETHEUS_SAMPLES_APPENDED} and holds no series "
            f"from {period.start:%Y-%m-%d %H:%M} to {period.end:%Y-%m-%d %H:%M} UTC: is it the stack of this "
            "lookout.yaml (--prometheus), and was it running then (--from)?"
        )
    values = {
        label: len(client.label_values(label, period.start, at))
        for label in client.label_names(period.start, at)
        if label != "__name__"
    }
    ranked = sorted(values.items(), key=lambda item: (-item[1], item[0]))[:top]
    cardinality = []
    for label, count in ranked:
        carriers: tuple[tuple[str, int], ...] = ()
        if count > LABEL_VALUES_LIMIT and label not in STRUCTURAL_LABELS:
            per_family: dict[str, int] = defaultdict(int)
            for found, n in client.instant(f'count by (__name__) ({{{label}!=""}})', at):
                per_family[family_of(found.get("__name__", ""))] += int(n)
            carriers = tuple(sorted(per_family.items(), key=lambda item: (-item[1], item[0])))
        cardinality.append(LabelCardinality(label, count, carriers))
    buckets = client.instant('count by (__name__) (count by (__name__, le) ({__name__=~".+_bucket"}))', at)
    series_of = {f: 0 for f in {f.family for f in families}}
    for f in families:
        series_of[f.family] += f.series
    histograms = sorted(
        (
            Histogram(family_of(b.get("__name__", "")), int(n), series_of.get(family_of(b.get("__name__", "")), 0))
            for b, n in buckets
        ),
        key=lambda h: (-h.buckets, h.family),
    )
    footprints, largest_tools = footprint_ranking(client, at, seconds, top)
    return CostReport(
        period,
        at,
        families,
        cardinality,
        histograms,
        samples,
        _growth_per_day(client, period),
        _sum_at(client, f"sum({m.PROMETHEUS_WAL_BYTES})", at),
        duration_seconds(config.retention.metrics) / 86400,
        client.tsdb_status(),
        client.queries - before,
        footprints,
        largest_tools,
        config.alerting.tool_footprint.max_tokens,
    )
