"""Structured JSON logs that never block the event loop, plus one access line per MCP request.

Each line is one JSON object::

    {"timestamp": "2026-11-27T09:00:00.123456Z", "level": "info", "logger": "lookout.access",
     "message": "mcp request", "service": "search", "tenant": "acme", "trace_id": "...", "span_id": "...",
     "mcp_method": "tools/call", "mcp_tool": "search_docs", "duration_ms": 1.9, "outcome": "ok", ...}

Only ``service``, ``tenant`` and ``level`` are meant as Loki labels (bounded); everything else is
line content, queried with ``| json``. Tool arguments and results are never logged unless the tool is
listed in ``log_arguments_for``.

Non-blocking: the handler on the logger only copies the record (adding trace and MCP context, which
live in context variables of the emitting task) into a bounded buffer; a writer thread wakes a few
times a second, formats and writes the batch. When the buffer is full the record is dropped and
counted (:attr:`JsonLogging.dropped`) rather than blocking the loop.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Collection
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from opentelemetry import trace

ACCESS_LOGGER = "lookout.access"

# (mcp method, tool-or-prompt name) of the request the current task is handling.
CURRENT_REQUEST: ContextVar[tuple[str, str] | None] = ContextVar("lookout_current_request", default=None)

_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


_SECOND_CACHE: list[Any] = [-1, ""]


def _rfc3339(created: float) -> str:
    """``2026-11-27T09:00:00.123456Z`` (the per-second prefix is cached: lines come in bursts)."""
    second = int(created)
    if _SECOND_CACHE[0] != second:
        _SECOND_CACHE[1] = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _SECOND_CACHE[0] = second
    return f"{_SECOND_CACHE[1]}.{int((created - second) * 1e6):06d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per record; extra attributes become fields."""

    def __init__(self, service: str = "", tenant: str = "") -> None:
        super().__init__()
        self.service, self.tenant = service, tenant

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": _rfc3339(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
            "tenant": self.tenant,
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, default=str, ensure_ascii=False)

    def format_fields(self, created: float, level: str, logger: str, message: str, fields: dict[str, Any]) -> str:
        """The same line for a record that never was a ``LogRecord`` (the access log's fast path)."""
        out: dict[str, Any] = {
            "timestamp": _rfc3339(created),
            "level": level,
            "logger": logger,
            "message": message,
            "service": self.service,
            "tenant": self.tenant,
        }
        out.update(fields)
        return json.dumps(out, default=str, ensure_ascii=False)


def _capture_context(record: logging.LogRecord) -> None:
    """Copy the emitting task's trace and MCP context onto the record (before it changes threads)."""
    if not hasattr(record, "trace_id"):
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            record.trace_id = format(ctx.trace_id, "032x")
            record.span_id = format(ctx.span_id, "016x")
    if not hasattr(record, "mcp_method"):
        current = CURRENT_REQUEST.get()
        if current is not None:
            record.mcp_method = current[0]
            if current[1]:
                record.mcp_tool = current[1]


class NonBlockingHandler(logging.Handler):
    """Appends a context-enriched copy of each record to a bounded buffer; a writer thread formats and
    writes them in batches. Emitting never waits on a lock the writer holds and never wakes the writer
    (no per-record thread hand-off, which under the GIL costs more than the record itself); when the
    buffer is full the record is dropped and counted."""

    def __init__(self, stream: IO[str], formatter: logging.Formatter, capacity: int, interval: float) -> None:
        super().__init__()
        self.stream = stream
        self.setFormatter(formatter)
        self.capacity = capacity
        self.interval = interval
        self.dropped = 0
        self._buffer: deque[logging.LogRecord | tuple[float, str, str, str, dict[str, Any]]] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="lookout-json-logs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # ------------------------------------------------------------------ emitting side (any thread)
    def handle(self, record: logging.LogRecord) -> bool:  # no handler lock: deque.append is atomic
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        if len(self._buffer) >= self.capacity:
            self.dropped += 1
            return
        _capture_context(record)
        if record.args or record.exc_info:
            # Render here (args may be mutable objects of the emitting task), on a copy so that other
            # handlers see the record unchanged; the JSON formatting happens on the writer thread.
            copy = logging.makeLogRecord(record.__dict__)
            copy.msg, copy.args = record.getMessage(), None
            if record.exc_info:
                copy.exc_text = logging.Formatter().formatException(record.exc_info)
                copy.exc_info = None
            record = copy
        self._idle.clear()
        self._buffer.append(record)

    # ------------------------------------------------------------------ writer thread
    def emit_fields(self, level: str, logger: str, message: str, fields: dict[str, Any]) -> None:
        """Buffer a line without building a ``LogRecord`` (no caller lookup, no handler chain)."""
        if len(self._buffer) >= self.capacity:
            self.dropped += 1
            return
        self._idle.clear()
        self._buffer.append((time.time(), level, logger, message, fields))

    def _drain(self) -> None:
        lines = []
        formatter = self.formatter
        while self._buffer:
            item = self._buffer.popleft()
            try:
                if isinstance(item, tuple):
                    lines.append(formatter.format_fields(*item))  # type: ignore[union-attr]
                else:
                    lines.append(self.format(item))
            except Exception:
                self.dropped += 1
        if lines:
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except Exception:
                self.dropped += len(lines)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            self._drain()
            if not self._buffer:
                self._idle.set()
            if self._stopping:
                return

    def flush(self) -> None:
        """Write everything buffered so far and wait for it (tests, shutdown)."""
        if not self._thread.is_alive():
            self._drain()
            return
        self._wake.set()
        self._idle.wait(10)

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self._drain()
        super().close()


@dataclass
class JsonLogging:
    """Handle of :func:`configure_json_logging`; :meth:`stop` flushes and detaches."""

    handler: NonBlockingHandler
    logger: logging.Logger
    replaced: list[logging.Handler] = field(default_factory=list)

    @property
    def dropped(self) -> int:
        return self.handler.dropped

    def flush(self) -> None:
        """Wait until every buffered record is written (tests, shutdown)."""
        self.handler.flush()

    def stop(self) -> None:
        if self.handler in _ACTIVE:
            _ACTIVE.remove(self.handler)
        self.logger.removeHandler(self.handler)
        for handler in self.replaced:
            self.logger.addHandler(handler)
        self.handler.close()


_ACTIVE: list[NonBlockingHandler] = []  # handlers whose logger the access log propagates to


def configure_json_logging(
    *,
    service: str = "",
    tenant: str = "",
    level: int = logging.INFO,
    stream: IO[str] | None = None,
    logger: logging.Logger | None = None,
    queue_size: int = 10_000,
    flush_interval: float = 0.2,
    access_log: bool = True,
    exclusive: bool = True,
) -> JsonLogging:
    """Send ``logger``'s records (the root logger by default) as JSON lines to ``stream`` (stderr).

    At most ``queue_size`` records wait for the writer, which wakes every ``flush_interval`` seconds.
    With ``exclusive`` the logger's other handlers (e.g. the console handler ``MCPServer`` installs) are
    detached until :meth:`JsonLogging.stop`, so the stream carries JSON lines only.
    """
    target = logger if logger is not None else logging.getLogger()
    replaced = list(target.handlers) if exclusive else []
    for old in replaced:
        target.removeHandler(old)
    handler = NonBlockingHandler(
        stream if stream is not None else sys.stderr, JsonFormatter(service, tenant), queue_size, flush_interval
    )
    handler.start()
    target.addHandler(handler)
    _ACTIVE.append(handler)
    if target.level == logging.NOTSET or target.level > level:
        target.setLevel(level)
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO if access_log else logging.WARNING)
    return JsonLogging(handler, target, replaced)


class AccessLog:
    """Writes one line per MCP request to the ``lookout.access`` logger (cheap no-op when disabled)."""

    def __init__(self, log_arguments_for: Collection[str] = ()) -> None:
        self.logger = logging.getLogger(ACCESS_LOGGER)
        self.log_arguments_for = frozenset(log_arguments_for)

    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def emit(
        self,
        method: str,
        target: str,
        seconds: float,
        error_type: str,
        *,
        arguments: Any = None,
        result: Any = None,
        kept: trace.SpanContext | None = None,
    ) -> None:
        fields: dict[str, Any] = {
            "mcp_method": method,
            "duration_ms": round(seconds * 1000, 3),
            "outcome": "error" if error_type else "ok",
        }
        if target:
            fields["target"] = target
            if method in ("tools/call", "prompts/get"):
                fields["mcp_tool"] = target
        if error_type:
            fields["error_type"] = error_type
        if kept is not None:  # the request's span was kept after the fact: point at that trace
            fields["trace_id"] = format(kept.trace_id, "032x")
            fields["span_id"] = format(kept.span_id, "016x")
        if target and target in self.log_arguments_for:
            fields["arguments"] = arguments
            fields["result"] = result
        handler = self._fast_handler()
        if handler is None:
            self.logger.info("mcp request", extra=fields)
            return
        if "trace_id" not in fields:
            ctx = trace.get_current_span().get_span_context()
            if ctx.is_valid:
                fields["trace_id"] = format(ctx.trace_id, "032x")
                fields["span_id"] = format(ctx.span_id, "016x")
        handler.emit_fields("info", ACCESS_LOGGER, "mcp request", fields)

    def _fast_handler(self) -> NonBlockingHandler | None:
        """Lookout's JSON handler when it is the only place access lines go (the root logger's only
        handler), so a line can skip the ``logging`` machinery; else None (plain ``logging``)."""
        if self.logger.handlers or not self.logger.propagate:
            return None
        handlers = logging.getLogger().handlers
        if len(handlers) == 1 and handlers[0] in _ACTIVE:
            return handlers[0]
        return None
