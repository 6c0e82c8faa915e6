"""The option objects of :func:`~lookout.instrument.instrument`: one frozen value per concern.

Grouping the options keeps the call short for the common case (``instrument(server, service="search")``)
and lets an application build its settings once and pass them around (they are immutable and compare by
value).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from lookout.instrument.spans import DEFAULT_SLOW_SECONDS, DEFAULT_TARGET_PER_SECOND
from lookout.protocol import Transport

if TYPE_CHECKING:  # the OpenTelemetry SDK is loaded only where tracing is set up
    from lookout.instrument.tracing import TracingSetup


def _names(values: Collection[str], option: str) -> tuple[str, ...]:
    """A tuple, so an option object stays hashable whatever collection the caller passed. A bare string is
    refused: it is a collection of its letters, and a name spelled out letter by letter matches nothing."""
    if isinstance(values, str) or not isinstance(values, Collection):
        raise TypeError(f"{option} must be a collection of names, not {type(values).__name__}: e.g. [{values!r}]")
    names = tuple(values)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{option} must hold names (str), not {type(name).__name__}: {name!r}")
    return names


def _count(value: object, option: str, minimum: int) -> None:
    """Refuse what is not an int of at least ``minimum`` (a string read from the environment, a negative)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{option} must be an int, not {type(value).__name__}: {value!r}")
    if value < minimum:
        raise ValueError(f"{option} must be at least {minimum}, not {value}")


def _positive(value: object, option: str) -> None:
    """Refuse what is not a number above zero (a string read from the environment, a negative, NaN); infinity
    is allowed (no budget, never slow)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{option} must be a number, not {type(value).__name__}: {value!r}")
    if not value > 0:  # NaN too
        raise ValueError(f"{option} must be above 0, not {value}")


def check_otlp_endpoint(url: str, option: str) -> None:
    """Refuse an endpoint every export would fail on (``collector:4318``, without a scheme): one error where it is
    given, not every span lost and counted later."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{option} must be an http:// or https:// URL, not {url!r}: e.g. http://collector:4318/v1/traces"
        )


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Load limits of the instrumented server.

    - ``max_in_flight``: concurrency limit; requests beyond it are rejected (JSON-RPC -32000) and
      counted. 0 means unlimited.
    - ``memory_bytes``: the memory limit the built-in ``memory`` health check compares the process's
      resident memory with (default: the process's cgroup limit, none if unlimited).

    Values of the wrong type or out of range (a negative, a string) are a ``TypeError``/``ValueError`` naming
    the option, as for :class:`Metrics`, :class:`Logs` and :class:`Audit` (a bare string for a list of names).
    """

    max_in_flight: int = 0
    memory_bytes: int | None = None

    def __post_init__(self) -> None:
        _count(self.max_in_flight, "Limits(max_in_flight=...)", 0)
        if self.memory_bytes is not None:
            _count(self.memory_bytes, "Limits(memory_bytes=...)", 1)


@dataclass(frozen=True, kw_only=True)
class Metrics:
    """What the metrics cover.

    - ``tools``/``prompts``: names to accept as label values up front (lowlevel ``Server``: the names
      the server lists are learned; ``MCPServer`` and FastMCP are read from the server itself).
    - ``pipe_transport``: ``mcp_transport`` label for non-HTTP connections (``stdio``; the in-memory
      streams of tests cannot be told apart from stdio).
    - ``process``: add prometheus_client's process, platform and GC collectors (``process_*``,
      ``python_*``: memory, CPU, file descriptors) to the registry unless it has them already, and the
      process's CPU and memory limits from its cgroup (``lookout_process_*_limit_*``).
    """

    tools: Collection[str] = field(default=())
    prompts: Collection[str] = field(default=())
    pipe_transport: str = Transport.STDIO.value
    process: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "tools", _names(self.tools, "Metrics(tools=...)"))
        object.__setattr__(self, "prompts", _names(self.prompts, "Metrics(prompts=...)"))


@dataclass(frozen=True, kw_only=True)
class Tracing:
    """Spans.

    By default Lookout only enriches the SERVER span of whatever tracer provider the application
    installed (``enrich_spans``). With ``export`` (or an ``otlp_endpoint``) it sets up the OpenTelemetry
    SDK itself: the adaptive sampler (``traces_per_second``), keeping every error and every request
    slower than ``slow_request_seconds``, and OTLP/HTTP export to ``otlp_endpoint`` (default: the
    ``OTEL_EXPORTER_OTLP_*`` variables). ``setup`` hands over the result of the application's own
    :func:`~lookout.instrument.configure_tracing` call instead.
    """

    export: bool = False
    otlp_endpoint: str | None = None
    traces_per_second: float = DEFAULT_TARGET_PER_SECOND
    slow_request_seconds: float = DEFAULT_SLOW_SECONDS
    enrich_spans: bool = True
    setup: TracingSetup | None = None

    def __post_init__(self) -> None:
        _positive(self.traces_per_second, "Tracing(traces_per_second=...)")
        _positive(self.slow_request_seconds, "Tracing(slow_request_seconds=...)")
        if self.otlp_endpoint is not None:
            check_otlp_endpoint(self.otlp_endpoint, "Tracing(otlp_endpoint=...)")


@dataclass(frozen=True, kw_only=True)
class Logs:
    """Logs.

    - ``json``: JSON lines on stderr (the root logger; see
      :func:`~lookout.instrument.configure_json_logging`) plus the access log.
    - ``access_log``: one ``lookout.access`` record per request through whatever logging the
      application configured (default: on with ``json``).
    - ``arguments_for``: names of the tools whose arguments and results the access log may contain
      (none by default: tool arguments and results stay out of telemetry).
    - ``access_sample``: 1 (the default) writes a line for every request. N > 1 writes every failed request
      and every one slower than ``Tracing(slow_request_seconds=...)``, but only one in N of the fast
      successful ones, each carrying ``"access_sample": N``: a trade of log completeness for CPU on busy
      servers (the metrics still count every request).
    """

    json: bool = False
    access_log: bool | None = None
    arguments_for: Collection[str] = field(default=())
    access_sample: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "arguments_for", _names(self.arguments_for, "Logs(arguments_for=...)"))
        _count(self.access_sample, "Logs(access_sample=...)", 1)

    @property
    def writes_access_log(self) -> bool:
        """Whether the access log is on (explicitly, or with ``json``)."""
        return self.json if self.access_log is None else self.access_log


@dataclass(frozen=True, kw_only=True)
class Audit:
    """The audit trail of tool calls (docs/security.md).

    - ``path``: the JSON-lines file that gets one record per ``tools/call`` (time, tenant, service, tool,
      outcome, duration, trace id, ``enduser.id`` when the transport authenticated the caller); None (the
      default) writes none. Alloy ships the files under ``security.audit.files`` as their own stream.
    - ``arguments_for``: names of the tools whose arguments the record may carry (none by default).
    """

    path: str | None = None
    arguments_for: Collection[str] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "arguments_for", _names(self.arguments_for, "Audit(arguments_for=...)"))
