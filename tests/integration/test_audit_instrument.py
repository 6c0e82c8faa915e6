"""`lookout instrument --audit-file`: an unchanged SDK server program over stdio writes one audit record per
tool call (no arguments), none for other requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from tests.support import LOOPBACK, free_port, lookout_argv

pytestmark = pytest.mark.integration

PROGRAM = Path(__file__).parent / "instrumented_programs" / "sdk_server.py"


async def test_each_tool_call_is_one_audit_record(tmp_path: Path) -> None:
    audit = tmp_path / "audit" / "calls.jsonl"
    argv = lookout_argv(
        "instrument", "--management", f"{LOOPBACK}:{free_port()}", "--audit-file", str(audit), "--tenant", "acme",
        "--", str(PROGRAM), "stdio",
    )  # fmt: skip
    params = StdioServerParameters(command=argv[0], args=argv[1:], cwd=str(Path.cwd()))
    async with Client(params, mode="legacy") as client:
        await client.list_tools()
        assert not (await client.call_tool("forecast", {"city": "Oslo"})).is_error
        assert (await client.call_tool("divide", {"a": 1, "b": 0})).is_error
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(r["tool"], r["outcome"], r.get("error_type")) for r in records] == [
        ("forecast", "ok", None),
        ("divide", "error", "ZeroDivisionError"),
    ]
    assert all(r["tenant"] == "acme" and r["stream"] == "audit" and "arguments" not in r for r in records)
    assert "Oslo" not in audit.read_text()
