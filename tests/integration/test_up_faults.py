"""`lookout up` under faults: unusable directories, a child that cannot start, a second `up` on the same
data dir, and what a killed `up` leaves behind. Each ends in one line naming the cause, or is cleaned up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lookout.runtime.children import pid_alive
from tests.stack_support import LISTEN, free_ports, sink_alerting, write_demo_config
from tests.support import LOOPBACK, Proc, lookout_argv, require_binary, start, wait_until

pytestmark = pytest.mark.integration

UP_TIMEOUT = 90.0


def _ports() -> dict[str, int]:
    return free_ports(*LISTEN)


def _up_argv(tmp: Path, ports: dict[str, int], data_dir: Path, *extra: str) -> list[str]:
    write_demo_config(tmp / "lookout.yaml", ports, sink_alerting(ports))
    return lookout_argv("up", "--config", str(tmp / "lookout.yaml"), "--data-dir", str(data_dir), "--no-demo", *extra)


def _child_pids(data_dir: Path) -> dict[str, int]:
    return {p.stem: int(p.read_text()) for p in (data_dir / "run").glob("*.pid")}


def _kill_all(pids: dict[str, int]) -> None:
    for pid in pids.values():
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    """Alive and not a zombie: an orphan's exit shows only once its new parent reaps it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _is_up(proc: Proc) -> bool:
    return "Lookout is up" in proc.output() or not proc.alive()


@pytest.mark.parametrize("blocked", ["logs", "run", "prometheus", "alertmanager"])
def test_a_file_where_a_directory_belongs_is_one_line_naming_it(tmp_path: Path, blocked: str) -> None:
    """As root no permission bit stops a write, so a regular file stands where the directory must go."""
    data = tmp_path / "data"
    data.mkdir()
    (data / blocked).write_text("not a directory\n")
    result = subprocess.run(_up_argv(tmp_path, _ports(), data), capture_output=True, text=True, timeout=UP_TIMEOUT)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line, line
    assert line.startswith(f"lookout: {data / blocked}: exists but is not a directory"), line
    assert "pass --data-dir" in line
    assert not list(data.glob("run/*.pid")), "nothing may start"


def test_a_data_dir_under_a_file_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("")
    data = tmp_path / "plain-file" / "data"
    result = subprocess.run(_up_argv(tmp_path, _ports(), data), capture_output=True, text=True, timeout=UP_TIMEOUT)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"lookout: {data}: a parent of it is a file, not a directory: move that aside, "
        "or pass --data-dir with a directory you can write"
    )


def test_a_child_that_cannot_start_says_why_in_one_line(tmp_path: Path) -> None:
    """Prometheus cannot open its TSDB (a file where its WAL directory goes): the reason from its log is on
    the one error line, not hidden behind an exit code."""
    data = tmp_path / "data"
    (data / "prometheus").mkdir(parents=True)
    (data / "prometheus" / "wal").write_text("")
    result = subprocess.run(_up_argv(tmp_path, _ports(), data), capture_output=True, text=True, timeout=UP_TIMEOUT)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if line.startswith("lookout: prometheus exited")]
    assert "opening storage failed" in line and "not a directory" in line, line
    assert f"(log: {(data / 'logs' / 'prometheus.log').resolve()})" in line, line
    assert not _child_pids(data), "every child was stopped"


def test_a_binary_that_cannot_be_run_is_one_line_and_the_started_children_are_stopped(tmp_path: Path) -> None:
    """An executable text file without a #! line: the kernel refuses to run it (ENOEXEC)."""
    bad = tmp_path / "badbin"
    bad.write_text("echo no shebang\n")
    bad.chmod(0o755)
    data = tmp_path / "data"
    argv = _up_argv(tmp_path, _ports(), data, "--prometheus-bin", str(bad))
    result = subprocess.run(argv, capture_output=True, text=True, timeout=UP_TIMEOUT)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("lookout: ")]
    assert line.startswith(f"lookout: {bad}: cannot run it as prometheus (Exec format error)"), line
    assert "pass --prometheus-bin" in line
    assert "stopped: " in result.stderr, "the children started before it were stopped"
    assert not _child_pids(data)


def test_ctrl_c_while_a_child_is_not_yet_ready_stops_at_once(tmp_path: Path) -> None:
    """A Prometheus that never answers: SIGINT ends `up` within seconds, not at the 60 s ready timeout, with
    no URL table and every child started so far stopped."""
    never_ready = tmp_path / "never-ready"
    never_ready.write_text("#!/bin/sh\nexec sleep 1000\n")
    never_ready.chmod(0o755)
    data = tmp_path / "data"
    proc = start(_up_argv(tmp_path, _ports(), data, "--prometheus-bin", str(never_ready)), tmp_path / "up.log")
    pids: dict[str, int] = {}
    try:
        wait_until(lambda: "prometheus" in _child_pids(data) or not proc.alive(), UP_TIMEOUT, what="prometheus")
        pids = _child_pids(data)
        os.kill(proc.pid, signal.SIGINT)
        wait_until(lambda: not proc.alive(), 15, what="`lookout up` to stop after SIGINT")
        assert proc.popen.returncode == 0, proc.output()
        assert "Lookout is up" not in proc.output()
        assert "not ready after" not in proc.output()
        assert "interrupted while starting" in proc.output()
        assert not [name for name, pid in pids.items() if _running(pid)], pids
        assert not _child_pids(data)
    finally:
        proc.stop()
        _kill_all(pids)


def test_two_ups_on_one_data_dir_one_wins_the_other_says_so(tmp_path: Path) -> None:
    data = tmp_path / "data"
    argv = _up_argv(tmp_path, _ports(), data)
    first, second = start(argv, tmp_path / "first.log"), start(argv, tmp_path / "second.log")
    pids: dict[str, int] = {}
    try:
        wait_until(lambda: not first.alive() or not second.alive(), UP_TIMEOUT, what="one `lookout up` to give way")
        loser, winner = (first, second) if not first.alive() else (second, first)
        assert loser.popen.returncode == 2, loser.output()
        assert "Traceback" not in loser.output()
        assert f"another `lookout up` (PID {winner.pid}) is running with --data-dir {data}" in loser.output()
        wait_until(lambda: _is_up(winner), UP_TIMEOUT, what="the other `lookout up`")
        assert winner.alive(), winner.output()
        pids = _child_pids(data)
        assert pids and all(pid_alive(pid) for pid in pids.values())
    finally:
        first.stop()
        second.stop()
        _kill_all(pids)


SLOW_TO_STOP = """
import http.server, signal, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # like a server busy with a long graceful shutdown
address = next(a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--web.listen-address="))
host, port = address.rsplit(":", 1)
class Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer((host, int(port)), Ready).serve_forever()
"""


def test_children_die_with_a_killed_up_and_the_next_up_clears_their_pid_files(tmp_path: Path) -> None:
    """A child that takes its time over SIGTERM (Prometheus draining to a dying Alertmanager did, for a
    minute) must still go at once when `lookout up` is SIGKILLed; the PID files it leaves are cleared."""
    slow = tmp_path / "slow-pushgateway"
    slow.write_text(f"#!{sys.executable}\n{SLOW_TO_STOP}")
    slow.chmod(0o755)
    data = tmp_path / "data"
    ports = _ports()
    up = start(_up_argv(tmp_path, ports, data, "--pushgateway-bin", str(slow)), tmp_path / "up.log")
    pids: dict[str, int] = {}
    try:
        wait_until(lambda: _is_up(up), UP_TIMEOUT, what="lookout up")
        assert up.alive(), up.output()
        pids = _child_pids(data)
        assert set(pids) >= {"prometheus", "alertmanager", "pushgateway", "sink", "exporter"}
        up.stop(signal.SIGKILL)
        wait_until(
            lambda: not [name for name, pid in pids.items() if _running(pid)],
            15,
            what="every child to die with its parent",
        )
    finally:
        up.stop()
        _kill_all(pids)
    assert set(_child_pids(data)) == set(pids), "a SIGKILLed up cannot remove its PID files"

    again = start(_up_argv(tmp_path, ports, data), tmp_path / "again.log")
    new_pids: dict[str, int] = {}
    try:
        wait_until(lambda: _is_up(again), UP_TIMEOUT, what="the next lookout up")
        assert again.alive(), again.output()
        for name, pid in pids.items():
            assert f"removed the stale PID file of {name} (PID {pid} no longer runs)" in again.output()
        new_pids = _child_pids(data)
        assert all(pid_alive(pid) for pid in new_pids.values())
    finally:
        again.stop()
        _kill_all(new_pids)


def test_a_leftover_child_is_stopped_and_a_stranger_left_alone(tmp_path: Path) -> None:
    """A Pushgateway still running as `lookout up` started it (its PID file from a killed `up`) holds the
    port: the next `up` stops it, after checking its command line. A PID file whose PID now runs
    something else is removed, and that process left running."""
    data = tmp_path / "data"
    ports = _ports()
    leftover_argv = [
        require_binary("prometheus-pushgateway"),
        f"--web.listen-address={LOOPBACK}:{ports['pushgateway']}",
        f"--persistence.file={data.resolve() / 'pushgateway.db'}",
    ]
    (data / "run").mkdir(parents=True)
    leftover = start(leftover_argv, tmp_path / "leftover.log")
    stranger = start(["sleep", "600"], tmp_path / "stranger.log")
    (data / "run" / "pushgateway.pid").write_text(f"{leftover.pid}\n")
    (data / "run" / "alertmanager.pid").write_text(f"{stranger.pid}\n")
    up = start(_up_argv(tmp_path, ports, data), tmp_path / "up.log")
    pids: dict[str, int] = {}
    try:
        wait_until(lambda: _is_up(up), UP_TIMEOUT, what="lookout up")
        assert up.alive(), up.output()
        output = up.output()
        assert f"stopped pushgateway (PID {leftover.pid}), left running by an earlier `lookout up`" in output
        assert f"removed the stale PID file of alertmanager (PID {stranger.pid} now runs something else" in output
        wait_until(lambda: not leftover.alive(), 10, what="the leftover to be reaped")
        assert stranger.alive(), "a process `lookout up` did not start is never killed"
        pids = _child_pids(data)
        assert pids["pushgateway"] != leftover.pid and pids["alertmanager"] != stranger.pid
    finally:
        up.stop()
        leftover.stop()
        stranger.stop()
        _kill_all(pids)
