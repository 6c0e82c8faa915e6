"""The metric contract for rules: every metric name that a generated rule queries is emitted by Lookout
(:mod:`lookout.metrics`), by a third-party component the stack deploys, or recorded by a rule of the stack."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import promql_parser as pp
from ruamel.yaml import YAML

from lookout import metrics
from lookout.check.findings import Finding
from lookout.stack import naming

CHECK: Final = "contract"


@dataclass(frozen=True)
class RuleExpr:
    file: str
    name: str
    """``record`` or ``alert`` name."""
    expr: str
    recording: bool


def iter_rules(stack_dir: Path) -> Iterator[RuleExpr]:
    yaml = YAML(typ="safe", pure=True)
    for path in sorted((stack_dir / naming.RULES_DIR).glob("*.yml")):
        data = yaml.load(path.read_text(encoding="utf-8")) or {}
        rel = str(path.relative_to(stack_dir))
        for group in data.get("groups") or []:
            for rule in group.get("rules") or []:
                recording = "record" in rule
                yield RuleExpr(rel, rule["record"] if recording else rule["alert"], str(rule["expr"]), recording)


def recorded_names(stack_dir: Path) -> frozenset[str]:
    return frozenset(rule.name for rule in iter_rules(stack_dir) if rule.recording)


def _selector_name(selector: Any) -> str:
    if selector.name:
        return str(selector.name)
    return next((str(mt.value) for mt in selector.matchers.matchers if mt.name == "__name__"), "")


def metric_names(expr: str) -> list[str]:
    """Every metric name selected anywhere in ``expr`` (raises ValueError when it does not parse)."""
    try:
        tree = pp.parse(expr)
    except Exception as exc:  # the parser raises bare ValueError/RuntimeError with its message
        raise ValueError(str(exc)) from None
    names: list[str] = []
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, pp.VectorSelector):
            names.append(_selector_name(node))
        elif isinstance(node, pp.MatrixSelector):
            stack.append(node.vector_selector)
        elif isinstance(node, pp.Call):
            stack.extend(node.args)
        elif isinstance(node, pp.AggregateExpr):
            stack.append(node.expr)
            if isinstance(node.param, pp.Expr):
                stack.append(node.param)
        elif isinstance(node, pp.BinaryExpr):
            stack += [node.lhs, node.rhs]
        elif isinstance(node, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
            stack.append(node.expr)
    return sorted({n for n in names if n})


def check_rule_contract(stack_dir: Path) -> list[Finding]:
    recorded = recorded_names(stack_dir)
    findings = []
    for rule in iter_rules(stack_dir):
        try:
            names = metric_names(rule.expr)
        except ValueError as exc:
            findings.append(Finding(CHECK, rule.file, f"{rule.name}: PromQL does not parse: {exc}"))
            continue
        for name in names:
            if not metrics.is_known(name) and name not in recorded:
                findings.append(
                    Finding(CHECK, rule.file, f"{rule.name}: {name} is emitted by nothing the stack deploys")
                )
    return findings
