"""The Capacity dashboard, in every tenant's folder: its rows and panels as a spec."""

from __future__ import annotations

from lookout import metrics as m
from lookout.stack.grafana import promql as q
from lookout.stack.grafana.model import Dashboard, Query, Row
from lookout.stack.grafana.panels import BY_INSTANCE, BY_SERVICE, LIMIT, SVC, TS, panel
from lookout.stack.rules import recording as rec
from lookout.stack.rules.expressions import EXHAUSTION_WINDOW


def dashboard(p: q.Policy) -> Dashboard:
    sc = q.scope(q.MCP_JOB)
    week = 7 * 86400
    return Dashboard(
        "capacity",
        "Capacity",
        "Utilization trends, linear forecasts (predict_linear) of traffic and sessions one week ahead, and of "
        f"memory and file descriptors {p.forecast_horizon} ahead as the exhaustion alerts forecast them.",
        (
            Row(
                "Forecasts",
                (
                    panel(
                        "Request rate and 7-day forecast",
                        TS,
                        "reqps",
                        Query(q.request_rate(SVC), "{{service}}"),
                        Query(f"predict_linear(({q.request_rate(SVC)})[6h:], {week})", "{{service}} in 7d"),
                    ),
                    panel(
                        "Utilization of measured capacity (per replica)",
                        TS,
                        "percentunit",
                        Query(
                            f"{q.recorded(rec.INSTANCE_REQUESTS_RATE, instance=True)}"
                            f" / on ({BY_SERVICE}) group_left () {q.recorded(rec.CAPACITY)}",
                            "{{service}} {{instance}}",
                        ),
                        policy_line=p.utilization,
                        description="Each replica's request rate over one replica's capacity (`lookout bench`, "
                        "else the fallback), as MCPCapacityHigh computes it.",
                    ),
                    panel(
                        f"Memory: forecast share of the limit in {p.forecast_horizon}",
                        TS,
                        "percentunit",
                        Query(
                            f"max by ({BY_INSTANCE}) (predict_linear({q.PROCESS_RESIDENT_MEMORY}{sc}"
                            f"[{EXHAUSTION_WINDOW}], {p.forecast_seconds}))"
                            f" / on ({BY_INSTANCE}) {q.recorded(rec.MEMORY_LIMIT, instance=True)}",
                            f"{{{{service}}}} {{{{instance}}}} in {p.forecast_horizon}",
                        ),
                        policy_line=LIMIT,
                        description="Resident memory extrapolated over the last "
                        f"{EXHAUSTION_WINDOW}, against the replica's limit: MCPMemoryExhaustionForecast above 1.",
                    ),
                    panel(
                        f"File descriptors: forecast share of the limit in {p.forecast_horizon}",
                        TS,
                        "percentunit",
                        Query(
                            f"max by ({BY_INSTANCE}) (predict_linear({q.PROCESS_OPEN_FDS}{sc}"
                            f"[{EXHAUSTION_WINDOW}], {p.forecast_seconds}))"
                            f" / on ({BY_INSTANCE}) max by ({BY_INSTANCE}) ({q.PROCESS_MAX_FDS}{sc})",
                            f"{{{{service}}}} {{{{instance}}}} in {p.forecast_horizon}",
                        ),
                        policy_line=LIMIT,
                        description="Open file descriptors extrapolated over the last "
                        f"{EXHAUSTION_WINDOW}, against the process's limit: MCPFileDescriptorsExhaustionForecast "
                        "above 1.",
                    ),
                    panel(
                        "Active sessions and 7-day forecast",
                        TS,
                        "none",
                        Query(f"sum by ({m.SERVICE}) ({q.series(m.SESSIONS_ACTIVE)}{sc})", "{{service}}"),
                        Query(
                            f"predict_linear(sum by ({m.SERVICE}) ({q.series(m.SESSIONS_ACTIVE)}{sc})[6h:], {week})",
                            "{{service}} in 7d",
                        ),
                    ),
                    panel(
                        "In-flight requests (peak)",
                        TS,
                        "none",
                        Query(
                            f"max by ({m.SERVICE}) (max_over_time({q.series(m.REQUESTS_IN_FLIGHT)}{sc}"
                            f"[{q.RATE_INTERVAL}]))",
                            "{{service}}",
                        ),
                    ),
                ),
            ),
        ),
    )
