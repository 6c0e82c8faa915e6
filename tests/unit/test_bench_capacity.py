"""The capacity search: doubling clients until the policy breaks or throughput stops growing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lookout.bench import cli as bench_cli
from lookout.bench.capacity import CapacityFileError, Policy, capacity_of, search_capacity, write_capacity
from lookout.bench.history import History
from lookout.bench.results import RunResult
from lookout.bench.runner import BenchRunner, RunFailed
from lookout.bench.scenario import Operation, Scenario
from lookout.cli import app
from lookout.config.model import SloSettings
from tests.unit.bench_fakes import execute_synthetic, synthetic

SCENARIO = Scenario(operations=[Operation(tool="echo")])


def replica(cores: int, service_s: float) -> tuple[list[int], Callable[[int], RunResult]]:
    """A server with ``cores`` workers of ``service_s`` each: throughput grows until the workers are busy,
    then clients only queue (latency grows with them)."""
    asked: list[int] = []

    def run_step(clients: int) -> RunResult:
        asked.append(clients)
        throughput = min(clients, cores) / service_s
        latency = service_s * max(1.0, clients / cores)
        return synthetic(clients, median_s=latency, rps=int(throughput), seconds=4)

    return asked, run_step


def test_search_stops_when_throughput_stops_growing() -> None:
    asked, run_step = replica(cores=4, service_s=0.005)
    steps, reason = search_capacity(run_step, Policy.of())
    assert asked == [1, 2, 4, 8, 16]  # 8 and 16 clients add nothing over 4
    assert "stopped growing" in reason
    assert all(step.within_policy for step in steps)


def test_search_stops_when_the_latency_policy_breaks() -> None:
    asked, run_step = replica(cores=64, service_s=0.08)  # p99 of the lognormal (2x the median) passes 100 ms
    steps, reason = search_capacity(run_step, Policy.of())
    assert asked == [1] and not steps[0].within_policy
    assert "broke the policy" in reason


def test_search_stops_at_the_concurrency_limit() -> None:
    asked, run_step = replica(cores=1000, service_s=0.002)
    _, reason = search_capacity(run_step, Policy.of(), max_concurrency=8)
    assert asked == [1, 2, 4, 8] and "max-concurrency 8" in reason


def test_the_policy_is_lookout_yaml_s_slo() -> None:
    slo = SloSettings(latency_p99_threshold=0.05, error_ratio_threshold=0.01)
    policy = Policy.of(slo)
    assert (policy.p99_s, policy.max_error_ratio) == (0.05, 0.01)
    defaults = SloSettings()
    assert Policy.of() == Policy(defaults.latency_p99_threshold, defaults.error_ratio_threshold)
    assert str(Policy.of(slo)) == "p99 <= 50 ms, errors < 1.00%"


def test_a_stricter_latency_policy_stops_the_search_earlier() -> None:
    # 4 workers of 20 ms: a p99 of about 40 ms at 1 client (the lognormal's p99 is about 2x the median), more
    # once the clients queue; within the default 100 ms for a while, never within 30 ms.
    asked, run_step = replica(cores=4, service_s=0.02)
    steps, _ = search_capacity(run_step, Policy.of())
    assert steps[0].within_policy
    asked.clear()
    steps, reason = search_capacity(run_step, Policy.of(SloSettings(latency_p99_threshold=0.03)))
    assert asked == [1] and not steps[0].within_policy
    assert "broke the policy (p99 <= 30 ms" in reason


def test_capacity_counts_only_runs_within_the_configured_error_ratio(tmp_path: Path) -> None:
    with History.in_dir(tmp_path) as history:
        history.finish(history.begin(SCENARIO, "t"), synthetic(1, rps=100))
        history.finish(history.begin(SCENARIO, "t"), synthetic(2, rps=400, error_every=50))  # 2 % errors
        runs = history.complete_runs("t")
    lenient = Policy.of(SloSettings(error_ratio_threshold=0.05))
    strict = capacity_of(runs, Policy.of())
    assert strict is not None and strict.run_id == 1
    capacity = capacity_of(runs, lenient)
    assert capacity is not None and capacity.run_id == 2
    document = json.loads(write_capacity(tmp_path, capacity, lenient).read_text())
    assert document["policy"] == {"p99_seconds": 0.1, "max_error_ratio": 0.05}


def test_bench_reads_the_policy_from_config_and_refuses_a_bad_one(tmp_path: Path) -> None:
    example = (Path(__file__).resolve().parents[2] / "examples" / "lookout.yaml").read_text()
    bad = tmp_path / "lookout.yaml"
    bad.write_text(
        example.replace(
            "  heartbeat_receiver: local-sink",
            "  heartbeat_receiver: local-sink\n  slo: {latency_p99_threshold: -1}",
            1,
        )
    )
    result = CliRunner().invoke(app, ["bench", "run", "http://127.0.0.1:9/mcp", "--config", str(bad)])
    assert result.exit_code == 2
    assert "latency_p99_threshold" in result.output and "Traceback" not in result.output


def test_a_broken_capacity_file_is_refused_and_kept(tmp_path: Path) -> None:
    broken = '{"targets": {"other": {"capacity_rps": 812.4, "run_id": 7},}}\n'  # a trailing comma
    path = tmp_path / "capacity.json"
    path.write_text(broken)
    with History.in_dir(tmp_path) as history:
        history.finish(history.begin(SCENARIO, "t"), synthetic(1, rps=100))
        capacity = capacity_of(history.complete_runs("t"), Policy.of())
    assert capacity is not None
    with pytest.raises(CapacityFileError, match=r"capacity.json:1: not valid JSON .*move it aside"):
        write_capacity(tmp_path, capacity, Policy.of())
    assert path.read_text() == broken
    # The command refuses before the load runs (no server listens on port 9, the discard port).
    for command in (["run"], ["capacity"]):
        result = CliRunner().invoke(app, ["bench", *command, "http://127.0.0.1:9/mcp", "--data-dir", str(tmp_path)])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"lookout: {path}:1: not valid JSON"), lines
        assert f"mv {path} {path}.damaged" in lines[0]
        assert path.read_text() == broken


def test_capacity_is_written_after_each_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step that fails after a good one leaves the good one's capacity in capacity.json."""

    def execute(runner: BenchRunner, scenario: Scenario) -> tuple[int | None, RunResult]:
        if scenario.load.concurrency > 1:
            raise RunFailed("http://127.0.0.1:9/mcp: the target went away", code=1)
        return execute_synthetic(runner, scenario)

    monkeypatch.setattr(bench_cli, "_execute", execute)
    result = CliRunner().invoke(
        app, ["bench", "capacity", "http://127.0.0.1:9/mcp", "--name", "demo", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 1, result.output
    assert result.output.strip().endswith("lookout: http://127.0.0.1:9/mcp: the target went away")
    document = json.loads((tmp_path / "capacity.json").read_text())
    assert document["targets"]["demo"]["run_id"] == 1
