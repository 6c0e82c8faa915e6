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


MARKER = re.compile(r"<!-- (/?)bench(-notes)?:([\w-]+) -->")
"""Every marker in docs/performance.md: a section's start and end (``bench:NAME``, ``/bench:NAME``) and the pair of
``bench-notes:NAME`` markers around the hand-written notes that a run keeps."""


def markers(name: str) -> tuple[str, str, str]:
    """The start, end and notes markers of section *name*."""
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->", f"<!-- bench-notes:{name} -->"


def write_section(name: str, markdown: str, path: Path) -> None:
    """Replace section *name* of *path* with *markdown* (append it if the file has none), keeping the section's
    notes: the text between its two notes markers, written by hand, survives every run.

    A marker lost or doubled by a hand edit stops this with one line and exit 2, the file untouched: replacing
    the section would lose text (its notes, or what lies up to a stray end marker) and appending would write
    the section twice."""
    start, end, notes_marker = markers(name)
    text = path.read_text() if path.exists() else "# Performance\n"
    counts = (text.count(start), text.count(end))
    old = text[text.index(start) : text.index(end)] if counts == (1, 1) else ""
    if counts not in ((0, 0), (1, 1)) or text.find(start) > text.find(end):
        problem = f"has {counts[0]} {start} and {counts[1]} {end}; mend the file to one of each (start first), or none"
    elif text.count(notes_marker) not in (0, 2) or old.count(notes_marker) != text.count(notes_marker):
        inside = old.count(notes_marker)
        problem = (
            f"has {text.count(notes_marker)} {notes_marker} ({inside} inside it); "
            "mend the file to two inside the section, or none"
        )
    else:
        problem = ""
    if problem:
        print(f"{path}: section {name} {problem}, and run again", file=sys.stderr)
        raise SystemExit(2)
    notes = f"\n\n{notes_marker}{old.split(notes_marker)[1]}{notes_marker}" if notes_marker in old else ""
    block = f"{start}\n{markdown.strip()}{notes}\n{end}"
    if old:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
