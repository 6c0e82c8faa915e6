"""``lookout check --live URL``: every recording rule and every dashboard query returns data from the
running stack, and no recorded value is NaN or Inf.

A dashboard query whose metric families have no series at all in this Prometheus (no prober, no
`lookout bench` run yet) cannot return data here; it is reported as not checkable rather than as a
finding. So is an empty list of firing alerts (a healthy tenant has none). Any other empty query is a
finding: the panel would show "No data" where it should show 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Final

import httpx

from lookout.check.contract import iter_rules, metric_names
from lookout.check.findings import Finding

CHECK: Final = "live"
ALERT_FAMILIES: Final = frozenset({"ALERTS", "ALERTS_FOR_STATE"})


class LiveUnreachable(Exception):
    """The Prometheus given to --live does not answer."""


def query(url: str, expr: str, *, verify: Any = True, auth: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """Instant query; raises :class:`LiveUnreachable` when Prometheus does not answer, ValueError on a bad query.
    ``verify`` and ``auth``: the TLS context and login under ``security:``."""
    try:
        response = httpx.get(
            f"{url.rstrip('/')}/api/v1/query", params={"query": expr}, timeout=30, verify=verify, auth=auth
        )
    except httpx.HTTPError as exc:
        raise LiveUnreachable(f"cannot reach Prometheus at {url}: {exc}") from None
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code != 200 or body.get("status") != "success":
        raise ValueError(body.get("error") or f"HTTP {response.status_code}")
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _not_finite(result: list[dict[str, Any]]) -> int:
    return sum(1 for series in result if not math.isfinite(float(series["value"][1])))


def _dashboard_queries(stack_dir: Path) -> list[tuple[str, str]]:
    try:
        from lookout.check import dashboards
    except ImportError:
        return []
    queries: Callable[[Path], list[tuple[str, str]]] = dashboards.dashboard_queries
    return queries(stack_dir)


def check_live(
    stack_dir: Path,
    url: str,
    not_checkable: list[str] | None = None,
    *,
    verify: Any = True,
    auth: tuple[str, str] | None = None,
) -> list[Finding]:
    """Findings of the live check; queries that cannot be checked here are appended to ``not_checkable``.
    ``verify`` and ``auth`` as :func:`query` takes them (the stack's CA and client user under ``security:``)."""
    findings = []
    present: dict[str, bool] = {}
    ask = partial(query, verify=verify, auth=auth)

    def missing_families(expr: str) -> list[str]:
        names = [n for n in metric_names(expr) if n not in present]
        for name in names:
            present[name] = bool(ask(url, f'count({{__name__="{name}"}})'))
        return [n for n in metric_names(expr) if not present[n]]

    for rule in iter_rules(stack_dir):
        if not rule.recording:
            continue
        try:
            result = ask(url, rule.name)
        except ValueError as exc:
            findings.append(Finding(CHECK, rule.file, f"{rule.name}: query failed: {exc}"))
            continue
        if not result:
            findings.append(Finding(CHECK, rule.file, f"{rule.name}: returns no data from {url}"))
        elif bad := _not_finite(result):
            findings.append(Finding(CHECK, rule.file, f"{rule.name}: {bad} series are NaN or Inf"))
    for reference, expr in _dashboard_queries(stack_dir):
        file, _, panel = reference.partition(": ")
        try:
            result = ask(url, expr)
            absent = [] if result else missing_families(expr)
        except ValueError as exc:
            findings.append(Finding(CHECK, file, f"{panel}: query failed: {exc}"))
            continue
        if result:
            continue
        if absent:
            if not_checkable is not None:
                not_checkable.append(f"{reference}: nothing here emits {', '.join(absent)}")
            continue
        if set(metric_names(expr)) <= ALERT_FAMILIES:
            # A list of the tenant's firing alerts is rightly empty while nothing is wrong.
            if not_checkable is not None:
                not_checkable.append(f"{reference}: no alert of this scope is firing")
            continue
        findings.append(Finding(CHECK, file, f"{panel}: returns no data from {url}"))
    return findings
