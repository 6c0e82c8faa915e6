"""docs/performance.md keeps the shape the benchmarks write into: a hand edit that loses a marker makes the next
``--write`` append a second copy of a section (or replace the wrong text), so the shape is checked here."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "performance.md"
MARKER = re.compile(r"<!-- (/?)bench(-notes)?:([\w-]+) -->")


def sections(text: str) -> list[tuple[str, list[str]]]:
    """(name, the notes markers inside it) of each ``bench:NAME`` section, in order; fails on a marker out of
    place."""
    found: list[tuple[str, list[str]]] = []
    open_name: str | None = None
    notes: list[str] = []
    for match in MARKER.finditer(text):
        closing, is_notes, name = bool(match.group(1)), bool(match.group(2)), match.group(3)
        line = text.count("\n", 0, match.start()) + 1
        if is_notes:
            assert not closing and open_name == name, f"line {line}: notes marker of {name} outside its section"
            notes.append(name)
        elif closing:
            assert open_name == name, f"line {line}: /bench:{name} closes {open_name!r}"
            assert len(notes) in (0, 2), f"line {line}: {name} has {len(notes)} notes markers (0 or 2)"
            found.append((name, notes))
            open_name, notes = None, []
        else:
            assert open_name is None, f"line {line}: bench:{name} opens inside {open_name}"
            open_name = name
    assert open_name is None, f"bench:{open_name} is never closed"
    return found


def test_every_section_is_closed_once_with_its_notes_inside() -> None:
    names = [name for name, _ in sections(DOC.read_text())]
    assert len(names) == len(set(names)), names  # a section written twice
    for name in ("instrumentation", "http-overhead", "prober", "exposition"):
        assert name in names


def test_the_check_catches_a_lost_end_marker() -> None:
    text = DOC.read_text().replace("<!-- /bench:instrumentation -->", "", 1)
    try:
        sections(text)
    except AssertionError as error:
        assert "instrumentation" in str(error)
    else:
        raise AssertionError("a lost end marker went unnoticed")
