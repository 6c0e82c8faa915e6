"""Health transitions of an instrumented server: starting -> ready -> draining -> stopped."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp.client.client import Client
from mcp.server.mcpserver import MCPServer
from prometheus_client import CollectorRegistry

from lookout import metrics as m
from lookout.instrument import instrument
from tests.instrument_support import eventually, serve_http
from tests.support import DemoServer, start_demo_server, wait_until

pytestmark = pytest.mark.integration


async def probe(client: httpx.AsyncClient) -> dict[str, int]:
    paths = ("/health/startup", "/health/ready", "/health/live")
    return {p.rsplit("/", 1)[1]: (await client.get(p)).status_code for p in paths}


async def test_transitions_follow_the_lifespan_and_the_drain() -> None:
    started = anyio.Event()
    release = anyio.Event()

    @asynccontextmanager
    async def slow_start(server: MCPServer) -> AsyncIterator[dict[str, Any]]:
        await started.wait()  # e.g. warming a cache
        yield {}

    server = MCPServer("gated", lifespan=slow_start)

    @server.tool()
    async def wait_for_release() -> str:
        await release.wait()
        return "done"

    handle = instrument(server, CollectorRegistry())
    mgmt = httpx.AsyncClient(transport=httpx.ASGITransport(app=handle.management_app()), base_url="http://m")
    seen: list[dict[str, int]] = [await probe(mgmt)]
    assert seen[0] == {"startup": 503, "ready": 503, "live": 200}  # starting

    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        urls: list[str] = []

        async def run_server() -> None:
            async with serve_http(server.streamable_http_app()) as base:
                urls.append(base)
                await stop.wait()

        tg.start_soon(run_server)
        await anyio.sleep(0.1)
        assert await probe(mgmt) == {"startup": 503, "ready": 503, "live": 200}  # lifespan still starting
        started.set()
        await eventually(lambda: urls)
        seen.append(await probe(mgmt))
        assert seen[-1] == {"startup": 200, "ready": 200, "live": 200}  # ready

        result: list[bool] = []

        async def call() -> None:
            async with Client(f"{urls[0]}/mcp") as client:
                result.append(not (await client.call_tool("wait_for_release", {})).is_error)

        tg.start_soon(call)
        await eventually(lambda: handle.recorder.in_flight_total == 1)
        drained: list[bool] = []

        async def drain() -> None:
            drained.append(await handle.drain(grace=30))

        tg.start_soon(drain)
        await eventually(lambda: handle.health.phase.value == "draining")
        seen.append(await probe(mgmt))
        assert seen[-1] == {"startup": 200, "ready": 503, "live": 200}  # draining: unready at once
        assert not drained and not result  # the in-flight request is still running
        release.set()
        await eventually(lambda: drained and result)
        assert drained == [True] and result == [True]
        stop.set()
    seen.append(await probe(mgmt))
    assert seen[-1]["live"] == 503 and seen[-1]["ready"] == 503  # stopped: the lifespan has ended
    assert handle.health.phase.value == "stopped"
    await mgmt.aclose()


def test_sigterm_drains_the_demo_server_before_it_exits(tmp_path: Path) -> None:
    demo: DemoServer = start_demo_server(tmp_path)
    try:
        assert httpx.get(f"{demo.management_url}/health/ready").status_code == 200
        httpx.put(f"{demo.management_url}/faults/echo", json={"latency_ms": 4000}).raise_for_status()
        outcome: list[bool] = []

        async def slow_call() -> None:
            async with Client(demo.url) as client:
                outcome.append(not (await client.call_tool("echo", {"text": "x"})).is_error)

        async def scenario() -> None:
            async with anyio.create_task_group() as tg:
                tg.start_soon(slow_call)
                series = f'{m.REQUESTS_IN_FLIGHT.name}{{mcp_method_name="tools/call"}} 1.0'
                await anyio.to_thread.run_sync(
                    lambda: wait_until(lambda: series in httpx.get(demo.metrics_url).text, 10, what="in flight")
                )
                demo.proc.popen.send_signal(signal.SIGTERM)
                # Not ready at once, while the process still serves the in-flight call.
                await anyio.to_thread.run_sync(
                    lambda: wait_until(
                        lambda: httpx.get(f"{demo.management_url}/health/ready").status_code == 503, 5, what="unready"
                    )
                )
                assert demo.proc.alive()
                assert httpx.get(f"{demo.management_url}/health/live").status_code == 200

        anyio.run(scenario)
        assert outcome == [True]  # the in-flight request drained successfully
        demo.proc.popen.wait(15)
        assert demo.proc.popen.returncode == 0, demo.proc.output()
    finally:
        demo.proc.stop()


def test_metrics_of_the_demo_keep_the_operation_histogram(demo_server: DemoServer) -> None:
    r = httpx.get(demo_server.metrics_url, headers={"accept": "application/openmetrics-text"})
    assert r.status_code == 200 and "application/openmetrics-text" in r.headers["content-type"]
    assert f"# TYPE {m.OPERATION_DURATION.name} histogram" in r.text
    body = httpx.get(f"{demo_server.management_url}/health").json()
    assert body["status"] in ("healthy", "degraded") and body["phase"] == "ready"


async def test_management_app_on_its_own_port() -> None:
    from tests.support import LOOPBACK, free_port

    server = MCPServer("standalone")
    handle = instrument(server, CollectorRegistry())
    port = free_port()
    async with anyio.create_task_group() as tg:
        tg.start_soon(handle.serve_management, LOOPBACK, port)
        async with httpx.AsyncClient(base_url=f"http://{LOOPBACK}:{port}") as http:

            async def answers() -> bool:
                try:
                    return (await http.get("/health/live")).status_code == 200
                except httpx.HTTPError:
                    return False

            with anyio.fail_after(10):
                while True:
                    if await answers():
                        break
                    await anyio.sleep(0.05)
            assert (await http.get("/health/startup")).status_code == 503  # no lifespan has started
            assert m.SERVER_INFO.name in (await http.get("/metrics")).text
        tg.cancel_scope.cancel()


async def test_management_app_on_a_taken_port_is_an_oserror_the_program_can_handle() -> None:
    """uvicorn would end the process with SystemExit from inside the caller's task group."""
    import socket

    from tests.support import LOOPBACK

    server = MCPServer("standalone")
    handle = instrument(server, CollectorRegistry())
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        failures: list[Exception] = []

        async def management() -> None:
            try:
                await handle.serve_management(LOOPBACK, port)
            except Exception as exc:
                failures.append(exc)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(management)
    assert [type(e) for e in failures] == [OSError]
    assert str(failures[0]).startswith(f"management address {LOOPBACK}:{port} is not available: ")
