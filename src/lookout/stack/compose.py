"""``docker-compose.monitoring.yml``: the whole stack in containers, with every file provisioned.

Collectors that must reach loopback targets (the MCP servers in lookout.yaml, the prober's targets,
each other through the ``listen`` addresses) use the host network and bind loopback addresses, so the
generated prometheus.yml, alertmanager.yml, Grafana datasources, Alloy and collector configs are the
same files as natively. Loki and Jaeger need no host access: they stay on the default network and
publish their ports on 127.0.0.1 only. Secrets come in as files (docker secrets or read-only mounts).

What lookout.yaml expects ``lookout up`` to run comes along, from Lookout's image (the repository's
``Dockerfile``, tag ``images.lookout``): the exporter reading ``lookout/lookout.yaml`` beside the compose
file, the notification sink when a webhook posts to ``listen.sink``, and the demo server (JSON logs,
traces to the collector) with its background traffic when a target is the demo's loopback endpoint.
Every bind-mount source is a generated file, the Docker socket, or the host root (node-exporter); the
one secret, Grafana's admin password, is written by the generated ``Makefile`` on the first ``make``.
"""

from __future__ import annotations

import itertools
import json
from pathlib import PurePosixPath
from typing import Any, Final
from urllib.parse import urlsplit

from lookout.config.model import Config
from lookout.security.web_config import WEB_CONFIG_FILE
from lookout.stack import deployment, naming
from lookout.stack.alertmanager import cluster_flags
from lookout.stack.grafana import DASHBOARDS_DIR
from lookout.stack.grafana.provisioning import DASHBOARDS_MOUNT
from lookout.stack.loki import ALLOY_FILE, COMPOSE_PROJECT, LOKI_FILE, LOKI_HTTP_PORT
from lookout.stack.otelcol import JAEGER_OTLP, OTELCOL_FILE, OTLP_HTTP
from lookout.stack.prometheus import FOR_GRACE_PERIOD_FLAG, victoriametrics_flags
from lookout.stack.yamlio import dump_yaml

COMPOSE_FILE: Final = "docker-compose.monitoring.yml"
MAKEFILE: Final = "Makefile"
ENV_FILE: Final = ".env"
"""Compose reads it beside the compose file: fixes the project name Alloy's log filter matches."""
GITIGNORE: Final = ".gitignore"
EXPORTER_CONFIG: Final = "lookout/lookout.yaml"
"""lookout.yaml as the exporter in the compose stack reads it (generated beside the compose file)."""
EXPORTER_CONFIG_MOUNT: Final = "/etc/lookout/lookout.yaml"
SINK_DATA: Final = "/var/lib/lookout"
"""The image user's home: a named volume there inherits its owner, so the sink can append."""
GRAFANA_SECRET: Final = "grafana_admin_password"
SECRETS_DIR: Final = "secrets"
GRAFANA_SECRET_FILE: Final = f"./{SECRETS_DIR}/{GRAFANA_SECRET}"
NODE_EXPORTER_LISTEN: Final = "127.0.0.1:9100"
COMPOSE_NODE_TARGETS: Final = "compose/node-targets.json"
"""Mounted over the native (empty) node targets file, so compose's Prometheus scrapes node-exporter."""
ALLOY_LISTEN: Final = "127.0.0.1:12345"
EXEMPLAR_FEATURE: Final = "exemplar-storage"
GRAFANA_ADMIN: Final = "admin"
JAEGER_UI: Final = "127.0.0.1:16686"
WEB_CONFIG: Final = f"{SECRETS_DIR}/{WEB_CONFIG_FILE}"
"""The exporter-toolkit web config under ``security:``: bcrypt hashes of the users' passwords, so the generated
Makefile writes it (``lookout certs --web-config``) from the password files, never the generator."""
WEB_CONFIG_MOUNT: Final = f"/etc/lookout/{WEB_CONFIG_FILE}"
DATA_DIR: Final = "data"
OWNER_VARIABLES: Final = ("LOOKOUT_UID", "LOOKOUT_GID")
"""Under ``security:`` the containers reading its owner-only files run as their owner: the Makefile exports these."""
WEB_CONFIG_SERVICES: Final = ("prometheus", "alertmanager", "pushgateway")

# Pinned images: the versions these configs were written against.
IMAGES: Final = {
    "prometheus": "prom/prometheus:v3.2.1",
    "alertmanager": "prom/alertmanager:v0.28.1",
    "pushgateway": "prom/pushgateway:v1.11.0",
    "grafana": "grafana/grafana:11.6.0",
    "loki": "grafana/loki:3.4.2",
    "alloy": "grafana/alloy:v1.7.5",
    "otelcol": "otel/opentelemetry-collector-contrib:0.120.0",
    "jaeger": "jaegertracing/jaeger:2.3.0",
    "node-exporter": "prom/node-exporter:v1.9.0",
    "victoriametrics": "victoriametrics/victoria-metrics:v1.79.5",  # Debian bookworm's version
}


def _host_service(image: str, command: list[str], volumes: list[str] | None = None) -> dict[str, Any]:
    service: dict[str, Any] = {"image": image, "network_mode": "host", "restart": "unless-stopped", "command": command}
    if volumes:
        service["volumes"] = volumes
    return service


def _audit_mounts(config: Config) -> list[str]:
    """The directory of ``security.audit.files`` (up to its first wildcard), read-only at the same path, so Alloy
    in its container reads the files the glob names on the host. A relative glob names no host directory."""
    audit = config.security.audit
    if not audit.enabled or not audit.files.startswith("/"):
        return []
    parts = PurePosixPath(audit.files).parts
    fixed = list(itertools.takewhile(lambda part: not any(c in part for c in "*?[{"), parts[:-1]))
    directory = str(PurePosixPath(*fixed))
    return [] if directory == "/" else [f"{directory}:{directory}:ro"]


def _secret_files(config: Config) -> list[str]:
    """Every ``*_file`` secret lookout.yaml names: mounted read-only at the same path for Alertmanager."""
    paths = set()
    for receiver in config.alerting.receivers:
        for value in (
            receiver.webhook and receiver.webhook.bearer_token_file,
            receiver.slack and receiver.slack.api_url_file,
            receiver.pagerduty and receiver.pagerduty.routing_key_file,
            receiver.email and receiver.email.auth_password_file,
        ):
            if value:
                paths.add(value)
    return sorted(paths)


def _lookout_service(config: Config, command: list[str], volumes: list[str] | None = None) -> dict[str, Any]:
    """A process from Lookout's image, built from the repository's Dockerfile (never pulled)."""
    return {**_host_service(config.images.lookout, command, volumes), "pull_policy": "never"}


def _lookout_services(config: Config) -> dict[str, Any]:
    listen = config.listen
    services: dict[str, Any] = {
        "exporter": {
            **_lookout_service(
                config,
                ["exporter", "--config", EXPORTER_CONFIG_MOUNT, "--listen", listen.exporter],
                [f"./{EXPORTER_CONFIG}:{EXPORTER_CONFIG_MOUNT}:ro", *_read_only(_probe_files(config))],
            ),
            "healthcheck": {
                "test": [
                    "CMD",
                    "python",
                    "-c",
                    f"import urllib.request as u; u.urlopen('http://{listen.exporter}/-/healthy', timeout=2)",
                ],
                "interval": "30s",
                "timeout": "5s",
                "retries": 3,
            },
        },
    }
    if deployment.uses_sink(config):
        services["sink"] = _lookout_service(
            config,
            ["sink", "--listen", listen.sink, "--file", f"{SINK_DATA}/notifications.jsonl"],
            [f"sink-data:{SINK_DATA}"],
        )
    demo = deployment.demo_target(config)
    if demo is not None:
        tenant, target = demo
        url = urlsplit(target.url)
        services["demo-server"] = _lookout_service(
            config,
            [
                "demo-server",
                f"--host={url.hostname}",
                f"--port={url.port}",
                f"--management-host={url.hostname}",
                f"--management-port={deployment.management_port(target)}",
                # Named as lookout.yaml names it, so its log lines and spans join its metrics.
                f"--service={target.name}",
                f"--tenant={tenant.name}",
                "--json-logs",
                f"--otlp-endpoint=http://{OTLP_HTTP}/v1/traces",
            ],
        )
        services["demo-server"]["depends_on"] = ["otelcol"]
        if config.demo.traffic_rps > 0:
            services["demo-traffic"] = {
                **_lookout_service(
                    config, ["demo", "traffic", f"--url={target.url}", f"--rps={config.demo.traffic_rps}"]
                ),
                "depends_on": ["demo-server"],
            }
    return services


def compose_config(config: Config) -> dict[str, Any]:
    listen = config.listen
    grafana_host, grafana_port = listen.grafana.rsplit(":", 1)
    services: dict[str, Any] = {
        "prometheus": _host_service(
            IMAGES["prometheus"],
            [
                "--config.file=/etc/prometheus/prometheus.yml",
                "--storage.tsdb.path=/prometheus",
                f"--storage.tsdb.retention.time={config.retention.metrics}",
                FOR_GRACE_PERIOD_FLAG,
                f"--web.listen-address={listen.prometheus}",
                # No --web.enable-lifecycle: /-/quit and /-/reload would let anyone who reaches the port stop or
                # reload it; `docker compose kill -s HUP prometheus` reloads.
                # The latency panels show exemplars (trace ids); without it Prometheus drops them at scrape.
                f"--enable-feature={EXEMPLAR_FEATURE}",
            ],
            [
                "./prometheus:/etc/prometheus:ro",
                f"./{COMPOSE_NODE_TARGETS}:/etc/prometheus/{naming.NODE_TARGETS_FILE.removeprefix('prometheus/')}:ro",
                "prometheus-data:/prometheus",
                *_read_only(_remote_write_files(config)),
            ],
        ),
        "alertmanager": _host_service(
            IMAGES["alertmanager"],
            [
                f"--config.file=/etc/alertmanager/{naming.ALERTMANAGER_FILE.split('/', 1)[1]}",
                "--storage.path=/alertmanager",
                f"--web.listen-address={listen.alertmanager}",
                "--cluster.listen-address=",  # a single instance: no gossip port
            ],
            [
                "./alertmanager:/etc/alertmanager:ro",
                "alertmanager-data:/alertmanager",
                *(f"{path}:{path}:ro" for path in _secret_files(config)),
            ],
        ),
        "pushgateway": _host_service(
            IMAGES["pushgateway"],
            # Benchmark results survive a restart (the image's working directory belongs to its user).
            [f"--web.listen-address={listen.pushgateway}", "--persistence.file=/pushgateway/metrics.store"],
            ["pushgateway-data:/pushgateway"],
        ),
        "grafana": {
            **_host_service(
                IMAGES["grafana"],
                [],
                [
                    "./grafana/provisioning:/etc/grafana/provisioning:ro",
                    f"./{DASHBOARDS_DIR}:{DASHBOARDS_MOUNT}:ro",
                    "grafana-data:/var/lib/grafana",
                ],
            ),
            "environment": {
                "GF_SERVER_HTTP_ADDR": grafana_host,
                "GF_SERVER_HTTP_PORT": grafana_port,
                "GF_SECURITY_ADMIN_USER": GRAFANA_ADMIN,
                "GF_SECURITY_ADMIN_PASSWORD__FILE": f"/run/secrets/{GRAFANA_SECRET}",
                "GF_USERS_ALLOW_SIGN_UP": "false",
                "GF_ANALYTICS_REPORTING_ENABLED": "false",
            },
            "secrets": [GRAFANA_SECRET],
            "depends_on": ["prometheus", "alertmanager", "loki", "jaeger"],
        },
        "loki": {
            "image": IMAGES["loki"],
            "restart": "unless-stopped",
            "command": ["-config.file=/etc/loki/loki.yaml"],
            "ports": [f"127.0.0.1:{LOKI_HTTP_PORT}:{LOKI_HTTP_PORT}"],
            "volumes": [f"./{LOKI_FILE}:/etc/loki/loki.yaml:ro", "loki-data:/loki"],
        },
        "alloy": {
            **_host_service(
                IMAGES["alloy"],
                [
                    "run",
                    f"--server.http.listen-addr={ALLOY_LISTEN}",
                    "--storage.path=/var/lib/alloy/data",
                    "/etc/alloy/config.alloy",
                ],
                [
                    f"./{ALLOY_FILE}:/etc/alloy/config.alloy:ro",
                    # The containers of this compose project (stdout and stderr), read-only socket.
                    "/var/run/docker.sock:/var/run/docker.sock:ro",
                    "alloy-data:/var/lib/alloy/data",
                    *_audit_mounts(config),
                ],
            ),
            "depends_on": ["loki"],
        },
        "otelcol": {
            **_host_service(
                IMAGES["otelcol"],
                ["--config=/etc/otelcol/config.yaml"],
                [f"./{OTELCOL_FILE}:/etc/otelcol/config.yaml:ro"],
            ),
            "depends_on": ["jaeger"],
        },
        "jaeger": {
            "image": IMAGES["jaeger"],
            "restart": "unless-stopped",
            # All-in-one defaults: OTLP on 4317, UI on 16686, in-memory storage; bound to every interface of
            # its container so the published ports reach it.
            "environment": {"JAEGER_LISTEN_HOST": "0.0.0.0"},
            "ports": [f"{JAEGER_UI}:16686", f"{JAEGER_OTLP}:4317"],
        },
        **_lookout_services(config),
        "node-exporter": {
            **_host_service(
                IMAGES["node-exporter"],
                [f"--web.listen-address={NODE_EXPORTER_LISTEN}", "--path.rootfs=/host"],
                ["/:/host:ro,rslave"],
            ),
            "pid": "host",
        },
    }
    volumes = ["prometheus-data", "alertmanager-data", "pushgateway-data", "grafana-data", "loki-data", "alloy-data"]
    if "sink" in services:
        volumes.append("sink-data")
    if config.ha is not None:
        volumes += _high_availability(config, services)
    if config.security.enabled:
        volumes = _secure(config, services, volumes)
    return {
        "services": services,
        "volumes": {name: {} for name in volumes},
        "secrets": {GRAFANA_SECRET: {"file": GRAFANA_SECRET_FILE}},
    }


def _high_availability(config: Config, services: dict[str, Any]) -> list[str]:
    """The HA topology of lookout.yaml: one service per Prometheus (its own prometheus-<n>.yml and volume), one
    per Alertmanager peer (gossip on the host's loopback), and VictoriaMetrics single-node as the deduplicating
    long-term store. Returns the volumes it adds."""
    volumes: list[str] = []
    prometheus = services.pop("prometheus")
    for i, address in enumerate(config.prometheus_addresses()):
        name = "prometheus" if i == 0 else f"prometheus-{i}"
        command = [
            arg.replace("/prometheus.yml", "/" + naming.prometheus_file(i).split("/", 1)[1]).replace(
                config.listen.prometheus, address
            )
            for arg in prometheus["command"]
        ]
        data = "prometheus-data" if i == 0 else f"prometheus-{i}-data"
        mounts = [v.replace("prometheus-data:", f"{data}:") for v in prometheus["volumes"]]
        services[name] = {**prometheus, "command": command, "volumes": mounts}
        volumes += [] if i == 0 else [data]
    alertmanager = services.pop("alertmanager")
    for i, address in enumerate(config.alertmanager_addresses()):
        name = "alertmanager" if i == 0 else f"alertmanager-{i}"
        data = "alertmanager-data" if i == 0 else f"alertmanager-{i}-data"
        command = [
            arg.replace(config.listen.alertmanager, address)
            for arg in alertmanager["command"]
            if not arg.startswith("--cluster.")
        ]
        mounts = [v.replace("alertmanager-data:", f"{data}:") for v in alertmanager["volumes"]]
        services[name] = {**alertmanager, "command": [*command, *cluster_flags(config, i)], "volumes": mounts}
        volumes += [] if i == 0 else [data]
    if config.long_term_storage_address() is not None:
        services["victoriametrics"] = _host_service(
            IMAGES["victoriametrics"],
            [*victoriametrics_flags(config, "/victoria-metrics-data")],
            ["victoriametrics-data:/victoria-metrics-data"],
        )
        volumes.append("victoriametrics-data")
    return volumes


def _server_files(config: Config) -> list[str]:
    """What a component serving TLS reads: its certificate and key, and the CA it verifies clients with."""
    tls = config.security.tls
    return [f for f in (tls.cert_file, tls.key_file, tls.ca_file) if tls.enabled and f]


def _client_files(config: Config) -> list[str]:
    """What a client of the stack's endpoints reads: the CA, its client certificate, the client user's password."""
    tls, user = config.security.tls, config.security.client()
    files = [f for f in (tls.ca_file, tls.client_cert_file, tls.client_key_file) if tls.enabled and f]
    return files + ([user.password_file] if user is not None and user.password_file else [])


def _all_files(config: Config) -> list[str]:
    """Every file ``security:`` names: Lookout's own servers check them all and know every user and token."""
    security = config.security
    users = [u.password_file for u in security.users if u.password_file]
    return [*_server_files(config), *_client_files(config), *users, *(t.token_file for t in security.tokens)]


def _probe_files(config: Config) -> list[str]:
    """The probe modules' credentials and CA files the exporter reads (absolute paths: a relative one would be
    read from the container's working directory)."""
    files: list[str | None] = []
    for module in config.probe.modules.values():
        basic = module.credentials.basic_auth
        files += [module.credentials.bearer_token_file, basic.password_file if basic else None, module.tls.ca_file]
    return [f for f in files if f and f.startswith("/")]


def _remote_write_files(config: Config) -> list[str]:
    """The ``prometheus.remote_write`` credential files Prometheus reads (absolute paths, as for the probes)."""
    files = [f for rw in config.prometheus.remote_write for f in (rw.bearer_token_file, rw.basic_auth_password_file)]
    return [f for f in files if f and f.startswith("/")]


def _read_only(paths: list[str]) -> list[str]:
    """Mounted at the paths lookout.yaml names, so prometheus.yml, alertmanager.yml, the Grafana provisioning and
    the exporter's lookout.yaml (all generated with those absolute paths) read them unchanged."""
    return [f"{path}:{path}:ro" for path in sorted(set(paths))]


def _healthcheck_code(config: Config, url: str) -> str:
    """A Python one-liner for the image's healthcheck: the stack's CA, client certificate and client user's
    password, each read from its mounted file when the check runs."""
    tls, user = config.security.tls, config.security.client()
    lines = ["import base64,ssl,urllib.request as u"]
    context = "None"
    if tls.enabled:
        lines.append(f"c=ssl.create_default_context(cafile={tls.ca_file!r})")
        if tls.client_cert_file:
            lines.append(f"c.load_cert_chain({tls.client_cert_file!r},{tls.client_key_file!r})")
        context = "c"
    headers = "{}"
    if user is not None and user.password_file:
        login = f"b{user.name + ':'!r}+open({user.password_file!r},'rb').read().strip()"
        headers = f"{{'Authorization':'Basic '+base64.b64encode({login}).decode()}}"
    lines.append(f"u.urlopen(u.Request({url!r},headers={headers}),timeout=2,context={context})")
    return ";".join(lines)


def _secure(config: Config, services: dict[str, Any], volumes: list[str]) -> list[str]:
    """``security:`` in the containers: every component Lookout starts natively serves as it does there (TLS, the
    web config, the users), reads the files lookout.yaml names from read-only mounts at the same paths, and runs
    as the files' owner (they stay owner-only), with its data in a directory of the stack that the Makefile makes.
    Returns the named volumes still in use."""
    owner = ":".join(f"${{{v}:?run make, which exports it}}" for v in OWNER_VARIABLES)
    server, client, every = _server_files(config), _client_files(config), _all_files(config)
    tls = config.security.tls
    store = [f for f in (tls.cert_file, tls.key_file) if tls.enabled and f]
    for name, service in services.items():
        base = name.split("-")[0] if name.startswith(("prometheus", "alertmanager")) else name
        command = [str(a) for a in service.get("command") or []]
        if base in WEB_CONFIG_SERVICES:
            files = [*server, *client] if base != "pushgateway" else server
            service["command"] = [*command, f"--web.config.file={WEB_CONFIG_MOUNT}"]
            mounts = [f"./{WEB_CONFIG}:{WEB_CONFIG_MOUNT}:ro", *_read_only(files)]
        elif name == "victoriametrics":
            mounts = _read_only(store)
        elif name == "grafana":
            mounts = _read_only(client)
        elif name in ("exporter", "sink", "demo-server", "demo-traffic"):
            # The exporter reads lookout.yaml already; the others obey its security: (the traffic: CA and token).
            if name != "exporter":
                service["command"] = [*command, "--config", EXPORTER_CONFIG_MOUNT]
                mounts = [f"./{EXPORTER_CONFIG}:{EXPORTER_CONFIG_MOUNT}:ro"]
            else:
                mounts = []
            mounts += _read_only(every)
        else:
            continue
        service["user"] = owner
        service["volumes"] = list(dict.fromkeys([*_owned_data(service.get("volumes") or []), *mounts]))
    if "exporter" in services:
        url = f"{config.security.scheme}://{config.listen.exporter}/-/healthy"
        services["exporter"]["healthcheck"]["test"] = ["CMD", "python", "-c", _healthcheck_code(config, url)]
    used = {str(v).split(":", 1)[0] for service in services.values() for v in service.get("volumes") or []}
    return [v for v in volumes if v in used]


def _owned_data(mounts: list[str]) -> list[str]:
    """Named data volumes become directories of the stack (``data/<volume>``): a volume takes its owner from the
    image, which the files' owner cannot write."""
    out = []
    for mount in mounts:
        source, _, target = str(mount).partition(":")
        if source.endswith("-data") and "/" not in source:
            out.append(f"./{data_dir(source)}:{target}")
        else:
            out.append(str(mount))
    return out


def data_dir(volume: str) -> str:
    return f"{DATA_DIR}/{volume.removesuffix('-data')}"


def _data_dirs(compose: dict[str, Any]) -> list[str]:
    """The data directories the secured services mount (the Makefile makes them)."""
    dirs = set()
    for service in compose["services"].values():
        for mount in service.get("volumes") or []:
            source = str(mount).split(":", 1)[0]
            if source.startswith(f"./{DATA_DIR}/"):
                dirs.add(source.removeprefix("./"))
    return sorted(dirs)


def _secured_make(config: Config, compose: dict[str, Any]) -> tuple[str, list[str], str]:
    """Under ``security:``: the exported owner, what ``up`` needs first, and the rules writing it."""
    if not config.security.enabled:
        return "", [], ""
    exports = "".join(f"export {v} := $(shell id -{'u' if v.endswith('UID') else 'g'})\n" for v in OWNER_VARIABLES)
    dirs = _data_dirs(compose)
    passwords = sorted({u.password_file for u in config.security.users if u.password_file})
    rules = f"""
# The web config of Prometheus, Alertmanager and the Pushgateway (TLS and bcrypt hashes of the users'
# passwords, owner-only), written again when lookout.yaml or a password file changes; needs `lookout` here.
{WEB_CONFIG}: {" ".join([EXPORTER_CONFIG, *passwords])}
\t@mkdir -p -m 700 {SECRETS_DIR}
\tlookout certs --config {EXPORTER_CONFIG} --web-config $@
"""
    if dirs:
        rules += f"""
# Data of the services that run as the owner of the security: files (a named volume would belong to the image's user).
{" ".join(dirs)}:
\t@mkdir -p -m 700 $@
"""
    return (
        f"# The services reading the owner-only files of security: run as you.\n{exports}",
        [WEB_CONFIG, *dirs],
        rules,
    )


def _makefile(config: Config, compose: dict[str, Any]) -> str:
    header = "".join(f"# {line}\n" for line in naming.GENERATED_HEADER.splitlines())
    command = f"docker compose -f {COMPOSE_FILE}"
    secret = GRAFANA_SECRET_FILE.removeprefix("./")
    exports, needs, rules = _secured_make(config, compose)
    grafana = config.listen.grafana
    return f"""{header}# `make` starts the stack (Grafana on {grafana}, user {GRAFANA_ADMIN}); the first run writes
# the Grafana admin password to {secret} (never committed: see .gitignore). `make password` prints it.
COMPOSE := {command}
{exports}
.PHONY: up down password

up: {" ".join([secret, *needs])}
\t$(COMPOSE) up -d

down:
\t$(COMPOSE) down

password: {secret}
\t@cat $<

# The directory is private to its owner; the file is readable by Grafana's user in its container.
{secret}:
\t@mkdir -p -m 700 {SECRETS_DIR}
\t@openssl rand -base64 24 > $@.tmp && chmod 644 $@.tmp && mv $@.tmp $@
\t@echo "Grafana admin password written to $@"
{rules}"""


def render_compose(config: Config) -> dict[str, str]:
    header = (
        f"{naming.GENERATED_HEADER}\nStart it with `make` (writes the Grafana admin password on first use, then "
        f"`docker compose -f {COMPOSE_FILE} up -d`).\nBuild Lookout's image first, from the repository: "
        f"`docker build -t {config.images.lookout} .` (docs/deployment.md)."
    )
    compose = compose_config(config)
    return {
        COMPOSE_FILE: dump_yaml(compose, header),
        COMPOSE_NODE_TARGETS: json.dumps([{"targets": [NODE_EXPORTER_LISTEN]}]) + "\n",
        EXPORTER_CONFIG: dump_yaml(deployment.config_yaml(config), naming.GENERATED_HEADER),
        MAKEFILE: _makefile(config, compose),
        ENV_FILE: f"# {naming.GENERATED_HEADER}\nCOMPOSE_PROJECT_NAME={COMPOSE_PROJECT}\n",
        GITIGNORE: f"# {naming.GENERATED_HEADER}\n/{SECRETS_DIR}/\n"
        + (f"/{DATA_DIR}/\n" if config.security.enabled else ""),
    }
