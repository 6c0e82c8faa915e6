"""`lookout drill`: the registry covers the alert catalog exactly, and the report renders as a table and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config import load_config
from lookout.runtime.drill import (
    FAILED,
    NOT_DRILLABLE,
    PASSED,
    DrillError,
    DrillReport,
    DrillResult,
    RuleInfo,
    Stack,
    render_json,
    render_table,
    select,
    slow_warnings,
)
from lookout.runtime.drills import DRILLS, Drill, InjectFault, NotDrillable, Scope, StopChild
from lookout.runtime.state import StackState
from lookout.stack.rules import ALERTS


def test_every_alert_of_the_catalog_has_exactly_one_drill_entry() -> None:
    catalog = {alert.name for alert in ALERTS}
    assert set(DRILLS) - catalog == set(), "drill entries for alerts that no longer exist"
    assert catalog - set(DRILLS) == set(), "alerts without a drill entry: add a Drill or NotDrillable to DRILLS"


def test_every_entry_is_a_drill_or_a_reason() -> None:
    for name, entry in DRILLS.items():
        assert isinstance(entry, Drill | NotDrillable), name
        if isinstance(entry, NotDrillable):
            assert entry.reason.strip(), f"{name}: a not-drillable alert needs its reason"


def test_escalation_drills_name_a_drilled_alert_with_the_same_action() -> None:
    for name, entry in DRILLS.items():
        if isinstance(entry, Drill) and entry.escalated_from is not None:
            source = DRILLS[entry.escalated_from]
            assert isinstance(source, Drill) and source.action == entry.action, name


def test_tool_scoped_drills_fault_one_named_tool() -> None:
    for name, entry in DRILLS.items():
        if isinstance(entry, Drill) and entry.scope is Scope.TOOL:
            assert isinstance(entry.action, InjectFault) and entry.action.tool != "*", name


def test_every_priority_has_a_drillable_alert() -> None:
    drillable = {a.priority for a in ALERTS if isinstance(DRILLS.get(a.name), Drill)}
    assert {p.value for p in drillable} == {"P0", "P1", "P2", "P3"}


def test_select_keeps_the_registry_order_and_refuses_unknown_names() -> None:
    names = select(["MCPErrorBudgetBurnFast", "Watchdog"])
    assert names == ["Watchdog", "MCPErrorBudgetBurnFast"]
    assert select([]) == [n for n in DRILLS if n in {a.name for a in ALERTS}]
    with pytest.raises(DrillError, match="--alert NoSuchAlert: no such alert"):
        select(["NoSuchAlert"])


def _report() -> DrillReport:
    return DrillReport(
        results=[
            DrillResult("MCPServerDown", "P0", StopChild("demo-server").describe(), PASSED, "", 12.4, "local-sink", 3),
            DrillResult("MCPErrorRatioHigh", "P1", "fault", FAILED, "did not fire in Prometheus in time"),
            DrillResult("MCPSessionLeak", "P2", "—", NOT_DRILLABLE, "it needs 30 minutes"),
        ]
    )


def test_table_has_the_columns_and_one_row_per_alert() -> None:
    console = Console(width=200, record=True)
    console.print(render_table(_report()))
    text = console.export_text()
    header = text.splitlines()[2]
    for column in ("alert", "priority", "fired after", "receiver", "resolved after", "result"):
        assert column in header
    row = next(line for line in text.splitlines() if "MCPServerDown" in line)
    assert "P0" in row and "12s" in row and "local-sink" in row and "3s" in row and "passed" in row
    assert "failed: did not fire in Prometheus in time" in text
    assert "not drillable: it needs 30 minutes" in text


def test_json_report_counts_and_rounds() -> None:
    data = json.loads(render_json(_report()))
    assert data["counts"] == {"passed": 1, "failed": 1, "skipped": 0, "not drillable": 1}
    first = data["alerts"][0]
    assert first == {
        "alert": "MCPServerDown",
        "priority": "P0",
        "action": "stop demo-server",
        "status": "passed",
        "detail": "",
        "fired_after_s": 12.4,
        "receiver": "local-sink",
        "resolved_after_s": 3.0,
    }
    assert data["alerts"][1]["fired_after_s"] is None


def test_cli_without_a_running_stack_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["drill", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert f"no stack is running in {tmp_path}" in result.output


def test_cli_unknown_alert_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["drill", "--data-dir", str(tmp_path), "--alert", "Nope"])
    assert result.exit_code == 2
    assert "--alert Nope: no such alert" in result.output


def _stack_on(profile: str, for_s: float) -> Stack:
    config = load_config(Path(__file__).parents[2] / "examples" / profile)
    state = StackState(1, profile, "/nonexistent", None, None)
    rules = {"MCPServerDown": RuleInfo(for_s, "P0"), "Watchdog": RuleInfo(0, "P3")}
    return Stack(state, config, Path("/nonexistent"), rules, ("demo", "demo-server"))


def test_a_stack_off_the_drill_profile_is_warned_about() -> None:
    warnings = slow_warnings(_stack_on("lookout.yaml", 60 * 60), ["MCPServerDown", "Watchdog"])
    assert len(warnings) == 1
    assert "examples/lookout-drill.yaml" in warnings[0] and "MCPServerDown (for 3600s" in warnings[0]
    assert "group_interval" not in warnings[0], "the default P0 group_interval (1m) is not slow, the for is"


def test_the_drill_profile_is_quick() -> None:
    assert slow_warnings(_stack_on("lookout-drill.yaml", 25), ["MCPServerDown", "Watchdog"]) == []


def test_an_escalation_on_the_drill_profile_is_not_called_slow() -> None:
    stack = _stack_on("lookout-drill.yaml", 25)
    stack.rules["LookoutEscalatedP1"] = RuleInfo(7 * 60, "P0")
    assert slow_warnings(stack, ["LookoutEscalatedP1"]) == []
    stack.rules["LookoutEscalatedP1"] = RuleInfo(30 * 60, "P0")
    assert "LookoutEscalatedP1 (for 1800s)" in slow_warnings(stack, ["LookoutEscalatedP1"])[0]
