"""The alert catalog and recording rules under `promtool test rules`: every alert fires under its condition
and stays silent on healthy and on zero traffic (tests/rules/*.test.yml), and a meta-test keeps it so."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from lookout.config import load_config
from lookout.stack.rules import ALERTS, alert_rule, render_alert_rules, render_recording_rules
from lookout.stack.yamlio import dump_yaml
from tests.support import require_binary

pytestmark = pytest.mark.tools


def load_yaml(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


RULE_TESTS = Path(__file__).resolve().parents[1] / "rules"
TEST_FILES = sorted(RULE_TESTS.glob("*.test.yml"))
CONFIG = load_config(RULE_TESTS / "lookout.yaml")
CATALOG = [a.name for a in ALERTS if alert_rule(a, CONFIG) is not None]


def _without_annotations(alerts_yaml: str) -> str:
    data = load_yaml(alerts_yaml)
    for group in data["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return dump_yaml(data)


def write_rule_dir(directory: Path, alerts_yaml: str | None = None) -> Path:
    """The generated rules beside the test files, as promtool resolves rule_files relative to a test file."""
    alerts = alerts_yaml if alerts_yaml is not None else render_alert_rules(CONFIG)
    (directory / "alerts-annotated.yml").write_text(alerts)
    (directory / "alerts.yml").write_text(_without_annotations(alerts))
    (directory / "recording.yml").write_text(render_recording_rules(CONFIG))
    for test_file in TEST_FILES:
        shutil.copy(test_file, directory / test_file.name)
    return directory


def promtool_test(directory: Path, name: str) -> subprocess.CompletedProcess[str]:
    argv = [require_binary("promtool"), "test", "rules", name]
    return subprocess.run(argv, cwd=directory, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def rule_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_rule_dir(tmp_path_factory.mktemp("rules"))


@pytest.mark.parametrize("test_file", [p.name for p in TEST_FILES])
def test_promtool_rule_tests_pass(rule_dir: Path, test_file: str) -> None:
    result = promtool_test(rule_dir, test_file)
    assert result.returncode == 0, result.stdout + result.stderr


def _alert_cases() -> list[tuple[str, str, dict[str, Any]]]:
    """(file, test group name, alert_rule_test case) for every case of every test file."""
    cases = []
    for test_file in TEST_FILES:
        for group in load_yaml(test_file.read_text())["tests"]:
            for case in group.get("alert_rule_test") or []:
                cases.append((test_file.name, group.get("name", ""), case))
    return cases


def test_every_alert_has_a_firing_case() -> None:
    firing = {case["alertname"] for _, _, case in _alert_cases() if case.get("exp_alerts")}
    missing = sorted(set(CATALOG) - firing)
    assert not missing, f"alerts without a promtool case where they fire: {missing}"


def test_every_alert_is_checked_silent_on_healthy_and_zero_traffic() -> None:
    for scenario in ("healthy traffic", "zero traffic"):
        silent = {
            case["alertname"]
            for file, group, case in _alert_cases()
            if file == "silence.test.yml" and group.startswith(scenario) and not case.get("exp_alerts")
        }
        missing = sorted(set(CATALOG) - {"Watchdog"} - silent)
        assert not missing, f"alerts not checked silent on {scenario}: {missing}"


def test_rule_tests_catch_a_broken_rule(tmp_path: Path) -> None:
    """The harness can fail: with its threshold raised past 100 %, the error-ratio alert misses its firing case."""
    broken = render_alert_rules(CONFIG).replace(
        "tenant_service:mcp_errors:ratio_rate5m > 0.001", "tenant_service:mcp_errors:ratio_rate5m > 1"
    )
    assert broken != render_alert_rules(CONFIG)
    result = promtool_test(write_rule_dir(tmp_path, broken), "traffic.test.yml")
    assert result.returncode != 0
    assert "MCPErrorRatioHigh" in result.stdout + result.stderr


def test_every_firing_alert_carries_priority_severity_tenant_and_service() -> None:
    for file, group, case in _alert_cases():
        for alert in case.get("exp_alerts") or []:
            labels = alert.get("exp_labels", {})
            missing = {"priority", "severity", "tenant", "service"} - set(labels)
            assert not missing, f"{file}: {group}: {case['alertname']} lacks {sorted(missing)}"


def test_no_group_name_is_both_a_recording_and_an_alert_group() -> None:
    """A PrometheusRule (and a Mimir or Thanos ruler namespace) holds both files' groups in one rule file, and
    Prometheus refuses a file that repeats a group name: every rule of it would be lost."""
    recorded = [g["name"] for g in load_yaml(render_recording_rules(CONFIG))["groups"]]
    alerting = [g["name"] for g in load_yaml(render_alert_rules(CONFIG))["groups"]]
    assert len(set(recorded + alerting)) == len(recorded + alerting), sorted(recorded + alerting)
