"""The live progress line (on stderr, only on a terminal) and the final results table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from lookout.bench.results import LatencySummary, LiveStats, OperationResult, RunResult


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.3f} s"


def _line(stats: LiveStats) -> Text:
    phase = "warming up" if stats.warming_up else "measuring"
    return Text(
        f"{stats.elapsed_s:6.1f}s {phase}  rate {stats.rate_rps:8.1f}/s  requests {stats.requests}  "
        f"errors {stats.errors}  p99 {ms(stats.p99_s)}"
    )


class Progress:
    """Feeds :func:`lookout.bench.load.run_load`'s ``on_tick``; a no-op when stderr is not a terminal."""

    def __init__(self, console: Console) -> None:
        self._live: Live | None = None
        self._console = console

    def __call__(self, stats: LiveStats) -> None:
        if self._live is not None:
            self._live.update(_line(stats))

    @contextmanager
    def shown(self) -> Iterator[Progress]:
        if not self._console.is_terminal:
            yield self
            return
        with Live(Text("connecting..."), console=self._console, transient=True, refresh_per_second=4) as live:
            self._live = live
            try:
                yield self
            finally:
                self._live = None


def _row(name: str, result: OperationResult, latency: LatencySummary) -> list[str]:
    errors = ", ".join(f"{kind} {count}" for kind, count in result.errors.items()) or "0"
    return [
        name,
        str(result.requests),
        f"{result.throughput_rps:.1f}",
        errors,
        ms(latency.p50),
        ms(latency.p90),
        ms(latency.p99),
        ms(latency.p999),
        ms(latency.max),
    ]


def results_table(result: RunResult) -> Table:
    shape = (
        f"closed loop, {result.concurrency} clients"
        if result.model == "closed"
        else f"open loop, {result.rate:g}/s, at most {result.concurrency} in flight"
    )
    table = Table(
        title=f"{result.target} — scenario {result.scenario} ({shape}, {result.elapsed_s:.1f} s measured)",
        title_justify="left",
    )
    for column in ("operation", "requests", "ok/s", "errors", "p50", "p90", "p99", "p99.9", "max"):
        table.add_column(column, justify="left" if column in ("operation", "errors") else "right")
    for name, op in result.operations.items():
        table.add_row(*_row(name, op, op.response_time))
    table.add_row(*_row("all", result.overall, result.overall.response_time), style="bold")
    if result.model == "open":
        # Response time runs from the intended start; service time from the actual send.
        table.add_row(*_row("all (service time)", result.overall, result.overall.service_time), style="dim")
    return table
