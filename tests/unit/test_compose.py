"""docker-compose.monitoring.yml: valid for docker-compose, everything it mounts is generated, secrets as files,
and what lookout.yaml expects (demo server, sink) runs from Lookout's own image."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from lookout.check.compose import CheckSkipped, check_compose
from lookout.config.loader import parse_config
from lookout.config.model import Config
from lookout.stack import DeployTarget, render_stack, write_stack
from lookout.stack.compose import COMPOSE_FILE

pytestmark = pytest.mark.tools

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
    "sink",
    "demo-server",
    "demo-traffic",
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


def test_everything_mounted_from_the_stack_dir_is_generated(stack_dir: Path, config: Config) -> None:
    for name, service in _compose(stack_dir)["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert "$" not in source, f"{name} mounts {source} from the environment"
            if source.startswith("./"):
                assert (stack_dir / source).exists(), f"{name} mounts {source}, which is not generated"
    assert (stack_dir / "grafana/dashboards/acme/fleet.json").is_file()
    # The exporter reads lookout.yaml generated beside the compose file: the very config.
    assert parse_config((stack_dir / "lookout/lookout.yaml").read_text()) == config


def test_lookouts_processes_run_from_its_image_as_lookout_yaml_expects(stack_dir: Path) -> None:
    services = _compose(stack_dir)["services"]
    for name in ("exporter", "sink", "demo-server", "demo-traffic"):
        assert services[name]["image"] == "lookout:0.1.0" and services[name]["pull_policy"] == "never"
        assert "build" not in services[name]
    assert services["sink"]["command"][:3] == ["sink", "--listen", "127.0.0.1:9095"]
    demo = services["demo-server"]["command"]
    assert {"--port=8000", "--management-port=8080", "--service=search", "--tenant=acme", "--json-logs"} <= set(demo)
    assert "--otlp-endpoint=http://127.0.0.1:4318/v1/traces" in demo
    assert "version" not in _compose(stack_dir)
    assert "--enable-feature=exemplar-storage" in services["prometheus"]["command"]
    assert "--persistence.file=/pushgateway/metrics.store" in services["pushgateway"]["command"]


def test_logs_come_from_this_compose_project_only(stack_dir: Path) -> None:
    assert (stack_dir / ".env").read_text().splitlines()[-1] == "COMPOSE_PROJECT_NAME=lookout"
    alloy = (stack_dir / "alloy/config.alloy").read_text()
    assert 'values = ["com.docker.compose.project=lookout"]' in alloy
    # Files only from the configured audit trail (security.audit.files), no other file on the host.
    assert alloy.count('local.file_match "') == 1
    assert 'path_targets = [{__path__ = "/var/log/lookout/audit/*.jsonl", stream = "audit"}]' in alloy


@pytest.mark.skipif(shutil.which("openssl") is None or shutil.which("make") is None, reason="needs make and openssl")
def test_first_make_writes_the_grafana_password_that_is_never_committed(stack_dir: Path) -> None:
    secret = stack_dir / "secrets/grafana_admin_password"
    result = subprocess.run(
        ["make", "-C", str(stack_dir), "password"], capture_output=True, text=True, timeout=60, check=True
    )
    password = secret.read_text().strip()
    assert len(password) >= 24 and password in result.stdout
    assert stat.S_IMODE(os.stat(secret.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o644  # Grafana's user reads it inside its container
    again = subprocess.run(["make", "-C", str(stack_dir), "password"], capture_output=True, text=True, check=True)
    assert password in again.stdout  # written once, kept
    assert "/secrets/" in (stack_dir / ".gitignore").read_text().splitlines()


def test_the_makefile_names_the_grafana_address_lookout_yaml_listens_on(tmp_path: Path) -> None:
    config = parse_config(CONFIG + "listen: {grafana: 127.0.0.1:23000}\n")
    write_stack(render_stack(config, DeployTarget.COMPOSE), tmp_path)
    assert "Grafana on 127.0.0.1:23000" in (tmp_path / "Makefile").read_text()
    assert _compose(tmp_path)["services"]["grafana"]["environment"]["GF_SERVER_HTTP_PORT"] == "23000"


def test_alloy_reads_the_audit_files_lookout_yaml_names(stack_dir: Path) -> None:
    """security.audit.files is a path on the host: Alloy's container gets its directory, read-only, at that path."""
    alloy = (stack_dir / "alloy/config.alloy").read_text()
    assert '__path__ = "/var/log/lookout/audit/*.jsonl"' in alloy
    assert "/var/log/lookout/audit:/var/log/lookout/audit:ro" in _compose(stack_dir)["services"]["alloy"]["volumes"]


def test_the_probes_and_remote_write_credential_files_are_mounted_without_security(tmp_path: Path) -> None:
    """The exporter reads the probe modules' token and CA, every Prometheus its remote_write token, at the paths
    lookout.yaml names; no security: block is needed for that."""
    config = parse_config(
        CONFIG
        + """probe:
  modules:
    discover: {credentials: {bearer_token_file: /etc/lookout/secrets/probe-token}, tls: {ca_file: /etc/ca/x.crt}}
prometheus:
  remote_write: [{url: "https://mimir.example/api/v1/push", bearer_token_file: /etc/lookout/secrets/mimir}]
ha: {prometheus_replicas: 2}
"""
    )
    write_stack(render_stack(config, DeployTarget.COMPOSE), tmp_path)
    services = _compose(tmp_path)["services"]
    for path in ("/etc/lookout/secrets/probe-token", "/etc/ca/x.crt"):
        assert f"{path}:{path}:ro" in services["exporter"]["volumes"]
    for name in ("prometheus", "prometheus-1"):
        assert "/etc/lookout/secrets/mimir:/etc/lookout/secrets/mimir:ro" in services[name]["volumes"]
    assert check_compose(tmp_path) == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(compose: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = compose
        for key in parents:
            node = node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value

    return change


BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "config from the environment": (
        _set("services.exporter.volumes", ["${LOOKOUT_CONFIG:-./lookout.yaml}:/etc/lookout/lookout.yaml:ro"]),
        "exporter: bind mount ${LOOKOUT_CONFIG:-./lookout.yaml} comes from the environment",
    ),
    "log dir that is not generated": (
        _set("services.alloy.volumes", ["./logs:/var/log/lookout:ro"]),
        "alloy: bind mount ./logs does not exist in the stack",
    ),
    "unpublished image": (
        _set("services.exporter.image", "lookout-exporter:0.1.0"),
        "exporter: image lookout-exporter:0.1.0 is neither a pinned public image nor Lookout's image lookout:0.1.0",
    ),
    "unpinned image": (
        _set("services.loki.image", "grafana/loki:latest"),
        "loki: image grafana/loki:latest is neither a pinned public image",
    ),
    "no sink": (
        _set("services.sink", None),
        "receiver sink: nothing in the stack serves 127.0.0.1:9095",
    ),
    "no demo server": (
        _set("services.demo-server", None),
        "target search: nothing in the stack serves 127.0.0.1:8000",
    ),
    "no exemplar storage": (
        _set("services.prometheus.command", ["--config.file=/etc/prometheus/prometheus.yml"]),
        "prometheus: dashboard panels show exemplars but Prometheus runs without --enable-feature=exemplar-storage",
    ),
    "text logs": (
        _set("services.demo-server.command", ["demo-server", "--host=127.0.0.1", "--port=8000"]),
        "demo-server: the demo server writes no JSON logs (--json-logs)",
    ),
    "obsolete version": (_set("version", "3.8"), "top-level version is obsolete in compose v2"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_what_would_not_come_up_is_reported(stack_dir: Path, case: str) -> None:
    import yaml

    change, expected = BROKEN[case]
    compose = _compose(stack_dir)
    change(compose)
    (stack_dir / COMPOSE_FILE).write_text(yaml.safe_dump(compose, sort_keys=False))
    messages = [f.message for f in check_compose(stack_dir)]
    assert any(expected in m for m in messages), messages


def test_a_missing_password_file_without_the_makefile_and_an_unfiltered_alloy_are_reported(stack_dir: Path) -> None:
    (stack_dir / "Makefile").unlink()
    alloy = stack_dir / "alloy/config.alloy"
    alloy.write_text(alloy.read_text().replace("com.docker.compose.project=lookout", "com.docker.compose.project=x"))
    messages = [f.message for f in check_compose(stack_dir)]
    assert any("secret grafana_admin_password: ./secrets/grafana_admin_password does not exist" in m for m in messages)
    assert any("discovery.docker is not filtered to com.docker.compose.project=lookout" in m for m in messages)
