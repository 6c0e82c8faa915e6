"""The console without servers: the catalog adapter, the silence form, the burn-rate rules it reads, and the
app's answers when its upstreams are down (an address nothing listens on)."""

from __future__ import annotations

import contextlib
import html
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from starlette.testclient import TestClient

from lookout.config import Config, load_config
from lookout.config.model import HighAvailability
from lookout.console import ConsoleSettings, create_app
from lookout.console.app import BadSilence, parse_matchers, silence_body
from lookout.console.dashboards import load_dashboards
from lookout.console.slo import AVAILABILITY, LATENCY, generated_burn_rules
from lookout.stack import grafana
from lookout.stack.rules import recording as rec
from tests.support import LOOPBACK, free_port, http_server

EXAMPLE = Path(__file__).parents[2] / "examples" / "lookout.yaml"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(EXAMPLE)


def test_every_dashboard_and_panel_of_the_catalog_is_in_the_console(config: Config) -> None:
    models = grafana.dashboards(config)
    console = load_dashboards(config)
    assert [m["uid"] for m in models.values()] == list(console)
    for model in models.values():
        ours = console[model["uid"]]
        assert [p.get("title") for p in model["panels"]] == [p["title"] for p in ours.panels]
        for raw, panel in zip(model["panels"], ours.panels, strict=True):
            if raw["type"] == "row":
                continue
            assert [t["expr"] for t in raw["targets"]] == [t["expr"] for t in panel["targets"]]
            assert panel["unit"] == (raw["fieldConfig"]["defaults"].get("unit") or "none")
            assert panel["noValue"] == raw["fieldConfig"]["defaults"].get("noValue", "")
            if raw["datasource"]["type"] != "prometheus":
                assert "Loki" in panel["unsupported"]


def test_policy_lines_and_variables_come_from_the_config(config: Config) -> None:
    tenant = config.tenants[0].name
    fleet = next(d for d in load_dashboards(config).values() if d.slug == "fleet" and d.tenant == tenant)
    error_ratio = next(p for p in fleet.panels if p["title"] == "Error ratio (worst service)")
    assert [t["value"] for t in error_ratio["thresholds"]] == [None, config.alerting.slo.error_ratio_threshold]
    variables = {v.name: v for v in fleet.variables}
    assert variables["tenant"].fixed == tenant
    assert variables["service"].label_name == "service" and "$tenant" in variables["service"].match
    # From the scrapes, not every series: MCPTenantDown's ALERTS carry service="all", which is no service.
    assert variables["service"].match.startswith("up{"), variables["service"].match
    assert variables["instance"].label_name == "instance" and "$service" in variables["instance"].match
    # The stack's own targets have no service; with *All* (.*) they used to be offered as the tenant's instances.
    assert 'service!=""' in variables["instance"].match


def test_matchers_parse_as_alertmanager_reads_them() -> None:
    assert parse_matchers('alertname="MCPServerDown", service=~"demo-.*", tenant!=acme, env!~"dev|test"') == [
        {"name": "alertname", "value": "MCPServerDown", "isRegex": False, "isEqual": True},
        {"name": "service", "value": "demo-.*", "isRegex": True, "isEqual": True},
        {"name": "tenant", "value": "acme", "isRegex": False, "isEqual": False},
        {"name": "env", "value": "dev|test", "isRegex": True, "isEqual": False},
    ]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"matchers": "alertname", "duration": "2h", "author": "a", "comment": "c"}, "matchers"),
        ({"matchers": "", "duration": "2h", "author": "a", "comment": "c"}, "matchers"),
        ({"matchers": 'a="b"', "duration": "soon", "author": "a", "comment": "c"}, "duration"),
        # Read loosely, these were 5h, 2h and 1h: a silence of another length than the one typed.
        ({"matchers": 'a="b"', "duration": "1.5h", "author": "a", "comment": "c"}, "duration"),
        ({"matchers": 'a="b"', "duration": "2h30x", "author": "a", "comment": "c"}, "duration"),
        ({"matchers": 'a="b"', "duration": "1h 30m", "author": "a", "comment": "c"}, "duration"),
        ({"matchers": 'a="b"', "duration": "0s", "author": "a", "comment": "c"}, "duration"),
        ({"matchers": 'a="b"', "duration": "3000000d", "author": "a", "comment": "c"}, "duration"),  # past 9999
        ({"matchers": 'a="b"', "duration": "2h", "author": "", "comment": "c"}, "author"),
    ],
)
def test_a_bad_silence_names_its_field(form: dict[str, str], field: str) -> None:
    with pytest.raises(BadSilence, match=f"^{field}"):
        silence_body(form)


def test_silence_spans_its_duration() -> None:
    body = silence_body({"matchers": 'alertname="X"', "duration": "90m", "author": "me", "comment": "deploy"})
    from datetime import datetime

    span = datetime.fromisoformat(body["endsAt"]) - datetime.fromisoformat(body["startsAt"])
    assert span.total_seconds() == 5400 and body["createdBy"] == "me"


def test_a_signed_in_user_is_the_author_of_their_silence() -> None:
    form = {"matchers": 'alertname="X"', "duration": "1h", "author": "someone-else", "comment": "deploy"}
    assert silence_body(form, "alice")["createdBy"] == "alice"
    assert silence_body(form)["createdBy"] == "someone-else"  # no login (no security:): the form's author


def test_the_silence_link_of_an_alert_reads_back_as_its_labels() -> None:
    from urllib.parse import parse_qs, urlsplit

    from lookout.console import pages

    service = 'say "hi" \\ there\nnow'  # quotes, a backslash and a newline in a label value
    alert = {"labels": {"alertname": "X", "service": service}, "annotations": {}, "status": {"state": "active"}}
    href = pages.alerts([alert], None, "").split('class=silence href="', 1)[1].split('"', 1)[0]
    prefill = parse_qs(urlsplit(html.unescape(href)).query)["matcher"]
    read = {m["name"]: m["value"] for m in parse_matchers(", ".join(prefill))}
    assert read == {"alertname": "X", "service": service}
    assert parse_matchers('path=~"a\\\\.b"')[0]["value"] == "a\\.b"  # Alertmanager's escapes: the regex a\.b


def test_the_silence_link_of_one_replicas_or_one_tools_alert_matches_only_that_alert() -> None:
    """Two replicas of acme/api down and two tools failing: each row's silence names its own instance or tool, so
    it leaves the other replica's and the other tool's alert (and every other tenant's) notifying."""
    from urllib.parse import parse_qs, urlsplit

    from lookout.console import pages

    def alert(name: str, **extra: str) -> dict[str, Any]:
        labels = {"alertname": name, "tenant": "acme", "service": "api", "priority": "P1", **extra}
        return {"labels": labels, "annotations": {}, "status": {"state": "active"}}

    alerts = [
        alert("MCPServerInstanceDown", instance="10.0.0.1:8080"),
        alert("MCPServerInstanceDown", instance="10.0.0.2:8080"),
        alert("MCPToolErrorRatioHigh", gen_ai_tool_name="echo"),
        alert("MCPToolErrorRatioHigh", gen_ai_tool_name="search"),
    ]
    page = pages.alerts(alerts, None, "")
    hrefs = [part.split('"', 1)[0] for part in page.split('class=silence href="')[1:]]
    silences = [
        {
            (mt["name"], mt["value"])
            for mt in parse_matchers(", ".join(parse_qs(urlsplit(html.unescape(h)).query)["matcher"]))
        }
        for h in hrefs
    ]
    for a in alerts:
        matching = [s for s in silences if s <= set(a["labels"].items())]
        assert len(matching) == 1, a["labels"]


def test_burn_rate_alerts_are_read_from_the_generated_rules(config: Config) -> None:
    rules = generated_burn_rules(config)
    names = {r.name: r for r in rules}
    assert {"MCPErrorBudgetBurnFast", "MCPLatencyBudgetBurnFast"} <= set(names)
    fast = names["MCPErrorBudgetBurnFast"]
    assert fast.sli == AVAILABILITY and fast.windows == ("5m", "1h")
    budget = 1 - config.alerting.slo.availability / 100
    assert fast.threshold / budget == pytest.approx(14.4)
    assert names["MCPLatencyBudgetBurnFast"].sli == LATENCY
    assert all(rec.AVAILABILITY_BUDGET_REMAINING not in r.name for r in rules)


@pytest.fixture
def offline(config: Config, tmp_path: Path) -> TestClient:
    dead = f"http://{LOOPBACK}:{free_port()}"
    return TestClient(create_app(ConsoleSettings(config, dead, dead, tmp_path)))


@pytest.mark.parametrize("path", ["/slo", "/alerts", "/probes", "/silences"])
def test_pages_say_which_upstream_is_down(offline: TestClient, path: str) -> None:
    response = offline.get(path)
    assert response.status_code == 200
    assert 'class="problem"' in response.text and "connection refused" in response.text


def test_bench_page_says_how_to_record_a_history(offline: TestClient) -> None:
    assert "run `lookout bench run`" in offline.get("/bench").text


def test_every_page_links_to_the_reports_and_the_reports_page_serves_what_lookout_report_wrote(
    config: Config, tmp_path: Path
) -> None:
    dead = f"http://{LOOPBACK}:{free_port()}"
    reports = tmp_path / "reports"
    console = TestClient(create_app(ConsoleSettings(config, dead, dead, tmp_path, reports_dir=reports)))
    for path in ("/", "/slo", "/bench", "/reports"):
        assert '<a href="/reports"' in console.get(path).text
    empty = console.get("/reports").text
    assert f"lookout report sla --out {reports}" in empty and "lookout report cost" in empty
    reports.mkdir()
    (reports / "sla.html").write_text("<!DOCTYPE html><title>Service level report</title>")
    (reports / "secrets.txt").write_text("not a report")
    listed = console.get("/reports").text
    assert '<a href="/reports/sla.html">' in listed and "lookout report sla --out" not in listed
    assert "secrets" not in listed and "lookout report capacity --out" in listed
    served = console.get("/reports/sla.html")
    assert served.status_code == 200 and "Service level report" in served.text
    assert served.headers["content-type"].startswith("text/html")
    assert served.headers["content-security-policy"].startswith("default-src 'none';")  # nothing in it runs
    for name in ("secrets.txt", "cost.html", "..%2Flookout.yaml"):
        assert console.get(f"/reports/{name}").status_code == 404


def test_only_queries_are_proxied(offline: TestClient) -> None:
    assert offline.get("/api/prom/query", params={"query": "up"}).json()["errorType"] == "upstream"
    for call in ("admin", "targets", "series", "labels", "..%2Fadmin%2Ftsdb%2Fdelete_series"):
        assert offline.get(f"/api/prom/{call}").status_code == 404, call  # the asker's mistake, not a 502


def test_label_values_take_label_names_only(offline: TestClient) -> None:
    assert offline.get("/api/labels/..%2F..%2Fadmin").status_code in (400, 404)
    assert offline.get("/api/labels/service", params={"match": "up"}).status_code == 502  # Prometheus is down
    bad = offline.get("/api/labels/service", params={"match": "up", "start": "abc"})
    assert bad.status_code == 400 and "start: 'abc' is not a Unix time" in bad.json()["error"]


def test_a_form_past_its_bound_is_refused_whole_not_cut(offline: TestClient) -> None:
    query = "up" + " " * 17_000  # cut at 16 KiB, `time=` at the end was read as another time (1970)
    response = offline.post("/api/prom/query", data={"query": query, "time": "1796094103.945"})
    assert response.status_code == 413 and "more than 16384" in response.json()["error"]
    form = {"matchers": 'alertname="X"', "duration": "2h", "author": "a", "comment": "c" * 17_000}
    silence = offline.post("/silences", data=form)
    assert silence.status_code == 413 and "shorten the query or comment" in silence.text

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b"query=up&x="
        for _ in range(40):
            yield b"a" * 1024

    streamed = offline.post(
        "/api/prom/query", content=chunked(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert streamed.status_code == 413, streamed.text


def test_an_answer_past_its_bound_is_refused_not_buffered(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    from http.server import BaseHTTPRequestHandler

    from lookout.console import clients

    class Huge(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            for _ in range(64):  # 2 MiB
                self.wfile.write(b" " * 32 * 1024)

        def log_message(self, *args: object) -> None:
            pass

    monkeypatch.setattr(clients, "MAX_ANSWER_BYTES", 1 << 20)

    async def ask(url: str) -> str:
        client = clients.PrometheusClient(url)
        try:
            await client.api("query", [("query", "up")])
        except clients.QueryRefused as exc:  # the asker's query to narrow: a 422 from the proxy
            return str(exc)
        finally:
            await client.close()
        return "answered"

    with http_server(Huge) as url:
        assert "larger than 1 MiB: narrow the query" in asyncio.run(ask(url))


def test_an_upstream_failure_says_which_kind(tmp_path: Path) -> None:
    import asyncio
    import socket
    import threading

    import httpx

    from lookout.console.clients import PrometheusClient, UpstreamError, _why

    listener = socket.create_server((LOOPBACK, 0))  # plain TCP where the URL says HTTPS

    def answer_plain() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=answer_plain, daemon=True)
    thread.start()

    async def ask(url: str) -> str:
        client = PrometheusClient(url)
        try:
            await client.instant("up")
        except UpstreamError as exc:
            return str(exc)
        finally:
            await client.close()
        return "answered"

    try:
        assert "TLS failed" in asyncio.run(ask(f"https://{LOOPBACK}:{listener.getsockname()[1]}"))
    finally:
        listener.close()
        thread.join(5)
    assert "connection refused" in asyncio.run(ask(f"http://{LOOPBACK}:{free_port()}"))
    unresolved = httpx.ConnectError("[Errno -2] Name or service not known")
    unresolved.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert _why(unresolved) == "its host name does not resolve (Name or service not known)"


def test_runbooks_are_served_and_nothing_else(offline: TestClient) -> None:
    assert offline.get("/runbooks/MCPServerDown.md").status_code == 200
    assert offline.get("/runbooks/..%2F..%2Fcli.py").status_code == 404
    assert offline.get("/runbooks/pyproject.toml").status_code == 404


def test_cross_site_forms_are_refused(offline: TestClient) -> None:
    form = {"matchers": 'alertname="X"', "duration": "2h", "author": "a", "comment": "c"}
    assert offline.post("/silences", data=form, headers={"Origin": "http://elsewhere.example"}).status_code == 403
    assert offline.post("/silences", data=form, headers={"Origin": "null"}).status_code == 403  # sandboxed form
    assert offline.post("/silences/x/expire", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:3000", True),
        ("localhost:3000", True),
        ("localhost", True),
        ("console.localhost:3000", True),
        ("[::1]:3000", True),
        ("[::1]", True),
        ("127.1.2.3", True),
        ("evil.example:3000", False),  # a name pointed at 127.0.0.1 by its owner (DNS rebinding)
        ("10.0.0.5:3000", False),
        ("", False),
        ("[::1", False),
    ],
)
def test_a_loopback_console_answers_loopback_names_only(
    config: Config, tmp_path: Path, host: str, loopback: bool
) -> None:
    from lookout.console.access import LoopbackHostsOnly

    dead = f"http://{LOOPBACK}:{free_port()}"
    client = TestClient(LoopbackHostsOnly(create_app(ConsoleSettings(config, dead, dead, tmp_path))))
    response = client.get("/-/healthy", headers={"Host": host})
    assert response.status_code == (200 if loopback else 403), response.text
    if not loopback:
        assert "listens on loopback only" in response.text


def test_an_annotation_url_is_a_link_only_when_it_is_a_web_link() -> None:
    import re

    from lookout.console import pages

    def alert(runbook: str) -> dict[str, object]:
        annotations = {"runbook_url": runbook, "dashboard_url": "/d/lookout-fleet-server?var-service=x"}
        return {"labels": {"alertname": "X"}, "annotations": annotations, "status": {"state": "active"}}

    hostile = ["javascript:alert(document.domain)", "java\tscript:alert(1)", " javascript:x", "data:text/html,<b>"]
    html = pages.alerts([alert(url) for url in hostile], None, "")
    hrefs = re.findall(r'<a [^>]*href="([^"]*)"', html)
    assert hrefs and all(h.startswith(("/", "http://", "https://")) for h in hrefs), hrefs
    assert html.count("runbook: not a web link") == len(hostile) and html.count("class=dashboard href=") == 4
    linked = pages.alerts([alert("https://runbooks.example/X")], None, "")
    assert 'class=runbook href="https://runbooks.example/X"' in linked


def test_pages_run_only_the_consoles_own_scripts(offline: TestClient, config: Config) -> None:
    uid = next(iter(load_dashboards(config)))
    for path in ("/", f"/d/{uid}", "/alerts", "/silences"):
        policy = offline.get(path).headers["content-security-policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy, path
    assert "onsubmit" not in offline.get(f"/d/{uid}").text  # no inline handler left for the policy to block


def test_dashboard_urls_are_grafanas(offline: TestClient, config: Config) -> None:
    uid = next(iter(load_dashboards(config)))
    assert offline.get(f"/d/{uid}?var-service=x&from=now-1h&to=now").status_code == 200
    assert offline.get(f"/d/{uid}/some-slug").status_code == 200
    assert offline.get("/d/no-such-dashboard").status_code == 404


def test_probe_phases_are_listed_in_the_order_a_probe_goes_through_them() -> None:
    from lookout.console import pages
    from lookout.console.probes import ProbeTarget

    target = ProbeTarget("t", "s", "i", "discover", success=1.0)
    target.phases = {"close": 0.001, "list_tools": 0.004, "connect": 0.002, "handshake": 0.003, "zeta": 0.005}
    html = pages.probes([target], None, 0.0)
    listed = html.split("<dd class=phases>", 1)[1].split("</dd>", 1)[0]
    assert [part.split(" ")[0] for part in listed.split(" · ")] == [
        "connect",
        "handshake",
        "list_tools",
        "close",
        "zeta",
    ]


def test_the_tools_hash_reads_as_lookout_probe_prints_it() -> None:
    """An on-call engineer compares the console's hash with `lookout probe`'s: it used to be decimal here, hex
    there."""
    from lookout.console import pages
    from lookout.console.probes import ProbeTarget
    from lookout.probe.on_demand import format_human
    from lookout.probe.result import ProbeResult

    value = 0x5B5B8F4D39F1
    target = ProbeTarget("t", "s", "i", "discover", success=1.0, tools_hash=float(value))
    target.hash_changes = [(0.0, float(value))]
    html = pages.probes([target], None, 0.0)
    assert "<dd class=hash>0x5b5b8f4d39f1</dd>" in html and "hash changed to 0x5b5b8f4d39f1" in html
    assert "tools hash    0x5b5b8f4d39f1" in format_human(ProbeResult(target="t", module="discover", tools_hash=value))


def test_every_phase_the_prober_times_is_in_the_phase_order() -> None:
    import re

    from lookout import metrics as m

    source = Path(__file__).resolve().parents[2] / "src/lookout/probe"
    text = "\n".join(p.read_text() for p in source.rglob("*.py"))
    timed = set(re.findall(r'(?:\.phase|add_phase)\("([a-z_]+)"', text)) | set(
        re.findall(r'"connection\.\w+", "(\w+)"', text)
    )
    assert timed and timed <= set(m.PROBE_PHASES), timed - set(m.PROBE_PHASES)


class _AlertmanagerPeer(http.server.BaseHTTPRequestHandler):
    """One peer of an Alertmanager cluster, enough for the console: an alert, the silences created on it."""

    silences: ClassVar[list[dict[str, object]]] = []

    def _json(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.startswith("/api/v2/alerts"):
            labels = {"alertname": "MCPServerDown", "tenant": "demo", "service": "demo-server", "priority": "P0"}
            self._json([{"labels": labels, "annotations": {}, "status": {"state": "active"}, "receivers": []}])
        else:
            self._json(self.silences)

    def do_POST(self) -> None:
        self.silences.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self._json({"silenceID": "0b3c1d7e-0000-4000-8000-000000000001"})

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_the_console_asks_the_next_alertmanager_peer_when_the_first_is_down(config: Config, tmp_path: Path) -> None:
    """Under `ha` the console read one peer only: with it down, the alerts and silences pages said "connection
    refused" while the other peers still held every alert and took silences."""
    dead = f"http://{LOOPBACK}:{free_port()}"
    peer = http.server.ThreadingHTTPServer((LOOPBACK, 0), _AlertmanagerPeer)
    thread = threading.Thread(target=peer.serve_forever, daemon=True)
    thread.start()
    try:
        alive = f"http://{LOOPBACK}:{peer.server_address[1]}"
        console = TestClient(create_app(ConsoleSettings(config, dead, dead, tmp_path, alertmanager_peers=(alive,))))
        alerts = console.get("/alerts").text
        assert "MCPServerDown" in alerts and 'class="problem"' not in alerts
        form = {"matchers": 'alertname="MCPServerDown"', "duration": "2h", "author": "a", "comment": "c"}
        created = console.post("/silences", data=form, follow_redirects=False)
        assert created.status_code == 303, created.text
        assert [s["comment"] for s in _AlertmanagerPeer.silences] == ["c"]
        everyone_down = TestClient(
            create_app(ConsoleSettings(config, dead, dead, tmp_path, alertmanager_peers=(dead,)))
        )
        assert everyone_down.get("/alerts").text.count("connection refused") == 2  # each peer, and why
    finally:
        peer.shutdown()
        peer.server_close()
        thread.join(5)


def test_a_long_term_store_that_is_down_is_named_as_the_store(config: Config, tmp_path: Path) -> None:
    """Under `ha` the console queries VictoriaMetrics; its outage read "Prometheus at ...: connection refused",
    sending the on-call engineer to the Prometheus replicas, which are fine."""
    store = f"{LOOPBACK}:{free_port()}"
    ha_config = config.model_copy(update={"ha": HighAvailability(victoriametrics=store)})
    dead = f"http://{LOOPBACK}:{free_port()}"
    console = TestClient(create_app(ConsoleSettings(ha_config, f"http://{store}", dead, tmp_path)))
    for path in ("/slo", "/probes"):
        page = html.unescape(console.get(path).text)
        assert f"VictoriaMetrics (the long-term store) at http://{store}: connection refused" in page, page
    answer = console.get("/api/prom/query", params={"query": "up"}).json()
    assert answer["error"].startswith("VictoriaMetrics (the long-term store) at"), answer
