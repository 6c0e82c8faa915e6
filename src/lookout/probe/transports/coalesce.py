"""One write per HTTP request: httpcore writes a request's head and body separately, and on loopback each
``send()`` costs about as much CPU as all the Python around it. This network backend holds a request head
until its body (or the first read) follows, halving the syscalls per JSON-RPC request.

It plugs into httpx through httpcore's public ``network_backend`` hook; httpx 0.28 offers no parameter
for it, so :func:`coalescing_transport` swaps the transport's pool and falls back to the stock one if the
internals ever change.
"""

# ruff: noqa: ASYNC109  (the signatures, timeouts included, are httpcore's network-backend interface)
from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
"""httpcore's socket option shape."""


class CoalescingStream(httpcore.AsyncNetworkStream):
    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._held = b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if not self._held and buffer.endswith(b"\r\n\r\n"):
            self._held = buffer  # a request head: its body comes next, or a read flushes it
            return
        data, self._held = self._held + buffer, b""
        await self._stream.write(data, timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._held:
            data, self._held = self._held, b""
            await self._stream.write(data, timeout)
        return await self._stream.read(max_bytes, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        return CoalescingStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class CoalescingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return CoalescingStream(await self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[SocketOption] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return CoalescingStream(await self._backend.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def coalescing_transport(ssl_context: ssl.SSLContext, socket_options: list[SocketOption]) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, socket_options=socket_options)
    if isinstance(getattr(transport, "_pool", None), httpcore.AsyncConnectionPool):
        limits = httpx.Limits()
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            socket_options=socket_options,
            network_backend=CoalescingBackend(),
        )
    return transport
