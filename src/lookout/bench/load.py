"""The load engine: closed loop (N clients) and open loop (a fixed arrival schedule).

Timing: every request has an *intended* start. In the closed loop it is the moment the client is ready
to send; in the open loop it is ``t0 + i / rate`` regardless of how the server (or this tool) keeps up.
Response time runs from the intended start, so a stall delays nothing out of the report (no coordinated
omission); service time runs from the actual send.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Protocol

import anyio

from lookout.bench.results import LiveStats, Recorder, RunResult
from lookout.bench.scenario import LoadModel, Operation, Scenario


@dataclass(frozen=True)
class Outcome:
    """How one request ended: ``error_type`` is empty on success, else a short stable name."""

    error_type: str = ""

    @property
    def ok(self) -> bool:
        return not self.error_type


SUCCESS = Outcome()


class Session(Protocol):
    """One client connection to the server under test; ``send`` must not raise for server-side failures."""

    async def send(self, operation: Operation) -> Outcome: ...


SessionFactory = Callable[[], AbstractAsyncContextManager[Session]]


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep_until(self, deadline: float) -> None: ...


class RealClock:
    def now(self) -> float:
        return time.perf_counter()

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - time.perf_counter()
        if delay > 0:
            await anyio.sleep(delay)


class BenchError(Exception):
    """The run could not be carried out (e.g. the target refused every connection); one line for the user."""


class _Picker:
    """Weighted random choice of the next operation (seeded, so a run's mix is reproducible)."""

    def __init__(self, operations: list[Operation], seed: int | None) -> None:
        self._operations = operations
        self._weights = [op.weight for op in operations]
        self._random = random.Random(seed)

    def __call__(self) -> Operation:
        if len(self._operations) == 1:
            return self._operations[0]
        return self._random.choices(self._operations, self._weights)[0]


@dataclass
class _Budget:
    """Stops issuing requests at ``stop_at`` or after ``requests`` measured ones, whichever comes first."""

    measure_start: float
    stop_at: float
    requests: int | None
    issued: int = 0

    def take(self, intended: float) -> bool:
        if intended >= self.stop_at:
            return False
        if intended < self.measure_start:
            return True
        if self.requests is not None and self.issued >= self.requests:
            return False
        self.issued += 1
        return True


async def _send(session: Session, operation: Operation, limit_s: float) -> Outcome:
    with anyio.move_on_after(limit_s):
        try:
            return await session.send(operation)
        except Exception as exc:  # an adapter bug must not end the run: count it, by type
            return Outcome(f"client_{type(exc).__name__}")
    return Outcome("timeout")


async def _open_sessions(stack: AsyncExitStack, connect: SessionFactory, count: int) -> list[Session]:
    sessions: list[Session] = []
    for _ in range(count):
        try:
            sessions.append(await stack.enter_async_context(connect()))
        except BenchError:
            raise
        except Exception as exc:
            raise BenchError(f"cannot open an MCP session: {exc or type(exc).__name__}") from None
    return sessions


async def run_load(
    scenario: Scenario,
    connect: SessionFactory,
    *,
    clock: Clock | None = None,
    seed: int | None = None,
    on_tick: Callable[[LiveStats], Awaitable[None] | None] | None = None,
    tick_interval: float = 0.5,
) -> Recorder:
    """Drive the scenario's load through sessions from ``connect``; return what was recorded."""
    clock = clock or RealClock()
    load = scenario.load
    pick = _Picker(scenario.operations, seed)
    timeout = load.timeout_s
    duration = load.duration_s

    async with AsyncExitStack() as stack:
        pool = load.concurrency if load.model is LoadModel.CLOSED else min(load.connections, load.concurrency)
        sessions = await _open_sessions(stack, connect, pool)
        started = clock.now()
        recorder = Recorder(measure_start=started + load.warmup_s)
        budget = _Budget(recorder.measure_start, recorder.measure_start + duration, load.requests)

        async def closed_client(session: Session) -> None:
            while True:
                intended = clock.now()
                if not budget.take(intended):
                    return
                operation = pick()
                outcome = await _send(session, operation, timeout)
                recorder.record(operation.label, intended, intended, clock.now(), outcome.error_type)

        async def open_request(session: Session, operation: Operation, intended: float) -> None:
            try:
                start = clock.now()
                outcome = await _send(session, operation, timeout)
                recorder.record(operation.label, intended, start, clock.now(), outcome.error_type)
            finally:
                in_flight.release()

        async def open_schedule(rate: float) -> None:
            interval = 1.0 / rate
            index = 0
            while True:
                intended = started + index * interval
                if not budget.take(intended):
                    return
                await clock.sleep_until(intended)
                # Blocks while `concurrency` requests are in flight: the next ones start late, and their
                # response time (from the intended start) shows the wait.
                await in_flight.acquire()
                tg.start_soon(open_request, sessions[index % len(sessions)], pick(), intended)
                index += 1

        async def ticker(done: anyio.Event) -> None:
            assert on_tick is not None
            while not done.is_set():
                with anyio.move_on_after(tick_interval):
                    await done.wait()
                maybe = on_tick(recorder.live(clock.now(), started))
                if maybe is not None:
                    await maybe

        in_flight = anyio.Semaphore(load.concurrency)
        done = anyio.Event()
        async with anyio.create_task_group() as outer:
            if on_tick is not None:
                outer.start_soon(ticker, done)
            async with anyio.create_task_group() as tg:
                if load.model is LoadModel.CLOSED:
                    for session in sessions:
                        tg.start_soon(closed_client, session)
                else:
                    assert load.rate is not None
                    tg.start_soon(open_schedule, load.rate)
            done.set()
    return recorder


def summarize(recorder: Recorder, scenario: Scenario, target: str) -> RunResult:
    """The run's results, labelled with the target and the scenario's name and fingerprint."""
    load = scenario.load
    return recorder.result(
        target=target,
        scenario=scenario.name,
        fingerprint=scenario.fingerprint(),
        model=load.model.value,
        concurrency=load.concurrency,
        rate=load.rate,
    )
