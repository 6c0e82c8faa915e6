"""docs/performance.md keeps the shape the benchmarks write into, and ``write_section`` keeps it: a hand edit that
loses a marker must not make the next ``--write`` append a second copy of a section or replace the wrong text."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.support import DOC, MARKER, markers, write_section


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


def section_text(text: str, name: str) -> str:
    start, end, _ = markers(name)
    return text[text.index(start) + len(start) : text.index(end)]


def test_every_section_is_closed_once_with_its_notes_inside() -> None:
    names = [name for name, _ in sections(DOC.read_text())]
    assert len(names) == len(set(names)), names  # a section written twice
    for name in ("instrumentation", "http-overhead", "prober", "exposition"):
        assert name in names


def test_the_check_catches_a_lost_end_marker() -> None:
    text = DOC.read_text().replace("<!-- /bench:instrumentation -->", "", 1)
    with pytest.raises(AssertionError, match="instrumentation"):
        sections(text)


def test_a_run_replaces_its_own_section_and_keeps_its_notes(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(DOC.read_text())
    write_section("http-overhead", "## New tables\n\n| a | b |", doc)
    after = doc.read_text()
    sections(after)
    _, _, notes_marker = markers("http-overhead")
    new = section_text(after, "http-overhead")
    assert new.startswith("\n## New tables\n\n| a | b |\n\n" + notes_marker)
    assert new.split(notes_marker)[1] == section_text(DOC.read_text(), "http-overhead").split(notes_marker)[1]
    for name in ("instrumentation", "prober", "report"):  # every other section as it was
        assert section_text(after, name) == section_text(DOC.read_text(), name)
    assert after.count("## New tables") == 1


def test_a_new_section_is_appended(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    write_section("fresh", "## Fresh", doc)
    write_section("fresh", "## Fresher", doc)
    assert doc.read_text() == "# Performance\n\n<!-- bench:fresh -->\n## Fresher\n<!-- /bench:fresh -->\n"


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: text.replace("<!-- /bench:instrumentation -->", "", 1),
        lambda text: text.replace("<!-- bench:instrumentation -->", "", 1),
        lambda text: text + "\n<!-- bench:instrumentation -->\n",
        lambda text: text.replace("<!-- bench-notes:instrumentation -->", "", 1),
        lambda text: text + "\n<!-- bench-notes:instrumentation -->\n<!-- bench-notes:instrumentation -->\n",
    ],
    ids=["end lost", "start lost", "start twice", "a notes marker lost", "notes markers outside"],
)
def test_a_half_marked_section_stops_the_run_and_loses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit
) -> None:
    doc = tmp_path / "performance.md"
    broken = edit(DOC.read_text())
    doc.write_text(broken)
    with pytest.raises(SystemExit) as stopped:
        write_section("instrumentation", "## New", doc)
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and str(doc) in error and "section instrumentation" in error
    assert doc.read_text() == broken


def test_make_bench_goes_on_after_a_module_stops_on_the_doc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib
    from types import SimpleNamespace

    import benchmarks.__main__ as runner

    for name in ("bench_first", "bench_second"):
        (tmp_path / f"{name}.py").touch()
    ran: list[str] = []

    def first(argv: list[str]) -> None:
        write_section("first", "## First", Path(argv[1]))  # the doc lost this section's end marker

    def second(argv: list[str]) -> None:
        ran.append("second")

    fakes = {
        "benchmarks.bench_first": SimpleNamespace(main=first),
        "benchmarks.bench_second": SimpleNamespace(main=second),
    }
    monkeypatch.setattr(runner, "HERE", tmp_path)
    monkeypatch.setattr(runner, "DOC", tmp_path / "performance.md")
    monkeypatch.setattr(importlib, "import_module", fakes.__getitem__)
    (tmp_path / "performance.md").write_text("# Performance\n\n<!-- bench:first -->\nold\n")
    assert runner.main([]) == 1
    assert ran == ["second"]
    err = capsys.readouterr().err
    assert "section first" in err and "failed: bench_first" in err and "Traceback" not in err
