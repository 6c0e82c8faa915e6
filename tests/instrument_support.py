"""Helpers for the instrumentation tests: reading series out of a registry, serving an ASGI app with
uvicorn inside the test's event loop, and one process-wide OpenTelemetry provider whose sampler and
exporter the tests can switch (the SDK's tracer is a proxy that binds to the first global provider)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import anyio
import pytest
import uvicorn
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp

from lookout import metrics as m
from tests.support import LOOPBACK, free_port

OpKey = tuple[str, str, str, str, str, str]


def samples(registry: CollectorRegistry, series: str) -> dict[frozenset[tuple[str, str]], float]:
    """``{labelset: value}`` of every sample named ``series`` (e.g. ``..._count``)."""
    out: dict[frozenset[tuple[str, str]], float] = {}
    for family in registry.collect():
        for s in family.samples:
            if s.name == series:
                out[frozenset(s.labels.items())] = s.value
    return out


def value(registry: CollectorRegistry, series: str, **labels: str) -> float | None:
    return registry.get_sample_value(series, labels)


def operation_counts(registry: CollectorRegistry, zeros: bool = False) -> dict[OpKey, float]:
    """``{(method, tool, prompt, error_type, protocol_version, network_transport): count}`` of the series
    that observed something (``zeros``: also the series Lookout created at zero for registered names)."""
    out: dict[OpKey, float] = {}
    for labels, v in samples(registry, f"{m.OPERATION_DURATION.name}_count").items():
        if not v and not zeros:
            continue
        d = dict(labels)
        key = tuple(d[label] for label in m.OPERATION_DURATION.labels)
        out[key] = v  # type: ignore[index]
    return out


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the test runner owns the signals
        yield


async def eventually(predicate: Callable[[], object], within: float = 10.0, what: str = "") -> None:
    """Poll ``predicate`` in the event loop until it is truthy; fail at the deadline."""
    with anyio.move_on_after(within):
        while True:
            if predicate():
                return
            await anyio.sleep(0.01)
    pytest.fail(f"timed out after {within}s waiting for {what or predicate}")


@contextlib.asynccontextmanager
async def serve_http(app: ASGIApp, port: int | None = None) -> AsyncIterator[str]:
    """Serve ``app`` (lifespan on) on a loopback port inside this event loop; yields the base URL."""
    port = port or free_port()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    server = _QuietServer(uvicorn.Config(app, log_level="warning", lifespan="on"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: server.serve(sockets=[sock]))
        await eventually(lambda: server.started, 10, "uvicorn started")
        try:
            yield f"http://{LOOPBACK}:{port}"
        finally:
            server.should_exit = True
    sock.close()


class SwitchableSampler(Sampler):
    def __init__(self) -> None:
        self.inner: Sampler = ALWAYS_ON

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        return self.inner.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return "switchable"


class SwitchableProcessor(SpanProcessor):
    def __init__(self) -> None:
        self.inner: SpanProcessor | None = None

    def on_start(self, span: Any, parent_context: Context | None = None) -> None:
        if self.inner is not None:
            self.inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        if self.inner is not None:
            self.inner.on_end(span)


class Otel:
    """The one global provider of the test process."""

    def __init__(self) -> None:
        self.sampler = SwitchableSampler()
        self.exporter = InMemorySpanExporter()
        self.processor = SwitchableProcessor()
        self.provider = TracerProvider(sampler=self.sampler)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.provider.add_span_processor(self.processor)

    def reset(self, sampler: Sampler = ALWAYS_ON, processor: SpanProcessor | None = None) -> None:
        self.sampler.inner = sampler
        self.processor.inner = processor
        self.exporter.clear()


_OTEL: Otel | None = None


def otel() -> Otel:
    """Install (once) and return the process-wide test provider."""
    global _OTEL
    if _OTEL is None:
        _OTEL = Otel()
        trace.set_tracer_provider(_OTEL.provider)
    return _OTEL


__all__ = [
    "ALWAYS_OFF",
    "ALWAYS_ON",
    "Otel",
    "eventually",
    "operation_counts",
    "otel",
    "samples",
    "serve_http",
    "value",
]
