"""Structured JSON logs that never block the event loop, plus one access line per MCP request.

Each line is one JSON object::

    {"timestamp": "2026-11-27T09:00:00.123456Z", "level": "info", "logger": "lookout.access",
     "message": "mcp request", "service": "search", "tenant": "acme", "trace_id": "...", "span_id": "...",
     "mcp_method": "tools/call", "mcp_tool": "search_docs", "duration_ms": 1.9, "outcome": "ok", ...}

Only ``service``, ``tenant`` and ``level`` are meant as Loki labels (bounded); everything else is
line content, queried with ``| json``. Tool arguments and results are never logged unless the tool is
listed in ``log_arguments_for``.

Non-blocking: the handler on the logger only copies the record (adding trace and MCP context, which
live in context variables of the emitting task) onto a bounded queue; a listener thread formats and
writes. When the queue is full the record is dropped and counted (:attr:`JsonLogging.dropped`)
rather than blocking the loop.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import queue
import sys
from collections.abc import Collection
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from opentelemetry import trace

ACCESS_LOGGER = "lookout.access"

# (mcp method, tool-or-prompt name) of the request the current task is handling.
CURRENT_REQUEST: ContextVar[tuple[str, str] | None] = ContextVar("lookout_current_request", default=None)

_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def _rfc3339(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


class NonBlockingHandler(logging.handlers.QueueHandler):
    """Puts a context-enriched copy of each record on a bounded queue; drops (and counts) when full."""

    def __init__(self, q: queue.Queue[Any]) -> None:
        super().__init__(q)
        self.dropped = 0

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        _capture_context(record)
        # Render the message here (args may be mutable objects of the emitting task); leave the
        # JSON formatting to the listener thread.
        record = logging.makeLogRecord(record.__dict__)
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1


@dataclass
class JsonLogging:
    """Handle of :func:`configure_json_logging`; :meth:`stop` flushes and detaches."""

    handler: NonBlockingHandler
    listener: logging.handlers.QueueListener
    logger: logging.Logger

    @property
    def dropped(self) -> int:
        return self.handler.dropped

    def flush(self) -> None:
        """Wait until every queued record is written (tests, shutdown)."""
        self.listener.queue.join()  # type: ignore[attr-defined]

    def stop(self) -> None:
        self.logger.removeHandler(self.handler)
        self.listener.stop()


class _Listener(logging.handlers.QueueListener):
    def enqueue_sentinel(self) -> None:
        # The queue may be full of records (that is when the handler drops): wait for room.
        self.queue.put(self._sentinel, timeout=10)  # type: ignore[attr-defined]


def configure_json_logging(
    *,
    service: str = "",
    tenant: str = "",
    level: int = logging.INFO,
    stream: IO[str] | None = None,
    logger: logging.Logger | None = None,
    queue_size: int = 10_000,
    access_log: bool = True,
) -> JsonLogging:
    """Send ``logger``'s records (the root logger by default) as JSON lines to ``stream`` (stderr)."""
    target = logger if logger is not None else logging.getLogger()
    q: queue.Queue[Any] = queue.Queue(maxsize=queue_size)  # the listener calls task_done(): join() works
    out = logging.StreamHandler(stream if stream is not None else sys.stderr)
    out.setFormatter(JsonFormatter(service, tenant))
    listener = _Listener(q, out, respect_handler_level=False)
    handler = NonBlockingHandler(q)
    target.addHandler(handler)
    if target.level == logging.NOTSET or target.level > level:
        target.setLevel(level)
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO if access_log else logging.WARNING)
    listener.start()
    return JsonLogging(handler, listener, target)


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
        if target and target in self.log_arguments_for:
            fields["arguments"] = arguments
            fields["result"] = result
        self.logger.info("mcp request", extra=fields)
