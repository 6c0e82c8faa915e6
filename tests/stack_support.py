"""`lookout up` for integration tests: a lookout.yaml whose only target is the demo server and whose every listen
address is a free loopback port, and `lookout up` started on it and stopped by PID afterwards."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

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
