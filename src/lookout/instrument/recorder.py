"""The recorder: every in-process metric of :mod:`lookout.metrics`, created in one registry, with the
cardinality guard applied to every label value that a client can influence.

Framework middlewares (:mod:`lookout.instrument.sdk`, :mod:`lookout.instrument.fastmcp`) and the stream
wrappers call into one :class:`RequestRecorder`; the HTTP wrapper (:func:`lookout.instrument.transport.count_http`)
adds to its byte and response families directly, under the label keys it makes once
(:meth:`RequestRecorder.transport_keys`). Nothing else creates Lookout collectors. The hot path
(:meth:`RequestRecorder.observe_operation`) caches label children in plain dicts so that a request costs a dict
lookup and an ``observe`` rather than ``labels()`` with its validation and lock.
"""

from __future__ import annotations

import math
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mcp_types import methods as _methods
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Exemplar, Sample
from prometheus_client.utils import floatToGoString

from lookout import __version__, cgroup
from lookout import metrics as m
from lookout.instrument.registry import ServerRegistry
from lookout.protocol import KNOWN_PROTOCOL_VERSIONS
from lookout.registry_exposition import HistogramSeriesText, PlainSeriesText, exemplar_text, header, number

MCP_METHODS: frozenset[str] = frozenset(
    set(_methods.SPEC_CLIENT_METHODS)
    | set(_methods.SPEC_CLIENT_NOTIFICATION_METHODS)
    | {
        # Methods of every protocol revision Lookout knows, whether or not this SDK build serves them.
        "initialize",
        "ping",
        "server/discover",
        "subscriptions/listen",
        "notifications/cancelled",
        "notifications/initialized",
        "notifications/progress",
        "notifications/roots/list_changed",
        "tasks/get",
        "tasks/list",
        "tasks/result",
        "tasks/cancel",
    }
)
"""Every value ``mcp_method_name`` may take besides ``_OTHER``."""

PROTOCOL_VERSIONS: frozenset[str] = frozenset(KNOWN_PROTOCOL_VERSIONS)
"""Every value ``mcp_protocol_version`` may take besides ``_OTHER`` (and "" before negotiation)."""

REGISTRY_KINDS = ("tools", "resources", "resource_templates", "prompts")
MAX_PRIMED = 500
"""At most this many tools (and prompts) get zero series per (protocol version, transport) pair, and
zero ``lookout_mcp_operation_errors`` series."""

ERROR_PRIMED_METHODS: tuple[str, ...] = tuple(
    sorted(
        method
        for method in (*MCP_METHODS, m.OTHER)
        # Notifications are never operations, so they never fail; tools/call is primed per tool.
        if not method.startswith("notifications/") and method != "tools/call"
    )
)
"""Methods whose ``lookout_mcp_operation_errors`` series (tool "") exist at zero from the start."""


def guard_version(version: str | None) -> str:
    if not version:
        return ""
    return version if version in PROTOCOL_VERSIONS else m.OTHER


class _RegistryCollector(Collector):
    """``lookout_mcp_registry_items``, read from the server's live registry at scrape time."""

    def __init__(self, source: Callable[[], ServerRegistry | None]) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        spec = m.REGISTRY_ITEMS
        family = GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
        registry = self._source()
        if registry is not None:
            counts = registry.counts()
            for kind in REGISTRY_KINDS:
                family.add_metric([kind], counts.get(kind, 0))
        yield family

    def describe(self) -> Iterator[Metric]:
        spec = m.REGISTRY_ITEMS
        yield GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)


class _OperationSeries:
    __slots__ = ("counts", "created", "exemplars", "sum", "text")

    def __init__(self, n: int) -> None:
        self.counts = [0] * n
        self.exemplars: list[Exemplar | None] = [None] * n
        self.sum = 0.0
        self.created = time.time()
        self.text: HistogramSeriesText | None = None  # at the first scrape, not on the request path


class OperationHistogram(Collector):
    """``mcp_server_operation_duration_seconds`` kept as plain per-series lists and rendered at scrape
    time. An observation is a bisect and two additions - no lock, no label validation - because it
    happens on every request in the event loop thread; exemplars are kept per bucket (the latest)."""

    def __init__(self, spec: m.MetricSpec) -> None:
        self.spec = spec
        self.bounds = [*spec.buckets, math.inf]
        self.le = [floatToGoString(b) for b in self.bounds]  # type: ignore[no-untyped-call]
        self.series: dict[tuple[str, ...], _OperationSeries] = {}

    def prime(self, key: tuple[str, ...]) -> None:
        """Create the series at zero, so that ``rate()`` sees its first observations (a series that
        appears with a count of 5 shows no increase for those 5)."""
        if key not in self.series:
            self.series.setdefault(key, _OperationSeries(len(self.bounds)))

    def observe(self, key: tuple[str, ...], seconds: float, trace_id: str | None = None) -> None:
        series = self.series.get(key)
        if series is None:
            series = self.series.setdefault(key, _OperationSeries(len(self.bounds)))
        i = bisect_left(self.bounds, seconds)
        series.counts[i] += 1
        series.sum += seconds
        if trace_id is not None:
            series.exemplars[i] = Exemplar({"trace_id": trace_id}, seconds, time.time())

    def collect(self) -> Iterator[Metric]:
        spec = self.spec
        family = HistogramMetricFamily(spec.name, spec.help, labels=spec.labels)
        for key, series in list(self.series.items()):
            cumulative = 0
            buckets: list[Any] = []
            for le, count, exemplar in zip(self.le, series.counts, series.exemplars, strict=True):
                cumulative += count
                buckets.append((le, cumulative, exemplar) if exemplar is not None else (le, cumulative))
            family.add_metric(list(key), buckets, series.sum)
            family.samples.append(
                Sample(f"{spec.name}_created", dict(zip(spec.labels, key, strict=True)), series.created, None, None)
            )
        yield family

    def describe(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(self.spec.name, self.spec.help, labels=self.spec.labels)

    def render_exposition(self, openmetrics: bool, out: list[str]) -> None:
        """The lines :meth:`collect` would make prometheus_client write, without building its samples."""
        name, spec = self.spec.name, self.spec
        header(out, name, "histogram", spec.help, openmetrics)
        created: list[str] = []
        for key, series in list(self.series.items()):
            text = series.text
            if text is None:
                text = series.text = HistogramSeriesText(name, spec.labels, key, self.le)
            cumulative = 0
            for prefix, count, exemplar in zip(text.buckets, series.counts, series.exemplars, strict=True):
                cumulative += count
                if openmetrics and exemplar is not None:
                    out.append(f"{prefix}{number(cumulative)}{exemplar_text(exemplar)}\n")
                else:
                    out.append(f"{prefix}{number(cumulative)}\n")
            out.append(f"{text.count}{number(cumulative)}\n{text.sum}{number(series.sum)}\n")
            created_line = f"{text.created}{number(series.created)}\n"
            # OpenMetrics keeps _created in the family; the text format has it as a gauge family after it.
            (out if openmetrics else created).append(created_line)
        if not openmetrics and created:
            header(out, f"{name}_created", "gauge", spec.help, openmetrics)
            out.extend(created)


class _PlainFamily(Collector):
    """A counter or gauge family whose values are plain numbers in a dict (hot-path updates)."""

    def __init__(self, spec: m.MetricSpec) -> None:
        self.spec = spec
        self.values: dict[tuple[str, ...], float] = {}
        self.text = PlainSeriesText(spec.name, spec.kind, spec.labels)

    def collect(self) -> Iterator[Metric]:
        spec = self.spec
        if spec.kind is m.Kind.COUNTER:
            counter = CounterMetricFamily(spec.name, spec.help, labels=spec.labels)
            for key, value in list(self.values.items()):
                counter.add_metric(list(key), value)
            yield counter
        else:
            gauge = GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
            for key, value in list(self.values.items()):
                gauge.add_metric(list(key), value)
            yield gauge

    def describe(self) -> Iterator[Metric]:
        yield from self.collect()

    def render_exposition(self, openmetrics: bool, out: list[str]) -> None:
        spec = self.spec
        # The text format names a counter family by its sample (``_total``), OpenMetrics without it.
        family = f"{spec.name}_total" if spec.kind is m.Kind.COUNTER and not openmetrics else spec.name
        header(out, family, spec.kind.value, spec.help, openmetrics)
        prefix = self.text.prefix
        out.extend(f"{prefix(key)}{number(value)}\n" for key, value in list(self.values.items()))


class ProcessLimitsCollector(Collector):
    """``lookout_process_cpu_limit_cores`` and ``lookout_process_memory_limit_bytes``, read from the
    process's cgroup at scrape time (a container's limits can change while it runs)."""

    def __init__(
        self,
        cpu: Callable[[], float] = cgroup.cpu_limit_cores,
        memory: Callable[[], int | None] = cgroup.memory_limit,
    ) -> None:
        self._cpu, self._memory = cpu, memory

    def collect(self) -> Iterator[Metric]:
        cpu, memory = self._families()
        cpu.add_metric([], self._cpu())
        yield cpu
        limit = self._memory()
        if limit is not None:  # unlimited: no sample, so a ratio against it is empty rather than ~0
            memory.add_metric([], limit)
        yield memory

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        cpu, memory = m.PROCESS_CPU_LIMIT, m.PROCESS_MEMORY_LIMIT
        return GaugeMetricFamily(cpu.name, cpu.help), GaugeMetricFamily(memory.name, memory.help)


class TransportKeys:
    """One transport's label keys in the byte family (``bytes_in``, ``bytes_out``) and, for HTTP, the response
    family (by status code, made at its first response)."""

    __slots__ = ("bytes_in", "bytes_out", "responses")

    def __init__(self, transport: str) -> None:
        self.bytes_in = (transport, "in")
        self.bytes_out = (transport, "out")
        self.responses = _StatusKeys(transport)


class _StatusKeys(dict[int, tuple[str, str]]):
    def __init__(self, transport: str) -> None:
        super().__init__()
        self.transport = transport

    def __missing__(self, status: int) -> tuple[str, str]:
        key = self[status] = (self.transport, str(int(status)))
        return key


def _histogram(spec: m.MetricSpec, registry: CollectorRegistry) -> Histogram:
    return Histogram(spec.name, spec.help, spec.labels, registry=registry, buckets=spec.buckets)


def _counter(spec: m.MetricSpec, registry: CollectorRegistry) -> Counter:
    return Counter(spec.name, spec.help, spec.labels, registry=registry)


def _gauge(spec: m.MetricSpec, registry: CollectorRegistry) -> Gauge:
    return Gauge(spec.name, spec.help, spec.labels, registry=registry)


class RequestRecorder:
    """Owns Lookout's collectors in ``registry`` and records into them."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        max_in_flight: int = 0,
        sdk: str = "mcp",
        sdk_version: str = "",
        server_name: str = "",
        server_version: str = "",
    ) -> None:
        self.registry = registry
        self.server_registry: ServerRegistry | None = None
        self.max_in_flight = max_in_flight
        self.in_flight_total = 0
        self._lock = threading.Lock()

        self.operation = OperationHistogram(m.OPERATION_DURATION)
        registry.register(self.operation)
        self.errors = _PlainFamily(m.OPERATION_ERRORS)
        registry.register(self.errors)
        self.session_duration = _histogram(m.SESSION_DURATION, registry)
        self.sessions_active = _gauge(m.SESSIONS_ACTIVE, registry)
        self.in_flight = _PlainFamily(m.REQUESTS_IN_FLIGHT)
        registry.register(self.in_flight)
        self.in_flight_limit = _gauge(m.REQUESTS_IN_FLIGHT_LIMIT, registry)
        self.in_flight_limit.set(max_in_flight)
        self.registry_changes = _counter(m.REGISTRY_CHANGES, registry)
        self.transport_messages = _PlainFamily(m.TRANSPORT_MESSAGES)
        registry.register(self.transport_messages)
        # Updated on every HTTP request: plain numbers rendered at scrape time, like the message counts.
        self.transport_bytes = _PlainFamily(m.TRANSPORT_BYTES)
        registry.register(self.transport_bytes)
        self.transport_errors = _counter(m.TRANSPORT_ERRORS, registry)
        self.http_responses = _PlainFamily(m.HTTP_RESPONSES)
        registry.register(self.http_responses)
        self.rejected = _counter(m.REQUESTS_REJECTED, registry)
        info_spec = m.SERVER_INFO
        self.info = Info(info_spec.name, info_spec.help, registry=registry)
        facts = {
            m.SERVER_LOOKOUT_VERSION: __version__,
            m.SERVER_SDK: sdk,
            m.SERVER_SDK_VERSION: sdk_version,
            m.SERVER_NAME: server_name,
            m.SERVER_VERSION: server_version,
        }
        self.info.info({k: facts.get(k, "") for k in info_spec.labels})
        registry.register(_RegistryCollector(lambda: self.server_registry))
        for kind in REGISTRY_KINDS:  # the counter exists at 0 before the first change
            self.registry_changes.labels(kind)

        self._transport_keys: dict[str, TransportKeys] = {}
        self._sessions_children: dict[str, Any] = {}
        self._children: dict[tuple[str, str], Any] = {}
        self._primed: set[tuple[str, str]] = set()
        for method in ERROR_PRIMED_METHODS:
            self._prime_errors(method, "")
        self._prime_errors("tools/call", m.OTHER)

    # ------------------------------------------------------------------ registry
    def attach_registry(self, registry: ServerRegistry) -> None:
        self.server_registry = registry
        registry.on_change = self.registry_changed
        registry.on_names = self.registry_names_changed
        self.registry_names_changed()

    def registry_changed(self, kind: str, n: int = 1) -> None:
        self.registry_changes.labels(kind).inc(n)
        self.registry_names_changed()

    def registry_names_changed(self) -> None:
        """The names the guard accepts changed (a change, or a lowlevel server's first listing): prime the
        new ones."""
        registry = self.server_registry
        if registry is None:
            return
        for tool in sorted(registry.names("tools"))[:MAX_PRIMED]:
            self._prime_errors("tools/call", tool)
        for version, network in list(self._primed):
            self._prime_names(version, network)

    # ------------------------------------------------------------------ zero series
    def prime(self, version: str, network: str) -> None:
        """First request of a (protocol version, transport) pair: create the success and ``tool_error``
        series of every registered tool and the success series of every prompt at zero, so the first
        calls and the first errors show in ``rate()``. Bounded by the registry, like the guard."""
        if (version, network) in self._primed:
            return
        self._primed.add((version, network))
        self._prime_names(version, network)

    def _prime_names(self, version: str, network: str) -> None:
        registry = self.server_registry
        if registry is None:
            return
        prime = self.operation.prime
        for tool in registry.names("tools")[:MAX_PRIMED]:
            prime(("tools/call", tool, "", "", version, network))
            prime(("tools/call", tool, "", m.TOOL_ERROR, version, network))
        for prompt in registry.names("prompts")[:MAX_PRIMED]:
            prime(("prompts/get", "", prompt, "", version, network))

    def _prime_errors(self, method: str, tool: str) -> None:
        """Create the ``lookout_mcp_operation_errors`` series of every error class at zero, so the first
        failure of any kind (an exception class never seen before included) moves a series ``rate()`` sees."""
        values = self.errors.values
        for error_class in m.ERROR_CLASSES:
            values.setdefault((method, tool, error_class), 0)

    def guard_tool(self, name: str) -> str:
        reg = self.server_registry
        return name if reg is not None and reg.has_tool(name) else m.OTHER

    def guard_prompt(self, name: str) -> str:
        reg = self.server_registry
        return name if reg is not None and reg.has_prompt(name) else m.OTHER

    # ------------------------------------------------------------------ requests
    def begin(self, method: str) -> None:
        """A request (already guarded ``method``) starts being handled."""
        values = self.in_flight.values
        key = (method,)
        values[key] = values.get(key, 0) + 1
        self.in_flight_total += 1

    def end(self, method: str) -> None:
        self.in_flight.values[(method,)] -= 1
        self.in_flight_total -= 1

    def saturated(self) -> bool:
        return 0 < self.max_in_flight <= self.in_flight_total

    def observe_operation(
        self,
        method: str,
        tool: str,
        prompt: str,
        error_type: str,
        protocol_version: str,
        network_transport: str,
        seconds: float,
        trace_id: str | None = None,
    ) -> None:
        if (protocol_version, network_transport) not in self._primed:
            self.prime(protocol_version, network_transport)
        self.operation.observe(
            (method, tool, prompt, error_type, protocol_version, network_transport), seconds, trace_id
        )
        if error_type:
            values = self.errors.values
            key = (method, tool, m.error_class(error_type) or m.ERROR_CLASS_SERVER)
            values[key] = values.get(key, 0) + 1

    def message(self, transport: str, direction: str, n: int = 1) -> None:
        values = self.transport_messages.values
        key = (transport, direction)
        values[key] = values.get(key, 0) + n

    def reject(self, reason: str) -> None:
        child = self._children.get(("rejected", reason))
        if child is None:
            child = self._children.setdefault(("rejected", reason), self.rejected.labels(reason))
        child.inc()

    # ------------------------------------------------------------------ sessions
    def session_opened(self, network_transport: str) -> float:
        child = self._sessions_children.get(network_transport)
        if child is None:
            child = self._sessions_children.setdefault(
                network_transport, self.sessions_active.labels(network_transport)
            )
        child.inc()
        return time.perf_counter()

    def session_closed(
        self, network_transport: str, protocol_version: str, started: float, error_type: str = ""
    ) -> None:
        self._sessions_children[network_transport].dec()
        self.session_duration.labels(protocol_version, network_transport, error_type).observe(
            time.perf_counter() - started
        )

    # ------------------------------------------------------------------ transport (ASGI / stdio)
    def transport_bytes_add(self, key: tuple[str, str], n: int) -> None:
        """Add ``n`` bytes under ``key``, one of a :meth:`transport_keys` ``bytes_in``/``bytes_out``."""
        if n:
            values = self.transport_bytes.values
            values[key] = values.get(key, 0) + n

    def transport_keys(self, transport: str) -> TransportKeys:
        """The label keys of ``transport``'s byte counters and, by status code, of its responses, made once: the
        transport wrappers add to :attr:`transport_bytes` and :attr:`http_responses` without building keys per
        request or message."""
        keys = self._transport_keys.get(transport)
        if keys is None:
            keys = self._transport_keys[transport] = TransportKeys(transport)
        return keys

    def transport_error(self, transport: str, error_type: str) -> None:
        self.transport_errors.labels(transport, error_type).inc()

    def series_count(self) -> int:
        """Number of series in the registry (for cardinality tests)."""
        return sum(len(family.samples) for family in self.registry.collect())


def families(registry: CollectorRegistry, names: Iterable[str]) -> dict[str, Metric]:
    wanted = set(names)
    return {f.name: f for f in registry.collect() if f.name in wanted}
