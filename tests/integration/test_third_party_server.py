"""A third-party MCP server from PyPI, unchanged, monitored by the generated stack.

`mcp-server-time` (the reference time server: it builds its `MCPServer` inside its own `serve()` and runs it over
stdio) runs under `lookout instrument -- mcp-server-time`. A real MCP client calls its tools; a real Prometheus,
configured by the generated prometheus.yml and rules with the management port as the target's `metrics_url`,
scrapes it: the target is up, the per-tool counters carry the calls, and the recording rules behind the alerts
and dashboards (request rate, error ratio, per-tool error ratio) come out for the service.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from lookout import metrics as m
from lookout.config.loader import parse_config
from lookout.stack import DeployTarget, render_stack, write_stack
from lookout.stack.rules import recording
from tests.stack_support import scraped_target_config
from tests.support import LOOPBACK, Prometheus, free_port, lookout_argv, start_prometheus, wait_until

pytestmark = pytest.mark.integration

TENANT = "acme"
SERVICE = "time"
PROGRAM = "mcp-server-time"
SUCCESSES = 20
FAILURES = 5  # an unknown timezone: the server answers with a tool error


def _program() -> str:
    # Installed with the dev extra, next to this interpreter.
    path = shutil.which(PROGRAM, path=str(Path(sys.executable).parent))
    if path is None:
        pytest.fail(f"{PROGRAM} not found next to {sys.executable}: `make test` installs it with the dev extra")
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Prometheus, int]]:
    tmp = tmp_path_factory.mktemp("third-party")
    management, prometheus_port = free_port(), free_port()
    command = f"lookout instrument --service {SERVICE} --management {LOOPBACK}:{management} -- {PROGRAM}"
    metrics_url = f"http://{LOOPBACK}:{management}/metrics"
    config = parse_config(
        scraped_target_config(TENANT, SERVICE, command, metrics_url, prometheus_port, transport="stdio", probe=False)
    )
    write_stack(render_stack(config, DeployTarget.ALL), tmp / "stack")
    prom = start_prometheus(tmp / "stack/prometheus/prometheus.yml", tmp, prometheus_port)
    try:
        yield prom, management
    finally:
        prom.proc.stop()


def _value(prom: Prometheus, expr: str) -> float | None:
    result = prom.query(expr)
    if len(result) != 1:
        return None
    value = result[0]["value"]
    assert isinstance(value, list)
    return float(value[1])


async def test_an_unchanged_pypi_server_is_monitored_by_the_generated_stack(stack: tuple[Prometheus, int]) -> None:
    prom, management = stack
    argv = lookout_argv("instrument", "--service", SERVICE, "--management", f"{LOOPBACK}:{management}", "--")
    params = StdioServerParameters(command=argv[0], args=[*argv[1:], _program(), "--local-timezone", "UTC"])
    selector = f'{m.TENANT}="{TENANT}", {m.SERVICE}="{SERVICE}"'
    async with Client(params) as client:
        # Calls after the first scrape, so that the counters are seen rising from the zeros Lookout primes.
        await anyio.to_thread.run_sync(
            lambda: wait_until(lambda: _value(prom, f"up{{{selector}}}") == 1.0, 60, what="the management port scraped")
        )
        assert {tool.name for tool in (await client.list_tools()).tools} >= {"get_current_time", "convert_time"}
        for _ in range(SUCCESSES):
            assert not (await client.call_tool("get_current_time", {"timezone": "Europe/Oslo"})).is_error
        for _ in range(FAILURES):
            assert (await client.call_tool("get_current_time", {"timezone": "Nowhere/Nothing"})).is_error

        # The server must stay up while Prometheus scrapes it: the stdio session is the server's life.
        def scraped_calls() -> bool:
            ok = _value(prom, f'sum({m.OPERATION_DURATION.name}_count{{{selector}, {m.TOOL_NAME}="get_current_time"}})')
            return ok == SUCCESSES + FAILURES

        await anyio.to_thread.run_sync(lambda: wait_until(scraped_calls, 60, interval=0.5, what="the calls scraped"))
        failed = _value(
            prom,
            f'sum({m.OPERATION_DURATION.name}_count{{{selector}, {m.TOOL_NAME}="get_current_time", '
            f'{m.ERROR_TYPE}!=""}})',
        )
        assert failed == FAILURES

        # The rules behind the alerts and dashboards see the service (rates are positive once two scrapes apart).
        def rules_evaluated() -> bool:
            rate = _value(prom, f"{recording.REQUESTS_RATE}{{{selector}}}")
            ratio = _value(prom, f"{recording.ERROR_RATIO}{{{selector}}}")
            tool = _value(prom, f'{recording.TOOL_ERROR_RATIO}{{{selector}, {m.TOOL_NAME}="get_current_time"}}')
            return rate is not None and ratio is not None and tool is not None and 0 < ratio <= 1 and 0 < tool <= 1

        await anyio.to_thread.run_sync(
            lambda: wait_until(rules_evaluated, 90, interval=0.5, what="the recording rules for the third-party server")
        )
