"""docker-compose.monitoring.yml under security: no lifecycle API in any profile; Prometheus, Alertmanager and the
Pushgateway get --web.config.file; every file security: names is mounted read-only at the path the generated
configs use, never inlined; the web config is written by the Makefile from the password files; docker-compose
accepts the result."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from lookout.check.compose import check_compose
from lookout.config.loader import parse_config
from lookout.config.model import Config
from lookout.security.certs import write_certs
from lookout.stack import DeployTarget, render_stack, write_stack
from lookout.stack.compose import COMPOSE_FILE, WEB_CONFIG, WEB_CONFIG_MOUNT
from tests.stack_support import SecurityBlock

pytestmark = pytest.mark.tools

TOKEN = "planted-token-3f9c1e7a"  # a token the generated files must never contain


def _config(secrets: Path, *, ha: bool = False) -> Config:
    text = f"""
version: 1
tenants:
  - name: acme
    targets:
      - {{name: search, url: "http://127.0.0.1:8000/mcp", metrics_url: "https://127.0.0.1:8080/metrics"}}
alerting:
  receivers:
    - {{name: sink, webhook: {{url: "https://127.0.0.1:9095/notify"}}}}
  routes: {{P0: [sink]}}
probe:
  modules:
    discover: {{credentials: {{bearer_token_file: {secrets}/ci.token}}, tls: {{ca_file: {secrets}/mcp-ca.pem}}}}
"""
    text += SecurityBlock(secrets, tokens={"ci": "viewer"}).as_yaml()
    if ha:
        text += "ha: {prometheus_replicas: 2, alertmanager_replicas: 2, long_term_storage: victoriametrics}\n"
    return parse_config(text)


@pytest.fixture(params=[False, True], ids=["single", "ha"])
def secure(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Config, Path, list[str]]:
    """The config, its compose stack, and the secrets planted in its files."""
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    (secrets / "ci.token").write_text(TOKEN)
    (secrets / "ci.token").chmod(0o600)
    config = _config(secrets, ha=request.param)
    write_certs(config)
    stack = tmp_path / "stack"
    write_stack(render_stack(config, DeployTarget.COMPOSE), stack)
    planted = [TOKEN] + [(secrets / f"{u}.password").read_text().strip() for u in ("lookout", "viewer")]
    planted.append((secrets / "server.key").read_text().splitlines()[1])  # a line of the key material
    return config, stack, planted


def _services(stack: Path) -> dict[str, Any]:
    services: dict[str, Any] = YAML(typ="safe").load((stack / COMPOSE_FILE).read_text())["services"]
    return services


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """{path in the container: source:mode}."""
    out = {}
    for volume in service.get("volumes", []):
        source, target, *mode = str(volume).split(":")
        out[target] = f"{source}:{':'.join(mode)}"
    return out


def _file_fields(node: Any) -> set[str]:
    """Every ``*_file`` value and ``$__file{...}`` path of a generated configuration."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and key.endswith("_file") and isinstance(value, str):
                found.add(value)
            else:
                found |= _file_fields(value)
    elif isinstance(node, list):
        for value in node:
            found |= _file_fields(value)
    elif isinstance(node, str):
        found |= set(re.findall(r"\$__file\{([^}]*)\}", node))
    return found


@pytest.mark.parametrize("ha", [False, True], ids=["single", "ha"])
@pytest.mark.parametrize("secured", [False, True], ids=["open", "secure"])
def test_no_prometheus_runs_with_the_lifecycle_api(tmp_path: Path, ha: bool, secured: bool) -> None:
    secrets = tmp_path / "secrets"
    config = _config(secrets, ha=ha)
    if not secured:
        config = config.model_copy(update={"security": type(config.security)()})
    services = render_stack(config, DeployTarget.COMPOSE)[COMPOSE_FILE]
    assert "--web.enable-lifecycle" not in services
    assert ("--web.config.file" in services) is secured


def test_components_serve_with_the_web_config_and_read_only_files(secure: tuple[Config, Path, list[str]]) -> None:
    config, stack, _ = secure
    services = _services(stack)
    tls = config.security.tls
    web = [n for n in services if n.split("-")[0] in ("prometheus", "alertmanager") or n == "pushgateway"]
    assert len(web) == (5 if config.ha else 3)  # Prometheus and Alertmanager replicas, one Pushgateway
    for name in web:
        assert f"--web.config.file={WEB_CONFIG_MOUNT}" in services[name]["command"], name
        assert _mounts(services[name])[WEB_CONFIG_MOUNT] == f"./{WEB_CONFIG}:ro"
        for path in (tls.cert_file, tls.key_file, tls.ca_file):
            assert _mounts(services[name])[str(path)] == f"{path}:ro", f"{name} lacks {path}"
    for name, service in services.items():
        for target, source in _mounts(service).items():
            if source.startswith(str(Path(str(tls.ca_file)).parent)):
                assert source.endswith(":ro") and source.split(":")[0] == target, f"{name} mounts {source} writable"
    if config.ha:
        command = services["victoriametrics"]["command"]
        assert {"-tls", f"-tlsCertFile={tls.cert_file}", f"-tlsKeyFile={tls.key_file}"} <= set(command)
        assert not any(arg.startswith("-httpAuth") for arg in command)


def test_every_file_a_generated_config_names_is_mounted_where_it_is_read(
    secure: tuple[Config, Path, list[str]],
) -> None:
    """prometheus.yml (scrapes, alerting, remote write), alertmanager.yml, the Grafana datasources and the
    exporter's lookout.yaml name host paths: each container that reads them has them at that path."""
    config, stack, _ = secure
    services = _services(stack)
    readers = {
        "prometheus": sorted((stack / "prometheus").glob("prometheus*.yml")),
        "alertmanager": [stack / "alertmanager/alertmanager.yml"],
        "grafana": [stack / "grafana/provisioning/datasources/lookout.yaml"],
        "exporter": [stack / "lookout/lookout.yaml"],
    }
    # The prober's module files too: the exporter reads them.
    assert _mounts(services["exporter"])[str(config.probe.modules["discover"].tls.ca_file)].endswith(":ro")
    for name, paths in readers.items():
        named = set().union(*(_file_fields(yaml.safe_load(p.read_text())) for p in paths))
        assert named, f"{name}: no file named (security: not applied?)"
        mounted = _mounts(services[name])
        assert {p for p in named if mounted.get(p) != f"{p}:ro"} == set(), name
    prometheus = yaml.safe_load((stack / "prometheus/prometheus.yml").read_text())
    assert prometheus["alerting"]["alertmanagers"][0]["scheme"] == "https"
    if config.ha:
        [store] = [w for w in prometheus["remote_write"] if w["name"] == "long-term"]
        assert store["url"].startswith("https://") and store["tls_config"]["ca_file"] == config.security.tls.ca_file


def test_no_secret_is_in_a_generated_file(secure: tuple[Config, Path, list[str]]) -> None:
    _, stack, planted = secure
    for path in stack.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not [secret for secret in planted if secret in text], f"{path} holds a secret"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_writes_the_web_config_from_the_password_files(
    secure: tuple[Config, Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, stack, planted = secure
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # `lookout`
    subprocess.run(["make", "-C", str(stack), WEB_CONFIG], capture_output=True, text=True, timeout=120, check=True)
    web = stack / WEB_CONFIG
    assert stat.S_IMODE(web.stat().st_mode) == 0o600
    data = yaml.safe_load(web.read_text())
    assert set(data["basic_auth_users"]) == {"lookout", "viewer"}
    assert all(h.startswith("$2b$") for h in data["basic_auth_users"].values())
    assert data["tls_server_config"]["cert_file"] == config.security.tls.cert_file
    assert not [secret for secret in planted if secret in web.read_text()]


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_secure_compose_passes_docker_compose_config_and_the_checks(secure: tuple[Config, Path, list[str]]) -> None:
    _, stack, _ = secure
    assert check_compose(stack) == []


def test_the_checks_name_a_lifecycle_api_and_a_component_without_web_config(
    secure: tuple[Config, Path, list[str]],
) -> None:
    _, stack, _ = secure
    path = stack / COMPOSE_FILE
    text = path.read_text()
    text = text.replace(
        "- --web.listen-address=127.0.0.1:9090\n",
        "- --web.listen-address=127.0.0.1:9090\n    - --web.enable-lifecycle\n",
        1,
    )
    text = text.replace("    - --web.config.file=/etc/lookout/web.yml\n", "", 1)
    path.write_text(text)
    messages = [f.message for f in check_compose(stack)]
    assert any("--web.enable-lifecycle lets anyone" in m for m in messages), messages
    assert any("runs without --web.config.file" in m for m in messages), messages
