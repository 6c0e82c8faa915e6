"""Telemetry Lookout could not deliver, counted: ``lookout_telemetry_dropped_total{signal, reason}``.

Log lines and spans leave the process from background threads through bounded queues, so a slow or
dead destination costs telemetry, never a request. What is lost is counted here, per process (the
root logger and the global tracer provider are per process too), and every instrumented registry
exposes the same counts. Every (signal, reason) pair is exposed from the start at zero, so ``rate()``
sees the first drop.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from lookout import metrics as m

SIGNAL_LOGS = "logs"
SIGNAL_TRACES = "traces"

QUEUE_FULL = "queue_full"
"""The bounded queue in front of the writer or exporter was full (the destination is slower than the load)."""
WRITE_FAILED = "write_failed"
"""Log lines the stream refused (closed, broken pipe)."""
FORMAT_FAILED = "format_failed"
"""A log record that could not be rendered as JSON."""
EXPORT_FAILED = "export_failed"
"""Spans in a batch the OTLP exporter gave up on (endpoint down, refused, timed out, rejected)."""
SHUTDOWN = "shutdown"
"""Still queued or in flight when the shutdown bound ran out (or emitted after shutdown)."""

REASONS: dict[str, tuple[str, ...]] = {
    SIGNAL_LOGS: (QUEUE_FULL, WRITE_FAILED, FORMAT_FAILED, SHUTDOWN),
    SIGNAL_TRACES: (QUEUE_FULL, EXPORT_FAILED, SHUTDOWN),
}


class DropCounts:
    """Monotonic counts by (signal, reason); safe to add to from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {
            (signal, reason): 0 for signal, reasons in REASONS.items() for reason in reasons
        }

    def add(self, signal: str, reason: str, n: int = 1) -> None:
        if n <= 0:
            return
        with self._lock:
            key = (signal, reason)
            self._counts[key] = self._counts.get(key, 0) + n

    def get(self, signal: str, reason: str) -> int:
        with self._lock:
            return self._counts.get((signal, reason), 0)

    def total(self, signal: str) -> int:
        with self._lock:
            return sum(v for (s, _), v in self._counts.items() if s == signal)

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._counts)


DROPS = DropCounts()
"""The process's counts: the log writer and the span pipeline add to it, every registry exposes it."""


class DropCollector(Collector):
    """Exposes :data:`DROPS` as ``lookout_telemetry_dropped_total``."""

    def __init__(self, counts: DropCounts = DROPS) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        spec = m.TELEMETRY_DROPPED
        family = CounterMetricFamily(spec.name, spec.help, labels=spec.labels)
        for (signal, reason), value in sorted(self.counts.snapshot().items()):
            family.add_metric([signal, reason], value)
        yield family

    def describe(self) -> Iterator[Metric]:
        spec = m.TELEMETRY_DROPPED
        yield CounterMetricFamily(spec.name, spec.help, labels=spec.labels)


def register_drop_counter(registry: CollectorRegistry) -> None:
    """Expose the process's drop counts in ``registry`` (once; a second call is a no-op)."""
    with contextlib.suppress(ValueError):  # registered already (the same registry instrumented twice)
        registry.register(DropCollector())
