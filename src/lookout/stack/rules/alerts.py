"""The alert catalog. Every alert carries ``priority``, ``severity``, ``tenant`` and ``service``, a summary
stating the configured numbers, a templated description, an absolute runbook link and (for alerts about MCP
servers) a dashboard link.

``family`` groups alerts about one incident (availability, errors, latency, ...) so that Alertmanager lets a
higher priority silence a lower one of the same family: one incident, one page. ``escalates`` says whether an
alert left firing is re-raised one priority higher. Alerts about the stack itself carry ``tenant="_lookout"``
(a value no lookout.yaml tenant can take) and route by ``alerting.routes``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from lookout import metrics as m
from lookout.config.model import Config, Priority, duration_seconds
from lookout.stack import naming
from lookout.stack.grafana.render import dashboard_uid
from lookout.stack.rules import recording as r
from lookout.stack.yamlio import dump_yaml

SEVERITY = {Priority.P0: "critical", Priority.P1: "error", Priority.P2: "warning", Priority.P3: "info"}
FAMILY: Final = "family"
ESCALATED_FROM: Final = "escalated_from"
UNROUTABLE: Final = "unroutable_alert"
STACK_TENANT: Final = "_lookout"
"""Tenant label of alerts about Lookout's own stack (Prometheus, Alertmanager, the heartbeat)."""
WATCHDOG: Final = "Watchdog"
ESCALATION_PREFIX: Final = "LookoutEscalated"
SERVICE_DASHBOARD: Final = "server"
"""Slug of the MCP server detail dashboard that notifications link to (one per tenant folder)."""

_PROBED = f'{m.SERVICE}!=""'
"""Probe series of configured targets. Probe metric names are the prober's alone, so no job matcher: the
prober's job names (one per module) are its own business."""
_SVC = f"{{{{ $labels.{m.SERVICE} }}}} of tenant {{{{ $labels.{m.TENANT} }}}}"
_TOOL = f"tool {{{{ $labels.{m.TOOL_NAME} }}}} of {_SVC}"
_BY_SERVICE = ", ".join(r.SERVICE_LABELS)
_BY_INSTANCE = ", ".join(r.INSTANCE_LABELS)
_UP = f"up{{{r.MCP_SELECTOR}}}"

Expr = Callable[[Config], str]
Text = str | Callable[[Config], str]


def _pct(share: float) -> str:
    return f"{round(share * 100, 6):g} %"


def _seconds(value: float) -> str:
    return f"{round(value * 1000, 3):g} ms" if value < 1 else f"{value:g} s"


def _dashboard_url(config: Config) -> str:
    """Link to the tenant's MCP server detail dashboard, the service preselected. Dashboard uids are per
    tenant, so the template picks the uid by the alert's tenant label; an unknown tenant gets no link."""
    base = config.dashboard_base_url()
    branches = [
        f'if eq $labels.{m.TENANT} "{t.name}" }}}}{base}/d/{dashboard_uid(t.name, SERVICE_DASHBOARD)}'
        f"?var-{m.SERVICE}={{{{ $labels.{m.SERVICE} }}}}"
        for t in config.tenants
    ]
    return "{{ " + "{{ else ".join(branches) + "{{ end }}"


def _const(expr: str) -> Expr:
    return lambda _config: expr


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: Expr
    for_: str
    priority: Priority
    summary: Text
    description: str
    family: str | None
    group: str
    static_labels: tuple[tuple[str, str], ...] = ()
    """Labels the expression cannot carry (e.g. the stack's tenant); they override the expression's."""
    escalates: bool = False
    """Left firing, the alert is re-raised one priority higher (LookoutEscalatedP1/P2), once per service."""
    about_servers: bool = True
    """The alert is about an MCP server, so it links the server dashboard; stack alerts have none to link."""

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
        annotations = {
            "summary": self.summary if isinstance(self.summary, str) else self.summary(config),
            "description": self.description,
            "runbook_url": f"{config.runbook_base_url()}/{self.name}.md",
        }
        if self.about_servers:
            annotations["dashboard_url"] = _dashboard_url(config)
        return {"alert": self.name, "expr": expr, "for": for_, "labels": labels, "annotations": annotations}


# ---------------------------------------------------------------- expressions that depend on lookout.yaml
def _enough(count: str, labels: tuple[str, ...] = r.SERVICE_LABELS) -> Expr:
    """Only a minimum number of failed (or slow) requests may page: sustained failure pages at any traffic,
    one stray error at none."""
    return lambda c: f"on ({', '.join(labels)}) {count} >= {c.alerting.slo.min_failed_requests}"


def _burn(
    short: str,
    long: str,
    factor: float,
    sli: Callable[[str], str],
    objective: Callable[[Config], float],
    events: Callable[[str], str],
) -> Expr:
    def expr(c: Config) -> str:
        threshold = round(factor * (1 - objective(c) / 100), 10)
        return f"({sli(short)} > {threshold} and {sli(long)} > {threshold}) and {_enough(events(long))(c)}"

    return expr


def _availability(c: Config) -> float:
    return c.alerting.slo.availability


def _latency(c: Config) -> float:
    return c.alerting.slo.latency


def _error_ratio(labels: tuple[str, ...]) -> Expr:
    guard = _enough(r.errors_increase(labels), labels)
    return lambda c: f"{r.error_ratio(labels)} > {c.alerting.slo.error_ratio_threshold} and {guard(c)}"


def _p99(labels: tuple[str, ...]) -> Expr:
    quantile = r.latency_quantile("99", labels)
    guard = _enough(r.latency_slow_increase("5m", labels), labels)
    return lambda c: f"{quantile} > {c.alerting.slo.latency_p99_threshold} and {guard(c)}"


def _server_down(c: Config) -> str:
    slo = c.alerting.slo
    # Down now, or up for less than min_up_ratio of the window: a server flapping or crash-looping never
    # reaches `for` on `up == 0` alone, because every good scrape restarts it.
    return (
        f"max by ({_BY_SERVICE}) ({_UP}) == 0"
        f" or max by ({_BY_SERVICE}) (avg_over_time({_UP}[{slo.flap_window}])) < {slo.min_up_ratio}"
    )


def _instance_down(c: Config) -> str:
    slo = c.alerting.slo
    restarts = f"changes(process_start_time_seconds{{{r.MCP_SELECTOR}}}[{slo.flap_window}])"
    return (
        f"max by ({_BY_INSTANCE}) ({_UP}) == 0"
        f" or max by ({_BY_INSTANCE}) (avg_over_time({_UP}[{slo.flap_window}])) < {slo.min_up_ratio}"
        f" or max by ({_BY_INSTANCE}) ({restarts}) >= {slo.max_restarts}"
    )


def _probe_failing(c: Config) -> str:
    slo = c.alerting.slo
    by = f"{_BY_SERVICE}, {m.JOB}"
    probe = f"{m.PROBE_SUCCESS.name}{{{_PROBED}}}"
    return (
        f"min by ({by}) ({probe}) == 0"
        f" or min by ({by}) (avg_over_time({probe}[{slo.flap_window}])) < {slo.min_up_ratio}"
    )


def _cpu(c: Config) -> str:
    return f"{r.CPU_UTILIZATION} > {c.alerting.resources.utilization_threshold}"


def _memory(c: Config) -> str:
    return f"{r.MEMORY_UTILIZATION} > {c.alerting.resources.utilization_threshold}"


def _in_flight(c: Config) -> str:
    # Averaged over the window: load alternating around the threshold is saturation too.
    in_flight = f"{m.REQUESTS_IN_FLIGHT.name}{{{r.MCP_SELECTOR}}}"
    limit = f"max by ({_BY_INSTANCE}) ({m.REQUESTS_IN_FLIGHT_LIMIT.name}{{{r.MCP_SELECTOR}}}) > 0"
    return (
        f"sum by ({_BY_INSTANCE}) (avg_over_time({in_flight}[10m]))"
        f" / on ({_BY_INSTANCE}) ({limit}) > {c.alerting.resources.in_flight_threshold}"
    )


def _fds_forecast(c: Config) -> str:
    horizon = int(duration_seconds(c.alerting.resources.forecast_horizon))
    fds = f"max by ({_BY_INSTANCE}) (predict_linear(process_open_fds{{{r.MCP_SELECTOR}}}[1h], {horizon}))"
    return f"{fds} > on ({_BY_INSTANCE}) max by ({_BY_INSTANCE}) (process_max_fds{{{r.MCP_SELECTOR}}})"


def _memory_forecast(c: Config) -> str:
    horizon = int(duration_seconds(c.alerting.resources.forecast_horizon))
    rss = f"process_resident_memory_bytes{{{r.MCP_SELECTOR}}}"
    return f"max by ({_BY_INSTANCE}) (predict_linear({rss}[1h], {horizon})) > on ({_BY_INSTANCE}) {r.MEMORY_LIMIT}"


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


_CERT_EXPIRY = f"min by ({_BY_SERVICE}) ({m.PROBE_SSL_EXPIRY.name}{{{_PROBED}}} > 0) - time()"


def _cert_expiring(c: Config) -> str:
    return f"{_CERT_EXPIRY} < {int(duration_seconds(c.alerting.certificate_expiry_warning))}"


def _budget_low(c: Config) -> str:
    guard = _enough(r.availability_errors_increase(r.WINDOWS[-1]))
    return f"{r.AVAILABILITY_BUDGET_REMAINING} < {c.alerting.slo.budget_low} and {guard(c)}"


def _telemetry_dropped(_c: Config) -> str:
    dropped = f"{m.TELEMETRY_DROPPED.name}_total{{{r.MCP_SELECTOR}}}"
    return f"sum by ({_BY_INSTANCE}, signal) (increase({dropped}[15m])) > 0"


def _targets_absent(c: Config) -> str:
    absent = [
        f'absent(up{{{m.JOB}="{naming.JOB_MCP}",{m.TENANT}="{tenant.name}",{m.SERVICE}="{target.name}"}})'
        for tenant, target in c.targets()
        if target.metrics_url is not None
    ]
    return " or ".join(absent)


def _unroutable(c: Config) -> str:
    """Firing alerts no tenant/priority route matches: they reach only the default receiver. Alertmanager 0.25
    counts no notifications per receiver, so the rule reads Prometheus' own ALERTS."""
    tenants = "|".join([*(t.name for t in c.tenants), STACK_TENANT])
    priorities = "|".join(p.value for p in Priority)
    firing = 'ALERTS{alertstate="firing"'
    stray = f'{firing},{m.TENANT}!~"{tenants}"}} or {firing},{m.PRIORITY}!~"(?i){priorities}"}}'
    return f'label_replace(count by (alertname) ({stray}), "{UNROUTABLE}", "$1", "alertname", "(.+)")'


def _escalate(priority: Priority, above: tuple[Priority, ...]) -> Expr:
    """One escalation per service and alert (never one per tool or replica), only for catalog entries that
    escalate, and not while the service already has an alert of the priority escalated to (or higher)."""

    def expr(_c: Config) -> str:
        names = "|".join(a.name for a in ALERTS if a.escalates and a.priority is priority)
        firing = f'ALERTS{{alertstate="firing",{m.PRIORITY}="{priority.value}",alertname=~"{names}"}}'
        per_service = f"max by (alertname, {_BY_SERVICE}, {FAMILY}) ({firing})"
        higher = "|".join(p.value for p in above)
        handled = f'ALERTS{{alertstate="firing",{m.PRIORITY}=~"{higher}",alertname!~"{ESCALATION_PREFIX}.*"}}'
        tenant_wide = f'ALERTS{{alertstate="firing",{m.PRIORITY}=~"{higher}",{m.SERVICE}="all"}}'
        return (
            f'label_replace({per_service}, "{ESCALATED_FROM}", "$1", "alertname", "(.+)")'
            f" unless on ({_BY_SERVICE}) {handled} unless on ({m.TENANT}) {tenant_wide}"
        )

    return expr


def _stack(service: str) -> tuple[tuple[str, str], ...]:
    return ((m.TENANT, STACK_TENANT), (m.SERVICE, service))


def _component_down(jobs: tuple[str, ...]) -> Expr:
    return _const(f'label_replace(up{{{m.JOB}=~"{"|".join(jobs)}"}}, "{m.SERVICE}", "$1", "{m.JOB}", "(.+)") == 0')


_SLO_GROUP = "lookout-slo"
_AVAILABILITY_GROUP = "lookout-availability"
_RESOURCES_GROUP = "lookout-resources"

_ESSENTIAL_JOBS = (naming.JOB_PROMETHEUS, naming.JOB_ALERTMANAGER, naming.JOB_EXPORTER)
"""Stack components without which alerts are not evaluated, delivered or probed."""
_AUXILIARY_JOBS = (naming.JOB_PUSHGATEWAY, naming.JOB_NODE)
"""Stack components whose outage only blinds benchmark results or host metrics: never a page."""

ALERTS: tuple[AlertRule, ...] = (
    # ------------------------------------------------------------ P0: production down
    AlertRule(
        name="MCPServerDown",
        expr=_server_down,
        for_="1m",
        priority=Priority.P0,
        summary="Every replica of an MCP server is down or flapping",
        description=(
            f"No replica of {_SVC} answers its metrics scrape (or they answer less than the configured share "
            "of scrapes): the server is down, unreachable or crash-looping."
        ),
        family="availability",
        group=_AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPProbeFailing",
        expr=_probe_failing,
        for_="2m",
        priority=Priority.P0,
        summary="Synthetic MCP probe failing",
        description=f"The {{{{ $labels.job }}}} probe of {_SVC} fails, or fails on and off: clients cannot use it.",
        family="availability",
        group=_AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPTenantDown",
        expr=_const(f"max by ({m.TENANT}) ({_UP}) == 0"),
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
        expr=_burn("5m", "1h", 14.4, r.availability_error_ratio, _availability, r.availability_errors_increase),
        for_="2m",
        priority=Priority.P0,
        summary="Availability error budget burning 14.4x too fast",
        description=f"{_SVC} fails {{{{ $value | humanizePercentage }}}} of requests: 2 % of the budget per hour.",
        family="errors",
        group=_SLO_GROUP,
    ),
    # ------------------------------------------------------------ P1: performance degradation
    AlertRule(
        name="MCPServerInstanceDown",
        expr=_instance_down,
        for_="1m",
        priority=Priority.P1,
        summary="A replica of an MCP server is down, flapping or restarting",
        description=(
            f"Replica {{{{ $labels.instance }}}} of {_SVC} fails its metrics scrape or keeps restarting; the other "
            "replicas carry its load."
        ),
        family="availability",
        group=_AVAILABILITY_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPErrorBudgetBurnMedium",
        expr=_burn("30m", "6h", 6, r.availability_error_ratio, _availability, r.availability_errors_increase),
        for_="15m",
        priority=Priority.P1,
        summary="Availability error budget burning 6x too fast",
        description=f"{_SVC} fails {{{{ $value | humanizePercentage }}}} of requests: 5 % of the budget in 6 hours.",
        family="errors",
        group=_SLO_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPErrorRatioHigh",
        expr=_error_ratio(r.SERVICE_LABELS),
        for_="5m",
        priority=Priority.P1,
        summary=lambda c: f"MCP error ratio above the {_pct(c.alerting.slo.error_ratio_threshold)} policy",
        description=f"{{{{ $value | humanizePercentage }}}} of requests to {_SVC} failed over 5 minutes.",
        family="errors",
        group=_AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPToolErrorRatioHigh",
        expr=_error_ratio(r.TOOL_LABELS),
        for_="5m",
        priority=Priority.P1,
        summary=lambda c: f"MCP tool error ratio above the {_pct(c.alerting.slo.error_ratio_threshold)} policy",
        description=f"{{{{ $value | humanizePercentage }}}} of calls to {_TOOL} failed over 5 minutes.",
        family="errors",
        group=_AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPLatencyP99High",
        expr=_p99(r.SERVICE_LABELS),
        for_="5m",
        priority=Priority.P1,
        summary=lambda c: f"MCP p99 latency above the {_seconds(c.alerting.slo.latency_p99_threshold)} policy",
        description=f"p99 latency of {_SVC} is {{{{ $value | humanizeDuration }}}} over 5 minutes.",
        family="latency",
        group=_AVAILABILITY_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPToolLatencyP99High",
        expr=_p99(r.TOOL_LABELS),
        for_="5m",
        priority=Priority.P1,
        summary=lambda c: f"MCP tool p99 latency above the {_seconds(c.alerting.slo.latency_p99_threshold)} policy",
        description=f"p99 latency of {_TOOL} is {{{{ $value | humanizeDuration }}}} over 5 minutes.",
        family="latency",
        group=_AVAILABILITY_GROUP,
    ),
    AlertRule(
        name="MCPLatencyBudgetBurnFast",
        expr=_burn("5m", "1h", 14.4, r.latency_slow_ratio, _latency, r.latency_slow_increase),
        for_="2m",
        priority=Priority.P1,
        summary="Latency error budget burning 14.4x too fast",
        description=f"{{{{ $value | humanizePercentage }}}} of requests to {_SVC} are slower than the latency SLO.",
        family="latency",
        group=_SLO_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPCertificateExpired",
        expr=_const(f"{_CERT_EXPIRY} <= 0"),
        for_="0s",
        priority=Priority.P1,
        summary="TLS certificate has expired",
        description=f"The certificate of {_SVC} expired: clients that verify TLS cannot connect.",
        family="maintenance",
        group="lookout-probes",
        escalates=True,
    ),
    # ------------------------------------------------------------ P2: resource exhaustion
    AlertRule(
        name="MCPErrorBudgetBurnSlow",
        expr=_burn("2h", "1d", 3, r.availability_error_ratio, _availability, r.availability_errors_increase),
        for_="1h",
        priority=Priority.P2,
        summary="Availability error budget burning 3x too fast",
        description=f"{_SVC} fails {{{{ $value | humanizePercentage }}}} of requests: 10 % of the budget in a day.",
        family="errors",
        group=_SLO_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPLatencyBudgetBurnSlow",
        expr=_burn("2h", "1d", 3, r.latency_slow_ratio, _latency, r.latency_slow_increase),
        for_="1h",
        priority=Priority.P2,
        summary="Latency error budget burning 3x too fast",
        description=f"{{{{ $value | humanizePercentage }}}} of requests to {_SVC} are slower than the latency SLO.",
        family="latency",
        group=_SLO_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPCPUUtilizationHigh",
        expr=_cpu,
        for_="15m",
        priority=Priority.P2,
        summary=lambda c: f"MCP server CPU utilization above {_pct(c.alerting.resources.utilization_threshold)}",
        description=f"{_SVC} ({{{{ $labels.instance }}}}) uses {{{{ $value | humanizePercentage }}}} of its CPU.",
        family="resources",
        group=_RESOURCES_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPMemoryUtilizationHigh",
        expr=_memory,
        for_="15m",
        priority=Priority.P2,
        summary=lambda c: f"MCP server memory utilization above {_pct(c.alerting.resources.utilization_threshold)}",
        description=f"{_SVC} ({{{{ $labels.instance }}}}) uses {{{{ $value | humanizePercentage }}}} of its memory.",
        family="resources",
        group=_RESOURCES_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPMemoryExhaustionForecast",
        expr=_memory_forecast,
        for_="15m",
        priority=Priority.P2,
        summary=lambda c: f"MCP server memory runs out within {c.alerting.resources.forecast_horizon}",
        description=f"{_SVC} ({{{{ $labels.instance }}}}) grows towards its memory limit: the last hour's trend "
        "reaches it within the forecast horizon.",
        family="resources",
        group=_RESOURCES_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPFileDescriptorsExhaustionForecast",
        expr=_fds_forecast,
        for_="15m",
        priority=Priority.P2,
        summary=lambda c: f"MCP server file descriptors run out within {c.alerting.resources.forecast_horizon}",
        description=f"{_SVC} ({{{{ $labels.instance }}}}) opens file descriptors towards its limit: the last "
        "hour's trend reaches it within the forecast horizon (a leak of sockets or files).",
        family="resources",
        group=_RESOURCES_GROUP,
        escalates=True,
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
        group=_RESOURCES_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPInFlightSaturation",
        expr=_in_flight,
        for_="5m",
        priority=Priority.P2,
        summary=lambda c: (
            "MCP requests in flight average above "
            f"{_pct(c.alerting.resources.in_flight_threshold)} of the concurrency limit"
        ),
        description=f"{_SVC} ({{{{ $labels.instance }}}}) runs at {{{{ $value | humanizePercentage }}}} of its limit.",
        family="resources",
        group=_RESOURCES_GROUP,
        escalates=True,
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
        summary=lambda c: (
            f"MCP request rate above {_pct(c.alerting.resources.utilization_threshold)} of benchmarked capacity"
        ),
        description=f"{_SVC} ({{{{ $labels.instance }}}}) runs at {{{{ $value | humanizePercentage }}}} of capacity.",
        family="resources",
        group=_RESOURCES_GROUP,
        escalates=True,
    ),
    AlertRule(
        name="MCPTelemetryDropped",
        expr=_telemetry_dropped,
        for_="5m",
        priority=Priority.P2,
        summary="An MCP server is losing telemetry",
        description=f"{_SVC} ({{{{ $labels.instance }}}}) dropped {{{{ $value }}}} {{{{ $labels.signal }}}} in "
        "15 minutes: logs or traces of this period are incomplete.",
        family="telemetry",
        group=_RESOURCES_GROUP,
    ),
    # ------------------------------------------------------------ P3: maintenance
    AlertRule(
        name="MCPCertificateExpiringSoon",
        expr=_cert_expiring,
        for_="10m",
        priority=Priority.P3,
        summary=lambda c: f"TLS certificate expires within {c.alerting.certificate_expiry_warning}",
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
        summary=lambda c: f"Less than {_pct(c.alerting.slo.budget_low)} of the 30-day error budget is left",
        description=f"{_SVC} has {{{{ $value | humanizePercentage }}}} of its 30-day availability budget left.",
        family="errors",
        group=_SLO_GROUP,
    ),
    AlertRule(
        name="MCPErrorBudgetBurnTicket",
        expr=_burn("6h", "3d", 1, r.availability_error_ratio, _availability, r.availability_errors_increase),
        for_="1h",
        priority=Priority.P3,
        summary="Availability error budget burning faster than it accrues",
        description=f"{_SVC} fails {{{{ $value | humanizePercentage }}}} of requests: the budget won't last.",
        family="errors",
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
        escalates=True,
        about_servers=False,
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
        escalates=True,
        about_servers=False,
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
        escalates=True,
        about_servers=False,
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
        escalates=True,
    ),
    AlertRule(
        name="LookoutStackComponentDown",
        expr=_component_down(_ESSENTIAL_JOBS),
        for_="5m",
        priority=Priority.P1,
        summary="A component of the monitoring stack is down",
        description=(
            "{{ $labels.job }} ({{ $labels.instance }}) cannot be scraped: alert evaluation, alert delivery or "
            "synthetic probes are blind."
        ),
        family="stack",
        group="lookout-self",
        static_labels=((m.TENANT, STACK_TENANT),),
        escalates=True,
        about_servers=False,
    ),
    AlertRule(
        name="LookoutAuxiliaryComponentDown",
        expr=_component_down(_AUXILIARY_JOBS),
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
        expr=_unroutable,
        for_="5m",
        priority=Priority.P2,
        summary="An alert matches no tenant or priority route",
        description=(
            f"{{{{ $labels.{UNROUTABLE} }}}} fires with a tenant or priority lookout.yaml does not know: it reaches "
            "only the default receiver. Fix the rule's labels or add the tenant."
        ),
        family="stack",
        group="lookout-self",
        static_labels=_stack("alertmanager"),
        about_servers=False,
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
        about_servers=False,
    ),
    # ------------------------------------------------------------ escalation
    AlertRule(
        name=f"{ESCALATION_PREFIX}P1",
        expr=_escalate(Priority.P1, (Priority.P0,)),
        for_="30m",
        priority=Priority.P0,
        summary="A P1 alert has fired for 30 minutes: escalated to P0",
        description=f"{{{{ $labels.{ESCALATED_FROM} }}}} on {_SVC} is still firing after 30 minutes.",
        family=None,
        group="lookout-escalation",
    ),
    AlertRule(
        name=f"{ESCALATION_PREFIX}P2",
        expr=_escalate(Priority.P2, (Priority.P0, Priority.P1)),
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
