"""`lookout check`: passes on the generated stack, reports each broken file as one finding line (exit 1),
and refuses bad input with one line (exit 2)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lookout.config import load_config
from lookout.stack import DeployTarget, render_stack, write_stack
from tests.support import free_port, lookout_argv

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "lookout.yaml"
ROUTING = ROOT / "tests" / "rules" / "routing.yaml"


def lookout(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(lookout_argv(*args), capture_output=True, text=True, timeout=300, cwd=ROOT)


def generated(tmp_path: Path, config: Path = EXAMPLE) -> Path:
    write_stack(render_stack(load_config(config), DeployTarget.NATIVE), tmp_path)
    return tmp_path


def test_check_passes_on_the_example_and_on_production_routing() -> None:
    for config in (EXAMPLE, ROUTING):
        result = lookout("check", "--config", str(config))
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout == ""
        assert "promtool" in result.stderr and "routes" in result.stderr and "contract" in result.stderr


def test_a_stack_named_by_a_relative_path_passes(tmp_path: Path) -> None:
    """--out relative to the current directory: promtool and amtool, run in the stack's directory, get its files."""
    stack = generated(tmp_path / "stack")
    result = subprocess.run(
        lookout_argv("check", "--config", str(EXAMPLE), "--out", stack.name),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_a_rule_querying_an_unknown_metric_breaks_the_contract(tmp_path: Path) -> None:
    stack = generated(tmp_path)
    alerts = stack / "prometheus/rules/alerts.yml"
    down = 'expr: max by (tenant, service) (up{job="mcp"}) == 0 or'
    alerts.write_text(alerts.read_text().replace(down, "expr: mcp_made_up_total == 0 or", 1))
    result = lookout("check", "--config", str(EXAMPLE), "--out", str(stack))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "contract: prometheus/rules/alerts.yml: MCPServerDown: "
        "mcp_made_up_total is emitted by nothing the stack deploys"
    ]


def test_json_report_of_a_broken_alertmanager_config(tmp_path: Path) -> None:
    stack = generated(tmp_path)
    am = stack / "alertmanager/alertmanager.yml"
    am.write_text(am.read_text().replace("group_by:", "group_by_typo:"))
    result = lookout("check", "--config", str(EXAMPLE), "--out", str(stack), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    checks = {f["check"] for f in report["findings"]}
    assert "amtool" in checks
    assert all(f["file"] == "alertmanager/alertmanager.yml" for f in report["findings"])


def test_promtool_finding_for_a_rule_that_does_not_parse(tmp_path: Path) -> None:
    stack = generated(tmp_path)
    rules = stack / "prometheus/rules/recording.yml"
    rules.write_text(
        rules.read_text().replace("sum by (tenant, service) (rate(", "sum by (tenant, service) (rate((", 1)
    )
    result = lookout("check", "--config", str(EXAMPLE), "--out", str(stack))
    assert result.returncode == 1
    assert any(line.startswith("promtool: prometheus/rules/recording.yml: ") for line in result.stdout.splitlines())


def test_a_stdio_target_in_the_containerised_stack_is_a_warning_not_a_finding(tmp_path: Path) -> None:
    """The compose and Kubernetes exporter cannot start `npx` (its image holds Python and Lookout only): check warns
    in one line naming the target, and passes; a native-only stack (the exporter on the host) gets no warning."""
    config = tmp_path / "lookout.yaml"
    config.write_text(
        EXAMPLE.read_text().replace(
            "    targets:\n",
            '    targets:\n      - {name: files, transport: stdio, url: "npx @modelcontextprotocol/server-memory"}\n',
            1,
        )
    )
    result = lookout("check", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    [warning] = [line for line in result.stderr.splitlines() if "(files)" in line]
    assert warning.startswith("lookout: warning: tenants[0].targets[0] (files): ") and "`npx`" in warning
    native = generated(tmp_path / "native", config)
    result = lookout("check", "--config", str(config), "--out", str(native))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(files)" not in result.stderr


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    cases = [
        ("check", "--config", str(tmp_path / "missing.yaml")),
        ("check", "--config", str(EXAMPLE), "--out", str(tmp_path / "nowhere")),
        ("check", "--config", str(EXAMPLE), "--live", f"http://127.0.0.1:{free_port()}"),
    ]
    for argv in cases:
        result = lookout(*argv)
        assert result.returncode == 2, (argv, result.stdout, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
