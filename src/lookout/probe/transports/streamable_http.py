"""Streamable HTTP: one POST per message; the answer is JSON or an SSE stream carrying it.

Tracks ``Mcp-Session-Id`` (handshake revisions) and ends the session with DELETE on close. Reads an SSE
answer only until the matching response arrives, so a stream that never closes cannot hold a probe.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
import httpx

from lookout.probe.errors import ProbeFailure, ProtocolViolation
from lookout.probe.transports.base import ByteBudget, SseDecoder, WireStats, decode_message, encode, match_response
from lookout.probe.transports.h11_client import H11Client
from lookout.probe.transports.http import (
    ResponseLike,
    body_chunks,
    http_errors,
    raise_for_status,
    read_body,
    tracer,
)
from lookout.protocol import Transport

ACCEPT = "application/json, text/event-stream"
SESSION_HEADER = "mcp-session-id"
DELETE_GRACE_SECONDS = 1.0


class StreamableHttpTransport:
    network_transport = Transport.STREAMABLE_HTTP

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient | None,
        *,
        fast: H11Client | None = None,
        stats: WireStats | None = None,
        max_response_bytes: int = 4 * 1024 * 1024,
        owns_client: bool = True,
    ) -> None:
        self.url = url
        self.session_id: str | None = None
        self._client = client
        self._fast = fast  # plain-HTTP probes skip httpx (see h11_client); exactly one of the two is set
        self._owns_client = owns_client
        self._stats = stats or WireStats()
        self._limit = max_response_bytes
        self._extensions: dict[str, Any] = {"trace": tracer(self._stats)}
        self._closed = False

    def _headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        out = {"Accept": ACCEPT, "Content-Type": "application/json", **headers}
        if self.session_id is not None:
            out["Mcp-Session-Id"] = self.session_id
        return out

    async def _send(self, message: Mapping[str, Any], headers: Mapping[str, str]) -> ResponseLike:
        if self._fast is not None:
            fast_response = await self._fast.send("POST", self._headers(headers), encode(message))
            self._note_session(fast_response.headers.get(SESSION_HEADER))
            return fast_response
        assert self._client is not None
        request = self._client.build_request(
            "POST", self.url, content=encode(message), headers=self._headers(headers), extensions=self._extensions
        )
        async with http_errors(self.url):
            response = await self._client.send(request, stream=True)
        # Connect and TLS are timed on the first connection only (as blackbox_exporter does): the trace
        # hook costs a coroutine call per httpcore event, on every later request too.
        self._extensions = {}
        self._note_session(response.headers.get(SESSION_HEADER))
        return response

    def _note_session(self, session: str | None) -> None:
        if session:
            self.session_id = session

    async def request(self, message: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        method = str(message.get("method"))
        response = await self._send(message, headers)
        try:
            async with http_errors(self.url):
                await raise_for_status(response, method, self._limit, self._stats)
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if content_type == "application/json":
                    body = await read_body(response, self._limit, self._stats)
                    self._stats.log(f"<- {method}: {len(body)} bytes JSON")
                    reply = match_response(decode_message(body, method), message["id"], method)
                    if reply is None:
                        raise ProtocolViolation(f"{method}: the JSON body is not a response")
                    return reply
                if content_type == "text/event-stream":
                    return await self._read_sse(response, method, message["id"])
                raise ProtocolViolation(f"{method}: unexpected content type {content_type or '(none)'!r}")
        finally:
            await response.aclose()

    async def _read_sse(self, response: ResponseLike, method: str, request_id: int | str) -> dict[str, Any]:
        budget, decoder = ByteBudget(self._limit, self._stats), SseDecoder()
        async with body_chunks(response) as chunks:
            async for chunk in chunks:
                for event in decoder.feed(budget.spend(chunk)):
                    if event.event != "message" or not event.data.strip():
                        continue
                    reply = match_response(decode_message(event.data, method), request_id, method)
                    if reply is not None:
                        self._stats.log(f"<- {method}: response in SSE stream after {budget.used} bytes")
                        return reply
                    self._stats.log(f"<- {method}: skipped a server notification/request in the SSE stream")
        raise ProtocolViolation(f"{method}: the SSE stream ended without a response")

    async def notify(self, message: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        method = str(message.get("method"))
        response = await self._send(message, headers)
        try:
            async with http_errors(self.url):
                await raise_for_status(response, method, self._limit, self._stats)
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            if self.session_id is not None:
                await self._end_session()
            if self._fast is not None:
                await self._fast.aclose()
            if self._owns_client and self._client is not None:
                await self._client.aclose()

    async def _end_session(self) -> None:
        """DELETE the session (spec: clients SHOULD); bounded, and its failure never fails the probe."""
        left = self._stats.time_left()
        grace = DELETE_GRACE_SECONDS if left is None else min(DELETE_GRACE_SECONDS, left)
        if grace <= 0:
            self._stats.log("-> DELETE session skipped: no time left before the probe's deadline")
            return
        with anyio.move_on_after(grace):
            try:
                if self._fast is not None:
                    fast_response = await self._fast.send("DELETE", self._headers({}))
                    await fast_response.aclose()  # the body is not needed; the connection closes next
                    status = fast_response.status_code
                else:
                    assert self._client is not None
                    status = (await self._client.delete(self.url, headers=self._headers({}))).status_code
                self._stats.log(f"-> DELETE session: HTTP {status}")
            except (httpx.HTTPError, ProbeFailure) as exc:
                self._stats.log(f"-> DELETE session failed: {exc!r}")
