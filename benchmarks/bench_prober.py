"""Prober benchmark: probes/second and memory for many targets, and the cost of one probe next to the raw
SDK client and a bare httpx JSON-RPC loop doing the same sequence (connect, discover/initialize, tools/list).

    python -m benchmarks.bench_prober [--targets 1000] [--concurrency 64] [--servers 1] [--iterations 200]
                                      [--write docs/performance.md]

Everything runs on loopback against demo servers started here (separate processes). The prober runs on one
event loop in this process, so "per CPU-second" figures are one core's worth.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx

from lookout.config.probe import Module
from lookout.probe import McpSession
from lookout.probe.exposition import render
from lookout.probe.modules import ProbeTarget, run_probe
from lookout.probe.transports.http import NODELAY, tls_context

SECTION_START = "<!-- bench_prober:start -->"
SECTION_END = "<!-- bench_prober:end -->"
DISCOVER_LIST = Module(list_resources=False, list_prompts=False)  # discover + tools/list: the compared sequence
META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_demo_servers(count: int) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    procs, urls = [], []
    for _ in range(count):
        port, mport = free_port(), free_port()
        argv = [sys.executable, "-m", "lookout", "demo-server", "--port", str(port), "--management-port", str(mport)]
        procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        urls.append(f"http://127.0.0.1:{port}/mcp")
    deadline = time.monotonic() + 60
    for url in urls:
        health = url.replace("/mcp", "")
        while True:
            try:
                httpx.post(url, json={}, timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"demo server at {health} did not start") from None
                time.sleep(0.1)
    return procs, urls


@dataclass
class Cost:
    name: str
    cpu_ms: float
    wall_ms: float


async def measure(name: str, iterations: int, once: Callable[[], Awaitable[None]]) -> Cost:
    for _ in range(min(10, iterations)):  # warm-up: imports, first connections, caches
        await once()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(iterations):
        await once()
    return Cost(
        name,
        (time.process_time() - cpu) * 1000 / iterations,
        (time.perf_counter() - wall) * 1000 / iterations,
    )


async def compare_costs(url: str, iterations: int) -> list[Cost]:
    from mcp.client.client import Client

    async def sdk_client() -> None:
        async with Client(url, mode="auto") as client:
            await client.list_tools()

    context = tls_context(None, False)

    async def raw_httpx() -> None:
        transport = httpx.AsyncHTTPTransport(verify=context, socket_options=NODELAY)
        async with httpx.AsyncClient(transport=transport, trust_env=False) as client:
            for request_id, method in enumerate(("server/discover", "tools/list"), 1):
                response = await client.post(
                    url,
                    json={"jsonrpc": "2.0", "id": request_id, "method": method, "params": {"_meta": META}},
                    headers={
                        "Accept": "application/json, text/event-stream",
                        "MCP-Protocol-Version": "2026-07-28",
                        "Mcp-Method": method,
                    },
                )
                response.json()

    async def lookout_session() -> None:
        async with McpSession.open(url) as session:
            await session.list_tools()

    async def lookout_probe() -> None:
        result = await run_probe(ProbeTarget("bench", url), "discover", DISCOVER_LIST)
        if not result.success:
            raise SystemExit(f"probe failed: {result.error}")
        render(result)

    return [
        await measure("SDK `Client` (mcp 2.3, mode=auto)", iterations, sdk_client),
        await measure("bare httpx JSON-RPC loop", iterations, raw_httpx),
        await measure("Lookout `McpSession`", iterations, lookout_session),
        await measure("Lookout probe (`run_probe` + exposition)", iterations, lookout_probe),
    ]


def rss_mib() -> float:
    text = Path("/proc/self/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(match.group(1)) / 1024 if match else 0.0


@dataclass
class Throughput:
    targets: int
    concurrency: int
    failures: int
    wall_s: float
    cpu_s: float
    rss_before: float
    rss_after: float
    peak_rss: float


async def throughput(urls: list[str], targets: int, concurrency: int) -> Throughput:
    module = Module()  # the full discover module: discover, tools/list, resources/list, prompts/list
    names = [ProbeTarget(f"t{i:04d}", urls[i % len(urls)]) for i in range(targets)]
    limiter = anyio.CapacityLimiter(concurrency)
    failures = 0

    async def one(target: ProbeTarget) -> None:
        nonlocal failures
        async with limiter:
            result = await run_probe(target, "discover", module)
            render(result)
            failures += not result.success

    rss_before = rss_mib()
    cpu, wall = time.process_time(), time.perf_counter()
    async with anyio.create_task_group() as group:
        for target in names:
            group.start_soon(one, target)
    return Throughput(
        targets,
        concurrency,
        failures,
        time.perf_counter() - wall,
        time.process_time() - cpu,
        rss_before,
        rss_mib(),
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def report(costs: list[Cost], runs: list[Throughput], servers: int, iterations: int) -> str:
    raw = next(c for c in costs if c.name.startswith("bare"))
    sdk = costs[0]
    lines = [
        SECTION_START,
        "## Prober (`python -m benchmarks.bench_prober`)",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {servers} demo server process(es) on loopback.",
        "",
        f"### Cost of one connect + discover + tools/list ({iterations} sequential runs each, client CPU only)",
        "",
        "| client | CPU ms / run | wall ms / run | CPU vs bare httpx | CPU vs SDK Client |",
        "|---|---:|---:|---:|---:|",
    ]
    for cost in costs:
        lines.append(
            f"| {cost.name} | {cost.cpu_ms:.2f} | {cost.wall_ms:.2f} | {cost.cpu_ms / raw.cpu_ms:.2f}x "
            f"| {cost.cpu_ms / sdk.cpu_ms:.2f}x |"
        )
    lines += [
        "",
        "### Throughput: full discover module (discover, tools/list, resources/list, prompts/list + exposition)",
        "",
        "| targets | concurrency | failed | wall s | probes/s (wall) | prober CPU s | probes per CPU-second "
        "| RSS before → after (peak) MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run.targets} | {run.concurrency} | {run.failures} | {run.wall_s:.2f} | {run.targets / run.wall_s:.0f} "
            f"| {run.cpu_s:.2f} | {run.targets / run.cpu_s:.0f} | {run.rss_before:.0f} → {run.rss_after:.0f} "
            f"({run.peak_rss:.0f}) |"
        )
    lines += [
        "",
        "Probes per CPU-second is the prober's own cost (one event loop = one core); probes/s (wall) also "
        "includes waiting for the demo servers, which share this machine's CPUs with the prober.",
        SECTION_END,
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Performance\n"
    if SECTION_START in text and SECTION_END in text:
        before, rest = text.split(SECTION_START, 1)
        after = rest.split(SECTION_END, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, action="append", help="repeatable (default: 16 and 64)")
    parser.add_argument("--servers", type=int, default=1, help="demo server processes")
    parser.add_argument("--iterations", type=int, default=200, help="sequential runs per client in the comparison")
    parser.add_argument("--write", type=Path, help="update this markdown file's prober section")
    args = parser.parse_args(argv)
    procs, urls = start_demo_servers(args.servers)
    try:
        costs = asyncio.run(compare_costs(urls[0], args.iterations))
        runs = [asyncio.run(throughput(urls, args.targets, c)) for c in (args.concurrency or [16, 64])]
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
    section = report(costs, runs, args.servers, args.iterations)
    print(section)
    if args.write:
        write_section(args.write, section)


if __name__ == "__main__":
    main()
