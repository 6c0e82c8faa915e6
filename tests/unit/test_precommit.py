"""The pre-commit hooks run exactly what `make lint` and `make typecheck` run, with the venv's tools."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def make_recipe(target: str) -> list[str]:
    """The commands of ``target`` in the Makefile, with $(BIN) spelt as the default venv."""
    text = (ROOT / "Makefile").read_text()
    [body] = re.findall(rf"^{target}:[^\n]*\n((?:\t[^\n]*\n)+)", text, re.MULTILINE)
    return [line.strip().replace("$(BIN)/", ".venv/bin/") for line in body.splitlines()]


def test_hooks_are_the_lint_and_typecheck_recipes() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert all(repo["repo"] == "local" for repo in config["repos"])
    assert [hook["entry"] for hook in hooks] == make_recipe("lint") + make_recipe("typecheck")
    for hook in hooks:  # whole-tree runs, as in make: not only the staged files
        assert hook["language"] == "system" and hook["pass_filenames"] is False and hook["always_run"] is True
