"""``discover``: beyond the tool list, the tool-definition footprint, the resources and prompts the server
advertises, and a ping.

Only this kind reports the footprint: a target probed by several modules lists the same tools each time, and
one set of footprint series per discover module keeps per-server sums honest."""

from __future__ import annotations

from lookout.config.probe import Module
from lookout.probe.footprint import measure
from lookout.probe.protocol import McpSession
from lookout.probe.result import ProbeResult


async def probe(session: McpSession, module: Module, result: ProbeResult) -> None:
    result.footprint = measure(result.tool_definitions)
    result.max_tool_series = module.max_tool_series
    if module.list_resources and "resources" in session.capabilities:
        with result.phase("list_resources"):
            result.resources = len(await session.list_resources())
    if module.list_prompts and "prompts" in session.capabilities:
        with result.phase("list_prompts"):
            result.prompts = len(await session.list_prompts())
    if not session.is_modern:  # ping is a handshake-era method
        with result.phase("ping"):
            await session.ping()
