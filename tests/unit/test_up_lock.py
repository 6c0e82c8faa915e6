"""The data dir lock of `lookout up`: a second one names the PID of the first, also when both start together
and the winner has not yet written its PID (or a dead run's PID is still in the file)."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from lookout.runtime import children
from lookout.runtime.children import LOCK_FILE, StackError, data_dir_lock


def _dead_pid() -> int:
    """A PID no process can have: one above the kernel's limit."""
    return int(Path("/proc/sys/kernel/pid_max").read_text()) + 1


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    refused = pytest.raises(StackError, match=rf"another `lookout up` \(PID {os.getpid()}\) is running")
    with data_dir_lock(tmp_path), refused, data_dir_lock(tmp_path):
        pass
    with data_dir_lock(tmp_path):  # released on exit: the next one takes it
        pass


def test_the_pid_written_in_the_moment_after_the_lock_is_still_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / LOCK_FILE
    path.write_text(f"{_dead_pid()}\n")  # what a killed run left behind
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the winner holds the lock, its PID not yet written
        polls: list[float] = []

        def winner_writes_while_the_loser_polls(seconds: float) -> None:
            polls.append(seconds)
            if len(polls) == 3:
                os.pwrite(fd, f"{os.getpid()}\n".ljust(32).encode(), 0)

        monkeypatch.setattr(
            children, "time", SimpleNamespace(monotonic=time.monotonic, sleep=winner_writes_while_the_loser_polls)
        )
        with pytest.raises(StackError, match=rf"\(PID {os.getpid()}\)"), data_dir_lock(tmp_path):
            pass
        assert len(polls) == 3
    finally:
        os.close(fd)


def test_a_holder_that_never_writes_is_unknown_after_a_bounded_wait(tmp_path: Path) -> None:
    path = tmp_path / LOCK_FILE
    path.write_text("")
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(StackError, match=r"\(PID unknown\)"), data_dir_lock(tmp_path):
            pass
    finally:
        os.close(fd)
