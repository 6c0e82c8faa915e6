"""The validators are plain imports: a package of the ``check`` extra that is missing stops ``lookout check``
with the extra to install, instead of leaving that validator out of the report."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from lookout.extras import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[2]

WITHOUT_KUBERNETES_VALIDATE = textwrap.dedent(
    """
    import importlib.abc, sys

    class Absent(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "kubernetes_validate":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Absent())

    from lookout.extras import missing_extra

    try:
        import lookout.check.runner
    except ImportError as exc:
        print(missing_extra(exc, ["check"]))
    else:
        print("imported")
    """
)


def test_a_missing_validator_package_names_the_check_extra() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_KUBERNETES_VALIDATE], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"kubernetes_validate is not installed: pip install '{DISTRIBUTION}[check]'"]
