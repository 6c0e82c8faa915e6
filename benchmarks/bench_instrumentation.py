"""Throughput of a no-op tool over the SDK's in-memory transport, several set-ups side by side in one run:

- ``bare``: the SDK alone (its OpenTelemetry middleware is there, with no tracer provider);
- ``bare-control``: a second, identical bare server: its ratio to ``bare`` is the noise floor of the run;
- ``metrics``: ``lookout.instrument`` with metrics only (no provider, no logs);
- ``metrics+traces`` and ``metrics+logs``: the two halves of ``full``, to see what each costs;
- ``full``: metrics + JSON logs with the access log + traces at the default adaptive rate (10/s), spans
  exported by a batch processor to an exporter that discards them (the network is not what is measured);
- ``sdk-always-on``: no Lookout, the SDK's own span with an always-on sampler and the same exporter.

All of them run in one process, each with its own server and in-memory client, in short alternating slices
(so that load from anything else on the machine hits every set-up alike). The client shares the
process, so its dispatcher's CLIENT spans are switched off in every set-up. The SDK creates its spans
through one module-level tracer; before each slice the harness points it at that set-up's tracer (a
no-op tracer for ``bare`` and ``metrics``, which is what the SDK has without a provider). The report
gives the median per-slice throughput and the median of the per-round ratios to ``bare``.
Targets: metrics-only >= 0.98x, full >= 0.95x.

    python -m benchmarks.bench_instrumentation [--rounds 20] [--slice 0.5] [--write docs/performance.md]
    python -m benchmarks.bench_instrumentation --profile full   # where the time goes
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

VARIANTS = ("bare", "bare-control", "metrics", "metrics+traces", "metrics+logs", "full", "sdk-always-on")
TARGETS = {"metrics": 0.98, "full": 0.95}
CONCURRENCY = 4


class _DiscardExporter:
    """A span exporter that drops everything (what a fast collector costs the process, minus the wire)."""

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@dataclass
class SetUp:
    name: str
    server: Any
    tracer: Any
    flush: Any = None
    rps: list[float] = field(default_factory=list)


_LOGGING: list[Any] = []


def _json_logging() -> None:
    """One JSON log pipeline for the process (the root logger's only handler), as an application has."""
    if not _LOGGING:
        from lookout.instrument.json_logs import configure_json_logging

        _LOGGING.append(configure_json_logging(service="bench", tenant="t", stream=open(os.devnull, "w")))  # noqa: SIM115


def build(variant: str) -> SetUp:
    from mcp.server.mcpserver import MCPServer
    from opentelemetry import trace
    from prometheus_client import CollectorRegistry

    server = MCPServer("bench", version="1")

    @server.tool()
    async def noop(text: str) -> str:
        return text

    tracer: Any = trace.NoOpTracer()
    flush: Any = None
    if variant == "metrics":
        from lookout.instrument import instrument

        instrument(server, CollectorRegistry())
    elif variant in ("full", "metrics+traces", "metrics+logs"):
        from lookout.instrument import Logs, Tracing, instrument
        from lookout.instrument.tracing import configure_tracing

        setup = None
        if variant != "metrics+logs":
            setup = configure_tracing(service="bench", exporter=_DiscardExporter(), set_global=False)  # type: ignore[arg-type]
            tracer = setup.provider.get_tracer("mcp-python-sdk")
            flush = setup.processor.force_flush
        logs = variant != "metrics+traces"
        if logs:
            _json_logging()
        instrument(server, CollectorRegistry(), logs=Logs(access_log=logs), tracing=Tracing(setup=setup))
    elif variant == "sdk-always-on":
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ALWAYS_ON

        provider = TracerProvider(sampler=ALWAYS_ON)
        provider.add_span_processor(BatchSpanProcessor(_DiscardExporter()))  # type: ignore[arg-type]
        tracer = provider.get_tracer("mcp-python-sdk")
        flush = provider.force_flush
    return SetUp(variant, server, tracer, flush)


async def run_slice(setup: SetUp, seconds: float) -> float:
    """Completed calls per CPU second of this process (all its threads: the log writer and the span
    exporter count) with ``CONCURRENCY`` callers on a fresh in-memory client (a fresh connection per
    slice, so no set-up carries idle connections into another's slice). CPU time rather than wall time:
    the machine may be shared, and other processes' load shows in wall time far more than in CPU time."""
    import mcp.shared._otel as sdk_otel
    from mcp.client.client import Client

    sdk_otel._tracer = setup.tracer  # the SDK's spans come from this set-up's tracer
    done = 0
    async with Client(setup.server, mode="legacy") as client:
        for _ in range(20):  # warm the connection (the client lists tools once, caches schemas)
            await client.call_tool("noop", {"text": "x"})

        async def caller(until: float) -> None:
            nonlocal done
            while time.perf_counter() < until:
                await client.call_tool("noop", {"text": "x"})
                done += 1

        gc.collect()  # no set-up pays for another's garbage
        start = time.perf_counter()
        cpu_start = time.process_time()
        async with anyio.create_task_group() as tg:
            for _ in range(CONCURRENCY):
                tg.start_soon(caller, start + seconds)
        # Background work this slice caused (JSON lines to format, spans to export) is this slice's cost.
        for logging_handle in _LOGGING:
            logging_handle.flush()
        if setup.flush is not None:
            setup.flush()
        cpu = time.process_time() - cpu_start
    return done / cpu


@contextmanager
def _no_span(*args: Any, **kwargs: Any) -> Iterator[Any]:
    from opentelemetry.trace import INVALID_SPAN

    yield INVALID_SPAN


async def measure(rounds: int, slice_seconds: float, variants: Sequence[str] = VARIANTS) -> dict[str, SetUp]:
    import mcp.shared.jsonrpc_dispatcher as dispatcher

    # The client runs in this process too: its CLIENT spans are not the server's cost, so the client's
    # dispatcher gets a no-op span in every set-up.
    dispatcher.otel_span = _no_span  # type: ignore[attr-defined]

    setups = {v: build(v) for v in variants}
    for s in setups.values():  # warm-up
        await run_slice(s, 0.3)
    for r in range(rounds):
        order = list(setups.values()) if r % 2 == 0 else list(reversed(setups.values()))
        for s in order:
            s.rps.append(await run_slice(s, slice_seconds))
    return setups


def profile(variant: str, seconds: float) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    anyio.run(measure, max(1, int(seconds / 0.5)), 0.5, (variant,))
    profiler.disable()
    buf = io.StringIO()
    pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(30)
    return buf.getvalue()


def _best(fn: Any, n: int = 20_000, reps: int = 7) -> float:
    """Microseconds per call of ``fn``: the best of ``reps`` timed loops (least disturbed by others)."""
    results = []
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        results.append((time.perf_counter() - start) / n * 1e6)
    return min(results)


def components() -> list[tuple[str, float]]:
    """Per-request cost of each piece of Lookout, measured on its own (where the time goes)."""
    from mcp.server.context import ServerRequestContext
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind
    from prometheus_client import CollectorRegistry

    from lookout.instrument.json_logs import AccessLog, configure_json_logging
    from lookout.instrument.recorder import RequestRecorder
    from lookout.instrument.registry import StaticRegistry
    from lookout.instrument.sdk import LookoutMiddleware
    from lookout.instrument.tracing import configure_tracing

    recorder = RequestRecorder(CollectorRegistry())
    recorder.attach_registry(StaticRegistry({"tools": ["noop"]}))
    middleware = LookoutMiddleware(recorder)
    ctx: Any = ServerRequestContext(
        session=object(),  # type: ignore[arg-type]
        lifespan_context={},
        protocol_version="2025-11-25",
        method="tools/call",
        params={"name": "noop", "arguments": {"text": "x"}},
        request_id=1,
    )

    async def handler(_ctx: Any) -> dict[str, Any]:
        return {"content": []}

    def drive(mw: Any) -> float:
        async def loop(n: int) -> None:
            for _ in range(n):
                await mw(ctx, handler)

        async def bare(n: int) -> None:
            for _ in range(n):
                await handler(ctx)

        def timed(fn: Any) -> float:
            results = []
            for _ in range(7):
                start = time.perf_counter()
                anyio.run(fn, 20_000)
                results.append((time.perf_counter() - start) / 20_000 * 1e6)
            return min(results)

        return timed(loop) - timed(bare)

    setup = configure_tracing(exporter=_DiscardExporter(), set_global=False)  # type: ignore[arg-type]
    attributes = {"mcp.method.name": "tools/call", "gen_ai.tool.name": "noop", "jsonrpc.request.id": "1"}

    def span_cost(tracer: Any) -> float:
        def once() -> None:
            with tracer.start_as_current_span("tools/call noop", kind=SpanKind.SERVER, attributes=attributes):
                pass

        return _best(once)

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    always = TracerProvider(sampler=ALWAYS_ON)
    always.add_span_processor(BatchSpanProcessor(_DiscardExporter()))  # type: ignore[arg-type]
    no_span = span_cost(trace.NoOpTracer())
    while _LOGGING:
        _LOGGING.pop().stop()
    logs = configure_json_logging(stream=open(os.devnull, "w"), service="bench", tenant="t")  # noqa: SIM115
    access = AccessLog()
    emit = _best(lambda: access.emit("tools/call", "noop", 0.001, ""))
    logs.flush()
    cpu = time.process_time()
    for _ in range(20_000):
        access.emit("tools/call", "noop", 0.001, "")
    logs.flush()
    with_writer = (time.process_time() - cpu) / 20_000 * 1e6
    logs.stop()
    return [
        ("metrics middleware (guard, in-flight, histogram, messages)", drive(middleware)),
        (
            "SDK span, Lookout's adaptive sampler, request not sampled (vs. no provider)",
            span_cost(setup.provider.get_tracer("b")) - no_span,
        ),
        (
            "SDK span, always-on sampler, recorded and batched (vs. no provider)",
            span_cost(always.get_tracer("b")) - no_span,
        ),
        ("access line: emitting in the event loop", emit),
        ("access line: emitting + JSON formatting and writing (writer thread, CPU)", with_writer),
    ]


def report(setups: dict[str, SetUp], rounds: int, slice_seconds: float, parts: list[tuple[str, float]]) -> str:
    from benchmarks.support import machine

    bare = [(a + b) / 2 for a, b in zip(setups["bare"].rps, setups["bare-control"].rps, strict=True)]
    lines = [
        "## In-process instrumentation overhead",
        "",
        f"Measured by `benchmarks/bench_instrumentation.py` on {machine()}: a no-op tool called by {CONCURRENCY} "
        "concurrent callers over the SDK's in-memory transport (handshake revision), the set-ups in one "
        f"process in alternating {slice_seconds:g} s slices, {rounds} rounds; throughput is calls per CPU-second "
        "of the process (client and server share it, so the absolute numbers include the client), including the "
        "log writer's and span exporter's work for that slice (flushed before the clock stops). Ratio: "
        "median over rounds of (set-up / bare) in the same round, where bare is the mean of the two identical "
        "bare servers; the A/A row compares those two with each other and shows how much the run can be trusted.",
        "",
        "| set-up | median calls per CPU-second | ratio to bare | target | met |",
        "|---|---:|---:|---:|:--:|",
    ]
    names = {
        "bare": "bare SDK",
        "bare-control": "bare SDK again (A/A control: the noise floor)",
        "metrics": "Lookout metrics only",
        "metrics+traces": "Lookout metrics + traces (adaptive, 10/s)",
        "metrics+logs": "Lookout metrics + JSON logs with access lines",
        "full": "Lookout metrics + logs + traces (adaptive, 10/s)",
        "sdk-always-on": "SDK tracing, always-on sampler (no Lookout)",
    }
    for variant in VARIANTS:
        if variant not in setups:
            continue
        rps = setups[variant].rps
        base = setups["bare"].rps if variant == "bare-control" else bare
        ratio = statistics.median(x / b for x, b in zip(rps, base, strict=True))
        target = TARGETS.get(variant)
        met = "" if target is None else ("yes" if ratio >= target else "**no**")
        target_text = f">= {target:.2f}x" if target else ""
        lines.append(f"| {names[variant]} | {statistics.median(rps):,.0f} | {ratio:.3f}x | {target_text} | {met} |")
    per_call = 1e6 / statistics.median(bare)
    lines += [
        "",
        f"Where the time goes: one bare call costs about {per_call:,.0f} µs of CPU here (client and server). "
        "Each piece of Lookout measured on its own (best of 7 loops of 20,000):",
        "",
        "| piece | µs per request | share of a bare call |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {cost:.1f} | {cost / per_call:.1%} |" for name, cost in parts]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_instrumentation")
    parser.add_argument("--profile", choices=VARIANTS, help="cProfile one set-up and print the top functions")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--slice", type=float, default=0.5, help="seconds per measurement slice")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--write", type=Path, help="replace this benchmark's section of docs/performance.md")
    args = parser.parse_args(argv)
    if args.profile:
        print(profile(args.profile, 5.0))
        return 0
    setups = anyio.run(measure, args.rounds, args.slice, tuple(dict.fromkeys(["bare", "bare-control", *args.variants])))
    text = report(setups, args.rounds, args.slice, components())
    print(text)
    if args.write:
        from benchmarks.support import write_section

        write_section("instrumentation", text, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
