"""docs/metrics.md documents every metric family of the contract."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from lookout import metrics as m

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def test_every_metric_is_documented() -> None:
    text = DOC.read_text()
    missing = [spec.name for spec in m.ALL if f"`{spec.series_names[0]}`" not in text]
    assert not missing, f"docs/metrics.md lacks {missing}"
    for label in (m.MCP_METHOD, m.TOOL_NAME, m.PROMPT_NAME, m.ERROR_TYPE, m.NETWORK_TRANSPORT, m.MCP_TRANSPORT):
        assert f"`{label}`" in text
    for code in m.CLIENT_ERROR_TYPES:
        assert f"`{code}`" in text


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("metrics_doc", DOC.parents[1] / "scripts" / "metrics_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_family_tables_are_generated_from_the_contract() -> None:
    generator = _generator()
    text = DOC.read_text()
    assert generator.with_section(text) == text, "docs/metrics.md is stale: run python scripts/metrics_doc.py"


def test_a_changed_family_makes_the_tables_stale() -> None:
    generator = _generator()
    text = DOC.read_text()
    spec = m.OPERATION_DURATION
    assert spec.why and spec.why in text
    stale = text.replace(spec.why, "something else", 1)
    assert generator.with_section(stale) == text  # the section is rewritten, the prose above kept
    assert generator.main(["--check"]) == 0
