"""The dashboards, one module each under :mod:`.dashboards` (rendered to Grafana JSON by :mod:`.render`).

A panel is added by editing its dashboard's module; a dashboard is added as a module here and listed below.
"""

from __future__ import annotations

from typing import Final

from lookout.stack.grafana.dashboards import (
    benchmarks,
    capacity,
    fleet,
    infrastructure,
    logs,
    probes,
    server,
    slo,
    stack,
    tools,
)
from lookout.stack.grafana.panels import LIMIT
from lookout.stack.rules.expressions import PAGE_BURN_RATE

TENANT_DASHBOARDS: Final = (
    fleet.dashboard,
    server.dashboard,
    tools.dashboard,
    probes.dashboard,
    slo.dashboard,
    infrastructure.dashboard,
    capacity.dashboard,
    logs.dashboard,
)
"""Rendered once per tenant, into the tenant's folder."""
SHARED_DASHBOARDS: Final = (benchmarks.dashboard, stack.dashboard)
"""Rendered once, into the shared Lookout folder."""

__all__ = ["LIMIT", "PAGE_BURN_RATE", "SHARED_DASHBOARDS", "TENANT_DASHBOARDS"]
