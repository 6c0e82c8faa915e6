"""A damaged or locked bench.sqlite: every bench command stops with one line, exit 2, never a traceback and
never a listing of whatever rows still parse."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lookout.bench.history import HISTORY_FILE, History, HistoryError
from lookout.bench.scenario import Scenario
from tests.support import lookout_argv

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
