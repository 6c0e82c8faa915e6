"""The plain-HTTP client behind streamable-HTTP probes: framing, keep-alive, reconnects, truncated bodies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from lookout.probe.errors import TransportFailure
from lookout.probe.transports.base import WireStats
from lookout.probe.transports.h11_client import H11Client, base_headers, usable
from lookout.probe.transports.http import read_body

Reply = Callable[[bytes], bytes]
pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def server(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, list[bytes], list[int]]]:
    """A loopback server answering each request head with ``request.param(head)``; it closes the connection
    without an answer when that is empty, and after an answer saying ``Connection: close``, cut short (a
    ``Content-Length: 100`` it does not fill) or with ``X-Then: close`` (closing a kept-alive connection)."""
    reply: Reply = request.param
    heads: list[bytes] = []
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                await reader.readexactly(length)
                heads.append(head)
                answer = reply(head)
                if not answer:
                    break
                writer.write(answer)
                await writer.drain()
                if any(word in answer for word in (b"Connection: close", b"Content-Length: 100", b"X-Then: close")):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/mcp", heads, connections
    finally:
        srv.close()
        await srv.wait_closed()


def _json(head: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


def _chunked(head: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"


def _close_each(head: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"


def _answer_then_close(head: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nX-Then: close\r\nContent-Length: 2\r\n\r\nok"


def _no_answer(head: bytes) -> bytes:
    return b""


def _truncated(head: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"


async def _exchange(client: H11Client) -> bytes:
    response = await client.send("POST", {"Content-Type": "application/json"}, b"{}")
    try:
        return await read_body(response, 1000)
    finally:
        await response.aclose()


@pytest.mark.parametrize("server", [_json], indirect=True)
async def test_requests_share_one_connection(server: tuple[str, list[bytes], list[int]]) -> None:
    url, heads, connections = server
    stats = WireStats()
    client = H11Client(url, {"X-Probe": "1"}, "secret", stats)
    assert [await _exchange(client) for _ in range(3)] == [b"{}"] * 3
    await client.aclose()
    assert len(connections) == 1
    assert "connect" in stats.phases
    assert b"POST /mcp HTTP/1.1" in heads[0]
    assert b"x-probe: 1" in heads[0].lower() and b"authorization: bearer secret" in heads[0].lower()


@pytest.mark.parametrize("server", [_chunked], indirect=True)
async def test_chunked_body_is_reassembled(server: tuple[str, list[bytes], list[int]]) -> None:
    client = H11Client(server[0], {}, None, WireStats())
    assert await _exchange(client) == b"abcde"
    await client.aclose()


@pytest.mark.parametrize("server", [_close_each], indirect=True)
async def test_server_closing_after_each_response_gets_a_new_connection(
    server: tuple[str, list[bytes], list[int]],
) -> None:
    url, _, connections = server
    client = H11Client(url, {}, None, WireStats())
    assert [await _exchange(client) for _ in range(2)] == [b"ok", b"ok"]
    await client.aclose()
    assert len(connections) == 2


@pytest.mark.parametrize("server", [_answer_then_close], indirect=True)
async def test_a_kept_alive_connection_the_server_closed_is_not_reused(
    server: tuple[str, list[bytes], list[int]],
) -> None:
    url, _, connections = server
    client = H11Client(url, {}, None, WireStats())
    assert await _exchange(client) == b"ok"
    deadline = asyncio.get_running_loop().time() + 10
    while not (client._reader is None or client._reader.at_eof()):  # the server's close has arrived
        assert asyncio.get_running_loop().time() < deadline, "the server's close never arrived"
        await asyncio.sleep(0.01)
    assert await _exchange(client) == b"ok"
    await client.aclose()
    assert len(connections) == 2


@pytest.mark.parametrize("server", [_no_answer], indirect=True)
async def test_a_server_closing_without_an_answer_is_named(server: tuple[str, list[bytes], list[int]]) -> None:
    client = H11Client(server[0], {}, None, WireStats())
    with pytest.raises(TransportFailure, match=r"/mcp: server disconnected without sending a response$"):
        await _exchange(client)
    await client.aclose()


@pytest.mark.parametrize("server", [_truncated], indirect=True)
async def test_body_cut_short_is_a_transport_failure(server: tuple[str, list[bytes], list[int]]) -> None:
    client = H11Client(server[0], {}, None, WireStats())
    with pytest.raises(TransportFailure, match="RemoteProtocolError"):
        await _exchange(client)
    await client.aclose()


async def test_refused_connection_names_the_url() -> None:
    client = H11Client("http://127.0.0.1:1/mcp", {}, None, WireStats())
    with pytest.raises(TransportFailure, match=r"cannot connect to http://127\.0\.0\.1:1/mcp"):
        await client.send("POST", {})


async def test_only_plain_http_without_redirects_or_operation_timeouts_is_handled() -> None:
    assert usable("http://127.0.0.1:1/mcp", follow_redirects=False, timeout=None)
    assert not usable("https://127.0.0.1:1/mcp", follow_redirects=False, timeout=None)
    assert not usable("http://127.0.0.1:1/mcp", follow_redirects=True, timeout=None)
    assert not usable("http://127.0.0.1:1/mcp", follow_redirects=False, timeout=10.0)


def test_basic_auth_and_host_header() -> None:
    host, port, target, headers = base_headers("http://user@[::1]:8080/p?q=1", {}, ("u", "p"))
    assert (host, port, target) == ("::1", 8080, "/p?q=1")
    assert ("Host", "[::1]:8080") in headers
    assert ("Authorization", "Basic dTpw") in headers
