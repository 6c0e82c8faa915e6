"""Helpers shared by the tests: free loopback ports, polling with deadlines, child processes that are
always reaped (by PID) and real Prometheus/Alertmanager instances on temp dirs."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

T = TypeVar("T")
LOOPBACK = "127.0.0.1"


_HANDED_OUT: set[int] = set()
"""Ports this test process was given: the kernel may offer a port again once its socket is closed, and two
components of one test config must never share one."""


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind((LOOPBACK, 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def wait_until(predicate: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.1, what: str = "") -> T:
    """Poll ``predicate`` until it returns something truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the condition may raise until the thing is up
            last_error = exc
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what or predicate}; last error: {last_error!r}")


def instant_query(prometheus: str, expr: str, at: float | None = None, timeout: float = 5) -> list[dict[str, Any]]:
    """The result of an instant query (at `at`, else now) that Prometheus must answer with success."""
    params = {"query": expr} | ({"time": f"{at:.3f}"} if at is not None else {})
    body = httpx.get(f"{prometheus}/api/v1/query", params=params, timeout=timeout).json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Proc:
    """A child process started by a test; :meth:`stop` terminates and reaps it by PID."""

    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode


def start(argv: Sequence[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> Proc:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        popen = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    return Proc(popen, log)


def start_ready(argv: Sequence[str], log: Path, ready_url: str, what: str) -> Proc:
    """Start a child and wait until ``ready_url`` answers 200; a child that never gets ready is stopped."""
    proc = start(argv, log)
    try:
        wait_until(lambda: proc.alive() and http_ok(ready_url), 30, what=what)
    except BaseException:
        proc.stop()
        raise
    return proc


def lookout_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "lookout", *args]


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: `make test` installs it (scripts/ensure-debs.sh)")
    return path


@contextlib.contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A small HTTP server in a thread of this process on a free loopback port, its URL yielded; shut down and
    joined on exit. For answers no real component gives (another service where Prometheus belongs ...)."""
    server = ThreadingHTTPServer((LOOPBACK, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def running(proc: Proc) -> Iterator[Proc]:
    try:
        yield proc
    finally:
        proc.stop()


@dataclass
class DemoServer:
    proc: Proc
    port: int
    management_port: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/mcp"

    @property
    def management_url(self) -> str:
        return f"http://{LOOPBACK}:{self.management_port}"

    @property
    def metrics_url(self) -> str:
        return f"{self.management_url}/metrics"


def start_demo_server(tmp: Path) -> DemoServer:
    port, mport = free_port(), free_port()
    argv = lookout_argv("demo-server", "--port", str(port), "--management-port", str(mport))
    ready = f"http://{LOOPBACK}:{mport}/health"
    return DemoServer(start_ready(argv, tmp / f"demo-{port}.log", ready, "demo server /health"), port, mport)


@dataclass
class Prometheus:
    proc: Proc
    port: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def query(self, expr: str) -> list[dict[str, Any]]:
        return instant_query(self.url, expr, timeout=10)


def start_prometheus(config: Path, tmp: Path, port: int | None = None, extra_args: Sequence[str] = ()) -> Prometheus:
    port = port or free_port()
    argv = [
        require_binary("prometheus"),
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp / 'tsdb'}",
        f"--web.listen-address={LOOPBACK}:{port}",
        "--web.enable-lifecycle",
        *extra_args,
    ]
    ready = f"http://{LOOPBACK}:{port}/-/ready"
    return Prometheus(start_ready(argv, tmp / "prometheus.log", ready, "prometheus /-/ready"), port)


@dataclass
class Alertmanager:
    proc: Proc
    port: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


def start_alertmanager(config: Path, tmp: Path, port: int | None = None) -> Alertmanager:
    port = port or free_port()
    argv = [
        require_binary("prometheus-alertmanager"),
        f"--config.file={config}",
        f"--storage.path={tmp / 'am'}",
        f"--web.listen-address={LOOPBACK}:{port}",
        "--cluster.listen-address=",
    ]
    ready = f"http://{LOOPBACK}:{port}/-/ready"
    return Alertmanager(start_ready(argv, tmp / "alertmanager.log", ready, "alertmanager /-/ready"), port)


@dataclass
class Pushgateway:
    proc: Proc
    port: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def metrics_text(self) -> str:
        return httpx.get(f"{self.url}/metrics", timeout=10).text


def start_pushgateway(tmp: Path, port: int | None = None) -> Pushgateway:
    """Debian's prometheus-pushgateway on a free loopback port, persisting into ``tmp``."""
    port = port or free_port()
    argv = [
        require_binary("prometheus-pushgateway"),
        f"--web.listen-address={LOOPBACK}:{port}",
        f"--persistence.file={tmp / 'pushgateway.data'}",
    ]
    ready = f"http://{LOOPBACK}:{port}/-/ready"
    return Pushgateway(start_ready(argv, tmp / "pushgateway.log", ready, "pushgateway /-/ready"), port)
