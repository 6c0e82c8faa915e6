"""CPU and memory limits read from cgroup v2 and v1 layouts (fixture trees), and their export."""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import CollectorRegistry

from lookout import cgroup
from lookout import metrics as m
from lookout.demo.server import build_server
from lookout.instrument import Metrics, instrument
from lookout.instrument.recorder import ProcessLimitsCollector
from tests.instrument_support import value


def write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def v2(tmp_path: Path, files: dict[str, str], membership: str = "0::/app.slice/server.scope\n") -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    write(root, {"cgroup.controllers": "cpu memory pids\n", **files})
    (root / "app.slice" / "server.scope").mkdir(parents=True, exist_ok=True)
    write(tmp_path, {"self-cgroup": membership})
    return root, tmp_path / "self-cgroup"


V1_MEMBERSHIP = "12:memory:/kubepods/pod1\n4:cpu,cpuacct:/kubepods/pod1\n0::/\n"


def v1(tmp_path: Path, files: dict[str, str], membership: str = V1_MEMBERSHIP) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    write(root, files)
    for mount in ("memory/kubepods/pod1", "cpu,cpuacct/kubepods/pod1", "unified"):
        (root / mount).mkdir(parents=True, exist_ok=True)
    write(tmp_path, {"self-cgroup": membership})
    return root, tmp_path / "self-cgroup"


def test_v2_the_tightest_limit_on_the_path_to_the_root(tmp_path: Path) -> None:
    root, proc = v2(
        tmp_path,
        {
            "app.slice/memory.max": "1073741824\n",
            "app.slice/server.scope/memory.max": "max\n",
            "app.slice/cpu.max": "max 100000\n",
            "app.slice/server.scope/cpu.max": "150000 100000\n",
        },
    )
    assert cgroup.memory_limit(root, proc) == 1 << 30
    assert cgroup.cpu_quota(root, proc) == 1.5
    assert cgroup.cpu_limit_cores(root, proc) == 1.5


def test_v2_unlimited(tmp_path: Path) -> None:
    root, proc = v2(
        tmp_path, {"app.slice/server.scope/memory.max": "max\n", "app.slice/server.scope/cpu.max": "max 100000\n"}
    )
    assert cgroup.memory_limit(root, proc) is None
    assert cgroup.cpu_quota(root, proc) is None
    assert cgroup.cpu_limit_cores(root, proc) == float(os.cpu_count() or 1)


def test_v2_inside_a_container_namespace_reads_the_root(tmp_path: Path) -> None:
    root, proc = v2(tmp_path, {"memory.max": "536870912\n", "cpu.max": "50000 100000\n"}, membership="0::/\n")
    assert cgroup.memory_limit(root, proc) == 512 << 20
    assert cgroup.cpu_quota(root, proc) == 0.5


def test_v1_limits_and_co_mounted_cpu_controller(tmp_path: Path) -> None:
    root, proc = v1(
        tmp_path,
        {
            "memory/memory.limit_in_bytes": "9223372036854771712\n",
            "memory/kubepods/pod1/memory.limit_in_bytes": "268435456\n",
            "cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
            "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
            "cpu,cpuacct/kubepods/pod1/cpu.cfs_quota_us": "200000\n",
            "cpu,cpuacct/kubepods/pod1/cpu.cfs_period_us": "100000\n",
        },
    )
    assert cgroup.memory_limit(root, proc) == 256 << 20
    assert cgroup.cpu_quota(root, proc) == 2.0


def test_v1_unlimited_and_a_path_missing_under_the_mount(tmp_path: Path) -> None:
    # Without a cgroup namespace the process's path may not exist under the container's mount.
    membership = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n"
    root, proc = v1(
        tmp_path,
        {
            "memory/memory.limit_in_bytes": "9223372036854771712\n",
            "cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
            "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
        },
        membership,
    )
    assert cgroup.memory_limit(root, proc) is None
    assert cgroup.cpu_quota(root, proc) is None


def test_no_cgroup_filesystem_at_all(tmp_path: Path) -> None:
    assert cgroup.memory_limit(tmp_path / "absent", tmp_path / "absent-cgroup") is None
    assert cgroup.cpu_limit_cores(tmp_path / "absent", tmp_path / "absent-cgroup") == float(os.cpu_count() or 1)


def test_limits_are_exported_and_an_unlimited_memory_has_no_sample() -> None:
    registry = CollectorRegistry()
    limits = {"memory": 256 << 20}
    registry.register(ProcessLimitsCollector(cpu=lambda: 1.5, memory=lambda: limits["memory"]))
    assert value(registry, m.PROCESS_CPU_LIMIT.name) == 1.5
    assert value(registry, m.PROCESS_MEMORY_LIMIT.name) == 256 << 20
    limits["memory"] = None  # type: ignore[assignment]
    assert value(registry, m.PROCESS_MEMORY_LIMIT.name) is None
    assert value(registry, m.PROCESS_CPU_LIMIT.name) == 1.5


def test_instrument_exports_the_limits_of_this_process() -> None:
    handle = instrument(build_server(), CollectorRegistry())
    assert value(handle.registry, m.PROCESS_CPU_LIMIT.name) == cgroup.cpu_limit_cores()
    assert value(handle.registry, m.PROCESS_MEMORY_LIMIT.name) == cgroup.memory_limit()
    without = instrument(build_server(), CollectorRegistry(), metrics=Metrics(process=False))
    assert value(without.registry, m.PROCESS_CPU_LIMIT.name) is None
