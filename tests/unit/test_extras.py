"""`pip install mcp-lookout` is the instrumentation only: it imports, instruments and serves /metrics with every
extra's package absent, and a command whose extra is missing says which one to install (one line, exit 2)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from lookout import metrics as m
from lookout.extras import COMMAND_EXTRAS, DISTRIBUTION, EXTRAS, extra_for, missing_extra

ROOT = Path(__file__).resolve().parents[2]
ALL_EXTRA_MODULES = sorted({module.split(".")[0] for modules in EXTRAS.values() for module in modules.values()})
# mcp itself requires jsonschema: installed with the core, listed in [check] because `lookout check` uses it.
CORE_ALSO_HAS = {"jsonschema"}


def absent(modules: list[str]) -> str:
    """Source that makes ``modules`` (top-level names) fail to import, as if not installed."""
    return textwrap.dedent(
        f"""
        import importlib.abc, sys

        ABSENT = {sorted(modules)!r}

        class Absent(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ABSENT:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, Absent())
        """
    )


def run_python(source: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=120, cwd=ROOT)


CORE_SERVER = """
import anyio
from mcp.client.client import Client
from mcp.server.mcpserver import MCPServer

from lookout.instrument import Metrics, instrument

server = MCPServer("core-only")

@server.tool()
def echo(text: str) -> str:
    return text

lookout = instrument(server, service="core-only", metrics=Metrics(process=True))

async def scrape() -> str:
    async with Client(server, mode="legacy") as client:
        await client.call_tool("echo", {"text": "hi"})
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": "/metrics", "raw_path": b"/metrics", "root_path": "", "query_string": b"", "headers": [],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080),
    }
    await lookout.management_app()(scope, receive, send)
    assert sent[0]["status"] == 200, sent[0]
    return b"".join(message.get("body", b"") for message in sent[1:]).decode()

print(anyio.run(scrape))
for module in ABSENT:
    assert module not in sys.modules, module
"""


def test_core_imports_instruments_and_serves_metrics_without_any_extra() -> None:
    blocked = [name for name in ALL_EXTRA_MODULES if name not in CORE_ALSO_HAS]
    result = run_python(absent(blocked) + CORE_SERVER)
    assert result.returncode == 0, result.stderr
    assert f"{m.OPERATION_DURATION.series_names[0]}" in result.stdout
    assert 'gen_ai_tool_name="echo"' in result.stdout or '"echo"' in result.stdout


def test_a_command_without_its_extra_names_the_extra_and_exits_2() -> None:
    source = absent(["hdrh", "numpy", "scipy"]) + textwrap.dedent(
        """
        sys.argv = ["lookout", "bench", "http://127.0.0.1:9/mcp", "--requests", "1"]
        from lookout.__main__ import main
        main()
        """
    )
    result = run_python(source)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"lookout: hdrh is not installed: pip install '{DISTRIBUTION}[bench]'"], (
        result.stderr
    )


def test_the_command_line_without_the_cli_extra_names_it() -> None:
    source = absent(["typer"]) + textwrap.dedent(
        """
        sys.argv = ["lookout", "--help"]
        from lookout.__main__ import main
        main()
        """
    )
    result = run_python(source)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"lookout: typer is not installed: pip install '{DISTRIBUTION}[cli]'"]


def test_commands_of_other_extras_work_without_the_bench_and_report_extras() -> None:
    source = absent(["hdrh", "numpy", "scipy", "matplotlib"]) + textwrap.dedent(
        """
        sys.argv = ["lookout", "config", "validate", "examples/lookout.yaml"]
        from lookout.__main__ import main
        main()
        """
    )
    result = run_python(source)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


@pytest.mark.parametrize(("module", "command", "extra"), [("numpy", "bench", "bench"), ("numpy", "report", "report")])
def test_a_module_in_two_extras_names_the_command_s_own(module: str, command: str, extra: str) -> None:
    assert extra_for(module, command) == extra
    error = ModuleNotFoundError(f"No module named {module!r}", name=module)
    found = missing_extra(error, [command, "run"])
    assert found is not None and found.extra == extra


def test_a_module_no_extra_installs_is_not_a_missing_extra() -> None:
    assert missing_extra(ModuleNotFoundError("No module named 'nowhere'", name="nowhere"), ["bench"]) is None
    assert missing_extra(ValueError("numpy"), ["bench"]) is None


def test_the_extras_table_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["optional-dependencies"]

    def name(requirement: str) -> str:
        for stop in "<>=![;~ ":
            requirement = requirement.split(stop)[0]
        return requirement

    for extra, modules in EXTRAS.items():
        own = {name(r) for r in declared[extra] if not r.startswith(DISTRIBUTION)}
        assert own == set(modules), f"pyproject.toml [{extra}] and lookout/extras.py disagree"
    core = {name(r).lower() for r in project["dependencies"]}
    for modules in EXTRAS.values():
        assert not core & {d.lower() for d in modules}, "a package of an extra is also a core dependency"
    assert {extra for extras in COMMAND_EXTRAS.values() for extra in extras} <= set(declared)
    assert project["scripts"]["lookout"] == "lookout.__main__:main"


def test_a_command_needing_two_extras_names_both() -> None:
    source = absent(["orjson", "numpy"]) + textwrap.dedent(
        """
        sys.argv = ["lookout", "up", "--config", "examples/lookout.yaml"]
        from lookout.__main__ import main
        main()
        """
    )
    result = run_python(source)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"lookout: orjson is not installed: pip install '{DISTRIBUTION}[stack,bench]'"
    ]
