"""The coalescing network stream: a request head leaves together with its body, never later than a read."""

from __future__ import annotations

from typing import Any

import httpcore

from lookout.probe.transports.coalesce import CoalescingStream


class Recorder(httpcore.AsyncNetworkStream):
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        self.writes.append(buffer)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return b"HTTP/1.1 200 OK\r\n\r\n"

    async def aclose(self) -> None:
        return None

    def get_extra_info(self, info: str) -> Any:
        return f"extra:{info}"


HEAD = b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n"


async def test_head_and_body_leave_in_one_write() -> None:
    inner = Recorder()
    stream = CoalescingStream(inner)
    await stream.write(HEAD)
    assert inner.writes == []
    await stream.write(b"{}")
    await stream.write(b"")  # h11's end-of-message for a sized body
    assert inner.writes == [HEAD + b"{}"]


async def test_a_head_without_body_is_flushed_by_the_read() -> None:
    inner = Recorder()
    stream = CoalescingStream(inner)
    get = b"GET /sse HTTP/1.1\r\nHost: x\r\n\r\n"
    await stream.write(get)
    assert await stream.read(100) == b"HTTP/1.1 200 OK\r\n\r\n"
    assert inner.writes == [get]
    assert stream.get_extra_info("ssl_object") == "extra:ssl_object"
