"""The health state machine: the process lifecycle and the registered checks behind the Kubernetes probes.

Lifecycle: ``starting`` (until the server's lifespan has started) -> ``ready`` -> ``draining`` (after
SIGTERM: no longer ready, in-flight requests finish) -> ``stopped``. Probe semantics:

- liveness (``/health/live``) never looks at a check or a downstream system: it fails only once the
  process has stopped serving. A failing database must not make the kubelet restart every replica.
- readiness (``/health/ready``) fails while starting, while draining or stopped, and while a check
  marked ``critical`` is unhealthy.
- startup (``/health/startup``) succeeds once the server's lifespan has started.

Checks are async, bounded by a timeout and cached for ``ttl`` seconds; concurrent probes share one
evaluation (single flight), so a probe storm costs one run per check per ``ttl``. The built-in checks
live in :mod:`lookout.health.builtin_checks`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from lookout import __version__
from lookout import metrics as m


class Status(StrEnum):
    """A check's outcome, and the aggregate of all checks (``/health``)."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


class Phase(StrEnum):
    """Where the process is in its lifecycle: starting -> ready -> draining -> stopped."""

    STARTING = "starting"
    READY = "ready"
    DRAINING = "draining"
    STOPPED = "stopped"


STATUS_VALUE = {Status.HEALTHY: 1.0, Status.DEGRADED: 0.5, Status.UNHEALTHY: 0.0}


@dataclass(frozen=True)
class CheckResult:
    """What a check returns: a status and a one-line detail for ``/health``."""

    status: Status
    detail: str = ""

    @classmethod
    def healthy(cls, detail: str = "") -> CheckResult:
        """A healthy result."""
        return cls(Status.HEALTHY, detail)

    @classmethod
    def degraded(cls, detail: str = "") -> CheckResult:
        """Working, but worse than it should (degrades ``/health``; readiness stays)."""
        return cls(Status.DEGRADED, detail)

    @classmethod
    def unhealthy(cls, detail: str = "") -> CheckResult:
        """Failing (makes the replica unready if the check is critical)."""
        return cls(Status.UNHEALTHY, detail)


CheckFn = Callable[[], Awaitable[CheckResult | bool | None]]


@dataclass
class HealthCheck:
    """One registered check: its settings and its last result (from :meth:`Health.add`)."""

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
        """The check as ``/health`` shows it."""
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
        self.checks: dict[str, HealthCheck] = {}
        self._in_flight = in_flight or (lambda: 0)
        self._lifespans = 0
        self._gauge: Gauge | None = None
        if registry is not None:
            self.bind_registry(registry)

    def bind_registry(self, registry: CollectorRegistry) -> None:
        """Export every check's status as ``lookout_health_check_status`` in ``registry``."""
        spec = m.HEALTH_CHECK_STATUS
        self._gauge = Gauge(spec.name, spec.help, spec.labels, registry=registry)
        for check in self.checks.values():
            self._gauge.labels(check.name).set(STATUS_VALUE[check.status])

    def bind_in_flight(self, in_flight: Callable[[], int]) -> None:
        """Read the number of requests in flight from ``in_flight`` (what :meth:`drain` waits for)."""
        self._in_flight = in_flight

    # ------------------------------------------------------------------ checks
    def add(
        self, name: str, fn: CheckFn, *, critical: bool = False, timeout: float = 2.0, ttl: float = 5.0
    ) -> HealthCheck:
        """Register ``fn`` as the check ``name``: bounded by ``timeout`` seconds, its result cached for ``ttl``
        seconds; a ``critical`` check failing makes the replica unready. Names are unique."""
        if name in self.checks:
            raise ValueError(f"health check {name!r} is registered twice")
        check = HealthCheck(name, fn, critical=critical, timeout=timeout, ttl=ttl)
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

    async def _run(self, check: HealthCheck) -> None:
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

    async def evaluate(self, check: HealthCheck) -> None:
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
        """Evaluate every check (each cached and single-flight, as :meth:`evaluate`)."""
        if self.checks:
            await asyncio.gather(*(self.evaluate(c) for c in self.checks.values()))

    # ------------------------------------------------------------------ lifecycle
    def lifespan_started(self) -> None:
        """The server's lifespan has started: ready (the instrumentation calls it)."""
        self._lifespans += 1
        if self.phase in (Phase.STARTING, Phase.STOPPED):
            self.phase = Phase.READY

    def lifespan_stopped(self) -> None:
        """A lifespan has ended; stopped once the last one has."""
        self._lifespans = max(0, self._lifespans - 1)
        if self._lifespans == 0:
            self.phase = Phase.STOPPED

    def mark_ready(self) -> None:
        """Ready, whatever the lifespan says (servers without one)."""
        self.phase = Phase.READY

    def start_draining(self) -> None:
        """No longer ready (unless stopped already); in-flight requests go on."""
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
        """Seconds since this object was created."""
        return self._clock() - self.started_at

    def live(self) -> bool:
        """Liveness: true until the process has stopped serving; never looks at a check."""
        return self.phase is not Phase.STOPPED

    def started(self) -> bool:
        """Startup: true once the lifespan has started."""
        return self.phase is not Phase.STARTING

    def ready(self) -> bool:
        """Readiness: in the ready phase and no critical check unhealthy."""
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
        """The ``/health`` body: aggregate status, phase, readiness, version, uptime and every check."""
        return {
            "status": self.status().value,
            "phase": self.phase.value,
            "ready": self.ready(),
            "version": __version__,
            "uptime_seconds": round(self.uptime(), 3),
            "checks": {name: c.snapshot() for name, c in sorted(self.checks.items())},
        }
