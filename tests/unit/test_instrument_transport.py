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
