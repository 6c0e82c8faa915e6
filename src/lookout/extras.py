"""What each optional extra of ``mcp-lookout`` brings, and the one line naming the extra a command lacks.

``pip install mcp-lookout`` is the instrumentation and health checks only; the ``lookout`` command and its
sub-commands come with extras (pyproject.toml). A unit test keeps this table and pyproject.toml in step."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Final

DISTRIBUTION: Final = "mcp-lookout"

EXTRAS: Final[dict[str, dict[str, str]]] = {
    # extra -> {distribution: top-level module it installs}; an extra's own packages, not those it includes
    "cli": {
        "typer": "typer",
        "rich": "rich",
        "ruamel.yaml": "ruamel.yaml",
        "httpx": "httpx",
        "sniffio": "sniffio",
        "bcrypt": "bcrypt",
    },
    "probe": {},
    "stack": {
        "PyYAML": "yaml",
        "orjson": "orjson",
        "grafana-foundation-sdk": "grafana_foundation_sdk",
        "promql-parser": "promql_parser",
    },
    "check": {
        "kubernetes-validate": "kubernetes_validate",
        "cloudcoil-models-prometheus-operator": "cloudcoil",
        "jsonschema": "jsonschema",
    },
    "bench": {"hdrhistogram": "hdrh", "numpy": "numpy", "scipy": "scipy"},
    "report": {"matplotlib": "matplotlib", "numpy": "numpy", "scipy": "scipy"},
}

COMMAND_EXTRAS: Final[dict[str, tuple[str, ...]]] = {
    "generate": ("stack",),
    # up runs the console and the demo traffic, which read benchmark results; drill pushes a capacity
    "up": ("stack", "bench"),
    "drill": ("stack", "bench"),
    "console": ("stack", "bench"),
    "check": ("check",),
    "probe": ("probe",),
    "exporter": ("probe",),
    "bench": ("bench",),
    "report": ("report",),
}
"""The extras each ``lookout`` sub-command needs beyond ``cli`` (the others need ``cli`` only)."""


class MissingExtra(Exception):
    """A command needs an extra (or several, comma-separated in ``extra``) that is not installed."""

    def __init__(self, extra: str, module: str) -> None:
        self.extra = extra
        self.module = module
        super().__init__(f"{module} is not installed: pip install '{DISTRIBUTION}[{extra}]'")


def _top(module: str) -> str:
    return module.split(".")[0]


def extra_for(module: str, command: str | None = None) -> str | None:
    """The extra that installs ``module`` (a dotted name): the command's own extra when it has the module,
    else the first extra that does; None for a module no extra installs."""
    top = _top(module)
    for own in COMMAND_EXTRAS.get(command or "", ()):
        if any(_top(name) == top for name in EXTRAS[own].values()):
            return own
    for extra, modules in EXTRAS.items():
        if any(_top(name) == top for name in modules.values()):
            return extra
    return None


def missing_extra(exc: BaseException, argv: Sequence[str] = ()) -> MissingExtra | None:
    """``exc`` as a MissingExtra when it is an import of a module an extra installs; ``argv`` (the command
    line after the program name) picks the command's own extra when several carry the module."""
    if isinstance(exc, MissingExtra):
        return exc
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    extra = extra_for(exc.name, command)
    return None if extra is None else MissingExtra(extra, _top(exc.name))


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package missing, or an import hook refusing it
        return False


def require(*extras: str) -> None:
    """Raise MissingExtra naming every one of ``extras`` with a package that is not installed (checked without
    importing it), and the first such package."""
    missing = {extra: next((m for m in EXTRAS[extra].values() if not _installed(m)), None) for extra in extras}
    absent = [extra for extra, module in missing.items() if module is not None]
    if absent:
        raise MissingExtra(",".join(absent), str(missing[absent[0]]))
