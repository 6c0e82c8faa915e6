"""The prober against a server built with FastMCP (not Lookout's demo server): interop on both revisions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lookout.config.probe import Module
from lookout.probe.modules import ProbeTarget, run_probe
from lookout.protocol import Transport
from tests.integration.probe_support import server_argv, start_server
from tests.support import LOOPBACK, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fastmcp_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("fastmcp") / "fastmcp.log"
    proc = start_server(server_argv("fastmcp_server.py", "http", str(port)), log, port)
    try:
        yield f"http://{LOOPBACK}:{port}/mcp"
    finally:
        proc.stop()


@pytest.mark.parametrize(("protocol", "negotiated"), [("auto", "2026-07-28"), ("2025-06-18", "2025-06-18")])
async def test_discover_fastmcp_server(fastmcp_url: str, protocol: str, negotiated: str) -> None:
    result = await run_probe(ProbeTarget("fastmcp", fastmcp_url), "discover", Module(protocol=protocol))
    assert result.success, result.log.text()
    assert result.protocol_version == negotiated
    assert (result.server_name, result.server_version) == ("fastmcp-probe-target", "9.9.9")
    assert result.tools == ["add"] and result.resources == 1


async def test_tool_call_and_resource_read_on_fastmcp(fastmcp_url: str) -> None:
    call = Module.model_validate(
        {
            "kind": "tool_call",
            "tool_call": {"name": "add", "arguments": {"a": 2, "b": 3}, "expect_text_regex": "^5$"},
        }
    )
    result = await run_probe(ProbeTarget("fastmcp", fastmcp_url), "add", call)
    assert result.success, result.log.text()
    read = Module.model_validate(
        {"kind": "resource_read", "resource_read": {"uri": "memo://hello", "expect_text_regex": "FastMCP"}}
    )
    result = await run_probe(ProbeTarget("fastmcp", fastmcp_url), "read", read)
    assert result.success, result.log.text()


async def test_fastmcp_over_stdio() -> None:
    command = " ".join(server_argv("fastmcp_server.py", "stdio"))
    result = await run_probe(ProbeTarget("fastmcp", command, Transport.STDIO), "discover", Module(timeout="60s"))
    assert result.success, result.log.text()
    assert result.server_name == "fastmcp-probe-target" and result.tools == ["add"]
