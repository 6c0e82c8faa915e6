"""The ``lookout.yaml`` model: one file describes the fleet, the alerting and the local stack.

Pure data and validation; nothing here touches the network or the disk.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Collection
from typing import Final, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, HttpUrl, ValidationInfo, field_validator, model_validator

from lookout import __version__
from lookout import metrics as m
from lookout.config.probe import ProbeSettings
from lookout.config.security import Security, loopback_host
from lookout.config.types import Duration as Duration  # re-exported with the model, like the four below
from lookout.config.types import FieldError, Labels, PositiveDuration, refuse_secret_headers
from lookout.config.types import FrozenModel as _Model
from lookout.config.types import Name as Name
from lookout.config.types import Priority as Priority
from lookout.config.types import Transport as Transport
from lookout.config.types import duration_seconds as duration_seconds
from lookout.protocol import DEPRECATED_PROTOCOL_VERSIONS, address_problem

SLO_PERIOD: Final = "30d"
"""The SLO period: the longest window any rule reads, so metrics must be kept at least this long."""
SHORTEST_RATE_WINDOW: Final = "5m"
"""The shortest rate() window of the recording rules and alerts."""
MIN_SCRAPES_PER_RATE_WINDOW: Final = 4
"""rate() needs several samples in its window to survive one missed scrape; four is Prometheus' rule of thumb."""


class TargetResources(_Model):
    """What one replica of this target may use; unset values fall back to alerting.resources."""

    cpu_cores: float | None = Field(default=None, gt=0, description="CPU cores available to one replica.")
    memory_limit_bytes: int | None = Field(default=None, gt=0, description="Memory available to one replica.")


class Target(_Model):
    """One MCP server to watch."""

    name: Name = Field(description="Unique across all tenants; becomes the `service` label.")
    url: str = Field(description="MCP endpoint: http(s)://host:port/mcp, or for stdio the command line.")
    transport: Transport = Transport.STREAMABLE_HTTP
    metrics_url: HttpUrl | None = Field(
        default=None, description="Where the server's in-process Lookout metrics are scraped (…/metrics)."
    )
    labels: Labels = Field(default_factory=dict, description="Extra labels on every series of this target.")
    probe: bool = Field(default=True, description="Watch this target with the blackbox prober too.")
    resources: TargetResources | None = Field(
        default=None,
        description="Per-replica CPU and memory of this target (utilization alerts prefer the limit the process "
        "exports itself); defaults to alerting.resources.",
    )

    @model_validator(mode="after")
    def _url_matches_transport(self) -> Self:
        problem = address_problem(self.url, self.transport)
        if problem is not None:
            raise ValueError(f"url {self.url!r} {problem}")
        if self.transport is not Transport.STDIO and "@" in urlsplit(self.url).netloc:
            # The url is in the generated configs, the exporter's metrics and every probe's log.
            raise ValueError(
                "url carries a login: give a plain url and the login by file, in a probe module's "
                "credentials (bearer_token_file or basic_auth.password_file)"
            )
        return self

    @field_validator("name")
    @classmethod
    def _not_tenant_wide(cls, name: str) -> str:
        if name == m.TENANT_WIDE:
            raise ValueError(
                f"{name!r} is the service of alerts about a whole tenant (MCPTenantDown): give the target another name"
            )
        return name

    @field_validator("metrics_url")
    @classmethod
    def _no_credentials_in_metrics_url(cls, url: HttpUrl | None) -> HttpUrl | None:
        if url is not None and (url.username or url.password or url.query):
            raise ValueError(
                "metrics_url carries a login or a query: give a plain url (Prometheus scrapes its path, and logs in "
                "as security.client_user by file)"
            )
        return url


def _routes_cover_p0(routes: dict[Priority, list[str]]) -> dict[Priority, list[str]]:
    if Priority.P0 not in routes or not routes[Priority.P0]:
        raise ValueError("routes.P0 needs at least one receiver: production-down alerts must reach someone")
    return routes


class Tenant(_Model):
    name: Name
    labels: Labels = Field(default_factory=dict)
    targets: list[Target] = Field(default_factory=list)
    routes: dict[Priority, list[str]] | None = Field(
        default=None,
        description="Per-priority receivers for this tenant (P0 required; a priority left out goes nowhere); "
        "defaults to alerting.routes.",
    )
    log_retention: Duration | None = Field(
        default=None, description="How long Loki keeps this tenant's logs; defaults to retention.logs."
    )

    @field_validator("routes")
    @classmethod
    def _own_routes_cover_p0(cls, routes: dict[Priority, list[str]] | None) -> dict[Priority, list[str]] | None:
        # A priority missing here goes nowhere (not to alerting.routes): without P0 the tenant's outages page nobody.
        return _routes_cover_p0(routes) if routes else routes  # empty: alerting.routes, as routes_for reads it


class WebhookReceiver(_Model):
    url: HttpUrl = Field(description="Endpoint without credentials (e.g. the local sink).")
    bearer_token_file: str | None = Field(
        default=None, description="File holding a bearer token sent as Authorization header (a secret)."
    )

    @field_validator("url")
    @classmethod
    def _no_credentials_in_url(cls, url: HttpUrl) -> HttpUrl:
        if url.username or url.password or url.query:
            raise ValueError("the webhook url carries credentials: use a plain url and bearer_token_file")
        return url


class SlackReceiver(_Model):
    api_url_file: str = Field(description="File holding the Slack incoming-webhook URL (a secret).")
    channel: str


class PagerDutyReceiver(_Model):
    routing_key_file: str = Field(description="File holding the Events API v2 routing key (a secret).")
    urgency: Literal["high", "low"] | None = Field(
        default=None, description="Defaults by priority: P0 high, others low."
    )


class EmailReceiver(_Model):
    to: str
    from_: str = Field(alias="from")
    smarthost: str = Field(pattern=r"^[^\s:]+:\d+$", description="host:port of the SMTP relay")
    auth_username: str | None = None
    auth_password_file: str | None = None
    require_tls: bool = True


class Receiver(_Model):
    """A notification destination. Secrets are only ever read from files (``*_file`` fields)."""

    name: Name
    webhook: WebhookReceiver | None = None
    slack: SlackReceiver | None = None
    pagerduty: PagerDutyReceiver | None = None
    email: EmailReceiver | None = None

    @model_validator(mode="after")
    def _has_destination(self) -> Self:
        if not any((self.webhook, self.slack, self.pagerduty, self.email)):
            raise ValueError(f"receiver {self.name!r} needs at least one of webhook, slack, pagerduty, email")
        return self


class AlertOverride(_Model):
    for_: Duration | None = Field(default=None, alias="for", description="How long the condition must hold.")
    enabled: bool = True


class RouteTiming(_Model):
    group_wait: Duration
    group_interval: PositiveDuration
    repeat_interval: PositiveDuration


class SloSettings(_Model):
    """Service level objectives and the alert thresholds of the policies."""

    availability: float = Field(
        default=99.99, gt=0, lt=100, description="Percent of requests without a server failure, over 30 days."
    )
    latency: float = Field(default=99.0, gt=0, lt=100, description="Percent of requests faster than latency_threshold.")
    latency_threshold: Literal["0.025", "0.05", "0.075", "0.1", "0.2", "0.5", "1.0"] = Field(
        default="0.1", description="Seconds; a bucket boundary of mcp_server_operation_duration_seconds."
    )
    error_ratio_threshold: float = Field(default=0.001, gt=0, lt=1, description="P1 when the error ratio exceeds it.")
    latency_p99_threshold: float = Field(default=0.1, gt=0, description="P1 when p99 latency exceeds it (seconds).")
    min_failed_requests: int = Field(
        default=3,
        ge=1,
        description="Ratio and burn-rate alerts need at least this many failed (or slow) requests in their longest "
        "window: sustained failure pages at any traffic, one stray error at none.",
    )
    tool_errors_count_against_availability: bool = Field(
        default=False,
        description="Whether deliberate tool errors (error_class tool) burn the availability budget; they always "
        "count in the P1 error ratios.",
    )
    min_up_ratio: float = Field(
        default=0.8,
        gt=0,
        lt=1,
        description="Share of successful scrapes/probes over flap_window below which a server or probe counts as "
        "down even while some samples succeed (flapping, crash loops).",
    )
    flap_window: Duration = Field(default="10m", description="Window of min_up_ratio and of restart counting.")
    max_restarts: int = Field(
        default=3, ge=1, description="P1 when a replica restarts this many times within flap_window (crash loop)."
    )
    budget_low: float = Field(default=0.25, gt=0, lt=1, description="P3 when less than this share of budget is left.")

    @model_validator(mode="before")
    @classmethod
    def _replaced_fields(cls, data: object) -> object:
        if isinstance(data, dict) and "min_request_rate" in data:
            raise ValueError(
                "min_request_rate is gone: low traffic is handled by min_failed_requests (failed requests an alert "
                "needs in its window, default 3); remove min_request_rate"
            )
        return data


class Resources(_Model):
    """What one replica may use; utilization alerts compare against it."""

    cpu_cores: float = Field(default=1.0, gt=0, description="CPU cores available to one server process.")
    memory_limit_bytes: int = Field(default=1 << 30, gt=0, description="Memory available to one server process.")
    utilization_threshold: float = Field(default=0.7, gt=0, le=1, description="P2 above this averaged utilization.")
    capacity_fallback_rps: float = Field(
        default=50.0, gt=0, description="Requests/s one replica handles when no `lookout bench` result was pushed."
    )
    in_flight_threshold: float = Field(
        default=0.8, gt=0, le=1, description="P2 when requests in flight average above this share of the limit."
    )
    forecast_horizon: Duration = Field(
        default="4h", description="P2 when memory or file descriptors are predicted to run out within this time."
    )


class ToolFootprint(_Model):
    """What a server's tool definitions may cost every model context (probe_mcp_tools_definition_*)."""

    max_tokens: int = Field(
        default=20000,
        gt=0,
        description="P3 when a server's tool definitions are estimated above this many tokens (discover probes).",
    )
    max_growth: float = Field(
        default=0.25,
        gt=0,
        description="P3 when the footprint grew by more than this share of its smallest size within growth_window.",
    )
    growth_window: PositiveDuration = Field(default="1d", description="Window of max_growth.")


class TimeRange(_Model):
    start_time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end_time: str = Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")


_WEEKDAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})


class BusinessHours(_Model):
    """When P3 notifications are sent (Alertmanager time_intervals)."""

    weekdays: list[str] = Field(default_factory=lambda: ["monday:friday"])
    times: list[TimeRange] = Field(default_factory=lambda: [TimeRange(start_time="09:00", end_time="17:00")])
    location: str = Field(default="UTC", description="IANA time zone, e.g. Europe/Berlin.")

    @field_validator("location")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone: write e.g. UTC or Europe/Berlin") from None
        return value

    @field_validator("weekdays")
    @classmethod
    def _weekday_ranges(cls, value: list[str]) -> list[str]:
        for item in value:
            if not all(part in _WEEKDAYS for part in item.split(":")) or item.count(":") > 1:
                raise ValueError(f"{item!r} is not a weekday or range: write e.g. monday:friday or saturday")
        return value


class Alerting(_Model):
    receivers: list[Receiver] = Field(min_length=1)
    routes: dict[Priority, list[str]] = Field(description="Receivers per priority (default for every tenant).")
    heartbeat_receiver: str | None = Field(
        default=None, description="Receiver of the always-firing Watchdog (a dead-man's switch)."
    )
    alerts: dict[str, AlertOverride] = Field(
        default_factory=dict, description="Per-alert overrides, keyed by alert name."
    )
    runbook_base_url: str | None = Field(
        default=None,
        description="Absolute http(s) URL where runbooks live; alerts link to <base>/<AlertName>.md. "
        "Default: http://<listen.grafana>/runbooks.",
    )
    dashboard_base_url: str | None = Field(
        default=None,
        description="Absolute http(s) URL of Grafana (or the console) that alerts link dashboards to. "
        "Default: http://<listen.grafana>.",
    )
    default_receiver: str | None = Field(
        default=None,
        description="Receiver of alerts no tenant/priority route matches (unknown tenant, no priority); "
        "default: the first P0 receiver.",
    )
    certificate_expiry_warning: Duration = Field(
        default="14d", description="P3 when a certificate expires within this time (P1 once expired)."
    )
    timings: dict[Priority, RouteTiming] = Field(
        default_factory=dict, description="Per-priority Alertmanager grouping timings (defaults per priority)."
    )
    slo: SloSettings = Field(default_factory=SloSettings)
    resources: Resources = Field(default_factory=Resources)
    business_hours: BusinessHours | None = Field(
        default_factory=BusinessHours, description="P3 notifications only in these hours; null: any time."
    )
    deprecated_protocol_versions: list[str] = Field(
        default_factory=lambda: list(DEPRECATED_PROTOCOL_VERSIONS), description="P3 while any of these is in use."
    )
    tool_footprint: ToolFootprint = Field(default_factory=ToolFootprint)

    @field_validator("runbook_base_url", "dashboard_base_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an absolute URL: write e.g. https://runbooks.example.com/lookout")
        return value

    @field_validator("alerts")
    @classmethod
    def _known_alerts(cls, alerts: dict[str, AlertOverride], info: ValidationInfo) -> dict[str, AlertOverride]:
        known: frozenset[str] | None = (info.context or {}).get(ALERT_NAMES)
        if known is None:
            return alerts
        for name in alerts:
            if name not in known:  # a misspelt override would leave the alert as it was, paging or not
                raise ValueError(f"unknown alert {name!r}{_did_you_mean(name, known)}: docs/alerts.md lists them")
        return alerts

    @field_validator("routes")
    @classmethod
    def _routes_cover_p0(cls, routes: dict[Priority, list[str]]) -> dict[Priority, list[str]]:
        return _routes_cover_p0(routes)


class RemoteWrite(_Model):
    """A scale-out backend (Mimir, Thanos Receive, VictoriaMetrics)."""

    url: HttpUrl
    per_tenant: bool = Field(
        default=True, description="One queue per tenant: only its series, with tenant_header set to its name."
    )
    tenant_header: str = Field(default="X-Scope-OrgID")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers (no secrets).")
    bearer_token_file: str | None = None
    basic_auth_username: str | None = None
    basic_auth_password_file: str | None = None

    @field_validator("url")
    @classmethod
    def _no_credentials_in_url(cls, url: HttpUrl) -> HttpUrl:
        if url.username or url.password or url.query:
            raise ValueError(
                "the remote_write url carries credentials or a query: use a plain url and bearer_token_file "
                "or basic_auth_password_file"
            )
        return url

    @field_validator("headers")
    @classmethod
    def _no_secret_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        return refuse_secret_headers(headers, "bearer_token_file or basic_auth_password_file")


class PrometheusSettings(_Model):
    replica: str = Field(default="local", description="External label `replica` (dropped before alerting).")
    external_labels: Labels = Field(default_factory=dict)
    remote_write: list[RemoteWrite] = Field(default_factory=list)
    remote_write_max_lag: PositiveDuration = Field(
        default="2m",
        description="P2 when a remote-write queue (the long-term store, remote_write) falls this far behind "
        "what Prometheus scraped: the backend is down or too slow, and the queue holds the samples meanwhile.",
    )


LONG_TERM_STORAGE_VICTORIAMETRICS: Final = "victoriametrics"


class HighAvailability(_Model):
    """The HA topology: Prometheus replica pairs (optionally sharded), an Alertmanager gossip cluster and a
    deduplicating long-term store. Instance 0 of each keeps its ``listen`` address; the others are listed here or
    derived from it in steps of ``port_step`` (docs/scaling.md)."""

    prometheus_replicas: int = Field(
        default=2, ge=1, le=10, description="Prometheus replicas scraping the same targets."
    )
    prometheus_shards: int = Field(
        default=1, ge=1, le=64, description="Shards splitting the targets by hashmod; each shard has every replica."
    )
    alertmanager_replicas: int = Field(default=3, ge=1, le=10, description="Alertmanager peers in one gossip cluster.")
    long_term_storage: Literal["victoriametrics"] | None = Field(
        default=LONG_TERM_STORAGE_VICTORIAMETRICS,
        description="Where every Prometheus remote-writes; dashboards and the console query it, deduplicated.",
    )
    victoriametrics: str = Field(default="127.0.0.1:8428", description="host:port of the long-term store.")
    port_step: int = Field(
        default=100, ge=1, description="Port distance between derived addresses (9090, 9190, 9290 …)."
    )
    prometheus_listen: list[str] | None = Field(
        default=None, description="Every Prometheus, shard-major (shard 0 replicas first); default: derived."
    )
    alertmanager_listen: list[str] | None = Field(default=None, description="Every Alertmanager; default: derived.")
    alertmanager_cluster: list[str] | None = Field(
        default=None, description="Every Alertmanager's gossip address; default: derived from the listen port + 1."
    )

    @field_validator("victoriametrics")
    @classmethod
    def _vm_host_port(cls, value: str) -> str:
        return _host_port(value)

    @field_validator("prometheus_listen", "alertmanager_listen", "alertmanager_cluster")
    @classmethod
    def _host_ports(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [_host_port(v) for v in value]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.prometheus_shards > 1 and self.long_term_storage is None:
            raise FieldError(
                ("prometheus_shards",),
                "more than one shard needs long_term_storage: victoriametrics (no shard sees the whole fleet; "
                "dashboards must query the store that does)",
            )
        counts = (
            ("prometheus_listen", self.prometheus_listen, self.prometheus_replicas * self.prometheus_shards),
            ("alertmanager_listen", self.alertmanager_listen, self.alertmanager_replicas),
            ("alertmanager_cluster", self.alertmanager_cluster, self.alertmanager_replicas),
        )
        for name, value, expected in counts:
            if value is not None and len(value) != expected:
                raise FieldError((name,), f"lists {len(value)} addresses: list {expected}, one per instance")
        return self


ALERT_NAMES: Final = "alert_names"
"""The validation context's key for the alert catalog's names (the generators own the catalog)."""
WILDCARD_HOSTS: Final = frozenset({"0.0.0.0", "*", ""})
"""Listen hosts that bind every address: they share a port with no other host."""


def _host_port(value: str) -> str:
    if not re.match(r"^[^\s:]+:\d{1,5}$", value) or not 0 < int(value.rsplit(":", 1)[1]) < 65536:
        raise ValueError(f"{value!r} is not host:port")
    return value


def listeners_clash(a: str, b: str) -> bool:
    """Whether two ``host:port`` listen addresses take one port on one address: the same port with the same
    host, however it is named (``localhost`` is ``127.0.0.1``), or with a host that binds every address."""
    (host_a, _, port_a), (host_b, _, port_b) = a.rpartition(":"), b.rpartition(":")
    return port_a == port_b and (_bound(host_a) == _bound(host_b) or bool(WILDCARD_HOSTS & {host_a, host_b}))


def clash_message(first: tuple[str, str], second: tuple[str, str]) -> str:
    """The one line for two clashing listeners, each ``(what sets it, host:port)``."""
    (name, address), (other, other_address) = first, second
    port = address.rpartition(":")[2]
    return (
        f"{name} ({address}) and {other} ({other_address}) both take port {port} on the same address: "
        "give each its own port"
    )


def _bound(host: str) -> str:
    return "127.0.0.1" if loopback_host(host) and not host.startswith("127.") else host


def _loc(path: str) -> tuple[int | str, ...]:
    """``ha.prometheus_listen[1]`` as an error location: ``("ha", "prometheus_listen", 1)``."""
    return tuple(int(part) if part.isdigit() else part for part in re.findall(r"[^.\[\]]+", path))


def _did_you_mean(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _shift(address: str, by: int) -> str:
    host, _, port = address.rpartition(":")
    return f"{host}:{int(port) + by}"


class Listen(_Model):
    """Loopback addresses of the local stack started by ``lookout up``."""

    prometheus: str = "127.0.0.1:9090"
    alertmanager: str = "127.0.0.1:9093"
    sink: str = "127.0.0.1:9095"
    exporter: str = "127.0.0.1:9115"
    pushgateway: str = "127.0.0.1:9091"
    grafana: str = "127.0.0.1:3000"

    @field_validator("*")
    @classmethod
    def _host_port(cls, value: str) -> str:
        return _host_port(value)


class Retention(_Model):
    metrics: Duration = "35d"
    logs: Duration = "7d"

    @field_validator("metrics")
    @classmethod
    def _covers_the_slo_period(cls, value: str) -> str:
        if duration_seconds(value) < duration_seconds(SLO_PERIOD):
            raise ValueError(
                f"{value} is shorter than the {SLO_PERIOD} SLO window the error-budget rules read: "
                f"keep metrics at least {SLO_PERIOD} (e.g. 35d)"
            )
        return value


def _max_interval() -> float:
    return duration_seconds(SHORTEST_RATE_WINDOW) / MIN_SCRAPES_PER_RATE_WINDOW


class Timing(_Model):
    scrape_interval: PositiveDuration = "15s"
    evaluation_interval: PositiveDuration = "15s"

    @field_validator("scrape_interval", "evaluation_interval")
    @classmethod
    def _fits_the_rate_windows(cls, value: str) -> str:
        if duration_seconds(value) > _max_interval():
            raise ValueError(
                f"{value} leaves fewer than {MIN_SCRAPES_PER_RATE_WINDOW} samples in the {SHORTEST_RATE_WINDOW} rate "
                f"windows: use at most {_max_interval():g}s"
            )
        return value


class DemoSettings(_Model):
    """The demo server that ``lookout up`` runs (unless ``--no-demo``)."""

    traffic_rps: float = Field(
        default=2.0,
        ge=0,
        le=50,
        description="Background requests/s `lookout up` sends to the demo server, spread over every tool, "
        "listing and resource read, so that alerts and dashboards see traffic; 0 turns it off.",
    )


class Images(_Model):
    """Container images of Lookout's own processes (exporter, sink, demo server) in compose and Kubernetes."""

    lookout: str = Field(
        default=f"lookout:{__version__}",
        pattern=r"^[^\s@]+:[A-Za-z0-9_][A-Za-z0-9_.-]*$",  # a tag: what runs is pinned
        description="Built from the repository's Dockerfile (`docker build -t <this> .`); for a cluster, "
        "a registry path the nodes can pull, e.g. registry.example.com/lookout:0.1.0.",
    )


class WorkloadResources(_Model):
    """What a container of the Kubernetes base requests (CPU and memory) and is limited to (memory)."""

    cpu_cores: float = Field(gt=0, description="CPU cores the container requests.")
    memory_limit_bytes: int = Field(gt=0, description="Memory the container requests and is limited to.")


class Kubernetes(_Model):
    """Where the Kubernetes base runs and how the cluster's Prometheus finds its objects."""

    namespace: Name = Field(default="lookout", description="Namespace of every generated object.")
    selector_labels: dict[str, str] = Field(
        default_factory=lambda: {"release": "kube-prometheus-stack"},
        description="Labels on every ServiceMonitor, PodMonitor, Probe and PrometheusRule so that the cluster's "
        "Prometheus selects them. kube-prometheus-stack selects `release: <its Helm release name>` by default.",
    )
    prometheus_url: str = Field(
        default="http://kube-prometheus-stack-prometheus.monitoring.svc:9090",
        pattern=r"^https?://[^\s/]+$",
        description="The cluster's Prometheus, for prometheus-adapter and Grafana "
        "(kube-prometheus-stack: http://<release>-prometheus.<namespace>.svc:9090).",
    )
    # Requests and limits keep the cluster from evicting these first under memory pressure (a pod without them
    # is BestEffort); the example server's come from what its target states one replica may use.
    exporter_resources: WorkloadResources = Field(
        default_factory=lambda: WorkloadResources(cpu_cores=0.5, memory_limit_bytes=512 << 20),
        description="CPU and memory of the Lookout exporter the Probes go through (docs/scaling.md: a large "
        "fleet's prober needs a couple of cores).",
    )
    victoriametrics_resources: WorkloadResources = Field(
        default_factory=lambda: WorkloadResources(cpu_cores=2.0, memory_limit_bytes=4 << 30),
        description="CPU and memory of the HA topology's long-term store (VictoriaMetrics sizes its caches from "
        "the memory limit; docs/scaling.md: give it more for a fleet of thousands of servers).",
    )
    alertmanager_resources: WorkloadResources = Field(
        default_factory=lambda: WorkloadResources(cpu_cores=0.1, memory_limit_bytes=256 << 20),
        description="CPU and memory of each Alertmanager the operator runs (it holds the alerts, silences and "
        "notification log in memory: give it more for tens of thousands of alerts).",
    )


class Config(_Model):
    """Root of ``lookout.yaml``."""

    version: Literal[1] = 1
    tenants: list[Tenant] = Field(min_length=1)
    alerting: Alerting
    listen: Listen = Field(default_factory=Listen)
    retention: Retention = Field(default_factory=Retention)
    timing: Timing = Field(default_factory=Timing)
    probe: ProbeSettings = Field(default_factory=ProbeSettings)
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings)
    demo: DemoSettings = Field(default_factory=DemoSettings)
    images: Images = Field(default_factory=Images)
    kubernetes: Kubernetes = Field(default_factory=Kubernetes)
    ha: HighAvailability | None = Field(
        default=None, description="Replicated, optionally sharded topology (docs/scaling.md); null: one of each."
    )
    security: Security = Field(
        default_factory=Security, description="TLS, users and roles, redaction (docs/security.md)."
    )

    @model_validator(mode="after")
    def _distinct_ports(self) -> Self:
        if self.ha is not None:
            for name, listed, first in (
                ("prometheus_listen", self.ha.prometheus_listen, self.listen.prometheus),
                ("alertmanager_listen", self.ha.alertmanager_listen, self.listen.alertmanager),
            ):
                if listed is not None and listed[0] != first:
                    raise FieldError(
                        ("ha", name, 0), f"ha.{name}[0] is {listed[0]}: it must be listen's own address {first}"
                    )
        seen: list[tuple[str, str]] = []
        for name, address in self.addresses():
            if int(address.rpartition(":")[2]) > 65535:  # derived by ha.port_step (or +1 for gossip)
                raise FieldError(
                    _loc(name), f"{name} would be {address}, past port 65535: lower listen's ports or ha.port_step"
                )
            clash = next((other for other in seen if listeners_clash(address, other[1])), None)
            if clash is not None:
                raise FieldError(_loc(name), clash_message((name, address), clash))
            seen.append((name, address))
        return self

    @model_validator(mode="after")
    def _cross_references(self) -> Self:
        seen_tenants: set[str] = set()
        seen_targets: set[str] = set()
        for t, tenant in enumerate(self.tenants):
            if tenant.name in seen_tenants:
                raise FieldError(
                    ("tenants", t, "name"), f"duplicate tenant name {tenant.name!r}: tenant names must be unique"
                )
            seen_tenants.add(tenant.name)
            for i, target in enumerate(tenant.targets):
                if target.name in seen_targets:
                    raise FieldError(
                        ("tenants", t, "targets", i, "name"),
                        f"duplicate target name {target.name!r}: target names must be unique",
                    )
                seen_targets.add(target.name)
        receivers: set[str] = set()
        for r, receiver in enumerate(self.alerting.receivers):
            if receiver.name in receivers:
                raise FieldError(
                    ("alerting", "receivers", r, "name"),
                    f"duplicate receiver name {receiver.name!r}: receiver names must be unique",
                )
            receivers.add(receiver.name)
        route_sets: list[tuple[tuple[int | str, ...], dict[Priority, list[str]]]] = [
            (("alerting", "routes"), self.alerting.routes)
        ]
        route_sets += [
            (("tenants", t, "routes"), tenant.routes) for t, tenant in enumerate(self.tenants) if tenant.routes
        ]
        for where, routes in route_sets:
            for priority, names in routes.items():
                for i, name in enumerate(names):
                    if name not in receivers:
                        raise FieldError(
                            (*where, priority, i), f"unknown receiver {name!r}; define it in alerting.receivers"
                        )
        for name in self.probe.target_modules:
            if name not in seen_targets:
                raise FieldError(
                    ("probe", "target_modules", name), f"unknown target {name!r}{_did_you_mean(name, seen_targets)}"
                )
        hb = self.alerting.heartbeat_receiver
        if hb is not None and hb not in receivers:
            raise FieldError(
                ("alerting", "heartbeat_receiver"), f"unknown receiver {hb!r}; define it in alerting.receivers"
            )
        default = self.alerting.default_receiver
        if default is not None and default not in receivers:
            raise FieldError(
                ("alerting", "default_receiver"), f"unknown receiver {default!r}; define it in alerting.receivers"
            )
        return self

    def targets(self) -> list[tuple[Tenant, Target]]:
        """Every target with its tenant, in file order."""
        return [(tenant, target) for tenant in self.tenants for target in tenant.targets]

    def replica_limits(self, target: Target) -> tuple[float, int]:
        """(CPU cores, memory bytes) one replica of ``target`` may use: its own resources, else alerting.resources."""
        fleet, own = self.alerting.resources, target.resources
        cores = own.cpu_cores if own is not None and own.cpu_cores is not None else fleet.cpu_cores
        memory = own.memory_limit_bytes if own is not None and own.memory_limit_bytes else fleet.memory_limit_bytes
        return cores, memory

    def routes_for(self, tenant: Tenant) -> dict[Priority, list[str]]:
        return dict(tenant.routes) if tenant.routes else dict(self.alerting.routes)

    def default_receiver(self) -> str:
        """Receiver of alerts that no tenant/priority route matches: configured, else the first P0 receiver."""
        return self.alerting.default_receiver or self.alerting.routes[Priority.P0][0]

    def runbook_base_url(self) -> str:
        return (self.alerting.runbook_base_url or f"http://{self.listen.grafana}/runbooks").rstrip("/")

    def dashboard_base_url(self) -> str:
        return (self.alerting.dashboard_base_url or f"http://{self.listen.grafana}").rstrip("/")

    # ------------------------------------------------------------------ topology

    def prometheus_addresses(self) -> list[str]:
        """Every Prometheus, shard-major: ``[shard 0 replica 0, shard 0 replica 1, shard 1 replica 0 …]``."""
        if self.ha is None:
            return [self.listen.prometheus]
        if self.ha.prometheus_listen is not None:
            return list(self.ha.prometheus_listen)
        count = self.ha.prometheus_replicas * self.ha.prometheus_shards
        return [_shift(self.listen.prometheus, i * self.ha.port_step) for i in range(count)]

    def alertmanager_addresses(self) -> list[str]:
        if self.ha is None:
            return [self.listen.alertmanager]
        if self.ha.alertmanager_listen is not None:
            return list(self.ha.alertmanager_listen)
        return [_shift(self.listen.alertmanager, i * self.ha.port_step) for i in range(self.ha.alertmanager_replicas)]

    def alertmanager_cluster_addresses(self) -> list[str]:
        """Gossip addresses of the Alertmanager peers; empty: a single Alertmanager without a cluster."""
        if self.ha is None or self.ha.alertmanager_replicas == 1:
            return []
        if self.ha.alertmanager_cluster is not None:
            return list(self.ha.alertmanager_cluster)
        return [_shift(a, 1) for a in self.alertmanager_addresses()]

    def long_term_storage_address(self) -> str | None:
        return self.ha.victoriametrics if self.ha is not None and self.ha.long_term_storage else None

    def query_url(self) -> str:
        """Where dashboards, the console and reports query: the deduplicated long-term store when the HA topology
        has one (it sees every replica and shard), else the one Prometheus."""
        return f"{self.security.scheme}://{self.long_term_storage_address() or self.listen.prometheus}"

    def cleartext_scrapes(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Under ``security.tls``, the targets' ``metrics_url`` that are plain http, each with its field's path:
        Prometheus scrapes them without TLS, sending the client user's password in clear text (the `mcp` job has
        one login for every target)."""
        if not self.security.tls.enabled:
            return []
        return [
            (("tenants", i, "targets", j, "metrics_url"), str(target.metrics_url))
            for i, tenant in enumerate(self.tenants)
            for j, target in enumerate(tenant.targets)
            if target.metrics_url is not None and target.metrics_url.scheme == "http"
        ]

    def addresses(self) -> list[tuple[str, str]]:
        """Every address of the local stack with the field that sets it (ports must not clash)."""
        out = [(f"listen.{name}", value) for name, value in self.listen.model_dump().items()]
        if self.ha is not None:
            out += [(f"ha.prometheus_listen[{i}]", a) for i, a in enumerate(self.prometheus_addresses()) if i]
            out += [(f"ha.alertmanager_listen[{i}]", a) for i, a in enumerate(self.alertmanager_addresses()) if i]
            out += [(f"ha.alertmanager_cluster[{i}]", a) for i, a in enumerate(self.alertmanager_cluster_addresses())]
            if self.ha.long_term_storage:
                out.append(("ha.victoriametrics", self.ha.victoriametrics))
        return out
