"""The ``lookout bench`` run history per target, with each run's regression verdict against the runs before
it (:func:`lookout.bench.compare.compare_runs`, as ``lookout bench compare --baseline`` decides it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

BASELINE_RUNS: Final = 3
"""Earlier complete runs of the same target and scenario that each run is compared with."""


class BenchUnavailable(Exception):
    """No history to show; the message says why and what to run."""


@dataclass(frozen=True)
class BenchRun:
    id: int
    started_at: str
    scenario: str
    throughput: float
    p50: float
    p99: float
    errors: int
    error_ratio: float
    verdict: str
    """regression, ok, insufficient samples (too few for any test to tell), or first (nothing earlier to
    compare with)."""
    regressed_checks: tuple[str, ...] = ()


def bench_history(data_dir: Path, limit: int = 200) -> dict[str, list[BenchRun]]:
    """Complete runs per target, oldest first. Reads only: a missing history is reported, not created."""
    try:
        from lookout.bench.compare import compare_runs
        from lookout.bench.history import HISTORY_FILE, History, HistoryError
    except ImportError as exc:
        raise BenchUnavailable(
            f"benchmark history needs the bench extra: pip install 'mcp-lookout[bench]' ({exc})"
        ) from None
    path = data_dir / HISTORY_FILE
    if not path.is_file():
        raise BenchUnavailable(f"no benchmark history at {path}: run `lookout bench run` to record one")
    try:
        with History(path) as history:
            runs: dict[str, list[BenchRun]] = {}
            for record in reversed(history.runs(limit=limit)):
                if record.result is None:
                    continue
                result = record.result
                earlier = [r.result for r in history.baseline(record, BASELINE_RUNS) if r.result is not None]
                verdict, regressed = "first", tuple[str, ...]()
                if earlier:
                    comparison = compare_runs(earlier, result)
                    regressed = tuple(c.name for c in comparison.checks if c.regression)
                    if comparison.regression:
                        verdict = "regression"
                    else:  # a run too short for any test to reach alpha did not pass: it was not judged
                        verdict = "insufficient samples" if comparison.judged_nothing else "ok"
                runs.setdefault(record.target, []).append(
                    BenchRun(
                        record.id,
                        record.started_at,
                        record.scenario,
                        result.overall.throughput_rps,
                        result.overall.response_time.p50,
                        result.overall.response_time.p99,
                        result.failed,
                        result.overall.error_ratio,
                        verdict,
                        regressed,
                    )
                )
            return runs
    except HistoryError as exc:
        raise BenchUnavailable(str(exc)) from None
