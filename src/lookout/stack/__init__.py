"""Generators: pure functions from the config model to the files of the monitoring stack.

``render_stack(config, target)`` returns ``{relative path: content}``; ``write_stack`` puts it on
disk. Same config in, byte-identical files out. Each part of the stack is one function
``(Config) -> {path: Document}`` listed in :data:`PARTS` under the deployment targets it belongs to; a
document is data (rules, dashboards) or text, and :func:`render_stack` alone serializes data, by the
file's type (:func:`lookout.stack.yamlio.serialize`).
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path

from lookout.config.model import Config
from lookout.stack import naming
from lookout.stack.alertmanager import TEMPLATES, render_alertmanager
from lookout.stack.compose import render_compose
from lookout.stack.grafana import DASHBOARDS_DIR, grafana_documents
from lookout.stack.k8s import render_k8s
from lookout.stack.loki import render_logs
from lookout.stack.otelcol import render_tracing
from lookout.stack.prometheus import render_prometheus_instances
from lookout.stack.rules import ALERTS_FILE, RECORDING_FILE, alert_rules, recording_rules
from lookout.stack.yamlio import Document, serialize

Files = dict[str, str]
Documents = Mapping[str, Document]


class DeployTarget(StrEnum):
    NATIVE = "native"  # files for `lookout up` (Debian's Prometheus + Alertmanager as child processes)
    COMPOSE = "compose"  # docker-compose.monitoring.yml and what it mounts
    K8S = "k8s"  # kustomize base for the prometheus-operator
    ALL = "all"


def _prometheus(config: Config) -> Documents:
    return {
        **render_prometheus_instances(config),
        ALERTS_FILE: alert_rules(config),
        RECORDING_FILE: recording_rules(config),
        naming.NODE_TARGETS_FILE: [],
    }


def _alertmanager(config: Config) -> Files:
    return {
        naming.ALERTMANAGER_FILE: render_alertmanager(config),
        "alertmanager/templates/lookout.tmpl": TEMPLATES,
    }


_EVERYWHERE = frozenset(DeployTarget)
PARTS: list[tuple[Callable[[Config], Documents], frozenset[DeployTarget]]] = [
    (_prometheus, _EVERYWHERE),
    (_alertmanager, _EVERYWHERE),
    (grafana_documents, _EVERYWHERE),
    (render_logs, _EVERYWHERE),
    (render_tracing, _EVERYWHERE),
    (render_compose, frozenset({DeployTarget.COMPOSE})),
    (render_k8s, frozenset({DeployTarget.K8S})),
]


def render_stack(config: Config, target: DeployTarget = DeployTarget.NATIVE) -> Files:
    files: Files = {}
    for part, targets in PARTS:
        if target is DeployTarget.ALL or target in targets:
            files.update((path, serialize(path, document)) for path, document in part(config).items())
    return dict(sorted(files.items()))


def _cannot(path: Path, why: str, code: int) -> OSError:
    """An :class:`OSError` whose ``strerror`` names the path that stops the write and the fix: the callers
    print ``strerror`` as the one line."""
    return OSError(code, f"{path}: {why}", str(path))


def _check_writable(files: Files, out: Path) -> None:
    """Raise before anything is written when a path of ``files`` cannot be: a file where a directory must be,
    a directory where a file must be, a directory that cannot be written."""
    directories = {out} | {(out / rel).parent for rel in files}
    for directory in sorted(directories):
        existing = directory
        while not existing.exists() and not existing.is_symlink() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():  # the nearest path that exists; everything above it is a directory
            raise _cannot(existing, "a file where a directory must be: move it aside", errno.ENOTDIR)
        if not os.access(existing, os.W_OK | os.X_OK):
            raise _cannot(existing, "not writable: fix its permissions", errno.EACCES)
    for rel in files:
        path = out / rel
        if path.is_dir():
            raise _cannot(path, "a directory where a file must be: move it aside", errno.EISDIR)


def _replace(path: Path, content: bytes) -> None:
    """Write through a temporary file beside ``path``: a reader (Prometheus reloading) or an interrupted run
    sees the old file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        temporary.write_bytes(content)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_stack(files: Files, out: Path) -> list[Path]:
    """Write ``files`` under ``out``; a file is rewritten only when its bytes changed. Every path is checked
    before the first write, so a blocked path leaves ``out`` as it was; an :class:`OSError` names the path
    that failed in its ``strerror``."""
    _check_writable(files, out)
    written = []
    for rel, content in files.items():
        path = out / rel
        data = content.encode("utf-8")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Bytes, not text: an existing file need not be UTF-8 (it is replaced, not decoded).
            if not path.is_file() or path.read_bytes() != data:
                _replace(path, data)
        except OSError as exc:
            raise _cannot(path, exc.strerror or str(exc), exc.errno or errno.EIO) from None
        written.append(path)
    for path in _stale(files, out):
        try:
            path.unlink()
            for directory in path.relative_to(out).parents[:-1]:  # a removed tenant's folder, emptied
                (out / directory).rmdir()
        except OSError:  # a directory still holding other files, or a file already gone: leave it
            continue
    return written


def _generated(path: Path, rel: str) -> bool:
    """Whether ``path`` is recognisably written by ``lookout generate``: its header, or a dashboard of its catalog."""
    try:
        if rel.startswith(f"{DASHBOARDS_DIR}/") and rel.endswith(".json"):
            uid = json.loads(path.read_bytes()).get("uid", "")
            return isinstance(uid, str) and uid.startswith(naming.DASHBOARD_UID_PREFIX)
        with path.open("rb") as f:
            return naming.GENERATED_HEADER.encode() in f.read(512)
    except (OSError, ValueError, AttributeError):
        return False


def _stale(files: Files, out: Path) -> list[Path]:
    """Files an earlier run wrote into ``out`` that this config no longer produces (a removed tenant's dashboards,
    a replica or the long-term store turned off): so the directory holds what the config says, and Grafana or
    ``kubectl apply -f`` load nothing else. Only under the top-level entries this target writes (another
    target's files in the same directory stay) and only Lookout's own files: anything else there is the user's."""
    stale = []
    for top in sorted({rel.split("/", 1)[0] for rel in files}):
        for root, _, names in os.walk(out / top):  # never follows a symlinked directory
            for name in names:
                path = Path(root) / name
                rel = path.relative_to(out).as_posix()
                if rel not in files and not path.is_symlink() and _generated(path, rel):
                    stale.append(path)
    return sorted(stale)


__all__ = ["PARTS", "DeployTarget", "Files", "render_stack", "write_stack"]
