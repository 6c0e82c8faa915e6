"""Starting a child of `lookout up`: what cannot start is one line naming the file and the fix."""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from lookout.runtime.children import ChildSpec, StackError, start_child, wait_ready


def test_a_binary_that_is_not_a_program_is_one_line_naming_it_and_the_option(tmp_path: Path) -> None:
    bad = tmp_path / "badbin"
    bad.write_text("echo no shebang\n")
    bad.chmod(0o755)
    spec = ChildSpec("prometheus", [str(bad)], None, tmp_path / "logs" / "p.log", binary_option="--prometheus-bin")
    with pytest.raises(StackError) as caught:
        start_child(spec, tmp_path / "run")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{bad}: cannot run it as prometheus (Exec format error)"), message
    assert "#! line" in message and "pass --prometheus-bin" in message
    assert not list((tmp_path / "run").glob("*.pid")), "nothing started, nothing recorded"


def test_a_log_that_cannot_be_opened_is_one_line_naming_it(tmp_path: Path) -> None:
    """As root no permission bit stops a write, so a directory stands where the log file must go."""
    log = tmp_path / "logs" / "exporter.log"
    log.mkdir(parents=True)
    spec = ChildSpec("exporter", [sys.executable, "-c", "pass"], None, log)
    with pytest.raises(StackError) as caught:
        start_child(spec, tmp_path / "run")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{log}: cannot open the log of exporter (Is a directory)"), message
    assert "pass --data-dir" in message


def test_wait_ready_returns_as_soon_as_stop_is_set(tmp_path: Path) -> None:
    """Ctrl-C while a child never gets ready: the wait ends at the signal, not at the ready timeout."""
    with socket.socket() as s:  # a port nobody listens on: the child is never ready
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/-/ready"
    spec = ChildSpec("never-ready", [sys.executable, "-c", "import time; time.sleep(600)"], url, tmp_path / "n.log")
    child = start_child(spec, tmp_path / "run")
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    try:
        timer.start()
        began = time.monotonic()
        pending = wait_ready([child], 60, stop=stop)
        took = time.monotonic() - began
    finally:
        timer.cancel()
        child.stop()
    assert pending == [child]
    assert took < 5, f"wait_ready went on for {took:.1f}s after stop was set"


def test_last_words_come_from_this_run_not_an_earlier_one(tmp_path: Path) -> None:
    """The log is appended to across runs: a child that dies silently is not blamed on an earlier run's line."""
    log = tmp_path / "logs" / "prometheus.log"
    log.parent.mkdir()
    log.write_text('ts=2026-01-01T00:00:00Z level=error msg="See you next time!"\n')
    spec = ChildSpec("prometheus", [sys.executable, "-c", "raise SystemExit(3)"], None, log)
    child = start_child(spec, tmp_path / "run")
    try:
        child.popen.wait(30)
    finally:
        child.stop()
    assert "See you next time" not in child.last_words()
    assert child.last_words() == f"(nothing in its log from this run: {log})"
    assert child.log_tail() == ""

    spec = ChildSpec(
        "prometheus", [sys.executable, "-c", "print('bind: address in use'); raise SystemExit(1)"], None, log
    )
    child = start_child(spec, tmp_path / "run")
    try:
        child.popen.wait(30)
    finally:
        child.stop()
    assert child.last_words() == f"bind: address in use (log: {log})"


def test_a_killed_child_is_said_to_be_killed_not_blamed_on_a_line_it_logged_earlier(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "prometheus-1.log"
    log.parent.mkdir()
    script = "import os; print('level=error msg=Error sending alert', flush=True); os.kill(os.getpid(), 9)"
    child = start_child(ChildSpec("prometheus-1", [sys.executable, "-c", script], None, log), tmp_path / "run")
    try:
        child.popen.wait(30)
    finally:
        child.stop()
    assert child.last_words() == f"(killed by SIGKILL; log: {log})"
