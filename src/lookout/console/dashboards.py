"""The generated Grafana dashboards, as the console draws them.

One catalog: the console reads the dashboard JSON models that ``lookout generate`` writes for Grafana
(:func:`lookout.stack.grafana.dashboards`, as data) and keeps what a panel needs — type, title, queries,
unit, thresholds, size, the explanation it shows without data — plus the template variables. No second list of
queries exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from lookout.config.model import Config

LABEL_VALUES: Final = re.compile(r"^label_values\((?P<match>.*),\s*(?P<label>[A-Za-z_][A-Za-z0-9_]*)\)$", re.S)
SUPPORTED_PANELS: Final = frozenset({"timeseries", "stat", "gauge", "table", "heatmap", "barchart", "bargauge"})


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    fixed: str | None
    """The one value of a custom variable (the dashboard's tenant); None for a query variable."""
    label_name: str = ""
    match: str = ""
    """``label_values(match, label_name)``: the selector whose label values are the options."""
    include_all: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "fixed": self.fixed,
            "labelName": self.label_name,
            "match": self.match,
            "includeAll": self.include_all,
        }


@dataclass(frozen=True)
class ConsoleDashboard:
    uid: str
    title: str
    folder: str
    slug: str
    description: str
    variables: tuple[Variable, ...]
    panels: tuple[dict[str, Any], ...]
    """Rows (``{"type": "row", "title"}``) and panels in Grafana's order, in the shape console.js draws."""
    time_from: str
    refresh: str

    @property
    def tenant(self) -> str | None:
        return next((v.fixed for v in self.variables if v.fixed is not None), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "variables": [v.as_json() for v in self.variables],
            "panels": list(self.panels),
            "timeFrom": self.time_from,
            "refresh": self.refresh,
        }


def _thresholds(defaults: dict[str, Any]) -> list[dict[str, Any]]:
    steps = defaults.get("thresholds", {}).get("steps", [])
    return [{"value": step.get("value"), "color": step.get("color", "")} for step in steps]


def _panel(raw: dict[str, Any]) -> dict[str, Any]:
    kind = raw.get("type", "")
    if kind == "row":
        return {"type": "row", "title": raw.get("title", "")}
    defaults = raw.get("fieldConfig", {}).get("defaults", {})
    targets = [
        {
            "expr": target.get("expr", ""),
            "legend": "" if target.get("legendFormat") in (None, "__auto") else target["legendFormat"],
            "instant": bool(target.get("instant")) or target.get("format") == "table",
            "format": target.get("format", "time_series"),
            "refId": target.get("refId", ""),
        }
        for target in raw.get("targets", [])
    ]
    language = raw.get("datasource", {}).get("type", "prometheus")
    panel: dict[str, Any] = {
        "id": raw.get("id"),
        "type": kind,
        "title": raw.get("title", ""),
        "description": raw.get("description", ""),
        "unit": defaults.get("unit", "none") or "none",
        "min": defaults.get("min"),
        "max": defaults.get("max"),
        "thresholds": _thresholds(defaults),
        "width": raw.get("gridPos", {}).get("w", 12),
        "height": raw.get("gridPos", {}).get("h", 8),
        "targets": targets,
        # What the panel needs when it has no data (a Lookout extension series): said instead of an empty chart.
        "noValue": str(defaults.get("noValue") or ""),
    }
    if language != "prometheus":
        panel["unsupported"] = (
            f"This panel queries {language.capitalize()}, which the native stack does not run: "
            "it shows data in Grafana of the compose or Kubernetes stacks."
        )
    elif kind not in SUPPORTED_PANELS:
        panel["unsupported"] = f"Panel type {kind} is drawn by Grafana only."
    return panel


def _variable(raw: dict[str, Any]) -> Variable | None:
    kind = raw.get("type")
    if kind == "custom":
        value = str(raw.get("current", {}).get("value") or raw.get("query", ""))
        return Variable(raw["name"], raw.get("label", raw["name"]), value, include_all=False)
    if kind == "query":
        found = LABEL_VALUES.match(str(raw.get("query", "")).strip())
        if found is None:
            return None
        return Variable(
            raw["name"],
            raw.get("label", raw["name"]),
            None,
            found["label"],
            found["match"].strip(),
            bool(raw.get("includeAll", True)),
        )
    return None  # datasource variables: the console has one Prometheus


def from_grafana(folder: str, slug: str, model: dict[str, Any]) -> ConsoleDashboard:
    """The console's view of one generated Grafana dashboard (its JSON model, as a dict)."""
    variables = tuple(v for raw in model.get("templating", {}).get("list", []) if (v := _variable(raw)) is not None)
    return ConsoleDashboard(
        uid=str(model["uid"]),
        title=str(model.get("title", "")),
        folder=folder,
        slug=slug,
        description=str(model.get("description", "")),
        variables=variables,
        panels=tuple(_panel(raw) for raw in model.get("panels", [])),
        time_from=str(model.get("time", {}).get("from", "now-6h")),
        refresh=str(model.get("refresh", "30s") or ""),
    )


def load_dashboards(config: Config) -> dict[str, ConsoleDashboard]:
    """Every dashboard of the generated catalog for ``config``, by uid, in catalog order."""
    from lookout.stack.grafana import DASHBOARDS_DIR
    from lookout.stack.grafana import dashboards as grafana_dashboards

    dashboards: dict[str, ConsoleDashboard] = {}
    for path, model in grafana_dashboards(config).items():
        folder, _, name = path.removeprefix(f"{DASHBOARDS_DIR}/").partition("/")
        dashboard = from_grafana(folder, name.removesuffix(".json"), model)
        dashboards[dashboard.uid] = dashboard
    return dashboards
