"""docs/metrics.md documents every metric family of the contract."""

from __future__ import annotations

from pathlib import Path

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
