"""What a container deployment runs besides the monitoring stack, and lookout.yaml as it reads in a cluster.

``lookout up`` runs the demo server (MCP on :8000, management on :8080) and the notification sink on the
``listen.sink`` address; a lookout.yaml written for it names them by loopback URLs. The compose stack runs
the same processes from Lookout's image on the host network, so those URLs stay right; in a cluster a
loopback URL would point into the exporter's own pod, so it becomes the cluster DNS name of the Service
named after the target.
"""

from __future__ import annotations

import shlex
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from lookout.config.model import Config, Target, Tenant, Transport
from lookout.config.security import loopback_host

DEMO_PORT: Final = 8000
"""`lookout up`'s demo MCP endpoint (and `lookout demo-server`'s default port)."""
DEMO_MANAGEMENT_PORT: Final = 8080


def loopback_url(url: str) -> bool:
    return loopback_host(urlsplit(url).hostname)


def demo_target(config: Config) -> tuple[Tenant, Target] | None:
    """The target the demo server stands for: the first one on a loopback address at the demo port."""
    for tenant, target in config.targets():
        if target.transport is Transport.STDIO or not loopback_url(target.url):
            continue
        if urlsplit(target.url).port == DEMO_PORT:
            return tenant, target
    return None


def management_port(target: Target) -> int:
    """Port of the target's /metrics and /health (its metrics_url), else the demo's default."""
    port = urlsplit(str(target.metrics_url)).port if target.metrics_url else None
    return port or DEMO_MANAGEMENT_PORT


def uses_sink(config: Config) -> bool:
    """Whether a webhook receiver posts to the sink `lookout up` runs on ``listen.sink``."""
    for receiver in config.alerting.receivers:
        if receiver.webhook is not None:
            url = urlsplit(str(receiver.webhook.url))
            if loopback_host(url.hostname) and f"{url.hostname}:{url.port}" == config.listen.sink:
                return True
    return False


def stdio_in_image_warnings(config: Config) -> list[str]:
    """One line per probed stdio target: in compose and Kubernetes the exporter starts its command inside Lookout's
    image, which holds Python and Lookout only (no ``npx``, ``node``, ``uvx`` or the server's own files)."""
    lines = []
    for i, tenant in enumerate(config.tenants):
        for j, target in enumerate(tenant.targets):
            if target.transport is not Transport.STDIO or not target.probe:
                continue
            program = shlex.split(target.url)[0]
            lines.append(
                f"tenants[{i}].targets[{j}] ({target.name}): in compose and Kubernetes the exporter runs `{program}` "
                f"inside images.lookout, which holds only Python and Lookout, so MCPProbeFailing fires until the "
                "command is there: serve the server over HTTP and give that url, build images.lookout with the "
                "command, or set probe: false"
            )
    return lines


def service_dns(name: str, namespace: str) -> str:
    """A Service's name as every namespace resolves it."""
    return f"{name}.{namespace}.svc"


def _in_cluster(url: str, name: str, namespace: str) -> str:
    if not loopback_url(url):
        return url
    parts = urlsplit(url)
    netloc = service_dns(name, namespace) + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def cluster_config(config: Config, namespace: str, exporter_listen: str) -> Config:
    """lookout.yaml for the exporter's pod: loopback target URLs name the Service called after the target."""
    data: dict[str, Any] = config.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    for tenant in data["tenants"]:
        for target in tenant.get("targets", []):
            if target.get("transport", Transport.STREAMABLE_HTTP.value) == Transport.STDIO.value:
                continue
            target["url"] = _in_cluster(target["url"], target["name"], namespace)
            if target.get("metrics_url"):
                target["metrics_url"] = _in_cluster(target["metrics_url"], target["name"], namespace)
    data.setdefault("listen", {})["exporter"] = exporter_listen
    return Config.model_validate(data)


def config_yaml(config: Config) -> dict[str, Any]:
    """The non-default settings of ``config``: what a lookout.yaml for it holds."""
    data: dict[str, Any] = config.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return data
