from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config import ConfigError, load_config, parse_config

runner = CliRunner()
EXAMPLE = Path(__file__).parents[2] / "examples" / "lookout.yaml"

VALID = """\
version: 1
tenants:
  - name: acme
    targets:
      - name: api
        url: http://127.0.0.1:8000/mcp
alerting:
  receivers:
    - name: hook
      webhook: {url: "http://127.0.0.1:9095/notify"}
  routes: {P0: [hook]}
"""


def test_example_config_is_valid() -> None:
    config = load_config(EXAMPLE)
    assert [t.name for _, t in config.targets()] == ["demo-server"]


def test_validate_command_accepts_the_example() -> None:
    result = runner.invoke(app, ["config", "validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (VALID.replace("routes: {P0: [hook]}", "routes: {P0: [nobody]}"), "unknown receiver 'nobody'"),
        (VALID.replace("name: api", "name: Bad Name"), ":5: tenants[0].targets[0].name: 'Bad Name' is not a name"),
        (VALID + "retention: {metrics: 15 days}\n", "not a Prometheus duration"),
        (VALID.replace("routes: {P0: [hook]}", "routes: {P1: [hook]}"), "routes.P0 needs at least one receiver"),
        (
            VALID.replace('webhook: {url: "http://127.0.0.1:9095/notify"}', "slack: {api_url: https://x, channel: c}"),
            "secret given inline: remove api_url and set api_url_file",
        ),
        (VALID.replace("    targets:", "    targetz:"), "tenants[0].targetz: unknown field"),
        (VALID + "tenants: [oops\n", "invalid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "bad.yaml")
    message = str(info.value)
    assert expected in message
    assert message.startswith("bad.yaml")
    assert "\n" not in message


def test_duplicate_target_names_are_refused_with_the_line(tmp_path: Path) -> None:
    text = VALID.replace(
        "        url: http://127.0.0.1:8000/mcp\n",
        "        url: http://127.0.0.1:8000/mcp\n      - name: api\n        url: http://127.0.0.1:8001/mcp\n",
    )
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert f"{path}:7: tenants[0].targets[1].name: duplicate target name 'api'" in lines[0]
    assert "Traceback" not in result.output


SECOND_TENANT = """\
  - name: beta
    targets:
      - name: web
        url: http://127.0.0.1:8002/mcp
    routes: {P0: [hook, pager]}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            VALID.replace("alerting:", SECOND_TENANT.replace("name: beta", "name: acme") + "alerting:"),
            "bad.yaml:7: tenants[1].name: duplicate tenant name 'acme'",
        ),
        (
            VALID.replace("alerting:", SECOND_TENANT + "alerting:"),
            "bad.yaml:11: tenants[1].routes.P0[1]: unknown receiver 'pager'",
        ),
        (  # a tenant's own routes replace alerting.routes whole: without P0 its outages would page nobody
            VALID.replace("alerting:", SECOND_TENANT.replace("P0: [hook, pager]", "P1: [hook]") + "alerting:"),
            "bad.yaml:11: tenants[1].routes: routes.P0 needs at least one receiver",
        ),
        (
            VALID.replace("alerting:", SECOND_TENANT.replace("P0: [hook, pager]", "P0: [], P1: [hook]") + "alerting:"),
            "bad.yaml:11: tenants[1].routes: routes.P0 needs at least one receiver",
        ),
        (
            VALID.replace("  routes:", '    - name: hook\n      webhook: {url: "http://127.0.0.1:1/x"}\n  routes:'),
            "bad.yaml:11: alerting.receivers[1].name: duplicate receiver name 'hook'",
        ),
        (
            VALID.replace("routes: {P0: [hook]}", "routes: {P0: [hook], P2: [hook, nobody]}"),
            "bad.yaml:11: alerting.routes.P2[1]: unknown receiver 'nobody'",
        ),
        (VALID + "  heartbeat_receiver: nobody\n", "bad.yaml:12: alerting.heartbeat_receiver: unknown receiver"),
        (VALID + "probe:\n  target_modules:\n    apj: []\n", "bad.yaml:14: probe.target_modules.apj: unknown target"),
        (
            VALID + "listen: {sink: 127.0.0.1:9095, prometheus: 127.0.0.1:9095}\n",
            "bad.yaml:12: listen.sink (127.0.0.1:9095) and listen.prometheus (127.0.0.1:9095) both take port 9095",
        ),
        (
            VALID + "ha:\n  prometheus_shards: 2\n  long_term_storage: null\n",
            "bad.yaml:13: ha.prometheus_shards: more than one shard needs long_term_storage",
        ),
    ],
)
def test_a_mistake_across_fields_names_the_line_of_the_field(text: str, expected: str) -> None:
    """Duplicate names, unknown references and port clashes are found by the model, not a field: their
    line is the field's all the same, not the top of the file."""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "bad.yaml")
    assert str(info.value).startswith(expected), str(info.value)


def test_missing_file_is_exit_2_with_the_fix(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_schema_is_json_schema_with_every_top_level_section() -> None:
    result = runner.invoke(app, ["config", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert {"tenants", "alerting", "listen", "retention"} <= set(schema["properties"])
    assert "tenants" in schema["required"]
