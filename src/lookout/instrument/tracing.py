"""Traces: enrich the SERVER span the framework already opens, and (optionally) set up the OpenTelemetry
SDK with OTLP/HTTP export and the adaptive sampler.

The MCP SDK 2.x opens a SERVER span per request (``OpenTelemetryMiddleware``) and extracts the trace
context from ``params._meta``; FastMCP 4 does the same at its middleware seam. Lookout's middleware runs
inside that span and adds what the framework does not know or does not set - ``mcp.session.id`` (when
there is one), ``network.transport``, ``network.protocol.name``,
``server.address``/``server.port``, ``client.address`` and ``enduser.id`` (the principal the transport
authenticated: its id only, never a credential).

With the set-up made here as the global provider, a request that starts a trace is decided by the adaptive
sampler before the SDK's span, and one it drops runs inside the same non-recording span the SDK would have
made, without the SDK's span machinery (:class:`lookout.instrument.sdk.LookoutMiddleware`,
:meth:`TracingSetup.decides_roots`).

Export never hurts the server: spans go through a bounded in-memory queue (dropped when full) to a
background thread, and the exporter gives up after ``export_timeout`` seconds, so an OTLP endpoint
that is down or slow costs neither latency nor unbounded memory. Shutting down and flushing wait at
most ``shutdown_timeout`` seconds. Every span lost on the way - queue full, export failed, still
queued when the shutdown bound ran out - is counted in ``lookout_telemetry_dropped_total{signal="traces"}``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import Status, StatusCode

from lookout.instrument.drops import DROPS, EXPORT_FAILED, QUEUE_FULL, SHUTDOWN, SIGNAL_TRACES
from lookout.instrument.sampler import AdaptiveSampler
from lookout.instrument.spans import DEFAULT_SLOW_SECONDS, DEFAULT_TARGET_PER_SECOND, KEPT_SPAN_IDS, SpanKeeper
from lookout.security.redact import redactor

EXPORT_TIMEOUT_SECONDS = 2.0
"""One export (all of the OTLP exporter's retries) gives up after this long."""
SCHEDULE_DELAY_SECONDS = 1.0
"""The export thread sends what is queued at least this often."""
SHUTDOWN_TIMEOUT_SECONDS = 3.0
"""Shutting down (and flushing) waits at most this long for the export thread; longer than one export,
so a reachable collector gets the last batch, and what is still queued after it is counted and dropped."""
MAX_QUEUE_SIZE = 2048
"""Spans waiting for export at most; beyond it the oldest is dropped and counted."""


class SpanAccount:
    """What became of the spans handed to the batch processor: exported, or dropped for a reason.

    Spans handed over minus spans settled is what is still queued or in flight; when the shutdown
    bound runs out that remainder is counted as dropped at once and the export thread is abandoned
    (whatever it reports later is not counted twice).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.handed = 0
        self.settled = 0
        self.abandoned = False

    def hand(self) -> None:
        with self._lock:
            if not self.abandoned:
                self.handed += 1

    def dropped(self, n: int, reason: str) -> None:
        """The processor dropped ``n`` spans on the spot (always counted, even after abandoning)."""
        with self._lock:
            if not self.abandoned:
                self.settled += n
        DROPS.add(SIGNAL_TRACES, reason, n)

    def exported(self, n: int, ok: bool) -> None:
        with self._lock:
            if self.abandoned:
                return
            self.settled += n
        if not ok:
            DROPS.add(SIGNAL_TRACES, EXPORT_FAILED, n)

    def abandon(self) -> int:
        """Count everything unsettled as dropped at shutdown; returns how many."""
        with self._lock:
            if self.abandoned:
                return 0
            self.abandoned = True
            pending = self.handed - self.settled
        DROPS.add(SIGNAL_TRACES, SHUTDOWN, pending)
        return pending


def _redacted_span(span: ReadableSpan) -> ReadableSpan:
    """``span`` with secrets and personal data out of its attributes, events (exception messages, stack traces)
    and status description (lookout.security.redact); the span itself when nothing matched."""
    current = redactor()
    if not current.enabled:
        return span
    attributes = current.value(dict(span.attributes or {}))
    events = [Event(e.name, current.value(dict(e.attributes or {})), e.timestamp) for e in span.events]
    description = current.redact(span.status.description or "") or None
    if (
        attributes == dict(span.attributes or {})
        and all(new.attributes == dict(old.attributes or {}) for new, old in zip(events, span.events, strict=True))
        and description == (span.status.description or None)
    ):
        return span
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=span.status if description == span.status.description else Status(span.status.status_code, description),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class _CountingExporter(SpanExporter):
    """Settles every exported batch in the account (a failed one is counted as dropped)."""

    def __init__(self, inner: Any, account: SpanAccount) -> None:  # the SDK types it as its Exporter protocol
        self.inner = inner
        self.account = account

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        spans = [_redacted_span(span) for span in spans]
        try:
            result: SpanExportResult = self.inner.export(spans)
        except Exception:
            self.account.exported(len(spans), ok=False)
            raise
        self.account.exported(len(spans), ok=result is SpanExportResult.SUCCESS)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self.inner.force_flush(timeout_millis))


class _CountingProcessorMetrics:
    """The batch processor's own drop notifications (queue full, emitted after shutdown), counted."""

    def __init__(self, inner: Any, account: SpanAccount) -> None:
        self.inner = inner
        self.account = account

    def register_queue_size(self, get_queue_size: Any) -> None:
        self.inner.register_queue_size(get_queue_size)

    def drop_items(self, count: int, error_type: str = "queue_full") -> None:
        self.inner.drop_items(count, error_type)
        self.account.dropped(count, QUEUE_FULL if error_type == "queue_full" else SHUTDOWN)

    def finish_items(self, count: int) -> None:
        self.inner.finish_items(count)


class KeepErrorsAndSlow(SpanProcessor):
    """Exports sampled spans through ``inner``, plus unsampled-but-recorded spans that ended with an
    error status or lasted at least ``slow_seconds`` (the adaptive sampler records every root).

    The keep is span-level: the error or slow span itself is exported (with its attributes and
    events); its unsampled children are not, unless they too errored or ran slow.

    Every span handed to ``inner`` is accounted for (:class:`SpanAccount`): exported, or counted as
    dropped. :meth:`shutdown` and :meth:`force_flush` wait at most ``shutdown_timeout`` seconds.
    """

    def __init__(
        self,
        inner: BatchSpanProcessor,
        slow_seconds: float = DEFAULT_SLOW_SECONDS,
        shutdown_timeout: float = SHUTDOWN_TIMEOUT_SECONDS,
    ) -> None:
        self.inner = inner
        self.slow_ns = int(slow_seconds * 1e9)
        self.shutdown_timeout = shutdown_timeout
        self.kept_errors = 0
        self.kept_slow = 0
        self.account = SpanAccount()
        # The SDK's batch processor reports its drops and exports to these two; counting them here
        # is what makes each lost span visible in lookout_telemetry_dropped_total.
        batch = inner._batch_processor
        batch._exporter = _CountingExporter(batch._exporter, self.account)
        # SDKs before the processor's own drop metrics: a full queue is seen from here (approximately).
        self._queue_watch = getattr(batch, "_metrics", None) is None
        if not self._queue_watch:
            batch._metrics = _CountingProcessorMetrics(batch._metrics, self.account)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.inner.on_start(span, parent_context)

    def _hand(self) -> None:
        self.account.hand()
        if self._queue_watch:
            batch = self.inner._batch_processor
            if len(batch._queue) >= batch._max_queue_size:
                self.account.dropped(1, QUEUE_FULL)

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None and span.context.trace_flags.sampled:
            self._hand()
            self.inner.on_end(span)
            return
        if span.status.status_code is StatusCode.ERROR:
            self.kept_errors += 1
        elif span.end_time and span.start_time and span.end_time - span.start_time >= self.slow_ns:
            self.kept_slow += 1
        else:
            return
        self._hand()
        self.inner._batch_processor.emit(span)

    def shutdown(self) -> None:
        """Export what is queued within ``shutdown_timeout`` seconds; count the rest as dropped."""
        self.inner._batch_processor.shutdown(timeout_millis=int(self.shutdown_timeout * 1000))
        self.account.abandon()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export what is queued; False if that took longer than ``timeout_millis`` or ``shutdown_timeout``
        (the export goes on in the background: the SDK's own flush has no bound)."""
        done = threading.Event()
        outcome: list[bool] = []

        def flush() -> None:
            outcome.append(self.inner.force_flush())
            done.set()

        threading.Thread(target=flush, name="lookout-span-flush", daemon=True).start()
        return done.wait(min(timeout_millis / 1000, self.shutdown_timeout)) and outcome[0]


class _KeptSpanIds(RandomIdGenerator):
    """Random ids, but the span :class:`SpanKeeper` records for an unsampled request gets that request's ids
    (:data:`KEPT_SPAN_IDS`): the trace and span ids its log lines carry are those of the exported span."""

    def generate_span_id(self) -> int:
        kept = KEPT_SPAN_IDS.get()
        return super().generate_span_id() if kept is None else kept.span_id

    def generate_trace_id(self) -> int:
        kept = KEPT_SPAN_IDS.get()
        return super().generate_trace_id() if kept is None else kept.trace_id


@dataclass
class TracingSetup:
    """What :func:`configure_tracing` set up."""

    provider: TracerProvider
    sampler: AdaptiveSampler
    processor: KeepErrorsAndSlow
    keeper: SpanKeeper | None

    def decides_roots(self) -> bool:
        """Whether the SERVER span of a request that starts a trace may be decided by :attr:`sampler` before the
        framework's span starts (:class:`lookout.instrument.sdk.LookoutMiddleware`): the global provider
        samples with it, and a dropped root is not recorded (``keep_mode="reconstruct"``)."""
        provider = trace.get_tracer_provider()
        return getattr(provider, "sampler", None) is self.sampler and not self.sampler.records_unsampled

    def shutdown(self) -> None:
        """Shut the tracer provider down: export what is queued (bounded), then stop."""
        self.provider.shutdown()


def configure_tracing(
    *,
    service: str = "mcp-server",
    endpoint: str | None = None,
    exporter: SpanExporter | None = None,
    target_per_second: float = DEFAULT_TARGET_PER_SECOND,
    slow_seconds: float = DEFAULT_SLOW_SECONDS,
    export_timeout: float = EXPORT_TIMEOUT_SECONDS,
    schedule_delay: float = SCHEDULE_DELAY_SECONDS,
    shutdown_timeout: float = SHUTDOWN_TIMEOUT_SECONDS,
    max_queue_size: int = MAX_QUEUE_SIZE,
    resource_attributes: Mapping[str, str] | None = None,
    set_global: bool = True,
    keep_mode: str = "reconstruct",
) -> TracingSetup:
    """An SDK ``TracerProvider`` with the adaptive sampler and OTLP/HTTP export to ``endpoint``
    (``http://host:4318/v1/traces``; the ``OTEL_EXPORTER_OTLP_*`` variables apply when None), or to
    ``exporter``. With ``set_global`` it becomes the global provider, which the SDK's span uses.

    Bounds: at most ``max_queue_size`` spans wait for export (sent every ``schedule_delay`` seconds or
    when a batch is full); one export gives up after ``export_timeout`` seconds; shutdown and flush wait
    at most ``shutdown_timeout`` seconds. Spans lost to any of them are counted as dropped.

    ``keep_mode`` decides how error and slow requests beyond the budget are kept: ``reconstruct`` (the
    default: unsampled spans stay non-recording and :class:`SpanKeeper` records the span of an error or
    slow request after the fact) or ``record`` (every unsampled span is recorded and
    :class:`KeepErrorsAndSlow` exports the ones that end in error or slow: child spans and events kept
    too, at the cost of recording every request)."""
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint, timeout=export_timeout)
    record = keep_mode == "record"
    sampler = AdaptiveSampler(target_per_second, record_unsampled=record)
    resource = Resource.create({"service.name": service, **(resource_attributes or {})})
    provider = TracerProvider(sampler=sampler, resource=resource, id_generator=_KeptSpanIds())
    batch = BatchSpanProcessor(
        exporter,
        max_queue_size=max_queue_size,
        schedule_delay_millis=schedule_delay * 1000,
        max_export_batch_size=min(512, max_queue_size),
        export_timeout_millis=export_timeout * 1000,
    )
    processor = KeepErrorsAndSlow(batch, slow_seconds, shutdown_timeout)
    provider.add_span_processor(processor)
    if set_global:
        trace.set_tracer_provider(provider)
    keeper = None if record else SpanKeeper(provider.get_tracer("lookout"), slow_seconds)
    return TracingSetup(provider, sampler, processor, keeper)
