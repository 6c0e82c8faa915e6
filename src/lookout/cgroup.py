"""The CPU and memory limits of this process, read from its cgroup (v2 unified hierarchy or v1).

Limits nest: a cgroup can use no more than any of its ancestors allows, so the effective limit is the
smallest one on the path from the process's own cgroup (``/proc/self/cgroup``) up to the mount root.
Inside a container with its own cgroup namespace the container's cgroup is that root; without one the
process's path may not exist under the mount, and the mount root is all there is to read.

It imports nothing from Lookout: the instrumentation exports these limits and the health checks use
them, and neither may depend on the other for it.
"""

from __future__ import annotations

import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")
V1_UNLIMITED = 1 << 60
"""cgroup v1 reports "no limit" as a huge page-rounded number (9223372036854771712 on 4 KiB pages)."""


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _memberships(proc_self_cgroup: Path) -> dict[str, str]:
    """``{controller: path}`` from ``/proc/self/cgroup``; the unified hierarchy under ``""``."""
    out: dict[str, str] = {}
    for line in (_read(proc_self_cgroup) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for controller in controllers.split(",") if controllers else [""]:
            out[controller] = path
    return out


def _levels(mount: Path, path: str) -> list[Path]:
    """The process's cgroup directory under ``mount`` and each ancestor up to ``mount`` itself."""
    relative = [part for part in path.split("/") if part and part != ".."]
    levels = [mount.joinpath(*relative[:n]) for n in range(len(relative), -1, -1)]
    existing = [level for level in levels if level.is_dir()]
    return existing or [mount]


def _is_v2(root: Path) -> bool:
    return (root / "cgroup.controllers").is_file()


def _v1_mount(root: Path, controller: str) -> Path | None:
    """Where a v1 controller is mounted: ``memory``, ``cpu``, or a co-mount such as ``cpu,cpuacct``."""
    direct = root / controller
    if direct.is_dir():
        return direct
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return None
    return next((e for e in entries if e.is_dir() and controller in e.name.split(",")), None)


def memory_limit(root: Path = CGROUP_ROOT, proc_self_cgroup: Path = PROC_SELF_CGROUP) -> int | None:
    """Bytes this process may use (v2 ``memory.max``, v1 ``memory.limit_in_bytes``); None when unlimited."""
    memberships = _memberships(proc_self_cgroup)
    if _is_v2(root):
        levels, name = _levels(root, memberships.get("", "/")), "memory.max"
    else:
        mount = _v1_mount(root, "memory")
        if mount is None:
            return None
        levels, name = _levels(mount, memberships.get("memory", "/")), "memory.limit_in_bytes"
    limits: list[int] = []
    for level in levels:
        raw = _read(level / name)
        if raw is None or raw == "max":
            continue
        try:
            value = int(raw)
        except ValueError:
            continue
        if 0 < value < V1_UNLIMITED:
            limits.append(value)
    return min(limits, default=None)


def cpu_quota(root: Path = CGROUP_ROOT, proc_self_cgroup: Path = PROC_SELF_CGROUP) -> float | None:
    """CPU cores this process's cgroup quota allows (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us`` over
    ``cpu.cfs_period_us``); None when there is no quota."""
    memberships = _memberships(proc_self_cgroup)
    quotas: list[float] = []
    if _is_v2(root):
        for level in _levels(root, memberships.get("", "/")):
            fields = (_read(level / "cpu.max") or "").split()
            if len(fields) == 2 and fields[0] != "max":
                quotas.extend(_ratio(fields[0], fields[1]))
    else:
        mount = _v1_mount(root, "cpu")
        if mount is None:
            return None
        for level in _levels(mount, memberships.get("cpu", "/")):
            quota, period = _read(level / "cpu.cfs_quota_us"), _read(level / "cpu.cfs_period_us")
            if quota is not None and period is not None:
                quotas.extend(_ratio(quota, period))
    return min(quotas, default=None)


def _ratio(quota: str, period: str) -> list[float]:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return []
    return [q / p] if q > 0 and p > 0 else []  # v1 writes -1 for "no quota"


def cpu_limit_cores(root: Path = CGROUP_ROOT, proc_self_cgroup: Path = PROC_SELF_CGROUP) -> float:
    """The cgroup's CPU quota in cores, else the host's core count."""
    quota = cpu_quota(root, proc_self_cgroup)
    return quota if quota is not None else float(os.cpu_count() or 1)
