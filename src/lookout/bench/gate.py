"""The CI gate's choice of runs: which saved runs ``lookout bench compare`` sets against each other (two run ids,
or a candidate against the complete runs of the same target and scenario before it; a run that measured no
requests is neither), and its default strictness.
Light on purpose (no numpy): the command line imports it to show the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lookout.bench.history import History
    from lookout.bench.results import RunResult

DEFAULT_THRESHOLD = 0.10
"""Relative worsening that fails the gate."""
DEFAULT_ALPHA = 0.01
"""Significance level of the tests."""
DEFAULT_MIN_LATENCY_CHANGE_S = 0.001
"""A latency percentile that moved by less than this (seconds) never fails: at sub-millisecond latencies the
scheduler and the garbage collector of a busy machine move a p99 by more than any relative threshold, and no
latency policy (p99 < 100 ms) is near."""


class SelectionError(Exception):
    """The runs asked for cannot be compared (one line for the user)."""


@dataclass(frozen=True)
class Selection:
    baseline: list[RunResult]
    candidate: RunResult
    label: str
    """Which runs, in words: "run 7 vs run 5", "run 9 vs the 5 runs before it"."""

    @property
    def same_shape(self) -> bool:
        """Whether the runs used the same scenario and load shape (a comparison across shapes is noted)."""
        return all(run.fingerprint == self.candidate.fingerprint for run in self.baseline)


def complete_result(history: History, run_id: int) -> RunResult:
    record = history.get(run_id)
    if record.result is None:
        raise SelectionError(f"run {run_id} did not complete (interrupted?): compare complete runs only")
    if not _measured(record.result):
        raise SelectionError(
            f"run {run_id} measured no requests: compare runs that did (a longer --duration, or --requests N)"
        )
    return record.result


def _measured(result: RunResult) -> bool:
    """Whether the run sent any request in its measured time: one that did not has nothing to compare."""
    return result.overall.requests > 0


def select_runs(history: History, run_ids: list[int], baseline: int | None) -> Selection:
    """Run B against run A (``run_ids`` = [A, B]), or with ``baseline`` = N the candidate (the one run id given,
    else the latest complete run) against the N complete runs of its target and scenario before it.
    Raises SelectionError, or the history's HistoryError for a run that does not exist."""
    if baseline is None:
        if len(run_ids) != 2:
            raise SelectionError("give two run ids (A B), or --baseline N")
        first, second = run_ids
        return Selection(
            [complete_result(history, first)], complete_result(history, second), f"run {second} vs run {first}"
        )
    if baseline < 1 or len(run_ids) > 1:
        raise SelectionError("--baseline N takes N >= 1 and at most one run id (the candidate)")
    candidate = history.get(run_ids[0]) if run_ids else history.latest_complete()
    before = [r.result for r in history.baseline(candidate, baseline) if r.result is not None and _measured(r.result)]
    if not before:
        raise SelectionError(f"run {candidate.id} has no earlier complete run of the same target and scenario")
    result = complete_result(history, candidate.id)
    return Selection(before, result, f"run {candidate.id} vs the {len(before)} runs before it")
