"""On-call scenarios under `promtool test rules`: for each, which alerts page, at which priority, by when, and
which stay quiet — against the rules generated from examples/lookout.yaml and from a two-tenant, three-service
fleet (tests/scenarios/fleet.yaml, acme/api with three replicas). The expected labels are written out here by
hand: the oracle does not come from the generator. docs/alerts.md lists the scenarios."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lookout.config import load_config, parse_config
from lookout.config.model import Config
from lookout.stack.rules import render_alert_rules, render_recording_rules
from lookout.stack.yamlio import dump_yaml
from tests.scenarios.series import (
    Replica,
    Scenario,
    Stream,
    at,
    between,
    const,
    labels,
    pattern,
)
from tests.support import require_binary

pytestmark = pytest.mark.tools

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CONFIGS = {"example": load_config(ROOT / "examples" / "lookout.yaml"), "fleet": load_config(HERE / "fleet.yaml")}

DEMO = Replica("demo", "demo-server", "127.0.0.1:8080")
API = [Replica("acme", "api", f"10.0.0.{i}:8080") for i in (1, 2, 3)]
SEARCH = Replica("acme", "search", "10.0.1.1:8080")
SOLO = Replica("beta", "solo", "10.0.2.1:8080")
ACME = [*API, SEARCH]
"""Every replica of tenant acme."""
REPLICAS = {"example": [DEMO], "fleet": [*API, SEARCH, SOLO]}
MAIN = {"example": DEMO, "fleet": SEARCH}
"""The single-replica service a portable scenario is about, per config."""

SEVERITY = {"P0": "critical", "P1": "error", "P2": "warning", "P3": "info"}
FAMILY = {
    "MCPServerDown": "availability",
    "MCPServerInstanceDown": "availability",
    "MCPProbeFailing": "availability",
    "MCPTenantDown": "availability",
    "MCPErrorBudgetBurnFast": "errors",
    "MCPErrorBudgetBurnMedium": "errors",
    "MCPErrorRatioHigh": "errors",
    "MCPToolErrorRatioHigh": "errors",
    "MCPLatencyP99High": "latency",
    "MCPToolLatencyP99High": "latency",
    "MCPLatencyBudgetBurnFast": "latency",
    "MCPInFlightSaturation": "resources",
    "MCPCPUUtilizationHigh": "resources",
    "LookoutAuxiliaryComponentDown": "stack",
    "LookoutStackComponentDown": "stack",
    "LookoutStackReplicaDown": "stack",
}
ERROR_ALERTS = ("MCPErrorBudgetBurnFast", "MCPErrorBudgetBurnMedium", "MCPErrorRatioHigh", "MCPToolErrorRatioHigh")
DOWN_ALERTS = ("MCPServerDown", "MCPServerInstanceDown", "MCPTenantDown", "MCPProbeFailing")


def page(
    alert: str, when: str, priority: str, r: Replica | None = None, **extra: str
) -> tuple[str, str, dict[str, str]]:
    found = {"tenant": r.tenant, "service": r.service} if r is not None else {}
    found.update(extra)
    family = {"family": extra.pop("family")} if "family" in extra else {"family": FAMILY[alert]}
    return alert, when, {**found, **family, "priority": priority, "severity": SEVERITY[priority]}


def quiet(alerts: tuple[str, ...] | list[str], *when: str) -> list[tuple[str, str]]:
    return [(a, w) for a in alerts for w in when]


def up(r: Replica, per_minute: Callable[[int], float | None]) -> tuple[str, Callable[[int], float | None]]:
    return f"up{{{r.selector()}}}", per_minute


def probe(r: Replica, per_minute: Callable[[int], float | None]) -> tuple[str, Callable[[int], float | None]]:
    sel = labels(job="lookout-probe-discover", tenant=r.tenant, service=r.service, instance=f"http://{r.instance}/mcp")
    return f"probe_success{{{sel}}}", per_minute


# ---------------------------------------------------------------- scenarios that run against both configs
def counter_reset(r: Replica) -> Scenario:
    stream = Stream(r, ok=const(60), client=const(2), resets=(30,))
    started = ("process_start_time_seconds{" + r.selector() + "}", lambda x: 1000.0 if x < 30 else 2800.0)
    return Scenario(
        "a restart resets every counter: nothing pages",
        60,
        [stream],
        [started],
        quiet=quiet((*ERROR_ALERTS, *DOWN_ALERTS), "31m", "35m", "45m"),
    )


def one_failing_tool(r: Replica) -> Scenario:
    healthy = [Stream(r, tool=f"tool{i}", ok=const(60)) for i in range(9)]
    broken = Stream(r, tool="broken", server=const(60))
    return Scenario(
        "one tool of ten fails every call",
        30,
        [*healthy, broken],
        pages=[
            page("MCPErrorBudgetBurnFast", "8m", "P0", r),
            page("MCPErrorRatioHigh", "12m", "P1", r),
            page("MCPToolErrorRatioHigh", "12m", "P1", r, gen_ai_tool_name="broken"),
        ],
        quiet=quiet(DOWN_ALERTS, "12m"),
    )


def all_tools_raising(r: Replica) -> Scenario:
    streams = [Stream(r, tool=t, server=const(30)) for t in ("alpha", "beta", "gamma")]
    return Scenario(
        "every tool raises",
        30,
        streams,
        pages=[
            page("MCPErrorBudgetBurnFast", "8m", "P0", r),
            page("MCPErrorRatioHigh", "12m", "P1", r),
            *(page("MCPToolErrorRatioHigh", "12m", "P1", r, gen_ai_tool_name=t) for t in ("alpha", "beta", "gamma")),
        ],
        quiet=quiet((*DOWN_ALERTS, "MCPLatencyP99High"), "12m"),
    )


def low_traffic_total_failure(r: Replica) -> Scenario:
    return Scenario(
        "1 request a minute, every one failing: pages",
        30,
        [Stream(r, server=const(1))],
        pages=[page("MCPErrorBudgetBurnFast", "10m", "P0", r), page("MCPErrorRatioHigh", "12m", "P1", r)],
        quiet=quiet(("MCPErrorBudgetBurnFast", "MCPErrorRatioHigh"), "2m") + quiet(DOWN_ALERTS, "12m"),
    )


def third_party_emitter(r: Replica) -> Scenario:
    return Scenario(
        "a server without Lookout's error counter (convention histogram only) still pages",
        30,
        [Stream(r, ok=const(54), server=const(6), primed=False)],
        pages=[page("MCPErrorBudgetBurnFast", "10m", "P0", r), page("MCPErrorRatioHigh", "12m", "P1", r)],
        quiet=quiet(DOWN_ALERTS, "12m"),
    )


def low_traffic_one_failure(r: Replica) -> Scenario:
    return Scenario(
        "8 requests a minute with one failure: nothing",
        100,
        # After the first hour, so that no window is younger than the service.
        [Stream(r, ok=const(8), server=at([70]))],
        quiet=quiet(ERROR_ALERTS, "71m", "73m", "74m", "75m", "80m"),
    )


def low_traffic_two_tool_errors(r: Replica) -> Scenario:
    return Scenario(
        "12 requests a minute with two tool errors: nothing",
        40,
        [Stream(r, ok=const(12), tool_errors=at([15, 17]))],
        quiet=quiet(ERROR_ALERTS, "18m", "20m", "21m", "22m"),
    )


def tool_errors_are_not_outages(r: Replica) -> Scenario:
    return Scenario(
        "half the calls end in deliberate tool errors: P1 error ratios, no availability burn",
        30,
        [Stream(r, ok=const(30), tool_errors=const(30))],
        pages=[
            page("MCPErrorRatioHigh", "12m", "P1", r),
            page("MCPToolErrorRatioHigh", "12m", "P1", r, gen_ai_tool_name="search_docs"),
        ],
        quiet=quiet(("MCPErrorBudgetBurnFast", "MCPErrorBudgetBurnMedium"), "12m", "29m"),
    )


def probe_flapping(r: Replica, fails: tuple[float, ...], name: str) -> Scenario:
    return Scenario(
        name,
        60,
        gauges=[probe(r, pattern(fails))],
        pages=[page("MCPProbeFailing", "15m", "P0", r, job="lookout-probe-discover")],
        quiet=quiet(("MCPServerDown",), "15m"),
    )


def crash_loop(r: Replica) -> Scenario:
    def started(minute: int) -> float | None:
        return None if minute % 2 else 1000.0 + 120 * (minute // 2)

    return Scenario(
        "crash loop: up alternates 1/0 for 30 minutes, the process restarts each time",
        30,
        gauges=[up(r, pattern((1, 0))), ("process_start_time_seconds{" + r.selector() + "}", started)],
        pages=[
            page("MCPServerDown", "15m", "P0", r),
            page("MCPServerInstanceDown", "15m", "P1", r, instance=r.instance),
        ],
        quiet=quiet(ERROR_ALERTS, "15m"),
    )


def p99_just_under(r: Replica) -> Scenario:
    return Scenario(
        "p99 just under 100 ms (every request at 90 ms)",
        30,
        [Stream(r, ok=const(6000), ok_latency=0.09)],
        quiet=quiet(("MCPLatencyP99High", "MCPToolLatencyP99High", "MCPLatencyBudgetBurnFast"), "12m", "25m"),
    )


def p99_just_over(r: Replica) -> Scenario:
    return Scenario(
        "p99 just over 100 ms (1.1 % of requests at 150 ms)",
        30,
        [Stream(r, ok=const(5934), slow=const(66), ok_latency=0.05)],
        pages=[
            page("MCPLatencyP99High", "12m", "P1", r),
            page("MCPToolLatencyP99High", "12m", "P1", r, gen_ai_tool_name="search_docs"),
        ],
        quiet=quiet(("MCPLatencyBudgetBurnFast",), "12m"),
    )


def zero_traffic(r: Replica) -> Scenario:
    return Scenario(
        "zero traffic from the start: nothing",
        120,
        gauges=[up(r, const(1))],
        quiet=quiet((*ERROR_ALERTS, *DOWN_ALERTS, "MCPLatencyP99High", "MCPLatencyBudgetBurnFast"), "10m", "90m"),
    )


def zero_traffic_after_incident(r: Replica) -> Scenario:
    return Scenario(
        "every request fails for 20 minutes, then traffic stops: the pages resolve",
        60,
        [Stream(r, server=between(60, 0, 20))],
        pages=[page("MCPErrorBudgetBurnFast", "10m", "P0", r), page("MCPErrorRatioHigh", "15m", "P1", r)],
        quiet=quiet(("MCPErrorBudgetBurnFast", "MCPErrorRatioHigh", "MCPToolErrorRatioHigh"), "35m", "55m"),
    )


def in_flight_alternating(r: Replica) -> Scenario:
    sel = r.selector()
    return Scenario(
        "requests in flight alternate between 95 % and 75 % of the limit",
        40,
        gauges=[
            (f'lookout_mcp_requests_in_flight{{{sel},mcp_method_name="tools/call"}}', pattern((95, 75))),
            (f"lookout_mcp_requests_in_flight_limit{{{sel}}}", const(100)),
        ],
        pages=[page("MCPInFlightSaturation", "20m", "P2", r, instance=r.instance)],
        quiet=quiet(("MCPInFlightSaturation",), "3m") + quiet(DOWN_ALERTS, "20m"),
    )


PORTABLE: list[Callable[[Replica], Scenario]] = [
    counter_reset,
    one_failing_tool,
    all_tools_raising,
    low_traffic_total_failure,
    third_party_emitter,
    low_traffic_one_failure,
    low_traffic_two_tool_errors,
    tool_errors_are_not_outages,
    lambda r: probe_flapping(r, (1, 0), "probe failing every other time (50 %)"),
    lambda r: probe_flapping(r, (0, 0, 1), "probe failing 2 of 3 times"),
    crash_loop,
    p99_just_under,
    p99_just_over,
    zero_traffic,
    zero_traffic_after_incident,
    in_flight_alternating,
]


# ---------------------------------------------------------------- scenarios of the fleet
def replica_down() -> Scenario:
    return Scenario(
        "one of three replicas down",
        40,
        gauges=[up(API[0], const(1)), up(API[1], const(1)), up(API[2], between(1, 0, 5, otherwise=0))],
        pages=[page("MCPServerInstanceDown", "10m", "P1", API[2], instance=API[2].instance)],
        quiet=quiet(("MCPServerDown", "MCPTenantDown"), "10m", "30m"),
    )


def one_service_of_tenant_down() -> Scenario:
    return Scenario(
        "a tenant with two services, one down",
        30,
        gauges=[*(up(a, const(1)) for a in API), up(SEARCH, between(1, 0, 5))],
        pages=[
            page("MCPServerDown", "10m", "P0", SEARCH),
            page("MCPServerInstanceDown", "10m", "P1", SEARCH, instance=SEARCH.instance),
        ],
        quiet=quiet(("MCPTenantDown",), "10m"),
    )


def whole_tenant_down() -> Scenario:
    return Scenario(
        "every server of a tenant down: one tenant page, beta quiet",
        30,
        gauges=[up(a, between(1, 0, 5)) for a in ACME],
        pages=[
            page("MCPTenantDown", "7m", "P0", None, tenant="acme", service="all"),
            page("MCPServerDown", "10m", "P0", API[0]),
            page("MCPServerDown", "10m", "P0", SEARCH),
        ],
        quiet=quiet(("MCPTenantDown",), "5m"),
    )


def whole_tenant_crash_looping() -> Scenario:
    return Scenario(
        "every server of a tenant crash-looping (up 1/0): one tenant page; one replica steady: none",
        40,
        gauges=[up(a, pattern((1, 0))) for a in ACME],
        pages=[page("MCPTenantDown", "15m", "P0", None, tenant="acme", service="all")],
    )


def tenant_with_one_steady_replica() -> Scenario:
    return Scenario(
        "every server of a tenant crash-looping but one api replica steady: no tenant page",
        40,
        gauges=[up(API[0], const(1)), *(up(a, pattern((1, 0))) for a in (*API[1:], SEARCH))],
        pages=[page("MCPServerDown", "15m", "P0", SEARCH)],
        quiet=quiet(("MCPTenantDown",), "15m", "35m"),
    )


def pushgateway_down() -> Scenario:
    return Scenario(
        "the Pushgateway (benchmark results) and node-exporter down for five hours",
        300,
        gauges=[
            ('up{job="pushgateway",instance="127.0.0.1:9091"}', const(0)),
            ('up{job="node",instance="127.0.0.1:9100"}', const(0)),
        ],
        pages=[
            page(
                "LookoutAuxiliaryComponentDown",
                "15m",
                "P2",
                None,
                tenant="_lookout",
                service="node",
                job="node",
                instance="127.0.0.1:9100",
            ),
            page(
                "LookoutAuxiliaryComponentDown",
                "15m",
                "P2",
                None,
                tenant="_lookout",
                service="pushgateway",
                job="pushgateway",
                instance="127.0.0.1:9091",
            ),
        ],
        quiet=quiet(("LookoutStackComponentDown", "LookoutEscalatedP1", "LookoutEscalatedP2"), "15m", "290m"),
    )


def stack(job: str, instance: str, **target_labels: str) -> dict[str, str]:
    """The labels of a stack component's alert: its job as the service, under the stack's own tenant."""
    return {"tenant": "_lookout", "service": job, "job": job, "instance": instance, **target_labels}


def stack_replica_down() -> Scenario:
    prometheus = [f"127.0.0.1:{port}" for port in (9090, 9190)]
    alertmanagers = [f"127.0.0.1:{port}" for port in (9093, 9193, 9293)]
    return Scenario(
        "ha: one Prometheus replica of two and one Alertmanager peer of three down for five hours",
        300,
        gauges=[
            (f'up{{job="{job}",instance="{a}"}}', const(0 if i == 1 else 1))
            for job, addresses in (("prometheus", prometheus), ("alertmanager", alertmanagers))
            for i, a in enumerate(addresses)
        ],
        pages=[
            page("LookoutStackReplicaDown", "15m", "P2", None, **stack("prometheus", prometheus[1])),
            page("LookoutStackReplicaDown", "15m", "P2", None, **stack("alertmanager", alertmanagers[1])),
        ],
        quiet=quiet(("LookoutStackComponentDown", "LookoutEscalatedP1", "LookoutEscalatedP2"), "15m", "290m"),
    )


def stack_shard_down() -> Scenario:
    role = "lookout_role"
    shards = {f"127.0.0.1:{9090 + 100 * i}": f"prometheus-shard-{i // 2}" for i in range(4)}
    down = [a for a, shard in shards.items() if shard == "prometheus-shard-0"]
    return Scenario(
        "ha: both replicas of one Prometheus shard down, the other shard up",
        40,
        gauges=[
            (f'up{{job="prometheus",instance="{a}",{role}="{shard}"}}', const(0 if a in down else 1))
            for a, shard in shards.items()
        ],
        pages=[
            page("LookoutStackComponentDown", "10m", "P1", None, **stack("prometheus", a, **{role: shards[a]}))
            for a in down
        ],
        quiet=quiet(("LookoutStackReplicaDown",), "10m", "30m"),
    )


def escalation() -> Scenario:
    # search: p99 over the policy for an hour (escalates once); solo: deliberate tool errors (never escalate);
    # api: two of three replicas down (one escalation for the service, not one per replica).
    return Scenario(
        "P1s left firing for 30 minutes: one escalation per service and alert, none for tool errors",
        60,
        [
            Stream(SEARCH, ok=const(5934), slow=const(66), ok_latency=0.05),
            Stream(SOLO, ok=const(30), tool_errors=const(30)),
        ],
        gauges=[up(API[0], const(0)), up(API[1], const(0)), up(API[2], const(1))],
        pages=[
            page("LookoutEscalatedP1", "50m", "P0", SEARCH, escalated_from="MCPLatencyP99High", family="latency"),
            page(
                "LookoutEscalatedP1", "50m", "P0", API[0], escalated_from="MCPServerInstanceDown", family="availability"
            ),
        ],
        quiet=quiet(("LookoutEscalatedP1",), "25m"),
    )


def no_escalation_during_p0() -> Scenario:
    return Scenario(
        "a P1 does not escalate while a P0 fires for the same service",
        60,
        [Stream(SEARCH, ok=const(5802), slow=const(132), server=const(600), ok_latency=0.05)],
        pages=[page("MCPErrorBudgetBurnFast", "50m", "P0", SEARCH), page("MCPLatencyP99High", "50m", "P1", SEARCH)],
        quiet=quiet(("LookoutEscalatedP1",), "45m", "55m"),
    )


def per_target_resources() -> Scenario:
    # 1.2 cores busy on each: 60 % of api's configured 2 cores, 120 % of search's default 1 core; solo exports
    # its real limit of 4 cores (30 %).
    gauges: list[tuple[str, Callable[[int], float | None]]] = []
    for r in (API[0], SEARCH, SOLO):
        gauges.append(("process_cpu_seconds_total{" + r.selector() + "}", lambda x: 72.0 * x))
    gauges.append(("lookout_process_cpu_limit_cores{" + SOLO.selector() + "}", const(4)))
    return Scenario(
        "CPU against per-target limits and the process's own limit",
        40,
        gauges=gauges,
        pages=[page("MCPCPUUtilizationHigh", "35m", "P2", SEARCH, instance=SEARCH.instance)],
        quiet=quiet(("MCPCPUUtilizationHigh",), "10m"),
    )


FLEET: list[Callable[[], Scenario]] = [
    replica_down,
    one_service_of_tenant_down,
    whole_tenant_down,
    whole_tenant_crash_looping,
    tenant_with_one_steady_replica,
    pushgateway_down,
    stack_replica_down,
    stack_shard_down,
    escalation,
    no_escalation_during_p0,
    per_target_resources,
]


# ---------------------------------------------------------------- the runner
def _without_annotations(alerts_yaml: str) -> str:
    from ruamel.yaml import YAML

    data = YAML(typ="safe", pure=True).load(alerts_yaml)
    for group in data["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return dump_yaml(data)


def _test_file(scenario: Scenario, config_name: str) -> dict[str, Any]:
    series = scenario.input_series()
    have_up = {s for s, _ in series if s.startswith("up{")}
    for r in REPLICAS[config_name]:
        # Every configured target is scraped unless the scenario says otherwise (no "target absent" noise).
        if not any(f'service="{r.service}"' in s for s in have_up):
            series.append((f"up{{{r.selector()}}}", " ".join(["1"] * (scenario.minutes + 1))))
    cases: dict[tuple[str, str], list[dict[str, str]]] = {}
    for alert, when, lbls in scenario.pages:
        cases.setdefault((alert, when), []).append(lbls)
    for alert, when in scenario.quiet:
        assert (alert, when) not in cases, f"{scenario.name}: {alert} at {when} both pages and is quiet"
        cases[(alert, when)] = []
    return {
        "rule_files": ["alerts.yml", "recording.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": scenario.name,
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series],
                "alert_rule_test": [
                    {"eval_time": when, "alertname": alert, "exp_alerts": [{"exp_labels": x} for x in expected]}
                    for (alert, when), expected in cases.items()
                ],
            }
        ],
    }


def _rule_dir(tmp: Path, config: Config) -> Path:
    (tmp / "alerts.yml").write_text(_without_annotations(render_alert_rules(config)))
    (tmp / "recording.yml").write_text(render_recording_rules(config))
    return tmp


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def rules(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    name = str(request.param)
    return name, _rule_dir(tmp_path_factory.mktemp(name), CONFIGS[name])


def run_scenario(rules_dir: Path, scenario: Scenario, config_name: str, file_name: str) -> None:
    (rules_dir / file_name).write_text(dump_yaml(_test_file(scenario, config_name)))
    argv = [require_binary("promtool"), "test", "rules", file_name]
    result = subprocess.run(argv, cwd=rules_dir, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{scenario.name}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("build", PORTABLE, ids=lambda b: b(DEMO).name)
def test_portable_scenario(rules: tuple[str, Path], build: Callable[[Replica], Scenario]) -> None:
    config_name, rules_dir = rules
    scenario = build(MAIN[config_name])
    run_scenario(rules_dir, scenario, config_name, f"{PORTABLE.index(build)}.test.yml")


@pytest.mark.parametrize("build", FLEET, ids=lambda b: b().name)
def test_fleet_scenario(tmp_path: Path, build: Callable[[], Scenario]) -> None:
    run_scenario(_rule_dir(tmp_path, CONFIGS["fleet"]), build(), "fleet", "scenario.test.yml")


def test_tool_errors_burn_availability_when_lookout_yaml_says_so(tmp_path: Path) -> None:
    text = (HERE / "fleet.yaml").read_text()
    config = parse_config(
        text.replace(
            "  business_hours: null\n",
            "  business_hours: null\n  slo: {tool_errors_count_against_availability: true}\n",
        )
    )
    scenario = tool_errors_are_not_outages(SEARCH)
    scenario.pages.append(page("MCPErrorBudgetBurnFast", "12m", "P0", SEARCH))
    scenario.quiet = []
    run_scenario(_rule_dir(tmp_path, config), scenario, "fleet", "scenario.test.yml")
