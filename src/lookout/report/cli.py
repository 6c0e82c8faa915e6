"""``lookout report sla|capacity|cost``: read a running Prometheus and write a report (HTML, Markdown or JSON,
with its plots) into ``--out``. Bad input, an unreachable Prometheus or a missing extra: one line, exit 2."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from lookout.config import Config, ConfigError, load_config
from lookout.report import DEFAULT_OUT
from lookout.report.errors import ReportError

if TYPE_CHECKING:  # the report modules are imported by the commands: `lookout` starts fast
    from lookout.report.document import Document
    from lookout.report.period import Period
    from lookout.report.prom import PromClient
    from lookout.report.scope import ServiceKey

report_app = typer.Typer(
    help="Reports for service owners read from Prometheus: SLA, capacity forecast, metrics cost.",
    no_args_is_help=True,
)

CONFIG = typer.Option(Path("lookout.yaml"), "--config", "-c", help="Path to lookout.yaml.", readable=False)
PROMETHEUS = typer.Option(
    None,
    "--prometheus",
    help="Prometheus base URL (default: where lookout.yaml's dashboards query: listen.prometheus, or the HA "
    "topology's long-term store; https with the stack's CA and client user under security:).",
)
TENANT = typer.Option(None, "--tenant", help="Only this tenant's services.")
SERVICE = typer.Option(None, "--service", help="Only this service (a target name in lookout.yaml).")
MONTH = typer.Option(None, "--month", help="A calendar month, YYYY-MM (UTC).")
FROM = typer.Option(None, "--from", help="Start of the period (ISO date or date-time, UTC).")
TO = typer.Option(None, "--to", help="End of the period (default: now).")
FORMAT = typer.Option("html", "--format", help="html (self-contained), md or json.")
IMAGES = typer.Option("png", "--images", help="Plot format: png or svg.")
OUT = typer.Option(DEFAULT_OUT, "--out", help="Directory the report and its images are written to.")


def _fail(message: str) -> NoReturn:
    typer.echo(f"lookout: {message}", err=True)
    raise typer.Exit(2)


def _run(build: Callable[[Config, datetime], object], config_path: Path) -> None:
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        _fail(str(exc))
    try:
        build(config, datetime.now(UTC))
    except ReportError as exc:
        _fail(str(exc))


def _choices(value: str, allowed: tuple[str, ...], option: str) -> None:
    if value not in allowed:
        raise ReportError(f"{option} {value!r} is not one of {', '.join(allowed)}")


def _plotted_scope(
    cfg: Config,
    now: datetime,
    fmt: str,
    images: str,
    period: tuple[str | None, str | None, str | None],
    tenant: str | None,
    service: str | None,
    out: Path,
) -> tuple[Period, list[ServiceKey]]:
    """What a per-service report with plots checks before it asks Prometheus, in this order: both formats, the
    period (``--month``, ``--from``, ``--to``; else the last 30 days), the services, ``--out``, then the plotting
    extra."""
    from lookout.report import render
    from lookout.report.period import choose_period
    from lookout.report.plots import FORMATS, require_matplotlib
    from lookout.report.scope import select

    _choices(fmt, render.FORMATS, "--format")
    _choices(images, FORMATS, "--images")
    chosen = choose_period(*period, now, timedelta(days=30))
    keys = select(cfg, tenant, service)
    render.check_out(out)
    require_matplotlib()
    return chosen, keys


def _write(document: Document, fmt: str, out: Path) -> None:
    from lookout.report.render import write

    paths = write(document, fmt, out)
    typer.echo(f"wrote {paths[0]} ({len(paths) - 1} images)")


def _client(config: Config, url: str | None) -> PromClient:
    from lookout.report.prom import PromClient, base_url
    from lookout.security import SecurityError
    from lookout.security.files import client_access

    verify: ssl.SSLContext | bool = True
    auth = None
    if config.security.enabled:
        try:
            verify, auth = client_access(config.security)
        except SecurityError as exc:
            raise ReportError(str(exc)) from None
    client = PromClient(config.query_url() if url is None else base_url(url), verify=verify, auth=auth)
    try:
        client.check()
    except ReportError:
        client.close()
        raise
    return client


@report_app.command("sla")
def sla(
    config: Path = CONFIG,
    prometheus: str | None = PROMETHEUS,
    tenant: str | None = TENANT,
    service: str | None = SERVICE,
    month: str | None = MONTH,
    start: str | None = FROM,
    end: str | None = TO,
    fmt: str = FORMAT,
    images: str = IMAGES,
    out: Path = OUT,
) -> None:
    """Availability, downtime, error budget, latency and error-ratio compliance and incidents per service."""

    def build(cfg: Config, now: datetime) -> None:
        from lookout.report.documents import sla_document
        from lookout.report.sla import sla_report

        period, keys = _plotted_scope(cfg, now, fmt, images, (month, start, end), tenant, service, out)
        with closing(_client(cfg, prometheus)) as client:
            _write(sla_document(sla_report(client, cfg, period, keys), images), fmt, out)

    _run(build, config)


@report_app.command("capacity")
def capacity(
    config: Path = CONFIG,
    prometheus: str | None = PROMETHEUS,
    tenant: str | None = TENANT,
    service: str | None = SERVICE,
    start: str | None = FROM,
    end: str | None = TO,
    horizon: int = typer.Option(90, "--horizon", min=1, help="Days to forecast after the period, at most 3650."),
    fmt: str = FORMAT,
    images: str = IMAGES,
    out: Path = OUT,
) -> None:
    """Request-rate trend and forecast against the benchmarked capacity; CPU and memory trends."""

    def build(cfg: Config, now: datetime) -> None:
        from lookout.report.capacity import MAX_HORIZON_DAYS, capacity_report
        from lookout.report.documents import capacity_document

        if horizon > MAX_HORIZON_DAYS:
            raise ReportError(f"--horizon {horizon} days is beyond ten years: choose at most {MAX_HORIZON_DAYS}")
        period, keys = _plotted_scope(cfg, now, fmt, images, (None, start, end), tenant, service, out)
        with closing(_client(cfg, prometheus)) as client:
            report = capacity_report(client, cfg, period, keys, timedelta(days=horizon))
        _write(capacity_document(report, images), fmt, out)

    _run(build, config)


@report_app.command("cost")
def cost(
    config: Path = CONFIG,
    prometheus: str | None = PROMETHEUS,
    start: str | None = FROM,
    end: str | None = TO,
    fmt: str = FORMAT,
    out: Path = OUT,
) -> None:
    """Active series, label cardinality, samples/s, disk per day and for the retention; what to trim."""

    def build(cfg: Config, now: datetime) -> None:
        from lookout.report import render
        from lookout.report.cost import cost_report
        from lookout.report.documents import cost_document
        from lookout.report.period import choose_period

        _choices(fmt, render.FORMATS, "--format")
        period = choose_period(None, start, end, now, timedelta(days=30))
        render.check_out(out)
        with closing(_client(cfg, prometheus)) as client:
            _write(cost_document(cost_report(client, cfg, period)), fmt, out)

    _run(build, config)
