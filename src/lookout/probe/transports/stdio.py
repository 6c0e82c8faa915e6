"""stdio: spawn the server, newline-delimited JSON-RPC on its stdin/stdout; the child is always reaped.

The child runs in its own process group so that wrappers (``sh -c``, ``npx``, ``uv run``) and their
children go too. Closing is: EOF on stdin, then SIGTERM to the group, then SIGKILL; each step bounded.
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

from lookout.probe.errors import ResponseTooLarge, TransportFailure
from lookout.probe.transports.base import WireStats, decode_message, encode, match_response

EOF_GRACE_SECONDS = 0.5
TERM_GRACE_SECONDS = 1.0


class StdioTransport:
    network_transport = "stdio"

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
            raise TransportFailure(f"stdio: the server closed its stdin ({self._exit_status()})") from None

    async def _read_line(self, method: str) -> bytes:
        try:
            return await self._stdout.receive_until(b"\n", self._limit)
        except anyio.DelimiterNotFound:
            raise ResponseTooLarge(
                f"{method}: stdout line longer than max_response_bytes ({self._limit} bytes)"
            ) from None
        except (anyio.IncompleteRead, anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise TransportFailure(f"{method}: the server closed stdout ({self._exit_status()})") from None

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

    async def _reap(self) -> None:
        process = self.process
        if process.stdin is not None:
            with contextlib.suppress(Exception):
                await process.stdin.aclose()
        for sig, grace in ((None, EOF_GRACE_SECONDS), (signal.SIGTERM, TERM_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
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
