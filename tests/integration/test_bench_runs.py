"""`lookout bench` against the real demo server: results, a planted regression caught by compare, a crash
mid-run that leaves the history intact, and the export to a real Pushgateway."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner, Result

from lookout import metrics
from lookout.cli import app
from tests.support import DemoServer, lookout_argv, start, start_pushgateway, wait_until

pytestmark = pytest.mark.integration

# Short, bounded runs at a modest fixed rate: results reflect the server, not this shared machine's load.
SHORT_RUN = ["--rate", "40", "--duration", "1s", "--warmup", "300ms", "--tool", 'echo={"text": "hi"}']
# One client, back to back: every request meets the same conditions, so two runs of one server have the
# same latency distribution (concurrent requests make it multi-modal on a busy machine).
SEQUENTIAL_RUN = ["-c", "1", "--duration", "1500ms", "--warmup", "300ms", "--tool", 'echo={"text": "hi"}']


def bench(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(lookout_argv("bench", *args), capture_output=True, text=True, timeout=120)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def cli(*args: str) -> Result:
    """Reading commands (history, compare) run in-process: no interpreter start-up per call."""
    return CliRunner().invoke(app, ["bench", *args])


def run_json(demo: DemoServer, data_dir: Path, *extra: str) -> dict[str, object]:
    done = bench(demo.url, "--data-dir", str(data_dir), "--json", *extra)
    document: dict[str, object] = json.loads(done.stdout)
    return document


def test_a_run_reports_every_operation_and_is_saved(shared_demo_server: DemoServer, tmp_path: Path) -> None:
    mix = ["--tool", 'echo={"text": "hi"}', "--tool", 'get_weather={"city": "mars"}', "--method", "tools/list"]
    result = run_json(shared_demo_server, tmp_path, "-c", "4", "--duration", "1s", "--warmup", "300ms", *mix)
    operations = result["operations"]
    assert isinstance(operations, dict) and set(operations) == {"echo", "get_weather", "tools/list"}
    assert operations["echo"]["ok"] == operations["echo"]["requests"] > 0
    assert operations["get_weather"]["errors"] == {"tool_error": operations["get_weather"]["requests"]}  # mars
    overall = result["overall"]
    assert isinstance(overall, dict)
    assert overall["requests"] == sum(op["requests"] for op in operations.values())
    latency = overall["response_time"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["p99.9"] <= latency["max"]
    history = json.loads(cli("history", "--data-dir", str(tmp_path), "--json").stdout)
    assert [(run["id"], run["status"]) for run in history] == [(result["run_id"], "complete")]


def test_compare_passes_the_same_server_and_flags_a_planted_regression(demo_server: DemoServer, tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    first = run_json(demo_server, tmp_path, *SEQUENTIAL_RUN)["run_id"]
    second = run_json(demo_server, tmp_path, *SEQUENTIAL_RUN)["run_id"]
    # A CI-style gate on a shared machine (a busy neighbour moves a sub-ms p99 by milliseconds); the planted
    # +50 ms is far beyond it.
    gate = ["--threshold", "0.5", "--min-latency-change-ms", "10", *data]
    same = cli("compare", str(first), str(second), *gate)
    assert same.exit_code == 0, same.output

    fault = httpx.put(f"{demo_server.management_url}/faults/echo", json={"latency_ms": 50}, timeout=5)
    assert fault.status_code == 200
    slow = run_json(demo_server, tmp_path, *SEQUENTIAL_RUN)["run_id"]
    flagged = cli("compare", str(second), str(slow), *gate, "--json")
    assert flagged.exit_code == 1, flagged.output
    checks = {c["name"]: c for c in json.loads(flagged.stdout)["checks"]}
    assert checks["latency p50"]["regression"] and checks["latency p50"]["change"] > 0.5
    # Against the baseline of the two earlier runs, too.
    assert cli("compare", "--baseline", "2", *gate).exit_code == 1


def served_echo(demo: DemoServer) -> float:
    """How many echo calls the demo server has answered (from its own metrics)."""
    count = f"{metrics.OPERATION_DURATION.name}_count"
    text = httpx.get(demo.metrics_url, timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(count) and '"echo"' in line
    )


def running_rows(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0])


def test_history_survives_a_crash_mid_run(shared_demo_server: DemoServer, tmp_path: Path) -> None:
    database = tmp_path / "bench.sqlite"
    argv = lookout_argv("bench", shared_demo_server.url, "--data-dir", str(tmp_path), "--duration", "60s", "-c", "2")
    before = served_echo(shared_demo_server)
    proc = start(argv, tmp_path / "bench.log")
    try:
        wait_until(lambda: running_rows(database), 30, what="the run's row in the history")
        # Let it send requests for a moment before the crash (bounded poll on the demo server's counter).
        wait_until(lambda: served_echo(shared_demo_server) > before + 20, 30, what="echo requests served")
    finally:
        proc.stop(signal.SIGKILL)
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    runs = json.loads(cli("history", "--data-dir", str(tmp_path), "--json").stdout)
    assert [run["status"] for run in runs] == ["running"]
    # The next run works and is not compared against the crashed one.
    run_json(shared_demo_server, tmp_path, *SHORT_RUN)
    alone = cli("compare", "--baseline", "5", "--data-dir", str(tmp_path))
    assert alone.exit_code == 2 and "no earlier complete run" in alone.stderr


def test_results_and_capacity_are_pushed_to_the_pushgateway(shared_demo_server: DemoServer, tmp_path: Path) -> None:
    gateway = start_pushgateway(tmp_path)
    try:
        extra = ["--pushgateway", gateway.url, "--name", "demo"]
        result = run_json(shared_demo_server, tmp_path, *SHORT_RUN, *extra)
        families = {f.name: f for f in text_string_to_metric_families(gateway.metrics_text())}
        throughput = families[metrics.BENCH_THROUGHPUT.name].samples
        assert [(s.labels["target"], s.labels["scenario"]) for s in throughput] == [("demo", "default")]
        assert throughput[0].value == pytest.approx(result["overall"]["throughput_rps"])  # type: ignore[index]
        quantiles = {s.labels["quantile"] for s in families[metrics.BENCH_LATENCY.name].samples}
        assert quantiles == {"0.5", "0.9", "0.99", "0.999", "1"}
        assert families[metrics.BENCH_ERROR_RATIO.name].samples[0].value == 0
        capacity = families[metrics.BENCH_CAPACITY.name].samples
        assert [s.labels["target"] for s in capacity] == ["demo"]
        written = json.loads((tmp_path / "capacity.json").read_text())
        assert written["targets"]["demo"]["capacity_rps"] == pytest.approx(capacity[0].value, rel=1e-3)
    finally:
        gateway.proc.stop()


def test_an_unreachable_pushgateway_is_one_line(shared_demo_server: DemoServer, tmp_path: Path) -> None:
    done = bench(
        shared_demo_server.url,
        "--data-dir",
        str(tmp_path),
        *SHORT_RUN,
        "--pushgateway",
        "http://127.0.0.1:9",
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("lookout: cannot push to the Pushgateway at http://127.0.0.1:9")
    assert len(done.stderr.strip().splitlines()) == 1


def test_capacity_search_saves_its_steps_and_the_best_one(shared_demo_server: DemoServer, tmp_path: Path) -> None:
    argv = ["capacity", shared_demo_server.url, "--step", "1s", "--warmup", "200ms", "--max-concurrency", "2"]
    done = bench(*argv, "--name", "demo", "--data-dir", str(tmp_path), "--tool", 'echo={"text": "hi"}', check=False)
    runs = json.loads(cli("history", "--data-dir", str(tmp_path), "--json").stdout)
    assert [run["status"] for run in runs] == ["complete", "complete"] or "broke the policy" in done.stdout
    within = [r for r in runs if r["p99_s"] <= 0.1 and r["error_ratio"] < 0.001]
    if not within:  # a loaded machine can push even one client past 100 ms: then there is no capacity
        assert done.returncode == 1 and "capacity unknown" in done.stderr
        assert not (tmp_path / "capacity.json").exists()
        return
    assert done.returncode == 0, done.stderr
    best = max(within, key=lambda r: r["throughput_rps"])
    written = json.loads((tmp_path / "capacity.json").read_text())["targets"]["demo"]
    assert written["run_id"] == best["id"]
    assert written["capacity_rps"] == pytest.approx(best["throughput_rps"], rel=1e-3)


def test_ctrl_c_marks_the_run_interrupted(shared_demo_server: DemoServer, tmp_path: Path) -> None:
    argv = lookout_argv("bench", shared_demo_server.url, "--data-dir", str(tmp_path), "--duration", "60s", "-c", "1")
    proc = start(argv, tmp_path / "bench.log")
    try:
        wait_until(lambda: running_rows(tmp_path / "bench.sqlite"), 30, what="the run's row in the history")
        proc.popen.send_signal(signal.SIGINT)
        assert proc.popen.wait(30) == 130, proc.output()
    finally:
        proc.stop()
    runs = json.loads(cli("history", "--data-dir", str(tmp_path), "--json").stdout)
    assert [run["status"] for run in runs] == ["interrupted"]
    assert "Traceback" not in proc.output()


def test_a_hanging_tool_counts_as_timeouts_and_the_run_still_ends(demo_server: DemoServer, tmp_path: Path) -> None:
    httpx.put(f"{demo_server.management_url}/faults/generate_report", json={"hang": True}).raise_for_status()
    mix = ["--tool", 'echo={"text": "hi"}', "--tool", 'generate_report={"topic": "x"}']
    result = run_json(demo_server, tmp_path, "-c", "2", "--duration", "1500ms", "--timeout", "200ms", *mix)
    operations = result["operations"]
    assert isinstance(operations, dict)
    hung = operations["generate_report"]
    assert hung["requests"] > 0 and hung["errors"] == {"timeout": hung["requests"]}
    assert operations["echo"]["ok"] > 0, "a timed-out request must not break the session for the next one"
