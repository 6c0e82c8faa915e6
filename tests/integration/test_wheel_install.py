"""The wheel of this tree, installed into a fresh venv as the Dockerfile installs it, runs the commands the
compose and Kubernetes files start (slow: it resolves every dependency)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def _run(argv: list[str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT)
    assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


@pytest.mark.timeout(1200)
def test_wheel_installs_into_a_fresh_venv_and_runs_the_container_commands(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheels), "."])
    [wheel] = wheels.glob("mcp_lookout-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    # As the Dockerfile's runtime stage: the wheel file, its dependencies from the index.
    _run([str(venv / "bin/pip"), "install", "--disable-pip-version-check", str(wheel)])
    lookout = str(venv / "bin/lookout")
    for command, expected in (
        ("exporter", "--listen"),
        ("demo-server", "--json-logs"),
        ("sink", "--listen"),
        ("demo", "traffic"),
    ):
        assert expected in _run([lookout, command, "--help"], 120).stdout
    # The installed package is the wheel, not this checkout.
    where = _run([str(venv / "bin/python"), "-c", "import lookout; print(lookout.__file__)"], 60).stdout
    assert str(venv) in where and str(ROOT / "src") not in where
