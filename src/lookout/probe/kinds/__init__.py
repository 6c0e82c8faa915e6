"""Probe kinds: what a module does once the session is open and the tools are listed, one file per kind.

A kind is a :data:`ProbeFn` registered in :data:`PROBERS` under its ``ModuleKind``: a new kind is one file
here and one entry below (plus its value and settings in ``config/probe.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from lookout.config.probe import Module, ModuleKind
from lookout.probe.kinds import discover, resource_read, tool_call
from lookout.probe.protocol import McpSession
from lookout.probe.result import ProbeResult

ProbeFn = Callable[[McpSession, Module, ProbeResult], Awaitable[None]]
"""Runs the kind's calls on an open session, recording phases and facts on the result; raises a
``ProbeFailure`` (an ``AssertionFailure`` for a failed expectation) when the probe fails."""

PROBERS: Final[Mapping[ModuleKind, ProbeFn]] = {
    ModuleKind.DISCOVER: discover.probe,
    ModuleKind.TOOL_CALL: tool_call.probe,
    ModuleKind.RESOURCE_READ: resource_read.probe,
}

__all__ = ["PROBERS", "ProbeFn"]
