"""Serve one or more ASGI apps in this process, stopping all of them on SIGINT/SIGTERM.

uvicorn's own signal capture assumes one server per process (each ``serve()`` swaps the handlers
and re-raises the signal on exit), so the servers here run without it and this module owns the
signals. Binding happens up front: a port in use is a :class:`PortInUse` naming the address, before
anything has started.

Every server here is bounded against slow or hostile clients (:class:`ServerLimits`): uvicorn's
keep-alive timeout and h11's head size limit, plus what uvicorn lacks — a deadline for reading a
request (head and body), and a cap on open connections below the process's file-descriptor limit that
closes the oldest idle connection to make room. Error logs are rate-limited (:class:`RateLimitFilter`),
so a flood of failures cannot fill the disk. With a :class:`~lookout.security.auth.ServerSecurity` a server
serves TLS and checks credentials and roles (docs/security.md): every Lookout server goes through here.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import re
import resource
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import anyio
import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    from lookout.security.auth import ServerSecurity


class PortInUse(Exception):
    """The address is taken; the message says which and how to fix it."""


@dataclass(frozen=True)
class ServerLimits:
    """What one client connection may cost a server."""

    request_read_seconds: float = 10.0
    """A request's head and body must have arrived this long after its first byte (or the connect)."""
    write_stall_seconds: float = 30.0
    """A response the client stops reading (the socket buffer stays full) this long is abandoned."""
    keep_alive_seconds: float = 5.0
    """An idle keep-alive connection is closed after this (uvicorn's ``timeout_keep_alive``)."""
    max_head_bytes: int = 16 * 1024
    """A larger request head is a 400 (h11's ``max_incomplete_event_size``)."""
    max_connections: int = 1024
    """Open connections per listener, further capped by the file-descriptor limit (:func:`connection_cap`)."""


@dataclass(frozen=True)
class Listener:
    app: ASGIApp
    host: str
    port: int
    name: str  # shown in errors, e.g. "MCP endpoint (--port)"
    lifespan: Literal["auto", "on", "off"] = "auto"
    limits: ServerLimits = field(default_factory=ServerLimits)
    security: ServerSecurity | None = None  # TLS, credentials and roles; None: plain HTTP, open


MAX_BACKLOG = 2048


def connection_cap(limits: ServerLimits, listeners: int = 1) -> tuple[int, int]:
    """Connections one listener may hold, and its accept backlog, from its share of the process's
    file descriptors: half the share for connections; asyncio accepts up to a backlog of connections at
    once before any of them can be closed to make room, so a backlog is at most an eighth of the share.
    The rest stays free for accept() and for the app's own work (a probe's sockets and pipes)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return limits.max_connections, MAX_BACKLOG
    share = soft // max(1, listeners)
    return max(8, min(limits.max_connections, share // 2)), max(8, min(MAX_BACKLOG, share // 8))


_HEAD_END = re.compile(rb"\n\r?\n")
"""The blank line that ends a request head (h11 takes a bare ``\\n`` line ending too)."""


class _GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a request read deadline and a connection cap (set by :func:`guarded_protocol`)."""

    request_read_seconds: float = ServerLimits.request_read_seconds
    write_stall_seconds: float = ServerLimits.write_stall_seconds
    max_connections: int = ServerLimits.max_connections
    max_head_bytes: int = ServerLimits.max_head_bytes

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._opened = time.monotonic()
        self._read_timer: asyncio.TimerHandle | None = None
        self._write_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm_read_timer()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def _open(self) -> bool:
        return not self.transport.is_closing()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and self._head_too_large(data):
            self.send_400_response("Request head too large")
            return
        super().data_received(data)
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
            self._arm_read_timer()  # a request (head or body) is on its way: it gets one deadline
        else:
            self._cancel_read_timer()

    def _head_too_large(self, data: bytes) -> bool:
        """Whether the head being read is over ``max_head_bytes``: h11's own bound applies only while the head is
        incomplete, so one that arrived in a single read (up to asyncio's 256 KiB) went through."""
        buffered = self.conn.trailing_data[0]
        if len(buffered) + len(data) <= self.max_head_bytes:  # every request of ordinary size: no copy
            return False
        return _HEAD_END.search(buffered + data, 0, self.max_head_bytes + 4) is None

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_timer()
        self._cancel_write_timer()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = asyncio.get_running_loop().call_later(self.write_stall_seconds, self.transport.abort)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._cancel_write_timer()

    def _cancel_write_timer(self) -> None:
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None

    def idle(self) -> bool:
        """No request being answered: waiting for (the rest of) a head, or kept alive between requests."""
        return self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)

    def _make_room(self) -> None:
        # Closed connections stay in the set until their socket is released (next loop iteration).
        open_ = [c for c in self.connections if isinstance(c, _GuardedH11Protocol) and c._open()]
        if len(open_) <= self.max_connections:
            return
        idle = [c for c in open_ if c is not self and c.idle()]
        victim = min(idle, key=lambda c: c._opened) if idle else self
        _log.warning("connection limit (%d) reached: closing the oldest idle connection", self.max_connections)
        victim.transport.close()

    def _arm_read_timer(self) -> None:
        if self._read_timer is None:
            self._read_timer = asyncio.get_running_loop().call_later(self.request_read_seconds, self._read_expired)

    def _cancel_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_expired(self) -> None:
        self._read_timer = None
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            self.transport.close()  # an app still waiting for the body sees http.disconnect


def guarded_protocol(limits: ServerLimits, max_connections: int) -> type[H11Protocol]:
    """The HTTP protocol class for a uvicorn server bounded by ``limits``."""
    return type(
        "GuardedH11Protocol",
        (_GuardedH11Protocol,),
        {
            "request_read_seconds": limits.request_read_seconds,
            "write_stall_seconds": limits.write_stall_seconds,
            "max_connections": max_connections,
            "max_head_bytes": limits.max_head_bytes,
        },
    )


def uvicorn_config(
    app: ASGIApp,
    limits: ServerLimits,
    *,
    listeners: int = 1,
    lifespan: Literal["auto", "on", "off"] = "auto",
    security: ServerSecurity | None = None,
    **extra: Any,
) -> uvicorn.Config:
    """A uvicorn config with Lookout's limits and quiet logs (the one place servers are configured), serving
    TLS and checking credentials when ``security`` says so."""
    max_connections, backlog = connection_cap(limits, listeners)
    if security is not None:
        from lookout.security.auth import AuthMiddleware

        if security.principals:
            app = AuthMiddleware(app, security)
        extra = {**security.uvicorn_ssl(), **extra}
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan=lifespan,
        access_log=False,
        http=guarded_protocol(limits, max_connections),
        backlog=backlog,
        timeout_keep_alive=int(limits.keep_alive_seconds),
        h11_max_incomplete_event_size=limits.max_head_bytes,
        **extra,
    )
    limit_error_logs()
    return config


_log = logging.getLogger("lookout.serving")


class RateLimitFilter(logging.Filter):
    """Lets ``burst`` records of one kind (logger and message template) through per ``interval`` seconds,
    then drops them, and says how many it dropped on the first record of that kind it lets through again."""

    def __init__(self, burst: int = 10, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.burst = burst
        self.interval = interval
        self._clock = clock
        self._windows: dict[tuple[str, str], tuple[float, int, int]] = {}  # kind -> (start, passed, dropped)

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, str(record.msg))
        now = self._clock()
        start, passed, dropped = self._windows.get(kind, (now, 0, 0))
        if now - start >= self.interval:
            start, passed = now, 0
        if passed >= self.burst:
            self._windows[kind] = (start, passed, dropped + 1)
            return False
        if dropped:
            record.msg = f"{record.getMessage()} [{dropped} similar messages suppressed]"
            record.args = None
        if len(self._windows) > 1000:  # kinds are message templates: a few dozen; never let them grow
            self._windows.clear()
        self._windows[kind] = (start, passed + 1, 0)
        return True


RATE_LIMITED_LOGGERS = ("asyncio", "uvicorn", "uvicorn.error", "lookout.serving")
"""The loggers a flood of connections can make noisy (accept errors, protocol errors, the connection cap)."""


def limit_error_logs() -> None:
    """Install one :class:`RateLimitFilter` and one redaction filter (lookout.security.redact) on each of
    :data:`RATE_LIMITED_LOGGERS` (idempotent): an error message may quote a client's credentials."""
    from lookout.security.redact import RedactingFilter

    for name in RATE_LIMITED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RateLimitFilter) for f in logger.filters):
            logger.addFilter(RateLimitFilter())
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        # asyncio listens with the config's backlog, which also bounds how many connections it accepts
        # at once; the kernel's queue may be long again (a burst of clients waits there, holding no fd).
        for sock in sockets or ():
            sock.listen(MAX_BACKLOG)


def bind(host: str, port: int, name: str) -> socket.socket:
    """A listening socket on ``host:port``, or :class:`PortInUse`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it, keep-alive responses wait ~40 ms for the
    # client's delayed ACK (Nagle), which would dominate every latency we measure.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"{host}:{port} ({name}) is already in use: stop what listens there or choose another port"
            ) from None
        raise PortInUse(f"cannot listen on {host}:{port} ({name}): {exc.strerror}") from None
    sock.listen(MAX_BACKLOG)
    sock.set_inheritable(True)
    return sock


async def serve(listeners: Sequence[Listener], on_signal: Callable[[], Awaitable[object]] | None = None) -> None:
    """Serve every listener until SIGINT/SIGTERM or until one of them stops.

    ``on_signal`` runs when a signal arrives, before the servers stop (e.g. Lookout's drain: not ready
    at once, then wait for in-flight requests); a second signal stops at once.
    """
    sockets = []
    try:
        for lst in listeners:
            sockets.append(bind(lst.host, lst.port, lst.name))
    except PortInUse:
        for s in sockets:
            s.close()
        raise
    servers = [
        _QuietServer(
            uvicorn_config(lst.app, lst.limits, listeners=len(listeners), lifespan=lst.lifespan, security=lst.security)
        )
        for lst in listeners
    ]

    def stop_all() -> None:
        for srv in servers:
            srv.should_exit = True

    async def run(srv: uvicorn.Server, sock: socket.socket) -> None:
        try:
            await srv.serve(sockets=[sock])
        finally:
            stop_all()  # one server stopping stops the others: never half a process

    async def watch_signals(group: anyio.abc.TaskGroup) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                if on_signal is not None:
                    async with anyio.create_task_group() as drain_group:

                        async def run_hook() -> None:
                            await on_signal()
                            drain_group.cancel_scope.cancel()

                        async def second_signal() -> None:
                            async for _ in signals:
                                drain_group.cancel_scope.cancel()
                                return

                        drain_group.start_soon(run_hook)
                        drain_group.start_soon(second_signal)
                stop_all()
                return

    async with anyio.create_task_group() as group:
        watcher = anyio.CancelScope()

        async def signals_task() -> None:
            with watcher:
                await watch_signals(group)

        group.start_soon(signals_task)

        async with anyio.create_task_group() as servers_group:
            for srv, sock in zip(servers, sockets, strict=True):
                servers_group.start_soon(run, srv, sock)
        watcher.cancel()
    for s in sockets:
        s.close()
