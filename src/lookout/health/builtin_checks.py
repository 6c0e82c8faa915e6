"""The built-in health checks: event-loop lag, process memory against its limit, in-flight saturation.

Each is an async callable returning a :class:`~lookout.health.lifecycle.CheckResult`, to register with
:meth:`Health.add <lookout.health.lifecycle.Health.add>`; :func:`default_health` registers all three.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from lookout import cgroup
from lookout.health.lifecycle import CheckResult, Health


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
        """The worst lag, in seconds, of the last ``window`` seconds."""
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
        """Start the sampler task on the running loop (the first check does it; again after :meth:`stop`)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._sample(), name="lookout-loop-lag")

    async def stop(self) -> None:
        """Cancel the sampler task and wait for it."""
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
