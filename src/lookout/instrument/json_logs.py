"""Structured JSON logs that never block the event loop, plus one access line per MCP request.

Each line is one JSON object::

    {"timestamp": "2026-11-27T09:00:00.123456Z", "level": "info", "logger": "lookout.access",
     "message": "mcp request", "service": "search", "tenant": "acme", "trace_id": "...", "span_id": "...",
     "mcp_method": "tools/call", "mcp_tool": "search_docs", "duration_ms": 1.9, "outcome": "ok", ...}

Only ``service``, ``tenant`` and ``level`` are meant as Loki labels (bounded); everything else is
line content, queried with ``| json``. Tool arguments and results are never logged unless the tool is
listed in ``Logs(arguments_for=...)`` (the access log's ``log_arguments_for``).

Non-blocking: the handler on the logger only copies the record (adding trace and MCP context, which
live in context variables of the emitting task) into a bounded buffer; a writer thread wakes a few
times a second, formats and writes the batch. When the buffer is full the record is dropped and
counted (:attr:`JsonLogging.dropped` and ``lookout_telemetry_dropped_total{signal="logs"}``) rather
than blocking the loop. The writer outlives logging configuration changes (``dictConfig``, which every
``uvicorn.Config`` runs, closes all handlers) and stops only at :meth:`JsonLogging.stop` or at exit,
within ``shutdown_timeout`` seconds: a stream nobody reads never keeps the process from exiting.
"""

from __future__ import annotations

import atexit
import json
import json.encoder
import logging
import math
import os
import select
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, cast

from opentelemetry import trace

from lookout.instrument.drops import DROPS, FORMAT_FAILED, QUEUE_FULL, SHUTDOWN, SIGNAL_LOGS, WRITE_FAILED
from lookout.security.redact import SECRET, is_secret_key, redactor

ACCESS_LOGGER = "lookout.access"
ACCESS_MESSAGE = "mcp request"

QUEUE_SIZE = 10_000
"""Records waiting for the writer at most; beyond it they are dropped and counted (memory stays bounded)."""
FLUSH_INTERVAL_SECONDS = 0.2
"""How often the writer wakes to write what is buffered."""
SHUTDOWN_TIMEOUT_SECONDS = 2.0
"""How long stopping (and ``logging``'s flush) waits for the writer; what is left then is counted and dropped."""
_CHUNK_BYTES = 64 * 1024  # one write; a stuck stream costs at most this much of partly written progress

# (mcp method, tool-or-prompt name) of the request the current task is handling.
CURRENT_REQUEST: ContextVar[tuple[str, str] | None] = ContextVar("lookout_current_request", default=None)
context_wanted = False
"""Whether a :class:`NonBlockingHandler` exists to read :data:`CURRENT_REQUEST`: until one does, the middleware
does not set it (a context variable set and reset per request that nothing reads)."""

_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


_SECOND_CACHE: list[Any] = [-1, ""]
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)
"""``json.dumps(line, default=str, ensure_ascii=False)`` without building an encoder per line."""
_encode_string: Callable[[str], str] = json.encoder.encode_basestring  # a str as the encoders below write it
# Access lines: the same text from one C encoder made once (JSONEncoder.encode builds one per call). Without the
# circular-reference check: a line's values are redacted copies, which cannot be cyclic (and a cyclic value
# would fail the line either way, counted as a formatting failure).
_C_MAKE_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_encode_line: Callable[[Any, bool], Iterable[str]] = (
    _ENCODER.iterencode
    if _C_MAKE_ENCODER is None
    else _C_MAKE_ENCODER(None, str, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)
)


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
        self._heads: dict[tuple[Any, ...], str] = {}  # encoded level..tenant of format_fields' lines, by their values
        self._access_parts: dict[tuple[Any, ...], tuple[str, str]] = {}  # format_access: text around the duration

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
                # An application's extra named like the line's own field (``extra={"tenant": ...}``) is kept beside
                # it: level, service and tenant become Loki stream labels, and identity fields are not redacted.
                out[f"extra_{key}" if key in _IDENTITY else key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        return _ENCODER.encode(_redacted(out))

    def format_fields(self, created: float, level: str, logger: str, message: str, fields: dict[str, Any]) -> str:
        """The same line for a record that never was a ``LogRecord`` (the access log's fast path).

        Level, logger, message, service and tenant are the same on almost every line: their JSON (the message
        redacted) is made once and kept, and only the timestamp and ``fields`` are encoded per line."""
        if not _HEAD.isdisjoint(fields):  # a field that takes the place of one of the line's own
            return self._format_fields_whole(created, level, logger, message, fields)
        body = "".join(_encode_line(_redacted(dict(fields), _ACCESS_OWN), False))
        rest = ", " + body[1:] if len(body) > 2 else "}"  # body is "{...}", or "{}" without fields
        head = self._head(level, logger, message, redactor())
        return '{"timestamp": "' + _rfc3339(created) + '", ' + head + rest  # nothing in a timestamp is escaped

    def format_access(
        self,
        created: float,
        method: str,
        target: str,
        seconds: float,
        error_type: str,
        sample: int,
        trace_id: int,
        span_id: int,
    ) -> str:
        """An access line (:func:`access_fields`), the same text as :meth:`format_fields` gives for its fields.

        Everything but the timestamp, the duration and the ids repeats from request to request (a server has
        few methods, tools and error types): that text, redacted and encoded, is made once per distinct set
        and kept, so a line is a few concatenations instead of a field dictionary run through the redactor
        and the encoder (docs/performance.md)."""
        duration = round(seconds * 1000, 3)
        if not 0 <= duration < math.inf:  # NaN or infinite (a clock that jumped): JSON spells them differently
            fields = access_fields(method, target, seconds, error_type, sample, trace_id, span_id)
            return self.format_fields(created, "info", ACCESS_LOGGER, ACCESS_MESSAGE, fields)
        current = redactor()
        key = (method, target, error_type, sample, current, current.enabled)
        parts = self._access_parts.get(key)
        if parts is None:
            parts = self._access_text(method, target, error_type, sample, current)
            if len(self._access_parts) >= _MAX_ACCESS_PARTS:  # targets come from clients: bounded
                self._access_parts.clear()
            self._access_parts[key] = parts
        ids = (
            ', "trace_id": "' + format(trace_id, "032x") + '", "span_id": "' + format(span_id, "016x") + '"}'
            if trace_id
            else "}"
        )
        head = self._head("info", ACCESS_LOGGER, ACCESS_MESSAGE, current)
        return '{"timestamp": "' + _rfc3339(created) + '", ' + head + parts[0] + repr(duration) + parts[1] + ids

    def _access_text(self, method: str, target: str, error_type: str, sample: int, current: Any) -> tuple[str, str]:
        """The encoded text before and after an access line's duration (up to its ids)."""
        fields = _redacted(access_fields(method, target, 0.0, error_type, sample, 0, 0), _ACCESS_OWN)
        before = ', "mcp_method": ' + _encode_string(fields.pop("mcp_method")) + ', "duration_ms": '
        del fields["duration_ms"]
        after = "".join(_encode_line(fields, False))  # {"outcome": ..., ...}
        return before, ", " + after[1:-1]

    def _head(self, level: str, logger: str, message: str, current: Any) -> str:
        """The encoded level, logger, message (redacted), service and tenant of a line, kept by their values."""
        key = (level, logger, message, self.service, self.tenant, current, current.enabled)
        head = self._heads.get(key)
        if head is None:
            own = {"level": level, "logger": logger, "message": message, "service": self.service, "tenant": self.tenant}
            head = "".join(_encode_line(_redacted(own), False))[1:-1]
            if len(self._heads) >= _MAX_HEADS:
                self._heads.clear()
            self._heads[key] = head
        return head

    def _format_fields_whole(
        self, created: float, level: str, logger: str, message: str, fields: dict[str, Any]
    ) -> str:
        out: dict[str, Any] = {
            "timestamp": _rfc3339(created),
            "level": level,
            "logger": logger,
            "message": message,
            "service": self.service,
            "tenant": self.tenant,
        }
        out.update(fields)
        return "".join(_encode_line(_redacted(out, _ACCESS_OWN), False))


def _redacted(line: dict[str, Any], own: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Secrets and personal data out of every field but the line's own identity and the fields in ``own``, which
    Lookout writes itself (lookout.security.redact). A string that repeats in a line is redacted once."""
    current = redactor()
    if not current.enabled:
        return line
    done: dict[str, Any] = {}
    for key, value in line.items():
        if key in _IDENTITY or key in own or value is None:
            continue
        if is_secret_key(key):
            line[key] = SECRET  # a field named for a secret: its whole value, whatever it looks like
        elif type(value) is str:  # most fields: straight to the redactor (a subclass takes the general path)
            redacted = done.get(value)
            if redacted is None:
                redacted = done[value] = current.redact(value)
            if redacted is not value:
                line[key] = redacted
        elif isinstance(value, _PLAIN):
            continue
        elif isinstance(value, str):
            redacted = done.get(value)
            if redacted is None:
                redacted = done[value] = current.value(value)
            line[key] = redacted
        else:
            line[key] = current.value(value)
    return line


_IDENTITY = frozenset({"timestamp", "level", "logger", "service", "tenant"})
_HEAD = _IDENTITY | {"message"}
_MAX_HEADS = 64
_MAX_ACCESS_PARTS = 1024
_PLAIN = (int, float, bool, type(None))  # nothing to redact (a tuple: ``int | float | ...`` is built per use)
_ACCESS_OWN = frozenset({"outcome", "error_type", "trace_id", "span_id"})
"""Access-line fields Lookout computes (``ok``/``error``, an exception class name or JSON-RPC code, hex ids): no
client or tool input reaches them, so the redaction patterns are not run over them (they cost more than the
rest of the line). Method, target and arguments are redacted as every other field."""


def _writable_fd(stream: IO[str]) -> int | None:
    """The stream's file descriptor (written directly, see ``NonBlockingHandler._write``), or None."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    try:
        stream.flush()  # what the stream buffered so far goes first
    except (OSError, ValueError):
        return None
    return fd


_RUNNING: list[NonBlockingHandler] = []  # writers to stop (within their bound) when the interpreter exits


def _stop_at_exit(handler: NonBlockingHandler) -> None:
    if not _EXIT_HOOK:
        atexit.register(_stop_all)
        _EXIT_HOOK.append(True)
    _RUNNING.append(handler)


_EXIT_HOOK: list[bool] = []


def _stop_all() -> None:
    """At exit: every writer gets one shared bound (they write in parallel), not one each."""
    handlers = list(_RUNNING)
    deadline = time.monotonic() + max((h.shutdown_timeout for h in handlers), default=0.0)
    for handler in handlers:
        handler._stopping = True
        handler._wake.set()
    for handler in handlers:
        handler.shutdown(max(0.0, deadline - time.monotonic()))


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


_Buffered = (
    logging.LogRecord | tuple[float, str, str, str, dict[str, Any]] | tuple[float, str, str, float, str, int, int, int]
)
"""What the handler buffers: a record, :meth:`NonBlockingHandler.emit_fields`' or ``emit_access``' values."""


class NonBlockingHandler(logging.Handler):
    """Appends a context-enriched copy of each record to a bounded buffer; a writer thread formats and
    writes them in batches. Emitting never waits on a lock the writer holds and never wakes the writer
    (no per-record thread hand-off, which under the GIL costs more than the record itself); when the
    buffer is full the record is dropped and counted.

    The writer belongs to Lookout, not to ``logging``: :meth:`close` (which ``logging.config.dictConfig``
    calls on every handler, e.g. whenever a ``uvicorn.Config`` is created) leaves it running, and a
    handler that a logging configuration removed from its logger is attached again. Only
    :meth:`shutdown` stops the writer, within a bound: lines it could not write by then are counted
    and dropped, so a stream nobody reads never keeps the process from exiting.
    """

    def __init__(
        self,
        stream: IO[str],
        formatter: logging.Formatter,
        capacity: int,
        interval: float,
        shutdown_timeout: float = SHUTDOWN_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__()
        global context_wanted
        context_wanted = True
        self.stream = stream
        self.setFormatter(formatter)
        self.capacity = capacity
        self.interval = interval
        self.shutdown_timeout = shutdown_timeout
        self.dropped = 0
        self.logger: logging.Logger | None = None  # where the handler belongs (re-attached if removed)
        self._access_logger = logging.getLogger(ACCESS_LOGGER)
        self._fd = _writable_fd(stream)
        self._buffer: deque[_Buffered] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._idle = threading.Event()
        self._idle.set()
        self._ledger = threading.Lock()  # guards _in_flight and _abandoned (never held while writing)
        self._in_flight = 0  # lines taken from the buffer and not yet written or counted
        self._abandoned = False  # shutdown gave up on the writer: it writes and counts nothing more
        self._thread = threading.Thread(target=self._run, name="lookout-json-logs", daemon=True)

    def start(self) -> None:
        self._thread.start()
        _stop_at_exit(self)

    # ------------------------------------------------------------------ emitting side (any thread)
    def handle(self, record: logging.LogRecord) -> bool:  # no handler lock: deque.append is atomic
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def _drop(self, reason: str, n: int = 1) -> None:
        self.dropped += n
        DROPS.add(SIGNAL_LOGS, reason, n)

    def emit(self, record: logging.LogRecord) -> None:
        if len(self._buffer) >= self.capacity or self._stopping:
            self._drop(QUEUE_FULL if not self._stopping else SHUTDOWN)
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
        if self._idle.is_set():  # clearing takes the event's lock: only when the writer said idle
            self._idle.clear()
        self._buffer.append(record)

    def emit_fields(self, level: str, logger: str, message: str, fields: dict[str, Any]) -> None:
        """Buffer a line without building a ``LogRecord`` (no caller lookup, no handler chain)."""
        if len(self._buffer) >= self.capacity or self._stopping:
            self._drop(QUEUE_FULL if not self._stopping else SHUTDOWN)
            return
        if self._idle.is_set():
            self._idle.clear()
        self._buffer.append((time.time(), level, logger, message, fields))

    def emit_access(
        self, method: str, target: str, seconds: float, error_type: str, sample: int, trace_id: int, span_id: int
    ) -> None:
        """Buffer an access line as its values (:meth:`JsonFormatter.format_access` makes it)."""
        if len(self._buffer) >= self.capacity or self._stopping:
            self._drop(QUEUE_FULL if not self._stopping else SHUTDOWN)
            return
        if self._idle.is_set():
            self._idle.clear()
        self._buffer.append((time.time(), method, target, seconds, error_type, sample, trace_id, span_id))

    # ------------------------------------------------------------------ writer thread
    def _take_batch(self) -> list[_Buffered]:
        with self._ledger:
            if self._abandoned:
                return []
            n = min(len(self._buffer), self.capacity)
            batch = [self._buffer.popleft() for _ in range(n)]
            self._in_flight = n
        return batch

    def _settle(self, n: int, reason: str | None = None) -> bool:
        """``n`` taken lines are written (``reason`` None) or lost; False once shutdown gave up on us."""
        with self._ledger:
            if self._abandoned:
                return False
            self._in_flight -= n
            if reason is not None:
                self._drop(reason, n)
            return True

    def _drain(self) -> None:
        batch = self._take_batch()
        if not batch:
            return
        formatter = cast(JsonFormatter, self.formatter)
        lines: list[str] = []
        for item in batch:
            try:
                if isinstance(item, logging.LogRecord):
                    lines.append(self.format(item))
                elif len(item) == 8:  # emit_access' values
                    lines.append(formatter.format_access(*item))
                else:  # emit_fields'
                    lines.append(formatter.format_fields(*item))
            except Exception:
                if not self._settle(1, FORMAT_FAILED):
                    return
        # Chunks of whole lines: progress (and what a stuck stream costs) is known line by line.
        start, size = 0, 0
        for end, line in enumerate(lines, 1):
            size += len(line) + 1
            if size >= _CHUNK_BYTES or end == len(lines):
                chunk = "\n".join(lines[start:end]) + "\n"
                try:
                    self._write(chunk)
                except Exception:
                    self._settle(len(lines) - start, WRITE_FAILED)
                    return
                if not self._settle(end - start):
                    return
                start, size = end, 0

    def _write(self, text: str) -> None:
        if self._fd is None:
            self.stream.write(text)
            self.stream.flush()
            return
        # Straight to the file descriptor: a thread blocked here holds no lock of sys.stderr, so the
        # interpreter can always exit (a daemon thread stuck inside a buffered stream's lock aborts it).
        data = memoryview(text.encode("utf-8", "backslashreplace"))
        while data:
            try:
                data = data[os.write(self._fd, data) :]
            except BlockingIOError:  # someone made the descriptor non-blocking: wait until writable
                if self._abandoned:
                    raise
                select.select([], [self._fd], [], self.interval)

    def _run(self) -> None:
        while True:
            if not self._stopping:
                self._wake.wait(self.interval)
                self._wake.clear()
            self._drain()
            if self._abandoned:
                return
            if not self._buffer:
                self._idle.set()
                if self._stopping:
                    return
            # After the drain: a configuration in progress holds logging's lock, which re-attaching takes.
            self._keep_attached()

    def _belongs_to(self, logger: logging.Logger | None) -> None:
        """Where :meth:`_keep_attached` keeps the handler (None: nowhere, it was detached on purpose)."""
        with self._ledger:
            self.logger = logger

    def _keep_attached(self) -> None:
        """Undo a logging configuration that took the handler off its logger or disabled the access log."""
        if self._stopping:
            return
        notes = []
        with self._ledger:  # JsonLogging.stop() clears self.logger under it: no re-attaching after that
            target = self.logger
            if target is not None and self not in target.handlers:
                target.addHandler(self)
                notes.append(f"re-attached to logger {target.name!r}")
        access = self._access_logger
        if access.disabled:  # dictConfig(disable_existing_loggers=True) written without Lookout in mind
            access.disabled = False
            notes.append(f"re-enabled logger {ACCESS_LOGGER!r}")
        if notes:
            self.emit_fields(
                "warning",
                __name__,
                "a logging configuration removed Lookout's JSON log handler: " + ", ".join(notes),
                {},
            )

    # ------------------------------------------------------------------ lifecycle
    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything buffered so far is written, at most ``timeout`` seconds (default: the
        shutdown bound; ``logging`` calls this from every configuration change and at exit)."""
        if self._abandoned or not self._thread.is_alive():
            return
        self._wake.set()
        self._idle.wait(self.shutdown_timeout if timeout is None else timeout)

    def close(self) -> None:
        """``logging``'s close (configuration changes, exit): the writer keeps running; see :meth:`shutdown`."""
        super().close()

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop the writer after it wrote what is buffered, waiting at most ``timeout`` seconds (default:
        ``shutdown_timeout``). Lines still buffered or being written then are counted as dropped and the
        writer is abandoned (it is a daemon thread). True if everything was written."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(self.shutdown_timeout if timeout is None else timeout)
        if self in _RUNNING:
            _RUNNING.remove(self)
        with self._ledger:
            if self._abandoned:
                return False
            self._abandoned = True
            lost = self._in_flight + len(self._buffer)
            self._drop(SHUTDOWN, lost)
            self._in_flight = 0
            self._buffer.clear()
            return lost == 0


@dataclass
class JsonLogging:
    """Handle of :func:`configure_json_logging`; :meth:`stop` flushes and detaches."""

    handler: NonBlockingHandler
    logger: logging.Logger
    replaced: list[logging.Handler] = field(default_factory=list)

    @property
    def dropped(self) -> int:
        """Records lost so far (queue full, writer failing or stopped in time); also counted in
        ``lookout_telemetry_dropped_total{signal="logs"}``."""
        return self.handler.dropped

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every buffered record is written, at most ``timeout`` seconds (tests, shutdown)."""
        self.handler.flush(timeout)

    def stop(self, timeout: float | None = None) -> bool:
        """Detach and stop the writer within ``timeout`` seconds (default: the handler's
        ``shutdown_timeout``); True if every line was written, else the rest is counted as dropped."""
        if self.handler in _ACTIVE:
            _ACTIVE.remove(self.handler)
        self.handler._belongs_to(None)  # detached on purpose: not to be re-attached
        self.logger.removeHandler(self.handler)
        for handler in self.replaced:
            self.logger.addHandler(handler)
            if isinstance(handler, NonBlockingHandler):
                handler._belongs_to(self.logger)
        written = self.handler.shutdown(timeout)
        self.handler.close()
        return written


_ACTIVE: list[NonBlockingHandler] = []  # handlers whose logger the access log propagates to


def configure_json_logging(
    *,
    service: str = "",
    tenant: str = "",
    level: int = logging.INFO,
    stream: IO[str] | None = None,
    logger: logging.Logger | None = None,
    queue_size: int = QUEUE_SIZE,
    flush_interval: float = FLUSH_INTERVAL_SECONDS,
    shutdown_timeout: float = SHUTDOWN_TIMEOUT_SECONDS,
    access_log: bool = True,
    exclusive: bool = True,
) -> JsonLogging:
    """Send ``logger``'s records (the root logger by default) as JSON lines to ``stream`` (stderr).

    At most ``queue_size`` records wait for the writer, which wakes every ``flush_interval`` seconds;
    stopping waits at most ``shutdown_timeout`` seconds for it. With ``exclusive`` the logger's other
    handlers (e.g. the console handler ``MCPServer`` installs) are detached until
    :meth:`JsonLogging.stop`, so the stream carries JSON lines only. A later logging configuration
    that removes the handler from ``logger`` (``dictConfig`` with a ``root`` section,
    ``basicConfig(force=True)``) does not end the JSON lines: the handler is attached again (next to the
    configured handlers) and a warning line says so; :meth:`JsonLogging.stop` detaches it for good.
    """
    target = logger if logger is not None else logging.getLogger()
    replaced = list(target.handlers) if exclusive else []
    for old in replaced:
        if isinstance(old, NonBlockingHandler):
            old._belongs_to(None)  # replaced on purpose: not to be re-attached next to the new one
        target.removeHandler(old)
    handler = NonBlockingHandler(
        stream if stream is not None else sys.stderr,
        JsonFormatter(service, tenant),
        queue_size,
        flush_interval,
        shutdown_timeout,
    )
    handler.logger = target
    target.addHandler(handler)
    handler.start()
    _ACTIVE.append(handler)
    if target.level == logging.NOTSET or target.level > level:
        target.setLevel(level)
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO if access_log else logging.WARNING)
    return JsonLogging(handler, target, replaced)


def access_fields(
    method: str, target: str, seconds: float, error_type: str, sample: int, trace_id: int, span_id: int
) -> dict[str, Any]:
    """An access line's fields, in their order (``sample``: the ``access_sample`` of a line that stands for that
    many requests, else 0; ``trace_id`` 0: no trace)."""
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
    elif sample:
        fields["access_sample"] = sample
    if trace_id:
        fields["trace_id"] = format(trace_id, "032x")
        fields["span_id"] = format(span_id, "016x")
    return fields


class AccessLog:
    """Writes one line per MCP request to the ``lookout.access`` logger (cheap no-op when disabled)."""

    def __init__(
        self, log_arguments_for: Collection[str] = (), *, sample_every: int = 1, slow_seconds: float = math.inf
    ) -> None:
        if sample_every < 1:
            raise ValueError("access_sample must be at least 1 (every request)")
        self.logger = logging.getLogger(ACCESS_LOGGER)
        self.log_arguments_for = frozenset(log_arguments_for)
        self.sample_every = sample_every
        self.slow_seconds = slow_seconds
        self._skipped = 0

    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def wanted(self, error_type: str, seconds: float) -> bool:
        """Whether this request gets a line: every one by default; with ``sample_every`` > 1, every failed or
        slow request and one in ``sample_every`` of the fast successful ones."""
        if self.sample_every == 1 or error_type or seconds >= self.slow_seconds:
            return True
        self._skipped += 1
        if self._skipped < self.sample_every:
            return False
        self._skipped = 0
        return True

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
        span: trace.Span | None = None,
    ) -> None:
        """One line for a request; ``span`` is the request's span when the caller has it (else the current one)."""
        sample = self.sample_every if not error_type and self.sample_every > 1 and seconds < self.slow_seconds else 0
        with_arguments = bool(target) and target in self.log_arguments_for
        handler = self._fast_handler()
        if handler is not None and not with_arguments:  # nearly every line: no field dictionary (format_access)
            ids = (
                kept
                if kept is not None
                else (span if span is not None else trace.get_current_span()).get_span_context()
            )
            if ids.is_valid:
                handler.emit_access(method, target, seconds, error_type, sample, ids.trace_id, ids.span_id)
            else:
                handler.emit_access(method, target, seconds, error_type, sample, 0, 0)
            return
        # The request's span was kept after the fact: point at that trace.
        trace_id, span_id = (kept.trace_id, kept.span_id) if kept is not None else (0, 0)
        fields = access_fields(method, target, seconds, error_type, sample, trace_id, span_id)
        if with_arguments:
            fields["arguments"] = arguments
            fields["result"] = result
        if handler is None:
            self.logger.info(ACCESS_MESSAGE, extra=fields)
            return
        if "trace_id" not in fields:
            ctx = (span if span is not None else trace.get_current_span()).get_span_context()
            if ctx.is_valid:
                fields["trace_id"] = format(ctx.trace_id, "032x")
                fields["span_id"] = format(ctx.span_id, "016x")
        handler.emit_fields("info", ACCESS_LOGGER, ACCESS_MESSAGE, fields)

    def _fast_handler(self) -> NonBlockingHandler | None:
        """Lookout's JSON handler when it is the only place access lines go (the root logger's only
        handler), so a line can skip the ``logging`` machinery; else None (plain ``logging``)."""
        if self.logger.handlers or not self.logger.propagate:
            return None
        handlers = logging.getLogger().handlers
        if len(handlers) == 1 and handlers[0] in _ACTIVE:
            return handlers[0]
        return None
