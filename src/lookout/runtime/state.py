"""What a running ``lookout up`` tells other commands about itself: ``<data dir>/run/stack.json``.

Written once every child is ready and removed when the stack stops, beside the children's PID files, so
that ``lookout drill`` finds the config, the demo server's ports and the PIDs of the stack it drills.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from lookout.runtime.children import pid_alive

RUN_DIR: Final = "run"
STATE_FILE: Final = "stack.json"
NOTIFICATIONS_FILE: Final = "notifications.jsonl"


def run_dir(data_dir: Path) -> Path:
    return data_dir / RUN_DIR


def pid_file(data_dir: Path, child: str) -> Path:
    return run_dir(data_dir) / f"{child}.pid"


def notifications_file(data_dir: Path) -> Path:
    return data_dir / NOTIFICATIONS_FILE


@dataclass(frozen=True)
class StackState:
    pid: int
    config_path: str
    data_dir: str
    demo_url: str | None
    demo_management_url: str | None

    def write(self) -> Path:
        path = run_dir(Path(self.data_dir)) / STATE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def for_this_process(
        cls, config_path: Path, data_dir: Path, demo_url: str | None, demo_management_url: str | None
    ) -> StackState:
        return cls(os.getpid(), str(config_path.resolve()), str(data_dir.resolve()), demo_url, demo_management_url)


def read_state(data_dir: Path) -> StackState | None:
    """The running stack of ``data_dir``, or None when none runs (no state file, or its process is gone)."""
    path = run_dir(data_dir) / STATE_FILE
    try:
        raw = json.loads(path.read_text())
        state = StackState(
            pid=int(raw["pid"]),
            config_path=str(raw["config_path"]),
            data_dir=str(raw["data_dir"]),
            demo_url=raw.get("demo_url"),
            demo_management_url=raw.get("demo_management_url"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if pid_alive(state.pid) else None


def remove_state(data_dir: Path) -> None:
    (run_dir(data_dir) / STATE_FILE).unlink(missing_ok=True)
