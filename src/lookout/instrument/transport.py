"""Transport metrics at the HTTP layer: an ASGI middleware around the MCP endpoint (streamable HTTP or
SSE) counting request/response bytes, HTTP status codes, rejections the transport makes before any
handler runs (oversized bodies, the session limit) and broken streams.

Wrap the app the SDK builds: ``app = handle.wrap_asgi(server.streamable_http_app())``. Lifespan and
websocket traffic pass through untouched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lookout.instrument.recorder import Recorder

# Rejections the SDK's HTTP transport makes on its own, by status code.
_REJECT_REASONS = {413: "body_too_large", 503: "session_limit", 429: "rate_limit"}


class TransportMetricsMiddleware:
    def __init__(self, app: ASGIApp, recorder: Recorder, transport: str | None = None) -> None:
        self.app = app
        self.recorder = recorder
        self.transport = transport

    def _kind(self, scope: Scope) -> str:
        if self.transport is not None:
            return self.transport
        # SSE: GET opens the event stream, POSTs carry ?session_id=; everything else is streamable HTTP.
        if b"session_id=" in scope.get("query_string", b"") or scope.get("path", "").endswith("/sse"):
            return "sse"
        return "streamable-http"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rec = self.recorder
        kind = self._kind(scope)
        bytes_in = 0
        bytes_out = 0
        status = 0

        async def counting_receive() -> Message:
            nonlocal bytes_in
            message = await receive()
            if message["type"] == "http.request":
                bytes_in += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            nonlocal bytes_out, status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                bytes_out += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        except Exception as exc:
            rec.transport_error(kind, type(exc).__qualname__)
            if not status:
                status = 500
            raise
        finally:
            rec.transport_bytes_add(kind, "in", bytes_in)
            rec.transport_bytes_add(kind, "out", bytes_out)
            if status:
                rec.http_response(kind, status)
                reason = _REJECT_REASONS.get(status)
                if reason is not None:
                    rec.reject(reason)
