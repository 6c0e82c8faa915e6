"""The capacity search: doubling clients until the policy breaks or throughput stops growing."""

from __future__ import annotations

from collections.abc import Callable

from lookout.bench.capacity import search_capacity
from lookout.bench.results import RunResult
from tests.unit.bench_fakes import synthetic


def replica(cores: int, service_s: float) -> tuple[list[int], Callable[[int], RunResult]]:
    """A server with ``cores`` workers of ``service_s`` each: throughput grows until the workers are busy,
    then clients only queue (latency grows with them)."""
    asked: list[int] = []

    def run_step(clients: int) -> RunResult:
        asked.append(clients)
        throughput = min(clients, cores) / service_s
        latency = service_s * max(1.0, clients / cores)
        return synthetic(clients, median_s=latency, rps=int(throughput), seconds=4)

    return asked, run_step


def test_search_stops_when_throughput_stops_growing() -> None:
    asked, run_step = replica(cores=4, service_s=0.005)
    steps, reason = search_capacity(run_step)
    assert asked == [1, 2, 4, 8, 16]  # 8 and 16 clients add nothing over 4
    assert "stopped growing" in reason
    assert all(step.within_policy for step in steps)


def test_search_stops_when_the_latency_policy_breaks() -> None:
    asked, run_step = replica(cores=64, service_s=0.08)  # p99 of the lognormal (2x the median) passes 100 ms
    steps, reason = search_capacity(run_step)
    assert asked == [1] and not steps[0].within_policy
    assert "broke the policy" in reason


def test_search_stops_at_the_concurrency_limit() -> None:
    asked, run_step = replica(cores=1000, service_s=0.002)
    _, reason = search_capacity(run_step, max_concurrency=8)
    assert asked == [1, 2, 4, 8] and "max-concurrency 8" in reason
