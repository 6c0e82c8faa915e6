"""Alert catalog entries -> Prometheus rule data (the ``groups`` structure of ``alerts.yml``).

Data only: the stack's writer (:func:`lookout.stack.yamlio.serialize`) turns it into the file, and the
Kubernetes PrometheusRule embeds the same groups.
"""

from __future__ import annotations

from typing import Any

from lookout import metrics as m
from lookout.config.model import Config
from lookout.stack import naming
from lookout.stack.rules.catalog import ALERTS
from lookout.stack.rules.model import FAMILY, SEVERITY, AlertRule, held_for


def _dashboard_url(config: Config) -> str:
    """Link to the tenant's MCP server detail dashboard, the service preselected. Dashboard uids are per
    tenant, so the template picks the uid by the alert's tenant label; an unknown tenant gets no link. An alert
    whose expression carries no service (MCPTenantDown: its ``service="all"`` is a rule label, which templates do
    not see) selects every service, Grafana's ``$__all``, rather than an empty service that matches none."""
    base = config.dashboard_base_url()
    service = f"{{{{ with $labels.{m.SERVICE} }}}}{{{{ . }}}}{{{{ else }}}}$__all{{{{ end }}}}"
    branches = [
        f'if eq $labels.{m.TENANT} "{t.name}" }}}}{base}/d/{naming.dashboard_uid(t.name, naming.SERVICE_DASHBOARD)}'
        f"?var-{m.SERVICE}={service}"
        for t in config.tenants
    ]
    return "{{ " + "{{ else ".join(branches) + "{{ end }}"


def alert_rule(alert: AlertRule, config: Config) -> dict[str, Any] | None:
    """The Prometheus rule of ``alert`` under ``config`` (None: disabled in lookout.yaml, or nothing to watch)."""
    override = config.alerting.alerts.get(alert.name)
    if override is not None and not override.enabled:
        return None
    expr = alert.expr(config)
    if not expr:
        return None
    for_ = held_for(alert.name, alert.for_, config)
    labels = {m.PRIORITY: alert.priority.value, m.SEVERITY: SEVERITY[alert.priority], **dict(alert.static_labels)}
    if alert.family is not None:  # escalations keep the family of the alert they escalate
        labels[FAMILY] = alert.family
    annotations = {
        "summary": alert.summary if isinstance(alert.summary, str) else alert.summary(config),
        "description": alert.description if isinstance(alert.description, str) else alert.description(config),
        "runbook_url": f"{config.runbook_base_url()}/{alert.name}.md",
    }
    if alert.about_servers:
        annotations["dashboard_url"] = _dashboard_url(config)
    return {"alert": alert.name, "expr": expr, "for": for_, "labels": labels, "annotations": annotations}


def alert_rules(config: Config) -> dict[str, Any]:
    """``alerts.yml`` as data: the catalog's rules in groups, in catalog order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for alert in ALERTS:
        rule = alert_rule(alert, config)
        if rule is not None:
            groups.setdefault(alert.group, []).append(rule)
    return {"groups": [{"name": name, "rules": rules} for name, rules in groups.items()]}
