"""`lookout instrument --audit-file`: unchanged SDK (the weather example) and FastMCP server programs over stdio
write one audit record per tool call (no arguments), none for other requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from tests.support import LOOPBACK, free_port, lookout_argv

pytestmark = pytest.mark.integration

PROGRAMS = Path(__file__).parent / "instrumented_programs"
WEATHER = Path(__file__).parents[2] / "examples" / "instrument" / "weather_server.py"
# program, (tool, arguments, a word of them), (failing tool, arguments, error type)
CASES = {
    "sdk": (WEATHER, ("forecast", {"city": "Oslo"}, "Oslo"), ("divide", {"a": 1, "b": 0}, "ZeroDivisionError")),
    "fastmcp": (
        PROGRAMS / "fastmcp_server.py",
        ("word_count", {"text": "alpha beta"}, "alpha"),
        ("crash", {}, "RuntimeError"),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_each_tool_call_is_one_audit_record(case: str, tmp_path: Path) -> None:
    program, (tool, arguments, word), (failing, failing_arguments, error_type) = CASES[case]
    audit = tmp_path / "audit" / "calls.jsonl"
    argv = lookout_argv(
        "instrument", "--management", f"{LOOPBACK}:{free_port()}", "--audit-file", str(audit), "--tenant", "acme",
        "--", str(program), "stdio",
    )  # fmt: skip
    params = StdioServerParameters(command=argv[0], args=argv[1:], cwd=str(Path.cwd()))
    async with Client(params, mode="legacy") as client:
        await client.list_tools()
        assert not (await client.call_tool(tool, arguments)).is_error
        assert (await client.call_tool(failing, failing_arguments)).is_error
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(r["tool"], r["outcome"], r.get("error_type")) for r in records] == [
        (tool, "ok", None),
        (failing, "error", error_type),
    ]
    assert all(r["tenant"] == "acme" and r["stream"] == "audit" and "arguments" not in r for r in records)
    assert word not in audit.read_text()
