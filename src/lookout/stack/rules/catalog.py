"""The alert catalog: one declarative entry per alert (what it watches, how long, how urgent, what it says).

Every alert carries ``priority``, ``severity``, ``tenant`` and ``service``, a summary stating the configured
numbers, a templated description, an absolute runbook link and (for alerts about MCP servers) a dashboard
link; :mod:`.render` turns the entries into rule data. The PromQL is built in :mod:`.expressions`, the wording
in :mod:`.templates`. An alert is added here, with its runbook (``docs/runbooks/<name>.md``) and its drill
(``lookout.runtime.drills``).
"""

from __future__ import annotations

from typing import Final

from lookout import metrics as m
from lookout.config.model import Priority
from lookout.stack.rules import expressions as x
from lookout.stack.rules import recording as r
from lookout.stack.rules import templates as t
from lookout.stack.rules.model import (
    ESCALATED_FROM,
    ESCALATION_PREFIX,
    STACK_TENANT,
    UNROUTABLE,
    WATCHDOG,
    AlertRule,
    held_for,
    stack_labels,
)

ESCALATED_P1: Final = f"{ESCALATION_PREFIX}P1"
ESCALATED_P2: Final = f"{ESCALATION_PREFIX}P2"
ESCALATE_P1_AFTER: Final = "30m"
ESCALATE_P2_AFTER: Final = "4h"
SLO_GROUP: Final = "lookout-slo"
AVAILABILITY_GROUP: Final = "lookout-availability"
RESOURCES_GROUP: Final = "lookout-resources"

ALERTS: tuple[AlertRule, ...] = (
    # ------------------------------------------------------------ P0: production down
    AlertRule(
        name="MCPServerDown",
        expr=x.server_down,
        for_="1m",
        priority=Priority.P0,
        summary="Every replica of an MCP server is down or flapping",
        description=(
            f"No replica of {t.SVC} answers its metrics scrape (or they answer less than the configured share "
            "of scrapes): the server is down, unreachable or crash-looping."
        ),
        family="availability",
        group=AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPProbeFailing",
        expr=x.probe_failing,
        for_="2m",
        priority=Priority.P0,
        summary="Synthetic MCP probe failing",
        description=f"The {{{{ $labels.job }}}} probe of {t.SVC} fails, or fails on and off: clients cannot use it.",
        family="availability",
        group=AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPTenantDown",
        expr=x.tenant_down,
        for_="1m",
        priority=Priority.P0,
        summary="Every MCP server of a tenant is down or flapping",
        description=(
            f"No MCP server of tenant {{{{ $labels.{m.TENANT} }}}} can be scraped (or each answers less than the "
            "configured share of scrapes): the whole tenant is down, unreachable or crash-looping."
        ),
        family="availability",
        group=AVAILABILITY_GROUP,
        static_labels=((m.SERVICE, m.TENANT_WIDE),),
    ),
    AlertRule(
        name="MCPErrorBudgetBurnFast",
        expr=x.availability_burn("5m", "1h", x.PAGE_BURN_RATE),
        for_="2m",
        priority=Priority.P0,
        summary="Availability error budget burning 14.4x too fast",
        description=f"{t.SVC} fails {{{{ $value | humanizePercentage }}}} of requests: 2 % of the budget per hour.",
        family="errors",
        group=SLO_GROUP,
    ),
    # ------------------------------------------------------------ P1: performance degradation
    AlertRule(
        name="MCPServerInstanceDown",
        expr=x.instance_down,
        for_="1m",
        priority=Priority.P1,
        summary="A replica of an MCP server is down, flapping or restarting",
        description=(
            f"Replica {{{{ $labels.instance }}}} of {t.SVC} fails its metrics scrape or keeps restarting; the other "
            "replicas carry its load."
        ),
        family="availability",
        group=AVAILABILITY_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPErrorBudgetBurnMedium",
        expr=x.availability_burn("30m", "6h", 6),
        for_="15m",
        priority=Priority.P1,
        summary="Availability error budget burning 6x too fast",
        description=f"{t.SVC} fails {{{{ $value | humanizePercentage }}}} of requests: 5 % of the budget in 6 hours.",
        family="errors",
        group=SLO_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPErrorRatioHigh",
        expr=x.error_ratio(r.SERVICE_LABELS),
        for_="5m",
        priority=Priority.P1,
        summary=lambda c: f"MCP error ratio above the {t.pct(c.alerting.slo.error_ratio_threshold)} policy",
        description=f"{{{{ $value | humanizePercentage }}}} of requests to {t.SVC} failed over 5 minutes.",
        family="errors",
        group=AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPToolErrorRatioHigh",
        expr=x.error_ratio(r.TOOL_LABELS),
        for_="5m",
        priority=Priority.P1,
        summary=lambda c: f"MCP tool error ratio above the {t.pct(c.alerting.slo.error_ratio_threshold)} policy",
        description=f"{{{{ $value | humanizePercentage }}}} of calls to {t.TOOL} failed over 5 minutes.",
        family="errors",
        group=AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPLatencyP99High",
        expr=x.p99(r.SERVICE_LABELS),
        for_="5m",
        priority=Priority.P1,
        summary=lambda c: f"MCP p99 latency above the {t.seconds(c.alerting.slo.latency_p99_threshold)} policy",
        description=f"p99 latency of {t.SVC} is {{{{ $value | humanizeDuration }}}} over 5 minutes.",
        family="latency",
        group=AVAILABILITY_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPToolLatencyP99High",
        expr=x.p99(r.TOOL_LABELS),
        for_="5m",
        priority=Priority.P1,
        summary=lambda c: f"MCP tool p99 latency above the {t.seconds(c.alerting.slo.latency_p99_threshold)} policy",
        description=f"p99 latency of {t.TOOL} is {{{{ $value | humanizeDuration }}}} over 5 minutes.",
        family="latency",
        group=AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPLatencyBudgetBurnFast",
        expr=x.latency_burn("5m", "1h", x.PAGE_BURN_RATE),
        for_="2m",
        priority=Priority.P1,
        summary="Latency error budget burning 14.4x too fast",
        description=f"{{{{ $value | humanizePercentage }}}} of requests to {t.SVC} are slower than the latency SLO.",
        family="latency",
        group=SLO_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPCertificateExpired",
        expr=x.certificate_expired,
        for_="0s",
        priority=Priority.P1,
        summary="TLS certificate has expired",
        description=f"The certificate of {t.SVC} expired: clients that verify TLS cannot connect.",
        family="maintenance",
        group="lookout-probes",
        escalates=True,
    ),
    # ------------------------------------------------------------ P2: resource exhaustion
    AlertRule(
        name="MCPErrorBudgetBurnSlow",
        expr=x.availability_burn("2h", "1d", 3),
        for_="1h",
        priority=Priority.P2,
        summary="Availability error budget burning 3x too fast",
        description=f"{t.SVC} fails {{{{ $value | humanizePercentage }}}} of requests: 10 % of the budget in a day.",
        family="errors",
        group=SLO_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPLatencyBudgetBurnSlow",
        expr=x.latency_burn("2h", "1d", 3),
        for_="1h",
        priority=Priority.P2,
        summary="Latency error budget burning 3x too fast",
        description=f"{{{{ $value | humanizePercentage }}}} of requests to {t.SVC} are slower than the latency SLO.",
        family="latency",
        group=SLO_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPCPUUtilizationHigh",
        expr=x.cpu,
        for_="15m",
        priority=Priority.P2,
        summary=lambda c: f"MCP server CPU utilization above {t.pct(c.alerting.resources.utilization_threshold)}",
        description=f"{t.SVC} ({{{{ $labels.instance }}}}) uses {{{{ $value | humanizePercentage }}}} of its CPU.",
        family="resources",
        group=RESOURCES_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPMemoryUtilizationHigh",
        expr=x.memory,
        for_="15m",
        priority=Priority.P2,
        summary=lambda c: f"MCP server memory utilization above {t.pct(c.alerting.resources.utilization_threshold)}",
        description=f"{t.SVC} ({{{{ $labels.instance }}}}) uses {{{{ $value | humanizePercentage }}}} of its memory.",
        family="resources",
        group=RESOURCES_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPMemoryExhaustionForecast",
        expr=x.memory_forecast,
        for_="15m",
        priority=Priority.P2,
        summary=lambda c: f"MCP server memory runs out within {c.alerting.resources.forecast_horizon}",
        description=f"{t.SVC} ({{{{ $labels.instance }}}}) grows towards its memory limit: the last hour's trend "
        "reaches it within the forecast horizon.",
        family="resources",
        group=RESOURCES_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPFileDescriptorsExhaustionForecast",
        expr=x.fds_forecast,
        for_="15m",
        priority=Priority.P2,
        summary=lambda c: f"MCP server file descriptors run out within {c.alerting.resources.forecast_horizon}",
        description=f"{t.SVC} ({{{{ $labels.instance }}}}) opens file descriptors towards its limit: the last "
        "hour's trend reaches it within the forecast horizon (a leak of sockets or files).",
        family="resources",
        group=RESOURCES_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPSessionLeak",
        expr=x.session_leak,
        for_="30m",
        priority=Priority.P2,
        summary="MCP sessions keep rising while traffic does not",
        description=f"{t.SVC} opened {{{{ $value }}}} more sessions than it closed in 30 minutes at flat traffic.",
        family="resources",
        group=RESOURCES_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPInFlightSaturation",
        expr=x.in_flight,
        for_="5m",
        priority=Priority.P2,
        summary=lambda c: (
            "MCP requests in flight average above "
            f"{t.pct(c.alerting.resources.in_flight_threshold)} of the concurrency limit"
        ),
        description=f"{t.SVC} ({{{{ $labels.instance }}}}) runs at {{{{ $value | humanizePercentage }}}} of its limit.",
        family="resources",
        group=RESOURCES_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPToolDefinitionsChanged",
        expr=x.tool_definitions_changed,
        for_="0s",
        priority=Priority.P2,
        summary="The tools an MCP server offers changed",
        description=f"The tool definitions of {t.SVC} changed in the last 15 minutes (names, descriptions or schemas).",
        family="drift",
        group="lookout-probes",
    ),
    AlertRule(
        name="MCPCapacityHigh",
        expr=x.capacity,
        for_="15m",
        priority=Priority.P2,
        summary=lambda c: (
            f"MCP request rate above {t.pct(c.alerting.resources.utilization_threshold)} of benchmarked capacity"
        ),
        description=f"{t.SVC} ({{{{ $labels.instance }}}}) runs at {{{{ $value | humanizePercentage }}}} of capacity.",
        family="resources",
        group=RESOURCES_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPTelemetryDropped",
        expr=x.telemetry_dropped,
        for_="5m",
        priority=Priority.P2,
        summary="An MCP server is losing telemetry",
        description=f"{t.SVC} ({{{{ $labels.instance }}}}) dropped {{{{ $value }}}} {{{{ $labels.signal }}}} in "
        "15 minutes: logs or traces of this period are incomplete.",
        family="telemetry",
        group=RESOURCES_GROUP,
    ),
    # ------------------------------------------------------------ P3: maintenance
    AlertRule(
        name="MCPCertificateExpiringSoon",
        expr=x.certificate_expiring,
        for_="10m",
        priority=Priority.P3,
        summary=lambda c: f"TLS certificate expires within {c.alerting.certificate_expiry_warning}",
        description=f"The certificate of {t.SVC} expires in {{{{ $value | humanizeDuration }}}}.",
        family="maintenance",
        group="lookout-probes",
    ),
    AlertRule(
        name="MCPToolDefinitionsFootprintHigh",
        expr=x.tool_footprint_high,
        for_="15m",
        priority=Priority.P3,
        summary=lambda c: (
            f"MCP tool definitions above {c.alerting.tool_footprint.max_tokens} tokens, or grown more than "
            f"{t.pct(c.alerting.tool_footprint.max_growth)} in {c.alerting.tool_footprint.growth_window}"
        ),
        description=f"The tool definitions of {t.SVC} take about {{{{ $value }}}} tokens of every model context "
        f"that loads them ({{{{ $labels.{m.REASON} }}}}): every client pays them on every request.",
        family="drift",
        group="lookout-probes",
    ),
    AlertRule(
        name="MCPDeprecatedProtocolVersion",
        expr=x.deprecated_protocol,
        for_="10m",
        priority=Priority.P3,
        summary="A deprecated MCP protocol revision is in use",
        description=f"{t.SVC} speaks MCP revision {{{{ $labels.version }}}}, which lookout.yaml lists as deprecated.",
        family="maintenance",
        group="lookout-probes",
    ),
    AlertRule(
        name="MCPErrorBudgetLow",
        expr=x.budget_low,
        for_="30m",
        priority=Priority.P3,
        summary=lambda c: f"Less than {t.pct(c.alerting.slo.budget_low)} of the 30-day error budget is left",
        description=f"{t.SVC} has {{{{ $value | humanizePercentage }}}} of its 30-day availability budget left.",
        family="errors",
        group=SLO_GROUP,
    ),
    AlertRule(
        name="MCPErrorBudgetBurnTicket",
        expr=x.availability_burn("6h", "3d", 1),
        for_="1h",
        priority=Priority.P3,
        summary="Availability error budget burning faster than it accrues",
        description=f"{t.SVC} fails {{{{ $value | humanizePercentage }}}} of requests: the budget won't last.",
        family="errors",
        group=SLO_GROUP,
    ),
    # ------------------------------------------------------------ self-monitoring
    AlertRule(
        name="LookoutRuleEvaluationFailures",
        expr=x.rule_evaluation_failures,
        for_="5m",
        priority=Priority.P1,
        summary="Prometheus fails to evaluate rules",
        description="Prometheus {{ $labels.instance }} failed {{ $value }} rule evaluations in 5 minutes.",
        family="stack",
        group="lookout-self",
        static_labels=stack_labels("prometheus"),
        escalates=True,
        about_servers=False,
    ),
    AlertRule(
        name="LookoutAlertmanagerNotificationsFailing",
        expr=x.alertmanager_unreachable,
        for_="10m",
        priority=Priority.P1,
        summary="Prometheus cannot send alerts to Alertmanager",
        description="Prometheus {{ $labels.instance }} fails to deliver alerts to Alertmanager.",
        family="stack",
        group="lookout-self",
        static_labels=stack_labels("prometheus"),
        escalates=True,
        about_servers=False,
    ),
    AlertRule(
        name="LookoutReceiverNotificationsFailing",
        expr=x.receiver_failing,
        for_="10m",
        priority=Priority.P1,
        summary="Alertmanager cannot deliver notifications",
        description="Alertmanager fails to deliver notifications through {{ $labels.integration }}.",
        family="stack",
        group="lookout-self",
        static_labels=stack_labels("alertmanager"),
        escalates=True,
        about_servers=False,
    ),
    AlertRule(
        name="LookoutRemoteWriteBehind",
        expr=x.remote_write_behind,
        for_="5m",
        priority=Priority.P2,
        summary=lambda c: f"A remote-write queue is more than {c.prometheus.remote_write_max_lag} behind",
        description=(
            "Prometheus {{ $labels.instance }} cannot ship samples to {{ $labels.remote_name }} ({{ $labels.url }}): "
            "dashboards reading the long-term store miss recent data, and the queue grows in the WAL."
        ),
        family="stack",
        group="lookout-self",
        static_labels=stack_labels("prometheus"),
        about_servers=False,
    ),
    AlertRule(
        name="LookoutScrapeTargetAbsent",
        expr=x.targets_absent,
        for_="5m",
        priority=Priority.P2,
        summary="A configured MCP target has no scrape series",
        description=f"Prometheus has no `up` series for {t.SVC}: it is missing from the scrape configuration.",
        family="stack",
        group="lookout-self",
        escalates=True,
    ),
    AlertRule(
        name="LookoutStackComponentDown",
        expr=x.role_down(x.ESSENTIAL_JOBS),
        for_="5m",
        priority=Priority.P1,
        summary="A component of the monitoring stack is down",
        description=(
            "{{ $labels.job }} ({{ $labels.instance }}) cannot be scraped: alert evaluation, alert delivery or "
            "synthetic probes are blind (no replica of it is up)."
        ),
        family="stack",
        group="lookout-self",
        static_labels=((m.TENANT, STACK_TENANT),),
        escalates=True,
        about_servers=False,
    ),
    AlertRule(
        name="LookoutStackReplicaDown",
        expr=x.redundancy_lost(x.ESSENTIAL_JOBS),
        for_="10m",
        priority=Priority.P2,
        summary="An HA replica of the monitoring stack is down; the others carry on",
        description=(
            "{{ $labels.job }} ({{ $labels.instance }}) cannot be scraped, but another instance of its role is up: "
            "alerting works, one more failure would blind it. Bring it back within working hours."
        ),
        family="stack",
        group="lookout-self",
        static_labels=((m.TENANT, STACK_TENANT),),
        about_servers=False,
    ),
    AlertRule(
        name="LookoutAuxiliaryComponentDown",
        expr=x.component_down(x.AUXILIARY_JOBS),
        for_="10m",
        priority=Priority.P2,
        summary="The Pushgateway or node-exporter is down",
        description=(
            "{{ $labels.job }} ({{ $labels.instance }}) cannot be scraped: benchmark results or host metrics are "
            "missing; MCP servers are still watched."
        ),
        family="stack",
        group="lookout-self",
        static_labels=((m.TENANT, STACK_TENANT),),
        about_servers=False,
    ),
    AlertRule(
        name="LookoutAlertUnroutable",
        expr=x.unroutable,
        for_="5m",
        priority=Priority.P2,
        summary="An alert matches no tenant or priority route",
        description=(
            f"{{{{ $labels.{UNROUTABLE} }}}} fires with a tenant or priority lookout.yaml does not know: it reaches "
            "only the default receiver. Fix the rule's labels or add the tenant."
        ),
        family="stack",
        group="lookout-self",
        static_labels=stack_labels("alertmanager"),
        about_servers=False,
    ),
    AlertRule(
        name=WATCHDOG,
        expr=x.always,
        for_="0s",
        priority=Priority.P3,
        summary="Always firing: proves the alerting pipeline works end to end",
        description="The heartbeat receiver should hear from this alert every few minutes; silence means trouble.",
        family="heartbeat",
        group="lookout-self",
        static_labels=stack_labels("watchdog"),
        about_servers=False,
    ),
    # ------------------------------------------------------------ escalation
    AlertRule(
        name=ESCALATED_P1,
        expr=x.escalate(Priority.P1, (Priority.P0,), lambda: ALERTS),
        for_=ESCALATE_P1_AFTER,
        priority=Priority.P0,
        # The time stated is the escalation's own `for` (overridable in lookout.yaml): it is the time escalated.
        summary=lambda c: f"A P1 alert has fired for {held_for(ESCALATED_P1, ESCALATE_P1_AFTER, c)}: escalated to P0",
        description=lambda c: (
            f"{{{{ $labels.{ESCALATED_FROM} }}}} on {t.SVC} is still firing after "
            f"{held_for(ESCALATED_P1, ESCALATE_P1_AFTER, c)}."
        ),
        family=None,
        group="lookout-escalation",
    ),
    AlertRule(
        name=ESCALATED_P2,
        expr=x.escalate(Priority.P2, (Priority.P0, Priority.P1), lambda: ALERTS),
        for_=ESCALATE_P2_AFTER,
        priority=Priority.P1,
        summary=lambda c: f"A P2 alert has fired for {held_for(ESCALATED_P2, ESCALATE_P2_AFTER, c)}: escalated to P1",
        description=lambda c: (
            f"{{{{ $labels.{ESCALATED_FROM} }}}} on {t.SVC} is still firing after "
            f"{held_for(ESCALATED_P2, ESCALATE_P2_AFTER, c)}."
        ),
        family=None,
        group="lookout-escalation",
    ),
)


def alert_names() -> list[str]:
    return [alert.name for alert in ALERTS]
