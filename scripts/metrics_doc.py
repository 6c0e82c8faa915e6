"""Write the "## Every family" section of docs/metrics.md from ``lookout.metrics.ALL`` (the prose above it is
written by hand). ``--check`` exits 1 when the file is stale, without writing.

    .venv/bin/python scripts/metrics_doc.py          # rewrite the section
    .venv/bin/python scripts/metrics_doc.py --check  # what tests/unit/test_metrics_doc.py asserts
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lookout import metrics as m

DOC = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
HEADING = "## Every family"
INTRO = "Series names as they appear in the text exposition (`_created` samples omitted)."
UNIT_WORDS = {"s": "seconds", "By": "bytes"}
"""The contract's UCUM units, as a reader says them."""


def _row(spec: m.MetricSpec) -> str:
    series = ", ".join(f"`{name}`" for name in spec.series_names if not name.endswith("_created"))
    labels = ", ".join(f"`{label}`" for label in spec.labels) or "—"
    unit = UNIT_WORDS.get(spec.unit, spec.unit) or "—"
    cells = (series, spec.kind.value, unit, labels, spec.why or spec.help)
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def render() -> str:
    """The section, heading included, one table per source in the order the contract defines them."""
    sources: dict[str, list[m.MetricSpec]] = {}
    for spec in m.ALL:
        sources.setdefault(spec.source.value, []).append(spec)
    lines = [HEADING, "", INTRO]
    for source, specs in sources.items():
        lines += ["", f"### {source}", "", "| series | type | unit | labels | why |", "|---|---|---|---|---|"]
        lines += [_row(spec) for spec in specs]
    return "\n".join(lines) + "\n"


def with_section(text: str) -> str:
    """``text`` with its generated section replaced (or appended when it has none)."""
    start = text.find(f"\n{HEADING}\n")
    if start < 0:
        return text.rstrip("\n") + "\n\n" + render()
    end = text.find("\n## ", start + 1)
    rest = "" if end < 0 else text[end:]
    return text[: start + 1] + render() + rest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/metrics.md is stale")
    args = parser.parse_args(argv)
    current = DOC.read_text()
    wanted = with_section(current)
    if args.check:
        if current != wanted:
            print(f"{DOC}: the '{HEADING}' tables are stale: run python scripts/metrics_doc.py", file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        DOC.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
