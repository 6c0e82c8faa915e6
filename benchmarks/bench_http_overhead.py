"""Server CPU per request of a no-op tool over streamable HTTP, bare and instrumented, side by side in one run.

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

The load generator (this process) keeps ``--clients`` sessions busy against one server at a time for a slice,
alternating the order of the set-ups every round, and reads the server's CPU time (user + system, all its
threads: the log writer and span exporter included) from ``/proc/<pid>/task/*/schedstat`` before and after. A server's
cost is its CPU per request; the ratio of a set-up is ``bare CPU / its CPU`` in the same round (requests per
CPU-second relative to bare, where bare is the mean of the two bare servers), and the report gives the median
over rounds. Targets: metrics-only >= 0.98x, full >= 0.95x.

    python -m benchmarks.bench_http_overhead [--rounds 40] [--slice 0.5] [--write docs/performance.md]
    python -m benchmarks.bench_http_overhead --profile full   # cProfile inside the server process
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

VARIANTS = ("bare", "bare-control", "metrics", "full", "full-sampled")
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


def build_app(variant: str) -> Any:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("bench")

    @server.tool()
    async def noop(text: str) -> str:
        return text

    if variant in ("bare", "bare-control"):
        return server.streamable_http_app()
    from lookout.instrument import Logs, Tracing, instrument

    if variant == "metrics":
        handle = instrument(server, service="bench")
    else:
        from lookout.instrument.tracing import configure_tracing

        setup = configure_tracing(service="bench", exporter=_DiscardExporter())  # type: ignore[arg-type]
        logs = Logs(json=True, access_sample=10 if variant == "full-sampled" else 1)
        handle = instrument(server, service="bench", tracing=Tracing(setup=setup), logs=logs)
    return handle.wrap_asgi(server.streamable_http_app())


def serve(variant: str, port: int, profile_to: str | None) -> None:
    """Serve until SIGINT. With ``profile_to``, SIGUSR1 starts cProfile in the event loop's thread and SIGUSR2
    stops it and writes the profile there (so only the measured requests are in it)."""
    import uvicorn

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
    uvicorn.Server(config).run()


# ---------------------------------------------------------------------- the load generator
@dataclass
class Server:
    variant: str
    proc: subprocess.Popen[bytes]
    url: str
    cpu_per_request: list[float] = field(default_factory=list)


@contextmanager
def server_process(variant: str, profile_to: str | None = None) -> Iterator[Server]:
    from benchmarks.support import free_port

    port = free_port()
    argv = [sys.executable, "-m", "benchmarks.bench_http_overhead", "--serve", variant, "--port", str(port)]
    if profile_to:
        argv += ["--profile-to", profile_to]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Server(variant, proc, f"http://127.0.0.1:{port}/mcp")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(server.url, timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the {variant} server did not start") from None
                time.sleep(0.2)
        yield server
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
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


async def run_slice(server: Server, clients: int, seconds: float) -> tuple[int, float]:
    """(requests, server CPU seconds) of ``clients`` sessions calling the no-op tool for ``seconds``."""
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
        before = server_cpu(server.proc.pid)
        until = time.monotonic() + seconds
        await asyncio.gather(*(caller(headers, until) for headers in sessions))
        cpu = server_cpu(server.proc.pid) - before
        for headers in sessions:  # end the sessions, so servers do not accumulate them over the run
            await client.delete(server.url, headers=headers)
    return done, cpu


def measure(rounds: int, slice_seconds: float, clients: int, variants: Sequence[str]) -> dict[str, Server]:
    with ExitStack() as stack:
        servers = {v: stack.enter_context(server_process(v)) for v in variants}
        for round_ in range(rounds):
            order = list(variants) if round_ % 2 == 0 else list(reversed(variants))
            order = order[round_ % len(order) :] + order[: round_ % len(order)]
            for variant in order:
                requests, cpu = asyncio.run(run_slice(servers[variant], clients, slice_seconds))
                servers[variant].cpu_per_request.append(cpu / max(1, requests))
            line = "  ".join(f"{v} {servers[v].cpu_per_request[-1] * 1e6:6.0f} µs" for v in variants)
            print(f"round {round_ + 1}/{rounds}: {line}", flush=True)
        return servers


def ratios(servers: dict[str, Server]) -> dict[str, list[float]]:
    """Per round: bare CPU / set-up CPU (requests per CPU-second relative to bare)."""
    bare = [
        (a + b) / 2
        for a, b in zip(servers["bare"].cpu_per_request, servers["bare-control"].cpu_per_request, strict=True)
    ]
    out = {v: [b / c for b, c in zip(bare, s.cpu_per_request, strict=True) if c > 0] for v, s in servers.items()}
    # The A/A row: one bare server against the other.
    out["bare-control"] = [
        a / b
        for a, b in zip(servers["bare"].cpu_per_request, servers["bare-control"].cpu_per_request, strict=True)
        if b > 0
    ]
    return out


def median_interval(values: Sequence[float], resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of the median of ``values`` (seeded: the same rounds give the same interval)."""
    import random

    rng = random.Random(seed)
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
}


def report(servers: dict[str, Server], rounds: int, slice_seconds: float, clients: int, calls: dict[str, float]) -> str:
    from benchmarks.support import machine

    per_round = ratios(servers)
    lines = [
        "## Instrumentation overhead over streamable HTTP",
        "",
        f"Measured by `benchmarks/bench_http_overhead.py` on {machine()}: an `MCPServer` with a no-op tool, each "
        f"set-up served by uvicorn in its own process (the SDK's default app: sessions, SSE answers); {clients} "
        f"sessions call the tool for {slice_seconds:g} s slices against one server at a time, the order rotating "
        f"every round, {rounds} rounds. Server CPU per request comes from `/proc/<pid>/task/*/schedstat` (every "
        "thread: the log writer and the span exporter included). Ratio: requests per server CPU-second relative "
        "to bare, the median over rounds of the per-round ratio (bare = the mean of the two bare servers); the "
        "A/A row compares the two bare servers with each other: the noise floor of the run.",
        "",
        "| set-up | median server CPU per request | ratio to bare (median) | 95 % interval of the median | "
        "middle half of the rounds | target | met |",
        "|---|---:|---:|---|---|---:|:--:|",
    ]
    for variant, server in servers.items():
        values = sorted(per_round[variant])
        median = statistics.median(values)
        low, high = median_interval(values)
        quartiles = statistics.quantiles(values, n=4)
        target = TARGETS.get(variant)
        met = "" if target is None else verdict((low, high), target)
        lines.append(
            f"| {LABELS[variant]} | {statistics.median(server.cpu_per_request) * 1e6:.0f} µs | {median:.3f}x | "
            f"{low:.3f}x to {high:.3f}x | {quartiles[0]:.3f}x to {quartiles[2]:.3f}x | "
            f"{'' if target is None else f'>= {target:.2f}x'} | {met} |"
        )
    low, high = median_interval(per_round["bare-control"])
    lines += [
        "",
        f"The A/A control (two identical servers) gives {low:.3f}x to {high:.3f}x for the median: the noise floor. "
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
    import tempfile

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_http_overhead")
    parser.add_argument("--serve", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    parser.add_argument("--profile", choices=VARIANTS, help="cProfile one set-up's server and print its top functions")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--slice", type=float, default=0.5, help="seconds per measurement slice")
    parser.add_argument("--clients", type=int, default=4, help="concurrent sessions")
    parser.add_argument("--write", type=Path, help="replace this benchmark's section of docs/performance.md")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port, args.profile_to)
        return
    if args.profile:
        print(profile(args.profile, 2000))
        return
    servers = measure(args.rounds, args.slice, args.clients, VARIANTS)
    calls = calls_per_request([v for v in VARIANTS if v != "bare-control"])
    text = report(servers, args.rounds, args.slice, args.clients, calls)
    print(text)
    if args.write:
        from benchmarks.support import write_section

        existing = args.write.read_text() if args.write.exists() else ""
        marker = "<!-- bench-notes:http-overhead -->"
        notes = existing.split(marker)[1] if existing.count(marker) >= 2 else ""  # kept across runs
        write_section("http-overhead", text + (f"\n\n{marker}{notes}{marker}" if notes else ""), args.write)


if __name__ == "__main__":
    main(sys.argv[1:])
