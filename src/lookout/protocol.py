"""Facts about MCP itself: the protocol revisions Lookout knows and the transports that carry them.

Defined once here and imported by the config model, the prober, the instrumentation and the generators.
Like ``metrics.py`` this module imports nothing from the rest of Lookout: it is the bottom layer.
"""

from __future__ import annotations

import shlex
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

V2024_11_05: Final = "2024-11-05"
"""The first published revision; its HTTP transport is the legacy HTTP+SSE pair."""
V2025_03_26: Final = "2025-03-26"
V2025_06_18: Final = "2025-06-18"
V2025_11_25: Final = "2025-11-25"
V2026_07_28: Final = "2026-07-28"
"""The first sessionless revision: ``server/discover`` instead of ``initialize``."""

KNOWN_PROTOCOL_VERSIONS: Final = (V2024_11_05, V2025_03_26, V2025_06_18, V2025_11_25, V2026_07_28)
"""Every MCP revision Lookout understands, oldest first (revisions are an ordered set, not dates)."""
MODERN_PROTOCOL_VERSIONS: Final = frozenset({V2026_07_28})
"""Sessionless revisions (``server/discover``, a ``_meta`` envelope on every request)."""
HANDSHAKE_PROTOCOL_VERSIONS: Final = tuple(v for v in KNOWN_PROTOCOL_VERSIONS if v not in MODERN_PROTOCOL_VERSIONS)
"""Revisions negotiated by ``initialize`` on a session."""
LATEST_MODERN_VERSION: Final = V2026_07_28
LATEST_HANDSHAKE_VERSION: Final = V2025_11_25
DEPRECATED_PROTOCOL_VERSIONS: Final = (V2024_11_05, V2025_03_26)
"""Revisions whose use is worth a maintenance alert by default."""


class Transport(StrEnum):
    """How MCP messages travel; the value is also the ``mcp_transport`` label value."""

    STREAMABLE_HTTP = "streamable-http"
    SSE = "sse"
    """Legacy HTTP+SSE (2024-11-05): a GET event stream for answers, POSTs for messages."""
    STDIO = "stdio"


def address_problem(address: str, transport: Transport) -> str | None:
    """Why ``address`` cannot be reached over ``transport``, or None: stdio runs a command line, the others need
    an ``http(s)://host[:port]/path`` URL whose port is a port."""
    if transport is Transport.STDIO:
        if address.startswith(("http://", "https://")):
            return f"is a URL, not a command line, which transport {transport} needs"
        try:
            return None if shlex.split(address) else "is an empty command: give the server's command line"
        except ValueError as exc:
            return f"is not a command line ({str(exc).lower()}): check its quotes"
    wanted = f"is not http(s)://host[:port]/path, which transport {transport} needs"
    try:
        parts = urlsplit(address)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and address == address.strip()
        parts.port  # noqa: B018 -- raises on a port out of range or not a number
    except ValueError as exc:
        return f"{wanted} ({str(exc).lower()})"
    return None if usable else wanted


def transport_names() -> str:
    """``streamable-http, sse, stdio``: for error messages that list the choices."""
    return ", ".join(Transport)
