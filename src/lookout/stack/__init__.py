"""Generators: pure functions from the config model to the files of the monitoring stack.

``render_stack(config)`` returns ``{relative path: content}``; ``write_stack`` puts it on disk.
Same config in, byte-identical files out.
"""

from __future__ import annotations

from pathlib import Path

from lookout.config.model import Config
from lookout.stack import naming
from lookout.stack.alertmanager import TEMPLATES, render_alertmanager
from lookout.stack.prometheus import render_prometheus
from lookout.stack.rules import render_alert_rules

Files = dict[str, str]


def render_stack(config: Config) -> Files:
    files: Files = {
        naming.PROMETHEUS_FILE: render_prometheus(config),
        f"{naming.RULES_DIR}/alerts.yml": render_alert_rules(config),
        naming.ALERTMANAGER_FILE: render_alertmanager(config),
        "alertmanager/templates/lookout.tmpl": TEMPLATES,
    }
    return dict(sorted(files.items()))


def write_stack(files: Files, out: Path) -> list[Path]:
    """Write ``files`` under ``out``; a file is rewritten only when its content changed."""
    written = []
    for rel, content in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


__all__ = ["Files", "render_stack", "write_stack"]
