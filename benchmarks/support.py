"""Shared by the benchmark modules: demo servers on free loopback ports, CPU accounting, report sections."""

from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of another process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


@dataclass
class Demo:
    proc: subprocess.Popen[bytes]
    url: str
    management_url: str


@contextmanager
def demo_server() -> Iterator[Demo]:
    """A demo MCP server in its own process (stopped by PID on exit)."""
    port, mport = free_port(), free_port()
    argv = [sys.executable, "-m", "lookout", "demo-server", "--port", str(port), "--management-port", str(mport)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    demo = Demo(proc, f"http://127.0.0.1:{port}/mcp", f"http://127.0.0.1:{mport}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{demo.management_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the demo server did not start")
            time.sleep(0.2)
        yield demo
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


_MARKER = "<!-- {closing}bench{notes}:{name} -->"
"""The one spelling of a report marker: a section's start and end (``bench:NAME``, ``/bench:NAME``) and the pair of
``bench-notes:NAME`` markers around the hand-written notes that a run keeps."""
_MARKER_PATTERN = re.compile(
    re.escape(_MARKER)
    .replace(re.escape("{closing}"), "(?P<closing>/?)")
    .replace(re.escape("{notes}"), "(?P<notes>-notes)?")
    .replace(re.escape("{name}"), r"(?P<name>[\w-]+)")
)


def markers(name: str) -> tuple[str, str, str]:
    """The start, end and notes markers of section *name*."""
    return (
        _MARKER.format(closing="", notes="", name=name),
        _MARKER.format(closing="/", notes="", name=name),
        _MARKER.format(closing="", notes="-notes", name=name),
    )


class MarkerError(ValueError):
    """A report file's markers out of shape, e.g. after a hand edit; the message names the line and the section."""


@dataclass(frozen=True)
class Section:
    begin: int
    """Offset of the start marker."""
    stop: int
    """Offset just past the end marker."""
    notes: str
    """The hand-written notes with their two markers, or ``""``."""


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def sections(text: str) -> dict[str, Section]:
    """Each ``bench:NAME`` section of a report, by name, in order. Raises `MarkerError` unless every section is
    closed once, not nested and not repeated, and has no notes markers or two of its own inside it."""
    found: dict[str, Section] = {}
    open_name, begin, notes = "", 0, []
    for match in _MARKER_PATTERN.finditer(text):
        name = match["name"]
        where = f"line {_line(text, match.start())}: section {name}"
        if match["notes"]:
            if match["closing"] or open_name != name:
                raise MarkerError(f"{where} has a notes marker outside it")
            notes.append(match)
        elif match["closing"]:
            if open_name != name:
                inside = f"section {open_name} is open" if open_name else "never began"
                raise MarkerError(f"{where} ends, but {inside}")
            if len(notes) not in (0, 2):
                raise MarkerError(f"{where} has {len(notes)} notes markers, not 0 or 2")
            kept = text[notes[0].start() : notes[1].end()] if notes else ""
            found[name] = Section(begin, match.end(), kept)
            open_name, notes = "", []
        else:
            if open_name:
                raise MarkerError(f"{where} begins inside section {open_name}")
            if name in found:
                raise MarkerError(f"{where} begins a second time")
            open_name, begin = name, match.start()
    if open_name:
        raise MarkerError(f"line {_line(text, begin)}: section {open_name} never ends")
    return found


def write_section(name: str, markdown: str, path: Path) -> None:
    """Replace section *name* of *path* with *markdown* (append it if the file has none), keeping the section's
    notes: the text between its two notes markers, written by hand, survives every run.

    Markers out of shape anywhere in the file (one lost or doubled by a hand edit) stop this with one line and
    exit 2, the file untouched: replacing the section would lose text (its notes, or what lies up to a stray end
    marker) and appending would write the section twice."""
    text = path.read_text() if path.exists() else "# Performance\n"
    try:
        old = sections(text).get(name)
    except MarkerError as error:
        print(f"{path}: {error}; mend its markers and run again", file=sys.stderr)
        raise SystemExit(2) from None
    start, end, _ = markers(name)
    notes = f"\n\n{old.notes}" if old and old.notes else ""
    block = f"{start}\n{markdown.strip()}{notes}\n{end}"
    text = text[: old.begin] + block + text[old.stop :] if old else text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
