"""`lookout report` against a real Prometheus holding 36 days of known history (tests/integration/report_history.py):
the reports' figures are asserted exactly, the plots as images."""

from __future__ import annotations

import io
import json
import math
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from lookout import metrics as m
from tests.integration import report_history as h
from tests.support import Prometheus, lookout_argv, start_prometheus

pytestmark = pytest.mark.integration

SEPTEMBER_S = 30 * 86400
OBJECTIVE = 0.9999  # the default alerting.slo.availability of the history's lookout.yaml


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Prometheus]]:
    directory = tmp_path_factory.mktemp("report-history")
    config, data = h.build_history(directory)
    prometheus = start_prometheus(data / "prometheus.yml", data, extra_args=h.PROMETHEUS_ARGS)
    try:
        yield config, prometheus
    finally:
        prometheus.proc.stop()


def _report(history: tuple[Path, Prometheus], out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config, prometheus = history
    argv = lookout_argv("report", *args, "--config", str(config), "--prometheus", prometheus.url, "--out", str(out))
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def _json(history: tuple[Path, Prometheus], out: Path, kind: str, *args: str) -> dict[str, Any]:
    done = _report(history, out, kind, *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    body: dict[str, Any] = json.loads((out / f"{kind}.json").read_text())
    return body


def _services(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["service"]: s for s in body["services"]}


def _check_png(path: Path) -> None:
    image = Image.open(io.BytesIO(path.read_bytes()))
    assert image.format == "PNG"
    assert image.size == (800, 300)
    colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 20, f"{path.name} looks blank"


def test_sla_month_figures_are_exact(history: tuple[Path, Prometheus], tmp_path: Path) -> None:
    services = _services(_json(history, tmp_path, "sla", "--month", "2026-09"))
    search = services["search"]
    outage_s = h.OUTAGE_MINUTES * 60
    assert search["requests"] == pytest.approx(h.SEARCH_RPS * SEPTEMBER_S, rel=1e-12)
    assert search["failed"] == pytest.approx(h.SEARCH_RPS * outage_s, rel=1e-9)
    assert f"{search['availability'] * 100:.3f}" == "99.900"
    assert search["availability"] == pytest.approx(1 - outage_s / SEPTEMBER_S, abs=1e-12)
    assert search["downtime_minutes"] == pytest.approx(43.0, abs=1e-6)
    consumed = (outage_s / SEPTEMBER_S) / (1 - OBJECTIVE)
    assert search["budget_consumed"] == pytest.approx(consumed, rel=1e-6)
    assert search["budget_remaining"] == pytest.approx(1 - consumed, rel=1e-6)
    assert search["budget_minutes"] == pytest.approx(4.32, rel=1e-9)
    assert (search["windows"], search["period_windows"]) == (SEPTEMBER_S // 300, SEPTEMBER_S // 300)
    windows = SEPTEMBER_S // 300
    slow_windows = h.SLOW_HOURS * 12
    assert (search["latency_windows"], search["latency_windows_in_policy"]) == (windows, windows - slow_windows)
    burst_errors = h.TOOL_ERROR_SHARE * h.BURST_HOURS * 3600
    assert search["error_ratio"] == pytest.approx((outage_s + burst_errors) / SEPTEMBER_S, rel=1e-9)
    # The outage starts on a window boundary: 43 minutes touch 9 windows; the burst fills 24.
    assert search["error_windows_above_policy"] == math.ceil(outage_s / 300) + h.BURST_HOURS * 12
    september = [i for i in h.INCIDENTS if i[3].month == 9]

    def incidents(service: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(i["alert"], i["priority"], i["start"], i["end"], i["minutes"]) for i in service["incidents"]]

    def expected(service: str) -> list[tuple[Any, ...]]:
        return [
            (alert, priority, since.isoformat(), until.isoformat(), (until - since).total_seconds() / 60)
            for alert, priority, about, since, until in september
            if about in (service, m.TENANT_WIDE)
        ]

    assert incidents(search) == expected("search") and len(expected("search")) == 5
    # The tenant-wide outage is an incident of every service of the tenant, with traffic or without.
    assert services["billing"]["availability"] == 1.0
    assert incidents(services["billing"]) == expected("billing") and [i[0] for i in expected("billing")] == [
        "MCPTenantDown"
    ]
    assert services["archive"] == {
        "tenant": "acme",
        "service": "archive",
        "traffic": False,
        "incidents": [
            {"alert": a, "priority": p, "start": s, "end": e, "minutes": n} for a, p, s, e, n in expected("archive")
        ],
    }


def test_sla_minutes_count_only_the_windows_with_data(history: tuple[Path, Prometheus], tmp_path: Path) -> None:
    # 45 days asked for, the history starts on the 31st: a third of the windows hold data.
    args = ("--from", "2026-08-01", "--to", "2026-09-15", "--service", "search")
    search = _services(_json(history, tmp_path, "sla", *args))["search"]
    assert search["downtime_minutes"] == pytest.approx(h.OUTAGE_MINUTES, abs=1e-6)
    assert search["budget_minutes"] == pytest.approx((1 - OBJECTIVE) * 15 * 1440, rel=1e-9)
    assert (search["windows"], search["period_windows"]) == (15 * 288, 45 * 288)
    assert search["data_from"] == h.START.isoformat()
    done = _report(history, tmp_path, "sla", *args, "--format", "md")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "sla.md").read_text()
    assert "43.0 minutes of full outage out of a budget of 2.2 minutes" in text
    assert "Data from 2026-08-31 00:00 UTC: 4,320 of 12,960 five-minute windows" in text


def test_sla_html_is_self_contained_with_plots(history: tuple[Path, Prometheus], tmp_path: Path) -> None:
    done = _report(history, tmp_path, "sla", "--month", "2026-09", "--service", "search")
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "sla.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3
    assert "http://" not in page and "https://" not in page
    assert "99.900 %" in page and "MCPServerDown" in page and "2026-09-14 10:07 UTC" in page
    pngs = sorted(tmp_path.glob("sla-*.png"))
    assert [p.name for p in pngs] == [
        "sla-acme-search-availability.png",
        "sla-acme-search-budget.png",
        "sla-acme-search-p99.png",
    ]
    for png in pngs:
        _check_png(png)


def test_sla_says_when_a_service_had_no_traffic(history: tuple[Path, Prometheus], tmp_path: Path) -> None:
    done = _report(history, tmp_path, "sla", "--month", "2026-09", "--service", "archive", "--format", "md")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "sla.md").read_text()
    assert "No traffic in the period" in text
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.parametrize(("kind", "nothing"), [("sla", "no traffic"), ("capacity", "no traffic"), ("cost", "no data")])
def test_a_period_before_any_recorded_traffic_is_one_line(
    history: tuple[Path, Prometheus], tmp_path: Path, kind: str, nothing: str
) -> None:
    done = _report(history, tmp_path / "out", kind, "--from", "2026-07-01", "--to", "2026-08-01")
    assert done.returncode == 2, done.stdout
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert f"{nothing}: Prometheus at {history[1].url} recorded no" in done.stderr
    assert "from 2026-07-01 00:00 to 2026-08-01 00:00 UTC" in done.stderr
    assert not (tmp_path / "out").exists()


def test_capacity_forecast_crossing_and_replicas(history: tuple[Path, Prometheus], tmp_path: Path) -> None:
    body = _json(history, tmp_path, "capacity", "--from", "2026-09-05", "--to", "2026-10-05", "--horizon", "90")
    assert "linear" in body["method"]
    services = _services(body)
    billing = services["billing"]
    assert billing["capacity_rps"] == h.BILLING_CAPACITY and billing["replicas"] == 1
    assert billing["requests"]["slope_per_day"] == pytest.approx(h.BILLING_GROWTH, rel=1e-6)
    limit = h.BILLING_CAPACITY * 0.7  # alerting.resources.utilization_threshold
    assert billing["requests"]["threshold"] == pytest.approx(limit)
    expected = h.START + timedelta(days=(limit - h.BILLING_RPS) / h.BILLING_GROWTH)
    crossing = datetime.fromisoformat(billing["requests"]["crossing"])
    assert abs(crossing - expected) <= timedelta(days=1), (crossing, expected)
    horizon_end = datetime(2026, 10, 5, tzinfo=UTC) + timedelta(days=90)
    peak = h.BILLING_RPS + h.BILLING_GROWTH * (horizon_end - h.START) / timedelta(days=1)
    assert billing["forecast_peak_rps"] == pytest.approx(peak, abs=0.01)
    assert billing["replicas_needed"] == math.ceil(peak / limit) == 2
    cpu_day = (0.7 - h.CPU_BASE) / h.CPU_GROWTH
    memory_day = (0.7 * 2**30 - h.MEMORY_BASE) / h.MEMORY_GROWTH
    for trend, day in ((billing["cpu"], cpu_day), (billing["memory"], memory_day)):
        moment = datetime.fromisoformat(trend["crossing"])
        assert abs(moment - (h.START + timedelta(days=day))) <= timedelta(days=1), (trend, day)
    search = services["search"]
    assert search["capacity_rps"] == 50.0  # alerting.resources.capacity_fallback_rps: nothing benchmarked
    assert search["requests"]["slope_per_day"] == pytest.approx(0.0, abs=1e-9)
    assert search["requests"]["crossing"] is None and search["replicas_needed"] == 1
    assert services["archive"]["traffic"] is False
    html = _report(history, tmp_path, "capacity", "--from", "2026-09-05", "--to", "2026-10-05")
    assert html.returncode == 0, html.stderr
    for name in ("capacity-acme-billing-forecast.png", "capacity-acme-billing-utilization.png"):
        _check_png(tmp_path / name)


def test_capacity_of_a_period_reaching_past_the_history_keeps_its_trend(
    history: tuple[Path, Prometheus], tmp_path: Path
) -> None:
    # To now: nothing is recorded at the period's end, the capacity and the replicas are from earlier in it.
    body = _json(history, tmp_path, "capacity", "--from", "2026-09-05")
    billing = _services(body)["billing"]
    assert (billing["capacity_rps"], billing["replicas"]) == (h.BILLING_CAPACITY, 1)
    # The day after the history's last sample holds that sample again (a range includes its start): nearly exact.
    assert billing["requests"]["slope_per_day"] == pytest.approx(h.BILLING_GROWTH, rel=0.01)
    assert billing["requests"]["threshold"] == pytest.approx(h.BILLING_CAPACITY * 0.7)
    assert billing["forecast_peak_rps"] is not None and billing["replicas_needed"] is not None
    done = _report(history, tmp_path, "capacity", "--from", "2026-09-05", "--service", "billing", "--format", "md")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "capacity.md").read_text()
    assert "No trend or forecast yet" not in text and "trend +0.24" in text


def test_cost_counts_series_and_measures_storage(history: tuple[Path, Prometheus], tmp_path: Path) -> None:
    body = _json(history, tmp_path, "cost", "--from", "2026-09-05", "--to", "2026-10-05")
    families = {(f["service"], f["family"]): f["series"] for f in body["families"]}
    assert families[("search", "mcp_server_operation_duration_seconds")] == len(h.LE) + 1
    assert families[("search", "lookout_mcp_operation_errors")] == 2
    assert families[("billing", "app_cache_lookups")] == h.SESSIONS
    assert families[("billing", "legacy_request_seconds")] == h.LEGACY_BUCKETS
    assert body["samples_per_second"] == pytest.approx(h.SAMPLES_PER_SECOND, rel=1e-9)
    assert body["bytes_per_day"] == pytest.approx(h.BLOCKS_PER_DAY, rel=1e-9)
    assert body["wal_bytes"] == h.WAL_BYTES
    assert body["retention_bytes"] == pytest.approx(h.BLOCKS_PER_DAY * 35 + h.WAL_BYTES, rel=1e-9)
    assert body["labels"][0] == {"label": "session_id", "values": h.SESSIONS, "families": {"app_cache_lookups": 150}}
    assert {x["family"]: x["buckets"] for x in body["histograms"]}["legacy_request_seconds"] == h.LEGACY_BUCKETS
    footprint = body["tool_footprint"]
    assert [(s["service"], s["tools"], s["bytes"], s["tokens"]) for s in footprint["servers"]] == [
        (name, tools, size, tokens) for name, (tools, size, tokens, _) in h.FOOTPRINTS.items()
    ]
    largest = sorted(((b, n, t) for n, f in h.FOOTPRINTS.items() for t, b in f[3].items()), reverse=True)
    assert [(t["bytes"], t["service"], t["tool"]) for t in footprint["largest_tools"]] == largest
    advice = body["recommendations"]
    assert len(advice) == 2
    assert advice[0].startswith("Drop label 'session_id' from app_cache_lookups")
    assert advice[1].startswith("Trim the buckets of histogram legacy_request_seconds: 40 buckets")


def test_cost_samples_per_second_average_the_windows_with_data(
    history: tuple[Path, Prometheus], tmp_path: Path
) -> None:
    # 45 days asked for, the history starts on the 31st: the rate is not diluted over the days before it.
    body = _json(history, tmp_path, "cost", "--from", "2026-08-01", "--to", "2026-09-15")
    assert body["samples_per_second"] == pytest.approx(h.SAMPLES_PER_SECOND, rel=1e-9)
