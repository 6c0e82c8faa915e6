"""The console: dashboards, alerts and silences, SLOs, probes and benchmarks of the native stack in a browser.

It reads Prometheus and Alertmanager through their HTTP APIs (upstreams from config or flags only) and
stores nothing; ``lookout up`` runs it on ``listen.grafana``, at the paths Grafana uses (``/d/<uid>``),
so the alerts' dashboard and runbook links work natively as they do against Grafana.
"""

from __future__ import annotations

from starlette.types import ASGIApp

from lookout.console.app import ConsoleSettings, create_app
from lookout.serving import Listener, serve


async def serve_console(settings: ConsoleSettings, host: str, port: int, origin: str = "--listen") -> None:
    """Serve until SIGINT/SIGTERM; ``origin``: where the address came from, named when its port is taken."""
    from lookout.config.security import loopback_host
    from lookout.console.access import LoopbackHostsOnly, console_security

    security = console_security(settings.config.security)
    app: ASGIApp = create_app(settings)
    if loopback_host(host.strip("[]")):
        app = LoopbackHostsOnly(app)
    await serve([Listener(app, host, port, f"console, {origin}", security=security)])


__all__ = ["ConsoleSettings", "create_app", "serve_console"]
