"""Misbehaving stdio MCP servers: ``python bad_stdio.py MODE``, MODE one of ignore-sigterm, garbage,
exit-on-request, stubborn-family PIDFILE.

``stubborn-family`` starts a grandchild that, like itself, ignores EOF and SIGTERM, and writes the
grandchild's PID to PIDFILE: both must be gone after the probe (the process group is killed).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "stubborn-family":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        grandchild = subprocess.Popen([sys.executable, __file__, "ignore-sigterm"], stdin=subprocess.DEVNULL)
        Path(sys.argv[2]).write_text(str(grandchild.pid))
        while True:
            time.sleep(0.1)
    elif mode == "ignore-sigterm":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:  # never answers, ignores EOF on stdin and SIGTERM: only SIGKILL ends it
            time.sleep(0.1)
    elif mode == "exit-on-request":  # a server that dies on the first request (a crash, a failed start-up)
        sys.stdin.readline()
        sys.exit(3)
    elif mode == "garbage":
        sys.stdout.write("Starting my great server on stdio...\n")
        sys.stdout.flush()
        for _line in sys.stdin:
            sys.stdout.write("this is not JSON-RPC\n")
            sys.stdout.flush()
