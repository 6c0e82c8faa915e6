"""A real Prometheus scrapes the management ``/metrics`` (direct renderer, OpenMetrics) and stores the
operation histogram's exemplars next to the process collectors' series."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from lookout import metrics as m
from lookout.health import management_app
from lookout.instrument.recorder import RequestRecorder
from tests.instrument_support import serve_http
from tests.support import LOOPBACK, free_port, start_prometheus

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def poll(client: httpx.AsyncClient, path: str, params: dict[str, str], within: float, what: str) -> object:
    """The ``data`` of a Prometheus API answer, once it is non-empty; fail at the deadline."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        body = (await client.get(path, params=params)).json()
        if body["status"] == "success" and body["data"]:
            return body["data"]
        await anyio.sleep(0.2)  # between polls of a 1 s scrape interval
    pytest.fail(f"timed out after {within}s waiting for {what}")


async def test_prometheus_scrapes_exemplars_from_the_direct_renderer(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    recorder = RequestRecorder(registry)
    for collector in (ProcessCollector, PlatformCollector, GCCollector):
        collector(registry=registry)
    recorder.observe_operation("tools/call", "_OTHER", "", "", "2025-11-25", "tcp", 0.004, TRACE_ID)

    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s}\n"
        f"scrape_configs: [{{job_name: mgmt, static_configs: [{{targets: ['{LOOPBACK}:{port}']}}]}}]\n"
    )
    prom = start_prometheus(config, tmp_path, extra_args=["--enable-feature=exemplar-storage"])
    try:
        async with serve_http(management_app(registry), port), httpx.AsyncClient(base_url=prom.url) as api:
            now = time.time()
            data = await poll(
                api,
                "/api/v1/query_exemplars",
                {"query": f"{m.OPERATION_DURATION.name}_bucket", "start": str(now - 600), "end": str(now + 600)},
                30,
                "the operation histogram's exemplar in Prometheus",
            )
            assert isinstance(data, list)
            exemplars = [e for series in data for e in series["exemplars"]]
            assert [(e["labels"], float(e["value"])) for e in exemplars] == [({"trace_id": TRACE_ID}, 0.004)]
            # The rest of the registry (prometheus_client's encoder) arrived in the same OpenMetrics scrape.
            await poll(api, "/api/v1/query", {"query": "python_info"}, 30, "python_info")
            up = await poll(api, "/api/v1/query", {"query": "up"}, 30, "up")
            assert isinstance(up, dict) and up["result"][0]["value"][1] == "1"
    finally:
        prom.proc.stop()
