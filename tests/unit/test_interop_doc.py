"""docs/interop.md lists which panels and alerts work on the OpenTelemetry convention's series alone, generated from
the definitions (scripts/interop_doc.py), so the list cannot fall behind a new panel or alert."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from lookout import metrics as m

DOC = Path(__file__).resolve().parents[2] / "docs" / "interop.md"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("interop_doc", DOC.parents[1] / "scripts" / "interop_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_tables_are_generated_from_the_definitions() -> None:
    generator = _generator()
    text = DOC.read_text()
    assert generator.with_section(text) == text, "docs/interop.md is stale: run python scripts/interop_doc.py"


def test_the_tables_sort_panels_and_alerts_by_what_they_need() -> None:
    section = _generator().render()
    server = next(line for line in section.splitlines() if line.startswith("| MCP server detail |"))
    _, works, needs = server.split(" | ")
    assert "Requests by method" in works and "Requests in flight" not in works
    assert f"Requests in flight (`{m.REQUESTS_IN_FLIGHT.name}`, `{m.REQUESTS_IN_FLIGHT_LIMIT.name}`)" in needs
    assert f"| MCPSessionLeak | `{m.SESSIONS_ACTIVE.name}` | Lookout instrumentation |" in section
    works_alerts = section.split("Every other alert works on convention metrics: ")[1]
    assert "MCPErrorRatioHigh" in works_alerts and "MCPSessionLeak" not in works_alerts
