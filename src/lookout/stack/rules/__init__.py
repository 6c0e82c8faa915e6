"""Prometheus rule files: the alert catalog (``alerts.yml``) and the recording rules (``recording.yml``).

``catalog`` lists the alerts, ``expressions`` builds their PromQL, ``templates`` their wording, ``render``
turns them into rule data; ``recording`` defines the recording rules. Generators return data
(:func:`alert_rules`, :func:`recording_rules`); ``render_*`` give the files' text through the stack's writer.
"""

from typing import Final

from lookout.config.model import Config
from lookout.stack import naming
from lookout.stack.rules.catalog import ALERTS, alert_names
from lookout.stack.rules.model import ESCALATED_FROM, FAMILY, STACK_TENANT, WATCHDOG, AlertRule
from lookout.stack.rules.recording import recording_rules
from lookout.stack.rules.render import alert_rule, alert_rules
from lookout.stack.yamlio import serialize

ALERTS_FILE: Final = f"{naming.RULES_DIR}/alerts.yml"
RECORDING_FILE: Final = f"{naming.RULES_DIR}/recording.yml"


def render_alert_rules(config: Config) -> str:
    """The text of ``alerts.yml``."""
    return serialize(ALERTS_FILE, alert_rules(config))


def render_recording_rules(config: Config) -> str:
    """The text of ``recording.yml``."""
    return serialize(RECORDING_FILE, recording_rules(config))


__all__ = [
    "ALERTS",
    "ALERTS_FILE",
    "ESCALATED_FROM",
    "FAMILY",
    "RECORDING_FILE",
    "STACK_TENANT",
    "WATCHDOG",
    "AlertRule",
    "alert_names",
    "alert_rule",
    "alert_rules",
    "recording_rules",
    "render_alert_rules",
    "render_recording_rules",
]
