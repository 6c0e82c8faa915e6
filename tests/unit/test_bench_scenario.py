"""Scenario files and flags: valid ones load, bad ones give one line naming file, line and field; exit 2."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lookout.bench.scenario import (
    LoadModel,
    Operation,
    Scenario,
    ScenarioError,
    load_scenario,
    operations_from_flags,
    parse_scenario,
)
from lookout.cli import app

GOOD = """\
name: mixed
operations:
  - tool: echo
    arguments: {text: hello}
    weight: 3
  - method: tools/list
load:
  model: open
  rate: 200
  duration: 30s
  warmup: 2s
"""


def test_a_scenario_file_loads_with_its_mix_and_load() -> None:
    scenario = parse_scenario(GOOD)
    assert [op.label for op in scenario.operations] == ["echo", "tools/list"]
    assert scenario.operations[0].weight == 3 and scenario.operations[0].arguments == {"text": "hello"}
    assert scenario.load.model is LoadModel.OPEN and scenario.load.rate == 200
    assert (scenario.load.duration_s, scenario.load.warmup_s) == (30, 2)


def test_fingerprint_changes_with_the_mix_and_the_load_only() -> None:
    scenario = parse_scenario(GOOD)
    assert parse_scenario(GOOD).fingerprint() == scenario.fingerprint()
    assert scenario.with_load(rate=300).fingerprint() != scenario.fingerprint()
    assert parse_scenario(GOOD.replace("weight: 3", "weight: 2")).fingerprint() != scenario.fingerprint()


def test_duration_defaults_to_ten_seconds_unless_a_request_count_bounds_the_run() -> None:
    scenario = Scenario(operations=[Operation(tool="echo")])
    assert scenario.load.duration_s == 10
    assert scenario.with_load(requests=100).load.duration_s == float("inf")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("operations: [", "scenario.yaml:1: invalid YAML"),
        ("- a\n- b\n", "scenario.yaml: expected a mapping"),
        ("name: x\n", "scenario.yaml: operations: Field required"),
        ("operations:\n  - tool: echo\n    wieght: 2\n", "scenario.yaml:3: operations[0].wieght: unknown field"),
        ("operations:\n  - tool: echo\n    method: ping\n", "scenario.yaml:2: operations[0]: give exactly one of"),
        (
            "operations:\n  - tool: echo\n    weight: 0\n",
            "scenario.yaml:3: operations[0].weight: Input should be greater",
        ),
        ("operations:\n  - tool: echo\nload:\n  model: open\n", "scenario.yaml:3: load: the open model needs rate"),
        ("operations:\n  - tool: echo\nload:\n  duration: ten\n", "scenario.yaml:4: load.duration: 'ten' is not"),
    ],
)
def test_bad_scenarios_give_one_line_naming_line_and_field(text: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text)
    message = str(info.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_flags_build_the_mix() -> None:
    ops = operations_from_flags(["echo", 'calculate={"expression": "1+1"}'], ["tools/list"])
    assert [(op.tool, op.method, op.arguments) for op in ops] == [
        ("echo", None, {}),
        ("calculate", None, {"expression": "1+1"}),
        (None, "tools/list", {}),
    ]


@pytest.mark.parametrize(
    ("tools", "methods", "expected"),
    [
        (["echo={not json"], [], "--tool 'echo={not json': arguments are not JSON"),
        (["echo=[1]"], [], "arguments must be a JSON object"),
        (["={}"], [], "missing the tool name"),
        ([], ["tools/call"], "--method 'tools/call': write tools/call as `tool: NAME`"),
    ],
)
def test_bad_flags_give_one_line(tools: list[str], methods: list[str], expected: str) -> None:
    with pytest.raises(ScenarioError, match=expected.replace("[", r"\[").replace("{", r"\{")):
        operations_from_flags(tools, methods)


def test_missing_file_is_one_line() -> None:
    with pytest.raises(ScenarioError, match=r"^nope.yaml: no such scenario file"):
        load_scenario(Path("nope.yaml"))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--scenario", "{bad}"], "bad.yaml:3: operations[0].wieght: unknown field"),
        (["--duration", "soon"], "--duration: 'soon' is not a Prometheus duration"),
        (["--concurrency", "0"], "--concurrency: Input should be greater than or equal to 1"),
        (["--duration", "0s"], "--duration: '0s' is zero: an interval or timeout must be positive"),
        (["--timeout", "0s"], "--timeout: '0s' is zero: an interval or timeout must be positive"),
        (["--scenario", "{zero}"], "zero.yaml:4: load.duration: '0s' is zero"),
        (["--model", "open"], "--model: the open model needs rate"),
        (["--transport", "carrier-pigeon"], "--transport 'carrier-pigeon': use one of"),
        (["--tool", "echo=nope"], "--tool 'echo=nope': arguments are not JSON"),
    ],
)
def test_cli_rejects_bad_input_with_one_line_and_exit_2(tmp_path: Path, args: list[str], expected: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("operations:\n  - tool: echo\n    wieght: 2\n")
    (tmp_path / "zero.yaml").write_text("operations:\n  - tool: echo\nload:\n  duration: 0s\n")
    args = [a.replace("{bad}", str(bad)).replace("{zero}", str(tmp_path / "zero.yaml")) for a in args]
    # No server runs on port 9 (discard): input is checked before anything connects.
    result = CliRunner().invoke(app, ["bench", "http://127.0.0.1:9/mcp", "--data-dir", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lookout: ")
    assert expected.replace("{bad}", str(bad)) in lines[0].replace(str(tmp_path) + "/", ""), lines[0]
    assert not (tmp_path / "bench.sqlite").exists()  # nothing saved for a run that never started


def test_cli_reports_an_unreachable_target_in_one_line_with_exit_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["bench", "http://127.0.0.1:9/mcp", "--data-dir", str(tmp_path), "--requests", "1", "--warmup", "0s"]
    )
    assert result.exit_code == 1, result.output
    assert result.output.strip().startswith("lookout: http://127.0.0.1:9/mcp: cannot open an MCP session")
    assert len(result.output.strip().splitlines()) == 1


def test_the_example_scenario_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "bench" / "demo-mix.yaml"
    scenario = load_scenario(example)
    assert scenario.name == "demo-mix"
    assert {op.label for op in scenario.operations} >= {"search_docs", "tools/list"}


def test_a_target_that_never_answers_the_handshake_is_named_with_the_timeout(tmp_path: Path) -> None:
    # A listening socket nobody accepts from: the kernel completes the TCP handshake, no HTTP answer comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/mcp"
        result = CliRunner().invoke(
            app, ["bench", url, "--no-save", "--timeout", "1s", "--requests", "1", "--warmup", "0s", "-c", "1"]
        )
    assert result.exit_code == 1, result.output
    assert (
        result.output.strip() == f"lookout: {url}: cannot open an MCP session: no MCP handshake within 1s (--timeout)"
    )


def test_bench_capacity_names_its_own_step_option() -> None:
    result = CliRunner().invoke(app, ["bench", "capacity", "http://127.0.0.1:9/mcp", "--step", "0s"])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == "lookout: --step: '0s' is zero: an interval or timeout must be positive, e.g. 15s"
