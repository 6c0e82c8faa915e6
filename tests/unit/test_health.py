"""Health checks and probe semantics of the management app (in-process ASGI, no sockets)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client import CollectorRegistry

from lookout import metrics as m
from lookout.health import (
    CheckResult,
    EventLoopLag,
    Health,
    InFlightSaturation,
    MemoryCheck,
    Phase,
    Status,
    management_app,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client_for(health: Health, registry: CollectorRegistry | None = None) -> httpx.AsyncClient:
    app = management_app(registry or CollectorRegistry(), health=health)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mgmt")


async def statuses(client: httpx.AsyncClient) -> dict[str, int]:
    paths = ("/health", "/health/live", "/health/ready", "/health/startup")
    return {p: (await client.get(p)).status_code for p in paths}


async def test_lifecycle_starting_ready_draining_stopped() -> None:
    in_flight = [0]
    health = Health(in_flight=lambda: in_flight[0])
    async with client_for(health) as c:
        assert health.phase is Phase.STARTING
        assert await statuses(c) == {"/health": 503, "/health/live": 200, "/health/ready": 503, "/health/startup": 503}
        health.lifespan_started()
        assert await statuses(c) == {"/health": 200, "/health/live": 200, "/health/ready": 200, "/health/startup": 200}
        in_flight[0] = 2
        drained = asyncio.create_task(health.drain(grace=5))
        await asyncio.sleep(0)
        assert health.phase.value == "draining"
        # Not ready at once, still alive, still started, while requests finish.
        assert await statuses(c) == {"/health": 503, "/health/live": 200, "/health/ready": 503, "/health/startup": 200}
        assert not drained.done()
        in_flight[0] = 0
        assert await asyncio.wait_for(drained, 5) is True
        health.lifespan_stopped()
        assert health.phase.value == "stopped"
        assert (await c.get("/health/live")).status_code == 503
        body = (await c.get("/health")).json()
        assert body["status"] == "unhealthy" and body["phase"] == "stopped"


async def test_drain_gives_up_after_the_grace_period() -> None:
    health = Health(in_flight=lambda: 1)
    health.lifespan_started()
    assert await health.drain(grace=0.05, poll=0.01) is False
    assert health.phase is Phase.DRAINING


async def test_drain_waits_for_the_in_flight_source_bound_later() -> None:
    health = Health()  # created before the server it watches, as an application hands it to instrument()
    in_flight = [1]
    health.bind_in_flight(lambda: in_flight[0])
    health.lifespan_started()
    assert await health.drain(grace=0.05, poll=0.01) is False
    in_flight[0] = 0
    assert await health.drain(grace=0.05, poll=0.01) is True


async def test_critical_check_failure_makes_unready_but_not_dead() -> None:
    health = Health()
    health.lifespan_started()
    db_up = True

    @health.check(critical=True, ttl=0)
    async def database() -> bool:
        return db_up

    @health.check(ttl=0)
    async def cache() -> CheckResult:
        return CheckResult.degraded("slow cache")

    async with client_for(health) as c:
        r = await c.get("/health")
        assert r.status_code == 200 and r.json()["status"] == "degraded"
        assert (await c.get("/health/ready")).status_code == 200
        db_up = False
        assert (await c.get("/health/ready")).status_code == 503
        assert (await c.get("/health/ready")).json()["failing_critical_checks"] == ["database"]
        assert (await c.get("/health/live")).status_code == 200  # liveness ignores downstream checks
        body = (await c.get("/health")).json()
        assert body["status"] == "unhealthy"
        assert body["checks"]["database"]["status"] == "unhealthy"
        assert body["checks"]["cache"] == {
            "status": "degraded",
            "critical": False,
            "detail": "slow cache",
            "duration_seconds": body["checks"]["cache"]["duration_seconds"],
            "last_error": "slow cache",
        }
        assert {"version", "uptime_seconds"} <= set(body)


async def test_non_critical_failure_degrades_but_stays_ready() -> None:
    health = Health()
    health.lifespan_started()

    @health.check(ttl=0)
    async def flaky() -> None:
        raise RuntimeError("boom")

    async with client_for(health) as c:
        r = await c.get("/health")
        assert r.status_code == 200 and r.json()["status"] == "degraded"
        assert r.json()["checks"]["flaky"]["last_error"] == "RuntimeError: boom"
        assert (await c.get("/health/ready")).status_code == 200


async def test_checks_are_time_bounded() -> None:
    health = Health()
    health.lifespan_started()

    @health.check(critical=True, timeout=0.05, ttl=0)
    async def hangs() -> bool:
        await asyncio.sleep(3600)
        return True

    async with client_for(health) as c:
        r = await c.get("/health/ready")
        assert r.status_code == 503
    assert health.checks["hangs"].last_error == "timed out after 0.05s"


async def test_a_probe_storm_runs_each_check_once_per_ttl() -> None:
    clock = FakeClock()
    health = Health(clock=clock)
    health.lifespan_started()
    calls = 0
    gate = asyncio.Event()

    @health.check(ttl=10)
    async def expensive() -> bool:
        nonlocal calls
        calls += 1
        await gate.wait()
        return True

    async with client_for(health) as c:
        storm = [asyncio.create_task(c.get("/health/ready")) for _ in range(50)]
        await asyncio.sleep(0.05)
        gate.set()
        responses = await asyncio.gather(*storm)
        assert all(r.status_code == 200 for r in responses)
        assert calls == 1  # single flight while it ran
        await c.get("/health")
        assert calls == 1  # cached within the ttl
        clock.now += 11
        await c.get("/health")
        assert calls == 2


async def test_check_status_is_exported_as_a_metric() -> None:
    registry = CollectorRegistry()
    health = Health(registry=registry)
    health.lifespan_started()

    @health.check(ttl=0)
    async def downstream() -> CheckResult:
        return CheckResult.degraded()

    async with client_for(health, registry) as c:
        await c.get("/health")
        text = (await c.get("/metrics")).text
    assert f'{m.HEALTH_CHECK_STATUS.name}{{check="downstream"}} 0.5' in text


def test_duplicate_check_names_are_refused() -> None:
    health = Health()
    health.add("x", EventLoopLag())
    with pytest.raises(ValueError, match="twice"):
        health.add("x", EventLoopLag())


async def test_builtin_memory_check_against_a_limit() -> None:
    assert (await MemoryCheck(1000, rss=lambda: 500)()).status is Status.HEALTHY
    assert (await MemoryCheck(1000, rss=lambda: 850)()).status is Status.DEGRADED
    assert (await MemoryCheck(1000, rss=lambda: 990)()).status is Status.UNHEALTHY
    assert (await MemoryCheck(None, rss=lambda: 10**12)()).status in (Status.HEALTHY, Status.UNHEALTHY)


async def test_builtin_in_flight_saturation() -> None:
    n = [0]
    check = InFlightSaturation(lambda: n[0], limit=10)
    assert (await check()).status is Status.HEALTHY
    n[0] = 8
    assert (await check()).status is Status.DEGRADED
    n[0] = 10
    assert (await check()).status is Status.UNHEALTHY
    assert (await InFlightSaturation(lambda: 99, limit=0)()).status is Status.HEALTHY


async def test_builtin_event_loop_lag_sees_a_blocked_loop() -> None:
    lag = EventLoopLag(interval=0.01, degraded=0.05, unhealthy=10)
    lag.start()
    await asyncio.sleep(0.03)
    assert (await lag()).status is Status.HEALTHY
    import time

    time.sleep(0.1)  # block the loop on purpose
    await asyncio.sleep(0.03)
    result = await lag()
    await lag.stop()
    assert result.status is Status.DEGRADED, result
