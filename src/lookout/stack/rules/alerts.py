"""The alert catalog. Every alert carries ``priority``, ``severity``, ``tenant`` and ``service``,
a static summary, a templated description and a runbook link (``docs/runbooks/<Alert>.md``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lookout import metrics as m
from lookout.config.model import Config, Priority
from lookout.stack import naming
from lookout.stack.yamlio import dump_yaml

SEVERITY = {Priority.P0: "critical", Priority.P1: "critical", Priority.P2: "warning", Priority.P3: "info"}


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    for_: str
    priority: Priority
    summary: str
    description: str
    group: str = "lookout-availability"

    def to_rule(self, config: Config) -> dict[str, Any] | None:
        override = config.alerting.alerts.get(self.name)
        if override is not None and not override.enabled:
            return None
        for_ = override.for_ if override is not None and override.for_ is not None else self.for_
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": for_,
            "labels": {m.PRIORITY: self.priority.value, m.SEVERITY: SEVERITY[self.priority]},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": f"{config.alerting.runbook_base_url.rstrip('/')}/{self.name}.md",
            },
        }


ALERTS: tuple[AlertRule, ...] = (
    AlertRule(
        name="MCPServerDown",
        expr=f'up{{{m.JOB}="{naming.JOB_MCP}"}} == 0',
        for_="1m",
        priority=Priority.P0,
        summary="An MCP server cannot be scraped",
        description=(
            f"{{{{ $labels.{m.SERVICE} }}}} of tenant {{{{ $labels.{m.TENANT} }}}} ({{{{ $labels.instance }}}}) "
            "failed its metrics scrape: the process is down or unreachable."
        ),
    ),
)


def render_alert_rules(config: Config) -> str:
    groups: dict[str, list[dict[str, Any]]] = {}
    for alert in ALERTS:
        rule = alert.to_rule(config)
        if rule is not None:
            groups.setdefault(alert.group, []).append(rule)
    data = {"groups": [{"name": name, "rules": rules} for name, rules in groups.items()]}
    return dump_yaml(data, naming.GENERATED_HEADER)
