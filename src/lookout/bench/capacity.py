"""Capacity of one replica: the highest throughput among the target's saved runs that met the latency
policy (p99 at most 100 ms, error ratio below 0.1 %). Written to ``capacity.json`` in the data dir for the
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

CAPACITY_FILE = "capacity.json"
POLICY_P99_S = 0.1
POLICY_MAX_ERROR_RATIO = 0.001


def meets_policy(result: RunResult) -> bool:
    overall = result.overall
    return (
        overall.requests > 0
        and overall.response_time.p99 <= POLICY_P99_S
        and overall.error_ratio < POLICY_MAX_ERROR_RATIO
    )


@dataclass(frozen=True)
class Capacity:
    target: str
    capacity_rps: float
    run_id: int
    measured_at: str
    scenario: str


def capacity_of(runs: list[RunRecord]) -> Capacity | None:
    """The best run of one target that met the policy, or None if none did."""
    best: Capacity | None = None
    for run in runs:
        if run.result is None or not meets_policy(run.result):
            continue
        rps = run.result.overall.throughput_rps
        if best is None or rps > best.capacity_rps:
            best = Capacity(run.target, rps, run.id, run.finished_at or run.started_at, run.scenario)
    return best


def read_capacity_file(data_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((data_dir / CAPACITY_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_capacity(data_dir: Path, capacity: Capacity) -> Path:
    """Merge ``capacity`` into ``data_dir/capacity.json`` (atomically: readers never see half a file)."""
    data = read_capacity_file(data_dir)
    targets = data.get("targets") if isinstance(data.get("targets"), dict) else {}
    assert isinstance(targets, dict)
    targets[capacity.target] = {
        "capacity_rps": round(capacity.capacity_rps, 3),
        "run_id": capacity.run_id,
        "measured_at": capacity.measured_at,
        "scenario": capacity.scenario,
    }
    document = {
        "policy": {"p99_seconds": POLICY_P99_S, "max_error_ratio": POLICY_MAX_ERROR_RATIO},
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


def search_capacity(run_step: Callable[[int], RunResult], max_concurrency: int = 256) -> tuple[list[Step], str]:
    """Closed-loop steps at doubling concurrency (1, 2, 4, ...) until the latency policy breaks, throughput
    stops growing, or ``max_concurrency`` is passed. Returns the steps and why the search stopped."""
    steps: list[Step] = []
    concurrency, best, stalled = 1, 0.0, 0
    while concurrency <= max_concurrency:
        result = run_step(concurrency)
        step = Step(concurrency, result, meets_policy(result))
        steps.append(step)
        if not step.within_policy:
            policy = f"p99 <= {POLICY_P99_S * 1000:.0f} ms, errors < 0.1 %"
            return steps, f"{concurrency} clients broke the policy ({policy})"
        throughput = result.overall.throughput_rps
        stalled = stalled + 1 if throughput < best * (1 + GROWTH_TO_CONTINUE) else 0
        best = max(best, throughput)
        if stalled >= STALLED_STEPS:
            return steps, f"throughput stopped growing (2 steps without +5 %) at {concurrency} clients"
        concurrency *= 2
    return steps, f"reached --max-concurrency {max_concurrency}"
