"""Server cost per request of a no-op tool over streamable HTTP, bare and instrumented, side by side in one run.

Every set-up is an ``MCPServer`` with one no-op tool, served by uvicorn in a process of its own (the app the SDK
builds with its defaults: sessions, SSE answers):

- ``bare``: the SDK alone; ``bare-control``: a second identical one, whose ratio to ``bare`` is the run's
  noise floor (A/A control);
- ``metrics``: ``lookout.instrument`` with metrics only, and ``handle.wrap_asgi`` around the app (HTTP status
  and byte counts), as the README shows;
- ``full``: metrics + JSON logs with one access line per request (stderr, here /dev/null) + traces with the
  adaptive sampler (10/s) exported by a batch processor to an exporter that discards them (the network is not
  what is measured);
- ``full-sampled``: ``full`` with ``Logs(access_sample=10)``, the documented trade-off (every failed or slow
  request keeps its access line, one in ten fast successes does).

Two measures, both as requests per unit of server cost relative to bare. Targets: metrics-only >= 0.98x,
full >= 0.95x.

1. Instructions (deterministic): each server runs under valgrind's callgrind, which counts the machine
   instructions of every thread of the process (not the kernel's). After a warm-up, batches of requests are each
   counted between ``callgrind_control --zero`` and ``--dump``; clock-driven work (uvicorn's tick, the writer's
   and exporter's wake-ups), measured while idle, is subtracted by wall time, and the adaptive sampler runs on a
   clock of ``COUNTED_REQUEST_RATE`` requests per second (under valgrind a server is ~50x slower, and a sampler
   on the wall clock would sample ~50x more). CPython's garbage collector is reported apart: its full
   collections are lumps that fall into one batch or another. The count does not depend on other load.
2. CPU time (noisy on a shared machine): the load generator (this process, on its own CPU; the servers on
   another) keeps ``--clients`` sessions busy against one server at a time for a slice, alternating the order of
   the set-ups every round, and reads the server's CPU time (user + system, all its threads) from
   ``/proc/<pid>/task/*/schedstat`` before and after. The ratio of a set-up is ``bare CPU / its CPU`` in the
   same round, and the report gives the median over rounds with a bootstrap interval. CPU time also holds what
   instructions do not: the kernel's work for the socket I/O and thread wake-ups, and cache and branch effects.

    python -m benchmarks.bench_http_overhead [--rounds 40] [--slice 0.5] [--write docs/performance.md]
    python -m benchmarks.bench_http_overhead --instructions [--variants bare metrics] [--keep-callgrind DIR]
    python -m benchmarks.bench_http_overhead --profile full   # cProfile inside the server process
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

VARIANTS = ("bare", "bare-control", "metrics", "full", "full-sampled")
ABLATIONS = ("metrics+traces", "metrics+logs", "metrics+provider", "bare-no-span")
"""Full instrumentation without its logs or without its traces, and metrics-only with an OpenTelemetry SDK tracer
provider that samples nothing (no Lookout tracing): where full's cost comes from. And the bare server without the
SDK's span middleware, which Lookout leaves out when no tracer provider is installed: Lookout's own cost is the
instrumented set-ups against it."""
TARGETS = {"metrics": 0.98, "full": 0.95}
PROTOCOL_VERSION = "2025-11-25"
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
CALL = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"noop","arguments":{"text":"x"}}}'


# ---------------------------------------------------------------------- the server process
class _DiscardExporter:
    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


COLLECTOR_FILE = "BENCH_HTTP_COLLECTOR_FILE"
"""Set for servers whose CPU time is measured: a file where the server keeps what its garbage collections took so
far (mapped into memory: updating it costs no system call): CPU nanoseconds of all collections, the number of
full collections and their CPU nanoseconds."""
_COLLECTOR_LAYOUT = "<QQQ"


def _count_collector_time(path: str) -> None:
    """Keep the CPU time of every garbage collection (in the thread that runs it) in ``path``, as it happens."""
    import gc
    import mmap

    with open(path, "r+b") as file:
        counter = mmap.mmap(file.fileno(), struct.calcsize(_COLLECTOR_LAYOUT))
    total, full, full_ns, started = 0, 0, 0, 0

    def on_collection(phase: str, info: dict[str, Any]) -> None:
        nonlocal total, full, full_ns, started
        if phase == "start":
            started = time.thread_time_ns()
            return
        took = time.thread_time_ns() - started
        total += took
        if info["generation"] == 2:
            full, full_ns = full + 1, full_ns + took
        struct.pack_into(_COLLECTOR_LAYOUT, counter, 0, total, full, full_ns)

    gc.callbacks.append(on_collection)


COUNTED_RATE = "BENCH_HTTP_COUNTED_RATE"
"""Set for servers whose instructions are counted: the request rate the adaptive sampler is to see."""


def _sampler_at(rate: float) -> Any:
    """The adaptive sampler (default budget) on a clock that advances ``1 / rate`` seconds per decision.

    Under valgrind a server handles ~50x fewer requests per second than natively, so a sampler on the wall
    clock would sample ~50x more requests; on this clock it samples what it would at ``rate`` requests per
    second, and with a seeded generator the same requests in every run."""
    import itertools
    import random

    from lookout.instrument.sampler import AdaptiveSampler

    ticks = itertools.count()
    return AdaptiveSampler(clock=lambda: next(ticks) / rate, rng=random.Random(0).random)


def build_app(variant: str) -> Any:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("bench")

    @server.tool()
    async def noop(text: str) -> str:
        return text

    if variant in ("bare", "bare-control"):
        return server.streamable_http_app()
    if variant == "bare-no-span":
        from mcp.server._otel import OpenTelemetryMiddleware

        chain = server._lowlevel_server.middleware
        chain[:] = [mw for mw in chain if not isinstance(mw, OpenTelemetryMiddleware)]
        return server.streamable_http_app()
    from lookout.instrument import Logs, Tracing, instrument

    if variant in ("metrics", "metrics+provider"):
        if variant == "metrics+provider":  # the SDK's span with a provider and nothing of Lookout's tracing
            from opentelemetry import trace
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

            trace.set_tracer_provider(TracerProvider(sampler=ALWAYS_OFF))
        handle = instrument(server, service="bench")
    else:
        from lookout.instrument.spans import DEFAULT_SLOW_SECONDS
        from lookout.instrument.tracing import configure_tracing

        rate = float(os.environ.get(COUNTED_RATE, "0"))
        slow = 3600.0 if rate else DEFAULT_SLOW_SECONDS  # counted: a request is slow only under valgrind
        parts: dict[str, Any] = {}
        if variant != "metrics+logs":
            setup = configure_tracing(
                service="bench",
                exporter=_DiscardExporter(),  # type: ignore[arg-type]
                slow_seconds=slow,
            )
            if rate:
                setup.sampler = setup.provider.sampler = _sampler_at(rate)
            parts["tracing"] = Tracing(setup=setup, slow_request_seconds=slow)
        if variant != "metrics+traces":
            parts["logs"] = Logs(json=True, access_sample=10 if variant == "full-sampled" else 1)
        handle = instrument(server, service="bench", **parts)
    return handle.wrap_asgi(server.streamable_http_app())


def serve(variant: str, port: int, profile_to: str | None) -> None:
    """Serve until SIGINT. With ``profile_to``, SIGUSR1 starts cProfile in the event loop's thread and SIGUSR2
    stops it and writes the profile there (so only the measured requests are in it)."""
    import uvicorn

    if os.environ.get(COLLECTOR_FILE):
        _count_collector_time(os.environ[COLLECTOR_FILE])
    app = build_app(variant)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, log_config=None)
    if profile_to is not None:
        import cProfile

        profiler = cProfile.Profile()

        def stop(*_: object) -> None:
            profiler.disable()
            profiler.dump_stats(profile_to + ".part")
            os.replace(profile_to + ".part", profile_to)

        signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
        signal.signal(signal.SIGUSR2, stop)
    if os.environ.get(COUNTED_RATE):
        _quiet_server_class()(config).run()
    else:
        uvicorn.Server(config).run()


PROCESSES = 3
"""Fresh server processes per set-up over a timed run (see :func:`measure`)."""


def process_blocks(rounds: int, processes: int) -> list[tuple[int, int]]:
    """The rounds (first, end) each of a set-up's server processes serves: ``processes`` equal blocks."""
    blocks = max(1, min(processes, rounds))
    return [(block * rounds // blocks, (block + 1) * rounds // blocks) for block in range(blocks)]


QUIET_TICK_SECONDS = 2.0
SETTLE_SECONDS = 6.0


def _quiet_server_class() -> Any:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """uvicorn ticking every ``QUIET_TICK_SECONDS`` instead of every 0.1 s: under valgrind its tick would be
        work done by the clock ~50x more often per request than natively, and it runs late when the event loop
        is busy, so no idle rate subtracts it exactly. Each tick refreshes the date header, as uvicorn's
        once-a-second ticks do."""

        async def main_loop(self) -> None:
            counter = 0
            should_exit = await self.on_tick(counter)
            while not should_exit:
                counter = (counter + 10) % 864000
                await asyncio.sleep(QUIET_TICK_SECONDS)
                should_exit = await self.on_tick(counter)

    return QuietServer


# ---------------------------------------------------------------------- the load generator
@dataclass
class Server:
    variant: str
    proc: subprocess.Popen[bytes]
    url: str
    cpu_per_request: list[float] = field(default_factory=list)
    collector_per_request: list[float] = field(default_factory=list)
    collector_file: Path | None = None
    requests: int = 0
    full_collections: int = 0
    full_collection_seconds: float = 0.0

    def collector(self) -> tuple[float, int, float]:
        """(CPU seconds of all garbage collections, full collections, their CPU seconds) so far; zeros when the
        server does not count them."""
        if self.collector_file is None:
            return 0.0, 0, 0.0
        total, full, full_ns = struct.unpack(_COLLECTOR_LAYOUT, self.collector_file.read_bytes())
        return total / 1e9, full, full_ns / 1e9


@contextmanager
def server_process(
    variant: str,
    profile_to: str | None = None,
    *,
    wrapper: Sequence[str] = (),
    env: dict[str, str] | None = None,
    cpus: set[int] | None = None,
    collector_file: Path | None = None,
) -> Iterator[Server]:
    """A server of ``variant`` in its own process (``wrapper`` runs it, e.g. under valgrind; ``cpus`` pins it;
    with ``collector_file`` it counts its garbage collections' CPU time there)."""
    from benchmarks.support import free_port

    port = free_port()
    if collector_file is not None:
        collector_file.write_bytes(bytes(struct.calcsize(_COLLECTOR_LAYOUT)))
        env = {**(env if env is not None else os.environ), COLLECTOR_FILE: str(collector_file)}
    argv = [*wrapper, sys.executable, "-m", "benchmarks.bench_http_overhead", "--serve", variant, "--port", str(port)]
    if profile_to:
        argv += ["--profile-to", profile_to]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    if cpus:
        os.sched_setaffinity(proc.pid, cpus)  # threads the server starts later inherit it
    server = Server(variant, proc, f"http://127.0.0.1:{port}/mcp", collector_file=collector_file)
    try:
        deadline = time.monotonic() + (300 if wrapper else 60)
        while True:
            try:
                httpx.get(server.url, timeout=10 if wrapper else 2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the {variant} server did not start") from None
                time.sleep(0.2)
        yield server
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(120 if wrapper else 15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def _session(client: httpx.AsyncClient, url: str) -> dict[str, str]:
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "b", "version": "1"},
        },
    }
    response = await client.post(url, json=init, headers=HEADERS)
    response.raise_for_status()
    headers = {
        **HEADERS,
        "mcp-session-id": response.headers["mcp-session-id"],
        "mcp-protocol-version": PROTOCOL_VERSION,
    }
    initialized = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'
    (await client.post(url, content=initialized, headers=headers)).raise_for_status()
    return headers


def server_cpu(pid: int) -> float:
    """CPU seconds of every thread of ``pid`` so far, in nanoseconds' resolution: ``/proc/<pid>/task/*/schedstat``
    (``/proc/<pid>/stat`` counts the same time in clock ticks of 10 ms, too coarse for half-second slices)."""
    total = 0
    for thread in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((thread / "schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):  # a thread that ended meanwhile
            continue
    return total / 1e9


async def run_slice(server: Server, clients: int, seconds: float) -> tuple[int, float, tuple[float, int, float]]:
    """(requests, server CPU seconds, what its garbage collector took: :meth:`Server.collector`) of ``clients``
    sessions calling the no-op tool for ``seconds``."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        sessions = [await _session(client, server.url) for _ in range(clients)]
        done = 0

        async def caller(headers: dict[str, str], until: float) -> None:
            nonlocal done
            while time.monotonic() < until:
                response = await client.post(server.url, content=CALL, headers=headers)
                if b'"result"' not in response.content:
                    raise RuntimeError(f"{server.variant}: {response.status_code} {response.text[:200]}")
                done += 1

        await caller(sessions[0], time.monotonic() + 0.2)  # warm the connection and the code paths
        done = 0
        before, collector_before = server_cpu(server.proc.pid), server.collector()
        until = time.monotonic() + seconds
        await asyncio.gather(*(caller(headers, until) for headers in sessions))
        cpu = server_cpu(server.proc.pid) - before
        total, full, full_seconds = server.collector()
        collector = (total - collector_before[0], full - collector_before[1], full_seconds - collector_before[2])
        for headers in sessions:  # end the sessions, so servers do not accumulate them over the run
            await client.delete(server.url, headers=headers)
    return done, cpu, collector


def pinning() -> tuple[set[int], set[int]] | None:
    """(server CPUs, load generator CPUs): the servers on one CPU and this process on another, so the load
    generator never takes the server's CPU; None on a single CPU."""
    cpus = sorted(os.sched_getaffinity(0))
    return ({cpus[0]}, {cpus[1]}) if len(cpus) >= 2 else None


def measure(
    rounds: int,
    slice_seconds: float,
    clients: int,
    variants: Sequence[str],
    pin: bool = True,
    processes: int = PROCESSES,
) -> dict[str, Server]:
    """``rounds`` rounds of one slice per set-up, its servers replaced by fresh processes ``processes`` times over
    the run (in equal blocks of rounds): a process's memory layout (addresses, hash seeds) moves its CPU per
    request by up to a couple of percent for as long as it runs, so every set-up is measured in several."""
    split = pinning() if pin else None
    own = os.sched_getaffinity(0)
    if split is not None:
        os.sched_setaffinity(0, split[1])
    servers: dict[str, Server] = {}
    with ExitStack() as outer:
        outer.callback(os.sched_setaffinity, 0, own)
        counters = Path(outer.enter_context(tempfile.TemporaryDirectory()))
        for block, (first, last) in enumerate(process_blocks(rounds, processes)):
            with ExitStack() as stack:
                for v in variants:
                    fresh = stack.enter_context(
                        server_process(
                            v, cpus=split[0] if split is not None else None, collector_file=counters / f"{v}.{block}"
                        )
                    )
                    # One record per set-up, measured from now on in the fresh process.
                    record = servers.setdefault(v, fresh)
                    record.proc, record.url, record.collector_file = fresh.proc, fresh.url, fresh.collector_file
                    asyncio.run(run_slice(record, clients, slice_seconds))  # warm-up, not counted
                for round_ in range(first, last):
                    order = list(variants) if round_ % 2 == 0 else list(reversed(variants))
                    order = order[round_ % len(order) :] + order[: round_ % len(order)]
                    for variant in order:
                        requests, cpu, (collector, full, full_seconds) = asyncio.run(
                            run_slice(servers[variant], clients, slice_seconds)
                        )
                        server = servers[variant]
                        server.cpu_per_request.append(cpu / max(1, requests))
                        server.collector_per_request.append(collector / max(1, requests))
                        server.requests += requests
                        server.full_collections += full
                        server.full_collection_seconds += full_seconds
                    line = "  ".join(f"{v} {servers[v].cpu_per_request[-1] * 1e6:6.0f} µs" for v in variants)
                    print(f"round {round_ + 1}/{rounds}: {line}", flush=True)
    return servers


def ratios(servers: dict[str, Server], outside_collector: bool = False) -> dict[str, list[float]]:
    """Per round: bare CPU / set-up CPU (requests per CPU-second relative to bare); with ``outside_collector``,
    of the CPU time outside garbage collections."""

    def cost(server: Server) -> list[float]:
        if not outside_collector:
            return server.cpu_per_request
        return [c - g for c, g in zip(server.cpu_per_request, server.collector_per_request, strict=True)]

    bare = [(a + b) / 2 for a, b in zip(cost(servers["bare"]), cost(servers["bare-control"]), strict=True)]
    out = {v: [b / c for b, c in zip(bare, cost(s), strict=True) if c > 0] for v, s in servers.items()}
    # The A/A row: one bare server against the other.
    out["bare-control"] = [
        a / b for a, b in zip(cost(servers["bare"]), cost(servers["bare-control"]), strict=True) if b > 0
    ]
    return out


def median_interval(values: Sequence[float], resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of the median of ``values`` (seeded: the same rounds give the same interval)."""
    import random

    rng = random.Random(seed)
    values = sorted(values)  # the same values give the same interval, whatever their order
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def verdict(interval: tuple[float, float], target: float) -> str:
    """Met only when the whole interval clears the target; missed only when it is wholly below."""
    low, high = interval
    if low >= target:
        return "**yes**"
    if high < target:
        return "**no**"
    return "not resolved"


LABELS = {
    "bare": "bare SDK",
    "bare-control": "bare SDK again (A/A control: the noise floor)",
    "metrics": "Lookout metrics only (+ `wrap_asgi`)",
    "full": "Lookout metrics + JSON access log + traces (adaptive, 10/s)",
    "full-sampled": "the same with `Logs(access_sample=10)` (an option, not the default)",
    "metrics+traces": "metrics + traces (no JSON logs)",
    "metrics+logs": "metrics + JSON access log (no traces)",
    "metrics+provider": "metrics + an OpenTelemetry SDK tracer provider sampling nothing (no Lookout tracing)",
    "bare-no-span": "bare SDK without its span middleware (no tracer provider: the work Lookout leaves out)",
}


def instructions_table(counted: dict[str, InstructionCount], clients: int, batches: int, batch: int) -> str:
    """The callgrind table: instructions per request, the ratio to bare and the verdict against the targets."""
    from benchmarks.support import machine

    bares = [counted[v] for v in ("bare", "bare-control") if v in counted]
    if not bares:  # nothing to compare with: the counts alone
        return "\n".join(f"{v}: {c.per_request / 1e6:.3f} M instructions per request" for v, c in counted.items())
    bare = statistics.mean(c.per_request for c in bares)
    bare_outside = statistics.mean(c.outside_collector for c in bares)
    both = "bare" in counted and "bare-control" in counted
    aa = counted["bare"].per_request / counted["bare-control"].per_request if both else 1.0
    aa_outside = counted["bare"].outside_collector / counted["bare-control"].outside_collector if both else 1.0
    floor = abs(1 - aa)
    lines = [
        f"**Instructions per request** (deterministic; measured by `benchmarks/bench_http_overhead.py` on "
        f"{machine()}): each server runs under valgrind's callgrind, which counts the machine instructions every "
        "thread of the process executes (the log writer and the span exporter included; the kernel's work, such "
        "as the socket I/O, is not counted). After a warm-up (uninstrumented, then instrumented), "
        f"{clients} sessions make {batches} batches of {batch} `tools/call` requests, each batch counted "
        "between a zero and a dump of the counters. Work the server does by the clock rather than per request "
        "runs ~50x more often per request under valgrind than natively: uvicorn's tick runs every "
        f"{QUIET_TICK_SECONDS:g} s instead of every 0.1 s, and what remains (the log writer's and span exporter's "
        "wake-ups) is counted while the server is idle and subtracted by each batch's wall time (the share "
        "subtracted is in the last column). For the same reason the adaptive sampler runs "
        f"on a clock that advances {1 / COUNTED_REQUEST_RATE * 1e3:g} ms per decision: it samples what it would "
        f"at {COUNTED_REQUEST_RATE:,.0f} requests/s (1 % of requests), not what it would at valgrind's pace. "
        "The count does not depend on other load on the machine. Ratio: bare instructions / the set-up's "
        "(requests per instruction relative to bare; bare = the mean of the two bare servers); the A/A row "
        "compares the two bare servers with each other. CPython's cyclic garbage collector is shown apart: "
        "its full collections (tens of millions of instructions each) come every several hundred requests, so "
        "whether one more falls into a run moves a total by a few tenths of a percent, while the count outside "
        "it repeats to a few hundredths.",
        "",
        "| set-up | instructions per request | of which garbage collector | ratio to bare | target | met | "
        "outside the collector: ratio to bare | batches (outside the collector): lowest to highest ratio | "
        "background subtracted |",
        "|---|---:|---:|---:|---:|:--:|---:|---|---:|",
    ]
    for variant, count in counted.items():
        outside_batches = [b - c for b, c in zip(count.batches, count.collector_batches, strict=True)]
        if variant == "bare-control":
            ratio, ratio_outside = aa, aa_outside
            bare_batches = [
                b - c for b, c in zip(counted["bare"].batches, counted["bare"].collector_batches, strict=True)
            ]
            per_batch = [a / b for a, b in zip(bare_batches, outside_batches, strict=True)]
        else:
            ratio, ratio_outside = bare / count.per_request, bare_outside / count.outside_collector
            per_batch = [bare_outside / b for b in outside_batches]
        target = TARGETS.get(variant)
        met = ""
        if target is not None:
            met = "**yes**" if ratio - floor >= target else "**no**" if ratio + floor < target else "within A/A"
        lines.append(
            f"| {LABELS[variant]} | {count.per_request / 1e6:.3f} M | {count.collector / count.requests / 1e3:.0f} k | "
            f"{ratio:.3f}x | {'' if target is None else f'>= {target:.2f}x'} | {met} | {ratio_outside:.4f}x | "
            f"{min(per_batch):.4f}x to {max(per_batch):.4f}x | {count.background_share:.1%} |"
        )
    lines += [
        "",
        f"The two bare servers agree to {floor:.2%} in all (A/A) and to {abs(1 - aa_outside):.3%} outside the "
        "garbage collector. A target is met when the ratio clears it by more than the A/A difference, missed "
        "when it falls short by more.",
    ]
    return "\n".join(lines)


def report(
    servers: dict[str, Server],
    rounds: int,
    slice_seconds: float,
    clients: int,
    calls: dict[str, float],
    counted: dict[str, InstructionCount] | None = None,
    batches: int = 0,
    batch: int = 0,
    pinned: bool = False,
    processes: int = 1,
) -> str:

    per_round = ratios(servers)
    outside = ratios(servers, outside_collector=True)
    lines = ["## Instrumentation overhead over streamable HTTP", ""]
    if counted:
        lines += [instructions_table(counted, clients, batches, batch), ""]
    lines += [
        "**Server CPU time per request** (wall-clock CPU accounting, noisy on a shared machine): each set-up "
        "served by uvicorn in its own process (the SDK's default app: sessions, SSE answers)"
        + (
            f", replaced by a fresh one {processes - 1} times over the run (each process in an equal block of "
            "rounds: a process's memory layout moves its CPU per request by up to a couple of percent for as "
            "long as it runs)"
            if processes > 1
            else ""
        )
        + f"; {clients} sessions call the tool for {slice_seconds:g} s slices against one server at a time, the order "
        f"rotating every round, {rounds} rounds"
        + (", the servers pinned to one CPU and the load generator to the other" if pinned else "")
        + ". Server CPU per request comes from `/proc/<pid>/task/*/schedstat` (every thread: the log writer and "
        "the span exporter included). Ratio: requests per server CPU-second relative to bare, the median over "
        "rounds of the per-round ratio (bare = the mean of the two bare servers); the A/A row compares the two "
        "bare servers with each other: the noise floor of the run. The garbage collector's share is measured in "
        "each server (the CPU time of every collection, from `gc.callbacks`) and shown apart, as in the table "
        "above: a full collection is a lump (below), so whether one more falls into a slice moves that slice's "
        "CPU by several percent.",
        "",
        "| set-up | median server CPU per request | of which garbage collector (mean) | ratio to bare (median) | "
        "95 % interval of the median | middle half of the rounds | target | met | outside the collector: "
        "ratio to bare (median) | its 95 % interval |",
        "|---|---:|---:|---:|---|---|---:|:--:|---:|---|",
    ]
    for variant, server in servers.items():
        values = sorted(per_round[variant])
        median = statistics.median(values)
        low, high = median_interval(values)
        quartiles = statistics.quantiles(values, n=4)
        target = TARGETS.get(variant)
        met = "" if target is None else verdict((low, high), target)
        outside_values = sorted(outside[variant])
        outside_low, outside_high = median_interval(outside_values)
        lines.append(
            f"| {LABELS[variant]} | {statistics.median(server.cpu_per_request) * 1e6:.0f} µs | "
            f"{statistics.mean(server.collector_per_request) * 1e6:.0f} µs | {median:.3f}x | "
            f"{low:.3f}x to {high:.3f}x | {quartiles[0]:.3f}x to {quartiles[2]:.3f}x | "
            f"{'' if target is None else f'>= {target:.2f}x'} | {met} | {statistics.median(outside_values):.3f}x | "
            f"{outside_low:.3f}x to {outside_high:.3f}x |"
        )
    bounds = process_blocks(rounds, processes)
    if len(bounds) > 1:
        by_process = "; ".join(
            f"{LABELS[variant]}: "
            + ", ".join(f"{statistics.median(outside[variant][a:z]):.3f}x" for a, z in bounds if outside[variant][a:z])
            for variant in servers
        )
        lines += [
            "",
            f"Outside the collector, the median ratio in each of the {len(bounds)} processes of a set-up, in order: "
            + by_process
            + ".",
        ]
    lines += [
        "",
        "Full collections (CPython's generation 2), over the whole run: "
        + "; ".join(
            f"{LABELS[v]}: {1000 * srv.full_collections / max(1, srv.requests):.2f} per 1,000 requests, "
            f"{1000 * srv.full_collection_seconds / max(1, srv.full_collections):.0f} ms of CPU each"
            for v, srv in servers.items()
        )
        + ".",
    ]
    low, high = median_interval(per_round["bare-control"])
    outside_low, outside_high = median_interval(outside["bare-control"])
    lines += [
        "",
        f"The A/A control (two identical servers) gives {low:.3f}x to {high:.3f}x for the median, "
        f"{outside_low:.3f}x to {outside_high:.3f}x outside the collector: the noise floor. "
        "A target counts as met only when the whole interval of a set-up's median clears it, as missed only "
        "when the whole interval is below it; otherwise this run does not resolve it.",
        "",
        "Python function calls per request in the server's event-loop thread (cProfile over 1,000 sequential "
        "calls after a warm-up; deterministic, unlike CPU time on a shared machine; the log writer's and span "
        "exporter's threads are not in it):",
        "",
        "| set-up | calls per request | vs bare |",
        "|---|---:|---:|",
    ]
    base = calls["bare"]
    lines += [f"| {LABELS[v]} | {n:,.0f} | {n / base:.3f}x |" for v, n in calls.items()]
    return "\n".join(lines)


async def _profiled_calls(server: Server, requests: int) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        headers = await _session(client, server.url)
        for _ in range(20):  # warm up: first-call caches, primed series
            await client.post(server.url, content=CALL, headers=headers)
        os.kill(server.proc.pid, signal.SIGUSR1)
        for _ in range(requests):
            await client.post(server.url, content=CALL, headers=headers)
        os.kill(server.proc.pid, signal.SIGUSR2)


def profiled(variant: str, requests: int) -> Any:
    """cProfile statistics of the server's event-loop thread over ``requests`` sequential no-op calls."""
    import pstats

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "server.prof")
        with server_process(variant, out) as server:
            asyncio.run(_profiled_calls(server, requests))
            deadline = time.monotonic() + 30
            while not os.path.exists(out) and time.monotonic() < deadline:  # the server writes it on SIGUSR2
                time.sleep(0.05)
        return pstats.Stats(out)


def calls_per_request(variants: Sequence[str], requests: int = 1000) -> dict[str, float]:
    """Python function calls per request in the server's event-loop thread: deterministic, unlike CPU time on a
    shared machine (cProfile counts each resumption of a coroutine as a call)."""
    return {variant: profiled(variant, requests).total_calls / requests for variant in variants}


def profile(variant: str, requests: int) -> str:
    import io

    stats = profiled(variant, requests)
    buffer = io.StringIO()
    stats.stream = buffer
    stats.sort_stats("tottime").print_stats(40)
    buffer.write("\nLookout's own functions, by cumulative time:\n")
    stats.sort_stats("cumulative").print_stats("lookout", 40)
    return buffer.getvalue()


# ---------------------------------------------------------------------- instructions (callgrind)
VALGRIND = "/usr/bin/valgrind"
COUNTED_REQUEST_RATE = 1000.0
"""Requests per second the adaptive sampler of a counted server sees (about what one core serves natively)."""


@dataclass
class InstructionCount:
    """Machine instructions the server executed per request, all threads, in consecutive batches."""

    variant: str
    batches: list[float] = field(default_factory=list)  # per request, time-driven background work subtracted
    requests: int = 0
    total: float = 0.0  # all batches' instructions (background subtracted)
    idle_per_second: float = 0.0
    background_share: float = 0.0  # of the raw count, what was subtracted
    collector: float = 0.0  # of ``total``: the cyclic garbage collector's instructions
    collector_batches: list[float] = field(default_factory=list)  # per request

    @property
    def per_request(self) -> float:
        return self.total / max(1, self.requests)

    @property
    def outside_collector(self) -> float:
        """Per request, without the garbage collector: steady to a few hundredths of a percent from batch to batch
        (the collector's full collections come every several hundred requests, a lump in whichever batch they
        fall)."""
        return (self.total - self.collector) / max(1, self.requests)


def _collector_instructions(dump: Path) -> int:
    """Instructions the dump counts inside CPython's cyclic garbage collector (``gc_collect_main``, inclusive)."""
    text = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(dump)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    counts = [int(line.split()[0].replace(",", "")) for line in text.splitlines() if ":gc_collect_main " in line]
    return max(counts, default=0)


def _callgrind_control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True, timeout=120)


def _dumped_instructions(out: Path, dump: int, deadline: float = 60.0) -> int:
    """``Ir`` of callgrind's ``dump``-th dump (``<out>.<dump>``), waiting for the file to be complete."""
    path = Path(f"{out}.{dump}")
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        if path.exists():
            text = path.read_text()
            if "\ntotals:" in text:  # the last line: the dump is complete
                # summary: the events counted since the last zero (totals, the sum of the file's cost lines, can
                # hold a few million more).
                return int(text.split("\nsummary:", 1)[1].split()[0])
        time.sleep(0.05)
    raise RuntimeError(f"callgrind wrote no complete {path}")


async def _count_instructions(
    server: Server, out: Path, clients: int, warmup: int, batches: int, batch: int, idle_seconds: float
) -> InstructionCount:
    pid = server.proc.pid
    result = InstructionCount(server.variant)
    dumps = 0

    def dump() -> int:
        nonlocal dumps
        _callgrind_control(pid, "--dump")
        dumps += 1
        return _dumped_instructions(out, dumps)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        sessions = [await _session(client, server.url) for _ in range(clients)]

        async def calls(n: int) -> float:
            """``n`` requests spread over the sessions, concurrently; returns the wall seconds."""

            async def caller(headers: dict[str, str], count: int) -> None:
                for _ in range(count):
                    response = await client.post(server.url, content=CALL, headers=headers)
                    if b'"result"' not in response.content:
                        raise RuntimeError(f"{server.variant}: {response.status_code} {response.text[:200]}")

            start = time.monotonic()
            shares = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]
            await asyncio.gather(*(caller(h, k) for h, k in zip(sessions, shares, strict=True)))
            return time.monotonic() - start

        await calls(warmup)  # uninstrumented (fast): imports, caches, the first full garbage collections
        _callgrind_control(pid, "--instr=on")
        await calls(max(100, warmup // 4))  # instrumented from here on
        # Work requests leave for later (expired keep-alive and timeout timers leave the event loop's heap up to
        # uvicorn's keep-alive of 5 s later) belongs to them, not to the idle rate: let it pass first. Between
        # batches it carries from one batch to the next.
        await asyncio.sleep(SETTLE_SECONDS)
        idle: list[float] = []

        async def idle_rate() -> None:
            _callgrind_control(pid, "--zero")
            start = time.monotonic()
            await asyncio.sleep(idle_seconds)
            idle.append(dump() / (time.monotonic() - start))

        await idle_rate()
        raw: list[tuple[int, float]] = []
        collector: list[int] = []
        for _ in range(batches):
            _callgrind_control(pid, "--zero")
            wall = await calls(batch)
            raw.append((dump(), wall))
            collector.append(_collector_instructions(Path(f"{out}.{dumps}")))
        for headers in sessions:
            await client.delete(server.url, headers=headers)
    result.idle_per_second = statistics.mean(idle)
    background = [result.idle_per_second * wall for _, wall in raw]
    result.batches = [(ir - b) / batch for (ir, _), b in zip(raw, background, strict=True)]
    result.requests = batches * batch
    result.total = sum(ir for ir, _ in raw) - sum(background)
    result.background_share = sum(background) / sum(ir for ir, _ in raw)
    result.collector = sum(collector)
    result.collector_batches = [c / batch for c in collector]
    return result


def instructions(
    variants: Sequence[str],
    *,
    clients: int = 4,
    warmup: int = 400,
    batches: int = 5,
    batch: int = 400,
    idle_seconds: float = 3.0,
    rate: float = COUNTED_REQUEST_RATE,
    parallel: int = 2,
    keep: Path | None = None,
) -> dict[str, InstructionCount]:
    """Instructions per request of each set-up's server, counted by valgrind's callgrind (all threads).

    Each server runs under ``valgrind --tool=callgrind`` with instrumentation off until ``warmup`` requests
    are done; then ``batches`` batches of ``batch`` requests are each counted between a zero and a dump. Work
    the server does by the clock rather than per request (uvicorn's 0.1 s tick, the log writer's and the span
    exporter's wake-ups) is measured while idle and subtracted by each batch's wall time: under valgrind a
    request takes ~50x longer than natively, so that work would otherwise weigh ~50x more than it does in
    production. The count does not depend on the machine's load; kernel time (the socket I/O) is not in it."""
    if not Path(VALGRIND).exists():
        raise RuntimeError(f"bench_http_overhead: {VALGRIND} not found: apt-get install valgrind (make bench does)")
    counts: dict[str, InstructionCount] = {}
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:

        def count(variant: str) -> None:
            out = Path(keep or tmp) / f"callgrind.{variant}"
            wrapper = [VALGRIND, "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
            env = {**os.environ, "PYTHONHASHSEED": "0", COUNTED_RATE: str(rate)}  # PYTHONHASHSEED: same dicts
            with server_process(variant, wrapper=wrapper, env=env) as server:
                c = asyncio.run(_count_instructions(server, out, clients, warmup, batches, batch, idle_seconds))
            counts[variant] = c
            spread = ", ".join(f"{(b - g) / 1e6:.4f}" for b, g in zip(c.batches, c.collector_batches, strict=True))
            print(
                f"{variant}: {c.per_request / 1e6:.4f} M instructions per request, {c.outside_collector / 1e6:.4f} M "
                f"outside the garbage collector (batches {spread})",
                flush=True,
            )

        # The counts do not depend on load, so servers can be counted side by side.
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            for done in [pool.submit(count, v) for v in variants]:
                done.result()
    return {v: counts[v] for v in variants}
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_http_overhead")
    parser.add_argument("--serve", choices=VARIANTS + ABLATIONS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    parser.add_argument(
        "--profile", choices=VARIANTS + ABLATIONS, help="cProfile one set-up's server and print its top functions"
    )
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--slice", type=float, default=0.5, help="seconds per measurement slice")
    parser.add_argument("--clients", type=int, default=4, help="concurrent sessions")
    parser.add_argument(
        "--processes", type=int, default=PROCESSES, help="fresh server processes per set-up over the timed rounds"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and load generator to two CPUs")
    parser.add_argument(
        "--instructions", action="store_true", help="only count instructions per request (callgrind), no timing"
    )
    parser.add_argument("--batches", type=int, default=5, help="callgrind: counted batches per server")
    parser.add_argument("--batch", type=int, default=400, help="callgrind: requests per counted batch")
    parser.add_argument("--parallel", type=int, default=2, help="callgrind: servers counted at the same time")
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=VARIANTS + ABLATIONS,
        default=list(VARIANTS + ABLATIONS),
        help="set-ups to count and time (the two bare servers always: every ratio is to them)",
    )
    parser.add_argument("--keep-callgrind", type=Path, help="callgrind: keep the dumps here (callgrind_annotate)")
    parser.add_argument("--write", type=Path, help="replace this benchmark's section of docs/performance.md")
    args = parser.parse_args(argv)
    bare = ["bare", "bare-control"]
    variants = bare + [v for v in VARIANTS + ABLATIONS if v in args.variants and v not in bare]
    if args.serve:
        serve(args.serve, args.port, args.profile_to)
        return
    if args.profile:
        print(profile(args.profile, 2000))
        return
    counted = instructions(
        variants,
        clients=args.clients,
        batches=args.batches,
        batch=args.batch,
        parallel=args.parallel,
        keep=args.keep_callgrind,
    )
    if args.instructions:
        print(instructions_table(counted, args.clients, args.batches, args.batch))
        return
    servers = measure(args.rounds, args.slice, args.clients, variants, pin=not args.no_pin, processes=args.processes)
    calls = calls_per_request([v for v in variants if v != "bare-control"])
    text = report(
        servers,
        args.rounds,
        args.slice,
        args.clients,
        calls,
        counted,
        args.batches,
        args.batch,
        pinned=not args.no_pin and pinning() is not None,
        processes=args.processes,
    )
    print(text)
    if args.write:
        from benchmarks.support import write_section

        write_section("http-overhead", text, args.write)


if __name__ == "__main__":
    main(sys.argv[1:])
