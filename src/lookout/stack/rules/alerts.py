"""The alert catalog. Every alert carries ``priority``, ``severity``, ``tenant`` and ``service``,
a static summary, a templated description and a runbook link (``docs/runbooks/<Alert>.md``).

``family`` groups alerts about the same symptom (errors, latency, ...) so that Alertmanager lets a
higher priority silence a lower one of the same family. Alerts about the stack itself carry
``tenant="_lookout"`` (a value no lookout.yaml tenant can take) and route by ``alerting.routes``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from lookout import metrics as m
from lookout.config.model import Config, Priority
from lookout.stack import naming
from lookout.stack.grafana.render import dashboard_uid
from lookout.stack.rules import recording as r
from lookout.stack.yamlio import dump_yaml

SEVERITY = {Priority.P0: "critical", Priority.P1: "critical", Priority.P2: "warning", Priority.P3: "info"}
FAMILY: Final = "family"
ESCALATED_FROM: Final = "escalated_from"
STACK_TENANT: Final = "_lookout"
"""Tenant label of alerts about Lookout's own stack (Prometheus, Alertmanager, the heartbeat)."""
WATCHDOG: Final = "Watchdog"
SERVICE_DASHBOARD: Final = "server"
"""Slug of the MCP server detail dashboard that notifications link to (one per tenant folder)."""

_PROBED = f'{m.SERVICE}!=""'
"""Probe series of configured targets. Probe metric names are the prober's alone, so no job matcher: the
prober's job names (one per module) are its own business."""
_SVC = f"{{{{ $labels.{m.SERVICE} }}}} of tenant {{{{ $labels.{m.TENANT} }}}}"
_TOOL = f"tool {{{{ $labels.{m.TOOL_NAME} }}}} of {_SVC}"
_BY_SERVICE = ", ".join(r.SERVICE_LABELS)

Expr = Callable[[Config], str]


def _dashboard_url(config: Config) -> str:
    """Link to the tenant's MCP server detail dashboard, the service preselected. Dashboard uids are per
    tenant, so the template picks the uid by the alert's tenant label."""
    uids = "".join(
        f'{{{{ if eq $labels.{m.TENANT} "{t.name}" }}}}{dashboard_uid(t.name, SERVICE_DASHBOARD)}{{{{ end }}}}'
        for t in config.tenants
    )
    return f"http://{config.listen.grafana}/d/{uids}?var-{m.SERVICE}={{{{ $labels.{m.SERVICE} }}}}"


def _const(expr: str) -> Expr:
    return lambda _config: expr


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: Expr
    for_: str
    priority: Priority
    summary: str
    description: str
    family: str | None
    group: str
    static_labels: tuple[tuple[str, str], ...] = ()
    """Labels the expression cannot carry (e.g. the stack's tenant); they override the expression's."""

    def to_rule(self, config: Config) -> dict[str, Any] | None:
        override = config.alerting.alerts.get(self.name)
        if override is not None and not override.enabled:
            return None
        expr = self.expr(config)
        if not expr:
            return None
        for_ = override.for_ if override is not None and override.for_ is not None else self.for_
        labels = {m.PRIORITY: self.priority.value, m.SEVERITY: SEVERITY[self.priority], **dict(self.static_labels)}
        if self.family is not None:  # escalations keep the family of the alert they escalate
            labels[FAMILY] = self.family
        dashboard = _dashboard_url(config)
        return {
            "alert": self.name,
            "expr": expr,
            "for": for_,
            "labels": labels,
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": f"{config.alerting.runbook_base_url.rstrip('/')}/{self.name}.md",
                "dashboard_url": dashboard,
            },
        }


# ---------------------------------------------------------------- expressions that depend on lookout.yaml
def _busy(window: str = "5m", labels: tuple[str, ...] = r.SERVICE_LABELS) -> Expr:
    """Only services with enough traffic may page: one failed request out of three is not an outage."""
    return lambda c: f"on ({', '.join(labels)}) {r.requests_rate(labels, window)} > {c.alerting.slo.min_request_rate}"


def _burn(
    short: str, long: str, factor: float, sli: Callable[[str], str], objective: Callable[[Config], float]
) -> Expr:
    def expr(c: Config) -> str:
        threshold = round(factor * (1 - objective(c) / 100), 10)
        return f"({sli(short)} > {threshold} and {sli(long)} > {threshold}) and {_busy(_guard_window(long))(c)}"

    return expr


def _guard_window(window: str) -> str:
    # rate() over days divides by the whole window, which a young service has not lived through yet.
    return window if window in ("5m", "30m", "1h", "2h", "6h") else "6h"


def _availability(c: Config) -> float:
    return c.alerting.slo.availability


def _latency(c: Config) -> float:
    return c.alerting.slo.latency


def _error_ratio(labels: tuple[str, ...]) -> Expr:
    return lambda c: f"{r.error_ratio(labels)} > {c.alerting.slo.error_ratio_threshold} and {_busy('5m', labels)(c)}"


def _p99(labels: tuple[str, ...]) -> Expr:
    quantile = r.latency_quantile("99", labels)
    return lambda c: f"{quantile} > {c.alerting.slo.latency_p99_threshold} and {_busy('5m', labels)(c)}"


def _cpu(c: Config) -> str:
    res = c.alerting.resources
    cpu = f"rate(process_cpu_seconds_total{{{r.MCP_SELECTOR}}}[15m])"
    return f"{cpu} / {res.cpu_cores} > {res.utilization_threshold}"


def _memory(c: Config) -> str:
    res = c.alerting.resources
    memory = f"avg_over_time(process_resident_memory_bytes{{{r.MCP_SELECTOR}}}[15m])"
    return f"{memory} / {res.memory_limit_bytes} > {res.utilization_threshold}"


def _capacity(c: Config) -> str:
    return (
        f"{r.INSTANCE_REQUESTS_RATE} / on ({_BY_SERVICE}) group_left () {r.CAPACITY}"
        f" > {c.alerting.resources.utilization_threshold}"
    )


def _deprecated(c: Config) -> str:
    versions = "|".join(c.alerting.deprecated_protocol_versions)
    if not versions:
        return ""
    probed = f'{m.PROBE_PROTOCOL_VERSION.name}{{{_PROBED},version=~"{versions}"}} > 0'
    served = f'rate({r.OPS_COUNT}{{{r.MCP_SELECTOR},{m.PROTOCOL_VERSION}=~"{versions}"}}[1h]) > 0'
    # Both sources as one `version` label: what the prober negotiated and what clients of the server speak.
    as_version = f'label_replace({served}, "version", "$1", "{m.PROTOCOL_VERSION}", "(.+)")'
    return f"count by ({_BY_SERVICE}, version) (({probed}) or {as_version}) > 0"


def _budget_low(c: Config) -> str:
    return f"{r.AVAILABILITY_BUDGET_REMAINING} < {c.alerting.slo.budget_low} and {_busy('6h')(c)}"


def _targets_absent(c: Config) -> str:
    absent = [
        f'absent(up{{{m.JOB}="{naming.JOB_MCP}",{m.TENANT}="{tenant.name}",{m.SERVICE}="{target.name}"}})'
        for tenant, target in c.targets()
        if target.metrics_url is not None
    ]
    return " or ".join(absent)


def _escalate(priority: Priority) -> Expr:
    # ALERTS carries the escalated alert's labels (tenant, service, family); alertstate is dropped so the
    # new alert's own ALERTS series is well-formed, and escalations never escalate again.
    firing = f'ALERTS{{alertstate="firing",{m.PRIORITY}="{priority.value}",alertname!~"LookoutEscalated.*"}}'
    return _const(
        f'label_replace(label_replace({firing}, "{ESCALATED_FROM}", "$1", "alertname", "(.+)"),'
        ' "alertstate", "", "alertstate", ".*")'
    )


def _stack(service: str) -> tuple[tuple[str, str], ...]:
    return ((m.TENANT, STACK_TENANT), (m.SERVICE, service))


_SLO_GROUP = "lookout-slo"
_AVAILABILITY_GROUP = "lookout-availability"

_STACK_JOBS = "|".join(
    (naming.JOB_PROMETHEUS, naming.JOB_ALERTMANAGER, naming.JOB_EXPORTER, naming.JOB_PUSHGATEWAY, naming.JOB_NODE)
)
"""Components of the monitoring stack itself; any of them down is LookoutStackComponentDown."""

ALERTS: tuple[AlertRule, ...] = (
    # ------------------------------------------------------------ P0: production down
    AlertRule(
        name="MCPServerDown",
        expr=_const(f'up{{{m.JOB}="{naming.JOB_MCP}"}} == 0'),
        for_="1m",
        priority=Priority.P0,
        summary="An MCP server cannot be scraped",
        description=(
            f"{_SVC} ({{{{ $labels.instance }}}}) failed its metrics scrape: the process is down or unreachable."
        ),
        family="availability",
        group=_AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPProbeFailing",
        expr=_const(f"min by ({_BY_SERVICE}, {m.JOB}) ({m.PROBE_SUCCESS.name}{{{_PROBED}}}) == 0"),
        for_="2m",
        priority=Priority.P0,
        summary="Synthetic MCP probe failing",
        description=f"The {{{{ $labels.job }}}} probe of {_SVC} has failed for 2 minutes: clients cannot use it.",
        family="availability",
        group=_AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPTenantDown",
        expr=_const(f'max by ({m.TENANT}) (up{{{m.JOB}="{naming.JOB_MCP}"}}) == 0'),
        for_="1m",
        priority=Priority.P0,
        summary="Every MCP server of a tenant is down",
        description=f"No MCP server of tenant {{{{ $labels.{m.TENANT} }}}} can be scraped.",
        family="availability",
        group=_AVAILABILITY_GROUP,
        static_labels=((m.SERVICE, "all"),),
    ),
    AlertRule(
        name="MCPErrorBudgetBurnFast",
        expr=_burn("5m", "1h", 14.4, r.availability_error_ratio, _availability),
        for_="2m",
        priority=Priority.P0,
        summary="Availability error budget burning 14.4x too fast",
        description=f"{_SVC} fails {{{{ $value | humanizePercentage }}}} of requests: 2 % of the budget per hour.",
        family="slo-availability",
        group=_SLO_GROUP,
    ),
    # ------------------------------------------------------------ P1: performance degradation
    AlertRule(
        name="MCPErrorBudgetBurnMedium",
        expr=_burn("30m", "6h", 6, r.availability_error_ratio, _availability),
        for_="15m",
        priority=Priority.P1,
        summary="Availability error budget burning 6x too fast",
        description=f"{_SVC} fails {{{{ $value | humanizePercentage }}}} of requests: 5 % of the budget in 6 hours.",
        family="slo-availability",
        group=_SLO_GROUP,
    ),
    AlertRule(
        name="MCPErrorRatioHigh",
        expr=_error_ratio(r.SERVICE_LABELS),
        for_="5m",
        priority=Priority.P1,
        summary="MCP error ratio above the 0.1 % policy",
        description=f"{{{{ $value | humanizePercentage }}}} of requests to {_SVC} failed over 5 minutes.",
        family="errors",
        group=_AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPToolErrorRatioHigh",
        expr=_error_ratio(r.TOOL_LABELS),
        for_="5m",
        priority=Priority.P1,
        summary="MCP tool error ratio above the 0.1 % policy",
        description=f"{{{{ $value | humanizePercentage }}}} of calls to {_TOOL} failed over 5 minutes.",
        family="errors",
        group=_AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPLatencyP99High",
        expr=_p99(r.SERVICE_LABELS),
        for_="5m",
        priority=Priority.P1,
        summary="MCP p99 latency above the 100 ms policy",
        description=f"p99 latency of {_SVC} is {{{{ $value | humanizeDuration }}}} over 5 minutes.",
        family="latency",
        group=_AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPToolLatencyP99High",
        expr=_p99(r.TOOL_LABELS),
        for_="5m",
        priority=Priority.P1,
        summary="MCP tool p99 latency above the 100 ms policy",
        description=f"p99 latency of {_TOOL} is {{{{ $value | humanizeDuration }}}} over 5 minutes.",
        family="latency",
        group=_AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPLatencyBudgetBurnFast",
        expr=_burn("5m", "1h", 14.4, r.latency_slow_ratio, _latency),
        for_="2m",
        priority=Priority.P1,
        summary="Latency error budget burning 14.4x too fast",
        description=f"{{{{ $value | humanizePercentage }}}} of requests to {_SVC} are slower than the latency SLO.",
        family="slo-latency",
        group=_SLO_GROUP,
    ),
    # ------------------------------------------------------------ P2: resource exhaustion
    AlertRule(
        name="MCPErrorBudgetBurnSlow",
        expr=_burn("2h", "1d", 3, r.availability_error_ratio, _availability),
        for_="1h",
        priority=Priority.P2,
        summary="Availability error budget burning 3x too fast",
        description=f"{_SVC} fails {{{{ $value | humanizePercentage }}}} of requests: 10 % of the budget in a day.",
        family="slo-availability",
        group=_SLO_GROUP,
    ),
    AlertRule(
        name="MCPLatencyBudgetBurnSlow",
        expr=_burn("2h", "1d", 3, r.latency_slow_ratio, _latency),
        for_="1h",
        priority=Priority.P2,
        summary="Latency error budget burning 3x too fast",
        description=f"{{{{ $value | humanizePercentage }}}} of requests to {_SVC} are slower than the latency SLO.",
        family="slo-latency",
        group=_SLO_GROUP,
    ),
    AlertRule(
        name="MCPCPUUtilizationHigh",
        expr=_cpu,
        for_="15m",
        priority=Priority.P2,
        summary="MCP server CPU utilization above 70 %",
        description=f"{_SVC} ({{{{ $labels.instance }}}}) uses {{{{ $value | humanizePercentage }}}} of its CPU.",
        family="resources",
        group="lookout-resources",
    ),
    AlertRule(
        name="MCPMemoryUtilizationHigh",
        expr=_memory,
        for_="15m",
        priority=Priority.P2,
        summary="MCP server memory utilization above 70 %",
        description=f"{_SVC} ({{{{ $labels.instance }}}}) uses {{{{ $value | humanizePercentage }}}} of its memory.",
        family="resources",
        group="lookout-resources",
    ),
    AlertRule(
        name="MCPSessionLeak",
        expr=_const(
            f"sum by ({_BY_SERVICE}) (delta({m.SESSIONS_ACTIVE.name}{{{r.MCP_SELECTOR}}}[30m])) > 10"
            f" unless on ({_BY_SERVICE})"
            f" (sum by ({_BY_SERVICE}) (rate({r.OPS_COUNT}{{{r.MCP_SELECTOR}}}[30m]))"
            f" > 1.2 * sum by ({_BY_SERVICE}) (rate({r.OPS_COUNT}{{{r.MCP_SELECTOR}}}[30m] offset 30m)))"
        ),
        for_="30m",
        priority=Priority.P2,
        summary="MCP sessions keep rising while traffic does not",
        description=f"{_SVC} opened {{{{ $value }}}} more sessions than it closed in 30 minutes at flat traffic.",
        family="resources",
        group="lookout-resources",
    ),
    AlertRule(
        name="MCPInFlightSaturation",
        expr=_const(
            f"sum by ({_BY_SERVICE}, {m.INSTANCE}) ({m.REQUESTS_IN_FLIGHT.name}{{{r.MCP_SELECTOR}}})"
            f" / on ({_BY_SERVICE}, {m.INSTANCE}) ({m.REQUESTS_IN_FLIGHT_LIMIT.name}{{{r.MCP_SELECTOR}}} > 0) > 0.8"
        ),
        for_="10m",
        priority=Priority.P2,
        summary="MCP requests in flight near the concurrency limit",
        description=f"{_SVC} ({{{{ $labels.instance }}}}) runs at {{{{ $value | humanizePercentage }}}} of its limit.",
        family="resources",
        group="lookout-resources",
    ),
    AlertRule(
        name="MCPToolDefinitionsChanged",
        expr=_const(f"max by ({_BY_SERVICE}) (changes({m.PROBE_TOOLS_HASH.name}{{{_PROBED}}}[15m])) > 0"),
        for_="0s",
        priority=Priority.P2,
        summary="The tools an MCP server offers changed",
        description=f"The tool definitions of {_SVC} changed in the last 15 minutes (names, descriptions or schemas).",
        family="drift",
        group="lookout-probes",
    ),
    AlertRule(
        name="MCPCapacityHigh",
        expr=_capacity,
        for_="15m",
        priority=Priority.P2,
        summary="MCP request rate above 70 % of benchmarked capacity",
        description=f"{_SVC} ({{{{ $labels.instance }}}}) runs at {{{{ $value | humanizePercentage }}}} of capacity.",
        family="resources",
        group="lookout-resources",
    ),
    # ------------------------------------------------------------ P3: maintenance
    AlertRule(
        name="MCPCertificateExpiringSoon",
        expr=_const(f"min by ({_BY_SERVICE}) ({m.PROBE_SSL_EXPIRY.name}{{{_PROBED}}} > 0) - time() < 14 * 86400"),
        for_="10m",
        priority=Priority.P3,
        summary="TLS certificate expires within 14 days",
        description=f"The certificate of {_SVC} expires in {{{{ $value | humanizeDuration }}}}.",
        family="maintenance",
        group="lookout-probes",
    ),
    AlertRule(
        name="MCPDeprecatedProtocolVersion",
        expr=_deprecated,
        for_="10m",
        priority=Priority.P3,
        summary="A deprecated MCP protocol revision is in use",
        description=f"{_SVC} speaks MCP revision {{{{ $labels.version }}}}, which lookout.yaml lists as deprecated.",
        family="maintenance",
        group="lookout-probes",
    ),
    AlertRule(
        name="MCPErrorBudgetLow",
        expr=_budget_low,
        for_="30m",
        priority=Priority.P3,
        summary="Less than a quarter of the 30-day error budget is left",
        description=f"{_SVC} has {{{{ $value | humanizePercentage }}}} of its 30-day availability budget left.",
        family="slo-availability",
        group=_SLO_GROUP,
    ),
    AlertRule(
        name="MCPErrorBudgetBurnTicket",
        expr=_burn("6h", "3d", 1, r.availability_error_ratio, _availability),
        for_="1h",
        priority=Priority.P3,
        summary="Availability error budget burning faster than it accrues",
        description=f"{_SVC} fails {{{{ $value | humanizePercentage }}}} of requests: the budget won't last.",
        family="slo-availability",
        group=_SLO_GROUP,
    ),
    # ------------------------------------------------------------ self-monitoring
    AlertRule(
        name="LookoutRuleEvaluationFailures",
        expr=_const("sum by (instance) (increase(prometheus_rule_evaluation_failures_total[5m])) > 0"),
        for_="5m",
        priority=Priority.P1,
        summary="Prometheus fails to evaluate rules",
        description="Prometheus {{ $labels.instance }} failed {{ $value }} rule evaluations in 5 minutes.",
        family="stack",
        group="lookout-self",
        static_labels=_stack("prometheus"),
    ),
    AlertRule(
        name="LookoutAlertmanagerNotificationsFailing",
        expr=_const(
            "sum by (instance) (rate(prometheus_notifications_errors_total[5m])) > 0"
            " or max by (instance) (prometheus_notifications_alertmanagers_discovered) < 1"
        ),
        for_="10m",
        priority=Priority.P1,
        summary="Prometheus cannot send alerts to Alertmanager",
        description="Prometheus {{ $labels.instance }} fails to deliver alerts to Alertmanager.",
        family="stack",
        group="lookout-self",
        static_labels=_stack("prometheus"),
    ),
    AlertRule(
        name="LookoutReceiverNotificationsFailing",
        expr=_const("sum by (integration) (rate(alertmanager_notifications_failed_total[5m])) > 0"),
        for_="10m",
        priority=Priority.P1,
        summary="Alertmanager cannot deliver notifications",
        description="Alertmanager fails to deliver notifications through {{ $labels.integration }}.",
        family="stack",
        group="lookout-self",
        static_labels=_stack("alertmanager"),
    ),
    AlertRule(
        name="LookoutScrapeTargetAbsent",
        expr=_targets_absent,
        for_="5m",
        priority=Priority.P2,
        summary="A configured MCP target has no scrape series",
        description=f"Prometheus has no `up` series for {_SVC}: it is missing from the scrape configuration.",
        family="stack",
        group="lookout-self",
    ),
    AlertRule(
        name="LookoutStackComponentDown",
        expr=_const(f'label_replace(up{{{m.JOB}=~"{_STACK_JOBS}"}}, "{m.SERVICE}", "$1", "{m.JOB}", "(.+)") == 0'),
        for_="5m",
        priority=Priority.P1,
        summary="A component of the monitoring stack is down",
        description=(
            "{{ $labels.job }} ({{ $labels.instance }}) cannot be scraped: its part of the stack (alert delivery, "
            "probes, benchmark results or host metrics) is blind."
        ),
        family="stack",
        group="lookout-self",
        static_labels=((m.TENANT, STACK_TENANT),),
    ),
    AlertRule(
        name=WATCHDOG,
        expr=_const("vector(1)"),
        for_="0s",
        priority=Priority.P3,
        summary="Always firing: proves the alerting pipeline works end to end",
        description="The heartbeat receiver should hear from this alert every few minutes; silence means trouble.",
        family="heartbeat",
        group="lookout-self",
        static_labels=_stack("watchdog"),
    ),
    # ------------------------------------------------------------ escalation
    AlertRule(
        name="LookoutEscalatedP1",
        expr=_escalate(Priority.P1),
        for_="30m",
        priority=Priority.P0,
        summary="A P1 alert has fired for 30 minutes: escalated to P0",
        description=f"{{{{ $labels.{ESCALATED_FROM} }}}} on {_SVC} is still firing after 30 minutes.",
        family=None,
        group="lookout-escalation",
    ),
    AlertRule(
        name="LookoutEscalatedP2",
        expr=_escalate(Priority.P2),
        for_="4h",
        priority=Priority.P1,
        summary="A P2 alert has fired for 4 hours: escalated to P1",
        description=f"{{{{ $labels.{ESCALATED_FROM} }}}} on {_SVC} is still firing after 4 hours.",
        family=None,
        group="lookout-escalation",
    ),
)


def alert_names() -> list[str]:
    return [alert.name for alert in ALERTS]


def render_alert_rules(config: Config) -> str:
    groups: dict[str, list[dict[str, Any]]] = {}
    for alert in ALERTS:
        rule = alert.to_rule(config)
        if rule is not None:
            groups.setdefault(alert.group, []).append(rule)
    data = {"groups": [{"name": name, "rules": rules} for name, rules in groups.items()]}
    return dump_yaml(data, naming.GENERATED_HEADER)


def render_recording_rules(config: Config) -> str:
    groups = r.recording_groups(config)
    data = {
        "groups": [{"name": name, "rules": [x.to_rule() for x in rules]} for name, rules in groups.items() if rules]
    }
    return dump_yaml(data, naming.GENERATED_HEADER)
