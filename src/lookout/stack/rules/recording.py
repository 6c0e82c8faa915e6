"""Recording rules: request and error rates, error ratios, latency quantiles and the SLIs over the
multiwindow set. Dashboards and alerts query these names, so every name is a constant (or a function
of the window) here and nowhere else.

Zero traffic never yields NaN or Inf: ratios divide by ``(requests > 0)`` and quantiles are kept only
where requests were seen, so a quiet service has no ratio series instead of a NaN one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from lookout import metrics as m
from lookout.config.model import Config
from lookout.stack import naming

WINDOWS: Final = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")
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


ERRORS_SELECTOR: Final = f"{MCP_SELECTOR},{_not_in(NOT_ERRORS)}"
FAILURES_SELECTOR: Final = f"{MCP_SELECTOR},{_not_in(NOT_FAILURES)}"


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


def availability_error_ratio(window: str) -> str:
    """Share of requests that failed on the server's side (the availability SLI's complement)."""
    return f"tenant_service:mcp_availability_errors:ratio_rate{window}"


def latency_slow_ratio(window: str) -> str:
    """Share of requests slower than the latency SLO threshold."""
    return f"tenant_service:mcp_latency_slow:ratio_rate{window}"


REQUESTS_RATE: Final = requests_rate()
ERRORS_RATE: Final = errors_rate()
ERROR_RATIO: Final = error_ratio()
LATENCY_P50: Final = latency_quantile("50")
LATENCY_P95: Final = latency_quantile("95")
LATENCY_P99: Final = latency_quantile("99")
METHOD_REQUESTS_RATE: Final = requests_rate(METHOD_LABELS)
METHOD_ERROR_RATIO: Final = error_ratio(METHOD_LABELS)
METHOD_LATENCY_P99: Final = latency_quantile("99", METHOD_LABELS)
TOOL_REQUESTS_RATE: Final = requests_rate(TOOL_LABELS)
TOOL_ERRORS_RATE: Final = errors_rate(TOOL_LABELS)
TOOL_ERROR_RATIO: Final = error_ratio(TOOL_LABELS)
TOOL_LATENCY_P99: Final = latency_quantile("99", TOOL_LABELS)
INSTANCE_REQUESTS_RATE: Final = requests_rate(INSTANCE_LABELS)
AVAILABILITY_BUDGET_REMAINING: Final = "tenant_service:mcp_availability_error_budget:remaining30d"
LATENCY_BUDGET_REMAINING: Final = "tenant_service:mcp_latency_error_budget:remaining30d"
CAPACITY_FALLBACK: Final = "tenant_service:lookout_capacity_rps:fallback"
CAPACITY: Final = "tenant_service:lookout_capacity_rps:effective"
"""Requests/s one replica of the service handles: the pushed `lookout bench` result, else the fallback."""


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


def _errors(selector: str, total: str, labels: tuple[str, ...], window: str) -> str:
    # Zero where requests were seen but nothing failed, so ratios are 0 rather than missing under healthy traffic.
    return f"({_rate(selector, labels, window)} or 0 * {_rate(total, labels, window)})"


def _ratio(numerator: str, total: str, labels: tuple[str, ...], window: str) -> str:
    return f"{numerator} / ({_rate(total, labels, window)} > 0)"


def _quantile(q: float, selector: str, labels: tuple[str, ...]) -> str:
    buckets = f"sum by ({_by(labels, 'le')}) (rate({OPS_BUCKET}{{{selector}}}[5m]))"
    seen = f"{_rate(selector, labels)} > 0"
    return f"histogram_quantile({q}, {buckets}) and on ({_by(labels)}) ({seen})"


def _traffic_rules(labels: tuple[str, ...], extra: str = "") -> list[RecordingRule]:
    total = MCP_SELECTOR + extra
    errors = _errors(ERRORS_SELECTOR + extra, total, labels, "5m")
    rules = [
        RecordingRule(requests_rate(labels), _rate(total, labels)),
        RecordingRule(errors_rate(labels), errors),
        RecordingRule(error_ratio(labels), _ratio(errors, total, labels, "5m")),
    ]
    quantiles = ("50", "95", "99") if labels == SERVICE_LABELS else ("99",)
    rules += [RecordingRule(latency_quantile(q, labels), _quantile(int(q) / 100, total, labels)) for q in quantiles]
    return rules


def _sli_rules(config: Config) -> list[RecordingRule]:
    slo = config.alerting.slo
    le = f'{MCP_SELECTOR},le="{slo.latency_threshold}"'
    rules = []
    for w in WINDOWS:
        if w != "5m":  # the traffic group records the 5m rate
            rules.append(RecordingRule(requests_rate(SERVICE_LABELS, w), _rate(MCP_SELECTOR, SERVICE_LABELS, w)))
        failures = _errors(FAILURES_SELECTOR, MCP_SELECTOR, SERVICE_LABELS, w)
        rules.append(RecordingRule(availability_error_ratio(w), _ratio(failures, MCP_SELECTOR, SERVICE_LABELS, w)))
        fast = _rate(le, SERVICE_LABELS, w, OPS_BUCKET)
        rules.append(RecordingRule(latency_slow_ratio(w), f"1 - ({_ratio(fast, MCP_SELECTOR, SERVICE_LABELS, w)})"))
    availability_budget = round(1 - slo.availability / 100, 10)
    latency_budget = round(1 - slo.latency / 100, 10)
    rules += [
        RecordingRule(AVAILABILITY_BUDGET_REMAINING, f"1 - {availability_error_ratio('30d')} / {availability_budget}"),
        RecordingRule(LATENCY_BUDGET_REMAINING, f"1 - {latency_slow_ratio('30d')} / {latency_budget}"),
    ]
    return rules


def _capacity_rules(config: Config) -> list[RecordingRule]:
    fallback = config.alerting.resources.capacity_fallback_rps
    rules = [
        RecordingRule(CAPACITY_FALLBACK, f"vector({fallback})", ((m.TENANT, tenant.name), (m.SERVICE, target.name)))
        for tenant, target in config.targets()
    ]
    # `lookout bench` pushes its result with target=<lookout.yaml target name>; that name is our service label.
    measured = f'max by ({m.SERVICE}) (label_replace({m.BENCH_CAPACITY.name}, "{m.SERVICE}", "$1", "target", "(.+)"))'
    effective = f"({CAPACITY_FALLBACK} * 0 + on ({m.SERVICE}) group_left () {measured}) or {CAPACITY_FALLBACK}"
    # With no targets there is no fallback series to name; the measured capacity alone keeps the name defined.
    rules.append(RecordingRule(CAPACITY, effective if rules else measured))
    return rules


def recording_groups(config: Config) -> dict[str, list[RecordingRule]]:
    """Rule groups in evaluation order (a group's rules may use those recorded earlier in it)."""
    traffic = [
        *_traffic_rules(SERVICE_LABELS),
        *_traffic_rules(METHOD_LABELS),
        *_traffic_rules(TOOL_LABELS, f',{m.TOOL_NAME}!=""'),
        RecordingRule(INSTANCE_REQUESTS_RATE, _rate(MCP_SELECTOR, INSTANCE_LABELS)),
    ]
    return {"lookout-traffic": traffic, "lookout-sli": _sli_rules(config), "lookout-capacity": _capacity_rules(config)}


def recording_names(config: Config) -> list[str]:
    return [rule.record for rules in recording_groups(config).values() for rule in rules]
