"""What `pip install mcp-lookout` (no extras) costs an MCP server's image: the size of a fresh venv's
site-packages and the time `import lookout.instrument` takes (``python -X importtime``); for comparison, the
size of a fresh venv with every extra (``[all]``: what every dependency being mandatory used to cost).

    python -m benchmarks.bench_install [--repeat 5] [--write]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.support import machine, write_section
from lookout.extras import EXTRAS

ROOT = Path(__file__).resolve().parent.parent
IMPORT = "import lookout.instrument"
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)$")
EXTRA_MODULES = {module.split(".")[0] for modules in EXTRAS.values() for module in modules.values()}


def tree_bytes(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            file = Path(folder) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def site_packages(venv: Path) -> Path:
    [found] = (venv / "lib").glob("python3*/site-packages")
    return found


def import_times(python: Path) -> tuple[float, int]:
    """Total import time in seconds (the sum of every module's own time) and the number of modules imported."""
    done = subprocess.run([python, "-X", "importtime", "-c", IMPORT], capture_output=True, text=True, check=True)
    own, count = 0, 0
    for line in done.stderr.splitlines():
        match = LINE.match(line)
        if match:
            own += int(match[1])
            count += 1
    return own / 1e6, count


def present_anyway(python: Path) -> list[str]:
    """The extras' top-level modules importable in the core-only venv (brought by the core's dependencies)."""
    probe = f"import importlib.util as u; print(*[m for m in {sorted(EXTRA_MODULES)!r} if u.find_spec(m)])"
    return subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout.split()


def fresh_venv(tmp: Path, name: str, requirement: str) -> Path:
    """A venv in ``tmp/name`` with ``requirement`` installed; its Python."""
    venv = tmp / name
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-cache-dir"]
    subprocess.run([*pip, requirement], check=True, capture_output=True)
    return python


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", nargs="?", const="docs/performance.md", help="update docs/performance.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lookout-install-") as tmp_name:
        tmp = Path(tmp_name)
        source = tmp / "source"  # a copy: setuptools builds inside the tree it installs
        shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, source / name)
        python = fresh_venv(tmp, "core", str(source))
        present = present_anyway(python)
        site = site_packages(python.parents[1])
        size = tree_bytes(site)
        distributions = len(list(site.glob("*.dist-info")))
        import_times(python)  # the first import compiles the .pyc files
        runs = [import_times(python) for _ in range(args.repeat)]
        everything = site_packages(fresh_venv(tmp, "all", f"{source}[all]").parents[1])
        all_size, all_distributions = tree_bytes(everything), len(list(everything.glob("*.dist-info")))
    seconds = statistics.median(run[0] for run in runs)
    fastest = min(run[0] for run in runs)
    modules = runs[0][1]
    section = "\n".join(
        [
            "## Installing the instrumentation",
            "",
            f"Measured by `benchmarks/bench_install.py` on {machine()}: a fresh venv, `pip install mcp-lookout`",
            f'(no extras: the instrumentation and health checks), then `python -X importtime -c "{IMPORT}"`.',
            "",
            "| install | site-packages | distributions "
            f"| import time (fastest, median of {args.repeat}) | modules imported |",
            "|---|---|---|---|---|",
            f"| `mcp-lookout` | {size / 1e6:.0f} MB | {distributions} "
            f"| {fastest * 1000:.0f} ms, {seconds * 1000:.0f} ms | {modules} |",
            f"| `mcp-lookout[all]` | {all_size / 1e6:.0f} MB | {all_distributions} | | |",
            "",
            "Of the extras' packages, only those the core's own dependencies require are installed: "
            f"{', '.join(f'`{name}`' for name in present) or 'none'}.",
            "",
            "The `lookout` command and its sub-commands come with extras (`[cli]`, `[stack]`, `[check]`, `[bench]`,",
            "`[report]`, `[all]`): numpy, scipy, matplotlib, kubernetes-validate, the Grafana SDK and the others stay",
            "out of a server's image.",
        ]
    )
    print(section)
    if args.write:
        write_section("install", section, Path(args.write))


if __name__ == "__main__":
    main()
