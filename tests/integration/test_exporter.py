"""The exporter as a process: /probe for configured names and allowed URLs only, debug logs, own metrics,
scrape-timeout handling, and config reload by /-/reload and SIGHUP."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lookout import metrics
from tests.integration.probe_support import server_argv
from tests.support import LOOPBACK, DemoServer, Proc, free_port, http_ok, lookout_argv, start, wait_until

pytestmark = pytest.mark.integration

CONFIG = """\
version: 1
tenants:
  - name: acme
    targets:
      - name: demo
        url: {demo_url}
      - name: demo-stdio
        url: {stdio}
        transport: stdio
alerting:
  receivers:
    - name: sink
      webhook: {{url: "http://127.0.0.1:9/notify"}}
  routes:
    P0: [sink]
probe:
  allowed_urls: ["{allowed}"]
  modules:
    discover: {{}}
    echo:
      kind: tool_call
      tool_call: {{name: echo, arguments: {{text: hi}}, expect_text_regex: "^hi$"}}
{extra}"""


@dataclass
class Exporter:
    proc: Proc
    port: int
    config: Path

    def get(self, path: str, **params: str) -> httpx.Response:
        return httpx.get(f"http://{LOOPBACK}:{self.port}{path}", params=params, timeout=30)


def write_config(path: Path, demo: DemoServer, extra: str = "") -> None:
    allowed = demo.url.replace(".", "\\\\.")
    stdio = " ".join(server_argv("stdio_demo.py"))
    path.write_text(CONFIG.format(demo_url=demo.url, stdio=stdio, allowed=allowed, extra=extra))


@pytest.fixture(scope="module")
def exporter(shared_demo_server: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exporter]:
    tmp = tmp_path_factory.mktemp("exporter")
    config = tmp / "lookout.yaml"
    write_config(config, shared_demo_server)
    port = free_port()
    proc = start(lookout_argv("exporter", "--config", str(config), "--listen", f"{LOOPBACK}:{port}"), tmp / "log")
    try:
        wait_until(lambda: proc.alive() and http_ok(f"http://{LOOPBACK}:{port}/-/healthy"), 30, what="exporter")
        yield Exporter(proc, port, config)
    finally:
        proc.stop()


def test_probe_by_target_name(exporter: Exporter) -> None:
    response = exporter.get("/probe", target="demo", module="discover")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert f"{metrics.PROBE_SUCCESS.name} 1.0" in response.text
    assert f"{metrics.PROBE_TOOLS.name} 5.0" in response.text
    assert f'{metrics.PROBE_PHASE_DURATION.name}{{phase="handshake"}}' in response.text


def test_probe_stdio_target_and_tool_call_module(exporter: Exporter) -> None:
    stdio = exporter.get("/probe", target="demo-stdio")
    assert f"{metrics.PROBE_SUCCESS.name} 1.0" in stdio.text
    call = exporter.get("/probe", target="demo", module="echo")
    assert f"{metrics.PROBE_SUCCESS.name} 1.0" in call.text
    assert f'{metrics.PROBE_PHASE_DURATION.name}{{phase="call"}}' in call.text


def test_debug_returns_the_log(exporter: Exporter) -> None:
    response = exporter.get("/probe", target="demo", debug="true")
    assert "Logs for the probe:" in response.text and "-> tools/list" in response.text
    assert f"{metrics.PROBE_SUCCESS.name} 1.0" in response.text


def test_allowed_url_is_probed(exporter: Exporter, shared_demo_server: DemoServer) -> None:
    response = exporter.get("/probe", target=shared_demo_server.url)
    assert response.status_code == 200 and f"{metrics.PROBE_SUCCESS.name} 1.0" in response.text


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:1/mcp",
        "file:///etc/passwd",
        "no-such-target",
        "",
    ],
)
def test_anything_else_is_refused_without_a_request(exporter: Exporter, target: str) -> None:
    response = exporter.get("/probe", target=target)
    assert response.status_code == 400
    assert "target" in response.text and metrics.PROBE_SUCCESS.name not in response.text


def test_allowlist_is_a_full_match(exporter: Exporter, shared_demo_server: DemoServer) -> None:
    for sneaky in (
        shared_demo_server.url + "/../../admin",
        shared_demo_server.url + "?x=http://evil",
        "x" + shared_demo_server.url,
    ):
        assert exporter.get("/probe", target=sneaky).status_code == 400


def test_unknown_module_is_refused(exporter: Exporter) -> None:
    response = exporter.get("/probe", target="demo", module="nope")
    assert response.status_code == 400 and "unknown module 'nope'" in response.text


def test_scrape_timeout_header_bounds_the_probe(exporter: Exporter) -> None:
    response = httpx.get(
        f"http://{LOOPBACK}:{exporter.port}/probe",
        params={"target": "demo", "debug": "true"},
        headers={"X-Prometheus-Scrape-Timeout-Seconds": "3"},
        timeout=30,
    )
    assert "timeout 2.50s" in response.text  # 3 s minus the default 0.5 s offset


def test_own_metrics_and_health(exporter: Exporter) -> None:
    exporter.get("/probe", target="demo")
    own = exporter.get("/metrics").text
    assert f'{metrics.EXPORTER_PROBES.name}_total{{module="discover",result="success"}}' in own
    assert exporter.get("/-/healthy").text == "Healthy\n"


def test_reload_by_http_and_sighup(exporter: Exporter, shared_demo_server: DemoServer) -> None:
    assert exporter.get("/probe", target="demo", module="strict").status_code == 400
    write_config(exporter.config, shared_demo_server, "    strict: {expected_tools: [launch_rockets]}\n")
    reloaded = httpx.post(f"http://{LOOPBACK}:{exporter.port}/-/reload", timeout=10)
    assert reloaded.status_code == 200
    strict = exporter.get("/probe", target="demo", module="strict")
    assert f"{metrics.PROBE_SUCCESS.name} 0.0" in strict.text

    exporter.config.write_text("tenants: [")  # broken: the old config stays
    failed = httpx.post(f"http://{LOOPBACK}:{exporter.port}/-/reload", timeout=10)
    assert failed.status_code == 500 and "invalid YAML" in failed.text
    assert exporter.get("/probe", target="demo", module="strict").status_code == 200

    write_config(exporter.config, shared_demo_server, "    relaxed: {}\n")
    exporter.proc.popen.send_signal(signal.SIGHUP)
    wait_until(lambda: exporter.get("/probe", target="demo", module="relaxed").status_code == 200, 15, what="SIGHUP")
    own = exporter.get("/metrics").text
    assert f'{metrics.EXPORTER_CONFIG_RELOADS.name}_total{{result="failure"}} 1.0' in own
    assert f'{metrics.EXPORTER_CONFIG_RELOADS.name}_total{{result="success"}} 2.0' in own


def test_bad_config_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "lookout.yaml"
    config.write_text("version: 1\ntenants: []\n")
    proc = start(lookout_argv("exporter", "--config", str(config)), tmp_path / "log")
    assert proc.popen.wait(60) == 2
    assert proc.output().count("\n") == 1 and "lookout.yaml" in proc.output()
