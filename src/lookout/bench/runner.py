"""Running benchmarks for ``lookout bench``: one run against a target (saved in the history when there is one),
the target's capacity from its saved runs, and the export. Every failure is a RunFailed with one line for the
user and its exit code; the command line only parses options and prints."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lookout.interrupt import CtrlC, caused_by_ctrl_c

if TYPE_CHECKING:
    from lookout.bench.capacity import Capacity, Policy
    from lookout.bench.history import History
    from lookout.bench.progress import Progress
    from lookout.bench.results import Recorder, RunResult
    from lookout.bench.scenario import Scenario


class RunFailed(Exception):
    """One line for the user; ``code`` 1 when the target (or the Pushgateway) failed, 2 for input and set-up."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def check_transport(transport: str) -> None:
    from lookout.bench.client import TRANSPORTS

    if transport not in TRANSPORTS:
        raise RunFailed(f"--transport {transport!r}: use one of {', '.join(TRANSPORTS)}")


def open_history(data_dir: Path, create: bool = True, warn: Callable[[str], None] | None = None) -> History:
    """The history in ``data_dir``; without ``create``, a missing one is an error (nothing to list or compare).
    ``warn`` hears of each run whose row does not parse (it is skipped)."""
    from lookout.bench.history import HISTORY_FILE, History, HistoryError

    if not create and not (data_dir / HISTORY_FILE).exists():
        raise RunFailed(f"no benchmark history in {data_dir}: run `lookout bench TARGET` first (or pass --data-dir)")
    try:
        return History.in_dir(data_dir, warn)
    except HistoryError as exc:
        raise RunFailed(str(exc)) from None


def check_pushgateway(gateway: str | None) -> None:
    """Refuse a --pushgateway that is no URL before the load runs: the push comes only after it."""
    from urllib.parse import urlsplit

    if gateway is None:
        return
    # Read as the Prometheus client reads it: without an http(s) scheme, it is host:port.
    url = gateway if gateway.startswith(("http://", "https://")) else f"http://{gateway}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parsing the port is the check)
    except ValueError as exc:
        problem = str(exc)
    else:
        problem = "" if parts.hostname else "no host"
    if problem:
        raise RunFailed(f"--pushgateway {gateway!r}: not a URL ({problem}): write e.g. http://127.0.0.1:9091")


def check_capacity_file(data_dir: Path) -> None:
    """Refuse a capacity.json the run could not update before the load runs, not after."""
    from lookout.bench.capacity import CapacityFileError, read_capacity_file

    try:
        read_capacity_file(data_dir)
    except CapacityFileError as exc:
        raise RunFailed(str(exc)) from None


@dataclass
class BenchRunner:
    """Runs scenarios against one target, saving each run in the history (when there is one)."""

    target: str
    target_name: str
    transport: str
    protocol: str
    history: History | None
    revision: str | None
    seed: int | None

    def check_history(self) -> None:
        """Read what the run will read once it is over (the target's saved runs, for its capacity), so that a
        history that cannot be read stops the command before the load instead of after it."""
        from lookout.bench.history import HistoryError

        if self.history is None:
            return
        try:
            self.history.complete_runs(self.target_name)
        except HistoryError as exc:
            raise RunFailed(str(exc)) from None

    def execute(self, scenario: Scenario, progress: Progress | None = None) -> tuple[int | None, RunResult]:
        """Run ``scenario``; the run's id in the history (None without one) and its result."""
        import anyio

        from lookout.bench.client import mcp_sessions
        from lookout.bench.history import HistoryError
        from lookout.bench.load import BenchError, run_load, summarize

        history = self.history
        with CtrlC() as ctrl_c:
            try:
                run_id = history.begin(scenario, self.target_name, self.revision) if history else None
            except HistoryError as exc:
                raise RunFailed(str(exc)) from None
            timeout = scenario.load.timeout_s
            connect = mcp_sessions(self.target, transport=self.transport, protocol=self.protocol, timeout=timeout)

            async def load_until_ctrl_c() -> Recorder | None:
                """The load, or None when Ctrl-C cancelled it: the interrupt ends it at an await, never
                inside whatever the main thread was running (a lazy import, a dataclass being built)."""
                loop = asyncio.get_running_loop()
                with anyio.CancelScope() as scope, ctrl_c.on_press(lambda: loop.call_soon_threadsafe(scope.cancel)):
                    return await run_load(scenario, connect, seed=self.seed, on_tick=progress)
                return None

            shown = progress.shown() if progress is not None else contextlib.nullcontext()
            try:
                with shown:
                    recorder = anyio.run(load_until_ctrl_c)
            except BenchError as exc:
                if ctrl_c.pressed:  # the target went away with the same Ctrl-C (a server in our process group)
                    self._interrupted(run_id)
                    raise KeyboardInterrupt from None
                if history is not None and run_id is not None:
                    with contextlib.suppress(HistoryError):  # the target's failure is the news, not the history's
                        history.fail(run_id)
                raise RunFailed(f"{self.target}: {exc}", code=1) from None
            except BaseException as exc:  # a second Ctrl-C, which raises wherever it lands
                if caused_by_ctrl_c(exc):
                    self._interrupted(run_id)
                    raise KeyboardInterrupt from None
                raise
            if recorder is None:
                self._interrupted(run_id)
                raise KeyboardInterrupt
            result = summarize(recorder, scenario, self.target_name)
            if history is not None and run_id is not None:
                try:
                    history.finish(run_id, result)
                except HistoryError as exc:
                    raise RunFailed(f"{exc} (run {run_id} stays incomplete)") from None
            if ctrl_c.pressed:  # after the load had ended: the run is whole and saved, the command still stops
                raise KeyboardInterrupt
        return run_id, result

    def _interrupted(self, run_id: int | None) -> None:
        from lookout.bench.history import INTERRUPTED, HistoryError

        if self.history is not None and run_id is not None:
            with contextlib.suppress(HistoryError):
                self.history.fail(run_id, INTERRUPTED)

    def record_capacity(self, data_dir: Path, policy: Policy) -> Capacity | None:
        """The target's capacity from its saved runs under ``policy``, also written to capacity.json."""
        from lookout.bench.capacity import CapacityFileError, capacity_of, write_capacity
        from lookout.bench.history import HistoryError

        if self.history is None:
            return None
        try:
            capacity = capacity_of(self.history.complete_runs(self.target_name), policy)
        except HistoryError as exc:
            raise RunFailed(str(exc)) from None
        if capacity is not None:
            try:
                write_capacity(data_dir, capacity, policy)
            except CapacityFileError as exc:
                raise RunFailed(str(exc)) from None
        return capacity


def push_results(gateway: str | None, result: RunResult, capacity: Capacity | None) -> None:
    """Push the run (and the capacity) to ``gateway``, when one is given."""
    if not gateway:
        return
    from lookout.bench.export import ExportError, push

    try:
        push(gateway, result, capacity)
    except ExportError as exc:
        raise RunFailed(str(exc), code=1) from None
