"""Health: checks with Kubernetes probe semantics and the management ASGI app (``/metrics``, ``/health*``)."""

from lookout.health.app import DEFAULT_HOST, DEFAULT_PORT, management_app, management_routes, serve_management
from lookout.health.checks import (
    Check,
    CheckResult,
    EventLoopLag,
    Health,
    InFlightSaturation,
    MemoryCheck,
    Phase,
    Status,
    default_health,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "Check",
    "CheckResult",
    "EventLoopLag",
    "Health",
    "InFlightSaturation",
    "MemoryCheck",
    "Phase",
    "Status",
    "default_health",
    "management_app",
    "management_routes",
    "serve_management",
]
