"""The markers tell the truth, so `make unit` (-m "not integration and not tools") is fast and needs nothing
outside the venv: a module that starts servers is `integration`, one that runs promtool/amtool-like tools is
`tools` (or `integration`). Read from the sources: a new test module cannot forget its marker."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
STARTS_SERVERS = re.compile(
    r"\b(start_ready|start_prometheus|start_alertmanager|start_pushgateway|start_demo_server|Popen|Proc\()"
)
RUNS_TOOLS = re.compile(
    r"\b(require_binary|promtool|amtool|lookout\.check\.tools|check_config\b)|which\([\"'](docker-compose|hadolint)"
)


def marks(source: str) -> set[str]:
    """The names in the module's ``pytestmark = pytest.mark.X`` (or a list of them)."""
    found: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            for sub in ast.walk(node.value):
                if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Attribute) and sub.value.attr == "mark":
                    found.add(sub.attr)
    return found


def modules(folder: str) -> list[Path]:
    return sorted((TESTS / folder).glob("test_*.py"))


@pytest.mark.parametrize("path", modules("integration"), ids=lambda p: p.name)
def test_every_integration_module_is_marked(path: Path) -> None:
    assert "integration" in marks(path.read_text()), f"{path.name}: add `pytestmark = pytest.mark.integration`"


@pytest.mark.parametrize("path", modules("unit") + modules("scenarios"), ids=lambda p: p.name)
def test_a_module_starting_servers_or_tools_is_marked(path: Path) -> None:
    source = path.read_text()
    if path.name == Path(__file__).name:
        return
    found = marks(source)
    if STARTS_SERVERS.search(source):
        assert "integration" in found, f"{path.name} starts servers: add `pytestmark = pytest.mark.integration`"
    elif RUNS_TOOLS.search(source):
        assert found & {"tools", "integration"}, f"{path.name} runs a tool: add `pytestmark = pytest.mark.tools`"


def test_the_signs_are_recognised() -> None:
    assert marks("import pytest\npytestmark = [pytest.mark.tools, pytest.mark.timeout(5)]\n") == {"tools", "timeout"}
    assert STARTS_SERVERS.search("with start_prometheus(config, tmp_path) as prom:")
    assert RUNS_TOOLS.search('binary = require_binary("promtool")')
    assert not RUNS_TOOLS.search("def test_config_is_valid() -> None:")
