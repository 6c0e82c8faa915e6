"""security: on the real binaries — Prometheus, Alertmanager and the Pushgateway with the generated web config,
Lookout's exporter and sink through lookout.serving — with TLS, a required client certificate and users:

every endpoint refuses no credentials and a wrong password (401), a viewer writing (403, Lookout's own
endpoints), plain HTTP, a certificate for another host and a client certificate from another CA; answers the
right credentials (200); Prometheus scrapes every job over TLS with the client user (up == 1) and an alert reaches
the sink through Alertmanager over TLS; no password appears in a generated file, a command line or a log."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import pytest
import yaml

from lookout import metrics as m
from lookout.config import parse_config
from lookout.config.model import Config
from lookout.security.certs import _key, _pem_cert, _pem_key, make_certificate, write_certs
from lookout.security.web_config import write_web_config
from lookout.stack.alertmanager import alertmanager_config
from lookout.stack.prometheus import prometheus_config
from tests.stack_support import SecurityBlock
from tests.support import LOOPBACK, Proc, free_port, lookout_argv, require_binary, start, wait_until

pytestmark = pytest.mark.integration

ALERT = "LookoutSecurityDrill"


@dataclass
class Stack:
    config: Config
    tmp: Path
    procs: dict[str, Proc]
    ports: dict[str, int]
    passwords: dict[str, str]

    def url(self, name: str) -> str:
        return f"https://{LOOPBACK}:{self.ports[name]}"

    def client(self, ca: str = "secrets/ca.crt", cert: str | None = "secrets/client") -> httpx.Client:
        """A client trusting ``ca`` and presenting ``cert`` (.crt/.key under the test's directory; None: none)."""
        context = ssl.create_default_context(cafile=str(self.tmp / ca))
        if cert is not None:
            context.load_cert_chain(str(self.tmp / f"{cert}.crt"), str(self.tmp / f"{cert}.key"))
        return httpx.Client(timeout=10, verify=context)


def _config(tmp: Path, ports: dict[str, int]) -> Config:
    return parse_config(
        f"""version: 1
tenants:
  - name: acme
    targets:
      - {{name: api, url: "http://127.0.0.1:9/mcp", metrics_url: "https://127.0.0.1:{ports["exporter"]}/metrics"}}
alerting:
  receivers: [{{name: sink, webhook: {{url: "http://127.0.0.1:{ports["sink"]}/notify"}}}}]
  routes: {{P0: [sink]}}
listen:
  prometheus: 127.0.0.1:{ports["prometheus"]}
  alertmanager: 127.0.0.1:{ports["alertmanager"]}
  pushgateway: 127.0.0.1:{ports["pushgateway"]}
  exporter: 127.0.0.1:{ports["exporter"]}
  sink: 127.0.0.1:{ports["sink"]}
  grafana: 127.0.0.1:{free_port()}
timing: {{scrape_interval: 1s, evaluation_interval: 1s}}
"""
        + SecurityBlock(tmp / "secrets", require_client_certificates=True).as_yaml()
    )


def _ready(stack_client: httpx.Client, url: str, auth: tuple[str, str], proc: Proc) -> bool:
    assert proc.alive(), proc.output()
    try:
        return stack_client.get(url, auth=auth).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("secure")
    ports = {name: free_port() for name in ("prometheus", "alertmanager", "pushgateway", "exporter", "sink")}
    config = _config(tmp, ports)
    write_certs(config)
    passwords = {u: (tmp / "secrets" / f"{u}.password").read_text().strip() for u in ("lookout", "viewer")}
    gen = tmp / "stack"
    (gen / "rules").mkdir(parents=True)
    prom = prometheus_config(config)
    prom["rule_files"] = [str(gen / "rules" / "*.yml")]
    prom["scrape_configs"] = [j for j in prom["scrape_configs"] if j["job_name"] != "node"]
    (gen / "prometheus.yml").write_text(yaml.safe_dump(prom))
    rule = {"alert": ALERT, "expr": "vector(1)", "labels": {m.TENANT: "acme", m.PRIORITY: "P0", m.SERVICE: "api"}}
    (gen / "rules" / "drill.yml").write_text(yaml.safe_dump({"groups": [{"name": "drill", "rules": [rule]}]}))
    (gen / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager_config(config)))
    web = write_web_config(config.security, gen / "web.yml")
    assert web is not None
    config_file = tmp / "lookout.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json", by_alias=True, exclude_none=True)))
    argvs = {
        "prometheus": [
            require_binary("prometheus"),
            f"--config.file={gen / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address={LOOPBACK}:{ports['prometheus']}",
            f"--web.config.file={web}",
        ],
        "alertmanager": [
            require_binary("prometheus-alertmanager"),
            f"--config.file={gen / 'alertmanager.yml'}",
            f"--storage.path={tmp / 'am'}",
            f"--web.listen-address={LOOPBACK}:{ports['alertmanager']}",
            "--cluster.listen-address=",
            f"--web.config.file={web}",
        ],
        "pushgateway": [
            require_binary("prometheus-pushgateway"),
            f"--web.listen-address={LOOPBACK}:{ports['pushgateway']}",
            f"--web.config.file={web}",
        ],
        "exporter": lookout_argv("exporter", "--config", str(config_file)),
        "sink": lookout_argv(
            "sink",
            "--config",
            str(config_file),
            "--listen",
            f"{LOOPBACK}:{ports['sink']}",
            "--file",
            str(tmp / "notifications.jsonl"),
        ),
    }
    procs: dict[str, Proc] = {}
    built = Stack(config, tmp, procs, ports, passwords)
    try:
        for name, argv in argvs.items():
            procs[name] = start(argv, tmp / "logs" / f"{name}.log")
        with built.client() as client:
            for name, path in [
                ("prometheus", "/-/ready"),
                ("alertmanager", "/-/ready"),
                ("pushgateway", "/-/ready"),
                ("exporter", "/-/healthy"),
                ("sink", "/-/ready"),
            ]:
                url, proc = built.url(name) + path, procs[name]
                login = ("lookout", passwords["lookout"])
                wait_until(partial(_ready, client, url, login, proc), 60, what=f"{name} ready over TLS")
        yield built
    finally:
        for proc in procs.values():
            proc.stop()


READS = {
    "prometheus": "/api/v1/status/buildinfo",
    "alertmanager": "/api/v2/status",
    "pushgateway": "/metrics",
    "exporter": "/metrics",
    "sink": "/-/ready",
}


@pytest.mark.parametrize("name", list(READS))
def test_every_endpoint_wants_credentials(stack: Stack, name: str) -> None:
    url = stack.url(name) + READS[name]
    with stack.client() as client:
        assert client.get(url).status_code == 401
        assert client.get(url, auth=("lookout", "wrong")).status_code == 401
        assert client.get(url, auth=("nobody", stack.passwords["lookout"])).status_code == 401
        assert client.get(url, auth=("viewer", stack.passwords["viewer"])).status_code == 200
        assert client.get(url, auth=("lookout", stack.passwords["lookout"])).status_code == 200


@pytest.mark.parametrize("name", list(READS))
def test_plain_http_and_strange_certificates_are_refused(stack: Stack, name: str) -> None:
    auth = ("lookout", stack.passwords["lookout"])
    try:
        plain = httpx.get(f"http://{LOOPBACK}:{stack.ports[name]}{READS[name]}", auth=auth, timeout=10)
        assert plain.status_code == 400, plain.text  # Go's servers answer a plain request with a 400
    except httpx.HTTPError:
        pass  # uvicorn drops it during the handshake
    refused = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)  # TLS 1.3: after the handshake
    with pytest.raises(refused), stack.client(cert=None) as client:  # no client certificate: required
        client.get(stack.url(name) + READS[name], auth=auth)
    other_key = _key()
    other_ca = make_certificate("another CA", other_key, None, dt.timedelta(days=1))
    leaf_key = _key()
    leaf = make_certificate("intruder", leaf_key, (other_ca, other_key), dt.timedelta(days=1), client=True)
    (stack.tmp / "intruder.crt").write_bytes(_pem_cert(leaf))
    (stack.tmp / "intruder.key").write_bytes(_pem_key(leaf_key))
    (stack.tmp / "other-ca.crt").write_bytes(_pem_cert(other_ca))
    with pytest.raises(refused), stack.client(cert="intruder") as client:  # a client certificate from another CA
        client.get(stack.url(name) + READS[name], auth=auth)
    with pytest.raises(httpx.ConnectError), stack.client(ca="other-ca.crt") as client:  # server checked: another CA
        client.get(stack.url(name) + READS[name], auth=auth)
    context = ssl.create_default_context(cafile=str(stack.tmp / "secrets" / "ca.crt"))
    context.load_cert_chain(str(stack.tmp / "secrets" / "client.crt"), str(stack.tmp / "secrets" / "client.key"))
    mismatch = pytest.raises(ssl.SSLCertVerificationError, match="mismatch")
    with socket.create_connection((LOOPBACK, stack.ports[name]), timeout=10) as sock, mismatch:
        context.wrap_socket(sock, server_hostname="other-host.example")  # not in the certificate's SANs


def test_viewers_may_not_write_on_lookouts_endpoints(stack: Stack) -> None:
    viewer, operator = ("viewer", stack.passwords["viewer"]), ("lookout", stack.passwords["lookout"])
    with stack.client() as client:
        assert client.post(stack.url("exporter") + "/-/reload", auth=viewer).status_code == 403
        assert client.post(stack.url("exporter") + "/-/reload", auth=operator).status_code == 200
        assert client.post(stack.url("sink") + "/notify", auth=viewer, content=b"{}").status_code == 403


def test_alertmanager_cors_and_silences_are_behind_authentication(stack: Stack) -> None:
    origin = {"Origin": "https://evil.example"}
    silence = {
        "matchers": [{"name": "alertname", "value": ALERT, "isRegex": False}],
        "startsAt": dt.datetime.now(dt.UTC).isoformat(),
        "endsAt": (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).isoformat(),
        "createdBy": "stranger",
        "comment": "no",
    }
    with stack.client() as client:
        refused = client.post(stack.url("alertmanager") + "/api/v2/silences", json=silence, headers=origin)
        assert refused.status_code == 401
        assert "access-control-allow-origin" not in refused.headers
        preflight = client.options(stack.url("alertmanager") + "/api/v2/silences", headers=origin)
        assert preflight.status_code == 401


def test_prometheus_scrapes_every_job_over_tls_and_the_alert_reaches_the_sink(stack: Stack) -> None:
    auth = ("lookout", stack.passwords["lookout"])
    expected = {j["job_name"] for j in prometheus_config(stack.config)["scrape_configs"]} - {"node"}

    def all_up() -> bool:
        with stack.client() as client:
            answer = client.get(stack.url("prometheus") + "/api/v1/query", params={"query": "up"}, auth=auth).json()
        up = {r["metric"]["job"]: r["value"][1] for r in answer["data"]["result"]}
        return set(up) == expected and all(v == "1" for v in up.values())

    wait_until(all_up, 60, what=f"up == 1 for {sorted(expected)}")
    notifications = stack.tmp / "notifications.jsonl"

    def delivered() -> bool:
        return notifications.exists() and any(
            ALERT in json.dumps(json.loads(line)) for line in notifications.read_text().splitlines()
        )

    wait_until(delivered, 90, what="the drill alert in the sink")


def test_no_secret_in_generated_files_command_lines_or_logs(stack: Stack) -> None:
    secrets = list(stack.passwords.values())
    texts = {str(p): p.read_text(errors="replace") for p in (stack.tmp / "stack").rglob("*") if p.is_file()}
    texts |= {str(p): p.read_text(errors="replace") for p in (stack.tmp / "logs").rglob("*.log")}
    texts["lookout.yaml"] = (stack.tmp / "lookout.yaml").read_text()
    for name, proc in stack.procs.items():
        texts[f"/proc/{proc.pid}/cmdline ({name})"] = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, where
