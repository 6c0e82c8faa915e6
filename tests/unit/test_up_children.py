"""What `lookout up` starts: the arguments of its children."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from lookout.config import parse_config
from lookout.runtime.stack import StackOptions, child_specs


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
