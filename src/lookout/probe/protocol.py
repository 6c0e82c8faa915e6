"""A lean MCP client: JSON-RPC over a :class:`~lookout.probe.transports.MessageTransport`, both protocol eras.

* Handshake revisions (2025-06-18, 2025-11-25, ...): ``initialize`` → ``notifications/initialized`` →
  requests on the ``Mcp-Session-Id`` session → DELETE on close.
* 2026-07-28: sessionless. ``server/discover`` finds the server's facts; every request carries the
  ``_meta`` envelope (protocol version, client capabilities, client info) and the ``MCP-Protocol-Version``,
  ``Mcp-Method`` and ``Mcp-Name`` headers.

``protocol="auto"`` tries ``server/discover`` first and falls back to ``initialize`` on any error answer,
like the SDK's ``negotiate_auto``. Typical use (the probe modules and the benchmark load generator)::

    async with McpSession.open("http://127.0.0.1:8000/mcp") as session:
        print(session.protocol_version, session.server_name)
        tools = await session.list_tools()
        result = await session.call_tool("echo", {"text": "hi"})

Results are plain dicts exactly as on the wire (no pydantic models: this client must stay cheap).
A JSON-RPC error answer raises :class:`~lookout.probe.errors.JsonRpcFailure`; every other problem is a
:class:`~lookout.probe.errors.ProbeFailure` subclass naming the cause.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import shlex
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import anyio
import httpx

from lookout import __version__
from lookout.probe.errors import HttpStatusFailure, JsonRpcFailure, ProbeFailure, ProtocolViolation
from lookout.probe.transports import h11_client
from lookout.probe.transports.base import MessageTransport, WireStats
from lookout.probe.transports.http import HttpOptions, build_client
from lookout.protocol import (
    KNOWN_PROTOCOL_VERSIONS,
    LATEST_HANDSHAKE_VERSION,
    LATEST_MODERN_VERSION,
    MODERN_PROTOCOL_VERSIONS,
    Transport,
    address_problem,
    transport_names,
)

MAX_LIST_PAGES = 50
"""Pages of one list call: a buggy paginator must end the call, not loop it. A probe also bounds the pages
of all its list calls together (``list_page_budget``: the module's ``max_list_pages``)."""
CLIENT_INFO = {"name": "lookout-probe", "version": __version__}
_NAME_PARAM = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


def version_at_least(version: str | None, minimum: str) -> bool:
    """Revisions compare by position in the known list; an unknown revision is never "at least"."""
    if version not in KNOWN_PROTOCOL_VERSIONS:
        return False
    return KNOWN_PROTOCOL_VERSIONS.index(version) >= KNOWN_PROTOCOL_VERSIONS.index(minimum)


def _header_value(value: str) -> str:
    """The SDK's encoding of ``Mcp-Name``: printable ASCII verbatim, anything else base64-wrapped."""
    if value.isascii() and value.isprintable() and value == value.strip() and not value.startswith("=?base64?"):
        return value
    return f"=?base64?{base64.b64encode(value.encode()).decode()}?="


class McpSession:
    """One conversation with an MCP server. Build it with :meth:`open`; it negotiates on entry."""

    def __init__(
        self,
        transport: MessageTransport,
        *,
        log: Callable[[str], None] | None = None,
        list_page_budget: int | None = None,
    ) -> None:
        self.transport = transport
        self.list_page_budget = list_page_budget
        self.list_pages = 0
        self.protocol_version: str | None = None
        self.server_name: str | None = None
        self.server_version: str | None = None
        self.capabilities: dict[str, Any] = {}
        self.instructions: str | None = None
        self._ids = itertools.count(1)
        self._log = log or (lambda message: None)

    # ------------------------------------------------------------------ opening
    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        target: str,
        *,
        transport: Transport = Transport.STREAMABLE_HTTP,
        protocol: str = "auto",
        http: HttpOptions | None = None,
        http_client: httpx.AsyncClient | None = None,
        stats: WireStats | None = None,
        log: Callable[[str], None] | None = None,
        list_page_budget: int | None = None,
    ) -> AsyncIterator[McpSession]:
        """Connect to ``target`` (a URL, or for ``Transport.STDIO`` a command line) and negotiate.

        ``protocol`` is ``"auto"`` or a revision to pin. Pass ``http_client`` to reuse connections across
        sessions (load generation); otherwise each session has its own client and closes it.
        ``list_page_budget`` bounds the pages of all list calls of the session together (a probe's).
        Everything (sockets, child processes) is released on exit, also on cancellation.
        """
        stats = stats or WireStats(log=log or (lambda message: None))
        wire = await open_transport(target, transport, http or HttpOptions(), http_client, stats)
        session = cls(wire, log=stats.log, list_page_budget=list_page_budget)
        try:
            await session.negotiate(protocol)
            yield session
        finally:
            await wire.aclose()

    async def negotiate(self, protocol: str = "auto") -> None:
        """Establish the revision: discover (modern), initialize (handshake), or discover-then-initialize."""
        if protocol in MODERN_PROTOCOL_VERSIONS:
            await self.discover(protocol)
        elif protocol != "auto":
            await self.initialize(protocol)
        elif self.transport.network_transport is Transport.SSE:
            # HTTP+SSE predates the modern revision; initialize offers the newest handshake revision and
            # the server answers with the one it picks.
            await self.initialize(LATEST_HANDSHAKE_VERSION)
        else:
            try:
                await self.discover(LATEST_MODERN_VERSION)
            except ProbeFailure as exc:
                if not _is_era_answer(exc):
                    raise  # no answer at all (network, timeout): not evidence of an older server
                self._log(f"server/discover refused ({exc}); falling back to initialize")
                self.protocol_version = None
                await self.initialize(LATEST_HANDSHAKE_VERSION)

    async def discover(self, version: str = LATEST_MODERN_VERSION) -> dict[str, Any]:
        self.protocol_version = version
        result = await self.request("server/discover", {})
        supported = result.get("supportedVersions")
        if not isinstance(supported, list) or version not in supported:
            raise NotModern(f"server/discover: server supports {supported!r}, not {version}")
        self._adopt(result, result.get("_meta", {}).get("io.modelcontextprotocol/serverInfo"))
        return result

    async def initialize(self, version: str = LATEST_HANDSHAKE_VERSION) -> dict[str, Any]:
        params = {"protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT_INFO}
        result = await self.request("initialize", params)
        negotiated = result.get("protocolVersion")
        if not isinstance(negotiated, str):
            raise ProtocolViolation("initialize: the result has no protocolVersion")
        self.protocol_version = negotiated
        self._adopt(result, result.get("serverInfo"))
        await self.notify("notifications/initialized")
        return result

    def _adopt(self, result: Mapping[str, Any], server_info: Any) -> None:
        capabilities = result.get("capabilities")
        self.capabilities = dict(capabilities) if isinstance(capabilities, dict) else {}
        instructions = result.get("instructions")
        self.instructions = instructions if isinstance(instructions, str) else None
        if isinstance(server_info, dict):
            self.server_name = _str_or_none(server_info.get("name"))
            self.server_version = _str_or_none(server_info.get("version"))

    @property
    def is_modern(self) -> bool:
        return self.protocol_version in MODERN_PROTOCOL_VERSIONS

    # ------------------------------------------------------------------ JSON-RPC
    def _envelope(self, method: str, params: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
        body: dict[str, Any] = dict(params or {})
        headers: dict[str, str] = {}
        if self.protocol_version is not None:
            headers["MCP-Protocol-Version"] = self.protocol_version
        if self.is_modern:
            meta = dict(body.get("_meta") or {})
            meta["io.modelcontextprotocol/protocolVersion"] = self.protocol_version
            meta["io.modelcontextprotocol/clientCapabilities"] = {}
            meta["io.modelcontextprotocol/clientInfo"] = CLIENT_INFO
            body["_meta"] = meta
            headers["Mcp-Method"] = method
            name_key = _NAME_PARAM.get(method)
            if name_key is not None and isinstance(body.get(name_key), str):
                headers["Mcp-Name"] = _header_value(body[name_key])
        return body, headers

    async def request(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Send one request; return its ``result`` or raise :class:`JsonRpcFailure`."""
        body, headers = self._envelope(method, params)
        request_id = next(self._ids)
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if body:
            message["params"] = body
        self._log(f"-> {method} (id {request_id})")
        reply = await self.transport.request(message, headers)
        error = reply.get("error")
        if error is not None:
            if not isinstance(error, dict) or not isinstance(error.get("code"), int):
                raise ProtocolViolation(f"{method}: malformed JSON-RPC error object {error!r}")
            raise JsonRpcFailure(method, int(error["code"]), str(error.get("message", "")))
        result = reply.get("result")
        if not isinstance(result, dict):
            raise ProtocolViolation(f"{method}: the result is not an object")
        return result

    async def notify(self, method: str, params: Mapping[str, Any] | None = None) -> None:
        body, headers = self._envelope(method, params)
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if body:
            message["params"] = body
        self._log(f"-> {method} (notification)")
        await self.transport.notify(message, headers)

    # ------------------------------------------------------------------ MCP methods
    async def _list(self, method: str, key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        budget = self.list_page_budget
        for _ in range(MAX_LIST_PAGES if budget is None else max(0, budget - self.list_pages)):
            self.list_pages += 1
            result = await self.request(method, {"cursor": cursor} if cursor else None)
            page = result.get(key)
            if not isinstance(page, list):
                raise ProtocolViolation(f"{method}: the result has no {key!r} list")
            items.extend(item for item in page if isinstance(item, dict))
            next_cursor = result.get("nextCursor")
            if not isinstance(next_cursor, str) or not next_cursor:
                return items
            cursor = next_cursor
        if budget is not None:
            raise ProtocolViolation(
                f"{method}: pagination did not end within max_list_pages "
                f"({budget} pages for all list calls of the probe)"
            )
        raise ProtocolViolation(f"{method}: pagination did not end within {MAX_LIST_PAGES} pages")

    async def list_tools(self) -> list[dict[str, Any]]:
        return await self._list("tools/list", "tools")

    async def list_resources(self) -> list[dict[str, Any]]:
        return await self._list("resources/list", "resources")

    async def list_prompts(self) -> list[dict[str, Any]]:
        return await self._list("prompts/list", "prompts")

    async def call_tool(self, name: str, arguments: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return await self.request("tools/call", {"name": name, "arguments": dict(arguments or {})})

    async def read_resource(self, uri: str) -> dict[str, Any]:
        return await self.request("resources/read", {"uri": uri})

    async def ping(self) -> dict[str, Any]:
        return await self.request("ping")


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class NotModern(ProtocolViolation):
    """``server/discover`` answered but names no revision this client speaks in the modern era."""


def _is_era_answer(exc: ProbeFailure) -> bool:
    """Did the server *answer* discover (an error reply, an HTTP 4xx), as opposed to failing to answer?"""
    if isinstance(exc, JsonRpcFailure | NotModern):
        return True
    return isinstance(exc, HttpStatusFailure) and 400 <= exc.status < 500


async def open_transport(
    target: str,
    kind: Transport,
    http: HttpOptions,
    http_client: httpx.AsyncClient | None,
    stats: WireStats,
) -> MessageTransport:
    """The transport for ``kind``; for stdio ``target`` is the command line (split like a POSIX shell)."""
    problem = address_problem(target, kind)  # an allowed_urls pattern may let through a port that is none
    if problem is not None:
        raise ProbeFailure(f"{target!r} {problem}")
    if kind == Transport.STDIO:
        from lookout.probe.transports.stdio import StdioTransport

        return await StdioTransport.start(shlex.split(target), stats=stats, max_message_bytes=http.max_response_bytes)
    if (
        kind == Transport.STREAMABLE_HTTP
        and http_client is None
        and h11_client.usable(target, follow_redirects=http.follow_redirects, timeout=http.timeout)
    ):
        from lookout.probe.transports.streamable_http import StreamableHttpTransport

        fast = h11_client.H11Client(target, http.headers, http.auth, stats)
        return StreamableHttpTransport(target, None, fast=fast, stats=stats, max_response_bytes=http.max_response_bytes)
    client = http_client or build_client(http)
    owns = http_client is None
    if kind == Transport.SSE:
        from lookout.probe.transports.sse import SseTransport

        try:
            return await SseTransport.connect(
                target, client, stats=stats, max_response_bytes=http.max_response_bytes, owns_client=owns
            )
        except BaseException:
            if owns:
                with anyio.CancelScope(shield=True):  # also on timeout: the sockets must not outlive the probe
                    await client.aclose()
            raise
    if kind != Transport.STREAMABLE_HTTP:
        raise ValueError(f"unknown transport {str(kind)!r}: use one of {transport_names()}")
    from lookout.probe.transports.streamable_http import StreamableHttpTransport

    return StreamableHttpTransport(
        target, client, stats=stats, max_response_bytes=http.max_response_bytes, owns_client=owns
    )
