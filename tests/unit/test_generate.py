from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from lookout.cli import app
from lookout.config import load_config
from lookout.stack import DeployTarget, render_stack

EXAMPLE = Path(__file__).parents[2] / "examples" / "lookout.yaml"
runner = CliRunner()


def test_generate_is_a_pure_function_of_the_config(tmp_path: Path) -> None:
    for out in ("a", "b"):
        result = runner.invoke(app, ["generate", "--config", str(EXAMPLE), "--out", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
    files_a = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file()}
    files_b = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*") if p.is_file()}
    assert files_a == files_b
    assert Path("prometheus/prometheus.yml") in files_a


def test_no_generated_file_inlines_a_secret(tmp_path: Path) -> None:
    config_text = EXAMPLE.read_text().replace(
        "    - name: local-sink\n",
        "    - name: pager\n      pagerduty: {routing_key_file: /run/secrets/pd}\n"
        "    - name: chat\n      slack: {api_url_file: /run/secrets/slack, channel: '#incidents'}\n"
        "    - name: local-sink\n",
    )
    path = tmp_path / "lookout.yaml"
    path.write_text(config_text)
    files = render_stack(load_config(path))
    am = files["alertmanager/alertmanager.yml"]
    assert "routing_key_file: /run/secrets/pd" in am
    assert "api_url_file: /run/secrets/slack" in am
    assert "routing_key:" not in am and "api_url:" not in am


def test_unknown_deploy_target_is_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", "-c", str(EXAMPLE), "-o", str(tmp_path), "--target", "mars"])
    assert result.exit_code == 2
    assert "--target 'mars'" in result.output


def test_node_exporter_is_scraped_only_where_a_deployment_runs_one(tmp_path: Path) -> None:
    import json

    from lookout.stack import DeployTarget, naming
    from lookout.stack.compose import COMPOSE_NODE_TARGETS

    config = load_config(EXAMPLE)
    native = render_stack(config, DeployTarget.NATIVE)
    assert json.loads(native[naming.NODE_TARGETS_FILE]) == [], "no node-exporter natively: no target, no alert"
    assert f"job_name: {naming.JOB_NODE}" in native[naming.PROMETHEUS_FILE]
    compose = render_stack(config, DeployTarget.COMPOSE)
    assert json.loads(compose[COMPOSE_NODE_TARGETS]) == [{"targets": ["127.0.0.1:9100"]}]
    assert f"./{COMPOSE_NODE_TARGETS}:/etc/prometheus/targets/node.json:ro" in compose["docker-compose.monitoring.yml"]


def test_loki_retention_is_per_tenant(tmp_path: Path) -> None:
    from lookout.stack.loki import loki_config

    path = tmp_path / "lookout.yaml"
    path.write_text(EXAMPLE.read_text().replace("  - name: demo\n", "  - name: demo\n    log_retention: 90d\n"))
    config = load_config(path)
    limits = loki_config(config)["limits_config"]
    assert limits["retention_stream"] == [
        {"selector": '{tenant="demo"}', "priority": 1, "period": "90d"},
        {"selector": '{stream="audit"}', "priority": 2, "period": config.security.audit.retention},
    ]
    assert limits["retention_period"] == config.retention.logs == "7d"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_file_where_a_directory_must_be_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    out = tmp_path / "g3"
    out.mkdir()
    (out / "grafana").write_bytes(b"")
    result = runner.invoke(app, ["generate", "--config", str(EXAMPLE), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        f"lookout: {out}: cannot write: {out / 'grafana'}: a file where a directory must be: move it aside"
    )
    assert _tree(out) == {"grafana": b""}, "nothing may be written before the blocked path is found"


def test_a_directory_where_a_file_must_be_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    out = tmp_path / "g5"
    (out / "prometheus" / "prometheus.yml").mkdir(parents=True)
    result = runner.invoke(app, ["generate", "--config", str(EXAMPLE), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"{out / 'prometheus' / 'prometheus.yml'}: a directory where a file must be" in result.output
    assert _tree(out) == {}


def test_an_existing_file_that_is_not_utf8_is_replaced(tmp_path: Path) -> None:
    out = tmp_path / "g4"
    (out / "prometheus").mkdir(parents=True)
    (out / "prometheus" / "prometheus.yml").write_bytes(b"\xff\xfe")
    result = runner.invoke(app, ["generate", "--config", str(EXAMPLE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    expected = render_stack(load_config(EXAMPLE))
    assert _tree(out) == {rel: content.encode() for rel, content in expected.items()}, "every file, no temp file"


def test_regenerating_for_a_smaller_config_removes_what_it_no_longer_produces(tmp_path: Path) -> None:
    """A removed tenant's dashboards, a replica's prometheus.yml and the long-term store's objects go; files of
    another target and the user's own files stay."""
    bigger = tmp_path / "bigger.yaml"
    bigger.write_text(
        EXAMPLE.read_text().replace("tenants:\n", "tenants:\n  - name: gone\n    targets: []\n", 1)
        + "ha: {prometheus_replicas: 2, alertmanager_replicas: 2, long_term_storage: victoriametrics}\n"
    )
    out = tmp_path / "stack"
    result = runner.invoke(app, ["generate", "--config", str(bigger), "--out", str(out), "--target", "all"])
    assert result.exit_code == 0, result.output
    assert (out / "grafana/dashboards/gone/fleet.json").is_file() and (out / "prometheus/prometheus-1.yml").is_file()
    mine = {"prometheus/rules/mine.yml": b"groups: []\n", "grafana/dashboards/gone/mine.json": b'{"uid": "mine"}'}
    for rel, content in mine.items():
        (out / rel).write_bytes(content)
    result = runner.invoke(app, ["generate", "--config", str(EXAMPLE), "--out", str(out), "--target", "k8s"])
    assert result.exit_code == 0, result.output
    tree = _tree(out)
    expected = render_stack(load_config(EXAMPLE), DeployTarget.K8S)
    compose_only = set(render_stack(load_config(bigger), DeployTarget.COMPOSE)) - set(render_stack(load_config(bigger)))
    assert sorted(set(tree) ^ (set(expected) | set(mine) | compose_only)) == []
    assert not (out / "grafana/dashboards/gone/fleet.json").exists() and "k8s/victoriametrics.yaml" not in tree
