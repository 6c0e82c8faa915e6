"""``lookout`` and ``python -m lookout``: the command line, or one line naming the extra to install when the
command line itself is not installed (``pip install mcp-lookout`` is the instrumentation only)."""

from __future__ import annotations

import sys

from lookout.extras import missing_extra


def main() -> None:
    try:
        from lookout.cli import main as run
    except ModuleNotFoundError as exc:
        missing = missing_extra(exc, sys.argv[1:])
        if missing is None:
            raise
        print(f"lookout: {missing}", file=sys.stderr)
        sys.exit(2)
    run()


if __name__ == "__main__":
    main()
