"""The regression test: a planted slowdown is flagged, the same distribution is not; history and capacity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lookout.bench.capacity import Policy, capacity_of, write_capacity
from lookout.bench.compare import compare_runs
from lookout.bench.history import History, HistoryError
from lookout.bench.results import Recorder, RunResult
from lookout.bench.scenario import Operation, Scenario
from lookout.cli import app
from tests.unit.bench_fakes import synthetic

SCENARIO = Scenario(operations=[Operation(tool="echo")])


def verdicts(baseline: list[RunResult], candidate: RunResult, **kw: float) -> dict[str, bool]:
    return {check.name: check.regression for check in compare_runs(baseline, candidate, **kw).checks}


def test_same_distribution_passes() -> None:
    comparison = compare_runs([synthetic(1)], synthetic(2))
    assert not comparison.regression, comparison


def test_planted_latency_regression_is_flagged() -> None:
    found = verdicts([synthetic(1)], synthetic(2, median_s=0.0075))  # +50 %
    assert found["latency p50"] and found["latency p99"]
    assert not found["throughput"]


def test_a_significant_but_tiny_shift_passes_the_threshold() -> None:
    found = verdicts([synthetic(1, seconds=60)], synthetic(2, seconds=60, median_s=0.00515))  # +3 %
    assert not any(found.values()), found


def test_a_big_but_insignificant_difference_does_not_fail() -> None:
    # Two requests each: p50 moves a lot, but two samples cannot show it is not chance.
    found = verdicts([synthetic(1, seconds=1, rps=2)], synthetic(2, seconds=1, rps=2, median_s=0.01))
    assert not found["latency p50"]


def test_a_slower_tail_is_judged_on_the_tail() -> None:
    comparison = compare_runs([synthetic(1)], synthetic(2, tail_every=40, tail_s=0.05))  # 2.5 % of calls +50 ms
    checks = {check.name: check for check in comparison.checks}
    assert checks["latency p99"].regression and checks["latency p99"].p_value is not None
    assert checks["latency p99"].p_value < 1e-6
    assert not checks["latency p50"].regression
    assert checks["latency p50"].p_value is not None and checks["latency p50"].p_value > 0.01


def test_sub_millisecond_jitter_in_the_tail_is_not_a_regression() -> None:
    # Every 60th call 0.6 ms late at a 0.3 ms median: p99 rises by 45 %, by less than half a millisecond.
    fast, jittery = (
        synthetic(1, median_s=0.0003, seconds=20),
        synthetic(2, median_s=0.0003, seconds=20, tail_every=60, tail_s=0.0006),
    )
    by_default = {check.name: check for check in compare_runs([fast], jittery).checks}
    p99 = by_default["latency p99"]
    assert p99.change > 0.4 and p99.p_value is not None and p99.p_value < 0.01  # significant and large, relatively
    assert not p99.regression
    assert verdicts([fast], jittery, min_latency_change_s=0.0)["latency p99"]


def test_throughput_drop_is_flagged() -> None:
    found = verdicts([synthetic(1, rps=200)], synthetic(2, rps=100))
    assert found["throughput"]


def test_error_ratio_rise_is_flagged() -> None:
    found = verdicts([synthetic(1)], synthetic(2, error_every=100))
    assert found["error ratio"]


def test_baseline_of_several_runs_is_pooled() -> None:
    comparison = compare_runs([synthetic(1), synthetic(3), synthetic(4)], synthetic(2, median_s=0.01))
    assert comparison.baseline_runs == 3 and comparison.regression


def test_history_keeps_runs_and_finds_the_baseline(tmp_path: Path) -> None:
    with History.in_dir(tmp_path) as history:
        ids = [history.begin(SCENARIO, "t", revision=f"rev{i}") for i in range(4)]
        for run_id in ids[:3]:
            history.finish(run_id, synthetic(run_id))
        other = history.begin(SCENARIO.with_load(concurrency=99), "t")
        history.finish(other, synthetic(9))
        history.fail(history.begin(SCENARIO, "t"))
        records = history.runs()
        assert [r.id for r in records] == [6, 5, 4, 3, 2, 1]
        assert [r.status for r in records] == ["failed", "complete", "running", "complete", "complete", "complete"]
        assert records[-1].target_revision == "rev0" and records[-1].host["cpus"]
        assert records[-1].result == synthetic(1)
        # The baseline of run 3: the complete runs before it with the same fingerprint, newest first.
        assert [r.id for r in history.baseline(history.get(3), 5)] == [2, 1]
        assert history.integrity() == "ok"
        with pytest.raises(HistoryError, match="no run 42"):
            history.get(42)


def test_unusable_history_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bench.sqlite").mkdir()
    with pytest.raises(HistoryError, match="cannot open the benchmark history"):
        History.in_dir(tmp_path)


def test_capacity_is_the_best_run_within_the_policy(tmp_path: Path) -> None:
    with History.in_dir(tmp_path) as history:
        for median, rps in ((0.005, 100), (0.005, 300), (0.2, 900)):  # the 900/s run breaks p99 < 100 ms
            history.finish(history.begin(SCENARIO, "t"), synthetic(1, median_s=median, rps=rps))
        history.finish(history.begin(SCENARIO, "t"), synthetic(1, rps=800, error_every=10))  # 10 % errors
        capacity = capacity_of(history.complete_runs("t"), Policy.of())
    assert capacity is not None and capacity.run_id == 2
    assert capacity.capacity_rps == pytest.approx(300, rel=1e-2)
    path = write_capacity(tmp_path, capacity, Policy.of())
    document = json.loads(path.read_text())
    assert document["policy"] == {"p99_seconds": 0.1, "max_error_ratio": 0.001}
    assert document["targets"]["t"]["capacity_rps"] == pytest.approx(300, rel=1e-2)
    assert document["targets"]["t"]["run_id"] == 2


def test_compare_cli_exit_codes(tmp_path: Path) -> None:
    with History.in_dir(tmp_path) as history:
        for seed, median in ((1, 0.005), (2, 0.005), (3, 0.005), (4, 0.02)):
            history.finish(history.begin(SCENARIO, "t"), synthetic(seed, median_s=median))
        history.begin(SCENARIO, "t")  # a run that never finished
    runner = CliRunner()
    base = ["bench", "compare", "--data-dir", str(tmp_path)]
    assert runner.invoke(app, [*base, "1", "2"]).exit_code == 0
    result = runner.invoke(app, [*base, "1", "4", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["regression"] is True
    assert runner.invoke(app, [*base, "--baseline", "2", "3"]).exit_code == 0
    assert runner.invoke(app, [*base, "--baseline", "3"]).exit_code == 1  # latest complete run: 4
    for args, message in (
        (["1", "5"], "run 5 did not complete"),
        (["1", "9"], "no run 9"),
        (["1"], "give two run ids"),
        (["--baseline", "3", "1"], "run 1 has no earlier complete run"),
        (["1", "2", "--threshold", "0"], "--threshold must be a positive ratio"),
        (["1", "2", "--min-latency-change-ms", "-1"], "--min-latency-change-ms must be zero or more"),
    ):
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output


def test_reading_commands_do_not_create_a_history(tmp_path: Path) -> None:
    for command in (["history"], ["compare", "1", "2"]):
        result = CliRunner().invoke(app, ["bench", *command, "--data-dir", str(tmp_path / "none")])
        assert result.exit_code == 2
        assert result.output.startswith(f"lookout: no benchmark history in {tmp_path / 'none'}")
    assert not (tmp_path / "none").exists()


def nothing_measured() -> RunResult:
    return Recorder(measure_start=0.0).result(
        target="t", scenario="default", fingerprint="f", model="closed", concurrency=4, rate=None
    )


def test_checks_that_cannot_reach_alpha_say_so() -> None:
    # One second: one per-second rate per run, and too few requests above the p99 cut for Fisher's test.
    comparison = compare_runs([synthetic(1, seconds=1)], synthetic(2, seconds=1))
    assert comparison.insufficient == ("latency p99", "throughput")
    assert not comparison.regression and not comparison.judged_nothing
    # One request cannot make any test significant.
    assert compare_runs([synthetic(1)], synthetic(2, seconds=1, rps=1)).judged_nothing
    assert compare_runs([synthetic(1)], synthetic(2)).insufficient == ()


def test_the_gate_refuses_runs_that_measured_nothing_or_too_little(tmp_path: Path) -> None:
    with History.in_dir(tmp_path) as history:
        history.finish(history.begin(SCENARIO, "t"), synthetic(1))  # 1
        history.finish(history.begin(SCENARIO, "t"), nothing_measured())  # 2
        history.finish(history.begin(SCENARIO, "t"), synthetic(3, seconds=1, rps=1))  # 3: one request
        history.finish(history.begin(SCENARIO, "t"), synthetic(4, seconds=1))  # 4: one second
        history.finish(history.begin(SCENARIO, "t"), synthetic(5))  # 5
    runner = CliRunner()
    base = ["bench", "compare", "--data-dir", str(tmp_path)]
    for args in (["1", "2"], ["2", "1"]):
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == 2, result.output
        assert result.output.strip() == (
            "lookout: run 2 measured no requests: compare runs that did (a longer --duration, or --requests N)"
        )
    short = runner.invoke(app, [*base, "1", "3"])
    assert short.exit_code == 2, short.output
    assert "insufficient samples" in short.stdout and "no regression" not in short.stdout
    assert short.stderr.strip() == (
        "lookout: run 3 vs run 1: too few samples for any test to reach --alpha 0.01: compare longer runs "
        "(--duration, --requests)"
    )
    partly = runner.invoke(app, [*base, "1", "4", "--json"])
    assert partly.exit_code == 0, partly.output
    document = json.loads(partly.stdout)
    assert document["insufficient_samples"] == ["throughput"]  # one per-second rate
    assert [c["insufficient"] for c in document["checks"]] == [False, False, False, True, False]
    assert partly.stderr.strip() == "lookout: note: too few samples to test throughput"
    # The empty run is no baseline: run 5 is judged against runs 4, 3 and 1.
    pooled = runner.invoke(app, [*base, "--baseline", "4"])
    assert pooled.exit_code == 0, pooled.output
    assert "run 5 vs the 3 runs before it" in pooled.stdout


def test_the_consoles_verdict_of_a_run_too_short_to_judge_is_not_ok(tmp_path: Path) -> None:
    from lookout.console.bench import bench_history

    with History.in_dir(tmp_path) as history:
        for seed in (1, 2):  # a request each: no test can tell anything from two samples
            history.finish(history.begin(SCENARIO, "t"), synthetic(seed, seconds=1, rps=1))
        for seed in (3, 4):
            history.finish(history.begin(SCENARIO, "u"), synthetic(seed))
    runs = bench_history(tmp_path)
    assert [run.verdict for run in runs["t"]] == ["first", "insufficient samples"]
    assert [run.verdict for run in runs["u"]] == ["first", "ok"]
