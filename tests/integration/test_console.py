"""The console in a real browser (Debian's chromium driven by Playwright) against `lookout up` with demo
traffic on free loopback ports: dashboards draw from the generated catalog, the time range and the service
variable change the queries, silences go through Alertmanager, the SLO page agrees with PromQL, and a
stopped Prometheus is a message rather than a blank page."""

from __future__ import annotations

import os
import re
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from lookout.config import load_config
from lookout.console.dashboards import load_dashboards
from lookout.runtime.sink import read_notifications
from lookout.stack.rules import recording as rec
from tests.stack_support import LISTEN, free_ports, lookout_up, sink_alerting, write_demo_config
from tests.support import LOOPBACK, Proc, free_port, instant_query, lookout_argv, start, wait_until

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
MAY_BE_EMPTY = {
    "Firing alerts": "no alert of the tenant needs to fire in a healthy demo",
    "Active sessions": "the demo traffic speaks a sessionless protocol revision",
    "Session duration p90": "the demo traffic speaks a sessionless protocol revision",
    "Active sessions and 7-day forecast": "the demo traffic speaks a sessionless protocol revision",
    "Rejected requests": "the demo server rejects nothing below its concurrency limit",
    "Transport errors": "the healthy demo server has no transport errors",
    "JSON-RPC errors seen by probes": "probes of the healthy demo server succeed",
    "Certificate expiry": "the demo server is plain HTTP",
    "Remote-write lag": "the test's lookout.yaml configures no remote_write",
    "Samples waiting to be sent": "the test's lookout.yaml configures no remote_write",
    "Samples retried and failed": "the test's lookout.yaml configures no remote_write",
}
"""Panels that legitimately have no data in a short run of the healthy demo, and why. Every other panel draws
data (the benchmark panels too: the fixture records two tiny benchmark runs first)."""
BENCH_RUNS = 2
playwright_api = pytest.importorskip("playwright.sync_api", reason="the dev extra installs playwright")


@dataclass
class Stack:
    proc: Proc
    data: Path
    config: Path
    ports: dict[str, int]
    console: str = ""
    prometheus: str = ""
    alertmanager: str = ""
    errors: list[str] = field(default_factory=list)

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        return instant_query(self.prometheus, expr, at)

    def notifications(self) -> list[dict[str, Any]]:
        return read_notifications(self.data / "notifications.jsonl")


def write_config(path: Path, ports: dict[str, int]) -> None:
    write_demo_config(path, ports, sink_alerting(ports), (*LISTEN, "grafana"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    tmp = tmp_path_factory.mktemp("console")
    ports = free_ports(*LISTEN, "grafana")
    config = tmp / "lookout.yaml"
    write_config(config, ports)
    with lookout_up(tmp, ports) as proc:
        s = Stack(
            proc,
            tmp / "data",
            config,
            ports,
            console=f"http://{LOOPBACK}:{ports['grafana']}",
            prometheus=f"http://{LOOPBACK}:{ports['prometheus']}",
            alertmanager=f"http://{LOOPBACK}:{ports['alertmanager']}",
        )
        # Demo traffic (on by default) has reached the SLO recording rules and the prober has probed.
        wait_until(lambda: s.query(rec.AVAILABILITY_BUDGET_REMAINING), 60, what="SLO budget series")
        wait_until(lambda: s.query("probe_success == 1"), 60, what="a successful probe")
        for _ in range(BENCH_RUNS):  # the benchmark dashboard and page need runs in the history and Pushgateway
            bench = lookout_argv(
                "bench", "run", f"http://{LOOPBACK}:{ports['demo']}/mcp", "--name", "demo-server",
                "--tool", 'calculate={"expression": "1+1"}', "--duration", "2s", "--warmup", "0s",
                "--data-dir", str(s.data), "--pushgateway", f"http://{LOOPBACK}:{ports['pushgateway']}",
                "--config", str(config),
            )  # fmt: skip
            run = start(bench, tmp / "bench.log")
            try:
                wait_until(lambda: not run.alive(), 120, interval=0.5, what="lookout bench run")  # noqa: B023
            finally:
                assert run.stop() == 0, run.output()
        yield s


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@dataclass
class Watched:
    page: Any
    console_errors: list[str]
    failed_requests: list[str]


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    w = Watched(page, [], [])
    page.on("console", lambda msg: w.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: w.console_errors.append(str(exc)))
    page.on("requestfailed", lambda req: w.failed_requests.append(f"{req.url}: {req.failure}"))
    page.on("response", lambda r: w.failed_requests.append(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None)
    try:
        yield w
    finally:
        context.close()


def _render(page: Any, url: str) -> list[dict[str, str]]:
    page.goto(url)
    page.wait_for_selector("body[data-rendered]", timeout=30_000)
    panels: list[dict[str, str]] = page.eval_on_selector_all(
        ".panel",
        "els => els.map(e => ({title: e.dataset.title, state: e.dataset.state, type: e.dataset.type,"
        " note: e.querySelector('.panel-note').textContent, queries: e.dataset.queries || ''}))",
    )
    return panels


def test_every_panel_of_every_dashboard_draws_data_or_says_why(stack: Stack, watched: Watched) -> None:
    dashboards = load_dashboards(load_config(stack.config))
    assert dashboards, "the generated catalog has dashboards"
    drawn, empty = 0, []
    for uid, dashboard in dashboards.items():
        panels = _render(watched.page, f"{stack.console}/d/{uid}?from=now-15m&to=now")
        expected = [p["title"] for p in dashboard.panels if p["type"] != "row"]
        no_value = {p["title"]: p["noValue"] for p in dashboard.panels if p["type"] != "row"}
        assert [p["title"] for p in panels] == expected, uid
        for panel in panels:
            where = f"{dashboard.title} / {panel['title']}"
            if panel["state"] == "unsupported":  # Loki panels: the native stack runs no Loki
                assert "Loki" in panel["note"], where
                continue
            if panel["title"] in MAY_BE_EMPTY and panel["state"] == "nodata":
                # A panel of Lookout's extension series says what it needs; the others say there is no data.
                assert panel["note"].startswith(no_value[panel["title"]] or "No data"), where
                continue
            if panel["state"] != "data":
                empty.append(f"{where}: {panel['state']}: {panel['note']}")
            drawn += 1
    assert not empty, "\n".join(empty)
    assert not watched.console_errors, watched.console_errors
    assert not watched.failed_requests, watched.failed_requests
    assert drawn > 0


def _rendered_again(page: Any, before: str) -> None:
    """Until the dashboard has drawn again (its ``data-rendered`` count moved on). A selector, not
    ``wait_for_function``: that evaluates a string in the page, which the console's script policy forbids."""
    page.wait_for_selector(f"body[data-rendered]:not([data-rendered='{before}'])", timeout=30_000)


def test_time_range_and_service_variable_change_the_queries(stack: Stack, watched: Watched) -> None:
    dashboards = load_dashboards(load_config(stack.config))
    fleet = next(d for d in dashboards.values() if d.slug == "fleet" and d.tenant == "acme")
    page = watched.page
    before = _render(page, f"{stack.console}/d/{fleet.uid}?from=now-1h&to=now")
    request_rate = next(p for p in before if p["title"] == "Request rate")
    assert request_rate["state"] == "data", request_rate

    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.post_data or "") if "/api/prom/" in r.url else None)
    page.select_option("select[name=range]", "5m")
    _rendered_again(page, "1")
    page.wait_for_selector(".panel[data-state=data]")
    assert "from=now-5m" in page.url
    starts = [float(p.split("start=")[1].split("&")[0]) for p in seen if "start=" in p]
    ends = [float(p.split("end=")[1].split("&")[0]) for p in seen if "end=" in p]
    assert starts and all(295 <= e - s <= 305 for s, e in zip(starts, ends, strict=True)), (starts, ends)

    seen.clear()
    rendered = page.evaluate("document.body.dataset.rendered")
    page.select_option("select[name=var-service]", "demo-server")
    _rendered_again(page, rendered)
    assert "var-service=demo-server" in page.url
    assert any("demo-server" in httpx.QueryParams(p).get("query", "") for p in seen), seen
    after = _render(page, page.url)
    assert next(p for p in after if p["title"] == "Request rate")["state"] == "data"

    # An instance (host:port, dots and all) as Grafana quotes a regex value: every panel still queries.
    instance = page.eval_on_selector(
        "select[name=var-instance]", "s => [...s.options].map(o => o.value).find(v => v.includes('.'))"
    )
    assert instance, "no instance with a dot to choose"
    rendered = page.evaluate("document.body.dataset.rendered")
    page.select_option("select[name=var-instance]", instance)
    _rendered_again(page, rendered)
    with_instance = _render(page, page.url)
    assert next(p for p in with_instance if p["title"] == "Request rate")["state"] == "data", with_instance
    assert not [p for p in with_instance if p["state"] == "error"], with_instance
    assert not [f for f in watched.failed_requests if "/api/prom/" in f], watched.failed_requests

    # Dragging across a graph zooms into that span: an absolute range (epoch milliseconds) in the URL.
    box = page.locator('.panel[data-title="Request rate"] .u-over').bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    page.wait_for_url(re.compile(r"from=\d{13}&to=\d{13}"))
    zoomed = httpx.URL(page.url).params
    assert 0 < int(zoomed["to"]) - int(zoomed["from"]) < 300_000 * 0.5

    # A shared link asking to refresh every millisecond gets the floor (5 s), and says so.
    _render(page, f"{stack.console}/d/{fleet.uid}?refresh=1ms")
    shown = page.eval_on_selector("select[name=refresh]", "s => s.options[s.selectedIndex].textContent")
    assert shown == "every 1ms (at least 5s)", shown
    assert not watched.console_errors, watched.console_errors


def test_slo_budget_matches_promql_of_the_same_window(stack: Stack, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{stack.console}/slo")
    section = page.locator('section.slo[data-tenant="acme"][data-service="demo-server"]')
    section.wait_for()
    at = float(page.locator("[data-time]").get_attribute("data-time"))
    shown = section.locator('[data-sli="availability"] .budget').get_attribute("data-value")
    expected = stack.query(f'{rec.AVAILABILITY_BUDGET_REMAINING}{{tenant="acme", service="demo-server"}}', at)
    assert shown and expected
    assert float(shown) == pytest.approx(float(expected[0]["value"][1]), rel=1e-6)
    assert section.locator("tr.burn").count() > 0, "burn-rate alerts from the loaded rules"
    assert not watched.console_errors, watched.console_errors


def test_probes_page_shows_the_demo_servers_last_probe(stack: Stack, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{stack.console}/probes")
    probe = page.locator('section.probe[data-target="demo-server"]').first
    probe.wait_for()
    assert probe.locator(".result").inner_text() == "success"
    assert probe.locator(".protocol").inner_text() != "—"
    assert int(probe.locator(".tools").inner_text()) > 0
    assert "no certificate" in probe.locator(".cert").inner_text()


def test_bench_page_plots_the_history_with_verdicts(stack: Stack, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{stack.console}/bench")
    section = page.locator('section.bench[data-target="demo-server"]')
    section.wait_for()
    verdicts = section.locator("tr.run .verdict").all_inner_texts()
    assert len(verdicts) == BENCH_RUNS and verdicts[-1] == "first"
    assert verdicts[0].split(":")[0] in ("ok", "regression")
    assert section.locator(".panel .uplot").count() == 3, "throughput, latency and errors plots"
    assert not watched.console_errors, watched.console_errors


def test_runbook_links_of_alerts_are_served(stack: Stack) -> None:
    response = httpx.get(f"{stack.console}/runbooks/MCPServerDown.md", timeout=5)
    assert response.status_code == 200 and "MCPServerDown" in response.text
    assert httpx.get(f"{stack.console}/runbooks/..%2Fetc.md", timeout=5).status_code == 404


def test_silence_created_in_the_console_reaches_alertmanager_and_suppresses_notifications(
    stack: Stack, watched: Watched
) -> None:
    page = watched.page
    # The Watchdog fires all the time: silence it from its row on the alerts page.
    page.goto(f"{stack.console}/alerts")
    row = page.locator('tr.alert[data-alertname="Watchdog"]')

    def listed() -> bool:
        page.reload()
        return bool(row.count() > 0)

    wait_until(listed, 60, interval=1, what="Watchdog on the alerts page")
    assert row.locator("td.receivers").inner_text().strip(), "the receivers the alert went to"
    for link in page.locator("tr.alert a.runbook").all():
        assert "/runbooks/" in (link.get_attribute("href") or "")
    row.locator("a.silence").click()
    page.fill("input[name=comment]", "console test")
    page.fill("input[name=duration]", "1h")
    page.click("form.silence-form button[type=submit]")
    page.wait_for_selector(".notice")
    silence_id = page.url.split("created=")[1]
    silences = httpx.get(f"{stack.alertmanager}/api/v2/silences", timeout=5).json()
    mine = next(s for s in silences if s["id"] == silence_id)
    assert mine["status"]["state"] == "active" and mine["comment"] == "console test"
    assert {"name": "alertname", "value": "Watchdog", "isRegex": False, "isEqual": True} in mine["matchers"]

    def silenced() -> bool:
        alerts = httpx.get(f"{stack.alertmanager}/api/v2/alerts", params={"filter": 'alertname="Watchdog"'}).json()
        return bool(alerts) and all(
            a["status"]["state"] == "suppressed" and silence_id in a["status"]["silencedBy"] for a in alerts
        )

    wait_until(silenced, 30, what="Watchdog suppressed by the console's silence")
    page.goto(f"{stack.console}/silences")
    page.locator(f'tr.silence[data-id="{silence_id}"] button').click()
    page.wait_for_selector(".notice")
    silences = httpx.get(f"{stack.alertmanager}/api/v2/silences", timeout=5).json()
    assert next(s for s in silences if s["id"] == silence_id)["status"]["state"] == "expired"
    assert not watched.console_errors, watched.console_errors


def test_silence_form_names_the_bad_field(stack: Stack) -> None:
    form = {"matchers": "alertname", "duration": "2h", "author": "a", "comment": "c"}
    response = httpx.post(f"{stack.console}/silences", data=form, timeout=5)
    assert response.status_code == 400 and "matchers: cannot read" in response.text


def test_a_cross_site_form_is_refused(stack: Stack) -> None:
    form = {"matchers": 'alertname="X"', "duration": "2h", "author": "a", "comment": "c"}
    response = httpx.post(f"{stack.console}/silences", data=form, headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    before = httpx.get(f"{stack.alertmanager}/api/v2/silences", timeout=5).json()
    # DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 is "same origin" with itself.
    port = stack.ports["grafana"]
    rebound = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
    assert httpx.get(f"{stack.console}/alerts", headers=rebound, timeout=5).status_code == 403
    assert httpx.post(f"{stack.console}/silences", data=form, headers=rebound, timeout=5).status_code == 403
    assert httpx.get(f"{stack.alertmanager}/api/v2/silences", timeout=5).json() == before
    assert httpx.get(f"{stack.console}/alerts", headers={"Host": f"localhost:{port}"}, timeout=5).status_code == 200


def test_proxy_forwards_only_queries_to_the_configured_prometheus(stack: Stack) -> None:
    ok = httpx.get(f"{stack.console}/api/prom/query", params={"query": "1+1"}, timeout=5).json()
    assert ok["data"]["result"][1] == "2"
    refused = httpx.get(f"{stack.console}/api/prom/admin", timeout=5)
    assert refused.status_code == 404 and "not a proxied Prometheus call" in refused.text
    # Prometheus's own refusal of a query is the asker's: its status (400) and message come through.
    bad = httpx.get(f"{stack.console}/api/prom/query", params={"query": "up{"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["errorType"] == "bad_data", bad.text
    values = httpx.get(f"{stack.console}/api/labels/service", params={"match": ""}, timeout=5)
    assert values.status_code == 400 and "bad_data" in values.json()["error"], values.text


def test_console_says_so_when_prometheus_is_down(stack: Stack, watched: Watched, tmp_path: Path) -> None:
    port = free_port()
    dead = f"http://{LOOPBACK}:{free_port()}"
    argv = lookout_argv(
        "console",
        "--config",
        str(stack.config),
        "--listen",
        f"{LOOPBACK}:{port}",
        "--prometheus",
        dead,
        "--alertmanager",
        dead,
        "--data-dir",
        str(tmp_path),
    )
    proc = start(argv, tmp_path / "console.log")
    try:
        wait_until(lambda: _healthy(f"http://{LOOPBACK}:{port}/-/healthy"), 30, what="console")
        page = watched.page
        for path in ("/slo", "/alerts", "/probes"):
            page.goto(f"http://{LOOPBACK}:{port}{path}")
            assert "connection refused" in page.locator(".problem").inner_text(), path
        fleet = next(d for d in load_dashboards(load_config(stack.config)).values() if d.slug == "fleet")
        _render(page, f"http://{LOOPBACK}:{port}/d/{fleet.uid}")
        assert "could not be queried" in page.locator("#status").inner_text()
    finally:
        proc.stop(signal.SIGTERM, timeout=10)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_up_runs_without_the_console_when_its_port_is_taken(tmp_path: Path) -> None:
    ports = free_ports(*LISTEN, "grafana")
    write_config(tmp_path / "lookout.yaml", ports)
    with socket.socket() as taken:
        taken.bind((LOOPBACK, ports["grafana"]))
        taken.listen()
        with lookout_up(tmp_path, ports, demo=False) as proc:
            output = proc.output()
            assert "listen.grafana" in output and "runs without the console" in output
            assert not (tmp_path / "data" / "run" / "console.pid").exists()
