"""`/metrics` render time with 10,000 series: Lookout's management endpoint (instrumentation recorder +
the /metrics route, through ASGI) next to a bare prometheus_client registry holding the same samples
rendered with prometheus_client's encoders, side by side in one run, in the text format 0.0.4 and in
OpenMetrics (what Prometheus asks for). Target: < 50 ms.

    python -m benchmarks.bench_exposition [--series 10000] [--repeat 30] [--write]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from benchmarks.support import machine, write_section
from lookout import metrics
from lookout.health import management_app
from lookout.instrument.recorder import RequestRecorder

TARGET_MS = 50.0
OPENMETRICS_ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
SERIES_PER_OPERATION = len(metrics.OPERATION_BUCKETS) + 1 + 3  # buckets, +Inf, _sum, _count, _created


def label_sets(series: int) -> list[tuple[str, str, str, str, str, str]]:
    """Enough distinct (method, tool, prompt, error, version, transport) combinations for ``series`` lines."""
    count = series // SERIES_PER_OPERATION
    return [
        ("tools/call", f"tool_{i // 4}", "", ("", "tool_error", "timeout", "-32602")[i % 4], "2025-11-25", "tcp")
        for i in range(count)
    ]


def lookout_endpoint(series: int, accept: str = "*/*") -> tuple[Callable[[], int], int]:
    registry = CollectorRegistry()
    recorder = RequestRecorder(registry)
    for labels in label_sets(series):
        recorder.observe_operation(*labels, seconds=0.004)
    app = management_app(registry)
    total = recorder.series_count()

    def render() -> int:
        async def get() -> int:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                response = await client.get("/metrics", headers={"accept": accept})
                return len(response.content)

        return anyio.run(get)

    return render, total


def bare_registry(
    series: int, encoder: Callable[[CollectorRegistry], bytes] = generate_latest
) -> tuple[Callable[[], int], int]:
    registry = CollectorRegistry()
    spec = metrics.OPERATION_DURATION
    histogram = Histogram(spec.name, spec.help, spec.labels, buckets=spec.buckets, registry=registry)
    for labels in label_sets(series):
        histogram.labels(*labels).observe(0.004)
    total = sum(len(family.samples) for family in registry.collect())
    return (lambda: len(encoder(registry))), total


def timed(render: Callable[[], int], repeat: int) -> float:
    render()  # warm
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        render()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--write", nargs="?", const="docs/performance.md", help="update docs/performance.md")
    args = parser.parse_args(argv)
    lookout_render, lookout_series = lookout_endpoint(args.series)
    bare_render, bare_series = bare_registry(args.series)
    lookout_om, _ = lookout_endpoint(args.series, OPENMETRICS_ACCEPT)
    bare_om, _ = bare_registry(args.series, generate_openmetrics)
    renders = (lookout_render, bare_render, lookout_om, bare_om)
    rounds = [[timed(render, args.repeat) for render in renders] for _ in range(3)]
    lines = [
        "## `/metrics` exposition",
        "",
        f"Measured by `benchmarks/bench_exposition.py` on {machine()}: median of {args.repeat} renders per round,",
        f"Lookout's management `/metrics` (instrumentation recorder, {lookout_series} series, through ASGI",
        f"in-process) next to a bare prometheus_client registry ({bare_series} series, its encoders),",
        "alternating in one run, in the text format 0.0.4 and in OpenMetrics 1.0.0 (what Prometheus asks",
        f"for). Target: < {TARGET_MS:.0f} ms.",
        "",
        "| round | Lookout text | bare text | ratio | Lookout OpenMetrics | bare OpenMetrics | ratio | within target |",
        "|---:|---:|---:|---:|---:|---:|---:|:--:|",
    ]
    for i, (ours, bare, ours_om, bare_om_ms) in enumerate(rounds, 1):
        verdict = "yes" if max(ours, ours_om) < TARGET_MS else "**no**"
        lines.append(
            f"| {i} | {ours:.1f} ms | {bare:.1f} ms | {ours / bare:.2f} "
            f"| {ours_om:.1f} ms | {bare_om_ms:.1f} ms | {ours_om / bare_om_ms:.2f} | {verdict} |"
        )
    section = "\n".join(lines)
    print(section)
    if args.write:
        write_section("exposition", section, Path(args.write))


if __name__ == "__main__":
    main()
