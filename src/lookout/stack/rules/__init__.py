"""Prometheus rule files: the alert catalog (``alerts.yml``) and the recording rules (``recording.yml``)."""

from lookout.stack.rules.alerts import ALERTS, AlertRule, alert_names, render_alert_rules, render_recording_rules

__all__ = ["ALERTS", "AlertRule", "alert_names", "render_alert_rules", "render_recording_rules"]
