"""What `lookout up` starts: the arguments of its children."""

from __future__ import annotations

import io
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from lookout.config import parse_config
from lookout.runtime.stack import StackOptions, child_specs
from tests.support import free_port


def test_the_console_lists_the_reports_where_lookout_report_writes_them(tmp_path: Path) -> None:
    """`lookout up --reports DIR` reaches the console, made absolute (a child may run from another directory);
    the default is `lookout report`'s own default --out, reports/ where `lookout up` runs."""
    config = parse_config(
        "version: 1\n"
        'tenants: [{name: acme, targets: [{name: api, url: "http://127.0.0.1:9/mcp"}]}]\n'
        "alerting: {receivers: [{name: sink, webhook: {url: http://127.0.0.1:9095/notify}}], routes: {P0: [sink]}}\n"
    )
    options = StackOptions(config_path=tmp_path / "lookout.yaml", data_dir=tmp_path / "data", demo=False)
    for reports, expected in ((options.reports_dir, Path("reports").resolve()), (tmp_path / "r", tmp_path / "r")):
        specs = {spec.name: spec for spec in child_specs(config, replace(options, reports_dir=reports), tmp_path)}
        argv = specs["console"].argv
        assert argv[argv.index("--reports") + 1] == str(expected)


def test_the_demos_port_on_a_configured_listener_is_one_line_naming_both() -> None:
    from lookout.runtime.children import StackError
    from lookout.runtime.stack import _check_ports

    sink = ("listen.sink", f"127.0.0.1:{free_port()}")
    demo = ("demo server, --demo-port", "localhost:" + sink[1].rpartition(":")[2])
    expected = r"^demo server, --demo-port \(localhost:\d+\) and listen.sink \(127.0.0.1:\d+\) both take port"
    with pytest.raises(StackError, match=expected):
        _check_ports([sink, demo])


class _Exited:
    """A child's process as `_supervise` polls it: running (None) or exited with a code."""

    def __init__(self, code: int | None) -> None:
        self.code = code

    def poll(self) -> int | None:
        return self.code


class _Rounds(threading.Event):
    """A stop event that lets `_supervise` look at its children a given number of times, then stops it."""

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.rounds = rounds

    def wait(self, timeout: float | None = None) -> bool:
        self.rounds -= 1
        return self.rounds < 0


HA_CONFIG = (
    "version: 1\n"
    'tenants: [{name: acme, targets: [{name: api, url: "http://127.0.0.1:9/mcp"}]}]\n'
    "alerting: {receivers: [{name: sink, webhook: {url: http://127.0.0.1:9095/notify}}], routes: {P0: [sink]}}\n"
    "ha: {prometheus_replicas: 2, alertmanager_replicas: 3, long_term_storage: victoriametrics}\n"
)


@pytest.mark.parametrize(
    ("dead", "stack_stops"),
    [
        (["prometheus-1"], False),  # one replica of the shard: the other scrapes and alerts
        (["alertmanager"], False),  # one peer of three: the others notify
        (["alertmanager", "alertmanager-2"], False),
        (["victoriametrics"], False),  # alerting never reads the store
        (["prometheus", "prometheus-1"], True),  # the whole shard: nothing evaluates its rules
        (["alertmanager", "alertmanager-1", "alertmanager-2"], True),
        (["exporter"], True),
    ],
)
def test_the_ha_stack_survives_a_replica_and_stops_when_a_role_has_none_left(
    tmp_path: Path, dead: list[str], stack_stops: bool
) -> None:
    """Killing one Prometheus replica, Alertmanager peer or the store under `lookout up` used to stop the whole
    HA stack (each was essential alone), which is the very outage the topology is there to survive."""
    from lookout.runtime.children import Child
    from lookout.runtime.stack import _supervise

    config = parse_config(HA_CONFIG)
    options = StackOptions(config_path=tmp_path / "lookout.yaml", data_dir=tmp_path / "data", demo=False)
    children = [
        Child(spec, _Exited(-9 if spec.name in dead else None), tmp_path / f"{spec.name}.pid")  # type: ignore[arg-type]
        for spec in child_specs(config, options, tmp_path)
    ]
    assert set(dead) <= {child.name for child in children}
    console = Console(file=io.StringIO(), width=300)
    code = _supervise(children, _Rounds(3), console)
    said = console.file.getvalue()  # type: ignore[attr-defined]
    assert code == (1 if stack_stops else 0), said
    assert ("stopping the stack" in said) == stack_stops, said
    for name in dead if not stack_stops else ():
        assert f"{name} exited with code -9" in said, said
