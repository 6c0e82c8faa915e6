"""lookout.yaml for the tests: one whose only target is the demo server and whose every listen address is a free
loopback port, with `lookout up` started on it and stopped by PID afterwards; one whose only target a Prometheus
scrapes; and the `security:` block over the files `lookout certs` writes."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import LOOPBACK, Proc, free_port, lookout_argv, start, wait_until

LISTEN = ("prometheus", "alertmanager", "sink", "exporter", "pushgateway")
"""The stack's listen addresses every test sets; a test adds `grafana` when it exercises the console."""


def free_ports(*names: str) -> dict[str, int]:
    """A free loopback port for the demo server, its management API and each name given."""
    return {name: free_port() for name in ("demo", "demo_mgmt", *names)}


def sink_webhook(ports: dict[str, int], name: str = "sink") -> str:
    return f'{{url: "http://{LOOPBACK}:{ports[name]}/notify"}}'


def sink_alerting(ports: dict[str, int]) -> str:
    """Every priority routed to `lookout up`'s own sink; MCPServerDown fires at once and P0 is sent within seconds."""
    return f"""
  receivers:
    - name: sink
      webhook: {sink_webhook(ports)}
  routes: {{P0: [sink], P1: [sink], P2: [sink], P3: [sink]}}
  alerts:
    MCPServerDown: {{for: 0s}}
  timings:
    P0: {{group_wait: 1s, group_interval: 1s, repeat_interval: 1h}}
"""


def write_demo_config(path: Path, ports: dict[str, int], alerting: str, listen: tuple[str, ...] = LISTEN) -> None:
    """`alerting` is the YAML under `alerting:`, indented by two spaces; each of `listen` is served on its own port."""
    alerting = alerting.strip("\n")
    addresses = "\n".join(f"  {name}: {LOOPBACK}:{ports[name]}" for name in listen)
    path.write_text(
        f"""
version: 1
tenants:
  - name: acme
    targets:
      - name: demo-server
        url: http://{LOOPBACK}:{ports["demo"]}/mcp
        metrics_url: http://{LOOPBACK}:{ports["demo_mgmt"]}/metrics
alerting:
{alerting}
listen:
{addresses}
timing: {{scrape_interval: 1s, evaluation_interval: 1s}}
"""
    )


def scraped_target_config(
    tenant: str,
    service: str,
    url: str,
    metrics_url: str,
    prometheus_port: int,
    *,
    transport: str | None = None,
    probe: bool = True,
) -> str:
    """A lookout.yaml whose one target the Prometheus on `prometheus_port` scrapes at `metrics_url` every second;
    the other listen addresses and the sink's webhook are free loopback ports that nothing serves. `transport`, when
    given, is the target's (`url` is then what that transport takes); `probe=False` leaves it unprobed."""
    transport_field = f"\n        transport: {transport}" if transport else ""
    probe_field = "" if probe else "\n        probe: false"
    return f"""
version: 1
tenants:
  - name: {tenant}
    targets:
      - name: {service}{transport_field}
        url: {url}
        metrics_url: {metrics_url}{probe_field}
alerting:
  receivers: [{{name: sink, webhook: {{url: "http://{LOOPBACK}:{free_port()}/notify"}}}}]
  routes: {{P0: [sink]}}
listen:
  prometheus: {LOOPBACK}:{prometheus_port}
  alertmanager: {LOOPBACK}:{free_port()}
  exporter: {LOOPBACK}:{free_port()}
  pushgateway: {LOOPBACK}:{free_port()}
timing: {{scrape_interval: 1s, evaluation_interval: 1s}}
"""


@dataclass(frozen=True)
class SecurityBlock:
    """The `security:` block over the files `lookout certs` writes into `secrets`: TLS with ca.crt and
    server.crt/.key, and client.crt/.key for Lookout's own clients when `client_certificate`; each of `users`
    ({name: role}; the first is the client user) with the password file <name>.password, and each of `tokens`
    ({name: role}) with <name>.token. `secure_profile` sets `profile: secure`; `require_client_certificates` has
    every server require a client certificate."""

    secrets: Path
    secure_profile: bool = True
    client_certificate: bool = True
    require_client_certificates: bool = False
    users: Mapping[str, str] = field(default_factory=lambda: {"lookout": "operator", "viewer": "viewer"})
    tokens: Mapping[str, str] = field(default_factory=dict)

    def as_data(self) -> dict[str, Any]:
        """The block as lookout.yaml's data under `security`."""
        s = self.secrets
        tls: dict[str, Any] = {
            "enabled": True,
            "ca_file": f"{s}/ca.crt",
            "cert_file": f"{s}/server.crt",
            "key_file": f"{s}/server.key",
        }
        if self.client_certificate:
            tls |= {"client_cert_file": f"{s}/client.crt", "client_key_file": f"{s}/client.key"}
        if self.require_client_certificates:
            tls["client_certificates"] = "require"
        block: dict[str, Any] = {"profile": "secure"} if self.secure_profile else {}
        block["tls"] = tls
        block["users"] = [
            {"name": name, "role": role, "password_file": f"{s}/{name}.password"} for name, role in self.users.items()
        ]
        if self.tokens:
            block["tokens"] = [
                {"name": name, "role": role, "token_file": f"{s}/{name}.token"} for name, role in self.tokens.items()
            ]
        return block

    def as_yaml(self) -> str:
        """The top-level `security:` section of lookout.yaml, ending with a newline, laid out as by hand: `profile`
        first, `tls` a field a line with `enabled` first, each user and token on a line of its own (tests name the
        line a setting is on)."""
        lines = ["security:"]
        for key, value in self.as_data().items():
            if isinstance(value, dict):
                lines += [f"  {key}:", *(f"    {setting}: {_plain(v)}" for setting, v in value.items())]
            elif isinstance(value, list):
                flows = (
                    "{" + ", ".join(f"{setting}: {_plain(v)}" for setting, v in entry.items()) + "}" for entry in value
                )
                lines += [f"  {key}:", *(f"    - {flow}" for flow in flows)]
            else:
                lines.append(f"  {key}: {_plain(value)}")
        return "\n".join(lines) + "\n"


def _plain(value: object) -> str:
    """A scalar as YAML writes it unquoted (the names and paths here need no quotes)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


@contextlib.contextmanager
def lookout_up(tmp: Path, ports: dict[str, int], demo: bool = True) -> Iterator[Proc]:
    """`lookout up` on tmp/lookout.yaml with its data in tmp/data, ready once it says so; SIGTERM on the way out."""
    argv = lookout_argv("up", "--config", str(tmp / "lookout.yaml"), "--data-dir", str(tmp / "data"))
    if demo:
        argv += ["--demo-port", str(ports["demo"]), "--demo-management-port", str(ports["demo_mgmt"])]
    else:
        argv.append("--no-demo")
    proc = start(argv, tmp / "up.log")
    try:
        wait_until(lambda: "Lookout is up" in proc.output() or not proc.alive(), 90, what="lookout up")
        assert proc.alive(), proc.output()
        yield proc
    finally:
        proc.stop(signal.SIGTERM, timeout=30)
