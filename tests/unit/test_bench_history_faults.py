"""A damaged or locked bench.sqlite: every bench command stops with one line, exit 2, never a traceback and
never a listing of whatever rows still parse. One row that does not parse in a sound file costs that run
only: it is skipped with one line on stderr."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lookout.bench import cli as bench_cli
from lookout.bench.history import HISTORY_FILE, History, HistoryError
from lookout.bench.results import RunResult
from lookout.bench.runner import BenchRunner
from lookout.bench.scenario import Scenario
from lookout.cli import app
from tests.support import lookout_argv
from tests.unit.bench_fakes import synthetic

SCENARIO = Scenario.model_validate({"operations": [{"tool": "echo", "arguments": {"text": "hello"}}]})
UNREACHABLE = "http://127.0.0.1:9/mcp"  # the history is opened (and refused) before any connection


def _history_with_runs(data_dir: Path, runs: int = 200) -> Path:
    with History.in_dir(data_dir) as history:
        for _ in range(runs):
            history.begin(SCENARIO, "t")
    path = data_dir / HISTORY_FILE
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every row in the main file, none left in the WAL
    db.close()
    return path


def _damage_pages(path: Path) -> None:
    """Garble the b-tree header of every page after the first: the file still opens as SQLite."""
    raw = bytearray(path.read_bytes())
    page_size = int.from_bytes(raw[16:18], "big")
    for offset in range(page_size, len(raw), page_size):
        raw[offset : offset + 8] = b"\x0d\xff\xff\xff\xff\xff\xff\xff"
    path.write_bytes(raw)


def _lookout(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(lookout_argv(*args), capture_output=True, text=True, timeout=60)


def _assert_one_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr, result.stdout[-500:])
    line = result.stderr.strip()
    assert "\n" not in line, line
    assert expected in line, line
    assert "┃" not in result.stdout, "no table of the rows that still parse"


@pytest.mark.parametrize("damage", ["pages", "not-a-database"])
@pytest.mark.parametrize("command", ["history", "run", "compare"])
def test_a_damaged_history_is_one_line_and_exit_2(tmp_path: Path, damage: str, command: str) -> None:
    path = _history_with_runs(tmp_path)
    if damage == "pages":
        _damage_pages(path)
    else:
        path.write_bytes(b"this is not an SQLite file\n" * 400)
    args = {
        "history": ["bench", "history"],
        "run": ["bench", "run", UNREACHABLE, "--duration", "1s"],
        "compare": ["bench", "compare", "1", "2"],
    }[command]
    result = _lookout(*args, "--data-dir", str(tmp_path))
    _assert_one_line(result, f"{path}: the benchmark history is damaged")
    assert f"mv {path} {path}.damaged" in result.stderr


@pytest.fixture
def locked_history(tmp_path: Path) -> Iterator[Path]:
    """Another process in the middle of a write transaction, holding it."""
    path = _history_with_runs(tmp_path, runs=1)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield tmp_path
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_locked_history_names_the_lock(locked_history: Path) -> None:
    result = _lookout("bench", "run", UNREACHABLE, "--duration", "1s", "--data-dir", str(locked_history))
    _assert_one_line(result, "the benchmark history is locked by another process")
    assert "pass --data-dir" in result.stderr


def test_a_locked_history_can_still_be_listed(locked_history: Path) -> None:
    """WAL readers do not wait for a writer: listing while a benchmark saves its run works."""
    result = _lookout("bench", "history", "--json", "--data-dir", str(locked_history))
    assert result.returncode == 0, result.stderr
    assert '"id": 1' in result.stdout


def test_the_library_raises_the_same_one_line(tmp_path: Path) -> None:
    path = _history_with_runs(tmp_path)
    _damage_pages(path)
    with pytest.raises(HistoryError, match=r"the benchmark history is damaged \(.+\): move it aside"):
        History(path)


@pytest.fixture
def one_bad_row(tmp_path: Path) -> Path:
    """Two complete runs of target t; run 1's host column edited into something that is not JSON."""
    with History.in_dir(tmp_path) as history:
        for seed in (1, 2):
            history.finish(history.begin(SCENARIO, "t"), synthetic(seed))
    with sqlite3.connect(tmp_path / HISTORY_FILE) as db:
        db.execute("UPDATE runs SET host = 'notjson' WHERE id = 1")
    return tmp_path


def _skipped_note(data_dir: Path) -> str:
    path = data_dir / HISTORY_FILE
    return (
        f"lookout: note: {path}: run 1 does not parse (host: Expecting value: line 1 column 1 (char 0)), skipped: "
        f"delete it with sqlite3 {path} 'DELETE FROM runs WHERE id = 1'"
    )


def test_a_row_that_does_not_parse_is_skipped_with_one_line(one_bad_row: Path) -> None:
    listed = CliRunner().invoke(app, ["bench", "history", "--json", "--data-dir", str(one_bad_row)])
    assert listed.exit_code == 0, listed.output
    assert '"id": 2' in listed.stdout and '"id": 1' not in listed.stdout
    assert listed.stderr.strip() == _skipped_note(one_bad_row)
    # Asking for that run by id names it; the other runs compare as before.
    asked = CliRunner().invoke(app, ["bench", "compare", "1", "2", "--data-dir", str(one_bad_row)])
    assert asked.exit_code == 2, asked.output
    assert asked.output.strip().splitlines() == [
        f"lookout: {one_bad_row / HISTORY_FILE}: run 1 does not parse (host: Expecting value: line 1 column 1 "
        "(char 0)): `lookout bench history` lists the runs that do"
    ]


def test_a_run_saves_and_reports_despite_a_row_that_does_not_parse(
    one_bad_row: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def execute(runner: BenchRunner, scenario: Scenario) -> tuple[int | None, RunResult]:
        assert runner.history is not None
        run_id = runner.history.begin(scenario, runner.target_name)
        result = synthetic(3)
        runner.history.finish(run_id, result)
        return run_id, result

    monkeypatch.setattr(bench_cli, "_execute", execute)
    result = CliRunner().invoke(app, ["bench", UNREACHABLE, "--name", "t", "--data-dir", str(one_bad_row)])
    assert result.exit_code == 0, result.output
    assert f"saved as run 3 in {one_bad_row}" in result.stdout
    assert result.stderr.strip() == _skipped_note(one_bad_row)  # once, though the history was read twice
    assert (one_bad_row / "capacity.json").exists()


def test_a_history_without_a_column_it_needs_is_refused_before_the_load(tmp_path: Path) -> None:
    path = tmp_path / HISTORY_FILE
    with sqlite3.connect(path) as db:
        # Every column but results: the run could start, and would fail only when saving its results.
        db.execute(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, finished_at TEXT,"
            " status TEXT NOT NULL, target TEXT NOT NULL, scenario TEXT NOT NULL, fingerprint TEXT NOT NULL,"
            " lookout_version TEXT NOT NULL, target_revision TEXT, host TEXT NOT NULL, scenario_json TEXT NOT NULL)"
        )
    # Exit 2 and the history's line, not exit 1 for the unreachable target: nothing was driven.
    _assert_one_line(
        _lookout("bench", "run", UNREACHABLE, "--data-dir", str(tmp_path)),
        f"{path}: the benchmark history is damaged (the runs table has no results column): move it aside",
    )
