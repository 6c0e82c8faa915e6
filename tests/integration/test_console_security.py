"""The console under `security:` (TLS and users made by `lookout certs`): it serves HTTPS, asks for
credentials, lets a viewer read and run the panels' queries, keeps silences to operators, and names the refusing
upstream when its own credentials are refused."""

from __future__ import annotations

import signal
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.stack_support import SecurityBlock
from tests.support import LOOPBACK, free_port, lookout_argv, start, wait_until

pytestmark = pytest.mark.integration


@dataclass
class Secured:
    url: str
    context: ssl.SSLContext
    secrets: Path

    def password(self, user: str) -> str:
        return (self.secrets / f"{user}.password").read_text().strip()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    tmp = tmp_path_factory.mktemp("console-security")
    secrets = tmp / "secrets"
    port, dead, dead_too = free_port(), free_port(), free_port()
    config = tmp / "lookout.yaml"
    config.write_text(
        f"""
version: 1
tenants:
  - name: acme
    targets:
      - name: demo-server
        url: http://{LOOPBACK}:{free_port()}/mcp
alerting:
  receivers:
    - name: sink
      webhook: {{url: "http://{LOOPBACK}:{free_port()}/notify"}}
  routes: {{P0: [sink]}}
listen:
  prometheus: {LOOPBACK}:{dead}
  alertmanager: {LOOPBACK}:{dead_too}
  grafana: {LOOPBACK}:{port}
"""
        + SecurityBlock(secrets, secure_profile=False).as_yaml()
    )
    certs = start(lookout_argv("certs", "--config", str(config)), tmp / "certs.log")
    wait_until(lambda: not certs.alive(), 60, what="lookout certs")
    assert certs.stop() == 0, certs.output()
    proc = start(lookout_argv("console", "--config", str(config), "--data-dir", str(tmp)), tmp / "console.log")
    context = ssl.create_default_context(cafile=str(secrets / "ca.crt"))
    s = Secured(f"https://{LOOPBACK}:{port}", context, secrets)

    def up() -> bool:
        try:
            httpx.get(f"{s.url}/", verify=context, timeout=2)
            return True
        except httpx.HTTPError:
            return False

    try:
        wait_until(lambda: up() or not proc.alive(), 30, what="the console over TLS")
        assert proc.alive(), proc.output()
        yield s
    finally:
        proc.stop(signal.SIGTERM, timeout=10)


def test_pages_need_credentials(secured: Secured) -> None:
    assert httpx.get(f"{secured.url}/alerts", verify=secured.context).status_code == 401
    assert httpx.get(f"{secured.url}/health/ready", verify=secured.context).status_code == 200  # open_health
    viewer = ("viewer", secured.password("viewer"))
    page = httpx.get(f"{secured.url}/alerts", verify=secured.context, auth=viewer)
    assert page.status_code == 200 and "connection refused" in page.text


def test_a_viewer_runs_queries_but_cannot_silence(secured: Secured) -> None:
    viewer = ("viewer", secured.password("viewer"))
    query = httpx.post(f"{secured.url}/api/prom/query", data={"query": "up"}, verify=secured.context, auth=viewer)
    assert query.status_code == 502 and query.json()["errorType"] == "upstream"  # allowed; Prometheus is down
    form = {"matchers": 'alertname="X"', "duration": "1h", "author": "v", "comment": "c"}
    refused = httpx.post(f"{secured.url}/silences", data=form, verify=secured.context, auth=viewer)
    assert refused.status_code == 403
    operator = ("lookout", secured.password("lookout"))
    allowed = httpx.post(f"{secured.url}/silences", data=form, verify=secured.context, auth=operator)
    assert allowed.status_code == 400 and "connection refused" in allowed.text  # through; Alertmanager is down
    page = httpx.get(f"{secured.url}/silences", verify=secured.context, auth=operator).text
    assert '<input name=author required value="lookout" readonly>' in page  # a silence names its signed-in author
