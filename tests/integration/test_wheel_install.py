"""The wheel of this tree, installed into a fresh venv as the Dockerfile installs it, runs the commands the
compose and Kubernetes files start (slow: it resolves every dependency)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from lookout import metrics as m
from tests.support import LOOPBACK, free_port, running, start, start_ready, wait_until

ROOT = Path(__file__).resolve().parents[2]


def _requests(metrics_url: str) -> float:
    """MCP requests the demo server has counted (its operation histogram's count)."""
    text = httpx.get(metrics_url, timeout=2).text
    name = f"{m.OPERATION_DURATION.name}_count"
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((LOOPBACK, port)) == 0


pytestmark = pytest.mark.integration


def _run(argv: list[str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT)
    assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


@pytest.mark.timeout(1200)
def test_wheel_installs_into_a_fresh_venv_and_runs_the_container_commands(tmp_path: Path) -> None:
    # The build context the Dockerfile sees (.dockerignore: pyproject.toml, README.md, src/, docs/runbooks/), copied
    # as COPY does (links stay links: console/runbooks points at docs/runbooks) so that no build directory lands in
    # the checkout.
    context = tmp_path / "context"
    context.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, context / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "src", context / "src", symlinks=True, ignore=ignore)
    shutil.copytree(ROOT / "docs/runbooks", context / "docs/runbooks", ignore=ignore)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheels), str(context)])
    [wheel] = wheels.glob("mcp_lookout-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    # As the Dockerfile's runtime stage: the wheel file with the extra the image installs, dependencies from
    # the index.
    [extras] = re.findall(r"^ARG LOOKOUT_EXTRAS=(\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    _run([str(venv / "bin/pip"), "install", "--disable-pip-version-check", f"{wheel}[{extras}]"])
    lookout = str(venv / "bin/lookout")
    for command, expected in (
        ("exporter", "--listen"),
        ("demo-server", "--json-logs"),
        ("sink", "--listen"),
        ("demo", "traffic"),
    ):
        assert expected in _run([lookout, command, "--help"], 120).stdout
    # And they run with what the image installs: each answers, and the traffic reaches the demo server.
    demo, management, sink, exporter = (free_port() for _ in range(4))
    metrics = f"http://{LOOPBACK}:{management}/metrics"
    demo_argv = [lookout, "demo-server", f"--port={demo}", f"--management-port={management}", "--json-logs"]
    with running(start_ready(demo_argv, tmp_path / "demo.log", f"http://{LOOPBACK}:{management}/health", "demo")):
        traffic = [lookout, "demo", "traffic", f"--url=http://{LOOPBACK}:{demo}/mcp", "--rps=5"]
        with running(start(traffic, tmp_path / "traffic.log")) as proc:
            wait_until(lambda: proc.alive() and _requests(metrics) > 0, 60, what="demo traffic from the wheel")
    sink_argv = [lookout, "sink", f"--listen={LOOPBACK}:{sink}", f"--file={tmp_path / 'notifications.jsonl'}"]
    with running(start(sink_argv, tmp_path / "sink.log")) as proc:
        wait_until(lambda: proc.alive() and _listening(sink), 30, what=f"the sink's port ({proc.log})")
    exporter_argv = [
        lookout,
        "exporter",
        f"--config={ROOT / 'examples/lookout.yaml'}",
        f"--listen={LOOPBACK}:{exporter}",
    ]
    with running(
        start_ready(exporter_argv, tmp_path / "exporter.log", f"http://{LOOPBACK}:{exporter}/-/healthy", "exporter")
    ):
        pass
    # The installed package is the wheel, not this checkout.
    where = _run([str(venv / "bin/python"), "-c", "import lookout; print(lookout.__file__)"], 60).stdout
    assert str(venv) in where and str(ROOT / "src") not in where
    # The console serves the runbooks the alerts link to from the installed package.
    runbooks = Path(where.strip()).parent / "console/runbooks"
    assert sorted(p.name for p in runbooks.glob("*.md")) == sorted(
        p.name for p in (ROOT / "docs/runbooks").glob("*.md")
    )
