"""Load-generator benchmark: `lookout bench`'s engine against the demo server over streamable HTTP, from one
core (one event loop in this process), next to a minimal independent loop (bare httpx posting the same
JSON-RPC request) against the same server, side by side in one run.

    python -m benchmarks.bench_loadgen [--seconds 3] [--write]

Shows (1) who saturates first: the generator's CPU per request next to the server's, and whether
throughput plateaus as clients grow (the report says when the two are on par rather than claim a
winner); (2) the tool's own cost per request relative to the minimal loop (CPU per request and
throughput at the same concurrency, median over rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx

from benchmarks.support import cpu_seconds, demo_server, machine, write_section
from lookout.bench.client import mcp_sessions
from lookout.bench.load import run_load
from lookout.bench.scenario import Load, Operation, Scenario

ECHO = Operation(tool="echo", arguments={"text": "hello"})
ROUNDS = 4
FULL_CORE = 0.95
PARITY = 0.10
"""Per-request CPU within this fraction of the server's is a tie, not a winner (a shared 2-core machine)."""
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
VERSION = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": VERSION,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "minimal-loop", "version": "0"},
}
HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": VERSION,
    "Mcp-Method": "tools/call",
    "Mcp-Name": "echo",
}


@dataclass(frozen=True)
class Measure:
    name: str
    clients: int
    requests: int
    wall_s: float
    client_cpu_s: float
    server_cpu_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.wall_s

    @property
    def client_cpu_per_request_ms(self) -> float:
        return 1000 * self.client_cpu_s / max(self.requests, 1)

    @property
    def server_cpu_per_request_ms(self) -> float:
        return 1000 * self.server_cpu_s / max(self.requests, 1)

    @property
    def client_core(self) -> float:
        return self.client_cpu_s / self.wall_s

    @property
    def server_core(self) -> float:
        return self.server_cpu_s / self.wall_s


async def _lookout(url: str, clients: int, seconds: float) -> int:
    load = Load(concurrency=clients, duration=f"{int(seconds * 1000)}ms", warmup="0s")
    recorder = await run_load(Scenario(operations=[ECHO], load=load), mcp_sessions(url))
    if recorder.overall.errors:
        raise RuntimeError(f"errors during the benchmark: {dict(recorder.overall.errors)}")
    return recorder.overall.response.count


async def _minimal(url: str, clients: int, seconds: float) -> int:
    """The independent baseline: no scenario, no histogram, no sessions; one pre-encoded request body."""
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "hello"}, "_meta": META},
        }
    ).encode()
    done = 0
    end = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        # One client (one connection) per worker, like the tool's one session per client.
        # Plain HTTP on loopback: verify=False skips loading the CA bundle (~0.1 s of CPU per client).
        transport = httpx.AsyncHTTPTransport(socket_options=NODELAY, verify=False)
        async with httpx.AsyncClient(transport=transport, timeout=10, trust_env=False) as client:
            while time.perf_counter() < end:
                response = await client.post(url, content=body, headers=HEADERS)
                if response.status_code != 200 or "result" not in response.json():
                    raise RuntimeError(f"minimal loop: unexpected answer {response.status_code}: {response.text[:80]}")
                done += 1

    async with anyio.create_task_group() as tg:
        for _ in range(clients):
            tg.start_soon(worker)
    return done


def measure(name: str, url: str, server_pid: int, clients: int, seconds: float) -> Measure:
    run = _lookout if name == "lookout bench" else _minimal
    cpu, server, wall = time.process_time(), cpu_seconds(server_pid), time.perf_counter()
    requests = anyio.run(run, url, clients, seconds)
    return Measure(
        name,
        clients,
        requests,
        time.perf_counter() - wall,
        time.process_time() - cpu,
        cpu_seconds(server_pid) - server,
    )


def verdict(ratio: float) -> str:
    if ratio < 1 - PARITY:
        return "one generator core out-runs one server core."
    if ratio > 1 + PARITY:
        return "one generator core does NOT out-run one server core."
    return f"on par (within {PARITY:.0%}): one generator core keeps up with one server core, without margin."


def report(ladder: list[Measure], pairs: list[tuple[Measure, Measure]]) -> str:
    tool_cost = sum(m.client_cpu_s for m in ladder) / sum(m.requests for m in ladder)
    server_cost = sum(m.server_cpu_s for m in ladder) / sum(m.requests for m in ladder)
    top, below = ladder[-1], ladder[-2]
    peak = max(ladder, key=lambda m: m.rps)
    lines = [
        "## Load generator (`lookout bench`)",
        "",
        f"Measured by `benchmarks/bench_loadgen.py` on {machine()}: the demo server (its own process, one",
        "event loop) over streamable HTTP on loopback, `tools/call echo`, closed loop. The load generator is one",
        "event loop in this process, so it uses at most one core. Core = CPU seconds per wall second.",
        "",
        "| clients | requests/s | demo server core | generator core | server CPU/request | generator CPU/request |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for m in ladder:
        lines.append(
            f"| {m.clients} | {m.rps:.0f} | {m.server_core:.2f} | {m.client_core:.2f} "
            f"| {m.server_cpu_per_request_ms:.2f} ms | {m.client_cpu_per_request_ms:.2f} ms |"
        )
    lines += [
        "",
        f"**Who saturates first**: per request the generator spends **{tool_cost / server_cost:.2f}x** the CPU the",
        f"demo server spends ({1000 * tool_cost:.2f} ms vs {1000 * server_cost:.2f} ms):",
        verdict(tool_cost / server_cost),
        f"Throughput peaked at {peak.rps:.0f} requests/s with {peak.clients} clients (server at {peak.server_core:.2f}",
        f"core); from {below.clients} to {top.clients} clients it went {below.rps:.0f} -> {top.rps:.0f} requests/s "
        f"({top.rps / below.rps - 1:+.0%}). At the peak the server and the generator together used",
        f"{peak.server_core + peak.client_core:.2f} of the machine's {os.cpu_count()} CPUs, which they share;",
        f"{'the server reached a full core' if peak.server_core >= FULL_CORE else 'neither reached a full core'}.",
        "The per-request ratio is the number that carries over to other machines.",
        "",
        "**Overhead** next to a minimal independent loop (bare httpx posting one pre-encoded request per",
        "connection: no MCP client, histogram or scenario), alternating in one run at the same concurrency:",
        "",
        "| round | clients | lookout bench req/s | minimal loop req/s | throughput ratio | CPU/request ratio |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for i, (tool, bare) in enumerate(pairs, 1):
        lines.append(
            f"| {i} | {tool.clients} | {tool.rps:.0f} | {bare.rps:.0f} | {tool.rps / bare.rps:.2f} "
            f"| {tool.client_cpu_per_request_ms / bare.client_cpu_per_request_ms:.2f} |"
        )
    throughput = statistics.median(tool.rps / bare.rps for tool, bare in pairs)
    cpu = statistics.median(tool.client_cpu_per_request_ms / bare.client_cpu_per_request_ms for tool, bare in pairs)
    lines += [
        "",
        f"Median over the rounds: throughput ratio **{throughput:.2f}**, CPU/request ratio **{cpu:.2f}** (the",
        "tool's MCP client, timing and HDR recording over the bare loop). A throughput ratio near 1 means the",
        "server, not the tool, sets the pace; the rounds' spread is the machine's noise.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each measurement")
    parser.add_argument("--write", nargs="?", const="docs/performance.md", help="update docs/performance.md")
    args = parser.parse_args(argv)
    with demo_server() as demo:
        pid = demo.proc.pid
        measure("minimal loop", demo.url, pid, 4, 1.0)  # warm the server up
        ladder = [measure("lookout bench", demo.url, pid, c, args.seconds) for c in (1, 4, 16, 64)]
        pairs = [
            (
                measure("lookout bench", demo.url, pid, 16, args.seconds),
                measure("minimal loop", demo.url, pid, 16, args.seconds),
            )
            for _ in range(ROUNDS)
        ]
    section = report(ladder, pairs)
    print(section)
    if args.write:
        write_section("loadgen", section, Path(args.write))


if __name__ == "__main__":
    main()
