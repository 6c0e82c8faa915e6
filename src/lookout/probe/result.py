"""What one probe found: success, phase timings, server facts, and a log for ``debug=true``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lookout.probe.footprint import Footprint
from lookout.security.redact import redact


@dataclass
class ProbeLog:
    """Timestamped lines (seconds since the probe started), shown by ``--debug`` and ``&debug=true``."""

    started: float = field(default_factory=time.monotonic)
    lines: list[str] = field(default_factory=list)

    max_lines: int = 1000  # a server streaming notifications must not grow the log without bound

    def __call__(self, message: str) -> None:
        if len(self.lines) < self.max_lines:
            self.lines.append(f"{time.monotonic() - self.started:8.4f}s {message}")
        elif len(self.lines) == self.max_lines:
            self.lines.append("... (log truncated)")

    def always(self, message: str) -> None:
        """A line kept even past ``max_lines`` (the outcome)."""
        self.lines.append(f"{time.monotonic() - self.started:8.4f}s {message}")

    def text(self) -> str:
        """The lines, redacted: a target's answer or error may quote credentials (lookout.security.redact)."""
        return redact("\n".join(self.lines)) + "\n"


@dataclass
class ProbeResult:
    """The outcome of one probe; :mod:`lookout.probe.result_exposition` turns it into metrics."""

    target: str
    module: str
    success: bool = False
    duration_seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    protocol_version: str | None = None
    server_name: str | None = None
    server_version: str | None = None
    capabilities: dict[str, Any] = field(default_factory=dict)
    tools: list[str] = field(default_factory=list)
    tools_hash: int | None = None
    tool_definitions: list[dict[str, Any]] = field(default_factory=list, repr=False)
    """The listed tools as the server returned them (for the kind that measures them; never exposed)."""
    footprint: Footprint | None = None
    max_tool_series: int = 0
    """Per-tool footprint series at most (the module's ``max_tool_series``), the rest summed as one."""
    resources: int | None = None
    prompts: int | None = None
    jsonrpc_error_code: int | None = None
    http_status: int | None = None
    ssl_earliest_expiry: float | None = None
    error: str | None = None
    log: ProbeLog = field(default_factory=ProbeLog)
    current_phase: str | None = None

    def add_phase(self, phase: str, seconds: float) -> None:
        self.phases[phase] = self.phases.get(phase, 0.0) + seconds

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as phase ``name`` (also when it fails: a slow failing phase is worth seeing)."""
        start = time.perf_counter()
        self.current_phase = name
        self.log(f"phase {name}: start")
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.add_phase(name, elapsed)
            self.log(f"phase {name}: {elapsed * 1000:.1f} ms")

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view (``lookout probe --json``)."""
        return {
            "target": self.target,
            "module": self.module,
            "success": self.success,
            "duration_seconds": round(self.duration_seconds, 6),
            "phases": {k: round(v, 6) for k, v in self.phases.items()},
            "protocol_version": self.protocol_version,
            "server": {"name": self.server_name, "version": self.server_version},
            "capabilities": self.capabilities,
            "tools": self.tools,
            "tools_hash": self.tools_hash,
            "tools_definition": None
            if self.footprint is None
            else {
                "bytes": self.footprint.bytes,
                "tokens_estimate": self.footprint.tokens,
                "per_tool": [
                    {"name": t.name, "bytes": t.bytes, "tokens_estimate": t.tokens} for t in self.footprint.tools
                ],
            },
            "resources": self.resources,
            "prompts": self.prompts,
            "jsonrpc_error_code": self.jsonrpc_error_code,
            "http_status": self.http_status,
            "ssl_earliest_cert_expiry": self.ssl_earliest_expiry,
            "error": self.error,
        }
