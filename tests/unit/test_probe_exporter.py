"""Exporter pieces that need no network: target resolution (the SSRF guard), timeouts, exposition, scrape jobs."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lookout import metrics
from lookout.config import parse_config
from lookout.probe.exporter import TargetRefused, probe_timeout, resolve_target
from lookout.probe.modules import ProbeTarget
from lookout.probe.result import ProbeResult
from lookout.probe.result_exposition import render
from lookout.protocol import Transport
from lookout.stack.prometheus import prober_scrape_configs, prometheus_config

CONFIG_TEXT = """\
version: 1
tenants:
  - name: acme
    labels: {team: core}
    targets:
      - {name: demo, url: "http://127.0.0.1:8000/mcp", labels: {env: prod}}
      - {name: local, url: "python server.py", transport: stdio}
      - {name: quiet, url: "http://127.0.0.1:8001/mcp", probe: false}
alerting:
  receivers: [{name: sink, webhook: {url: "http://127.0.0.1:9095/"}}]
  routes: {P0: [sink]}
listen: {exporter: "127.0.0.1:9999"}
probe:
  allowed_urls: ['https://mcp\\.example\\.com/[a-z]+']
  target_modules: {demo: [discover, echo]}
  modules:
    discover: {}
    echo: {kind: tool_call, tool_call: {name: echo}}
    unused: {}
"""
CONFIG = parse_config(CONFIG_TEXT)


def test_configured_names_resolve_to_their_transport() -> None:
    assert resolve_target(CONFIG, "demo") == ProbeTarget("demo", "http://127.0.0.1:8000/mcp", Transport.STREAMABLE_HTTP)
    assert resolve_target(CONFIG, "local") == ProbeTarget("local", "python server.py", Transport.STDIO)


def test_allowed_urls_resolve_and_everything_else_is_refused() -> None:
    assert resolve_target(CONFIG, "https://mcp.example.com/api").transport == "streamable-http"
    for target in (
        "https://mcp.example.com/api/../../x",
        "https://mcp.example.com.evil.org/api",
        "http://169.254.169.254/",
        "python server.py",
        "file:///etc/passwd",
    ):
        with pytest.raises(TargetRefused):
            resolve_target(CONFIG, target)


def test_probe_timeout_from_the_scrape_header() -> None:
    assert probe_timeout("10", 0.5) == 9.5
    assert probe_timeout("0.2", 0.5) == 0.1  # never zero or negative
    assert probe_timeout(None, 0.5) is None
    assert probe_timeout("soon", 0.5) is None


def test_exposition_has_only_contract_names_and_skips_unmeasured_series() -> None:
    result = ProbeResult(target="t", module="m", success=False, duration_seconds=1.5, error="boom")
    result.phases["handshake"] = 0.25
    result.jsonrpc_error_code = -32601
    families = {f.name: f for f in text_string_to_metric_families(render(result).decode())}
    assert set(families) == {
        metrics.PROBE_SUCCESS.name,
        metrics.PROBE_DURATION.name,
        metrics.PROBE_PHASE_DURATION.name,
        metrics.PROBE_JSONRPC_ERROR.name,
    }
    assert families[metrics.PROBE_SUCCESS.name].samples[0].value == 0
    assert families[metrics.PROBE_PHASE_DURATION.name].samples[0].labels == {"phase": "handshake"}
    assert all(f.name in {s.name for s in metrics.ALL if s.source is metrics.Source.PROBER} for f in families.values())


def test_scrape_configs_one_job_per_module_in_use_with_blackbox_relabelling() -> None:
    jobs = prober_scrape_configs(CONFIG)
    by_name = {job["job_name"]: job for job in jobs}
    assert list(by_name) == ["lookout-probe-discover", "lookout-probe-echo", "lookout-exporter"]
    discover = by_name["lookout-probe-discover"]
    assert discover["metrics_path"] == "/probe" and discover["params"] == {"module": ["discover"]}
    assert [sc["targets"] for sc in discover["static_configs"]] == [["demo"], ["local"]]  # quiet: probe: false
    assert discover["static_configs"][0]["labels"] == {
        "team": "core",
        "env": "prod",
        "tenant": "acme",
        "service": "demo",
    }
    assert discover["relabel_configs"] == [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"source_labels": ["__param_target"], "target_label": "instance"},
        {"target_label": "__address__", "replacement": "127.0.0.1:9999"},
    ]
    assert [sc["targets"] for sc in by_name["lookout-probe-echo"]["static_configs"]] == [["demo"]]
    assert by_name["lookout-exporter"]["static_configs"] == [{"targets": ["127.0.0.1:9999"]}]
    assert prober_scrape_configs(CONFIG) == jobs  # deterministic
    assert [j["job_name"] for j in prober_scrape_configs(CONFIG, include_exporter=False)][-1] == "lookout-probe-echo"


def test_prometheus_config_scrapes_the_prober() -> None:
    scraped = [job["job_name"] for job in prometheus_config(CONFIG)["scrape_configs"]]
    assert [name for name in scraped if name.startswith("lookout-")] == [
        "lookout-probe-discover",
        "lookout-probe-echo",
        "lookout-exporter",
    ]


def test_render_is_byte_identical_to_prometheus_client() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from lookout.probe.result_exposition import ProbeCollector

    result = ProbeResult(target="t", module="m", success=True, duration_seconds=0.123456789)
    result.phases.update({"handshake": 0.01, "connect": 1e-05, "list_tools": 2.5})
    result.protocol_version = "2026-07-28"
    result.server_name, result.server_version = 'we"ird\\na\nme', "1.0"
    result.tools, result.tools_hash = ["a", "b"], 2**48 - 1
    result.http_status, result.jsonrpc_error_code, result.ssl_earliest_expiry = 200, -32603, 1.9e9
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProbeCollector(result))
    assert render(result) == generate_latest(registry)


def test_allowlist_matches_the_parsed_url_not_the_raw_string() -> None:
    config = CONFIG.model_copy(
        update={"probe": CONFIG.probe.model_copy(update={"allowed_urls": [r"http://127\.0\.0\.1:18000.*"]})}
    )
    assert resolve_target(config, "http://127.0.0.1:18000/mcp").address == "http://127.0.0.1:18000/mcp"
    for target in (
        "http://127.0.0.1:18000@127.0.0.1:18299/mcp",  # user info: the client would connect to :18299
        "http://127.0.0.1:18000:pw@127.0.0.1:18299/mcp",
        "http://127.0.0.1:18000\\@127.0.0.1:18299/mcp",
        "http://127.0.0.1:18000/mcp#@127.0.0.1:18299",
        "http://127.0.0.1:18000/mcp\n",
        "http://127.0.0.1:18000.evil.example/mcp",
        "http://127.0.0.1:180000/mcp",
    ):
        with pytest.raises(TargetRefused):
            resolve_target(config, target)


@pytest.mark.parametrize(
    ("waited", "error"),
    [
        (0.95, "no probe slot free within the 1.00s timeout"),  # too late to probe: the exporter's failure
        (0.5, "(after waiting 0.50s of the 1.00s timeout for a probe slot)"),  # the target's failure, and the wait
    ],
)
def test_a_slot_found_late_is_said_so_instead_of_blaming_the_target(
    monkeypatch: pytest.MonkeyPatch, waited: float, error: str
) -> None:
    import anyio

    from lookout.probe import exporter

    clock = iter([100.0, 100.0 + waited, 101.0, 101.0, 101.0, 101.0])
    monkeypatch.setattr("lookout.probe.exporter.time.perf_counter", lambda: next(clock, 101.0))

    async def refused(target: ProbeTarget, module_name: str, module: object, seconds: float) -> ProbeResult:
        return ProbeResult(target=target.name, module=module_name, error=f"timed out after {seconds:.2f}s")

    monkeypatch.setattr(exporter, "run_probe", refused)
    state = exporter.ExporterState(None, CONFIG)
    state.limiter.total_tokens = 1
    target = ProbeTarget("demo", "http://127.0.0.1:8000/mcp")
    results: list[ProbeResult] = []

    async def queued_scrape() -> None:  # the only slot is taken: the scrape queues until it is released
        holder = object()
        await state.limiter.acquire_on_behalf_of(holder)
        async with anyio.create_task_group() as group:

            async def run() -> None:
                results.append(await exporter.scrape(state, target, "discover", CONFIG.probe.modules["discover"], 1.0))

            group.start_soon(run)
            await anyio.wait_all_tasks_blocked()
            state.limiter.release_on_behalf_of(holder)

    anyio.run(queued_scrape)
    assert results[0].error is not None and error in results[0].error, results[0].error
    assert state.limiter.borrowed_tokens == 0


def test_a_short_scrape_timeout_with_free_slots_probes_instead_of_blaming_the_slots(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A scrape timeout at or under probe.timeout_offset leaves the 0.1 s floor: with every slot free the target
    still gets that time (a local server answers a discover probe well within it)."""
    import anyio

    from lookout.probe import exporter

    given: list[float] = []

    async def answered(target: ProbeTarget, module_name: str, module: object, seconds: float) -> ProbeResult:
        given.append(seconds)
        return ProbeResult(target=target.name, module=module_name, success=True)

    monkeypatch.setattr(exporter, "run_probe", answered)
    state = exporter.ExporterState(None, CONFIG)
    target = ProbeTarget("demo", "http://127.0.0.1:8000/mcp")
    seconds = probe_timeout("0.5", CONFIG.probe.timeout_offset)
    result = anyio.run(exporter.scrape, state, target, "discover", CONFIG.probe.modules["discover"], seconds)
    assert result.error is None and result.success and len(given) == 1, result.error
    assert state.limiter.borrowed_tokens == 0


def test_a_reload_says_which_changes_wait_for_a_restart(tmp_path: Path) -> None:
    from lookout.probe.exporter import ExporterState

    path = tmp_path / "lookout.yaml"
    path.write_text(CONFIG_TEXT)
    state = ExporterState(path, parse_config(CONFIG_TEXT))
    path.write_text(CONFIG_TEXT)  # unchanged
    assert state.reload() is None and state.reloaded() == "config reloaded"
    path.write_text(CONFIG_TEXT.replace('listen: {exporter: "127.0.0.1:9999"}', 'listen: {exporter: "127.0.0.1:9998"}'))
    assert state.reload() is None
    assert state.reloaded() == "config reloaded; listen.exporter changed: restart the exporter to apply them"
    assert state.config.listen.exporter == "127.0.0.1:9998"  # what the next restart binds


def test_a_reload_over_http_is_logged_like_one_by_sighup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """POST /-/reload used to answer only its caller: a failed reload left nothing in the exporter's log."""
    from starlette.testclient import TestClient

    from lookout.probe.exporter import ExporterState, build_app

    path = tmp_path / "lookout.yaml"
    path.write_text("tenants: [")
    client = TestClient(build_app(ExporterState(path, CONFIG)))
    failed = client.post("/-/reload")
    assert failed.status_code == 500 and failed.text.startswith("reload failed, previous config kept: ")
    assert f"lookout exporter: {failed.text}" == capsys.readouterr().out
    path.write_text(CONFIG_TEXT)
    assert client.post("/-/reload").text == "config reloaded\n"
    assert capsys.readouterr().out == "lookout exporter: config reloaded\n"
