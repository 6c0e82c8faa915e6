"""docker-compose.monitoring.yml: valid for docker-compose, everything it mounts is generated, secrets as files."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from lookout.check.compose import CheckSkipped, check_compose
from lookout.config.loader import parse_config
from lookout.config.model import Config
from lookout.stack import DeployTarget, render_stack, write_stack
from lookout.stack.compose import COMPOSE_FILE

CONFIG = """
version: 1
tenants:
  - name: acme
    targets:
      - {name: search, url: "http://127.0.0.1:8000/mcp", metrics_url: "http://127.0.0.1:8080/metrics"}
alerting:
  receivers:
    - {name: sink, webhook: {url: "http://127.0.0.1:9095/notify"}}
    - {name: oncall, pagerduty: {routing_key_file: /etc/lookout/secrets/pagerduty}}
  routes: {P0: [oncall, sink]}
"""
SERVICES = {
    "prometheus",
    "alertmanager",
    "pushgateway",
    "grafana",
    "loki",
    "alloy",
    "otelcol",
    "jaeger",
    "exporter",
    "node-exporter",
}
needs_compose = pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose not installed (Debian package docker-compose)"
)


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(CONFIG)


@pytest.fixture
def stack_dir(tmp_path: Path, config: Config) -> Path:
    write_stack(render_stack(config, DeployTarget.COMPOSE), tmp_path)
    return tmp_path


def _compose(stack_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((stack_dir / COMPOSE_FILE).read_text())
    return data


@needs_compose
def test_generated_compose_passes_docker_compose_config(stack_dir: Path) -> None:
    assert check_compose(stack_dir) == []


@needs_compose
def test_invalid_compose_is_reported(stack_dir: Path) -> None:
    path = stack_dir / COMPOSE_FILE
    path.write_text(path.read_text().replace("  grafana:\n", "  grafana:\n    no_such_option: 1\n", 1))
    [finding] = check_compose(stack_dir)
    assert finding.file == COMPOSE_FILE and "no_such_option" in finding.message


def test_missing_binary_skips_with_the_install_hint(stack_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(CheckSkipped, match="apt-get install -y --no-install-recommends docker-compose"):
        check_compose(stack_dir)


def test_native_stack_has_no_compose_file_and_says_so(tmp_path: Path, config: Config) -> None:
    write_stack(render_stack(config, DeployTarget.NATIVE), tmp_path)
    [finding] = check_compose(tmp_path)
    assert "missing" in finding.message


def test_every_service_of_the_brief_is_there_on_the_quick_start_ports(stack_dir: Path) -> None:
    services = _compose(stack_dir)["services"]
    assert set(services) == SERVICES
    assert services["grafana"]["environment"]["GF_SERVER_HTTP_PORT"] == "3000"
    assert "--web.listen-address=127.0.0.1:9090" in services["prometheus"]["command"]
    assert "--web.listen-address=127.0.0.1:9093" in services["alertmanager"]["command"]
    assert services["exporter"]["command"][-1] == "127.0.0.1:9115"


def test_secrets_are_files_never_values(stack_dir: Path) -> None:
    compose = _compose(stack_dir)
    grafana = compose["services"]["grafana"]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in grafana["environment"]
    assert grafana["secrets"] == ["grafana_admin_password"]
    assert compose["secrets"]["grafana_admin_password"] == {"file": "./secrets/grafana_admin_password"}
    assert (
        "/etc/lookout/secrets/pagerduty:/etc/lookout/secrets/pagerduty:ro"
        in (compose["services"]["alertmanager"]["volumes"])
    )


def test_everything_mounted_from_the_stack_dir_is_generated(stack_dir: Path) -> None:
    for name, service in _compose(stack_dir)["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (stack_dir / source).exists(), f"{name} mounts {source}, which is not generated"
    assert (stack_dir / "compose/lookout/Dockerfile").is_file()
    assert (stack_dir / "grafana/dashboards/acme/fleet.json").is_file()
