"""Child processes of ``lookout up``: start, wait for readiness, stop by PID, report deaths."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import functools
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

_PR_SET_PDEATHSIG = 1
LOCK_FILE = "up.lock"
STOP_TIMEOUT = 10.0
_LOG_TAIL_BYTES = 64 * 1024


def _libc_prctl() -> Callable[..., int] | None:
    try:
        prctl: Callable[..., int] = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


# Resolved in the parent: loading a library between fork and exec could wait forever on a loader lock that
# another thread of the parent held at the fork.
_PRCTL = _libc_prctl() if sys.platform == "linux" else None


def _die_with_parent(parent: int) -> None:  # pragma: no cover - runs in the child between fork and exec
    # If `lookout up` is killed with SIGKILL it cannot stop its children; the kernel does it instead.
    # SIGKILL, not SIGTERM: a graceful shutdown (Prometheus flushing alerts to an Alertmanager that is going
    # away too) can take a minute, and nobody is left to wait for it or to free the ports.
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died between fork and prctl: the signal will never come
        os._exit(1)


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
    # A role several children serve (a shard's Prometheus replicas, the Alertmanager peers): the stack stops when
    # the last of them dies, not the first — surviving one replica is what the HA topology is for.
    replicas_of: str | None = None
    ready_verify: ssl.SSLContext | bool = True  # the CA (and client certificate) under security.tls
    ready_auth: tuple[str, str] | None = None  # the client user under security.users
    binary_option: str | None = None  # the `lookout up` option that names argv[0], for the fix in an error


@dataclass
class Child:
    spec: ChildSpec
    popen: subprocess.Popen[bytes]
    pid_file: Path
    reported_exit: bool = field(default=False)
    log_start: int = 0  # the log's size when this run started it: what lies before is an earlier run's

    @property
    def name(self) -> str:
        return self.spec.name

    def exit_code(self) -> int | None:
        return self.popen.poll()

    def ready(self) -> bool:
        if self.spec.ready_url is None:
            return True
        try:
            answer = httpx.get(self.spec.ready_url, timeout=1, verify=self.spec.ready_verify, auth=self.spec.ready_auth)
            return answer.status_code == 200
        except httpx.HTTPError:
            return False

    def _this_run(self, path: Path, limit: int) -> str:
        """At most the last ``limit`` bytes this run wrote to its log (the file is appended to across runs)."""
        with path.open("rb") as log:
            end = log.seek(0, os.SEEK_END)
            start = self.log_start if end >= self.log_start else 0  # truncated since: all of it is this run's
            log.seek(max(start, end - limit))
            return log.read().decode(errors="replace")

    def log_tail(self, lines: int = 5) -> str:
        if self.spec.log is None:
            return ""
        try:
            return "\n".join(self._this_run(self.spec.log, _LOG_TAIL_BYTES).splitlines()[-lines:])
        except OSError:
            return ""

    def last_words(self) -> str:
        """One line: why the child stopped, from what this run wrote to its log, and where the whole log is."""
        if self.spec.log is None:
            return ""
        code = self.exit_code()
        if code is not None and code < 0:
            # Killed (the OOM killer, kill -9): nothing it logged says why, and an earlier line would mislead.
            return f"(killed by {_signal_name(-code)}; log: {self.spec.log})"
        try:
            text = self._this_run(self.spec.log, _LOG_TAIL_BYTES)
        except OSError:
            return f"(no log at {self.spec.log})"
        line = meaningful_line(text)
        return f"{line} (log: {self.spec.log})" if line else f"(nothing in its log from this run: {self.spec.log})"

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
        _cmdline_file(self.pid_file).unlink(missing_ok=True)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def start_child(spec: ChildSpec, run_dir: Path) -> Child:
    run_dir.mkdir(parents=True, exist_ok=True)
    stdout: int | None = None
    log_file = None
    if spec.log is not None:
        try:
            spec.log.parent.mkdir(parents=True, exist_ok=True)
            log_file = spec.log.open("ab")
        except OSError as exc:
            raise StackError(
                f"{spec.log}: cannot open the log of {spec.name} ({exc.strerror}): fix its permissions or move it "
                "aside, or pass --data-dir with a directory you can write"
            ) from None
        stdout = log_file.fileno()
    log_start = os.fstat(stdout).st_size if stdout is not None else 0
    try:
        popen = subprocess.Popen(
            list(spec.argv),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT if stdout is not None else None,
            # Own session: a Ctrl-C in the terminal reaches only `lookout up`, which then stops the
            # children in order and waits for each, instead of all of them racing to exit.
            start_new_session=True,
            preexec_fn=functools.partial(_die_with_parent, os.getpid()) if sys.platform == "linux" else None,
        )
    except OSError as exc:
        # The binary vanished, lost its execute bit or is not a program (a script without a #! line).
        fix = f"pass {spec.binary_option} with a working one" if spec.binary_option else "reinstall it"
        raise StackError(
            f"{spec.argv[0]}: cannot run it as {spec.name} ({exc.strerror}): make it an executable program "
            f"(a script needs a #! line), or {fix}"
        ) from None
    finally:
        if log_file is not None:
            log_file.close()
    pid_file = run_dir / f"{spec.name}.pid"
    pid_file.write_text(f"{popen.pid}\n")
    # What the PID ran as: a later `lookout up` stops a leftover only if the PID still runs exactly this.
    _cmdline_file(pid_file).write_bytes(_cmdline_bytes(list(spec.argv)))
    return Child(spec, popen, pid_file, log_start=log_start)


def wait_ready(
    children: Sequence[Child],
    timeout: float,
    on_ready: Callable[[Child], object] | None = None,
    stop: threading.Event | None = None,
) -> list[Child]:
    """Poll until every child answers its ready URL; return the ones that did not (or died). Returns at once
    when ``stop`` is set (Ctrl-C while starting): the caller tells that apart by looking at ``stop``."""
    stop = stop or threading.Event()
    deadline = time.monotonic() + timeout
    pending = list(children)
    while pending and time.monotonic() < deadline and not stop.is_set():
        for child in list(pending):
            if stop.is_set():
                break
            if child.exit_code() is not None:
                return [child]
            if child.ready():
                pending.remove(child)
                if on_ready is not None:
                    on_ready(child)
        if pending:
            stop.wait(0.2)
    return pending


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ------------------------------------------------------------------ start-up guards


_LOGFMT_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')
_ERROR_LEVELS = frozenset({"error", "fatal", "crit", "critical", "panic", "emerg"})


def _unquote(value: str) -> str:
    if value.startswith('"'):
        with contextlib.suppress(ValueError):
            return str(json.loads(value))
        return value.strip('"')
    return value


def meaningful_line(text: str) -> str | None:
    """The line of a child's log that says why it stopped: the last error of a logfmt or JSON log
    (Prometheus, Alertmanager, Pushgateway) as ``msg: err``, else the last non-empty line (for Lookout's own
    children, their one-line error)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        fields: dict[str, str] = {}
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                parsed = json.loads(line)
                if isinstance(parsed, dict):
                    fields = {str(k): str(v) for k, v in parsed.items()}
        else:
            fields = {key: _unquote(value) for key, value in _LOGFMT_PAIR.findall(line)}
        if fields.get("level", "").lower() in _ERROR_LEVELS:
            said = [fields[key] for key in ("msg", "err", "error") if fields.get(key)]
            return ": ".join(said) or line
    return lines[-1] if lines else None


def _cmdline_file(pid_file: Path) -> Path:
    return pid_file.with_suffix(".cmdline")


def _cmdline_bytes(argv: Sequence[str]) -> bytes:
    """``argv`` as the kernel shows it in /proc/PID/cmdline."""
    return b"".join(os.fsencode(arg) + b"\0" for arg in argv)


def _running_cmdline(pid: int) -> bytes | None:
    """What ``pid`` runs now, or None when it is gone (or a zombie nobody reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rpartition(")")[2].split()[0] in ("Z", "X"):
            return None
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return None


def ensure_dir(path: Path) -> None:
    """Create ``path`` and prove it writable, or raise :class:`StackError` naming it and the fix."""
    fix = "or pass --data-dir with a directory you can write"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StackError(f"{path}: exists but is not a directory: move it aside, {fix}") from None
    except NotADirectoryError:
        raise StackError(f"{path}: a parent of it is a file, not a directory: move that aside, {fix}") from None
    except OSError as exc:
        raise StackError(f"{path}: cannot create it ({exc.strerror}): fix its permissions, {fix}") from None
    probe = path / f".lookout-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise StackError(f"{path}: not writable ({exc.strerror}): fix its permissions, {fix}") from None


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data dir for one `lookout up`: a second one started beside it stops at once with the first's
    PID instead of both fighting over ports, PID files and the TSDB. The kernel drops the lock with the
    process, however it dies, and children never inherit it (close-on-exec)."""
    path = data_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise StackError(f"{path}: cannot create the lock file ({exc.strerror}): pass another --data-dir") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StackError(f"{path}: cannot lock ({exc.strerror}): pass another --data-dir") from None
            raise StackError(
                f"another `lookout up` (PID {_lock_holder(fd)}) is running with --data-dir {data_dir}: "
                "stop it first, or pass another --data-dir"
            ) from None
        # One write of a fixed-width record: a reader never sees the file empty or half-written once it has
        # been held before (truncating first and then writing left a moment with no PID in it).
        os.pwrite(fd, f"{os.getpid()}\n".ljust(_LOCK_RECORD).encode(), 0)
        os.ftruncate(fd, _LOCK_RECORD)
        yield
    finally:
        os.close(fd)


_LOCK_RECORD = 32  # bytes: a PID, a newline, spaces


def _lock_holder(fd: int, wait: float = 2.0) -> str:
    """The PID the holder wrote into the lock file. Two `lookout up` started together meet in the moment
    between the winner taking the lock and writing its PID (or with a dead run's PID still in the file):
    poll briefly for a PID that runs."""
    deadline = time.monotonic() + wait
    while True:
        text = os.pread(fd, _LOCK_RECORD, 0).decode(errors="replace").strip()
        if text.isdigit() and pid_alive(int(text)):
            return text
        if time.monotonic() >= deadline:
            return "unknown"
        time.sleep(0.02)


def _stop_pid(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """Stop a process that is not our child (we cannot wait for it): SIGTERM, poll, then SIGKILL."""
    for sig, grace in ((signal.SIGTERM, timeout), (signal.SIGKILL, timeout)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if _running_cmdline(pid) is None:
                return
            time.sleep(0.1)


def stop_leftovers(run_dir: Path, expected: dict[str, Sequence[str]]) -> list[str]:
    """Clear the PID files an earlier `lookout up` left behind when it was killed; stop the children of it
    that still run. A PID is stopped only while it runs exactly what was started under that name (its
    recorded command line, or for a PID file without one what would be started now): a recycled PID
    belongs to someone else and is left alone. Returns one note per PID file."""
    notes: list[str] = []
    if not run_dir.is_dir():
        return notes
    for pid_file in sorted(run_dir.glob("*.pid")):
        name = pid_file.stem
        recorded = _cmdline_file(pid_file)
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            pid = 0
        running = _running_cmdline(pid) if pid > 0 and pid != os.getpid() else None
        if running is None:
            notes.append(f"removed the stale PID file of {name} (PID {pid or '?'} no longer runs)")
        else:
            ours: bytes | None
            try:
                ours = recorded.read_bytes()
            except OSError:
                ours = _cmdline_bytes(expected[name]) if name in expected else None
            if running == ours:
                _stop_pid(pid)
                notes.append(f"stopped {name} (PID {pid}), left running by an earlier `lookout up`")
            else:
                notes.append(f"removed the stale PID file of {name} (PID {pid} now runs something else: left alone)")
        pid_file.unlink(missing_ok=True)
        recorded.unlink(missing_ok=True)
    return notes
