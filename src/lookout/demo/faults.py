"""Fault injection for the demo server: error ratio, added latency and hangs, per tool, adjustable at
runtime so that every alert of the stack can be made to fire on purpose.

A failing call fails in one of two ways (``kind``): an unexpected exception inside the tool (the server's
fault, counted against availability) or a deliberate tool error (``ToolError``, the way a tool reports
"unknown city"), which Lookout reports on its own ratio."""

from __future__ import annotations

import random
from typing import Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field

ALL_TOOLS = "*"
FaultKind = Literal["exception", "tool_error"]
TOOL_ERROR: FaultKind = "tool_error"


class Fault(BaseModel):
    """What to do to calls of one tool (or of every tool, under ``*``)."""

    model_config = ConfigDict(extra="forbid")

    error_ratio: float = Field(default=0.0, ge=0.0, le=1.0, description="Share of calls that fail (0..1).")
    latency_ms: float = Field(default=0.0, ge=0.0, le=600_000, description="Added to every call.")
    hang: bool = Field(default=False, description="Calls never return (until the client gives up).")
    kind: FaultKind = Field(
        default="exception",
        description="How failing calls fail: an unexpected exception (the server's fault) or a deliberate tool error.",
    )


class InjectedFault(Exception):
    """Raised inside a tool to simulate a failure; ``kind`` says which one the tool should raise."""

    def __init__(self, message: str, kind: FaultKind) -> None:
        super().__init__(message)
        self.kind = kind


class FaultInjector:
    """Holds the current faults; tools await :meth:`apply` before doing their work."""

    def __init__(self, seed: int | None = None) -> None:
        self._faults: dict[str, Fault] = {}
        self.tools: set[str] = set()
        """The server's tool names, which faults may name besides ``*`` (empty: any name)."""
        self._random = random.Random(seed)

    def snapshot(self) -> dict[str, Fault]:
        return dict(self._faults)

    def unknown(self, tool: str) -> str | None:
        """Why a fault cannot be set for ``tool`` (a name the server lacks), or None."""
        if tool == ALL_TOOLS or not self.tools or tool in self.tools:
            return None
        return f"no tool {tool!r}: use one of {', '.join(sorted(self.tools))}, or {ALL_TOOLS} for every tool"

    def set(self, tool: str, fault: Fault) -> None:
        self._faults[tool] = fault

    def clear(self, tool: str | None = None) -> None:
        if tool is None:
            self._faults.clear()
        else:
            self._faults.pop(tool, None)

    def fault_for(self, tool: str) -> Fault | None:
        return self._faults.get(tool) or self._faults.get(ALL_TOOLS)

    async def apply(self, tool: str) -> None:
        fault = self.fault_for(tool)
        if fault is None:
            return
        if fault.latency_ms:
            await anyio.sleep(fault.latency_ms / 1000)
        if fault.hang:
            await anyio.sleep_forever()
        if fault.error_ratio and self._random.random() < fault.error_ratio:
            raise InjectedFault(f"injected fault in {tool}", fault.kind)
