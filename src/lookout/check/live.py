"""``lookout check --live URL``: every recording rule and every dashboard query returns data from the
running stack, and no recorded value is NaN or Inf.

A dashboard query whose metric families have no series at all in this Prometheus (no prober, no
`lookout bench` run yet) cannot return data here; it is reported as not checkable rather than as a
finding, as is a server panel of a tenant whose servers are only probed. So is an empty list of firing
alerts (a healthy tenant has none). Any other empty query is a finding: the panel would show "No data"
where it should show 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Final

import httpx

from lookout import metrics as m
from lookout.check.contract import iter_rules, metric_names
from lookout.check.findings import Finding
from lookout.stack import naming

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


def _dashboard_queries(stack_dir: Path) -> list[tuple[str, str, str | None]]:
    """``(panel reference, PromQL, tenant)`` of every dashboard query (none without the dashboards extra)."""
    try:
        from lookout.check import dashboards
    except ImportError:
        return []
    queries: Callable[[Path], list[tuple[str, str]]] = dashboards.dashboard_queries
    tenants: dict[str, str] = dashboards.query_tenants(stack_dir)
    return [(reference, expr, tenants.get(reference)) for reference, expr in queries(stack_dir)]


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
    instrumented: dict[str, bool] = {}
    recorded = {rule.name: metric_names(rule.expr) for rule in iter_rules(stack_dir) if rule.recording}
    ask = partial(query, verify=verify, auth=auth)

    def missing_families(expr: str) -> list[str]:
        names = [n for n in metric_names(expr) if n not in present]
        for name in names:
            present[name] = bool(ask(url, f'count({{__name__="{name}"}})'))
        return [n for n in metric_names(expr) if not present[n]]

    def excused_in(tenant: str, expr: str) -> bool:
        """An empty server panel of a tenant without an instrumented server (no `mcp` job target: its servers are
        only probed) has rightly no data; a probe panel (read from the prober's families, directly or through
        recording rules) is checked as strictly as any, and so is every panel of an instrumented tenant."""
        if tenant not in instrumented:
            instrumented[tenant] = bool(ask(url, f'count(up{{{m.JOB}="{naming.JOB_MCP}", {m.TENANT}="{tenant}"}})'))
        return not instrumented[tenant] and not any(_probed(name) for name in metric_names(expr))

    def _probed(name: str, seen: frozenset[str] = frozenset()) -> bool:
        spec = m.spec_of(name)
        if spec is not None:
            return spec.source is m.Source.PROBER
        return name not in seen and any(_probed(source, seen | {name}) for source in recorded.get(name, ()))

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
    for reference, expr, tenant in _dashboard_queries(stack_dir):
        file, _, panel = reference.partition(": ")
        try:
            result = ask(url, expr)
            absent = [] if result else missing_families(expr)
            excused = not result and not absent and tenant is not None and excused_in(tenant, expr)
        except ValueError as exc:
            findings.append(Finding(CHECK, file, f"{panel}: query failed: {exc}"))
            continue
        if result:
            continue
        if absent:
            if not_checkable is not None:
                not_checkable.append(f"{reference}: nothing here emits {', '.join(absent)}")
            continue
        if excused:
            if not_checkable is not None:
                not_checkable.append(f"{reference}: tenant {tenant} has no instrumented server (only probed)")
            continue
        if set(metric_names(expr)) <= ALERT_FAMILIES:
            # A list of the tenant's firing alerts is rightly empty while nothing is wrong.
            if not_checkable is not None:
                not_checkable.append(f"{reference}: no alert of this scope is firing")
            continue
        findings.append(Finding(CHECK, file, f"{panel}: returns no data from {url}"))
    return findings
