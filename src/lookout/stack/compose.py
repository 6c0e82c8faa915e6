"""``docker-compose.monitoring.yml``: the whole stack in containers, with every file provisioned.

Collectors that must reach loopback targets (the MCP servers in lookout.yaml, the prober's targets,
each other through the ``listen`` addresses) use the host network and bind loopback addresses, so the
generated prometheus.yml, alertmanager.yml, Grafana datasources, Alloy and collector configs are the
same files as natively. Loki and Jaeger need no host access: they stay on the default network and
publish their ports on 127.0.0.1 only. Secrets come in as files (docker secrets or read-only mounts).
"""

from __future__ import annotations

import json
from typing import Any, Final

from lookout import __version__
from lookout.config.model import Config
from lookout.stack import naming
from lookout.stack.grafana import DASHBOARDS_DIR
from lookout.stack.grafana.provisioning import DASHBOARDS_MOUNT
from lookout.stack.logs import ALLOY_FILE, LOKI_FILE, LOKI_HTTP_PORT, LOOKOUT_LOG_GLOB
from lookout.stack.otelcol import JAEGER_OTLP, OTELCOL_FILE
from lookout.stack.yamlio import dump_yaml

COMPOSE_FILE: Final = "docker-compose.monitoring.yml"
EXPORTER_DOCKERFILE: Final = "compose/lookout/Dockerfile"
GRAFANA_SECRET: Final = "grafana_admin_password"
GRAFANA_SECRET_FILE: Final = f"./secrets/{GRAFANA_SECRET}"
NODE_EXPORTER_LISTEN: Final = "127.0.0.1:9100"
COMPOSE_NODE_TARGETS: Final = "compose/node-targets.json"
"""Mounted over the native (empty) node targets file, so compose's Prometheus scrapes node-exporter."""
ALLOY_LISTEN: Final = "127.0.0.1:12345"
JAEGER_UI: Final = "127.0.0.1:16686"

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
}


def _host_service(image: str, command: list[str], volumes: list[str] | None = None) -> dict[str, Any]:
    service: dict[str, Any] = {"image": image, "network_mode": "host", "restart": "unless-stopped", "command": command}
    if volumes:
        service["volumes"] = volumes
    return service


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
                f"--web.listen-address={listen.prometheus}",
                "--web.enable-lifecycle",
            ],
            [
                "./prometheus:/etc/prometheus:ro",
                f"./{COMPOSE_NODE_TARGETS}:/etc/prometheus/{naming.NODE_TARGETS_FILE.removeprefix('prometheus/')}:ro",
                "prometheus-data:/prometheus",
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
        "pushgateway": _host_service(IMAGES["pushgateway"], [f"--web.listen-address={listen.pushgateway}"]),
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
                "GF_SECURITY_ADMIN_USER": "admin",
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
                    "/var/run/docker.sock:/var/run/docker.sock:ro",  # container stdout (read-only socket)
                    f"${{LOOKOUT_LOG_DIR:-./logs}}:{LOOKOUT_LOG_GLOB.rsplit('/', 1)[0]}:ro",
                    "alloy-data:/var/lib/alloy/data",
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
            # The all-in-one defaults: OTLP on 4317, UI on 16686 (in-memory storage).
            "ports": [f"{JAEGER_UI}:16686", f"{JAEGER_OTLP}:4317"],
        },
        "exporter": {
            **_host_service(
                "lookout-exporter:" + __version__,
                ["exporter", "--config", "/etc/lookout/lookout.yaml", "--listen", listen.exporter],
                ["${LOOKOUT_CONFIG:-./lookout.yaml}:/etc/lookout/lookout.yaml:ro"],
            ),
            "build": {"context": "./compose/lookout", "args": {"LOOKOUT_VERSION": __version__}},
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
        "node-exporter": {
            **_host_service(
                IMAGES["node-exporter"],
                [f"--web.listen-address={NODE_EXPORTER_LISTEN}", "--path.rootfs=/host"],
                ["/:/host:ro,rslave"],
            ),
            "pid": "host",
        },
    }
    return {
        "version": "3.8",
        "services": services,
        "volumes": {
            name: {} for name in ("prometheus-data", "alertmanager-data", "grafana-data", "loki-data", "alloy-data")
        },
        "secrets": {GRAFANA_SECRET: {"file": GRAFANA_SECRET_FILE}},
    }


EXPORTER_DOCKERFILE_TEXT: Final = f"""# {naming.GENERATED_HEADER}
# The Lookout exporter (the MCP prober) as an image; docker-compose.monitoring.yml builds it.
FROM python:3.11-slim
ARG LOOKOUT_VERSION={__version__}
RUN pip install --no-cache-dir "mcp-lookout==${{LOOKOUT_VERSION}}"
USER nobody
ENTRYPOINT ["lookout"]
"""


def render_compose(config: Config) -> dict[str, str]:
    header = (
        f"{naming.GENERATED_HEADER}\nBefore `docker-compose -f {COMPOSE_FILE} up`: put the Grafana admin password in "
    )
    header += f"{GRAFANA_SECRET_FILE}\nand point LOOKOUT_CONFIG at lookout.yaml (default ./lookout.yaml)."
    return {
        COMPOSE_FILE: dump_yaml(compose_config(config), header),
        COMPOSE_NODE_TARGETS: json.dumps([{"targets": [NODE_EXPORTER_LISTEN]}]) + "\n",
        EXPORTER_DOCKERFILE: EXPORTER_DOCKERFILE_TEXT,
    }
