"""The dashboard spec model: what a panel shows, independent of how Grafana encodes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PanelKind(StrEnum):
    TIMESERIES = "timeseries"
    STAT = "stat"
    HEATMAP = "heatmap"
    TABLE = "table"
    LOGS = "logs"


class QueryLanguage(StrEnum):
    PROMQL = "promql"
    LOGQL = "logql"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False
    language: QueryLanguage = QueryLanguage.PROMQL


@dataclass(frozen=True)
class Panel:
    title: str
    kind: PanelKind
    unit: str
    queries: tuple[Query, ...]
    description: str = ""
    width: int = 12
    height: int = 8
    policy_line: float | None = None
    """Draw a threshold line (and colour stats) at this value: the policy the panel is judged by."""
    good_above: bool = False
    """True when values above ``policy_line`` are good (availability, budget left); red is then below it."""
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: str
    description: str
    rows: tuple[Row, ...]
    tags: tuple[str, ...] = ()
    logs: bool = False
    """Needs a Loki datasource variable besides the Prometheus one."""
    variables: tuple[str, ...] = field(default=("tenant", "service", "instance"))
