"""Serve one or more ASGI apps in this process, stopping all of them on SIGINT/SIGTERM.

uvicorn's own signal capture assumes one server per process (each ``serve()`` swaps the handlers
and re-raises the signal on exit), so the servers here run without it and this module owns the
signals. Binding happens up front: a port in use is a :class:`PortInUse` naming the address, before
anything has started.
"""

from __future__ import annotations

import contextlib
import errno
import signal
import socket
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Literal

import anyio
import uvicorn
from starlette.types import ASGIApp


class PortInUse(Exception):
    """The address is taken; the message says which and how to fix it."""


@dataclass(frozen=True)
class Listener:
    app: ASGIApp
    host: str
    port: int
    name: str  # shown in errors, e.g. "MCP endpoint (--port)"
    lifespan: Literal["auto", "on", "off"] = "auto"


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


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
    sock.listen(2048)
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
        _QuietServer(uvicorn.Config(lst.app, log_level="warning", lifespan=lst.lifespan, access_log=False))
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
