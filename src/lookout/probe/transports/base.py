"""What every transport offers the protocol layer, plus the framing helpers they share."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from lookout.probe.errors import ProtocolViolation, ResponseTooLarge


def _ignore(message: str) -> None:
    return None


@dataclass
class WireStats:
    """What the transport saw below JSON-RPC: statuses, connect/TLS timings, certificate expiry."""

    log: Callable[[str], None] = _ignore
    http_status: int | None = None
    phases: dict[str, float] = field(default_factory=dict)
    cert_not_after: float | None = None

    def add_phase(self, name: str, seconds: float) -> None:
        self.phases[name] = self.phases.get(name, 0.0) + seconds


class Transport(Protocol):
    """Moves JSON-RPC messages. ``headers`` are per-message HTTP headers (ignored by stdio)."""

    network_transport: str

    async def request(self, message: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        """Send a request; return the response message with the same id (result or error)."""
        ...

    async def notify(self, message: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        """Send a notification (no response expected)."""
        ...

    async def aclose(self) -> None:
        """Release everything (sockets, child processes); safe to call under cancellation and twice."""
        ...


def encode(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def decode_message(raw: bytes | str, where: str) -> dict[str, Any]:
    """Parse one JSON-RPC message, or raise :class:`ProtocolViolation` saying what is wrong."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        snippet = raw[:80].decode("utf-8", "replace") if isinstance(raw, bytes) else raw[:80]
        raise ProtocolViolation(f"{where}: invalid JSON: {snippet!r}") from None
    if not isinstance(value, dict) or value.get("jsonrpc") != "2.0":
        raise ProtocolViolation(f"{where}: not a JSON-RPC 2.0 message object: {str(value)[:80]!r}")
    return value


def is_response(message: Mapping[str, Any]) -> bool:
    return "id" in message and "method" not in message and ("result" in message or "error" in message)


def match_response(message: dict[str, Any], request_id: int | str, where: str) -> dict[str, Any] | None:
    """The message if it answers ``request_id``; None for notifications/requests; raise on a wrong id."""
    if not is_response(message):
        return None
    if message["id"] != request_id:
        raise ProtocolViolation(f"{where}: response id {message['id']!r} does not match request id {request_id!r}")
    return message


async def limited(chunks: AsyncIterator[bytes], limit: int, total: list[int]) -> AsyncIterator[bytes]:
    """Pass chunks through, raising :class:`ResponseTooLarge` once ``total[0]`` exceeds ``limit``."""
    async for chunk in chunks:
        total[0] += len(chunk)
        if total[0] > limit:
            raise ResponseTooLarge(f"response larger than max_response_bytes ({limit} bytes)")
        yield chunk


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: str


_EOL = re.compile(rb"\r\n|\r|\n")


async def sse_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[SseEvent]:
    """Parse a text/event-stream incrementally (WHATWG rules: any EOL, comments, multi-line data).

    Hand-written rather than httpx-sse so that the byte limit wraps the raw chunks and a stream that
    never ends is read only as far as needed.
    """
    buffer = b""
    event, data = "", list[str]()
    async for chunk in chunks:
        buffer += chunk
        while (m := _EOL.search(buffer)) is not None:
            if m.group() == b"\r" and m.end() == len(buffer):
                break  # maybe the first half of \r\n: wait for the next chunk
            line = buffer[: m.start()].decode("utf-8", "replace")
            buffer = buffer[m.end() :]
            if not line:
                if data:
                    yield SseEvent(event or "message", "\n".join(data))
                event, data = "", []
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "event":
                    event = value
                elif name == "data":
                    data.append(value)
