"""Metric names are found everywhere a PromQL expression can select a series."""

from __future__ import annotations

from pathlib import Path

import pytest

from lookout.check.contract import check_rule_contract, metric_names
from lookout.config import load_config
from lookout.stack import render_stack, write_stack

ROOT = Path(__file__).resolve().parents[2]


def test_metric_names_in_every_position() -> None:
    expr = (
        'sum by (a) (rate(a_total{x="1"}[5m])) / on (a) group_left () b > 0 or vector(1)'
        ' or label_replace(c, "a", "$1", "b", "(.*)") and absent(up{job="x"}) - time()'
        ' or max_over_time(d[5m:1m]) or histogram_quantile(0.9, e_bucket) or -f or {__name__="g"}'
        " or topk(3, h) or quantile(0.5, i)"
    )
    assert metric_names(expr) == ["a_total", "b", "c", "d", "e_bucket", "f", "g", "h", "i", "up"]


def test_unparsable_promql_is_an_error() -> None:
    with pytest.raises(ValueError):
        metric_names("sum(rate(x[5m])")


def test_generated_rules_keep_the_contract(tmp_path: Path) -> None:
    for config in ("examples/lookout.yaml", "tests/rules/lookout.yaml", "tests/rules/routing.yaml"):
        write_stack(render_stack(load_config(ROOT / config)), tmp_path / config)
        assert check_rule_contract(tmp_path / config) == []


def test_a_tenant_without_targets_still_keeps_the_contract(tmp_path: Path) -> None:
    config = ROOT / "tests" / "rules" / "lookout.yaml"
    text = config.read_text()
    head, _, _ = text.partition("  - name: acme")
    empty = tmp_path / "lookout.yaml"
    empty.write_text(head + "  - name: acme\n" + text[text.index("alerting:") :])
    write_stack(render_stack(load_config(empty)), tmp_path / "stack")
    assert check_rule_contract(tmp_path / "stack") == []
