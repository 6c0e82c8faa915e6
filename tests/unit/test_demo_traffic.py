"""The background traffic of `lookout up`: it covers every demo tool and survives a server that is down."""

from __future__ import annotations

import anyio
import pytest

from lookout.config.model import Config, DemoSettings
from lookout.demo.server import build_server
from lookout.runtime.traffic import MIX, drive
from tests.support import LOOPBACK, free_port


async def test_the_mix_calls_every_demo_tool_lists_and_reads_resources() -> None:
    server = build_server()
    tools = {tool.name for tool in await server.list_tools()}
    resources = {str(resource.uri) for resource in await server.list_resources()}
    assert {op.tool for op in MIX if op.tool} == tools
    methods = {op.method for op in MIX if op.method}
    assert {"tools/list", "resources/list", "resources/read"} <= methods
    reads = {str((op.params or {}).get("uri")) for op in MIX if op.method == "resources/read"}
    assert reads <= resources


async def test_a_server_that_is_down_is_retried_not_fatal_and_nothing_queues() -> None:
    url = f"http://{LOOPBACK}:{free_port()}/mcp"  # nothing listens there
    with anyio.fail_after(20):
        stats = await drive(url, rps=20, duration=1.5, report=False)
    assert stats.sent == 0
    assert stats.connect_failures > 0
    assert stats.dropped > 0, "ticks while every client is reconnecting are dropped, not queued"


def test_traffic_is_on_by_default_and_bounded_in_the_config() -> None:
    assert DemoSettings().traffic_rps > 0
    assert Config.model_fields["demo"].default_factory is not None
    with pytest.raises(ValueError):
        DemoSettings(traffic_rps=1000)
