"""``lookout bench``: run a benchmark (``lookout bench TARGET`` = ``lookout bench run TARGET``), list the
history, compare runs. Bad input: one line, exit 2. A regression found by ``compare``: exit 1."""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from typer.core import TyperGroup

from lookout.bench.scenario import (
    DEFAULT_OPERATION,
    LoadModel,
    Scenario,
    ScenarioError,
    load_scenario,
    operations_from_flags,
)

if TYPE_CHECKING:  # the modules below are imported by the commands that need them: `lookout` starts fast
    from rich.console import Console

    from lookout.bench.capacity import Capacity
    from lookout.bench.compare import Comparison
    from lookout.bench.history import History, RunRecord
    from lookout.bench.results import RunResult

DEFAULT_THRESHOLD = 0.10
DEFAULT_ALPHA = 0.01


class _RunByDefault(TyperGroup):
    """``lookout bench TARGET ...`` runs the benchmark; named subcommands work as usual."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


bench_app = typer.Typer(
    cls=_RunByDefault,
    help="Load-test an MCP server (`lookout bench TARGET`), keep the history, and compare runs (a CI gate).",
    no_args_is_help=True,
)

DATA_DIR = typer.Option(Path(".lookout"), "--data-dir", help="Where the run history (bench.sqlite) lives.")


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"lookout: {message}", err=True)
    raise typer.Exit(code)


def _scenario(file: Path | None, tools: list[str], methods: list[str], overrides: dict[str, Any]) -> Scenario:
    try:
        if file is not None:
            scenario = load_scenario(file)
            if tools or methods:
                _fail("give the mix either in --scenario or with --tool/--method, not both")
        else:
            scenario = Scenario(operations=operations_from_flags(tools, methods) or [DEFAULT_OPERATION])
        if overrides.get("rate") is not None and overrides.get("model") is None:
            overrides["model"] = LoadModel.OPEN  # a rate only makes sense on a schedule
        return scenario.with_load(**overrides)
    except ScenarioError as exc:
        _fail(str(exc))


@bench_app.command("run")
def run(
    target: str = typer.Argument(..., help="MCP endpoint URL, or for --transport stdio the server's command line."),
    transport: str = typer.Option("streamable-http", help="streamable-http, sse or stdio."),
    protocol: str = typer.Option("auto", help="MCP revision to speak, or auto."),
    scenario_file: Path | None = typer.Option(None, "--scenario", "-s", help="Scenario YAML (mix and load)."),
    tool: list[str] = typer.Option([], "--tool", help="Tool to call: NAME or NAME='{json arguments}'. Repeatable."),
    method: list[str] = typer.Option([], "--method", help="Other JSON-RPC method, e.g. tools/list. Repeatable."),
    model: LoadModel | None = typer.Option(None, help="closed (N clients) or open (fixed arrival rate)."),
    concurrency: int | None = typer.Option(None, "--concurrency", "-c", help="Clients; open loop: max in flight."),
    rate: float | None = typer.Option(None, help="Open loop: requests per second (implies --model open)."),
    connections: int | None = typer.Option(None, help="Open loop: MCP sessions the requests share (default 4)."),
    duration: str | None = typer.Option(None, help="Measured time after the warm-up, e.g. 30s (default 10s)."),
    requests: int | None = typer.Option(None, help="Stop after this many measured requests."),
    warmup: str | None = typer.Option(None, help="Warm-up excluded from the results (default 1s)."),
    timeout: str | None = typer.Option(None, help="Per-request timeout (default 10s)."),
    name: str | None = typer.Option(None, help="Target name for history, metrics and capacity (default: TARGET)."),
    revision: str | None = typer.Option(None, help="Git revision of the target, kept in the history."),
    data_dir: Path = DATA_DIR,
    save: bool = typer.Option(True, help="Save the run in the history (and update capacity.json)."),
    pushgateway: str | None = typer.Option(None, help="Push the results to this Pushgateway URL."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    seed: int | None = typer.Option(None, help="Seed of the operation mix."),
) -> None:
    """Drive TARGET with the scenario and report throughput, errors and latency percentiles."""
    _check_transport(transport)
    overrides = {
        "model": model,
        "concurrency": concurrency,
        "rate": rate,
        "connections": connections,
        "duration": duration,
        "requests": requests,
        "warmup": warmup,
        "timeout": timeout,
    }
    scenario = _scenario(scenario_file, tool, method, overrides)
    runner = _Runner(target, name or target, transport, protocol, _history(data_dir) if save else None, revision, seed)
    run_id, result = runner.execute(scenario)
    capacity = _record_capacity(runner, data_dir)
    _push(pushgateway, result, capacity)
    if as_json:
        document = {"run_id": run_id, **result.model_dump(mode="json", by_alias=True)}
        typer.echo(json.dumps(document, indent=2))
    else:
        from lookout.bench.progress import results_table

        _stdout().print(results_table(result))
        if run_id is not None:
            typer.echo(f"saved as run {run_id} in {data_dir}")


@dataclass
class _Runner:
    """Runs scenarios against one target, saving each run in the history (when there is one)."""

    target: str
    target_name: str
    transport: str
    protocol: str
    history: History | None
    revision: str | None
    seed: int | None

    def execute(self, scenario: Scenario) -> tuple[int | None, RunResult]:
        import anyio
        from rich.console import Console

        from lookout.bench.client import mcp_sessions
        from lookout.bench.history import INTERRUPTED, HistoryError
        from lookout.bench.load import BenchError, run_load, summarize
        from lookout.bench.progress import Progress

        history = self.history
        try:
            run_id = history.begin(scenario, self.target_name, self.revision) if history else None
        except HistoryError as exc:
            _fail(str(exc))
        progress = Progress(Console(stderr=True))
        timeout = scenario.load.timeout_s
        connect = mcp_sessions(self.target, transport=self.transport, protocol=self.protocol, timeout=timeout)
        try:
            with progress.shown():
                recorder = anyio.run(lambda: run_load(scenario, connect, seed=self.seed, on_tick=progress))
        except BenchError as exc:
            if history is not None and run_id is not None:
                with contextlib.suppress(HistoryError):  # the target's failure is the news, not the history's
                    history.fail(run_id)
            _fail(f"{self.target}: {exc}", code=1)
        except KeyboardInterrupt:
            if history is not None and run_id is not None:
                with contextlib.suppress(HistoryError):
                    history.fail(run_id, INTERRUPTED)
            raise
        result = summarize(recorder, scenario, self.target_name)
        if history is not None and run_id is not None:
            try:
                history.finish(run_id, result)
            except HistoryError as exc:
                _fail(f"{exc} (run {run_id} stays incomplete)")
        return run_id, result


def _check_transport(transport: str) -> None:
    from lookout.bench.client import TRANSPORTS

    if transport not in TRANSPORTS:
        _fail(f"--transport {transport!r}: use one of {', '.join(TRANSPORTS)}")


def _record_capacity(runner: _Runner, data_dir: Path) -> Capacity | None:
    """The target's capacity from its saved runs, also written to capacity.json."""
    from lookout.bench.capacity import capacity_of, write_capacity
    from lookout.bench.history import HistoryError

    if runner.history is None:
        return None
    try:
        capacity = capacity_of(runner.history.complete_runs(runner.target_name))
    except HistoryError as exc:
        _fail(str(exc))
    if capacity is not None:
        write_capacity(data_dir, capacity)
    return capacity


def _push(gateway: str | None, result: RunResult, capacity: Capacity | None) -> None:
    if not gateway:
        return
    from lookout.bench.export import ExportError, push

    try:
        push(gateway, result, capacity)
    except ExportError as exc:
        _fail(str(exc), code=1)


@bench_app.command("capacity")
def capacity_command(
    target: str = typer.Argument(..., help="MCP endpoint URL of ONE replica (or for stdio its command line)."),
    transport: str = typer.Option("streamable-http", help="streamable-http, sse or stdio."),
    protocol: str = typer.Option("auto", help="MCP revision to speak, or auto."),
    scenario_file: Path | None = typer.Option(None, "--scenario", "-s", help="Scenario YAML (its mix is used)."),
    tool: list[str] = typer.Option([], "--tool", help="Tool to call: NAME or NAME='{json arguments}'. Repeatable."),
    method: list[str] = typer.Option([], "--method", help="Other JSON-RPC method, e.g. tools/list. Repeatable."),
    step: str = typer.Option("5s", help="Measured time of each step."),
    warmup: str = typer.Option("1s", help="Warm-up of each step."),
    max_concurrency: int = typer.Option(256, min=1, help="Stop doubling the clients beyond this."),
    name: str | None = typer.Option(None, help="Target name for history, metrics and capacity (default: TARGET)."),
    revision: str | None = typer.Option(None, help="Git revision of the target, kept in the history."),
    data_dir: Path = DATA_DIR,
    pushgateway: str | None = typer.Option(None, help="Push the capacity (and the last step) to this Pushgateway."),
) -> None:
    """Measure the capacity of one replica: closed-loop steps at 1, 2, 4 ... clients until p99 passes 100 ms,
    errors reach 0.1 % or throughput stops growing. Every step is saved; capacity.json is updated."""
    from lookout.bench.capacity import search_capacity
    from lookout.bench.progress import ms

    _check_transport(transport)
    base = _scenario(scenario_file, tool, method, {"model": LoadModel.CLOSED, "duration": step, "warmup": warmup})
    runner = _Runner(target, name or target, transport, protocol, _history(data_dir), revision, None)

    def run_step(concurrency: int) -> RunResult:
        run_id, result = runner.execute(base.with_load(concurrency=concurrency))
        overall = result.overall
        typer.echo(
            f"{concurrency:4d} clients: {overall.throughput_rps:8.1f} ok/s  p99 {ms(overall.response_time.p99):>10}"
            f"  errors {overall.error_ratio:.2%}  (run {run_id})"
        )
        return result

    steps, reason = search_capacity(run_step, max_concurrency)
    typer.echo(f"stopped: {reason}")
    capacity = _record_capacity(runner, data_dir)
    _push(pushgateway, steps[-1].result, capacity)
    if capacity is None:
        _fail(f"{runner.target_name}: no run met the policy (p99 <= 100 ms, errors < 0.1 %): capacity unknown", 1)
    typer.echo(
        f"capacity of {capacity.target}: {capacity.capacity_rps:.1f} requests/s (run {capacity.run_id}); "
        f"written to {data_dir / 'capacity.json'}"
    )


def _stdout() -> Console:
    from rich.console import Console

    console = Console()
    # Piped output (CI logs) gets room for the whole table instead of rich's 80-column default.
    return console if console.is_terminal else Console(width=160)


def _history(data_dir: Path, create: bool = True) -> History:
    from lookout.bench.history import HISTORY_FILE, History, HistoryError

    if not create and not (data_dir / HISTORY_FILE).exists():
        _fail(f"no benchmark history in {data_dir}: run `lookout bench TARGET` first (or pass --data-dir)")
    try:
        return History.in_dir(data_dir)
    except HistoryError as exc:
        _fail(str(exc))


@bench_app.command("history")
def history_command(
    data_dir: Path = DATA_DIR,
    limit: int = typer.Option(20, help="How many runs to list (newest first)."),
    target: str | None = typer.Option(None, help="Only runs of this target name."),
    as_json: bool = typer.Option(False, "--json", help="Print the runs as JSON."),
) -> None:
    """List saved runs: throughput, p99 and errors of each."""
    from rich.table import Table

    from lookout.bench.history import COMPLETE, FAILED, INTERRUPTED, HistoryError
    from lookout.bench.progress import ms

    try:
        runs = _history(data_dir, create=False).runs(limit, target)
    except HistoryError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps([_summary(r) for r in runs], indent=2))
        return
    table = Table(title=f"benchmark runs in {data_dir}", title_justify="left")
    for column in ("id", "started", "status", "target", "scenario", "rev", "ok/s", "p50", "p99", "errors"):
        table.add_column(column)
    for r in runs:
        res = r.result
        table.add_row(
            str(r.id),
            r.started_at,
            r.status if r.status in (COMPLETE, FAILED, INTERRUPTED) else "incomplete",
            r.target,
            f"{r.scenario} ({r.fingerprint[:8]})",
            r.target_revision or "",
            f"{res.overall.throughput_rps:.1f}" if res else "",
            ms(res.overall.response_time.p50) if res else "",
            ms(res.overall.response_time.p99) if res else "",
            f"{res.overall.error_ratio:.2%}" if res else "",
        )
    _stdout().print(table)


def _summary(record: RunRecord) -> dict[str, Any]:
    res = record.result
    return {
        "id": record.id,
        "started_at": record.started_at,
        "status": record.status,
        "target": record.target,
        "scenario": record.scenario,
        "fingerprint": record.fingerprint,
        "target_revision": record.target_revision,
        "lookout_version": record.lookout_version,
        "host": record.host,
        "throughput_rps": res.overall.throughput_rps if res else None,
        "p99_s": res.overall.response_time.p99 if res else None,
        "error_ratio": res.overall.error_ratio if res else None,
    }


def _complete(history: History, run_id: int) -> RunResult:
    record = history.get(run_id)
    if record.result is None:
        _fail(f"run {run_id} did not complete (interrupted?): compare complete runs only")
    return record.result


@bench_app.command("compare")
def compare_command(
    runs: list[int] = typer.Argument(None, help="A B: compare run B against run A. Omit for --baseline mode."),
    baseline: int | None = typer.Option(
        None, "--baseline", help="Compare the candidate (B, or the latest run) against the N complete runs before it."
    ),
    threshold: float = typer.Option(DEFAULT_THRESHOLD, help="Relative worsening that fails, e.g. 0.1 = 10 %."),
    alpha: float = typer.Option(DEFAULT_ALPHA, help="Significance level of the Mann-Whitney U tests."),
    data_dir: Path = DATA_DIR,
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Exit 1 if the candidate is slower or serves less beyond --threshold (significant at --alpha), else 0."""
    from lookout.bench.compare import compare_runs
    from lookout.bench.history import HistoryError

    if not (0 < threshold < 100) or math.isnan(threshold):
        _fail("--threshold must be a positive ratio, e.g. 0.1 for 10 %")
    if not (0 < alpha < 1):
        _fail("--alpha must be between 0 and 1, e.g. 0.01")
    history = _history(data_dir, create=False)
    ids = list(runs or [])
    try:
        if baseline is not None:
            if baseline < 1 or len(ids) > 1:
                _fail("--baseline N takes N >= 1 and at most one run id (the candidate)")
            candidate_record = history.get(ids[0]) if ids else history.latest_complete()
            before = [r.result for r in history.baseline(candidate_record, baseline) if r.result is not None]
            if not before:
                _fail(f"run {candidate_record.id} has no earlier complete run of the same target and scenario")
            candidate = _complete(history, candidate_record.id)
            label = f"run {candidate_record.id} vs the {len(before)} runs before it"
        else:
            if len(ids) != 2:
                _fail("give two run ids (A B), or --baseline N")
            before = [_complete(history, ids[0])]
            candidate = _complete(history, ids[1])
            label = f"run {ids[1]} vs run {ids[0]}"
    except HistoryError as exc:
        _fail(str(exc))
    if before[0].fingerprint != candidate.fingerprint:
        typer.echo("lookout: note: the runs used different scenarios or load shapes", err=True)
    comparison = compare_runs(before, candidate, threshold, alpha)
    _print_comparison(label, comparison, as_json)
    raise typer.Exit(1 if comparison.regression else 0)


def _print_comparison(label: str, comparison: Comparison, as_json: bool) -> None:
    from rich.table import Table

    from lookout.bench.progress import ms

    if as_json:
        document = {
            "comparison": label,
            "regression": comparison.regression,
            "threshold": comparison.threshold,
            "alpha": comparison.alpha,
            "checks": [vars(check) for check in comparison.checks],
        }
        typer.echo(json.dumps(document, indent=2))
        return
    table = Table(
        title=f"{label} (threshold {comparison.threshold:.0%}, alpha {comparison.alpha})", title_justify="left"
    )
    for column in ("check", "baseline", "candidate", "change", "p-value", "verdict"):
        table.add_column(column)
    for check in comparison.checks:
        show = ms if check.unit == "s" else (lambda v: f"{v:.1f}/s") if check.unit == "/s" else (lambda v: f"{v:.2%}")
        change = f"{check.change:+.1%}" if check.name != "error ratio" else f"{check.change * 100:+.2f} pp"
        p = f"{check.p_value:.2g}" if check.p_value is not None else "-"
        verdict = "[red]REGRESSION[/red]" if check.regression else "ok"
        table.add_row(check.name, show(check.baseline), show(check.candidate), change, p, verdict)
    _stdout().print(table)
    typer.echo("regression" if comparison.regression else "no regression")
