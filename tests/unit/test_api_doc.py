"""docs/api.md is the Python API as the docstrings describe it, and every public name has a docstring."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from lookout import health, instrument

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("api_doc", DOC.parents[1] / "scripts" / "api_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_doc_is_generated_from_the_docstrings() -> None:
    assert _generator().render() == DOC.read_text(), "docs/api.md is stale: run python scripts/api_doc.py"


def test_every_public_name_has_a_docstring() -> None:
    assert _generator().undocumented() == []


def test_the_reference_lists_every_public_name() -> None:
    text = DOC.read_text()
    for package in (instrument, health):
        for name in package.__all__:
            assert f"`{name}" in text, name


def test_a_changed_docstring_makes_the_reference_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    generator = _generator()
    assert generator.main(["--check"]) == 0
    monkeypatch.setattr(instrument.Limits, "__doc__", "Limits, described differently.")
    assert "Limits, described differently." in generator.render()
    assert generator.main(["--check"]) == 1


def test_a_public_method_without_a_docstring_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    generator = _generator()
    monkeypatch.setattr(health.Health.ready, "__doc__", None)
    assert generator.undocumented() == ["lookout.health.Health.ready"]
    assert generator.main(["--check"]) == 1
