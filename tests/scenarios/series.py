"""Input series for the on-call scenarios, minute by minute, as an instrumented MCP server, the prober and
Prometheus would write them: the convention histogram (count and buckets per error_type), the primed
lookout_mcp_operation_errors counter, up, probe_success and process series."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lookout import metrics as m

PerMinute = Callable[[int], float]
BUCKETS = ("0.05", "0.075", "0.1", "0.2", "+Inf")
SERVER_ERROR = "RuntimeError"
CLIENT_ERROR = "-32602"


def const(n: float) -> PerMinute:
    return lambda _minute: n


def between(n: float, start: int, end: int, otherwise: float = 0) -> PerMinute:
    """``n`` per minute from minute ``start`` (inclusive) to ``end`` (exclusive), else ``otherwise``."""
    return lambda minute: n if start <= minute < end else otherwise


def at(minutes: Sequence[int], n: float = 1) -> PerMinute:
    """``n`` in exactly the given minutes."""
    chosen = set(minutes)
    return lambda minute: n if minute in chosen else 0


def pattern(values: Sequence[float]) -> PerMinute:
    """A repeating per-minute pattern, e.g. (1, 0) alternates."""
    return lambda minute: values[minute % len(values)]


def render(values: Sequence[float | None]) -> str:
    return " ".join("_" if v is None else f"{v:g}" for v in values)


def labels(**kv: str) -> str:
    return ",".join(f'{k}="{v}"' for k, v in kv.items())


@dataclass(frozen=True)
class Replica:
    tenant: str
    service: str
    instance: str

    def selector(self, **extra: str) -> str:
        return labels(job="mcp", tenant=self.tenant, service=self.service, instance=self.instance, **extra)


NONE: PerMinute = const(0)


@dataclass
class Stream:
    """Requests to one tool of one replica; counts per minute by outcome."""

    replica: Replica
    tool: str = "search_docs"
    ok: PerMinute = NONE
    slow: PerMinute = NONE
    """Successful requests slower than every bucket below 0.2 s (recorded at 0.15 s)."""
    server: PerMinute = NONE
    tool_errors: PerMinute = NONE
    client: PerMinute = NONE
    ok_latency: float = 0.02
    primed: bool = True
    """The server runs Lookout's instrumentation (the primed error counter exists); else only the histogram."""
    resets: tuple[int, ...] = ()
    """Minutes at which the process restarted: every counter starts again from zero."""

    def _cumulative(self, per_minute: PerMinute, minutes: int) -> list[float]:
        out: list[float] = []
        total = 0.0
        for minute in range(minutes + 1):
            total = 0.0 if minute in self.resets else total
            total += per_minute(minute) if minute > 0 else 0
            out.append(total)
        return out

    def series(self, minutes: int) -> list[tuple[str, str]]:
        r = self.replica
        base = dict(mcp_method_name="tools/call", gen_ai_tool_name=self.tool)
        convention = dict(base, gen_ai_prompt_name="", mcp_protocol_version="2025-06-18", network_transport="tcp")
        out: list[tuple[str, str]] = []
        outcomes: list[tuple[str, PerMinute, float]] = [
            ("", self.ok, self.ok_latency),
            ("", self.slow, 0.15),
            (SERVER_ERROR, self.server, 0.02),
            (m.TOOL_ERROR, self.tool_errors, 0.02),
            (CLIENT_ERROR, self.client, 0.02),
        ]
        by_type: dict[str, list[tuple[list[float], float]]] = {}
        for error_type, per_minute, latency in outcomes:
            if error_type and not any(per_minute(x) for x in range(minutes + 1)):
                continue
            by_type.setdefault(error_type, []).append((self._cumulative(per_minute, minutes), latency))
        name = m.OPERATION_DURATION.name
        for error_type, parts in by_type.items():
            sel = r.selector(**convention, error_type=error_type)
            count = [sum(p[0][i] for p in parts) for i in range(minutes + 1)]
            out.append((f"{name}_count{{{sel}}}", render(count)))
            for le in BUCKETS:
                within = [sum(p[0][i] for p in parts if le == "+Inf" or p[1] <= float(le)) for i in range(minutes + 1)]
                out.append((f'{name}_bucket{{{sel},le="{le}"}}', render(within)))
        if self.primed:
            for error_class, per_minute in (
                (m.ERROR_CLASS_SERVER, self.server),
                (m.ERROR_CLASS_TOOL, self.tool_errors),
                (m.ERROR_CLASS_CLIENT, self.client),
            ):
                sel = r.selector(**base, error_class=error_class)
                out.append((f"{m.OPERATION_ERRORS.name}_total{{{sel}}}", render(self._cumulative(per_minute, minutes))))
        return out


@dataclass
class Scenario:
    name: str
    minutes: int
    streams: list[Stream] = field(default_factory=list)
    gauges: list[tuple[str, Callable[[int], float | None]]] = field(default_factory=list)
    """(series selector, value per minute) for up, probe_success, process_* ... ; a None value is a gap."""
    pages: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    """(alertname, eval_time, labels incl. priority): the alert must be firing with these labels then."""
    quiet: list[tuple[str, str]] = field(default_factory=list)
    """(alertname, eval_time): nothing of that name may be firing then."""

    def input_series(self) -> list[tuple[str, str]]:
        out = [s for stream in self.streams for s in stream.series(self.minutes)]
        for selector, per_minute in self.gauges:
            out.append((selector, render([per_minute(i) for i in range(self.minutes + 1)])))
        return out
