"""What an alert rule is: the entry type of the catalog and the label names and values alerts share.

``family`` groups alerts about one incident (availability, errors, latency, ...) so that Alertmanager lets a
higher priority silence a lower one of the same family: one incident, one page. ``escalates`` says whether an
alert left firing is re-raised one priority higher. Alerts about the stack itself carry ``tenant="_lookout"``
(a value no lookout.yaml tenant can take) and route by ``alerting.routes``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from lookout import metrics as m
from lookout.config.model import Config, Priority

SEVERITY: Final = {Priority.P0: "critical", Priority.P1: "error", Priority.P2: "warning", Priority.P3: "info"}
FAMILY: Final = "family"
ESCALATED_FROM: Final = "escalated_from"
UNROUTABLE: Final = "unroutable_alert"
STACK_TENANT: Final = "_lookout"
"""Tenant label of alerts about Lookout's own stack (Prometheus, Alertmanager, the heartbeat)."""
WATCHDOG: Final = "Watchdog"
ESCALATION_PREFIX: Final = "LookoutEscalated"

Expr = Callable[[Config], str]
"""PromQL of an alert for a config; an empty string leaves the alert out (nothing to watch)."""
Text = str | Callable[[Config], str]
"""A summary or description: fixed, or stating the configured numbers."""


def held_for(name: str, default: str, config: Config) -> str:
    """How long alert ``name``'s condition must hold under ``config``: its ``alerting.alerts.<name>.for``, else
    the catalog's ``default``."""
    override = config.alerting.alerts.get(name)
    return override.for_ if override is not None and override.for_ is not None else default


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: Expr
    for_: str
    priority: Priority
    summary: Text
    description: Text
    family: str | None
    group: str
    static_labels: tuple[tuple[str, str], ...] = ()
    """Labels the expression cannot carry (e.g. the stack's tenant); they override the expression's."""
    escalates: bool = False
    """Left firing, the alert is re-raised one priority higher (LookoutEscalatedP1/P2), once per service."""
    about_servers: bool = True
    """The alert is about an MCP server, so it links the server dashboard; stack alerts have none to link."""


def stack_labels(service: str) -> tuple[tuple[str, str], ...]:
    """Static labels of an alert about a component of the stack rather than an MCP server."""
    return ((m.TENANT, STACK_TENANT), (m.SERVICE, service))
