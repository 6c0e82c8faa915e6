"""Regenerate the golden files after an intended change to a generator: ``make golden``
(``python -m tests.golden.regenerate``). Review the diff before committing it."""

from __future__ import annotations

import shutil
from pathlib import Path

from lookout.config import load_config
from lookout.stack import DeployTarget, Files, render_stack, write_stack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "lookout.yaml"
GOLDEN_DIR = Path(__file__).resolve().parent / "example"


def golden_files() -> Files:
    """The whole stack (every deploy target) for the example config."""
    return render_stack(load_config(EXAMPLE), DeployTarget.ALL)


def main() -> None:
    if GOLDEN_DIR.exists():
        shutil.rmtree(GOLDEN_DIR)  # files a generator no longer writes must go too
    written = write_stack(golden_files(), GOLDEN_DIR)
    print(f"wrote {len(written)} golden files to {GOLDEN_DIR.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
