"""Capacity of one replica: the highest throughput among the target's saved runs that met the policy of
lookout.yaml (``alerting.slo``: p99 at most ``latency_p99_threshold``, error ratio below
``error_ratio_threshold``; 100 ms and 0.1 % by default). Written to ``capacity.json`` in the data dir for the
stack generator, and exported as ``lookout_bench_capacity_rps``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lookout.bench.history import RunRecord
from lookout.bench.results import RunResult
from lookout.config.model import SloSettings

CAPACITY_FILE = "capacity.json"


@dataclass(frozen=True)
class Policy:
    """What a run must meet to count as served: the P1 alerts' thresholds, so capacity is what a replica
    serves before it pages."""

    p99_s: float
    max_error_ratio: float

    @classmethod
    def of(cls, slo: SloSettings | None = None) -> Policy:
        """The policy of ``alerting.slo`` (its defaults when no lookout.yaml is given)."""
        slo = slo if slo is not None else SloSettings()
        return cls(slo.latency_p99_threshold, slo.error_ratio_threshold)

    def met_by(self, result: RunResult) -> bool:
        overall = result.overall
        return (
            overall.requests > 0
            and overall.response_time.p99 <= self.p99_s
            and overall.error_ratio < self.max_error_ratio
        )

    def __str__(self) -> str:
        return f"p99 <= {self.p99_s * 1000:g} ms, errors < {self.max_error_ratio:.2%}"


@dataclass(frozen=True)
class Capacity:
    target: str
    capacity_rps: float
    run_id: int
    measured_at: str
    scenario: str


def capacity_of(runs: list[RunRecord], policy: Policy) -> Capacity | None:
    """The best run of one target that met ``policy``, or None if none did."""
    best: Capacity | None = None
    for run in runs:
        if run.result is None or not policy.met_by(run.result):
            continue
        rps = run.result.overall.throughput_rps
        if best is None or rps > best.capacity_rps:
            best = Capacity(run.target, rps, run.id, run.finished_at or run.started_at, run.scenario)
    return best


class CapacityFileError(Exception):
    """capacity.json cannot be read or merged into; one line for the user."""


def read_capacity_file(data_dir: Path) -> dict[str, Any]:
    """The document in ``data_dir/capacity.json`` ({} when there is none). A file that is not one is refused:
    writing over it would lose the other targets' capacities."""
    path = data_dir / CAPACITY_FILE
    fix = f"fix it or move it aside (mv {path} {path}.damaged)"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CapacityFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise CapacityFileError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}): {fix}") from None
    except ValueError as exc:  # bytes that are not UTF-8
        raise CapacityFileError(f"{path}: not valid JSON ({exc}): {fix}") from None
    if not isinstance(data, dict) or not isinstance(data.get("targets", {}), dict):
        raise CapacityFileError(f"{path}: expected an object with a `targets` object: {fix}")
    return data


def write_capacity(data_dir: Path, capacity: Capacity, policy: Policy) -> Path:
    """Merge ``capacity`` into ``data_dir/capacity.json`` (atomically: readers never see half a file).
    Raises CapacityFileError, leaving the file as it was, when the file is there but unreadable."""
    targets = dict(read_capacity_file(data_dir).get("targets", {}))
    targets[capacity.target] = {
        "capacity_rps": round(capacity.capacity_rps, 3),
        "run_id": capacity.run_id,
        "measured_at": capacity.measured_at,
        "scenario": capacity.scenario,
    }
    document = {
        "policy": {"p99_seconds": policy.p99_s, "max_error_ratio": policy.max_error_ratio},
        "targets": dict(sorted(targets.items())),
    }
    path = data_dir / CAPACITY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(temporary, path)
    return path


GROWTH_TO_CONTINUE = 0.05
STALLED_STEPS = 2
"""Two steps in a row that do not beat the best throughput so far by 5 % mean the replica is saturated
(one such step may be noise on a shared machine)."""


@dataclass(frozen=True)
class Step:
    concurrency: int
    result: RunResult
    within_policy: bool


def search_capacity(
    run_step: Callable[[int], RunResult], policy: Policy, max_concurrency: int = 256
) -> tuple[list[Step], str]:
    """Closed-loop steps at doubling concurrency (1, 2, 4, ...) until ``policy`` breaks, throughput stops
    growing, or ``max_concurrency`` is passed. Returns the steps and why the search stopped."""
    steps: list[Step] = []
    concurrency, best, stalled = 1, 0.0, 0
    while concurrency <= max_concurrency:
        result = run_step(concurrency)
        step = Step(concurrency, result, policy.met_by(result))
        steps.append(step)
        if not step.within_policy:
            return steps, f"{concurrency} clients broke the policy ({policy})"
        throughput = result.overall.throughput_rps
        stalled = stalled + 1 if throughput < best * (1 + GROWTH_TO_CONTINUE) else 0
        best = max(best, throughput)
        if stalled >= STALLED_STEPS:
            return steps, f"throughput stopped growing (2 steps without +5 %) at {concurrency} clients"
        concurrency *= 2
    return steps, f"reached --max-concurrency {max_concurrency}"
