"""Time and Prometheus queries of `lookout report sla` for 50 services over 30 days.

    python -m benchmarks.bench_report [--services 50] [--repeat 3] [--write]

The TSDB holds the recording-rule series the SLA report reads (5-minute request rate, failed requests, error rate,
error ratio, p99) for every service over September 2026, written as OpenMetrics and imported with promtool; a real
Prometheus serves it. Measured: the report's queries and figures alone, and the whole report with its 150 plots
rendered to self-contained HTML, drawn three ways in the same run: a new figure for every plot in one process (how
reports were drawn before, with today's fixed layout, ticks and PNG encoding), one figure per plot shape reused in
one process, and the report's way (reused figures over one process per core).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.support import machine, write_section
from lookout.config.loader import parse_config
from lookout.report.documents import sla_document
from lookout.report.period import month_period
from lookout.report.plots import PARALLEL_FROM, cores
from lookout.report.prom import PromClient
from lookout.report.render import to_html
from lookout.report.scope import select
from lookout.report.sla import FAILED_5M, sla_report
from lookout.stack.rules import recording as r
from tests.support import require_binary, start_prometheus

TARGET_S = 5.0
START = datetime(2026, 8, 31, tzinfo=UTC)
END = datetime(2026, 10, 1, 0, 5, tzinfo=UTC)
MONTH = "2026-09"
STEP = 300


def _config(services: int, tenants: int) -> str:
    lines = ["version: 1", "tenants:"]
    for t in range(tenants):
        lines += [f"  - name: tenant-{t}", "    targets:"]
        for s in range(t, services, tenants):
            lines += [f"      - name: svc-{s:03d}", f"        url: http://127.0.0.1:{8000 + s}/mcp"]
    lines += ["alerting:", "  receivers:", "    - name: hook", '      webhook: {url: "http://127.0.0.1:9095/n"}']
    return "\n".join([*lines, "  routes: {P0: [hook]}", ""])


def _history(path: Path, services: int, tenants: int, begin: float, end: float) -> None:
    times = [t for t in range(int(START.timestamp()), int(END.timestamp()) + 1, STEP) if begin <= t < end]
    with path.open("w") as out:
        rules = ((r.REQUESTS_RATE, 20.0), (FAILED_5M, 0.0), (r.ERRORS_RATE, 0.01), (r.ERROR_RATIO, 0.0005))
        for record, value in (*rules, (r.LATENCY_P99, 0.04)):
            for s in range(services):
                labels = f'tenant="tenant-{s % tenants}",service="svc-{s:03d}"'
                out.write("".join(f"{record}{{{labels}}} {value} {t}\n" for t in times))
        out.write("# EOF\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", nargs="?", const="docs/performance.md", help="update docs/performance.md")
    args = parser.parse_args(argv)
    promtool = require_binary("promtool")
    config = parse_config(_config(args.services, args.tenants))
    keys = select(config, None, None)
    period = month_period(MONTH, datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        directory = Path(tmp)
        (directory / "tsdb").mkdir()
        history = directory / "history.om"
        day = START
        while day < END:
            _history(history, args.services, args.tenants, day.timestamp(), (day + timedelta(days=1)).timestamp())
            argv_ = [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(history), tmp + "/tsdb"]
            subprocess.run(argv_, check=True, capture_output=True)
            day += timedelta(days=1)
        (directory / "prometheus.yml").write_text("global: {}\n")
        extra = ("--storage.tsdb.retention.time=3650d",)
        prometheus = start_prometheus(directory / "prometheus.yml", directory, extra_args=extra)
        try:
            figures, whole, baseline, serial, queries = [], [], [], [], 0
            load_before = os.getloadavg()[0]
            for _ in range(args.repeat):
                client = PromClient(prometheus.url)
                start = time.perf_counter()
                report = sla_report(client, config, period, keys)
                figures.append(time.perf_counter() - start)
                to_html(sla_document(report))
                whole.append(time.perf_counter() - start)
                queries = client.queries
                client.close()
                start = time.perf_counter()
                to_html(sla_document(report, workers=1, reuse=False))
                baseline.append(figures[-1] + time.perf_counter() - start)
                start = time.perf_counter()
                to_html(sla_document(report, workers=1))
                serial.append(figures[-1] + time.perf_counter() - start)
        finally:
            prometheus.proc.stop()
    load = max(load_before, os.getloadavg()[0])
    median, median_whole, median_baseline, median_serial = (
        statistics.median(t) for t in (figures, whole, baseline, serial)
    )
    verdict = "within" if median_whole < TARGET_S else "**over**"
    plots = 3 * len(keys)
    per_plot, per_plot_baseline, per_plot_serial = (
        (t - median) / plots for t in (median_whole, median_baseline, median_serial)
    )
    section = "\n".join(
        [
            "## `lookout report sla`",
            "",
            f"Measured by `benchmarks/bench_report.py` on {machine()}: the SLA report of {MONTH} (30 days, 8,640",
            f"five-minute windows) for {len(keys)} services in {args.tenants} tenants, against a real Prometheus",
            "holding the recording-rule series it reads.",
            "",
            f"Queries issued: **{queries}**, whatever the number of services: Prometheus sums the 5-minute windows",
            "of each recording rule per service (`[period:5m]` subqueries), the plots read daily and hourly sums, and",
            "one query reads the alert history.",
            "",
            f"Median of {args.repeat}, with a load average of {load:.1f} on the {cores()} cores around the run (other",
            "processes compete for them; drawing over the cores gains the most on an idle machine): the queries and",
            f"figures **{median:.2f} s**; the whole report with its {plots}",
            f"plots (800 x 300 PNG) as self-contained HTML **{median_whole:.2f} s** ({verdict} the {TARGET_S:.0f} s",
            "target).",
            "",
            "| plots drawn | whole report | per plot |",
            "| --- | --- | --- |",
            f"| a new figure each, in one process (as before) | {median_baseline:.2f} s "
            f"| {per_plot_baseline * 1000:.0f} ms |",
            f"| one figure per shape, reused, in one process | {median_serial:.2f} s "
            f"| {per_plot_serial * 1000:.0f} ms |",
            f"| one figure per shape, reused, {cores()} worker processes | {median_whole:.2f} s "
            f"| {per_plot * 1000:.0f} ms |",
            "",
            f"Drawing is {per_plot_baseline / per_plot:.1f} times as fast. Most of a plot's time is matplotlib laying",
            "out and drawing tick labels and text: a report's plots come in three shapes, so each worker keeps one",
            "figure per shape and only replaces its lines' data, legend and title text (no new figure, axes, ticks or",
            "legend per plot); titles and axis labels have fixed places (no measuring pass per draw); the value axis",
            f"has at most five ticks; and a report of {PARALLEL_FROM} plots or more is drawn by one forked worker per",
            "core. The images are identical to a new figure's.",
        ]
    )
    print(section)
    if args.write:
        write_section("report", section, Path(args.write))


if __name__ == "__main__":
    main()
