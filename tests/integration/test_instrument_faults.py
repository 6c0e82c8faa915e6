"""Fault injection for the instrumentation: an OTLP endpoint that accepts and never answers, one that
refuses, a log stream nobody reads, a full log queue. Whatever the fault: requests complete while the
telemetry is stuck, the queues stay within their bounds, stopping finishes without waiting for the
stuck destination, and every log line or span that is lost is counted in
``lookout_telemetry_dropped_total``."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from mcp.client.client import Client
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from lookout import metrics as m
from lookout.demo.server import build_server
from lookout.instrument import instrument
from lookout.instrument.drops import (
    DROPS,
    EXPORT_FAILED,
    QUEUE_FULL,
    SHUTDOWN,
    SIGNAL_LOGS,
    SIGNAL_TRACES,
)
from lookout.instrument.json_logs import configure_json_logging
from lookout.instrument.tracing import TracingSetup, configure_tracing
from tests.instrument_support import ALWAYS_OFF, Otel, eventually, otel
from tests.integration.served_readme import Serving, served
from tests.support import LOOPBACK, free_port, wait_until

pytestmark = pytest.mark.integration

DROPPED = f"{m.TELEMETRY_DROPPED.name}_total"


def dropped_series(exposition: str) -> dict[tuple[str, str], float]:
    """``{(signal, reason): value}`` of the drop counter in a Prometheus text exposition."""
    out: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if s.name == DROPPED:
                out[tuple(s.labels[label] for label in m.TELEMETRY_DROPPED.labels)] = s.value  # type: ignore[index]
    return out


def delta(before: dict[tuple[str, str], int], signal_name: str, reason: str) -> int:
    return DROPS.get(signal_name, reason) - before.get((signal_name, reason), 0)


class Blackhole:
    """A loopback port that accepts connections, reads what arrives and never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server((LOOPBACK, 0))
        self.port = self.listener.getsockname()[1]
        self.request_arrived = threading.Event()
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.listener.accept()
                self.connections.append(conn)
                if conn.recv(65536):
                    self.request_arrived.set()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/v1/traces"

    def close(self) -> None:
        self.listener.close()
        for conn in self.connections:
            conn.close()
        self._thread.join(5)


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    hole = Blackhole()
    yield hole
    hole.close()


@pytest.fixture
def tracing() -> Iterator[Otel]:
    o = otel()
    yield o
    o.reset(ALWAYS_OFF)


def handed(setup: TracingSetup) -> int:
    return setup.processor.account.handed


async def scrape_drops(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    """The drop counter as the instrumented server's /metrics serves it."""
    from lookout.health.app import management_app

    transport = httpx.ASGITransport(app=management_app(registry))
    async with httpx.AsyncClient(transport=transport, base_url="http://management") as http:
        return dropped_series((await http.get("/metrics")).text)


async def test_requests_complete_while_the_otlp_endpoint_never_answers(tracing: Otel, blackhole: Blackhole) -> None:
    queue_bound = 64
    setup = configure_tracing(
        endpoint=blackhole.url,
        set_global=False,
        target_per_second=1e6,
        max_queue_size=queue_bound,
        schedule_delay=0.05,
        export_timeout=120,  # the export stays stuck for the whole test
        shutdown_timeout=0.5,
    )
    tracing.reset(setup.sampler, setup.processor)
    before = DROPS.snapshot()
    registry = CollectorRegistry()
    server = build_server()
    instrument(server, registry)
    queue = setup.processor.inner._batch_processor._queue
    async with Client(server, mode="2026-07-28") as client:

        async def until_an_export_is_stuck() -> bool:
            assert not (await client.call_tool("echo", {"text": "x"})).is_error
            return blackhole.request_arrived.is_set()

        with anyio.fail_after(30):
            while not await until_an_export_is_stuck():
                pass
        # The export thread now waits on an endpoint that never answers: requests go on regardless.
        for i in range(300):
            assert not (await client.call_tool("echo", {"text": str(i)})).is_error
            assert len(queue) <= queue_bound
        assert not setup.processor.account.abandoned and blackhole.request_arrived.is_set()
    ended = len(tracing.exporter.get_finished_spans())
    tracing.reset(ALWAYS_OFF)
    assert delta(before, SIGNAL_TRACES, QUEUE_FULL) > 0

    await anyio.to_thread.run_sync(setup.shutdown)
    # Shutdown returned although the export it would have waited for is still stuck.
    assert setup.processor.inner._batch_processor._worker_thread.is_alive()
    lost = sum(delta(before, SIGNAL_TRACES, r) for r in (QUEUE_FULL, EXPORT_FAILED, SHUTDOWN))
    assert lost == handed(setup) == ended  # nothing was exported, and every span is counted
    assert delta(before, SIGNAL_TRACES, SHUTDOWN) > 0
    scraped = await scrape_drops(registry)
    assert scraped[(SIGNAL_TRACES, SHUTDOWN)] == DROPS.get(SIGNAL_TRACES, SHUTDOWN)
    assert scraped[(SIGNAL_TRACES, QUEUE_FULL)] == DROPS.get(SIGNAL_TRACES, QUEUE_FULL)


async def test_spans_an_endpoint_refuses_are_counted(tracing: Otel) -> None:
    setup = configure_tracing(
        endpoint=f"http://{LOOPBACK}:{free_port()}/v1/traces",
        set_global=False,
        target_per_second=1e6,
        max_queue_size=64,
        schedule_delay=0.05,
        export_timeout=0.5,
        shutdown_timeout=2,
    )
    tracing.reset(setup.sampler, setup.processor)
    before = DROPS.snapshot()
    registry = CollectorRegistry()
    server = build_server()
    instrument(server, registry)
    async with Client(server, mode="2026-07-28") as client:
        for i in range(200):
            assert not (await client.call_tool("echo", {"text": str(i)})).is_error
        await eventually(lambda: delta(before, SIGNAL_TRACES, EXPORT_FAILED) > 0, 30, "a refused export counted")
    ended = len(tracing.exporter.get_finished_spans())
    tracing.reset(ALWAYS_OFF)
    await anyio.to_thread.run_sync(setup.shutdown)
    lost = sum(delta(before, SIGNAL_TRACES, r) for r in (QUEUE_FULL, EXPORT_FAILED, SHUTDOWN))
    assert lost == handed(setup) == ended
    assert (await scrape_drops(registry))[(SIGNAL_TRACES, EXPORT_FAILED)] == DROPS.get(SIGNAL_TRACES, EXPORT_FAILED)


def test_a_stream_nobody_reads_costs_counted_lines_not_a_blocked_caller() -> None:
    read_end, write_end = os.pipe()
    stream = os.fdopen(write_end, "w")
    logger = logging.getLogger("lookout.test.faults.blocked")
    logger.propagate = False
    queue_bound = 100
    handle = configure_json_logging(stream=stream, logger=logger, queue_size=queue_bound, shutdown_timeout=0.5)
    before = DROPS.snapshot()
    emitted = 0

    def emit(n: int) -> None:  # would hang here if emitting waited for the writer
        nonlocal emitted
        for _ in range(n):
            logger.warning("line %d %s", emitted, "y" * 200)
            emitted += 1
            assert len(handle.handler._buffer) <= queue_bound

    def pipe_full() -> bool:
        return not select.select([], [write_end], [], 0)[1]

    try:
        while not pipe_full():  # one queue's worth at a time, until the writer is stuck in the pipe
            emit(queue_bound)
            wait_until(lambda: not handle.handler._buffer or pipe_full(), 10, what="the writer to take the lines")
        emit(5 * queue_bound)
        assert handle.dropped > 0 and delta(before, SIGNAL_LOGS, QUEUE_FULL) == handle.dropped
        queued = handle.dropped
        # The writer is stuck in the full pipe: stopping gives up at its bound and counts what is left.
        assert handle.stop() is False
        assert handle.handler._thread.is_alive()
        assert delta(before, SIGNAL_LOGS, SHUTDOWN) == handle.dropped - queued > 0
        os.set_blocking(read_end, False)
        written = b""
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(read_end, 1 << 20):
                written += chunk
        complete = written.count(b"\n")
        assert complete + handle.dropped >= emitted  # every line was written or counted
        assert complete < emitted
    finally:
        os.close(read_end)  # the stuck write fails (EPIPE) and the writer thread ends
        handle.handler._thread.join(10)
        stream.close()
        logger.propagate = True


@pytest.mark.parametrize(
    ("serving", "sig"),
    [("lookout.serving", signal.SIGTERM), ("uvicorn.run log_config=None", signal.SIGINT)],
)
def test_a_server_whose_stderr_nobody_reads_exits_on_a_signal(tmp_path: Path, serving: Serving, sig: int) -> None:
    refused = f"http://{LOOPBACK}:{free_port()}/v1/traces"
    with served(tmp_path, serving, subprocess.PIPE, refused) as proc:
        wait_until(proc.answers, 30, what="the served README example")

        async def chatter() -> None:
            async with Client(proc.url) as client:  # 40,000 lines of ~300 bytes into a 64 KiB pipe
                result = await client.call_tool("chatter", {"lines": 40_000})
                assert not result.is_error  # the request never waited for stderr

        anyio.run(chatter)
        if serving == "lookout.serving":  # the drops are on the instrumented server's /metrics
            drops = wait_until(
                lambda: dropped_series(httpx.get(proc.metrics_url, timeout=5).text).get((SIGNAL_LOGS, QUEUE_FULL)),
                30,
                what="dropped log lines on /metrics",
            )
            assert drops > 0
        proc.popen.send_signal(sig)
        wait_until(lambda: proc.popen.poll() is not None, 30, what="the server to exit after the signal")
        assert proc.popen.returncode == 0
        assert proc.popen.stderr is not None
        proc.popen.stderr.close()
