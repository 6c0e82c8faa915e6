"""Health checks and the process lifecycle behind the Kubernetes probes.

Lifecycle: ``starting`` (until the server's lifespan has started) -> ``ready`` -> ``draining`` (after
SIGTERM: no longer ready, in-flight requests finish) -> ``stopped``. Probe semantics:

- liveness (``/health/live``) never looks at a check or a downstream system: it fails only once the
  process has stopped serving. A failing database must not make the kubelet restart every replica.
- readiness (``/health/ready``) fails while starting, while draining or stopped, and while a check
  marked ``critical`` is unhealthy.
- startup (``/health/startup``) succeeds once the server's lifespan has started.

Checks are async, bounded by a timeout and cached for ``ttl`` seconds; concurrent probes share one
evaluation (single flight), so a probe storm costs one run per check per ``ttl``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from lookout import __version__, cgroup
from lookout import metrics as m


class Status(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


class Phase(StrEnum):
    STARTING = "starting"
    READY = "ready"
    DRAINING = "draining"
    STOPPED = "stopped"


STATUS_VALUE = {Status.HEALTHY: 1.0, Status.DEGRADED: 0.5, Status.UNHEALTHY: 0.0}


@dataclass(frozen=True)
class CheckResult:
    status: Status
    detail: str = ""

    @classmethod
    def healthy(cls, detail: str = "") -> CheckResult:
        return cls(Status.HEALTHY, detail)

    @classmethod
    def degraded(cls, detail: str = "") -> CheckResult:
        return cls(Status.DEGRADED, detail)

    @classmethod
    def unhealthy(cls, detail: str = "") -> CheckResult:
        return cls(Status.UNHEALTHY, detail)


CheckFn = Callable[[], Awaitable[CheckResult | bool | None]]


@dataclass
class Check:
    name: str
    fn: CheckFn
    critical: bool = False
    timeout: float = 2.0
    ttl: float = 5.0
    # state
    status: Status = Status.HEALTHY
    detail: str = ""
    duration: float = 0.0
    last_error: str = ""
    checked_at: float = 0.0  # monotonic; 0 = never
    runs: int = 0
    _pending: asyncio.Future[None] | None = field(default=None, repr=False)

    def snapshot(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "critical": self.critical,
            "detail": self.detail,
            "duration_seconds": round(self.duration, 6),
            "last_error": self.last_error,
        }


def _coerce(value: CheckResult | bool | None) -> CheckResult:
    if isinstance(value, CheckResult):
        return value
    if value is False:
        return CheckResult.unhealthy()
    return CheckResult.healthy()


class Health:
    """Checks plus the lifecycle phase; the management app renders it."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        registry: CollectorRegistry | None = None,
        in_flight: Callable[[], int] | None = None,
    ) -> None:
        self._clock = clock
        self.started_at = clock()
        self.phase = Phase.STARTING
        self.checks: dict[str, Check] = {}
        self._in_flight = in_flight or (lambda: 0)
        self._lifespans = 0
        self._gauge: Gauge | None = None
        if registry is not None:
            self.bind_registry(registry)

    def bind_registry(self, registry: CollectorRegistry) -> None:
        spec = m.HEALTH_CHECK_STATUS
        self._gauge = Gauge(spec.name, spec.help, spec.labels, registry=registry)
        for check in self.checks.values():
            self._gauge.labels(check.name).set(STATUS_VALUE[check.status])

    # ------------------------------------------------------------------ checks
    def add(self, name: str, fn: CheckFn, *, critical: bool = False, timeout: float = 2.0, ttl: float = 5.0) -> Check:
        if name in self.checks:
            raise ValueError(f"health check {name!r} is registered twice")
        check = Check(name, fn, critical=critical, timeout=timeout, ttl=ttl)
        self.checks[name] = check
        if self._gauge is not None:
            self._gauge.labels(name).set(1.0)
        return check

    def check(
        self, name: str | None = None, *, critical: bool = False, timeout: float = 2.0, ttl: float = 5.0
    ) -> Callable[[CheckFn], CheckFn]:
        """Decorator: ``@health.check(critical=True)`` on an ``async def`` returning a
        :class:`CheckResult` (or ``True``/``False``/``None``; raising means unhealthy)."""

        def register(fn: CheckFn) -> CheckFn:
            self.add(name or fn.__name__, fn, critical=critical, timeout=timeout, ttl=ttl)
            return fn

        return register

    async def _run(self, check: Check) -> None:
        start = time.perf_counter()
        try:
            async with asyncio.timeout(check.timeout):
                result = _coerce(await check.fn())
            check.last_error = "" if result.status is Status.HEALTHY else (result.detail or check.last_error)
        except TimeoutError:
            result = CheckResult.unhealthy(f"timed out after {check.timeout}s")
            check.last_error = result.detail
        except Exception as exc:
            result = CheckResult.unhealthy(f"{type(exc).__name__}: {exc}")
            check.last_error = result.detail
        check.duration = time.perf_counter() - start
        check.status, check.detail = result.status, result.detail
        check.checked_at = self._clock()
        check.runs += 1
        if self._gauge is not None:
            self._gauge.labels(check.name).set(STATUS_VALUE[check.status])

    async def evaluate(self, check: Check) -> None:
        """Run ``check`` unless its cached result is fresh; concurrent callers share one run."""
        if check.checked_at and self._clock() - check.checked_at < check.ttl:
            return
        if check._pending is not None:
            await asyncio.shield(check._pending)
            return
        loop = asyncio.get_running_loop()
        check._pending = loop.create_future()
        try:
            await self._run(check)
        finally:
            pending, check._pending = check._pending, None
            pending.set_result(None)

    async def evaluate_all(self) -> None:
        if self.checks:
            await asyncio.gather(*(self.evaluate(c) for c in self.checks.values()))

    # ------------------------------------------------------------------ lifecycle
    def lifespan_started(self) -> None:
        self._lifespans += 1
        if self.phase in (Phase.STARTING, Phase.STOPPED):
            self.phase = Phase.READY

    def lifespan_stopped(self) -> None:
        self._lifespans = max(0, self._lifespans - 1)
        if self._lifespans == 0:
            self.phase = Phase.STOPPED

    def mark_ready(self) -> None:
        self.phase = Phase.READY

    def start_draining(self) -> None:
        if self.phase is not Phase.STOPPED:
            self.phase = Phase.DRAINING

    async def drain(self, grace: float = 30.0, poll: float = 0.05) -> bool:
        """Stop being ready at once, then wait until no request is in flight (at most ``grace`` s).

        Returns True when the in-flight requests drained in time.
        """
        self.start_draining()
        deadline = self._clock() + grace
        while self._in_flight() > 0:
            if self._clock() >= deadline:
                return False
            await asyncio.sleep(poll)
        return True

    # ------------------------------------------------------------------ aggregate views
    def uptime(self) -> float:
        return self._clock() - self.started_at

    def live(self) -> bool:
        return self.phase is not Phase.STOPPED

    def started(self) -> bool:
        return self.phase is not Phase.STARTING

    def ready(self) -> bool:
        if self.phase is not Phase.READY:
            return False
        return not any(c.critical and c.status is Status.UNHEALTHY for c in self.checks.values())

    def status(self) -> Status:
        """Aggregate: unhealthy when not ready (starting, draining, stopped) or a critical check fails;
        degraded when any other check is not healthy; else healthy."""
        if self.phase is not Phase.READY:
            return Status.UNHEALTHY
        worst = Status.HEALTHY
        for c in self.checks.values():
            if c.status is Status.UNHEALTHY and c.critical:
                return Status.UNHEALTHY
            if c.status is not Status.HEALTHY:
                worst = Status.DEGRADED
        return worst

    def report(self) -> dict[str, Any]:
        return {
            "status": self.status().value,
            "phase": self.phase.value,
            "ready": self.ready(),
            "version": __version__,
            "uptime_seconds": round(self.uptime(), 3),
            "checks": {name: c.snapshot() for name, c in sorted(self.checks.items())},
        }


# ---------------------------------------------------------------------- built-in checks
class EventLoopLag:
    """Measures how late the event loop wakes a sleeper; the check reads the worst lag of the last
    ``window`` seconds (a single late wake-up is not lost to the next, punctual one).

    The sampler task (started by the first check) costs one wake-up per ``interval``. A lag above
    ``degraded`` seconds is degraded, above ``unhealthy`` unhealthy: a blocked loop answers nobody.
    """

    def __init__(
        self, interval: float = 0.5, degraded: float = 0.1, unhealthy: float = 1.0, window: float = 10.0
    ) -> None:
        self.interval, self.degraded, self.unhealthy, self.window = interval, degraded, unhealthy, window
        self._samples: deque[tuple[float, float]] = deque()
        self._task: asyncio.Task[None] | None = None

    @property
    def lag(self) -> float:
        return max((lag for _, lag in self._samples), default=0.0)

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            now = loop.time()
            self._samples.append((now, max(0.0, now - before - self.interval)))
            while self._samples and self._samples[0][0] < now - self.window:
                self._samples.popleft()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._sample(), name="lookout-loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def __call__(self) -> CheckResult:
        self.start()
        lag = self.lag
        detail = f"lag {lag * 1000:.1f} ms"
        if lag >= self.unhealthy:
            return CheckResult.unhealthy(detail)
        if lag >= self.degraded:
            return CheckResult.degraded(detail)
        return CheckResult.healthy(detail)


def process_rss_bytes() -> int:
    """Resident set size of this process (Linux /proc, else the peak from getrusage)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def cgroup_memory_limit() -> int | None:
    """The process's memory limit (its cgroup's, v2 or v1, the tightest on the path to the root), or None
    when unlimited."""
    return cgroup.memory_limit()


class MemoryCheck:
    """Process memory (RSS) against a limit: the given one, else the cgroup's; no limit -> healthy."""

    def __init__(
        self,
        limit_bytes: int | None = None,
        degraded: float = 0.8,
        unhealthy: float = 0.95,
        rss: Callable[[], int] = process_rss_bytes,
    ) -> None:
        self.limit = limit_bytes if limit_bytes is not None else cgroup_memory_limit()
        self.degraded, self.unhealthy, self._rss = degraded, unhealthy, rss

    async def __call__(self) -> CheckResult:
        rss = self._rss()
        if not self.limit:
            return CheckResult.healthy(f"rss {rss >> 20} MiB, no limit")
        ratio = rss / self.limit
        detail = f"rss {rss >> 20} MiB of {self.limit >> 20} MiB ({ratio:.0%})"
        if ratio >= self.unhealthy:
            return CheckResult.unhealthy(detail)
        if ratio >= self.degraded:
            return CheckResult.degraded(detail)
        return CheckResult.healthy(detail)


class InFlightSaturation:
    """In-flight requests against the concurrency limit: degraded from 80 %, unhealthy when full."""

    def __init__(self, in_flight: Callable[[], int], limit: int, degraded: float = 0.8) -> None:
        self._in_flight, self.limit, self.degraded = in_flight, limit, degraded

    async def __call__(self) -> CheckResult:
        n = self._in_flight()
        if self.limit <= 0:
            return CheckResult.healthy(f"{n} in flight, no limit")
        ratio = n / self.limit
        detail = f"{n} of {self.limit} in flight"
        if ratio >= 1.0:
            return CheckResult.unhealthy(detail)
        if ratio >= self.degraded:
            return CheckResult.degraded(detail)
        return CheckResult.healthy(detail)


def default_health(
    *,
    in_flight: Callable[[], int] = lambda: 0,
    max_in_flight: int = 0,
    memory_limit_bytes: int | None = None,
    registry: CollectorRegistry | None = None,
) -> Health:
    """A :class:`Health` with the built-in checks (none of them critical: they degrade, not unready)."""
    health = Health(registry=registry, in_flight=in_flight)
    health.add("event_loop_lag", EventLoopLag(), ttl=1.0)
    health.add("memory", MemoryCheck(memory_limit_bytes))
    health.add("in_flight_saturation", InFlightSaturation(in_flight, max_in_flight), ttl=1.0)
    return health
