"""The recorder: every in-process metric of :mod:`lookout.metrics`, created in one registry, with the
cardinality guard applied to every label value that a client can influence.

Framework middlewares (:mod:`lookout.instrument.sdk`, :mod:`lookout.instrument.fastmcp`) and the ASGI
transport middleware call into one :class:`Recorder`; nothing else creates Lookout collectors. The hot
path (:meth:`Recorder.observe_operation`) caches label children in plain dicts so that a request costs
a dict lookup and an ``observe`` rather than ``labels()`` with its validation and lock.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mcp_types import methods as _methods
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lookout import __version__
from lookout import metrics as m
from lookout.instrument.registry import ServerRegistry

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

PROTOCOL_VERSIONS: frozenset[str] = frozenset((*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS))

REGISTRY_KINDS = ("tools", "resources", "resource_templates", "prompts")


def guard_method(method: str) -> str:
    return method if method in MCP_METHODS else m.OTHER


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


class _FastHistogram:
    """One histogram child with a bisect observe straight into its values (the public ``observe``
    scans the buckets linearly and re-checks observability on every call). Falls back to the public
    API when prometheus_client's internals are not what this expects."""

    __slots__ = ("bounds", "buckets", "child", "sum")

    def __init__(self, child: Any) -> None:
        self.child = child
        try:
            self.sum = child._sum
            self.buckets = list(child._buckets)
            self.bounds = [float(b) for b in child._upper_bounds]
            ok = len(self.buckets) == len(self.bounds) and self.bounds[-1] == float("inf")
        except (AttributeError, TypeError):
            ok = False
        if not ok:
            self.sum = None

    def observe(self, amount: float) -> None:
        if self.sum is None:
            self.child.observe(amount)
            return
        self.sum.inc(amount)
        self.buckets[bisect_left(self.bounds, amount)].inc(1)


class _FastValue:
    """A counter or gauge child incremented straight on its value (same fallback rule)."""

    __slots__ = ("child", "value")

    def __init__(self, child: Any) -> None:
        self.child = child
        self.value = getattr(child, "_value", None)
        if not callable(getattr(self.value, "inc", None)):
            self.value = None

    def inc(self, amount: float = 1) -> None:
        if self.value is None:
            if amount >= 0:
                self.child.inc(amount)
            else:
                self.child.dec(-amount)
            return
        self.value.inc(amount)


def _histogram(spec: m.MetricSpec, registry: CollectorRegistry) -> Histogram:
    return Histogram(spec.name, spec.help, spec.labels, registry=registry, buckets=spec.buckets)


def _counter(spec: m.MetricSpec, registry: CollectorRegistry) -> Counter:
    return Counter(spec.name, spec.help, spec.labels, registry=registry)


def _gauge(spec: m.MetricSpec, registry: CollectorRegistry) -> Gauge:
    return Gauge(spec.name, spec.help, spec.labels, registry=registry)


class Recorder:
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

        self.operation = _histogram(m.OPERATION_DURATION, registry)
        self.session_duration = _histogram(m.SESSION_DURATION, registry)
        self.sessions_active = _gauge(m.SESSIONS_ACTIVE, registry)
        self.in_flight = _gauge(m.REQUESTS_IN_FLIGHT, registry)
        self.in_flight_limit = _gauge(m.REQUESTS_IN_FLIGHT_LIMIT, registry)
        self.in_flight_limit.set(max_in_flight)
        self.registry_changes = _counter(m.REGISTRY_CHANGES, registry)
        self.transport_messages = _counter(m.TRANSPORT_MESSAGES, registry)
        self.transport_bytes = _counter(m.TRANSPORT_BYTES, registry)
        self.transport_errors = _counter(m.TRANSPORT_ERRORS, registry)
        self.http_responses = _counter(m.HTTP_RESPONSES, registry)
        self.rejected = _counter(m.REQUESTS_REJECTED, registry)
        info_spec = m.SERVER_INFO
        self.info = Info(info_spec.name, info_spec.help, registry=registry)
        facts = {
            "lookout_version": __version__,
            "sdk": sdk,
            "sdk_version": sdk_version,
            "server_name": server_name,
            "server_version": server_version,
        }
        self.info.info({k: facts.get(k, "") for k in info_spec.labels})
        registry.register(_RegistryCollector(lambda: self.server_registry))
        for kind in REGISTRY_KINDS:  # the counter exists at 0 before the first change
            self.registry_changes.labels(kind)

        self._op_children: dict[tuple[str, str, str, str, str, str], _FastHistogram] = {}
        self._flight_children: dict[str, _FastValue] = {}
        self._msg_children: dict[tuple[str, str], _FastValue] = {}
        self._sessions_children: dict[str, Any] = {}

    # ------------------------------------------------------------------ registry
    def attach_registry(self, registry: ServerRegistry) -> None:
        self.server_registry = registry
        registry.on_change = self.registry_changed

    def registry_changed(self, kind: str, n: int = 1) -> None:
        self.registry_changes.labels(kind).inc(n)

    def guard_tool(self, name: str) -> str:
        reg = self.server_registry
        return name if reg is not None and reg.has_tool(name) else m.OTHER

    def guard_prompt(self, name: str) -> str:
        reg = self.server_registry
        return name if reg is not None and reg.has_prompt(name) else m.OTHER

    # ------------------------------------------------------------------ requests
    def begin(self, method: str) -> None:
        """A request (already guarded ``method``) starts being handled."""
        child = self._flight_children.get(method)
        if child is None:
            child = self._flight_children.setdefault(method, _FastValue(self.in_flight.labels(method)))
        child.inc(1)
        self.in_flight_total += 1

    def end(self, method: str) -> None:
        self._flight_children[method].inc(-1)
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
        key = (method, tool, prompt, error_type, protocol_version, network_transport)
        child = self._op_children.get(key)
        if child is None:
            child = self._op_children.setdefault(key, _FastHistogram(self.operation.labels(*key)))
        if trace_id is None:
            child.observe(seconds)
        else:  # the public path keeps the exemplar on the bucket
            child.child.observe(seconds, {"trace_id": trace_id})

    def message(self, transport: str, direction: str, n: int = 1) -> None:
        key = (transport, direction)
        child = self._msg_children.get(key)
        if child is None:
            child = self._msg_children.setdefault(key, _FastValue(self.transport_messages.labels(transport, direction)))
        child.inc(n)

    def reject(self, reason: str) -> None:
        self.rejected.labels(reason).inc()

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
    def transport_bytes_add(self, transport: str, direction: str, n: int) -> None:
        if n:
            self.transport_bytes.labels(transport, direction).inc(n)

    def transport_error(self, transport: str, error_type: str) -> None:
        self.transport_errors.labels(transport, error_type).inc()

    def http_response(self, transport: str, status: int) -> None:
        self.http_responses.labels(transport, str(status)).inc()

    def series_count(self) -> int:
        """Number of series in the registry (for cardinality tests)."""
        return sum(len(family.samples) for family in self.registry.collect())


def families(registry: CollectorRegistry, names: Iterable[str]) -> dict[str, Metric]:
    wanted = set(names)
    return {f.name: f for f in registry.collect() if f.name in wanted}
