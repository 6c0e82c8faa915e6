"""Ctrl-C that Python wrapped on its way out still ends as Ctrl-C: the run is marked interrupted and the
command exits 130, never "unexpected RuntimeError"."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import anyio
import pytest

from lookout.bench import client, load
from lookout.bench.history import INTERRUPTED, History
from lookout.bench.results import Recorder, RunResult
from lookout.bench.runner import BenchRunner
from lookout.bench.scenario import Scenario
from lookout.interrupt import caused_by_ctrl_c

SCENARIO = Scenario.model_validate({"operations": [{"tool": "echo", "arguments": {"text": "hello"}}]})


class _CtrlCOnSetName:
    """A descriptor whose __set_name__ gets the user's Ctrl-C, as a lazily imported class can under load."""

    def __set_name__(self, owner: type, name: str) -> NoReturn:
        raise KeyboardInterrupt


def _ctrl_c_while_a_class_is_created() -> BaseException:
    try:
        type("TLSStream", (), {"_broken": _CtrlCOnSetName()})
    except BaseException as exc:
        return exc
    raise AssertionError("__set_name__ was not called")


def _error_in_cleanup_after_ctrl_c() -> BaseException:
    try:
        try:
            raise KeyboardInterrupt
        finally:
            raise OSError("cleanup failed")
    except OSError as exc:
        return exc


def _chain_with_a_cycle() -> BaseException:
    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first
    return first


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: KeyboardInterrupt(), True),
        (_ctrl_c_while_a_class_is_created, True),  # a RuntimeError caused by it on Python 3.11
        (_error_in_cleanup_after_ctrl_c, True),
        (lambda: RuntimeError("Error calling __set_name__"), False),
        (_chain_with_a_cycle, False),
    ],
    ids=["plain", "wrapped-by-set-name", "error-in-cleanup", "unrelated", "cyclic-chain"],
)
def test_caused_by_ctrl_c(make: Any, expected: bool) -> None:
    assert caused_by_ctrl_c(make()) is expected


def _runner(history: History) -> BenchRunner:
    return BenchRunner("http://127.0.0.1:9/mcp", "t", "streamable-http", "2025-06-18", history, None, 1)


def _ctrl_c_inside_exec() -> None:
    """Ctrl-C while exec'd code runs (as when a lazy import builds a dataclass)."""
    exec("import os, signal\nos.kill(os.getpid(), signal.SIGINT)\nfor _ in range(1000): pass")


def _connect_that_gets_ctrl_c(*args: object, **kwargs: object) -> None:
    _ctrl_c_inside_exec()


@pytest.mark.parametrize("when", ["before-the-load", "during-the-load"])
def test_ctrl_c_cancels_the_load_at_an_await(when: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[type[BaseException]] = []

    async def load_until_cancelled(*args: object, **kwargs: object) -> NoReturn:
        try:
            if when == "during-the-load":
                _ctrl_c_inside_exec()
            await anyio.sleep_forever()
        except BaseException as exc:
            seen.append(type(exc))
            raise
        raise AssertionError("the load was not cancelled")

    if when == "before-the-load":
        monkeypatch.setattr(client, "mcp_sessions", _connect_that_gets_ctrl_c)
    monkeypatch.setattr(load, "run_load", load_until_cancelled)
    with History.in_dir(tmp_path) as history:
        with pytest.raises(KeyboardInterrupt):
            _runner(history).execute(SCENARIO)
        assert [run.status for run in history.runs()] == [INTERRUPTED]
    assert seen == [asyncio.CancelledError]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_after_the_load_ended_saves_the_whole_run_and_still_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def instant_load(*args: object, **kwargs: object) -> Recorder:
        return Recorder(measure_start=0.0)

    summarize = load.summarize

    def summarize_while_ctrl_c_is_pressed(*args: Any, **kwargs: Any) -> RunResult:
        _ctrl_c_inside_exec()
        return summarize(*args, **kwargs)

    monkeypatch.setattr(load, "run_load", instant_load)
    monkeypatch.setattr(load, "summarize", summarize_while_ctrl_c_is_pressed)
    with History.in_dir(tmp_path) as history:
        with pytest.raises(KeyboardInterrupt):
            _runner(history).execute(SCENARIO)
        assert [run.status for run in history.runs()] == ["complete"]


def test_a_target_that_fails_with_the_same_ctrl_c_is_an_interruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def load_whose_target_dies_too(*args: object, **kwargs: object) -> NoReturn:
        _ctrl_c_inside_exec()
        raise load.BenchError("the server closed the connection")

    monkeypatch.setattr(load, "run_load", load_whose_target_dies_too)
    with History.in_dir(tmp_path) as history:
        with pytest.raises(KeyboardInterrupt):
            _runner(history).execute(SCENARIO)
        assert [run.status for run in history.runs()] == [INTERRUPTED]


def test_a_second_ctrl_c_raises_where_it_lands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def load_that_ignores_cancellation(*args: object, **kwargs: object) -> NoReturn:
        os.kill(os.getpid(), signal.SIGINT)
        with anyio.CancelScope(shield=True):
            os.kill(os.getpid(), signal.SIGINT)
            await anyio.sleep_forever()
        raise AssertionError("unreachable")

    monkeypatch.setattr(load, "run_load", load_that_ignores_cancellation)
    with History.in_dir(tmp_path) as history:
        with pytest.raises(KeyboardInterrupt):
            _runner(history).execute(SCENARIO)
        assert [run.status for run in history.runs()] == [INTERRUPTED]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_wrapped_ctrl_c_during_the_load_marks_the_run_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def load_that_gets_ctrl_c(*args: object, **kwargs: object) -> NoReturn:
        raise _ctrl_c_while_a_class_is_created()

    monkeypatch.setattr(load, "run_load", load_that_gets_ctrl_c)
    with History.in_dir(tmp_path) as history:
        with pytest.raises(KeyboardInterrupt):
            _runner(history).execute(SCENARIO)
        assert [run.status for run in history.runs()] == [INTERRUPTED]


# Run with `python -m`, as `lookout` is: there a KeyboardInterrupt raised inside exec'd code made the process
# die of SIGINT at exit although the command had handled it and asked for 130.
_BENCH_WITH_CTRL_C_IN_EXEC = r"""
import os, signal, anyio
from lookout.bench import client, load
from lookout.cli import main

def connect_that_gets_ctrl_c(*args, **kwargs):
    exec("import os, signal\nos.kill(os.getpid(), signal.SIGINT)\nfor _ in range(1000): pass")

async def load_until_cancelled(*args, **kwargs):
    await anyio.sleep_forever()

client.mcp_sessions = connect_that_gets_ctrl_c
load.run_load = load_until_cancelled
main()
"""


def test_ctrl_c_in_a_bench_run_exits_130_under_python_m(tmp_path: Path) -> None:
    (tmp_path / "bench_with_ctrl_c.py").write_text(_BENCH_WITH_CTRL_C_IN_EXEC)
    argv = [sys.executable, "-m", "bench_with_ctrl_c", "bench", "http://127.0.0.1:9/mcp", "--data-dir", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert done.returncode == 130, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr
    with History.in_dir(tmp_path) as history:
        assert [run.status for run in history.runs()] == [INTERRUPTED]


def test_the_command_line_exits_130_on_a_wrapped_ctrl_c(tmp_path: Path) -> None:
    script = tmp_path / "wrapped.py"
    script.write_text(
        "import sys, typer\n"
        "import lookout.cli as cli\n"
        "class CtrlC:\n"
        "    def __set_name__(self, owner, name):\n"
        "        raise KeyboardInterrupt\n"
        "def version() -> None:\n"
        "    type('TLSStream', (), {'_broken': CtrlC()})\n"
        "cli.app = typer.Typer()\n"
        "cli.app.command()(version)\n"
        "sys.argv = ['lookout']\n"
        "cli.main()\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 130, done.stderr
    assert "unexpected" not in done.stderr and "Traceback" not in done.stderr
