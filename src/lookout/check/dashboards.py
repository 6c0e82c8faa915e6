"""Dashboard lint, the dashboards' metric contract, and the queries for ``--live``.

Lint (every panel): a title, a datasource that is a dashboard datasource variable, a unit Grafana knows
(:data:`lookout.stack.grafana.units.GRAFANA_UNITS`), targets;
PromQL that parses; counters only inside ``rate``/``irate``/``increase``/``resets``; ``rate`` and
``irate`` over ``$__rate_interval``. Contract: every metric name in every PromQL target is emitted by
Lookout or a deployed third-party component (:func:`lookout.metrics.is_known`) or is a recording rule
defined in ``prometheus/rules/*.yml``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import promql_parser as pp
from ruamel.yaml import YAML

from lookout import metrics
from lookout.check.findings import Finding
from lookout.stack.grafana.units import GRAFANA_UNITS

CHECK_LINT: Final = "dashboards"
CHECK_CONTRACT: Final = "dashboard-contract"
DASHBOARDS_DIR: Final = "grafana/dashboards"
RULES_DIR: Final = "prometheus/rules"
MIN_SCHEMA_VERSION: Final = 39  # Grafana 11.0
NO_UNIT_PANELS: Final = frozenset({"logs", "text", "row"})
COUNTER_FUNCTIONS: Final = frozenset({"rate", "irate", "increase", "resets"})
RATE_FUNCTIONS: Final = frozenset({"rate", "irate"})
COUNTER_SUFFIXES: Final = ("_total", "_bucket", "_count", "_sum")
TENANT_TAG: Final = "tenant:"
"""Tag of the dashboards in a tenant's folder; they must offer these variables."""
TENANT_VARIABLES: Final = (metrics.TENANT, metrics.SERVICE, metrics.INSTANCE)
_LABEL_VALUES_RE: Final = re.compile(r"^label_values\((?P<expr>.+),\s*\w+\)$")
# While linting, $__rate_interval becomes this unusual duration so a parsed range can be traced back to it.
_RATE_INTERVAL_SENTINEL: Final = timedelta(seconds=4321)
# Names only: `$1` in label_replace() is a regex group, not a variable.
_VARIABLE_RE: Final = re.compile(r"\$\{([A-Za-z_]\w*)(?::\w+)?\}|\$([A-Za-z_]\w*)")


@dataclass(frozen=True)
class PanelTarget:
    file: str
    panel: str
    ref_id: str
    datasource_type: str
    expr: str
    variables: Mapping[str, str]
    """The dashboard's variables with their default values (multi-value "All" becomes ``.*``)."""

    @property
    def reference(self) -> str:
        return f"{self.file}: {self.panel} [{self.ref_id}]"


def _dashboard_files(stack_dir: Path) -> list[Path]:
    return sorted((stack_dir / DASHBOARDS_DIR).rglob("*.json"))


def _variable_defaults(dashboard: Mapping[str, Any]) -> dict[str, str]:
    defaults = {}
    for var in dashboard.get("templating", {}).get("list", []):
        current = var.get("current") or {}
        value = current.get("value", "")
        if isinstance(value, list):
            value = value[0] if value else ""
        if value in ("", "$__all") and var.get("type") != "datasource":
            value = var.get("allValue") or ".*"
        defaults[var["name"]] = str(value)
    return defaults


def _panels(dashboard: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows keep their panels inside


def iter_targets(stack_dir: Path) -> Iterator[PanelTarget]:
    for path in _dashboard_files(stack_dir):
        rel = str(path.relative_to(stack_dir))
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        defaults = _variable_defaults(dashboard)
        for panel in _panels(dashboard):
            ds_type = (panel.get("datasource") or {}).get("type", "")
            for target in panel.get("targets", []):
                yield PanelTarget(
                    rel,
                    panel.get("title", "?"),
                    target.get("refId", "?"),
                    (target.get("datasource") or {}).get("type", ds_type),
                    target.get("expr", ""),
                    defaults,
                )


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """Replace Grafana variables (``$name``, ``${name}``) by ``values``; unknown ones stay as they are."""

    def repl(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return _VARIABLE_RE.sub(repl, expr)


def builtin_values(rate_interval: str = "1m", range_: str = "1h", interval: str = "15s") -> dict[str, str]:
    return {"__rate_interval": rate_interval, "__range": range_, "__interval": interval, "__auto": interval}


def dashboard_queries(
    stack_dir: Path,
    tenant: str | None = None,
    service: str | None = None,
    instance: str | None = None,
    rate_interval: str = "1m",
    range_: str = "1h",
) -> list[tuple[str, str]]:
    """``(panel reference, PromQL)`` of every Prometheus target, template variables substituted.

    A variable left as None keeps the dashboard's default (its tenant; ``.*`` for "All").
    """
    overrides = {
        name: value
        for name, value in (
            (metrics.TENANT, tenant),
            (metrics.SERVICE, service),
            (metrics.INSTANCE, instance),
        )
        if value is not None
    }
    queries = []
    for target in iter_targets(stack_dir):
        if target.datasource_type != "prometheus":
            continue
        values = {**target.variables, **overrides, **builtin_values(rate_interval, range_)}
        queries.append((target.reference, substitute(target.expr, values)))
    return queries


def query_tenants(stack_dir: Path) -> dict[str, str]:
    """The tenant each panel reference's dashboard shows (its ``tenant`` variable's value); fleet-wide
    dashboards have none."""
    return {
        target.reference: target.variables[metrics.TENANT]
        for target in iter_targets(stack_dir)
        if metrics.TENANT in target.variables
    }


# ---------------------------------------------------------------- PromQL walking


@dataclass(frozen=True)
class _Selector:
    name: str
    counter_ok: bool


def _selector_name(selector: pp.VectorSelector) -> str:
    if selector.name:
        return selector.name
    return next((mt.value for mt in selector.matchers.matchers if mt.name == "__name__"), "")


def _walk(expr: Any, problems: list[str], names: list[_Selector], counter_ok: bool = False) -> None:
    if isinstance(expr, pp.VectorSelector):
        names.append(_Selector(_selector_name(expr), counter_ok))
    elif isinstance(expr, pp.MatrixSelector):
        _walk(expr.vector_selector, problems, names, counter_ok)
    elif isinstance(expr, pp.Call):
        func = expr.func.name
        for arg in expr.args:
            if func in RATE_FUNCTIONS and isinstance(arg, pp.MatrixSelector) and arg.range != _RATE_INTERVAL_SENTINEL:
                problems.append(f"{func}() over a fixed range: use [$__rate_interval]")
            _walk(arg, problems, names, func in COUNTER_FUNCTIONS)
    elif isinstance(expr, pp.AggregateExpr):
        _walk(expr.expr, problems, names)
        if isinstance(expr.param, pp.Expr):
            _walk(expr.param, problems, names)
    elif isinstance(expr, pp.BinaryExpr):
        _walk(expr.lhs, problems, names)
        _walk(expr.rhs, problems, names)
    elif isinstance(expr, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        _walk(expr.expr, problems, names)


def analyse(expr: str, variables: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """``(problems, metric names)`` of one PromQL target (with Grafana variables in it)."""
    values = {**variables, **builtin_values(rate_interval=f"{int(_RATE_INTERVAL_SENTINEL.total_seconds())}s")}
    concrete = substitute(expr, values)
    leftover = sorted({m.group(0) for m in _VARIABLE_RE.finditer(concrete)})
    if leftover:
        return [f"unknown template variable(s) {', '.join(leftover)}"], []
    try:
        parsed = pp.parse(concrete)
    except Exception as exc:  # promql_parser raises a bare ValueError/RuntimeError with the parser's message
        return [f"PromQL does not parse: {exc}"], []
    problems: list[str] = []
    selectors: list[_Selector] = []
    _walk(parsed, problems, selectors)
    for sel in selectors:
        if sel.name.endswith(COUNTER_SUFFIXES) and not sel.counter_ok:
            problems.append(f"counter {sel.name} outside rate()/increase()")
    return problems, [s.name for s in selectors if s.name]


# ---------------------------------------------------------------- lint


def has_exemplar(node: Any) -> bool:
    """Whether a dashboard (or any part of its JSON) asks Prometheus for exemplars: the stack must store them."""
    if isinstance(node, dict):
        return node.get("exemplar") is True or any(has_exemplar(v) for v in node.values())
    if isinstance(node, list):
        return any(has_exemplar(v) for v in node)
    return False


def _units(panel: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every unit id a panel sets: field defaults, overrides, a heatmap's y axis."""
    field_config = panel.get("fieldConfig") or {}
    if field_config.get("defaults", {}).get("unit"):
        yield "fieldConfig.defaults.unit", str(field_config["defaults"]["unit"])
    for override in field_config.get("overrides", []):
        for prop in override.get("properties", []):
            if prop.get("id") == "unit" and prop.get("value"):
                yield "fieldConfig.overrides", str(prop["value"])
    y_axis = (panel.get("options") or {}).get("yAxis") or {}
    if y_axis.get("unit"):
        yield "options.yAxis.unit", str(y_axis["unit"])


def _lint_panel(panel: Mapping[str, Any], datasource_vars: set[str]) -> list[str]:
    kind = panel.get("type", "")
    if kind == "row":
        return []
    problems = []
    if not str(panel.get("title", "")).strip():
        problems.append("panel without a title")
    uid = str((panel.get("datasource") or {}).get("uid", ""))
    match = re.fullmatch(r"\$\{(\w+)\}|\$(\w+)", uid)
    if not match or (match.group(1) or match.group(2)) not in datasource_vars:
        problems.append(f"datasource {uid or 'missing'!r} is not a datasource variable of the dashboard")
    if kind not in NO_UNIT_PANELS and not (panel.get("fieldConfig") or {}).get("defaults", {}).get("unit"):
        problems.append("no unit (fieldConfig.defaults.unit)")
    for where, unit in _units(panel):
        if unit not in GRAFANA_UNITS:
            problems.append(f"unit {unit!r} ({where}) is not a Grafana unit id: use one of GRAFANA_UNITS")
    targets = panel.get("targets") or []
    if not targets or not all(str(t.get("expr", "")).strip() for t in targets):
        problems.append("no targets (or a target without an expression)")
    return problems


def _lint_dashboard(rel: str, dashboard: Mapping[str, Any]) -> list[Finding]:
    findings = []
    if int(dashboard.get("schemaVersion", 0)) < MIN_SCHEMA_VERSION:
        findings.append(Finding(CHECK_LINT, rel, f"schemaVersion below {MIN_SCHEMA_VERSION}: regenerate"))
    for key in ("uid", "title"):
        if not dashboard.get(key):
            findings.append(Finding(CHECK_LINT, rel, f"dashboard without {key}"))
    variables = dashboard.get("templating", {}).get("list", [])
    datasource_vars = {v["name"] for v in variables if v.get("type") == "datasource"}
    if not datasource_vars:
        findings.append(Finding(CHECK_LINT, rel, "no datasource template variable"))
    if any(str(tag).startswith(TENANT_TAG) for tag in dashboard.get("tags", [])):
        missing = [v for v in TENANT_VARIABLES if v not in {var.get("name") for var in variables}]
        if missing:
            findings.append(Finding(CHECK_LINT, rel, f"tenant dashboard without variable(s) {', '.join(missing)}"))
    for panel in _panels(dashboard):
        title = panel.get("title") or f"panel {panel.get('id', '?')}"
        for problem in _lint_panel(panel, datasource_vars):
            findings.append(Finding(CHECK_LINT, rel, f"{title}: {problem}"))
    return findings


def check_dashboards(stack_dir: Path) -> list[Finding]:
    """Lint every dashboard JSON under ``grafana/dashboards``."""
    files = _dashboard_files(stack_dir)
    if not files:
        return [Finding(CHECK_LINT, DASHBOARDS_DIR, "no dashboards generated")]
    findings: list[Finding] = []
    for path in files:
        rel = str(path.relative_to(stack_dir))
        try:
            dashboard = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            findings.append(Finding(CHECK_LINT, rel, f"not JSON: {exc}"))
            continue
        findings += _lint_dashboard(rel, dashboard)
    for target in iter_targets(stack_dir):
        if target.datasource_type == "prometheus":
            problems, _ = analyse(target.expr, target.variables)
            findings += [Finding(CHECK_LINT, target.file, f"{target.panel} [{target.ref_id}]: {p}") for p in problems]
    return findings


# ---------------------------------------------------------------- metric contract


def recording_rule_names(stack_dir: Path) -> frozenset[str]:
    """Names recorded by the generated rule files (the recording rules of the stack)."""
    yaml = YAML(typ="safe", pure=True)
    names = set()
    for path in sorted((stack_dir / RULES_DIR).glob("*.yml")):
        data = yaml.load(path.read_text(encoding="utf-8")) or {}
        for group in data.get("groups", []):
            names |= {rule["record"] for rule in group.get("rules", []) if "record" in rule}
    return frozenset(names)


def _variable_selectors(stack_dir: Path) -> Iterator[PanelTarget]:
    """The series selectors of ``label_values(<selector>, label)`` query variables, as targets."""
    for path in _dashboard_files(stack_dir):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        defaults = _variable_defaults(dashboard)
        for var in dashboard.get("templating", {}).get("list", []):
            match = _LABEL_VALUES_RE.match(str(var.get("query", ""))) if var.get("type") == "query" else None
            if match:
                rel = str(path.relative_to(stack_dir))
                yield PanelTarget(rel, f"variable {var['name']}", "query", "prometheus", match["expr"], defaults)


def check_dashboard_contract(stack_dir: Path) -> list[Finding]:
    """Every metric name a dashboard queries (panels and variables) is emitted by something the stack deploys."""
    recorded = recording_rule_names(stack_dir)
    findings = []
    for target in [*iter_targets(stack_dir), *_variable_selectors(stack_dir)]:
        if target.datasource_type != "prometheus":
            continue
        _, names = analyse(target.expr, target.variables)
        for name in sorted(set(names)):
            if not metrics.is_known(name) and name not in recorded:
                findings.append(
                    Finding(
                        CHECK_CONTRACT,
                        target.file,
                        f"{target.panel} [{target.ref_id}]: {name} is emitted by nothing the stack deploys",
                    )
                )
    return findings
