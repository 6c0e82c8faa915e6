"""Write the "## Every family" section of docs/metrics.md from ``lookout.metrics.ALL`` (the prose above it is
written by hand). ``--check`` exits 1 when the file is stale, without writing.

    .venv/bin/python scripts/metrics_doc.py          # rewrite the section
    .venv/bin/python scripts/metrics_doc.py --check  # what tests/unit/test_metrics_doc.py asserts
"""

from __future__ import annotations

import sys
from pathlib import Path

from lookout import metrics as m

# A script loaded by file path (as the tests load it) does not have its own directory on the path.
_SCRIPTS = str(Path(__file__).resolve().parent)
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)
import generated_doc  # noqa: E402

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
    return generated_doc.with_section(text, HEADING, render())


def main(argv: list[str] | None = None) -> int:
    return generated_doc.section_main(
        argv, description=__doc__.splitlines()[0], doc=DOC, heading=HEADING, render=render, script=__file__
    )


if __name__ == "__main__":
    sys.exit(main())
