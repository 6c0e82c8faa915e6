"""Opt-in (LOOKOUT_CONTAINER_TESTS=1; debootstrap and the image build take minutes): Lookout's image, built by
podman from the repository's Dockerfile, runs the compose stack's demo server and exporter next to a Prometheus
container, mounted as docker-compose.monitoring.yml mounts them, and they scrape each other
(scripts/container-smoke.py, docs/deployment.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.environ.get("LOOKOUT_CONTAINER_TESTS") != "1", reason="opt-in: LOOKOUT_CONTAINER_TESTS=1 (podman, minutes)"
    ),
]


@pytest.mark.timeout(3600)
def test_the_image_and_prometheus_start_and_scrape_each_other(tmp_path: Path) -> None:
    workdir = os.environ.get("LOOKOUT_CONTAINER_WORKDIR", str(tmp_path / "containers"))
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/container-smoke.py"), "--workdir", workdir],
        capture_output=True,
        text=True,
        timeout=3500,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for expected in (
        'ok: up{job="lookout-exporter"} = 1',
        'ok: up{job="mcp", service="demo-server"} = 1',
        'ok: probe_success{service="demo-server"} = 1',
        "ok: lookout-smoke-demo-server logs JSON lines with {'service': 'demo-server', 'tenant': 'demo'}",
    ):
        assert expected in output
