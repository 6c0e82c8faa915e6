"""`make bench` (`python -m benchmarks`): run every `benchmarks/bench_*.py` module and update
docs/performance.md. Each module exposes ``main(argv)`` and, given ``--write PATH``, replaces its own section
of that file; a module whose ``main`` takes no arguments is called as it is. One failing module does not
stop the others; the exit code says whether all succeeded.

    python -m benchmarks [NAME ...]     # e.g. `python -m benchmarks loadgen exposition`
"""

from __future__ import annotations

import importlib
import inspect
import sys
import time
import traceback
from pathlib import Path

from benchmarks.support import DOC

HERE = Path(__file__).resolve().parent
HEADER = """# Performance

Lookout's own benchmarks, measured side by side in one run and reported as ratios (absolute numbers depend on
the machine; the ratios are what carry over). Regenerate every section with `make bench`; each section names
the script that wrote it.
"""


def main(argv: list[str]) -> int:
    wanted = set(argv)
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    names = [n for n in names if not wanted or n.removeprefix("bench_") in wanted or n in wanted]
    if not DOC.exists():
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(HEADER)
    failed = []
    for name in names:
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        try:
            entry = importlib.import_module(f"benchmarks.{name}").main
            if inspect.signature(entry).parameters:
                entry(["--write", str(DOC)])
            else:
                entry()
        except SystemExit as stopped:  # the module's own one-line error (e.g. a half-marked section), printed
            if stopped.code:
                failed.append(name)
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"== {name}: {time.perf_counter() - start:.1f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    print(f"updated {DOC}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
