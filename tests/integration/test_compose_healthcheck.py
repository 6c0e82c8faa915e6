"""The compose stack's exporter healthcheck under security: the very command docker-compose.monitoring.yml runs
(with the stack's CA, client certificate and client user's password file) passes against a real exporter that
serves TLS and requires a login, and the plain-HTTP check of the open stack fails against it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from ruamel.yaml import YAML

from lookout.config.loader import parse_config
from lookout.security.certs import write_certs
from lookout.security.files import client_access
from lookout.stack import DeployTarget, render_stack
from lookout.stack.compose import COMPOSE_FILE
from tests.stack_support import SecurityBlock
from tests.support import LOOPBACK, free_port, lookout_argv, running, start, wait_until

pytestmark = pytest.mark.integration


def _healthcheck(config_text: str) -> list[str]:
    compose = YAML(typ="safe").load(render_stack(parse_config(config_text), DeployTarget.COMPOSE)[COMPOSE_FILE])
    test: list[str] = compose["services"]["exporter"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "python"]
    return [sys.executable, *test[2:]]


def _passes(command: list[str]) -> bool:
    return subprocess.run(command, capture_output=True, timeout=30, check=False).returncode == 0


def test_the_exporter_healthcheck_works_with_tls_and_a_login(tmp_path: Path) -> None:
    secrets, port = tmp_path / "secrets", free_port()
    open_text = f"""
version: 1
tenants: [{{name: acme, targets: [{{name: api, url: "http://{LOOPBACK}:9/mcp"}}]}}]
alerting:
  receivers: [{{name: hook, webhook: {{url: "http://{LOOPBACK}:9/hook"}}}}]
  routes: {{P0: [hook]}}
listen: {{exporter: "{LOOPBACK}:{port}"}}
"""
    security = SecurityBlock(
        secrets, secure_profile=False, require_client_certificates=True, users={"lookout": "operator"}
    )
    secure_text = open_text + security.as_yaml()
    config = parse_config(secure_text)
    write_certs(config)
    path = tmp_path / "lookout.yaml"
    path.write_text(secure_text)
    verify, auth = client_access(config.security)
    argv = lookout_argv("exporter", "--config", str(path), "--listen", f"{LOOPBACK}:{port}")
    with running(start(argv, tmp_path / "exporter.log")) as exporter:

        def ready() -> bool:
            try:
                url = f"https://{LOOPBACK}:{port}/-/healthy"
                return httpx.get(url, verify=verify, auth=auth, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(lambda: exporter.alive() and ready(), 30, what="the secured exporter")
        assert _passes(_healthcheck(secure_text))
        assert not _passes(_healthcheck(open_text))  # plain HTTP, no login: what the open stack's check does
