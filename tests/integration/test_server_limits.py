"""Lookout's HTTP servers against slow and hostile clients: a request must arrive within its read
deadline, a flood of half-sent requests cannot exhaust the file descriptors (the oldest idle connection
makes room), and errors are logged at a bounded rate."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from lookout.health.app import management_app, serve_management
from lookout.serving import Listener, RateLimitFilter, ServerLimits, serve
from tests.integration.probe_support import port_open
from tests.support import LOOPBACK, Proc, free_port, http_ok, start, wait_until

pytestmark = pytest.mark.integration

FD_LIMIT = 128
FLOOD = 200  # more half-sent requests than the exporter has file descriptors
MAX_LOG_BYTES = 16 * 1024

CONFIG = """\
version: 1
tenants:
  - name: acme
    targets: [{name: demo, url: "http://127.0.0.1:9/mcp"}]
alerting:
  receivers: [{name: sink, webhook: {url: "http://127.0.0.1:9/notify"}}]
  routes: {P0: [sink]}
"""


def with_fd_limit(limit: int, argv: list[str]) -> list[str]:
    """``argv`` run with RLIMIT_NOFILE lowered to ``limit`` (soft and hard, as ``ulimit -n`` does)."""
    code = (
        "import os, resource, sys; "
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit})); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    return [sys.executable, "-c", code, *argv]


@contextlib.contextmanager
def half_sent_requests(port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that send the start of a request head and then nothing."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection((LOOPBACK, port), timeout=10)
            sock.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: flood\r\n")
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture
def exporter(tmp_path: Path) -> Iterator[tuple[Proc, int]]:
    config = tmp_path / "lookout.yaml"
    config.write_text(CONFIG)
    port = free_port()
    argv = [sys.executable, "-m", "lookout", "exporter", "--config", str(config), "--listen", f"{LOOPBACK}:{port}"]
    proc = start(with_fd_limit(FD_LIMIT, argv), tmp_path / "exporter.log")
    try:
        wait_until(lambda: proc.alive() and http_ok(f"http://{LOOPBACK}:{port}/-/healthy"), 30, what="exporter")
        yield proc, port
    finally:
        proc.stop()


def test_a_flood_of_half_sent_requests_leaves_the_exporter_answering(exporter: tuple[Proc, int]) -> None:
    proc, port = exporter
    with half_sent_requests(port, FLOOD):
        for _ in range(5):
            response = httpx.get(f"http://{LOOPBACK}:{port}/-/healthy", timeout=5)
            assert response.status_code == 200
    assert proc.alive()
    assert len(proc.output().encode()) < MAX_LOG_BYTES, proc.output()[-2000:]


# ------------------------------------------------------------------ the request read deadline
async def _closed_by_server(port: int, data: bytes) -> bool:
    """Send ``data`` and report whether the server closes the connection without answering."""
    async with await anyio.connect_tcp(LOOPBACK, port) as stream:
        await stream.send(data)
        try:
            return await stream.receive() == b""
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return True


async def _echo_body(request: Request) -> Response:
    return PlainTextResponse(f"{len(await request.body())}\n")


@pytest.mark.parametrize(
    "partial",
    [
        b"GET / HTTP/1.1\r\nHost: slow\r\n",  # a head that never ends
        b"POST / HTTP/1.1\r\nHost: slow\r\nContent-Length: 100\r\n\r\n0123456789",  # a body that never ends
    ],
)
async def test_a_request_that_does_not_arrive_in_time_is_closed(partial: bytes) -> None:
    app = Starlette(routes=[Route("/", _echo_body, methods=["GET", "POST"])])
    port = free_port()
    limits = ServerLimits(request_read_seconds=0.5)
    async with anyio.create_task_group() as group:
        group.start_soon(serve, [Listener(app, LOOPBACK, port, "test", lifespan="off", limits=limits)])
        await anyio.to_thread.run_sync(lambda: wait_until(lambda: http_ok(f"http://{LOOPBACK}:{port}/"), 30))
        with anyio.fail_after(10):
            assert await _closed_by_server(port, partial)
        group.cancel_scope.cancel()


async def _status_line(port: int, data: bytes) -> bytes:
    """Send ``data`` in one write and return the status line of the answer."""
    async with await anyio.connect_tcp(LOOPBACK, port) as stream:
        await stream.send(data)
        answer = b""
        with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
            while b"\r\n" not in answer:
                answer += await stream.receive()
        return answer.split(b"\r\n", 1)[0]


async def test_a_head_over_the_bound_is_refused_even_when_it_arrives_in_one_write() -> None:
    """h11 bounds only a head it has not got whole: one sent in a single write of up to 256 KiB used to pass."""
    app = Starlette(routes=[Route("/", _echo_body, methods=["GET", "POST"])])
    port = free_port()
    limits = ServerLimits()
    big = b"GET / HTTP/1.1\r\nHost: big\r\nX-Big: " + b"a" * (limits.max_head_bytes + 1024) + b"\r\n\r\n"
    body = b"b" * (8 * limits.max_head_bytes)  # a small head with a large body in the same write still passes
    small = b"POST / HTTP/1.1\r\nHost: small\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    async with anyio.create_task_group() as group:
        group.start_soon(serve, [Listener(app, LOOPBACK, port, "test", lifespan="off", limits=limits)])
        await anyio.to_thread.run_sync(lambda: wait_until(lambda: http_ok(f"http://{LOOPBACK}:{port}/"), 30))
        with anyio.fail_after(10):
            assert await _status_line(port, big) == b"HTTP/1.1 400 Bad Request"
            assert await _status_line(port, small) == b"HTTP/1.1 200 OK"
        group.cancel_scope.cancel()


async def test_a_response_the_client_stops_reading_is_abandoned() -> None:
    finished = anyio.Event()

    async def endless(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            for _ in range(4096):  # 256 MiB: far more than the socket buffers hold
                await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            finished.set()

    port = free_port()
    limits = ServerLimits(write_stall_seconds=0.5)
    async with anyio.create_task_group() as group:
        group.start_soon(serve, [Listener(endless, LOOPBACK, port, "test", lifespan="off", limits=limits)])
        await anyio.to_thread.run_sync(lambda: wait_until(lambda: port_open(port), 30))
        async with await anyio.connect_tcp(LOOPBACK, port) as stream:
            await stream.send(b"GET / HTTP/1.1\r\nHost: slow-reader\r\n\r\n")  # and never read the answer
            with anyio.fail_after(20):
                await finished.wait()  # the server gave up on the response instead of waiting forever
        group.cancel_scope.cancel()


async def test_the_management_app_closes_a_half_sent_request() -> None:
    port = free_port()
    async with anyio.create_task_group() as group:
        group.start_soon(serve_management, management_app(CollectorRegistry()), LOOPBACK, port)
        await anyio.to_thread.run_sync(lambda: wait_until(lambda: http_ok(f"http://{LOOPBACK}:{port}/health"), 30))
        with anyio.fail_after(ServerLimits().request_read_seconds + 10):
            assert await _closed_by_server(port, b"GET /health HTTP/1.1\r\nHost: slow\r\n")
        group.cancel_scope.cancel()


# ------------------------------------------------------------------ rate-limited error logs
def test_identical_errors_are_logged_at_a_bounded_rate() -> None:
    now = [0.0]
    limiter = RateLimitFilter(burst=3, interval=60.0, clock=lambda: now[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, msg, None, None)

    passed = [limiter.filter(record("socket.accept() out of system resource")) for _ in range(100)]
    assert passed.count(True) == 3
    assert limiter.filter(record("another error"))  # other messages have their own budget
    now[0] = 61.0
    again = record("socket.accept() out of system resource")
    assert limiter.filter(again)
    assert again.getMessage().endswith("[97 similar messages suppressed]")
