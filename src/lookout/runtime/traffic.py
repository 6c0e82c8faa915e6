"""Background traffic for the demo server: a steady open-loop mix over every tool, listing and resource read,
so that the alerts and dashboards of a local stack have requests to see.

Bounded on purpose: at most ``MAX_IN_FLIGHT`` requests at once (a tick with no idle client is dropped, never
queued), one deadline per request, and a server that is down only makes the clients retry with a back-off.
The clients are the benchmark's sessions over the prober's lean MCP client.
"""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Final

import anyio
from anyio.abc import ObjectReceiveStream

from lookout.bench.client import TOOL_ERROR, mcp_sessions
from lookout.bench.load import SessionFactory
from lookout.bench.scenario import Operation
from lookout.probe.transports.http import HttpOptions

MAX_IN_FLIGHT: Final = 4
REQUEST_TIMEOUT: Final = 10.0
"""Longer than any latency fault a drill injects, shorter than a hang: a hung call frees its client."""
RECONNECT_BACKOFF: Final = (0.5, 5.0)
REPORT_EVERY: Final = 60.0

MIX: Final[tuple[Operation, ...]] = (
    Operation(tool="search_docs", arguments={"query": "alerts slo", "limit": 3}),
    # A city the demo knows: an unknown one is a deliberate tool error, which would count as an error.
    Operation(tool="get_weather", arguments={"city": "lisbon"}),
    Operation(tool="calculate", arguments={"expression": "(2 + 3) * 4"}),
    Operation(tool="generate_report", arguments={"topic": "availability", "pages": 2}),
    Operation(tool="echo", arguments={"text": "lookout"}),
    Operation(method="tools/list"),
    Operation(method="resources/list"),
    Operation(method="resources/read", params={"uri": "docs://index"}),
)
"""Round robin: at ``rps`` requests/s every entry gets ``rps / len(MIX)``, so a fault on any one tool shows."""

_KEEP_SESSION: Final = frozenset({"", TOOL_ERROR})
"""Outcomes after which the client keeps its session, besides JSON-RPC error answers; anything else (transport,
timeout, HTTP status, protocol) may mean the server restarted or hung, so the client reconnects."""


@dataclass
class TrafficStats:
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    connect_failures: int = 0
    last_connect_error: str = ""
    errors: dict[str, int] = field(default_factory=dict)

    def record(self, error_type: str) -> None:
        self.sent += 1
        if error_type:
            self.failed += 1
            self.errors[error_type] = self.errors.get(error_type, 0) + 1

    def line(self) -> str:
        detail = ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items()))
        failed = f"{self.failed} failed" + (f" ({detail})" if detail else "")
        return f"traffic: {self.sent} sent, {failed}, {self.dropped} dropped, {self.connect_failures} failed connects"


async def _client(connect: SessionFactory, tickets: ObjectReceiveStream[Operation], stats: TrafficStats) -> None:
    backoff = RECONNECT_BACKOFF[0]
    while True:
        try:
            async with connect() as session:
                backoff = RECONNECT_BACKOFF[0]
                async for operation in tickets:
                    outcome = await session.send(operation)
                    stats.record(outcome.error_type)
                    if outcome.error_type not in _KEEP_SESSION and not outcome.error_type.startswith("jsonrpc_"):
                        break
                else:
                    return
        except Exception as exc:  # the server is down or refused the handshake: its alerts say so, we retry
            stats.connect_failures += 1
            stats.last_connect_error = f"{type(exc).__name__}: {exc}"
            await anyio.sleep(backoff)
            backoff = min(backoff * 2, RECONNECT_BACKOFF[1])


async def drive(
    url: str, rps: float, *, duration: float | None = None, report: bool = True, http: HttpOptions | None = None
) -> TrafficStats:
    """Send the mix to ``url`` at ``rps`` until cancelled (or for ``duration`` seconds); ``http`` carries the CA and
    the bearer token of a protected endpoint."""
    stats = TrafficStats()
    if rps <= 0:
        return stats
    connect = mcp_sessions(url, timeout=REQUEST_TIMEOUT, http=http)
    send, receive = anyio.create_memory_object_stream[Operation](0)
    interval = 1.0 / rps
    async with anyio.create_task_group() as tg, receive:
        for _ in range(MAX_IN_FLIGHT):
            tg.start_soon(_client, connect, receive.clone(), stats)
        async with send:
            start = next_report = time.monotonic()
            index = 0
            while duration is None or time.monotonic() - start < duration:
                await anyio.sleep(max(0.0, start + index * interval - time.monotonic()))
                try:
                    send.send_nowait(MIX[index % len(MIX)])
                except anyio.WouldBlock:
                    stats.dropped += 1  # every client is busy or reconnecting: bounded, so skip this tick
                index += 1
                if report and time.monotonic() >= next_report + REPORT_EVERY:
                    next_report = time.monotonic()
                    print(stats.line(), flush=True)
        tg.cancel_scope.cancel()  # the schedule ended: clients that wait on a reconnect back-off stop too
    return stats


async def run_until_signal(url: str, rps: float, http: HttpOptions | None = None) -> None:
    """``lookout demo traffic``: drive until SIGINT/SIGTERM, then stop at once and exit 0."""
    print(f"traffic: {rps:g} requests/s to {url} ({len(MIX)} operations round robin)", flush=True)
    async with anyio.create_task_group() as tg:

        async def until_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    tg.cancel_scope.cancel()
                    return

        tg.start_soon(until_signal)
        await drive(url, rps, http=http)
        tg.cancel_scope.cancel()
    print("traffic: stopped", file=sys.stdout, flush=True)
