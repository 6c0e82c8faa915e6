"""Regenerate the golden files after an intended change to a generator: ``make golden``
(``python -m tests.golden.regenerate``). Review the diff before committing it.

The golden files are a table: each :data:`CASES` entry is one input config and the whole stack it generates
(every deploy target), under ``tests/golden/<case>/``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from lookout.config import load_config
from lookout.stack import DeployTarget, Files, render_stack, write_stack

ROOT: Final = Path(__file__).resolve().parents[2]
GOLDEN_ROOT: Final = Path(__file__).resolve().parent
INPUTS: Final = GOLDEN_ROOT / "inputs"


@dataclass(frozen=True)
class GoldenCase:
    name: str
    """Directory of the generated tree under tests/golden/."""
    config: Path
    """The input lookout.yaml."""

    @property
    def directory(self) -> Path:
        return GOLDEN_ROOT / self.name


CASES: Final = (
    GoldenCase("example", ROOT / "examples" / "lookout.yaml"),  # single tenant, the local stack
    GoldenCase("multi-tenant", ROOT / "tests" / "rules" / "routing.yaml"),  # tenant routes, production receivers
    GoldenCase("minimal", INPUTS / "minimal.yaml"),  # one tenant, one target, one receiver
    GoldenCase("remote-write", INPUTS / "remote-write.yaml"),  # remote_write, no business hours, own resources
    GoldenCase("ha", INPUTS / "ha.yaml"),  # 2 shards x 2 Prometheus replicas, 3 Alertmanager peers, VictoriaMetrics
    GoldenCase("secure", INPUTS / "secure.yaml"),  # security: (TLS, users, a token) with the HA topology
)


def golden_files(case: GoldenCase) -> Files:
    """The whole stack (every deploy target) for the case's config."""
    return render_stack(load_config(case.config), DeployTarget.ALL)


def main() -> None:
    for case in CASES:
        if case.directory.exists():
            shutil.rmtree(case.directory)  # files a generator no longer writes must go too
        written = write_stack(golden_files(case), case.directory)
        print(f"wrote {len(written)} golden files to {case.directory.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
