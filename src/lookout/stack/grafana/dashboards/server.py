"""The MCP server detail dashboard, in every tenant's folder (alert notifications link to it): its rows and panels
as a spec."""

from __future__ import annotations

from lookout import metrics as m
from lookout.stack import naming
from lookout.stack.grafana import promql as q
from lookout.stack.grafana.model import Dashboard, Query, Row
from lookout.stack.grafana.panels import HEATMAP, TABLE, TS, panel
from lookout.stack.rules import recording as rec


def dashboard(p: q.Policy) -> Dashboard:
    inflight = q.series(m.REQUESTS_IN_FLIGHT)
    return Dashboard(
        naming.SERVICE_DASHBOARD,
        "MCP server detail",
        "One server in depth: methods, tools, errors by type, latency, sessions, in-flight, transports, registry.",
        (
            Row(
                "Requests",
                (
                    panel(
                        "Requests by method", TS, "reqps", Query(q.request_rate((m.MCP_METHOD,)), "{{mcp_method_name}}")
                    ),
                    panel(
                        "Tool calls by tool",
                        TS,
                        "reqps",
                        Query(q.request_rate((m.TOOL_NAME,), f'{m.TOOL_NAME}!=""'), "{{gen_ai_tool_name}}"),
                    ),
                    panel(
                        "Errors by type",
                        TS,
                        "reqps",
                        Query(q.request_rate((m.ERROR_TYPE,), q.ANY_ERROR), "{{error_type}}"),
                        description="Client errors (JSON-RPC -32600 ...) included; the SLI excludes them.",
                    ),
                    panel(
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
                    panel(
                        "Latency heatmap", HEATMAP, "s", Query(q.sum_rate(q.OPS_BUCKET, q.scope(), ("le",)), "{{le}}")
                    ),
                    panel(
                        "Latency quantiles",
                        TS,
                        "s",
                        Query(q.latency(0.5), "p50"),
                        Query(q.latency(0.9), "p90"),
                        Query(q.latency(0.99), "p99"),
                        policy_line=p.latency_p99,
                    ),
                    panel(
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
                    panel(
                        "Active sessions",
                        TS,
                        "none",
                        Query(
                            f"sum by ({m.NETWORK_TRANSPORT}) ({q.series(m.SESSIONS_ACTIVE)}{q.scope()})",
                            "{{network_transport}}",
                        ),
                    ),
                    panel(
                        "Session duration p90",
                        TS,
                        "s",
                        Query(q.quantile(0.9, q.series(m.SESSION_DURATION, "bucket"), q.scope()), "p90"),
                    ),
                    panel(
                        "Requests in flight",
                        TS,
                        "none",
                        Query(f"sum by ({m.MCP_METHOD}) ({inflight}{q.scope()})", "{{mcp_method_name}}"),
                        Query(f"max({q.series(m.REQUESTS_IN_FLIGHT_LIMIT)}{q.scope()})", "limit (0 = none)"),
                    ),
                    panel(
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
                    panel(
                        "Messages by transport",
                        TS,
                        "mps",
                        Query(
                            q.sum_rate(q.series(m.TRANSPORT_MESSAGES), q.scope(), (m.MCP_TRANSPORT, m.DIRECTION)),
                            "{{mcp_transport}} {{direction}}",
                        ),
                    ),
                    panel(
                        "Bytes by transport",
                        TS,
                        "Bps",
                        Query(
                            q.sum_rate(q.series(m.TRANSPORT_BYTES), q.scope(), (m.MCP_TRANSPORT, m.DIRECTION)),
                            "{{mcp_transport}} {{direction}}",
                        ),
                    ),
                    panel(
                        "Transport errors",
                        TS,
                        "reqps",
                        Query(
                            q.sum_rate(q.series(m.TRANSPORT_ERRORS), q.scope(), (m.MCP_TRANSPORT, m.ERROR_TYPE)),
                            "{{mcp_transport}} {{error_type}}",
                        ),
                    ),
                    panel(
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
                    panel(
                        "Registered items",
                        TS,
                        "none",
                        Query(f"sum by ({m.REGISTRY_KIND}) ({q.series(m.REGISTRY_ITEMS)}{q.scope()})", "{{kind}}"),
                    ),
                    panel(
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
                    panel(
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
                    panel(
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
