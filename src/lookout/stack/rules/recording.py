"""Recording rules: request and error rates, error ratios, latency quantiles and the SLIs over the
multiwindow set. Dashboards and alerts query these names, so every name is a constant (or a function
of the window) here and nowhere else.

Zero traffic never yields NaN or Inf: ratios divide by ``(requests > 0)`` and quantiles are kept only
where requests were seen, so a quiet service has no ratio series instead of a NaN one.

Failed requests are counted from ``lookout_mcp_operation_errors_total`` (primed at zero, so the first failure
of a kind is seen by rate()) where a service exports it, else from the convention histogram's ``error_type``
(third-party emitters): ``primed or on (tenant, service) convention``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from lookout import metrics as m
from lookout.config.model import SHORTEST_RATE_WINDOW, SLO_PERIOD, Config
from lookout.stack import naming

WINDOWS: Final = (SHORTEST_RATE_WINDOW, "30m", "1h", "2h", "6h", "1d", "3d", SLO_PERIOD)
"""The multiwindow set of the SLO burn-rate alerts."""

SERVICE_LABELS: Final = (m.TENANT, m.SERVICE)
METHOD_LABELS: Final = (m.TENANT, m.SERVICE, m.MCP_METHOD)
TOOL_LABELS: Final = (m.TENANT, m.SERVICE, m.TOOL_NAME)
INSTANCE_LABELS: Final = (m.TENANT, m.SERVICE, m.INSTANCE)

_OPS = m.OPERATION_DURATION.name
OPS_COUNT: Final = f"{_OPS}_count"
OPS_BUCKET: Final = f"{_OPS}_bucket"
MCP_SELECTOR: Final = f'{m.JOB}="{naming.JOB_MCP}"'

# ---------------------------------------------------------------- error classification
# Two questions, two selectors. "Errors" (the P1 error-ratio policy) are every failed request that is not
# the client's fault, tool errors included: a user sees them fail. "Failures" (the availability SLI) are
# what the server owns: tool errors are excluded because a tool reporting isError is an answer, not an
# outage. Both lists come from the metric contract.
NOT_ERRORS: Final = ("", *m.CLIENT_ERROR_TYPES)
NOT_FAILURES: Final = (*NOT_ERRORS, m.TOOL_ERROR)


def _not_in(values: tuple[str, ...]) -> str:
    return f'{m.ERROR_TYPE}!~"{"|".join(values)}"'


ERRORS_TOTAL: Final = f"{m.OPERATION_ERRORS.name}_total"
ERROR_CLASSES: Final = (m.ERROR_CLASS_SERVER, m.ERROR_CLASS_TOOL)
"""What the P1 error ratios count: every failure a user sees (server and deliberate tool errors)."""


def failure_classes(config: Config) -> tuple[str, ...]:
    """What the availability SLI counts: server failures, and tool errors if lookout.yaml says so."""
    if config.alerting.slo.tool_errors_count_against_availability:
        return ERROR_CLASSES
    return (m.ERROR_CLASS_SERVER,)


# ---------------------------------------------------------------- names
def _level(labels: tuple[str, ...]) -> str:
    return "_".join("method" if lbl == m.MCP_METHOD else "tool" if lbl == m.TOOL_NAME else lbl for lbl in labels)


def requests_rate(labels: tuple[str, ...] = SERVICE_LABELS, window: str = "5m") -> str:
    return f"{_level(labels)}:mcp_requests:rate{window}"


def errors_rate(labels: tuple[str, ...] = SERVICE_LABELS) -> str:
    return f"{_level(labels)}:mcp_errors:rate5m"


def error_ratio(labels: tuple[str, ...] = SERVICE_LABELS) -> str:
    return f"{_level(labels)}:mcp_errors:ratio_rate5m"


def latency_quantile(quantile: str, labels: tuple[str, ...] = SERVICE_LABELS) -> str:
    return f"{_level(labels)}:mcp_latency_seconds:p{quantile}_5m"


def errors_increase(labels: tuple[str, ...] = SERVICE_LABELS) -> str:
    """Failed requests (server and tool errors) in the last 5 minutes: the low-traffic guard of the P1 ratios."""
    return f"{_level(labels)}:mcp_errors:increase5m"


def availability_errors_increase(window: str) -> str:
    """Failed requests counted by the availability SLI within ``window``."""
    return f"tenant_service:mcp_availability_errors:increase{window}"


def latency_slow_increase(window: str, labels: tuple[str, ...] = SERVICE_LABELS) -> str:
    """Requests slower than the latency SLO threshold within ``window``."""
    return f"{_level(labels)}:mcp_latency_slow:increase{window}"


def availability_error_ratio(window: str) -> str:
    """Share of requests that failed on the server's side (the availability SLI's complement)."""
    return f"tenant_service:mcp_availability_errors:ratio_rate{window}"


def latency_slow_ratio(window: str) -> str:
    """Share of requests slower than the latency SLO threshold."""
    return f"tenant_service:mcp_latency_slow:ratio_rate{window}"


REQUESTS_RATE: Final = requests_rate()
ERRORS_RATE: Final = errors_rate()
ERROR_RATIO: Final = error_ratio()
LATENCY_P99: Final = latency_quantile("99")
METHOD_ERROR_RATIO: Final = error_ratio(METHOD_LABELS)
TOOL_ERROR_RATIO: Final = error_ratio(TOOL_LABELS)
INSTANCE_REQUESTS_RATE: Final = requests_rate(INSTANCE_LABELS)
AVAILABILITY_BUDGET_REMAINING: Final = "tenant_service:mcp_availability_error_budget:remaining30d"
LATENCY_BUDGET_REMAINING: Final = "tenant_service:mcp_latency_error_budget:remaining30d"
CAPACITY_FALLBACK: Final = "tenant_service:lookout_capacity_rps:fallback"
CAPACITY: Final = "tenant_service:lookout_capacity_rps:effective"
"""Requests/s one replica of the service handles: the pushed `lookout bench` result, else the fallback."""
CPU_LIMIT_CONFIGURED: Final = "tenant_service:lookout_cpu_limit_cores:configured"
MEMORY_LIMIT_CONFIGURED: Final = "tenant_service:lookout_memory_limit_bytes:configured"
CPU_LIMIT: Final = "tenant_service_instance:lookout_cpu_limit_cores:effective"
"""CPU cores a replica may use: the limit the process exports, else targets[].resources, else alerting.resources."""
MEMORY_LIMIT: Final = "tenant_service_instance:lookout_memory_limit_bytes:effective"
CPU_UTILIZATION: Final = "tenant_service_instance:process_cpu_utilization:ratio_rate15m"
MEMORY_UTILIZATION: Final = "tenant_service_instance:process_memory_utilization:ratio_avg15m"


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: tuple[tuple[str, str], ...] = ()

    def to_rule(self) -> dict[str, object]:
        rule: dict[str, object] = {"record": self.record, "expr": self.expr}
        if self.labels:
            rule["labels"] = dict(self.labels)
        return rule


def _by(labels: tuple[str, ...], *extra: str) -> str:
    return ", ".join((*labels, *extra))


def _rate(selector: str, labels: tuple[str, ...], window: str = "5m", series: str = OPS_COUNT) -> str:
    return f"sum by ({_by(labels)}) (rate({series}{{{selector}}}[{window}]))"


def _failed(classes: tuple[str, ...], labels: tuple[str, ...], window: str, extra: str = "", func: str = "rate") -> str:
    """Failed requests of ``classes``: the primed Lookout counter, else the convention histogram's error_type."""
    primed = f'{ERRORS_TOTAL}{{{MCP_SELECTOR},{m.ERROR_CLASS}=~"{"|".join(classes)}"{extra}}}'
    not_failed = NOT_ERRORS if m.ERROR_CLASS_TOOL in classes else NOT_FAILURES
    convention = f"{OPS_COUNT}{{{MCP_SELECTOR},{_not_in(not_failed)}{extra}}}"
    return (
        f"(sum by ({_by(labels)}) ({func}({primed}[{window}]))"
        f" or on ({_by(labels)}) sum by ({_by(labels)}) ({func}({convention}[{window}])))"
    )


def _errors(classes: tuple[str, ...], total: str, labels: tuple[str, ...], window: str, extra: str = "") -> str:
    # Zero where requests were seen but nothing failed, so ratios are 0 rather than missing under healthy traffic.
    return f"({_failed(classes, labels, window, extra)} or 0 * {_rate(total, labels, window)})"


def _failed_increase(classes: tuple[str, ...], labels: tuple[str, ...], window: str, extra: str = "") -> str:
    # Zero where requests were seen but nothing failed, as for the rates.
    seen = f"sum by ({_by(labels)}) (increase({OPS_COUNT}{{{MCP_SELECTOR}{extra}}}[{window}]))"
    return f"({_failed(classes, labels, window, extra, 'increase')} or 0 * {seen})"


def _slow_increase(le: str, labels: tuple[str, ...], window: str, extra: str = "") -> str:
    total = f"sum by ({_by(labels)}) (increase({OPS_COUNT}{{{MCP_SELECTOR}{extra}}}[{window}]))"
    fast = f'sum by ({_by(labels)}) (increase({OPS_BUCKET}{{{MCP_SELECTOR},le="{le}"{extra}}}[{window}]))'
    return f"{total} - {fast}"


def _ratio(numerator: str, total: str, labels: tuple[str, ...], window: str) -> str:
    return f"{numerator} / ({_rate(total, labels, window)} > 0)"


def _quantile(q: float, selector: str, labels: tuple[str, ...]) -> str:
    buckets = f"sum by ({_by(labels, 'le')}) (rate({OPS_BUCKET}{{{selector}}}[5m]))"
    seen = f"{_rate(selector, labels)} > 0"
    return f"histogram_quantile({q}, {buckets}) and on ({_by(labels)}) ({seen})"


def _traffic_rules(config: Config, labels: tuple[str, ...], extra: str = "") -> list[RecordingRule]:
    total = MCP_SELECTOR + extra
    errors = _errors(ERROR_CLASSES, total, labels, "5m", extra)
    rules = [
        RecordingRule(requests_rate(labels), _rate(total, labels)),
        RecordingRule(errors_rate(labels), errors),
        RecordingRule(error_ratio(labels), _ratio(errors, total, labels, "5m")),
    ]
    quantiles = ("50", "95", "99") if labels == SERVICE_LABELS else ("99",)
    rules += [RecordingRule(latency_quantile(q, labels), _quantile(int(q) / 100, total, labels)) for q in quantiles]
    if labels != METHOD_LABELS:
        le = config.alerting.slo.latency_threshold
        rules += [
            RecordingRule(errors_increase(labels), _failed_increase(ERROR_CLASSES, labels, "5m", extra)),
            RecordingRule(latency_slow_increase("5m", labels), _slow_increase(le, labels, "5m", extra)),
        ]
    return rules


def _sli_rules(config: Config) -> list[RecordingRule]:
    slo = config.alerting.slo
    le = f'{MCP_SELECTOR},le="{slo.latency_threshold}"'
    rules = []
    for w in WINDOWS:
        if w != "5m":  # the traffic group records the 5m rate
            rules.append(RecordingRule(requests_rate(SERVICE_LABELS, w), _rate(MCP_SELECTOR, SERVICE_LABELS, w)))
        failures = _errors(failure_classes(config), MCP_SELECTOR, SERVICE_LABELS, w)
        rules.append(RecordingRule(availability_error_ratio(w), _ratio(failures, MCP_SELECTOR, SERVICE_LABELS, w)))
        fast = _rate(le, SERVICE_LABELS, w, OPS_BUCKET)
        rules.append(RecordingRule(latency_slow_ratio(w), f"1 - ({_ratio(fast, MCP_SELECTOR, SERVICE_LABELS, w)})"))
        counted = _failed_increase(failure_classes(config), SERVICE_LABELS, w)
        rules.append(RecordingRule(availability_errors_increase(w), counted))
        if w != "5m":  # the traffic group records the 5m count
            slow = _slow_increase(slo.latency_threshold, SERVICE_LABELS, w)
            rules.append(RecordingRule(latency_slow_increase(w), slow))
    availability_budget = round(1 - slo.availability / 100, 10)
    latency_budget = round(1 - slo.latency / 100, 10)
    rules += [
        RecordingRule(AVAILABILITY_BUDGET_REMAINING, f"1 - {availability_error_ratio('30d')} / {availability_budget}"),
        RecordingRule(LATENCY_BUDGET_REMAINING, f"1 - {latency_slow_ratio('30d')} / {latency_budget}"),
    ]
    return rules


LIMITS_GROUP: Final = "lookout-limits"
TARGETS_PER_LIMITS_GROUP: Final = 300
"""Targets whose configured limits one group holds (three rules each, ~130 KB of a PrometheusRule): the Kubernetes
base makes one PrometheusRule of each group, and `kubectl apply` refuses an object over 256 KiB."""


def _limit_groups(config: Config) -> dict[str, list[RecordingRule]]:
    """lookout.yaml's numbers per target (one replica's CPU and memory, the capacity fallback) as series, in groups
    of :data:`TARGETS_PER_LIMITS_GROUP` targets (``lookout-limits``, or ``lookout-limits-1`` ... for a larger fleet):
    the only rules that grow with the fleet. The rules that read them are in other groups and see them one
    evaluation later; until then they fall back to the fleet-wide default (or have no capacity)."""
    fallback = config.alerting.resources.capacity_fallback_rps
    rules = []
    for tenant, target in config.targets():
        labels = ((m.TENANT, tenant.name), (m.SERVICE, target.name))
        cores, memory = config.replica_limits(target)
        rules += [
            RecordingRule(CPU_LIMIT_CONFIGURED, f"vector({cores})", labels),
            RecordingRule(MEMORY_LIMIT_CONFIGURED, f"vector({memory})", labels),
            RecordingRule(CAPACITY_FALLBACK, f"vector({fallback})", labels),
        ]
    size = 3 * TARGETS_PER_LIMITS_GROUP
    chunks = [rules[i : i + size] for i in range(0, len(rules), size)]
    if len(chunks) <= 1:
        return {LIMITS_GROUP: rules}
    return {f"{LIMITS_GROUP}-{n}": chunk for n, chunk in enumerate(chunks, 1)}


def _capacity_rules(config: Config) -> list[RecordingRule]:
    # `lookout bench` pushes its result with target=<lookout.yaml target name>; that name is our service label.
    as_service = f'label_replace({m.BENCH_CAPACITY.name}, "{m.SERVICE}", "$1", "{m.TARGET}", "(.+)")'
    measured = f"max by ({m.SERVICE}) ({as_service})"
    effective = f"({CAPACITY_FALLBACK} * 0 + on ({m.SERVICE}) group_left () {measured}) or {CAPACITY_FALLBACK}"
    # With no targets there is no fallback series to name; the measured capacity alone keeps the name defined.
    return [RecordingRule(CAPACITY, effective if config.targets() else measured)]


def _resource_rules(config: Config) -> list[RecordingRule]:
    """Per-replica effective limits (the process's own where it exports one, else lookout.yaml's from
    :func:`_limit_groups`) and the utilization the alerts and dashboards read."""
    fleet = config.alerting.resources
    rules: list[RecordingRule] = []
    by = _by(INSTANCE_LABELS)
    service = _by(SERVICE_LABELS)
    cpu = f"process_cpu_seconds_total{{{MCP_SELECTOR}}}"
    rss = f"process_resident_memory_bytes{{{MCP_SELECTOR}}}"
    for record, exported, seen, configured, default in (
        (CPU_LIMIT, m.PROCESS_CPU_LIMIT.name, cpu, CPU_LIMIT_CONFIGURED, fleet.cpu_cores),
        (MEMORY_LIMIT, m.PROCESS_MEMORY_LIMIT.name, rss, MEMORY_LIMIT_CONFIGURED, fleet.memory_limit_bytes),
    ):
        own_limit = f"max by ({by}) ({exported}{{{MCP_SELECTOR}}} > 0)"
        replicas = f"max by ({by}) ({seen}) * 0"
        # Replicas of a service lookout.yaml does not list (discovered ones) get the fleet-wide default.
        fallback = f"{replicas} + {default}"
        if config.targets():
            fallback = f"({replicas} + on ({service}) group_left () {configured} or {fallback})"
        rules.append(RecordingRule(record, f"{own_limit} or on ({by}) {fallback}"))
    rules += [
        RecordingRule(CPU_UTILIZATION, f"sum by ({by}) (rate({cpu}[15m])) / on ({by}) {CPU_LIMIT}"),
        RecordingRule(MEMORY_UTILIZATION, f"sum by ({by}) (avg_over_time({rss}[15m])) / on ({by}) {MEMORY_LIMIT}"),
    ]
    return rules


def recording_groups(config: Config) -> dict[str, list[RecordingRule]]:
    """Rule groups in evaluation order (a group's rules may use those recorded earlier in it)."""
    tool = f',{m.TOOL_NAME}!=""'
    traffic = [
        *_traffic_rules(config, SERVICE_LABELS),
        *_traffic_rules(config, METHOD_LABELS),
        *_traffic_rules(config, TOOL_LABELS, tool),
        RecordingRule(INSTANCE_REQUESTS_RATE, _rate(MCP_SELECTOR, INSTANCE_LABELS)),
    ]
    return {
        **_limit_groups(config),
        "lookout-traffic": traffic,
        "lookout-sli": _sli_rules(config),
        "lookout-capacity": _capacity_rules(config),
        # Not the alert group's name (lookout-resources): a PrometheusRule, or a ruler's namespace, holds both, and
        # Prometheus refuses a rule file that repeats a group name.
        "lookout-utilization": _resource_rules(config),
    }


def recording_names(config: Config) -> list[str]:
    return [rule.record for rules in recording_groups(config).values() for rule in rules]


def recording_rules(config: Config) -> dict[str, Any]:
    """``recording.yml`` as data: the non-empty groups of :func:`recording_groups`."""
    groups = recording_groups(config)
    return {
        "groups": [{"name": name, "rules": [x.to_rule() for x in rules]} for name, rules in groups.items() if rules]
    }
