"""``prometheus.yml``: scrape jobs for instrumented servers, the prober and the stack itself; external
labels; optional remote_write per tenant; rules; alerting.

In the HA topology (``ha`` in lookout.yaml) there is one file per Prometheus instance, shard-major: the
replicas of a shard scrape the same targets and differ only by the ``replica`` external label; shards split
the MCP servers by ``hashmod`` of their ``service`` label, so a server's metrics and its probes land in one
shard. Every instance alerts to every Alertmanager and remote-writes to the long-term store without the
``replica`` label, where replicas deduplicate (docs/scaling.md)."""

from __future__ import annotations

import math
from typing import Any, Final
from urllib.parse import urlsplit

from lookout import metrics as m
from lookout.config.model import Config, Target, Tenant, duration_seconds
from lookout.stack import naming
from lookout.stack.yamlio import dump_yaml

FOR_GRACE_PERIOD_FLAG: Final = "--rules.alert.for-grace-period=0s"
"""After a restart Prometheus restores how long each alert has been pending or firing, but skips every alert whose
`for` is under this grace period (default 10m): such an alert waits its whole `for` again, and one whose `for`
outlasts Alertmanager's hold of an alert without a resend (4 resend delays, 4m: MCPErrorRatioHigh's 5m) reaches
on-call as resolved and then paged anew. 0s restores every alert."""


def instrumented_target(tenant: Tenant, target: Target) -> dict[str, Any]:
    """The static config of a target with a ``metrics_url``: tenant/service labels and its own path and scheme."""
    url = urlsplit(str(target.metrics_url))
    labels = {
        **tenant.labels,
        **target.labels,
        m.TENANT: tenant.name,
        m.SERVICE: target.name,
        # Per-target path and scheme keep every instrumented server in the single `mcp` job.
        "__metrics_path__": url.path or "/metrics",
        "__scheme__": url.scheme,
    }
    return {"targets": [url.netloc], "labels": dict(sorted(labels.items()))}


def _instrumented_targets(config: Config) -> list[dict[str, Any]]:
    """One static config per instrumented target."""
    return [instrumented_target(tenant, target) for tenant, target in config.targets() if target.metrics_url]


_SHARD_HASH: Final = "__tmp_lookout_shard"


def shard_relabeling(shards: int, shard: int) -> list[dict[str, Any]]:
    """Keep the targets whose ``service`` hashes to ``shard``: each server is scraped by exactly one shard."""
    if shards <= 1:
        return []
    return [
        {"source_labels": [m.SERVICE], "modulus": shards, "target_label": _SHARD_HASH, "action": "hashmod"},
        {"source_labels": [_SHARD_HASH], "regex": str(shard), "action": "keep"},
    ]


def prober_scrape_configs(
    config: Config, *, include_exporter: bool = True, shards: int = 1, shard: int = 0
) -> list[dict[str, Any]]:
    """Scrape configs for every module used by a target with ``probe: true`` (plus the exporter's /metrics).

    One job per module in use, with blackbox_exporter's relabelling: the target name becomes
    ``__param_target`` and ``instance``, and the exporter's address becomes ``__address__``.
    Deterministic: modules in ``probe.modules`` order, targets in file order.
    """
    exporter = config.listen.exporter
    static: dict[str, list[dict[str, Any]]] = {}
    for tenant, target in config.targets():
        if not target.probe:
            continue
        labels = {**tenant.labels, **target.labels, m.TENANT: tenant.name, m.SERVICE: target.name}
        for module in config.probe.modules_for(target.name):
            static.setdefault(module, []).append({"targets": [target.name], "labels": labels})
    jobs: list[dict[str, Any]] = [
        {
            "job_name": naming.probe_job_name(module),
            "metrics_path": "/probe",
            "params": {m.PROBE_PARAM_MODULE: [module]},
            "static_configs": static[module],
            "relabel_configs": [
                *shard_relabeling(shards, shard),
                {"source_labels": ["__address__"], "target_label": f"__param_{m.PROBE_PARAM_TARGET}"},
                {"source_labels": [f"__param_{m.PROBE_PARAM_TARGET}"], "target_label": m.INSTANCE},
                {"target_label": "__address__", "replacement": exporter},
            ],
        }
        for module in config.probe.modules
        if module in static
    ]
    if include_exporter:
        jobs.append({"job_name": naming.JOB_EXPORTER, "static_configs": [{"targets": [exporter]}]})
    return jobs


def replica_name(config: Config, replica: int) -> str:
    """The ``replica`` external label of replica ``replica``: lookout.yaml's own name, numbered in HA."""
    base = config.prometheus.replica
    return base if config.ha is None or config.ha.prometheus_replicas == 1 else f"{base}-{replica}"


def _layout(config: Config) -> tuple[int, int]:
    """(replicas, shards) of the topology."""
    return (1, 1) if config.ha is None else (config.ha.prometheus_replicas, config.ha.prometheus_shards)


def _external_labels(config: Config, instance: int = 0) -> dict[str, str]:
    replicas, shards = _layout(config)
    labels = {**config.prometheus.external_labels, m.REPLICA: replica_name(config, instance % replicas)}
    if shards > 1:
        labels[m.SHARD] = str(instance // replicas)
    if len(config.tenants) == 1:  # a per-tenant Prometheus: every series it ships belongs to that tenant
        labels[m.TENANT] = config.tenants[0].name
    return dict(sorted(labels.items()))


def _long_term_write(config: Config) -> list[dict[str, Any]]:
    """The HA topology's long-term store: every replica writes the same series (the replica label dropped), which
    the store deduplicates (``-dedup.minScrapeInterval``)."""
    address = config.long_term_storage_address()
    if address is None:
        return []
    queue: dict[str, Any] = {
        "name": naming.LONG_TERM_REMOTE_WRITE,
        "url": f"{config.security.scheme}://{address}{naming.VICTORIAMETRICS_WRITE_PATH}",
        "write_relabel_configs": [{"action": "labeldrop", "regex": m.REPLICA}],
    }
    client = client_http_config(config)
    if "tls_config" in client:  # the store takes no login (victoriametrics_flags), only TLS
        queue["tls_config"] = client["tls_config"]
    return [queue]


def remote_write_queues(config: Config) -> list[dict[str, Any]]:
    """lookout.yaml's ``prometheus.remote_write`` as Prometheus' queues (one per tenant where ``per_tenant``)."""
    out = []
    # Prometheus refuses two queues of one name: with several per-tenant backends, or a tenant named like the HA
    # long-term store's queue, each tenant's queue names its backend's position in prometheus.remote_write too.
    long_term = {naming.LONG_TERM_REMOTE_WRITE} if config.long_term_storage_address() else set()
    several = sum(rw.per_tenant for rw in config.prometheus.remote_write) > 1 or any(
        tenant.name in long_term for tenant in config.tenants
    )
    for index, rw in enumerate(config.prometheus.remote_write):
        base: dict[str, Any] = {"url": str(rw.url)}
        if rw.bearer_token_file:
            base["authorization"] = {"credentials_file": rw.bearer_token_file}
        if rw.basic_auth_username:
            base["basic_auth"] = {"username": rw.basic_auth_username, "password_file": rw.basic_auth_password_file}
        if not rw.per_tenant:
            out.append({**base, **({"headers": dict(rw.headers)} if rw.headers else {})})
            continue
        for tenant in config.tenants:
            # One queue per tenant: only its series, tagged with the backend's tenant header (X-Scope-OrgID).
            out.append(
                {
                    **base,
                    "name": f"{tenant.name}-{index}" if several else tenant.name,
                    "headers": {**rw.headers, rw.tenant_header: tenant.name},
                    "write_relabel_configs": [
                        {"source_labels": [m.TENANT], "regex": tenant.name, "action": "keep"},
                    ],
                }
            )
    return out


def _prometheus_targets(config: Config) -> list[dict[str, Any]]:
    """Every Prometheus; sharded, one group per shard labelled with its role: the replicas of one shard stand in
    for each other, those of another shard do not (LookoutStackComponentDown)."""
    replicas, shards = _layout(config)
    addresses = config.prometheus_addresses()
    if shards == 1:
        return [{"targets": addresses}]
    return [
        {
            "targets": addresses[shard * replicas : (shard + 1) * replicas],
            "labels": {m.STACK_ROLE: f"{naming.JOB_PROMETHEUS}-shard-{shard}"},
        }
        for shard in range(shards)
    ]


def prometheus_config(config: Config, alertmanager: str | None = None, instance: int = 0) -> dict[str, Any]:
    """The configuration of Prometheus ``instance`` (shard-major) as data. ``alertmanager`` overrides the
    Alertmanager addresses."""
    replicas, shards = _layout(config)
    shard = instance // replicas
    mcp_job: dict[str, Any] = {"job_name": naming.JOB_MCP, "static_configs": _instrumented_targets(config)}
    if shards > 1:
        mcp_job["relabel_configs"] = shard_relabeling(shards, shard)
    alertmanagers = [alertmanager] if alertmanager else config.alertmanager_addresses()
    scrape_configs: list[dict[str, Any]] = [
        mcp_job,
        *prober_scrape_configs(config, shards=shards, shard=shard),
        # Every instance watches every Prometheus and Alertmanager: replicas raise identical stack alerts.
        {"job_name": naming.JOB_PROMETHEUS, "static_configs": _prometheus_targets(config)},
        {"job_name": naming.JOB_ALERTMANAGER, "static_configs": [{"targets": config.alertmanager_addresses()}]},
        # Host metrics where the deployment runs node-exporter: the compose output mounts its target
        # over the empty native file, so one prometheus.yml serves both.
        {
            "job_name": naming.JOB_NODE,
            "file_sd_configs": [{"files": [naming.NODE_TARGETS_FILE.removeprefix("prometheus/")]}],
        },
        # `lookout bench` pushes its capacity result here; honor_labels keeps the pushed `target` label.
        {
            "job_name": naming.JOB_PUSHGATEWAY,
            "honor_labels": True,
            "static_configs": [{"targets": [config.listen.pushgateway]}],
        },
    ]
    data: dict[str, Any] = {
        "global": {
            "scrape_interval": config.timing.scrape_interval,
            "evaluation_interval": config.timing.evaluation_interval,
            "external_labels": _external_labels(config, instance),
        },
        "rule_files": ["rules/*.yml"],
        "alerting": {
            # HA replicas send identical alerts; without the replica label Alertmanager deduplicates them.
            "alert_relabel_configs": [
                {"action": "labeldrop", "regex": m.REPLICA if shards == 1 else f"{m.REPLICA}|{m.SHARD}"}
            ],
            "alertmanagers": [{"static_configs": [{"targets": alertmanagers}]}],
        },
        "scrape_configs": scrape_configs,
    }
    remote_write = _long_term_write(config) + remote_write_queues(config)
    if remote_write:
        data["remote_write"] = remote_write
    client = client_http_config(config)
    if client:
        # Every endpoint Lookout serves or starts takes TLS and credentials (security:); node-exporter is not one.
        for job in scrape_configs:
            if job["job_name"] != naming.JOB_NODE:
                job.update(client)
        data["alerting"]["alertmanagers"][0].update(client)
    return data


def client_http_config(config: Config) -> dict[str, Any]:
    """How Prometheus (and Alertmanager's webhook) connect to Lookout's endpoints under ``security:``:
    scheme, the CA (and client certificate), and the client user's password by file. Empty when off."""
    security = config.security
    out: dict[str, Any] = {}
    if security.tls.enabled:
        tls: dict[str, Any] = {"ca_file": security.tls.ca_file}
        if security.tls.client_cert_file:
            tls |= {"cert_file": security.tls.client_cert_file, "key_file": security.tls.client_key_file}
        out |= {"scheme": "https", "tls_config": tls}
    user = security.client()
    if user is not None:
        out["basic_auth"] = {"username": user.name, "password_file": user.password_file}
    return out


def victoriametrics_flags(config: Config, storage_path: str) -> list[str]:
    """VictoriaMetrics single-node as the long-term store: replicas deduplicated to one sample per scrape interval,
    kept as long as Prometheus keeps them, and queries answered up to now (the default 30 s latency offset would
    hide the newest scrape from dashboards and alerts' history)."""
    days = math.ceil(duration_seconds(config.retention.metrics) / 86400)
    flags = [
        f"-storageDataPath={storage_path}",
        f"-httpListenAddr={config.long_term_storage_address()}",
        f"-retentionPeriod={days}d",
        f"-dedup.minScrapeInterval={config.timing.scrape_interval}",
        "-search.latencyOffset=0s",
    ]
    tls = config.security.tls
    if tls.enabled:
        # No -httpAuth.*: this version reads the password only from its command line, where every local user
        # could read it (/proc/<pid>/cmdline); the store stays without a login (docs/security.md).
        flags += ["-tls", f"-tlsCertFile={tls.cert_file}", f"-tlsKeyFile={tls.key_file}"]
    return flags


def render_prometheus(config: Config, instance: int = 0) -> str:
    return dump_yaml(prometheus_config(config, instance=instance), naming.GENERATED_HEADER)


def render_prometheus_instances(config: Config) -> dict[str, str]:
    """``{path: prometheus.yml}`` of every Prometheus of the topology (one without ``ha``)."""
    return {naming.prometheus_file(i): render_prometheus(config, i) for i in range(len(config.prometheus_addresses()))}
