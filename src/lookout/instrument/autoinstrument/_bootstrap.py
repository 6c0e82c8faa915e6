"""The child side of ``lookout instrument``: run by ``sitecustomize`` before the program's own code.

An import hook patches the constructors of the SDK's ``MCPServer`` and lowlevel ``Server`` and of FastMCP 4's
``FastMCP`` as their modules load. The first server the program builds (outside another server's constructor:
``MCPServer`` and ``FastMCP`` build a lowlevel ``Server`` inside theirs) is instrumented, its HTTP apps count
transport bytes, and the management app starts on its own socket in a daemon thread with its own event loop:
the same for stdio (whose stdout is the protocol channel: nothing here writes to it) and HTTP servers, and
serving before the server's loop runs. Later servers are left alone with a warning line: one management port
exposes one server's metrics, whose names carry no server label.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.abc
import importlib.machinery
import logging
import os
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any, NoReturn

from lookout.instrument.autoinstrument import (
    ENV_STATUS_FD,
    STATUS_DONE,
    STATUS_ERROR,
    STATUS_MANAGEMENT,
    STATUS_SERVER,
    AutoSettings,
    LaunchError,
)

SERVER_CLASSES: dict[str, str] = {
    "mcp.server.lowlevel.server": "Server",
    "mcp.server.mcpserver.server": "MCPServer",
    "fastmcp.server.server": "FastMCP",
}
"""Module -> the server class its constructor patch goes on."""


class StatusChannel:
    """The child's end of the launcher's status pipe (a no-op without one)."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd
        if fd is not None:
            os.set_inheritable(fd, False)  # processes the server starts must not hold the launcher's pipe open

    def send(self, kind: str, detail: str = "") -> None:
        if self._fd is None:
            return
        line = f"{kind}\t{' '.join(detail.split())}\n" if detail else f"{kind}\n"
        with contextlib.suppress(OSError):
            os.write(self._fd, line.encode())

    def close(self) -> None:
        if self._fd is not None:
            self.send(STATUS_DONE)
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def fail(self, message: str) -> NoReturn:
        """Report and end the process: the launcher prints the line and exits with 2."""
        if self._fd is None:
            print(f"lookout: {message}", file=sys.stderr, flush=True)
        self.send(STATUS_ERROR, message)
        os._exit(2)


# ---------------------------------------------------------------------- import hook
class _HookedLoader(importlib.abc.Loader):
    """Runs ``hook`` on the module right after the real loader executed it; everything else is delegated."""

    def __init__(self, inner: importlib.abc.Loader, hook: Callable[[ModuleType], None]) -> None:
        self._inner, self._hook = inner, hook

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        self._hook(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class PostImportHooks(importlib.abc.MetaPathFinder):
    """First on ``sys.meta_path``: finds the watched modules with the finders after it, so their loader
    can run a hook once the module is executed."""

    def __init__(self, hooks: dict[str, Callable[[ModuleType], None]]) -> None:
        self._hooks = hooks

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        hook = self._hooks.get(fullname)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _HookedLoader(spec.loader, hook)
                return spec
        return None


# ---------------------------------------------------------------------- health
def _lag_check() -> Any:
    from lookout.health.builtin_checks import EventLoopLag

    class ServerLoopLag(EventLoopLag):
        """The server's loop lag, read from the management thread: the sampler runs on the server's loop
        (started when the server's lifespan starts), and the samples are copied before they are read."""

        @property
        def lag(self) -> float:
            return max((lag for _, lag in tuple(self._samples)), default=0.0)

        def start(self) -> None:  # checks run on the management loop, which is not the one to measure
            pass

        def start_on_server_loop(self) -> None:
            super().start()

    return ServerLoopLag()


def _health(recorder_in_flight: Callable[[], int]) -> tuple[Any, Any]:
    from lookout.health.builtin_checks import InFlightSaturation, MemoryCheck
    from lookout.health.lifecycle import Health

    lag = _lag_check()
    health = Health()
    health.add("event_loop_lag", lag, ttl=1.0)
    health.add("memory", MemoryCheck(None))
    health.add("in_flight_saturation", InFlightSaturation(recorder_in_flight, 0), ttl=1.0)
    started = health.lifespan_started

    def lifespan_started() -> None:
        started()
        with contextlib.suppress(RuntimeError):  # no running loop: the check reports no lag
            lag.start_on_server_loop()

    health.lifespan_started = lifespan_started  # type: ignore[method-assign]
    return health, lag


# ---------------------------------------------------------------------- management app
MANAGEMENT_THREAD = "lookout-management"


class _QuietManagementStartup(logging.Filter):
    """uvicorn's start-up lines for the management app ("Started server process", ...) go through the program's
    own uvicorn handler once the program has configured it first, and stood beside the program's own lines as a
    second server start; the launcher's line names the management address instead. Its warnings and errors still
    go through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.threadName != MANAGEMENT_THREAD


def serve_in_thread(app: Any, sock: socket.socket, security: Any = None) -> threading.Thread:
    """Serve ``app`` on ``sock`` from a daemon thread with its own event loop (it dies with the process); TLS and
    logins when ``security`` (a :class:`lookout.security.auth.ServerSecurity`) says so, as Lookout's servers."""
    import uvicorn

    from lookout.serving import ServerLimits, uvicorn_config

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # signals stay with the program
            yield

    # log_config=None: uvicorn's loggers go through the root logger (JSON on stderr), never to stdout.
    config = uvicorn_config(app, ServerLimits(), lifespan="off", security=security, log_config=None)
    protocol: Any = config.http

    def quiet_init(self: Any, *args: Any, **kwargs: Any) -> None:
        protocol.__init__(self, *args, **kwargs)
        # The program's own uvicorn may give ``uvicorn.access`` a handler (on stdout); scrapes stay out of it.
        self.access_log = False

    config.http = type("ManagementProtocol", (protocol,), {"__init__": quiet_init})
    server = _Server(config)
    logging.getLogger("uvicorn.error").addFilter(_QuietManagementStartup())
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name=MANAGEMENT_THREAD, daemon=True
    )
    thread.start()
    return thread


# ---------------------------------------------------------------------- servers
class AutoInstrumentation:
    """Instruments the first server the program builds; see the module docstring."""

    def __init__(self, settings: AutoSettings, status: StatusChannel) -> None:
        self.settings = settings
        self.status = status
        self.handle: Any = None
        self.handle_server: Any = None
        self.lag: Any = None
        self._local = threading.local()

    def hooks(self) -> dict[str, Callable[[ModuleType], None]]:
        return {module: functools.partial(self.patch_class, cls) for module, cls in SERVER_CLASSES.items()}

    def patch_class(self, class_name: str, module: ModuleType) -> None:
        cls = getattr(module, class_name, None)
        if cls is None:
            return
        original = cls.__init__
        local = self._local

        @functools.wraps(original)
        def __init__(server: Any, *args: Any, **kwargs: Any) -> None:
            local.depth = getattr(local, "depth", 0) + 1
            try:
                original(server, *args, **kwargs)
            finally:
                local.depth -= 1
            if local.depth == 0:
                self.server_created(server)

        cls.__init__ = __init__

    def server_created(self, server: Any) -> None:
        if self.handle is not None:
            if server is not self.handle_server:
                print(
                    f"lookout: {type(server).__name__} {getattr(server, 'name', '')!r} is not instrumented: "
                    f"the management port serves the first server's metrics",
                    file=sys.stderr,
                    flush=True,
                )
            return
        try:
            handle = self.instrument(server)
        except Exception as exc:
            self.status.fail(f"instrumenting {type(server).__name__} failed: {type(exc).__name__}: {exc}")
        self.handle, self.handle_server = handle, server
        self.status.send(STATUS_SERVER, f"{handle.framework}\t{getattr(server, 'name', '')}")
        address = self.settings.management
        if address is not None:
            try:
                security = self.settings.management_security()
            except LaunchError as exc:
                self.status.fail(str(exc))
            from lookout.health.app import bind

            try:
                sock = bind(*address)
            except OSError as exc:
                self.status.fail(
                    f"management address {self.settings.management_address} is not available "
                    f"({exc.strerror or exc}): choose another with --management HOST:PORT"
                )
            host, port = sock.getsockname()[:2]
            serve_in_thread(handle.management_app(), sock, security)
            shown = f"[{host}]" if ":" in host else host
            scheme = "https" if security is not None and security.cert_file else "http"
            self.status.send(STATUS_MANAGEMENT, f"{scheme}://{shown}:{port}")
        self.status.close()

    def instrument(self, server: Any) -> Any:
        from lookout.instrument import Audit, Logs, Tracing, instrument

        settings = self.settings
        handle_box: list[Any] = []
        health, self.lag = _health(lambda: handle_box[0].recorder.in_flight_total if handle_box else 0)
        tracing = Tracing(
            export=settings.export_traces,
            otlp_endpoint=settings.otlp_endpoint,
            traces_per_second=settings.traces_per_second,
            enrich_spans=settings.traces,
        )
        handle = instrument(
            server,
            service=settings.service or None,
            tenant=settings.tenant,
            health=health,
            tracing=tracing,
            logs=Logs(json=settings.json_logs),
            audit=Audit(path=settings.audit_file),
        )
        handle_box.append(handle)
        _count_http_transport(server, handle)
        return handle


def _count_http_transport(server: Any, handle: Any) -> None:
    """Add the transport metrics middleware to the Starlette apps the server builds for its HTTP
    transports (the app stays the Starlette object the program may add routes to)."""
    from lookout.instrument.transport import count_http

    for method in ("streamable_http_app", "sse_app", "http_app"):
        original = getattr(server, method, None)
        if original is None:
            continue

        def build(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            app = _original(*args, **kwargs)
            with contextlib.suppress(AttributeError, RuntimeError):  # not Starlette, or already started
                app.add_middleware(count_http, recorder=handle.recorder)
            return app

        setattr(server, method, functools.wraps(original)(build))


def activate() -> None:
    """Called by ``sitecustomize``: install the hooks when ``lookout instrument`` started this process."""
    fd = os.environ.pop(ENV_STATUS_FD, None)
    if fd is None:
        return  # not started by the launcher, or a process the instrumented server started
    status = StatusChannel(int(fd))
    try:
        settings = AutoSettings.from_env(os.environ)
    except LaunchError as exc:
        status.fail(str(exc))
    auto = AutoInstrumentation(settings, status)
    sys.meta_path.insert(0, PostImportHooks(auto.hooks()))
    for module_name, _cls in SERVER_CLASSES.items():  # already imported (a sitecustomize earlier in the chain)
        module = sys.modules.get(module_name)
        if module is not None:
            auto.hooks()[module_name](module)
    ACTIVE.append(auto)


ACTIVE: deque[AutoInstrumentation] = deque(maxlen=1)
"""The process's auto-instrumentation, once active (for the program and tests to reach the handle)."""
