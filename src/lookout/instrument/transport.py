"""Transport metrics below the MCP layer.

- HTTP (streamable HTTP, SSE): an ASGI wrapper (:func:`count_http`) around the MCP endpoint counting request/response
  bytes, HTTP status codes, rejections the transport makes before any handler runs (oversized bodies,
  the session limit) and broken streams. Wrap the app the SDK builds:
  ``app = handle.wrap_asgi(server.streamable_http_app())``. Lifespan and websocket traffic pass through.
- Stream transports (stdio): wrappers around the server's read/write streams counting bytes (the JSON
  of each message plus its newline) and malformed input as transport errors; ``handle.run_stdio()``
  serves stdio with them.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Self

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lookout.instrument.recorder import RequestRecorder
from lookout.protocol import Transport

_SSE, _STREAMABLE_HTTP = Transport.SSE.value, Transport.STREAMABLE_HTTP.value  # an enum's .value is a property call
# Rejections the SDK's HTTP transport makes on its own, by status code.
_REJECT_REASONS = {413: "body_too_large", 503: "session_limit", 429: "rate_limit"}


def count_http(app: ASGIApp, recorder: RequestRecorder, transport: str | None = None) -> ASGIApp:
    """``app`` counting each HTTP request's bytes both ways, its status, the rejections the transport makes on its
    own and the exceptions that escape it (``transport``: the ``mcp_transport`` of every request, else told apart
    per request). It runs on every HTTP request, so the counts go straight into the recorder's families under
    the label keys the recorder made once per transport and status (:meth:`RequestRecorder.transport_keys`), without
    a key built per request (about a fifth of the metrics' instructions per request less, docs/performance.md)."""
    byte_values = recorder.transport_bytes.values
    response_values = recorder.http_responses.values
    transport_keys = recorder.transport_keys

    async def counted(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        kind = transport if transport is not None else _kind(scope)
        counts = _HttpCounts(receive, send)
        try:
            await app(scope, counts.receive, counts.send)
        except Exception as exc:
            recorder.transport_error(kind, type(exc).__qualname__)
            if not counts.status:
                counts.status = 500
            raise
        finally:
            keys = transport_keys(kind)
            if counts.bytes_in:
                byte_values[keys.bytes_in] = byte_values.get(keys.bytes_in, 0) + counts.bytes_in
            if counts.bytes_out:
                byte_values[keys.bytes_out] = byte_values.get(keys.bytes_out, 0) + counts.bytes_out
            if counts.status:
                status_key = keys.responses[counts.status]
                response_values[status_key] = response_values.get(status_key, 0) + 1
                reason = _REJECT_REASONS.get(counts.status)
                if reason is not None:
                    recorder.reject(reason)

    return counted


class _HttpCounts:
    """One HTTP request's bytes both ways and its status, counted by its ``receive`` and ``send`` (bound methods of
    one slotted object rather than two closures over five cells: the SDK's request cycles keep them until the
    garbage collector frees them, so fewer objects per request is less for it to walk)."""

    __slots__ = ("_receive", "_send", "bytes_in", "bytes_out", "status")

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive, self._send = receive, send
        self.bytes_in = self.bytes_out = self.status = 0

    async def receive(self) -> Message:
        message = await self._receive()
        body = message.get("body")
        if body:
            self.bytes_in += len(body)
        return message

    def send(self, message: Message) -> Awaitable[None]:
        # Not a coroutine of its own: the count is taken synchronously and the transport's awaitable is returned
        # as it is, one frame less per message (an SSE answer is several messages).
        body = message.get("body")
        if body:
            self.bytes_out += len(body)
        elif message["type"] == "http.response.start":
            self.status = message["status"]
        return self._send(message)


def _kind(scope: Scope) -> str:
    """SSE: GET opens the event stream, POSTs carry ?session_id=; everything else is streamable HTTP."""
    query = scope.get("query_string")
    # find, not `in`: `bytes in bytes` first tries the operand as an integer and raises inside.
    if (query and query.find(b"session_id=") != -1) or scope.get("path", "").endswith("/sse"):
        return _SSE
    return _STREAMABLE_HTTP


# ---------------------------------------------------------------------- stream transports (stdio)
def _size(message: Any) -> int:
    """Bytes of a JSON-RPC message as framed on a stream transport (JSON plus the newline)."""
    inner = getattr(message, "message", None)
    dump = getattr(inner, "model_dump_json", None)
    if dump is None:
        return 0
    return len(dump(by_alias=True, exclude_unset=True).encode()) + 1


class _StreamWrapper:
    """What both counting streams delegate unchanged to the stream they wrap; each adds only its counting."""

    def __init__(self, inner: Any, recorder: RequestRecorder, transport: str) -> None:
        self._inner, self._recorder, self._transport = inner, recorder, transport
        self._keys = recorder.transport_keys(transport)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        result: bool | None = await self._inner.__aexit__(*exc)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class CountingReadStream(_StreamWrapper):
    """Wraps the server side's read stream: bytes in, and malformed messages (the transport hands the
    server an exception instead of a message) as transport errors. Everything else is delegated,
    ``last_context`` included (the SDK reads the sender's context from it)."""

    def _count(self, item: Any) -> Any:
        if isinstance(item, Exception):
            self._recorder.transport_error(self._transport, type(item).__qualname__)
        else:
            self._recorder.transport_bytes_add(self._keys.bytes_in, _size(item))
        return item

    async def receive(self) -> Any:
        return self._count(await self._inner.receive())

    def __aiter__(self) -> CountingReadStream:
        return self

    async def __anext__(self) -> Any:
        return self._count(await self._inner.__anext__())


class CountingWriteStream(_StreamWrapper):
    """Wraps the server side's write stream: bytes out."""

    async def send(self, item: Any, /) -> None:
        self._recorder.transport_bytes_add(self._keys.bytes_out, _size(item))
        await self._inner.send(item)
