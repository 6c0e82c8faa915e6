"""Every run, saved in SQLite (WAL, one transaction per write), so that a crash mid-run leaves the database
intact: the run's row stays ``running`` and is never used as a baseline."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lookout import __version__
from lookout.bench.results import RunResult
from lookout.bench.scenario import Scenario

HISTORY_FILE = "bench.sqlite"
LOCK_WAIT_SECONDS = 5.0
"""How long a command waits for another one's write (each holds the lock for one short transaction)."""
RUNNING, COMPLETE, FAILED, INTERRUPTED = "running", "complete", "failed", "interrupted"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    target TEXT NOT NULL,
    scenario TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    lookout_version TEXT NOT NULL,
    target_revision TEXT,
    host TEXT NOT NULL,
    scenario_json TEXT NOT NULL,
    results TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_series ON runs (target, fingerprint, status, id);
"""
_COLUMNS = frozenset(
    [
        "id",
        "started_at",
        "finished_at",
        "status",
        "target",
        "scenario",
        "fingerprint",
        "lookout_version",
        "target_revision",
        "host",
        "scenario_json",
        "results",
    ]
)


class HistoryError(Exception):
    """The history database cannot be used; one line for the user."""


_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_CORRUPT = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def _problem(path: Path, doing: str, exc: Exception) -> HistoryError:
    """One line for a failed database operation: a lock held elsewhere and a damaged file each name their fix."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in _BUSY:
        return HistoryError(
            f"{path}: the benchmark history is locked by another process (a `lookout bench` still running?): "
            f"wait for it, or pass --data-dir to use another history"
        )
    if (code is not None and code & 0xFF in _CORRUPT) or not isinstance(exc, sqlite3.Error):
        return _corrupt(path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return HistoryError(f"{path}: cannot {doing} the benchmark history: {exc}")


def _corrupt(path: Path, detail: str) -> HistoryError:
    return HistoryError(
        f"{path}: the benchmark history is damaged ({detail}): move it aside (mv {path} {path}.damaged) "
        "and the next run starts a new one"
    )


class _BadRow(Exception):
    """One row whose ``column`` does not parse; the other rows stay usable."""

    def __init__(self, column: str, exc: Exception) -> None:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            detail = f"{'.'.join(str(p) for p in first['loc']) or 'value'}: {first['msg']}"
        else:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        super().__init__(f"{column}: {detail}")


def _parse(column: str, parse: Callable[[str], Any], value: Any) -> Any:
    try:
        return parse(value)
    except (ValueError, TypeError) as exc:  # ValidationError and JSONDecodeError are ValueErrors
        raise _BadRow(column, exc) from None


def _host(text: str) -> dict[str, Any]:
    host = json.loads(text)
    if not isinstance(host, dict):
        raise ValueError("not a JSON object")
    return host


def host_facts() -> dict[str, Any]:
    """What about the load-generating machine could explain a difference between two runs."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RunRecord:
    id: int
    started_at: str
    finished_at: str | None
    status: str
    target: str
    scenario: str
    fingerprint: str
    lookout_version: str
    target_revision: str | None
    host: dict[str, Any]
    result: RunResult | None

    @classmethod
    def _of(cls, row: sqlite3.Row) -> RunRecord:
        results = row["results"]
        return cls(
            id=row["id"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            status=row["status"],
            target=row["target"],
            scenario=row["scenario"],
            fingerprint=row["fingerprint"],
            lookout_version=row["lookout_version"],
            target_revision=row["target_revision"],
            host=_parse("host", _host, row["host"]),
            result=_parse("results", RunResult.model_validate_json, results) if results else None,
        )


class History:
    """The run history in ``data_dir/bench.sqlite``. A row that does not parse is left out of every answer and
    reported once through ``warn`` (one line); asking for that run by id is a HistoryError."""

    def __init__(self, path: Path, warn: Callable[[str], None] | None = None) -> None:
        self.path = path
        self._warn = warn
        self.unreadable: dict[int, str] = {}
        """Run id -> what does not parse in its row, for the rows met so far."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=LOCK_WAIT_SECONDS, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise HistoryError(f"{path}: cannot open the benchmark history: {exc}") from None
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            # A damaged file must stop every command before it reads or writes, not surface as a traceback
            # halfway through a run or as a listing of whatever rows still parse.
            verdict = [str(row[0]) for row in self._db.execute("PRAGMA quick_check(1)")]
            if verdict != ["ok"]:
                lines = [line for v in verdict for line in v.splitlines() if line and not line.startswith("***")]
                raise _corrupt(path, lines[0] if lines else "quick_check failed")
            self._db.executescript(_SCHEMA)
            # A table from elsewhere with a column missing would take a run's load and then refuse its results.
            missing = _COLUMNS - {str(row[1]) for row in self._db.execute("PRAGMA table_info(runs)")}
            if missing:
                raise _corrupt(path, f"the runs table has no {', '.join(sorted(missing))} column")
        except sqlite3.Error as exc:
            self._db.close()
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_CANTOPEN:
                raise HistoryError(f"{path}: cannot open the benchmark history: {exc}") from None
            raise _problem(path, "open", exc) from None
        except HistoryError:
            self._db.close()
            raise

    @classmethod
    def in_dir(cls, data_dir: Path, warn: Callable[[str], None] | None = None) -> History:
        return cls(data_dir / HISTORY_FILE, warn)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        try:
            with self._db:  # one transaction: either the whole row change lands or none of it
                self._db.execute("BEGIN IMMEDIATE")
                cursor = self._db.execute(sql, args)
                return int(cursor.lastrowid or 0)
        except sqlite3.Error as exc:
            raise _problem(self.path, "write", exc) from None

    def begin(self, scenario: Scenario, target: str, revision: str | None = None) -> int:
        """Record that a run started; returns its id."""
        return self._write(
            "INSERT INTO runs (started_at, status, target, scenario, fingerprint, lookout_version, target_revision,"
            " host, scenario_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                _now(),
                RUNNING,
                target,
                scenario.name,
                scenario.fingerprint(),
                __version__,
                revision,
                json.dumps(host_facts(), sort_keys=True),
                scenario.model_dump_json(),
            ),
        )

    def finish(self, run_id: int, result: RunResult) -> None:
        self._write(
            "UPDATE runs SET status = ?, finished_at = ?, results = ? WHERE id = ?",
            (COMPLETE, _now(), result.model_dump_json(), run_id),
        )

    def fail(self, run_id: int, status: str = FAILED) -> None:
        """The run ended without results: the target refused to connect (failed), or Ctrl-C (interrupted)."""
        self._write("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, _now(), run_id))

    def _query(self, sql: str, args: tuple[Any, ...] = (), warn: bool = True) -> list[RunRecord]:
        try:
            rows = self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise _problem(self.path, "read", exc) from None
        records = []
        for row in rows:
            try:
                records.append(RunRecord._of(row))
            except _BadRow as exc:  # one edited or half-written row costs that run, not the whole history
                self._skip(int(row["id"]), str(exc), warn)
        return records

    def _skip(self, run_id: int, detail: str, warn: bool) -> None:
        if run_id in self.unreadable:
            return
        self.unreadable[run_id] = detail
        if warn and self._warn is not None:
            self._warn(
                f"{self.path}: run {run_id} does not parse ({detail}), skipped: "
                f"delete it with sqlite3 {self.path} 'DELETE FROM runs WHERE id = {run_id}'"
            )

    def runs(self, limit: int = 20, target: str | None = None) -> list[RunRecord]:
        """The latest runs, newest first."""
        if target is None:
            return self._query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        return self._query("SELECT * FROM runs WHERE target = ? ORDER BY id DESC LIMIT ?", (target, limit))

    def get(self, run_id: int) -> RunRecord:
        found = self._query("SELECT * FROM runs WHERE id = ?", (run_id,), warn=False)  # the error says it
        if not found and run_id in self.unreadable:
            raise HistoryError(
                f"{self.path}: run {run_id} does not parse ({self.unreadable[run_id]}): "
                "`lookout bench history` lists the runs that do"
            )
        if not found:
            raise HistoryError(f"no run {run_id} in {self.path}: `lookout bench history` lists the runs")
        return found[0]

    def latest_complete(self) -> RunRecord:
        found = self._query("SELECT * FROM runs WHERE status = ? ORDER BY id DESC LIMIT 1", (COMPLETE,))
        if not found:
            raise HistoryError(f"no complete run in {self.path}: run `lookout bench TARGET` first")
        return found[0]

    def baseline(self, run: RunRecord, count: int) -> list[RunRecord]:
        """The ``count`` complete runs before ``run`` of the same target and scenario fingerprint."""
        return self._query(
            "SELECT * FROM runs WHERE target = ? AND fingerprint = ? AND status = ? AND id < ? ORDER BY id DESC"
            " LIMIT ?",
            (run.target, run.fingerprint, COMPLETE, run.id, count),
        )

    def complete_runs(self, target: str) -> list[RunRecord]:
        return self._query("SELECT * FROM runs WHERE target = ? AND status = ? ORDER BY id", (target, COMPLETE))

    def integrity(self) -> str:
        """``ok``, or SQLite's first complaint about the file."""
        try:
            return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])
        except sqlite3.Error as exc:
            return str(exc)
