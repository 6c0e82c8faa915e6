"""``lookout bench``: run a benchmark (``lookout bench TARGET`` = ``lookout bench run TARGET``), list the
history, compare runs. Bad input: one line, exit 2. A regression found by ``compare``: exit 1."""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from typer.core import TyperGroup

from lookout.bench.gate import (
    DEFAULT_ALPHA,
    DEFAULT_MIN_LATENCY_CHANGE_S,
    DEFAULT_THRESHOLD,
    SelectionError,
    select_runs,
)
from lookout.bench.runner import (
    BenchRunner,
    RunFailed,
    check_capacity_file,
    check_pushgateway,
    check_transport,
    open_history,
    push_results,
)
from lookout.bench.scenario import LoadModel, Scenario, ScenarioError, scenario_from_options

if TYPE_CHECKING:  # the modules below are imported by the commands that need them: `lookout` starts fast
    from rich.console import Console

    from lookout.bench.capacity import Policy
    from lookout.bench.compare import Comparison
    from lookout.bench.history import History, RunRecord
    from lookout.bench.results import RunResult


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
CONFIG = typer.Option(
    None,
    "--config",
    help="lookout.yaml whose alerting.slo is the capacity policy (default: ./lookout.yaml if any).",
)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"lookout: {message}", err=True)
    raise typer.Exit(code)


def _note(message: str) -> None:
    typer.echo(f"lookout: note: {message}", err=True)


def _scenario(
    file: Path | None, tools: list[str], methods: list[str], overrides: dict[str, Any], duration_option: str = ""
) -> Scenario:
    """``duration_option`` names the option that gave the duration when it is not --duration (capacity's --step)."""
    try:
        return scenario_from_options(file, tools, methods, overrides)
    except ScenarioError as exc:
        message = str(exc)
        if duration_option and message.startswith("--duration:"):
            message = duration_option + message.removeprefix("--duration")
        _fail(message)


def _policy(config: Path | None) -> Policy:
    """The capacity policy: ``alerting.slo`` of --config, of ./lookout.yaml when there is one, else its defaults."""
    from lookout.bench.capacity import Policy
    from lookout.config import ConfigError, load_config

    default = Path("lookout.yaml")
    path = config if config is not None else (default if default.exists() else None)
    if path is None:
        return Policy.of()
    try:
        return Policy.of(load_config(path).alerting.slo)
    except ConfigError as exc:
        _fail(str(exc))


def _stdout() -> Console:
    from rich.console import Console

    console = Console()
    # Piped output (CI logs) gets room for the whole table instead of rich's 80-column default.
    return console if console.is_terminal else Console(width=160)


def _execute(runner: BenchRunner, scenario: Scenario) -> tuple[int | None, RunResult]:
    from rich.console import Console

    from lookout.bench.progress import Progress

    return runner.execute(scenario, Progress(Console(stderr=True)))


@bench_app.command("run")
def run(
    target: str = typer.Argument(..., help="MCP endpoint URL, or for --transport stdio the server's command line."),
    transport: str = typer.Option("streamable-http", help="streamable-http, sse or stdio."),
    protocol: str = typer.Option("auto", help="MCP revision to speak, or auto."),
    scenario_file: Path | None = typer.Option(
        None, "--scenario", "-s", help="Scenario YAML (mix and load).", readable=False
    ),
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
    config: Path | None = CONFIG,
) -> None:
    """Drive TARGET with the scenario and report throughput, errors and latency percentiles."""
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
    try:
        check_transport(transport)
        check_pushgateway(pushgateway)
        scenario = _scenario(scenario_file, tool, method, overrides)
        policy = _policy(config)
        if save:
            check_capacity_file(data_dir)
        history = open_history(data_dir, warn=_note) if save else None
        runner = BenchRunner(target, name or target, transport, protocol, history, revision, seed)
        runner.check_history()
        run_id, result = _execute(runner, scenario)
        capacity = runner.record_capacity(data_dir, policy)
    except RunFailed as exc:
        _fail(str(exc), exc.code)
    if as_json:
        document = {"run_id": run_id, **result.model_dump(mode="json", by_alias=True)}
        typer.echo(json.dumps(document, indent=2))
    else:
        from lookout.bench.progress import results_table

        _stdout().print(results_table(result))
        if run_id is not None:
            typer.echo(f"saved as run {run_id} in {data_dir}")
    try:  # after the results: a Pushgateway that is down must not hide a run that was measured and saved
        push_results(pushgateway, result, capacity)
    except RunFailed as exc:
        _fail(str(exc), exc.code)


@bench_app.command("capacity")
def capacity_command(
    target: str = typer.Argument(..., help="MCP endpoint URL of ONE replica (or for stdio its command line)."),
    transport: str = typer.Option("streamable-http", help="streamable-http, sse or stdio."),
    protocol: str = typer.Option("auto", help="MCP revision to speak, or auto."),
    scenario_file: Path | None = typer.Option(
        None, "--scenario", "-s", help="Scenario YAML (its mix is used).", readable=False
    ),
    tool: list[str] = typer.Option([], "--tool", help="Tool to call: NAME or NAME='{json arguments}'. Repeatable."),
    method: list[str] = typer.Option([], "--method", help="Other JSON-RPC method, e.g. tools/list. Repeatable."),
    step: str = typer.Option("5s", help="Measured time of each step."),
    warmup: str = typer.Option("1s", help="Warm-up of each step."),
    max_concurrency: int = typer.Option(256, min=1, help="Stop doubling the clients beyond this."),
    name: str | None = typer.Option(None, help="Target name for history, metrics and capacity (default: TARGET)."),
    revision: str | None = typer.Option(None, help="Git revision of the target, kept in the history."),
    data_dir: Path = DATA_DIR,
    pushgateway: str | None = typer.Option(None, help="Push the capacity (and the last step) to this Pushgateway."),
    config: Path | None = CONFIG,
) -> None:
    """Measure the capacity of one replica: closed-loop steps at 1, 2, 4 ... clients until the policy breaks
    (alerting.slo: p99 and error ratio, 100 ms and 0.1 % by default) or throughput stops growing. Every step is
    saved; capacity.json is updated."""
    from lookout.bench.capacity import search_capacity
    from lookout.bench.progress import ms

    try:
        check_transport(transport)
        check_pushgateway(pushgateway)
        load = {"model": LoadModel.CLOSED, "duration": step, "warmup": warmup}
        base = _scenario(scenario_file, tool, method, load, duration_option="--step")
        policy = _policy(config)
        check_capacity_file(data_dir)
        history = open_history(data_dir, warn=_note)
        runner = BenchRunner(target, name or target, transport, protocol, history, revision, None)
        runner.check_history()
    except RunFailed as exc:
        _fail(str(exc), exc.code)

    def run_step(concurrency: int) -> RunResult:
        # capacity.json follows every step, so a later step's failure or Ctrl-C keeps what the earlier ones found.
        try:
            run_id, result = _execute(runner, base.with_load(concurrency=concurrency))
        except RunFailed as exc:
            _fail(str(exc), exc.code)
        except KeyboardInterrupt:  # also after a step whose load had ended and was saved
            with contextlib.suppress(RunFailed):
                runner.record_capacity(data_dir, policy)
            raise
        try:
            runner.record_capacity(data_dir, policy)
        except RunFailed as exc:
            _fail(str(exc), exc.code)
        overall = result.overall
        typer.echo(
            f"{concurrency:4d} clients: {overall.throughput_rps:8.1f} ok/s  p99 {ms(overall.response_time.p99):>10}"
            f"  errors {overall.error_ratio:.2%}  (run {run_id})"
        )
        return result

    steps, reason = search_capacity(run_step, policy, max_concurrency)
    typer.echo(f"stopped: {reason}")
    try:
        capacity = runner.record_capacity(data_dir, policy)
    except RunFailed as exc:
        _fail(str(exc), exc.code)
    if capacity is not None:
        typer.echo(
            f"capacity of {capacity.target}: {capacity.capacity_rps:.1f} requests/s (run {capacity.run_id}); "
            f"written to {data_dir / 'capacity.json'}"
        )
    else:
        typer.echo(f"lookout: {runner.target_name}: no run met the policy ({policy}): capacity unknown", err=True)
    try:  # after the capacity: a Pushgateway that is down must not hide what was measured
        push_results(pushgateway, steps[-1].result, capacity)
    except RunFailed as exc:
        _fail(str(exc), exc.code)
    if capacity is None:
        raise typer.Exit(1)


def _history(data_dir: Path, create: bool = True) -> History:
    try:
        return open_history(data_dir, create, _note)
    except RunFailed as exc:
        _fail(str(exc), exc.code)


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


@bench_app.command("compare")
def compare_command(
    runs: list[int] = typer.Argument(None, help="A B: compare run B against run A. Omit for --baseline mode."),
    baseline: int | None = typer.Option(
        None, "--baseline", help="Compare the candidate (B, or the latest run) against the N complete runs before it."
    ),
    threshold: float = typer.Option(DEFAULT_THRESHOLD, help="Relative worsening that fails, e.g. 0.1 = 10 %."),
    alpha: float = typer.Option(DEFAULT_ALPHA, help="Significance level of the tests."),
    min_latency_change_ms: float = typer.Option(
        DEFAULT_MIN_LATENCY_CHANGE_S * 1000,
        help="A latency percentile that moved by fewer milliseconds never fails (sub-ms jitter); 0 = any.",
    ),
    data_dir: Path = DATA_DIR,
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Exit 1 if the candidate is slower or serves less beyond --threshold (significant at --alpha), else 0;
    2 when the runs are too short for any test to reach --alpha."""
    from lookout.bench.compare import compare_runs
    from lookout.bench.history import HistoryError

    if not (0 < threshold < 100) or math.isnan(threshold):
        _fail("--threshold must be a positive ratio, e.g. 0.1 for 10 %")
    if not (0 < alpha < 1):
        _fail("--alpha must be between 0 and 1, e.g. 0.01")
    if not (0 <= min_latency_change_ms < math.inf):
        _fail("--min-latency-change-ms must be zero or more milliseconds, e.g. 1")
    history = _history(data_dir, create=False)
    try:
        selection = select_runs(history, list(runs or []), baseline)
    except (SelectionError, HistoryError) as exc:
        _fail(str(exc))
    if not selection.same_shape:
        typer.echo("lookout: note: the runs used different scenarios or load shapes", err=True)
    comparison = compare_runs(selection.baseline, selection.candidate, threshold, alpha, min_latency_change_ms / 1000)
    _print_comparison(selection.label, comparison, as_json)
    if comparison.regression:
        raise typer.Exit(1)
    if comparison.judged_nothing:  # a gate that could test nothing must not pass
        _fail(
            f"{selection.label}: too few samples for any test to reach --alpha {alpha}: "
            "compare longer runs (--duration, --requests)"
        )
    if comparison.insufficient:
        typer.echo(f"lookout: note: too few samples to test {', '.join(comparison.insufficient)}", err=True)


def _print_comparison(label: str, comparison: Comparison, as_json: bool) -> None:
    from rich.table import Table

    from lookout.bench.progress import ms

    if as_json:
        document = {
            "comparison": label,
            "regression": comparison.regression,
            "threshold": comparison.threshold,
            "alpha": comparison.alpha,
            "min_latency_change_s": comparison.min_latency_change_s,
            "insufficient_samples": list(comparison.insufficient),
            "checks": [vars(check) for check in comparison.checks],
        }
        typer.echo(json.dumps(document, indent=2))
        return
    table = Table(
        title=f"{label} (threshold {comparison.threshold:.0%} and {ms(comparison.min_latency_change_s)} for latency,"
        f" alpha {comparison.alpha})",
        title_justify="left",
    )
    for column in ("check", "baseline", "candidate", "change", "p-value", "verdict"):
        table.add_column(column)
    for check in comparison.checks:
        show = ms if check.unit == "s" else (lambda v: f"{v:.1f}/s") if check.unit == "/s" else (lambda v: f"{v:.2%}")
        change = f"{check.change:+.1%}" if check.name != "error ratio" else f"{check.change * 100:+.2f} pp"
        p = f"{check.p_value:.2g}" if check.p_value is not None else "-"
        verdict = (
            "[red]REGRESSION[/red]" if check.regression else "insufficient samples" if check.insufficient else "ok"
        )
        table.add_row(check.name, show(check.baseline), show(check.candidate), change, p, verdict)
    _stdout().print(table)
    if comparison.regression or not comparison.judged_nothing:
        typer.echo("regression" if comparison.regression else "no regression")
