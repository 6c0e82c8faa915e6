"""What every transport offers the protocol layer, plus the framing helpers they share."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio

from lookout.probe.errors import ProbeTooLarge, ProtocolViolation, ResponseTooLarge
from lookout.protocol import Transport


def _ignore(message: str) -> None:
    return None


@dataclass
class WireStats:
    """What the transport saw below JSON-RPC: statuses, connect/TLS timings, certificate expiry; and the
    bounds of the whole probe: its deadline (closing must fit it too) and the bytes all its responses
    may add up to."""

    log: Callable[[str], None] = _ignore
    http_status: int | None = None
    phases: dict[str, float] = field(default_factory=dict)
    cert_not_after: float | None = None
    deadline: float | None = None
    """When the probe must be over, on anyio's clock (``anyio.current_time()``); None: unbounded."""
    max_probe_bytes: int | None = None
    received_bytes: int = 0

    def add_phase(self, name: str, seconds: float) -> None:
        self.phases[name] = self.phases.get(name, 0.0) + seconds

    def time_left(self) -> float | None:
        """Seconds until the probe's deadline (never negative), or None without one."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - anyio.current_time())

    def count_received(self, size: int) -> None:
        """Add ``size`` response bytes to the probe's total; past ``max_probe_bytes`` the probe fails."""
        self.received_bytes += size
        if self.max_probe_bytes is not None and self.received_bytes > self.max_probe_bytes:
            raise ProbeTooLarge(
                f"the probe's responses add up to more than max_probe_bytes ({self.max_probe_bytes} bytes)"
            )


class MessageTransport(Protocol):
    """Moves JSON-RPC messages. ``headers`` are per-message HTTP headers (ignored by stdio)."""

    network_transport: Transport

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


class ByteBudget:
    """Counts the bytes of one response (or one long-lived stream) against ``max_response_bytes``, and
    against the whole probe's ``max_probe_bytes`` when ``stats`` carries it."""

    def __init__(self, limit: int, stats: WireStats | None = None) -> None:
        self.limit = limit
        self.used = 0
        self._stats = stats

    def spend(self, chunk: bytes) -> bytes:
        self.used += len(chunk)
        if self.used > self.limit:
            raise ResponseTooLarge(f"response larger than max_response_bytes ({self.limit} bytes)")
        if self._stats is not None:
            self._stats.count_received(len(chunk))
        return chunk


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: str


_EOL = re.compile(rb"\r\n|\r|\n")


class SseDecoder:
    """A push parser for text/event-stream (WHATWG rules: any EOL, comments, multi-line data).

    Push-based rather than httpx-sse's async generators: the caller owns the chunk loop, so it can stop
    at the answer of a stream that never ends and close everything deterministically.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SseEvent]:
        events: list[SseEvent] = []
        self._buffer += chunk
        while (m := _EOL.search(self._buffer)) is not None:
            if m.group() == b"\r" and m.end() == len(self._buffer):
                break  # maybe the first half of \r\n: wait for the next chunk
            line = self._buffer[: m.start()].decode("utf-8", "replace")
            self._buffer = self._buffer[m.end() :]
            if not line:
                if self._data:
                    events.append(SseEvent(self._event or "message", "\n".join(self._data)))
                self._event, self._data = "", []
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "event":
                    self._event = value
                elif name == "data":
                    self._data.append(value)
        return events
