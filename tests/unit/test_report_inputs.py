"""`lookout report`: periods, forecasts, rendering, and bad input refused in one line with exit 2."""

from __future__ import annotations

import io
import json
import math
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from typer.testing import CliRunner

from lookout.cli import app, main
from lookout.report import capacity, plots
from lookout.report.capacity import CapacityReport, ServiceCapacity
from lookout.report.document import Document, Section, Table
from lookout.report.documents import capacity_document, sla_document
from lookout.report.errors import MissingExtra, ReportError
from lookout.report.forecast import fit_line
from lookout.report.period import choose_period, month_period, span_period
from lookout.report.plots import Band, Line, Plot, Threshold, draw, line_plot, render, require_matplotlib
from lookout.report.render import to_html, to_markdown, write
from lookout.report.scope import ServiceKey
from lookout.report.sla import Incident, ServiceSla, SlaReport
from tests.support import http_server

NOW = datetime(2026, 11, 29, 12, 7, tzinfo=UTC)
CONFIG = """\
version: 1
tenants:
  - name: acme
    targets:
      - name: search
        url: http://127.0.0.1:8001/mcp
alerting:
  receivers:
    - name: hook
      webhook: {url: "http://127.0.0.1:9095/notify"}
  routes: {P0: [hook]}
"""


def test_a_past_month_is_whole_and_the_current_one_ends_now() -> None:
    october = month_period("2026-10", NOW)
    assert (october.start, october.end, october.truncated) == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2026, 11, 1, tzinfo=UTC),
        False,
    )
    december = month_period("2025-12", NOW)
    assert december.end == datetime(2026, 1, 1, tzinfo=UTC)
    november = month_period("2026-11", NOW)
    assert november.truncated and november.end == datetime(2026, 11, 29, 12, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("month", "start", "end", "message"),
    [
        ("2026-12", None, None, "--month 2026-12 is in the future"),
        ("2026-13", None, None, "--month '2026-13' is not a month"),
        (None, "2026-11-02", "2026-11-02", "is an empty period"),
        (None, "2026-11-03", "2026-11-02", "is an empty period"),
        (None, "2027-01-01", None, "--from 2027-01-01 is in the future"),
        (None, "yesterday", None, "--from 'yesterday' is not a date"),
        (None, None, "2026-11-02", "--to needs --from"),
        ("2026-10", "2026-10-01", None, "exclude each other"),
    ],
)
def test_bad_periods_are_refused(month: str | None, start: str | None, end: str | None, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        choose_period(month, start, end, NOW, NOW - NOW)


def test_a_span_is_aligned_to_five_minute_windows() -> None:
    period = span_period("2026-11-01T10:03", "2026-11-01T12:58", NOW)
    assert (period.start.minute, period.end.minute, period.minutes) == (0, 55, 175)


def test_the_line_fit_finds_an_exact_trend_and_its_crossing() -> None:
    days = np.arange(30, dtype=np.float64)
    fit = fit_line(days, 5 + 0.25 * days)
    assert fit is not None
    assert fit.slope == pytest.approx(0.25) and fit.intercept == pytest.approx(5)
    assert fit.crossing(28, after=30) == pytest.approx(92)
    assert fit.crossing(3, after=30) == 30  # already above: now
    assert float(fit.margin(np.array([60.0]))[0]) == pytest.approx(0, abs=1e-9)


def test_the_prediction_interval_widens_away_from_the_data() -> None:
    rng = np.random.default_rng(7)
    days = np.arange(30, dtype=np.float64)
    fit = fit_line(days, 10 + 0.5 * days + rng.normal(0, 1, days.size))
    assert fit is not None
    near, far = fit.margin(np.array([15.0, 120.0]))
    assert 1.5 < near < 3 and far > near
    assert fit.upper_crossing(60, after=30, until=200) is not None
    assert fit.upper_crossing(60, after=30, until=200) < fit.crossing(60, after=30)  # type: ignore[operator]
    assert fit_line(np.array([1.0]), np.array([2.0])) is None


def test_html_is_self_contained_and_markdown_links_the_images(tmp_path: Path) -> None:
    image = line_plot("x", "title", "y", [Line("l", [0.0, 86400.0], [1.0, 2.0])], [Threshold("policy", 1.5)])
    assert (image.width, image.height) == (800, 300)
    assert PILImage.open(io.BytesIO(image.data)).size == (800, 300)
    document = Document("sla", "T <1>", "sub", [Section("S", ["p"], [Table(("a|b",), (("1",),))], [image])], {"n": 1})
    page = to_html(document)
    assert "data:image/png;base64," in page and "T &lt;1&gt;" in page and "http" not in page.replace("\\n", "")
    assert "![title](sla-x.png)" in to_markdown(document) and "a\\|b" in to_markdown(document)
    written = write(document, "json", tmp_path)
    assert [p.name for p in written] == ["sla.json", "sla-x.png"]
    assert json.loads(written[0].read_text())["images"] == ["sla-x.png"]
    svg = line_plot("x", "title", "y", [Line("l", [0.0, 1.0], [1.0, 2.0])], image_format="svg")
    assert svg.mime == "image/svg+xml" and svg.data.startswith(b"<?xml")


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "lookout.yaml"
    path.write_text(CONFIG)
    return path


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sla", "--month", "2099-01"], "--month 2099-01 is in the future"),
        (["sla", "--from", "2026-01-02", "--to", "2026-01-01"], "is an empty period"),
        (["sla", "--service", "nope"], "--service 'nope' is not a target in lookout.yaml; known: search"),
        (["capacity", "--tenant", "nope"], "--tenant 'nope' has no targets in lookout.yaml; known: acme"),
        (["sla", "--format", "pdf"], "--format 'pdf' is not one of html, md, json"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["report", *args, "--config", str(_config(tmp_path)), "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [f"lookout: {result.output.strip().removeprefix('lookout: ')}"]
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("kind", ["sla", "capacity", "cost"])
def test_prometheus_down_names_the_url(tmp_path: Path, kind: str) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    args = ["report", kind, "--config", str(_config(tmp_path)), "--prometheus", url, "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert f"cannot reach Prometheus at {url}" in result.output


def test_without_matplotlib_the_cli_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an install without the extra looks like
    monkeypatch.setattr(sys, "argv", ["lookout", "report", "sla", "--config", str(_config(tmp_path))])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "lookout: matplotlib is not installed: pip install 'mcp-lookout[report]'\n"
    with pytest.raises(MissingExtra, match=r"pip install 'mcp-lookout\[report\]'"):
        require_matplotlib()


@pytest.mark.parametrize("kind", ["sla", "capacity", "cost"])
def test_without_prometheus_the_reports_read_the_store_that_sees_every_replica(tmp_path: Path, kind: str) -> None:
    store = f"127.0.0.1:{_closed_port()}"
    ha = f"ha:\n  prometheus_replicas: 2\n  long_term_storage: victoriametrics\n  victoriametrics: {store}\n"
    config = tmp_path / "lookout.yaml"
    config.write_text(CONFIG + ha)
    result = CliRunner().invoke(app, ["report", kind, "--config", str(config), "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert f"cannot reach Prometheus at http://{store}" in result.output


def test_a_reused_figure_and_the_worker_processes_draw_what_a_new_figure_draws() -> None:
    days = np.arange(1, 31, dtype=np.float64) * 86400
    plots = [
        Plot(
            f"p{i}",
            f"service {i}",
            "req/s",
            [Line("daily peak", days, (i + 1) * days / 86400, marker="o"), Line("trend", days[[0, -1]], [0.0, 9.0])],
            [Threshold(f"limit {10 * i}", 10.0 * i)],
            Band("interval", days, days / 86400 - i, days / 86400 + i) if i % 2 else None,
        )
        for i in range(6)
    ]
    fresh = [draw(plot, reuse=False).data for plot in plots]
    assert len(set(fresh)) == len(plots)
    assert [image.data for image in render(plots, workers=1)] == fresh
    assert [image.data for image in render(plots, workers=2)] == fresh
    assert [image.name for image in render(plots, "svg", workers=2)] == [plot.name for plot in plots]


def test_without_worker_processes_the_plots_are_drawn_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_semaphores(*args: object, **kwargs: object) -> None:
        raise OSError(38, "Function not implemented")  # what a sandbox without /dev/shm answers

    monkeypatch.setattr(plots, "ProcessPoolExecutor", no_semaphores)
    many = [Plot(f"p{i}", "t", "y", [Line("l", [0.0, 86400.0], [1.0, float(i)])]) for i in range(plots.PARALLEL_FROM)]
    assert [image.data for image in render(many)] == [draw(plot).data for plot in many]


@pytest.mark.parametrize("kind", ["sla", "capacity", "cost"])
@pytest.mark.parametrize("inside", [False, True])
def test_an_out_that_cannot_be_a_directory_is_refused_before_any_query(tmp_path: Path, kind: str, inside: bool) -> None:
    taken = tmp_path / "taken"
    taken.write_text("a file\n")
    out = taken / "reports" if inside else taken
    url = f"http://127.0.0.1:{_closed_port()}"  # never asked: --out is checked first
    args = ["report", kind, "--config", str(_config(tmp_path)), "--prometheus", url, "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        f"lookout: --out {out}: {taken} is not a directory: choose a directory (it is created if missing)"
    ]
    assert taken.read_text() == "a file\n"


def test_a_report_that_cannot_be_written_names_out_and_leaves_no_partial_file(tmp_path: Path) -> None:
    document = Document("sla", "T", "sub", [Section("S", ["p"])], {"n": 1})
    (tmp_path / "sla.json").mkdir()  # where the report goes
    with pytest.raises(ReportError, match=rf"^--out {tmp_path}: cannot write .*sla\.json.*: choose a directory"):
        write(document, "json", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sla.json"]
    written = write(document, "json", tmp_path / "new")
    assert json.loads(written[0].read_text())["n"] == 1
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["sla.json"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://[::1", "--prometheus 'http://[::1' is not a URL"),
        ("ftp://x", "--prometheus 'ftp://x': Prometheus speaks http or https, not ftp: write e.g. http://"),
        ("http://", "--prometheus 'http://' names no host"),
    ],
)
def test_a_prometheus_url_that_is_not_http_is_one_line(tmp_path: Path, url: str, message: str) -> None:
    args = ["report", "sla", "--config", str(_config(tmp_path)), "--prometheus", url, "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith(f"lookout: {message}")


@contextmanager
def _answering(body: bytes) -> Iterator[str]:
    """An HTTP server answering 200 with ``body`` to every GET: a proxy or another service where Prometheus was
    expected."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with http_server(Handler) as url:
        yield url


@pytest.mark.parametrize("kind", ["sla", "capacity", "cost"])
@pytest.mark.parametrize(
    "body",
    [
        b"null",
        b"[1, 2]",
        b'{"status": "success"}',
        b'{"status": "success", "data": {}}',
        b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}}',
        b'{"status": "success", "data": "text"}',
    ],
)
def test_an_answer_that_is_not_the_prometheus_api_is_one_line(tmp_path: Path, kind: str, body: bytes) -> None:
    with _answering(body) as url:
        args = ["report", kind, "--config", str(_config(tmp_path)), "--prometheus", url, "--out", str(tmp_path)]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert result.output.startswith(f"lookout: {url} is not a Prometheus API: /api/v1/"), result.output


def _capacity_report(values: list[float], threshold: float | None, horizon_days: int = 90) -> CapacityReport:
    """One service's capacity report from its daily peaks (days 1..n of a period starting 2026-09-01)."""
    start = datetime(2026, 9, 1, tzinfo=UTC)
    period = span_period(start.isoformat(), (start + timedelta(days=len(values))).isoformat(), NOW)
    days = np.arange(1, len(values) + 1, dtype=np.float64)
    last_day = float(len(values))
    horizon_day = last_day + horizon_days
    peaks = np.asarray(values, dtype=np.float64)
    flat = np.full(days.shape, np.nan)
    capacity_rps = None if threshold is None else threshold / 0.7
    service = ServiceCapacity(
        ServiceKey("acme", "search"),
        capacity_rps,
        1,
        capacity._trend(days, peaks, threshold, last_day, horizon_day),
        capacity._trend(days, flat, 0.7, last_day, horizon_day),
        capacity._trend(days, flat, 0.7, last_day, horizon_day),
        horizon_day,
        0.7,
    )
    return CapacityReport(period, timedelta(days=horizon_days), [service], 0.7)


def test_a_nearly_flat_trend_meets_the_limit_beyond_the_horizon_not_past_the_calendar() -> None:
    wobble = [12.0 + 1e-7 * (day % 3) for day in range(30)]  # a slope of ~1e-9 req/s a day
    report = _capacity_report(wobble, 35.0)
    assert report.services[0].requests.crossing_day > 1e6  # type: ignore[operator]
    document = capacity_document(report)
    assert document.data["services"][0]["requests"]["crossing"] is None
    assert "not within the horizon" in to_markdown(document)


def test_the_upper_crossing_is_exact_to_the_hour_without_a_grid_of_the_horizon() -> None:
    rng = np.random.default_rng(7)
    days = np.arange(30, dtype=np.float64)
    fit = fit_line(days, 10 + 0.5 * days + rng.normal(0, 1, days.size))
    assert fit is not None
    grid = np.linspace(30, 200, 170 * 24 * 60 + 1)  # to the minute
    expected = float(grid[np.flatnonzero(fit.predict(grid) + fit.margin(grid) >= 60)[0]])
    found = fit.upper_crossing(60, after=30, until=200)
    assert found is not None and expected <= found <= expected + 1 / 24
    assert fit.upper_crossing(60, after=30, until=1e8) == pytest.approx(found, abs=1 / 24)  # no 2.4e9-point grid
    assert fit.upper_crossing(1e6, after=30, until=1e5) is None
    assert fit.upper_crossing(10, after=30, until=200) == 30


def test_a_horizon_beyond_ten_years_is_one_line(tmp_path: Path) -> None:
    args = ["report", "capacity", "--horizon", "3651", "--config", str(_config(tmp_path)), "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output == "lookout: --horizon 3651 days is beyond ten years: choose at most 3650\n"


def test_without_a_capacity_the_trend_and_forecast_stay_and_only_the_crossing_is_unknown() -> None:
    report = _capacity_report([5.0 + 0.25 * day for day in range(1, 31)], None)
    trend = report.services[0].requests
    assert trend.fit is not None and trend.fit.slope == pytest.approx(0.25)
    assert (trend.crossing_day, trend.earliest_crossing_day) == (None, None)
    document = capacity_document(report)
    service = document.data["services"][0]
    assert service["requests"]["slope_per_day"] == pytest.approx(0.25)
    assert service["forecast_peak_rps"] == pytest.approx(5 + 0.25 * 120)
    assert service["replicas_needed"] is None
    text = to_markdown(document)
    assert "No trend or forecast yet" not in text and "Reaches it: unknown, no capacity series" in text
    assert "| unknown: no capacity series |" in text


def test_peaks_on_two_days_give_a_trend_without_an_upper_bound() -> None:
    report = _capacity_report([5.0, 5.25], 28.0)  # capacity 40 req/s x 70 %
    service = report.services[0]
    assert service.requests.fit is not None and service.requests.fit.points == 2
    assert service.requests.earliest_crossing_day is None
    data = capacity_document(report).data["services"][0]
    trend_at_horizon = 4.75 + 0.25 * (2 + 90)
    assert data["forecast_peak_rps"] == pytest.approx(trend_at_horizon)
    assert data["forecast_peak_upper_rps"] is None
    assert data["requests"]["earliest_crossing"] is None
    assert data["replicas_needed"] == math.ceil(trend_at_horizon / 28.0)
    text = to_markdown(capacity_document(report))
    assert "no prediction interval yet: it needs daily peaks on at least three days" in text
    assert "upper 95 % bound" not in text and "(upper bound" not in text
    assert "replica(s) needed, sized on the trend" in text


def test_a_service_without_traffic_still_lists_its_incidents() -> None:
    """A probe-only target, or a server down all period, has no request and so no SLI; its P0 still happened."""
    period = month_period("2026-09", NOW)
    start = datetime(2026, 9, 14, 10, 7, tzinfo=UTC)
    down = Incident("MCPProbeFailing", "P0", "beta", "edge", start, start + timedelta(minutes=42))
    service = ServiceSla(
        ServiceKey("beta", "edge"), requests=0.0, failed=0.0, errors=0.0, objective=0.9999,
        period_minutes=period.minutes, incidents=[down],
    )  # fmt: skip
    document = sla_document(SlaReport(period, [service], 0.1, 0.001, 0.9999))
    text = to_markdown(document)
    assert "| beta | edge | no traffic |  |  |  |  |  | 1 |" in text
    assert "| MCPProbeFailing | P0 | 2026-09-14 10:07 UTC | 2026-09-14 10:49 UTC | 42 |" in text
    [data] = document.data["services"]
    assert data["traffic"] is False
    assert [(i["alert"], i["minutes"]) for i in data["incidents"]] == [("MCPProbeFailing", 42.0)]


def test_services_of_two_tenants_never_share_an_image_file() -> None:
    """acme-eu/api and acme/eu-api: `tenant-service` would name both acme-eu-api, the second overwriting the
    first's plots beside the Markdown report; a tenant without a hyphen keeps the old names."""
    period = month_period("2026-09", NOW)
    start = period.start.timestamp()

    def service(tenant: str, name: str, failed: float) -> ServiceSla:
        return ServiceSla(
            ServiceKey(tenant, name), requests=1000.0, failed=failed, errors=failed, objective=0.999,
            period_minutes=period.minutes, windows=10, day_ends=np.array([start + 86400]),
            daily_requests=np.array([1000.0]), daily_failed=np.array([failed]), hour_ends=np.array([start + 3600]),
            hourly_failed=np.array([failed]), hourly_p99=np.array([0.05]),
        )  # fmt: skip

    services = [service("acme-eu", "api", 1.0), service("acme", "eu-api", 500.0), service("beta", "eu-api", 2.0)]
    document = sla_document(SlaReport(period, services, 0.1, 0.001, 0.999), workers=1)
    names = [image.name for section in document.sections for image in section.images]
    assert len(set(names)) == len(names) == 9
    assert {"acme-eu.api-budget", "acme-eu-api-budget", "beta-eu-api-budget"} <= set(names)


def test_an_objective_reads_as_configured_and_failures_never_read_as_100_percent() -> None:
    period = month_period("2026-09", NOW)
    service = ServiceSla(
        ServiceKey("acme", "search"),
        requests=1_000_000.0,
        failed=4.0,  # 99.9996 %: three digits would round it to 100.000
        errors=4.0,
        objective=0.99999,
        period_minutes=period.minutes,
        latency_windows=8640,
        latency_compliant=8639,  # 99.988 %: two digits would round it to 100.00
    )
    text = to_markdown(sla_document(SlaReport(period, [service], 0.1, 0.01, 0.99999)))
    assert "Objective: availability 99.999 %;" in text
    assert "Availability 99.999 % against the objective 99.999 % (met)" in text
    assert "(99.99 %)" in text
    assert "100.00" not in text
