"""stdio: spawn the server, newline-delimited JSON-RPC on its stdin/stdout; the child is always reaped.

The child runs in its own session (so its own process group) so that wrappers (``sh -c``, ``npx``,
``uv run``) and their children go too. Closing is: EOF on stdin, then SIGTERM to the group, then SIGKILL
to the group; each step bounded, and all of them within the probe's deadline (``WireStats.deadline``):
the prober keeps :data:`CLOSE_RESERVE_SECONDS` of every stdio probe's timeout for them.

A descendant that calls ``setsid()`` (or ``setpgid()``) itself leaves the group and escapes the kill:
nothing short of a cgroup can follow it, so a server that daemonises that way is not supported.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from lookout.probe.errors import ProbeTooLarge, ResponseTooLarge, TransportFailure
from lookout.probe.transports.base import WireStats, decode_message, encode, match_response
from lookout.protocol import Transport

EOF_GRACE_SECONDS = 0.5
TERM_GRACE_SECONDS = 1.0
KILL_WAIT_SECONDS = 5.0
"""Without a deadline: how long to wait for the exit after SIGKILL (normally milliseconds)."""
EXIT_WAIT_SECONDS = 0.2
"""How long a server whose pipe closed is given to exit before the failure calls it still running."""
CLOSE_RESERVE_SECONDS = 1.0
"""The part of a stdio probe's timeout kept for closing (at most a quarter of the timeout)."""
MIN_KILL_WAIT_SECONDS = 0.05


def close_reserve(timeout: float) -> float:
    """Seconds of a stdio probe's ``timeout`` kept for EOF, SIGTERM, SIGKILL and reaping."""
    return min(CLOSE_RESERVE_SECONDS, timeout / 4)


class StdioTransport:
    network_transport = Transport.STDIO

    def __init__(self, process: Process, argv: Sequence[str], stats: WireStats, max_message_bytes: int) -> None:
        self.process = process
        self._argv = list(argv)
        self._stats = stats
        self._limit = max_message_bytes
        assert process.stdout is not None and process.stdin is not None
        self._stdout = BufferedByteReceiveStream(process.stdout)
        self._closed = False

    @classmethod
    async def start(
        cls, argv: Sequence[str], *, stats: WireStats | None = None, max_message_bytes: int = 4 * 1024 * 1024
    ) -> StdioTransport:
        stats = stats or WireStats()
        if not argv:
            raise TransportFailure("stdio: empty command line")
        try:
            process = await anyio.open_process(list(argv), stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            raise TransportFailure(f"stdio: cannot start {argv[0]!r}: {exc.strerror or exc}") from None
        stats.log(f"stdio: started pid {process.pid}: {' '.join(argv)}")
        return cls(process, argv, stats, max_message_bytes)

    async def _write(self, message: Mapping[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            await self.process.stdin.send(encode(message) + b"\n")
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            raise await self._closed_by_server("stdio: the server closed its stdin") from None

    async def _read_line(self, method: str) -> bytes:
        limit = self._limit
        probe_limit = self._stats.max_probe_bytes
        if probe_limit is not None:  # never buffer more than the probe may still receive
            limit = min(limit, max(0, probe_limit - self._stats.received_bytes))
        try:
            line = await self._stdout.receive_until(b"\n", limit)
        except anyio.DelimiterNotFound:
            if limit < self._limit:
                raise ProbeTooLarge(
                    f"{method}: the probe's responses add up to more than max_probe_bytes ({probe_limit} bytes)"
                ) from None
            raise ResponseTooLarge(
                f"{method}: stdout line longer than max_response_bytes ({self._limit} bytes)"
            ) from None
        except (anyio.IncompleteRead, anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise await self._closed_by_server(f"{method}: the server closed stdout") from None
        self._stats.count_received(len(line) + 1)
        return line

    async def _closed_by_server(self, what: str) -> TransportFailure:
        """The failure, with the server's exit status when it is exiting: its pipe closes a moment before it can
        be reaped, so it is given that moment (within the probe's deadline) instead of being called running."""
        left = self._stats.time_left()
        with anyio.move_on_after(EXIT_WAIT_SECONDS if left is None else min(EXIT_WAIT_SECONDS, left / 4)):
            await self.process.wait()
        return TransportFailure(f"{what} ({self._exit_status()})")

    def _exit_status(self) -> str:
        code = self.process.returncode
        return "still running" if code is None else f"exit status {code}"

    async def request(self, message: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        method = str(message.get("method"))
        await self._write(message)
        while True:
            line = (await self._read_line(method)).strip()
            if not line:
                continue
            reply = match_response(decode_message(line, f"{method} (stdout)"), message["id"], method)
            if reply is not None:
                return reply
            self._stats.log(f"<- {method}: skipped a server notification/request on stdout")

    async def notify(self, message: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        await self._write(message)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            await self._reap()

    def _graces(self) -> tuple[float, float, float]:
        """How long to wait after EOF, after SIGTERM and after SIGKILL: within the probe's deadline if any."""
        left = self._stats.time_left()
        if left is None:
            return EOF_GRACE_SECONDS, TERM_GRACE_SECONDS, KILL_WAIT_SECONDS
        eof = min(EOF_GRACE_SECONDS, left * 0.3)
        term = min(TERM_GRACE_SECONDS, left * 0.4)
        return eof, term, max(MIN_KILL_WAIT_SECONDS, left - eof - term)

    async def _reap(self) -> None:
        process = self.process
        eof_grace, term_grace, kill_wait = self._graces()
        if process.stdin is not None:
            with contextlib.suppress(Exception):
                await process.stdin.aclose()
        for sig, grace in ((None, eof_grace), (signal.SIGTERM, term_grace), (signal.SIGKILL, kill_wait)):
            if sig is not None:
                self._stats.log(f"stdio: sending {sig.name} to process group {process.pid}")
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, sig)
            with anyio.move_on_after(grace):
                await process.wait()
                break
        # A group member that outlived the leader (a daemonising grandchild) must not linger either.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            await process.aclose()
        self._stats.log(f"stdio: pid {process.pid} reaped ({self._exit_status()})")
