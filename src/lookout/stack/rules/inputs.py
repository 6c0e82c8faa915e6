"""Which metric series a query reads and needs, through the recording rules: a dashboard panel or an alert that
reads a recorded series reads what that rule reads.

A query *has data* for a set of emitters when its result can be non-empty with only their series present:
``A or B`` when either side has (the rules' fallbacks: Lookout's primed error counter, else the convention
histogram; a process's own limit, else lookout.yaml's), ``A unless B`` when A has, ``A and B`` and arithmetic
between two vectors when both have; a function or an aggregation when its arguments have; literals, ``vector()``,
``time()`` and ``absent()`` always have a value. A query *needs* the Lookout extension series it reads when it has
no data on the OpenTelemetry MCP convention's series (and third-party ones) alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any, Final

import promql_parser as pp

from lookout import metrics as m
from lookout.config.model import Config
from lookout.stack.rules.recording import recording_groups

Available = Callable[[str], bool]
"""Whether the emitters in question export a series (by name)."""

ALWAYS_A_VALUE: Final = frozenset({"vector", "time", "absent", "absent_over_time", "pi"})
"""Functions whose result does not depend on any series being present."""
# Grafana's interval variables stand where PromQL wants a duration; the value does not change what is read.
_INTERVALS: Final = re.compile(r"\$\{?__(?:rate_interval|range|interval|auto)\}?")


def convention_only(series: str) -> bool:
    """What a server instrumented by an OpenTelemetry SDK exports, plus what the stack itself deploys."""
    return not m.is_extension(series)


@lru_cache(maxsize=4096)  # every tenant's dashboards repeat the same queries
def _parse(expr: str) -> Any:
    try:
        return pp.parse(_INTERVALS.sub("5m", expr))
    except Exception as exc:  # the parser raises a bare ValueError/RuntimeError with its message
        raise ValueError(f"PromQL does not parse ({exc}): {expr}") from None


def _selector_name(selector: Any) -> str:
    if selector.name:
        return str(selector.name)
    return next((str(mt.value) for mt in selector.matchers.matchers if mt.name == "__name__"), "")


def _is_scalar(node: Any) -> bool:
    if isinstance(node, pp.NumberLiteral | pp.StringLiteral):
        return True
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr):
        return _is_scalar(node.expr)
    if isinstance(node, pp.Call):
        return bool(node.func.return_type == pp.ValueType.Scalar)
    if isinstance(node, pp.BinaryExpr):
        return _is_scalar(node.lhs) and _is_scalar(node.rhs)
    return False


class Inputs:
    """The series that queries read, recorded series resolved through ``recorded`` (record name -> the
    expressions recorded under it: a name recorded once per target has one rule each)."""

    def __init__(self, recorded: Mapping[str, Iterable[str]]) -> None:
        self._recorded = {name: tuple(_parse(expr) for expr in exprs) for name, exprs in recorded.items()}

    @classmethod
    def of(cls, config: Config) -> Inputs:
        recorded: dict[str, list[str]] = {}
        for rules in recording_groups(config).values():
            for rule in rules:
                recorded.setdefault(rule.record, []).append(rule.expr)
        return cls(recorded)

    def reads(self, expr: str) -> frozenset[str]:
        """Every series ``expr`` reads, directly or through a recording rule (recorded names themselves excluded)."""
        return self._reads(_parse(expr))

    def has_data(self, expr: str, available: Available = convention_only) -> bool:
        """Whether ``expr`` can return data when only the series ``available`` accepts exist."""
        return self._has_data(_parse(expr), available)

    def needs(self, exprs: Iterable[str]) -> tuple[str, ...]:
        """The Lookout extension series without which none of ``exprs`` (a panel's queries) has data, sorted;
        ``()`` when the convention's series suffice for one of them."""
        exprs = tuple(exprs)
        if not exprs or any(self.has_data(expr) for expr in exprs):
            return ()
        return tuple(sorted({name for expr in exprs for name in self.reads(expr) if m.is_extension(name)}))

    def _reads(self, node: Any) -> frozenset[str]:
        if isinstance(node, pp.VectorSelector):
            name = _selector_name(node)
            if name in self._recorded:
                return frozenset().union(*(self._reads(rule) for rule in self._recorded[name]))
            return frozenset({name}) if name else frozenset()
        return frozenset().union(*(self._reads(child) for child in _children(node)))

    def _has_data(self, node: Any, available: Available) -> bool:
        if isinstance(node, pp.VectorSelector):
            name = _selector_name(node)
            if name in self._recorded:
                return any(self._has_data(rule, available) for rule in self._recorded[name])
            return available(name)
        if isinstance(node, pp.Call) and node.func.name in ALWAYS_A_VALUE:
            return True
        if isinstance(node, pp.BinaryExpr):
            op = str(node.op)

            def lhs() -> bool:
                return self._has_data(node.lhs, available)

            def rhs() -> bool:
                return self._has_data(node.rhs, available)

            if op == "or":
                return lhs() or rhs()
            if op == "unless":
                return lhs()
            if op != "and" and _is_scalar(node.lhs):
                return rhs()
            if op != "and" and _is_scalar(node.rhs):
                return lhs()
            return lhs() and rhs()
        return all(self._has_data(child, available) for child in _children(node))


def _children(node: Any) -> tuple[Any, ...]:
    """The sub-expressions of ``node`` that select series (literals and selectors have none)."""
    if isinstance(node, pp.MatrixSelector):
        return (node.vector_selector,)
    if isinstance(node, pp.Call):
        return tuple(node.args)
    if isinstance(node, pp.AggregateExpr):
        return (node.expr,)  # the parameter (topk's k, quantile's q) is a literal
    if isinstance(node, pp.BinaryExpr):
        return (node.lhs, node.rhs)
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        return (node.expr,)
    if isinstance(node, pp.NumberLiteral | pp.StringLiteral):
        return ()
    raise TypeError(f"unexpected PromQL node {type(node).__name__}")
