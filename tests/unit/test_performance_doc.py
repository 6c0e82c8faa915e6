"""docs/performance.md keeps the shape the benchmarks write into, and ``write_section`` keeps it: a hand edit that
loses a marker must not make the next ``--write`` append a second copy of a section or replace the wrong text."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.support import DOC, MarkerError, markers, sections, write_section


def section_text(text: str, name: str) -> str:
    start, end, _ = markers(name)
    return text[text.index(start) + len(start) : text.index(end)]


def test_every_section_is_closed_once_with_its_notes_inside() -> None:
    found = sections(DOC.read_text())
    for name in ("instrumentation", "http-overhead", "prober", "exposition"):
        assert name in found
    assert found["http-overhead"].notes and found["instrumentation"].notes


BROKEN = {
    "end lost": (
        lambda text: text.replace("<!-- /bench:instrumentation -->", "", 1),
        "section http-overhead begins inside section instrumentation",
    ),
    "start lost": (
        lambda text: text.replace("<!-- bench:instrumentation -->", "", 1),
        "section instrumentation has a notes marker outside it",
    ),
    "start twice": (
        lambda text: text + "\n<!-- bench:instrumentation -->\n<!-- /bench:instrumentation -->\n",
        "section instrumentation begins a second time",
    ),
    "never ends": (
        lambda text: text + "\n<!-- bench:fresh -->\n",
        "section fresh never ends",  # another section: the file is out of shape all the same
    ),
    "a notes marker lost": (
        lambda text: text.replace("<!-- bench-notes:instrumentation -->", "", 1),
        "section instrumentation has 1 notes markers, not 0 or 2",
    ),
    "notes markers outside": (
        lambda text: text + "\n<!-- bench-notes:instrumentation -->\n<!-- bench-notes:instrumentation -->\n",
        "section instrumentation has a notes marker outside it",
    ),
    "stray end": (
        lambda text: "<!-- /bench:instrumentation -->\n" + text,
        "line 1: section instrumentation ends, but never began",
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_the_check_names_the_line_and_the_section(case: str) -> None:
    edit, message = BROKEN[case]
    with pytest.raises(MarkerError, match=message):
        sections(edit(DOC.read_text()))


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


def test_writing_every_section_back_changes_nothing(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(DOC.read_text())
    for name, section in sections(DOC.read_text()).items():
        start, end, _ = markers(name)
        body = DOC.read_text()[section.begin + len(start) : section.stop - len(end)]
        write_section(name, body.removesuffix(section.notes + "\n"), doc)
    assert doc.read_text() == DOC.read_text()


def test_a_new_section_is_appended(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    write_section("fresh", "## Fresh", doc)
    write_section("fresh", "## Fresher", doc)
    assert doc.read_text() == "# Performance\n\n<!-- bench:fresh -->\n## Fresher\n<!-- /bench:fresh -->\n"


@pytest.mark.parametrize("case", BROKEN)
def test_a_half_marked_section_stops_the_run_and_loses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    edit, message = BROKEN[case]
    doc = tmp_path / "performance.md"
    broken = edit(DOC.read_text())
    doc.write_text(broken)
    with pytest.raises(SystemExit) as stopped:
        write_section("instrumentation", "## New", doc)
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"{doc}: line ") and message in error
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
