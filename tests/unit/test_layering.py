"""Imports follow the layers of docs/architecture.md: read from the sources, so a new module cannot cross them.

Every ``import`` counts, also one inside a function: a lazy import still makes the lower layer need the
higher one at run time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "lookout"

_ENTRY_POINTS = {"lookout.cli", "lookout.__main__", "lookout.console"}
_ABOVE_STANDALONE = {"lookout.stack", "lookout.check", "lookout.runtime", "lookout.report", "lookout.bench"}

FORBIDDEN: dict[str, set[str]] = {
    # The bottom layer: the metric contract and the facts about MCP import nothing from Lookout.
    "lookout.metrics": {"lookout"},
    "lookout.protocol": {"lookout"},
    # The config model stands on the bottom layer only.
    "lookout.config": {
        *_ENTRY_POINTS,
        *_ABOVE_STANDALONE,
        "lookout.probe",
        "lookout.instrument",
        "lookout.health",
        "lookout.serving",
        "lookout.demo",
    },
    # Instrumentation and the prober install and run without the generators, validators and runtime.
    "lookout.instrument": {*_ENTRY_POINTS, *_ABOVE_STANDALONE, "lookout.probe", "lookout.demo"},
    "lookout.health": {*_ENTRY_POINTS, *_ABOVE_STANDALONE, "lookout.probe", "lookout.demo"},
    "lookout.probe": {*_ENTRY_POINTS, *_ABOVE_STANDALONE, "lookout.instrument", "lookout.health", "lookout.demo"},
    # Generators: pure functions of the config; nothing they import serves, probes or validates.
    "lookout.stack": {
        *_ENTRY_POINTS,
        *(_ABOVE_STANDALONE - {"lookout.stack"}),
        "lookout.probe",
        "lookout.instrument",
        "lookout.health",
        "lookout.serving",
        "lookout.demo",
    },
    # The rules never need the Grafana SDK: what both need lives in stack/naming.py.
    "lookout.stack.rules": {"lookout.stack.grafana"},
    "lookout.check": {*_ENTRY_POINTS, "lookout.runtime", "lookout.report"},
}


def _module_name(path: Path, root: Path = SRC) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(name: str) -> bool:
    return (SRC / Path(*name.split(".")) / "__init__.py").exists()


def _resolve(module: str, node: ast.ImportFrom, alias: ast.alias) -> str:
    """``from lookout import metrics`` imports the module lookout.metrics, not just the package."""
    base = node.module or ""
    if node.level:
        package = module if _is_package(module) else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    candidate = f"{base}.{alias.name}"
    if _is_package(candidate) or (SRC / Path(*candidate.split("."))).with_suffix(".py").exists():
        return candidate
    return base


def imports(path: Path, root: Path = SRC) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in the file (``root``: where its package tree starts)."""
    module = _module_name(path, root)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                yield node.lineno, _resolve(module, node, alias)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def violations(paths: list[Path], root: Path = SRC) -> list[str]:
    found = []
    for path in paths:
        module = _module_name(path, root)
        for layer, forbidden in FORBIDDEN.items():
            if not _within(module, layer):
                continue
            for line, imported in imports(path, root):
                if _within(imported, layer):
                    continue  # a layer may import its own parts
                for banned in forbidden:
                    if _within(imported, banned):
                        found.append(f"{path.relative_to(root)}:{line}: {module} ({layer}) imports {imported}")
    return found


def test_imports_follow_the_layers() -> None:
    assert violations(_sources()) == []


def _dynamic_imports(path: Path, root: Path = SRC) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in ("import_module", "__import__"):
            yield f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}"


def test_no_module_is_imported_by_name() -> None:
    """A name looked up at run time hides a dependency from these checks, from mypy and from the reader;
    a missing optional package must fail the import so that the command line can name the extra."""
    assert [hit for path in _sources() for hit in _dynamic_imports(path)] == []


def test_config_types_stand_alone() -> None:
    """model.py and probe.py both build on types.py; neither needs the other to define its fields."""
    config = PACKAGE / "config"
    assert not [m for _, m in imports(config / "types.py") if _within(m, "lookout.config")]
    assert not [m for _, m in imports(config / "probe.py") if _within(m, "lookout.config.model")]


@pytest.mark.parametrize(
    ("module", "source", "crossing"),
    [
        ("lookout/stack/prometheus.py", "from lookout.probe import exporter\n", "lookout.probe.exporter"),
        ("lookout/probe/modules.py", "from lookout.stack import naming\n", "lookout.stack.naming"),
        ("lookout/metrics.py", "from lookout import protocol\n", "lookout.protocol"),
        ("lookout/stack/rules/alerts.py", "def f():\n    from lookout.stack.grafana import render\n", "grafana.render"),
        ("lookout/config/types.py", "from lookout.stack import naming\n", "lookout.stack.naming"),
        ("lookout/instrument/sdk.py", "import lookout.runtime.children\n", "lookout.runtime.children"),
    ],
)
def test_a_crossing_import_is_reported(tmp_path: Path, module: str, source: str, crossing: str) -> None:
    fake = tmp_path / module
    fake.parent.mkdir(parents=True)
    fake.write_text(source)
    found = violations([fake], tmp_path)
    assert len(found) == 1 and found[0].endswith(crossing), found


def test_an_import_by_name_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "lookout" / "stack" / "prometheus.py"
    fake.parent.mkdir(parents=True)
    fake.write_text('import importlib\nmodule = importlib.import_module("lookout.probe.scrape")\n')
    found = list(_dynamic_imports(fake, tmp_path))
    assert found == ["lookout/stack/prometheus.py:2: importlib.import_module('lookout.probe.scrape')"]
