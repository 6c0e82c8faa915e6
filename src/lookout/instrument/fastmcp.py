"""FastMCP 4.x integration, through FastMCP's own middleware API. Imported lazily: FastMCP is not a
dependency of Lookout.

FastMCP runs every inbound message through its middleware chain exactly once (``on_message``):
component methods (``tools/call``, ``*/list``, ``prompts/get``, ``resources/read``) in the interior
handler adapter with typed results, everything else (``initialize``, ``server/discover``,
notifications) at its root seam. Lookout's middleware goes first in ``server.middleware`` so that it
times the whole chain. The SDK's per-request context (transport, session, connection) is what FastMCP
binds for the request (``fastmcp_request_ctx``), so metrics, sessions and span enrichment work exactly
as for the SDK: the same recorder code runs, with FastMCP's result and exception shapes:

- a ``tools/call`` that raises reaches the wire as a result with ``isError``, but the exception still
  passes this middleware, so it is classified by who is responsible: an unexpected exception in the tool
  (FastMCP re-raises it as a ``ToolError`` from its own ``call_tool``, the crash as ``__cause__``) under
  the crash's class name; arguments failing the input schema and an unknown or disabled tool as -32602;
  a ``ToolError`` the tool raised on purpose as ``tool_error``;
- other FastMCP errors are classified by the JSON-RPC code FastMCP's ``to_mcp_error`` gives them.

FastMCP opens its own SERVER span at its seam; Lookout enriches that span, it opens none.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from lookout import metrics as m
from lookout.instrument.audit import AuditTrail
from lookout.instrument.json_logs import AccessLog
from lookout.instrument.registry import ObservedDict, ServerRegistry
from lookout.instrument.sdk import (
    INVALID_PARAMS,
    UNKNOWN_TOOL,
    LookoutMiddleware,
    classify_exception,
    raised_by,
    wrap_lifespan,
)

if TYPE_CHECKING:
    from lookout.instrument._instrument import Instrumentation

_KINDS = {"tool": "tools", "resource": "resources", "template": "resource_templates", "prompt": "prompts"}


class FastMCPRegistry(ServerRegistry):
    """The server's local provider, observed in place; plus names its listings show (mounted and
    proxied servers live in other providers)."""

    def __init__(self, server: Any) -> None:
        provider = server.local_provider
        self._components = ObservedDict(provider._components, "", self._on_key_change)
        provider._components = self._components
        self._provider = provider
        self._listed: dict[str, set[str]] = {"tools": set(), "prompts": set()}
        self._names: dict[str, set[str]] = {}
        self._rebuild()

    def _on_key_change(self, _kind: str, n: int) -> None:
        before = {k: len(v) for k, v in self._names.items()}
        self._rebuild()
        for kind, names in self._names.items():
            if len(names) != before.get(kind, 0):
                self._changed(kind, abs(len(names) - before.get(kind, 0)))

    def _rebuild(self) -> None:
        names: dict[str, set[str]] = {kind: set() for kind in _KINDS.values()}
        for key, component in list(self._components.items()):
            kind = _KINDS.get(key.split(":", 1)[0])
            if kind is not None:
                names[kind].add(str(getattr(component, "name", key)))
        self._names = names

    def counts(self) -> dict[str, int]:
        return {kind: len(names | self._listed.get(kind, set())) for kind, names in self._names.items()}

    def has_tool(self, name: str) -> bool:
        return name in self._names["tools"] or name in self._listed["tools"]

    def has_prompt(self, name: str) -> bool:
        return name in self._names["prompts"] or name in self._listed["prompts"]

    def names(self, kind: str) -> list[str]:
        return list(self._names.get(kind, set()) | self._listed.get(kind, set()))

    def observe_result(self, method: str, result: Any) -> None:
        kind = {"tools/list": "tools", "prompts/list": "prompts"}.get(method)
        if kind is None or not isinstance(result, list | tuple):
            return
        listed = {str(getattr(item, "name", "")) for item in result[:1000]} - {""}
        if listed != self._listed[kind]:
            self._listed[kind] = listed
            self._names_changed()

    def restore(self) -> None:
        self._provider._components = dict(self._components)


@functools.cache
def _masking_frame() -> Any:
    """The code of ``FastMCP.call_tool``, which re-raises an unexpected exception as a ``ToolError``."""
    import inspect

    from fastmcp import FastMCP

    return inspect.unwrap(FastMCP.call_tool).__code__


def tool_exception_type(exc: BaseException) -> str:
    """``error_type`` of an exception a FastMCP ``tools/call`` raised (FastMCP answers it with ``isError``)."""
    from fastmcp.exceptions import DisabledError, FastMCPError, NotFoundError, ToolError
    from fastmcp.exceptions import ValidationError as ArgumentsError
    from mcp.shared.exceptions import MCPError
    from pydantic import ValidationError

    if isinstance(exc, MCPError):
        return str(exc.error.code)
    if isinstance(exc, NotFoundError | DisabledError):
        return UNKNOWN_TOOL
    if isinstance(exc, ArgumentsError | ValidationError):
        return INVALID_PARAMS
    cause = exc.__cause__
    if (
        isinstance(exc, ToolError)
        and cause is not None
        and not isinstance(cause, FastMCPError)
        and raised_by(exc, _masking_frame())
    ):
        return type(cause).__qualname__
    if isinstance(exc, FastMCPError):
        return m.TOOL_ERROR
    return classify_exception(exc)


class _Core(LookoutMiddleware):
    """The SDK middleware's recording logic with FastMCP's result and exception shapes."""

    def classify(self, method: str, exc: BaseException, known: bool) -> str:
        from fastmcp.exceptions import DisabledError, FastMCPError, NotFoundError, to_mcp_error
        from mcp.shared.exceptions import MCPError

        if method == "tools/call":  # FastMCP returns these as an isError result
            return tool_exception_type(exc)
        if isinstance(exc, MCPError):
            return str(exc.error.code)
        if isinstance(exc, FastMCPError | NotFoundError | DisabledError) and isinstance(exc, Exception):
            return str(to_mcp_error(exc).error.code)
        return classify_exception(exc)

    def tool_error(self, result: Any) -> bool:
        return bool(getattr(result, "is_error", False)) or super().tool_error(result)

    def negotiated_version(self, result: Any) -> str | None:
        version = getattr(result, "protocol_version", None)
        return version if isinstance(version, str) else super().negotiated_version(result)


def _middleware_class() -> type:
    from fastmcp.server.dependencies import fastmcp_request_ctx
    from fastmcp.server.middleware import Middleware

    class LookoutFastMCPMiddleware(Middleware):
        def __init__(self, core: _Core) -> None:
            self.core = core

        async def on_message(self, context: Any, call_next: Any) -> Any:
            bound = fastmcp_request_ctx.get()
            srctx = getattr(bound, "_srctx", None)
            if srctx is None:  # a programmatic call (server.call_tool(...)), not an MCP message
                return await call_next(context)

            async def next_in_chain(_ctx: Any) -> Any:
                return await call_next(context)

            return await self.core(srctx, next_in_chain)

    return LookoutFastMCPMiddleware


def install(
    server: Any,
    handle: Instrumentation,
    *,
    access_log: AccessLog | None = None,
    enrich_spans: bool = True,
    audit: AuditTrail | None = None,
) -> None:
    """Register Lookout on a FastMCP 4 server (outermost middleware) and wire its registry and lifespan."""
    registry = FastMCPRegistry(server)
    handle.recorder.attach_registry(registry)
    handle.server_registry = registry
    keeper = handle.tracing.keeper if handle.tracing is not None else None
    core = _Core(handle.recorder, access_log=access_log, enrich_spans=enrich_spans, keeper=keeper, audit=audit)
    middleware = _middleware_class()(core)
    server.middleware.insert(0, middleware)
    handle.middleware = middleware
    handle._undo.append(registry.restore)
    handle._undo.append(lambda: server.middleware.remove(middleware))
    handle._undo.append(
        wrap_lifespan(server._mcp_server, handle.health.lifespan_started, handle.health.lifespan_stopped)
    )
