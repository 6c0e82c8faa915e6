"""The load engine under a virtual clock: exact request counts, open-loop schedule under stalls, warm-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from lookout.bench.load import Outcome, Session, run_load, summarize
from lookout.bench.results import Recorder
from lookout.bench.scenario import Load, Operation, Scenario
from tests.unit.bench_fakes import FakeServer, VirtualClock

ECHO = Operation(tool="echo", arguments={"text": "hi"})


def scenario(operations: list[Operation] | None = None, **load: object) -> Scenario:
    return Scenario(operations=operations or [ECHO], load=Load.model_validate({"warmup": "0s", **load}))


async def drive(server: FakeServer, scn: Scenario, seed: int | None = 1) -> Recorder:
    return await server.clock.run(lambda: run_load(scn, server.connect, clock=server.clock, seed=seed))


async def test_closed_loop_runs_each_client_back_to_back() -> None:
    server = FakeServer(VirtualClock(), service_s=1 / 64)  # exact in binary: no drift over the run
    scn = scenario(concurrency=4, duration="2s")
    result = summarize(await drive(server, scn), scn, "fake")
    assert server.sessions == 4
    assert result.overall.requests == 512  # 4 clients x 64 requests per second x 2 s
    assert result.overall.throughput_rps == pytest.approx(256)
    assert result.overall.response_time.p99 == pytest.approx(1 / 64, rel=1e-3)
    assert result.per_second == [256, 256]


async def test_warmup_requests_are_excluded() -> None:
    server = FakeServer(VirtualClock(), service_s=0.01)
    recorder = await drive(server, scenario(concurrency=2, duration="1s", warmup="500ms"))
    assert recorder.warmup_requests == 100
    assert recorder.overall.response.count == 200


async def test_request_budget_stops_the_run() -> None:
    server = FakeServer(VirtualClock())
    recorder = await drive(server, scenario(concurrency=3, requests=50))
    assert recorder.overall.response.count == 50


async def test_open_loop_keeps_its_arrival_rate_when_the_server_stalls() -> None:
    server = FakeServer(VirtualClock(), service_s=0.002)
    server.stall = (0.2, 0.7)
    scn = scenario(model="open", rate=100, duration="1s", concurrency=1000)
    recorder = await drive(server, scn)
    # Every request left on schedule, stall or not: 100 starts, 10 ms apart.
    assert server.starts == pytest.approx([i * 0.01 for i in range(100)], abs=1e-9)
    # The request that arrived first in the stall waited for all of it.
    assert recorder.overall.response.max == pytest.approx(0.502, rel=1e-3)
    # 40 of the 100 requests arrived at least 100 ms before the stall ended.
    assert recorder.overall.response.percentile(65) > 0.1
    assert recorder.overall.service.max == pytest.approx(0.502, rel=1e-3)  # nothing queued in the tool


async def test_open_loop_counts_client_side_queueing_in_the_response_time() -> None:
    server = FakeServer(VirtualClock(), service_s=0.002)
    server.stall = (0.2, 0.7)
    # At most 2 requests in flight: during the stall the schedule backs up inside the tool.
    scn = scenario(model="open", rate=100, duration="1s", concurrency=2)
    recorder = await drive(server, scn)
    assert recorder.overall.response.count == 100
    late = [start - i * 0.01 for i, start in enumerate(server.starts)]
    assert max(late) > 0.4  # requests after the stall were sent late...
    # ...and the response time shows that wait while the service time does not.
    assert recorder.overall.response.percentile(90) > 0.1
    assert recorder.overall.service.percentile(50) == pytest.approx(0.002, rel=1e-2)
    assert recorder.overall.response.max >= 0.5


async def test_mix_follows_weights_and_errors_are_counted_by_type() -> None:
    server = FakeServer(VirtualClock(), service_s=0.001)
    server.errors["calculate"] = "jsonrpc_-32602"
    mix = [ECHO.model_copy(update={"weight": 3.0}), Operation(tool="calculate", arguments={"expression": "1+1"})]
    scn = scenario(mix, concurrency=2, requests=4000)
    result = summarize(await drive(server, scn), scn, "fake")
    echo, calc = result.operations["echo"], result.operations["calculate"]
    assert echo.requests + calc.requests == 4000
    assert echo.requests / 4000 == pytest.approx(0.75, abs=0.03)
    assert calc.errors == {"jsonrpc_-32602": calc.requests} and calc.ok == 0
    assert result.overall.errors == {"jsonrpc_-32602": calc.requests}
    assert result.overall.error_ratio == pytest.approx(calc.requests / 4000)


class _Hanging:
    async def send(self, operation: Operation) -> Outcome:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")


class _Raising:
    async def send(self, operation: Operation) -> Outcome:
        raise ValueError("adapter bug")


@pytest.mark.parametrize(("session", "error"), [(_Hanging(), "timeout"), (_Raising(), "client_ValueError")])
async def test_timeouts_and_client_exceptions_become_error_types(session: Session, error: str) -> None:
    @asynccontextmanager
    async def connect() -> AsyncIterator[Session]:
        yield session

    recorder = await run_load(scenario(concurrency=1, requests=3, timeout="50ms"), connect)
    assert dict(recorder.overall.errors) == {error: 3}
