"""The Logs dashboard, in every tenant's folder: its rows and panels as a spec."""

from __future__ import annotations

from lookout import metrics as m
from lookout.stack.grafana import promql as q
from lookout.stack.grafana.model import Dashboard, Query, QueryLanguage, Row
from lookout.stack.grafana.panels import LOGS, TS, panel
from lookout.stack.loki import AUDIT_STREAM


def dashboard(p: q.Policy) -> Dashboard:
    # Not the audit trail: it has the tenant's and service's labels too, but its lines are no log lines (no level).
    ((audit_label, audit),) = AUDIT_STREAM.items()
    stream = f'{{{m.TENANT}="{q.TENANT_VAR}", {m.SERVICE}=~"{q.SERVICE_VAR}", {audit_label}!="{audit}"}}'
    return Dashboard(
        "logs",
        "Logs",
        "Lookout's JSON logs from Loki; trace ids link to the trace.",
        (
            Row(
                "Logs",
                (
                    panel(
                        "Log volume by level",
                        TS,
                        "short",
                        Query(
                            f"sum by (level) (count_over_time({stream} | json [$__auto]))",
                            "{{level}}",
                            language=QueryLanguage.LOGQL,
                        ),
                        width=24,
                        height=6,
                    ),
                    panel(
                        "Errors",
                        LOGS,
                        "none",
                        Query(f'{stream} | json | level=~"error|critical"', language=QueryLanguage.LOGQL),
                        width=24,
                    ),
                    panel(
                        "All logs",
                        LOGS,
                        "none",
                        Query(f"{stream} | json", language=QueryLanguage.LOGQL),
                        width=24,
                        height=14,
                    ),
                ),
            ),
        ),
        logs=True,
    )
