"""Prometheus rule files: the alert catalog (and, later, recording rules)."""

from lookout.stack.rules.alerts import ALERTS, AlertRule, render_alert_rules

__all__ = ["ALERTS", "AlertRule", "render_alert_rules"]
