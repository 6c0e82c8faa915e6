"""The load engine's sessions over the prober's lean MCP client (streamable HTTP, HTTP+SSE, stdio)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import replace

import anyio

from lookout.bench.load import SUCCESS, Outcome, Session, SessionFactory
from lookout.bench.scenario import Operation
from lookout.probe import McpSession
from lookout.probe.errors import (
    HttpStatusFailure,
    JsonRpcFailure,
    ProbeFailure,
    ProtocolViolation,
    ResponseTooLarge,
    TransportFailure,
)
from lookout.probe.transports.http import HttpOptions
from lookout.protocol import Transport

TRANSPORTS = tuple(t.value for t in Transport)
TOOL_ERROR = "tool_error"
TIMEOUT = "timeout"


def classify(exc: ProbeFailure) -> str:
    """A short, stable error type for the results (``jsonrpc_-32602``, ``http_503``, ``transport`` ...)."""
    if isinstance(exc, JsonRpcFailure):
        return f"jsonrpc_{exc.code}"
    if isinstance(exc, HttpStatusFailure):
        return f"http_{exc.status}"
    if isinstance(exc, TransportFailure):
        return "transport"
    if isinstance(exc, ResponseTooLarge):
        return "response_too_large"
    if isinstance(exc, ProtocolViolation):
        return "protocol"
    return "probe_failure"


class McpLoadSession:
    """Sends scenario operations on one negotiated MCP session."""

    def __init__(self, session: McpSession, timeout: float) -> None:
        self._session = session
        self._timeout = timeout

    async def send(self, operation: Operation) -> Outcome:
        try:
            # One deadline per operation here instead of httpx's per read and write: that keeps plain-HTTP
            # targets on the prober's h11 client, about half the CPU per request, so the generator
            # is less likely to be the bottleneck.
            with anyio.fail_after(self._timeout):
                if operation.tool is not None:
                    result = await self._session.call_tool(operation.tool, operation.arguments)
                    # A tool that reports failure in its result is an error to the user, as in the metrics.
                    return Outcome(TOOL_ERROR) if result.get("isError") is True else SUCCESS
                assert operation.method is not None
                await self._session.request(operation.method, operation.params)
                return SUCCESS
        except ProbeFailure as exc:
            return Outcome(classify(exc))
        except TimeoutError:
            return Outcome(TIMEOUT)


def mcp_sessions(
    target: str,
    *,
    transport: str = Transport.STREAMABLE_HTTP.value,
    protocol: str = "auto",
    timeout: float = 10.0,
    http: HttpOptions | None = None,
) -> SessionFactory:
    """A factory of load sessions on ``target`` (a URL, or for stdio a command line); ``http`` adds credentials
    and the CA of a protected endpoint (its headers and timeout are the load engine's)."""
    options = HttpOptions(timeout=None, headers={"User-Agent": "lookout-bench"})
    if http is not None:
        options = replace(http, timeout=None, headers={**http.headers, "User-Agent": "lookout-bench"})

    def connect() -> AbstractAsyncContextManager[Session]:
        return _open(target, transport, protocol, options, timeout)

    return connect


@asynccontextmanager
async def _open(
    target: str, transport: str, protocol: str, options: HttpOptions, deadline_seconds: float
) -> AsyncIterator[Session]:
    async with AsyncExitStack() as stack:
        try:
            with anyio.fail_after(deadline_seconds):  # bounds the handshake only; each operation has its own deadline
                session = await stack.enter_async_context(
                    McpSession.open(target, transport=Transport(transport), protocol=protocol, http=options)
                )
        except TimeoutError:  # anyio's has no text: a target that accepts and never answers would read as nothing
            raise TimeoutError(f"no MCP handshake within {deadline_seconds:g}s (--timeout)") from None
        yield McpLoadSession(session, deadline_seconds)
