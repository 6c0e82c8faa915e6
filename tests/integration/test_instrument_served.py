"""The README's instrumentation set-up served for real (uvicorn on a loopback port, an MCP client over
HTTP): its JSON lines reach stderr, although creating a ``uvicorn.Config`` (and an application's own
``dictConfig``) reconfigures logging after ``instrument()`` installed the JSON handler."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from mcp.client.client import Client

from tests.integration.served_readme import Serving, json_lines, served
from tests.support import LOOPBACK, free_port, wait_until

pytestmark = pytest.mark.integration

HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.mark.parametrize("serving", ["uvicorn.run", "app dictConfig, uvicorn.run"])
async def test_the_readme_setup_served_by_uvicorn_writes_its_json_lines(tmp_path: Path, serving: Serving) -> None:
    stderr_path = tmp_path / "stderr.log"
    refused = f"http://{LOOPBACK}:{free_port()}/v1/traces"
    with stderr_path.open("wb") as stderr, served(tmp_path, serving, stderr, refused) as proc:
        wait_until(proc.answers, 30, what="the served README example")
        async with Client(proc.url) as client:
            result = await client.call_tool("lookup", {"city": "atlantis"})
            assert not result.is_error

        def written() -> tuple[dict[str, Any], dict[str, Any]] | None:
            lines = json_lines(stderr_path.read_text(errors="replace"))
            app = [r for r in lines if r.get("message") == "looking up atlantis"]
            access = [r for r in lines if r.get("logger") == "lookout.access" and r.get("mcp_tool") == "lookup"]
            return (app[0], access[0]) if app and access else None

        app_line, access_line = wait_until(written, 30, what="the tool's log line and its access line on stderr")
    assert app_line["logger"] == "search.app" and app_line["level"] == "info"
    assert (app_line["service"], app_line["tenant"]) == ("search", "acme")
    assert (app_line["mcp_method"], app_line["mcp_tool"]) == ("tools/call", "lookup")
    assert (access_line["mcp_method"], access_line["outcome"]) == ("tools/call", "ok")
    # both lines carry the request's trace, so a log line leads to its trace and back
    assert HEX32.match(app_line["trace_id"]) and app_line["trace_id"] == access_line["trace_id"]
