"""Which runs `lookout bench compare` sets against each other: two run ids, or a candidate against the complete
runs of its target and scenario before it; anything else is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from lookout.bench.gate import SelectionError, select_runs
from lookout.bench.history import History, HistoryError
from lookout.bench.scenario import Operation, Scenario
from tests.unit.bench_fakes import synthetic

ECHO = Scenario(operations=[Operation(tool="echo")])
LIST = Scenario(operations=[Operation(method="tools/list")])


@pytest.fixture
def history(tmp_path: Path) -> History:
    history = History.in_dir(tmp_path)
    for seed in (1, 2, 3):  # runs 1-3: echo on t
        history.finish(history.begin(ECHO, "t"), synthetic(seed))
    history.finish(history.begin(LIST, "t"), synthetic(4).model_copy(update={"fingerprint": "g"}))  # run 4
    history.begin(ECHO, "t")  # run 5: never finished
    history.finish(history.begin(ECHO, "t"), synthetic(6))  # run 6: the latest complete echo run
    return history


def test_two_run_ids(history: History) -> None:
    selection = select_runs(history, [1, 4], None)
    assert selection.label == "run 4 vs run 1"
    assert len(selection.baseline) == 1 and not selection.same_shape  # echo vs tools/list is noted


def test_baseline_takes_the_same_target_and_scenario_before_the_latest(history: History) -> None:
    selection = select_runs(history, [], 5)
    assert selection.label == "run 6 vs the 3 runs before it"  # runs 1-3; not 4 (scenario) nor 5 (incomplete)
    assert selection.same_shape
    assert select_runs(history, [3], 1).label == "run 3 vs the 1 runs before it"


@pytest.mark.parametrize(
    ("ids", "baseline", "message"),
    [
        ([1], None, "give two run ids (A B), or --baseline N"),
        ([1, 2, 3], None, "give two run ids"),
        ([], 0, "--baseline N takes N >= 1"),
        ([1, 2], 3, "at most one run id"),
        ([1, 5], None, "run 5 did not complete"),
        ([1], 2, "run 1 has no earlier complete run"),
    ],
)
def test_what_cannot_be_compared_is_one_line(
    history: History, ids: list[int], baseline: int | None, message: str
) -> None:
    with pytest.raises(SelectionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        select_runs(history, ids, baseline)


def test_an_unknown_run_is_the_history_s_error(history: History) -> None:
    with pytest.raises(HistoryError):
        select_runs(history, [1, 42], None)
