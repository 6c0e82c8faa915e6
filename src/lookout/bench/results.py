"""What a run measured: the recorder the load engine feeds, and the serialisable result it produces."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from lookout.bench.histogram import LatencyHistogram

PERCENTILES = (50.0, 90.0, 99.0, 99.9)
"""The latency percentiles every report shows (plus max)."""


class LatencySummary(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    p999: float = Field(alias="p99.9")
    max: float

    @classmethod
    def of(cls, histogram: LatencyHistogram) -> LatencySummary:
        p = histogram.percentiles(PERCENTILES)
        return cls.model_validate(
            {
                "count": histogram.count,
                "mean": histogram.mean,
                "p50": p[50.0],
                "p90": p[90.0],
                "p99": p[99.0],
                "p99.9": p[99.9],
                "max": histogram.max,
            }
        )


class OperationResult(BaseModel):
    """Results of one operation of the mix (or of all of them)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    requests: int
    ok: int
    errors: dict[str, int]
    throughput_rps: float = Field(description="Successful requests per second.")
    error_ratio: float
    response_time: LatencySummary = Field(description="From the intended start: includes queueing in the client.")
    service_time: LatencySummary = Field(description="From the actual send to the answer.")
    response_histogram: str = Field(description="HdrHistogram of the response time (base64), for comparisons.")


class RunResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    target: str
    scenario: str
    fingerprint: str
    model: str
    concurrency: int
    rate: float | None
    elapsed_s: float = Field(description="Measured time (after the warm-up).")
    warmup_requests: int
    overall: OperationResult
    operations: dict[str, OperationResult]
    per_second: list[int] = Field(description="Successful requests in each full second of the measured time.")

    @property
    def failed(self) -> int:
        return self.overall.requests - self.overall.ok


@dataclass
class _Tally:
    response: LatencyHistogram = field(default_factory=LatencyHistogram)
    service: LatencyHistogram = field(default_factory=LatencyHistogram)
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def record(self, response_s: float, service_s: float, error_type: str) -> None:
        # Failed requests count in the latency too: a fast error must not make the server look fast,
        # but a slow timeout must show up in the tail.
        self.response.record(response_s)
        self.service.record(service_s)
        if error_type:
            self.errors[error_type] += 1
        else:
            self.ok += 1

    def result(self, elapsed_s: float) -> OperationResult:
        requests = self.ok + sum(self.errors.values())
        return OperationResult(
            requests=requests,
            ok=self.ok,
            errors=dict(sorted(self.errors.items())),
            throughput_rps=self.ok / elapsed_s if elapsed_s > 0 else 0.0,
            error_ratio=(requests - self.ok) / requests if requests else 0.0,
            response_time=LatencySummary.of(self.response),
            service_time=LatencySummary.of(self.service),
            response_histogram=self.response.encode(),
        )


@dataclass(frozen=True)
class LiveStats:
    """What the progress display shows while the run goes on."""

    elapsed_s: float
    warming_up: bool
    requests: int
    errors: int
    rate_rps: float
    p99_s: float


class Recorder:
    """Collects every completed request; the load engine calls :meth:`record` from its tasks."""

    def __init__(self, measure_start: float) -> None:
        self.measure_start = measure_start
        self.overall = _Tally()
        self.by_operation: dict[str, _Tally] = {}
        self.warmup_requests = 0
        self.last_end = measure_start
        self._per_second: Counter[int] = Counter()
        self._window: list[float] = []  # completion times of the last second, for the live rate

    def record(self, label: str, intended: float, start: float, end: float, error_type: str) -> None:
        self._window.append(end)
        if intended < self.measure_start:
            self.warmup_requests += 1
            return
        response_s, service_s = end - intended, end - start
        self.overall.record(response_s, service_s, error_type)
        tally = self.by_operation.get(label)
        if tally is None:
            tally = self.by_operation[label] = _Tally()
        tally.record(response_s, service_s, error_type)
        self.last_end = max(self.last_end, end)
        if not error_type:
            # Second n holds completions in (n, n+1]: the last request of a 1 s run belongs to second 0.
            self._per_second[max(math.ceil(end - self.measure_start) - 1, 0)] += 1

    def live(self, now: float, started: float) -> LiveStats:
        cutoff = now - 1.0
        self._window = [t for t in self._window if t > cutoff]
        return LiveStats(
            elapsed_s=now - started,
            warming_up=now < self.measure_start,
            requests=self.overall.ok + sum(self.overall.errors.values()),
            errors=sum(self.overall.errors.values()),
            rate_rps=float(len(self._window)),
            p99_s=self.overall.response.percentile(99.0),
        )

    def elapsed(self) -> float:
        return max(self.last_end - self.measure_start, 0.0)

    def per_second(self) -> list[int]:
        full_seconds = int(self.elapsed())
        return [self._per_second.get(second, 0) for second in range(full_seconds)]

    def result(
        self, *, target: str, scenario: str, fingerprint: str, model: str, concurrency: int, rate: float | None
    ) -> RunResult:
        elapsed = self.elapsed()
        return RunResult(
            target=target,
            scenario=scenario,
            fingerprint=fingerprint,
            model=model,
            concurrency=concurrency,
            rate=rate,
            elapsed_s=elapsed,
            warmup_requests=self.warmup_requests,
            overall=self.overall.result(elapsed),
            operations={label: tally.result(elapsed) for label, tally in sorted(self.by_operation.items())},
            per_second=self.per_second(),
        )
