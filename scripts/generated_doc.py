"""What the scripts that generate docs share: splicing a generated section into a page whose prose is written by
hand, and the command line that rewrites the file or, with ``--check``, exits 1 when it is stale, without writing.

The scripts import this module by name; each puts its own directory on ``sys.path`` first, so that works both when
it runs as ``python scripts/NAME.py`` and when a test loads it by file path.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def with_section(text: str, heading: str, section: str) -> str:
    """``text`` with the section under ``heading`` (up to the next ``## `` heading) replaced by ``section``, or with
    ``section`` appended when ``text`` has no such heading. ``section`` starts with the heading itself."""
    start = text.find(f"\n{heading}\n")
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section
    end = text.find("\n## ", start + 1)
    rest = "" if end < 0 else text[end:]
    return text[: start + 1] + section + rest


def check_requested(argv: list[str] | None, description: str, doc: Path) -> bool:
    """Parse the command line the generators share; True when it asks for ``--check``."""
    parser = argparse.ArgumentParser(description=description)
    shown = doc.relative_to(ROOT).as_posix() if doc.is_relative_to(ROOT) else str(doc)
    parser.add_argument("--check", action="store_true", help=f"exit 1 when {shown} is stale")
    return bool(parser.parse_args(argv).check)


def write_or_check(doc: Path, wanted: str, *, check: bool, stale: str) -> int:
    """With ``check``: 0 when ``doc`` holds ``wanted``, else ``stale`` on stderr and 1. Without: write ``wanted`` to
    ``doc`` when it differs (a missing file counts as different), and 0."""
    current = doc.read_text() if doc.exists() else None
    if check:
        if current != wanted:
            print(stale, file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        doc.write_text(wanted)
    return 0


def section_main(
    argv: list[str] | None, *, description: str, doc: Path, heading: str, render: Callable[[], str], script: str
) -> int:
    """The ``main`` of a script that generates the section under ``heading`` of ``doc`` with ``render``; ``script``
    is its ``__file__``, named in the message that says how to bring a stale file up to date."""
    check = check_requested(argv, description, doc)
    wanted = with_section(doc.read_text(), heading, render())
    command = Path(script).resolve().relative_to(ROOT).as_posix()
    return write_or_check(
        doc, wanted, check=check, stale=f"{doc}: the '{heading}' tables are stale: run python {command}"
    )
