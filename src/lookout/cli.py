"""The ``lookout`` command line. Each command is a thin call into a layer below."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

import anyio
import typer

from lookout import __version__
from lookout.bench.cli import bench_app
from lookout.config import Config, ConfigError, load_config
from lookout.extras import COMMAND_EXTRAS, missing_extra, require
from lookout.interrupt import caused_by_ctrl_c
from lookout.report import DEFAULT_OUT
from lookout.report.cli import report_app

app = typer.Typer(
    help="Lookout: monitoring for MCP server fleets. Instrument Python servers, probe any server, "
    "and generate + run a Prometheus/Alertmanager stack from one lookout.yaml.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Check lookout.yaml and print its JSON Schema.", no_args_is_help=True)
app.add_typer(config_app, name="config")
demo_app = typer.Typer(help="Control a running demo server (fault injection).", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(bench_app, name="bench")
app.add_typer(report_app, name="report")

# readable=False: the loader says in one line why a file cannot be read (click would draw a usage box).
CONFIG_OPTION = typer.Option(Path("lookout.yaml"), "--config", "-c", help="Path to lookout.yaml.", readable=False)


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr, no traceback, exit ``code`` (2: bad input or set-up)."""
    typer.echo(f"lookout: {message}", err=True)
    raise typer.Exit(code)


def _load(path: Path) -> Config:
    from lookout.stack.rules.catalog import alert_names

    try:
        config = load_config(path, alert_names=alert_names())
    except ConfigError as exc:
        fail(str(exc))
    from lookout.config.security import exposure_warnings
    from lookout.security.redact import configure_redaction

    configure_redaction(config.security.redaction.enabled, config.security.redaction.patterns)
    for line in exposure_warnings(config.addresses(), config.security):
        typer.secho(f"lookout: warning: {line}", fg="yellow", err=True)
    from lookout.security.controls import cleartext_scrape

    for loc, url in config.cleartext_scrapes():
        field = ".".join(str(part) for part in loc)
        typer.secho(f"lookout: warning: {field}: {cleartext_scrape(url, config)}", fg="yellow", err=True)
    return config


def _warn_stdio_in_image(config: Config) -> None:
    """Stdio targets whose command the containerised exporter (compose, Kubernetes) cannot run."""
    from lookout.stack.deployment import stdio_in_image_warnings

    for line in stdio_in_image_warnings(config):
        typer.secho(f"lookout: warning: {line}", fg="yellow", err=True)


def _warn_exposed(listeners: list[tuple[str, str]], cfg: Config | None) -> None:
    """The warning `_load` gives a `listen:` address beyond loopback, for a command's own listen options (an
    address `listen:` already has was named when the config loaded)."""
    from lookout.config.security import Security, exposure_warnings

    named = {address for _, address in cfg.addresses()} if cfg is not None else set()
    own = [(option, address) for option, address in listeners if address not in named]
    for line in exposure_warnings(own, cfg.security if cfg is not None else Security()):
        typer.secho(f"lookout: warning: {line}", fg="yellow", err=True)


def _secured(cfg: Config) -> Config:
    """``cfg`` once every file its ``security:`` names is usable (else one line naming the field, exit 2)."""
    if not cfg.security.enabled:
        return cfg
    from lookout.security import SecurityError
    from lookout.security.files import check_files

    try:
        check_files(cfg.security)
    except SecurityError as exc:
        fail(str(exc))
    return cfg


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lookout {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Lookout: monitoring for MCP server fleets."""
    # Before the command starts anything: one line naming the extras to install (see main).
    require(*COMMAND_EXTRAS.get(ctx.invoked_subcommand or "", ()))


# ------------------------------------------------------------------ config
@config_app.command("validate")
def config_validate(file: Path = typer.Argument(..., help="The lookout.yaml to check.", readable=False)) -> None:
    """Validate FILE: exit 0 when valid; otherwise one line naming the field and line, exit 2."""
    config = _load(file)
    typer.echo(f"{file}: ok ({len(config.tenants)} tenants, {len(config.targets())} targets)")


@config_app.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of lookout.yaml (for editors and CI)."""
    typer.echo(json.dumps(Config.model_json_schema(by_alias=True), indent=2, sort_keys=True))


# ------------------------------------------------------------------ generate
@app.command()
def generate(
    config: Path = CONFIG_OPTION,
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write the stack into."),
    target: str = typer.Option("native", "--target", help="native (lookout up), compose, k8s or all."),
) -> None:
    """Write the monitoring stack for lookout.yaml into --out (same input, byte-identical files)."""
    from lookout.stack import DeployTarget, render_stack, write_stack

    cfg = _load(config)
    try:
        deploy = DeployTarget(target)
    except ValueError:
        fail(f"--target {target!r}: choose one of {', '.join(t.value for t in DeployTarget)}")
    if deploy is not DeployTarget.NATIVE:
        _warn_stdio_in_image(cfg)
    try:
        written = write_stack(render_stack(cfg, deploy), out)
    except OSError as exc:
        fail(f"{out}: cannot write: {exc.strerror}")
    typer.echo(f"wrote {len(written)} files to {out}")


# ------------------------------------------------------------------ check
@app.command()
def check(
    config: Path = CONFIG_OPTION,
    out: Path | None = typer.Option(None, "--out", "-o", help="Check the stack generated in DIR instead."),
    live: str | None = typer.Option(None, "--live", help="Prometheus URL: every recording rule and query has data."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    controls: bool = typer.Option(
        False, "--controls", help="Only the security controls in force (TLS, auth, secrets, redaction, retention)."
    ),
) -> None:
    """Prove the generated stack with promtool, amtool, the metric contract (and --live): exit 1 on findings.
    With --controls: the security controls in force, each with the file and line that decides it."""
    from lookout.check.live import LiveUnreachable
    from lookout.check.runner import SetupError, check_config

    cfg = _load(config)
    if controls:
        from lookout.security.controls import as_json as controls_json
        from lookout.security.controls import controls as security_controls

        found = security_controls(cfg, config)
        if as_json:
            typer.echo(json.dumps(controls_json(found), indent=2))
        else:
            for control in found:
                typer.echo(control.line())
        raise typer.Exit(0 if all(c.passed for c in found) else 1)
    if out is not None and not out.is_dir():
        fail(f"--out {out}: no such directory: run `lookout generate --out {out}` first")
    from lookout.stack.compose import COMPOSE_FILE
    from lookout.stack.k8s import K8S_DIR

    # Without --out every part is generated and checked.
    if out is None or (out / COMPOSE_FILE).exists() or (out / K8S_DIR).exists():
        _warn_stdio_in_image(cfg)
    try:
        report = check_config(cfg, out, live)
    except (SetupError, LiveUnreachable) as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for note in report.skipped:
            typer.echo(f"skipped {note}", err=True)
        for finding in report.findings:
            typer.echo(finding.line())
        verdict = f"{len(report.findings)} findings" if report.findings else "ok"
        typer.echo(f"{verdict} ({', '.join(report.ran)})", err=True)
    raise typer.Exit(1 if report.findings else 0)


# ------------------------------------------------------------------ up
@app.command()
def up(
    config: Path = CONFIG_OPTION,
    data_dir: Path = typer.Option(Path(".lookout"), help="Generated files, TSDB and notifications live here."),
    no_demo: bool = typer.Option(False, "--no-demo", help="Do not start the demo MCP server."),
    demo_port: int = typer.Option(8000, min=1, max=65535, help="Port of the demo MCP endpoint."),
    demo_management_port: int = typer.Option(
        8080, min=1, max=65535, help="Port of the demo's /metrics, /health and /faults."
    ),
    prometheus_bin: str = typer.Option("prometheus", help="Prometheus binary (name on PATH or path)."),
    alertmanager_bin: str = typer.Option("prometheus-alertmanager", help="Alertmanager binary."),
    pushgateway_bin: str = typer.Option("prometheus-pushgateway", help="Pushgateway binary (benchmark results)."),
    victoriametrics_bin: str = typer.Option(
        "victoria-metrics", help="VictoriaMetrics binary (the long-term store of the `ha` topology)."
    ),
    reports: Path = typer.Option(
        DEFAULT_OUT, help="Where `lookout report` writes (its --out): the console lists it under Reports."
    ),
) -> None:
    """Run the local stack: demo server, Prometheus, Alertmanager, prober exporter, Pushgateway and a
    notification sink. Ctrl-C stops all."""
    from lookout.runtime.children import StackError
    from lookout.runtime.stack import StackOptions, run_stack

    cfg = _secured(_load(config))
    options = StackOptions(
        config_path=config,
        data_dir=data_dir,
        demo=not no_demo,
        demo_port=demo_port,
        demo_management_port=demo_management_port,
        prometheus_bin=prometheus_bin,
        alertmanager_bin=alertmanager_bin,
        pushgateway_bin=pushgateway_bin,
        victoriametrics_bin=victoriametrics_bin,
        reports_dir=reports,
    )
    try:
        code = run_stack(cfg, options)
    except StackError as exc:
        fail(str(exc))
    raise typer.Exit(code)


# ------------------------------------------------------------------ certs
@app.command()
def certs(
    config: Path = CONFIG_OPTION,
    renew: bool = typer.Option(False, "--renew", help="Replace the server and client certificates (the CA stays)."),
    hash_password: bool = typer.Option(
        False, "--hash-password", help="Read a password on stdin and print its bcrypt hash (for password_hash)."
    ),
    web_config: Path | None = typer.Option(
        None,
        "--web-config",
        help="Only write the web config of Prometheus, Alertmanager and the Pushgateway (TLS, bcrypt hashes of "
        "the users' passwords) to this file, owner-only: the compose stack's Makefile runs it.",
    ),
) -> None:
    """Create what security: names: a local CA, the server certificate for every listen host, the client
    certificate, and missing password and token files (owner-only). Existing files are kept."""
    if hash_password:
        import bcrypt

        password = sys.stdin.readline().rstrip("\n")
        if not password:
            fail("--hash-password: no password on stdin: pipe one in (e.g. from a password manager)")
        from lookout.config.security import BCRYPT_MAX_BYTES

        if len(password.encode()) > BCRYPT_MAX_BYTES:
            fail(
                f"--hash-password: the password is {len(password.encode())} bytes, bcrypt takes at most "
                f"{BCRYPT_MAX_BYTES}: use a shorter one"
            )
        typer.echo(bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode())
        return
    from lookout.security import SecurityError
    from lookout.security.certs import write_certs
    from lookout.security.files import check_files

    cfg = _load(config)
    if not cfg.security.enabled:
        fail(
            f"{config}: security: is off (no tls.enabled, users or tokens): nothing to create; "
            "set security.tls.enabled: true (see docs/security.md)"
        )
    if web_config is not None:
        from lookout.security.web_config import write_web_config

        try:
            check_files(cfg.security)
            write_web_config(cfg.security, web_config)
        except SecurityError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"--web-config {web_config}: cannot write: {exc.strerror}")
        typer.echo(f"wrote {web_config}")
        return
    try:
        written = write_certs(cfg, renew=renew)
        check_files(cfg.security)
    except SecurityError as exc:
        fail(str(exc))
    except OSError as exc:  # e.g. a file where the secrets directory should be, or a directory without write access
        fail(f"cannot write {exc.filename} ({exc.strerror}): fix that path in security: or its directory's permissions")
    for path in written.created:
        typer.echo(f"created {path}")
    for path in written.kept:
        typer.echo(f"kept    {path}")


# ------------------------------------------------------------------ drill
@app.command()
def drill(
    data_dir: Path = typer.Option(Path(".lookout"), help="Data dir of the running `lookout up`."),
    alert: list[str] = typer.Option([], "--alert", "-a", help="Drill only this alert (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Prove alerting on a running `lookout up`: make each alert fire, see it reach its receiver, clear it and
    see it resolve. Exit 1 if any alert failed."""
    import time

    from rich.console import Console

    from lookout.runtime.drill import DrillError, render_json, render_table, run_drill

    err = Console(stderr=True, highlight=False)
    try:
        report = run_drill(
            data_dir,
            alert,
            log=lambda line: err.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {line}", markup=True),
            warn=lambda line: err.print(f"[yellow]{line}[/]"),
        )
    except DrillError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(render_json(report))
    else:
        Console(width=None if sys.stdout.isatty() else 200).print(render_table(report))
    raise typer.Exit(1 if report.failed else 0)


# ------------------------------------------------------------------ demo server
@app.command("demo-server")
def demo_server(
    host: str = typer.Option("127.0.0.1", help="Address of the MCP endpoint."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port of the MCP endpoint (streamable HTTP at /mcp)."),
    management_host: str = typer.Option("127.0.0.1", help="Address of the management port."),
    management_port: int = typer.Option(8080, min=1, max=65535, help="Port of /metrics, /health and /faults."),
    service: str = typer.Option("lookout-demo", help="Service name in log lines and spans (the target's name)."),
    tenant: str = typer.Option("", help="Tenant in log lines (the target's tenant)."),
    json_logs: bool = typer.Option(False, "--json-logs", help="JSON log lines on stderr (what Alloy parses)."),
    otlp_endpoint: str | None = typer.Option(
        None, help="OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces (exemplars need traces)."
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        readable=False,
        help="lookout.yaml whose security: both ports obey: the management port's TLS, users and roles; the MCP "
        "endpoint's TLS and bearer tokens (security.tokens).",
    ),
) -> None:
    """Run the demo MCP server (SDK MCPServer, streamable HTTP) with fault injection."""
    from functools import partial

    from lookout.config.security import NO_MCP_TOKEN
    from lookout.demo.app import serve_demo
    from lookout.instrument._options import check_otlp_endpoint
    from lookout.security.auth import server_security
    from lookout.serving import PortInUse

    if otlp_endpoint is not None:
        try:
            check_otlp_endpoint(otlp_endpoint, "--otlp-endpoint")
        except ValueError as exc:
            fail(str(exc))
    security, cfg = None, None
    if config is not None:
        cfg = _secured(_load(config))
        if cfg.security.auth and cfg.security.mcp_token() is None:
            fail(NO_MCP_TOKEN)
        security = server_security(cfg.security)
    _warn_exposed([("--host", f"{host}:{port}"), ("--management-host", f"{management_host}:{management_port}")], cfg)
    serve = partial(
        serve_demo,
        service=service,
        tenant=tenant,
        json_logs=json_logs,
        otlp_endpoint=otlp_endpoint,
        management_security=security,
        mcp_security=security,
    )
    try:
        anyio.run(serve, host, port, management_host, management_port)
    except PortInUse as exc:
        fail(str(exc))


MANAGEMENT_URL = typer.Option(
    None,
    "--url",
    help="The demo server's management URL (default: that of the `lookout up` running with --data-dir, "
    "else http://127.0.0.1:8080).",
)
DEMO_DATA_DIR = typer.Option(
    Path(".lookout"), "--data-dir", help="Data dir of the running `lookout up` whose demo server to reach."
)
DEMO_CONFIG = typer.Option(
    None,
    "--config",
    "-c",
    readable=False,
    help="lookout.yaml whose security: gives the CA and the login (https --url).",
)


def _faults_request(
    method: str,
    path: str,
    url: str | None,
    body: Mapping[str, object] | None = None,
    config: Path | None = None,
    data_dir: Path = Path(".lookout"),
) -> None:
    """``method`` on the demo server's ``path``; without ``url``, the demo server of the `lookout up` running
    with ``data_dir`` (whatever --demo-management-port it was given, with its config's login)."""
    import httpx

    from lookout.runtime.state import read_state

    if url is None:
        running = read_state(data_dir)
        url = (running.demo_management_url if running else None) or "http://127.0.0.1:8080"
        if config is None and running is not None and running.demo_management_url:
            config = Path(running.config_path)
    url = f"{url.rstrip('/')}{path}"
    verify: object = True
    auth: tuple[str, str] | None = None
    if config is not None:
        from lookout.security import SecurityError
        from lookout.security.files import client_access

        try:
            verify, auth = client_access(_load(config).security)
        except SecurityError as exc:
            fail(str(exc))
    try:
        response = httpx.request(method, url, json=body, timeout=5, verify=verify, auth=auth)  # type: ignore[arg-type]
    except httpx.InvalidURL as exc:
        fail(f"--url {url!r}: {exc}: give the demo server's management URL, e.g. http://127.0.0.1:8080")
    except httpx.HTTPError as exc:
        fail(f"cannot reach the demo server at {url}: {exc}; is `lookout demo-server` running?", code=1)
    try:
        answer = response.json()
    except ValueError:
        fail(f"{url}: HTTP {response.status_code}, not JSON: is --url the demo server's management port?", code=1)
    if response.status_code >= 400:
        fail(f"{url}: {answer.get('error', response.text) if isinstance(answer, dict) else response.text}")
    typer.echo(json.dumps(answer, indent=2))


FAULT_KINDS = {"exception": "exception", "tool-error": "tool_error"}


@demo_app.command("fault")
def demo_fault(
    tool: str = typer.Argument(
        "*", help="Tool name, or * for every tool without a fault of its own (a tool's own fault replaces it)."
    ),
    error_ratio: float = typer.Option(0.0, help="Share of calls that fail, 0..1."),
    kind: str = typer.Option(
        "exception",
        help="How failing calls fail: exception (an unexpected exception, the server's fault: availability) "
        "or tool-error (a deliberate ToolError).",
    ),
    latency_ms: float = typer.Option(0.0, help="Milliseconds added to every call."),
    hang: bool = typer.Option(False, help="Calls never return."),
    url: str | None = MANAGEMENT_URL,
    config: Path | None = DEMO_CONFIG,
    data_dir: Path = DEMO_DATA_DIR,
) -> None:
    """Inject a fault into a running demo server's tool (or all tools)."""
    if kind not in FAULT_KINDS:
        fail(f"--kind {kind!r}: use one of {', '.join(FAULT_KINDS)}")
    body = {"error_ratio": error_ratio, "kind": FAULT_KINDS[kind], "latency_ms": latency_ms, "hang": hang}
    _faults_request("PUT", f"/faults/{tool}", url, body, config, data_dir)


@demo_app.command("clear")
def demo_clear(
    url: str | None = MANAGEMENT_URL, config: Path | None = DEMO_CONFIG, data_dir: Path = DEMO_DATA_DIR
) -> None:
    """Remove every injected fault."""
    _faults_request("DELETE", "/faults", url, config=config, data_dir=data_dir)


@demo_app.command("faults")
def demo_faults(
    url: str | None = MANAGEMENT_URL, config: Path | None = DEMO_CONFIG, data_dir: Path = DEMO_DATA_DIR
) -> None:
    """Show the injected faults."""
    _faults_request("GET", "/faults", url, config=config, data_dir=data_dir)


@demo_app.command("traffic")
def demo_traffic(
    url: str = typer.Option("http://127.0.0.1:8000/mcp", "--url", help="The demo server's MCP endpoint."),
    rps: float = typer.Option(2.0, "--rps", min=0.1, max=50, help="Requests per second, over every tool."),
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        readable=False,
        help="lookout.yaml whose security: gives the CA and the bearer token (https --url).",
    ),
) -> None:
    """Send steady background traffic to a demo server (what `lookout up` runs; demo.traffic_rps)."""
    from lookout.probe.transports.http import HttpOptions
    from lookout.runtime.traffic import run_until_signal

    http = None
    if config is not None:
        from lookout.security import SecurityError
        from lookout.security.files import read_secret

        security = _load(config).security
        token = security.mcp_token()
        try:
            secret = None if token is None else read_secret(token.token_file, "security.tokens[0].token_file")
        except SecurityError as exc:
            fail(str(exc))
        http = HttpOptions(auth=secret, ca_file=security.tls.ca_file if security.tls.enabled else None)
    anyio.run(run_until_signal, url, rps, http)


# ------------------------------------------------------------------ sink
@app.command()
def sink(
    listen: str = typer.Option("127.0.0.1:9095", help="host:port to receive Alertmanager webhooks on."),
    file: Path = typer.Option(Path("notifications.jsonl"), help="Append each notification here."),
    config: Path | None = typer.Option(
        None, "--config", "-c", readable=False, help="lookout.yaml whose security: the sink obeys."
    ),
) -> None:
    """Run the local notification sink: prints each Alertmanager notification and appends it to a JSONL file."""
    from lookout.runtime.sink import serve_sink
    from lookout.security.auth import server_security
    from lookout.serving import PortInUse

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        fail(f"--listen {listen!r} is not host:port, e.g. 127.0.0.1:9095")
    cfg = _secured(_load(config)) if config is not None else None
    _warn_exposed([("--listen", listen)], cfg)
    security = server_security(cfg.security) if cfg is not None else None
    try:
        anyio.run(serve_sink, host, int(port), file, security)
    except PortInUse as exc:
        fail(str(exc))


# ------------------------------------------------------------------ console
def _http_url(flag: str, value: str) -> str:
    url = value if "://" in value else f"http://{value}"
    if not url.startswith(("http://", "https://")) or url[-3:] == "://":
        fail(f"{flag} {value!r} is not an http(s) URL, e.g. http://127.0.0.1:9090")
    if "@" in url.split("://", 1)[1].split("/", 1)[0]:
        fail(
            f"{flag}: a login in the URL would be on the command line and shown to every viewer: give the URL "
            "without it and the login as security.client_user and its password_file"
        )
    return url.rstrip("/")


@app.command()
def console(
    config: Path = CONFIG_OPTION,
    prometheus: str | None = typer.Option(
        None, help="Prometheus (or long-term store) URL to query (default: where lookout.yaml's dashboards query)."
    ),
    alertmanager: str | None = typer.Option(
        None, help="Alertmanager URL (default: http://<listen.alertmanager>, then the other peers of an ha cluster)."
    ),
    listen: str | None = typer.Option(None, help="host:port to serve on (default: listen.grafana, loopback)."),
    data_dir: Path = typer.Option(Path(".lookout"), help="Where `lookout bench` keeps its history (read only)."),
    reports: Path = typer.Option(
        DEFAULT_OUT, help="Where `lookout report` writes its HTML (its --out), listed under Reports (read only)."
    ),
) -> None:
    """Serve the console: the dashboards, alerts and silences, SLOs, probes, benchmarks and reports of
    lookout.yaml, read from Prometheus and Alertmanager."""
    from lookout.console import ConsoleSettings, serve_console
    from lookout.console.access import scheme_of, upstream_access
    from lookout.security import SecurityError
    from lookout.security.files import check_files
    from lookout.serving import PortInUse

    cfg = _load(config)
    address = listen or cfg.listen.grafana
    origin = "--listen" if listen else "listen.grafana"
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        fail(f"{origin} {address!r} is not host:port, e.g. 127.0.0.1:3000")
    _warn_exposed([(origin, address)], cfg)
    try:
        if cfg.security.enabled:
            check_files(cfg.security)
        access = upstream_access(cfg.security)
    except SecurityError as exc:
        fail(str(exc))
    settings = ConsoleSettings(
        cfg,
        _http_url("--prometheus", prometheus or scheme_of(cfg.security, cfg.query_url())),
        _http_url("--alertmanager", alertmanager or scheme_of(cfg.security, f"http://{cfg.listen.alertmanager}")),
        data_dir,
        access,
        reports,
        # Without --alertmanager: every peer of the cluster, so that one peer down leaves alerts and silences.
        () if alertmanager else tuple(scheme_of(cfg.security, f"http://{a}") for a in cfg.alertmanager_addresses()[1:]),
    )
    try:
        anyio.run(serve_console, settings, host, int(port), origin)
    except PortInUse as exc:
        fail(str(exc))


# ------------------------------------------------------------------ prober
@app.command()
def probe(
    target: str = typer.Argument(..., help="Target name from lookout.yaml, a URL, or (--transport stdio) a command."),
    module: str = typer.Option("discover", "--module", "-m", help="Module from probe.modules."),
    config: Path | None = typer.Option(
        None, "--config", "-c", readable=False, help="lookout.yaml (default: ./lookout.yaml if any)."
    ),
    transport: str | None = typer.Option(None, help="For a URL or command: streamable-http, sse or stdio."),
    timeout: float | None = typer.Option(None, help="Seconds (default and upper bound: the module's timeout)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    debug: bool = typer.Option(False, "--debug", help="Also print the probe's log."),
) -> None:
    """Probe one MCP server once: exit 0 on success, 1 on probe failure, 2 on bad usage (a HEALTHCHECK)."""
    from lookout.probe.on_demand import UsageError, format_human, format_json, probe_once

    default = Path("lookout.yaml")
    cfg = _load(config) if config is not None else (_load(default) if default.exists() else None)
    try:
        result = probe_once(cfg, target, module, transport, timeout)
    except UsageError as exc:
        fail(str(exc))
    typer.echo(format_json(result, debug) if as_json else format_human(result, debug))
    raise typer.Exit(0 if result.success else 1)


@app.command()
def exporter(
    config: Path = CONFIG_OPTION,
    listen: str | None = typer.Option(None, help="host:port (default: listen.exporter in the config)."),
) -> None:
    """Run the MCP prober exporter: /probe?target=NAME&module=M, /metrics, /-/healthy, /-/reload (and SIGHUP)."""
    from lookout.probe.exporter import ExporterState, serve_exporter
    from lookout.serving import PortInUse

    cfg = _secured(_load(config))
    address = listen or cfg.listen.exporter
    origin = "--listen" if listen else "listen.exporter"
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        fail(f"{origin} {address!r} is not host:port, e.g. 127.0.0.1:9115")
    _warn_exposed([(origin, address)], cfg)
    try:
        anyio.run(serve_exporter, ExporterState(config, cfg), host, int(port), origin)
    except PortInUse as exc:
        fail(str(exc))


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "allow_interspersed_args": False}
)
def instrument(
    command: list[str] = typer.Argument(..., help="The Python MCP server program and its arguments (after --)."),
    service: str | None = typer.Option(
        None, help="Service name of logs and spans [LOOKOUT_SERVICE, OTEL_SERVICE_NAME]."
    ),
    tenant: str | None = typer.Option(None, help="Tenant the log lines carry [LOOKOUT_TENANT]."),
    management: str | None = typer.Option(
        None, help="HOST:PORT of /metrics and /health/*, or off [LOOKOUT_MANAGEMENT; default 127.0.0.1:8080]."
    ),
    logs: str | None = typer.Option(None, help="json (JSON lines and access log on stderr) or off [LOOKOUT_LOGS]."),
    traces: str | None = typer.Option(None, help="on (enrich and, with an endpoint, export) or off [LOOKOUT_TRACES]."),
    otlp_endpoint: str | None = typer.Option(
        None, help="OTLP/HTTP traces URL [LOOKOUT_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT]."
    ),
    traces_per_second: float | None = typer.Option(
        None, help="Adaptive sampler's budget [LOOKOUT_TRACES_PER_SECOND; OTEL_TRACES_SAMPLER=always_on|always_off]."
    ),
    server_timeout: float | None = typer.Option(
        None, help="Seconds the program has to build its MCP server, 0 for no limit [LOOKOUT_SERVER_TIMEOUT; 30]."
    ),
    audit_file: str | None = typer.Option(
        None, help="JSON-lines audit trail, one record per tool call (docs/security.md) [LOOKOUT_AUDIT_FILE]."
    ),
    tls_cert_file: str | None = typer.Option(
        None, help="PEM certificate the management port serves TLS with [LOOKOUT_TLS_CERT_FILE]."
    ),
    tls_key_file: str | None = typer.Option(None, help="PEM key of --tls-cert-file [LOOKOUT_TLS_KEY_FILE]."),
    tls_client_ca_file: str | None = typer.Option(
        None, help="Require client certificates signed by this PEM CA [LOOKOUT_TLS_CLIENT_CA_FILE]."
    ),
    users_file: str | None = typer.Option(
        None, help="NAME:BCRYPT-HASH lines: basic auth on the management port [LOOKOUT_USERS_FILE]."
    ),
    open_health: str | None = typer.Option(
        None,
        help="on: /health/live and /health/ready need no login (the kubelet's probes), or off "
        "[LOOKOUT_OPEN_HEALTH; on].",
    ),
) -> None:
    """Run a Python MCP server program with Lookout injected: lookout instrument [OPTIONS] -- COMMAND [ARGS...].

    COMMAND is a console script of a Python package, python ..., or a .py file. The first MCPServer, lowlevel
    Server or FastMCP server it builds is instrumented (metrics, spans, JSON logs on stderr) and /metrics and
    /health/* are served on the management address; stdout stays the program's. Exits with the program's code.
    """
    from lookout.instrument import autoinstrument as auto

    options = {
        auto.ENV_SERVICE: service,
        auto.ENV_TENANT: tenant,
        auto.ENV_MANAGEMENT: management,
        auto.ENV_LOGS: logs,
        auto.ENV_TRACES: traces,
        auto.ENV_OTLP_ENDPOINT: otlp_endpoint,
        auto.ENV_TRACES_PER_SECOND: None if traces_per_second is None else repr(traces_per_second),
        auto.ENV_SERVER_TIMEOUT: None if server_timeout is None else repr(server_timeout),
        auto.ENV_AUDIT_FILE: audit_file,
        auto.ENV_TLS_CERT_FILE: tls_cert_file,
        auto.ENV_TLS_KEY_FILE: tls_key_file,
        auto.ENV_TLS_CLIENT_CA_FILE: tls_client_ca_file,
        auto.ENV_USERS_FILE: users_file,
        auto.ENV_OPEN_HEALTH: open_health,
    }
    try:
        returncode = auto.run(command, {name: value for name, value in options.items() if value is not None})
    except auto.LaunchError as exc:
        fail(str(exc))
    raise typer.Exit(auto.exit_like(returncode))


def _last_resort(exc: Exception) -> NoReturn:
    """No input ends in a traceback: a one-line error raised inside a task group still reads as one line
    (exit 2), and anything unforeseen is one line too, with the way to see where it came from (exit 1)."""
    leaves: list[BaseException] = [exc]
    while len(leaves) == 1 and isinstance(leaves[0], BaseExceptionGroup):
        leaves = list(leaves[0].exceptions)
    if os.environ.get("LOOKOUT_DEBUG"):
        raise exc
    first = leaves[0]
    missing = missing_extra(first, sys.argv[1:])
    if missing is not None:
        typer.echo(f"lookout: {missing}", err=True)
        sys.exit(2)
    from lookout.runtime.children import StackError  # after the extras check: the runtime needs its extra
    from lookout.serving import PortInUse

    if isinstance(first, PortInUse | ConfigError | StackError):
        typer.echo(f"lookout: {first}", err=True)
        sys.exit(2)
    detail = (str(first).splitlines() or [""])[0][:300]
    typer.echo(
        f"lookout: unexpected {type(first).__name__}: {detail} (LOOKOUT_DEBUG=1 shows where; please report it)",
        err=True,
    )
    sys.exit(1)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if caused_by_ctrl_c(exc):
            sys.exit(130)
        _last_resort(exc)
