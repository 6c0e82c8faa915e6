"""The compose file, validated by Debian's docker-compose (v1): ``docker-compose config -q`` needs no engine."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Final

from lookout.check.findings import CheckSkipped, Finding

CHECK: Final = "compose"
COMPOSE_FILE: Final = "docker-compose.monitoring.yml"
BINARY: Final = "docker-compose"
INSTALL_HINT: Final = "apt-get install -y --no-install-recommends docker-compose"

__all__ = ["CheckSkipped", "check_compose"]


def check_compose(stack_dir: Path) -> list[Finding]:
    """``docker-compose -f docker-compose.monitoring.yml config -q`` in the stack dir.

    Raises :class:`CheckSkipped` when docker-compose is not installed.
    """
    compose = stack_dir / COMPOSE_FILE
    if not compose.is_file():
        return [Finding(CHECK, COMPOSE_FILE, "missing: generate the stack with --target compose (or all)")]
    binary = shutil.which(BINARY)
    if binary is None:
        raise CheckSkipped(f"{BINARY} is not installed ({INSTALL_HINT})")
    result = subprocess.run(
        [binary, "-f", str(compose), "config", "-q"],
        cwd=stack_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode == 0:
        return []
    message = " ".join((result.stderr or result.stdout).split()) or f"exit code {result.returncode}"
    return [Finding(CHECK, COMPOSE_FILE, message)]
