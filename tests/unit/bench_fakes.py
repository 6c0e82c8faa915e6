"""A virtual clock, fake MCP sessions and synthetic runs: the load engine and the bench commands tested
without real time or load."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio
import anyio.lowlevel

from lookout.bench.load import SUCCESS, Outcome, Session
from lookout.bench.results import Recorder, RunResult
from lookout.bench.runner import BenchRunner
from lookout.bench.scenario import Operation, Scenario

T = TypeVar("T")


async def _settle() -> None:
    """Return once no task can run: only then may virtual time move on (asyncio-only, hence the private peek)."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0)
    while loop._ready:  # type: ignore[attr-defined]  # noqa: ASYNC110 (yielding until it drains is the point)
        await asyncio.sleep(0)


class VirtualClock:
    """Time stands still until every task is blocked; then it jumps to the earliest sleeper's deadline."""

    def __init__(self) -> None:
        self._now = 0.0
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep_until(self, deadline: float) -> None:
        if deadline <= self._now:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        heapq.heappush(self._sleepers, (deadline, next(self._order), event))
        await event.wait()

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now + seconds)

    async def run(self, main: Callable[[], Awaitable[T]]) -> T:
        results: list[T] = []

        async def wrapped() -> None:
            results.append(await main())

        async with anyio.create_task_group() as tg:
            tg.start_soon(wrapped)
            while not results:
                await _settle()
                if results:
                    break
                if not self._sleepers:
                    raise AssertionError("deadlock: every task waits, none on the clock")
                deadline = self._sleepers[0][0]
                self._now = deadline
                while self._sleepers and self._sleepers[0][0] == deadline:
                    heapq.heappop(self._sleepers)[2].set()
        return results[0]


class FakeServer:
    """Answers after ``service_s`` of virtual time; requests arriving during a stall wait for its end."""

    def __init__(self, clock: VirtualClock, service_s: float = 0.01) -> None:
        self.clock = clock
        self.service_s = service_s
        self.stall: tuple[float, float] | None = None
        self.starts: list[float] = []
        self.errors: dict[str, str] = {}  # label -> error type returned for it
        self.sessions = 0

    async def handle(self, operation: Operation) -> Outcome:
        self.starts.append(self.clock.now())
        if self.stall and self.stall[0] <= self.clock.now() < self.stall[1]:
            await self.clock.sleep_until(self.stall[1])
        await self.clock.sleep(self.service_s)
        error = self.errors.get(operation.label)
        return Outcome(error) if error else SUCCESS

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Session]:
        self.sessions += 1
        yield _FakeSession(self)


class _FakeSession:
    def __init__(self, server: FakeServer) -> None:
        self._server = server

    async def send(self, operation: Operation) -> Outcome:
        return await self._server.handle(operation)


def synthetic(
    seed: int,
    median_s: float = 0.005,
    seconds: int = 10,
    rps: int = 200,
    error_every: int = 0,
    target: str = "t",
    tail_every: int = 0,
    tail_s: float = 0.0,
) -> RunResult:
    """A run whose latencies are lognormal around ``median_s`` at ``rps`` for ``seconds``; every
    ``tail_every``-th request takes ``tail_s`` longer (a slow tail)."""
    rng = random.Random(seed)
    recorder = Recorder(measure_start=0.0)
    for i in range(seconds * rps):
        end = (i + 1) / rps
        latency = rng.lognormvariate(0, 0.3) * median_s + (tail_s if tail_every and i % tail_every == 0 else 0.0)
        error = "jsonrpc_-32603" if error_every and i % error_every == 0 else ""
        recorder.record("echo", end - latency, end - latency, end, error)
    return recorder.result(target=target, scenario="default", fingerprint="f", model="closed", concurrency=4, rate=None)


def execute_synthetic(runner: BenchRunner, scenario: Scenario) -> tuple[int | None, RunResult]:
    """Stands in for ``lookout.bench.cli._execute``: records a synthetic run in the runner's history, no load."""
    assert runner.history is not None
    run_id = runner.history.begin(scenario, runner.target_name)
    result = synthetic(1, rps=100)
    runner.history.finish(run_id, result)
    return run_id, result
