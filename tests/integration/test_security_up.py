"""`lookout certs` then `lookout up` with examples/lookout-secure.yaml (ports moved to free ones): every child is
ready over TLS with a login, Prometheus scrapes every job over TLS (up == 1), the demo's MCP endpoint is a protected
MCP server (TLS, the SDK's bearer authentication with the token of security.tokens) that the prober and the demo
traffic reach, the demo's fault API wants an operator, a fault fires an alert that reaches the sink over TLS, and no
password or token is on a child's command line, in a log or in a generated file."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
import yaml
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from prometheus_client.parser import text_string_to_metric_families

from lookout import metrics as m
from tests.support import free_port, lookout_argv, start, wait_until

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lookout-secure.yaml"
DRILL = EXAMPLE.with_name("lookout-drill.yaml")
ERROR_ALERTS = {"MCPErrorBudgetBurnFast", "MCPErrorRatioHigh", "MCPToolErrorRatioHigh"}


def _config(tmp: Path) -> tuple[Path, dict[str, int]]:
    ports = {k: free_port() for k in ("demo", "mgmt", "prometheus", "alertmanager", "sink", "exporter", "push", "ui")}
    data = yaml.safe_load(EXAMPLE.read_text())
    target = data["tenants"][0]["targets"][0]
    target["url"] = f"https://127.0.0.1:{ports['demo']}/mcp"
    target["metrics_url"] = f"https://127.0.0.1:{ports['mgmt']}/metrics"
    data["alerting"]["receivers"][0]["webhook"]["url"] = f"https://127.0.0.1:{ports['sink']}/notify"
    data["listen"] = {
        "prometheus": f"127.0.0.1:{ports['prometheus']}",
        "alertmanager": f"127.0.0.1:{ports['alertmanager']}",
        "sink": f"127.0.0.1:{ports['sink']}",
        "exporter": f"127.0.0.1:{ports['exporter']}",
        "pushgateway": f"127.0.0.1:{ports['push']}",
        "grafana": f"127.0.0.1:{ports['ui']}",
    }
    # The drill profile's alerting (short `for` and Alertmanager timings, traffic): a fault notifies in seconds.
    drill = yaml.safe_load(DRILL.read_text())
    for key in ("slo", "business_hours", "timings", "alerts"):
        data["alerting"][key] = drill["alerting"][key]
    data["timing"], data["demo"] = drill["timing"], drill["demo"]
    path = tmp / "lookout.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, ports


def test_lookout_up_runs_the_secure_example_on_tls(tmp_path: Path) -> None:
    config, ports = _config(tmp_path)
    certs = subprocess.run(lookout_argv("certs", "--config", str(config)), cwd=tmp_path, capture_output=True, text=True)
    assert certs.returncode == 0, certs.stderr
    secrets = tmp_path / ".lookout" / "secrets"
    context = ssl.create_default_context(cafile=str(secrets / "ca.crt"))
    context.load_cert_chain(str(secrets / "client.crt"), str(secrets / "client.key"))
    operator = ("lookout", (secrets / "lookout.password").read_text().strip())
    viewer = ("viewer", (secrets / "viewer.password").read_text().strip())
    token = (secrets / "demo-client.token").read_text().strip()
    argv = lookout_argv(
        "up", "--config", str(config), "--demo-port", str(ports["demo"]), "--demo-management-port", str(ports["mgmt"])
    )
    up = start(argv, tmp_path / "up.log", cwd=tmp_path)
    try:
        wait_until(lambda: "Lookout is up" in up.output() or not up.alive(), 120, what="lookout up")
        assert up.alive(), up.output()
        assert f"https://127.0.0.1:{ports['prometheus']}" in up.output()
        with httpx.Client(verify=context, timeout=10) as client:
            prometheus = f"https://127.0.0.1:{ports['prometheus']}"
            assert client.get(f"{prometheus}/api/v1/query", params={"query": "up"}).status_code == 401

            def every_job_up() -> bool:
                answer = client.get(f"{prometheus}/api/v1/query", params={"query": "up"}, auth=operator).json()
                up_by_job = {r["metric"]["job"]: r["value"][1] for r in answer["data"]["result"]}
                return len(up_by_job) >= 6 and set(up_by_job.values()) == {"1"}

            wait_until(every_job_up, 60, what="up == 1 for every job over TLS")
            _mcp_endpoint_is_protected(ports["demo"], context, token, operator)

            def demo_probed_and_driven() -> bool:
                query = f'{m.PROBE_SUCCESS.name}{{service="demo-server"}}'
                answer = client.get(f"{prometheus}/api/v1/query", params={"query": query}, auth=operator).json()
                probed = [r["value"][1] for r in answer["data"]["result"]] == ["1"]  # the prober: CA and token
                text = client.get(f"https://127.0.0.1:{ports['mgmt']}/metrics", auth=operator).text
                driven = any(  # only the demo traffic calls search_docs
                    sample.name == f"{m.OPERATION_DURATION.name}_count"
                    and sample.labels.get(m.TOOL_NAME) == "search_docs"
                    and sample.value > 0
                    for family in text_string_to_metric_families(text)
                    for sample in family.samples
                )
                return probed and driven

            wait_until(
                demo_probed_and_driven, 60, what="the demo's MCP endpoint probed and driven over TLS with the token"
            )
            faults = f"https://127.0.0.1:{ports['mgmt']}/faults"
            assert client.get(faults).status_code == 401
            assert client.get(faults, auth=viewer).status_code == 200
            assert client.delete(faults, auth=viewer).status_code == 403
            assert client.delete(faults, auth=operator).status_code == 200
            management = f"https://127.0.0.1:{ports['mgmt']}"
            cli = lookout_argv("demo", "faults", "--url", management, "--config", str(config))
            shown = subprocess.run(cli, cwd=tmp_path, capture_output=True, text=True, timeout=60)
            assert shown.returncode == 0 and json.loads(shown.stdout) == {}, shown.stderr
            refused = subprocess.run(cli[:-2], cwd=tmp_path, capture_output=True, text=True, timeout=60)
            assert refused.returncode == 1 and "Traceback" not in refused.stderr  # no CA, no login
            # A fault still fires an alert that reaches the sink through Alertmanager over TLS.
            fault = {"error_ratio": 0.5, "latency_ms": 0}
            assert client.put(f"{faults}/calculate", json=fault, auth=viewer).status_code == 403
            assert client.put(f"{faults}/calculate", json=fault, auth=operator).status_code == 200
            notifications = tmp_path / ".lookout" / "notifications.jsonl"

            def error_alert_at_the_sink() -> bool:
                lines = notifications.read_text().splitlines() if notifications.exists() else []
                return any(
                    alert["status"] == "firing" and alert["labels"]["alertname"] in ERROR_ALERTS
                    for line in lines
                    for alert in json.loads(line)["alerts"]
                )

            wait_until(error_alert_at_the_sink, 150, interval=1, what="an error alert at the sink over TLS")
            assert client.delete(faults, auth=operator).status_code == 200
            # lookout drill reaches Prometheus, Alertmanager, the Pushgateway and the demo over TLS with the login.
            drill = subprocess.run(
                lookout_argv("drill", "--alert", "MCPCapacityHigh", "--json"),
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert drill.returncode == 0, drill.stdout + drill.stderr
            assert client.get(f"https://127.0.0.1:{ports['mgmt']}/health/live").status_code == 200  # open_health
        assert [a["status"] for a in json.loads(drill.stdout)["alerts"]] == ["passed"], drill.stdout
        pids = [int(p.read_text()) for p in (tmp_path / ".lookout" / "run").glob("*.pid")]
        assert pids
        for pid in pids:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
            assert operator[1] not in cmdline and viewer[1] not in cmdline and token not in cmdline
        for log in (tmp_path / ".lookout").rglob("*.log"):
            text = log.read_text(errors="replace")
            assert operator[1] not in text and viewer[1] not in text and token not in text, log
        generated = "".join(p.read_text() for p in (tmp_path / ".lookout" / "stack").rglob("*.y*ml"))
        assert operator[1] not in generated and json.dumps(viewer[1]) not in generated and token not in generated
    finally:
        up.stop(signal.SIGTERM, timeout=60)


def _mcp_endpoint_is_protected(port: int, context: ssl.SSLContext, token: str, operator: tuple[str, str]) -> None:
    """TLS only; no token, a wrong one or a password login: 401 with the bearer challenge; the token: a tool call."""
    url = f"https://127.0.0.1:{port}/mcp"
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
    }
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    with pytest.raises(httpx.HTTPError):  # plain HTTP: the TLS listener drops it
        httpx.post(f"http://127.0.0.1:{port}/mcp", json=initialize, headers=headers, timeout=5)
    with httpx.Client(verify=context, timeout=10, headers=headers) as client:
        refused = client.post(url, json=initialize)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer ")
        assert client.post(url, json=initialize, headers={"authorization": "Bearer wrong"}).status_code == 401
        assert client.post(url, json=initialize, auth=operator).status_code == 401  # MCP clients send tokens
        answered = client.post(url, json=initialize, headers={"authorization": f"Bearer {token}"})
        assert answered.status_code == 200, answered.text

    async def call() -> bool:
        bearer = {"Authorization": f"Bearer {token}"}
        async with (
            httpx2.AsyncClient(verify=context, headers=bearer) as http,
            Client(streamable_http_client(url, http_client=http), mode="legacy") as mcp,
        ):
            return not (await mcp.call_tool("echo", {"text": "over tls"})).is_error

    assert anyio.run(call)
