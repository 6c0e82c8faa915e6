"""The Tools dashboard, in every tenant's folder: its rows and panels as a spec."""

from __future__ import annotations

from lookout import metrics as m
from lookout.stack.grafana import promql as q
from lookout.stack.grafana.model import Dashboard, Query, Row
from lookout.stack.grafana.panels import TABLE, TS, panel
from lookout.stack.rules import recording as rec


def dashboard(p: q.Policy) -> Dashboard:
    tool = (m.TOOL_NAME,)
    is_tool = f'{m.TOOL_NAME}!=""'
    return Dashboard(
        "tools",
        "Tools",
        "Every tool of the selected servers: call rate, failures, latency.",
        (
            Row(
                "Tools",
                (
                    panel("Calls by tool", TS, "reqps", Query(q.request_rate(tool, is_tool), "{{gen_ai_tool_name}}")),
                    panel(
                        "Error ratio by tool",
                        TS,
                        "percentunit",
                        Query(q.recorded(rec.TOOL_ERROR_RATIO), "{{service}} {{gen_ai_tool_name}}"),
                        policy_line=p.error_ratio,
                    ),
                    panel(
                        "p99 by tool",
                        TS,
                        "s",
                        Query(q.latency(0.99, tool, is_tool), "{{gen_ai_tool_name}}"),
                        policy_line=p.latency_p99,
                    ),
                    panel(
                        "Tool errors by type",
                        TS,
                        "reqps",
                        Query(
                            q.request_rate((m.TOOL_NAME, m.ERROR_TYPE), is_tool, q.ANY_ERROR),
                            "{{gen_ai_tool_name}} {{error_type}}",
                        ),
                    ),
                    panel(
                        "Calls over the range",
                        TABLE,
                        "none",
                        Query(q.sum_increase(q.OPS_COUNT, q.scope(is_tool), "$__range", tool), instant=True),
                        width=24,
                    ),
                ),
            ),
        ),
    )
