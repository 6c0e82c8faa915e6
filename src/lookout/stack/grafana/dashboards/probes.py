"""The Synthetic probes dashboard, in every tenant's folder: its rows and panels as a spec."""

from __future__ import annotations

from lookout import metrics as m
from lookout.stack.grafana import promql as q
from lookout.stack.grafana.model import Dashboard, Query, Row
from lookout.stack.grafana.panels import TABLE, TS, panel


def dashboard(p: q.Policy) -> Dashboard:
    # No job matcher: probe_* names come only from the prober, whatever its jobs are called.
    sc = q.scope(instance=False)
    return Dashboard(
        "probes",
        "Synthetic probes",
        "Blackbox MCP probes: success, phase timings, negotiated protocol, certificates, tool drift and footprint.",
        (
            Row(
                "Probes",
                (
                    panel(
                        "Probe success",
                        TS,
                        "percentunit",
                        Query(f"avg by ({m.SERVICE}) ({q.series(m.PROBE_SUCCESS)}{sc})", "{{service}}"),
                        min_value=0,
                        max_value=1,
                    ),
                    panel(
                        "Probe duration",
                        TS,
                        "s",
                        Query(f"max by ({m.SERVICE}) ({q.series(m.PROBE_DURATION)}{sc})", "{{service}}"),
                        policy_line=p.latency_p99,
                    ),
                    panel(
                        "Phase timings",
                        TS,
                        "s",
                        Query(
                            f"max by ({m.SERVICE}, {m.PHASE}) ({q.series(m.PROBE_PHASE_DURATION)}{sc})",
                            "{{service}} {{phase}}",
                        ),
                    ),
                    panel(
                        "Tools listed",
                        TS,
                        "none",
                        Query(f"max by ({m.SERVICE}) ({q.series(m.PROBE_TOOLS)}{sc})", "{{service}}"),
                    ),
                    panel(
                        "Protocol versions",
                        TABLE,
                        "none",
                        Query(
                            f"max by ({m.SERVICE}, {m.VERSION}) ({q.series(m.PROBE_PROTOCOL_VERSION)}{sc})",
                            instant=True,
                        ),
                    ),
                    panel(
                        "Certificate expiry",
                        TABLE,
                        "s",
                        Query(f"min by ({m.SERVICE}) ({q.series(m.PROBE_SSL_EXPIRY)}{sc}) - time()", instant=True),
                        policy_line=p.certificate_expiry_warning,
                        description="Time until the earliest certificate expires; reported below "
                        f"{p.certificate_expiry_warning / 86400:g} days (alerting.certificate_expiry_warning).",
                    ),
                    panel(
                        "Tool drift events",
                        TS,
                        "none",
                        Query(
                            f"sum by ({m.SERVICE}) (changes({q.series(m.PROBE_TOOLS_HASH)}{sc}[{q.RATE_INTERVAL}]))",
                            "{{service}}",
                        ),
                        description="Changes of the tool-definition hash: a tool was added, removed or redefined.",
                    ),
                    panel(
                        "Tool definitions footprint",
                        TS,
                        "none",
                        Query(
                            f"max by ({m.SERVICE}) ({q.series(m.PROBE_TOOLS_DEFINITION_TOKENS)}{sc})",
                            "{{service}}",
                        ),
                        policy_line=p.tool_footprint_tokens,
                        description="Estimated tokens of the tool definitions (names, descriptions, schemas) every "
                        "client loads into every model context; reported above "
                        f"{p.tool_footprint_tokens:g} (alerting.tool_footprint.max_tokens). Measured by discover "
                        "probes.",
                    ),
                    panel(
                        "Largest tool definitions",
                        TABLE,
                        "bytes",
                        Query(
                            f"topk(20, max by ({m.SERVICE}, {m.TOOL_NAME}) "
                            f"({q.series(m.PROBE_TOOL_DEFINITION_BYTES)}{sc}))",
                            instant=True,
                        ),
                        description=f"Bytes of each tool's definition, largest first; {m.OTHER} sums the tools "
                        "beyond the discover module's max_tool_series.",
                    ),
                    panel(
                        "JSON-RPC errors seen by probes",
                        TS,
                        "none",
                        Query(f"max by ({m.SERVICE}) ({q.series(m.PROBE_JSONRPC_ERROR)}{sc})", "{{service}}"),
                    ),
                ),
            ),
        ),
    )
