"""The metric contract: every metric and label name Lookout emits or queries.

Emitters (in-process instrumentation, the prober/exporter, the benchmark exporter) create their
collectors from these specs; generators (recording rules, alerts, dashboards) build their queries
from the same names. ``lookout check`` proves that no rule or panel queries a name that nothing
emits. Names follow the OpenTelemetry -> Prometheus conversion of the MCP semantic conventions
(dots become underscores, the unit becomes a suffix); Lookout's own extensions carry the
``lookout_`` prefix so they can never collide with a future convention name.

This module imports nothing from the rest of Lookout: it is the bottom layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final


class Kind(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"
    INFO = "info"


class Source(StrEnum):
    """Who emits a metric; the metric-contract check accepts a name only if a source emits it."""

    INSTRUMENTATION = "instrumentation"  # lookout.instrument, in the MCP server process
    PROBER = "prober"  # lookout exporter (/probe)
    EXPORTER_SELF = "exporter-self"  # lookout exporter (/metrics)
    BENCH = "bench"  # lookout bench, pushed to the Pushgateway
    HEALTH = "health"  # lookout.health management app


@dataclass(frozen=True)
class MetricSpec:
    """One metric family as exposed to Prometheus.

    ``name`` is the family name without type suffixes (``_total``, ``_bucket`` ...), exactly as
    ``prometheus_client`` expects it; ``series_names`` lists what appears in the exposition.
    """

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    unit: str = ""
    buckets: tuple[float, ...] = ()
    source: Source = Source.INSTRUMENTATION
    why: str = ""

    @property
    def series_names(self) -> tuple[str, ...]:
        if self.kind is Kind.COUNTER:
            return (f"{self.name}_total", f"{self.name}_created")
        if self.kind is Kind.HISTOGRAM:
            return tuple(f"{self.name}_{s}" for s in ("bucket", "sum", "count", "created"))
        if self.kind is Kind.INFO:
            return (f"{self.name}_info",)
        return (self.name,)


# ---------------------------------------------------------------- label names
# OpenTelemetry MCP semantic-convention attributes, converted to Prometheus label names.
MCP_METHOD: Final = "mcp_method_name"
TOOL_NAME: Final = "gen_ai_tool_name"
PROMPT_NAME: Final = "gen_ai_prompt_name"
ERROR_TYPE: Final = "error_type"
PROTOCOL_VERSION: Final = "mcp_protocol_version"
NETWORK_TRANSPORT: Final = "network_transport"
HTTP_STATUS: Final = "http_response_status_code"
# Lookout extension: which MCP transport carried a message (stdio, streamable-http, sse, inproc). The
# convention's network_transport only says pipe/tcp, which cannot tell streamable HTTP from SSE.
MCP_TRANSPORT: Final = "mcp_transport"
# Labels attached by Prometheus from lookout.yaml (target labels), never by emitters.
TENANT: Final = "tenant"
SERVICE: Final = "service"
TENANT_WIDE: Final = "all"
"""The ``service`` of an alert about a whole tenant (MCPTenantDown): it stands for every service of the tenant."""
INSTANCE: Final = "instance"
JOB: Final = "job"
# Alert labels.
PRIORITY: Final = "priority"
SEVERITY: Final = "severity"
ALERT_NAME: Final = "alertname"
ALERT_STATE: Final = "alertstate"
REPLICA: Final = "replica"
"""External label telling HA Prometheus replicas apart; dropped from alerts so that Alertmanager deduplicates them."""
SHARD: Final = "shard"
"""External label of a sharded Prometheus: its shard (kept in the long-term store, dropped before alerting)."""
STACK_ROLE: Final = "lookout_role"
"""Target label of a sharded topology's Prometheus instances: the shard they serve (``prometheus-shard-1``). A
stack component is down *alone* when no instance of its role (its job, or this) is up: then it pages."""
# Lookout's own label names (the families below say which carries which).
DIRECTION: Final = "direction"
"""``in`` or ``out``: a message or bytes the server received or sent."""
REGISTRY_KIND: Final = "kind"
"""tools, resources, resource_templates, prompts."""
REASON: Final = "reason"
SIGNAL: Final = "signal"
"""Telemetry signal: logs, spans."""
SERVER_LOOKOUT_VERSION: Final = "lookout_version"
SERVER_SDK: Final = "sdk"
SERVER_SDK_VERSION: Final = "sdk_version"
SERVER_NAME: Final = "server_name"
SERVER_VERSION: Final = "server_version"
CHECK: Final = "check"
"""A health check's name."""
PHASE: Final = "phase"
"""A probe phase: connect, tls, handshake, list_tools, call ..."""
PROBE_PHASES: Final = (
    "connect",
    "tls",
    "handshake",
    "list_tools",
    "list_resources",
    "list_prompts",
    "ping",
    "call",
    "read",
    "close",
)
"""Every value of the phase label, in the order a probe goes through them (how the console lists them)."""
VERSION: Final = "version"
"""A negotiated MCP revision (probe_mcp_protocol_version_info) or a server's version (probe_mcp_server_info)."""
NAME: Final = "name"
"""The server's name as its handshake reports it."""
MODULE: Final = "module"
"""A probe module of lookout.yaml's probe.modules."""
RESULT: Final = "result"
"""``success`` or ``failure``."""
TARGET: Final = "target"
"""A benchmarked target, as ``lookout bench`` names it."""
SCENARIO: Final = "scenario"
QUANTILE: Final = "quantile"

# The exporter's /probe query parameters (blackbox_exporter's convention); Prometheus' relabelling reads them
# as __param_<name>.
PROBE_PARAM_TARGET: Final = "target"
PROBE_PARAM_MODULE: Final = "module"

OTHER: Final = "_OTHER"
"""Label value for names that are not registered on the server (the cardinality guard)."""

# ---------------------------------------------------------------- error classification
# ``error_type`` of mcp_server_operation_duration_seconds: a JSON-RPC error code ("-32602"), "tool_error"
# (a tool result with isError) or an exception class name; "" on success. These codes are the client's
# fault and do not count against the availability SLI (every other non-empty error_type does).
CLIENT_ERROR_TYPES: Final = (
    "-32700",  # parse error
    "-32600",  # invalid request
    "-32601",  # method not found
    "-32602",  # invalid params
    "-32002",  # resource not found
    "CancelledError",  # the client cancelled the request or went away
)
TOOL_ERROR: Final = "tool_error"
"""``error_type`` of a deliberate tool error: the tool raised ``ToolError`` (or returned ``isError``) on purpose,
e.g. "unknown city". An unexpected exception inside a tool is recorded under its exception class instead."""

# Span attributes the generated trace pipeline reads (the OpenTelemetry Collector's tail sampling).
HEAD_SAMPLED_ATTRIBUTE: Final = "lookout.sampled_by"
HEAD_SAMPLED_BY: Final = "adaptive"
"""On a root span Lookout's adaptive sampler chose within its budget (its trace id is an exemplar's): the collector
keeps every such trace, so an exemplar's link always finds its trace."""

# ``error_class`` of lookout_mcp_operation_errors: who is responsible for a failed request.
ERROR_CLASS: Final = "error_class"
ERROR_CLASS_SERVER: Final = "server"
"""The server's fault (unexpected exception, internal JSON-RPC error, timeout): counts against availability."""
ERROR_CLASS_TOOL: Final = "tool"
"""A deliberate tool error: reported and alertable on its own ratio; availability by ``slo.tool_errors``."""
ERROR_CLASS_CLIENT: Final = "client"
"""The caller's fault (invalid params, unknown method/tool/resource, cancellation): never availability."""
ERROR_CLASSES: Final = (ERROR_CLASS_SERVER, ERROR_CLASS_TOOL, ERROR_CLASS_CLIENT)


def error_class(error_type: str) -> str | None:
    """Who is responsible for a request that ended with ``error_type`` (``None``: it succeeded)."""
    if not error_type:
        return None
    if error_type == TOOL_ERROR:
        return ERROR_CLASS_TOOL
    if error_type in CLIENT_ERROR_TYPES:
        return ERROR_CLASS_CLIENT
    return ERROR_CLASS_SERVER


# ---------------------------------------------------------------- buckets
# The convention's boundaries (0.01 ... 300 s) plus finer ones below 100 ms, because the
# p99 < 100 ms policy needs resolution there.
CONVENTION_BUCKETS: Final = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
OPERATION_BUCKETS: Final = tuple(sorted({0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.025, 0.075, *CONVENTION_BUCKETS}))
SESSION_BUCKETS: Final = (*CONVENTION_BUCKETS, 600.0, 1800.0, 3600.0)

# ---------------------------------------------------------------- instrumentation (in-process)
OPERATION_DURATION: Final = MetricSpec(
    "mcp_server_operation_duration_seconds",
    Kind.HISTOGRAM,
    "Duration of MCP requests handled by the server (OTel MCP semantic conventions).",
    (MCP_METHOD, TOOL_NAME, PROMPT_NAME, ERROR_TYPE, PROTOCOL_VERSION, NETWORK_TRANSPORT),
    unit="s",
    buckets=OPERATION_BUCKETS,
    why="Request rate, error ratio and latency per method/tool: the basis of every SLI.",
)
OPERATION_ERRORS: Final = MetricSpec(
    "lookout_mcp_operation_errors",
    Kind.COUNTER,
    "Failed MCP requests by who is responsible (server, tool, client); primed at zero per method and tool.",
    (MCP_METHOD, TOOL_NAME, ERROR_CLASS),
    why=(
        "Every series an alert reads sees its first failure: an exception class seen for the first time creates"
        " a new error_type series at 1, which rate() cannot see; this family exists at 0 before any failure."
    ),
)
SESSION_DURATION: Final = MetricSpec(
    "mcp_server_session_duration_seconds",
    Kind.HISTOGRAM,
    "Duration of MCP sessions (sessionful protocol revisions and transports).",
    (PROTOCOL_VERSION, NETWORK_TRANSPORT, ERROR_TYPE),
    unit="s",
    buckets=SESSION_BUCKETS,
    why="How long clients stay connected; sessions that end with an error.",
)
SESSIONS_ACTIVE: Final = MetricSpec(
    "lookout_mcp_sessions_active",
    Kind.GAUGE,
    "MCP sessions currently open.",
    (NETWORK_TRANSPORT,),
    why="Session leaks (rising while traffic is flat) and per-replica load.",
)
REQUESTS_IN_FLIGHT: Final = MetricSpec(
    "lookout_mcp_requests_in_flight",
    Kind.GAUGE,
    "MCP requests being handled right now (the queue depth).",
    (MCP_METHOD,),
    why="Saturation: in-flight requests approaching the configured concurrency limit.",
)
REQUESTS_IN_FLIGHT_LIMIT: Final = MetricSpec(
    "lookout_mcp_requests_in_flight_limit",
    Kind.GAUGE,
    "Configured limit of concurrent MCP requests (0 when unlimited).",
    why="Denominator of the in-flight saturation ratio.",
)
REGISTRY_ITEMS: Final = MetricSpec(
    "lookout_mcp_registry_items",
    Kind.GAUGE,
    "Tools, resources, resource templates and prompts registered on the server.",
    (REGISTRY_KIND,),
    why="The registry metrics: what the server offers right now.",
)
REGISTRY_CHANGES: Final = MetricSpec(
    "lookout_mcp_registry_changes",
    Kind.COUNTER,
    "Changes to the server's registry (items added or removed).",
    (REGISTRY_KIND,),
    why="Registry churn; tool-definition changes at runtime are a security signal.",
)
TRANSPORT_MESSAGES: Final = MetricSpec(
    "lookout_mcp_transport_messages",
    Kind.COUNTER,
    "JSON-RPC messages through the transport.",
    (MCP_TRANSPORT, DIRECTION),
    why="Transport throughput, including notifications that never become operations.",
)
TRANSPORT_BYTES: Final = MetricSpec(
    "lookout_mcp_transport_bytes",
    Kind.COUNTER,
    "Bytes through the transport.",
    (MCP_TRANSPORT, DIRECTION),
    unit="By",
    why="Payload volume per transport; large responses explain latency.",
)
TRANSPORT_ERRORS: Final = MetricSpec(
    "lookout_mcp_transport_errors",
    Kind.COUNTER,
    "Transport-level failures (malformed messages, broken streams).",
    (MCP_TRANSPORT, ERROR_TYPE),
    why="Failures that never reach a handler and so never appear as operations.",
)
HTTP_RESPONSES: Final = MetricSpec(
    "lookout_mcp_http_responses",
    Kind.COUNTER,
    "HTTP responses of the MCP endpoint by status code (streamable HTTP and SSE).",
    (MCP_TRANSPORT, HTTP_STATUS),
    why="4xx/5xx at the HTTP layer (bad session ids, oversized bodies, auth).",
)
REQUESTS_REJECTED: Final = MetricSpec(
    "lookout_mcp_requests_rejected",
    Kind.COUNTER,
    "Requests the server refused before handling them (rate limit, concurrency limit, draining).",
    (REASON,),
    why="Load shedding is an error the client sees; it must be visible.",
)
TELEMETRY_DROPPED: Final = MetricSpec(
    "lookout_telemetry_dropped",
    Kind.COUNTER,
    "Telemetry Lookout could not deliver (log lines, spans), by signal and reason.",
    (SIGNAL, REASON),
    why="Losing telemetry must never be silent: a dashboard shows it and an alert fires while it happens.",
)
PROCESS_CPU_LIMIT: Final = MetricSpec(
    "lookout_process_cpu_limit_cores",
    Kind.GAUGE,
    "CPU cores this process may use: its cgroup quota, else the host's cores.",
    why="The CPU utilization alert divides by the process's real limit where it is known.",
)
PROCESS_MEMORY_LIMIT: Final = MetricSpec(
    "lookout_process_memory_limit_bytes",
    Kind.GAUGE,
    "Memory this process may use (its cgroup limit); absent when unlimited.",
    unit="By",
    why="The memory utilization and forecast alerts divide by the process's real limit where it is known.",
)
SERVER_INFO: Final = MetricSpec(
    "lookout_mcp_server",
    Kind.INFO,
    "Static facts about the instrumented server.",
    (SERVER_LOOKOUT_VERSION, SERVER_SDK, SERVER_SDK_VERSION, SERVER_NAME, SERVER_VERSION),
    why="Joins versions onto any series; shows rollouts.",
)

# ---------------------------------------------------------------- health (management app)
HEALTH_CHECK_STATUS: Final = MetricSpec(
    "lookout_health_check_status",
    Kind.GAUGE,
    "Result of the last run of a health check (1 healthy, 0.5 degraded, 0 unhealthy).",
    (CHECK,),
    source=Source.HEALTH,
    why="Health is visible in Prometheus, not only to the kubelet.",
)

# ---------------------------------------------------------------- prober (/probe of the exporter)
PROBE_SUCCESS: Final = MetricSpec(
    "probe_success", Kind.GAUGE, "Whether the probe succeeded (1) or failed (0).", source=Source.PROBER
)
PROBE_DURATION: Final = MetricSpec(
    "probe_duration_seconds", Kind.GAUGE, "Duration of the whole probe.", unit="s", source=Source.PROBER
)
PROBE_PHASE_DURATION: Final = MetricSpec(
    "probe_mcp_phase_duration_seconds",
    Kind.GAUGE,
    "Duration of each probe phase (connect, tls, handshake, list_tools, call, ...).",
    (PHASE,),
    unit="s",
    source=Source.PROBER,
)
PROBE_PROTOCOL_VERSION: Final = MetricSpec(
    "probe_mcp_protocol_version_info",
    Kind.GAUGE,
    "Negotiated MCP protocol revision (value 1).",
    (VERSION,),
    source=Source.PROBER,
)
PROBE_SERVER_INFO: Final = MetricSpec(
    "probe_mcp_server_info",
    Kind.GAUGE,
    "Server name and version reported by the handshake (value 1).",
    (NAME, VERSION),
    source=Source.PROBER,
)
PROBE_TOOLS: Final = MetricSpec("probe_mcp_tools", Kind.GAUGE, "Number of tools listed.", source=Source.PROBER)
PROBE_TOOLS_HASH: Final = MetricSpec(
    "probe_mcp_tools_hash",
    Kind.GAUGE,
    "48-bit hash of the sorted tool names, descriptions and schemas; changes() detects drift.",
    source=Source.PROBER,
)


def tools_hash_text(value: float) -> str:
    """A ``probe_mcp_tools_hash`` value as every Lookout surface prints it (``lookout probe``, the console), so
    a hash seen in one can be found in the other: 48 bits in hex, ``0x5b5b8f4d39f1``."""
    return f"{int(value):#014x}"


PROBE_TOOLS_DEFINITION_BYTES: Final = MetricSpec(
    "probe_mcp_tools_definition_bytes",
    Kind.GAUGE,
    "Bytes of all tool definitions (name, description, input and output schema as compact JSON) that a client "
    "loads into every model context (discover modules).",
    unit="By",
    source=Source.PROBER,
    why="A server's context cost per request, paid whether its tools are called or not; no client reports it.",
)
PROBE_TOOLS_DEFINITION_TOKENS: Final = MetricSpec(
    "probe_mcp_tools_definition_tokens_estimate",
    Kind.GAUGE,
    "Estimated model tokens of all tool definitions (offline byte-pair estimate, within a few percent of "
    "o200k_base; discover modules).",
    source=Source.PROBER,
    why="Context budgets are counted in tokens; MCPToolDefinitionsFootprintHigh compares against one.",
)
PROBE_TOOL_DEFINITION_BYTES: Final = MetricSpec(
    "probe_mcp_tool_definition_bytes",
    Kind.GAUGE,
    "Bytes of one tool's definition; the tools beyond the module's max_tool_series largest are summed under "
    f"{OTHER} (discover modules).",
    (TOOL_NAME,),
    unit="By",
    source=Source.PROBER,
    why="Which tools to shorten when a server's footprint is too large.",
)
PROBE_JSONRPC_ERROR: Final = MetricSpec(
    "probe_mcp_jsonrpc_error_code",
    Kind.GAUGE,
    "JSON-RPC error code of the failing response, when the server answered with an error.",
    source=Source.PROBER,
)
PROBE_HTTP_STATUS: Final = MetricSpec(
    "probe_http_status_code", Kind.GAUGE, "HTTP status of the last response.", source=Source.PROBER
)
PROBE_SSL_EXPIRY: Final = MetricSpec(
    "probe_ssl_earliest_cert_expiry",
    Kind.GAUGE,
    "Expiry of the server's own (leaf) certificate, as a Unix timestamp; intermediates are not read.",
    unit="s",
    source=Source.PROBER,
)

# ---------------------------------------------------------------- exporter self-metrics
EXPORTER_PROBES: Final = MetricSpec(
    "lookout_exporter_probes",
    Kind.COUNTER,
    "Probes run by the exporter.",
    (MODULE, RESULT),
    source=Source.EXPORTER_SELF,
)
EXPORTER_CONFIG_RELOADS: Final = MetricSpec(
    "lookout_exporter_config_reloads",
    Kind.COUNTER,
    "Configuration reloads of the exporter.",
    (RESULT,),
    source=Source.EXPORTER_SELF,
)

# ---------------------------------------------------------------- benchmarks (pushed to the Pushgateway)
BENCH_THROUGHPUT: Final = MetricSpec(
    "lookout_bench_throughput_rps",
    Kind.GAUGE,
    "Throughput of the last benchmark run (successful requests per second).",
    (TARGET, SCENARIO),
    source=Source.BENCH,
)
BENCH_LATENCY: Final = MetricSpec(
    "lookout_bench_latency_seconds",
    Kind.GAUGE,
    "Latency quantiles of the last benchmark run.",
    (TARGET, SCENARIO, QUANTILE),
    unit="s",
    source=Source.BENCH,
)
BENCH_ERROR_RATIO: Final = MetricSpec(
    "lookout_bench_error_ratio",
    Kind.GAUGE,
    "Share of failed requests in the last benchmark run.",
    (TARGET, SCENARIO),
    source=Source.BENCH,
)
BENCH_CAPACITY: Final = MetricSpec(
    "lookout_bench_capacity_rps",
    Kind.GAUGE,
    "Measured capacity of one replica (requests per second at the latency policy).",
    (TARGET,),
    source=Source.BENCH,
)

ALL: Final[tuple[MetricSpec, ...]] = tuple(v for v in list(globals().values()) if isinstance(v, MetricSpec))

CONVENTION: Final[tuple[MetricSpec, ...]] = (OPERATION_DURATION, SESSION_DURATION)
"""The families of the OpenTelemetry MCP semantic conventions: what a server in any language may export through its
OpenTelemetry SDK. Every other family of :data:`ALL` is a Lookout extension, exported only by Lookout's
instrumentation, prober, exporter, health app or ``lookout bench``."""


def spec_of(series_name: str) -> MetricSpec | None:
    """The family of Lookout's contract that exposes ``series_name`` (None: not one of Lookout's families)."""
    return next((spec for spec in ALL if series_name in spec.series_names), None)


def is_extension(series_name: str) -> bool:
    """True if ``series_name`` belongs to a Lookout extension family, which no OpenTelemetry-convention server
    exports; third-party series (``up``, ``process_*`` ...) and the convention's own are not extensions."""
    spec = spec_of(series_name)
    return spec is not None and spec not in CONVENTION


@dataclass(frozen=True)
class ThirdParty:
    """Metric families emitted by software the stack deploys (so rules may query them)."""

    emitter: str
    prefixes: tuple[str, ...] = ()
    names: tuple[str, ...] = field(default=())


THIRD_PARTY: Final = (
    ThirdParty("prometheus (scrape)", names=("up", "scrape_duration_seconds", "scrape_samples_scraped")),
    ThirdParty("prometheus (rules)", names=("ALERTS", "ALERTS_FOR_STATE")),
    ThirdParty("prometheus", prefixes=("prometheus_",)),
    ThirdParty("alertmanager", prefixes=("alertmanager_",)),
    ThirdParty("prometheus_client process/platform collectors", prefixes=("process_", "python_")),
    ThirdParty("node-exporter", prefixes=("node_",)),
    ThirdParty("pushgateway", names=("push_time_seconds", "push_failure_time_seconds")),
)

# Series of the deployed third-party software that `lookout report` reads.
ALERTS: Final = "ALERTS"
"""Prometheus' own series of pending and firing alerts (labels: alertname, alertstate and the alert's labels)."""
PROMETHEUS_SAMPLES_APPENDED: Final = "prometheus_tsdb_head_samples_appended_total"
PROMETHEUS_BLOCKS_BYTES: Final = "prometheus_tsdb_storage_blocks_bytes"
PROMETHEUS_WAL_BYTES: Final = "prometheus_tsdb_wal_storage_size_bytes"
PROMETHEUS_HEAD_SERIES: Final = "prometheus_tsdb_head_series"
"""Series in the TSDB head: what the cost report's active-series count is checked against."""


def emitted_series_names() -> frozenset[str]:
    """Every series name a Lookout component exposes."""
    return frozenset(n for spec in ALL for n in spec.series_names)


def is_known(series_name: str) -> bool:
    """True if Lookout or a deployed third-party component emits ``series_name``."""
    if series_name in emitted_series_names():
        return True
    return any(series_name in tp.names or any(series_name.startswith(p) for p in tp.prefixes) for tp in THIRD_PARTY)
