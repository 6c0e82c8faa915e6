"""PromQL of the alerts, built from the metric contract, the recording rules and lookout.yaml.

Each builder returns an :data:`~lookout.stack.rules.model.Expr`: a function of the config, so thresholds,
windows and targets come from lookout.yaml at render time and the catalog stays declarative.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from lookout import metrics as m
from lookout.config.model import Config, Priority, duration_seconds
from lookout.stack import naming
from lookout.stack.rules import recording as r
from lookout.stack.rules.model import (
    ESCALATED_FROM,
    ESCALATION_PREFIX,
    FAMILY,
    STACK_TENANT,
    UNROUTABLE,
    AlertRule,
    Expr,
)

PROBED: Final = f'{m.SERVICE}!=""'
"""Probe series of configured targets. Probe metric names are the prober's alone, so no job matcher: the
prober's job names (one per module) are its own business."""
BY_SERVICE: Final = ", ".join(r.SERVICE_LABELS)
BY_INSTANCE: Final = ", ".join(r.INSTANCE_LABELS)
UP: Final = f"up{{{r.MCP_SELECTOR}}}"
CERT_EXPIRY: Final = f"min by ({BY_SERVICE}) ({m.PROBE_SSL_EXPIRY.name}{{{PROBED}}} > 0) - time()"

PAGE_BURN_RATE: Final = 14.4
"""Burn rate of the paging budget alerts: 2 % of a 30-day budget in one hour (the SLO dashboard's line too)."""
EXHAUSTION_WINDOW: Final = "1h"
"""History the exhaustion forecasts extrapolate (the capacity dashboard's forecasts read the same)."""

ESSENTIAL_JOBS: Final = (naming.JOB_PROMETHEUS, naming.JOB_ALERTMANAGER, naming.JOB_EXPORTER)
"""Stack components without which alerts are not evaluated, delivered or probed."""
AUXILIARY_JOBS: Final = (naming.JOB_PUSHGATEWAY, naming.JOB_NODE)
"""Stack components whose outage only blinds benchmark results or host metrics: never a page."""


def const(expr: str) -> Expr:
    return lambda _config: expr


def fleet_wide(expr: Expr) -> Expr:
    """A rule that needs every target at once: no shard of a sharded topology sees them all, and Debian ships
    no evaluator for the long-term store (vmalert), so a sharded topology leaves it out (docs/scaling.md)."""
    return lambda config: "" if config.ha is not None and config.ha.prometheus_shards > 1 else expr(config)


# ---------------------------------------------------------------- error budgets and policies
def enough(count: str, labels: tuple[str, ...] = r.SERVICE_LABELS) -> Expr:
    """Only a minimum number of failed (or slow) requests may page: sustained failure pages at any traffic,
    one stray error at none."""
    return lambda c: f"on ({', '.join(labels)}) {count} >= {c.alerting.slo.min_failed_requests}"


def burn(
    short: str,
    long: str,
    factor: float,
    sli: Callable[[str], str],
    objective: Callable[[Config], float],
    events: Callable[[str], str],
) -> Expr:
    """Multiwindow burn rate: both windows spend the budget ``factor`` times too fast, over enough events."""

    def expr(c: Config) -> str:
        threshold = round(factor * (1 - objective(c) / 100), 10)
        return f"({sli(short)} > {threshold} and {sli(long)} > {threshold}) and {enough(events(long))(c)}"

    return expr


def _availability_objective(c: Config) -> float:
    return c.alerting.slo.availability


def _latency_objective(c: Config) -> float:
    return c.alerting.slo.latency


def availability_burn(short: str, long: str, factor: float) -> Expr:
    """Failed requests (the availability SLI) burn the availability budget ``factor`` times too fast."""
    return burn(
        short, long, factor, r.availability_error_ratio, _availability_objective, r.availability_errors_increase
    )


def latency_burn(short: str, long: str, factor: float) -> Expr:
    """Requests slower than the latency SLO burn the latency budget ``factor`` times too fast."""
    return burn(short, long, factor, r.latency_slow_ratio, _latency_objective, r.latency_slow_increase)


def error_ratio(labels: tuple[str, ...]) -> Expr:
    guard = enough(r.errors_increase(labels), labels)
    return lambda c: f"{r.error_ratio(labels)} > {c.alerting.slo.error_ratio_threshold} and {guard(c)}"


def p99(labels: tuple[str, ...]) -> Expr:
    quantile = r.latency_quantile("99", labels)
    guard = enough(r.latency_slow_increase("5m", labels), labels)
    return lambda c: f"{quantile} > {c.alerting.slo.latency_p99_threshold} and {guard(c)}"


def budget_low(c: Config) -> str:
    guard = enough(r.availability_errors_increase(r.WINDOWS[-1]))
    return f"{r.AVAILABILITY_BUDGET_REMAINING} < {c.alerting.slo.budget_low} and {guard(c)}"


# ---------------------------------------------------------------- availability
def _down_or_flapping(by: str, c: Config) -> str:
    """Every scrape of the group failing now, or each of its series up for less than min_up_ratio of the window:
    a server flapping or crash-looping never reaches `for` on `up == 0` alone, because every good scrape
    restarts it."""
    slo = c.alerting.slo
    return f"max by ({by}) ({UP}) == 0 or max by ({by}) (avg_over_time({UP}[{slo.flap_window}])) < {slo.min_up_ratio}"


def server_down(c: Config) -> str:
    return _down_or_flapping(BY_SERVICE, c)


def instance_down(c: Config) -> str:
    slo = c.alerting.slo
    restarts = f"changes(process_start_time_seconds{{{r.MCP_SELECTOR}}}[{slo.flap_window}])"
    return f"{_down_or_flapping(BY_INSTANCE, c)} or max by ({BY_INSTANCE}) ({restarts}) >= {slo.max_restarts}"


def _tenant_down(c: Config) -> str:
    # As MCPServerDown, tenant-wide: a tenant-wide crash loop pages once for the tenant, not once per service.
    down = _down_or_flapping(m.TENANT, c)
    probe_only = [target.name for _, target in c.targets() if target.metrics_url is None and target.probe]
    if not probe_only:
        return down
    # A server that is only probed has no `up`: while its probe is healthy, the tenant is not wholly down (and its
    # inhibition must not hide that server's own failures behind a tenant-wide page). Healthy is the exact
    # opposite of MCPProbeFailing, flap window included: after a tenant-wide outage the tenant's page resolves no
    # earlier than that server's MCPProbeFailing (which would otherwise page alone, no longer inhibited, for the
    # rest of its window) and, recovering together, with its MCPServerDown.
    answering = _probe_healthy(c, f'{m.SERVICE}=~"{"|".join(probe_only)}"')
    return f"({down}) unless on ({m.TENANT}) ({answering})"


tenant_down: Final = fleet_wide(_tenant_down)


def _probe_health(c: Config, selector: str) -> tuple[str, str]:
    """(the latest result, the share of successes over the flap window) of the probes ``selector`` picks, by
    service and module: MCPProbeFailing is the first at 0 or the second under min_up_ratio, a healthy probe
    neither."""
    slo = c.alerting.slo
    by = f"{BY_SERVICE}, {m.JOB}"
    probe = f"{m.PROBE_SUCCESS.name}{{{selector}}}"
    return f"min by ({by}) ({probe})", f"min by ({by}) (avg_over_time({probe}[{slo.flap_window}]))"


def _probe_healthy(c: Config, selector: str) -> str:
    now, ratio = _probe_health(c, selector)
    return f"{now} == 1 and {ratio} >= {c.alerting.slo.min_up_ratio}"


def probe_failing(c: Config) -> str:
    now, ratio = _probe_health(c, PROBED)
    return f"{now} == 0 or {ratio} < {c.alerting.slo.min_up_ratio}"


# ---------------------------------------------------------------- resources
def cpu(c: Config) -> str:
    return f"{r.CPU_UTILIZATION} > {c.alerting.resources.utilization_threshold}"


def memory(c: Config) -> str:
    return f"{r.MEMORY_UTILIZATION} > {c.alerting.resources.utilization_threshold}"


def in_flight(c: Config) -> str:
    # Averaged over the window: load alternating around the threshold is saturation too.
    in_flight = f"{m.REQUESTS_IN_FLIGHT.name}{{{r.MCP_SELECTOR}}}"
    limit = f"max by ({BY_INSTANCE}) ({m.REQUESTS_IN_FLIGHT_LIMIT.name}{{{r.MCP_SELECTOR}}}) > 0"
    return (
        f"sum by ({BY_INSTANCE}) (avg_over_time({in_flight}[10m]))"
        f" / on ({BY_INSTANCE}) ({limit}) > {c.alerting.resources.in_flight_threshold}"
    )


def fds_forecast(c: Config) -> str:
    horizon = int(duration_seconds(c.alerting.resources.forecast_horizon))
    open_fds = f"process_open_fds{{{r.MCP_SELECTOR}}}"
    fds = f"max by ({BY_INSTANCE}) (predict_linear({open_fds}[{EXHAUSTION_WINDOW}], {horizon}))"
    return f"{fds} > on ({BY_INSTANCE}) max by ({BY_INSTANCE}) (process_max_fds{{{r.MCP_SELECTOR}}})"


def memory_forecast(c: Config) -> str:
    horizon = int(duration_seconds(c.alerting.resources.forecast_horizon))
    rss = f"process_resident_memory_bytes{{{r.MCP_SELECTOR}}}"
    forecast = f"max by ({BY_INSTANCE}) (predict_linear({rss}[{EXHAUSTION_WINDOW}], {horizon}))"
    return f"{forecast} > on ({BY_INSTANCE}) {r.MEMORY_LIMIT}"


def capacity(c: Config) -> str:
    return (
        f"{r.INSTANCE_REQUESTS_RATE} / on ({BY_SERVICE}) group_left () {r.CAPACITY}"
        f" > {c.alerting.resources.utilization_threshold}"
    )


session_leak: Final = const(
    f"sum by ({BY_SERVICE}) (delta({m.SESSIONS_ACTIVE.name}{{{r.MCP_SELECTOR}}}[30m])) > 10"
    f" unless on ({BY_SERVICE})"
    f" (sum by ({BY_SERVICE}) (rate({r.OPS_COUNT}{{{r.MCP_SELECTOR}}}[30m]))"
    f" > 1.2 * sum by ({BY_SERVICE}) (rate({r.OPS_COUNT}{{{r.MCP_SELECTOR}}}[30m] offset 30m)))"
)


def telemetry_dropped(_c: Config) -> str:
    dropped = f"{m.TELEMETRY_DROPPED.name}_total{{{r.MCP_SELECTOR}}}"
    return f"sum by ({BY_INSTANCE}, signal) (increase({dropped}[15m])) > 0"


# ---------------------------------------------------------------- what the prober sees
tool_definitions_changed: Final = const(
    f"max by ({BY_SERVICE}) (changes({m.PROBE_TOOLS_HASH.name}{{{PROBED}}}[15m])) > 0"
)
certificate_expired: Final = const(f"{CERT_EXPIRY} <= 0")
FOOTPRINT_BUDGET: Final = "budget"
FOOTPRINT_GROWTH: Final = "growth"
"""``reason`` of MCPToolDefinitionsFootprintHigh: above alerting.tool_footprint.max_tokens, or grown too fast."""


def tool_footprint_high(c: Config) -> str:
    policy = c.alerting.tool_footprint
    tokens = f"{m.PROBE_TOOLS_DEFINITION_TOKENS.name}{{{PROBED}}}"
    now = f"max by ({BY_SERVICE}) ({tokens})"
    # Growth from the smallest size in the window (a gap in probe data does not hide it as offset would); a server
    # that listed no tools before has no share to grow by, and only the budget applies to it.
    smallest = f"(min by ({BY_SERVICE}) (min_over_time({tokens}[{policy.growth_window}])) > 0)"
    over = f'label_replace({now} > {policy.max_tokens}, "{m.REASON}", "{FOOTPRINT_BUDGET}", "", "")'
    grown = (
        f'label_replace({now} > {round(1 + policy.max_growth, 10)} * {smallest}, "{m.REASON}", "{FOOTPRINT_GROWTH}", '
        '"", "")'
    )
    return f"{over} or ignoring ({m.REASON}) {grown}"


def certificate_expiring(c: Config) -> str:
    return f"{CERT_EXPIRY} < {int(duration_seconds(c.alerting.certificate_expiry_warning))}"


def deprecated_protocol(c: Config) -> str:
    versions = "|".join(c.alerting.deprecated_protocol_versions)
    if not versions:
        return ""
    probed = f'{m.PROBE_PROTOCOL_VERSION.name}{{{PROBED},version=~"{versions}"}} > 0'
    served = f'rate({r.OPS_COUNT}{{{r.MCP_SELECTOR},{m.PROTOCOL_VERSION}=~"{versions}"}}[1h]) > 0'
    # Both sources as one `version` label: what the prober negotiated and what clients of the server speak.
    as_version = f'label_replace({served}, "{m.VERSION}", "$1", "{m.PROTOCOL_VERSION}", "(.+)")'
    return f"count by ({BY_SERVICE}, version) (({probed}) or {as_version}) > 0"


# ---------------------------------------------------------------- the stack itself
rule_evaluation_failures: Final = const(
    "sum by (instance) (increase(prometheus_rule_evaluation_failures_total[5m])) > 0"
)
# Dropped, not errors: Prometheus counts an error per Alertmanager it failed, but drops an alert only when no
# Alertmanager took it — one peer of an HA cluster down is LookoutStackComponentDown, not "nobody is told".
alertmanager_unreachable: Final = const(
    "sum by (instance) (rate(prometheus_notifications_dropped_total[5m])) > 0"
    " or max by (instance) (prometheus_notifications_alertmanagers_discovered) < 1"
)
receiver_failing: Final = const("sum by (integration) (rate(alertmanager_notifications_failed_total[5m])) > 0")
always: Final = const("vector(1)")


def remote_write_behind(c: Config) -> str:
    """A remote-write queue behind what Prometheus ingested (the backend down or too slow: the samples wait in the
    WAL), or samples it gave up on."""
    lag = duration_seconds(c.prometheus.remote_write_max_lag)
    sent = "prometheus_remote_storage_queue_highest_sent_timestamp_seconds"
    return (
        f"max by (instance, remote_name, url) (prometheus_remote_storage_highest_timestamp_in_seconds"
        f" - ignoring (remote_name, url) group_right {sent}) > {lag:g}"
        " or sum by (instance, remote_name, url) (rate(prometheus_remote_storage_samples_failed_total[5m])) > 0"
    )


def _targets_absent(c: Config) -> str:
    absent = [
        f'absent(up{{{m.JOB}="{naming.JOB_MCP}",{m.TENANT}="{tenant.name}",{m.SERVICE}="{target.name}"}})'
        for tenant, target in c.targets()
        if target.metrics_url is not None
    ]
    return " or ".join(absent)


targets_absent: Final = fleet_wide(_targets_absent)


def component_down(jobs: tuple[str, ...]) -> Expr:
    return const(f'label_replace(up{{{m.JOB}=~"{"|".join(jobs)}"}}, "{m.SERVICE}", "$1", "{m.JOB}", "(.+)") == 0')


def _role_down(jobs: tuple[str, ...], op: str) -> Expr:
    """Instances of ``jobs`` down, kept (``and``) or dropped (``unless``) where another instance of the same role
    is up: an HA peer or replica (a shard's, by ``lookout_role``) that carries on."""
    selector = f'up{{{m.JOB}=~"{"|".join(jobs)}"}}'
    return const(
        f'label_replace({selector} == 0 {op} on ({m.JOB}, {m.STACK_ROLE}) ({selector} == 1), "{m.SERVICE}", "$1", '
        f'"{m.JOB}", "(.+)")'
    )


def role_down(jobs: tuple[str, ...]) -> Expr:
    """A stack component down with no instance of its role left (one Prometheus, every Alertmanager peer)."""
    return _role_down(jobs, "unless")


def redundancy_lost(jobs: tuple[str, ...]) -> Expr:
    """An HA replica or peer down while another instance of its role carries on."""
    return _role_down(jobs, "and")


def unroutable(c: Config) -> str:
    """Firing alerts no tenant/priority route matches: they reach only the default receiver. Alertmanager 0.25
    counts no notifications per receiver, so the rule reads Prometheus' own ALERTS."""
    tenants = "|".join([*(t.name for t in c.tenants), STACK_TENANT])
    priorities = "|".join(p.value for p in Priority)
    firing = 'ALERTS{alertstate="firing"'
    stray = f'{firing},{m.TENANT}!~"{tenants}"}} or {firing},{m.PRIORITY}!~"(?i){priorities}"}}'
    return f'label_replace(count by (alertname) ({stray}), "{UNROUTABLE}", "$1", "alertname", "(.+)")'


def escalate(priority: Priority, above: tuple[Priority, ...], catalog: Callable[[], Iterable[AlertRule]]) -> Expr:
    """One escalation per service and alert (never one per tool or replica), only for catalog entries that
    escalate, and not while the service already has an alert of the priority escalated to (or higher).
    ``catalog`` is read at render time: the escalations are entries of the catalog they read."""

    def expr(_c: Config) -> str:
        names = "|".join(a.name for a in catalog() if a.escalates and a.priority is priority)
        firing = f'ALERTS{{alertstate="firing",{m.PRIORITY}="{priority.value}",alertname=~"{names}"}}'
        per_service = f"max by (alertname, {BY_SERVICE}, {FAMILY}) ({firing})"
        higher = "|".join(p.value for p in above)
        handled = f'ALERTS{{alertstate="firing",{m.PRIORITY}=~"{higher}",alertname!~"{ESCALATION_PREFIX}.*"}}'
        tenant_wide = f'ALERTS{{alertstate="firing",{m.PRIORITY}=~"{higher}",{m.SERVICE}="{m.TENANT_WIDE}"}}'
        return (
            f'label_replace({per_service}, "{ESCALATED_FROM}", "$1", "alertname", "(.+)")'
            f" unless on ({BY_SERVICE}) {handled} unless on ({m.TENANT}) {tenant_wide}"
        )

    return expr
