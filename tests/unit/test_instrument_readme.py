"""The README's instrumentation example runs as written (in a subprocess: it installs a global tracer
provider, which a test process can do only once)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"

HARNESS = """
import asyncio, httpx
class _DB:
    async def ping(self): return True
db = _DB()
{example}
@server.tool()
async def echo(text: str) -> str:
    return text
async def main():
    from mcp.client.client import Client
    mgmt_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=mgmt), base_url="http://m")
    async with Client(server) as client, mgmt_client as c:  # the lifespan runs while the client is connected
        assert not (await client.call_tool("echo", {{"text": "x"}})).is_error
        metrics = (await c.get("/metrics")).text
        assert 'gen_ai_tool_name="echo"' in metrics, metrics
        assert (await c.get("/health/ready")).status_code == 200
        health = (await c.get("/health")).json()
        assert "database" in health["checks"], health
    print("ok")
asyncio.run(main())
"""


def test_readme_example_runs() -> None:
    text = README.read_text()
    section = text.split("## Instrument a Python MCP server", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert example is not None
    code = example.group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 11
    out = subprocess.run(
        [sys.executable, "-c", HARNESS.format(example=code)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]
