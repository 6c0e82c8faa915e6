"""Child processes of ``lookout up``: start, wait for readiness, stop by PID, report deaths."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # If `lookout up` is killed with SIGKILL it cannot stop its children; the kernel does it instead.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class StackError(Exception):
    """A problem starting the stack, phrased as one line with the fix."""


def resolve_binary(name: str, option: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise StackError(
            f"{name} not found: install it (sudo apt-get install {package}) or pass {option} with its path"
        )
    return found


@dataclass
class ChildSpec:
    name: str
    argv: Sequence[str]
    ready_url: str | None  # None: ready once started (a client that serves nothing)
    log: Path | None  # None: inherit our stdout (the sink prints notifications there)
    essential: bool = True  # the stack stops when an essential child dies; the demo is what gets watched


@dataclass
class Child:
    spec: ChildSpec
    popen: subprocess.Popen[bytes]
    pid_file: Path
    reported_exit: bool = field(default=False)

    @property
    def name(self) -> str:
        return self.spec.name

    def exit_code(self) -> int | None:
        return self.popen.poll()

    def ready(self) -> bool:
        if self.spec.ready_url is None:
            return True
        try:
            return httpx.get(self.spec.ready_url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self, lines: int = 5) -> str:
        if self.spec.log is None or not self.spec.log.exists():
            return ""
        return "\n".join(self.spec.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, wait, then SIGKILL: the child is always reaped."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.pid_file.unlink(missing_ok=True)


def start_child(spec: ChildSpec, run_dir: Path) -> Child:
    run_dir.mkdir(parents=True, exist_ok=True)
    stdout: int | None = None
    log_file = None
    if spec.log is not None:
        spec.log.parent.mkdir(parents=True, exist_ok=True)
        log_file = spec.log.open("ab")
        stdout = log_file.fileno()
    try:
        popen = subprocess.Popen(
            list(spec.argv),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT if stdout is not None else None,
            # Own session: a Ctrl-C in the terminal reaches only `lookout up`, which then stops the
            # children in order and waits for each, instead of all of them racing to exit.
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    finally:
        if log_file is not None:
            log_file.close()
    pid_file = run_dir / f"{spec.name}.pid"
    pid_file.write_text(f"{popen.pid}\n")
    return Child(spec, popen, pid_file)


def wait_ready(
    children: Sequence[Child], timeout: float, on_ready: Callable[[Child], object] | None = None
) -> list[Child]:
    """Poll until every child answers its ready URL; return the ones that did not (or died)."""
    deadline = time.monotonic() + timeout
    pending = list(children)
    while pending and time.monotonic() < deadline:
        for child in list(pending):
            if child.exit_code() is not None:
                return [child]
            if child.ready():
                pending.remove(child)
                if on_ready is not None:
                    on_ready(child)
        if pending:
            time.sleep(0.2)
    return pending


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
