"""``lookout up``: generate the stack into the data dir and run it as child processes."""

from __future__ import annotations

import signal
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.table import Table
from rich.text import Text

from lookout.config.model import Config, clash_message, listeners_clash
from lookout.config.security import NO_MCP_TOKEN
from lookout.report import DEFAULT_OUT
from lookout.runtime.children import (
    Child,
    ChildSpec,
    StackError,
    data_dir_lock,
    ensure_dir,
    resolve_binary,
    start_child,
    stop_leftovers,
    wait_ready,
)
from lookout.runtime.state import StackState, remove_state
from lookout.runtime.topology import (
    alertmanager_children,
    endpoints,
    port_checks,
    prometheus_children,
    storage_children,
    web_config_flags,
)
from lookout.security.files import client_access
from lookout.security.web_config import WEB_CONFIG_FILE, write_web_config
from lookout.serving import PortInUse, bind
from lookout.stack import DeployTarget, render_stack, write_stack

READY_TIMEOUT = 60.0


@dataclass(frozen=True)
class StackOptions:
    config_path: Path
    data_dir: Path
    demo: bool = True
    demo_port: int = 8000
    demo_management_port: int = 8080
    prometheus_bin: str = "prometheus"
    alertmanager_bin: str = "prometheus-alertmanager"
    pushgateway_bin: str = "prometheus-pushgateway"
    victoriametrics_bin: str = "victoria-metrics"
    reports_dir: Path = DEFAULT_OUT
    """Where ``lookout report`` writes (its ``--out``): the console's Reports page lists it."""


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def _check_ports(addresses: list[tuple[str, str]]) -> None:
    for i, (what, address) in enumerate(addresses):
        clash = next((other for other in addresses[:i] if listeners_clash(address, other[1])), None)
        if clash is not None:  # the demo's ports against the config's: binding each alone would not tell
            raise StackError(clash_message((what, address), clash))
        host, port = _split(address)
        try:
            bind(host, port, what).close()
        except PortInUse as exc:
            hint = {
                "listen.prometheus": " (Debian's prometheus.service? sudo systemctl disable --now prometheus)",
                "listen.alertmanager": " (sudo systemctl disable --now prometheus-alertmanager)",
            }.get(what, "")
            raise StackError(f"{exc}{hint}") from None


def _demo_url(config: Config, options: StackOptions) -> str:
    return f"{config.security.scheme}://127.0.0.1:{options.demo_port}/mcp"


def _demo_management_url(config: Config, options: StackOptions) -> str:
    return f"{config.security.scheme}://127.0.0.1:{options.demo_management_port}"


def child_specs(config: Config, options: StackOptions, stack_dir: Path) -> list[ChildSpec]:
    if options.demo and config.security.auth and config.security.mcp_token() is None:
        raise StackError(NO_MCP_TOKEN)
    data, logs = options.data_dir.resolve(), options.data_dir.resolve() / "logs"
    prometheus = resolve_binary(options.prometheus_bin, "--prometheus-bin", "prometheus")
    alertmanager = resolve_binary(options.alertmanager_bin, "--alertmanager-bin", "prometheus-alertmanager")
    pushgateway = resolve_binary(options.pushgateway_bin, "--pushgateway-bin", "prometheus-pushgateway")
    lookout = [sys.executable, "-m", "lookout"]
    specs = [
        ChildSpec(
            "sink",
            [
                *lookout,
                "sink",
                "--config",
                str(options.config_path.resolve()),
                "--listen",
                config.listen.sink,
                "--file",
                str(data / "notifications.jsonl"),
            ],
            f"http://{config.listen.sink}/-/ready",
            log=None,
        ),
        *alertmanager_children(config, alertmanager, data, stack_dir),
        ChildSpec(
            "exporter",
            [*lookout, "exporter", "--config", str(options.config_path.resolve()), "--listen", config.listen.exporter],
            f"http://{config.listen.exporter}/-/healthy",
            log=logs / "exporter.log",
        ),
        ChildSpec(
            "pushgateway",
            [
                pushgateway,
                f"--web.listen-address={config.listen.pushgateway}",
                f"--persistence.file={data / 'pushgateway.db'}",  # benchmark results survive restarts
                *web_config_flags(config, stack_dir.resolve()),
            ],
            f"http://{config.listen.pushgateway}/-/ready",
            log=logs / "pushgateway.log",
            binary_option="--pushgateway-bin",
        ),
        *storage_children(config, options.victoriametrics_bin, data),
        *prometheus_children(config, prometheus, data, stack_dir),
        ChildSpec(
            "console",
            [
                *lookout,
                "console",
                "--config",
                str(options.config_path.resolve()),
                "--listen",
                config.listen.grafana,
                "--data-dir",
                str(data),
                "--reports",
                str(options.reports_dir.resolve()),
            ],
            f"http://{config.listen.grafana}/health/ready",
            log=logs / "console.log",
            essential=False,  # a view: alerting goes on without it
        ),
    ]
    if options.demo and config.demo.traffic_rps > 0:
        # Last to start, first to stop; it outlives a demo server that is down (that is what alerts are for).
        specs.append(
            ChildSpec(
                "demo-traffic",
                [
                    *lookout,
                    "demo",
                    "traffic",
                    "--url",
                    _demo_url(config, options),
                    "--rps",
                    f"{config.demo.traffic_rps:g}",
                    "--config",  # the CA and the bearer token under security:, by file
                    str(options.config_path.resolve()),
                ],
                None,
                log=logs / "demo-traffic.log",
                essential=False,
            )
        )
    if options.demo:
        specs.insert(
            0,
            ChildSpec(
                "demo-server",
                [
                    *lookout,
                    "demo-server",
                    "--port",
                    str(options.demo_port),
                    "--management-port",
                    str(options.demo_management_port),
                    "--config",
                    str(options.config_path.resolve()),
                ],
                f"http://127.0.0.1:{options.demo_management_port}/health",
                log=logs / "demo-server.log",
                essential=False,
            ),
        )
    return _secured(config, specs)


def _secured(config: Config, specs: list[ChildSpec]) -> list[ChildSpec]:
    """Readiness checks as Lookout's clients connect under ``security:``: https, the CA (and client
    certificate), the client user (VictoriaMetrics takes no login and ignores it)."""
    security = config.security
    if not security.enabled:
        return specs
    verify, auth = client_access(security)
    out = []
    for spec in specs:
        if spec.ready_url is not None:
            url = spec.ready_url
            if security.tls.enabled:
                url = "https://" + url.removeprefix("http://")
            spec = replace(spec, ready_url=url, ready_verify=verify, ready_auth=auth)
        out.append(spec)
    return out


def _url_table(config: Config, options: StackOptions, console: bool = True) -> Table:
    table = Table(title="Lookout is up", title_justify="left")
    table.add_column("component")
    table.add_column("URL")
    if options.demo:
        table.add_row("demo MCP server", _demo_url(config, options))
        if config.demo.traffic_rps > 0:
            table.add_row("demo traffic", f"{config.demo.traffic_rps:g} requests/s (demo.traffic_rps)")
        management = f"{config.security.scheme}://127.0.0.1:{options.demo_management_port}"
        table.add_row("demo health / metrics", f"{management}/health  …/metrics")
    if console:
        table.add_row("console (dashboards, alerts, SLOs)", f"{config.security.scheme}://{config.listen.grafana}")
    paths = {"exporter": "/probe?target=NAME", "sink": "/notify"}
    for endpoint in endpoints(config):
        if endpoint.child != "console":
            table.add_row(endpoint.title, endpoint.url + paths.get(endpoint.child, ""))
    table.add_row("notifications file", str(options.data_dir / "notifications.jsonl"))
    table.add_row("logs", str(options.data_dir / "logs"))
    return table


def run_stack(config: Config, options: StackOptions) -> int:
    """Run until SIGINT/SIGTERM or until an essential child dies; return the exit code. One `lookout up` per
    data dir: it holds a lock there, and first stops what a killed predecessor left running."""
    # Binaries are resolved first: a missing one stops us before anything is created.
    specs = child_specs(config, options, options.data_dir / "stack")
    ensure_dir(options.data_dir)
    with data_dir_lock(options.data_dir):
        for note in stop_leftovers(options.data_dir / "run", {spec.name: spec.argv for spec in specs}):
            Console(stderr=True).print(Text(note, style="yellow"), soft_wrap=True)
        return _run_stack(config, options, specs)


def _say(console: Console, child: Child, what: str) -> None:
    """One line, never wrapped or read as markup: the child's own last words end it."""
    why = child.last_words()
    console.print(Text(f"lookout: {child.name} {what}" + (f": {why}" if why else ""), style="red"), soft_wrap=True)


def _run_stack(config: Config, options: StackOptions, specs: list[ChildSpec]) -> int:
    console = Console(stderr=True)
    stack_dir = options.data_dir / "stack"
    ports = port_checks(config)
    if options.demo:
        ports += [
            ("demo server, --demo-port", f"127.0.0.1:{options.demo_port}"),
            ("demo management, --demo-management-port", f"127.0.0.1:{options.demo_management_port}"),
        ]
    try:
        _check_ports([("listen.grafana (the console)", config.listen.grafana)])
    except StackError as exc:
        # A view, not part of alerting: a Grafana (or another stack) on its port leaves the rest running.
        console.print(Text(f"lookout: {exc}: the stack runs without the console", style="yellow"), soft_wrap=True)
        specs = [spec for spec in specs if spec.name != "console"]
    _check_ports([(what, address) for what, address in ports if address != config.listen.grafana])
    for directory in ("run", "logs", "stack", "prometheus", "alertmanager"):
        ensure_dir(options.data_dir / directory)  # one line naming it, not a traceback from a child's start
    try:
        write_stack(render_stack(config, DeployTarget.NATIVE), stack_dir)
        write_web_config(config.security, stack_dir.resolve() / WEB_CONFIG_FILE)
    except OSError as exc:
        raise StackError(f"{stack_dir}: cannot write the generated stack: {exc.strerror}") from None

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    children: list[Child] = []
    try:
        with console.status("starting …") as status:
            for spec in specs:
                if stop.is_set():
                    break
                status.update(f"starting {spec.name} …")
                children.append(start_child(spec, options.data_dir / "run"))
            status.update("waiting for " + ", ".join(c.name for c in children) + " to be ready …")
            not_ready = wait_ready(children, READY_TIMEOUT, lambda c: console.log(f"[green]✓[/] {c.name} ready"), stop)
        if stop.is_set():
            # Ctrl-C while starting: stop what started (below) without waiting for the rest to be ready.
            console.print("interrupted while starting")
            return 0
        if not_ready:
            child = not_ready[0]
            code = child.exit_code()
            state = f"exited with code {code}" if code is not None else f"not ready after {READY_TIMEOUT:.0f}s"
            _say(console, child, state)
            return 1
        StackState.for_this_process(
            options.config_path,
            options.data_dir,
            _demo_url(config, options) if options.demo else None,
            _demo_management_url(config, options) if options.demo else None,
        ).write()
        console.print(_url_table(config, options, any(spec.name == "console" for spec in specs)))
        console.print("Ctrl-C stops everything.")
        return _supervise(children, stop, console)
    finally:
        remove_state(options.data_dir)
        for child in reversed(children):
            child.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
        if children:
            console.print("stopped: " + ", ".join(c.name for c in children))


def _supervise(children: list[Child], stop: threading.Event, console: Console) -> int:
    while not stop.wait(0.5):
        for child in children:
            code = child.exit_code()
            if code is None or child.reported_exit:
                continue
            child.reported_exit = True
            role = child.spec.replicas_of
            survivors = [c.name for c in children if role and c.spec.replicas_of == role and c.exit_code() is None]
            if child.spec.essential and not survivors:
                _say(console, child, f"exited with code {code}; stopping the stack")
                return 1
            if survivors:
                _say(console, child, f"exited with code {code}; {', '.join(survivors)} carry on as {role}")
                continue
            console.print(f"[yellow]{child.name} exited with code {code}: its alerts will fire[/]")
    return 0
