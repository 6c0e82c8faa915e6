"""The current OpenTelemetry span in one lookup: the request path and the sampler ask for it on every request."""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry import trace

INVALID_SPAN = trace.INVALID_SPAN
"""What :func:`current_span` answers outside any span (e.g. no tracer provider installed)."""


def _current_span_reader() -> Callable[[], trace.Span]:
    """``trace.get_current_span`` as one context-variable read and one dict lookup, where OpenTelemetry keeps
    its context in a context variable (its default runtime context); else ``trace.get_current_span`` itself.
    The request path asks for the current span on every request; the API's chain of calls costs several
    times the lookup. A test pins the private names this reads."""
    from opentelemetry import context as otel_context
    from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
    from opentelemetry.trace.propagation import _SPAN_KEY

    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    variable = getattr(runtime, "_current_context", None)
    if type(runtime) is not ContextVarsRuntimeContext or variable is None:
        return trace.get_current_span
    get = variable.get

    def read() -> trace.Span:
        span = get().get(_SPAN_KEY)
        return INVALID_SPAN if span is None else span

    return read


current_span = _current_span_reader()
"""The current span, else :data:`INVALID_SPAN` (what ``trace.get_current_span()`` answers)."""

__all__ = ["INVALID_SPAN", "current_span"]
