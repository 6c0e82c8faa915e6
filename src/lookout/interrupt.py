"""Ctrl-C without surprises. Python raises KeyboardInterrupt wherever the main thread happens to be: inside a
class being created by a lazy import it arrives as the RuntimeError "Error calling __set_name__" caused by it,
and inside code run by ``exec`` (dataclasses build their methods that way) it makes ``python -m`` die of
SIGINT at exit even after the interrupt was handled. ``CtrlC`` turns the first Ctrl-C into a flag and a
callback (a command stops its work at the next await and ends as it chooses); ``caused_by_ctrl_c`` still
recognizes a wrapped one where no such handler is installed."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType, TracebackType


def caused_by_ctrl_c(exc: BaseException) -> bool:
    """Whether ``exc`` is a KeyboardInterrupt or was raised because of one (its cause or context chain)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


class CtrlC:
    """While entered, the first Ctrl-C sets ``pressed`` and calls the callback registered with ``on_press``
    instead of raising; a second one raises KeyboardInterrupt as usual, for a user who will not wait. Outside
    the main thread, or where someone else already handles SIGINT, it changes nothing."""

    def __init__(self) -> None:
        self.pressed = False
        self._callback: Callable[[], object] | None = None
        self._previous: Callable[[int, FrameType | None], object] | int | None = None  # set while installed

    def __enter__(self) -> CtrlC:
        if threading.current_thread() is threading.main_thread() and (
            signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True
        if self._callback is not None:
            self._callback()

    @contextlib.contextmanager
    def on_press(self, callback: Callable[[], object]) -> Iterator[None]:
        """Call ``callback`` on the first Ctrl-C inside the block (at once when it came before the block).
        It runs in a signal handler: it should only schedule work, e.g. ``loop.call_soon_threadsafe``."""
        self._callback = callback
        try:
            if self.pressed:
                callback()
            yield
        finally:
            self._callback = None
