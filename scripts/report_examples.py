"""Regenerate the example reports in docs/reports/ from the known history the report tests use.

    .venv/bin/python scripts/report_examples.py

Builds the 36-day history (tests/integration/report_history.py) in a temporary directory, starts Prometheus on it,
runs `lookout report sla|capacity|cost` into docs/reports/ and stops Prometheus. Takes a few minutes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration import report_history as h  # noqa: E402
from tests.support import lookout_argv, start_prometheus  # noqa: E402

OUT = ROOT / "docs" / "reports"
REPORTS = (
    ("sla", "--month", "2026-09"),
    ("capacity", "--from", "2026-09-05", "--to", "2026-10-05"),
    ("cost", "--from", "2026-09-05", "--to", "2026-10-05"),
)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lookout-report-history-") as tmp:
        config, data = h.build_history(Path(tmp))
        prometheus = start_prometheus(data / "prometheus.yml", data, extra_args=h.PROMETHEUS_ARGS)
        try:
            for old in OUT.glob("*"):
                if old.suffix in (".html", ".png", ".svg", ".md", ".json"):
                    old.unlink()
            for kind, *args in REPORTS:
                argv = lookout_argv("report", kind, *args, "--config", str(config))
                argv += ["--prometheus", prometheus.url, "--out", str(OUT)]
                subprocess.run(argv, check=True)
        finally:
            prometheus.proc.stop()


if __name__ == "__main__":
    main()
