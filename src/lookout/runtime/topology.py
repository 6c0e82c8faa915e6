"""What ``lookout up`` runs, by address: every HTTP endpoint it starts, listed once (port checks, readiness
waits and the URL table read this list), and the children of the Prometheus / Alertmanager / long-term store
topology — one of each by default, the ``ha`` block's replicas, shards, gossip cluster and VictoriaMetrics
otherwise (docs/scaling.md)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from lookout.config.model import WILDCARD_HOSTS, Config
from lookout.runtime.children import ChildSpec, resolve_binary
from lookout.security.web_config import WEB_CONFIG_FILE
from lookout.stack import naming
from lookout.stack.alertmanager import cluster_flags
from lookout.stack.prometheus import FOR_GRACE_PERIOD_FLAG, victoriametrics_flags

VICTORIAMETRICS: Final = "victoriametrics"


@dataclass(frozen=True)
class Endpoint:
    """An HTTP endpoint of the local stack: the child serving it, the lookout.yaml field that sets its address,
    the path that answers 200 once it is ready, and what the URL table calls it."""

    child: str
    field: str
    address: str
    ready_path: str
    title: str
    scheme: str = "http"  # https under security.tls

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}"

    @property
    def ready_url(self) -> str:
        return f"{self.url}{self.ready_path}"


def _numbered(base: str, index: int) -> str:
    return base if index == 0 else f"{base}-{index}"


def prometheus_endpoints(config: Config) -> list[Endpoint]:
    replicas = 1 if config.ha is None else config.ha.prometheus_replicas
    out = []
    for i, address in enumerate(config.prometheus_addresses()):
        field = "listen.prometheus" if i == 0 else f"ha.prometheus_listen[{i}]"
        where = "" if config.ha is None else f" (shard {i // replicas}, replica {i % replicas})"
        out.append(Endpoint(_numbered("prometheus", i), field, address, "/-/ready", f"Prometheus{where}"))
    return out


def alertmanager_endpoints(config: Config) -> list[Endpoint]:
    return [
        Endpoint(
            _numbered("alertmanager", i),
            "listen.alertmanager" if i == 0 else f"ha.alertmanager_listen[{i}]",
            address,
            "/-/ready",
            "Alertmanager" if config.ha is None else f"Alertmanager (peer {i})",
        )
        for i, address in enumerate(config.alertmanager_addresses())
    ]


def endpoints(config: Config) -> list[Endpoint]:
    """Every HTTP endpoint `lookout up` starts from lookout.yaml (the demo server's ports are options)."""
    listen = config.listen
    out = [
        Endpoint("sink", "listen.sink", listen.sink, "/-/ready", "notification sink"),
        *alertmanager_endpoints(config),
        Endpoint("exporter", "listen.exporter", listen.exporter, "/-/healthy", "MCP prober exporter"),
        Endpoint(
            "pushgateway", "listen.pushgateway", listen.pushgateway, "/-/ready", "Pushgateway (benchmark results)"
        ),
    ]
    storage = config.long_term_storage_address()
    if storage is not None:
        out.append(
            Endpoint(VICTORIAMETRICS, "ha.victoriametrics", storage, "/health", "VictoriaMetrics (deduplicated)")
        )
    out += prometheus_endpoints(config)
    out.append(Endpoint("console", "listen.grafana (the console)", listen.grafana, "/-/ready", "console"))
    # Every endpoint serves TLS under security.tls, VictoriaMetrics included (victoriametrics_flags).
    return [replace(e, scheme=config.security.scheme) for e in out]


def web_config_flags(config: Config, stack_dir: Path) -> list[str]:
    """``--web.config.file`` for Prometheus, Alertmanager and the Pushgateway when ``security:`` is on."""
    if not config.security.enabled:
        return []
    return [f"--web.config.file={stack_dir / WEB_CONFIG_FILE}"]


def external_url_flags(config: Config, address: str) -> list[str]:
    """``--web.external-url``: the address the child listens on, so the links it puts in alerts and
    notifications (Prometheus' ``generatorURL``, Alertmanager's ``externalURL``) open. Without it both use the
    machine's hostname, which need not reach a loopback listener (Debian maps it to 127.0.1.1). A wildcard
    listener is reached by that hostname: it keeps the default."""
    if address.rpartition(":")[0] in WILDCARD_HOSTS:
        return []
    return [f"--web.external-url={config.security.scheme}://{address}"]


def port_checks(config: Config) -> list[tuple[str, str]]:
    """(field, address) of every port the stack binds: the HTTP endpoints and the Alertmanager gossip ports."""
    gossip = [(f"ha.alertmanager_cluster[{i}]", a) for i, a in enumerate(config.alertmanager_cluster_addresses())]
    return [(e.field, e.address) for e in endpoints(config)] + gossip


def alertmanager_children(config: Config, binary: str, data: Path, stack_dir: Path) -> list[ChildSpec]:
    """One Alertmanager (no gossip), or the HA peers gossiping on loopback so that one notification goes out."""
    return [
        ChildSpec(
            endpoint.child,
            [
                binary,
                f"--config.file={stack_dir / naming.ALERTMANAGER_FILE}",
                f"--storage.path={data / endpoint.child}",
                f"--web.listen-address={endpoint.address}",
                *external_url_flags(config, endpoint.address),
                *cluster_flags(config, i),
                *web_config_flags(config, stack_dir),
            ],
            endpoint.ready_url,
            log=data / "logs" / f"{endpoint.child}.log",
            binary_option="--alertmanager-bin",
            replicas_of="alertmanager",
        )
        for i, endpoint in enumerate(alertmanager_endpoints(config))
    ]


def prometheus_children(config: Config, binary: str, data: Path, stack_dir: Path) -> list[ChildSpec]:
    replicas = 1 if config.ha is None else config.ha.prometheus_replicas
    return [
        ChildSpec(
            endpoint.child,
            [
                binary,
                f"--config.file={stack_dir / naming.prometheus_file(i)}",
                f"--storage.tsdb.path={data / endpoint.child}",
                f"--storage.tsdb.retention.time={config.retention.metrics}",
                FOR_GRACE_PERIOD_FLAG,
                f"--web.listen-address={endpoint.address}",
                *external_url_flags(config, endpoint.address),
                # No --web.enable-lifecycle: /-/quit and /-/reload would let anyone on the host stop or reload
                # Prometheus; SIGHUP reloads it (signals need the same user).
                *web_config_flags(config, stack_dir),
            ],
            endpoint.ready_url,
            log=data / "logs" / f"{endpoint.child}.log",
            binary_option="--prometheus-bin",
            replicas_of=f"prometheus shard {i // replicas}",
        )
        for i, endpoint in enumerate(prometheus_endpoints(config))
    ]


def storage_children(config: Config, binary_name: str, data: Path) -> list[ChildSpec]:
    """VictoriaMetrics single-node when the HA topology has a long-term store (Debian's victoria-metrics)."""
    address = config.long_term_storage_address()
    if address is None:
        return []
    binary = resolve_binary(binary_name, "--victoriametrics-bin", "victoria-metrics")
    return [
        ChildSpec(
            VICTORIAMETRICS,
            [binary, *victoriametrics_flags(config, str(data / VICTORIAMETRICS))],
            f"http://{address}/health",
            log=data / "logs" / f"{VICTORIAMETRICS}.log",
            binary_option="--victoriametrics-bin",
            # Alerting never reads the store (every Prometheus evaluates its own TSDB) and the replicas keep
            # its samples in their WAL until it is back: LookoutRemoteWriteBehind says it is gone.
            essential=False,
        )
    ]
