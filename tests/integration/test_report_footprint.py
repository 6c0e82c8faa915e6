"""The cost report's tool-definition footprint: real probe expositions scraped by a real Prometheus, ranked."""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lookout import metrics
from lookout.config.loader import parse_config
from lookout.probe.footprint import measure
from lookout.probe.result import ProbeResult
from lookout.probe.result_exposition import render
from lookout.report.cost import cost_report, footprint_ranking
from lookout.report.documents import cost_document
from lookout.report.period import Period
from lookout.report.prom import PromClient
from tests.support import Prometheus, http_server, start_prometheus, wait_until

pytestmark = pytest.mark.integration

CONFIG = """
version: 1
tenants:
  - name: acme
    targets:
      - {name: big, url: "http://127.0.0.1:8000/mcp"}
      - {name: small, url: "http://127.0.0.1:8001/mcp"}
alerting:
  receivers: [{name: sink, webhook: {url: "http://127.0.0.1:9095/notify"}}]
  routes: {P0: [sink]}
  tool_footprint: {max_tokens: 100}
"""


def _tool(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "description": description, "inputSchema": {"type": "object", "properties": {}}}


BIG = [_tool(f"tool_{i}", "Looks things up in the archive. " * (i + 1)) for i in range(5)]
SMALL = [_tool("ping", "Check that the service answers.")]


def _exposition(tools: list[dict[str, Any]], max_tool_series: int) -> bytes:
    result = ProbeResult(target="t", module="discover", success=True)
    result.tools, result.tools_hash = [str(t["name"]) for t in tools], 1
    result.footprint, result.max_tool_series = measure(tools), max_tool_series
    return render(result)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    pages = {"/big": _exposition(BIG, 3), "/small": _exposition(SMALL, 3)}

    class Probe(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages[self.path.split("?")[0]]
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    tmp = tmp_path_factory.mktemp("footprint")
    with http_server(Probe) as url:
        jobs = "".join(
            f"  - job_name: lookout-probe-discover-{service}\n"
            f"    metrics_path: /{service}\n"
            "    scrape_interval: 1s\n"
            f"    static_configs: [{{targets: ['{url.removeprefix('http://')}'], "
            f"labels: {{tenant: acme, service: {service}}}}}]\n"
            for service in ("big", "small")
        )
        (tmp / "prometheus.yml").write_text(f"global: {{scrape_interval: 1s}}\nscrape_configs:\n{jobs}")
        prom = start_prometheus(tmp / "prometheus.yml", tmp)
        try:
            wait_until(
                lambda: len(prom.query(metrics.PROBE_TOOLS_DEFINITION_BYTES.name)) == 2,
                30,
                what="both footprints scraped",
            )
            yield prom
        finally:
            prom.proc.stop()


def _exposed_tools() -> list[tuple[str, int]]:
    """Per-tool series as scraped, largest first: the big server's three largest and _OTHER, then ping."""
    big = measure(BIG)
    exposed = [(t.name, t.bytes) for t in big.tools[:3]]
    exposed.append((metrics.OTHER, sum(t.bytes for t in big.tools[3:])))
    exposed.append(("ping", measure(SMALL).bytes))
    return sorted(exposed, key=lambda item: -item[1])


def test_servers_and_tools_ranked_by_footprint(prometheus: Prometheus) -> None:
    client = PromClient(prometheus.url)
    try:
        servers, tools = footprint_ranking(client, datetime.now(UTC), 3600, top=4)
    finally:
        client.close()
    big, small = measure(BIG), measure(SMALL)
    assert [(s.service, s.bytes, s.tokens, s.tools) for s in servers] == [
        ("big", big.bytes, big.tokens, 5),
        ("small", small.bytes, small.tokens, 1),
    ]
    assert [(t.tool, t.bytes) for t in tools] == _exposed_tools()[:4]


def test_cost_report_has_the_footprint_section_and_advice(prometheus: Prometheus) -> None:
    config = parse_config(CONFIG)
    now = datetime.now(UTC)
    client = PromClient(prometheus.url)
    try:
        report = cost_report(client, config, Period(now - timedelta(hours=1), now, "last hour"))
    finally:
        client.close()
    document = cost_document(report)
    section = next(s for s in document.sections if s.title == "Tool-definition footprint")
    servers = section.tables[0].rows
    assert [row[1] for row in servers] == ["big", "small"]
    assert servers[0][3:] == (str(measure(BIG).bytes), str(measure(BIG).tokens))
    assert [(row[2], int(row[3])) for row in section.tables[1].rows] == _exposed_tools()
    assert measure(BIG).tokens > 100 > measure(SMALL).tokens  # so exactly one server is over the budget
    shorten = [a for a in report.recommendations() if "tool definitions" in a]
    assert len(shorten) == 1 and "acme/big" in shorten[0]
    assert document.data["tool_footprint"]["budget_tokens"] == 100


def test_no_footprint_without_discover_probes(tmp_path: Path) -> None:
    (tmp_path / "prometheus.yml").write_text("global: {scrape_interval: 15s}\n")
    prom = start_prometheus(tmp_path / "prometheus.yml", tmp_path)
    client = PromClient(prom.url)
    try:
        assert footprint_ranking(client, datetime.now(UTC), 3600) == ([], [])
    finally:
        client.close()
        prom.proc.stop()
