"""What the instrumented server offers: tools, resources, resource templates and prompts.

The registry feeds three things: the registry gauges (counts read at scrape time), the registry-change
counter, and the cardinality guard (a tool or prompt name becomes a label value only if it is
registered). Each framework keeps its registry differently:

- ``MCPServer`` (SDK 2.x) keeps plain dicts in its tool/resource/prompt managers. Lookout swaps each
  for an :class:`ObservedDict` (same contents, same type for every reader) that reports additions and
  removals, so changes made through any API - decorators, ``add_tool``, ``remove_tool`` - are counted
  exactly once, and lookups stay a dict membership test.
- The lowlevel ``Server`` has no registry, only handlers. :class:`LearnedRegistry` learns names from
  the ``tools/list`` / ``prompts/list`` / ``resources/list`` results that pass through the middleware
  (so the label set is bounded by what the server itself lists) plus any names given to
  ``instrument(..., metrics=Metrics(tools=..., prompts=...))``.
- FastMCP 4 is read through its public listing API (see :mod:`lookout.instrument.fastmcp`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

ChangeCallback = Callable[[str, int], None]
NamesCallback = Callable[[], None]


class ServerRegistry:
    """Base: counts per kind, membership tests for the guard, and a change callback."""

    on_change: ChangeCallback | None = None
    on_names: NamesCallback | None = None
    """Called when the names :meth:`names` returns changed without a registry change (first discovery)."""

    def counts(self) -> dict[str, int]:
        raise NotImplementedError

    def has_tool(self, name: str) -> bool:
        raise NotImplementedError

    def has_prompt(self, name: str) -> bool:
        raise NotImplementedError

    def names(self, kind: str) -> list[str]:
        """Names of ``tools`` or ``prompts`` (label values the guard accepts)."""
        raise NotImplementedError

    def _changed(self, kind: str, n: int = 1) -> None:
        if self.on_change is not None and n:
            self.on_change(kind, n)

    def _names_changed(self) -> None:
        if self.on_names is not None:
            self.on_names()

    def observe_result(self, method: str, result: Any) -> None:
        """Called with every successful ``*/list`` result (wire dict); learning registries use it."""


class ObservedDict(dict[str, Any]):
    """A dict that reports keys added and removed (values replaced under an existing key are no change)."""

    __slots__ = ("_kind", "_notify")

    def __init__(self, data: Mapping[str, Any], kind: str, notify: Callable[[str, int], None]) -> None:
        super().__init__(data)
        self._kind = kind
        self._notify = notify

    def __setitem__(self, key: str, value: Any) -> None:
        added = key not in self
        super().__setitem__(key, value)
        if added:
            self._notify(self._kind, 1)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._notify(self._kind, 1)

    def pop(self, key: str, *default: Any) -> Any:
        present = key in self
        value = super().pop(key, *default)
        if present:
            self._notify(self._kind, 1)
        return value

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()
        self._notify(self._kind, 1)
        return item

    def clear(self) -> None:
        n = len(self)
        super().clear()
        self._notify(self._kind, n)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value


class MCPServerRegistry(ServerRegistry):
    """The live registry of an SDK ``MCPServer`` (its managers' dicts, observed in place)."""

    def __init__(self, server: Any) -> None:
        tm, rm, pm = server._tool_manager, server._resource_manager, server._prompt_manager
        tm._tools = self._tools = ObservedDict(tm._tools, "tools", self._changed)
        rm._resources = self._resources = ObservedDict(rm._resources, "resources", self._changed)
        rm._templates = self._templates = ObservedDict(rm._templates, "resource_templates", self._changed)
        pm._prompts = self._prompts = ObservedDict(pm._prompts, "prompts", self._changed)
        self._managers = (tm, rm, pm)

    def counts(self) -> dict[str, int]:
        return {
            "tools": len(self._tools),
            "resources": len(self._resources),
            "resource_templates": len(self._templates),
            "prompts": len(self._prompts),
        }

    def has_tool(self, name: str) -> bool:
        return name in self._tools

    def has_prompt(self, name: str) -> bool:
        return name in self._prompts

    def names(self, kind: str) -> list[str]:
        return list(self._tools if kind == "tools" else self._prompts if kind == "prompts" else ())

    def restore(self) -> None:
        """Give the managers plain dicts back (uninstrument)."""
        tm, rm, pm = self._managers
        tm._tools = dict(self._tools)
        rm._resources = dict(self._resources)
        rm._templates = dict(self._templates)
        pm._prompts = dict(self._prompts)


_LIST_KINDS = {
    "tools/list": ("tools", "tools", "name"),
    "prompts/list": ("prompts", "prompts", "name"),
    "resources/list": ("resources", "resources", "uri"),
    "resources/templates/list": ("resource_templates", "resourceTemplates", "uriTemplate"),
}

MAX_LEARNED = 1000
"""Upper bound of names learned per kind: a server listing more than this is not a label set."""


class LearnedRegistry(ServerRegistry):
    """Names a lowlevel ``Server`` lists, plus names declared up front.

    Only complete first pages replace a kind's names (a paginated listing adds to them); a change in
    the listed set counts as registry changes.
    """

    def __init__(self, tools: Collection[str] = (), prompts: Collection[str] = ()) -> None:
        self._names: dict[str, set[str]] = {
            "tools": set(tools),
            "prompts": set(prompts),
            "resources": set(),
            "resource_templates": set(),
        }
        self._declared = {"tools": frozenset(tools), "prompts": frozenset(prompts)}
        self._listed: set[str] = set()

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self._names.items()}

    def has_tool(self, name: str) -> bool:
        return name in self._names["tools"]

    def has_prompt(self, name: str) -> bool:
        return name in self._names["prompts"]

    def names(self, kind: str) -> list[str]:
        return list(self._names.get(kind, ()))

    def observe_result(self, method: str, result: Any) -> None:
        spec = _LIST_KINDS.get(method)
        if spec is None or not isinstance(result, Mapping):
            return
        kind, field, key = spec
        items = result.get(field)
        if not isinstance(items, list):
            return
        listed = {str(i[key]) for i in items[:MAX_LEARNED] if isinstance(i, Mapping) and key in i}
        if result.get("nextCursor"):
            self._set(kind, self._names[kind] | listed)
        else:
            self._set(kind, listed | self._declared.get(kind, frozenset()))

    def _set(self, kind: str, names: set[str]) -> None:
        old = self._names[kind]
        if names != old:
            self._names[kind] = set(list(names)[:MAX_LEARNED])
            if kind in self._listed:  # the first listing is discovery, not a change
                self._changed(kind, len(names ^ old))
            else:
                self._names_changed()
        self._listed.add(kind)


class StaticRegistry(ServerRegistry):
    """A fixed registry (tests, frameworks Lookout reads by polling)."""

    def __init__(self, names: Mapping[str, Iterable[str]] | None = None) -> None:
        self._names = {k: set(v) for k, v in (names or {}).items()}

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self._names.items()}

    def has_tool(self, name: str) -> bool:
        return name in self._names.get("tools", ())

    def has_prompt(self, name: str) -> bool:
        return name in self._names.get("prompts", ())

    def names(self, kind: str) -> list[str]:
        return list(self._names.get(kind, ()))

    def replace(self, kind: str, names: Iterable[str]) -> None:
        new = set(names)
        old = self._names.get(kind, set())
        if new != old:
            self._changed(kind, len(new ^ old))
            self._names[kind] = new
