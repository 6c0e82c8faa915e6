"""Span enrichment and the error/slow keep of the adaptive set-up, through the SDK's own SERVER span."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mcp.client.client import Client
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

from lookout.demo.faults import Fault, FaultInjector
from lookout.demo.server import build_server
from lookout.instrument import instrument
from lookout.instrument.sampler import AdaptiveSampler
from lookout.instrument.tracing import KeepErrorsAndSlow
from tests.instrument_support import ALWAYS_OFF, ALWAYS_ON, Otel, otel


@pytest.fixture
def tracing() -> Iterator[Otel]:
    o = otel()
    o.reset(ALWAYS_ON)
    yield o
    o.reset(ALWAYS_OFF)


async def test_one_server_span_per_request_enriched_with_the_transport(tracing: Otel) -> None:
    server = build_server()
    instrument(server, CollectorRegistry())
    async with Client(server, mode="legacy") as client:
        await client.call_tool("echo", {"text": "x"})
    spans = [s for s in tracing.exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    names = [s.name for s in spans]
    assert names.count("tools/call echo") == 1  # enriched, not duplicated
    span = next(s for s in spans if s.name == "tools/call echo")
    attrs = dict(span.attributes or {})
    assert attrs["network.transport"] == "pipe"
    assert attrs["mcp.method.name"] == "tools/call" and attrs["gen_ai.tool.name"] == "echo"
    assert "mcp.session.id" not in attrs  # stdio-like streams have no session id


async def test_without_a_provider_enrichment_is_a_no_op() -> None:
    otel().reset(ALWAYS_OFF)
    server = build_server()
    handle = instrument(server, CollectorRegistry())
    async with Client(server, mode="2026-07-28") as client:
        assert not (await client.call_tool("echo", {"text": "x"})).is_error
    assert otel().exporter.get_finished_spans() == ()
    assert handle.recorder.in_flight_total == 0


async def test_errors_and_slow_requests_are_kept_beyond_the_budget(tracing: Otel) -> None:
    exporter = InMemorySpanExporter()
    keep = KeepErrorsAndSlow(BatchSpanProcessor(exporter), slow_seconds=0.05)
    sampler = AdaptiveSampler(0.001, rng=lambda: 0.999999)  # a budget that keeps no ordinary request
    tracing.reset(sampler, keep)
    faults = FaultInjector()
    server = build_server(faults)
    instrument(server, CollectorRegistry())
    faults.set("generate_report", Fault(latency_ms=80))
    async with Client(server, mode="2026-07-28") as client:
        for _ in range(20):
            await client.call_tool("echo", {"text": "fast and fine: dropped"})
        await client.call_tool("get_weather", {"city": "atlantis"})  # tool error: kept
        await client.call_tool("generate_report", {"topic": "t"})  # slow: kept
    keep.force_flush()
    names = [s.name for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert names.count("tools/call echo") == 0
    assert "tools/call get_weather" in names and "tools/call generate_report" in names
    assert keep.kept_errors >= 1 and keep.kept_slow >= 1
