"""The audit trail of tool calls: one JSON line per ``tools/call`` in a file of its own, which Alloy ships to
Loki as the ``stream="audit"`` stream with its own retention (``security.audit`` in lookout.yaml).

A record: time, tenant, service, tool, outcome (ok or the error type), duration, trace id, and the caller's
identity when the transport authenticated one, as ``enduser.id`` (see :func:`principal_of`). Arguments never,
unless the tool is named in ``Audit(arguments_for=...)``; everything passes through redaction.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from lookout.instrument.spans import ENDUSER_ID
from lookout.security.redact import redactor

PRINCIPAL_SCOPE_KEY = "lookout.principal"
"""Where lookout.security.auth leaves the authenticated principal (kept equal by a unit test)."""


def principal_of(scope: Mapping[str, Any] | None) -> str | None:
    """The caller's identity from the ASGI scope, when the transport authenticated one; never a credential.

    In order: the principal Lookout's authentication middleware established; the MCP SDK's bearer
    authentication (``scope["user"]`` an ``AuthenticatedUser`` carrying the verified access token: the token's
    ``subject`` - the resource owner - when the verifier supplies one, else its ``client_id``); any other
    authenticated Starlette user (``AuthenticationMiddleware``: ``request.user.display_name``)."""
    if scope is None:
        return None
    named = scope.get(PRINCIPAL_SCOPE_KEY)
    if isinstance(named, str):
        return named
    user = scope.get("user")
    if user is None or getattr(user, "is_authenticated", True) is False:
        return None
    token = getattr(user, "access_token", None)
    name = getattr(token, "subject", None) or getattr(token, "client_id", None)
    if not name:
        name = getattr(user, "display_name", None) or getattr(user, "username", None)
    return name if isinstance(name, str) and name else None


class AuditTrail:
    """Appends one line per tool call to ``path`` (created owner-only); a write that fails is dropped, never
    failing the call."""

    def __init__(self, path: str, *, service: str, tenant: str, arguments_for: Collection[str] = ()) -> None:
        self.path, self.service, self.tenant = path, service, tenant
        self.arguments_for = frozenset(arguments_for)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()
        self.failed = 0

    def record(
        self,
        tool: str,
        error_type: str,
        seconds: float,
        *,
        trace_id: str | None,
        principal: str | None,
        arguments: Any = None,
    ) -> None:
        line: dict[str, Any] = {
            "timestamp": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "stream": "audit",
            "tenant": self.tenant,
            "service": self.service,
            "tool": tool,
            "outcome": "ok" if not error_type else "error",
            "duration_ms": round(seconds * 1000, 3),
        }
        if error_type:
            line["error_type"] = error_type
        if trace_id:
            line["trace_id"] = trace_id
        if principal:
            line[ENDUSER_ID] = principal
        if tool in self.arguments_for:
            line["arguments"] = arguments
        text = json.dumps(redactor().value(line), default=str, ensure_ascii=False, sort_keys=True)
        try:
            with self._lock:
                self._file.write(text + "\n")
        except OSError:
            self.failed += 1

    def close(self) -> None:
        self._file.close()
