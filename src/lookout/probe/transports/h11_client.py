"""A minimal HTTP/1.1 keep-alive client on h11 over asyncio streams, for plain ``http://`` probes.

Why: httpx + httpcore cost most of a probe's CPU (a dozen cancel scopes, header models and URL objects per
request), and the discover module sends four requests. This client does one connect, one write per request
and one h11 state machine per connection. It is used only where it can keep every httpx behaviour the
prober relies on (see :func:`usable`): plain HTTP, no redirects to follow, no per-operation timeouts (the
probe's ``fail_after`` bounds the whole exchange), on asyncio. Everything else goes through httpx.

Limits kept: the response size (the caller's :class:`ByteBudget`), malformed or oversized heads (h11),
chunked and length-delimited bodies, a connection that closes early (a transport failure). A response
that was not read to its end (an SSE stream answered early, an error) closes the connection; the next
request opens a fresh one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Mapping
from typing import cast
from urllib.parse import urlsplit

import h11

from lookout.probe.errors import TransportFailure
from lookout.probe.transports.base import WireStats

READ_SIZE = 65536
MAX_HEAD_BYTES = 100 * 1024
"""The largest response head accepted, as httpcore configures h11 (h11's own default is 16 KiB)."""


def usable(url: str, *, follow_redirects: bool, timeout: float | None) -> bool:
    """Can this client stand in for httpx for ``url`` with these options?"""
    if follow_redirects or timeout is not None or not url.startswith("http://"):
        return False
    try:
        asyncio.get_running_loop()  # under trio (anyio's other backend) there is none: use httpx
    except RuntimeError:
        return False
    return True


def base_headers(
    url: str, headers: Mapping[str, str], auth: tuple[str, str] | str | None
) -> tuple[str, int, str, list[tuple[str, str]]]:
    """Host, port, request target and the headers every request carries (computed once per probe)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = parts.netloc.rsplit("@", 1)[-1]
    out: dict[str, str] = {"Host": host_header, "User-Agent": "lookout-probe", **headers}
    if isinstance(auth, str):
        out["Authorization"] = f"Bearer {auth}"
    elif auth is not None:
        out["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    return host, port, target, list(out.items())


class Response:
    """The subset of ``httpx.Response`` the streamable-HTTP transport reads."""

    def __init__(self, client: H11Client, status: int, reason: str, headers: dict[str, str]) -> None:
        self.status_code = status
        self.reason_phrase = reason
        self.headers = headers
        self._client = client
        self._done = False

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        while not self._done:
            event = await self._client.next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._done = True
            elif event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                raise TransportFailure(f"{self._client.url}: RemoteProtocolError: the response ended early")

    async def aclose(self) -> None:
        self._client.finish(self._done)


class H11Client:
    """One keep-alive connection to one origin, reopened when the server or a half-read response ends it."""

    def __init__(self, url: str, headers: Mapping[str, str], auth: tuple[str, str] | str | None, stats: WireStats):
        self.url = url
        self._host, self._port, self._target, self._headers = base_headers(url, headers, auth)
        self._stats = stats
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._connects = 0
        self._unreleased = False

    async def _connect(self) -> None:
        started = time.perf_counter()
        try:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        except OSError as exc:
            raise TransportFailure(f"cannot connect to {self.url}: {exc}") from None
        sock = self._writer.get_extra_info("socket")
        if sock is not None:  # head and body go in one write, but keep parity with the httpx path
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._connects == 0:  # connect is timed on the first connection only, as on the httpx path
            self._stats.add_phase("connect", time.perf_counter() - started)
        self._connects += 1
        self._conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)

    async def send(self, method: str, headers: Mapping[str, str], body: bytes = b"") -> Response:
        if self._reader is not None and self._reader.at_eof():  # the server closed the idle kept-alive connection
            self._drop()
        if self._writer is None:
            await self._connect()
        assert self._writer is not None
        all_headers = [*self._headers, *headers.items(), ("Content-Length", str(len(body)))]
        try:
            data = self._conn.send(h11.Request(method=method, target=self._target, headers=all_headers))
            data += self._conn.send(h11.Data(data=body)) if body else b""
            data += self._conn.send(h11.EndOfMessage())
            self._writer.write(data)
            await self._writer.drain()
            event = await self.next_event()
            while isinstance(event, h11.InformationalResponse):
                event = await self.next_event()
        except OSError as exc:
            self._drop()
            raise TransportFailure(f"{self.url}: WriteError: {exc}") from None
        except h11.LocalProtocolError as exc:  # e.g. a configured header value h11 refuses to send
            self._drop()
            raise TransportFailure(f"{self.url}: LocalProtocolError: {exc}") from None
        except BaseException:
            self._drop()
            raise
        if not isinstance(event, h11.Response):
            self._drop()
            raise TransportFailure(f"{self.url}: RemoteProtocolError: no response head")
        head = {name.decode("latin-1"): value.decode("latin-1") for name, value in event.headers}
        return Response(self, event.status_code, event.reason.decode("latin-1"), head)

    async def next_event(self) -> h11.Event | type[h11.PAUSED]:
        assert self._reader is not None
        while True:
            try:
                event = self._conn.next_event()
            except h11.RemoteProtocolError as exc:
                self._drop()
                raise TransportFailure(f"{self.url}: RemoteProtocolError: {exc}") from None
            if event is not h11.NEED_DATA:
                return cast("h11.Event | type[h11.PAUSED]", event)
            try:
                data = await self._reader.read(READ_SIZE)
            except OSError as exc:
                self._drop()
                raise TransportFailure(f"{self.url}: ReadError: {exc}") from None
            if not data and self._conn.their_state is h11.SEND_RESPONSE:
                self._drop()
                raise TransportFailure(f"{self.url}: server disconnected without sending a response")
            try:
                self._conn.receive_data(data)
            except h11.RemoteProtocolError as exc:
                self._drop()
                raise TransportFailure(f"{self.url}: RemoteProtocolError: {exc}") from None

    def finish(self, complete: bool) -> None:
        """After a response: keep the connection for the next request if both sides ended cleanly."""
        if complete and self._conn.our_state is h11.DONE and self._conn.their_state is h11.DONE:
            self._conn.start_next_cycle()
        else:
            self._drop()

    def _drop(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.transport.abort()  # no close handshake to wait for: a probe ends now
            self._unreleased = True
        self._reader = self._writer = None

    async def aclose(self) -> None:
        """Close, and return only once the socket is closed: asyncio closes an aborted transport's socket
        in a callback on the next loop iteration, and no socket may outlive the probe."""
        self._drop()
        if self._unreleased:
            self._unreleased = False
            await asyncio.sleep(0)
