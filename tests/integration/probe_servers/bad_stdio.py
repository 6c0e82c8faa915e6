"""Misbehaving stdio MCP servers: ``python bad_stdio.py ignore-sigterm|garbage``."""

from __future__ import annotations

import signal
import sys
import time

if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "ignore-sigterm":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:  # never answers, ignores EOF on stdin and SIGTERM: only SIGKILL ends it
            time.sleep(0.1)
    elif mode == "garbage":
        sys.stdout.write("Starting my great server on stdio...\n")
        sys.stdout.flush()
        for _line in sys.stdin:
            sys.stdout.write("this is not JSON-RPC\n")
            sys.stdout.flush()
