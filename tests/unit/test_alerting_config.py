"""The alerting parts of lookout.yaml: intervals and retention the rules can live with (refused otherwise with
one line, exit 2, through `lookout config validate`), absolute runbook and dashboard links, a known default
receiver, summaries that state the configured numbers, and the tool-error decision of the availability SLI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lookout.config import parse_config
from lookout.stack.rules import ALERTS, alert_rule, render_recording_rules
from tests.support import lookout_argv

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "examples" / "lookout.yaml").read_text()


def _validate(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "lookout.yaml"
    path.write_text(text)
    return subprocess.run(lookout_argv("config", "validate", str(path)), capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("scrape_interval: 5s", "scrape_interval: 10m", ["timing.scrape_interval", "10m", "at most 75s"]),
        ("evaluation_interval: 5s", "evaluation_interval: 2m", ["timing.evaluation_interval", "at most 75s"]),
        ("metrics: 35d", "metrics: 15d", ["retention.metrics", "15d", "30d"]),
        (
            "  heartbeat_receiver: local-sink",
            "  heartbeat_receiver: local-sink\n  runbook_base_url: docs/runbooks",
            ["alerting.runbook_base_url", "absolute URL"],
        ),
        (
            "  heartbeat_receiver: local-sink",
            "  heartbeat_receiver: local-sink\n  slo: {min_request_rate: 0.1}",
            ["alerting.slo", "min_failed_requests"],
        ),
        (
            "  heartbeat_receiver: local-sink",
            "  heartbeat_receiver: local-sink\n  default_receiver: nobody",
            ["alerting.default_receiver", "nobody"],
        ),
        (
            "  heartbeat_receiver: local-sink",
            "  heartbeat_receiver: local-sink\n  tool_footprint: {max_growth: 0}",
            ["alerting.tool_footprint.max_growth", "greater than 0"],
        ),
    ],
)
def test_refused_with_one_line_naming_the_field(tmp_path: Path, old: str, new: str, expected: list[str]) -> None:
    assert old in EXAMPLE
    result = _validate(tmp_path, EXAMPLE.replace(old, new))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for part in expected:
        assert part in lines[0]


def test_75s_is_the_longest_interval_accepted(tmp_path: Path) -> None:
    text = EXAMPLE.replace("scrape_interval: 5s", "scrape_interval: 75s").replace("metrics: 35d", "metrics: 30d")
    assert _validate(tmp_path, text).returncode == 0


TUNED = EXAMPLE.replace(
    "  heartbeat_receiver: local-sink\n",
    """  heartbeat_receiver: local-sink
  runbook_base_url: https://runbooks.example.com/lookout/
  dashboard_base_url: https://grafana.example.com
  certificate_expiry_warning: 30d
  slo: {error_ratio_threshold: 0.05, latency_p99_threshold: 0.25, budget_low: 0.1}
  resources: {utilization_threshold: 0.8, in_flight_threshold: 0.9, forecast_horizon: 2h}
  tool_footprint: {max_tokens: 8000, max_growth: 0.5, growth_window: 6h}
""",
)


def _summaries(text: str) -> dict[str, dict[str, str]]:
    config = parse_config(text)
    return {a.name: rule["annotations"] for a in ALERTS if (rule := alert_rule(a, config)) is not None}


def test_summaries_state_the_configured_numbers() -> None:
    annotations = _summaries(TUNED)
    assert annotations["MCPErrorRatioHigh"]["summary"] == "MCP error ratio above the 5 % policy"
    assert annotations["MCPToolErrorRatioHigh"]["summary"] == "MCP tool error ratio above the 5 % policy"
    assert annotations["MCPLatencyP99High"]["summary"] == "MCP p99 latency above the 250 ms policy"
    assert annotations["MCPCPUUtilizationHigh"]["summary"] == "MCP server CPU utilization above 80 %"
    assert annotations["MCPCapacityHigh"]["summary"] == "MCP request rate above 80 % of benchmarked capacity"
    assert "90 %" in annotations["MCPInFlightSaturation"]["summary"]
    assert annotations["MCPErrorBudgetLow"]["summary"] == "Less than 10 % of the 30-day error budget is left"
    assert annotations["MCPCertificateExpiringSoon"]["summary"] == "TLS certificate expires within 30d"
    assert annotations["MCPMemoryExhaustionForecast"]["summary"] == "MCP server memory runs out within 2h"
    assert (
        annotations["MCPToolDefinitionsFootprintHigh"]["summary"]
        == "MCP tool definitions above 8000 tokens, or grown more than 50 % in 6h"
    )
    for name, a in annotations.items():
        for default in ("0.1 %", "100 ms", "70 %", "a quarter", "14 days"):
            assert default not in a["summary"], f"{name}: {a['summary']!r} hard-codes {default}"


def test_links_are_absolute_and_never_an_empty_dashboard() -> None:
    for name, a in _summaries(TUNED).items():
        assert a["runbook_url"] == f"https://runbooks.example.com/lookout/{name}.md"
        if "dashboard_url" in a:
            assert a["dashboard_url"].count("https://grafana.example.com/d/lookout-demo-server?") == 1
            assert "/d/?" not in a["dashboard_url"] and "/d/{{" not in a["dashboard_url"]
    stack = {a.name for a in ALERTS if dict(a.static_labels).get("tenant") == "_lookout"}
    assert stack and all("dashboard_url" not in _summaries(TUNED)[n] for n in stack)
    defaults = _summaries(EXAMPLE)["MCPServerDown"]
    assert defaults["runbook_url"] == "http://127.0.0.1:3000/runbooks/MCPServerDown.md"


def test_whether_tool_errors_burn_availability_is_one_setting() -> None:
    def availability_rule(text: str) -> str:
        rules = render_recording_rules(parse_config(text))
        line = next(x for x in rules.splitlines() if "tenant_service:mcp_availability_errors:ratio_rate1h" in x)
        return rules.split(line, 1)[1].split("- record:", 1)[0]

    assert 'error_class=~"server"' in availability_rule(EXAMPLE)
    counted = EXAMPLE.replace(
        "  heartbeat_receiver: local-sink\n",
        "  heartbeat_receiver: local-sink\n  slo: {tool_errors_count_against_availability: true}\n",
    )
    assert 'error_class=~"server|tool"' in availability_rule(counted)


def test_footprint_alert_reads_its_budget_growth_and_window_from_the_config() -> None:
    config = parse_config(TUNED)
    rule = alert_rule(next(a for a in ALERTS if a.name == "MCPToolDefinitionsFootprintHigh"), config)
    assert rule is not None
    assert "> 8000," in rule["expr"] and "> 1.5 * (min by" in rule["expr"] and "[6h]" in rule["expr"]


def test_escalations_state_the_time_they_are_configured_to_wait() -> None:
    """An override of an escalation's `for` is the time the page says the original has fired."""
    shortened = EXAMPLE.replace(
        "  heartbeat_receiver: local-sink\n",
        "  heartbeat_receiver: local-sink\n  alerts: {LookoutEscalatedP1: {for: 15m}, LookoutEscalatedP2: {for: 2h}}\n",
    )
    for text, p1, p2 in ((EXAMPLE, "30m", "4h"), (shortened, "15m", "2h")):
        annotations = _summaries(text)
        assert annotations["LookoutEscalatedP1"]["summary"] == f"A P1 alert has fired for {p1}: escalated to P0"
        assert annotations["LookoutEscalatedP1"]["description"].endswith(f"is still firing after {p1}.")
        assert annotations["LookoutEscalatedP2"]["summary"] == f"A P2 alert has fired for {p2}: escalated to P1"
        assert annotations["LookoutEscalatedP2"]["description"].endswith(f"is still firing after {p2}.")
