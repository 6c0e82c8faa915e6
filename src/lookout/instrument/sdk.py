"""The MCP SDK 2.x integration: one context-tier middleware on ``Server.middleware`` (``MCPServer``
shares the lowlevel server's list).

The middleware takes the place of the SDK's ``OpenTelemetryMiddleware`` and runs it around itself whenever it
makes a span (:class:`LookoutMiddleware`), so it records inside the SDK's SERVER span (enriching it, and taking the
exemplar's trace id from it) and outside everything else - initialize, lookup, params validation and the handler
all happen within ``call_next``.

``MCPServer`` answers every exception a tool raises with an ``isError`` result, so the middleware alone cannot
tell a crash from a deliberate ``ToolError``; :func:`wrap_call_tool` notes the exception at the server's
``call_tool`` (the narrowest seam the SDK calls by attribute) in a per-request context variable first.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple, Protocol

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedResourceError, UnexpectedToolError
from mcp.shared import _otel as _sdk_otel
from mcp.shared._otel import extract_trace_context
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import NoOpTracer, ProxyTracer
from pydantic import ValidationError

from lookout import metrics as m
from lookout.instrument import json_logs
from lookout.instrument.audit import AuditTrail, principal_of
from lookout.instrument.current_span import INVALID_SPAN, current_span
from lookout.instrument.json_logs import CURRENT_REQUEST, AccessLog
from lookout.instrument.recorder import MCP_METHODS, RequestRecorder, guard_version
from lookout.instrument.spans import (
    ERROR_TYPE_ATTRIBUTE,
    ROOT_SAMPLED,
    SpanKeeper,
    enrich_span,
    guard_span_name,
    sampled_trace_id,
)
from lookout.protocol import Transport

logger = logging.getLogger(__name__)

OVERLOADED = -32000
INVALID_PARAMS = str(-32602)
UNKNOWN_TOOL = INVALID_PARAMS
"""``error_type`` of a call to a tool the server does not have: the MCP specification answers an unknown tool
with -32602 (invalid params), and so does Lookout, whichever way the framework reports it."""

TOOL_FAILURE: ContextVar[list[str] | None] = ContextVar("lookout_tool_failure", default=None)
"""Per ``tools/call``: the ``error_type`` of the exception the framework turned into an ``isError`` result,
noted at the framework's seam before the conversion hides it (empty: the tool returned ``isError`` itself)."""

_NAMED_METHODS = frozenset(("tools/call", "prompts/get"))

# network_transport values (OpenTelemetry network.transport) and mcp_transport values.
PIPE, TCP, INPROC = "pipe", "tcp", "inproc"
STDIO, STREAMABLE_HTTP, SSE = Transport.STDIO.value, Transport.STREAMABLE_HTTP.value, Transport.SSE.value


def classify_exception(exc: BaseException) -> str:
    """``error_type`` of a failed request: the JSON-RPC code, else the exception class name."""
    if isinstance(exc, MCPError):
        return str(exc.error.code)
    if isinstance(exc, ValidationError):  # the SDK answers malformed params with INVALID_PARAMS
        return INVALID_PARAMS
    return type(exc).__qualname__


def tool_exception_type(exc: BaseException, known_tool: bool) -> str:
    """``error_type`` of an exception ``MCPServer.call_tool`` raised (the SDK answers it with ``isError``).

    ``UnexpectedToolError`` wraps a crash (its ``__cause__``, possibly through the wrappers of a nested tool or
    resource): the crash's class, the server's fault. A ``ToolError`` caused by a pydantic ``ValidationError``
    is arguments failing the input schema, and one for a tool the server does not have is an unknown tool:
    both the caller's fault (-32602). Any other ``ToolError`` (or ``ResourceError``) was raised on purpose."""
    if isinstance(exc, UnexpectedToolError | UnexpectedResourceError):
        cause: BaseException = exc
        while isinstance(cause, UnexpectedToolError | UnexpectedResourceError) and cause.__cause__ is not None:
            cause = cause.__cause__
        return type(cause).__qualname__
    if isinstance(exc, ToolError):
        if isinstance(exc.__cause__, ValidationError):
            return INVALID_PARAMS
        return m.TOOL_ERROR if known_tool else UNKNOWN_TOOL
    return classify_exception(exc)


def raised_by(exc: BaseException, code: Any) -> bool:
    """Whether ``exc`` was raised in the function whose code object is ``code`` (its innermost frame)."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code is code


@functools.cache
def _prompt_frames() -> tuple[Any, Any]:
    """The code of ``Prompt.render`` and of ``MCPServer.get_prompt``."""
    import inspect

    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.prompts.base import Prompt

    return inspect.unwrap(Prompt.render).__code__, inspect.unwrap(MCPServer.get_prompt).__code__


def prompt_exception_type(exc: BaseException, known_prompt: bool) -> str:
    """``error_type`` of an exception a ``prompts/get`` raised.

    ``MCPServer.get_prompt`` re-raises everything as a plain ``ValueError`` (the original as ``__cause__``):
    an unknown prompt and a missing required argument are the caller's fault (-32602, as FastMCP answers
    them); a prompt that fails while rendering keeps the class name. A missing argument is told from a failing
    render by where its ``ValueError`` was raised: in ``Prompt.render`` itself, caused by nothing."""
    render, get_prompt = _prompt_frames()
    if isinstance(exc, ValueError) and raised_by(exc, get_prompt):
        cause = exc.__cause__
        if not known_prompt or (isinstance(cause, ValueError) and cause.__cause__ is None and raised_by(cause, render)):
            return INVALID_PARAMS
    return classify_exception(exc)


def is_tool_error(result: Any) -> bool:
    """A ``tools/call`` result that reaches the wire with ``isError: true``."""
    if type(result) is dict:  # what the SDK's handlers return at the middleware seam; no ABC check needed
        return result.get("isError") is True
    if isinstance(result, CallToolResult):
        return result.is_error is True
    return isinstance(result, Mapping) and result.get("isError") is True


def transport_of(ctx: ServerRequestContext[Any, Any]) -> tuple[str, str, Mapping[str, Any] | None]:
    """(network_transport, mcp_transport, ASGI scope or None) of the message ``ctx`` carries."""
    request = ctx.request
    scope = getattr(request, "scope", None)
    if scope is not None:
        # The SSE transport posts messages with ?session_id=...; streamable HTTP uses a header.
        query = scope.get("query_string", b"")
        # find, not `in`: `bytes in bytes` first tries the operand as an integer and raises inside.
        return TCP, (SSE if query.find(b"session_id=") != -1 else STREAMABLE_HTTP), scope
    outbound = getattr(ctx.session, "_request_outbound", None)
    kind = getattr(getattr(outbound, "transport", None), "kind", "")
    if kind == "direct":
        return INPROC, INPROC, None
    return PIPE, STDIO, None


class IdGenerator(Protocol):
    """The OpenTelemetry SDK's id generator (``TracerProvider.id_generator``), as this module uses it."""

    def generate_trace_id(self) -> int: ...

    def generate_span_id(self) -> int: ...


SdkMiddleware = Callable[[ServerRequestContext[Any, Any], CallNext], Awaitable[HandlerResult]]
"""A context-tier middleware of the SDK (``Server.middleware``)."""


class RootSpans(NamedTuple):
    """What Lookout needs to decide a request's root span before the SDK's span machinery: its adaptive
    sampler's decision and the global tracer provider's id generator
    (:meth:`lookout.instrument.tracing.TracingSetup.decides_roots`)."""

    sample_root: Callable[[], bool]
    id_generator: IdGenerator


class LookoutMiddleware:
    """Records each inbound message; see the module docstring for where it sits.

    It takes the place of the SDK's span middleware (:func:`take_span_slot`) and runs it only when it would
    make a span: for a request carrying a caller's trace context or running inside a span, and, without
    Lookout's sampler, whenever a tracer provider is installed. Otherwise the SDK's span middleware changes
    nothing for the request (OpenTelemetry's no-op tracer), yet costs a few percent of a request's CPU over
    streamable HTTP (docs/performance.md), so it is left out. With Lookout's adaptive sampler (``roots``), a
    request that starts a trace is decided here: a sampled one gets the SDK's span (the decision handed to the
    sampler through ``ROOT_SAMPLED``), and one the sampler drops - nearly every request under load - runs
    inside what the SDK would have made of it, a non-recording span with fresh ids from the provider's id
    generator (its trace id reaches the tool's outbound calls, log lines and the audit record). ``_meta``
    without a field the global propagator reads does not count as trace context: clients of the 2026-07-28
    revision send their protocol version and identity there on every request."""

    def __init__(
        self,
        recorder: RequestRecorder,
        *,
        access_log: AccessLog | None = None,
        enrich_spans: bool = True,
        pipe_transport: str = STDIO,
        keeper: SpanKeeper | None = None,
        audit: AuditTrail | None = None,
        roots: RootSpans | None = None,
    ) -> None:
        self.recorder = recorder
        self.audit = audit
        self.access_log = access_log
        self.enrich_spans = enrich_spans
        self.pipe_transport = pipe_transport
        self.keeper = keeper
        self.roots = roots
        self.span_middleware: SdkMiddleware | None = None
        """The SDK's span middleware whose place this one took (:func:`take_span_slot`)."""
        self._sdk_spans_live = False
        fields = propagate.get_global_textmap().fields
        # A propagator that names no fields: any _meta may carry a caller's context.
        self._context_fields: frozenset[str] | None = frozenset(fields) if fields else None

    def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> Awaitable[HandlerResult]:
        # Not a coroutine: it hands the SDK's chain the one coroutine that records the request (or the SDK's
        # span middleware around it), so Lookout adds no link to the chain.
        span_middleware = self.span_middleware
        if span_middleware is None:
            return self._observe(ctx, call_next)
        meta = ctx.meta  # None for most requests: no call made for them
        if (meta and self._carries_trace_context(meta)) or current_span() is not INVALID_SPAN:
            return span_middleware(ctx, self._inside(call_next))
        roots = self.roots
        if roots is not None:
            if roots.sample_root():
                return self._sampled_root(span_middleware, ctx, call_next)
            ids = roots.id_generator
            span = trace.NonRecordingSpan(
                trace.SpanContext(ids.generate_trace_id(), ids.generate_span_id(), is_remote=False)
            )
            return self._observe(ctx, call_next, span)
        if self._sdk_spans_live or self._sdk_spans_recorded():
            return span_middleware(ctx, self._inside(call_next))
        return self._observe(ctx, call_next)

    def _carries_trace_context(self, meta: Mapping[str, Any]) -> bool:
        fields = self._context_fields
        return fields is None or not fields.isdisjoint(meta)

    def _sdk_spans_recorded(self) -> bool:
        """A tracer provider is installed now (it stays once set: OpenTelemetry sets the global one once)."""
        self._sdk_spans_live = not sdk_spans_are_noop()
        return self._sdk_spans_live

    def _inside(self, call_next: CallNext) -> CallNext:
        """``call_next`` for the SDK's span middleware: the rest of the chain, recorded inside its span."""
        return lambda inner: self._observe(inner, call_next)

    async def _sampled_root(
        self, span_middleware: SdkMiddleware, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        granted = ROOT_SAMPLED.set([True])
        try:
            return await span_middleware(ctx, self._inside(call_next))
        finally:
            ROOT_SAMPLED.reset(granted)

    async def _observe(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext, span: trace.Span | None = None
    ) -> HandlerResult:
        """Record one inbound message; with ``span``, the request runs with it as the current span."""
        attached = otel_context.attach(trace.set_span_in_context(span)) if span is not None else None
        try:
            # Runs for every message: fewer calls here are measurably less CPU per request (docs/performance.md).
            rec = self.recorder
            network, mcp_transport, scope = transport_of(ctx)
            if mcp_transport == STDIO:
                mcp_transport = self.pipe_transport
            if ctx.request_id is None:  # a notification: counted as a message, not an operation
                rec.message(mcp_transport, "in")
                return await call_next(ctx)

            raw_method = ctx.method
            method = raw_method if raw_method in MCP_METHODS else m.OTHER
            params = ctx.params
            target = ""
            tool = m.OTHER if raw_method == "tools/call" else ""  # a call without params names no registered tool
            prompt = ""
            if params is not None and raw_method in _NAMED_METHODS:
                name = params.get("name")
                # The guarded name (``_OTHER`` for one the server does not have) is also the target of the log
                # lines, the audit record and kept spans: a client's text there could be anything (a secret).
                if isinstance(name, str):
                    if raw_method == "tools/call":
                        target = tool = rec.guard_tool(name)
                    else:
                        target = prompt = rec.guard_prompt(name)
                elif raw_method == "prompts/get":
                    prompt = m.OTHER

            span = current_span()
            # The SDK keeps the per-client Connection on the per-request session (private in 2.3); Lookout's
            # tests pin this (sessions are counted from it) so an SDK change is caught.
            connection = getattr(ctx.session, "_connection", None)
            session_id = getattr(connection, "session_id", None)
            if span is not INVALID_SPAN and self.enrich_spans and span.is_recording():
                enrich_span(span, network, session_id, scope, principal_of(scope))

            rec.message(mcp_transport, "in")
            if 0 < rec.max_in_flight <= rec.in_flight_total:  # rec.saturated(), without the call on every request
                rec.reject("concurrency_limit")
                rec.message(mcp_transport, "out")
                rec.observe_operation(
                    method, tool, prompt, str(OVERLOADED), guard_version(ctx.protocol_version), network, 0.0
                )
                raise MCPError(code=OVERLOADED, message="Server overloaded: concurrency limit reached")

            # Only a JSON log handler reads the request's method and target from the context.
            token = CURRENT_REQUEST.set((raw_method, target)) if json_logs.context_wanted else None
            failure: list[str] | None = None
            failure_token = None
            if raw_method == "tools/call":
                failure = []
                failure_token = TOOL_FAILURE.set(failure)
            rec.begin(method)
            error = ""
            result: HandlerResult = None
            start_ns = time.time_ns() if self.keeper is not None else 0
            start = time.perf_counter()
            try:
                result = await call_next(ctx)
                if failure is not None and self.tool_error(result):
                    error = failure[-1] if failure else m.TOOL_ERROR
                return result
            except BaseException as exc:
                try:
                    error = self.classify(raw_method, exc, (tool or prompt) != m.OTHER)
                except Exception:
                    error = type(exc).__qualname__
                raise
            finally:
                elapsed = time.perf_counter() - start
                rec.end(method)
                if failure_token is not None:
                    TOOL_FAILURE.reset(failure_token)
                if token is not None:
                    CURRENT_REQUEST.reset(token)
                try:
                    self._record(
                        ctx, raw_method, method, target, tool, prompt, error, result, elapsed, start_ns,
                        span, connection, session_id, network, mcp_transport, scope,
                    )  # fmt: skip
                except Exception:  # instrumentation must never fail a request
                    logger.exception("lookout: recording %s failed", raw_method)
        finally:
            if attached is not None:
                otel_context.detach(attached)

    def _record(
        self,
        ctx: ServerRequestContext[Any, Any],
        raw_method: str,
        method: str,
        target: str,
        tool: str,
        prompt: str,
        error: str,
        result: HandlerResult,
        elapsed: float,
        start_ns: int,
        span: trace.Span,
        connection: Any,
        session_id: str | None,
        network: str,
        mcp_transport: str,
        scope: Mapping[str, Any] | None,
    ) -> None:
        rec = self.recorder
        rec.message(mcp_transport, "out")
        version = ctx.protocol_version
        if raw_method == "initialize" and not error:
            version = self.negotiated_version(result) or version
            stateless = mcp_transport == STREAMABLE_HTTP and session_id is None
            self._session_started(connection, network, guard_version(version), stateless)
        elif not error and rec.server_registry is not None and raw_method.endswith("/list"):
            self.observe_listing(raw_method, result)
        trace_id = None if span is INVALID_SPAN else sampled_trace_id(span)
        if (error or target == m.OTHER) and self.enrich_spans and span is not INVALID_SPAN and span.is_recording():
            if error:
                span.set_attribute(ERROR_TYPE_ATTRIBUTE, error)
            if target == m.OTHER:  # the framework named its span after the client's text (FastMCP: as it ends)
                guard_span_name(span, raw_method)
        kept: trace.SpanContext | None = None
        keeper = self.keeper
        if (
            keeper is not None
            and trace_id is None
            and (elapsed >= keeper.slow_seconds or (error and error not in m.CLIENT_ERROR_TYPES))
        ):
            answered = result is not None and self.tool_error(result)  # an isError result, not an exception
            kept = self._keep(
                ctx, keeper, raw_method, target, version, network, session_id, scope, start_ns, error, span, answered
            )
            trace_id = format(kept.trace_id, "032x")
        rec.observe_operation(method, tool, prompt, error, guard_version(version), network, elapsed, trace_id)
        access = self.access_log
        if access is not None and access.wanted(error, elapsed) and access.enabled():
            arguments = ctx.params.get("arguments") if ctx.params is not None else None
            access.emit(raw_method, target, elapsed, error, arguments=arguments, result=result, kept=kept, span=span)
        if self.audit is not None and raw_method == "tools/call":
            self.audit.record(
                target,
                error,
                elapsed,
                trace_id=trace_id or _current_trace_id(span),
                principal=principal_of(scope),  # only here and in kept spans: most requests never need it
                arguments=ctx.params.get("arguments") if ctx.params is not None else None,
            )

    def _keep(
        self,
        ctx: ServerRequestContext[Any, Any],
        keeper: SpanKeeper,
        method: str,
        target: str,
        version: str,
        network: str,
        session_id: str | None,
        scope: Mapping[str, Any] | None,
        start_ns: int,
        error: str,
        span: trace.Span,
        answered_is_error: bool,
    ) -> trace.SpanContext:
        """Record the SERVER span of an unsampled request that failed or ran slow (same attributes as
        the SDK's span plus Lookout's enrichment)."""
        attributes: dict[str, Any] = {"mcp.method.name": method, "mcp.protocol.version": version}
        attributes["jsonrpc.request.id"] = str(ctx.request_id)
        if method == "tools/call":
            attributes["gen_ai.operation.name"] = "execute_tool"
            if target:
                attributes["gen_ai.tool.name"] = target
        elif method == "prompts/get" and target:
            attributes["gen_ai.prompt.name"] = target
        if error.lstrip("-").isdigit():
            attributes["rpc.response.status_code"] = error
        if error and answered_is_error:  # the SDK's (and the MCP semantic conventions') error.type of an isError result
            attributes["error.type"] = m.TOOL_ERROR
        holder = _AttributeHolder()
        enrich_span(holder, network, session_id, scope, principal_of(scope))  # type: ignore[arg-type]
        attributes.update(holder.attributes)
        parent = extract_trace_context(ctx.meta) if ctx.meta else None
        name = f"{method} {target}" if target else method
        return keeper.keep(name, parent, attributes, start_ns, time.time_ns(), error, span.get_span_context())

    # Framework hooks: how results and exceptions look at this middleware's seam.
    def classify(self, method: str, exc: BaseException, known: bool) -> str:
        """``error_type`` of ``exc``; ``known``: the tool or prompt the request names is registered."""
        if method == "prompts/get":
            return prompt_exception_type(exc, known)
        return classify_exception(exc)

    def tool_error(self, result: Any) -> bool:
        return is_tool_error(result)

    def negotiated_version(self, result: Any) -> str | None:
        version = result.get("protocolVersion") if isinstance(result, Mapping) else None
        return version if isinstance(version, str) else None

    def observe_listing(self, method: str, result: Any) -> None:
        if self.recorder.server_registry is not None:
            self.recorder.server_registry.observe_result(method, result)

    def _session_started(self, connection: Any, network: str, version: str, stateless: bool) -> None:
        """``initialize`` succeeded: a session opens, and closes when the connection is torn down
        (client close, DELETE, idle expiry, server shutdown all unwind the connection's exit stack).
        Stateless streamable HTTP (no ``Mcp-Session-Id``) has no session to speak of."""
        if connection is None or stateless:
            return
        rec = self.recorder
        started = rec.session_opened(network)
        connection.exit_stack.callback(rec.session_closed, network, version, started)


class _AttributeHolder:
    def __init__(self) -> None:
        self.attributes: dict[str, Any] = {}

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        self.attributes.update(attributes)


def lowlevel_server(server: Any) -> Any:
    """The lowlevel ``Server`` behind an ``MCPServer`` (or the server itself)."""
    return getattr(server, "_lowlevel_server", server)


def sdk_spans_are_noop() -> bool:
    """Whether the SDK's spans come from OpenTelemetry's no-op tracer (no tracer provider installed). Its span
    middleware then makes a request without a caller's trace context run with no span, as it would without it.
    An SDK that no longer keeps its tracer where this looks counts as recording (the span middleware runs)."""
    tracer = getattr(_sdk_otel, "_tracer", None)
    if isinstance(tracer, ProxyTracer):
        tracer = tracer._tracer  # the global provider's tracer once one is set, else the no-op one
    return isinstance(tracer, NoOpTracer)


def take_span_slot(low: Any, middleware: LookoutMiddleware) -> Callable[[], None]:
    """Put ``middleware`` in the place of the SDK's ``OpenTelemetryMiddleware`` (which it then runs when a span
    is to be made), else outermost; returns the undo function."""
    from mcp.server._otel import OpenTelemetryMiddleware

    chain: list[Any] = low.middleware
    place = next((i for i, mw in enumerate(chain) if isinstance(mw, OpenTelemetryMiddleware)), None)
    if place is None:
        chain.insert(0, middleware)
    else:
        middleware.span_middleware = chain[place]
        chain[place] = middleware

    def undo() -> None:
        for i, current in enumerate(chain):
            if current is middleware:
                if middleware.span_middleware is None:
                    del chain[i]
                else:
                    chain[i] = middleware.span_middleware
                return

    return undo


def wrap_call_tool(server: Any, has_tool: Callable[[str], bool]) -> Callable[[], None]:
    """Note why a tool call failed before ``MCPServer`` turns the exception into an ``isError`` result.

    The SDK's ``tools/call`` handler calls ``self.call_tool``; an instance attribute shadows the method, so
    every call through the handler (and through extension interceptors, which wrap the handler) passes here.
    The exception is re-raised unchanged: the client receives exactly what it would without Lookout.
    Returns the undo function."""
    original = server.call_tool

    @functools.wraps(original)
    async def call_tool(name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        failure = TOOL_FAILURE.get()
        if failure is None:  # a programmatic call, not an MCP request Lookout is recording
            return await original(name, arguments, context)
        nested = TOOL_FAILURE.set(None)  # tools this tool calls in turn are not the request's outcome
        try:
            return await original(name, arguments, context)
        except Exception as exc:
            try:
                failure.append(tool_exception_type(exc, has_tool(name)))
            except Exception:  # instrumentation must never change the outcome
                logger.exception("lookout: classifying a failure of tool %r failed", name)
            raise
        finally:
            TOOL_FAILURE.reset(nested)

    server.call_tool = call_tool

    def undo() -> None:
        if server.__dict__.get("call_tool") is call_tool:
            del server.call_tool

    return undo


def wrap_lifespan(low: Any, on_start: Callable[[], None], on_stop: Callable[[], None]) -> Callable[[], None]:
    """Report the server lifespan's start and end (the startup probe); returns the undo function."""
    original = low.lifespan

    @asynccontextmanager
    async def lifespan(server: Any) -> Any:
        async with original(server) as state:
            on_start()
            try:
                yield state
            finally:
                on_stop()

    low.lifespan = lifespan

    def undo() -> None:
        low.lifespan = original

    return undo


def _current_trace_id(span: trace.Span) -> str | None:
    """The request's trace id even when its span is not sampled (the audit record still names it)."""
    context = span.get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
