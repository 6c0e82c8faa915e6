"""Span enrichment and the error/slow keep of the adaptive set-up, through the SDK's own SERVER span."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mcp.client.client import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind, get_current_span
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest

from lookout.demo.faults import Fault, FaultInjector
from lookout.demo.server import build_server
from lookout.instrument import Tracing, instrument
from lookout.instrument.sampler import AdaptiveSampler
from lookout.instrument.spans import ERROR_TYPE_ATTRIBUTE
from lookout.instrument.tracing import KeepErrorsAndSlow, configure_tracing
from tests.instrument_support import ALWAYS_OFF, ALWAYS_ON, Otel, otel

SLOW = 0.3
"""The slow threshold of the keep tests: far above what a fast call takes on a loaded machine (a fast call
that ran past it would be kept too)."""


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


async def test_errors_and_slow_requests_are_reconstructed_beyond_the_budget(tracing: Otel) -> None:
    exporter = InMemorySpanExporter()
    setup = configure_tracing(exporter=exporter, set_global=False, target_per_second=0.001, slow_seconds=SLOW)
    tracing.reset(setup.sampler, setup.processor)  # the SDK's span goes through Lookout's sampler
    faults = FaultInjector()
    server = build_server(faults)
    handle = instrument(server, CollectorRegistry(), tracing=Tracing(setup=setup))
    faults.set("generate_report", Fault(latency_ms=SLOW * 1000 + 50))
    async with Client(server, mode="2026-07-28") as client:
        await client.call_tool("echo", {"text": "a root: the budget keeps ~0.1 %"})
        for _ in range(20):
            await client.call_tool("echo", {"text": "fast and fine: dropped, never recorded"})
        await client.call_tool("get_weather", {"city": "atlantis"})  # tool error: kept
        await client.call_tool("generate_report", {"topic": "t"})  # slow: kept
    setup.processor.force_flush()
    spans = {s.name: s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER}
    assert setup.keeper is not None and setup.keeper.kept == {"error": 1, "slow": 1}
    error = dict(spans["tools/call get_weather"].attributes or {})
    assert error["lookout.kept"] == "error" and error["error.type"] == "tool_error"
    assert error[ERROR_TYPE_ATTRIBUTE] == "tool_error"
    assert error["gen_ai.tool.name"] == "get_weather" and error["network.transport"] == "inproc"
    slow = spans["tools/call generate_report"]
    assert dict(slow.attributes or {})["lookout.kept"] == "slow"
    assert slow.end_time is not None and slow.start_time is not None
    assert slow.end_time - slow.start_time >= SLOW * 1e9
    # The exemplar of the kept request points at the kept trace.
    trace_id = format(spans["tools/call get_weather"].context.trace_id, "032x")
    assert f'trace_id="{trace_id}"' in openmetrics_latest(handle.registry).decode()
    setup.shutdown()


async def test_errors_and_slow_requests_are_kept_beyond_the_budget(tracing: Otel) -> None:
    exporter = InMemorySpanExporter()
    keep = KeepErrorsAndSlow(BatchSpanProcessor(exporter), slow_seconds=SLOW)
    # record mode: every unsampled span is recorded, the processor exports the error/slow ones
    sampler = AdaptiveSampler(0.001, rng=lambda: 0.999999, record_unsampled=True)
    tracing.reset(sampler, keep)
    faults = FaultInjector()
    server = build_server(faults)
    instrument(server, CollectorRegistry())
    faults.set("generate_report", Fault(latency_ms=SLOW * 1000 + 50))
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


def test_the_fast_current_span_reads_what_the_opentelemetry_api_reads() -> None:
    """`current_span` reads OpenTelemetry's private context variable and span key: if an OpenTelemetry release
    moves them, it falls back to the API, and this test says which (it would fail on a reader that lost the
    span)."""
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    from lookout.instrument.current_span import INVALID_SPAN, current_span

    assert current_span is not trace.get_current_span, "OpenTelemetry's context internals moved: fast path lost"
    assert current_span() is INVALID_SPAN is trace.get_current_span()
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("outer") as outer:
        assert current_span() is outer is trace.get_current_span()
        with tracer.start_as_current_span("inner") as inner:
            assert current_span() is inner
        assert current_span() is outer
    detached = trace.NonRecordingSpan(outer.get_span_context())
    token = otel_context.attach(trace.set_span_in_context(detached))
    try:
        assert current_span() is detached
    finally:
        otel_context.detach(token)
    assert current_span() is INVALID_SPAN


def _in_a_fresh_interpreter(script: str, *args: str, timeout: float = 120) -> str:
    """``script``'s standard output, run by a new Python process (its own global tracer provider and modules)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


_LOADS = """
import sys
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
import lookout.instrument as instrumentation

instrumentation.instrument(MCPServer("x"), service="x")
print(sorted(m for m in sys.modules if m.startswith("opentelemetry.sdk")))
from lookout.instrument import TracingSetup, configure_tracing
from lookout.instrument import tracing
assert configure_tracing is tracing.configure_tracing and TracingSetup is tracing.TracingSetup
print("opentelemetry.sdk.trace" in sys.modules)
"""


def test_instrumenting_without_tracing_does_not_load_the_opentelemetry_sdk() -> None:
    """Metrics (and spans through a provider the application installed) need only the OpenTelemetry API; the
    SDK (thousands of objects every full garbage collection walks) loads when tracing is set up or asked for."""
    out = _in_a_fresh_interpreter(_LOADS, timeout=60)
    assert out.split("\n")[:2] == ["[]", "True"], out


_DECIDES = """
import asyncio, json, sys
from mcp.client.client import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.server._otel import OpenTelemetryMiddleware
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry
from lookout.instrument import Tracing, instrument
from lookout.instrument.tracing import configure_tracing

through_sdk = []  # the requests the SDK's own span middleware handled
sdk_call = OpenTelemetryMiddleware.__call__

async def counted(self, ctx, call_next):
    through_sdk.append(ctx.method)
    return await sdk_call(self, ctx, call_next)

OpenTelemetryMiddleware.__call__ = counted
exporter = InMemorySpanExporter()
setup = configure_tracing(exporter=exporter, target_per_second=float(sys.argv[1]))
setup.sampler.min_ratio = 0.0  # a budget of 1e-9/s then samples nothing, by any draw
server = MCPServer("t")
seen = []

@server.tool()
async def whoami() -> str:
    context = trace.get_current_span().get_span_context()
    seen.append([context.is_valid, context.trace_flags.sampled, format(context.trace_id, "032x")])
    return "x"

handle = instrument(server, CollectorRegistry(), tracing=Tracing(setup=setup))
def names(chain):
    return [type(m).__name__ for m in chain]

chain = names(server._lowlevel_server.middleware)
caller = trace.SpanContext(0x1234, 0x99, is_remote=True, trace_flags=trace.TraceFlags(1))

async def main():
    async with Client(server, mode=sys.argv[2]) as client:
        for _ in range(20):
            await client.call_tool("whoami", {})
        meta = {"traceparent": f"00-{caller.trace_id:032x}-{caller.span_id:016x}-01"}
        await client.call_tool("whoami", {}, meta=meta)

asyncio.run(main())
setup.processor.force_flush()
spans = [s for s in exporter.get_finished_spans() if s.name == "tools/call whoami"]
handle.uninstrument()
print(json.dumps({
    "chain": chain,
    "after": names(server._lowlevel_server.middleware),
    "seen": seen,
    "roots_counted": setup.sampler._total,
    "through_sdk": through_sdk,
    "exported": [[format(s.context.trace_id, "032x"), dict(s.attributes or {})] for s in spans],
}))
"""


@pytest.mark.parametrize("budget", [1e-9, 1000.0], ids=["drops-every-root", "samples-every-root"])
def test_lookouts_sampler_decides_a_new_trace_before_the_sdk_span(budget: float) -> None:
    """With Lookout's tracing as the global provider, a request that starts a trace is decided before the SDK's
    span: a dropped one still runs inside a valid, unsampled span with its own trace id (what the SDK would have
    made) without passing through the SDK's span middleware, a sampled one gets the SDK's span with Lookout's
    attributes, each root is counted once in the budget, and a request carrying a sampled caller's context
    continues that trace. The 2026-07-28 client sends ``_meta`` (without trace context) on every request; the
    in-process client of the older revision opens a span of its own around each request, which the server
    continues (through the SDK's middleware, as it should; the decision table below covers a request without
    ``_meta``). In a fresh interpreter: the global tracer provider can be set once per process."""
    import json

    result = json.loads(_in_a_fresh_interpreter(_DECIDES, str(budget), "2026-07-28").splitlines()[-1])
    # In the place of the SDK's span middleware (which it runs), and the SDK's back after uninstrumenting.
    assert result["chain"][0] == "LookoutMiddleware" and "OpenTelemetryMiddleware" not in result["chain"]
    assert result["after"] == ["OpenTelemetryMiddleware", *result["chain"][1:]]
    *roots_seen, continued = result["seen"]
    assert all(valid for valid, _, _ in roots_seen) and len({trace_id for *_, trace_id in roots_seen}) == 20
    assert continued == [True, True, f"{0x1234:032x}"]  # the caller's sampled trace, whatever the budget
    # Every root counted once (a sampled root not twice): the 20 calls and the client's discovery request.
    roots = result["roots_counted"]
    assert roots == 21
    exported = {trace_id: attributes for trace_id, attributes in result["exported"]}
    assert f"{0x1234:032x}" in exported
    sampled = [trace_id for _, is_sampled, trace_id in roots_seen if is_sampled]
    if budget < 1:
        assert sampled == [] and len(exported) == 1  # only the caller's trace
        assert result["through_sdk"] == ["tools/call"]  # the continued trace; no dropped root went through it
    else:
        assert len(result["through_sdk"]) == roots + 1  # every root (sampled) and the continued trace
        assert len(sampled) == 20 and set(sampled) < set(exported)
        attributes = exported[sampled[0]]
        assert attributes["gen_ai.tool.name"] == "whoami" and attributes["network.transport"] == "inproc"


@pytest.mark.parametrize("provider", [False, True], ids=["no-provider", "provider"])
async def test_which_requests_lookout_decides_and_which_go_through_the_sdk_span(
    provider: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision table of the middleware in the SDK's span slot. With Lookout's sampler: no ``_meta`` or
    ``_meta`` without trace context, outside any span, is decided here (a drop never reaches the SDK's span
    middleware and runs in a fresh unsampled span); trace context in ``_meta``, or a current span: the SDK's
    middleware, whatever the sampler would say; a sampled root: the SDK's middleware with the decision handed
    over. Without it: the SDK's middleware only for a caller's trace context or a current span, unless a tracer
    provider is installed (then for every request)."""
    from dataclasses import dataclass
    from typing import Any

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    from lookout.instrument import sdk
    from lookout.instrument.current_span import current_span
    from lookout.instrument.recorder import RequestRecorder
    from lookout.instrument.spans import ROOT_SAMPLED

    @dataclass
    class Ctx:  # a notification's context: the middleware counts it and calls on
        meta: dict[str, Any] | None = None
        method: str = "notifications/progress"
        request_id: None = None
        request: None = None
        session: None = None

    through_sdk: list[tuple[Any, bool]] = []
    inside: list[trace.SpanContext] = []

    async def sdk_middleware(ctx: Any, call_next: Any) -> Any:
        through_sdk.append((ctx.meta, bool(ROOT_SAMPLED.get())))
        return await call_next(ctx)

    async def call_next(ctx: Any) -> dict[str, Any]:
        inside.append(current_span().get_span_context())
        return {"content": []}

    def middleware(roots: sdk.RootSpans | None) -> sdk.LookoutMiddleware:
        made = sdk.LookoutMiddleware(RequestRecorder(CollectorRegistry()), roots=roots)
        made.span_middleware = sdk_middleware
        return made

    monkeypatch.setattr(sdk, "sdk_spans_are_noop", lambda: not provider)
    revision_meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}
    traced = {"traceparent": f"00-{0x1234:032x}-{0x99:016x}-01", **revision_meta}

    # Without Lookout's sampler deciding roots.
    plain = middleware(None)
    assert await plain(Ctx(), call_next) == {"content": []}  # type: ignore[arg-type]
    await plain(Ctx(meta=revision_meta), call_next)  # type: ignore[arg-type]
    assert through_sdk == ([(None, False), (revision_meta, False)] if provider else [])
    assert all(c == trace.INVALID_SPAN_CONTEXT for c in inside)
    through_sdk.clear()
    await plain(Ctx(meta=traced), call_next)  # type: ignore[arg-type]
    with TracerProvider().get_tracer("t").start_as_current_span("ambient"):
        await plain(Ctx(), call_next)  # type: ignore[arg-type]
    assert through_sdk == [(traced, False), (None, False)]
    through_sdk.clear()
    inside.clear()

    # With it: the sampler's decisions, whether or not a provider is installed.
    decisions = iter([False, False, True])
    adaptive = middleware(sdk.RootSpans(lambda: next(decisions), RandomIdGenerator()))
    assert await adaptive(Ctx(), call_next) == {"content": []}  # type: ignore[arg-type]
    assert await adaptive(Ctx(meta=revision_meta), call_next) == {"content": []}  # type: ignore[arg-type]
    assert through_sdk == [] and len(inside) == 2
    assert all(c.is_valid and not c.trace_flags.sampled and not c.is_remote for c in inside)
    assert inside[0].trace_id != inside[1].trace_id
    assert current_span() is trace.INVALID_SPAN  # detached again

    await adaptive(Ctx(meta=traced), call_next)  # type: ignore[arg-type]
    with TracerProvider().get_tracer("t").start_as_current_span("ambient"):
        await adaptive(Ctx(), call_next)  # type: ignore[arg-type]
    assert through_sdk == [(traced, False), (None, False)]  # no decision taken for either
    await adaptive(Ctx(), call_next)  # type: ignore[arg-type]
    assert through_sdk[-1] == (None, True)
    assert ROOT_SAMPLED.get() is None


_WITHOUT_PROVIDER = """
import asyncio, json
from mcp.client.client import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.server._otel import OpenTelemetryMiddleware
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry
from lookout.instrument import instrument
from lookout.instrument.sdk import sdk_spans_are_noop

through_sdk = []
sdk_call = OpenTelemetryMiddleware.__call__

async def counted(self, ctx, call_next):
    through_sdk.append(ctx.method)
    return await sdk_call(self, ctx, call_next)

OpenTelemetryMiddleware.__call__ = counted
seen = []

def build(instrumented):
    server = MCPServer("t")

    @server.tool()
    async def whoami() -> str:
        span = trace.get_current_span()
        context = span.get_span_context()
        seen.append([context.is_valid, format(context.trace_id, "032x"), span.is_recording()])
        return "x"

    if instrumented:
        instrument(server, CollectorRegistry())
    return server

caller = f"00-{0x1234:032x}-{0x99:016x}-01"
result = {}

async def calls(label):
    for instrumented in (False, True):
        through_sdk.clear()
        seen.clear()
        async with Client(build(instrumented), mode="2026-07-28") as client:
            await client.call_tool("whoami", {})
            await client.call_tool("whoami", {}, meta={"traceparent": caller})
        result[f"{label} {'lookout' if instrumented else 'bare'}"] = {
            "through_sdk": [m for m in through_sdk if m == "tools/call"], "seen": list(seen),
        }

asyncio.run(calls("no provider"))
result["noop before"] = sdk_spans_are_noop()
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
result["noop after"] = sdk_spans_are_noop()
asyncio.run(calls("provider"))
spans = [s for s in exporter.get_finished_spans() if s.name == "tools/call whoami"]
result["enriched"] = sum(1 for s in spans if (s.attributes or {}).get("network.transport") == "inproc")
print(json.dumps(result))
"""


def test_without_a_tracer_provider_the_sdk_span_runs_only_for_a_callers_trace() -> None:
    """With no tracer provider the SDK's span middleware changes nothing for a request without trace context (the
    no-op tracer), so Lookout, in its place, leaves it out; a tool still sees what it sees on the bare server: no
    span, or the caller's trace for a request with ``traceparent`` in ``_meta`` (that one goes through the SDK's
    middleware). Once a provider is installed, every request gets the SDK's span again, enriched by Lookout. In a
    fresh interpreter: the global tracer provider can be set once per process."""
    import json

    result = json.loads(_in_a_fresh_interpreter(_WITHOUT_PROVIDER).splitlines()[-1])
    caller = f"{0x1234:032x}"
    no_span, callers = [False, "0" * 32, False], [True, caller, False]
    assert result["no provider bare"] == {"through_sdk": ["tools/call", "tools/call"], "seen": [no_span, callers]}
    assert result["no provider lookout"] == {"through_sdk": ["tools/call"], "seen": [no_span, callers]}
    assert result["noop before"] is True and result["noop after"] is False
    for label in ("provider bare", "provider lookout"):
        assert result[label]["through_sdk"] == ["tools/call", "tools/call"]
        (own_valid, own_trace, own_recording), (_, continued, continued_recording) = result[label]["seen"]
        assert own_valid and own_recording and own_trace != caller
        assert continued == caller and continued_recording
    assert result["enriched"] == 2  # the instrumented server's two spans, not the bare one's


def test_the_sdk_keeps_its_tracer_where_lookout_looks() -> None:
    """``sdk_spans_are_noop`` reads the SDK's module tracer (private in mcp 2.3): if it moves, Lookout would run the
    SDK's span middleware on every request (correct, but the saving is lost), and this test says so."""
    from mcp.shared import _otel
    from opentelemetry.trace import NoOpTracer, ProxyTracer, Tracer

    assert isinstance(_otel._tracer, ProxyTracer | NoOpTracer | Tracer)


async def test_a_sampled_span_carries_lookouts_error_type_beside_the_sdks(tracing: Otel) -> None:
    """The SDK's ``error.type`` is ``tool_error`` for any ``isError`` result; ``lookout.error_type`` says what
    the metrics and exemplars say (a crash's class), on sampled and kept spans alike."""
    server = MCPServer("crashing")

    @server.tool()
    def divide(a: int, b: int) -> float:
        return a / b

    instrument(server, CollectorRegistry())
    async with Client(server, mode="2026-07-28") as client:
        assert (await client.call_tool("divide", {"a": 1, "b": 0})).is_error
        assert not (await client.call_tool("divide", {"a": 1, "b": 1})).is_error
    spans = [s for s in tracing.exporter.get_finished_spans() if s.name == "tools/call divide"]
    assert [
        (dict(s.attributes or {}).get("error.type"), dict(s.attributes or {}).get(ERROR_TYPE_ATTRIBUTE)) for s in spans
    ] == [
        ("tool_error", "ZeroDivisionError"),
        (None, None),
    ]
    assert ERROR_TYPE_ATTRIBUTE == "lookout.error_type"


async def test_a_kept_root_span_has_the_ids_the_requests_log_lines_carry(tracing: Otel) -> None:
    exporter = InMemorySpanExporter()
    setup = configure_tracing(exporter=exporter, set_global=False, target_per_second=0.001, slow_seconds=SLOW)
    tracing.reset(setup.sampler, setup.processor)
    seen: list[SpanContext] = []  # what a log line written inside the tool carries
    server = MCPServer("ids")

    @server.tool()
    def crash() -> str:
        seen.append(get_current_span().get_span_context())
        raise RuntimeError("boom")

    instrument(server, CollectorRegistry(), tracing=Tracing(setup=setup))
    async with Client(server, mode="2026-07-28") as client:
        await client.call_tool("crash", {})  # the budget is spent on initialize: this root is dropped, then kept
    setup.processor.force_flush()
    kept = next(s for s in exporter.get_finished_spans() if s.name == "tools/call crash")
    assert dict(kept.attributes or {})["lookout.kept"] == "error"
    assert kept.parent is None  # the trace's root, not the child of a span no trace store receives
    assert (kept.context.trace_id, kept.context.span_id) == (seen[0].trace_id, seen[0].span_id)
    setup.shutdown()


async def test_a_span_names_an_unknown_tool_or_prompt_other_not_the_clients_text(tracing: Otel) -> None:
    server = build_server()
    instrument(server, CollectorRegistry())
    pasted = "sk-live-0123456789abcdef"  # a client's text in the place of a name
    async with Client(server, mode="legacy") as client:
        await client.call_tool(pasted, {})
        with pytest.raises(MCPError):  # an unknown prompt is an error answer
            await client.get_prompt(pasted, {})
    spans = [s for s in tracing.exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert {s.name for s in spans} >= {"tools/call _OTHER", "prompts/get _OTHER"}
    assert all(pasted not in s.name and pasted not in str(dict(s.attributes or {})) for s in spans)


async def test_a_kept_crash_has_the_error_type_the_sdks_span_gives_it(tracing: Otel) -> None:
    exporter = InMemorySpanExporter()
    setup = configure_tracing(exporter=exporter, set_global=False, target_per_second=0.001, slow_seconds=SLOW)
    tracing.reset(setup.sampler, setup.processor)
    server = MCPServer("crash")

    @server.tool()
    def crash() -> str:
        raise ZeroDivisionError  # answered with an isError result

    instrument(server, CollectorRegistry(), tracing=Tracing(setup=setup))
    async with Client(server, mode="2026-07-28") as client:
        await client.call_tool("crash", {})  # the budget is spent on initialize: this root is dropped, then kept
    setup.processor.force_flush()
    kept = dict(next(s for s in exporter.get_finished_spans() if s.name == "tools/call crash").attributes or {})
    # As on a sampled span: error.type says tool_error for an isError result, Lookout's attribute the crash.
    assert (kept["lookout.kept"], kept["error.type"], kept[ERROR_TYPE_ATTRIBUTE]) == (
        "error",
        "tool_error",
        "ZeroDivisionError",
    )
    setup.shutdown()
