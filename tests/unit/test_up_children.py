"""What `lookout up` starts: the arguments of its children."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

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
