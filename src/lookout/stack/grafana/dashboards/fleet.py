"""The Fleet overview dashboard, in every tenant's folder: its rows and panels as a spec."""

from __future__ import annotations

from lookout import metrics as m
from lookout.stack.grafana import promql as q
from lookout.stack.grafana.model import Dashboard, Query, Row
from lookout.stack.grafana.panels import ANY, STAT, SVC, TABLE, TS, panel
from lookout.stack.rules import recording as rec


def dashboard(p: q.Policy) -> Dashboard:
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
                    panel("Targets up", STAT, "none", Query(f"sum({up})", instant=True), width=4, height=5),
                    panel(
                        "Targets down",
                        STAT,
                        "none",
                        Query(f"count({up} == 0) or vector(0)", instant=True),
                        width=4,
                        height=5,
                        policy_line=ANY,
                    ),
                    panel(
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
                    panel(
                        "p99 latency",
                        STAT,
                        "s",
                        Query(q.latency(0.99), instant=True),
                        width=4,
                        height=5,
                        policy_line=p.latency_p99,
                    ),
                    panel(
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
                    panel(
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
                    panel("Request rate", TS, "reqps", Query(q.request_rate(SVC), "{{service}}")),
                    panel(
                        "Error ratio",
                        TS,
                        "percentunit",
                        Query(q.recorded(rec.ERROR_RATIO), "{{service}}"),
                        policy_line=p.error_ratio,
                        description="Failed requests a user sees, as the error-ratio alert counts them; a gap while "
                        "a service has no traffic.",
                    ),
                    panel(
                        "p99 latency against the policy",
                        TS,
                        "s",
                        Query(q.latency(0.99, SVC), "{{service}}"),
                        policy_line=p.latency_p99,
                        description=f"The red line is the policy: p99 < {p.latency_p99 * 1000:g} ms.",
                    ),
                    panel(
                        f"SLO status ({q.SLO_WINDOW} availability)",
                        TABLE,
                        "percentunit",
                        Query(
                            f"1 - {q.recorded(rec.availability_error_ratio(q.SLO_WINDOW))}", "{{service}}", instant=True
                        ),
                        policy_line=p.availability,
                        good_above=True,
                    ),
                    panel("Targets up", TABLE, "none", Query(up, "{{service}} {{instance}}", instant=True)),
                    panel("Firing alerts", TABLE, "none", Query(alerts, instant=True)),
                ),
            ),
        ),
    )
