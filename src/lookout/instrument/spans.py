"""The request span, with the OpenTelemetry API only: what Lookout adds to the SERVER span the framework opens,
the trace id of a sampled span (exemplars), and keeping the span of an unsampled request that failed or ran
slow.

Nothing here imports the OpenTelemetry SDK: a server instrumented without tracing of its own (metrics, or
spans through a provider the application installed) never loads it. Setting up the SDK is
:mod:`lookout.instrument.tracing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import StatusCode

from lookout import metrics as m

DEFAULT_SLOW_SECONDS = 1.0
"""A request at least this slow keeps its span beyond the sampling budget."""
DEFAULT_TARGET_PER_SECOND = 10.0
"""Traces the adaptive sampler keeps per second by default."""
KEEP_ATTRIBUTE = "lookout.kept"
"""Set (to ``error`` or ``slow``) on a span Lookout reconstructed for an unsampled request; the adaptive
sampler always samples such a span and does not count it against the budget."""
ERROR_TYPE_ATTRIBUTE = "lookout.error_type"
"""Lookout's ``error_type`` of a failed request (as in the metrics and exemplars) on its span: the SDK's
``error.type`` says ``tool_error`` for every ``isError`` result, a crash inside the tool included."""
ROOT_SAMPLED: ContextVar[list[bool] | None] = ContextVar("lookout_root_sampled", default=None)
"""Holds ``[True]`` while a request whose root the adaptive sampler already chose to sample (and counted) enters
the framework's span: the sampler's next root decision in that context is this one, taken once."""
KEPT_SPAN_IDS: ContextVar[trace.SpanContext | None] = ContextVar("lookout_kept_span_ids", default=None)
"""Set while :class:`SpanKeeper` starts a span: the ids of the request's unsampled span, which the id generator of
:func:`lookout.instrument.tracing.configure_tracing`'s provider hands out instead of new ones."""
ENDUSER_ID = "enduser.id"
"""OpenTelemetry's attribute for the authenticated caller, on the request span and in the audit record."""


def enrich_span(
    span: trace.Span,
    network_transport: str,
    session_id: str | None,
    scope: Mapping[str, Any] | None,
    principal: str | None = None,
) -> None:
    """Add the attributes the framework's SERVER span lacks (no-op on a non-recording span)."""
    attributes: dict[str, Any] = {"network.transport": network_transport}
    if session_id:
        attributes["mcp.session.id"] = session_id
    if scope is not None:
        attributes["network.protocol.name"] = "http"
        server = scope.get("server")
        if server and server[0]:
            attributes["server.address"] = server[0]
            if server[1] is not None:
                attributes["server.port"] = int(server[1])
        client = scope.get("client")
        if client and client[0]:
            attributes["client.address"] = client[0]
    if principal:
        attributes[ENDUSER_ID] = principal
    span.set_attributes(attributes)


def guard_span_name(span: trace.Span, method: str) -> None:
    """A request naming a tool or prompt the server does not have: its span carries ``_OTHER`` in the name and
    ``gen_ai.*.name`` in the place of the client's text (anything: a pasted secret, a new Jaeger operation per
    call), as the metrics, logs and kept spans do."""
    span.update_name(f"{method} {m.OTHER}")
    span.set_attribute("gen_ai.tool.name" if method == "tools/call" else "gen_ai.prompt.name", m.OTHER)


def sampled_trace_id(span: trace.Span) -> str | None:
    """The span's trace id as 32 hex digits when it is sampled (an exemplar), else None."""
    ctx = span.get_span_context()
    if ctx.trace_flags.sampled and ctx.is_valid:
        return format(ctx.trace_id, "032x")
    return None


class SpanKeeper:
    """Keeps error and slow requests that the head sampler dropped, at the cost of those requests only.

    An unsampled request's SERVER span is a cheap non-recording span. When such a request ends with an
    error or lasts at least ``slow_seconds``, the middleware calls :meth:`keep`, which records the span
    after the fact with the request's real start and end times, its attributes and error status, under
    the caller's trace context when there is one. What the reconstruction cannot have: child spans and
    events made inside the request (they were not recorded). Fast, successful requests cost nothing.
    """

    def __init__(self, tracer: trace.Tracer, slow_seconds: float = DEFAULT_SLOW_SECONDS) -> None:
        self.tracer = tracer
        self.slow_seconds = slow_seconds
        self.kept = {"error": 0, "slow": 0}

    def keep(
        self,
        name: str,
        parent: Context | None,
        attributes: dict[str, Any],
        start_ns: int,
        end_ns: int,
        error_type: str,
        unsampled: trace.SpanContext | None = None,
    ) -> trace.SpanContext:
        """Record the span; ``unsampled`` is the context of the request's own (unsampled) span, whose ids it takes."""
        reason = "error" if error_type else "slow"
        self.kept[reason] += 1
        attributes[KEEP_ATTRIBUTE] = reason
        if error_type:
            attributes.setdefault("error.type", error_type)  # the caller's when the framework's span would differ
            attributes[ERROR_TYPE_ATTRIBUTE] = error_type
        # The kept span takes the ids of the request's unsampled span, which the request's log lines, audit record
        # and outbound calls already carry; without the caller's context it is the trace's root (a child of the
        # unsampled span would point at a parent no trace store ever receives).
        token = KEPT_SPAN_IDS.set(unsampled) if unsampled is not None and unsampled.is_valid else None
        try:
            span = self.tracer.start_span(
                name,
                context=parent if parent is not None or token is None else Context(),
                kind=trace.SpanKind.SERVER,
                attributes=attributes,
                start_time=start_ns,
            )
        finally:
            if token is not None:
                KEPT_SPAN_IDS.reset(token)
        if error_type:
            span.set_status(trace.Status(StatusCode.ERROR))
        span.end(end_time=end_ns)
        return span.get_span_context()
