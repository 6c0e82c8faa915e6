"""The dashboards: what each one shows, as specs (rendered to Grafana JSON by :mod:`.render`)."""

from __future__ import annotations

from typing import Final

from lookout import metrics as m
from lookout.stack.grafana import promql as q
from lookout.stack.grafana.model import Dashboard, Panel, PanelKind, Query, QueryLanguage, Row
from lookout.stack.rules import recording as rec

TS, STAT, HEATMAP, TABLE, LOGS = (
    PanelKind.TIMESERIES,
    PanelKind.STAT,
    PanelKind.HEATMAP,
    PanelKind.TABLE,
    PanelKind.LOGS,
)
SVC: Final = (m.SERVICE,)
ANY: Final = 1
"""Line of count panels where a single one (a target down, an alert firing) is already too many."""
LIMIT: Final = 1
"""Line of share-of-a-limit panels: 1 is the limit itself."""
BY_SERVICE: Final = ", ".join(rec.SERVICE_LABELS)
BY_INSTANCE: Final = ", ".join(rec.INSTANCE_LABELS)
PAGE_BURN_RATE: Final = 14.4
"""Burn rate of the paging budget alerts (2 % of a 30-day budget in one hour), as MCPErrorBudgetBurnFast uses it."""
EXHAUSTION_WINDOW: Final = "1h"
"""History the exhaustion forecasts extrapolate, as MCPMemoryExhaustionForecast and the FD forecast alert do."""


def _p(title: str, kind: PanelKind, unit: str, *queries: Query, **kw: object) -> Panel:
    return Panel(title, kind, unit, queries, **kw)  # type: ignore[arg-type]


def fleet(p: q.Policy) -> Dashboard:
    up = f"{q.UP}{q.scope(q.MCP_JOB, instance=False)}"
    alerts = f'{q.ALERTS}{{{m.TENANT}="{q.TENANT_VAR}", alertstate="firing"}}'
    return Dashboard(
        "fleet",
        "Fleet overview",
        "Every MCP server of the tenant: up, traffic, errors, latency against the policy, SLO and alerts.",
        (
            Row(
                "Status",
                (
                    _p("Targets up", STAT, "none", Query(f"sum({up})", instant=True), width=4, height=5),
                    _p(
                        "Targets down",
                        STAT,
                        "none",
                        Query(f"count({up} == 0) or vector(0)", instant=True),
                        width=4,
                        height=5,
                        policy_line=ANY,
                    ),
                    _p(
                        "Error ratio (worst service)",
                        STAT,
                        "percentunit",
                        Query(f"max({q.recorded(rec.ERROR_RATIO)})", instant=True),
                        width=4,
                        height=5,
                        policy_line=p.error_ratio,
                        description="The series MCPErrorRatioHigh compares with the policy (recording rule "
                        f"{rec.ERROR_RATIO}); no value while no service has traffic.",
                    ),
                    _p(
                        "p99 latency",
                        STAT,
                        "s",
                        Query(q.latency(0.99), instant=True),
                        width=4,
                        height=5,
                        policy_line=p.latency_p99,
                    ),
                    _p(
                        f"Availability ({q.SLO_WINDOW})",
                        STAT,
                        "percentunit",
                        Query(f"1 - max({q.recorded(rec.availability_error_ratio(q.SLO_WINDOW))})", instant=True),
                        width=4,
                        height=5,
                        policy_line=p.availability,
                        good_above=True,
                        description=f"SLO {p.availability:.2%}: the worst service; green while above it.",
                    ),
                    _p(
                        "Firing alerts",
                        STAT,
                        "none",
                        Query(f"count({alerts}) or vector(0)", instant=True),
                        width=4,
                        height=5,
                        policy_line=ANY,
                    ),
                ),
            ),
            Row(
                "Per service",
                (
                    _p("Request rate", TS, "reqps", Query(q.request_rate(SVC), "{{service}}")),
                    _p(
                        "Error ratio",
                        TS,
                        "percentunit",
                        Query(q.recorded(rec.ERROR_RATIO), "{{service}}"),
                        policy_line=p.error_ratio,
                        description="Failed requests a user sees, as the error-ratio alert counts them; a gap while "
                        "a service has no traffic.",
                    ),
                    _p(
                        "p99 latency against the policy",
                        TS,
                        "s",
                        Query(q.latency(0.99, SVC), "{{service}}"),
                        policy_line=p.latency_p99,
                        description=f"The red line is the policy: p99 < {p.latency_p99 * 1000:g} ms.",
                    ),
                    _p(
                        f"SLO status ({q.SLO_WINDOW} availability)",
                        TABLE,
                        "percentunit",
                        Query(
                            f"1 - {q.recorded(rec.availability_error_ratio(q.SLO_WINDOW))}", "{{service}}", instant=True
                        ),
                        policy_line=p.availability,
                        good_above=True,
                    ),
                    _p("Targets up", TABLE, "none", Query(up, "{{service}} {{instance}}", instant=True)),
                    _p("Firing alerts", TABLE, "none", Query(alerts, instant=True)),
                ),
            ),
        ),
    )


def server(p: q.Policy) -> Dashboard:
    inflight = q.series(m.REQUESTS_IN_FLIGHT)
    return Dashboard(
        "server",
        "MCP server detail",
        "One server in depth: methods, tools, errors by type, latency, sessions, in-flight, transports, registry.",
        (
            Row(
                "Requests",
                (
                    _p(
                        "Requests by method", TS, "reqps", Query(q.request_rate((m.MCP_METHOD,)), "{{mcp_method_name}}")
                    ),
                    _p(
                        "Tool calls by tool",
                        TS,
                        "reqps",
                        Query(q.request_rate((m.TOOL_NAME,), f'{m.TOOL_NAME}!=""'), "{{gen_ai_tool_name}}"),
                    ),
                    _p(
                        "Errors by type",
                        TS,
                        "reqps",
                        Query(q.request_rate((m.ERROR_TYPE,), q.ANY_ERROR), "{{error_type}}"),
                        description="Client errors (JSON-RPC -32600 ...) included; the SLI excludes them.",
                    ),
                    _p(
                        "Error ratio by method",
                        TS,
                        "percentunit",
                        Query(q.recorded(rec.METHOD_ERROR_RATIO), "{{service}} {{mcp_method_name}}"),
                        policy_line=p.error_ratio,
                    ),
                ),
            ),
            Row(
                "Latency",
                (
                    _p("Latency heatmap", HEATMAP, "s", Query(q.sum_rate(q.OPS_BUCKET, q.scope(), ("le",)), "{{le}}")),
                    _p(
                        "Latency quantiles",
                        TS,
                        "s",
                        Query(q.latency(0.5), "p50"),
                        Query(q.latency(0.9), "p90"),
                        Query(q.latency(0.99), "p99"),
                        policy_line=p.latency_p99,
                    ),
                    _p(
                        "p99 by method",
                        TS,
                        "s",
                        Query(q.latency(0.99, (m.MCP_METHOD,)), "{{mcp_method_name}}"),
                        policy_line=p.latency_p99,
                    ),
                ),
            ),
            Row(
                "Sessions and saturation",
                (
                    _p(
                        "Active sessions",
                        TS,
                        "none",
                        Query(
                            f"sum by ({m.NETWORK_TRANSPORT}) ({q.series(m.SESSIONS_ACTIVE)}{q.scope()})",
                            "{{network_transport}}",
                        ),
                    ),
                    _p(
                        "Session duration p90",
                        TS,
                        "s",
                        Query(q.quantile(0.9, q.series(m.SESSION_DURATION, "bucket"), q.scope()), "p90"),
                    ),
                    _p(
                        "Requests in flight",
                        TS,
                        "none",
                        Query(f"sum by ({m.MCP_METHOD}) ({inflight}{q.scope()})", "{{mcp_method_name}}"),
                        Query(f"max({q.series(m.REQUESTS_IN_FLIGHT_LIMIT)}{q.scope()})", "limit (0 = none)"),
                    ),
                    _p(
                        "Rejected requests",
                        TS,
                        "reqps",
                        Query(q.sum_rate(q.series(m.REQUESTS_REJECTED), q.scope(), (m.REASON,)), "{{reason}}"),
                    ),
                ),
            ),
            Row(
                "Transports",
                (
                    _p(
                        "Messages by transport",
                        TS,
                        "mps",
                        Query(
                            q.sum_rate(q.series(m.TRANSPORT_MESSAGES), q.scope(), (m.MCP_TRANSPORT, m.DIRECTION)),
                            "{{mcp_transport}} {{direction}}",
                        ),
                    ),
                    _p(
                        "Bytes by transport",
                        TS,
                        "Bps",
                        Query(
                            q.sum_rate(q.series(m.TRANSPORT_BYTES), q.scope(), (m.MCP_TRANSPORT, m.DIRECTION)),
                            "{{mcp_transport}} {{direction}}",
                        ),
                    ),
                    _p(
                        "Transport errors",
                        TS,
                        "reqps",
                        Query(
                            q.sum_rate(q.series(m.TRANSPORT_ERRORS), q.scope(), (m.MCP_TRANSPORT, m.ERROR_TYPE)),
                            "{{mcp_transport}} {{error_type}}",
                        ),
                    ),
                    _p(
                        "HTTP responses by status",
                        TS,
                        "reqps",
                        Query(
                            q.sum_rate(q.series(m.HTTP_RESPONSES), q.scope(), (m.HTTP_STATUS,)),
                            "{{http_response_status_code}}",
                        ),
                    ),
                ),
            ),
            Row(
                "Registry",
                (
                    _p(
                        "Registered items",
                        TS,
                        "none",
                        Query(f"sum by ({m.REGISTRY_KIND}) ({q.series(m.REGISTRY_ITEMS)}{q.scope()})", "{{kind}}"),
                    ),
                    _p(
                        "Registry changes",
                        TS,
                        "none",
                        Query(
                            q.sum_increase(
                                q.series(m.REGISTRY_CHANGES), q.scope(), q.RATE_INTERVAL, (m.REGISTRY_KIND,)
                            ),
                            "{{kind}}",
                        ),
                    ),
                    _p(
                        "Server versions",
                        TABLE,
                        "none",
                        Query(f"{q.series(m.SERVER_INFO)}{q.scope()}", instant=True),
                        width=24,
                    ),
                ),
            ),
            Row(
                "Telemetry",
                (
                    _p(
                        "Telemetry Lookout lost",
                        TS,
                        "cps",
                        Query(
                            q.sum_rate(q.series(m.TELEMETRY_DROPPED), q.scope(), m.TELEMETRY_DROPPED.labels),
                            " ".join(f"{{{{{label}}}}}" for label in m.TELEMETRY_DROPPED.labels),
                        ),
                        width=24,
                        description="Log lines and spans the instrumentation could not deliver, by signal and "
                        "reason: what the logs and traces of this server are missing.",
                    ),
                ),
            ),
        ),
    )


def tools(p: q.Policy) -> Dashboard:
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
                    _p("Calls by tool", TS, "reqps", Query(q.request_rate(tool, is_tool), "{{gen_ai_tool_name}}")),
                    _p(
                        "Error ratio by tool",
                        TS,
                        "percentunit",
                        Query(q.recorded(rec.TOOL_ERROR_RATIO), "{{service}} {{gen_ai_tool_name}}"),
                        policy_line=p.error_ratio,
                    ),
                    _p(
                        "p99 by tool",
                        TS,
                        "s",
                        Query(q.latency(0.99, tool, is_tool), "{{gen_ai_tool_name}}"),
                        policy_line=p.latency_p99,
                    ),
                    _p(
                        "Tool errors by type",
                        TS,
                        "reqps",
                        Query(
                            q.request_rate((m.TOOL_NAME, m.ERROR_TYPE), is_tool, q.ANY_ERROR),
                            "{{gen_ai_tool_name}} {{error_type}}",
                        ),
                    ),
                    _p(
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


def probes(p: q.Policy) -> Dashboard:
    # No job matcher: probe_* names come only from the prober, whatever its jobs are called.
    sc = q.scope(instance=False)
    return Dashboard(
        "probes",
        "Synthetic probes",
        "Blackbox MCP probes: success, phase timings, negotiated protocol, certificates, tool drift.",
        (
            Row(
                "Probes",
                (
                    _p(
                        "Probe success",
                        TS,
                        "percentunit",
                        Query(f"avg by ({m.SERVICE}) ({q.series(m.PROBE_SUCCESS)}{sc})", "{{service}}"),
                        min_value=0,
                        max_value=1,
                    ),
                    _p(
                        "Probe duration",
                        TS,
                        "s",
                        Query(f"max by ({m.SERVICE}) ({q.series(m.PROBE_DURATION)}{sc})", "{{service}}"),
                        policy_line=p.latency_p99,
                    ),
                    _p(
                        "Phase timings",
                        TS,
                        "s",
                        Query(
                            f"max by ({m.SERVICE}, {m.PHASE}) ({q.series(m.PROBE_PHASE_DURATION)}{sc})",
                            "{{service}} {{phase}}",
                        ),
                    ),
                    _p(
                        "Tools listed",
                        TS,
                        "none",
                        Query(f"max by ({m.SERVICE}) ({q.series(m.PROBE_TOOLS)}{sc})", "{{service}}"),
                    ),
                    _p(
                        "Protocol versions",
                        TABLE,
                        "none",
                        Query(
                            f"max by ({m.SERVICE}, {m.VERSION}) ({q.series(m.PROBE_PROTOCOL_VERSION)}{sc})",
                            instant=True,
                        ),
                    ),
                    _p(
                        "Certificate expiry",
                        TABLE,
                        "s",
                        Query(f"min by ({m.SERVICE}) ({q.series(m.PROBE_SSL_EXPIRY)}{sc}) - time()", instant=True),
                        policy_line=p.certificate_expiry_warning,
                        description="Time until the earliest certificate expires; reported below "
                        f"{p.certificate_expiry_warning / 86400:g} days (alerting.certificate_expiry_warning).",
                    ),
                    _p(
                        "Tool drift events",
                        TS,
                        "none",
                        Query(
                            f"sum by ({m.SERVICE}) (changes({q.series(m.PROBE_TOOLS_HASH)}{sc}[{q.RATE_INTERVAL}]))",
                            "{{service}}",
                        ),
                        description="Changes of the tool-definition hash: a tool was added, removed or redefined.",
                    ),
                    _p(
                        "JSON-RPC errors seen by probes",
                        TS,
                        "none",
                        Query(f"max by ({m.SERVICE}) ({q.series(m.PROBE_JSONRPC_ERROR)}{sc})", "{{service}}"),
                    ),
                ),
            ),
        ),
    )


def slo(p: q.Policy) -> Dashboard:
    """From the generated recording rules, so the panels and the burn-rate alerts agree to the digit."""
    budget = p.availability_budget
    avail = f"1 - {q.recorded(rec.availability_error_ratio(q.SLO_WINDOW))}"
    return Dashboard(
        "slo",
        "SLOs & error budgets",
        f"Availability SLO {p.availability:.2%} over {q.SLO_WINDOW}, burn rates, and the latency SLO "
        f"({p.latency_objective:.0%} of requests under {float(p.latency_threshold) * 1000:g} ms).",
        (
            Row(
                "Availability",
                (
                    _p(
                        f"Availability ({q.SLO_WINDOW})",
                        STAT,
                        "percentunit",
                        Query(avail, "{{service}}", instant=True),
                        policy_line=p.availability,
                        good_above=True,
                    ),
                    _p(
                        "Error budget remaining",
                        STAT,
                        "percentunit",
                        Query(q.recorded(rec.AVAILABILITY_BUDGET_REMAINING), "{{service}}", instant=True),
                        policy_line=0,
                        good_above=True,
                    ),
                    _p(
                        "Burn rate",
                        TS,
                        "none",
                        *(
                            Query(f"{q.recorded(rec.availability_error_ratio(w))} / {budget:g}", f"{w} {{{{service}}}}")
                            for w in ("1h", "6h", "3d")
                        ),
                        policy_line=PAGE_BURN_RATE,
                        description=f"1 spends the budget in exactly 30 days; {PAGE_BURN_RATE:g} pages.",
                    ),
                    _p(
                        "Error budget remaining over time",
                        TS,
                        "percentunit",
                        Query(q.recorded(rec.AVAILABILITY_BUDGET_REMAINING), "{{service}}"),
                        policy_line=0,
                        good_above=True,
                    ),
                ),
            ),
            Row(
                "Latency",
                (
                    _p(
                        f"Latency SLI ({q.SLO_WINDOW})",
                        STAT,
                        "percentunit",
                        Query(f"1 - {q.recorded(rec.latency_slow_ratio(q.SLO_WINDOW))}", "{{service}}", instant=True),
                        policy_line=p.latency_objective,
                        good_above=True,
                    ),
                    _p(
                        "Latency budget remaining",
                        STAT,
                        "percentunit",
                        Query(q.recorded(rec.LATENCY_BUDGET_REMAINING), "{{service}}", instant=True),
                        policy_line=0,
                        good_above=True,
                    ),
                    _p(
                        "Latency SLI (1h)",
                        TS,
                        "percentunit",
                        Query(f"1 - {q.recorded(rec.latency_slow_ratio('1h'))}", "{{service}}"),
                        policy_line=p.latency_objective,
                        good_above=True,
                    ),
                ),
            ),
        ),
    )


def infrastructure(p: q.Policy) -> Dashboard:
    sc = q.scope(q.MCP_JOB)
    return Dashboard(
        "infra",
        "Infrastructure",
        "The MCP server processes: CPU, memory, file descriptors, garbage collection.",
        (
            Row(
                "Process",
                (
                    _p(
                        "CPU utilization (share of the replica's limit)",
                        TS,
                        "percentunit",
                        Query(q.recorded(rec.CPU_UTILIZATION, instance=True), "{{service}} {{instance}}"),
                        policy_line=p.utilization,
                        description="CPU over 15 minutes against the replica's limit (its cgroup's, else "
                        "targets[].resources, else alerting.resources), as MCPCPUUtilizationHigh compares it.",
                    ),
                    _p(
                        "Memory utilization (share of the replica's limit)",
                        TS,
                        "percentunit",
                        Query(q.recorded(rec.MEMORY_UTILIZATION, instance=True), "{{service}} {{instance}}"),
                        policy_line=p.utilization,
                        description="Resident memory over 15 minutes against the replica's limit, as "
                        "MCPMemoryUtilizationHigh compares it.",
                    ),
                    _p(
                        "Resident memory",
                        TS,
                        "bytes",
                        Query(f"sum by ({m.SERVICE}, {m.INSTANCE}) ({q.PROCESS_RESIDENT_MEMORY}{sc})", "{{instance}}"),
                    ),
                    _p(
                        "Virtual memory",
                        TS,
                        "bytes",
                        Query(f"sum by ({m.SERVICE}, {m.INSTANCE}) ({q.PROCESS_VIRTUAL_MEMORY}{sc})", "{{instance}}"),
                    ),
                    _p(
                        "Open file descriptors (share of limit)",
                        TS,
                        "percentunit",
                        Query(f"{q.PROCESS_OPEN_FDS}{sc} / {q.PROCESS_MAX_FDS}{sc}", "{{instance}}"),
                        policy_line=LIMIT,
                    ),
                    _p(
                        "GC collections by generation",
                        TS,
                        "ops",
                        Query(
                            q.sum_rate(q.PYTHON_GC_COLLECTIONS, sc, (m.INSTANCE, "generation")),
                            "{{instance}} gen {{generation}}",
                        ),
                    ),
                    _p(
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


def capacity(p: q.Policy) -> Dashboard:
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
                    _p(
                        "Request rate and 7-day forecast",
                        TS,
                        "reqps",
                        Query(q.request_rate(SVC), "{{service}}"),
                        Query(f"predict_linear(({q.request_rate(SVC)})[6h:], {week})", "{{service}} in 7d"),
                    ),
                    _p(
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
                    _p(
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
                    _p(
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
                    _p(
                        "Active sessions and 7-day forecast",
                        TS,
                        "none",
                        Query(f"sum by ({m.SERVICE}) ({q.series(m.SESSIONS_ACTIVE)}{sc})", "{{service}}"),
                        Query(
                            f"predict_linear(sum by ({m.SERVICE}) ({q.series(m.SESSIONS_ACTIVE)}{sc})[6h:], {week})",
                            "{{service}} in 7d",
                        ),
                    ),
                    _p(
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


def logs(p: q.Policy) -> Dashboard:
    stream = f'{{{m.TENANT}="{q.TENANT_VAR}", {m.SERVICE}=~"{q.SERVICE_VAR}"}}'
    return Dashboard(
        "logs",
        "Logs",
        "Lookout's JSON logs from Loki; trace ids link to the trace.",
        (
            Row(
                "Logs",
                (
                    _p(
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
                    _p(
                        "Errors",
                        LOGS,
                        "none",
                        Query(f'{stream} | json | level=~"error|critical"', language=QueryLanguage.LOGQL),
                        width=24,
                    ),
                    _p(
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


def benchmarks(p: q.Policy) -> Dashboard:
    sc = f'{{{m.TARGET}=~"${m.TARGET}", {m.SCENARIO}=~"${m.SCENARIO}"}}'
    by_run = f"{m.TARGET}, {m.SCENARIO}"
    return Dashboard(
        "benchmarks",
        "Benchmarks",
        "Trends of `lookout bench` results pushed to the Pushgateway.",
        (
            Row(
                "Results",
                (
                    _p(
                        "Throughput",
                        TS,
                        "reqps",
                        Query(f"max by ({by_run}) ({q.series(m.BENCH_THROUGHPUT)}{sc})", "{{target}} {{scenario}}"),
                    ),
                    _p(
                        "Latency quantiles",
                        TS,
                        "s",
                        Query(
                            f"max by ({by_run}, {m.QUANTILE}) ({q.series(m.BENCH_LATENCY)}{sc})",
                            "{{target}} {{scenario}} q{{quantile}}",
                        ),
                        policy_line=p.latency_p99,
                    ),
                    _p(
                        "Error ratio",
                        TS,
                        "percentunit",
                        Query(
                            f"max by ({by_run}) ({q.series(m.BENCH_ERROR_RATIO)}{sc})",
                            "{{target}} {{scenario}}",
                        ),
                        policy_line=p.error_ratio,
                    ),
                    _p(
                        "Capacity per replica",
                        TS,
                        "reqps",
                        Query(
                            f'max by ({m.TARGET}) ({q.series(m.BENCH_CAPACITY)}{{{m.TARGET}=~"${m.TARGET}"}})',
                            "{{target}}",
                        ),
                    ),
                ),
            ),
        ),
        variables=(m.TARGET, m.SCENARIO),
    )


TENANT_DASHBOARDS: Final = (fleet, server, tools, probes, slo, infrastructure, capacity, logs)
"""Rendered once per tenant, into the tenant's folder."""
SHARED_DASHBOARDS: Final = (benchmarks,)
"""Rendered once, into the shared Lookout folder."""
