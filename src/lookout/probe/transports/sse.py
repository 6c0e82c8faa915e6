"""Legacy HTTP+SSE (2024-11-05): a long-lived GET event stream carries the answers; messages are POSTed
to the endpoint the stream names first. The endpoint must be on the same origin as the stream: a server
cannot send the prober's POSTs elsewhere."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, Mapping
from typing import Any, cast
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from lookout.probe.errors import ProtocolViolation
from lookout.probe.transports.base import (
    ByteBudget,
    SseDecoder,
    SseEvent,
    WireStats,
    decode_message,
    encode,
    match_response,
)
from lookout.probe.transports.http import http_errors, raise_for_status, tracer
from lookout.protocol import Transport


class SseTransport:
    network_transport = Transport.SSE

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        stream: httpx.Response,
        *,
        stats: WireStats,
        max_response_bytes: int,
        owns_client: bool,
    ) -> None:
        self.url = url
        self.endpoint = url
        self._client = client
        self._stream = stream
        self._chunks = cast(AsyncGenerator[bytes, None], stream.aiter_bytes())
        self._decoder = SseDecoder()
        self._pending: deque[SseEvent] = deque()
        # The stream lives as long as the session, so the budget covers everything it carries.
        self._budget = ByteBudget(max_response_bytes, stats)
        self._stats = stats
        self._limit = max_response_bytes
        self._owns_client = owns_client
        self._closed = False

    @classmethod
    async def connect(
        cls,
        url: str,
        client: httpx.AsyncClient,
        *,
        stats: WireStats | None = None,
        max_response_bytes: int = 4 * 1024 * 1024,
        owns_client: bool = True,
    ) -> SseTransport:
        stats = stats or WireStats()
        request = client.build_request(
            "GET", url, headers={"Accept": "text/event-stream"}, extensions={"trace": tracer(stats)}
        )
        async with http_errors(url):
            stream = await client.send(request, stream=True)
        transport = cls(
            url, client, stream, stats=stats, max_response_bytes=max_response_bytes, owns_client=owns_client
        )
        try:
            async with http_errors(url):
                await raise_for_status(stream, "GET (SSE stream)", max_response_bytes, stats)
                transport.endpoint = await transport._first_endpoint()
        except BaseException:
            await transport.aclose()
            raise
        stats.log(f"sse: endpoint {transport.endpoint}")
        return transport

    async def _next_event(self, method: str) -> SseEvent:
        while not self._pending:
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                raise ProtocolViolation(f"{method}: the SSE stream ended") from None
            self._pending.extend(self._decoder.feed(self._budget.spend(chunk)))
        return self._pending.popleft()

    async def _first_endpoint(self) -> str:
        while True:
            event = await self._next_event("sse: waiting for the endpoint event")
            if event.event == "endpoint":
                endpoint = urljoin(self.url, event.data.strip())
                if urlsplit(endpoint)[:2] != urlsplit(self.url)[:2]:
                    raise ProtocolViolation(f"sse: endpoint {endpoint!r} is not on the origin of {self.url!r}")
                return endpoint

    async def _post(self, message: Mapping[str, Any], method: str) -> None:
        async with http_errors(self.endpoint):
            response = await self._client.post(
                self.endpoint, content=encode(message), headers={"Content-Type": "application/json"}
            )
            await raise_for_status(response, method, self._limit, self._stats)

    async def request(self, message: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        method = str(message.get("method"))
        await self._post(message, method)
        async with http_errors(self.url):
            while True:
                event = await self._next_event(method)
                if event.event != "message":
                    continue
                reply = match_response(decode_message(event.data, method), message["id"], method)
                if reply is not None:
                    return reply
                self._stats.log(f"<- {method}: skipped a server notification/request in the SSE stream")

    async def notify(self, message: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        await self._post(message, str(message.get("method")))

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            await self._chunks.aclose()
            await self._stream.aclose()
            if self._owns_client:
                await self._client.aclose()
