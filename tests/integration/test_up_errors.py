"""`lookout up` refuses to start with a one-line error, and reports a child that dies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lookout.runtime.children import pid_alive
from tests.stack_support import LISTEN, free_ports, sink_alerting, write_demo_config
from tests.support import LOOPBACK, lookout_argv, start, wait_until

pytestmark = pytest.mark.integration


def _ports() -> dict[str, int]:
    return free_ports(*LISTEN)


def _up(tmp: Path, ports: dict[str, int], *extra: str) -> list[str]:
    write_demo_config(tmp / "lookout.yaml", ports, sink_alerting(ports))
    return lookout_argv("up", "--config", str(tmp / "lookout.yaml"), "--data-dir", str(tmp / "data"), *extra)


def test_missing_binary_is_one_line_with_the_fix(tmp_path: Path) -> None:
    argv = _up(tmp_path, _ports(), "--no-demo", "--prometheus-bin", "no-such-prometheus")
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no-such-prometheus not found" in result.stderr and "apt-get install prometheus" in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_is_one_line_naming_it(tmp_path: Path) -> None:
    ports = _ports()
    with socket.socket() as taken:
        taken.bind((LOOPBACK, ports["prometheus"]))
        taken.listen()
        result = subprocess.run(_up(tmp_path, ports, "--no-demo"), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"{LOOPBACK}:{ports['prometheus']} (listen.prometheus) is already in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "run").exists(), "nothing may start when a port is taken"


def test_an_essential_child_that_dies_is_reported_and_everything_stops(tmp_path: Path) -> None:
    proc = start(_up(tmp_path, _ports(), "--no-demo"), tmp_path / "up.log")
    try:
        wait_until(lambda: "Lookout is up" in proc.output() or not proc.alive(), 60, what="lookout up")
        pids = {p.stem: int(p.read_text()) for p in (tmp_path / "data" / "run").glob("*.pid")}
        os.kill(pids["alertmanager"], signal.SIGKILL)
        wait_until(lambda: not proc.alive(), 30, what="lookout up to stop after a child died")
        assert proc.popen.returncode == 1
        assert "alertmanager exited" in proc.output()
        assert not [name for name, pid in pids.items() if pid_alive(pid)]
    finally:
        proc.stop()


def test_help_explains_every_command() -> None:
    for args in ([], ["up"], ["generate"], ["config", "validate"], ["demo-server"], ["demo", "fault"], ["sink"]):
        result = subprocess.run([sys.executable, "-m", "lookout", *args, "--help"], capture_output=True, text=True)
        assert result.returncode == 0, args
        assert "Usage" in result.stdout
