"""The Infrastructure dashboard, in every tenant's folder: its rows and panels as a spec."""

from __future__ import annotations

from lookout import metrics as m
from lookout.stack.grafana import promql as q
from lookout.stack.grafana.model import Dashboard, Query, Row
from lookout.stack.grafana.panels import LIMIT, TS, panel
from lookout.stack.rules import recording as rec


def dashboard(p: q.Policy) -> Dashboard:
    sc = q.scope(q.MCP_JOB)
    return Dashboard(
        "infra",
        "Infrastructure",
        "The MCP server processes: CPU, memory, file descriptors, garbage collection.",
        (
            Row(
                "Process",
                (
                    panel(
                        "CPU utilization (share of the replica's limit)",
                        TS,
                        "percentunit",
                        Query(q.recorded(rec.CPU_UTILIZATION, instance=True), "{{service}} {{instance}}"),
                        policy_line=p.utilization,
                        description="CPU over 15 minutes against the replica's limit (its cgroup's, else "
                        "targets[].resources, else alerting.resources), as MCPCPUUtilizationHigh compares it.",
                    ),
                    panel(
                        "Memory utilization (share of the replica's limit)",
                        TS,
                        "percentunit",
                        Query(q.recorded(rec.MEMORY_UTILIZATION, instance=True), "{{service}} {{instance}}"),
                        policy_line=p.utilization,
                        description="Resident memory over 15 minutes against the replica's limit, as "
                        "MCPMemoryUtilizationHigh compares it.",
                    ),
                    panel(
                        "Resident memory",
                        TS,
                        "bytes",
                        Query(f"sum by ({m.SERVICE}, {m.INSTANCE}) ({q.PROCESS_RESIDENT_MEMORY}{sc})", "{{instance}}"),
                    ),
                    panel(
                        "Virtual memory",
                        TS,
                        "bytes",
                        Query(f"sum by ({m.SERVICE}, {m.INSTANCE}) ({q.PROCESS_VIRTUAL_MEMORY}{sc})", "{{instance}}"),
                    ),
                    panel(
                        "Open file descriptors (share of limit)",
                        TS,
                        "percentunit",
                        Query(f"{q.PROCESS_OPEN_FDS}{sc} / {q.PROCESS_MAX_FDS}{sc}", "{{instance}}"),
                        policy_line=LIMIT,
                    ),
                    panel(
                        "GC collections by generation",
                        TS,
                        "ops",
                        Query(
                            q.sum_rate(q.PYTHON_GC_COLLECTIONS, sc, (m.INSTANCE, "generation")),
                            "{{instance}} gen {{generation}}",
                        ),
                    ),
                    panel(
                        "GC objects collected",
                        TS,
                        "ops",
                        Query(
                            q.sum_rate(q.PYTHON_GC_COLLECTED, sc, (m.INSTANCE, "generation")),
                            "{{instance}} gen {{generation}}",
                        ),
                    ),
                ),
            ),
        ),
    )
