"""``lookout check --live URL``: every recording rule and every dashboard query returns data from the
running stack, and no recorded value is NaN or Inf."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import httpx

from lookout.check.contract import iter_rules
from lookout.check.findings import Finding

CHECK: Final = "live"


class LiveUnreachable(Exception):
    """The Prometheus given to --live does not answer."""


def query(url: str, expr: str) -> list[dict[str, Any]]:
    """Instant query; raises :class:`LiveUnreachable` when Prometheus does not answer, ValueError on a bad query."""
    try:
        response = httpx.get(f"{url.rstrip('/')}/api/v1/query", params={"query": expr}, timeout=30)
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


def check_live(stack_dir: Path, url: str) -> list[Finding]:
    findings = []
    for rule in iter_rules(stack_dir):
        if not rule.recording:
            continue
        try:
            result = query(url, rule.name)
        except ValueError as exc:
            findings.append(Finding(CHECK, rule.file, f"{rule.name}: query failed: {exc}"))
            continue
        if not result:
            findings.append(Finding(CHECK, rule.file, f"{rule.name}: returns no data from {url}"))
        elif bad := _not_finite(result):
            findings.append(Finding(CHECK, rule.file, f"{rule.name}: {bad} series are NaN or Inf"))
    for reference, expr in _dashboard_queries(stack_dir):
        file = reference.split(": ", 1)[0]
        try:
            result = query(url, expr)
        except ValueError as exc:
            findings.append(Finding(CHECK, file, f"{reference}: query failed: {exc}"))
            continue
        if not result:
            findings.append(Finding(CHECK, file, f"{reference}: returns no data from {url}"))
    return findings
