"""The Lookout stack dashboard, in the shared Lookout folder: the monitoring's own health that no tenant owns —
here the remote-write queues to the long-term store (the HA topology's VictoriaMetrics, or remote_write)."""

from __future__ import annotations

from lookout import metrics as m
from lookout.stack.grafana import promql as q
from lookout.stack.grafana.model import Dashboard, Query, Row
from lookout.stack.grafana.panels import TS, panel

QUEUE = "remote_name"
"""Prometheus' label naming a remote-write queue."""


def dashboard(p: q.Policy) -> Dashboard:
    by = (m.INSTANCE, QUEUE)
    legend = "{{instance}} {{remote_name}}"
    return Dashboard(
        "lookout-stack",
        "Lookout stack",
        "The monitoring itself: Prometheus' remote-write queues to the long-term store.",
        (
            Row(
                "Remote write",
                (
                    panel(
                        "Remote-write lag",
                        TS,
                        "s",
                        Query(
                            f"max by ({m.INSTANCE}, {QUEUE}) ({q.REMOTE_HIGHEST_TIMESTAMP}"
                            f" - ignoring ({QUEUE}, url) group_right {q.REMOTE_SENT_TIMESTAMP})",
                            legend,
                        ),
                        policy_line=p.remote_write_max_lag,
                        description="How far each queue is behind what its Prometheus ingested; "
                        "LookoutRemoteWriteBehind fires above the line (prometheus.remote_write_max_lag).",
                    ),
                    panel(
                        "Samples waiting to be sent",
                        TS,
                        "short",
                        Query(f"sum by ({m.INSTANCE}, {QUEUE}) ({q.REMOTE_PENDING})", legend),
                        description="Samples held by each queue; while the backend is down they wait in the WAL.",
                    ),
                    panel(
                        "Samples retried and failed",
                        TS,
                        "ops",
                        Query(q.sum_rate(q.REMOTE_RETRIED, "", by), "retried " + legend),
                        Query(q.sum_rate(q.REMOTE_FAILED, "", by), "failed " + legend),
                        description="Retried: the backend is unreachable or busy (kept, sent later). Failed: "
                        "refused for good (lost).",
                    ),
                ),
            ),
        ),
    )
