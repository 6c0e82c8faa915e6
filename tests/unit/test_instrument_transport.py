"""Stream-transport wrappers: bytes and malformed messages."""

from __future__ import annotations

import anyio
from mcp.shared.message import SessionMessage
from mcp_types import JSONRPCRequest
from prometheus_client import CollectorRegistry

from lookout import metrics as m
from lookout.instrument.recorder import RequestRecorder
from lookout.instrument.transport import CountingReadStream, CountingWriteStream


async def test_stream_wrappers_count_bytes_and_malformed_messages() -> None:
    recorder = RequestRecorder(CollectorRegistry())
    send, receive = anyio.create_memory_object_stream[SessionMessage | Exception](10)
    out_send, out_receive = anyio.create_memory_object_stream[SessionMessage](10)
    message = SessionMessage(JSONRPCRequest(jsonrpc="2.0", id=1, method="ping"))
    size = len(message.message.model_dump_json(by_alias=True, exclude_unset=True).encode()) + 1
    reader = CountingReadStream(receive, recorder, "stdio")
    writer = CountingWriteStream(out_send, recorder, "stdio")
    async with send, reader, writer, out_receive:
        await send.send(message)
        await send.send(ValueError("not JSON"))
        assert await reader.receive() is message
        assert isinstance(await reader.receive(), ValueError)
        await writer.send(message)
        assert await out_receive.receive() is message
        assert reader.statistics().current_buffer_used == 0  # delegated to the wrapped stream
    reg = recorder.registry
    bytes_total = f"{m.TRANSPORT_BYTES.name}_total"
    assert reg.get_sample_value(bytes_total, {"mcp_transport": "stdio", "direction": "in"}) == size
    assert reg.get_sample_value(bytes_total, {"mcp_transport": "stdio", "direction": "out"}) == size
    errors = f"{m.TRANSPORT_ERRORS.name}_total"
    assert reg.get_sample_value(errors, {"mcp_transport": "stdio", "error_type": "ValueError"}) == 1


async def _exchange(app: object, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> None:
    """One HTTP request through ``app`` (an ASGI app): ``chunks`` as the body's messages."""
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    messages.append({"type": "http.disconnect"})

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    async def send(message: dict[str, object]) -> None:
        return None

    scope = {"type": "http", "method": "POST", "path": "/mcp", "query_string": b"", "headers": headers}
    await app(scope, receive, send)  # type: ignore[operator]


async def test_http_request_bytes_as_read_whatever_the_framing_and_none_for_a_body_refused_unread() -> None:
    from lookout.instrument.transport import count_http

    async def reading_app(scope: object, receive: object, send: object) -> None:
        """Reads the whole body, then answers 200 with 5 bytes, or 413 without reading (a body over 100)."""
        headers = dict(scope["headers"])  # type: ignore[index]
        if int(headers.get(b"content-length", b"0")) > 100:
            await send({"type": "http.response.start", "status": 413, "headers": []})  # type: ignore[operator]
            await send({"type": "http.response.body", "body": b"large"})  # type: ignore[operator]
            return
        more = True
        while more:
            message = await receive()  # type: ignore[operator]
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"hello"})  # type: ignore[operator]

    recorder = RequestRecorder(CollectorRegistry())
    app = count_http(reading_app, recorder, "streamable-http")
    bytes_in = f"{m.TRANSPORT_BYTES.name}_total"
    labels = {"mcp_transport": "streamable-http", "direction": "in"}

    def counted() -> float:
        return recorder.registry.get_sample_value(bytes_in, labels) or 0

    await _exchange(app, [(b"host", b"x"), (b"content-length", b"12")], [b"hello ", b"world!"])
    assert counted() == 12
    await _exchange(app, [(b"transfer-encoding", b"chunked")], [b"abc", b"defg", b""])
    assert counted() == 12 + 7
    await _exchange(app, [(b"content-length", b"5000")], [b"x" * 5000])  # refused by its size, never read
    assert counted() == 12 + 7
    responses = f"{m.HTTP_RESPONSES.name}_total"
    for status, n in (("200", 2), ("413", 1)):
        assert (
            recorder.registry.get_sample_value(
                responses, {"mcp_transport": "streamable-http", "http_response_status_code": status}
            )
            == n
        )
    out = recorder.registry.get_sample_value(bytes_in, {"mcp_transport": "streamable-http", "direction": "out"})
    assert out == 3 * 5
